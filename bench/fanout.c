// SPDX-License-Identifier: GPL-2.0
/*
 * fanout: one publisher, N subscriber processes, one record size; how many
 * records per second the subscribers receive, and how much CPU the
 * publisher spends per record it publishes.
 *
 *   fanout -i IMPL -n N -s SIZE [-d MS] [-H]
 *
 *   IMPL  xs     AF_XS PUB/SUB with plain syscalls: the publisher sends
 *                batches of records with one sendmmsg(MSG_EOR | MSG_MORE),
 *                each subscriber drains with recvmmsg(MSG_WAITFORONE)
 *         libxs  AF_XS through libxs (xs_send / xs_recv; libxs reads ahead
 *                with recvmmsg)
 *         unix   the hand-written alternative: the publisher loops a
 *                blocking send(2) over N AF_UNIX SOCK_SEQPACKET sockets,
 *                each subscriber recv(2)s one record per call
 *         zmq    libzmq PUB/SUB over ipc:// (zmq_send / zmq_recv)
 *         nng    nng pub0/sub0 over ipc:// (nng_send / nng_recv)
 *         shm    the limit: one shared-memory ring all subscribers read
 *                (bench/shmring.h): the publisher copies each record in
 *                once and wakes sleeping subscribers once per batch; like
 *                unix it waits for the slowest subscriber, never drops
 *         libxs-mix  one libxs PUB bound to an AF_XS name and to
 *                tcp://127.0.0.1: even subscribers local (the kernel),
 *                odd ones over tcp (libxs carries it on libzmq), as a
 *                host serving local and remote subscribers at once
 *         zmq-tcp  libzmq alone over tcp://127.0.0.1, its comparison
 *         libxs-q  libxs with LIBXS_RING=0: subscribers read the kernel's
 *                queue ahead with recvmmsg instead of the receive ring
 *   -d    how long the publisher publishes, in ms (default 2000)
 *   -H    print the CSV header first
 *
 * Every subscriber subscribes to everything.  A run goes: fork the
 * subscribers, bind the publisher, let the subscribers connect, warm up (the publisher sends marked records
 * until every subscriber has received one: libzmq subscriptions travel
 * asynchronously), then publish for the duration, then send end records
 * until every subscriber has drained its queue and received one.  The
 * publishers of xs, libxs and zmq drop records for subscribers at their
 * limit (as PUB does, nng too); unix and shm block instead.  So "delivered" counts what
 * the subscribers actually received of the measured records, and the
 * delivered rate divides it by the time from the start of publishing to
 * the last subscriber's last record (queues drained).  Publisher CPU is
 * getrusage(RUSAGE_SELF) of the publishing process over the publishing
 * phase (libzmq's I/O threads included) divided by the records published.
 *
 * Output, one CSV line:
 *   impl,subs,size,published,delivered,seconds,delivered_per_s,
 *   pub_cpu_ns_per_record,delivered_fraction,pub_switches_per_record,
 *   sub_sleeps_per_delivered,cold_subs,sub_cpu_ns_per_delivered
 * The last two tell where the time goes: context switches of the
 * publisher per record it published, and how often a subscriber went to
 * sleep (so had to be woken) per record it received.  cold_subs counts
 * subscribers the warm-up never reached (see WARM_WAIT_S), normally 0.
 * sub_cpu_ns_per_delivered is the subscribers' CPU time (all their
 * threads) per record they received: what receiving costs.
 * It asserts nothing about speed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <linux/xs.h>
#include <xs.h>
#include <zmq.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/pubsub0/sub.h>

#include "shmring.h"

#define MAX_SUBS	1024
#define MAX_SIZE	65536
#define BATCH		32	/* records per publisher sendmmsg */
#define RBATCH		64	/* entries per subscriber recvmmsg */
#define RING_SLOTS	1024	/* shm: about XS_HWM_DEFAULT records */
#define NNG_QUEUE	1000	/* nng: per-peer queues like libzmq's HWM */
#define WARM_WAIT_S	20	/* longest warm-up */
#define END_WAIT_S	60	/* longest wait for subscribers to drain */
#define WARM_MARK	'W'
#define MEAS_MARK	'M'
#define END_MARK	'E'

