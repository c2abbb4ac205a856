// SPDX-License-Identifier: GPL-2.0
/*
 * libxs: tcp:// through libzmq (libxs/remote.c).  Each test names what a
 * program relies on: the patterns over tcp alone, a PUB serving local and
 * remote subscribers at once, a SUB fair-queueing between both, the mixes
 * refused with ENOCOMPATPROTO, xs_poll and xs_term over libzmq sockets,
 * and a plain libzmq program at the other end.  Loopback in the guest.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/xs.h>
#include "xs.h"

#include "kselftest_harness.h"

#include "xs_zmq.h"

#define MAX_SOCKS 8

static char *tcp(char *buf, size_t len)
{
	static int n;

	snprintf(buf, len, "tcp://127.0.0.1:%d",
		 20000 + (int)(getpid() % 2000) * 16 + n++ % 16);
	return buf;
}

static char *ipc(char *buf, size_t len, const char *tag)
{
	snprintf(buf, len, "ipc://libxs-tcp-%d-%s", (int)getpid(), tag);
	return buf;
}

static int rcvmore(void *s)
{
	size_t len = sizeof(int);
	int more = -1;

	if (xs_getsockopt(s, XS_RCVMORE, &more, &len))
		return -1;
	return more;
}

static int set_int(void *s, int option, int v)
{
	return xs_setsockopt(s, option, &v, sizeof(v));
}

/* Publishes msg until sub has it (a subscription crosses tcp later). */
static int publish_until(void *pub, void *sub, const char *msg)
{
	char buf[32];
	int i, n;

	for (i = 0; i < 100; i++) {
		if (xs_send(pub, msg, strlen(msg), 0) < 0)
			return -1;
		xs_pollitem_t it = { .socket = sub, .events = XS_POLLIN };

		if (xs_poll(&it, 1, 50) == 1) {
			memset(buf, 0, sizeof(buf));
			n = xs_recv(sub, buf, sizeof(buf) - 1, 0);
			return n == (int)strlen(msg) && !strcmp(buf, msg) ?
			       0 : -2;
		}
	}
	return -3;
}

FIXTURE(tcp) {
	void *ctx;
	void *socks[MAX_SOCKS];
};

FIXTURE_SETUP(tcp)
{
	self->ctx = xs_init();
	ASSERT_NE(NULL, self->ctx);
}

FIXTURE_TEARDOWN(tcp)
{
	int i, zero = 0;

	for (i = 0; i < MAX_SOCKS; i++) {
		if (self->socks[i]) {
			xs_setsockopt(self->socks[i], XS_LINGER, &zero,
				      sizeof(zero));
			xs_close(self->socks[i]);
		}
	}
	EXPECT_EQ(0, xs_term(self->ctx));
}

static void *open_sock(FIXTURE_DATA(tcp) *self, int type)
{
	void *s = xs_socket(self->ctx, type);
	int i;

	for (i = 0; s && i < MAX_SOCKS; i++) {
		if (!self->socks[i]) {
			self->socks[i] = s;
			return s;
		}
	}
	return NULL;
}

static int wire_tcp(FIXTURE_DATA(tcp) *self, int btype, int ctype,
		    void **b, void **c)
{
	char addr[64];

	*b = open_sock(self, btype);
	*c = open_sock(self, ctype);
	if (!*b || !*c)
		return -1;
	tcp(addr, sizeof(addr));
	if (xs_bind(*b, addr) != 1 || xs_connect(*c, addr) != 1)
		return -1;
	if (set_int(*b, XS_RCVTIMEO, 5000) || set_int(*c, XS_RCVTIMEO, 5000))
		return -1;
	return 0;
}

