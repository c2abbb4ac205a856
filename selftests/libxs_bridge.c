// SPDX-License-Identifier: GPL-2.0
/*
 * xs_bridge (tools/xs_bridge.c) between two hosts: two network namespaces
 * joined by veth (xs_twohost.h), each with its own AF_XS names.  On each
 * host a bridge joins a local name to tcp://, so the programs on both
 * hosts use only ipc:// names and the kernel fans out on each:
 *
 *   pubsub    a PUB on host A, subscribers on both hosts; subscriptions
 *             (and their end) travel upstream, so only subscribed
 *             records cross (counted by the bridge: SIGUSR1)
 *   pipeline  a PUSH on host A, PULL workers on host B; every record
 *             arrives once and whole, and a stalled worker holds the
 *             PUSH back (the bridges hold one record each, no more)
 *   reqrep    REQs on host A, a REP on host B; every reply returns to
 *             the requester that asked, also to a plain libzmq REQ that
 *             talks to host B's bridge directly
 *
 * and the tool's own contract: bad arguments and a failing bind are exit
 * status 1, SIGTERM is a clean exit 0.
 */
#define _GNU_SOURCE
#include "xs_twohost.h"

#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"

#include "xs_zmq.h"

#define BRIDGE "/tools/xs_bridge"

struct sh {
	atomic_int phase;
	atomic_int ready;	/* subscribers that got a warm-up record */
	atomic_int progress[4];	/* records each receiver has so far */
	atomic_int count;
	int n;
	char ep[4][64];
};

static struct sh *g;

FIXTURE(bridge) {
	struct twohost h;
	pid_t bridges[2];
	int err[2];		/* their stderr */
};

FIXTURE_SETUP(bridge)
{
	if (access(BRIDGE, X_OK))
		SKIP(return, "no " BRIDGE " (make tools)");
	ASSERT_EQ(0, twohost_setup(&self->h));
	th_note("hosts joined by %s", self->h.veth ? "veth" :
		"relays (no veth here, or XS_TWOHOST_RELAY=1)");
	g = th_shared(sizeof(*g));
	ASSERT_NE(NULL, g);
	self->err[0] = self->err[1] = -1;
}

FIXTURE_TEARDOWN(bridge)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (self->bridges[i] > 0) {
			kill(self->bridges[i], SIGKILL);
			waitpid(self->bridges[i], NULL, 0);
		}
		if (self->err[i] >= 0)
			close(self->err[i]);
	}
	twohost_teardown(&self->h);
}

/* xs_bridge PATTERN on HOST: front and back, each "bind:EP"/"connect:EP". */
static pid_t bridge(FIXTURE_DATA(bridge) *self, int host,
		    const char *pattern, const char *front, const char *back,
		    const char *hwm)
{
	char fopt[80], bopt[80];
	char *argv[] = { BRIDGE, (char *)pattern, fopt, bopt, "-v",
			 hwm ? "--hwm" : NULL, (char *)hwm, NULL };
	bool fb = !strncmp(front, "bind:", 5), bb = !strncmp(back, "bind:", 5);

	snprintf(fopt, sizeof(fopt), "--front-%s=%s",
		 fb ? "bind" : "connect", strchr(front, ':') + 1);
	snprintf(bopt, sizeof(bopt), "--back-%s=%s",
		 bb ? "bind" : "connect", strchr(back, ':') + 1);
	self->bridges[host] = th_spawn_exec(&self->h, host, argv,
					    &self->err[host]);
	return self->bridges[host];
}

/* The next line the bridge writes to stderr (FD), without its newline. */
static int next_line(int fd, char *line, size_t len)
{
	long long end = th_now_ms() + 10000LL * th_scale();
	size_t n = 0;

	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		char c;

		if (poll(&p, 1, 100) == 1) {
			if (read(fd, &c, 1) != 1)
				return -1;
			if (c == '\n') {
				line[n] = '\0';
				return 0;
			}
			if (n < len - 1)
				line[n++] = c;
		} else if (th_now_ms() > end) {
			return -1;
		}
	}
}

