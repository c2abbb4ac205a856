// SPDX-License-Identifier: GPL-2.0
/*
 * Module life: while an AF_XS socket is open the module cannot be
 * removed, and the attempt changes nothing (the socket keeps working).
 * The guest's runner removes the module for real after the last test.
 */
#include <sys/syscall.h>
#include "xs_test.h"

static int try_remove_module(void)
{
	return syscall(SYS_delete_module, "af_xs", O_NONBLOCK);
}

TEST(rmmod_with_a_socket_open_fails_and_changes_nothing)
{
	int push = xs_socket(XSPROTO_PUSH), pull = xs_socket(XSPROTO_PULL);
	XS_UNAME(name, "unload");

	if (access("/sys/module/af_xs", F_OK))
		SKIP(return, "af_xs is not a loaded module here");
	ASSERT_GE(push, 0);
	ASSERT_GE(pull, 0);
	ASSERT_OK(xs_bind(pull, name));
	ASSERT_OK(xs_connect(push, name));
	ASSERT_RECORD(push, 0, "before");

	ASSERT_EQ(-1, try_remove_module());
	ASSERT_TRUE(errno == EWOULDBLOCK || errno == EBUSY)
		TH_LOG("delete_module: %s", strerror(errno));

	ASSERT_EQ(0, access("/sys/module/af_xs", F_OK));
	ASSERT_RECV_RECORD(pull, "before");
	ASSERT_RECORD(push, 0, "after");
	ASSERT_RECV_RECORD(pull, "after");
	close(push);
	close(pull);
}

XS_TEST_MAIN
