// SPDX-License-Identifier: GPL-2.0
/*
 * libxs over tcp:// between two hosts: two network namespaces joined by a
 * veth pair (xs_twohost.h), each host a process of its own.  For every
 * pattern libzmq carries: records cross whole (multipart atomicity, also
 * when the sender dies in the middle of one), high-water marks bound what
 * waits for a stalled receiver, a peer that restarts is reconnected to,
 * subscriptions (and their changes, and the Crossroads form at XPUB/XSUB)
 * reach the publisher; plain libzmq programs on the other host, both
 * ways; one PUB serving local (ipc://, the kernel) and remote (tcp://)
 * subscribers at once.
 */
#define _GNU_SOURCE
#include "xs_twohost.h"

#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"

#include "xs_zmq.h"

/* What a test and its hosts share. */
struct sh {
	atomic_int phase;
	atomic_int count;
	atomic_int got[4];
	int n;
	char ep[6][64];		/* endpoints, filled in before the spawn */
};

FIXTURE(hosts) {
	struct twohost h;
	struct sh *sh;
};

FIXTURE_SETUP(hosts)
{
	ASSERT_EQ(0, twohost_setup(&self->h));
	th_note("hosts joined by %s", self->h.veth ? "veth" :
		"relays (no veth here, or XS_TWOHOST_RELAY=1)");
	self->sh = th_shared(sizeof(*self->sh));
	ASSERT_NE(NULL, self->sh);
}

FIXTURE_TEARDOWN(hosts)
{
	twohost_teardown(&self->h);
}

/* Port N bound by a host, and the same port as the other host sees it. */
static void ports(FIXTURE_DATA(hosts) *self, int slot, int host, int n)
{
	th_bind_ep(self->sh->ep[slot], sizeof(self->sh->ep[slot]), n);
	th_remote_ep(&self->h, self->sh->ep[slot + 1],
		     sizeof(self->sh->ep[slot + 1]), host, n);
}

/* ---- PUSH/PULL: whole records, a dying sender, high-water marks ----- */

#define PAYLOAD_MAX 3000

static void fill(char *buf, int sender, int seq, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (char)('a' + (sender * 7 + seq + (int)i) % 26);
}

static size_t payload_len(int seq)
{
	return (size_t)(seq * 37) % PAYLOAD_MAX + 1;
}

static struct sh *g;	/* the test's shared area, in every host */
static int sender_id;

static int pusher(void *arg)
{
	void *ctx = xs_init(), *push = th_sock(ctx, XS_PUSH);
	char head[16], seq[16], body[PAYLOAD_MAX];
	int i;

	CHECK(push);
	CHECK(xs_connect(push, g->ep[1]) == 1);
	for (i = 0; i < g->n; i++) {
		snprintf(head, sizeof(head), "s%d", sender_id);
		snprintf(seq, sizeof(seq), "%d", i);
		fill(body, sender_id, i, payload_len(i));
		CHECK(th_send_str(push, head, XS_SNDMORE) > 0);
		CHECK(th_send_str(push, seq, XS_SNDMORE) > 0);
		CHECK(xs_send(push, body, payload_len(i), 0) ==
		      (int)payload_len(i));
	}
	/* stay until everything is taken */
	CHECK(th_await(&g->phase, 1, 20000) == 0);
	return th_done(ctx, &push, 1);
}

static int puller(void *arg)
{
	void *ctx = xs_init(), *pull = th_sock(ctx, XS_PULL);
	char head[16], seq[16], body[PAYLOAD_MAX + 1], want[PAYLOAD_MAX];
	int next[2] = { 0, 0 }, i, s, more, n;

	CHECK(pull);
	CHECK(xs_bind(pull, g->ep[0]) == 1);
	for (i = 0; i < 2 * g->n; i++) {
		CHECK(th_recv_str(pull, head, sizeof(head), &more) > 0);
		CHECK(more == 1);
		CHECK(head[0] == 's' && (head[1] == '0' || head[1] == '1'));
		s = head[1] - '0';
		CHECK(th_recv_str(pull, seq, sizeof(seq), &more) > 0);
		CHECK(more == 1);
		/* each sender's records in its order, none missing */
		CHECK(atoi(seq) == next[s]);
		n = xs_recv(pull, body, sizeof(body), 0);
		CHECK(n == (int)payload_len(next[s]));
		fill(want, s, next[s], (size_t)n);
		CHECK(!memcmp(body, want, (size_t)n));
		CHECK(th_rcvmore(pull) == 0);
		next[s]++;
	}
	CHECK(xs_recv(pull, body, sizeof(body), XS_DONTWAIT) == -1);
	CHECK(errno == EAGAIN);
	atomic_store(&g->phase, 1);
	return th_done(ctx, &pull, 1);
}