/* Reads up to the next counts line (SIGUSR1 or exit); 0 or -1. */
static int counts(int fd, unsigned long *fwd, unsigned long *bwd)
{
	char line[256];

	while (!next_line(fd, line, sizeof(line))) {
		if (sscanf(line, "xs_bridge: %lu records front to back, %lu back to front",
			   fwd, bwd) == 2)
			return 0;
		th_note("bridge: %s", line);
	}
	return -1;
}

/* Asks the bridge on HOST for its counts until back-to-front is WANT. */
static int await_bwd(FIXTURE_DATA(bridge) *self, int host, unsigned long want)
{
	long long end = th_now_ms() + 20000LL * th_scale();
	unsigned long f, b;

	do {
		kill(self->bridges[host], SIGUSR1);
		if (counts(self->err[host], &f, &b))
			return -1;
		if (b == want)
			return 0;
		th_sleep_ms(20);
	} while (th_now_ms() < end);
	th_note("bridge on host %c: %lu back to front, not %lu", 'A' + host,
		b, want);
	return -1;
}

static int stop(pid_t pid)
{
	kill(pid, SIGTERM);
	return th_wait(pid, 10000);
}

/* ---- pubsub ------------------------------------------------------------ */

#define PS_N		100
#define PS_WINDOW	20

/* Waits until every receiver in [0, n) has at least V records. */
static int wait_progress(int n, int v)
{
	long long end = th_now_ms() + 20000LL * th_scale();
	int i;

	for (i = 0; i < n; i++)
		while (atomic_load(&g->progress[i]) < v) {
			if (th_now_ms() > end)
				return -1;
			th_sleep_ms(1);
		}
	return 0;
}

/*
 * Round 1: x, y and z records (nobody subscribes z); round 2 (phase 3):
 * the same after both "y" subscribers left.  A window keeps the
 * publisher at most PS_WINDOW records ahead of the slowest subscriber,
 * so nothing is dropped at a high-water mark.
 */
static int publisher(void *arg)
{
	void *ctx = xs_init(), *pub = th_sock(ctx, XS_PUB);
	long long end = th_now_ms() + 30000LL * th_scale();
	char buf[16];
	int round, i, j, nrecv;

	CHECK(pub);
	CHECK(xs_bind(pub, "ipc://feed") == 1);
	while (atomic_load(&g->ready) < 4) {
		CHECK(th_now_ms() < end);
		CHECK(th_send_str(pub, "xw", 0) == 2);
		CHECK(th_send_str(pub, "yw", 0) == 2);
		th_sleep_ms(20);
	}
	for (round = 1; round <= 2; round++) {
		atomic_store(&g->phase, round == 1 ? 1 : 3);
		CHECK(th_await(&g->phase, round == 1 ? 2 : 4, 20000) == 0);
		/* round 2: the y subscribers (receivers 2, 3) are gone */
		nrecv = round == 1 ? 4 : 2;
		for (i = 0; i < g->n; i++) {
			int k = (round - 1) * g->n + i;

			CHECK(wait_progress(nrecv, k - PS_WINDOW) == 0);
			for (j = 0; j < 10; j++)
				CHECK(th_send_str(pub, "z", 0) == 1);
			snprintf(buf, sizeof(buf), "x%d", k);
			CHECK(th_send_str(pub, buf, XS_SNDMORE) > 0);
			CHECK(th_send_str(pub, "more", 0) == 4);
			snprintf(buf, sizeof(buf), "y%d", k);
			CHECK(th_send_str(pub, buf, XS_SNDMORE) > 0);
			CHECK(th_send_str(pub, "more", 0) == 4);
		}
		/* all of this round arrived before the next phase */
		CHECK(wait_progress(nrecv, round * g->n) == 0);
	}
	CHECK(th_await(&g->phase, 5, 20000) == 0);
	return th_done(ctx, &pub, 1);
}