/*
 * libxs-mix: a libxs PUB bound to an AF_XS name and to tcp://, half its
 * subscribers local (through the kernel), half "remote" (libxs over tcp,
 * that is libzmq, on the loopback); zmq-tcp: libzmq alone over tcp, what
 * a deployment across hosts would otherwise use.
 */
enum impl { IMPL_XS, IMPL_LIBXS, IMPL_UNIX, IMPL_ZMQ, IMPL_NNG, IMPL_SHM,
	    IMPL_MIX, IMPL_ZMQ_TCP, IMPL_LIBXS_Q, NR_IMPLS };
static const char *const impl_names[] = { "xs", "libxs", "unix", "zmq",
					  "nng", "shm", "libxs-mix",
					  "zmq-tcp", "libxs-q" };

struct sub_state {
	volatile int warm;		/* got a warm-up record */
	volatile int ended;		/* got an end record */
	long long count;		/* measured records received */
	long long last_ns;		/* when the last one came */
	long long sleeps;		/* voluntary switches while measured */
	long long cpu_ns;		/* CPU time while measured */
	int err;
} __attribute__((aligned(64)));

struct shared {
	volatile int bound;		/* the publisher has bound */
	volatile int ready;
	volatile int stop;		/* publisher finished publishing */
	struct sub_state sub[MAX_SUBS];
};

static struct shared *sh;
static enum impl impl;
static int nsubs, rec_size, duration_ms = 2000;
static char endpoint[128];		/* AF_XS name or ipc:// path */
static char tcp_url[64];		/* libxs-mix, zmq-tcp */
static struct shmring *ring;		/* shm */
static int unix_fds[MAX_SUBS][2];
static pid_t pids[MAX_SUBS], publisher;
static int forked;			/* subscribers started (publisher) */

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "fanout %s n=%d s=%d: %s: %s\n", impl_names[impl],
		nsubs, rec_size, what, strerror(errno));
	while (forked > 0)		/* the publisher takes its subscribers */
		kill(pids[--forked], SIGKILL);
	exit(1);
}

static int xs_family(void)
{
	FILE *f = fopen(XS_FAMILY_PARAM_PATH, "r");
	int v = AF_XS_DEFAULT;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = AF_XS_DEFAULT;
		fclose(f);
	}
	return v;
}

static int xs_sock(int proto, int is_bind)
{
	struct sockaddr_xs sa = { .sxs_family = xs_family() };
	size_t n = strlen(endpoint);
	int fd = socket(sa.sxs_family, SOCK_SEQPACKET, proto);
	socklen_t len;

	if (fd < 0)
		die("socket(AF_XS)");
	memcpy(sa.sxs_name, endpoint, n);
	len = offsetof(struct sockaddr_xs, sxs_name) + n;
	if (is_bind ? bind(fd, (struct sockaddr *)&sa, len) :
		      connect(fd, (struct sockaddr *)&sa, len))
		die(is_bind ? "bind" : "connect");
	return fd;
}

static void set_rcvtimeo(int fd, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		die("SO_RCVTIMEO");
}

/* ---- subscribers ------------------------------------------------------- */

