// SPDX-License-Identifier: GPL-2.0
/*
 * Failure paths.
 *
 * 1. A systematic fault-injection sweep (debug kernel: CONFIG_FAILSLAB,
 *    CONFIG_FAIL_PAGE_ALLOC, /proc/thread-self/fail-nth).  For each call
 *    path -- socket, bind, connect before and after bind (with the
 *    copy of a subscriber's prefixes, all or none, retried at its next
 *    subscription call), subscriptions,
 *    sendmsg of a record's first, middle and last part over every pattern,
 *    sendmmsg, recvmsg, recvmmsg, poll, close with a record left without
 *    MSG_EOR, endpoint removal, a receive ring's setup, mapping and
 *    delivery into it -- and for n = 1, 2, ...: write n to
 *    fail-nth (the n-th allocation of the call fails), make the call, and
 *    check that it either succeeded or failed with a clean errno, and that
 *    everything is consistent afterwards (the record completes whole or is
 *    counted as dropped, a fresh record goes through, the socket count and
 *    the module's live records return to 0).  The sweep of a path ends when
 *    a call completes without reaching its n-th allocation (fail-nth reads
 *    back non-zero).  On a kernel without fault injection these SKIP.
 *
 * 2. What KCM's fixes teach (every kernel): "Serialise kcm_sendmsg() for
 *    the same socket", "fix zero-frag skb in frag_list on partial sendmsg
 *    error", "Fix memory leak in error path of kcm_sendmsg()": a part that
 *    fails midway (EFAULT in any of its iovecs) leaves the record exactly as
 *    it was, to be completed later; a first part that fails starts nothing;
 *    EMSGSIZE in one thread's record leaves other threads' records alone;
 *    threads sending on one socket with failing parts never corrupt a
 *    record; and nothing of a failed call stays allocated.
 *
 * (Just over 1,500 lines: the sweep's call paths share one context, one
 * driver and the same consistency checks.)
 */
#include "xs_test.h"

#define FI_MAX_STEPS	400
#define FI_FD		8
#define FI_PARTS	8
#define FI_BIG		(96 * 1024)	/* past kmalloc: the vmalloc path */

/* What a sweep step works on. */
struct fi_ctx {
	int fd[FI_FD];
	int tx, rx[2], nrx;
	char name[2][XS_NAME_MAX + 1];
	char dir[64], path[96];
	/* the record under test: env parts (tx_head), then the body */
	struct xs_rec rec;
	int nbody;
	int pos;			/* the part whose sendmsg faults */
	int big;			/* first body part is FI_BIG bytes */
	unsigned char *bigbuf;
	uint64_t drops0, missed0[2];
	const void *arg;
	struct xs_tring ring;		/* rx[0]'s receive ring, if mapped */
	char why[256];
};

struct fi_case {
	const char *what;
	int (*prepare)(struct fi_ctx *c);
	long (*call)(struct fi_ctx *c);
	/* 0: consistent; else c->why says what is wrong */
	int (*check)(struct fi_ctx *c, long ret, int err);
	const int *allowed;		/* errnos a failed call may give */
};

static const int alloc_errors[] = { ENOMEM, ENOBUFS, 0 };
/* a path's node is made by its filesystem: tmpfs says ENOSPC */
static const int bind_errors[] = { ENOMEM, ENOBUFS, ENOSPC, 0 };
static const int socket_errors[] = { ENOMEM, ENOBUFS, ENFILE, 0 };
static const int no_errors[] = { 0 };

#define WHY(c, ...) (snprintf((c)->why, sizeof((c)->why), __VA_ARGS__), -1)

static int fi_fd(struct fi_ctx *c, int fd)
{
	int i;

	for (i = 0; i < FI_FD; i++)
		if (c->fd[i] < 0) {
			c->fd[i] = fd;
			return fd;
		}
	close(fd);
	return -1;
}

static int fi_socket(struct fi_ctx *c, int proto)
{
	int fd = xs_socket(proto);

	return fd < 0 ? -1 : fi_fd(c, fd);
}

static void fi_cleanup(struct fi_ctx *c)
{
	int i;

	xs_tring_close(&c->ring);
	for (i = 0; i < FI_FD; i++)
		if (c->fd[i] >= 0)
			close(c->fd[i]);
	if (c->path[0])
		unlink(c->path);
	if (c->dir[0])
		rmdir(c->dir);
}

static void fi_reset(struct fi_ctx *c, const void *arg)
{
	unsigned char *big = c->bigbuf;
	int i;

	memset(c, 0, sizeof(*c));
	c->bigbuf = big;
	c->arg = arg;
	for (i = 0; i < FI_FD; i++)
		c->fd[i] = -1;
	c->tx = c->rx[0] = c->rx[1] = -1;
	xs_uname(c->name[0], sizeof(c->name[0]), "fi");
	xs_uname(c->name[1], sizeof(c->name[1]), "fi");
}

/* A path name in a fresh directory. */
static int fi_path(struct fi_ctx *c)
{
	static unsigned int dirs;

	snprintf(c->dir, sizeof(c->dir), "/tmp/xs-fi.%d.%u", (int)getpid(),
		 ++dirs);
	if (mkdir(c->dir, 0700))
		return WHY(c, "mkdir: %s", strerror(errno));
	snprintf(c->path, sizeof(c->path), "%s/n", c->dir);
	return 0;
}

/* Receive one whole record now (it is queued at once or not at all). */
static int fi_take(int fd, struct xs_rec *r)
{
	return xs_recv_rec(fd, r, 0);
}

/* @fd holds nothing more (asked of /proc: a REP owing a reply refuses). */
static int fi_empty(int fd)
{
	return xs_proc_field(fd, "rx_records") == 0;
}

static int fi_rec_eq(const struct xs_rec *a, const struct xs_rec *b,
		     int from)
{
	int i;

	if (a->n != b->n - from)
		return 0;
	for (i = 0; i < a->n; i++)
		if (a->len[i] != b->len[from + i] ||
		    memcmp(a->data[i], b->data[from + i], a->len[i]))
			return 0;
	return 1;
}

/* ---- the sweep ------------------------------------------------------- */

FIXTURE(fi) {
	int nth;
	int restore;
	char saved[4][32];
	struct xs_kwatch kw;
	unsigned char *big;
	int faults, paths;
};

static const char *const fi_knobs[4][2] = {
	/* all allocations count, and none of them prints a stack trace */
	{ "/sys/kernel/debug/failslab/ignore-gfp-wait", "N" },
	{ "/sys/kernel/debug/failslab/verbose", "0" },
	{ "/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait", "N" },
	{ "/sys/kernel/debug/fail_page_alloc/verbose", "0" },
};