static int pusher0(void *arg)
{
	sender_id = 0;
	return pusher(arg);
}

static int pusher1(void *arg)
{
	sender_id = 1;
	return pusher(arg);
}

TEST_F(hosts, push_pull_records_cross_whole_and_in_order)
{
	pid_t a, b0, b1;

	g = self->sh;
	g->n = 200 / th_scale() < 20 ? 20 : 200 / th_scale();
	ports(self, 0, HOST_A, 0);
	a = th_spawn(&self->h, HOST_A, puller, NULL);
	b0 = th_spawn(&self->h, HOST_B, pusher0, NULL);
	b1 = th_spawn(&self->h, HOST_B, pusher1, NULL);
	EXPECT_EQ(0, th_wait(a, 30000));
	EXPECT_EQ(0, th_wait(b0, 5000));
	EXPECT_EQ(0, th_wait(b1, 5000));
}

static int dying_pusher(void *arg)
{
	void *ctx = xs_init(), *push = th_sock(ctx, XS_PUSH);

	CHECK(push);
	CHECK(xs_connect(push, g->ep[1]) == 1);
	CHECK(th_send_str(push, "whole", 0) == 5);
	CHECK(th_await(&g->phase, 1, 10000) == 0);
	/* the first part of a record that is never finished */
	CHECK(th_send_str(push, "half", XS_SNDMORE) == 4);
	th_sleep_ms(200);
	_exit(0);
}

static int second_pusher(void *arg)
{
	void *ctx = xs_init(), *push = th_sock(ctx, XS_PUSH);

	CHECK(push);
	CHECK(xs_connect(push, g->ep[1]) == 1);
	CHECK(th_send_str(push, "next", 0) == 4);
	CHECK(th_await(&g->phase, 2, 10000) == 0);
	return th_done(ctx, &push, 1);
}

static int cut_puller(void *arg)
{
	void *ctx = xs_init(), *pull = th_sock(ctx, XS_PULL);
	char buf[16];
	int more;

	CHECK(pull);
	CHECK(xs_bind(pull, g->ep[0]) == 1);
	CHECK(th_recv_str(pull, buf, sizeof(buf), &more) == 5);
	CHECK(!strcmp(buf, "whole") && more == 0);
	atomic_store(&g->phase, 1);
	CHECK(th_await(&g->count, 1, 10000) == 0);	/* the sender died */
	CHECK(th_recv_str(pull, buf, sizeof(buf), &more) == 4);
	CHECK(!strcmp(buf, "next") && more == 0);
	CHECK(xs_recv(pull, buf, sizeof(buf), XS_DONTWAIT) == -1);
	CHECK(errno == EAGAIN);
	atomic_store(&g->phase, 2);
	return th_done(ctx, &pull, 1);
}

TEST_F(hosts, record_cut_short_by_a_dying_sender_never_arrives)
{
	pid_t a, b;

	g = self->sh;
	ports(self, 0, HOST_A, 1);
	a = th_spawn(&self->h, HOST_A, cut_puller, NULL);
	b = th_spawn(&self->h, HOST_B, dying_pusher, NULL);
	EXPECT_EQ(0, th_wait(b, 15000));
	atomic_store(&g->count, 1);
	b = th_spawn(&self->h, HOST_B, second_pusher, NULL);
	EXPECT_EQ(0, th_wait(a, 15000));
	EXPECT_EQ(0, th_wait(b, 5000));
}

#define HWM		10
#define HWM_RECORD	1000
#define HWM_CAP		3000	/* stop here: the marks did nothing */

static int hwm_pusher(void *arg)
{
	void *ctx = xs_init(), *push = th_sock(ctx, XS_PUSH);
	char rec[HWM_RECORD];
	int sent = 0, idle = 0;

	CHECK(push);
	CHECK(th_setint(push, XS_SNDHWM, HWM) == 0);
	CHECK(xs_connect(push, g->ep[1]) == 1);
	/* send until nothing more is taken for half a second (scaled) */
	while (sent < HWM_CAP && idle < 25 * th_scale()) {
		memset(rec, 0, sizeof(rec));
		memcpy(rec, &sent, sizeof(sent));
		if (xs_send(push, rec, sizeof(rec), XS_DONTWAIT) ==
		    (int)sizeof(rec)) {
			sent++;
			idle = 0;
			continue;
		}
		CHECK(errno == EAGAIN);
		idle++;
		th_sleep_ms(20);
	}
	atomic_store(&g->count, sent);
	atomic_store(&g->phase, 1);
	CHECK(th_await(&g->phase, 2, 30000) == 0);
	return th_done(ctx, &push, 1);
}