static long long ru_cpu_ns(const struct rusage *ru)
{
	return (ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1000000000LL +
	       (ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) * 1000LL;
}

/* Account for one received record @buf of @len bytes. */
static void got(struct sub_state *st, const char *buf, long len,
		long long *count)
{
	struct rusage ru;

	if (len < 1)
		return;
	if (buf[0] == MEAS_MARK) {
		if (!(*count)++) {
			getrusage(RUSAGE_SELF, &ru);
			st->sleeps = -ru.ru_nvcsw;
			st->cpu_ns = -ru_cpu_ns(&ru);
		}
	}
	else if (buf[0] == WARM_MARK && !st->warm)
		st->warm = 1;
	else if (buf[0] == END_MARK)
		st->ended = 1;
}

/*
 * The receive loop shared by all implementations: @recv_some receives what
 * is there (accounting for it with got()), or returns -1 after a short
 * timeout.  A subscriber runs until it receives an end record, which the
 * publisher keeps sending after the measured records (PUB may drop some);
 * the time of its last measured record received after the publisher
 * stopped tells when its queue was drained.
 */
typedef long recv_fn(void *ctx, struct sub_state *st, long long *count);

static void sub_loop(struct sub_state *st, recv_fn *recv_some, void *ctx)
{
	long long count = 0, before, last = 0;
	struct rusage ru;

	while (!st->ended) {
		before = count;
		recv_some(ctx, st, &count);
		if (count != before) {
			/* kept current: a cold subscriber is killed at the end */
			st->count = count;
			if (sh->stop)
				st->last_ns = last = now_ns();
		}
	}
	getrusage(RUSAGE_SELF, &ru);
	st->count = count;
	st->last_ns = last;
	if (count) {
		st->sleeps += ru.ru_nvcsw;
		st->cpu_ns += ru_cpu_ns(&ru);
	}
}

/*
 * recvmmsg buffers: the record size and a little more (a longer record
 * would show), not MAX_SIZE each: 64 entries of 64 KiB would spread
 * every batch over 4 MiB, and the receiver would measure cache misses.
 */
static size_t rx_slot(void)
{
	return ((size_t)rec_size + 64 + 63) & ~(size_t)63;
}

struct xs_rx {
	int fd;
	struct mmsghdr hdr[RBATCH];
	struct iovec iov[RBATCH];
	char *bufs;
};

static long xs_recv_some(void *ctx, struct sub_state *st, long long *count)
{
	struct xs_rx *rx = ctx;
	int i, n;

	for (i = 0; i < RBATCH; i++)
		rx->hdr[i].msg_hdr.msg_flags = 0;
	n = recvmmsg(rx->fd, rx->hdr, RBATCH, MSG_WAITFORONE, NULL);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			st->err = errno;
		return -1;
	}
	for (i = 0; i < n; i++)
		got(st, rx->bufs + (size_t)i * rx_slot(), rx->hdr[i].msg_len,
		    count);
	return n;
}

static void sub_xs(struct sub_state *st)
{
	static struct xs_rx rx;
	int i;

	rx.fd = xs_sock(XSPROTO_SUB, 0);
	if (setsockopt(rx.fd, SOL_XS, XS_SUBSCRIBE, "", 0))
		die("XS_SUBSCRIBE");
	set_rcvtimeo(rx.fd, 20);
	rx.bufs = malloc((size_t)RBATCH * rx_slot());
	if (!rx.bufs)
		die("malloc");
	for (i = 0; i < RBATCH; i++) {
		rx.iov[i].iov_base = rx.bufs + (size_t)i * rx_slot();
		rx.iov[i].iov_len = rx_slot();
		rx.hdr[i].msg_hdr = (struct msghdr){ .msg_iov = &rx.iov[i],
						     .msg_iovlen = 1 };
	}
	__atomic_add_fetch(&sh->ready, 1, __ATOMIC_SEQ_CST);
	sub_loop(st, xs_recv_some, &rx);
	close(rx.fd);
}

/* The one-record-per-call receivers: libxs, AF_UNIX, libzmq. */
struct one_rx {
	int (*recv1)(struct one_rx *rx);	/* bytes, or -1 with errno */
	void *sock;
	nng_socket nsock;
	int fd;
	char buf[MAX_SIZE];
};

static long one_recv_some(void *ctx, struct sub_state *st, long long *count)
{
	struct one_rx *rx = ctx;
	int n = rx->recv1(rx);

	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			st->err = errno;
		return -1;
	}
	got(st, rx->buf, n, count);
	return 1;
}

static int lib_recv1(struct one_rx *rx)
{
	return xs_recv(rx->sock, rx->buf, sizeof(rx->buf), 0);
}

static int unix_recv1(struct one_rx *rx)
{
	return recv(rx->fd, rx->buf, sizeof(rx->buf), 0);
}

static int zmq_recv1(struct one_rx *rx)
{
	return zmq_recv(rx->sock, rx->buf, sizeof(rx->buf), 0);
}

