// SPDX-License-Identifier: GPL-2.0
/*
 * PAIR: one peer at a time, both directions.  A bound PAIR attaches the
 * first connector; later connectors stay pending (connect still returns
 * 0, their records wait in their own pipe) and one of them attaches when
 * the first goes away.  A PAIR that has connected once cannot connect
 * again (EISCONN).
 */
#include "xs_test.h"

FIXTURE(pair) {
	int a, b;		/* a binds, b connects */
	char name[XS_NAME_MAX + 1];
};

FIXTURE_SETUP(pair)
{
	ASSERT_OK(xs_link(XSPROTO_PAIR, XSPROTO_PAIR, -1, -1, &self->b,
			  &self->a, self->name, sizeof(self->name)));
}

FIXTURE_TEARDOWN(pair)
{
	xs_close(&self->a);
	xs_close(&self->b);
}

TEST_F(pair, records_flow_both_ways)
{
	ASSERT_RECORD(self->b, 0, "ping", "1");
	ASSERT_RECV_RECORD(self->a, "ping", "1");
	ASSERT_RECORD(self->a, 0, "pong", "2");
	ASSERT_RECV_RECORD(self->b, "pong", "2");
	ASSERT_NOTHING(self->a);
	ASSERT_NOTHING(self->b);
}

TEST_F(pair, directions_are_independent_records)
{
	/* both ends build a record at once; neither sees the other's parts */
	ASSERT_SEND(self->a, "a1", 0);
	ASSERT_SEND(self->b, "b1", 0);
	ASSERT_SEND(self->a, "a2", MSG_EOR);
	ASSERT_SEND(self->b, "b2", MSG_EOR);
	ASSERT_RECV_RECORD(self->b, "a1", "a2");
	ASSERT_RECV_RECORD(self->a, "b1", "b2");
}

TEST_F(pair, second_connector_waits_without_disturbing_the_first)
{
	int c = xs_socket(XSPROTO_PAIR);

	ASSERT_GE(c, 0);
	ASSERT_OK(xs_connect(c, self->name));

	ASSERT_RECORD(c, MSG_DONTWAIT, "from-c");
	ASSERT_RECORD(self->b, 0, "from-b");
	ASSERT_RECV_RECORD(self->a, "from-b");
	ASSERT_NOTHING(self->a);

	ASSERT_RECORD(self->a, 0, "to-peer");
	ASSERT_RECV_RECORD(self->b, "to-peer");
	ASSERT_NOTHING(c);

	/* b goes away: c attaches, its queued record arrives */
	xs_close(&self->b);
	ASSERT_RECV_RECORD(self->a, "from-c");
	ASSERT_RECORD(self->a, 0, "to-c");
	ASSERT_RECV_RECORD(c, "to-c");
	close(c);
}

TEST_F(pair, pending_connector_is_limited_by_its_sndhwm)
{
	int c = xs_socket(XSPROTO_PAIR);

	ASSERT_GE(c, 0);
	ASSERT_OK(xs_setint(c, XS_SNDHWM, 2));
	ASSERT_OK(xs_connect(c, self->name));
	ASSERT_RECORD(c, MSG_DONTWAIT, "c1");
	ASSERT_RECORD(c, MSG_DONTWAIT, "c2");
	ASSERT_ERRNO(EAGAIN, xs_send_str(c, "c3", MSG_DONTWAIT));
	close(c);
}

TEST_F(pair, connected_pair_cannot_connect_again)
{
	XS_UNAME(other, "other");
	int d = xs_socket(XSPROTO_PAIR);

	ASSERT_GE(d, 0);
	ASSERT_OK(xs_bind(d, other));
	ASSERT_ERRNO(EISCONN, xs_connect(self->b, other));
	ASSERT_ERRNO(EISCONN, xs_connect(self->b, self->name));
	/* and the first connection still works */
	ASSERT_RECORD(self->b, 0, "still");
	ASSERT_RECV_RECORD(self->a, "still");
	ASSERT_NOTHING(d);
	close(d);
}

TEST_F(pair, records_the_binder_sent_stay_with_the_connector)
{
	char c;

	ASSERT_RECORD(self->a, 0, "reply", "2");
	ASSERT_EQ(1, xs_recv_within(self->b, &c, 1, MSG_PEEK, NULL,
				    xs_wait_ms()));
	xs_close(&self->a);
	ASSERT_RECV_RECORD(self->b, "reply", "2");
}

TEST_F(pair, new_connector_attaches_after_the_peer_closes)
{
	int d;

	ASSERT_RECORD(self->b, 0, "from-b");
	ASSERT_RECV_RECORD(self->a, "from-b");
	xs_close(&self->b);

	d = xs_socket(XSPROTO_PAIR);
	ASSERT_GE(d, 0);
	ASSERT_OK(xs_connect(d, self->name));
	ASSERT_RECORD(d, 0, "from-d");
	ASSERT_RECV_RECORD(self->a, "from-d");
	ASSERT_RECORD(self->a, 0, "to-d");
	ASSERT_RECV_RECORD(d, "to-d");
	close(d);
}

TEST(bound_pair_without_peer_would_block)
{
	int a = xs_socket(XSPROTO_PAIR);
	XS_UNAME(name, "lonely");

	ASSERT_GE(a, 0);
	ASSERT_OK(xs_bind(a, name));
	ASSERT_ERRNO(EAGAIN, xs_send_str(a, "x", MSG_EOR | MSG_DONTWAIT));
	ASSERT_EQ(0, xs_revents(a, POLLOUT) & POLLOUT);
	close(a);
}

TEST(unconnected_pair_would_block)
{
	int a = xs_socket(XSPROTO_PAIR);

	ASSERT_GE(a, 0);
	ASSERT_ERRNO(EAGAIN, xs_send_str(a, "x", MSG_EOR | MSG_DONTWAIT));
	close(a);
}

TEST(xs_type_is_the_crossroads_type)
{
	static const struct { int proto, type; } t[] = {
		{ XSPROTO_PAIR, 0 }, { XSPROTO_PULL, 7 }, { XSPROTO_PUSH, 8 },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		int fd = xs_socket(t[i].proto);

		ASSERT_GE(fd, 0);
		ASSERT_EQ(t[i].type, xs_getint(fd, SOL_XS, XS_TYPE));
		close(fd);
	}
}

XS_TEST_MAIN
