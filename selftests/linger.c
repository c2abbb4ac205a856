// SPDX-License-Identifier: GPL-2.0
/*
 * XS_LINGER: records a closed connector left waiting for a binder are kept
 * for the linger time (capped by the module's max_linger_ms), then dropped.
 */
#include "xs_test.h"

/* Live records of the whole module, or -1. */
static long long module_records(void)
{
	long long records, bytes;

	return xs_live_records(&records, &bytes) ? -1 : records;
}

/* A PUSH connects to a name nobody bound, sends two records and closes. */
static void push_two_and_close(struct __test_metadata *_metadata,
			       const char *name, int linger)
{
	int push = xs_socket(XSPROTO_PUSH);

	ASSERT_GE(push, 0);
	ASSERT_OK(xs_connect(push, name));
	ASSERT_OK(xs_setint(push, XS_LINGER, linger));
	ASSERT_RECORD(push, MSG_DONTWAIT, "first");
	ASSERT_RECORD(push, MSG_DONTWAIT, "second", "part");
	close(push);
}

TEST(zero_linger_discards_waiting_records_at_close)
{
	XS_UNAME(name, "l0");
	int pull = xs_socket(XSPROTO_PULL);

	push_two_and_close(_metadata, name, 0);
	ASSERT_OK(xs_bind(pull, name));
	ASSERT_NOTHING(pull);
	close(pull);
}

TEST(linger_delivers_to_a_binder_that_comes_in_time)
{
	XS_UNAME(name, "l1");
	int pull = xs_socket(XSPROTO_PULL);

	push_two_and_close(_metadata, name, 5000);
	xs_sleep_ms(50);
	ASSERT_OK(xs_bind(pull, name));
	ASSERT_RECV_RECORD(pull, "first");
	ASSERT_RECV_RECORD(pull, "second", "part");
	ASSERT_NOTHING(pull);
	close(pull);
}

TEST(infinite_linger_keeps_records_until_a_binder_comes)
{
	XS_UNAME(name, "l2");
	int pull = xs_socket(XSPROTO_PULL);

	push_two_and_close(_metadata, name, -1);
	xs_sleep_ms(200);
	ASSERT_OK(xs_bind(pull, name));
	ASSERT_RECV_RECORD(pull, "first");
	ASSERT_RECV_RECORD(pull, "second", "part");
	close(pull);
}

TEST(expired_linger_drops_the_records)
{
	XS_UNAME(name, "l3");
	long long before = module_records();
	int pull = xs_socket(XSPROTO_PULL);

	push_two_and_close(_metadata, name, 100);
	xs_sleep_ms(100 * xs_scale() + 400);
	ASSERT_OK(xs_bind(pull, name));
	ASSERT_NOTHING(pull);
	ASSERT_LE(0, before);
	ASSERT_EQ(before, module_records());
	close(pull);
}

TEST(disconnect_does_not_linger)
{
	XS_UNAME(name, "l4");
	int push = xs_socket(XSPROTO_PUSH), pull = xs_socket(XSPROTO_PULL);

	ASSERT_OK(xs_connect(push, name));
	ASSERT_OK(xs_setint(push, XS_LINGER, -1));
	ASSERT_RECORD(push, MSG_DONTWAIT, "gone");
	ASSERT_OK(setsockopt(push, SOL_XS, XS_DISCONNECT, name, strlen(name)));
	ASSERT_OK(xs_bind(pull, name));
	ASSERT_NOTHING(pull);
	close(push);
	close(pull);
}

XS_TEST_MAIN