static int nng_recv1(struct one_rx *rx)
{
	size_t sz = sizeof(rx->buf);
	int rv = nng_recv(rx->nsock, rx->buf, &sz, 0);

	if (rv) {
		errno = rv == NNG_ETIMEDOUT ? EAGAIN : EIO;
		return -1;
	}
	return (int)sz;
}

static void sub_libxs(struct sub_state *st, int remote)
{
	static struct one_rx rx = { .recv1 = lib_recv1 };
	char url[160];
	void *ctx = xs_init();
	int timeo = 20;

	if (!ctx)
		die("xs_init");
	/* libxs-q: without the receive ring, the queue read ahead */
	if (impl == IMPL_LIBXS_Q)
		setenv("LIBXS_RING", "0", 1);
	rx.sock = xs_socket(ctx, XS_SUB);
	if (!rx.sock)
		die("xs_socket");
	if (remote)
		snprintf(url, sizeof(url), "%s", tcp_url);
	else
		snprintf(url, sizeof(url), "ipc://%s", endpoint);
	if (xs_setsockopt(rx.sock, XS_SUBSCRIBE, "", 0) ||
	    xs_setsockopt(rx.sock, XS_RCVTIMEO, &timeo, sizeof(timeo)))
		die("xs_setsockopt");
	if (xs_connect(rx.sock, url) < 0)
		die("xs_connect");
	__atomic_add_fetch(&sh->ready, 1, __ATOMIC_SEQ_CST);
	sub_loop(st, one_recv_some, &rx);
	xs_close(rx.sock);
	xs_term(ctx);
}

static void sub_unix(struct sub_state *st, int idx)
{
	static struct one_rx rx = { .recv1 = unix_recv1 };
	int i;

	for (i = 0; i < nsubs; i++) {
		close(unix_fds[i][0]);
		if (i != idx)
			close(unix_fds[i][1]);
	}
	rx.fd = unix_fds[idx][1];
	set_rcvtimeo(rx.fd, 20);
	__atomic_add_fetch(&sh->ready, 1, __ATOMIC_SEQ_CST);
	sub_loop(st, one_recv_some, &rx);
	close(rx.fd);
}

static void sub_zmq(struct sub_state *st)
{
	static struct one_rx rx = { .recv1 = zmq_recv1 };
	void *ctx = zmq_ctx_new();
	int timeo = 20, linger = 0;

	if (!ctx)
		die("zmq_ctx_new");
	rx.sock = zmq_socket(ctx, ZMQ_SUB);
	if (!rx.sock)
		die("zmq_socket");
	if (zmq_setsockopt(rx.sock, ZMQ_SUBSCRIBE, "", 0) ||
	    zmq_setsockopt(rx.sock, ZMQ_RCVTIMEO, &timeo, sizeof(timeo)) ||
	    zmq_setsockopt(rx.sock, ZMQ_LINGER, &linger, sizeof(linger)))
		die("zmq_setsockopt");
	if (zmq_connect(rx.sock, endpoint))
		die("zmq_connect");
	__atomic_add_fetch(&sh->ready, 1, __ATOMIC_SEQ_CST);
	sub_loop(st, one_recv_some, &rx);
	zmq_close(rx.sock);
	zmq_ctx_term(ctx);
}

static void sub_nng(struct sub_state *st)
{
	static struct one_rx rx = { .recv1 = nng_recv1 };
	int rv;

	rv = nng_sub0_open(&rx.nsock);
	if (!rv)
		rv = nng_socket_set(rx.nsock, NNG_OPT_SUB_SUBSCRIBE, "", 0);
	if (!rv)
		rv = nng_socket_set_ms(rx.nsock, NNG_OPT_RECVTIMEO, 20);
	if (!rv)
		rv = nng_socket_set_int(rx.nsock, NNG_OPT_RECVBUF, NNG_QUEUE);
	/* in the background: a dial that times out under load retries */
	if (!rv)
		rv = nng_dial(rx.nsock, endpoint, NULL, NNG_FLAG_NONBLOCK);
	if (rv) {
		fprintf(stderr, "fanout nng: %s\n", nng_strerror(rv));
		errno = EIO;
		die("nng subscriber");
	}
	__atomic_add_fetch(&sh->ready, 1, __ATOMIC_SEQ_CST);
	sub_loop(st, one_recv_some, &rx);
	/*
	 * No nng_close(): with many subscribers, nng 1.5's close waits now
	 * and then forever on its own threads; the process exits anyway.
	 */
}

