// SPDX-License-Identifier: GPL-2.0
/*
 * Atomicity under crashes.  Senders (own socket, a socket shared with other
 * processes, several threads, sendmmsg) are forked and killed with SIGKILL
 * at random moments, most of them in the middle of a record, thousands of
 * times; receivers check every record they get (see xs_check_part()): all
 * parts, one record, MSG_EOR on the last.  Readers are killed in the middle
 * of a record and the survivor never gets the rest of it.  Threads sending
 * or receiving on one socket never mix records, and a thread that exits
 * in the middle of a record does not wedge the socket.  Two variants read
 * through receive rings (XS_RX_RING), the queue behind them taking what
 * does not fit: the same checks, and the same order.
 *
 * Every test runs in its own network namespace and ends with no socket
 * left there, no record alive in the module and nothing in the kernel log.
 */
#include "xs_test.h"

#include <sys/prctl.h>

#define CRASH_CHILDREN	1
#define CRASH_THREADS	2
#define CRASH_TOKENS	(1 << 16)
#define CRASH_BIG	(64 * 1024)
#define CRASH_MAX_PARTS	64	/* a record has fewer */

/* Shared with the children (MAP_SHARED). */
struct crash_shared {
	int stop;
	int in_record[CRASH_CHILDREN];		/* a record of it is open */
	int sending[CRASH_CHILDREN];		/* it got a part out */
	uint32_t completed[CRASH_TOKENS];	/* records a token ended */
	uint64_t violations, child_errors;
	int child_errno;
};

/* One receiving socket and what its reader found. */
struct crash_rx {
	int fd;
	struct xs_checker chk;
	uint32_t *last;				/* per token: last seq */
	uint64_t records, parts, violations, reordered, ring_records;
	int first_violation;
	struct xs_stamp bad;
	struct xs_tring ring;			/* mapped when the variant asks */
};

static uint64_t crash_rng = 88172645463325252ULL;

static uint64_t crash_rand(void)
{
	crash_rng ^= crash_rng << 13;
	crash_rng ^= crash_rng >> 7;
	crash_rng ^= crash_rng << 17;
	return crash_rng;
}

static void seed_from_env(void)
{
	const char *s = getenv("XS_SEED");

	crash_rng = s ? strtoull(s, NULL, 0) : (uint64_t)time(NULL);
	if (!crash_rng)
		crash_rng = 1;
	ksft_print_msg("seed %llu (replay: XS_SEED=%llu)\n",
		       (unsigned long long)crash_rng,
		       (unsigned long long)crash_rng);
}

/*
 * Each kill loop stops at its trial count or after this long, whichever
 * comes first (fork and exit dominate, and their cost varies a lot with
 * the host): a few seconds on the release kernel, longer on debug.
 */
static long long crash_budget_ms(void)
{
	return xs_scale() > 1 ? 30000 : 5000;
}

static size_t crash_part_len(uint64_t r)
{
	if (r % 200 == 0)
		return CRASH_BIG;
	return sizeof(struct xs_stamp) + r % 3000;
}

/*
 * Check one part; per sender token, records must come in order (@strict:
 * with no gap either).
 */
static void crash_part(struct crash_rx *rx, const void *buf, size_t n,
		       int flags, int strict)
{
	struct xs_stamp st;
	int what;

	rx->parts++;
	what = xs_check_part(&rx->chk, buf, n, flags);
	if (what != XS_REC_OK && !rx->violations++) {
		rx->first_violation = what;
		rx->bad = rx->chk.bad;
	}
	if (!(flags & MSG_EOR) || !xs_stamp_get(buf, n, &st) ||
	    what != XS_REC_OK)
		return;
	rx->records++;
	if (st.token < CRASH_TOKENS) {
		uint32_t want = rx->last[st.token] + 1;

		if (strict ? st.seq != want : st.seq < want)
			rx->reordered++;
		rx->last[st.token] = st.seq;
	}
}

/* The records in @rx's ring, each checked as the parts recv would give. */
static int crash_drain_ring(struct crash_rx *rx, int strict)
{
	struct xs_tpart p[CRASH_MAX_PARTS];
	int n, i, got = 0;
	uint64_t end;

	while ((n = xs_tring_peek(&rx->ring, p, CRASH_MAX_PARTS, &end))) {
		if (n < 0 || n > CRASH_MAX_PARTS) {
			/* a broken entry: counted, and the ring abandoned */
			if (!rx->violations++)
				rx->first_violation = XS_REC_CORRUPT;
			xs_tring_close(&rx->ring);
			return got;
		}
		for (i = 0; i < n; i++)
			crash_part(rx, p[i].data, p[i].len,
				   i == n - 1 ? MSG_EOR : 0, strict);
		xs_tring_release(&rx->ring, end);
		got++;
	}
	rx->ring_records += got;
	return got;
}