static int hwm_puller(void *arg)
{
	void *ctx = xs_init(), *pull = th_sock(ctx, XS_PULL);
	char rec[HWM_RECORD];
	int i, n, seq;

	CHECK(pull);
	CHECK(th_setint(pull, XS_RCVHWM, HWM) == 0);
	CHECK(xs_bind(pull, g->ep[0]) == 1);
	CHECK(th_await(&g->phase, 1, 30000) == 0);
	n = atomic_load(&g->count);
	for (i = 0; i < n; i++) {
		CHECK(xs_recv(pull, rec, sizeof(rec), 0) == (int)sizeof(rec));
		memcpy(&seq, rec, sizeof(seq));
		CHECK(seq == i);
	}
	CHECK(xs_recv(pull, rec, sizeof(rec), XS_DONTWAIT) == -1);
	CHECK(errno == EAGAIN);
	atomic_store(&g->phase, 2);
	return th_done(ctx, &pull, 1);
}

/*
 * Both marks at 10: what a puller that does not read lets the pusher send
 * is the two marks plus what TCP and libzmq's batches hold (socket
 * buffers are 4 KiB here); libzmq's defaults (1000 each) would let
 * thousands through.  Nothing accepted is lost.
 */
TEST_F(hosts, hwm_bounds_what_waits_for_a_stalled_puller)
{
	pid_t a, b;
	int n;

	g = self->sh;
	ports(self, 0, HOST_A, 2);
	a = th_spawn(&self->h, HOST_A, hwm_puller, NULL);
	b = th_spawn(&self->h, HOST_B, hwm_pusher, NULL);
	EXPECT_EQ(0, th_wait(a, 40000));
	EXPECT_EQ(0, th_wait(b, 5000));
	n = atomic_load(&g->count);
	th_note("a stalled puller let %d records of %d bytes through", n,
		HWM_RECORD);
	EXPECT_LE(HWM, n);
	EXPECT_GE(300, n);
}

/* ---- PUB/SUB: prefixes, subscription changes, restarts ---------------- */

/* Publishes WARM every 20 ms until PHASE reaches V. */
static int warm_until(void *pub, const char *warm, int v)
{
	long long end = th_now_ms() + 20000LL * th_scale();

	while (atomic_load(&g->phase) < v) {
		if (th_send_str(pub, warm, 0) < 0 || th_now_ms() > end)
			return -1;
		th_sleep_ms(20);
	}
	return 0;
}

/* The next record that is not WARM (one part expected: *MORE says). */
static int next_real(void *sub, const char *warm, char *buf, size_t len,
		     int *more)
{
	do {
		if (th_recv_str(sub, buf, len, more) < 0)
			return -1;
	} while (!strcmp(buf, warm));
	return 0;
}

static int prefix_pub(void *arg)
{
	void *ctx = xs_init(), *pub = th_sock(ctx, XS_PUB);

	CHECK(pub);
	CHECK(xs_bind(pub, g->ep[0]) == 1);
	CHECK(warm_until(pub, "a-warm", 1) == 0);
	CHECK(th_send_str(pub, "b1", 0) == 2);
	CHECK(th_send_str(pub, "a1", XS_SNDMORE) == 2);
	CHECK(th_send_str(pub, "tail", 0) == 4);
	/* the subscriber switches from "a" to "b" */
	CHECK(warm_until(pub, "b-warm", 2) == 0);
	CHECK(th_send_str(pub, "a2", 0) == 2);
	CHECK(th_send_str(pub, "b2", 0) == 2);
	CHECK(th_await(&g->phase, 3, 10000) == 0);
	return th_done(ctx, &pub, 1);
}

static int prefix_sub(void *arg)
{
	void *ctx = xs_init(), *sub = th_sock(ctx, XS_SUB);
	char buf[16];
	int more;

	CHECK(sub);
	CHECK(xs_setsockopt(sub, XS_SUBSCRIBE, "a", 1) == 0);
	CHECK(xs_connect(sub, g->ep[1]) == 1);
	CHECK(th_recv_str(sub, buf, sizeof(buf), &more) > 0);
	CHECK(!strcmp(buf, "a-warm"));
	atomic_store(&g->phase, 1);
	/* "b1" was filtered at the publisher; "a1" comes whole */
	CHECK(next_real(sub, "a-warm", buf, sizeof(buf), &more) == 0);
	CHECK(!strcmp(buf, "a1") && more == 1);
	CHECK(th_recv_str(sub, buf, sizeof(buf), &more) == 4);
	CHECK(!strcmp(buf, "tail") && more == 0);
	CHECK(xs_setsockopt(sub, XS_UNSUBSCRIBE, "a", 1) == 0);
	CHECK(xs_setsockopt(sub, XS_SUBSCRIBE, "b", 1) == 0);
	do {
		CHECK(th_recv_str(sub, buf, sizeof(buf), &more) > 0);
	} while (strcmp(buf, "b-warm"));	/* "a-warm"s still in flight */
	atomic_store(&g->phase, 2);
	/* "a2" went first, but "a" is no longer subscribed */
	CHECK(next_real(sub, "b-warm", buf, sizeof(buf), &more) == 0);
	CHECK(!strcmp(buf, "b2"));
	atomic_store(&g->phase, 3);
	return th_done(ctx, &sub, 1);
}