static int fi_knob(const char *path, char *old, size_t oldlen,
		   const char *val)
{
	ssize_t n;
	int fd;

	/* debugfs attributes do not seek: one open to read, one to write */
	if (old) {
		fd = open(path, O_RDONLY);
		if (fd < 0)
			return -1;
		n = read(fd, old, oldlen - 1);
		close(fd);
		old[n > 0 ? n : 0] = 0;
		old[strcspn(old, "\n")] = 0;
	}
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

FIXTURE_SETUP(fi)
{
	int i;

	self->nth = -1;
	ASSERT_OK(unshare(CLONE_NEWNET));
	self->big = malloc(2 * FI_BIG + 1);	/* a part, and room to read one */
	ASSERT_NE(NULL, self->big);
	memset(self->big, 'B', FI_BIG);
	self->nth = open("/proc/thread-self/fail-nth", O_RDWR);
	if (self->nth < 0)
		SKIP(return, "no /proc/thread-self/fail-nth: this kernel has no "
		     "CONFIG_FAULT_INJECTION (the debug kernel does)");
	if (access("/sys/kernel/debug/failslab", F_OK))
		SKIP(return, "no /sys/kernel/debug/failslab: CONFIG_FAILSLAB "
		     "or debugfs missing");
	for (i = 0; i < 4; i++) {
		if (i >= 2 && access("/sys/kernel/debug/fail_page_alloc",
				     F_OK))
			break;
		ASSERT_EQ(0, fi_knob(fi_knobs[i][0], self->saved[i],
				     sizeof(self->saved[i]), fi_knobs[i][1]))
			TH_LOG("%s: %s", fi_knobs[i][0], strerror(errno));
		self->restore = i + 1;
	}
	xs_kwatch_start(&self->kw);
}

FIXTURE_TEARDOWN(fi)
{
	int i;

	if (self->nth >= 0) {
		pwrite(self->nth, "0", 1, 0);
		close(self->nth);
	}
	for (i = 0; i < self->restore; i++)
		fi_knob(fi_knobs[i][0], NULL, 0, self->saved[i]);
	free(self->big);
}

static void fi_arm(int nth, int n)
{
	char b[16];
	int len = snprintf(b, sizeof(b), "%d", n);

	if (pwrite(nth, b, len, 0) != len)
		abort();
}

/* What fail-nth reads back: 0 once the fault was injected. */
static int fi_left(int nth)
{
	char b[16];
	ssize_t n = pread(nth, b, sizeof(b) - 1, 0);

	if (n <= 0)
		return -1;
	b[n] = 0;
	return atoi(b);
}

static int fi_allowed(const int *allowed, int err)
{
	for (; *allowed; allowed++)
		if (*allowed == err)
			return 1;
	return 0;
}

/*
 * Sweep @fc: fault 1, 2, ... until the call no longer reaches a fault.  A
 * step that goes wrong fails the test and ends this path's sweep (its
 * state is suspect); the test goes on with the next path.
 */
static void fi_sweep(struct __test_metadata *_metadata,
		     FIXTURE_DATA(fi) *self, const struct fi_case *fc,
		     const void *arg)
{
	struct fi_ctx *c = calloc(1, sizeof(*c));
	int n, left, failed = 0, absorbed = 0, err, bad = 0;
	long long s, r, b;
	long ret;

	ASSERT_NE(NULL, c);
	c->bigbuf = self->big;
	for (n = 1; n <= FI_MAX_STEPS && !bad; n++) {
		fi_reset(c, arg);
		ASSERT_EQ(0, fc->prepare(c))
			TH_LOG("%s: setting up: %s", fc->what, c->why);
		fi_arm(self->nth, n);
		errno = 0;
		ret = fc->call(c);
		err = errno;
		left = fi_left(self->nth);
		fi_arm(self->nth, 0);
		ASSERT_LE(0, left);
		if (!left && ret < 0)
			failed++;
		else if (!left)
			absorbed++;
		if (ret < 0 && !fi_allowed(fc->allowed, err)) {
			bad = 1;
			ksft_print_msg("FAIL %s, fault %d: failed with %s "
				       "(%d)\n", fc->what, n, strerror(err),
				       err);
		} else if (fc->check(c, ret, err)) {
			bad = 1;
			ksft_print_msg("FAIL %s, fault %d%s, call %s: %s\n",
				       fc->what, n,
				       left ? " (not reached)" : "",
				       ret < 0 ? strerror(err) : "succeeded",
				       c->why);
		}
		fi_cleanup(c);
		ASSERT_TRUE(xs_all_gone(xs_wait_ms(), &s, &r, &b))
			TH_LOG("%s, fault %d: left behind %lld sockets, %lld "
			       "records, %lld bytes", fc->what, n, s, r, b);
		if (left)
			break;
	}
	EXPECT_EQ(0, bad);
	ASSERT_LE(n, FI_MAX_STEPS) TH_LOG("%s: faults never ran out",
					  fc->what);
	ksft_print_msg("%-44s %3d faults: %3d failed the call, %3d absorbed\n",
		       fc->what, n - 1, failed, absorbed);
	self->faults += failed + absorbed;
	self->paths++;
	free(c);
}

#define FI_READY() do {							\
	if (_metadata->skip)	/* SKIP() in the setup (6.1 harness) */	\
		return;							\
} while (0)

#define FI_DONE() do {							\
	ksft_print_msg("%d call paths, %d faults injected\n",		\
		       self->paths, self->faults);			\
	ASSERT_KERNEL_QUIET(&self->kw);					\
} while (0)

/* ---- socket ------------------------------------------------------------ */

static int prep_nothing(struct fi_ctx *c)
{
	return 0;
}

static long call_socket(struct fi_ctx *c)
{
	int fd = xs_socket(*(const int *)c->arg);

	if (fd >= 0)
		fi_fd(c, fd);
	c->tx = fd;
	return fd;
}

static int check_socket(struct fi_ctx *c, long ret, int err)
{
	if (ret < 0)
		return 0;
	/* a socket that was made works */
	if (xs_bind(c->tx, c->name[0]))
		return WHY(c, "bind on the new socket: %s", strerror(errno));
	return 0;
}

static const int all_protos[] = {
	XSPROTO_PAIR, XSPROTO_PUB, XSPROTO_SUB, XSPROTO_REQ, XSPROTO_REP,
	XSPROTO_XREQ, XSPROTO_XREP, XSPROTO_PULL, XSPROTO_PUSH, XSPROTO_XPUB,
	XSPROTO_XSUB, XSPROTO_SURVEYOR, XSPROTO_RESPONDENT, XSPROTO_XSURVEYOR,
	XSPROTO_XRESPONDENT,
};

TEST_F_TIMEOUT(fi, socket_of_every_pattern, 120)
{
	char what[64];
	size_t i;

	FI_READY();
	for (i = 0; i < sizeof(all_protos) / sizeof(all_protos[0]); i++) {
		struct fi_case fc = {
			what, prep_nothing, call_socket, check_socket,
			socket_errors,
		};

		snprintf(what, sizeof(what), "socket(%s)",
			 xs_proto_name(all_protos[i]));
		fi_sweep(_metadata, self, &fc, &all_protos[i]);
	}
	FI_DONE();
}

/* ---- bind and connect ------------------------------------------------- */

/* Binder type, connector type, a path name. */
struct fi_join {
	int binder, connector, path;
};

static const char *fi_name(struct fi_ctx *c)
{
	return c->path[0] ? c->path : c->name[0];
}

/* Two connectors, each with a record waiting for the binder. */
static int prep_bind(struct fi_ctx *c)
{
	const struct fi_join *j = c->arg;
	int i, fd;

	if (j->path && fi_path(c))
		return -1;
	for (i = 0; i < 2; i++) {
		fd = fi_socket(c, j->connector);
		/* a SUB subscribed before: the binder's bind copies it */
		if (fd < 0 || (j->connector == XSPROTO_SUB &&
			       setsockopt(fd, SOL_XS, XS_SUBSCRIBE, "a", 1)) ||
		    xs_connect(fd, fi_name(c)))
			return WHY(c, "connector: %s", strerror(errno));
		c->rx[i] = fd;
		if (j->connector == XSPROTO_REQ ||
		    j->connector == XSPROTO_PUSH) {
			if (xs_send(fd, i ? "r1" : "r0", 2, MSG_EOR) != 2)
				return WHY(c, "waiting record: %s",
					   strerror(errno));
		}
	}
	c->tx = fi_socket(c, j->binder);
	if (c->tx < 0)
		return WHY(c, "binder: %s", strerror(errno));
	return 0;
}

static long call_bind(struct fi_ctx *c)
{
	return xs_bind(c->tx, fi_name(c));
}

/* Records that waited reach the binder, or count as missed by it. */
static int fi_waiting_arrive(struct fi_ctx *c, int want)
{
	struct xs_rec r;
	int got = 0;
	uint64_t missed;

	while (fi_take(c->tx, &r) > 0)
		got++;
	missed = xs_getu64(c->tx, XS_MISSED);
	if (got + (int)missed != want)
		return WHY(c, "binder got %d of %d waiting records, %d missed",
			   got, want, (int)missed);
	return 0;
}

/*
 * Subscribers waited for the XPUB.  Where copying a SUB's subscriptions
 * failed, the XPUB has none of them and the SUB counts one XS_MISSED;
 * the SUB's next subscription call copies them.  The XPUB hears of the
 * prefix once (or counts the notice missed), and both SUBs get what
 * they subscribed to.
 */