/*
 * Take every part waiting at @rx, checking each: its ring's records first,
 * but a record begun from the queue is finished from there (af_xs(7)).
 */
static void crash_drain(struct crash_rx *rx, unsigned char *buf, int strict)
{
	int flags, inside = 0;
	ssize_t n;

	for (;;) {
		if (!inside && rx->ring.ctrl && crash_drain_ring(rx, strict))
			continue;
		n = xs_recv(rx->fd, buf, CRASH_BIG, MSG_DONTWAIT, &flags);
		if (n < 0 && errno == EAGAIN && rx->ring.ctrl &&
		    __atomic_load_n(&rx->ring.ctrl->head, __ATOMIC_ACQUIRE) !=
		    rx->ring.tail)
			continue;	/* the ring got a record meanwhile */
		if (n < 0)
			return;
		crash_part(rx, buf, n, flags, strict);
		inside = !(flags & MSG_EOR);
	}
}

/* ---- killed senders ------------------------------------------------------- */

FIXTURE(sender) {
	struct crash_shared *sh;
	struct crash_rx rx[2];
	int nrx;
	int shared_tx;		/* the socket children share, or -1 */
	char names[2][XS_NAME_MAX + 1];
	struct xs_kwatch kw;
	pthread_t reader;
	int reader_started;
	unsigned char *buf;
};

FIXTURE_VARIANT(sender) {
	int tx_proto, rx_proto, nrx;
	int shared;		/* children send on a socket they inherit */
	int threads;		/* sending threads per child */
	int mmsg;		/* two records per sendmmsg call */
	int children;		/* at once */
	int reliable;		/* every record ended is delivered */
	int ring;		/* receivers read their receive rings first */
};

FIXTURE_VARIANT_ADD(sender, push_shared_socket) {
	.tx_proto = XSPROTO_PUSH, .rx_proto = XSPROTO_PULL, .nrx = 1,
	.shared = 1, .threads = 1, .children = CRASH_CHILDREN, .reliable = 1,
};

FIXTURE_VARIANT_ADD(sender, push_own_socket_threads) {
	.tx_proto = XSPROTO_PUSH, .rx_proto = XSPROTO_PULL, .nrx = 1,
	.threads = CRASH_THREADS, .children = CRASH_CHILDREN, .reliable = 1,
};

FIXTURE_VARIANT_ADD(sender, push_sendmmsg) {
	.tx_proto = XSPROTO_PUSH, .rx_proto = XSPROTO_PULL, .nrx = 1,
	.threads = 1, .mmsg = 1, .children = CRASH_CHILDREN, .reliable = 1,
};

FIXTURE_VARIANT_ADD(sender, pair) {
	.tx_proto = XSPROTO_PAIR, .rx_proto = XSPROTO_PAIR, .nrx = 1,
	.threads = 1, .children = 1, .reliable = 1,
};

FIXTURE_VARIANT_ADD(sender, pub_shared_socket_threads) {
	.tx_proto = XSPROTO_PUB, .rx_proto = XSPROTO_SUB, .nrx = 2,
	.shared = 1, .threads = 2, .children = CRASH_CHILDREN,
};

FIXTURE_VARIANT_ADD(sender, push_threads_to_a_ring) {
	.tx_proto = XSPROTO_PUSH, .rx_proto = XSPROTO_PULL, .nrx = 1,
	.threads = CRASH_THREADS, .children = CRASH_CHILDREN, .reliable = 1,
	.ring = 1,
};

FIXTURE_VARIANT_ADD(sender, pub_shared_socket_to_rings) {
	.tx_proto = XSPROTO_PUB, .rx_proto = XSPROTO_SUB, .nrx = 2,
	.shared = 1, .threads = 2, .children = CRASH_CHILDREN, .ring = 1,
};

static struct crash_shared *csh;
static const FIXTURE_VARIANT(sender) *cvar;

static void child_fail(int err)
{
	if (!__atomic_fetch_add(&csh->child_errors, 1, __ATOMIC_SEQ_CST))
		csh->child_errno = err;
}

struct sender_arg {
	int fd, slot;
	uint32_t token;
	uint64_t rng;
};

