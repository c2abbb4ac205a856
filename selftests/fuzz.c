// SPDX-License-Identifier: GPL-2.0
/*
 * A randomised, seeded syscall fuzzer for AF_XS (a plain TAP program).
 *
 * Processes (forked) and threads (pthreads) share a table of sockets and
 * a small pool of names (abstract and under /tmp) and call, at random,
 * everything the family implements: socket of every XSPROTO_*, bind,
 * connect, XS_UNBIND/XS_DISCONNECT, send/sendmsg/sendmmsg (MSG_EOR,
 * MSG_DONTWAIT, odd flags), recv/recvmsg/recvmmsg (MSG_PEEK, short
 * buffers), every SOL_XS option at 0, 1, -1, INT_MAX, INT_MIN and random
 * sizes, SO_SNDBUF/SO_RCVBUF/SO_PASSCRED/SO_RCVTIMEO/SO_SNDTIMEO,
 * poll/epoll, FIONREAD/SIOCINQ/SIOCOUTQ/FIONBIO, shutdown, close, dup,
 * fork (children in a new network namespace, or as uid 65534), and a
 * REQ/REP scenario that unbinds a REP with a request in hand, binds
 * another REP to the name, replies from the first and closes the REQ.
 * A ticker thread sends SIGALRM (no SA_RESTART) to every worker thread
 * every few milliseconds, so blocking calls are interrupted.
 *
 * It fails (one TAP line each) on:
 *  1. a kernel report in /dev/kmsg (KASAN, lockdep, WARN, BUG, ...) or a
 *     newly tainted kernel;
 *  2. a broken record: every part the fuzzer sends carries a header
 *     (sender, sequence, part count and index, checksums); a receiver
 *     sees only whole records, parts in order, none mixed with another
 *     record's, none corrupted (unstamped parts, the envelopes of XREP
 *     and friends, are allowed only before the first stamped part);
 *  3. an errno that no AF_XS call may return with valid pointers (EFAULT,
 *     kernel-internal values >= 512, ...), or success where failure is
 *     required (MSG_OOB, msg_name on send, control messages, writing a
 *     read-only option);
 *  4. a hang: a call that stays blocked though signals keep coming;
 *  5. sockets or records left in the module once everything is closed.
 *
 * Environment: XS_FUZZ_SEED (replay: the seed is printed at the start),
 * XS_FUZZ_SECS (duration, default 20), XS_TEST_SCALE. Each thread draws
 * from its own generator seeded from the seed, so a replay makes the same
 * calls in each thread; only their interleaving differs.
 */
#include "xs_test.h"
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

/* a plain TAP program: the kselftest harness that xs_test.h brings is unused */
static int (*const unused_harness)(int, char **) __attribute__((unused)) =
	test_harness_run;

#define NPROC		3	/* worker processes */
#define NTHR		3	/* worker threads per process */
#define NSLOT		16	/* shared socket table, per process */
#define NNAME		6
#define HDR_MAGIC	0x5a46584du	/* "MXFZ" */
#define F_ABORT		1
#define MAXPART		(96 * 1024)
#define NLIST		256	/* sockets a thread skips (resync, nosend) */

static const char *const names[NNAME] = {
	"fz.a", "fz.b", "fz.c", "/tmp/fz.d", "/tmp/fz.e", "fz.f",
};

enum op {
	OP_SOCKET, OP_CLOSE, OP_DUP, OP_BIND, OP_CONNECT, OP_UNBIND,
	OP_DISCONNECT, OP_SEND, OP_SENDMMSG, OP_RAWSEND, OP_BADSEND, OP_RECV,
	OP_RECVMMSG, OP_PEEK, OP_SETOPT, OP_GETOPT, OP_SOCKOPT, OP_POLL,
	OP_EPOLL, OP_IOCTL, OP_SHUTDOWN, OP_FORK, OP_RACE, OP_MONITOR, OP_NR
};

static const char *const op_names[OP_NR] = {
	"socket", "close", "dup", "bind", "connect", "unbind", "disconnect",
	"send", "sendmmsg", "rawsend", "badsend", "recv", "recvmmsg", "peek",
	"setsockopt", "getsockopt", "so_opt", "poll", "epoll", "ioctl",
	"shutdown", "fork", "reqrep_race", "monitor",
};

/* weights of the operations */
static const int op_weight[OP_NR] = {
	[OP_SOCKET] = 8, [OP_CLOSE] = 5, [OP_DUP] = 2, [OP_BIND] = 8,
	[OP_CONNECT] = 10, [OP_UNBIND] = 4, [OP_DISCONNECT] = 3,
	[OP_SEND] = 30, [OP_SENDMMSG] = 5, [OP_RAWSEND] = 4, [OP_BADSEND] = 2,
	[OP_RECV] = 30, [OP_RECVMMSG] = 6, [OP_PEEK] = 3, [OP_SETOPT] = 6,
	[OP_GETOPT] = 3, [OP_SOCKOPT] = 4, [OP_POLL] = 3, [OP_EPOLL] = 2,
	[OP_IOCTL] = 3, [OP_SHUTDOWN] = 1, [OP_FORK] = 1, [OP_RACE] = 6,
	[OP_MONITOR] = 3,
};

/* What all processes share (MAP_SHARED, made before the first fork). */
struct slot_beat {
	int pid, tid;
	int op;			/* current op, -1 when between ops */
	long long since;	/* when it started, ms */
};

struct shared {
	long long calls[OP_NR];
	long long errs[OP_NR];
	long long parts_sent, parts_recv, records_recv, stamped_recv, empty_recv;
	long long race_held, race_replied;
	int lost_track;		/* threads that stopped checking records */
	int fail_rec, fail_errno, fail_hang;
	char first_rec[320], first_errno[256], first_hang[512];
	int stop;
	struct slot_beat beat[NPROC * NTHR + NPROC];
};

static struct shared *sh;
static unsigned long long seed;
static int fuzz_secs;
static long long hang_ms;

/*
 * The patterns that meet on each name (most sockets are made for a name,
 * so records flow): PUSH/PULL, PAIR, PUB/SUB, REQ/REP, SURVEYOR/RESPONDENT.
 */
static const int name_protos[NNAME][4] = {
	{ XSPROTO_PUSH, XSPROTO_PULL, XSPROTO_PUSH, XSPROTO_PULL },
	{ XSPROTO_PAIR, XSPROTO_PAIR, XSPROTO_PAIR, XSPROTO_PAIR },
	{ XSPROTO_PUB, XSPROTO_SUB, XSPROTO_XPUB, XSPROTO_XSUB },
	{ XSPROTO_REQ, XSPROTO_REP, XSPROTO_XREQ, XSPROTO_XREP },
	{ XSPROTO_SURVEYOR, XSPROTO_RESPONDENT, XSPROTO_XSURVEYOR, XSPROTO_XRESPONDENT },
	{ XSPROTO_REQ, XSPROTO_REP, XSPROTO_REQ, XSPROTO_REP },
};

/* per process */
static int fds[NSLOT];
static int home[NSLOT];	/* the name a slot's socket was made for */
static pthread_t thr[NTHR];
static int proc_idx;

/* per thread */
struct hdr {
	uint32_t magic, sender, seq;
	uint16_t n, idx, flags, pad;
	uint32_t len, sum, hsum;
};