struct shm_rx {
	uint32_t idx;
};

static long shm_recv_some(void *ctx, struct sub_state *st, long long *count)
{
	struct shm_rx *rx = ctx;
	const unsigned char *p;
	uint32_t i, n, len;

	n = shr_wait_data(ring, rx->idx, 20);
	if (n > RBATCH)
		n = RBATCH;
	for (i = 0; i < n; i++) {
		p = shr_record(ring, rx->idx, i, &len);
		got(st, (const char *)p, len, count);
	}
	shr_consume(ring, rx->idx, n);
	return n ? (long)n : -1;
}

static void sub_shm(struct sub_state *st, int idx)
{
	struct shm_rx rx = { .idx = idx };

	__atomic_add_fetch(&sh->ready, 1, __ATOMIC_SEQ_CST);
	sub_loop(st, shm_recv_some, &rx);
	shr_leave(ring, idx);
}

static void run_sub(int idx)
{
	struct sub_state *st = &sh->sub[idx];
	struct timespec pause = { 0, 1000000 };

	forked = 0;			/* the siblings are not ours */
	/* a publisher killed by a timeout takes its subscribers along */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != publisher)
		_exit(1);
	/*
	 * Connect once the publisher has bound, as libzmq users do (its
	 * subscribers that connect first and retry lose their subscription
	 * now and then under emulation).
	 */
	while (!sh->bound)
		nanosleep(&pause, NULL);

	switch (impl) {
	case IMPL_XS:
		sub_xs(st);
		break;
	case IMPL_LIBXS:
	case IMPL_LIBXS_Q:
		sub_libxs(st, 0);
		break;
	case IMPL_MIX:
		sub_libxs(st, idx % 2);
		break;
	case IMPL_UNIX:
		sub_unix(st, idx);
		break;
	case IMPL_ZMQ:
	case IMPL_ZMQ_TCP:
		sub_zmq(st);
		break;
	case IMPL_NNG:
		sub_nng(st);
		break;
	case IMPL_SHM:
		sub_shm(st, idx);
		break;
	case NR_IMPLS:
		break;
	}
	_exit(0);
}

/* ---- publisher --------------------------------------------------------- */

struct pub {
	int fd;				/* xs */
	void *ctx, *sock;		/* libxs, zmq */
	nng_socket nsock;		/* nng */
	struct mmsghdr hdr[BATCH];
	struct iovec iov[BATCH];
};

static char *rec;