static int check_bind_sub(struct fi_ctx *c)
{
	uint64_t lost;
	struct xs_rec r;
	int i, notes = 0;

	for (i = 0; i < 2; i++) {
		lost = xs_getu64(c->rx[i], XS_MISSED);
		if (lost > 1)
			return WHY(c, "SUB %d missed %d copies", i, (int)lost);
		if (lost && (setsockopt(c->rx[i], SOL_XS, XS_SUBSCRIBE, "a", 1) ||
			     setsockopt(c->rx[i], SOL_XS, XS_UNSUBSCRIBE, "a", 1)))
			return WHY(c, "SUB %d subscribing again: %s", i,
				   strerror(errno));
	}
	while (fi_take(c->tx, &r) > 0) {
		if (r.n != 1 || r.len[0] != 2 || memcmp(r.data[0], "\1a", 2))
			return WHY(c, "XPUB got an unexpected notice");
		notes++;
	}
	if (notes + xs_getu64(c->tx, XS_MISSED) != 1)
		return WHY(c, "XPUB got %d notices of one prefix", notes);
	if (xs_send(c->tx, "a1", 2, MSG_EOR) != 2)
		return WHY(c, "publish: %s", strerror(errno));
	for (i = 0; i < 2; i++)
		if (fi_take(c->rx[i], &r) != 1 || strcmp(r.data[0], "a1"))
			return WHY(c, "SUB %d does not get what it subscribed "
				   "to (it missed %d)", i,
				   (int)xs_getu64(c->rx[i], XS_MISSED));
	return 0;
}

static int check_bind(struct fi_ctx *c, long ret, int err)
{
	const struct fi_join *j = c->arg;
	int want = j->connector == XSPROTO_REQ ||
		   j->connector == XSPROTO_PUSH ? 2 : 0;

	if (ret < 0) {
		/* nothing bound: nothing arrived, and the name is free */
		if (!fi_empty(c->tx))
			return WHY(c, "a failed bind received records");
		if (xs_bind(c->tx, fi_name(c)))
			return WHY(c, "binding again after the failure: %s",
				   strerror(errno));
	}
	if (j->connector == XSPROTO_SUB)
		return check_bind_sub(c);
	return fi_waiting_arrive(c, want);
}

static const struct fi_join bind_cases[] = {
	{ XSPROTO_PULL, XSPROTO_PUSH, 0 },
	{ XSPROTO_PULL, XSPROTO_PUSH, 1 },
	{ XSPROTO_XREP, XSPROTO_REQ, 0 },
	{ XSPROTO_PAIR, XSPROTO_PAIR, 0 },
	{ XSPROTO_XPUB, XSPROTO_SUB, 0 },
};

TEST_F_TIMEOUT(fi, bind_with_waiting_connectors, 120)
{
	char what[64];
	size_t i;

	FI_READY();
	for (i = 0; i < sizeof(bind_cases) / sizeof(bind_cases[0]); i++) {
		struct fi_case fc = {
			what, prep_bind, call_bind, check_bind, bind_errors,
		};

		snprintf(what, sizeof(what), "bind(%s, %s) with 2 %s waiting",
			 xs_proto_name(bind_cases[i].binder),
			 bind_cases[i].path ? "path" : "abstract",
			 xs_proto_name(bind_cases[i].connector));
		fi_sweep(_metadata, self, &fc, &bind_cases[i]);
	}
	FI_DONE();
}

/* Connect @connector; @bound: after the binder bound the name. */
struct fi_conn {
	int binder, connector, bound, path;
};

static int prep_connect(struct fi_ctx *c)
{
	const struct fi_conn *k = c->arg;

	if (k->path && fi_path(c))
		return -1;
	c->rx[0] = fi_socket(c, k->binder);
	c->tx = fi_socket(c, k->connector);
	if (c->rx[0] < 0 || c->tx < 0)
		return WHY(c, "socket: %s", strerror(errno));
	if (k->connector == XSPROTO_SUB &&
	    (setsockopt(c->tx, SOL_XS, XS_SUBSCRIBE, "a", 1) ||
	     setsockopt(c->tx, SOL_XS, XS_SUBSCRIBE, "bb", 2)))
		return WHY(c, "subscribe: %s", strerror(errno));
	if (k->bound && xs_bind(c->rx[0], fi_name(c)))
		return WHY(c, "bind: %s", strerror(errno));
	return 0;
}

static long call_connect(struct fi_ctx *c)
{
	return xs_connect(c->tx, fi_name(c));
}

static int check_connect(struct fi_ctx *c, long ret, int err)
{
	const struct fi_conn *k = c->arg;
	struct xs_rec r;
	int n, notes = 0;

	if (ret < 0 && xs_connect(c->tx, fi_name(c)))
		return WHY(c, "connecting again after the failure: %s",
			   strerror(errno));
	if (!k->bound && xs_bind(c->rx[0], fi_name(c)))
		return WHY(c, "bind: %s", strerror(errno));
	if (k->connector == XSPROTO_SUB) {
		uint64_t lost = xs_getu64(c->tx, XS_MISSED);

		/*
		 * Copying the subscriptions failed whole: the XPUB has none,
		 * the SUB counts it, and its next subscription call copies
		 * them.
		 */
		if (lost > 1)
			return WHY(c, "SUB missed %d copies", (int)lost);
		if (lost && !fi_empty(c->rx[0]))
			return WHY(c, "a copy that failed reached the XPUB");
		if (lost && (setsockopt(c->tx, SOL_XS, XS_SUBSCRIBE, "a", 1) ||
			     setsockopt(c->tx, SOL_XS, XS_UNSUBSCRIBE, "a", 1)))
			return WHY(c, "subscribing again: %s",
				   strerror(errno));
		/* XPUB hears of both prefixes, or counts what it missed */
		while ((n = fi_take(c->rx[0], &r)) > 0)
			notes++;
		if (notes + (int)xs_getu64(c->rx[0], XS_MISSED) != 2)
			return WHY(c, "XPUB got %d of 2 subscriptions", notes);
		/* and the subscriptions work */
		if (xs_send(c->rx[0], "a1", 2, MSG_EOR) != 2 ||
		    xs_send(c->rx[0], "bb1", 3, MSG_EOR) != 3)
			return WHY(c, "publish: %s", strerror(errno));
		if (fi_take(c->tx, &r) != 1 || strcmp(r.data[0], "a1") ||
		    fi_take(c->tx, &r) != 1 || strcmp(r.data[0], "bb1"))
			return WHY(c, "the subscriber is connected but does "
				   "not get what it subscribed to (XPUB "
				   "missed %d, dropped %d)",
				   (int)xs_getu64(c->rx[0], XS_MISSED),
				   (int)xs_getu64(c->rx[0], XS_DROPS));
		return 0;
	}
	if (xs_send(c->tx, "hello", 5, MSG_EOR | MSG_DONTWAIT) != 5)
		return WHY(c, "send: %s", strerror(errno));
	if (fi_take(c->rx[0], &r) != 1 || strcmp(r.data[0], "hello"))
		return WHY(c, "the record did not arrive");
	return 0;
}

static const struct fi_conn connect_cases[] = {
	{ XSPROTO_PULL, XSPROTO_PUSH, 0, 0 },
	{ XSPROTO_PULL, XSPROTO_PUSH, 1, 0 },
	{ XSPROTO_PULL, XSPROTO_PUSH, 0, 1 },
	{ XSPROTO_PULL, XSPROTO_PUSH, 1, 1 },
	{ XSPROTO_PAIR, XSPROTO_PAIR, 1, 0 },
	{ XSPROTO_XPUB, XSPROTO_SUB, 1, 0 },
	{ XSPROTO_XPUB, XSPROTO_SUB, 0, 0 },
};

TEST_F_TIMEOUT(fi, connect_before_and_after_bind, 120)
{
	char what[64];
	size_t i;

	FI_READY();
	for (i = 0; i < sizeof(connect_cases) / sizeof(connect_cases[0]);
	     i++) {
		const struct fi_conn *k = &connect_cases[i];
		struct fi_case fc = {
			what, prep_connect, call_connect, check_connect,
			bind_errors,
		};

		snprintf(what, sizeof(what), "connect(%s %s %s, %s)",
			 xs_proto_name(k->connector),
			 k->bound ? "after" : "before",
			 xs_proto_name(k->binder),
			 k->path ? "path" : "abstract");
		fi_sweep(_metadata, self, &fc, k);
	}
	FI_DONE();
}

/* ---- subscriptions -------------------------------------------------------- */