/* Send 3-part records on a->fd until killed. */
static void *sender_loop(void *p)
{
	struct sender_arg *a = p;
	unsigned char *buf = malloc(3 * CRASH_BIG);
	struct mmsghdr mm[6];
	struct iovec iov[6];
	uint32_t seq;
	size_t len;
	int k, r;

	if (!buf) {
		child_fail(ENOMEM);
		return NULL;
	}
	for (seq = 1;; seq++) {
		if (cvar->mmsg) {
			/* two records, one call, MSG_EOR on entries 2 and 5 */
			unsigned char *b = buf;

			memset(mm, 0, sizeof(mm));
			for (k = 0; k < 6; k++) {
				a->rng = a->rng * 6364136223846793005ULL + 1;
				len = sizeof(struct xs_stamp) +
				      (a->rng >> 33) % 400;
				xs_stamp_fill(b, len, a->token, seq + k / 3,
					      k % 3, 3);
				iov[k].iov_base = b;
				iov[k].iov_len = len;
				mm[k].msg_hdr.msg_iov = &iov[k];
				mm[k].msg_hdr.msg_iovlen = 1;
				mm[k].msg_hdr.msg_flags = k % 3 == 2 ?
							  MSG_EOR : 0;
				b += len;
			}
			/* a kill may land while the call waits for room */
			csh->in_record[a->slot] = 1;
			r = sendmmsg(a->fd, mm, 6, 0);
			csh->in_record[a->slot] = 0;
			if (r != 6) {
				child_fail(r < 0 ? errno : 0);
				return NULL;
			}
			seq++;
			csh->completed[a->token] = seq;
			csh->sending[a->slot] = 1;
			continue;
		}
		for (k = 0; k < 3; k++) {
			a->rng = a->rng * 6364136223846793005ULL + 1;
			len = crash_part_len(a->rng >> 33);
			xs_stamp_fill(buf, len, a->token, seq, k, 3);
			if (xs_send(a->fd, buf, len, k == 2 ? MSG_EOR : 0) !=
			    (ssize_t)len) {
				child_fail(errno);
				return NULL;
			}
			csh->sending[a->slot] = 1;
			csh->in_record[a->slot] = k < 2;
		}
		csh->completed[a->token] = seq;
		/* leave the killer some CPU (the guest has two) */
		sched_yield();
	}
	return NULL;
}

/* A child: its own socket (or the inherited one), a few threads, forever. */
static void sender_child(int fd, const char (*names)[XS_NAME_MAX + 1],
			 int nrx, int slot, uint32_t token, uint64_t rng)
{
	struct sender_arg args[CRASH_THREADS];
	pthread_t th;
	int i;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (fd < 0) {
		fd = xs_socket(cvar->tx_proto);
		if (fd < 0)
			_exit(20);
		/* sendmmsg: make the second record of a call wait for room */
		if (cvar->mmsg && xs_setint(fd, XS_SNDHWM, 1))
			_exit(24);
		for (i = 0; i < nrx; i++)
			if (xs_connect(fd, names[i]))
				_exit(21);
	}
	for (i = 0; i < cvar->threads; i++) {
		args[i].fd = fd;
		args[i].slot = slot;
		args[i].token = token + i;
		args[i].rng = rng + i;
		if (i && pthread_create(&th, NULL, sender_loop, &args[i]))
			_exit(22);
	}
	sender_loop(&args[0]);
	pause();	/* a failed sender: the parent sees it still alive */
	_exit(23);
}

static void *sender_reader(void *p)
{
	FIXTURE_DATA(sender) *self = p;
	int i;

	while (!__atomic_load_n(&self->sh->stop, __ATOMIC_SEQ_CST)) {
		for (i = 0; i < self->nrx; i++)
			crash_drain(&self->rx[i], self->buf, cvar->reliable);
		xs_sleep_ms(1);
	}
	for (i = 0; i < self->nrx; i++)
		crash_drain(&self->rx[i], self->buf, cvar->reliable);
	return NULL;
}

FIXTURE_SETUP(sender)
{
	int i;

	cvar = variant;
	self->shared_tx = -1;
	ASSERT_OK(unshare(CLONE_NEWNET));
	ASSERT_OK(prctl(PR_SET_CHILD_SUBREAPER, 1));
	self->sh = mmap(NULL, sizeof(*self->sh), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->sh);
	csh = self->sh;
	self->buf = malloc(CRASH_BIG);
	ASSERT_NE(NULL, self->buf);
	self->nrx = variant->nrx;
	for (i = 0; i < self->nrx; i++) {
		struct crash_rx *rx = &self->rx[i];

		rx->last = calloc(CRASH_TOKENS, sizeof(*rx->last));
		ASSERT_NE(NULL, rx->last);
		xs_uname(self->names[i], sizeof(self->names[i]), "crash");
		rx->fd = xs_socket(variant->rx_proto);
		ASSERT_LE(0, rx->fd);
		/* no drops from the receiving side while the reader keeps up */
		ASSERT_OK(xs_setint(rx->fd, XS_RCVHWM, variant->mmsg ? 1 : 0));
		if (variant->rx_proto == XSPROTO_SUB)
			ASSERT_OK(setsockopt(rx->fd, SOL_XS, XS_SUBSCRIBE,
					     "", 0));
		ASSERT_OK(xs_bind(rx->fd, self->names[i]));
		/* small: records over it, and a full ring, use the queue */
		if (variant->ring)
			ASSERT_OK(xs_tring_open(&rx->ring, rx->fd, 1 << 14));
	}
	if (variant->shared) {
		self->shared_tx = xs_socket(variant->tx_proto);
		ASSERT_LE(0, self->shared_tx);
		for (i = 0; i < self->nrx; i++)
			ASSERT_OK(xs_connect(self->shared_tx, self->names[i]));
	}
	seed_from_env();
	xs_kwatch_start(&self->kw);
	ASSERT_OK(pthread_create(&self->reader, NULL, sender_reader, self));
	self->reader_started = 1;
}