static void pub_open(struct pub *p)
{
	char url[160];
	int i, hwm, backlog, linger = 0;

	switch (impl) {
	case IMPL_XS:
		p->fd = xs_sock(XSPROTO_PUB, 1);
		for (i = 0; i < BATCH; i++) {
			p->iov[i].iov_base = rec;
			p->iov[i].iov_len = rec_size;
			p->hdr[i].msg_hdr = (struct msghdr){
				.msg_iov = &p->iov[i], .msg_iovlen = 1 };
		}
		break;
	case IMPL_LIBXS:
	case IMPL_LIBXS_Q:
	case IMPL_MIX:
		p->ctx = xs_init();
		p->sock = p->ctx ? xs_socket(p->ctx, XS_PUB) : NULL;
		if (!p->sock)
			die("xs_socket(XS_PUB)");
		snprintf(url, sizeof(url), "ipc://%s", endpoint);
		if (xs_bind(p->sock, url) < 0)
			die("xs_bind");
		/*
		 * As the zmq publisher: records for subscribers that have
		 * gone are not waited for at xs_term (libzmq's linger).
		 */
		if (impl == IMPL_MIX &&
		    (xs_setsockopt(p->sock, XS_LINGER, &linger,
				   sizeof(linger)) ||
		     xs_bind(p->sock, tcp_url) < 0))
			die("xs_bind(tcp)");
		break;
	case IMPL_UNIX:
		for (i = 0; i < nsubs; i++)
			close(unix_fds[i][1]);
		break;
	case IMPL_ZMQ:
	case IMPL_ZMQ_TCP:
		p->ctx = zmq_ctx_new();
		p->sock = p->ctx ? zmq_socket(p->ctx, ZMQ_PUB) : NULL;
		if (!p->sock)
			die("zmq_socket(ZMQ_PUB)");
		hwm = 1000;
		zmq_setsockopt(p->sock, ZMQ_SNDHWM, &hwm, sizeof(hwm));
		zmq_setsockopt(p->sock, ZMQ_LINGER, &linger, sizeof(linger));
		/* all subscribers knock at once: the default backlog is 100 */
		backlog = MAX_SUBS;
		zmq_setsockopt(p->sock, ZMQ_BACKLOG, &backlog, sizeof(backlog));
		if (zmq_bind(p->sock, endpoint))
			die("zmq_bind");
		break;
	case IMPL_NNG:
		i = nng_pub0_open(&p->nsock);
		if (!i)
			i = nng_socket_set_int(p->nsock, NNG_OPT_SENDBUF,
					       NNG_QUEUE);
		if (!i)
			i = nng_listen(p->nsock, endpoint, NULL, 0);
		if (i) {
			fprintf(stderr, "fanout nng: %s\n", nng_strerror(i));
			errno = EIO;
			die("nng publisher");
		}
		break;
	case IMPL_SHM:
	case NR_IMPLS:
		break;
	}
}

/*
 * Publish @n (<= BATCH) copies of rec; returns how many went out.  Errors
 * are fatal, except while ending (@ending): subscribers that have seen the
 * end go away.
 */
static int pub_send(struct pub *p, int n, int ending)
{
	uint32_t pending = 0;
	int i, r;

	switch (impl) {
	case IMPL_XS:
		/*
		 * While publishing, MSG_MORE: "more records follow soon", so
		 * sleeping subscribers are woken once per burst (at 64 queued
		 * records or a tick), as libxs sends PUB records; warm-up and
		 * end records go without it, each woken at once.
		 */
		r = sendmmsg(p->fd, p->hdr, n,
			     MSG_EOR | (n == BATCH && !ending ? MSG_MORE : 0));
		if (r < 0)
			die("sendmmsg");
		return r;
	case IMPL_LIBXS:
	case IMPL_LIBXS_Q:
	case IMPL_MIX:
		for (i = 0; i < n; i++)
			if (xs_send(p->sock, rec, rec_size, 0) != rec_size)
				die("xs_send");
		return n;
	case IMPL_UNIX:
		for (i = 0; i < n; i++)
			for (r = 0; r < nsubs; r++)
				if (send(unix_fds[r][0], rec, rec_size,
					 MSG_NOSIGNAL) != rec_size && !ending)
					die("send(AF_UNIX)");
		return n;
	case IMPL_ZMQ:
	case IMPL_ZMQ_TCP:
		for (i = 0; i < n; i++)
			if (zmq_send(p->sock, rec, rec_size, 0) != rec_size)
				die("zmq_send");
		return n;
	case IMPL_NNG:
		for (i = 0; i < n; i++) {
			r = nng_send(p->nsock, rec, rec_size, 0);
			if (r) {
				fprintf(stderr, "fanout nng: %s\n",
					nng_strerror(r));
				errno = EIO;
				die("nng_send");
			}
		}
		return n;
	case IMPL_SHM:
		/* a subscriber stuck for a minute is a failure, not a wait */
		if (shr_wait_room(ring, n, now_ns,
				  now_ns() + END_WAIT_S * 1000000000LL))
			die("ring: no room");
		for (i = 0; i < n; i++)
			shr_put(ring, &pending, rec, rec_size);
		shr_publish(ring, pending);
		return n;
	case NR_IMPLS:
		break;
	}
	return 0;
}