/* A SUB connected to a PUB and an XPUB; @arg: 1 subscribe, 0 unsubscribe. */
static int prep_sub(struct fi_ctx *c)
{
	struct xs_rec r;

	c->tx = fi_socket(c, XSPROTO_SUB);
	c->rx[0] = fi_socket(c, XSPROTO_PUB);
	c->rx[1] = fi_socket(c, XSPROTO_XPUB);
	if (c->tx < 0 || c->rx[0] < 0 || c->rx[1] < 0 ||
	    xs_bind(c->rx[0], c->name[0]) || xs_bind(c->rx[1], c->name[1]) ||
	    xs_connect(c->tx, c->name[0]) || xs_connect(c->tx, c->name[1]))
		return WHY(c, "setting up: %s", strerror(errno));
	if (!*(const int *)c->arg) {
		if (setsockopt(c->tx, SOL_XS, XS_SUBSCRIBE, "ab", 2))
			return WHY(c, "subscribe: %s", strerror(errno));
		if (fi_take(c->rx[1], &r) != 1)
			return WHY(c, "XPUB did not hear of it");
	}
	c->missed0[0] = xs_getu64(c->rx[1], XS_MISSED);
	return 0;
}

static long call_sub(struct fi_ctx *c)
{
	return setsockopt(c->tx, SOL_XS, *(const int *)c->arg ? XS_SUBSCRIBE :
			  XS_UNSUBSCRIBE, "ab", 2);
}

static int check_sub(struct fi_ctx *c, long ret, int err)
{
	int subscribed = *(const int *)c->arg ? ret == 0 : ret != 0;
	struct xs_rec r;
	int i, notes = 0;

	/* the XPUB hears of a change, or counts the notice as missed */
	while (fi_take(c->rx[1], &r) > 0)
		notes++;
	if (ret == 0 &&
	    notes + xs_getu64(c->rx[1], XS_MISSED) - c->missed0[0] != 1)
		return WHY(c, "XPUB got %d notices of one change", notes);
	if (ret < 0 && notes)
		return WHY(c, "XPUB heard of a change that failed");
	for (i = 0; i < 2; i++) {
		int n;

		if (xs_send(c->rx[i], "abc", 3, MSG_EOR) != 3)
			return WHY(c, "publish: %s", strerror(errno));
		n = fi_take(c->tx, &r);
		if (subscribed && n != 1)
			return WHY(c, "subscribed, but %s's record did not "
				   "arrive", i ? "XPUB" : "PUB");
		if (!subscribed && n > 0)
			return WHY(c, "not subscribed, yet %s's record "
				   "arrived", i ? "XPUB" : "PUB");
	}
	return 0;
}

TEST_F_TIMEOUT(fi, subscribe_and_unsubscribe, 120)
{
	static const int yes = 1, no;
	struct fi_case sub = {
		"setsockopt(SUB, XS_SUBSCRIBE) to PUB, XPUB", prep_sub,
		call_sub, check_sub, alloc_errors,
	};
	struct fi_case unsub = {
		"setsockopt(SUB, XS_UNSUBSCRIBE) to PUB, XPUB", prep_sub,
		call_sub, check_sub, alloc_errors,
	};

	FI_READY();
	fi_sweep(_metadata, self, &sub, &yes);
	fi_sweep(_metadata, self, &unsub, &no);
	FI_DONE();
}

/* ---- sending ----------------------------------------------------------------- */

/*
 * One hop: tx sends a 3-part body (after an envelope, for XREP) to the
 * receivers; with @ask, rx sends a request first and tx reads it.
 */
struct fi_hop {
	int tx_proto, rx_proto, nrx;
	int ask;		/* rx asks, tx answers */
	int echo;		/* tx sends the request's envelope back (XREP) */
	int head;		/* rx reads this many parts before the body */
};

static const struct fi_hop hops[] = {
	{ XSPROTO_PUSH, XSPROTO_PULL, 1, 0, 0, 0 },
	{ XSPROTO_PAIR, XSPROTO_PAIR, 1, 0, 0, 0 },
	{ XSPROTO_PUB, XSPROTO_SUB, 2, 0, 0, 0 },
	{ XSPROTO_XPUB, XSPROTO_XSUB, 1, 0, 0, 0 },
	{ XSPROTO_XSUB, XSPROTO_XPUB, 1, 0, 0, 0 },
	{ XSPROTO_REQ, XSPROTO_REP, 1, 0, 0, 0 },
	{ XSPROTO_XREQ, XSPROTO_XREP, 1, 0, 0, 1 },
	{ XSPROTO_REP, XSPROTO_REQ, 1, 1, 0, 0 },
	{ XSPROTO_XREP, XSPROTO_REQ, 1, 1, 1, 0 },
	{ XSPROTO_SURVEYOR, XSPROTO_RESPONDENT, 2, 0, 0, 0 },
	{ XSPROTO_RESPONDENT, XSPROTO_SURVEYOR, 1, 1, 0, 0 },
	{ XSPROTO_XRESPONDENT, XSPROTO_SURVEYOR, 1, 1, 1, 0 },
};

/* Which part of the record faults, and is its first body part big? */
struct fi_send {
	const struct fi_hop *hop;
	int where;		/* 0 first part, 1 middle, 2 last */
	int big;
};

static int fi_add_part(struct xs_rec *r, const void *data, size_t len)
{
	if (r->n >= XS_REC_PARTS || len > XS_REC_PART_MAX)
		return -1;
	memcpy(r->data[r->n], data, len);
	r->data[r->n][len] = 0;
	r->len[r->n++] = len;
	return 0;
}

/* Set up the hop and the record; parts before c->pos are sent. */
static int prep_send(struct fi_ctx *c)
{
	const struct fi_send *s = c->arg;
	const struct fi_hop *h = s->hop;
	struct xs_rec req;
	int i;

	c->tx = fi_socket(c, h->tx_proto);
	if (c->tx < 0 || xs_set_identity(c->tx, "tx"))
		return WHY(c, "socket: %s", strerror(errno));
	c->nrx = h->nrx;
	for (i = 0; i < h->nrx; i++) {
		c->rx[i] = fi_socket(c, h->rx_proto);
		if (c->rx[i] < 0 || xs_bind(c->rx[i], c->name[i]) ||
		    (h->rx_proto == XSPROTO_SUB &&
		     setsockopt(c->rx[i], SOL_XS, XS_SUBSCRIBE, "", 0)) ||
		    xs_connect(c->tx, c->name[i]))
			return WHY(c, "receiver %d: %s", i, strerror(errno));
	}
	if (h->rx_proto == XSPROTO_XSUB) {
		/* an XSUB subscribes with a record; the XPUB hears of it */
		if (xs_send(c->rx[0], "\001", 1, MSG_EOR) != 1 ||
		    fi_take(c->tx, &req) != 1)
			return WHY(c, "XSUB subscription: %s", strerror(errno));
	}
	c->rec.n = 0;
	if (h->ask) {
		if (xs_send(c->rx[0], "q", 1, MSG_EOR) != 1 ||
		    xs_recv_rec(c->tx, &req, xs_wait_ms()) < 1)
			return WHY(c, "request: %s", strerror(errno));
		for (i = 0; h->echo && i < req.n - 1; i++)
			fi_add_part(&c->rec, req.data[i], req.len[i]);
	}
	c->nbody = 3;
	fi_add_part(&c->rec, "body-0", 6);
	fi_add_part(&c->rec, "body-one", 8);
	fi_add_part(&c->rec, "body-two-2", 10);
	c->big = s->big;
	c->pos = s->where == 0 ? 0 : s->where == 1 ? c->rec.n - 2 :
		 c->rec.n - 1;
	c->drops0 = xs_getu64(c->tx, XS_DROPS);
	for (i = 0; i < c->nrx; i++)
		c->missed0[i] = xs_getu64(c->rx[i], XS_MISSED);
	for (i = 0; i < c->pos; i++)
		if (xs_send(c->tx, c->rec.data[i], c->rec.len[i], 0) !=
		    (ssize_t)c->rec.len[i])
			return WHY(c, "part %d: %s", i, strerror(errno));
	return 0;
}

/* The first body part, possibly big. */
static const void *fi_part(struct fi_ctx *c, int i, size_t *len)
{
	int body0 = c->rec.n - c->nbody;

	if (c->big && i == body0) {
		*len = FI_BIG;
		return c->bigbuf;
	}
	*len = c->rec.len[i];
	return c->rec.data[i];
}

static ssize_t fi_send_part(struct fi_ctx *c, int i)
{
	size_t len;
	const void *p = fi_part(c, i, &len);
	ssize_t n = xs_send(c->tx, p, len, i == c->rec.n - 1 ? MSG_EOR : 0);

	return n == (ssize_t)len ? 0 : -1;
}

