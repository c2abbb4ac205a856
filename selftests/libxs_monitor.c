// SPDX-License-Identifier: GPL-2.0
/*
 * libxs's AF_XS extensions of issue 12: xs_socket_monitor() (events, in
 * the manner of zmq_socket_monitor), XS_PEERS, XS_SUBSCRIBERS,
 * XS_PREFIXES, XS_STATS, XS_LOSSLESS and XS_EVENTS_LOST through
 * xs_getsockopt/xs_setsockopt, with Crossroads-style errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/xs.h>
#include "xs.h"

#include "kselftest_harness.h"

static const char *endpoint(char *buf, size_t len, const char *tag)
{
	static int n;

	snprintf(buf, len, "ipc://libxs-mon-%d-%d-%s", (int)getpid(), ++n,
		 tag);
	return buf;
}

/* The next event of @mon within @ms ms (xs_poll): its size, or -1. */
static int next_event(void *mon, xs_event_t *ev, char *data, size_t dlen,
		      int ms)
{
	char buf[sizeof(xs_event_t) + 256];
	xs_pollitem_t it = { .socket = mon, .events = XS_POLLIN };
	int n;

	if (xs_poll(&it, 1, ms) != 1)
		return -1;
	n = xs_recv(mon, buf, sizeof(buf), XS_DONTWAIT);
	if (n < (int)sizeof(*ev))
		return -1;
	memcpy(ev, buf, sizeof(*ev));
	if (ev->len != n - sizeof(*ev) || ev->len >= dlen)
		return -1;
	memcpy(data, buf + sizeof(*ev), ev->len);
	data[ev->len] = 0;
	return n;
}

static uint64_t ino_of_socket(void *s)
{
	struct stat st;
	size_t len = sizeof(int);
	int fd;

	if (xs_getsockopt(s, XS_FD, &fd, &len) || fstat(fd, &st))
		return 0;
	return st.st_ino;
}

FIXTURE(mon) {
	void *ctx;
};

FIXTURE_SETUP(mon)
{
	self->ctx = xs_init();
	ASSERT_NE(NULL, self->ctx);
}

FIXTURE_TEARDOWN(mon)
{
	xs_term(self->ctx);
}

TEST_F(mon, monitor_reports_peers_of_a_socket)
{
	void *pull = xs_socket(self->ctx, XS_PULL);
	void *push = xs_socket(self->ctx, XS_PUSH);
	void *mon;
	char ep[128], data[256];
	xs_event_t ev;
	int type = -1, peers = -1;
	size_t len = sizeof(int);

	ASSERT_LE(0, xs_bind(pull, endpoint(ep, sizeof(ep), "peers")));
	mon = xs_socket_monitor(pull, XS_EVENT_ACCEPTED |
				XS_EVENT_DISCONNECTED);
	ASSERT_NE(NULL, mon);
	ASSERT_EQ(0, xs_getsockopt(mon, XS_TYPE, &type, &len));
	ASSERT_EQ(XS_MONITOR_TYPE, type);
	ASSERT_LE(0, xs_connect(push, ep));
	ASSERT_LT(0, next_event(mon, &ev, data, sizeof(data), 3000));
	ASSERT_EQ(XS_EVENT_ACCEPTED, ev.type);
	EXPECT_STREQ(ep + strlen("ipc://"), data);
	EXPECT_EQ(ino_of_socket(push), ev.peer);
	EXPECT_EQ(ino_of_socket(pull), ev.ino);
	EXPECT_EQ(1U, ev.peers);
	len = sizeof(int);
	ASSERT_EQ(0, xs_getsockopt(pull, XS_PEERS, &peers, &len));
	ASSERT_EQ(1, peers);
	ASSERT_EQ(0, xs_close(push));
	ASSERT_LT(0, next_event(mon, &ev, data, sizeof(data), 3000));
	ASSERT_EQ(XS_EVENT_DISCONNECTED, ev.type);
	/* a monitor sends nothing, binds nothing */
	EXPECT_EQ(-1, xs_send(mon, "x", 1, 0));
	EXPECT_EQ(ENOTSUP, errno);
	EXPECT_EQ(-1, xs_bind(mon, "ipc://mon-bind"));
	EXPECT_EQ(ENOTSUP, errno);
	ASSERT_EQ(0, xs_close(mon));
	ASSERT_EQ(0, xs_close(pull));
}