/* Receiver WHO takes PREFIX records from EP for ROUNDS rounds. */
static int subscriber(int who, const char *ep, const char *prefix,
		      int rounds)
{
	void *ctx = xs_init(), *sub = th_sock(ctx, XS_SUB);
	char buf[16], want[16];
	int k, more;

	CHECK(sub);
	CHECK(xs_setsockopt(sub, XS_SUBSCRIBE, prefix, 1) == 0);
	CHECK(xs_connect(sub, ep) == 1);
	CHECK(th_recv_str(sub, buf, sizeof(buf), &more) == 2);
	CHECK(buf[0] == prefix[0] && buf[1] == 'w');
	atomic_fetch_add(&g->ready, 1);
	for (k = 0; k < rounds * g->n; k++) {
		do {
			CHECK(th_recv_str(sub, buf, sizeof(buf), &more) > 0);
		} while (buf[1] == 'w');
		snprintf(want, sizeof(want), "%c%d", prefix[0], k);
		CHECK(!strcmp(buf, want) && more == 1);
		CHECK(th_recv_str(sub, buf, sizeof(buf), &more) == 4);
		CHECK(!strcmp(buf, "more") && more == 0);
		atomic_store(&g->progress[who], k + 1);
	}
	return th_done(ctx, &sub, 1);
}

static int sub_a_x(void *arg)
{
	return subscriber(0, "ipc://feed", "x", 2);
}

static int sub_b_x(void *arg)
{
	return subscriber(1, "ipc://feed", "x", 2);
}

static int sub_b_y(void *arg)
{
	return subscriber(2, "ipc://feed", "y", 1);
}

/* A plain libzmq subscriber on host B, straight to host A's bridge. */
static int zmq_sub_y(void *arg)
{
	void *z = zmq_ctx_new(), *sub = zmq_socket(z, Z_SUB);
	int ms = TH_RCVTIMEO * th_scale(), zero = 0, k, n;
	char buf[16], want[16];

	CHECK(sub);
	CHECK(!zmq_setsockopt(sub, Z_RCVTIMEO, &ms, sizeof(ms)));
	CHECK(!zmq_setsockopt(sub, Z_LINGER, &zero, sizeof(zero)));
	CHECK(!zmq_setsockopt(sub, Z_SUBSCRIBE, "y", 1));
	CHECK(!zmq_connect(sub, g->ep[0]));
	CHECK(zmq_recv(sub, buf, sizeof(buf), 0) == 2);
	atomic_fetch_add(&g->ready, 1);
	for (k = 0; k < g->n; k++) {
		do {
			n = zmq_recv(sub, buf, sizeof(buf) - 1, 0);
			CHECK(n > 0);
			buf[n] = '\0';
		} while (buf[1] == 'w');
		snprintf(want, sizeof(want), "y%d", k);
		CHECK(!strcmp(buf, want));
		CHECK(zmq_recv(sub, buf, sizeof(buf), 0) == 4);
		atomic_store(&g->progress[3], k + 1);
	}
	CHECK(!zmq_close(sub));
	return zmq_ctx_term(z);
}