static long call_send(struct fi_ctx *c)
{
	size_t len;
	const void *p = fi_part(c, c->pos, &len);

	return xs_send(c->tx, p, len, c->pos == c->rec.n - 1 ? MSG_EOR : 0);
}

/* Did receiver @i get the body exactly (1), nothing (0), else -1? */
static int fi_body_arrived(struct fi_ctx *c, int i)
{
	const struct fi_send *s = c->arg;
	int body0 = c->rec.n - c->nbody, k, flags = 0;
	unsigned char *b = c->bigbuf + FI_BIG;	/* room for one part */
	size_t len;
	ssize_t n;

	for (k = 0; !(flags & MSG_EOR); k++) {
		int at = k - s->hop->head;
		const void *want;

		n = xs_recv(c->rx[i], b, FI_BIG + 1, MSG_DONTWAIT, &flags);
		if (n < 0 && !k && errno == EAGAIN)
			return 0;
		if (n < 0)
			return WHY(c, "receiver %d, part %d: %s", i, k,
				   strerror(errno));
		if (at < 0)
			continue;	/* the identity an XREP puts first */
		if (at >= c->nbody)
			return WHY(c, "receiver %d: more than %d parts", i,
				   c->nbody + s->hop->head);
		want = fi_part(c, body0 + at, &len);
		if ((size_t)n != len || memcmp(b, want, len))
			return WHY(c, "receiver %d: part %d has %zd bytes "
				   "'%.*s', not %zu '%.*s'", i, k, n,
				   (int)(n < 32 ? n : 32), b, len,
				   (int)(len < 32 ? len : 32),
				   (const char *)want);
		if ((flags & MSG_EOR) != (at == c->nbody - 1 ? MSG_EOR : 0))
			return WHY(c, "receiver %d: MSG_EOR on part %d", i, k);
	}
	return 1;
}

static int check_send(struct fi_ctx *c, long ret, int err)
{
	int i, from, got;

	/* finish the record as a careful user would */
	if (ret < 0)
		from = c->pos;		/* the record is as it was: retry */
	else
		from = c->pos + 1;
	for (i = from; i < c->rec.n; i++)
		if (fi_send_part(c, i))
			return WHY(c, "finishing the record, part %d: %s", i,
				   strerror(errno));
	for (i = 0; i < c->nrx; i++) {
		uint64_t lost = xs_getu64(c->tx, XS_DROPS) - c->drops0 +
				xs_getu64(c->rx[i], XS_MISSED) - c->missed0[i];

		got = fi_body_arrived(c, i);
		if (got < 0)
			return -1;
		if (!got && !lost)
			return WHY(c, "receiver %d got nothing, and nothing "
				   "was counted as dropped", i);
		if (!fi_empty(c->rx[i]))
			return WHY(c, "receiver %d got more", i);
	}
	return 0;
}

TEST_F_TIMEOUT(fi, sendmsg_first_middle_and_last_part, 300)
{
	static const char *const where[] = { "first", "middle", "last" };
	char what[80];
	size_t h;
	int w;

	FI_READY();
	for (h = 0; h < sizeof(hops) / sizeof(hops[0]); h++)
		for (w = 0; w < 3; w++) {
			struct fi_send s = { &hops[h], w, 0 };
			struct fi_case fc = {
				what, prep_send, call_send, check_send,
				alloc_errors,
			};

			snprintf(what, sizeof(what), "sendmsg(%s->%s, %s part)",
				 xs_proto_name(hops[h].tx_proto),
				 xs_proto_name(hops[h].rx_proto), where[w]);
			fi_sweep(_metadata, self, &fc, &s);
		}
	FI_DONE();
}

TEST_F_TIMEOUT(fi, sendmsg_of_a_big_part, 120)
{
	static const struct fi_send big[] = {
		{ &hops[0], 0, 1 },	/* PUSH, first body part */
		{ &hops[2], 0, 1 },	/* PUB fan-out */
	};
	char what[64];
	struct fi_case fc = {
		what, prep_send, call_send, check_send, alloc_errors,
	};
	size_t i;

	FI_READY();
	for (i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
		snprintf(what, sizeof(what), "sendmsg(%s->%s, 96 KiB part)",
			 xs_proto_name(big[i].hop->tx_proto),
			 xs_proto_name(big[i].hop->rx_proto));
		fi_sweep(_metadata, self, &fc, &big[i]);
	}
	FI_DONE();
}

/* sendmmsg: two 2-part records, MSG_EOR on entries 1 and 3. */
static int prep_mmsg(struct fi_ctx *c)
{
	static const struct fi_send s = { &hops[0], 0, 0 };

	c->arg = &s;
	if (prep_send(c))
		return -1;
	c->rec.n = 0;
	fi_add_part(&c->rec, "a0", 2);
	fi_add_part(&c->rec, "a-1", 3);
	fi_add_part(&c->rec, "b-00", 4);
	fi_add_part(&c->rec, "b-111", 5);
	return 0;
}

static long call_mmsg(struct fi_ctx *c)
{
	struct mmsghdr m[4];
	struct iovec iov[4];
	int i;

	memset(m, 0, sizeof(m));
	for (i = 0; i < 4; i++) {
		iov[i].iov_base = c->rec.data[i];
		iov[i].iov_len = c->rec.len[i];
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
		m[i].msg_hdr.msg_flags = i & 1 ? MSG_EOR : 0;
	}
	return sendmmsg(c->tx, m, 4, 0);
}

static int check_mmsg(struct fi_ctx *c, long ret, int err)
{
	int i, k = ret < 0 ? 0 : ret, got = 0, n;
	struct xs_rec r;

	/* entry k failed: its record is as it was; send on from there */
	for (i = k; i < 4; i++)
		if (xs_send(c->tx, c->rec.data[i], c->rec.len[i],
			    i & 1 ? MSG_EOR : 0) != (ssize_t)c->rec.len[i])
			return WHY(c, "entry %d again: %s", i, strerror(errno));
	/* A (a0 a-1) then B (b-00 b-111), each whole or dropped */
	while ((n = fi_take(c->rx[0], &r)) > 0) {
		int b = !strcmp(r.data[0], "b-00");

		if (n != 2 || (!b && strcmp(r.data[0], "a0")) ||
		    strcmp(r.data[1], b ? "b-111" : "a-1") || (got && !b))
			return WHY(c, "record %d: %d parts, '%.32s' '%.32s'", got, n,
				   r.data[0], n > 1 ? r.data[1] : "");
		got++;
	}
	if (got + xs_getu64(c->tx, XS_DROPS) - c->drops0 != 2)
		return WHY(c, "%d of 2 records arrived", got);
	return 0;
}

/* ---- receiving ------------------------------------------------------------ */

/* A 3-part record waits at the receiver (REP: a request). */
static int prep_recv(struct fi_ctx *c)
{
	const int *pair = c->arg;

	c->tx = fi_socket(c, pair[0]);
	c->rx[0] = fi_socket(c, pair[1]);
	if (c->tx < 0 || c->rx[0] < 0 || xs_bind(c->rx[0], c->name[0]) ||
	    xs_connect(c->tx, c->name[0]))
		return WHY(c, "setting up: %s", strerror(errno));
	c->rec.n = 0;
	fi_add_part(&c->rec, "r0", 2);
	fi_add_part(&c->rec, "r-1", 3);
	fi_add_part(&c->rec, "r--2", 4);
	if (xs_send_rec(c->tx, &c->rec, 0, 3, 1, 0))
		return WHY(c, "send: %s", strerror(errno));
	return 0;
}

static long call_recv(struct fi_ctx *c)
{
	char b[16];
	int f;
	ssize_t n = xs_recv(c->rx[0], b, sizeof(b), MSG_DONTWAIT, &f);

	if (n >= 0 && (n != 2 || memcmp(b, "r0", 2)))
		c->why[0] = '!';
	return n;
}

static long call_recvmmsg(struct fi_ctx *c)
{
	struct mmsghdr m[4];
	struct iovec iov[4];
	char b[4][16];
	int i, n;

	memset(m, 0, sizeof(m));
	for (i = 0; i < 4; i++) {
		iov[i].iov_base = b[i];
		iov[i].iov_len = sizeof(b[i]);
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
	}
	n = recvmmsg(c->rx[0], m, 4, MSG_DONTWAIT, NULL);
	/* the whole record, and nothing else */
	if (n >= 0 && (n != 3 || !(m[2].msg_hdr.msg_flags & MSG_EOR) ||
		       memcmp(b[2], "r--2", 4)))
		c->why[0] = '!';
	return n < 0 ? n : 0;
}