static void pub_close(struct pub *p)
{
	int i;

	switch (impl) {
	case IMPL_XS:
		close(p->fd);
		break;
	case IMPL_LIBXS:
	case IMPL_LIBXS_Q:
	case IMPL_MIX:
		xs_close(p->sock);
		xs_term(p->ctx);
		break;
	case IMPL_UNIX:
		for (i = 0; i < nsubs; i++)
			close(unix_fds[i][0]);
		break;
	case IMPL_ZMQ:
	case IMPL_ZMQ_TCP:
		zmq_close(p->sock);
		zmq_ctx_term(p->ctx);
		break;
	case IMPL_NNG:
		nng_close(p->nsock);
		break;
	case IMPL_SHM:
	case NR_IMPLS:
		break;
	}
}

/* CPU time of this process (all threads), and its context switches. */
static long long cpu_ns(long long *switches)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	*switches = ru.ru_nvcsw + ru.ru_nivcsw;
	return ru_cpu_ns(&ru);
}

static int count_warm(void)
{
	int i, n = 0;

	for (i = 0; i < nsubs; i++)
		n += !!sh->sub[i].warm;
	return n;
}

static int all_warm(void)
{
	return count_warm() == nsubs;
}

/* Have all warm subscribers seen the end?  Counts the cold ones. */
static int all_ended(int *cold)
{
	int i, ended = 1;

	*cold = 0;
	for (i = 0; i < nsubs; i++) {
		if (!sh->sub[i].warm)
			(*cold)++;
		else if (!sh->sub[i].ended)
			ended = 0;
	}
	return ended;
}