TEST_F(mon, monitor_arguments_are_checked)
{
	void *pull = xs_socket(self->ctx, XS_PULL), *mon, *mon2;
	uint64_t lost = 1;
	size_t len = sizeof(lost);

	EXPECT_EQ(NULL, xs_socket_monitor(NULL, 0));
	EXPECT_EQ(ENOTSOCK, errno);
	EXPECT_EQ(NULL, xs_socket_monitor(pull, -1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(NULL, xs_socket_monitor(pull, XS_EVENT_ALL + 1));
	EXPECT_EQ(EINVAL, errno);
	mon = xs_socket_monitor(pull, 0);
	ASSERT_NE(NULL, mon);
	/* one monitor per socket; a monitor is not watched */
	EXPECT_EQ(NULL, xs_socket_monitor(pull, 0));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ(NULL, xs_socket_monitor(mon, 0));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, xs_getsockopt(mon, XS_EVENTS_LOST, &lost, &len));
	EXPECT_EQ(0U, lost);
	EXPECT_EQ(-1, xs_getsockopt(pull, XS_EVENTS_LOST, &lost, &len));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, xs_close(mon));
	mon2 = xs_socket_monitor(pull, 0);
	ASSERT_NE(NULL, mon2);
	ASSERT_EQ(0, xs_close(mon2));
	ASSERT_EQ(0, xs_close(pull));
}

TEST_F(mon, counts_stats_and_lossless_through_the_api)
{
	void *pub = xs_socket(self->ctx, XS_PUB);
	void *sub = xs_socket(self->ctx, XS_SUB);
	char ep[128], buf[16];
	int v = -1, hwm = 1;
	size_t len = sizeof(v);
	xs_stats_t st;

	ASSERT_EQ(0, xs_setsockopt(sub, XS_RCVHWM, &hwm, sizeof(hwm)));
	hwm = 0;
	ASSERT_EQ(0, xs_setsockopt(pub, XS_SNDHWM, &hwm, sizeof(hwm)));
	ASSERT_LE(0, xs_bind(pub, endpoint(ep, sizeof(ep), "stats")));
	ASSERT_LE(0, xs_connect(sub, ep));
	ASSERT_EQ(0, xs_setsockopt(sub, XS_SUBSCRIBE, "t", 1));
	ASSERT_EQ(0, xs_getsockopt(pub, XS_SUBSCRIBERS, &v, &len));
	ASSERT_EQ(1, v);
	ASSERT_EQ(0, xs_getsockopt(pub, XS_PREFIXES, &v, &len));
	ASSERT_EQ(1, v);
	EXPECT_EQ(-1, xs_getsockopt(sub, XS_SUBSCRIBERS, &v, &len));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, xs_setsockopt(pub, XS_PEERS, &v, sizeof(v)));
	EXPECT_EQ(EINVAL, errno);

	/* lossless: the second record waits for room */
	v = 1;
	ASSERT_EQ(0, xs_setsockopt(pub, XS_LOSSLESS, &v, sizeof(v)));
	v = -1;
	ASSERT_EQ(0, xs_getsockopt(pub, XS_LOSSLESS, &v, &len));
	ASSERT_EQ(1, v);
	v = 2;
	EXPECT_EQ(-1, xs_setsockopt(pub, XS_LOSSLESS, &v, sizeof(v)));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, xs_setsockopt(sub, XS_LOSSLESS, &v, sizeof(v)));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(2, xs_send(pub, "t1", 2, 0));
	EXPECT_EQ(-1, xs_send(pub, "t2", 2, XS_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(2, xs_recv(sub, buf, sizeof(buf), 0));
	ASSERT_EQ(2, xs_send(pub, "t2", 2, XS_DONTWAIT));
	ASSERT_EQ(2, xs_recv(sub, buf, sizeof(buf), 0));

	len = sizeof(st);
	ASSERT_EQ(0, xs_getsockopt(pub, XS_STATS, &st, &len));
	ASSERT_EQ(sizeof(st), len);
	EXPECT_EQ(2U, st.sent_records);
	EXPECT_EQ(4U, st.sent_bytes);
	EXPECT_EQ(0U, st.drops);
	EXPECT_EQ(1U, st.subscribers);
	len = sizeof(st);
	ASSERT_EQ(0, xs_getsockopt(sub, XS_STATS, &st, &len));
	EXPECT_EQ(2U, st.recv_records);
	len = 8;
	ASSERT_EQ(0, xs_getsockopt(sub, XS_STATS, &st, &len));
	EXPECT_EQ(8U, len);
	ASSERT_EQ(0, xs_close(sub));
	ASSERT_EQ(0, xs_close(pub));
}

TEST(term_ends_a_monitor_like_any_socket)
{
	void *ctx = xs_init(), *pull, *mon;
	char buf[64];
	xs_event_t ev;

	ASSERT_NE(NULL, ctx);
	pull = xs_socket(ctx, XS_PULL);
	mon = xs_socket_monitor(pull, 0);
	ASSERT_NE(NULL, mon);
	ASSERT_EQ(0, xs_close(pull));
	/* the watched socket closed: its last event, then nothing */
	ASSERT_EQ((int)sizeof(xs_event_t), xs_recv(mon, buf, sizeof(buf), 0));
	memcpy(&ev, buf, sizeof(ev));
	ASSERT_EQ(XS_EVENT_CLOSED, ev.type);
	ASSERT_EQ(0, xs_close(mon));
	ASSERT_EQ(0, xs_term(ctx));
}

TEST_HARNESS_MAIN