static int check_recv(struct fi_ctx *c, long ret, int err)
{
	const int *pair = c->arg;
	struct xs_rec r;
	int n;

	if (c->why[0] == '!')
		return WHY(c, "received the wrong parts");
	if (ret < 0) {
		if (err == EAGAIN && xs_getu64(c->rx[0], XS_MISSED))
			return 0;	/* dropped, and counted */
		if (err == EAGAIN)
			return WHY(c, "the record vanished: nothing to read, "
				   "nothing counted as missed");
		/* the record is still there, whole */
		n = fi_take(c->rx[0], &r);
		if (n != 3 || !fi_rec_eq(&r, &c->rec, 0))
			return WHY(c, "after the failure the record has %d "
				   "parts", n);
		return 0;
	}
	if (ret > 0) {
		/* the rest of the record follows */
		n = fi_take(c->rx[0], &r);
		if (n != 2 || strcmp(r.data[0], "r-1") ||
		    strcmp(r.data[1], "r--2"))
			return WHY(c, "the rest of the record: %d parts", n);
	}
	if (pair[1] == XSPROTO_REP) {
		if (xs_send(c->rx[0], "ok", 2, MSG_EOR) != 2)
			return WHY(c, "reply: %s", strerror(errno));
		if (fi_take(c->tx, &r) != 1 || strcmp(r.data[0], "ok"))
			return WHY(c, "the reply did not arrive");
	}
	return 0;
}

static const int recv_errors[] = { ENOMEM, ENOBUFS, EAGAIN, 0 };

TEST_F_TIMEOUT(fi, sendmmsg_recvmsg_and_recvmmsg, 120)
{
	static const int pull[2] = { XSPROTO_PUSH, XSPROTO_PULL };
	static const int rep[2] = { XSPROTO_REQ, XSPROTO_REP };
	struct fi_case mmsg = {
		"sendmmsg(PUSH, 2 records)", prep_mmsg, call_mmsg,
		check_mmsg, alloc_errors,
	};
	struct fi_case recv = {
		"recvmsg(PULL)", prep_recv, call_recv, check_recv,
		alloc_errors,
	};
	struct fi_case recv_rep = {
		"recvmsg(REP)", prep_recv, call_recv, check_recv,
		recv_errors,
	};
	struct fi_case mrecv = {
		"recvmmsg(PULL)", prep_recv, call_recvmmsg, check_recv,
		alloc_errors,
	};

	FI_READY();
	fi_sweep(_metadata, self, &mmsg, NULL);
	fi_sweep(_metadata, self, &recv, pull);
	fi_sweep(_metadata, self, &recv_rep, rep);
	fi_sweep(_metadata, self, &mrecv, pull);
	FI_DONE();
}

/* ---- poll, close, endpoint removal ------------------------------------------- */

static long call_poll(struct fi_ctx *c)
{
	struct pollfd p[2] = {
		{ .fd = c->tx, .events = POLLIN | POLLOUT },
		{ .fd = c->rx[0], .events = POLLIN | POLLOUT },
	};

	return poll(p, 2, 0);
}

static int check_poll(struct fi_ctx *c, long ret, int err)
{
	struct xs_rec r;

	if (!(xs_revents(c->rx[0], POLLIN) & POLLIN) ||
	    !(xs_revents(c->tx, POLLOUT) & POLLOUT))
		return WHY(c, "readiness changed after the fault");
	if (fi_take(c->rx[0], &r) != 3 || !fi_rec_eq(&r, &c->rec, 0))
		return WHY(c, "the waiting record changed");
	return 0;
}

/* A connector with a record left without MSG_EOR (@arg: its type). */
static int prep_close(struct fi_ctx *c)
{
	static const int pull[2] = { XSPROTO_PUSH, XSPROTO_PULL };
	const int *k = c->arg;

	c->arg = pull;
	if (k[0] == XSPROTO_SUB) {
		/* a subscriber with subscriptions an XPUB knows of */
		c->tx = fi_socket(c, XSPROTO_SUB);
		c->rx[0] = fi_socket(c, XSPROTO_XPUB);
		if (c->tx < 0 || c->rx[0] < 0 ||
		    xs_bind(c->rx[0], c->name[0]) ||
		    setsockopt(c->tx, SOL_XS, XS_SUBSCRIBE, "a", 1) ||
		    setsockopt(c->tx, SOL_XS, XS_SUBSCRIBE, "b", 1) ||
		    xs_connect(c->tx, c->name[0]))
			return WHY(c, "setting up: %s", strerror(errno));
		c->arg = k;
		return 0;
	}
	c->tx = fi_socket(c, XSPROTO_PUSH);
	c->rx[0] = fi_socket(c, XSPROTO_PULL);
	if (c->tx < 0 || c->rx[0] < 0)
		return WHY(c, "socket: %s", strerror(errno));
	if (k[1] && xs_setint(c->tx, XS_LINGER, 1000))
		return WHY(c, "linger: %s", strerror(errno));
	if (xs_connect(c->tx, c->name[0]))
		return WHY(c, "connect: %s", strerror(errno));
	/* k[1]: records wait for a binder (they linger); else bound */
	if (k[1] && xs_send(c->tx, "waits", 5, MSG_EOR) != 5)
		return WHY(c, "send: %s", strerror(errno));
	if (!k[1] && xs_bind(c->rx[0], c->name[0]))
		return WHY(c, "bind: %s", strerror(errno));
	if (xs_send(c->tx, "half", 4, 0) != 4)
		return WHY(c, "first part: %s", strerror(errno));
	c->arg = k;
	return 0;
}

static long call_close(struct fi_ctx *c)
{
	int i, fd = c->tx;

	for (i = 0; i < FI_FD; i++)
		if (c->fd[i] == fd)
			c->fd[i] = -1;
	c->tx = -1;
	return close(fd);
}

static int check_close(struct fi_ctx *c, long ret, int err)
{
	const int *k = c->arg;
	struct xs_rec r;
	int n, fd, notes = 0;

	if (k[0] == XSPROTO_SUB) {
		/* the XPUB hears both prefixes go, or counts the misses */
		while (fi_take(c->rx[0], &r) > 0)
			notes++;
		if (notes + (int)xs_getu64(c->rx[0], XS_MISSED) != 4)
			return WHY(c, "XPUB got %d of 4 notices", notes);
		return 0;
	}
	if (k[1] && xs_bind(c->rx[0], c->name[0]))
		return WHY(c, "bind: %s", strerror(errno));
	/* never the half record; a lingering whole one arrives */
	n = fi_take(c->rx[0], &r);
	if (k[1] ? n != 1 || strcmp(r.data[0], "waits") : n >= 0)
		return WHY(c, "the receiver got %d parts, first '%.32s'", n,
			   n > 0 ? r.data[0] : "");
	/* the name still works */
	fd = fi_socket(c, XSPROTO_PUSH);
	if (fd < 0 || xs_connect(fd, c->name[0]) ||
	    xs_send(fd, "next", 4, MSG_EOR) != 4)
		return WHY(c, "a new connector: %s", strerror(errno));
	n = fi_take(c->rx[0], &r);
	if (n != 1 || strcmp(r.data[0], "next"))
		return WHY(c, "the new connector's record did not arrive");
	return 0;
}

/* XS_UNBIND of the binder with connectors attached, XS_DISCONNECT. */
static int prep_remove(struct fi_ctx *c)
{
	int fd;

	c->tx = fi_socket(c, XSPROTO_PULL);
	fd = fi_socket(c, XSPROTO_PUSH);
	c->rx[0] = fi_socket(c, XSPROTO_PULL);
	if (c->tx < 0 || fd < 0 || c->rx[0] < 0 ||
	    xs_bind(c->tx, c->name[0]) || xs_connect(fd, c->name[0]) ||
	    xs_send(fd, "q", 1, MSG_EOR) != 1 ||
	    xs_connect(c->tx, c->name[1]))
		return WHY(c, "setting up: %s", strerror(errno));
	c->rx[1] = fd;
	return 0;
}

static long call_unbind(struct fi_ctx *c)
{
	return setsockopt(c->tx, SOL_XS, XS_UNBIND, c->name[0],
			  strlen(c->name[0]));
}

