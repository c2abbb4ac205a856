// SPDX-License-Identifier: GPL-2.0
/*
 * Module life: while an AF_XS socket is open the module cannot be
 * removed, and the attempt changes nothing (the socket keeps working).
 * The module can go as soon as its last socket has, even with work still
 * scheduled for it (orphans expiring, deferred wake-ups): that work must
 * be done or cancelled first, or it runs in freed module text (a kernel
 * report, which fails the run).  The guest's runner removes the module
 * for real after the last test.
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

static int load_module(void)
{
	int fd = open("/af_xs.ko", O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = syscall(SYS_finit_module, fd, "", 0);
	close(fd);
	return rc;
}

/* Work for the module to do later: an orphan's expiry, a deferred wake. */
static int leave_work_behind(int i)
{
	int push = xs_socket(XSPROTO_PUSH), pub = xs_socket(XSPROTO_PUB);
	int sub = xs_socket(XSPROTO_SUB), rc = -1;
	char orphan[64], fanout[64];

	snprintf(orphan, sizeof(orphan), "unload.orphan.%d", i);
	snprintf(fanout, sizeof(fanout), "unload.fanout.%d", i);
	if (push < 0 || pub < 0 || sub < 0 ||
	    xs_setint(push, XS_LINGER, 1 + i % 20) ||
	    xs_connect(push, orphan) ||
	    xs_send_str(push, "waits", MSG_EOR) != 5 ||
	    setsockopt(sub, SOL_XS, XS_SUBSCRIBE, "", 0) ||
	    xs_bind(pub, fanout) || xs_connect(sub, fanout) ||
	    xs_send_str(pub, "later", MSG_EOR | MSG_MORE) != 5)
		goto out;
	rc = 0;
out:
	close(push);
	close(sub);
	close(pub);
	return rc;
}

TEST(module_goes_and_comes_back_with_work_still_scheduled)
{
	long long end;
	int i, rc;

	if (access("/sys/module/af_xs", F_OK))
		SKIP(return, "af_xs is not a loaded module here");
	for (i = 0; i < 20 / xs_scale() + 2; i++) {
		ASSERT_OK(leave_work_behind(i));
		/* as soon as the last socket is gone */
		end = xs_now_ms() + xs_wait_ms();
		while ((rc = syscall(SYS_delete_module, "af_xs", O_NONBLOCK)) &&
		       (errno == EWOULDBLOCK || errno == EBUSY) &&
		       xs_now_ms() < end)
			;
		ASSERT_EQ(0, rc) TH_LOG("delete_module: %s", strerror(errno));
		/* what was left for the module would run now, in freed text */
		xs_sleep_ms(30);
		ASSERT_EQ(0, load_module()) TH_LOG("finit_module: %s",
						   strerror(errno));
	}
}

XS_TEST_MAIN