FIXTURE_TEARDOWN(sender)
{
	int i;

	if (self->reader_started) {
		__atomic_store_n(&self->sh->stop, 1, __ATOMIC_SEQ_CST);
		pthread_join(self->reader, NULL);
	}
	xs_close(&self->shared_tx);
	for (i = 0; i < self->nrx; i++) {
		xs_tring_close(&self->rx[i].ring);
		xs_close(&self->rx[i].fd);
	}
}

static pid_t sender_spawn(FIXTURE_DATA(sender) *self, int slot,
			  uint32_t token)
{
	uint64_t rng = crash_rand();
	pid_t pid;

	self->sh->sending[slot] = 0;
	self->sh->in_record[slot] = 0;
	pid = fork();
	if (pid == 0)
		sender_child(self->shared_tx, self->names, self->nrx, slot,
			     token, rng);
	return pid;
}

TEST_F_TIMEOUT(sender, killed_mid_record_never_delivers_a_partial_record,
	       120)
{
	int trials = xs_iters(800, 200), nchild = variant->children;
	int kills = 0, midway = 0, not_started = 0, bad_exit = 0;
	uint64_t records = 0, parts = 0, violations = 0, reordered = 0;
	uint64_t lost = 0;
	pid_t pids[CRASH_CHILDREN] = { 0 };
	uint32_t token = 1, tokens;
	long long t0 = xs_now_ms(), end;
	int i, trial, status;

	for (i = 0; i < nchild; i++) {
		pids[i] = sender_spawn(self, i, token);
		token += variant->threads;
		ASSERT_GT(pids[i], 0);
	}
	for (trial = 0; trial < trials &&
	     xs_now_ms() - t0 < crash_budget_ms(); trial++) {
		i = trial % nchild;
		/* usually let it get going, then kill it a few µs later */
		end = xs_now_ms() + 200;
		if (crash_rand() % 8)
			while (!__atomic_load_n(&self->sh->sending[i],
						__ATOMIC_SEQ_CST) &&
			       xs_now_ms() < end)
				sched_yield();
		usleep(crash_rand() % 300);
		if (!self->sh->sending[i])
			not_started++;
		midway += self->sh->in_record[i];
		kill(pids[i], SIGKILL);
		if (waitpid(pids[i], &status, 0) == pids[i] &&
		    !(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
			bad_exit++;
			TH_LOG("sender exited with status %#x", status);
		}
		kills++;
		/* the shared socket must keep working for the others */
		if (variant->shared && !(trial % 16)) {
			static unsigned char rec[3][64];
			int k;

			for (k = 0; k < 3; k++) {
				xs_stamp_fill(rec[k], sizeof(rec[k]), 0,
					      trial / 16 + 1, k, 3);
				ASSERT_EQ((ssize_t)sizeof(rec[k]),
					  xs_send(self->shared_tx, rec[k],
						  sizeof(rec[k]),
						  k == 2 ? MSG_EOR : 0))
					TH_LOG("shared socket: %s",
					       strerror(errno));
			}
			self->sh->completed[0] = trial / 16 + 1;
		}
		if (token + variant->threads >= CRASH_TOKENS)
			token = 1;
		pids[i] = sender_spawn(self, i, token);
		token += variant->threads;
		ASSERT_GT(pids[i], 0);
	}
	for (i = 0; i < nchild; i++) {
		kill(pids[i], SIGKILL);
		waitpid(pids[i], NULL, 0);
	}
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	tokens = token;

	/* let the reader take what is left, then stop it */
	xs_sleep_ms(xs_quiet_ms() * 4);
	__atomic_store_n(&self->sh->stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(self->reader, NULL);
	self->reader_started = 0;

	for (i = 0; i < self->nrx; i++) {
		struct crash_rx *rx = &self->rx[i];
		uint32_t t;

		records += rx->records;
		parts += rx->parts;
		if (variant->ring)
			EXPECT_GT(rx->ring_records, 0ULL)
				TH_LOG("receiver %d: nothing came by its ring", i);
		violations += rx->violations;
		reordered += rx->reordered;
		if (rx->violations)
			TH_LOG("receiver %d: %s (part %u/%u of record %u of "
			       "sender %u)", i,
			       xs_rec_fault_name(rx->first_violation),
			       rx->bad.idx, rx->bad.n, rx->bad.seq,
			       rx->bad.token);
		/* a record whose MSG_EOR returned to its sender arrived */
		for (t = 0; variant->reliable && t < tokens; t++)
			if (rx->last[t] < self->sh->completed[t])
				lost++;
	}
	ksft_print_msg("%d kills (%d mid-record, %d before the first part) in "
		       "%lld ms; %llu records (%llu parts) received\n", kills,
		       midway, not_started, xs_now_ms() - t0,
		       (unsigned long long)records,
		       (unsigned long long)parts);
	EXPECT_EQ(0, bad_exit);
	EXPECT_EQ(0ULL, self->sh->child_errors)
		TH_LOG("a sender failed: %s", strerror(self->sh->child_errno));
	EXPECT_EQ(0ULL, violations) TH_LOG("partial or mixed records");
	EXPECT_EQ(0ULL, reordered) TH_LOG("records out of order or missing");
	EXPECT_EQ(0ULL, lost) TH_LOG("senders whose last ended record "
				     "never arrived");
	EXPECT_GT(records, 0ULL);
	EXPECT_GT(midway, 0) TH_LOG("no kill landed inside a record");
	xs_close(&self->shared_tx);
	for (i = 0; i < self->nrx; i++) {
		/* a mapping holds its socket as a descriptor does */
		xs_tring_close(&self->rx[i].ring);
		xs_close(&self->rx[i].fd);
	}
	ASSERT_ALL_GONE();
	ASSERT_KERNEL_QUIET(&self->kw);
}

/* ---- killed readers -------------------------------------------------------- */

FIXTURE(reader) {
	struct crash_shared *sh;
	int tx, rx;
	struct xs_kwatch kw;
};

FIXTURE_VARIANT(reader) {
	int tx_proto, rx_proto;
};

FIXTURE_VARIANT_ADD(reader, pull) {
	.tx_proto = XSPROTO_PUSH, .rx_proto = XSPROTO_PULL,
};

FIXTURE_VARIANT_ADD(reader, sub) {
	.tx_proto = XSPROTO_PUB, .rx_proto = XSPROTO_SUB,
};

FIXTURE_SETUP(reader)
{
	char name[XS_NAME_MAX + 1];

	ASSERT_OK(unshare(CLONE_NEWNET));
	self->sh = mmap(NULL, sizeof(*self->sh), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->sh);
	ASSERT_OK(xs_link(variant->tx_proto, variant->rx_proto, 0, 0,
			  &self->tx, &self->rx, name, sizeof(name)));
	if (variant->rx_proto == XSPROTO_SUB)
		ASSERT_OK(setsockopt(self->rx, SOL_XS, XS_SUBSCRIBE, "", 0));
	seed_from_env();
	xs_kwatch_start(&self->kw);
}

FIXTURE_TEARDOWN(reader)
{
	xs_close(&self->tx);
	xs_close(&self->rx);
}

/* A reader sharing @fd: part by part, slowly, checking what it reads. */
static void reader_child(struct crash_shared *sh, int fd)
{
	unsigned char buf[4096];
	struct xs_checker chk = { 0 };
	int flags;
	ssize_t n;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (;;) {
		n = xs_recv(fd, buf, sizeof(buf), MSG_DONTWAIT, &flags);
		if (n < 0) {
			usleep(100);
			continue;
		}
		if (xs_check_part(&chk, buf, n, flags) != XS_REC_OK)
			__atomic_fetch_add(&sh->violations, 1,
					   __ATOMIC_SEQ_CST);
		sh->in_record[0] = !(flags & MSG_EOR);
		sh->sending[0] = 1;
		usleep(20);
	}
}

TEST_F_TIMEOUT(reader, killed_mid_record_leaves_no_half_record_to_others,
	       120)
{
	int trials = xs_iters(800, 200), kills = 0, midway = 0, trial, k;
	long long t0 = xs_now_ms();
	struct crash_rx me = { .fd = self->rx };
	unsigned char part[256], *buf = malloc(CRASH_BIG);
	long long end;
	uint32_t seq = 0;
	pid_t pid;

	me.last = calloc(CRASH_TOKENS, sizeof(*me.last));
	ASSERT_NE(NULL, me.last);
	ASSERT_NE(NULL, buf);
	for (trial = 0; trial < trials &&
	     xs_now_ms() - t0 < crash_budget_ms(); trial++) {
		/* a few records for the child and us to share */
		while (xs_proc_field(self->rx, "rx_records") < 8) {
			seq++;
			for (k = 0; k < 3; k++) {
				size_t len = sizeof(struct xs_stamp) +
					     crash_rand() % 200;

				xs_stamp_fill(part, len, 1, seq, k, 3);
				ASSERT_EQ((ssize_t)len,
					  xs_send(self->tx, part, len,
						  k == 2 ? MSG_EOR : 0));
			}
		}
		self->sh->sending[0] = 0;
		self->sh->in_record[0] = 0;
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0)
			reader_child(self->sh, self->rx);
		end = xs_now_ms() + xs_wait_ms();
		while (!__atomic_load_n(&self->sh->sending[0], __ATOMIC_SEQ_CST))
			if (xs_now_ms() > end)
				break;
			else
				sched_yield();
		usleep(crash_rand() % 100);
		midway += self->sh->in_record[0];
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		kills++;
		/* we read on: never the rest of the child's record */
		crash_drain(&me, buf, 0);
	}
	ksft_print_msg("%d readers killed (%d mid-record) in %lld ms; we read "
		       "%llu records\n", kills, midway, xs_now_ms() - t0,
		       (unsigned long long)me.records);
	EXPECT_EQ(0ULL, self->sh->violations);
	EXPECT_EQ(0ULL, me.violations)
		TH_LOG("%s (part %u/%u of record %u)",
		       xs_rec_fault_name(me.first_violation), me.bad.idx,
		       me.bad.n, me.bad.seq);
	EXPECT_EQ(0ULL, me.reordered);
	EXPECT_GT(midway, 0);
	free(me.last);
	free(buf);
	xs_close(&self->tx);
	xs_close(&self->rx);
	ASSERT_ALL_GONE();
	ASSERT_KERNEL_QUIET(&self->kw);
}

/* ---- threads on one socket ------------------------------------------------- */

struct thr {
	pthread_t thread;
	int fd, id, records, stop_midway;
	uint64_t rng;
	uint64_t got, violations;
	int what;
	struct xs_stamp bad;
	int *stop;
	char error[128];
};

/* Records of 1..5 parts of random sizes, yielding between parts. */
static void *thr_send(void *p)
{
	struct thr *t = p;
	unsigned char *buf = malloc(CRASH_BIG);
	int r, k, n;

	if (!buf)
		return NULL;
	for (r = 1; r <= t->records; r++) {
		t->rng = t->rng * 6364136223846793005ULL + 1;
		n = 1 + (t->rng >> 40) % 5;
		for (k = 0; k < n; k++) {
			size_t len;

			t->rng = t->rng * 6364136223846793005ULL + 1;
			len = crash_part_len(t->rng >> 33);
			xs_stamp_fill(buf, len, t->id, r, k, n);
			if (xs_send(t->fd, buf, len, k == n - 1 ? MSG_EOR : 0)
			    != (ssize_t)len) {
				snprintf(t->error, sizeof(t->error),
					 "sender %d: %s", t->id,
					 strerror(errno));
				goto out;
			}
			if (t->rng & 1)
				sched_yield();
		}
	}
out:
	free(buf);
	return NULL;
}

static void *thr_recv(void *p)
{
	struct thr *t = p;
	unsigned char *buf = malloc(CRASH_BIG);
	struct xs_checker chk = { 0 };
	int flags, what;
	ssize_t n;

	if (!buf)
		return NULL;
	for (;;) {
		n = xs_recv(t->fd, buf, CRASH_BIG, 0, &flags);
		if (n < 0) {
			/* only between records may we stop */
			if (errno == EAGAIN && !chk.stamped &&
			    __atomic_load_n(t->stop, __ATOMIC_SEQ_CST))
				break;
			if (errno != EAGAIN) {
				snprintf(t->error, sizeof(t->error),
					 "receiver %d: %s", t->id,
					 strerror(errno));
				break;
			}
			continue;
		}
		what = xs_check_part(&chk, buf, n, flags);
		if (what != XS_REC_OK && !t->violations++) {
			t->what = what;
			t->bad = chk.bad;
		}
		if (flags & MSG_EOR)
			t->got++;
		if (n & 1)
			sched_yield();
	}
	free(buf);
	return NULL;
}

/* One PUSH -> PULL link that several threads share. */
FIXTURE(one) {
	int tx, rx;
	struct xs_kwatch kw;
};

FIXTURE_SETUP(one)
{
	ASSERT_OK(unshare(CLONE_NEWNET));
	xs_kwatch_start(&self->kw);
	ASSERT_OK(xs_link(XSPROTO_PUSH, XSPROTO_PULL, 0, 0, &self->tx,
			  &self->rx, NULL, 0));
	ASSERT_OK(xs_set_timeo(self->rx, SO_RCVTIMEO, 20));
}

FIXTURE_TEARDOWN(one)
{
	xs_close(&self->tx);
	xs_close(&self->rx);
}

#define ONE_END(self) do {						\
	xs_close(&(self)->tx);						\
	xs_close(&(self)->rx);						\
	ASSERT_ALL_GONE();						\
	ASSERT_KERNEL_QUIET(&(self)->kw);				\
} while (0)