TEST_F(bridge, pubsub_extends_the_kernel_fanout_to_another_host)
{
	unsigned long f0, f1, f2, b;
	char ep[64], back[80], front[80];
	pid_t pub, s[4];

	g->n = PS_N;
	/* host A: publisher, a local subscriber, the bridge out */
	snprintf(back, sizeof(back), "bind:%s", th_bind_ep(ep, sizeof(ep), 0));
	ASSERT_LT(0, bridge(self, HOST_A, "pubsub", "connect:ipc://feed",
			    back, NULL));
	/* host B: the bridge in, two subscribers, and a libzmq one */
	th_remote_ep(&self->h, g->ep[0], sizeof(g->ep[0]), HOST_A, 0);
	snprintf(front, sizeof(front), "connect:%s", g->ep[0]);
	ASSERT_LT(0, bridge(self, HOST_B, "pubsub", front, "bind:ipc://feed",
			    NULL));
	pub = th_spawn(&self->h, HOST_A, publisher, NULL);
	s[0] = th_spawn(&self->h, HOST_A, sub_a_x, NULL);
	s[1] = th_spawn(&self->h, HOST_B, sub_b_x, NULL);
	s[2] = th_spawn(&self->h, HOST_B, sub_b_y, NULL);
	s[3] = th_spawn(&self->h, HOST_B, zmq_sub_y, NULL);

	ASSERT_EQ(0, th_await(&g->phase, 1, 30000));
	/* subscribed everywhere: count from here */
	kill(self->bridges[HOST_B], SIGUSR1);
	ASSERT_EQ(0, counts(self->err[HOST_B], &f0, &b));
	atomic_store(&g->phase, 2);
	ASSERT_EQ(0, th_await(&g->phase, 3, 60000));
	kill(self->bridges[HOST_B], SIGUSR1);
	ASSERT_EQ(0, counts(self->err[HOST_B], &f1, &b));
	/*
	 * Round 1 sent 100 x, 100 y and 1000 z: the z never crossed (nobody
	 * subscribed them), nor did more than a few warm-up records.
	 */
	th_note("host B's bridge forwarded %lu records in round 1", f1 - f0);
	EXPECT_LE(2UL * PS_N, f1 - f0);
	EXPECT_GT(3UL * PS_N, f1 - f0);
	/*
	 * Both y subscribers leave.  Host B's bridge passes the end of y up
	 * (its notices: x, y, not y); host A's, once no peer of its XPUB
	 * wants y any more, passes it to the publisher (x, y, not y too).
	 */
	EXPECT_EQ(0, th_wait(s[2], 30000));
	EXPECT_EQ(0, th_wait(s[3], 30000));
	EXPECT_EQ(0, await_bwd(self, HOST_B, 3));
	EXPECT_EQ(0, await_bwd(self, HOST_A, 3));
	kill(self->bridges[HOST_B], SIGUSR1);
	ASSERT_EQ(0, counts(self->err[HOST_B], &f1, &b));
	atomic_store(&g->phase, 4);
	EXPECT_EQ(0, th_wait(s[0], 30000));
	EXPECT_EQ(0, th_wait(s[1], 30000));
	/* round 2: only the x records crossed */
	kill(self->bridges[HOST_B], SIGUSR1);
	ASSERT_EQ(0, counts(self->err[HOST_B], &f2, &b));
	th_note("host B's bridge forwarded %lu records in round 2", f2 - f1);
	EXPECT_EQ((unsigned long)PS_N, f2 - f1);
	atomic_store(&g->phase, 5);
	EXPECT_EQ(0, th_wait(pub, 10000));
	EXPECT_EQ(0, stop(self->bridges[HOST_A]));
	EXPECT_EQ(0, stop(self->bridges[HOST_B]));
	self->bridges[0] = self->bridges[1] = 0;
}

/* ---- pipeline ---------------------------------------------------------- */

#define PL_CAP	3000
#define PL_BODY	1000

/*
 * Sends until nothing is taken for half a second, times XS_TEST_SCALE
 * (phase 1: the workers are stalled), then until N in all; count: what
 * the stall let through.
 */