TEST_F(tcp, push_pull_carries_multipart_records)
{
	void *pull, *push;
	char buf[16];
	xs_msg_t m;

	ASSERT_EQ(0, wire_tcp(self, XS_PULL, XS_PUSH, &pull, &push));
	EXPECT_EQ(4, xs_send(push, "head", 4, XS_SNDMORE));
	EXPECT_EQ(4, xs_send(push, "body", 4, 0));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(4, xs_recv(pull, buf, sizeof(buf), 0));
	EXPECT_STREQ("head", buf);
	EXPECT_EQ(1, rcvmore(pull));
	ASSERT_EQ(0, xs_msg_init(&m));
	EXPECT_EQ(4, xs_recvmsg(pull, &m, 0));
	EXPECT_EQ(0, memcmp("body", xs_msg_data(&m), 4));
	EXPECT_EQ(0, rcvmore(pull));
	EXPECT_EQ(0, xs_msg_close(&m));
	EXPECT_EQ(-1, xs_recv(pull, buf, sizeof(buf), XS_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
}

TEST_F(tcp, req_rep_and_pair_talk_both_ways)
{
	void *rep, *req, *a, *b;
	char buf[16];

	ASSERT_EQ(0, wire_tcp(self, XS_REP, XS_REQ, &rep, &req));
	EXPECT_EQ(3, xs_send(req, "ask", 3, 0));
	EXPECT_EQ(-1, xs_send(req, "ask", 3, 0));
	EXPECT_EQ(EFSM, errno);
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(3, xs_recv(rep, buf, sizeof(buf), 0));
	EXPECT_STREQ("ask", buf);
	EXPECT_EQ(6, xs_send(rep, "answer", 6, 0));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(6, xs_recv(req, buf, sizeof(buf), 0));
	EXPECT_STREQ("answer", buf);

	ASSERT_EQ(0, wire_tcp(self, XS_PAIR, XS_PAIR, &a, &b));
	EXPECT_EQ(2, xs_send(b, "hi", 2, 0));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(2, xs_recv(a, buf, sizeof(buf), 0));
	EXPECT_EQ(2, xs_send(a, "yo", 2, 0));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(2, xs_recv(b, buf, sizeof(buf), 0));
	EXPECT_STREQ("yo", buf);
}

TEST_F(tcp, sub_gets_only_its_prefixes_subscribed_before_connect)
{
	char addr[64], buf[16];
	void *pub, *sub;

	pub = open_sock(self, XS_PUB);
	sub = open_sock(self, XS_SUB);
	ASSERT_NE(NULL, sub);
	ASSERT_EQ(0, xs_setsockopt(sub, XS_SUBSCRIBE, "a", 1));
	tcp(addr, sizeof(addr));
	ASSERT_EQ(1, xs_bind(pub, addr));
	ASSERT_EQ(1, xs_connect(sub, addr));
	EXPECT_EQ(0, publish_until(pub, sub, "apple"));
	EXPECT_EQ(6, xs_send(pub, "banana", 6, 0));
	EXPECT_EQ(3, xs_send(pub, "avo", 3, 0));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(0, set_int(sub, XS_RCVTIMEO, 5000));
	EXPECT_EQ(3, xs_recv(sub, buf, sizeof(buf), 0));
	EXPECT_STREQ("avo", buf);
}

TEST_F(tcp, pub_bound_to_ipc_and_tcp_serves_both)
{
	char local[128], remote[64], buf[16];
	void *pub, *lsub, *rsub;

	pub = open_sock(self, XS_PUB);
	lsub = open_sock(self, XS_SUB);
	rsub = open_sock(self, XS_SUB);
	ASSERT_NE(NULL, rsub);
	ipc(local, sizeof(local), "pub");
	tcp(remote, sizeof(remote));
	ASSERT_EQ(1, xs_bind(pub, local));
	ASSERT_EQ(2, xs_bind(pub, remote));
	ASSERT_EQ(0, xs_setsockopt(lsub, XS_SUBSCRIBE, "", 0));
	ASSERT_EQ(0, xs_setsockopt(rsub, XS_SUBSCRIBE, "", 0));
	ASSERT_LT(0, xs_connect(lsub, local));
	ASSERT_LT(0, xs_connect(rsub, remote));
	EXPECT_EQ(0, publish_until(pub, rsub, "news"));
	/* the local subscriber got every copy the remote one waited for */
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(4, xs_recv(lsub, buf, sizeof(buf), XS_DONTWAIT));
	EXPECT_STREQ("news", buf);
}

TEST_F(tcp, sub_connected_to_ipc_and_tcp_takes_from_both)
{
	char local[128], remote[64], buf[16];
	void *lpub, *rpub, *sub;
	int got_l = 0, got_r = 0, i;

	lpub = open_sock(self, XS_PUB);
	rpub = open_sock(self, XS_PUB);
	sub = open_sock(self, XS_SUB);
	ASSERT_NE(NULL, sub);
	ipc(local, sizeof(local), "sub");
	tcp(remote, sizeof(remote));
	ASSERT_EQ(1, xs_bind(lpub, local));
	ASSERT_EQ(1, xs_bind(rpub, remote));
	ASSERT_EQ(0, xs_setsockopt(sub, XS_SUBSCRIBE, "", 0));
	ASSERT_EQ(1, xs_connect(sub, local));
	ASSERT_EQ(2, xs_connect(sub, remote));
	ASSERT_EQ(0, publish_until(rpub, sub, "R"));
	/* both queued: each is read whole, neither side starves */
	for (i = 0; i < 4; i++) {
		EXPECT_EQ(1, xs_send(lpub, "L", 1, XS_SNDMORE));
		EXPECT_EQ(1, xs_send(lpub, "l", 1, 0));
		EXPECT_EQ(1, xs_send(rpub, "R", 1, XS_SNDMORE));
		EXPECT_EQ(1, xs_send(rpub, "r", 1, 0));
	}
	usleep(200000);
	ASSERT_EQ(0, set_int(sub, XS_RCVTIMEO, 2000));
	for (i = 0; i < 8; i++) {
		memset(buf, 0, sizeof(buf));
		ASSERT_EQ(1, xs_recv(sub, buf, sizeof(buf), 0));
		ASSERT_EQ(1, rcvmore(sub));
		if (buf[0] == 'L')
			got_l++;
		else
			got_r++;
		if (i == 3) {
			/* fair-queued: both sides served in the first four */
			EXPECT_LT(0, got_l);
			EXPECT_LT(0, got_r);
		}
		ASSERT_EQ(1, xs_recv(sub, buf + 1, sizeof(buf) - 1, 0));
		EXPECT_EQ(buf[0] + ('l' - 'L'), buf[1]);
		EXPECT_EQ(0, rcvmore(sub));
	}
	EXPECT_EQ(4, got_l);
	EXPECT_EQ(4, got_r);
}

TEST_F(tcp, mixes_that_would_break_a_pattern_are_refused)
{
	char local[128], remote[64];
	void *push, *pull, *surveyor;

	push = open_sock(self, XS_PUSH);
	pull = open_sock(self, XS_PULL);
	surveyor = open_sock(self, XS_SURVEYOR);
	ASSERT_NE(NULL, surveyor);
	ipc(local, sizeof(local), "mix");
	tcp(remote, sizeof(remote));
	ASSERT_EQ(1, xs_bind(push, local));
	EXPECT_EQ(-1, xs_bind(push, remote));
	EXPECT_EQ(ENOCOMPATPROTO, errno);
	ASSERT_EQ(1, xs_bind(pull, remote));
	EXPECT_EQ(-1, xs_connect(pull, local));
	EXPECT_EQ(ENOCOMPATPROTO, errno);
	/* nothing was added: no endpoint 2 to shut down */
	EXPECT_EQ(-1, xs_shutdown(push, 2));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, xs_shutdown(pull, 2));
	EXPECT_EQ(EINVAL, errno);
	/* and what is there works */
	EXPECT_EQ(0, xs_shutdown(pull, 1));

	EXPECT_EQ(-1, xs_connect(surveyor, remote));
	EXPECT_EQ(EPROTONOSUPPORT, errno);
	EXPECT_EQ(-1, xs_connect(surveyor, "udp://127.0.0.1:1"));
	EXPECT_EQ(EPROTONOSUPPORT, errno);
}

TEST_F(tcp, poll_and_events_see_tcp_sockets)
{
	void *pull, *push;
	xs_pollitem_t it[2];
	size_t len = sizeof(int);
	int ev = -1, pfd[2];
	char buf[8];

	ASSERT_EQ(0, wire_tcp(self, XS_PULL, XS_PUSH, &pull, &push));
	ASSERT_EQ(0, pipe(pfd));
	it[0] = (xs_pollitem_t){ .socket = pull, .events = XS_POLLIN };
	it[1] = (xs_pollitem_t){ .fd = pfd[0], .events = XS_POLLIN };
	EXPECT_EQ(0, xs_poll(it, 2, 100));
	ASSERT_EQ(1, write(pfd[1], "x", 1));
	EXPECT_EQ(1, xs_poll(it, 2, 100));
	EXPECT_EQ(XS_POLLIN, it[1].revents);
	EXPECT_EQ(0, it[0].revents);
	ASSERT_EQ(1, read(pfd[0], buf, 1));
	EXPECT_EQ(2, xs_send(push, "go", 2, 0));
	EXPECT_EQ(1, xs_poll(it, 2, 5000));
	EXPECT_EQ(XS_POLLIN, it[0].revents);
	EXPECT_EQ(0, xs_getsockopt(pull, XS_EVENTS, &ev, &len));
	EXPECT_EQ(XS_POLLIN, ev);
	EXPECT_EQ(2, xs_recv(pull, buf, sizeof(buf), 0));
	EXPECT_EQ(0, xs_getsockopt(pull, XS_EVENTS, &ev, &len));
	EXPECT_EQ(0, ev);
	close(pfd[0]);
	close(pfd[1]);
}

/* Sends small records until one arrives (a dropped connection is
 * remade); its size, or -1. */
static int small_gets_through(void *push, void *pull)
{
	char buf[256];
	int i, n = -1;

	for (i = 0; i < 50 && n < 0; i++) {
		if (xs_send(push, "ok", 2, 0) != 2)
			return -1;
		n = xs_recv(pull, buf, sizeof(buf), 0);
	}
	return n;
}

/*
 * XS_MAXMSGSIZE reaches libzmq, set before the libzmq socket exists and
 * after: a larger record never arrives (libzmq drops the connection that
 * carried it, and the pusher connects again), a smaller one does.  As in
 * libzmq, an option applies to the binds and connects made after it: an
 * endpoint bound before the limit still takes big records.
 */
TEST_F(tcp, maxmsgsize_holds_for_records_from_tcp)
{
	uint64_t max = 100;
	char big[200], buf[256], a1[64], a2[64], a3[64];
	void *pull, *push, *pull2, *push2, *push3;

	memset(big, 'b', sizeof(big));
	pull = open_sock(self, XS_PULL);
	push = open_sock(self, XS_PUSH);
	pull2 = open_sock(self, XS_PULL);
	push2 = open_sock(self, XS_PUSH);
	push3 = open_sock(self, XS_PUSH);
	ASSERT_NE(NULL, push3);
	ASSERT_EQ(0, set_int(pull, XS_RCVTIMEO, 300));
	ASSERT_EQ(0, set_int(pull2, XS_RCVTIMEO, 300));

	/* set before the libzmq socket exists */
	ASSERT_EQ(0, xs_setsockopt(pull, XS_MAXMSGSIZE, &max, sizeof(max)));
	ASSERT_EQ(1, xs_bind(pull, tcp(a1, sizeof(a1))));
	ASSERT_EQ(1, xs_connect(push, a1));
	EXPECT_EQ(200, xs_send(push, big, sizeof(big), 0));
	EXPECT_EQ(-1, xs_recv(pull, buf, sizeof(buf), 0));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(2, small_gets_through(push, pull));

	/* set on a socket that has one: for the next bind */
	ASSERT_EQ(1, xs_bind(pull2, tcp(a2, sizeof(a2))));
	ASSERT_EQ(0, xs_setsockopt(pull2, XS_MAXMSGSIZE, &max, sizeof(max)));
	ASSERT_EQ(2, xs_bind(pull2, tcp(a3, sizeof(a3))));
	ASSERT_EQ(1, xs_connect(push2, a3));
	EXPECT_EQ(200, xs_send(push2, big, sizeof(big), 0));
	EXPECT_EQ(-1, xs_recv(pull2, buf, sizeof(buf), 0));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(2, small_gets_through(push2, pull2));
	ASSERT_EQ(1, xs_connect(push3, a2));
	ASSERT_EQ(0, set_int(pull2, XS_RCVTIMEO, 5000));
	EXPECT_EQ(200, xs_send(push3, big, sizeof(big), 0));
	EXPECT_EQ(200, xs_recv(pull2, buf, sizeof(buf), 0));
}

struct blocked {
	void *sock;
	int rc, err;
};

static void *recv_blocked(void *arg)
{
	struct blocked *b = arg;
	char buf[8];

	b->rc = xs_recv(b->sock, buf, sizeof(buf), 0);
	b->err = errno;
	xs_close(b->sock);
	return NULL;
}

TEST(term_wakes_a_recv_blocked_on_tcp_with_eterm)
{
	void *ctx = xs_init(), *pull;
	struct blocked b;
	char addr[64];
	pthread_t t;

	pull = xs_socket(ctx, XS_PULL);
	ASSERT_EQ(1, xs_bind(pull, tcp(addr, sizeof(addr))));
	b.sock = pull;
	ASSERT_EQ(0, pthread_create(&t, NULL, recv_blocked, &b));
	usleep(100000);
	ASSERT_EQ(0, xs_term(ctx));
	pthread_join(t, NULL);
	EXPECT_EQ(-1, b.rc);
	EXPECT_EQ(ETERM, b.err);
}

TEST_F(tcp, plain_libzmq_peers_both_ways)
{
	void *zctx = zmq_ctx_new(), *zpull, *zpush, *pull, *push;
	char a1[64], a2[64], buf[16];
	int ms = 5000;

	zpull = zmq_socket(zctx, 7 /* ZMQ_PULL */);
	zpush = zmq_socket(zctx, 8 /* ZMQ_PUSH */);
	ASSERT_EQ(0, zmq_setsockopt(zpull, 27 /* ZMQ_RCVTIMEO */, &ms,
				    sizeof(ms)));
	ASSERT_EQ(0, zmq_bind(zpull, tcp(a1, sizeof(a1))));
	push = open_sock(self, XS_PUSH);
	ASSERT_EQ(1, xs_connect(push, a1));
	EXPECT_EQ(4, xs_send(push, "to-z", 4, 0));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(4, zmq_recv(zpull, buf, sizeof(buf), 0));
	EXPECT_STREQ("to-z", buf);

	pull = open_sock(self, XS_PULL);
	ASSERT_EQ(0, set_int(pull, XS_RCVTIMEO, 5000));
	ASSERT_EQ(1, xs_bind(pull, tcp(a2, sizeof(a2))));
	ASSERT_EQ(0, zmq_connect(zpush, a2));
	EXPECT_EQ(6, zmq_send(zpush, "from-z", 6, 0));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(6, xs_recv(pull, buf, sizeof(buf), 0));
	EXPECT_STREQ("from-z", buf);

	ms = 0;
	zmq_setsockopt(zpush, 17 /* ZMQ_LINGER */, &ms, sizeof(ms));
	zmq_close(zpull);
	zmq_close(zpush);
	zmq_ctx_term(zctx);
}

TEST_HARNESS_MAIN