TEST_F(one, threads_sending_on_one_socket_never_interleave)
{
	int per = xs_iters(2000, 100), i, stop = 1;
	int tx = self->tx, rx = self->rx;
	struct thr s[4], r;
	long long end;

	memset(&r, 0, sizeof(r));
	r.fd = rx;
	r.stop = &stop;
	stop = 0;
	ASSERT_OK(pthread_create(&r.thread, NULL, thr_recv, &r));
	for (i = 0; i < 4; i++) {
		memset(&s[i], 0, sizeof(s[i]));
		s[i].fd = tx;
		s[i].id = i + 1;
		s[i].records = per;
		s[i].rng = crash_rand();
		ASSERT_OK(pthread_create(&s[i].thread, NULL, thr_send, &s[i]));
	}
	for (i = 0; i < 4; i++) {
		pthread_join(s[i].thread, NULL);
		EXPECT_STREQ("", s[i].error);
	}
	end = xs_now_ms() + xs_wait_ms();
	while (__atomic_load_n(&r.got, __ATOMIC_SEQ_CST) < 4ULL * per &&
	       xs_now_ms() < end)
		xs_sleep_ms(5);
	__atomic_store_n(&stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(r.thread, NULL);
	ksft_print_msg("4 threads, %d records each, %llu received\n", per,
		       (unsigned long long)r.got);
	EXPECT_STREQ("", r.error);
	EXPECT_EQ(0ULL, r.violations)
		TH_LOG("%s (part %u/%u of record %u of thread %u)",
		       xs_rec_fault_name(r.what), r.bad.idx, r.bad.n,
		       r.bad.seq, r.bad.token);
	EXPECT_EQ(4ULL * per, r.got);
	ONE_END(self);
}

TEST_F(one, threads_receiving_on_one_socket_never_split_a_record)
{
	int per = xs_iters(6000, 300), i, stop = 0;
	int tx = self->tx, rx = self->rx;
	struct thr s, r[4];
	uint64_t got = 0;
	long long end;

	for (i = 0; i < 4; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].fd = rx;
		r[i].id = i;
		r[i].stop = &stop;
		ASSERT_OK(pthread_create(&r[i].thread, NULL, thr_recv, &r[i]));
	}
	memset(&s, 0, sizeof(s));
	s.fd = tx;
	s.id = 1;
	s.records = per;
	s.rng = crash_rand();
	thr_send(&s);
	EXPECT_STREQ("", s.error);
	end = xs_now_ms() + xs_wait_ms();
	do {
		xs_sleep_ms(5);
		for (got = 0, i = 0; i < 4; i++)
			got += __atomic_load_n(&r[i].got, __ATOMIC_SEQ_CST);
	} while (got < (uint64_t)per && xs_now_ms() < end);
	got = 0;
	__atomic_store_n(&stop, 1, __ATOMIC_SEQ_CST);
	for (i = 0; i < 4; i++) {
		pthread_join(r[i].thread, NULL);
		EXPECT_STREQ("", r[i].error);
		EXPECT_EQ(0ULL, r[i].violations)
			TH_LOG("thread %d: %s (part %u/%u of record %u)", i,
			       xs_rec_fault_name(r[i].what), r[i].bad.idx,
			       r[i].bad.n, r[i].bad.seq);
		got += r[i].got;
	}
	ksft_print_msg("%d records to 4 reading threads: %llu %llu %llu "
		       "%llu\n", per, (unsigned long long)r[0].got,
		       (unsigned long long)r[1].got,
		       (unsigned long long)r[2].got,
		       (unsigned long long)r[3].got);
	EXPECT_EQ((uint64_t)per, got);
	ONE_END(self);
}