TEST_F(hosts, sub_gets_its_prefixes_and_follows_subscription_changes)
{
	pid_t a, b;

	g = self->sh;
	ports(self, 0, HOST_A, 3);
	a = th_spawn(&self->h, HOST_A, prefix_pub, NULL);
	b = th_spawn(&self->h, HOST_B, prefix_sub, NULL);
	EXPECT_EQ(0, th_wait(b, 40000));
	EXPECT_EQ(0, th_wait(a, 5000));
}

static int restart_pub(void *arg)
{
	void *ctx = xs_init(), *pub = th_sock(ctx, XS_PUB);
	int round = atomic_load(&g->count);
	long long end = th_now_ms() + 20000LL * th_scale();

	CHECK(pub);
	CHECK(xs_bind(pub, g->ep[0]) == 1);
	while (atomic_load(&g->phase) < round) {
		CHECK(th_now_ms() < end);
		CHECK(th_send_str(pub, "y", 0) == 1);
		CHECK(th_send_str(pub, round == 1 ? "x1" : "x2", 0) == 2);
		th_sleep_ms(20);
	}
	return th_done(ctx, &pub, 1);
}

static int restart_sub(void *arg)
{
	void *ctx = xs_init(), *sub = th_sock(ctx, XS_SUB);
	char buf[16];

	CHECK(sub);
	CHECK(xs_setsockopt(sub, XS_SUBSCRIBE, "x", 1) == 0);
	CHECK(xs_connect(sub, g->ep[1]) == 1);
	CHECK(th_recv_str(sub, buf, sizeof(buf), NULL) == 2);
	CHECK(!strcmp(buf, "x1"));
	atomic_store(&g->phase, 1);
	/* the first publisher goes, a second one binds the same port */
	do {
		CHECK(th_recv_str(sub, buf, sizeof(buf), NULL) == 2);
		CHECK(buf[0] == 'x');
	} while (strcmp(buf, "x2"));
	atomic_store(&g->phase, 2);
	return th_done(ctx, &sub, 1);
}

TEST_F(hosts, sub_resubscribes_when_the_publisher_restarts)
{
	pid_t a, b;

	g = self->sh;
	ports(self, 0, HOST_A, 4);
	atomic_store(&g->count, 1);
	a = th_spawn(&self->h, HOST_A, restart_pub, NULL);
	b = th_spawn(&self->h, HOST_B, restart_sub, NULL);
	EXPECT_EQ(0, th_wait(a, 30000));
	atomic_store(&g->count, 2);
	a = th_spawn(&self->h, HOST_A, restart_pub, NULL);
	EXPECT_EQ(0, th_wait(a, 30000));
	EXPECT_EQ(0, th_wait(b, 5000));
}

static int xpub_side(void *arg)
{
	static const unsigned char sub_k[] = { 0, 1, 0, 1, 'k' };
	static const unsigned char unsub_k[] = { 0, 2, 0, 1, 'k' };
	void *ctx = xs_init(), *xpub = th_sock(ctx, XS_XPUB);
	unsigned char buf[16];

	CHECK(xpub);
	CHECK(xs_bind(xpub, g->ep[0]) == 1);
	CHECK(xs_recv(xpub, buf, sizeof(buf), 0) == 5);
	CHECK(!memcmp(buf, sub_k, 5));
	CHECK(th_send_str(xpub, "z1", 0) == 2);
	CHECK(th_send_str(xpub, "k1", 0) == 2);
	/* while the XSUB is still there: its unsubscription, not its end */
	CHECK(xs_recv(xpub, buf, sizeof(buf), 0) == 5);
	CHECK(!memcmp(buf, unsub_k, 5));
	atomic_store(&g->phase, 1);
	return th_done(ctx, &xpub, 1);
}

static int xsub_side(void *arg)
{
	static const unsigned char sub_k[] = { 0, 1, 0, 1, 'k' };
	static const unsigned char unsub_k[] = { 0, 2, 0, 1, 'k' };
	void *ctx = xs_init(), *xsub = th_sock(ctx, XS_XSUB);
	char buf[16];

	CHECK(xsub);
	CHECK(xs_connect(xsub, g->ep[1]) == 1);
	/* the one-byte kernel form is not Crossroads' */
	CHECK(xs_send(xsub, "\001k", 2, 0) == -1 && errno == EINVAL);
	CHECK(xs_send(xsub, sub_k, 5, 0) == 5);
	CHECK(th_recv_str(xsub, buf, sizeof(buf), NULL) == 2);
	CHECK(!strcmp(buf, "k1"));
	CHECK(xs_send(xsub, unsub_k, 5, 0) == 5);
	CHECK(th_await(&g->phase, 1, 10000) == 0);
	return th_done(ctx, &xsub, 1);
}