struct thr_state {
	unsigned long long rng;
	int beat;		/* index in sh->beat */
	uint32_t sender, seq;
	/* the record this thread is sending: at most one at a time */
	struct {
		int fd;		/* a private dup: nobody else closes it */
		ino_t ino;
		uint32_t seq;
		int n, next, aborting, tries;
	} snd;
	/* the record this thread is receiving */
	struct {
		int fd;
		ino_t ino;
		int stamped;	/* a stamped part was seen */
		int parts;	/* parts of it read */
		uint32_t sender, seq;
		int n, next, tries;
	} rcv;
	/* sockets where this thread's record state is unknown: skip until EOR */
	ino_t resync[NLIST];
	ino_t nosend[NLIST];
	/* a list was full: records on unlisted sockets are no longer checked */
	int lost_track;
	/* stamped in each part: the sending socket's type << 4 | HOW_* */
	uint16_t how;
	unsigned char buf[MAXPART + 64];
};

static __thread struct thr_state *ts;

static inline unsigned long long rnd(void)
{
	unsigned long long x = ts->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return ts->rng = x;
}

static inline int rn(int n)
{
	return n > 0 ? (int)(rnd() % (unsigned int)n) : 0;
}

static int pick_op(void)
{
	int total = 0, i, r;

	for (i = 0; i < OP_NR; i++)
		total += op_weight[i];
	r = rn(total);
	for (i = 0; i < OP_NR; i++) {
		if (r < op_weight[i])
			return i;
		r -= op_weight[i];
	}
	return OP_SEND;
}

