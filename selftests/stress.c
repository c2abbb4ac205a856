// SPDX-License-Identifier: GPL-2.0
/*
 * Chaos: worker processes, each with several threads, make random calls
 * (socket, bind, connect, XS_UNBIND/XS_DISCONNECT, options, multipart
 * sendmsg, sendmmsg with per-entry MSG_EOR, recvmsg, recvmmsg, MSG_PEEK,
 * poll, shutdown, close, fork, receive rings: set up, mapped, read,
 * given a tail that makes them look full, unmapped) on a few shared names, while the director
 * kills workers with SIGKILL and starts new ones.  Every call is
 * non-blocking or bounded by a short SO_RCVTIMEO/SO_SNDTIMEO.
 *
 * Afterwards it asserts: no call failed with an errno outside the set
 * allowed for that call, no receiver read a record that was partial,
 * mixed or corrupt (every part is stamped, see xs_check_part()), no worker
 * hung or crashed, every socket is gone from /proc/net/protocols (the test
 * runs in its own network namespace), no record is alive in the module
 * (/proc/net/xs header) and the kernel logged no report.
 *
 * Replay: the seed is printed at the start; XS_SEED=<seed> runs the same
 * choices again (thread timing aside).  XS_CHAOS_MS=<ms> sets the length
 * of each variant, XS_CHAOS_ONLY=<variant> runs one.
 *
 * A second test races subscriptions against publishers that come and go.
 *
 * (Over 1,500 lines on purpose: every operation of the chaos engine
 * follows the same slot and record-state rules, kept in one place.)
 */
#include "xs_test.h"

#include <dirent.h>
#include <sys/prctl.h>

#define CHAOS_SLOTS	6		/* sockets per worker process */
#define CHAOS_WORKERS	6
#define CHAOS_THREADS	3
#define CHAOS_NAMES	4		/* abstract names, plus one path */
#define CHAOS_RBUF	(72 * 1024)	/* receive buffer */
#define CHAOS_BIG	(100 * 1024)	/* a rare part larger than that */
#define CHAOS_MMSG	4
#define CHAOS_NOTES	4
#define CHAOS_MAX_LINGER 300		/* ms, module parameter */

enum {
	OP_SOCKET, OP_CLOSE, OP_BIND, OP_CONNECT, OP_UNBIND, OP_DISCONNECT,
	OP_SETOPT, OP_GETOPT, OP_SEND, OP_SENDMMSG, OP_RECV, OP_RECVMMSG,
	OP_PEEK, OP_POLL, OP_SHUTDOWN, OP_ABORT, OP_FORK, OP_UNLINK, OP_PROC,
	OP_RING, OP_MAX
};

static const char *const op_names[OP_MAX] = {
	"socket", "close", "bind", "connect", "unbind", "disconnect",
	"setsockopt", "getsockopt", "sendmsg", "sendmmsg", "recvmsg",
	"recvmmsg", "peek", "poll", "shutdown", "abort", "fork", "unlink",
	"proc", "ring",
};

/* Relative frequency of each operation. */
static const int op_weight[OP_MAX] = {
	[OP_SOCKET] = 6, [OP_CLOSE] = 3, [OP_BIND] = 6, [OP_CONNECT] = 8,
	[OP_UNBIND] = 2, [OP_DISCONNECT] = 2, [OP_SETOPT] = 6,
	[OP_GETOPT] = 3, [OP_SEND] = 22, [OP_SENDMMSG] = 8, [OP_RECV] = 22,
	[OP_RECVMMSG] = 7, [OP_PEEK] = 2, [OP_POLL] = 4, [OP_SHUTDOWN] = 1,
	[OP_ABORT] = 1, [OP_FORK] = 1, [OP_UNLINK] = 1, [OP_PROC] = 1,
	[OP_RING] = 5,
};

/* A call that failed with an errno it is not allowed to. */
struct chaos_errnote {
	int op, proto, err, midway;
};

/* A record a receiver should never have read. */
struct chaos_recnote {
	int what, proto;
	struct xs_stamp part;
};

/* Shared by the director and every worker (MAP_SHARED). */
struct chaos_shared {
	int stop;
	uint32_t next_token;
	uint64_t ops[OP_MAX], errs[OP_MAX];
	uint64_t parts_sent, records_sent, parts_read, records_read;
	uint64_t ring_records;		/* of records_read, from a ring */
	uint64_t aborted, abandoned, forks;
	uint64_t unexpected, violations;
	struct chaos_errnote errnote[CHAOS_NOTES];
	struct chaos_recnote recnote[CHAOS_NOTES];
};

#define SH_ADD(field, n) __atomic_fetch_add(&sh->field, (n), __ATOMIC_RELAXED)

/*
 * A slot: (generation << 32) | (proto << 24) | fd, or an empty slot with fd
 * bits all ones.  The generation changes whenever a slot is filled or
 * emptied, so a thread can tell that the socket it works on is the one
 * the slot held when it started.
 */
#define SLOT_FD_MASK	0xffffffULL
#define SLOT_EMPTY	SLOT_FD_MASK

static int slot_fd(uint64_t v)
{
	return (int)(v & SLOT_FD_MASK);
}

static int slot_proto(uint64_t v)
{
	return (int)((v >> 24) & 0xff);
}

static int slot_empty(uint64_t v)
{
	return (v & SLOT_FD_MASK) == SLOT_EMPTY;
}

/* ---- per-process state (each worker has its own copy) ---------------- */

struct chaos_cfg {
	const int *protos;
	int nprotos;
	int fs_name;
};

static struct chaos_shared *sh;
static struct chaos_cfg cfg;
static uint64_t slots[CHAOS_SLOTS];
static char names[CHAOS_NAMES + 1][XS_NAME_MAX + 1];
static int nnames;
static uint64_t chaos_seed;

/* A record this thread started on a socket and has not ended yet. */
struct open_rec {
	uint64_t slot;		/* slot value when it started; 0: none */
	uint32_t seq;
	int front;		/* unstamped parts first */
	int n;			/* stamped parts */
	int next;		/* next part to send, counting front ones */
};

struct chaos_thread {
	pthread_t thread;
	uint64_t rng;
	uint32_t token, seq;
	struct open_rec open[CHAOS_SLOTS];
	uint64_t abandoned[CHAOS_SLOTS];	/* left inside a record */
	struct xs_checker chk;
	unsigned char *sbuf;			/* CHAOS_BIG */
	unsigned char *rbuf[CHAOS_MMSG];	/* CHAOS_RBUF each */
	int in_child;
};