/* Send the first part of a record, then end the thread. */
static void *thr_exit_midway(void *p)
{
	struct thr *t = p;
	unsigned char part[64];

	xs_stamp_fill(part, sizeof(part), 99, t->id, 0, 2);
	if (xs_send(t->fd, part, sizeof(part), MSG_DONTWAIT) != sizeof(part))
		snprintf(t->error, sizeof(t->error), "first part: %s",
			 strerror(errno));
	return NULL;
}

TEST_F(one, thread_exiting_mid_record_does_not_wedge_the_socket)
{
	int rounds = xs_iters(500, 25), i, n;
	int tx = self->tx, rx = self->rx;
	unsigned char part[64];
	struct xs_rec rec;
	struct thr t;

	/* room for two records: a leaked reservation would show at once */
	ASSERT_OK(xs_setint(tx, XS_SNDHWM, 1));
	ASSERT_OK(xs_setint(rx, XS_RCVHWM, 1));
	for (i = 1; i <= rounds; i++) {
		memset(&t, 0, sizeof(t));
		t.fd = tx;
		t.id = i;
		ASSERT_OK(pthread_create(&t.thread, NULL, thr_exit_midway,
					 &t));
		pthread_join(t.thread, NULL);
		ASSERT_STREQ("", t.error);
		/*
		 * Our record goes through at once, alone and whole: once
		 * pthread_join() returned, the thread counts as gone (it has
		 * been exiting since before its joiner was told).
		 */
		xs_stamp_fill(part, sizeof(part), 1, i, 0, 1);
		n = xs_send(tx, part, sizeof(part), MSG_EOR | MSG_DONTWAIT);
		ASSERT_EQ((ssize_t)sizeof(part), n)
			TH_LOG("round %d: %s (pipe holds %lld records)", i,
			       strerror(errno),
			       xs_proc_field(rx, "rx_records"));
		n = xs_recv_rec(rx, &rec, xs_wait_ms());
		ASSERT_EQ(1, n) TH_LOG("round %d", i);
		ASSERT_EQ(sizeof(part), rec.len[0]);
		ASSERT_EQ(0, memcmp(rec.data[0], part, 4));
	}
	/* every slot is back: exactly SNDHWM + RCVHWM records fit */
	for (i = 0; i < 2; i++)
		ASSERT_EQ(1, xs_send(tx, "x", 1, MSG_EOR | MSG_DONTWAIT))
			TH_LOG("record %d: %s", i, strerror(errno));
	EXPECT_ERRNO(EAGAIN, xs_send(tx, "x", 1, MSG_EOR | MSG_DONTWAIT));
	ASSERT_EQ(2, xs_proc_field(rx, "rx_records"));
	ksft_print_msg("%d threads ended inside a record\n", rounds);
	ONE_END(self);
}