TEST_F(hosts, xsub_subscribes_an_xpub_in_the_crossroads_form)
{
	pid_t a, b;

	g = self->sh;
	ports(self, 0, HOST_A, 5);
	a = th_spawn(&self->h, HOST_A, xpub_side, NULL);
	b = th_spawn(&self->h, HOST_B, xsub_side, NULL);
	EXPECT_EQ(0, th_wait(a, 20000));
	EXPECT_EQ(0, th_wait(b, 20000));
}

/* ---- REQ/REP, XREQ/XREP, PAIR: replies and restarts ------------------- */

static int restart_rep(void *arg)
{
	void *ctx = xs_init(), *rep = th_sock(ctx, XS_REP);
	char buf[16], ans[24];
	int round = atomic_load(&g->count);

	CHECK(rep);
	CHECK(xs_bind(rep, g->ep[0]) == 1);
	atomic_store(&g->got[0], round);
	CHECK(th_recv_str(rep, buf, sizeof(buf), NULL) > 0);
	snprintf(ans, sizeof(ans), "%d:%s", round, buf);
	CHECK(th_send_str(rep, ans, 0) > 0);
	CHECK(th_await(&g->phase, round, 10000) == 0);
	return th_done(ctx, &rep, 1);
}

static int restart_req(void *arg)
{
	void *ctx = xs_init(), *req = th_sock(ctx, XS_REQ);
	char buf[16];

	CHECK(req);
	CHECK(xs_connect(req, g->ep[1]) == 1);
	CHECK(th_send_str(req, "q1", 0) == 2);
	CHECK(th_recv_str(req, buf, sizeof(buf), NULL) > 0);
	CHECK(!strcmp(buf, "1:q1"));
	atomic_store(&g->phase, 1);
	/*
	 * The replier restarts.  A request sent into the old connection
	 * before its end is noticed would be lost (a REQ does not resend),
	 * so this one goes once the new replier is bound: it waits in the
	 * REQ until the reconnection.
	 */
	CHECK(th_await(&g->got[0], 2, 20000) == 0);
	CHECK(th_send_str(req, "q2", 0) == 2);
	CHECK(th_recv_str(req, buf, sizeof(buf), NULL) > 0);
	CHECK(!strcmp(buf, "2:q2"));
	atomic_store(&g->phase, 2);
	return th_done(ctx, &req, 1);
}

TEST_F(hosts, req_gets_replies_across_a_restart_of_its_rep)
{
	pid_t a, b;

	g = self->sh;
	ports(self, 0, HOST_A, 6);
	atomic_store(&g->count, 1);
	a = th_spawn(&self->h, HOST_A, restart_rep, NULL);
	b = th_spawn(&self->h, HOST_B, restart_req, NULL);
	EXPECT_EQ(0, th_wait(a, 20000));
	atomic_store(&g->count, 2);
	a = th_spawn(&self->h, HOST_A, restart_rep, NULL);
	EXPECT_EQ(0, th_wait(a, 20000));
	EXPECT_EQ(0, th_wait(b, 5000));
}

static int router(void *arg)
{
	void *ctx = xs_init(), *xrep = th_sock(ctx, XS_XREP);
	char id[32], body[32], ans[48];
	int i, more, n;

	CHECK(xrep);
	CHECK(xs_bind(xrep, g->ep[0]) == 1);
	for (i = 0; i < 4; i++) {
		n = th_recv_str(xrep, id, sizeof(id), &more);
		CHECK(n > 0 && more == 1);
		CHECK(th_recv_str(xrep, body, sizeof(body), &more) > 0);
		CHECK(more == 0);
		/* the identity each dealer chose, as the router sees it */
		CHECK(!strncmp(body, id, (size_t)n));
		snprintf(ans, sizeof(ans), "for-%s", id);
		CHECK(xs_send(xrep, id, (size_t)n, XS_SNDMORE) == n);
		CHECK(th_send_str(xrep, ans, 0) > 0);
	}
	CHECK(th_await(&g->phase, 2, 10000) == 0);
	return th_done(ctx, &xrep, 1);
}