static uint64_t rnd(struct chaos_thread *t)
{
	uint64_t x = t->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	t->rng = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static int rn(struct chaos_thread *t, int n)
{
	return (int)(rnd(t) % (uint64_t)n);
}

static uint64_t mix_seed(uint64_t a, uint64_t b)
{
	uint64_t x = a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x ? x : 1;
}

/* ---- what each call may fail with -------------------------------------- */

static int proto_sends(int proto)
{
	return proto != XSPROTO_PULL && proto != XSPROTO_SUB;
}

static int proto_receives(int proto)
{
	return proto != XSPROTO_PUSH && proto != XSPROTO_PUB;
}

/* Patterns that may refuse a first part for lack of room. */
static int proto_blocks(int proto)
{
	return proto == XSPROTO_PAIR || proto == XSPROTO_PUSH ||
	       proto == XSPROTO_REQ || proto == XSPROTO_XREQ;
}

/* Patterns with a send/receive state machine (EBADFD = EFSM). */
static int proto_fsm_send(int proto)
{
	return proto == XSPROTO_REQ || proto == XSPROTO_REP ||
	       proto == XSPROTO_RESPONDENT;
}

static int proto_fsm_recv(int proto)
{
	return proto_fsm_send(proto) || proto == XSPROTO_SURVEYOR;
}

static int send_errno_ok(int proto, int err, int midway)
{
	switch (err) {
	case EPIPE:
	case EMSGSIZE:
		return 1;
	case EOPNOTSUPP:
		return !proto_sends(proto);
	case EAGAIN:
		return !midway && proto_blocks(proto);
	case EBADFD:
		return !midway && proto_fsm_send(proto);
	default:
		return 0;
	}
}

static int recv_errno_ok(int proto, int err, int midway)
{
	switch (err) {
	case EAGAIN:
		return !midway && proto_receives(proto);
	case EOPNOTSUPP:
		return !proto_receives(proto);
	case EBADFD:
		return proto_fsm_recv(proto);
	case ETIMEDOUT:
		return proto == XSPROTO_SURVEYOR;
	default:
		return 0;
	}
}

static void note_errno(int op, int proto, int err, int midway)
{
	uint64_t n = SH_ADD(unexpected, 1);

	if (n < CHAOS_NOTES) {
		sh->errnote[n].op = op;
		sh->errnote[n].proto = proto;
		sh->errnote[n].err = err;
		sh->errnote[n].midway = midway;
	}
}

/* Count a failure of @op; note it if @ok says it should not happen. */
static void failed(int op, int proto, int err, int midway, int ok)
{
	SH_ADD(errs[op], 1);
	if (!ok)
		note_errno(op, proto, err, midway);
}

static void note_violation(struct chaos_thread *t, int what, int proto)
{
	uint64_t n = SH_ADD(violations, 1);

	if (n < CHAOS_NOTES) {
		sh->recnote[n].what = what;
		sh->recnote[n].proto = proto;
		sh->recnote[n].part = t->chk.bad;
	}
}

/* ---- slots --------------------------------------------------------------- */

/*
 * A private descriptor of the socket in a random slot, so that a close by
 * another thread cannot hand us another socket midway.  Returns the
 * descriptor and the slot index in *idx and value in *v, or -1.
 */
static int slot_get(struct chaos_thread *t, int *idx, uint64_t *v)
{
	int i = rn(t, CHAOS_SLOTS), d;
	uint64_t s = __atomic_load_n(&slots[i], __ATOMIC_SEQ_CST);

	if (slot_empty(s))
		return -1;
	d = dup(slot_fd(s));
	if (d < 0)
		return -1;
	if (__atomic_load_n(&slots[i], __ATOMIC_SEQ_CST) != s) {
		close(d);
		return -1;
	}
	*idx = i;
	*v = s;
	return d;
}

/* The socket an operation works on: a private descriptor and its slot. */
struct chaos_op {
	int d, i, proto;
	uint64_t v;
};

/* Take a random slot's socket for @op (counted), or return -1. */
static int op_start(struct chaos_thread *t, int op, struct chaos_op *o)
{
	o->d = slot_get(t, &o->i, &o->v);
	if (o->d < 0)
		return -1;
	o->proto = slot_proto(o->v);
	SH_ADD(ops[op], 1);
	return 0;
}

static void slot_put(int fd, int proto)
{
	int i;

	for (i = 0; i < CHAOS_SLOTS; i++) {
		uint64_t s = __atomic_load_n(&slots[i], __ATOMIC_SEQ_CST);
		uint64_t gen = (s >> 32) + 1;

		if (slot_empty(s) &&
		    __atomic_compare_exchange_n(&slots[i], &s,
						gen << 32 |
						(uint64_t)proto << 24 |
						(uint64_t)fd, 0,
						__ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST))
			return;
	}
	close(fd);
}

static void slot_close(int i)
{
	uint64_t s = __atomic_load_n(&slots[i], __ATOMIC_SEQ_CST);
	uint64_t gen = (s >> 32) + 1;

	if (slot_empty(s))
		return;
	if (__atomic_compare_exchange_n(&slots[i], &s, gen << 32 | SLOT_EMPTY,
					0, __ATOMIC_SEQ_CST,
					__ATOMIC_SEQ_CST)) {
		SH_ADD(ops[OP_CLOSE], 1);
		if (close(slot_fd(s)))
			failed(OP_CLOSE, slot_proto(s), errno, 0, 0);
	}
}

static const char *rand_name(struct chaos_thread *t)
{
	return names[rn(t, nnames)];
}

/* ---- socket, names, options ---------------------------------------------- */

static void op_socket(struct chaos_thread *t)
{
	int proto = cfg.protos[rn(t, cfg.nprotos)];
	int type = SOCK_SEQPACKET | SOCK_CLOEXEC;
	char id[8];
	int fd;

	if (!rn(t, 4))
		type |= SOCK_NONBLOCK;
	fd = socket(xs_family(), type, proto);
	if (fd < 0) {
		failed(OP_SOCKET, proto, errno, 0, 0);
		return;
	}
	/* nothing may block for long, whatever the other threads do */
	if (xs_set_timeo(fd, SO_RCVTIMEO, 1 + rn(t, 20)) ||
	    xs_set_timeo(fd, SO_SNDTIMEO, 1 + rn(t, 20)))
		failed(OP_SOCKET, proto, errno, 0, 0);
	if (!rn(t, 3)) {
		xs_setint(fd, XS_SNDHWM, rn(t, 8));
		xs_setint(fd, XS_RCVHWM, rn(t, 8));
	}
	if (proto == XSPROTO_SURVEYOR)
		xs_setint(fd, XS_SURVEY_TIMEOUT, 5 + rn(t, 50));
	if (rn(t, 2)) {
		id[0] = 'i';
		id[1] = 'd';
		id[2] = '0' + rn(t, 4);
		setsockopt(fd, SOL_XS, XS_IDENTITY, id, 3);
	}
	slot_put(fd, proto);
}

static void op_name(struct chaos_thread *t, int op)
{
	const char *name = rand_name(t);
	int fs = name[0] == '/';
	struct chaos_op o;
	int d, r, err, ok;

	if (op_start(t, op, &o))
		return;
	d = o.d;
	switch (op) {
	case OP_BIND:
		r = xs_bind(d, name);
		break;
	case OP_CONNECT:
		r = xs_connect(d, name);
		break;
	default:
		r = setsockopt(d, SOL_XS, op == OP_UNBIND ? XS_UNBIND :
			       XS_DISCONNECT, name, strlen(name));
		break;
	}
	err = errno;
	close(d);
	if (!r)
		return;
	switch (op) {
	case OP_BIND:
		ok = err == EADDRINUSE;
		break;
	case OP_CONNECT:
		/* a path may be unlinked or replaced under a binder */
		ok = err == EISCONN ||
		     (fs && (err == ENOENT || err == ECONNREFUSED));
		break;
	default:
		ok = err == ENOENT;
		break;
	}
	failed(op, o.proto, err, 0, ok);
}

static void op_setopt(struct chaos_thread *t)
{
	static const char *const prefixes[] = { "", "a", "ab", "b", "aXS" };
	char id[3] = { 'i', 'd', '0' };
	int d, r, err, proto, ok = 0;
	struct chaos_op o;
	int64_t max;

	if (op_start(t, OP_SETOPT, &o))
		return;
	d = o.d;
	proto = o.proto;
	switch (rn(t, 10)) {
	case 0:
	case 1:
	case 2: {
		const char *p = prefixes[rn(t, 5)];

		r = setsockopt(d, SOL_XS, rn(t, 3) ? XS_SUBSCRIBE :
			       XS_UNSUBSCRIBE, p, strlen(p));
		ok = proto != XSPROTO_SUB ? -EINVAL : 0;
		break;
	}
	case 3:
		r = xs_setint(d, rn(t, 2) ? XS_SNDHWM : XS_RCVHWM,
			      rn(t, 4) ? rn(t, 10) : 1000);
		break;
	case 4:
		max = rn(t, 3) ? -1 : 1000 + rn(t, 300000);
		r = setsockopt(d, SOL_XS, XS_MAXMSGSIZE, &max, sizeof(max));
		break;
	case 5:
		r = xs_setint(d, XS_SURVEY_TIMEOUT, rn(t, 3) ? 5 + rn(t, 60) :
			      -1);
		break;
	case 6:
		id[2] = '0' + rn(t, 4);
		r = setsockopt(d, SOL_XS, XS_IDENTITY, id, sizeof(id));
		break;
	case 7:
		/* -1 (forever) is cut to max_linger_ms, lowered in setup */
		r = xs_setint(d, XS_LINGER, rn(t, 4) ? rn(t, 50) : -1);
		break;
	case 8: {
		int val = rn(t, 2) ? 16384 + rn(t, 1 << 20) : 4 << 20;

		r = setsockopt(d, SOL_SOCKET, rn(t, 2) ? SO_SNDBUF : SO_RCVBUF,
			       &val, sizeof(val));
		break;
	}
	default: {
		int on = rn(t, 2);

		r = setsockopt(d, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on));
		break;
	}
	}
	err = errno;
	close(d);
	if (r)
		failed(OP_SETOPT, proto, err, 0, ok == -EINVAL && err == EINVAL);
	else if (ok == -EINVAL)
		failed(OP_SETOPT, proto, 0, 0, 0);	/* should have failed */
}