static long call_disconnect(struct fi_ctx *c)
{
	return setsockopt(c->tx, SOL_XS, XS_DISCONNECT, c->name[1],
			  strlen(c->name[1]));
}

static int check_unbind(struct fi_ctx *c, long ret, int err)
{
	struct xs_rec r;

	if (ret)
		return WHY(c, "XS_UNBIND failed: %s", strerror(err));
	/* the name is free again: another binder gets the connector */
	if (xs_bind(c->rx[0], c->name[0]))
		return WHY(c, "binding the name again: %s", strerror(errno));
	if (xs_send(c->rx[1], "again", 5, MSG_EOR | MSG_DONTWAIT) != 5)
		return WHY(c, "send: %s", strerror(errno));
	if (fi_take(c->rx[0], &r) != 1 || strcmp(r.data[0], "again"))
		return WHY(c, "the new binder did not get the record");
	return 0;
}

static int check_disconnect(struct fi_ctx *c, long ret, int err)
{
	if (ret)
		return WHY(c, "XS_DISCONNECT failed: %s", strerror(err));
	/* gone: connecting again is no EISCONN */
	if (xs_connect(c->tx, c->name[1]))
		return WHY(c, "connecting again: %s", strerror(errno));
	return 0;
}

TEST_F_TIMEOUT(fi, poll_close_and_endpoint_removal, 120)
{
	static const int pull[2] = { XSPROTO_PUSH, XSPROTO_PULL };
	static const int bound[2] = { XSPROTO_PUSH, 0 };
	static const int lingering[2] = { XSPROTO_PUSH, 1 };
	static const int sub[2] = { XSPROTO_SUB, 0 };
	struct fi_case cases[] = {
		{ "poll(PUSH, PULL)", prep_recv, call_poll, check_poll,
		  alloc_errors },
		{ "close(PUSH) with a record left without MSG_EOR",
		  prep_close, call_close, check_close, no_errors },
		{ "close(PUSH) mid-record, records lingering", prep_close,
		  call_close, check_close, no_errors },
		{ "close(SUB) with 2 subscriptions an XPUB knows", prep_close,
		  call_close, check_close, no_errors },
		{ "setsockopt(XS_UNBIND) with a connector", prep_remove,
		  call_unbind, check_unbind, no_errors },
		{ "setsockopt(XS_DISCONNECT)", prep_remove, call_disconnect,
		  check_disconnect, no_errors },
	};
	const void *args[] = { pull, bound, lingering, sub, NULL, NULL };
	size_t i;

	FI_READY();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		fi_sweep(_metadata, self, &cases[i], args[i]);
	FI_DONE();
}

/* ---- receive rings ------------------------------------------------------- */

/* A PUB (tx) and a SUB (rx[0]) subscribed to all; @arg: its ring mapped. */
static int prep_ring(struct fi_ctx *c)
{
	c->tx = fi_socket(c, XSPROTO_PUB);
	c->rx[0] = fi_socket(c, XSPROTO_SUB);
	if (c->tx < 0 || c->rx[0] < 0 || xs_bind(c->tx, c->name[0]) ||
	    xs_connect(c->rx[0], c->name[0]) ||
	    setsockopt(c->rx[0], SOL_XS, XS_SUBSCRIBE, "", 0))
		return WHY(c, "PUB/SUB: %s", strerror(errno));
	if (c->arg && xs_tring_open(&c->ring, c->rx[0], 16384))
		return WHY(c, "ring: %s", strerror(errno));
	return 0;
}

static long call_ring_setup(struct fi_ctx *c)
{
	return xs_tring_open(&c->ring, c->rx[0], 16384);
}

/* The ring (set up now if the call failed) carries a record whole. */
static int ring_works(struct fi_ctx *c)
{
	char buf[64];

	if (!c->ring.ctrl && xs_getint(c->rx[0], SOL_XS, XS_RX_RING) == 0 &&
	    xs_tring_open(&c->ring, c->rx[0], 16384))
		return WHY(c, "ring after the fault: %s", strerror(errno));
	if (!c->ring.ctrl)
		return WHY(c, "a ring was set up but could not be mapped");
	if (xs_send(c->tx, "a", 1, 0) != 1 ||
	    xs_send(c->tx, "bc", 2, MSG_EOR) != 2)
		return WHY(c, "send: %s", strerror(errno));
	if (xs_tring_str(&c->ring, buf, sizeof(buf)) != 2 ||
	    strcmp(buf, "a|bc"))
		return WHY(c, "the record did not come whole through the ring");
	if (!fi_empty(c->rx[0]))
		return WHY(c, "the record went to the queue as well");
	return 0;
}

static int check_ring_setup(struct fi_ctx *c, long ret, int err)
{
	/* failed: no ring, or one that a second mmap maps */
	if (ret < 0 && xs_getint(c->rx[0], SOL_XS, XS_RX_RING) > 0) {
		c->ring.ctrl = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				    MAP_SHARED, c->rx[0], XS_RING_OFF_CTRL);
		c->ring.data = mmap(NULL, 16384, PROT_READ, MAP_SHARED,
				    c->rx[0], XS_RING_OFF_DATA);
		if (c->ring.ctrl == MAP_FAILED || c->ring.data == MAP_FAILED)
			return WHY(c, "mapping after the fault: %s",
				   strerror(errno));
		c->ring.size = 16384;
	}
	return ring_works(c);
}

static long call_ring_send(struct fi_ctx *c)
{
	if (xs_send(c->tx, "x", 1, 0) != 1)
		return -1;
	return xs_send(c->tx, "yz", 2, MSG_EOR);
}

/* The record is in the ring whole, or nowhere (and ours to finish). */
static int check_ring_send(struct fi_ctx *c, long ret, int err)
{
	char buf[64];
	int n = xs_tring_str(&c->ring, buf, sizeof(buf));

	if (ret >= 0 && (n != 2 || strcmp(buf, "x|yz")))
		return WHY(c, "sent, but not whole in the ring (%d parts)", n);
	if (ret < 0 && n != 0)
		return WHY(c, "failed, yet %d parts came through the ring", n);
	if (!fi_empty(c->rx[0]))
		return WHY(c, "something went to the queue");
	if (ret < 0) {
		/* the part that failed is sent again: the record goes */
		if (xs_send(c->tx, "yz", 2, MSG_EOR) != 2)
			return WHY(c, "sending again: %s", strerror(errno));
		while (xs_tring_str(&c->ring, buf, sizeof(buf)) > 0)
			;
	}
	return ring_works(c);
}

TEST_F_TIMEOUT(fi, receive_ring_setup_mapping_and_delivery, 120)
{
	static const int mapped = 1;
	struct fi_case cases[] = {
		{ "setsockopt(XS_RX_RING) and mmap", prep_ring,
		  call_ring_setup, check_ring_setup, alloc_errors },
		{ "sendmsg(PUB) to a SUB with a ring", prep_ring,
		  call_ring_send, check_ring_send, alloc_errors },
	};
	const void *args[] = { NULL, &mapped };
	size_t i;

	FI_READY();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		fi_sweep(_metadata, self, &cases[i], args[i]);
	FI_DONE();
}

/* ---- what KCM's fixes teach (every kernel) ----------------------------------- */

FIXTURE(part) {
	int tx, rx;
	struct xs_kwatch kw;
};

FIXTURE_SETUP(part)
{
	ASSERT_OK(unshare(CLONE_NEWNET));
	xs_kwatch_start(&self->kw);
	/* room for two records: a slot kept by a failed call shows */
	ASSERT_OK(xs_link(XSPROTO_PUSH, XSPROTO_PULL, 1, 1, &self->tx,
			  &self->rx, NULL, 0));
}

FIXTURE_TEARDOWN(part)
{
	xs_close(&self->tx);
	xs_close(&self->rx);
}

#define PART_END(self) do {						\
	ASSERT_NOTHING((self)->rx);					\
	/* both slots are free: a failed call kept none */		\
	ASSERT_RECORD((self)->tx, MSG_DONTWAIT, "s1");			\
	ASSERT_RECORD((self)->tx, MSG_DONTWAIT, "s2");			\
	ASSERT_RECV_RECORD((self)->rx, "s1");				\
	ASSERT_RECV_RECORD((self)->rx, "s2");				\
	xs_close(&(self)->tx);						\
	xs_close(&(self)->rx);						\
	ASSERT_ALL_GONE();						\
	ASSERT_KERNEL_QUIET(&(self)->kw);				\
} while (0)