static int dealers(void *arg)
{
	void *ctx = xs_init(), *d[2];
	static const char *const ids[2] = { "alpha", "beta" };
	char buf[32], want[32];
	int i, r;

	for (i = 0; i < 2; i++) {
		d[i] = th_sock(ctx, XS_XREQ);
		CHECK(d[i]);
		CHECK(xs_setsockopt(d[i], XS_IDENTITY, ids[i],
				    strlen(ids[i])) == 0);
		CHECK(xs_connect(d[i], g->ep[1]) == 1);
	}
	for (r = 0; r < 2; r++) {
		for (i = 0; i < 2; i++) {
			snprintf(buf, sizeof(buf), "%s-%d", ids[i], r);
			CHECK(th_send_str(d[i], buf, 0) > 0);
		}
		/* each gets the reply routed to it, and only that */
		for (i = 0; i < 2; i++) {
			snprintf(want, sizeof(want), "for-%s", ids[i]);
			CHECK(th_recv_str(d[i], buf, sizeof(buf), NULL) > 0);
			CHECK(!strcmp(buf, want));
			CHECK(xs_recv(d[i], buf, sizeof(buf), XS_DONTWAIT) ==
			      -1);
		}
	}
	atomic_store(&g->phase, 2);
	return th_done(ctx, d, 2);
}

TEST_F(hosts, xrep_routes_replies_by_identity_across_hosts)
{
	pid_t a, b;

	g = self->sh;
	ports(self, 0, HOST_A, 7);
	a = th_spawn(&self->h, HOST_A, router, NULL);
	b = th_spawn(&self->h, HOST_B, dealers, NULL);
	EXPECT_EQ(0, th_wait(a, 20000));
	EXPECT_EQ(0, th_wait(b, 5000));
}

static int pair_binder(void *arg)
{
	void *ctx = xs_init(), *p = th_sock(ctx, XS_PAIR);
	char buf[16], ans[24];
	int i;

	CHECK(p);
	CHECK(xs_bind(p, g->ep[0]) == 1);
	for (i = 1; i <= 2; i++) {
		CHECK(th_recv_str(p, buf, sizeof(buf), NULL) > 0);
		snprintf(ans, sizeof(ans), "ack-%s", buf);
		CHECK(th_send_str(p, ans, 0) > 0);
		CHECK(th_await(&g->phase, i, 10000) == 0);
	}
	return th_done(ctx, &p, 1);
}

static int pair_connector(void *arg)
{
	void *ctx = xs_init(), *p = th_sock(ctx, XS_PAIR);
	int round = atomic_load(&g->count);
	char buf[16], msg[8], want[16];

	CHECK(p);
	CHECK(xs_connect(p, g->ep[1]) == 1);
	snprintf(msg, sizeof(msg), "p%d", round);
	snprintf(want, sizeof(want), "ack-p%d", round);
	CHECK(th_send_str(p, msg, 0) == 2);
	CHECK(th_recv_str(p, buf, sizeof(buf), NULL) > 0);
	CHECK(!strcmp(buf, want));
	atomic_store(&g->phase, round);
	return th_done(ctx, &p, 1);
}

TEST_F(hosts, pair_takes_a_new_peer_after_the_first_one_left)
{
	pid_t a, b;

	g = self->sh;
	ports(self, 0, HOST_A, 8);
	a = th_spawn(&self->h, HOST_A, pair_binder, NULL);
	atomic_store(&g->count, 1);
	b = th_spawn(&self->h, HOST_B, pair_connector, NULL);
	EXPECT_EQ(0, th_wait(b, 20000));
	atomic_store(&g->count, 2);
	b = th_spawn(&self->h, HOST_B, pair_connector, NULL);
	EXPECT_EQ(0, th_wait(b, 20000));
	EXPECT_EQ(0, th_wait(a, 5000));
}

/* ---- plain libzmq on the other host ------------------------------------ */

/*
 * Host A runs libxs: a PUB, a PULL and a REP bound (ports 9-11), a PUSH
 * and a REQ connected to host B's libzmq PULL and REP (ports 12-13).
 */
static int libxs_host(void *arg)
{
	void *ctx = xs_init(), *s[5];
	char buf[32], ep[64];
	int more, i;

	s[0] = th_sock(ctx, XS_PUB);
	s[1] = th_sock(ctx, XS_PULL);
	s[2] = th_sock(ctx, XS_REP);
	s[3] = th_sock(ctx, XS_PUSH);
	s[4] = th_sock(ctx, XS_REQ);
	for (i = 0; i < 5; i++)
		CHECK(s[i]);
	for (i = 0; i < 3; i++)
		CHECK(xs_bind(s[i], th_bind_ep(ep, sizeof(ep), 9 + i)) == 1);
	CHECK(xs_connect(s[3], g->ep[0]) == 1);
	CHECK(xs_connect(s[4], g->ep[1]) == 1);
	/* libxs to libzmq: PUB (until the SUB has one), PUSH, REQ */
	CHECK(warm_until(s[0], "zz-warm", 1) == 0);
	CHECK(th_send_str(s[0], "zz", XS_SNDMORE) == 2);
	CHECK(th_send_str(s[0], "news", 0) == 4);
	CHECK(th_send_str(s[3], "job", XS_SNDMORE) == 3);
	CHECK(th_send_str(s[3], "data", 0) == 4);
	CHECK(th_send_str(s[4], "ping", 0) == 4);
	CHECK(th_recv_str(s[4], buf, sizeof(buf), &more) == 4);
	CHECK(!strcmp(buf, "pong") && more == 0);
	/* libzmq to libxs: PUSH -> PULL, REQ -> REP */
	CHECK(th_recv_str(s[1], buf, sizeof(buf), &more) == 4);
	CHECK(!strcmp(buf, "from") && more == 1);
	CHECK(th_recv_str(s[1], buf, sizeof(buf), &more) == 3);
	CHECK(!strcmp(buf, "zmq") && more == 0);
	CHECK(th_recv_str(s[2], buf, sizeof(buf), &more) == 3);
	CHECK(!strcmp(buf, "ask") && more == 0);
	CHECK(th_send_str(s[2], "answer", 0) == 6);
	CHECK(th_await(&g->phase, 2, 20000) == 0);
	return th_done(ctx, s, 5);
}