static void op_getopt(struct chaos_thread *t)
{
	struct chaos_op o;
	socklen_t len;
	int d, val, proto;
	uint64_t u64;

	if (op_start(t, OP_GETOPT, &o))
		return;
	d = o.d;
	proto = o.proto;
	len = sizeof(val);
	if (getsockopt(d, SOL_XS, XS_TYPE, &val, &len))
		failed(OP_GETOPT, proto, errno, 0, 0);
	else if (val != proto - 1)
		failed(OP_GETOPT, proto, 0, 0, 0);	/* wrong type */
	len = sizeof(val);
	if (getsockopt(d, SOL_XS, XS_RCVMORE, &val, &len))
		failed(OP_GETOPT, proto, errno, 0, 0);
	len = sizeof(u64);
	if (getsockopt(d, SOL_XS, rn(t, 2) ? XS_DROPS : XS_MISSED, &u64,
		       &len))
		failed(OP_GETOPT, proto, errno, 0, 0);
	if (ioctl(d, rn(t, 2) ? SIOCINQ : SIOCOUTQ, &val))
		failed(OP_GETOPT, proto, errno, 0, 0);
	close(d);
}

/* ---- sending ---------------------------------------------------------------- */

static size_t part_size(struct chaos_thread *t)
{
	int r = rn(t, 1000);

	if (r < 3)
		return CHAOS_BIG;
	if (r < 25)
		return sizeof(struct xs_stamp) + rn(t, 64 * 1024);
	if (r < 120)
		return sizeof(struct xs_stamp) + rn(t, 8192);
	return sizeof(struct xs_stamp) + rn(t, 200);
}

/* Unstamped leading parts that make the record routable for @proto. */
static int front_parts(struct chaos_thread *t, int proto)
{
	switch (proto) {
	case XSPROTO_XREP:
	case XSPROTO_XRESPONDENT:
		return 1 + rn(t, 2);		/* identity [+ bottom] */
	case XSPROTO_XREQ:
	case XSPROTO_XSURVEYOR:
		return rn(t, 2);		/* [bottom] */
	default:
		return rn(t, 10) ? 0 : 1;
	}
}

/*
 * Front part @k for @proto into @b (at most 8 bytes); returns its size: an
 * identity "idN" first for routing patterns, then an envelope bottom
 * (empty, or a survey id), or something small.
 */
static size_t make_front(struct chaos_thread *t, int proto, int k,
			 unsigned char *b)
{
	size_t len;

	if (k == 0 && (proto == XSPROTO_XREP || proto == XSPROTO_XRESPONDENT)) {
		b[0] = 'i';
		b[1] = 'd';
		b[2] = '0' + rn(t, 4);
		return 3;
	}
	if (proto == XSPROTO_XSURVEYOR || proto == XSPROTO_XRESPONDENT) {
		b[0] = 0x80 | rn(t, 128);
		b[1] = rn(t, 256);
		b[2] = rn(t, 256);
		b[3] = rn(t, 256);
		return 4;
	}
	if (proto == XSPROTO_XREQ || proto == XSPROTO_XREP || !rn(t, 2))
		return 0;
	len = 1 + rn(t, 8);
	b[0] = "ab\001\000"[rn(t, 4)];
	memset(b + 1, 'b', len - 1);
	return len;
}

/* Part @k of record @r into t->sbuf; returns its size. */
static size_t make_part(struct chaos_thread *t, int proto,
			const struct open_rec *r, int k)
{
	size_t len;

	if (k < r->front)
		return make_front(t, proto, k, t->sbuf);
	len = part_size(t);
	xs_stamp_fill(t->sbuf, len, t->token, r->seq, k - r->front, r->n);
	return len;
}

static void new_record(struct chaos_thread *t, struct open_rec *r,
		       uint64_t slot, int proto)
{
	r->slot = slot;
	r->seq = ++t->seq;
	r->front = front_parts(t, proto);
	r->n = 1 + rn(t, rn(t, 4) ? 3 : 6);
	r->next = 0;
}

/*
 * Make sure no record of ours is open on @d: a part larger than any
 * limit fails with EMSGSIZE and discards the record whole (the kernel never
 * reads the buffer).  Any other outcome leaves no record we could finish:
 * EAGAIN/EBADFD (nothing was open), EPIPE (no send will ever succeed).
 */