static void usage(void)
{
	fprintf(stderr, "usage: fanout -i xs|libxs|libxs-q|unix|zmq|nng|shm|libxs-mix|zmq-tcp -n SUBS "
		"-s SIZE "
		"[-d MS] [-H]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	long long t0, t_end, cpu0, cpu1, published = 0, delivered = 0, last;
	long long deadline, cs0, cs1, sleeps = 0, sub_cpu = 0;
	struct timespec pause = { 0, 1000000 }, warm_pause = { 0, 5000000 };
	static struct pub p;
	int i, c, header = 0, status, failed = 0, cold = 0;
	double secs;

	impl = NR_IMPLS;
	while ((c = getopt(argc, argv, "i:n:s:d:H")) != -1) {
		switch (c) {
		case 'i':
			for (i = 0; i < NR_IMPLS; i++)
				if (!strcmp(optarg, impl_names[i]))
					impl = i;
			break;
		case 'n':
			nsubs = atoi(optarg);
			break;
		case 's':
			rec_size = atoi(optarg);
			break;
		case 'd':
			duration_ms = atoi(optarg);
			break;
		case 'H':
			header = 1;
			break;
		default:
			usage();
		}
	}
	if (impl == NR_IMPLS || nsubs < 1 || nsubs > MAX_SUBS || rec_size < 1 ||
	    rec_size > MAX_SIZE || duration_ms < 1)
		usage();
	if (header)
		printf("impl,subs,size,published,delivered,seconds,"
		       "delivered_per_s,pub_cpu_ns_per_record,"
		       "delivered_fraction,pub_switches_per_record,"
		       "sub_sleeps_per_delivered,cold_subs,"
		       "sub_cpu_ns_per_delivered\n");
	fflush(stdout);
	signal(SIGPIPE, SIG_IGN);
	publisher = getpid();

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap");
	rec = malloc(rec_size);
	if (!rec)
		die("malloc");
	memset(rec, 'x', rec_size);

	if (impl == IMPL_ZMQ || impl == IMPL_NNG)
		snprintf(endpoint, sizeof(endpoint), "ipc:///tmp/fanout.%s.%d",
			 impl_names[impl], (int)getpid());
	else
		snprintf(endpoint, sizeof(endpoint), "bench.fanout.%d",
			 (int)getpid());
	snprintf(tcp_url, sizeof(tcp_url), "tcp://127.0.0.1:%d",
		 20000 + (int)getpid() % 20000);
	if (impl == IMPL_ZMQ_TCP)
		snprintf(endpoint, sizeof(endpoint), "%s", tcp_url);
	if (impl == IMPL_UNIX)
		for (i = 0; i < nsubs; i++)
			if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, unix_fds[i]))
				die("socketpair");
	if (impl == IMPL_SHM) {
		ring = shr_create(RING_SLOTS, rec_size, nsubs);
		if (!ring)
			die("shr_create");
	}

	/* subscribers first, then the publisher binds, then they connect */
	for (i = 0; i < nsubs; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			die("fork");
		if (!pids[i])
			run_sub(i);
		forked++;
	}
	pub_open(&p);
	sh->bound = 1;
	deadline = now_ns() + 60000000000LL;
	while (sh->ready < nsubs) {
		if (now_ns() > deadline)
			die("subscribers never got ready");
		if (waitpid(-1, &status, WNOHANG) > 0)
			die("a subscriber failed");
		nanosleep(&pause, NULL);
	}

	/*
	 * Warm up until every subscription has reached the publisher.  Under
	 * emulation a few libzmq subscribers at N = 256 may never get there:
	 * after WARM_WAIT_S the run goes on without them ("cold" column).
	 */
	rec[0] = WARM_MARK;
	deadline = now_ns() + WARM_WAIT_S * 1000000000LL;
	while (!all_warm()) {
		if (now_ns() > deadline) {
			if (!count_warm())
				die("warm-up reached no subscriber");
			break;
		}
		if (waitpid(-1, &status, WNOHANG) > 0)
			die("a subscriber failed");
		pub_send(&p, 1, 0);
		nanosleep(&warm_pause, NULL);
	}

	rec[0] = MEAS_MARK;
	t0 = now_ns();
	cpu0 = cpu_ns(&cs0);
	t_end = t0 + duration_ms * 1000000LL;
	do {
		published += pub_send(&p, BATCH, 0);
	} while (now_ns() < t_end);
	cpu1 = cpu_ns(&cs1);
	sh->stop = 1;

	/* end records until every subscriber has drained and seen one */
	rec[0] = END_MARK;
	deadline = now_ns() + END_WAIT_S * 1000000000LL;
	while (!all_ended(&cold)) {
		if (now_ns() > deadline) {
			errno = ETIMEDOUT;
			die("subscribers did not drain");
		}
		pub_send(&p, 1, 1);
		nanosleep(&warm_pause, NULL);
	}

	for (i = 0; i < nsubs; i++) {
		if (!sh->sub[i].warm) {
			kill(pids[i], SIGKILL);
			waitpid(pids[i], &status, 0);
		} else if (waitpid(pids[i], &status, 0) != pids[i] ||
			   !WIFEXITED(status) || WEXITSTATUS(status)) {
			failed++;
		}
	}
	forked = 0;
	pub_close(&p);
	if (impl == IMPL_ZMQ || impl == IMPL_NNG)
		unlink(endpoint + strlen("ipc://"));

	last = t_end;
	for (i = 0; i < nsubs; i++) {
		delivered += sh->sub[i].count;
		sleeps += sh->sub[i].sleeps;
		sub_cpu += sh->sub[i].cpu_ns;
		if (sh->sub[i].last_ns > last)
			last = sh->sub[i].last_ns;
		if (sh->sub[i].err)
			fprintf(stderr, "fanout: subscriber %d: %s\n", i,
				strerror(sh->sub[i].err));
	}
	if (failed)
		fprintf(stderr, "fanout: %d subscribers failed\n", failed);
	secs = (last - t0) / 1e9;
	printf("%s,%d,%d,%lld,%lld,%.3f,%.0f,%.1f,%.4f,%.4f,%.4f,%d,%.1f\n",
	       impl_names[impl], nsubs, rec_size, published, delivered, secs,
	       delivered / secs,
	       (double)(cpu1 - cpu0) / (published ? published : 1),
	       (double)delivered / ((double)published * nsubs),
	       (double)(cs1 - cs0) / (published ? published : 1),
	       (double)sleeps / (delivered ? delivered : 1), cold,
	       (double)sub_cpu / (delivered ? delivered : 1));
	return failed ? 1 : 0;
}