TEST_F(part, efault_on_a_middle_part_keeps_the_record_as_it_was)
{
	ASSERT_SEND(self->tx, "one", 0);
	ASSERT_ERRNO(EFAULT, xs_send(self->tx, xs_unmapped(), 16, 0));
	ASSERT_ERRNO(EFAULT, xs_send(self->tx, NULL, 16, MSG_EOR));
	ASSERT_NOTHING(self->rx);
	ASSERT_SEND(self->tx, "two", 0);
	ASSERT_SEND(self->tx, "three", MSG_EOR);
	ASSERT_RECV_RECORD(self->rx, "one", "two", "three");
	PART_END(self);
}

TEST_F(part, efault_in_a_later_iovec_adds_no_fragment)
{
	char good[32];
	struct iovec iov[3] = {
		{ good, sizeof(good) }, { good, 8 }, { xs_unmapped(), 64 },
	};
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 3 };

	memset(good, 'g', sizeof(good));
	/* as a first part: nothing starts */
	ASSERT_ERRNO(EFAULT, sendmsg(self->tx, &msg, MSG_DONTWAIT));
	ASSERT_ERRNO(EFAULT, sendmsg(self->tx, &msg, MSG_EOR | MSG_DONTWAIT));
	ASSERT_NOTHING(self->rx);
	/* as a middle part, and as the last: no part, not even an empty one */
	ASSERT_SEND(self->tx, "head", 0);
	ASSERT_ERRNO(EFAULT, sendmsg(self->tx, &msg, 0));
	ASSERT_ERRNO(EFAULT, sendmsg(self->tx, &msg, MSG_EOR));
	ASSERT_SEND(self->tx, "tail", MSG_EOR);
	ASSERT_RECV_RECORD(self->rx, "head", "tail");
	PART_END(self);
}

TEST_F(part, efault_on_the_first_part_starts_nothing)
{
	int i;

	for (i = 0; i < 4; i++)
		ASSERT_ERRNO(EFAULT, xs_send(self->tx, xs_unmapped(), 8,
					     MSG_DONTWAIT));
	/* the next part is a first part, not a second one */
	ASSERT_SEND(self->tx, "first", 0);
	ASSERT_SEND(self->tx, "last", MSG_EOR);
	ASSERT_RECV_RECORD(self->rx, "first", "last");
	PART_END(self);
}

TEST_F(part, sendmmsg_failing_mid_record_keeps_the_entries_before)
{
	struct iovec iov[4] = {
		{ "m0", 2 }, { "m1", 2 }, { xs_unmapped(), 4 }, { "m3", 2 },
	};
	struct mmsghdr m[4];
	int i;

	memset(m, 0, sizeof(m));
	for (i = 0; i < 4; i++) {
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
	}
	m[3].msg_hdr.msg_flags = MSG_EOR;
	/* entries 0 and 1 went in, entry 2 failed: the record is m0 m1 */
	ASSERT_EQ(2, sendmmsg(self->tx, m, 4, 0));
	ASSERT_NOTHING(self->rx);
	ASSERT_SEND(self->tx, "m2", 0);
	ASSERT_SEND(self->tx, "m3", MSG_EOR);
	ASSERT_RECV_RECORD(self->rx, "m0", "m1", "m2", "m3");
	PART_END(self);
}

struct part_thread {
	pthread_t thread;
	void *bad;		/* PROT_NONE: stays a bad address */
	int fd, id, records, maxsize;
	uint64_t rng;
	int efaults, emsgsizes, done;
	char error[128];
};

/*
 * Records of 2..5 stamped parts; now and then a part is first tried from
 * a bad buffer (EFAULT, then sent properly), or a record grows past the
 * socket's XS_MAXMSGSIZE (EMSGSIZE: it is gone, a new one starts).
 */
static void *part_sender(void *p)
{
	struct part_thread *t = p;
	unsigned char buf[1024];
	uint32_t seq = 0;
	void *bad = t->bad;

	while (t->done < t->records) {
		int n, k, failed = 0;

		t->rng = t->rng * 6364136223846793005ULL + 1;
		n = 2 + (t->rng >> 40) % 4;
		seq++;
		for (k = 0; k < n && !failed; k++) {
			/* 5 parts stay below XS_MAXMSGSIZE */
			size_t len = sizeof(struct xs_stamp) +
				     (t->rng >> (k * 7)) % 100;
			int flags = k == n - 1 ? MSG_EOR : 0;

			t->rng = t->rng * 6364136223846793005ULL + 1;
			if (!(t->rng % 7)) {
				if (xs_send(t->fd, bad, len, flags) >= 0 ||
				    errno != EFAULT) {
					snprintf(t->error, sizeof(t->error),
						 "bad buffer: %s",
						 strerror(errno));
					return NULL;
				}
				t->efaults++;
			}
			if (!(t->rng % 97)) {
				/* too big: the whole record goes */
				if (xs_send(t->fd, buf, t->maxsize + 1, flags) >= 0 ||
				    errno != EMSGSIZE) {
					snprintf(t->error, sizeof(t->error),
						 "oversize part: %s",
						 strerror(errno));
					return NULL;
				}
				t->emsgsizes++;
				failed = 1;
				break;
			}
			xs_stamp_fill(buf, len, t->id, seq, k, n);
			if (xs_send(t->fd, buf, len, flags) != (ssize_t)len) {
				snprintf(t->error, sizeof(t->error),
					 "part %d: %s", k, strerror(errno));
				return NULL;
			}
		}
		if (!failed)
			t->done++;
	}
	return NULL;
}

TEST(threads_with_failing_parts_on_one_socket_never_corrupt_a_record)
{
	int per = xs_iters(800, 40), i, tx, rx, flags, what;
	int64_t max = 700;
	struct part_thread th[4];
	struct xs_checker chk = { 0 };
	unsigned char buf[2048];
	int records = 0, efaults = 0, emsgsizes = 0, bad = 0;
	struct xs_kwatch kw;
	long long end;
	ssize_t n;
	/* (an unmapped address could be mapped again by another thread) */
	void *noaccess = mmap(NULL, 4096, PROT_NONE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, noaccess);
	ASSERT_OK(unshare(CLONE_NEWNET));
	xs_kwatch_start(&kw);
	ASSERT_OK(xs_link(XSPROTO_PUSH, XSPROTO_PULL, 0, 0, &tx, &rx, NULL,
			  0));
	ASSERT_OK(setsockopt(tx, SOL_XS, XS_MAXMSGSIZE, &max, sizeof(max)));
	ASSERT_OK(xs_set_timeo(rx, SO_RCVTIMEO, 100));
	for (i = 0; i < 4; i++) {
		memset(&th[i], 0, sizeof(th[i]));
		th[i].fd = tx;
		th[i].bad = noaccess;
		th[i].id = i + 1;
		th[i].records = per;
		th[i].maxsize = (int)max;
		th[i].rng = 0x9e3779b97f4a7c15ULL * (i + 1);
		ASSERT_OK(pthread_create(&th[i].thread, NULL, part_sender,
					 &th[i]));
	}
	end = xs_now_ms() + 20000LL * xs_scale();
	while (records < 4 * per && xs_now_ms() < end) {
		n = xs_recv(rx, buf, sizeof(buf), 0, &flags);
		if (n < 0)
			continue;
		what = xs_check_part(&chk, buf, n, flags);
		if (what != XS_REC_OK && !bad++)
			TH_LOG("%s (part %u/%u of record %u of thread %u)",
			       xs_rec_fault_name(what), chk.bad.idx, chk.bad.n,
			       chk.bad.seq, chk.bad.token);
		if (flags & MSG_EOR)
			records++;
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i].thread, NULL);
		EXPECT_STREQ("", th[i].error);
		efaults += th[i].efaults;
		emsgsizes += th[i].emsgsizes;
	}
	ksft_print_msg("4 threads: %d records, %d EFAULT parts retried, %d "
		       "records discarded by EMSGSIZE\n", records, efaults,
		       emsgsizes);
	EXPECT_EQ(0, bad);
	EXPECT_EQ(4 * per, records);
	ASSERT_NOTHING(rx);
	close(tx);
	close(rx);
	ASSERT_ALL_GONE();
	ASSERT_KERNEL_QUIET(&kw);
}

XS_TEST_MAIN