static void abort_record(struct chaos_thread *t, int d, int proto)
{
	struct iovec iov = { t->sbuf, 1UL << 30 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	SH_ADD(aborted, 1);
	if (sendmsg(d, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
		failed(OP_ABORT, proto, 0, 0, 0);	/* took 1 GiB? */
	else if (errno != EMSGSIZE)
		failed(OP_ABORT, proto, errno, 0,
		       send_errno_ok(proto, errno, 0));
}

static void op_abort(struct chaos_thread *t)
{
	struct chaos_op o;

	if (op_start(t, OP_ABORT, &o))
		return;
	abort_record(t, o.d, o.proto);
	t->open[o.i].slot = 0;
	close(o.d);
}

/* XSUB: a one-part record that is a subscription (1) or cancels one (0). */
static int send_subscription(struct chaos_thread *t, int d)
{
	char b[4] = { (char)rn(t, 2), 'a', 'b', 'X' };

	return xs_send(d, b, 1 + rn(t, 4), MSG_EOR | MSG_DONTWAIT |
		       MSG_NOSIGNAL) < 0 ? -1 : 0;
}

static void op_send(struct chaos_thread *t)
{
	int d, proto, stop_at, flags;
	struct open_rec *r;
	struct chaos_op o;
	uint64_t v;
	size_t len;
	ssize_t n;

	if (op_start(t, OP_SEND, &o))
		return;
	d = o.d;
	v = o.v;
	proto = o.proto;
	r = &t->open[o.i];
	/* (a subscription is a record of its own: none of ours may be open) */
	if (proto == XSPROTO_XSUB && !rn(t, 8) &&
	    (r->slot != v || !r->next)) {
		if (send_subscription(t, d))
			failed(OP_SEND, proto, errno, 0,
			       send_errno_ok(proto, errno, 0));
		goto out;
	}
	if (r->slot != v)
		new_record(t, r, v, proto);
	/* now and then leave the record open, to finish later or never */
	stop_at = r->front + r->n;
	if (!rn(t, 10))
		stop_at = r->next + rn(t, stop_at - r->next + 1);
	while (r->next < stop_at) {
		int last = r->next == r->front + r->n - 1;

		len = make_part(t, proto, r, r->next);
		flags = MSG_NOSIGNAL | (last ? MSG_EOR : 0) |
			(rn(t, 2) ? MSG_DONTWAIT : 0);
		n = xs_send(d, t->sbuf, len, flags);
		if (n < 0) {
			int midway = r->next > 0;

			failed(OP_SEND, proto, errno, midway,
			       send_errno_ok(proto, errno, midway));
			if (midway)
				abort_record(t, d, proto);
			r->slot = 0;
			goto out;
		}
		if (n != (ssize_t)len)
			failed(OP_SEND, proto, 0, r->next > 0, 0);
		SH_ADD(parts_sent, 1);
		r->next++;
		if (last) {
			SH_ADD(records_sent, 1);
			r->slot = 0;
			goto out;
		}
	}
out:
	close(d);
}

/*
 * One sendmmsg: the rest of an open record, then whole records, maybe the
 * last one left open; MSG_EOR per entry.  Small parts only (they are all
 * built before the call).
 */
static void op_sendmmsg(struct chaos_thread *t)
{
	struct mmsghdr mm[8];
	struct iovec iov[8];
	int first[8];		/* entry starts a record */
	struct open_rec *r;
	unsigned char *p = t->sbuf;
	int i, d, k, cnt = 0, proto, every = !rn(t, 6);
	struct chaos_op o;
	uint64_t v;

	if (op_start(t, OP_SENDMMSG, &o))
		return;
	d = o.d;
	v = o.v;
	proto = o.proto;
	r = &t->open[o.i];
	memset(mm, 0, sizeof(mm));
	if (r->slot != v)
		new_record(t, r, v, proto);
	if (every && r->next) {
		abort_record(t, d, proto);
		new_record(t, r, v, proto);
	}
	while (cnt < 8) {
		int last;
		size_t len;

		if (every) {
			r->front = 0;
			r->n = 1;
		}
		last = r->next == r->front + r->n - 1;
		first[cnt] = r->next == 0;
		if (r->next >= r->front) {
			len = sizeof(struct xs_stamp) + rn(t, 300);
			xs_stamp_fill(p, len, t->token, r->seq,
				      r->next - r->front, r->n);
		} else {
			len = make_front(t, proto, r->next, p);
		}
		iov[cnt].iov_base = p;
		iov[cnt].iov_len = len;
		mm[cnt].msg_hdr.msg_iov = &iov[cnt];
		mm[cnt].msg_hdr.msg_iovlen = 1;
		mm[cnt].msg_hdr.msg_flags = last ? MSG_EOR : 0;
		p += len;
		cnt++;
		r->next++;
		if (last) {
			if (cnt >= 2 + rn(t, 6))
				break;
			new_record(t, r, v, proto);
			continue;
		}
		if (!rn(t, 12))
			break;		/* leave it open */
	}
	k = sendmmsg(d, mm, cnt, MSG_DONTWAIT | MSG_NOSIGNAL |
		     (every ? MSG_EOR : 0));
	if (k < 0) {
		failed(OP_SENDMMSG, proto, errno, !first[0],
		       send_errno_ok(proto, errno, !first[0]));
		k = 0;
	}
	for (i = 0; i < k; i++) {
		SH_ADD(parts_sent, 1);
		if (every || (mm[i].msg_hdr.msg_flags & MSG_EOR))
			SH_ADD(records_sent, 1);
	}
	if (k < cnt) {
		/* entry k failed, its errno is lost: start afresh */
		if (!first[k])
			abort_record(t, d, proto);
		r->slot = 0;
	} else if (every || (mm[cnt - 1].msg_hdr.msg_flags & MSG_EOR)) {
		r->slot = 0;
	}
	close(d);
}

/* ---- receiving ------------------------------------------------------------- */

/* One part read: check it, count it.  Returns 1 at the end of a record. */
static int took_part(struct chaos_thread *t, int proto, int slot_idx,
		     uint64_t v, const void *buf, size_t len, int flags,
		     int *skipping)
{
	int eor = flags & MSG_EOR, what;

	SH_ADD(parts_read, 1);
	if (*skipping) {
		/* the rest of a record we stopped reading earlier */
		if (eor) {
			*skipping = 0;
			t->abandoned[slot_idx] = 0;
		}
		return eor;
	}
	what = xs_check_part(&t->chk, buf, len, flags);
	if (what != XS_REC_OK)
		note_violation(t, what, proto);
	if (eor)
		SH_ADD(records_read, 1);
	(void)v;
	return eor;
}

/*
 * A zero-length read without MSG_EOR is an empty part, or the end of a
 * socket shut down for reading.  XS_RCVMORE tells: outside a record, it
 * was the end (and a record we thought we had left midway is gone too).
 */
static int not_inside(struct chaos_thread *t, int d, int slot_idx)
{
	if (xs_getint(d, SOL_XS, XS_RCVMORE) != 0)
		return 0;
	t->abandoned[slot_idx] = 0;
	memset(&t->chk, 0, sizeof(t->chk));
	return 1;
}

/*
 * May a read that failed with @err at @midway do so?  A resumed read
 * (midway 2) finding nothing is fine when the kernel says this thread is
 * not inside a record after all (XS_RCVMORE 0): our notion of "left
 * inside" is conservative (op_recvmmsg can believe it inside a record the
 * kernel saw end), which only shows once a receive ring keeps the queue
 * empty.  The belief is dropped then.
 */
static int recv_fail_ok(struct chaos_thread *t, int d, int slot_idx,
			int proto, int err, int midway)
{
	if (midway == 2 && err == EAGAIN &&
	    xs_getint(d, SOL_XS, XS_RCVMORE) == 0) {
		t->abandoned[slot_idx] = 0;
		return 1;
	}
	return recv_errno_ok(proto, err, midway);
}

/* We stop inside a record (its reader may resume it, or never). */
static void stop_midway(struct chaos_thread *t, int slot_idx, uint64_t v)
{
	SH_ADD(abandoned, 1);
	t->abandoned[slot_idx] = v;
	memset(&t->chk, 0, sizeof(t->chk));
}

/* A read starts: resume skipping a record we left midway on this socket. */
static int recv_start(struct chaos_thread *t, int op, struct chaos_op *o,
		      int *skipping)
{
	if (op_start(t, op, o))
		return -1;
	*skipping = t->abandoned[o->i] == o->v;
	memset(&t->chk, 0, sizeof(t->chk));
	return 0;
}

static void op_recv(struct chaos_thread *t)
{
	int i, d, proto, k, flags, mflags, skipping, small = !rn(t, 10);
	struct chaos_op o;
	uint64_t v;
	ssize_t n;

	if (recv_start(t, OP_RECV, &o, &skipping))
		return;
	d = o.d;
	i = o.i;
	v = o.v;
	proto = o.proto;
	flags = (rn(t, 2) ? MSG_DONTWAIT : 0) | (!rn(t, 20) ? MSG_TRUNC : 0);
	for (k = 0; k < 64; k++) {
		/* 1: inside a record read in this call, 2: resuming one */
		int midway = k > 0 ? 1 : skipping ? 2 : 0;
		size_t cap = small ? 256 : CHAOS_RBUF;

		n = xs_recv(d, t->rbuf[0], cap, flags, &mflags);
		if (n < 0) {
			failed(OP_RECV, proto, errno, midway,
			       recv_fail_ok(t, d, i, proto, errno, midway));
			if (midway == 1 || t->abandoned[i])
				stop_midway(t, i, v);
			break;
		}
		if (n == 0 && !(mflags & MSG_EOR) && !t->chk.stamped &&
		    not_inside(t, d, i))
			break;		/* shut down, nothing queued */
		if (flags & MSG_TRUNC)
			n = n > (ssize_t)cap ? (ssize_t)cap : n;
		if (took_part(t, proto, i, v, t->rbuf[0], n, mflags,
			      &skipping))
			break;
	}
	if (k == 64)
		stop_midway(t, i, v);
	close(d);
}

static void op_recvmmsg(struct chaos_thread *t)
{
	struct mmsghdr mm[CHAOS_MMSG];
	struct iovec iov[CHAOS_MMSG];
	int i, d, proto, j, calls, got, vlen, skipping, done = 0, inside = 0;
	struct chaos_op o;
	uint64_t v;

	if (recv_start(t, OP_RECVMMSG, &o, &skipping))
		return;
	d = o.d;
	i = o.i;
	v = o.v;
	proto = o.proto;
	for (calls = 0; calls < 16 && !done; calls++) {
		int midway = inside ? 1 : skipping ? 2 : 0;

		vlen = 1 + rn(t, CHAOS_MMSG);
		memset(mm, 0, sizeof(mm));
		for (j = 0; j < vlen; j++) {
			iov[j].iov_base = t->rbuf[j];
			iov[j].iov_len = CHAOS_RBUF;
			mm[j].msg_hdr.msg_iov = &iov[j];
			mm[j].msg_hdr.msg_iovlen = 1;
		}
		got = recvmmsg(d, mm, vlen, MSG_DONTWAIT, NULL);
		if (got < 0) {
			failed(OP_RECVMMSG, proto, errno, midway,
			       recv_fail_ok(t, d, i, proto, errno, midway));
			if (midway == 1 || t->abandoned[i])
				stop_midway(t, i, v);
			break;
		}
		if (got == 0)
			break;
		for (j = 0; j < got; j++)
			inside = !took_part(t, proto, i, v, t->rbuf[j],
					    mm[j].msg_len,
					    mm[j].msg_hdr.msg_flags,
					    &skipping);
		if (inside && !mm[got - 1].msg_len && not_inside(t, d, i)) {
			skipping = 0;
			break;		/* shut down, nothing queued */
		}
		/* a short batch inside a record: an error we cannot see */
		if (got < vlen) {
			if (inside)
				stop_midway(t, i, v);
			done = 1;
		} else if (!inside) {
			done = !rn(t, 3);
		}
	}
	if (!done && inside)
		stop_midway(t, i, v);
	close(d);
}

static void op_peek(struct chaos_thread *t)
{
	struct xs_stamp st;
	struct chaos_op o;
	int i, d, proto, mflags;
	uint64_t v;
	ssize_t n;

	if (op_start(t, OP_PEEK, &o))
		return;
	d = o.d;
	i = o.i;
	v = o.v;
	proto = o.proto;
	n = xs_recv(d, t->rbuf[0], CHAOS_RBUF, MSG_PEEK | MSG_DONTWAIT,
		    &mflags);
	if (n < 0) {
		/* inside a record of ours, there is always a next part */
		int midway = t->abandoned[i] == v ? 2 : 0;

		failed(OP_PEEK, proto, errno, midway,
		       recv_fail_ok(t, d, i, proto, errno, midway));
	} else if (!(mflags & MSG_TRUNC) &&
		   xs_stamp_get(t->rbuf[0], n, &st) &&
		   (st.len != n || st.sum != xs_stamp_sum(t->rbuf[0] +
							  sizeof(st),
							  n - sizeof(st)))) {
		t->chk.bad = st;
		note_violation(t, XS_REC_CORRUPT, proto);
	}
	close(d);
}

/* ---- receive rings ------------------------------------------------------ */

static int proto_rings(int proto)
{
	return proto == XSPROTO_PAIR || proto == XSPROTO_PULL ||
	       proto == XSPROTO_SUB || proto == XSPROTO_XSUB;
}

/* One reader per process at a time: the reader owns the tail. */
static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;

/* Read (and check) what a ring holds; each entry is a whole record. */
static void ring_read(struct chaos_thread *t, struct xs_tring *r, int proto)
{
	struct xs_tpart p[16];
	struct xs_checker chk;
	int n, j, k, v;
	uint64_t end;

	for (k = 0; k < 64; k++) {
		n = xs_tring_peek(r, p, 16, &end);
		if (n == 0)
			return;
		if (n < 0 || n > 16) {
			memset(&t->chk.bad, 0, sizeof(t->chk.bad));
			note_violation(t, XS_REC_CORRUPT, proto);
			return;
		}
		memset(&chk, 0, sizeof(chk));
		for (j = 0; j < n; j++) {
			v = xs_check_part(&chk, p[j].data, p[j].len,
					  j == n - 1 ? MSG_EOR : 0);
			if (v != XS_REC_OK) {
				t->chk.bad = chk.bad;
				note_violation(t, v, proto);
			}
		}
		SH_ADD(parts_read, n);
		SH_ADD(records_read, 1);
		SH_ADD(ring_records, 1);
		xs_tring_release(r, end);
	}
}

/*
 * Give a socket a ring (or use the one it has), map it, read it; now and
 * then make it look full for a while (a tail 2^63 bytes off: the kernel
 * queues instead), as a reader's bug would.  Never in a forked child,
 * which could read a ring its parent reads.
 */
static void op_ring(struct chaos_thread *t)
{
	struct xs_ring_req req = { .size = 4096u << rn(t, 4) };
	struct xs_tring r = { 0 };
	struct chaos_op o;
	int size;

	if (t->in_child || op_start(t, OP_RING, &o))
		return;
	/* a thread of ours may set one up meanwhile: EBUSY */
	if (xs_getint(o.d, SOL_XS, XS_RX_RING) == 0 &&
	    setsockopt(o.d, SOL_XS, XS_RX_RING, &req, sizeof(req)))
		failed(OP_RING, o.proto, errno, 0,
		       errno == EBUSY || errno == ENOBUFS ||
		       (errno == EOPNOTSUPP && !proto_rings(o.proto)));
	size = xs_getint(o.d, SOL_XS, XS_RX_RING);
	if (size <= 0)
		goto out;
	r.ctrl = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, o.d,
		      XS_RING_OFF_CTRL);
	r.data = mmap(NULL, size, PROT_READ, MAP_SHARED, o.d,
		      XS_RING_OFF_DATA);
	if (r.ctrl == MAP_FAILED || r.data == MAP_FAILED) {
		failed(OP_RING, o.proto, errno, 0, 0);
		goto unmap;
	}
	r.size = size;
	pthread_mutex_lock(&ring_lock);
	r.tail = __atomic_load_n(&r.ctrl->tail, __ATOMIC_RELAXED);
	if (!rn(t, 10)) {
		__atomic_store_n(&r.ctrl->tail, r.tail + (1ULL << 63),
				 __ATOMIC_RELEASE);
		xs_sleep_ms(rn(t, 3));
		__atomic_store_n(&r.ctrl->tail, r.tail, __ATOMIC_RELEASE);
	}
	ring_read(t, &r, o.proto);
	pthread_mutex_unlock(&ring_lock);
unmap:
	if (r.ctrl != MAP_FAILED)
		munmap(r.ctrl, 4096);
	if (r.data != MAP_FAILED)
		munmap((void *)r.data, size);
out:
	close(o.d);
}

/* ---- the rest -------------------------------------------------------------- */

static void op_poll(struct chaos_thread *t)
{
	struct pollfd p[3];
	int i, n = 0, idx, r;
	uint64_t v;

	for (i = 0; i < 3; i++) {
		int d = slot_get(t, &idx, &v);

		if (d < 0)
			continue;
		p[n].fd = d;
		p[n].events = POLLIN | POLLOUT | POLLRDHUP;
		p[n].revents = 0;
		n++;
	}
	if (!n)
		return;
	SH_ADD(ops[OP_POLL], 1);
	r = poll(p, n, rn(t, 6));
	if (r < 0)
		failed(OP_POLL, 0, errno, 0, 0);
	for (i = 0; i < n; i++) {
		if (r >= 0 && (p[i].revents & POLLNVAL))
			failed(OP_POLL, 0, EBADF, 0, 0);
		close(p[i].fd);
	}
}

static void op_shutdown(struct chaos_thread *t)
{
	struct chaos_op o;

	if (op_start(t, OP_SHUTDOWN, &o))
		return;
	if (shutdown(o.d, rn(t, 3)))
		failed(OP_SHUTDOWN, o.proto, errno, 0, 0);
	close(o.d);
}

static void op_unlink(struct chaos_thread *t)
{
	if (!cfg.fs_name)
		return;
	SH_ADD(ops[OP_UNLINK], 1);
	if (unlink(names[CHAOS_NAMES]) && errno != ENOENT)
		failed(OP_UNLINK, 0, errno, 0, 0);
}

static void op_proc(struct chaos_thread *t)
{
	char buf[4096];
	int fd = open("/proc/net/xs", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	SH_ADD(ops[OP_PROC], 1);
	if (fd < 0) {
		failed(OP_PROC, 0, errno, 0, 0);
		return;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	if (n < 0)
		failed(OP_PROC, 0, errno, 0, 0);
	close(fd);
}

static void run_op(struct chaos_thread *t, int op);

/*
 * In a fork child: keep only the slots whose descriptor really is the
 * socket the slot names.  fork() copies the descriptor table and memory at
 * slightly different moments while other threads keep going, so a slot
 * may name a descriptor the child does not have, or has for another file.
 */
static void child_check_slots(void)
{
	ino_t seen[CHAOS_SLOTS];
	int i, j, n = 0;

	for (i = 0; i < CHAOS_SLOTS; i++) {
		uint64_t s = slots[i];
		socklen_t len = sizeof(int);
		struct stat st;
		int type, ok;

		if (slot_empty(s))
			continue;
		ok = !fstat(slot_fd(s), &st) && S_ISSOCK(st.st_mode) &&
		     !getsockopt(slot_fd(s), SOL_XS, XS_TYPE, &type, &len) &&
		     type == slot_proto(s) - 1;
		for (j = 0; ok && j < n; j++)
			if (seen[j] == st.st_ino)
				ok = 0;
		if (ok)
			seen[n++] = st.st_ino;
		else
			slots[i] = SLOT_EMPTY;	/* not ours to close */
	}
}

/*
 * A short-lived process sharing this worker's sockets: a few calls, then
 * it exits or kills itself, maybe in the middle of a record.
 */
static void op_fork(struct chaos_thread *t)
{
	pid_t pid;
	int i, n;

	if (t->in_child)
		return;
	SH_ADD(ops[OP_FORK], 1);
	pid = fork();
	if (pid < 0) {
		failed(OP_FORK, 0, errno, 0, 0);
		return;
	}
	if (pid) {
		waitpid(pid, NULL, 0);
		return;
	}
	/* child: no other thread, no malloc; buffers are copies */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	SH_ADD(forks, 1);
	t->in_child = 1;
	child_check_slots();
	t->token = __atomic_add_fetch(&sh->next_token, 1, __ATOMIC_RELAXED);
	memset(t->open, 0, sizeof(t->open));
	memset(t->abandoned, 0, sizeof(t->abandoned));
	memset(&t->chk, 0, sizeof(t->chk));
	n = 1 + rn(t, 20);
	for (i = 0; i < n && !__atomic_load_n(&sh->stop, __ATOMIC_RELAXED);
	     i++)
		run_op(t, rn(t, 2) ? OP_SEND : rn(t, OP_FORK));
	if (rn(t, 2)) {
		uint64_t v;
		int idx, d = slot_get(t, &idx, &v);

		if (d >= 0) {
			struct open_rec r;

			new_record(t, &r, v, slot_proto(v));
			r.front = 0;
			xs_send(d, t->sbuf, make_part(t, slot_proto(v), &r, 0),
				MSG_DONTWAIT | MSG_NOSIGNAL);
		}
		raise(SIGKILL);
	}
	_exit(0);
}

static int pick_op(struct chaos_thread *t)
{
	int i, r, total = 0;

	for (i = 0; i < OP_MAX; i++)
		total += op_weight[i];
	r = rn(t, total);
	for (i = 0; i < OP_MAX; i++) {
		r -= op_weight[i];
		if (r < 0)
			return i;
	}
	return OP_SEND;
}

static void run_op(struct chaos_thread *t, int op)
{
	switch (op) {
	case OP_SOCKET:
		SH_ADD(ops[OP_SOCKET], 1);
		op_socket(t);
		break;
	case OP_CLOSE:
		slot_close(rn(t, CHAOS_SLOTS));
		break;
	case OP_BIND:
	case OP_CONNECT:
	case OP_UNBIND:
	case OP_DISCONNECT:
		op_name(t, op);
		break;
	case OP_SETOPT:
		op_setopt(t);
		break;
	case OP_GETOPT:
		op_getopt(t);
		break;
	case OP_SEND:
		op_send(t);
		break;
	case OP_SENDMMSG:
		op_sendmmsg(t);
		break;
	case OP_RECV:
		op_recv(t);
		break;
	case OP_RECVMMSG:
		op_recvmmsg(t);
		break;
	case OP_PEEK:
		op_peek(t);
		break;
	case OP_POLL:
		op_poll(t);
		break;
	case OP_SHUTDOWN:
		/* rare: a shut socket is of little use afterwards */
		if (!rn(t, 4))
			op_shutdown(t);
		break;
	case OP_ABORT:
		op_abort(t);
		break;
	case OP_FORK:
		op_fork(t);
		break;
	case OP_UNLINK:
		op_unlink(t);
		break;
	case OP_PROC:
		op_proc(t);
		break;
	case OP_RING:
		op_ring(t);
		break;
	}
}

static void *chaos_thread_main(void *arg)
{
	struct chaos_thread *t = arg;

	while (!__atomic_load_n(&sh->stop, __ATOMIC_RELAXED))
		run_op(t, pick_op(t));
	return NULL;
}

/* A worker process: a few threads on a few sockets, until told to stop. */
static void worker_main(uint64_t seed)
{
	struct chaos_thread th[CHAOS_THREADS];
	int i, j;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (i = 0; i < CHAOS_SLOTS; i++)
		slots[i] = SLOT_EMPTY;
	for (i = 0; i < CHAOS_THREADS; i++) {
		memset(&th[i], 0, sizeof(th[i]));
		th[i].rng = mix_seed(seed, i);
		th[i].token = __atomic_add_fetch(&sh->next_token, 1,
						 __ATOMIC_RELAXED);
		th[i].sbuf = malloc(CHAOS_BIG);
		for (j = 0; j < CHAOS_MMSG; j++)
			th[i].rbuf[j] = malloc(CHAOS_RBUF);
		if (!th[i].sbuf || !th[i].rbuf[CHAOS_MMSG - 1])
			_exit(2);
	}
	for (i = 1; i < CHAOS_THREADS; i++)
		if (pthread_create(&th[i].thread, NULL, chaos_thread_main,
				   &th[i]))
			_exit(3);
	chaos_thread_main(&th[0]);
	for (i = 1; i < CHAOS_THREADS; i++)
		pthread_join(th[i].thread, NULL);
	for (i = 0; i < CHAOS_SLOTS; i++)
		slot_close(i);
	_exit(0);
}

/* ---- the director ------------------------------------------------------------ */

FIXTURE(chaos) {
	struct xs_kwatch kw;
	char dir[64];
	int max_linger;
};

FIXTURE_VARIANT(chaos) {
	const char *name;
	const int *protos;
	int nprotos;
	int ms;			/* on the release kernel */
	int fs_name;
};

static const int all_protos[] = {
	XSPROTO_PAIR, XSPROTO_PUB, XSPROTO_SUB, XSPROTO_REQ, XSPROTO_REP,
	XSPROTO_XREQ, XSPROTO_XREP, XSPROTO_PULL, XSPROTO_PUSH, XSPROTO_XPUB,
	XSPROTO_XSUB, XSPROTO_SURVEYOR, XSPROTO_RESPONDENT, XSPROTO_XSURVEYOR,
	XSPROTO_XRESPONDENT,
};
static const int flow_protos[] = { XSPROTO_PAIR, XSPROTO_PUSH, XSPROTO_PULL };
static const int pubsub_protos[] = {
	XSPROTO_PUB, XSPROTO_SUB, XSPROTO_XPUB, XSPROTO_XSUB,
};
static const int reqrep_protos[] = {
	XSPROTO_REQ, XSPROTO_REP, XSPROTO_XREQ, XSPROTO_XREP,
	XSPROTO_SURVEYOR, XSPROTO_RESPONDENT, XSPROTO_XSURVEYOR,
	XSPROTO_XRESPONDENT,
};

#define NPROTOS(a) ((int)(sizeof(a) / sizeof((a)[0])))

FIXTURE_VARIANT_ADD(chaos, every_pattern) {
	.name = "every_pattern",
	.protos = all_protos, .nprotos = NPROTOS(all_protos),
	.ms = 16000, .fs_name = 1,
};

FIXTURE_VARIANT_ADD(chaos, pair_and_pipeline) {
	.name = "pair_and_pipeline",
	.protos = flow_protos, .nprotos = NPROTOS(flow_protos), .ms = 8000,
};

FIXTURE_VARIANT_ADD(chaos, pubsub) {
	.name = "pubsub",
	.protos = pubsub_protos, .nprotos = NPROTOS(pubsub_protos),
	.ms = 8000,
};

FIXTURE_VARIANT_ADD(chaos, reqrep_and_survey) {
	.name = "reqrep_and_survey",
	.protos = reqrep_protos, .nprotos = NPROTOS(reqrep_protos),
	.ms = 8000, .fs_name = 1,
};

FIXTURE_SETUP(chaos)
{
	const char *s = getenv("XS_SEED");
	const char *only = getenv("XS_CHAOS_ONLY");
	int i;

	if (only && strcmp(only, variant->name))
		SKIP(return, "XS_CHAOS_ONLY=%s", only);

	/* our own namespace: its socket count is ours alone */
	ASSERT_OK(unshare(CLONE_NEWNET));
	ASSERT_EQ(0, xs_netns_sockets());
	ASSERT_OK(prctl(PR_SET_CHILD_SUBREAPER, 1));
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	memset(sh, 0, sizeof(*sh));

	chaos_seed = s ? strtoull(s, NULL, 0) : (uint64_t)time(NULL);
	ksft_print_msg("chaos seed %llu (replay: XS_SEED=%llu)\n",
		       (unsigned long long)chaos_seed,
		       (unsigned long long)chaos_seed);

	cfg.protos = variant->protos;
	cfg.nprotos = variant->nprotos;
	cfg.fs_name = variant->fs_name;
	for (i = 0; i < CHAOS_NAMES; i++)
		snprintf(names[i], sizeof(names[i]), "chaos.%d", i);
	nnames = CHAOS_NAMES;
	self->dir[0] = 0;
	if (cfg.fs_name) {
		snprintf(self->dir, sizeof(self->dir), "/tmp/xs-chaos.%d",
			 (int)getpid());
		ASSERT_OK(mkdir(self->dir, 0700));
		snprintf(names[CHAOS_NAMES], sizeof(names[0]), "%s/n",
			 self->dir);
		nnames++;
	}
	/* lingering records must be gone by the final check */
	self->max_linger = xs_max_linger_ms(CHAOS_MAX_LINGER);
	xs_kwatch_start(&self->kw);
}

FIXTURE_TEARDOWN(chaos)
{
	if (self->max_linger >= 0)
		xs_max_linger_ms(self->max_linger);
	if (self->dir[0]) {
		unlink(names[CHAOS_NAMES]);
		rmdir(self->dir);
	}
}

static pid_t spawn_worker(uint64_t seed)
{
	pid_t pid = fork();

	if (pid == 0)
		worker_main(seed);
	return pid;
}

/* Show where a stuck process sleeps: the kernel stack of each thread. */
static void dump_stuck(pid_t pid)
{
	char path[300], buf[2048];
	struct dirent *de;
	ssize_t n;
	DIR *dir;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stack", pid,
			 de->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[n > 0 ? n : 0] = 0;
		ksft_print_msg("stuck worker %d thread %s:\n%s", pid,
			       de->d_name, buf);
	}
	closedir(dir);
}

TEST_F_TIMEOUT(chaos, random_calls_and_kills_leave_nothing_behind, 150)
{
	pid_t workers[CHAOS_WORKERS];
	unsigned long long spawned = 0, kills = 0, exits = 0, crashes = 0, hung = 0;
	const char *env_ms = getenv("XS_CHAOS_MS");
	struct chaos_thread dir_rng = { .rng = mix_seed(chaos_seed, 999) };
	long long ms, end, stop_end;
	int i, status, alive, rings = 0;
	pid_t pid;

	if (_metadata->skip)	/* SKIP() in the setup (6.1 harness) */
		return;

	ms = env_ms ? atoll(env_ms) : variant->ms / xs_scale();
	if (!env_ms && ms < 5000)
		ms = 5000;
	for (i = 0; i < CHAOS_WORKERS; i++) {
		workers[i] = spawn_worker(mix_seed(chaos_seed, spawned++));
		ASSERT_GT(workers[i], 0);
	}
	end = xs_now_ms() + ms;
	while (xs_now_ms() < end) {
		xs_sleep_ms(2 + rn(&dir_rng, 40));
		/* workers that ended on their own: a crash is a failure */
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			for (i = 0; i < CHAOS_WORKERS; i++)
				if (workers[i] == pid)
					break;
			if (i == CHAOS_WORKERS)
				continue;	/* an orphaned fork child */
			exits++;
			if (!WIFEXITED(status) || WEXITSTATUS(status)) {
				crashes++;
				ksft_print_msg("worker %d ended with status %#x\n",
					       pid, status);
			}
			workers[i] = spawn_worker(mix_seed(chaos_seed,
							   spawned++));
		}
		if (rn(&dir_rng, 3))
			continue;
		i = rn(&dir_rng, CHAOS_WORKERS);
		if (kill(workers[i], SIGKILL) == 0) {
			waitpid(workers[i], &status, 0);
			kills++;
		}
		workers[i] = spawn_worker(mix_seed(chaos_seed, spawned++));
	}

	/* stop: every worker must notice within its short timeouts */
	__atomic_store_n(&sh->stop, 1, __ATOMIC_SEQ_CST);
	stop_end = xs_now_ms() + 10000LL * xs_scale();
	do {
		alive = 0;
		for (i = 0; i < CHAOS_WORKERS; i++) {
			if (!workers[i])
				continue;
			pid = waitpid(workers[i], &status, WNOHANG);
			if (pid == workers[i]) {
				if (!WIFEXITED(status) || WEXITSTATUS(status))
					crashes++;
				workers[i] = 0;
			} else {
				alive++;
			}
		}
		if (alive)
			xs_sleep_ms(20);
	} while (alive && xs_now_ms() < stop_end);
	for (i = 0; i < CHAOS_WORKERS; i++) {
		if (!workers[i])
			continue;
		hung++;
		dump_stuck(workers[i]);
		kill(workers[i], SIGKILL);
		waitpid(workers[i], NULL, 0);
	}
	/* fork children orphaned by killed workers come to us */
	while (waitpid(-1, NULL, 0) > 0)
		;

	ksft_print_msg("chaos %s: %lld ms, %llu workers started, %llu killed, "
		       "%llu forks\n", variant->name, ms,
		       (unsigned long long)spawned, (unsigned long long)kills,
		       (unsigned long long)sh->forks);
	for (i = 0; i < OP_MAX; i++)
		ksft_print_msg("  %-10s %8llu calls %8llu failed\n",
			       op_names[i], (unsigned long long)sh->ops[i],
			       (unsigned long long)sh->errs[i]);
	ksft_print_msg("  parts sent %llu read %llu, records sent %llu read "
		       "%llu (%llu from rings), aborted %llu, left midway %llu\n",
		       (unsigned long long)sh->parts_sent,
		       (unsigned long long)sh->parts_read,
		       (unsigned long long)sh->records_sent,
		       (unsigned long long)sh->records_read,
		       (unsigned long long)sh->ring_records,
		       (unsigned long long)sh->aborted,
		       (unsigned long long)sh->abandoned);
	for (i = 0; i < CHAOS_NOTES && i < (int)sh->unexpected; i++)
		ksft_print_msg("unexpected: %s on %s %sfailed with %s (%d)\n",
			       op_names[sh->errnote[i].op],
			       xs_proto_name(sh->errnote[i].proto),
			       sh->errnote[i].midway == 2 ?
			       "resuming a record it had left, " :
			       sh->errnote[i].midway ? "midway " : "",
			       strerror(sh->errnote[i].err),
			       sh->errnote[i].err);
	for (i = 0; i < CHAOS_NOTES && i < (int)sh->violations; i++)
		ksft_print_msg("bad record on %s: %s (part %u/%u of record %u "
			       "of sender %u, %u bytes)\n",
			       xs_proto_name(sh->recnote[i].proto),
			       xs_rec_fault_name(sh->recnote[i].what),
			       sh->recnote[i].part.idx, sh->recnote[i].part.n,
			       sh->recnote[i].part.seq,
			       sh->recnote[i].part.token,
			       sh->recnote[i].part.len);

	EXPECT_EQ(0ULL, hung) TH_LOG("workers stuck after stop (seed %llu)",
				  (unsigned long long)chaos_seed);
	EXPECT_EQ(0ULL, crashes) TH_LOG("workers crashed (seed %llu)",
				     (unsigned long long)chaos_seed);
	EXPECT_EQ(0ULL, sh->unexpected) TH_LOG("calls failed with an errno "
					    "outside their set (seed %llu)",
					    (unsigned long long)chaos_seed);
	EXPECT_EQ(0ULL, sh->violations) TH_LOG("receivers read bad records "
					    "(seed %llu)",
					    (unsigned long long)chaos_seed);
	EXPECT_GT(sh->records_read, 0ULL) TH_LOG("nothing ever got through");
	for (i = 0; i < variant->nprotos; i++)
		rings |= proto_rings(variant->protos[i]);
	/* the debug kernel's short runs may not get there: no verdict */
	if (rings && xs_scale() == 1)
		EXPECT_GT(sh->ring_records, 0ULL)
			TH_LOG("no record ever came through a ring");
	ASSERT_ALL_GONE();
	ASSERT_KERNEL_QUIET(&self->kw);
}

/* ---- subscriptions against publisher churn ---------------------------- */

struct churn {
	pthread_t thread;
	int *subs, nsubs;
	const char *name;
	long long end;
	uint64_t rng, ops;
	char error[128];
};

/* Subscribers change their subscriptions, and now and then reconnect. */
static void *churn_subscribe(void *p)
{
	static const char *const prefixes[] = { "", "a", "ab", "b" };
	struct churn *c = p;

	while (xs_now_ms() < c->end) {
		int fd, opt;
		const char *pre;

		c->rng = c->rng * 6364136223846793005ULL + 1;
		fd = c->subs[(c->rng >> 33) % c->nsubs];
		pre = prefixes[(c->rng >> 40) % 4];
		opt = (c->rng >> 50) & 1 ? XS_SUBSCRIBE : XS_UNSUBSCRIBE;
		if (setsockopt(fd, SOL_XS, opt, pre, strlen(pre))) {
			snprintf(c->error, sizeof(c->error), "subscribe: %s",
				 strerror(errno));
			return NULL;
		}
		/* (the other thread may have just done the same) */
		if (!((c->rng >> 20) % 16) &&
		    ((setsockopt(fd, SOL_XS, XS_DISCONNECT, c->name,
				 strlen(c->name)) && errno != ENOENT) ||
		     (xs_connect(fd, c->name) && errno != EISCONN))) {
			snprintf(c->error, sizeof(c->error), "reconnect: %s",
				 strerror(errno));
			return NULL;
		}
		c->ops++;
	}
	return NULL;
}

/* Publishers come and go on the name the subscribers connect to. */
static void *churn_publish(void *p)
{
	struct churn *c = p;
	char buf[64];

	while (xs_now_ms() < c->end) {
		int fd, i;

		c->rng = c->rng * 6364136223846793005ULL + 1;
		fd = xs_socket((c->rng >> 33) & 1 ? XSPROTO_PUB : XSPROTO_XPUB);
		if (fd < 0 || xs_bind(fd, c->name)) {
			snprintf(c->error, sizeof(c->error), "publisher: %s",
				 strerror(errno));
			if (fd >= 0)
				close(fd);
			return NULL;
		}
		for (i = 0; i < 3; i++) {
			xs_send(fd, "abc", 3, MSG_EOR | MSG_DONTWAIT);
			/* an XPUB reads what it hears; a PUB cannot */
			while (xs_recv(fd, buf, sizeof(buf), MSG_DONTWAIT,
				       NULL) >= 0)
				;
		}
		if ((c->rng >> 40) & 1)
			setsockopt(fd, SOL_XS, XS_UNBIND, c->name,
				   strlen(c->name));
		close(fd);
		c->ops++;
	}
	return NULL;
}

/*
 * A publisher leaving while its subscribers subscribe, unsubscribe and
 * reconnect: what a leaving publisher learnt must go with it, and nothing
 * may touch it after it is freed.
 */
TEST(subscriptions_racing_publisher_churn_leave_nothing_behind)
{
	int subs[4], i, ms = xs_scale() > 1 ? 10000 : 3000;
	char name[XS_NAME_MAX + 1];
	struct churn c[3];
	struct xs_kwatch kw;

	ASSERT_OK(unshare(CLONE_NEWNET));
	xs_kwatch_start(&kw);
	xs_uname(name, sizeof(name), "churn");
	for (i = 0; i < 4; i++) {
		subs[i] = xs_socket(XSPROTO_SUB);
		ASSERT_LE(0, subs[i]);
		ASSERT_OK(xs_connect(subs[i], name));
	}
	for (i = 0; i < 3; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		c[i].subs = subs;
		c[i].nsubs = 4;
		c[i].name = name;
		c[i].end = xs_now_ms() + ms;
		c[i].rng = 0x9e3779b97f4a7c15ULL * (i + 1) + time(NULL);
		ASSERT_OK(pthread_create(&c[i].thread, NULL,
					 i ? churn_subscribe : churn_publish,
					 &c[i]));
	}
	for (i = 0; i < 3; i++) {
		pthread_join(c[i].thread, NULL);
		EXPECT_STREQ("", c[i].error);
	}
	ksft_print_msg("%llu publishers came and went, %llu subscription "
		       "changes\n", (unsigned long long)c[0].ops,
		       (unsigned long long)(c[1].ops + c[2].ops));
	for (i = 0; i < 4; i++)
		close(subs[i]);
	ASSERT_ALL_GONE();
	ASSERT_KERNEL_QUIET(&kw);
}

XS_TEST_MAIN