static int z_recv_str(void *s, char *buf, size_t len, int *more)
{
	size_t ml = sizeof(int);
	int n = zmq_recv(s, buf, len - 1, 0);

	if (n < 0)
		return -1;
	buf[(size_t)n < len - 1 ? (size_t)n : len - 1] = '\0';
	if (more && zmq_getsockopt(s, Z_RCVMORE, more, &ml))
		return -1;
	return n;
}

static int zmq_host(void *arg)
{
	void *z = zmq_ctx_new(), *s[5];
	int ms = TH_RCVTIMEO * th_scale(), zero = 0, more, i, rc = 0;
	char buf[32], ep[64];

	s[0] = zmq_socket(z, Z_SUB);
	s[1] = zmq_socket(z, Z_PUSH);
	s[2] = zmq_socket(z, Z_REQ);
	s[3] = zmq_socket(z, Z_PULL);
	s[4] = zmq_socket(z, Z_REP);
	for (i = 0; i < 5; i++) {
		CHECK(s[i]);
		CHECK(!zmq_setsockopt(s[i], Z_RCVTIMEO, &ms, sizeof(ms)));
		CHECK(!zmq_setsockopt(s[i], Z_LINGER, &zero, sizeof(zero)));
	}
	CHECK(!zmq_setsockopt(s[0], Z_SUBSCRIBE, "zz", 2));
	for (i = 0; i < 3; i++)
		CHECK(!zmq_connect(s[i], g->ep[2 + i]));
	CHECK(!zmq_bind(s[3], th_bind_ep(ep, sizeof(ep), 12)));
	CHECK(!zmq_bind(s[4], th_bind_ep(ep, sizeof(ep), 13)));
	CHECK(z_recv_str(s[0], buf, sizeof(buf), &more) > 0);
	CHECK(!strcmp(buf, "zz-warm"));
	atomic_store(&g->phase, 1);
	do {
		CHECK(z_recv_str(s[0], buf, sizeof(buf), &more) > 0);
	} while (!strcmp(buf, "zz-warm"));
	CHECK(!strcmp(buf, "zz") && more == 1);
	CHECK(z_recv_str(s[0], buf, sizeof(buf), &more) == 4);
	CHECK(!strcmp(buf, "news") && more == 0);
	CHECK(z_recv_str(s[3], buf, sizeof(buf), &more) == 3);
	CHECK(!strcmp(buf, "job") && more == 1);
	CHECK(z_recv_str(s[3], buf, sizeof(buf), &more) == 4);
	CHECK(!strcmp(buf, "data") && more == 0);
	CHECK(z_recv_str(s[4], buf, sizeof(buf), &more) == 4);
	CHECK(!strcmp(buf, "ping") && more == 0);
	CHECK(zmq_send(s[4], "pong", 4, 0) == 4);
	CHECK(zmq_send(s[1], "from", 4, Z_SNDMORE) == 4);
	CHECK(zmq_send(s[1], "zmq", 3, 0) == 3);
	CHECK(zmq_send(s[2], "ask", 3, 0) == 3);
	CHECK(z_recv_str(s[2], buf, sizeof(buf), &more) == 6);
	CHECK(!strcmp(buf, "answer") && more == 0);
	atomic_store(&g->phase, 2);
	for (i = 0; i < 5; i++)
		rc |= zmq_close(s[i]);
	return rc | zmq_ctx_term(z);
}