/* ---- exiting processes ------------------------------------------------------ */

/*
 * Steps of the scenario below, reported through a pipe (the scenario runs
 * in its own process: if the kernel oopses while it releases a socket,
 * that process never finishes, and the test must not wait for it).
 */
static int handover_scenario(const char *path)
{
	int binder, waiting, go[2], ready[2], status;
	long long end;
	char c, buf[16];
	pid_t first;
	ssize_t n;

	binder = xs_socket(XSPROTO_PAIR);
	waiting = xs_socket(XSPROTO_PAIR);
	if (binder < 0 || waiting < 0 || xs_bind(binder, path) ||
	    pipe(go) || pipe(ready))
		return 10;
	first = fork();
	if (first < 0)
		return 11;
	if (first == 0) {
		int fd = xs_socket(XSPROTO_PAIR);

		/* the peer the binder takes */
		if (fd < 0 || xs_connect(fd, path) ||
		    write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(1);
		_exit(0);	/* its socket is released as it exits */
	}
	if (read(ready[0], &c, 1) != 1)
		return 12;
	/* a second peer waits: a PAIR binder takes one at a time */
	if (xs_connect(waiting, path))
		return 13;
	if (write(go[1], "g", 1) != 1)
		return 14;
	end = xs_now_ms() + xs_wait_ms();
	while (waitpid(first, &status, WNOHANG) != first)
		if (xs_now_ms() > end)
			return 15;	/* never finished exiting */
		else
			xs_sleep_ms(5);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return 16;
	/* the waiting peer took its place */
	if (xs_send(waiting, "hello", 5, MSG_EOR) != 5)
		return 17;
	n = xs_recv_within(binder, buf, sizeof(buf), 0, NULL, xs_wait_ms());
	if (n != 5)
		return 18;
	close(waiting);
	close(binder);
	return 0;
}

TEST(exiting_peer_of_a_path_name_hands_over_to_the_waiting_one)
{
	char dir[64], path[96], first[512];
	int res[2], rc = -1, reports;
	struct xs_kwatch kw;
	long long end;
	pid_t pid;

	ASSERT_OK(unshare(CLONE_NEWNET));
	snprintf(dir, sizeof(dir), "/tmp/xs-crash.%d", (int)getpid());
	ASSERT_OK(mkdir(dir, 0700));
	snprintf(path, sizeof(path), "%s/pair", dir);
	ASSERT_OK(pipe(res));
	xs_kwatch_start(&kw);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		rc = handover_scenario(path);
		_exit(write(res[1], &rc, sizeof(rc)) == sizeof(rc) ? 0 : 1);
	}
	close(res[1]);
	end = xs_now_ms() + 3 * xs_wait_ms();
	while (xs_now_ms() < end) {
		struct pollfd p = { .fd = res[0], .events = POLLIN };

		if (poll(&p, 1, 50) == 1) {
			if (read(res[0], &rc, sizeof(rc)) != sizeof(rc))
				rc = -1;
			break;
		}
	}
	reports = xs_kwatch_end(&kw, first, sizeof(first));
	if (rc == -1 || rc == 15) {
		/* stuck in the kernel: do not wait for it */
		TH_LOG("a process exiting with a PAIR socket connected to a "
		       "path never finished exiting (step %d); kernel: %s",
		       rc, reports ? first : "(no report)");
		ASSERT_EQ(0, 1);
	}
	waitpid(pid, NULL, 0);
	unlink(path);
	rmdir(dir);
	EXPECT_EQ(0, rc) TH_LOG("failed at step %d", rc);
	EXPECT_EQ(0, reports) TH_LOG("kernel: %s", first);
	ASSERT_ALL_GONE();
}

XS_TEST_MAIN