static int pipe_pusher(void *arg)
{
	void *ctx = xs_init(), *push = th_sock(ctx, XS_PUSH);
	int sent = 0, idle = 0;
	char buf[16], body[PL_BODY];

	memset(body, 'b', sizeof(body));

	CHECK(push);
	CHECK(th_setint(push, XS_SNDHWM, 5) == 0);
	CHECK(xs_connect(push, "ipc://jobs") == 1);
	while (sent < PL_CAP && idle < 25 * th_scale()) {
		snprintf(buf, sizeof(buf), "%d", sent);
		if (th_send_str(push, buf, XS_SNDMORE | XS_DONTWAIT) > 0) {
			CHECK(xs_send(push, body, PL_BODY, 0) == PL_BODY);
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
	for (; sent < g->n; sent++) {
		snprintf(buf, sizeof(buf), "%d", sent);
		CHECK(th_send_str(push, buf, XS_SNDMORE) > 0);
		CHECK(xs_send(push, body, PL_BODY, 0) == PL_BODY);
	}
	CHECK(th_await(&g->phase, 2, 30000) == 0);
	return th_done(ctx, &push, 1);
}

static int worker(void *arg)
{
	void *ctx = xs_init(), *pull = th_sock(ctx, XS_PULL);
	int who = arg ? 1 : 0, last = -1, more, seq;
	char buf[PL_BODY + 1];

	CHECK(pull);
	/* the other worker may take the last one: look again soon */
	CHECK(th_setint(pull, XS_RCVTIMEO, 100) == 0);
	CHECK(th_setint(pull, XS_RCVHWM, 5) == 0);
	CHECK(xs_connect(pull, "ipc://jobs") == 1);
	CHECK(th_await(&g->phase, 1, 30000) == 0);
	while (atomic_load(&g->progress[0]) + atomic_load(&g->progress[1]) <
	       g->n) {
		if (th_recv_str(pull, buf, sizeof(buf), &more) < 0) {
			CHECK(errno == EAGAIN);
			continue;
		}
		CHECK(more == 1);
		seq = atoi(buf);
		CHECK(seq > last && seq < g->n);	/* in order, once */
		last = seq;
		CHECK(xs_recv(pull, buf, sizeof(buf), 0) == PL_BODY);
		CHECK(th_rcvmore(pull) == 0 && buf[PL_BODY - 1] == 'b');
		atomic_fetch_add(&g->progress[who], 1);
		atomic_fetch_add(&g->progress[2 + (seq & 1)], 1);
	}
	return th_done(ctx, &pull, 1);
}

TEST_F(bridge, pipeline_delivers_each_record_once_and_holds_the_pusher_back)
{
	char ep[64], front[80], back[80];
	pid_t push, w[2];
	int n;

	g->n = 400;
	/*
	 * The bound is the high-water marks': a receive ring (af_xs(7)) is
	 * room ahead of them, so the processes started here go without.
	 */
	setenv("LIBXS_RING", "0", 1);
	th_bind_ep(ep, sizeof(ep), 1);
	snprintf(back, sizeof(back), "bind:%s", ep);
	ASSERT_LT(0, bridge(self, HOST_A, "pipeline", "bind:ipc://jobs", back,
			    "5"));
	th_remote_ep(&self->h, ep, sizeof(ep), HOST_A, 1);
	snprintf(front, sizeof(front), "connect:%s", ep);
	ASSERT_LT(0, bridge(self, HOST_B, "pipeline", front,
			    "bind:ipc://jobs", "5"));
	push = th_spawn(&self->h, HOST_A, pipe_pusher, NULL);
	w[0] = th_spawn(&self->h, HOST_B, worker, NULL);
	w[1] = th_spawn(&self->h, HOST_B, worker, (void *)1);
	EXPECT_EQ(0, th_wait(w[0], 60000));
	EXPECT_EQ(0, th_wait(w[1], 60000));
	atomic_store(&g->phase, 2);
	EXPECT_EQ(0, th_wait(push, 10000));
	n = atomic_load(&g->count);
	th_note("stalled workers let %d records through two bridges", n);
	/* HWMs of 5 on 6 sockets, 4 KiB TCP buffers, one record held by
	 * each bridge: far from the cap an unbounded bridge would reach */
	EXPECT_LE(5, n);
	EXPECT_GE(300, n);
	EXPECT_EQ(g->n, atomic_load(&g->progress[0]) +
			atomic_load(&g->progress[1]));
	/* every sequence number once: as many even as odd */
	EXPECT_EQ(g->n / 2, atomic_load(&g->progress[2]));
	EXPECT_EQ(g->n / 2, atomic_load(&g->progress[3]));
	/* both workers had a share */
	EXPECT_LT(0, atomic_load(&g->progress[0]));
	EXPECT_LT(0, atomic_load(&g->progress[1]));
}

/* ---- reqrep ------------------------------------------------------------ */

#define RR_N 20

static int service(void *arg)
{
	void *ctx = xs_init(), *rep = th_sock(ctx, XS_REP);
	char buf[32], ans[40];
	int i, more;

	CHECK(rep);
	CHECK(xs_bind(rep, "ipc://svc") == 1);
	for (i = 0; i < 3 * RR_N; i++) {
		CHECK(th_recv_str(rep, buf, sizeof(buf), &more) > 0);
		CHECK(more == 0);
		snprintf(ans, sizeof(ans), "re:%s", buf);
		CHECK(th_send_str(rep, ans, 0) > 0);
	}
	CHECK(th_await(&g->phase, 3, 30000) == 0);
	return th_done(ctx, &rep, 1);
}

static int client(void *arg)
{
	void *ctx = xs_init(), *req = th_sock(ctx, XS_REQ);
	int who = arg ? 1 : 0, i;
	char buf[32], want[40], q[16];

	CHECK(req);
	CHECK(xs_connect(req, "ipc://svc") == 1);
	for (i = 0; i < RR_N; i++) {
		snprintf(q, sizeof(q), "c%d-%d", who, i);
		snprintf(want, sizeof(want), "re:%s", q);
		CHECK(th_send_str(req, q, 0) > 0);
		CHECK(th_recv_str(req, buf, sizeof(buf), NULL) > 0);
		CHECK(!strcmp(buf, want));
	}
	atomic_fetch_add(&g->phase, 1);
	return th_done(ctx, &req, 1);
}

/* A plain libzmq REQ on host A, straight to host B's bridge. */
static int zmq_client(void *arg)
{
	void *z = zmq_ctx_new(), *req = zmq_socket(z, Z_REQ);
	int ms = TH_RCVTIMEO * th_scale(), zero = 0, i, n;
	char buf[32], want[40], q[16];

	CHECK(req);
	CHECK(!zmq_setsockopt(req, Z_RCVTIMEO, &ms, sizeof(ms)));
	CHECK(!zmq_setsockopt(req, Z_LINGER, &zero, sizeof(zero)));
	CHECK(!zmq_connect(req, g->ep[0]));
	for (i = 0; i < RR_N; i++) {
		snprintf(q, sizeof(q), "z-%d", i);
		snprintf(want, sizeof(want), "re:%s", q);
		CHECK(zmq_send(req, q, strlen(q), 0) == (int)strlen(q));
		n = zmq_recv(req, buf, sizeof(buf) - 1, 0);
		CHECK(n > 0);
		buf[n] = '\0';
		CHECK(!strcmp(buf, want));
	}
	atomic_fetch_add(&g->phase, 1);
	CHECK(!zmq_close(req));
	return zmq_ctx_term(z);
}

TEST_F(bridge, reqrep_returns_each_reply_to_its_requester)
{
	char ep[64], front[80], back[80];
	unsigned long f, b;
	pid_t svc, c[3];
	int i;

	th_bind_ep(ep, sizeof(ep), 2);
	snprintf(front, sizeof(front), "bind:%s", ep);
	ASSERT_LT(0, bridge(self, HOST_B, "reqrep", front,
			    "connect:ipc://svc", NULL));
	th_remote_ep(&self->h, g->ep[0], sizeof(g->ep[0]), HOST_B, 2);
	snprintf(back, sizeof(back), "connect:%s", g->ep[0]);
	ASSERT_LT(0, bridge(self, HOST_A, "reqrep", "bind:ipc://svc", back,
			    NULL));
	svc = th_spawn(&self->h, HOST_B, service, NULL);
	c[0] = th_spawn(&self->h, HOST_A, client, NULL);
	c[1] = th_spawn(&self->h, HOST_A, client, (void *)1);
	c[2] = th_spawn(&self->h, HOST_A, zmq_client, NULL);
	for (i = 0; i < 3; i++)
		EXPECT_EQ(0, th_wait(c[i], 60000));
	EXPECT_EQ(0, th_wait(svc, 10000));
	EXPECT_EQ(0, stop(self->bridges[HOST_A]));
	ASSERT_EQ(0, counts(self->err[HOST_A], &f, &b));
	EXPECT_EQ(2UL * RR_N, f);
	EXPECT_EQ(2UL * RR_N, b);
	EXPECT_EQ(0, stop(self->bridges[HOST_B]));
	ASSERT_EQ(0, counts(self->err[HOST_B], &f, &b));
	EXPECT_EQ(3UL * RR_N, f);
	EXPECT_EQ(3UL * RR_N, b);
	self->bridges[0] = self->bridges[1] = 0;
}

/* ---- the tool's contract ----------------------------------------------- */

static int run_status(FIXTURE_DATA(bridge) *self, char *const argv[])
{
	pid_t pid = th_spawn_exec(&self->h, HOST_A, argv, NULL);

	return pid < 0 ? -1 : th_wait(pid, 10000);
}

TEST_F(bridge, bad_arguments_and_failed_binds_exit_1_sigterm_exits_0)
{
	char *nopattern[] = { BRIDGE, "--front-bind=ipc://a",
			      "--back-bind=ipc://b", NULL };
	char *badpattern[] = { BRIDGE, "pair", "--front-bind=ipc://a",
			       "--back-bind=ipc://b", NULL };
	char *noback[] = { BRIDGE, "pipeline", "--front-bind=ipc://a", NULL };
	char *badep[] = { BRIDGE, "pipeline", "--front-bind=udp://x:1",
			  "--back-bind=ipc://b", NULL };
	char *busy[] = { BRIDGE, "pipeline", "--front-bind=ipc://taken",
			 "--back-bind=ipc://b", NULL };
	void *ctx, *pull;
	unsigned long f, b;
	char line[256];
	pid_t pid;

	EXPECT_EQ(1, run_status(self, nopattern));
	EXPECT_EQ(1, run_status(self, badpattern));
	EXPECT_EQ(1, run_status(self, noback));
	EXPECT_EQ(1, run_status(self, badep));
	/* a name bound by someone else on host A */
	ASSERT_EQ(0, setns(self->h.ns[HOST_A], CLONE_NEWNET));
	ctx = xs_init();
	pull = xs_socket(ctx, XS_PULL);
	ASSERT_EQ(1, xs_bind(pull, "ipc://taken"));
	EXPECT_EQ(1, run_status(self, busy));
	xs_close(pull);
	xs_term(ctx);
	ASSERT_EQ(0, setns(self->h.home, CLONE_NEWNET));

	pid = bridge(self, HOST_A, "pipeline", "bind:ipc://in",
		     "bind:ipc://out", NULL);
	ASSERT_LT(0, pid);
	/* -v: one line per endpoint, the last once the loop is near */
	ASSERT_EQ(0, next_line(self->err[HOST_A], line, sizeof(line)));
	EXPECT_STREQ("xs_bridge: front bound to ipc://in", line);
	ASSERT_EQ(0, next_line(self->err[HOST_A], line, sizeof(line)));
	EXPECT_STREQ("xs_bridge: back bound to ipc://out", line);
	EXPECT_EQ(0, stop(pid));
	self->bridges[HOST_A] = 0;
	ASSERT_EQ(0, counts(self->err[HOST_A], &f, &b));
	EXPECT_EQ(0UL, f);
	EXPECT_EQ(0UL, b);
}

TH_TEST_MAIN