TEST_F(hosts, plain_libzmq_on_the_other_host_talks_both_ways)
{
	pid_t a, b;

	int i;

	g = self->sh;
	th_remote_ep(&self->h, g->ep[0], sizeof(g->ep[0]), HOST_B, 12);
	th_remote_ep(&self->h, g->ep[1], sizeof(g->ep[1]), HOST_B, 13);
	for (i = 0; i < 3; i++)
		th_remote_ep(&self->h, g->ep[2 + i], sizeof(g->ep[2 + i]),
			     HOST_A, 9 + i);
	a = th_spawn(&self->h, HOST_A, libxs_host, NULL);
	b = th_spawn(&self->h, HOST_B, zmq_host, NULL);
	EXPECT_EQ(0, th_wait(a, 30000));
	EXPECT_EQ(0, th_wait(b, 5000));
}

/* ---- one PUB, local and remote subscribers ----------------------------- */

#define MIXED_N 50

/* ep[0]: ipc name, ep[1]: tcp bind, ep[2]: tcp as host B sees it */
static int mixed_pub(void *arg)
{
	void *ctx = xs_init(), *pub = th_sock(ctx, XS_PUB);
	char buf[16];
	long long end = th_now_ms() + 20000LL * th_scale();
	int i;

	CHECK(pub);
	CHECK(xs_bind(pub, g->ep[0]) == 1);
	CHECK(xs_bind(pub, g->ep[1]) == 2);
	/* until each subscriber had one: got[] are theirs */
	while (!atomic_load(&g->got[0]) || !atomic_load(&g->got[1]) ||
	       !atomic_load(&g->got[2])) {
		CHECK(th_now_ms() < end);
		CHECK(th_send_str(pub, "Lw", 0) == 2);
		CHECK(th_send_str(pub, "Rw", 0) == 2);
		th_sleep_ms(20);
	}
	for (i = 0; i < g->n; i++) {
		snprintf(buf, sizeof(buf), "%c%d", i % 2 ? 'R' : 'L', i);
		CHECK(th_send_str(pub, buf, XS_SNDMORE) > 0);
		CHECK(th_send_str(pub, "end", 0) == 3);
	}
	CHECK(th_await(&g->phase, 3, 20000) == 0);
	return th_done(ctx, &pub, 1);
}

/* Subscriber WHICH (0 local "L", 1 remote "R", 2 remote everything). */
static int mixed_sub(int which, const char *ep, const char *prefix)
{
	void *ctx = xs_init(), *sub = th_sock(ctx, XS_SUB);
	char buf[16], want[16];
	int i, more;

	CHECK(sub);
	CHECK(xs_setsockopt(sub, XS_SUBSCRIBE, prefix, strlen(prefix)) == 0);
	CHECK(xs_connect(sub, ep) == 1);
	do {
		CHECK(th_recv_str(sub, buf, sizeof(buf), &more) > 0);
	} while (strcmp(buf + 1, "w"));
	atomic_store(&g->got[which], 1);
	for (i = 0; i < g->n; i++) {
		if (which < 2 && i % 2 != which)
			continue;	/* the other prefix: not for us */
		snprintf(want, sizeof(want), "%c%d", i % 2 ? 'R' : 'L', i);
		do {
			CHECK(th_recv_str(sub, buf, sizeof(buf), &more) > 0);
		} while (!strcmp(buf + 1, "w"));
		CHECK(!strcmp(buf, want) && more == 1);
		CHECK(th_recv_str(sub, buf, sizeof(buf), &more) == 3);
		CHECK(!strcmp(buf, "end") && more == 0);
	}
	atomic_fetch_add(&g->phase, 1);
	return th_done(ctx, &sub, 1);
}

static int local_sub(void *arg)
{
	return mixed_sub(0, g->ep[0], "L");
}

static int remote_sub(void *arg)
{
	return mixed_sub(1, g->ep[2], "R");
}

static int remote_sub_all(void *arg)
{
	return mixed_sub(2, g->ep[2], "");
}

TEST_F(hosts, pub_serves_local_ipc_and_remote_tcp_subscribers_at_once)
{
	pid_t a, l, r, r2;

	g = self->sh;
	g->n = MIXED_N;
	snprintf(g->ep[0], sizeof(g->ep[0]), "ipc://feed");
	th_bind_ep(g->ep[1], sizeof(g->ep[1]), 14);
	th_remote_ep(&self->h, g->ep[2], sizeof(g->ep[2]), HOST_A, 14);
	a = th_spawn(&self->h, HOST_A, mixed_pub, NULL);
	l = th_spawn(&self->h, HOST_A, local_sub, NULL);
	r = th_spawn(&self->h, HOST_B, remote_sub, NULL);
	r2 = th_spawn(&self->h, HOST_B, remote_sub_all, NULL);
	EXPECT_EQ(0, th_wait(l, 30000));
	EXPECT_EQ(0, th_wait(r, 30000));
	EXPECT_EQ(0, th_wait(r2, 30000));
	EXPECT_EQ(0, th_wait(a, 5000));
}

TH_TEST_MAIN