static void fail_msg(int *flag, char *first, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void fail_msg(int *flag, char *first, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (__atomic_fetch_add(flag, 1, __ATOMIC_SEQ_CST) == 0) {
		va_start(ap, fmt);
		vsnprintf(first, len, fmt, ap);
		va_end(ap);
		printf("# FAIL: %s\n", first);
		fflush(stdout);
	}
}

#define REC_FAIL(...) \
	fail_msg(&sh->fail_rec, sh->first_rec, sizeof(sh->first_rec), __VA_ARGS__)
#define ERR_FAIL(...) \
	fail_msg(&sh->fail_errno, sh->first_errno, sizeof(sh->first_errno), __VA_ARGS__)

/*
 * errnos no AF_XS call may return when every pointer is valid; values of
 * 512 and up are kernel-internal (ERESTARTSYS, ENOIOCTLCMD...).
 */
static void check_errno(int op, const char *what, long ret)
{
	int e = errno;

	if (ret >= 0)
		return;
	__atomic_fetch_add(&sh->errs[op], 1, __ATOMIC_RELAXED);
	/*
	 * A recvmmsg interrupted after some entries returns their count, and
	 * net/socket.c keeps the error (ERESTARTSYS = 512 for a signal) in
	 * sk_err for the next recvmmsg, which returns it as is.  That is the
	 * generic syscall's doing, for every socket family (UDP alike).
	 */
	if (op == OP_RECVMMSG && e == 512)
		return;
	if (e == EFAULT || e >= 512 || e == ENOSYS || e == ESRCH ||
	    e == ECHILD || e == EIO || e == ENXIO || e == EDEADLK ||
	    e == EXDEV || e == ESPIPE || e == 0)
		ERR_FAIL("%s: errno %d (%s) (seed %llu)", what, e, strerror(e),
			 seed);
	errno = e;
}

static void must_fail(const char *what, long ret)
{
	if (ret >= 0)
		ERR_FAIL("%s succeeded, must fail (seed %llu)", what, seed);
}

static uint32_t sum32(const unsigned char *p, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static int random_fd(void)
{
	return __atomic_load_n(&fds[rn(NSLOT)], __ATOMIC_RELAXED);
}

static ino_t ino_of(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : st.st_ino;
}

static int in_list(const ino_t *l, ino_t ino)
{
	int i;

	for (i = 0; i < NLIST; i++)
		if (l[i] == ino && ino)
			return 1;
	return 0;
}

/*
 * Remember @ino in @l.  An entry is never overwritten: forgetting a socket
 * whose record this thread left half read (or half sent) would make its
 * rest look like a broken record.  When the list is full, the thread stops
 * checking records instead.
 */
static void add_list(ino_t *l, ino_t ino)
{
	int i;

	if (!ino || in_list(l, ino))
		return;
	for (i = 0; i < NLIST; i++) {
		if (!l[i]) {
			l[i] = ino;
			return;
		}
	}
	if (!ts->lost_track)
		__atomic_fetch_add(&sh->lost_track, 1, __ATOMIC_RELAXED);
	ts->lost_track = 1;
}

/* a socket where this thread may have left a record half sent */
static int may_not_send(ino_t ino)
{
	return ts->lost_track || in_list(ts->nosend, ino);
}

static void beat(int op)
{
	struct slot_beat *b = &sh->beat[ts->beat];

	__atomic_store_n(&b->since, xs_now_ms(), __ATOMIC_RELAXED);
	__atomic_store_n(&b->op, op, __ATOMIC_RELAXED);
}

static socklen_t name_addr(struct sockaddr_xs *sa, int i)
{
	return xs_addr(sa, names[i]);
}

/* ---- stamped parts ---------------------------------------------------- */

static size_t part_len(void)
{
	int r = rn(1000);

	if (r < 3)
		return sizeof(struct hdr) + 65536 + rn(MAXPART - 65536);
	if (r < 20)
		return sizeof(struct hdr) + rn(8192);
	return sizeof(struct hdr) + rn(200);
}

enum { HOW_SEND = 1, HOW_SENDMMSG, HOW_ONE };

static void set_how(int fd, int how)
{
	ts->how = (uint16_t)(xs_getint(fd, SOL_XS, XS_TYPE) << 4 | how);
}

static size_t make_part(unsigned char *p, uint32_t seq, int n, int idx, int flags)
{
	size_t len = part_len(), i;
	struct hdr h;

	for (i = sizeof(h); i < len; i++)
		p[i] = (unsigned char)(i * 31 + seq);
	h.magic = HDR_MAGIC;
	h.sender = ts->sender;
	h.seq = seq;
	h.n = n;
	h.idx = idx;
	h.flags = flags;
	h.pad = ts->how;
	h.len = len - sizeof(h);
	h.sum = sum32(p + sizeof(h), h.len);
	h.hsum = sum32((unsigned char *)&h, offsetof(struct hdr, hsum));
	memcpy(p, &h, sizeof(h));
	return len;
}

/*
 * Check one part received on socket @ino by this thread: @len bytes of it
 * at @p, @full its size (0: unknown, it was truncated).
 */
static void got_part(ino_t ino, const unsigned char *p, size_t len, size_t full,
		     int eor, const char *via)
{
	struct hdr h;
	int stamped = 0, resync = in_list(ts->resync, ino);

	__atomic_fetch_add(&sh->parts_recv, 1, __ATOMIC_RELAXED);
	if (len >= sizeof(h)) {
		memcpy(&h, p, sizeof(h));
		stamped = h.magic == HDR_MAGIC;
	}
	if (stamped)
		__atomic_fetch_add(&sh->stamped_recv, 1, __ATOMIC_RELAXED);
	if (!len)
		__atomic_fetch_add(&sh->empty_recv, 1, __ATOMIC_RELAXED);
	if (ts->lost_track)
		return;
	if (resync) {
		if (eor) {
			int i;

			for (i = 0; i < NLIST; i++)
				if (ts->resync[i] == ino)
					ts->resync[i] = 0;
		}
		return;
	}
	if (stamped) {
		char ctx[160];

		snprintf(ctx, sizeof(ctx),
			 "sender %x seq %u part %u/%u flags %u: sent by type %d how %d, read by type %d via %s",
			 h.sender, h.seq, h.idx, h.n, h.flags, h.pad >> 4,
			 h.pad & 15, xs_getint(ts->rcv.fd, SOL_XS, XS_TYPE), via);
		if (h.hsum != sum32((unsigned char *)&h, offsetof(struct hdr, hsum)))
			REC_FAIL("corrupted part header, %s (seed %llu)", ctx, seed);
		else if (full && full != sizeof(h) + h.len)
			REC_FAIL("part of %zu bytes, its header says %zu, %s (seed %llu)",
				 full, sizeof(h) + h.len, ctx, seed);
		else if (full && len == full && h.sum != sum32(p + sizeof(h), h.len))
			REC_FAIL("corrupted part payload, %s (seed %llu)", ctx, seed);
		if (!ts->rcv.stamped) {
			if (h.idx != 0 && !(h.flags & F_ABORT))
				REC_FAIL("record starts late, %s (seed %llu)", ctx, seed);
			ts->rcv.stamped = 1;
			ts->rcv.sender = h.sender;
			ts->rcv.seq = h.seq;
			ts->rcv.n = h.n;
			ts->rcv.next = h.idx + 1;
		} else {
			if (h.sender != ts->rcv.sender || h.seq != ts->rcv.seq)
				REC_FAIL("records mixed: inside sender %x seq %u, %s (seed %llu)",
					 ts->rcv.sender, ts->rcv.seq, ctx, seed);
			else if (h.idx != ts->rcv.next)
				REC_FAIL("part after part %d, %s (seed %llu)",
					 ts->rcv.next - 1, ctx, seed);
			ts->rcv.next = h.idx + 1;
		}
		if (!(h.flags & F_ABORT)) {
			if (eor && h.idx != h.n - 1)
				REC_FAIL("record ends early, %s (seed %llu)", ctx, seed);
			if (!eor && h.idx == h.n - 1)
				REC_FAIL("last part without MSG_EOR, %s (seed %llu)", ctx, seed);
		}
	} else if (ts->rcv.stamped) {
		REC_FAIL("unstamped part of %zu bytes inside record sender %x seq %u via %s (seed %llu)",
			 full, ts->rcv.sender, ts->rcv.seq, via, seed);
	}
	ts->rcv.parts++;
	if (eor) {
		__atomic_fetch_add(&sh->records_recv, 1, __ATOMIC_RELAXED);
		ts->rcv.stamped = 0;
		ts->rcv.parts = 0;
	}
}

static void rcv_end(void)
{
	if (ts->rcv.fd >= 0)
		close(ts->rcv.fd);
	ts->rcv.fd = -1;
	ts->rcv.ino = 0;
	ts->rcv.stamped = 0;
	ts->rcv.parts = 0;
	ts->rcv.tries = 0;
}

static void snd_end(void)
{
	if (ts->snd.fd >= 0)
		close(ts->snd.fd);
	ts->snd.fd = -1;
	ts->snd.ino = 0;
	ts->snd.aborting = 0;
	ts->snd.tries = 0;
}

static int send_flags(void)
{
	int f = MSG_NOSIGNAL;

	if (rn(4))
		f |= MSG_DONTWAIT;
	if (!rn(8))
		f |= MSG_MORE;
	return f;
}

/* Send the next part of this thread's record (starting one if none). */
static void op_send(void)
{
	unsigned char *p = ts->buf;
	size_t len;
	ssize_t r;
	int flags = send_flags(), eor;

	if (ts->snd.fd < 0) {
		int fd = random_fd();

		if (fd < 0)
			return;
		ts->snd.fd = dup(fd);
		if (ts->snd.fd < 0)
			return;
		ts->snd.ino = ino_of(ts->snd.fd);
		if (may_not_send(ts->snd.ino) ||
		    ts->snd.ino == ts->rcv.ino) {
			snd_end();
			return;
		}
		ts->snd.seq = ++ts->seq;
		ts->snd.n = rn(10) ? 1 + rn(4) : 1 + rn(20);
		ts->snd.next = 0;
	}
	set_how(ts->snd.fd, HOW_SEND);
	if (ts->snd.aborting) {
		len = make_part(p, ts->snd.seq, ts->snd.n, ts->snd.next, F_ABORT);
		eor = 1;
	} else {
		len = make_part(p, ts->snd.seq, ts->snd.n, ts->snd.next, 0);
		eor = ts->snd.next == ts->snd.n - 1;
	}
	r = send(ts->snd.fd, p, len, flags | (eor ? MSG_EOR : 0));
	check_errno(OP_SEND, "send", r);
	if (r >= 0 && (size_t)r != len)
		ERR_FAIL("send of %zu bytes returned %zd (seed %llu)", len, r, seed);
	if (r >= 0) {
		__atomic_fetch_add(&sh->parts_sent, 1, __ATOMIC_RELAXED);
		if (eor) {
			snd_end();
			return;
		}
		ts->snd.next++;
		return;
	}
	if (ts->snd.next == 0 && !ts->snd.aborting) {
		snd_end();	/* nothing started */
		return;
	}
	/* a later part failed: the record ends with an abort part */
	ts->snd.aborting = 1;
	if (++ts->snd.tries > 20) {
		add_list(ts->nosend, ts->snd.ino);
		snd_end();
	}
}

/* Several parts of a new record in one sendmmsg. */
static void op_sendmmsg(void)
{
	struct mmsghdr mm[8];
	struct iovec iov[8];
	unsigned char *p = ts->buf;
	int fd, n, i, r;
	ino_t ino;

	if (ts->snd.fd >= 0)
		return;
	fd = random_fd();
	if (fd < 0)
		return;
	fd = dup(fd);
	if (fd < 0)
		return;
	ino = ino_of(fd);
	if (may_not_send(ino) || ino == ts->rcv.ino) {
		close(fd);
		return;
	}
	ts->snd.seq = ++ts->seq;
	n = 1 + rn(8);
	set_how(fd, HOW_SENDMMSG);
	memset(mm, 0, sizeof(mm));
	for (i = 0; i < n; i++) {
		size_t len = sizeof(struct hdr) + rn(100);
		struct hdr h = { HDR_MAGIC, ts->sender, ts->snd.seq, n, i, 0, 0,
				 len - sizeof(struct hdr), 0, 0 };
		unsigned char *q = p + i * 256;
		size_t k;

		h.pad = ts->how;
		for (k = sizeof(h); k < len; k++)
			q[k] = (unsigned char)(k + i);
		h.sum = sum32(q + sizeof(h), h.len);
		h.hsum = sum32((unsigned char *)&h, offsetof(struct hdr, hsum));
		memcpy(q, &h, sizeof(h));
		iov[i].iov_base = q;
		iov[i].iov_len = len;
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
		mm[i].msg_hdr.msg_flags = i == n - 1 ? MSG_EOR : 0;
	}
	r = sendmmsg(fd, mm, n, MSG_NOSIGNAL | (rn(2) ? MSG_DONTWAIT : 0));
	check_errno(OP_SENDMMSG, "sendmmsg", r);
	if (r > n)
		ERR_FAIL("sendmmsg of %d returned %d (seed %llu)", n, r, seed);
	if (r > 0)
		__atomic_fetch_add(&sh->parts_sent, r, __ATOMIC_RELAXED);
	if (r == n || r <= 0) {
		close(fd);
		return;
	}
	/* partly sent: finish with an abort part */
	ts->snd.fd = fd;
	ts->snd.ino = ino;
	ts->snd.n = n;
	ts->snd.next = r;
	ts->snd.aborting = 1;
	ts->snd.tries = 0;
}

/* A whole one-part record on a shared descriptor (it may be closed meanwhile). */
static void op_rawsend(void)
{
	int fd = random_fd();
	size_t len;
	ssize_t r;
	ino_t ino;

	if (fd < 0 || ts->snd.fd >= 0)
		return;
	ino = ino_of(fd);
	if (may_not_send(ino))
		return;
	set_how(fd, HOW_ONE);
	len = make_part(ts->buf, ++ts->seq, 1, 0, 0);
	r = send(fd, ts->buf, len, MSG_EOR | MSG_NOSIGNAL | (rn(2) ? MSG_DONTWAIT : 0));
	check_errno(OP_RAWSEND, "send (shared fd)", r);
	if (r >= 0)
		__atomic_fetch_add(&sh->parts_sent, 1, __ATOMIC_RELAXED);
}

/* Sends that must fail whatever the socket's state. */
static void op_badsend(void)
{
	int fd = random_fd();
	struct sockaddr_xs sa;
	struct iovec iov = { ts->buf, 16 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct cmsghdr *c;
	long r;

	if (fd < 0 || ts->snd.fd >= 0)
		return;
	memset(ts->buf, 0, 16);
	switch (rn(3)) {
	case 0:
		r = send(fd, ts->buf, 16, MSG_OOB | MSG_EOR | MSG_DONTWAIT | MSG_NOSIGNAL);
		check_errno(OP_BADSEND, "send MSG_OOB", r);
		must_fail("send with MSG_OOB", r);
		break;
	case 1:
		m.msg_name = &sa;
		m.msg_namelen = name_addr(&sa, rn(NNAME));
		r = sendmsg(fd, &m, MSG_EOR | MSG_DONTWAIT | MSG_NOSIGNAL);
		check_errno(OP_BADSEND, "sendmsg with msg_name", r);
		must_fail("sendmsg with msg_name", r);
		break;
	default:
		memset(cbuf, 0, sizeof(cbuf));
		m.msg_control = cbuf;
		m.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
		r = sendmsg(fd, &m, MSG_EOR | MSG_DONTWAIT | MSG_NOSIGNAL);
		check_errno(OP_BADSEND, "sendmsg with SCM_RIGHTS", r);
		must_fail("sendmsg with a control message", r);
		break;
	}
}

static void op_recv(int mmsg)
{
	/* short buffers truncate, but always hold the header */
	size_t cap = rn(10) ? MAXPART + 64 : sizeof(struct hdr) + rn(64);
	char cbuf[256];
	int flags = rn(3) ? MSG_DONTWAIT : 0, fd;
	ssize_t r;

	if (ts->rcv.fd < 0) {
		fd = random_fd();
		if (fd < 0)
			return;
		ts->rcv.fd = dup(fd);
		if (ts->rcv.fd < 0)
			return;
		ts->rcv.ino = ino_of(ts->rcv.fd);
		if (ts->rcv.ino == ts->snd.ino) {
			rcv_end();
			return;
		}
		ts->rcv.parts = 0;
		ts->rcv.stamped = 0;
	} else {
		flags = MSG_DONTWAIT;	/* the rest of a record follows at once */
	}
	if (mmsg) {
		struct mmsghdr mm[4];
		struct iovec iov[4];
		int i, n = 1 + rn(4);
		struct timespec to = { 0, 1000000 * rn(20) };

		memset(mm, 0, sizeof(mm));
		for (i = 0; i < n; i++) {
			iov[i].iov_base = ts->buf + i * (MAXPART / 4);
			iov[i].iov_len = MAXPART / 4;
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		r = recvmmsg(ts->rcv.fd, mm, n, flags | (rn(2) ? MSG_WAITFORONE : 0),
			     rn(2) ? &to : NULL);
		check_errno(OP_RECVMMSG, "recvmmsg", r);
		if (r > n)
			ERR_FAIL("recvmmsg of %d returned %zd (seed %llu)", n, r, seed);
		for (i = 0; i < r && i < n; i++) {
			size_t got = mm[i].msg_len;

			if (got > iov[i].iov_len)
				ERR_FAIL("recvmmsg: %zu bytes in a %zu byte buffer (seed %llu)",
					 got, iov[i].iov_len, seed);
			/* end of stream (shut down), as in op_recv() */
			if (!got && !(mm[i].msg_hdr.msg_flags & (MSG_EOR | MSG_TRUNC)) &&
			    (ts->rcv.stamped || !ts->rcv.parts))
				continue;
			got_part(ts->rcv.ino, iov[i].iov_base, got,
				 mm[i].msg_hdr.msg_flags & MSG_TRUNC ? 0 : got,
				 mm[i].msg_hdr.msg_flags & MSG_EOR, "recvmmsg");
		}
		if (r > 0 && !ts->rcv.parts)
			rcv_end();
	} else {
		struct iovec iov = { ts->buf, cap };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

		if (rn(2)) {
			m.msg_control = cbuf;
			m.msg_controllen = sizeof(cbuf);
		}
		r = recvmsg(ts->rcv.fd, &m, flags | (rn(2) ? MSG_TRUNC : 0));
		check_errno(OP_RECV, "recvmsg", r);
		if (r >= 0) {
			size_t got = (size_t)r < cap ? (size_t)r : cap;

			if (!(m.msg_flags & MSG_TRUNC) && (size_t)r > cap)
				ERR_FAIL("recvmsg returned %zd for a %zu byte buffer without MSG_TRUNC (seed %llu)",
					 r, cap, seed);
			if (r == 0 && !(m.msg_flags & MSG_EOR) &&
			    (ts->rcv.stamped || !ts->rcv.parts)) {
				/*
				 * An empty part inside a stamped record, or
				 * the end of the stream (shut down): count it
				 * as the latter.
				 */
				if (++ts->rcv.tries > 20)
					goto give_up;
				return;
			}
			got_part(ts->rcv.ino, ts->buf, got,
				 m.msg_flags & MSG_TRUNC ? 0 : got,
				 m.msg_flags & MSG_EOR, "recvmsg");
			if (!ts->rcv.parts)
				rcv_end();
			return;
		}
	}
	if (r <= 0) {
		if (!ts->rcv.parts) {
			rcv_end();
			return;
		}
		if (++ts->rcv.tries > 20)
			goto give_up;
	}
	return;
give_up:
	/* this thread may still be inside a record there: skip to its end */
	if (ts->rcv.parts)
		add_list(ts->resync, ts->rcv.ino);
	rcv_end();
}

static void op_peek(void)
{
	int fd = random_fd();
	ssize_t r;

	if (fd < 0)
		return;
	r = recv(fd, ts->buf, rn(2) ? 4096 : 8, MSG_PEEK | MSG_DONTWAIT | (rn(2) ? MSG_TRUNC : 0));
	check_errno(OP_PEEK, "recv MSG_PEEK", r);
}

/* ---- options, names, descriptors ------------------------------------- */

static int rand_int(void)
{
	static const int v[] = { 0, 1, -1, INT_MAX, INT_MIN, 2, 100, 1000 };

	return rn(4) ? v[rn(8)] : (int)rnd();
}

static void op_setopt(void)
{
	static const int opts[] = {
		XS_IDENTITY, XS_SUBSCRIBE, XS_UNSUBSCRIBE, XS_RCVMORE, XS_TYPE,
		XS_LINGER, XS_MAXMSGSIZE, XS_SNDHWM, XS_RCVHWM,
		XS_SURVEY_TIMEOUT, XS_DROPS, XS_MISSED, 0, 1, 99, 1000,
		XS_LOSSLESS, XS_LOSSLESS, XS_PEERS, XS_STATS, XS_MONITOR,
	};
	int fd = random_fd(), r;
	int opt = opts[rn(sizeof(opts) / sizeof(opts[0]))];
	unsigned char v[300];
	socklen_t len;
	int64_t big;
	int i;

	if (fd < 0)
		return;
	for (i = 0; i < (int)sizeof(v); i++)
		v[i] = rnd();
	switch (rn(5)) {
	case 0:
		len = rn(sizeof(v));
		break;
	case 1:
		big = rn(2) ? (int64_t)rand_int() : (int64_t)rnd();
		memcpy(v, &big, sizeof(big));
		len = sizeof(big);
		break;
	default:
		i = rand_int();
		if (opt == XS_SNDHWM || opt == XS_RCVHWM)
			i = rn(3) ? i : 1 + rn(3);
		memcpy(v, &i, sizeof(i));
		len = rn(8) ? (socklen_t)sizeof(int) : (socklen_t)rn(9);
		break;
	}
	if (opt == XS_SUBSCRIBE && rn(2))
		len = 0;
	r = setsockopt(fd, SOL_XS, opt, v, len);
	check_errno(OP_SETOPT, "setsockopt SOL_XS", r);
	if (opt == XS_RCVMORE || opt == XS_TYPE || opt == XS_DROPS ||
	    opt == XS_MISSED || opt == XS_PEERS || opt == XS_STATS)
		must_fail("setsockopt of a read-only SOL_XS option", r);
}

static void op_getopt(void)
{
	static const int opts[] = {
		XS_IDENTITY, XS_RCVMORE, XS_TYPE, XS_LINGER, XS_MAXMSGSIZE,
		XS_SNDHWM, XS_RCVHWM, XS_SURVEY_TIMEOUT, XS_DROPS, XS_MISSED,
		XS_UNBIND, XS_DISCONNECT, XS_SUBSCRIBE, 3, 77, 1000,
		XS_PEERS, XS_SUBSCRIBERS, XS_PREFIXES, XS_STATS, XS_STATS,
		XS_LOSSLESS, XS_EVENTS_LOST, XS_MONITOR,
	};
	int fd = random_fd(), r;
	int opt = opts[rn(sizeof(opts) / sizeof(opts[0]))];
	unsigned char v[300];
	socklen_t len = rn(3) ? sizeof(v) : (socklen_t)rn(10), inlen = len;

	if (fd < 0)
		return;
	r = getsockopt(fd, SOL_XS, opt, v, &len);
	check_errno(OP_GETOPT, "getsockopt SOL_XS", r);
	if (r == 0 && len > inlen)
		ERR_FAIL("getsockopt %d: optlen grew from %u to %u (seed %llu)",
			 opt, inlen, len, seed);
	if (opt == XS_UNBIND || opt == XS_DISCONNECT || opt == XS_MONITOR)
		must_fail("getsockopt of a write-only SOL_XS option", r);
	if (r == 0 && opt == XS_PEERS && *(int *)v < 0)
		ERR_FAIL("XS_PEERS %d (seed %llu)", *(int *)v, seed);
}

/*
 * Monitors, in a table of their own (their records are events, not the
 * stamped records the slots carry): watch a slot's socket, read what
 * came, check its shape, close.
 */
#define NMON 4
static int mons[NMON] = { -1, -1, -1, -1 };

static void op_monitor(void)
{
	struct xs_monitor_req req = { .fd = random_fd() };
	int i = rn(NMON), fd, old, r, n;
	struct xs_event ev;

	switch (rn(4)) {
	case 0:
		fd = socket(xs_family(), SOCK_SEQPACKET, XSPROTO_MONITOR);
		check_errno(OP_MONITOR, "monitor socket", fd);
		if (fd < 0)
			return;
		req.events = rn(4) ? XS_EVENT_ALL : (unsigned int)rnd();
		if (!rn(4))
			xs_setint(fd, XS_RCVHWM, rn(3));
		if (req.fd < 0)
			req.fd = fd;
		r = setsockopt(fd, SOL_XS, XS_MONITOR, &req,
			       rn(20) ? sizeof(req) : (socklen_t)rn(12));
		check_errno(OP_MONITOR, "XS_MONITOR", r);
		old = __atomic_exchange_n(&mons[i], fd, __ATOMIC_SEQ_CST);
		if (old >= 0)
			close(old);
		return;
	case 1:
		old = __atomic_exchange_n(&mons[i], -1, __ATOMIC_SEQ_CST);
		if (old >= 0)
			check_errno(OP_MONITOR, "close monitor", close(old));
		return;
	default:
		fd = __atomic_load_n(&mons[i], __ATOMIC_RELAXED);
		if (fd < 0)
			return;
		for (n = 0; n < 8; n++) {
			ssize_t got = recv(fd, ts->buf, MAXPART, MSG_DONTWAIT);

			check_errno(OP_MONITOR, "recv monitor", got);
			if (got <= 0)
				return;
			memcpy(&ev, ts->buf, sizeof(ev));
			if ((size_t)got < sizeof(ev) ||
			    ev.len != (size_t)got - sizeof(ev) ||
			    !ev.type || (ev.type & (ev.type - 1)) ||
			    (ev.type & ~XS_EVENT_ALL) ||
			    ev.reason >= XS_REASON_MAX)
				ERR_FAIL("malformed event: %zd bytes, type %#x len %u (seed %llu)",
					 got, ev.type, ev.len, seed);
		}
	}
}

static void op_sockopt(void)
{
	int fd = random_fd(), v, r;
	struct timeval tv = { 0, 1000 * rn(200) };
	socklen_t len = sizeof(v);

	if (fd < 0)
		return;
	switch (rn(6)) {
	case 0:
		v = rn(2) ? rand_int() : 256 + rn(65536);
		r = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
		break;
	case 1:
		v = rn(2) ? rand_int() : 256 + rn(65536);
		r = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
		break;
	case 2:
		v = rn(2);
		r = setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &v, sizeof(v));
		break;
	case 3:
		r = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		break;
	case 4:
		r = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		break;
	default:
		r = getsockopt(fd, SOL_SOCKET, rn(2) ? SO_SNDBUF : SO_RCVBUF, &v, &len);
		break;
	}
	check_errno(OP_SOCKOPT, "SOL_SOCKET option", r);
}

static void op_socket(void)
{
	int slot = rn(NSLOT), proto = 1 + rn(XSPROTO_MAX), fd, old, h = rn(NNAME);

	if (rn(10) < 7)
		proto = name_protos[h][rn(4)];
	else if (!rn(30))
		proto = rn(2) ? 0 : XSPROTO_MAX + 1 + rn(100);
	fd = socket(xs_family(), rn(20) ? SOCK_SEQPACKET : SOCK_STREAM, proto);
	check_errno(OP_SOCKET, "socket", fd);
	if (fd < 0)
		return;
	if ((proto == XSPROTO_SUB || proto == XSPROTO_XSUB) && rn(4))
		setsockopt(fd, SOL_XS, XS_SUBSCRIBE, "", 0);
	if (rn(2))
		xs_setint(fd, XS_LINGER, rn(3) ? 0 : rn(500));
	home[slot] = h;
	old = __atomic_exchange_n(&fds[slot], fd, __ATOMIC_SEQ_CST);
	if (old >= 0)
		close(old);
}

static void op_close(void)
{
	int old = __atomic_exchange_n(&fds[rn(NSLOT)], -1, __ATOMIC_SEQ_CST);

	if (old >= 0)
		check_errno(OP_CLOSE, "close", close(old));
}

static void op_dup(void)
{
	int fd = random_fd(), nfd, old;

	if (fd < 0)
		return;
	nfd = dup(fd);
	if (nfd < 0)
		return;
	old = __atomic_exchange_n(&fds[rn(NSLOT)], nfd, __ATOMIC_SEQ_CST);
	if (old >= 0)
		close(old);
}

static void op_bind_connect(int op)
{
	int slot = rn(NSLOT), fd = __atomic_load_n(&fds[slot], __ATOMIC_RELAXED), r;
	struct sockaddr_xs sa;
	socklen_t len = name_addr(&sa, rn(5) ? home[slot] : rn(NNAME));

	if (fd < 0)
		return;
	if (!rn(20))
		len = rn(sizeof(sa) + 4);
	if (op == OP_BIND)
		r = bind(fd, (struct sockaddr *)&sa, len);
	else
		r = connect(fd, (struct sockaddr *)&sa, len);
	check_errno(op, op == OP_BIND ? "bind" : "connect", r);
	if (len < offsetof(struct sockaddr_xs, sxs_name))
		must_fail(op == OP_BIND ? "bind without a family" :
			  "connect without a family", r);
}

static void op_unbind(int op)
{
	int fd = random_fd(), r;
	const char *n = names[rn(NNAME)];

	if (fd < 0)
		return;
	r = setsockopt(fd, SOL_XS, op == OP_UNBIND ? XS_UNBIND : XS_DISCONNECT,
		       n, rn(10) ? strlen(n) : (size_t)rn(4));
	check_errno(op, op == OP_UNBIND ? "XS_UNBIND" : "XS_DISCONNECT", r);
}

static void op_shutdown(void)
{
	int fd = random_fd();

	if (fd < 0)
		return;
	check_errno(OP_SHUTDOWN, "shutdown", shutdown(fd, rn(3)));
}

static void op_poll(void)
{
	struct pollfd p[4];
	int i, n = 1 + rn(4), r;

	for (i = 0; i < n; i++) {
		p[i].fd = random_fd();
		p[i].events = POLLIN | POLLOUT | (rn(2) ? POLLPRI | POLLRDHUP : 0);
	}
	r = poll(p, n, rn(20));
	check_errno(OP_POLL, "poll", r);
}

static void op_epoll(void)
{
	struct epoll_event ev[4];
	int ep = epoll_create1(EPOLL_CLOEXEC), i, r;

	if (ep < 0)
		return;
	for (i = 0; i < 4; i++) {
		int fd = random_fd();
		struct epoll_event e = { .events = EPOLLIN | EPOLLOUT |
					 (rn(2) ? EPOLLET : 0) |
					 (rn(4) ? 0 : EPOLLONESHOT) };

		if (fd >= 0)
			epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
	}
	r = epoll_wait(ep, ev, 4, rn(20));
	check_errno(OP_EPOLL, "epoll_wait", r);
	close(ep);
}

static void op_ioctl(void)
{
	static const unsigned long cmds[] = { FIONREAD, SIOCINQ, SIOCOUTQ, FIONBIO };
	int fd = random_fd(), v = rn(2), r;
	unsigned long cmd = cmds[rn(4)];

	if (fd < 0)
		return;
	if (cmd == FIONBIO && rn(4))
		v = 0;
	r = ioctl(fd, cmd, &v);
	check_errno(OP_IOCTL, "ioctl", r);
	if (r == 0 && cmd != FIONBIO && v < 0)
		ERR_FAIL("ioctl %#lx: negative count %d (seed %llu)", cmd, v, seed);
}

/*
 * The reply-ownership race: a REP holds a request, unbinds its name,
 * another REP binds it, the first replies, and the requester may close
 * meanwhile. The sockets also go in the shared table now and then, so
 * other threads and processes meddle.
 */
/*
 * Read one record of @fd (a REQ or REP that may be shared, through the
 * table, with other threads) whole, so that this thread is inside no
 * record there afterwards; one left unfinished is skipped on a later read.
 * Returns the first part's size or -1.
 */
static ssize_t race_recv(int fd)
{
	struct iovec iov = { ts->buf, MAXPART };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t r, first = -1;
	int i;

	for (i = 0; i < 64; i++) {
		r = recvmsg(fd, &m, MSG_DONTWAIT);
		if (r < 0 || (!r && !(m.msg_flags & MSG_EOR)))
			break;
		if (!i)
			first = r;
		if (m.msg_flags & MSG_EOR)
			return first;
	}
	if (i)
		add_list(ts->resync, ino_of(fd));
	return first;
}

static void op_race(void)
{
	int ni = rn(NNAME), rep, rep2 = -1, req, r, i;
	const char *n = names[ni];
	char own[64];
	size_t len;

	/* half the time a name of this thread's own, so the request arrives */
	if (rn(2)) {
		snprintf(own, sizeof(own), "fzr.%x.%u", ts->sender, (unsigned int)rn(2));
		n = own;
	}

	rep = xs_socket(rn(4) ? XSPROTO_REP : XSPROTO_XREP);
	req = xs_socket(rn(4) ? XSPROTO_REQ : XSPROTO_XREQ);
	if (rep < 0 || req < 0)
		goto out;
	xs_setint(rep, XS_LINGER, 0);
	xs_setint(req, XS_LINGER, 0);
	if (xs_bind(rep, n) && rn(2)) {
		/* someone else has it: take it over */
		for (i = 0; i < NSLOT; i++)
			setsockopt(random_fd(), SOL_XS, XS_UNBIND, n, strlen(n));
		xs_bind(rep, n);
	}
	check_errno(OP_RACE, "connect", xs_connect(req, n));
	set_how(req, HOW_ONE);
	len = make_part(ts->buf, ++ts->seq, 1, 0, 0);
	send(req, ts->buf, len, MSG_EOR | MSG_DONTWAIT | MSG_NOSIGNAL);
	for (i = 0; i < 20; i++) {
		r = race_recv(rep);
		if (r >= 0 || errno != EAGAIN)
			break;
		sched_yield();
	}
	if (r >= 0)
		__atomic_fetch_add(&sh->race_held, 1, __ATOMIC_RELAXED);
	r = setsockopt(rep, SOL_XS, XS_UNBIND, n, strlen(n));
	check_errno(OP_RACE, "XS_UNBIND", r);
	rep2 = xs_socket(XSPROTO_REP);
	if (rep2 >= 0) {
		xs_setint(rep2, XS_LINGER, 0);
		xs_bind(rep2, n);
	}
	if (rn(2)) {
		close(req);
		req = -1;
	}
	if (!rn(4)) {
		int old = __atomic_exchange_n(&fds[rn(NSLOT)], dup(rep), __ATOMIC_SEQ_CST);

		if (old >= 0)
			close(old);
	}
	set_how(rep, HOW_ONE);
	len = make_part(ts->buf, ++ts->seq, 1, 0, 0);
	r = send(rep, ts->buf, len, MSG_EOR | MSG_DONTWAIT | MSG_NOSIGNAL);
	check_errno(OP_RACE, "reply after XS_UNBIND", r);
	if (r >= 0)
		__atomic_fetch_add(&sh->race_replied, 1, __ATOMIC_RELAXED);
	if (rep2 >= 0 && rn(2)) {
		if (race_recv(rep2) >= 0) {
			set_how(rep2, HOW_ONE);
			len = make_part(ts->buf, ++ts->seq, 1, 0, 0);
			send(rep2, ts->buf, len, MSG_EOR | MSG_DONTWAIT | MSG_NOSIGNAL);
		}
	}
	if (req >= 0 && rn(2))
		race_recv(req);
	if (!rn(3) && rep2 >= 0) {
		int old = __atomic_exchange_n(&fds[rn(NSLOT)], rep2, __ATOMIC_SEQ_CST);

		if (old >= 0)
			close(old);
		rep2 = -1;
	}
out:
	/* in random order */
	if (rn(2)) {
		if (rep >= 0)
			close(rep);
		if (req >= 0)
			close(req);
	} else {
		if (req >= 0)
			close(req);
		if (rep >= 0)
			close(rep);
	}
	if (rep2 >= 0)
		close(rep2);
}

static void run_ops(int nops, long long until);

static void drop_privileges(void)
{
	if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
		_exit(0);
}

static void alarm_every(int us)
{
	struct itimerval it = { { 0, us }, { 0, us } };

	setitimer(ITIMER_REAL, &it, NULL);
}

/* A child that shares every socket, maybe in its own netns or as nobody. */
static void op_fork(void)
{
	long long t0 = xs_now_ms();
	int st;
	pid_t pid = fork();

	check_errno(OP_FORK, "fork", pid);
	if (pid < 0)
		return;
	if (pid == 0) {
		/* the kernel's per-thread record state is this task's own */
		ts->snd.fd = ts->rcv.fd = -1;
		ts->snd.ino = ts->rcv.ino = 0;
		ts->rcv.stamped = ts->rcv.parts = 0;
		memset(ts->resync, 0, sizeof(ts->resync));
		ts->rng ^= 0x9e3779b97f4a7c15ULL * (getpid() & 0xffff);
		ts->sender = (uint32_t)getpid() << 4;
		ts->beat = NPROC * NTHR + proc_idx;
		sh->beat[ts->beat].pid = getpid();
		sh->beat[ts->beat].tid = getpid();
		if (!rn(3))
			unshare(CLONE_NEWNET);
		if (!rn(3))
			drop_privileges();
		alarm_every(1000 * (5 + rn(50)));
		run_ops(20 + rn(200), xs_now_ms() + 2000);
		_exit(0);
	}
	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (xs_now_ms() - t0 > hang_ms) {
			char path[64], stack[512] = "";
			FILE *f;

			snprintf(path, sizeof(path), "/proc/%d/stack", pid);
			f = fopen(path, "r");
			if (f) {
				size_t k = fread(stack, 1, sizeof(stack) - 1, f);

				stack[k] = 0;
				fclose(f);
			}
			fail_msg(&sh->fail_hang, sh->first_hang, sizeof(sh->first_hang),
				 "forked child %d still running after %lld ms (seed %llu): %s",
				 pid, hang_ms, seed, stack);
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return;
		}
		xs_sleep_ms(5);
	}
}

static void run_ops(int nops, long long until)
{
	int i;

	for (i = 0; (nops <= 0 || i < nops) &&
		    !__atomic_load_n(&sh->stop, __ATOMIC_RELAXED) &&
		    xs_now_ms() < until; i++) {
		int op = pick_op();

		/* a record in progress is finished first, mostly */
		if (ts->snd.fd >= 0 && rn(2))
			op = OP_SEND;
		else if (ts->rcv.fd >= 0 && rn(2))
			op = OP_RECV;
		if (op == OP_FORK && ts->beat >= NPROC * NTHR)
			op = OP_POLL;	/* no grandchildren */
		beat(op);
		__atomic_fetch_add(&sh->calls[op], 1, __ATOMIC_RELAXED);
		switch (op) {
		case OP_SOCKET: op_socket(); break;
		case OP_CLOSE: op_close(); break;
		case OP_DUP: op_dup(); break;
		case OP_BIND: case OP_CONNECT: op_bind_connect(op); break;
		case OP_UNBIND: case OP_DISCONNECT: op_unbind(op); break;
		case OP_SEND: op_send(); break;
		case OP_SENDMMSG: op_sendmmsg(); break;
		case OP_RAWSEND: op_rawsend(); break;
		case OP_BADSEND: op_badsend(); break;
		case OP_RECV: op_recv(0); break;
		case OP_RECVMMSG: op_recv(1); break;
		case OP_PEEK: op_peek(); break;
		case OP_SETOPT: op_setopt(); break;
		case OP_GETOPT: op_getopt(); break;
		case OP_SOCKOPT: op_sockopt(); break;
		case OP_POLL: op_poll(); break;
		case OP_EPOLL: op_epoll(); break;
		case OP_IOCTL: op_ioctl(); break;
		case OP_SHUTDOWN: op_shutdown(); break;
		case OP_FORK: op_fork(); break;
		case OP_RACE: op_race(); break;
		case OP_MONITOR: op_monitor(); break;
		}
		beat(-1);
	}
}

static void *worker(void *arg)
{
	int t = (int)(long)arg;

	ts = calloc(1, sizeof(*ts));
	if (!ts)
		return NULL;
	ts->rng = (seed ^ (0x9e3779b97f4a7c15ULL * (proc_idx * NTHR + t + 1))) | 1;
	ts->sender = ((uint32_t)getpid() << 4) | t;
	ts->beat = proc_idx * NTHR + t;
	ts->snd.fd = ts->rcv.fd = -1;
	sh->beat[ts->beat].pid = getpid();
	sh->beat[ts->beat].tid = syscall(SYS_gettid);
	run_ops(0, LLONG_MAX);
	snd_end();
	rcv_end();
	free(ts);
	return NULL;
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* One worker process: NTHR threads and a ticker that interrupts them. */
static void worker_process(int idx)
{
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	int i, k = 0, joined[NTHR] = { 0 };

	proc_idx = idx;
	sigaction(SIGALRM, &sa, NULL);
	for (i = 0; i < NTHR; i++)
		if (pthread_create(&thr[i], NULL, worker, (void *)(long)i))
			_exit(1);
	while (!__atomic_load_n(&sh->stop, __ATOMIC_RELAXED)) {
		xs_sleep_ms(5 + (int)((seed + k++) % 40));
		for (i = 0; i < NTHR; i++)
			pthread_kill(thr[i], SIGALRM);
	}
	/* keep interrupting until every thread has left its call */
	for (;;) {
		int alive = 0;

		for (i = 0; i < NTHR; i++) {
			if (joined[i])
				continue;
			pthread_kill(thr[i], SIGALRM);
			if (pthread_tryjoin_np(thr[i], NULL) == EBUSY)
				alive++;
			else
				joined[i] = 1;
		}
		if (!alive)
			break;
		xs_sleep_ms(10);
	}
	for (i = 0; i < NSLOT; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	_exit(0);
}

static void hang_report(int b)
{
	struct slot_beat *s = &sh->beat[b];
	char path[64], stack[384] = "";
	FILE *f;
	int op = __atomic_load_n(&s->op, __ATOMIC_RELAXED);

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stack", s->pid, s->tid);
	f = fopen(path, "r");
	if (f) {
		size_t k = fread(stack, 1, sizeof(stack) - 1, f);

		stack[k] = 0;
		fclose(f);
	}
	fail_msg(&sh->fail_hang, sh->first_hang, sizeof(sh->first_hang),
		 "process %d thread %d stuck in %s for %lld ms though SIGALRM keeps coming (seed %llu): %s",
		 s->pid, s->tid, op >= 0 && op < OP_NR ? op_names[op] : "?",
		 xs_now_ms() - s->since, seed, stack);
}

int main(void)
{
	const char *e;
	struct xs_kwatch kw;
	pid_t pids[NPROC];
	long long end, t0, socks, recs, bytes;
	char first[512];
	int i, st, nrep, old_linger, gone, alive;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	e = getenv("XS_FUZZ_SEED");
	seed = e && *e ? strtoull(e, NULL, 0) : (unsigned long long)time(NULL) ^ ((unsigned long long)getpid() << 20);
	if (!seed)
		seed = 1;
	e = getenv("XS_FUZZ_SECS");
	fuzz_secs = e && *e ? atoi(e) : 20;
	if (fuzz_secs < 1) {
		printf("TAP version 13\n1..1\nok 1 # SKIP XS_FUZZ_SECS=0\n");
		return 4;
	}
	hang_ms = 20000 + 2000LL * xs_scale();

	printf("TAP version 13\n1..5\n");
	printf("# fuzz: seed %llu (replay: XS_FUZZ_SEED=%llu), %d s, %d processes x %d threads\n",
	       seed, seed, fuzz_secs, NPROC, NTHR);
	i = socket(xs_family(), SOCK_SEQPACKET, XSPROTO_PAIR);
	if (i < 0) {
		printf("ok 1 # SKIP no AF_XS: %s\n", strerror(errno));
		return 4;
	}
	close(i);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 1;
	memset(sh, 0, sizeof(*sh));
	for (i = 0; i < (int)(sizeof(sh->beat) / sizeof(sh->beat[0])); i++)
		sh->beat[i].op = -1;
	/* lingering records of closed sockets: at most 2 s, so the end is quick */
	old_linger = xs_max_linger_ms(2000);
	xs_kwatch_start(&kw);

	/* the shared sockets every process starts with */
	for (i = 0; i < NSLOT; i++)
		fds[i] = -1;
	for (i = 0; i < 8; i++) {
		home[i] = i % NNAME;
		fds[i] = xs_socket(name_protos[i % NNAME][(seed >> (2 * i)) % 4]);
		if (fds[i] >= 0)
			setsockopt(fds[i], SOL_XS, XS_SUBSCRIBE, "", 0);
	}
	t0 = xs_now_ms();
	end = t0 + fuzz_secs * 1000LL;
	for (i = 0; i < NPROC; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			worker_process(i);
	}
	for (i = 0; i < NSLOT; i++)
		xs_close(&fds[i]);

	/* watchdog */
	while (xs_now_ms() < end && !sh->fail_hang) {
		xs_sleep_ms(200);
		for (i = 0; i < NPROC * NTHR + NPROC; i++) {
			struct slot_beat *b = &sh->beat[i];

			if (__atomic_load_n(&b->op, __ATOMIC_RELAXED) >= 0 &&
			    b->op != OP_FORK &&
			    xs_now_ms() - __atomic_load_n(&b->since, __ATOMIC_RELAXED) > hang_ms)
				hang_report(i);
		}
	}
	__atomic_store_n(&sh->stop, 1, __ATOMIC_SEQ_CST);
	t0 = xs_now_ms();
	alive = NPROC;
	while (alive) {
		alive = 0;
		for (i = 0; i < NPROC; i++) {
			if (pids[i] <= 0)
				continue;
			if (waitpid(pids[i], &st, WNOHANG) == pids[i])
				pids[i] = 0;
			else
				alive++;
		}
		if (alive && xs_now_ms() - t0 > hang_ms) {
			for (i = 0; i < NPROC * NTHR + NPROC; i++)
				if (sh->beat[i].op >= 0)
					hang_report(i);
			if (!sh->fail_hang)
				fail_msg(&sh->fail_hang, sh->first_hang, sizeof(sh->first_hang),
					 "workers did not stop within %lld ms (seed %llu)", hang_ms, seed);
			for (i = 0; i < NPROC; i++)
				if (pids[i] > 0)
					kill(pids[i], SIGKILL);
			for (i = 0; i < NPROC; i++)
				if (pids[i] > 0)
					waitpid(pids[i], &st, 0);
			break;
		}
		xs_sleep_ms(20);
	}

	printf("# calls (errors) per type:\n");
	for (i = 0; i < OP_NR; i++)
		printf("#   %-12s %9lld (%lld)\n", op_names[i], sh->calls[i], sh->errs[i]);
	printf("# parts sent %lld; received: %lld parts (%lld stamped, %lld empty), %lld records\n",
	       sh->parts_sent, sh->parts_recv, sh->stamped_recv, sh->empty_recv,
	       sh->records_recv);
	printf("# reqrep_race: %lld requests held while unbinding, %lld replies sent after\n",
	       sh->race_held, sh->race_replied);
	printf("# threads that lost track of half-done records (unchecked after): %d\n",
	       sh->lost_track);

	t0 = xs_now_ms();
	gone = xs_all_gone(2000 + xs_wait_ms(), &socks, &recs, &bytes);
	if (!gone && !socks && recs == -1) {
		/* a module without the "live" parameter: sockets only */
		printf("# no %s: checking sockets only\n", XS_LIVE_PATH);
		gone = 1;
	}
	if (!gone) {
		/* how long until it is gone, if ever: tells a leak from a delay */
		long long s2, r2, b2;
		int later = xs_all_gone(60000, &s2, &r2, &b2);

		printf("# left behind after %lld ms: %lld sockets, %lld records, %lld bytes; %s after %lld ms\n",
		       2000 + (long long)xs_wait_ms(), socks, recs, bytes,
		       later ? "all gone" : "still there", xs_now_ms() - t0);
	}
	if (old_linger >= 0)
		xs_max_linger_ms(old_linger);
	nrep = xs_kwatch_end(&kw, first, sizeof(first));

	if (nrep)
		printf("not ok 1 no kernel report # %d reports, the first: %s (seed %llu)\n",
		       nrep, first, seed);
	else
		printf("ok 1 no kernel report\n");
	if (sh->fail_rec)
		printf("not ok 2 records arrive whole # %d broken, the first: %s\n",
		       sh->fail_rec, sh->first_rec);
	else
		printf("ok 2 records arrive whole (%lld records)\n", sh->records_recv);
	if (sh->fail_errno)
		printf("not ok 3 documented results only # %d wrong, the first: %s\n",
		       sh->fail_errno, sh->first_errno);
	else
		printf("ok 3 documented results only\n");
	if (sh->fail_hang)
		printf("not ok 4 no call hangs # %s\n", sh->first_hang);
	else
		printf("ok 4 no call hangs\n");
	if (!gone)
		printf("not ok 5 nothing left behind # %lld sockets in this netns, %lld records, %lld bytes in the module (seed %llu)\n",
		       socks, recs, bytes, seed);
	else
		printf("ok 5 nothing left behind\n");
	return nrep || sh->fail_rec || sh->fail_errno || sh->fail_hang || !gone;
}
