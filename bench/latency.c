// SPDX-License-Identifier: GPL-2.0
/*
 * latency: REQ/REP round trips between two processes, one message size;
 * how long a request and its reply take, as seen by the requester.
 *
 *   latency -i IMPL -s SIZE [-n ROUNDS] [-w WARMUP] [-c CPUS] [-H]
 *
 *   IMPL  xs     AF_XS REQ/REP with plain syscalls: send(MSG_EOR) of the
 *                request, recv of the reply (the kernel adds and strips
 *                the envelope)
 *         libxs  the same sockets through libxs (xs_send / xs_recv)
 *         unix   the hand-written alternative: an AF_UNIX SOCK_SEQPACKET
 *                socketpair, send and recv in turn
 *         zmq    libzmq REQ/REP over ipc:// (zmq_send / zmq_recv)
 *         nng    nng req0/rep0 over ipc:// (nng_send / nng_recv)
 *         libxs-pair  libxs PAIR sockets: each message is one record to
 *                one reader, which takes it from its receive ring
 *                (XS_RX_RING); half a round trip is what one record
 *                takes to reach a subscriber through its ring
 *         libxs-spin  the same with LIBXS_SPIN=16: a reader that finds
 *                its ring empty yields the CPU up to 16 times before it
 *                sleeps
 *         shm    the limit: two shared-memory rings (bench/shmring.h),
 *                one each way; a message is one copy into the ring and
 *                one futex wake-up when the other side sleeps
 *   -n    measured round trips (default 10000)
 *   -w    round trips before measuring (default 1000)
 *   -c    where the two processes run: "same" (both pinned to CPU 0),
 *         "split" (requester on CPU 0, replier on CPU 1) or "any" (the
 *         scheduler decides; default)
 *   -H    print the CSV header first
 *
 * The replier is a forked child that echoes every request back; the
 * requester (the parent) times each round trip with CLOCK_MONOTONIC, from
 * before its send to after its receive returned the whole reply.
 *
 * Output, one CSV line:
 *   impl,size,cpus,rounds,mean_us,p50_us,p99_us,min_us,max_us
 * It asserts nothing about speed; it exits non-zero only when a round
 * trip fails or a reply has the wrong size.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sched.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <linux/xs.h>
#include <xs.h>
#include <zmq.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "shmring.h"

#define MAX_SIZE	65536

enum impl { IMPL_XS, IMPL_LIBXS, IMPL_UNIX, IMPL_ZMQ, IMPL_NNG, IMPL_SHM,
	    IMPL_LIBXS_PAIR, IMPL_LIBXS_SPIN, NR_IMPLS };
static const char *const impl_names[] = { "xs", "libxs", "unix", "zmq",
					  "nng", "shm", "libxs-pair",
					  "libxs-spin" };

/* One end of a REQ/REP link, whatever carries it. */
struct end {
	enum impl impl;
	int fd;			/* xs, unix */
	void *ctx, *sock;	/* libxs, zmq */
	nng_socket nsock;	/* nng */
	struct shmring *tx, *rx;	/* shm: ours to write, to read */
	const void *view;	/* shm: the record recv_msg() found */
};

/* shm: the requests' ring and the replies', shared before fork */
static struct shmring *req_ring, *rep_ring;

static void die(const char *what)
{
	fprintf(stderr, "latency: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int xs_family(void)
{
	FILE *f = fopen(XS_FAMILY_PARAM_PATH, "r");
	int v = AF_XS_DEFAULT;

	if (f) {
		if (fscanf(f, "%d", &v) != 1 || v <= 0)
			v = AF_XS_DEFAULT;
		fclose(f);
	}
	return v;
}

static void nng_die(const char *what, int rv)
{
	fprintf(stderr, "latency: %s: %s\n", what, nng_strerror(rv));
	exit(1);
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Open our end; @replier binds where the transport has names. */
static void open_end(struct end *e, int replier, const char *name,
		     int unix_fd)
{
	char addr[128];

	switch (e->impl) {
	case IMPL_XS: {
		struct sockaddr_xs sa = { .sxs_family = xs_family() };
		socklen_t len = offsetof(struct sockaddr_xs, sxs_name) +
				strlen(name);

		memcpy(sa.sxs_name, name, strlen(name));
		e->fd = socket(sa.sxs_family, SOCK_SEQPACKET,
			       replier ? XSPROTO_REP : XSPROTO_REQ);
		if (e->fd < 0)
			die("socket(AF_XS)");
		if ((replier ? bind : connect)(e->fd, (struct sockaddr *)&sa,
					       len))
			die(replier ? "bind" : "connect");
		break;
	}
	case IMPL_LIBXS:
	case IMPL_LIBXS_PAIR:
	case IMPL_LIBXS_SPIN:
		snprintf(addr, sizeof(addr), "ipc://%s", name);
		e->ctx = xs_init();
		if (!e->ctx)
			die("xs_init");
		e->sock = xs_socket(e->ctx, e->impl != IMPL_LIBXS ? XS_PAIR :
				    replier ? XS_REP : XS_REQ);
		if (!e->sock)
			die("xs_socket");
		if ((replier ? xs_bind : xs_connect)(e->sock, addr) < 0)
			die(replier ? "xs_bind" : "xs_connect");
		break;
	case IMPL_UNIX:
		e->fd = unix_fd;
		break;
	case IMPL_ZMQ:
		snprintf(addr, sizeof(addr), "ipc:///tmp/%s.ipc", name);
		e->ctx = zmq_ctx_new();
		if (!e->ctx)
			die("zmq_ctx_new");
		e->sock = zmq_socket(e->ctx, replier ? ZMQ_REP : ZMQ_REQ);
		if (!e->sock)
			die("zmq_socket");
		if ((replier ? zmq_bind : zmq_connect)(e->sock, addr))
			die(replier ? "zmq_bind" : "zmq_connect");
		break;
	case IMPL_NNG: {
		int rv;

		snprintf(addr, sizeof(addr), "ipc:///tmp/%s.nng", name);
		rv = replier ? nng_rep0_open(&e->nsock) :
			       nng_req0_open(&e->nsock);
		if (rv)
			nng_die("open", rv);
		/* the requester dials in the background until REP listens */
		rv = replier ? nng_listen(e->nsock, addr, NULL, 0) :
			       nng_dial(e->nsock, addr, NULL,
					NNG_FLAG_NONBLOCK);
		if (rv)
			nng_die(replier ? "nng_listen" : "nng_dial", rv);
		break;
	}
	case IMPL_SHM:
		e->tx = replier ? rep_ring : req_ring;
		e->rx = replier ? req_ring : rep_ring;
		break;
	case NR_IMPLS:
		break;
	}
}

static void close_end(struct end *e)
{
	switch (e->impl) {
	case IMPL_XS:
	case IMPL_UNIX:
		close(e->fd);
		break;
	case IMPL_LIBXS:
	case IMPL_LIBXS_PAIR:
	case IMPL_LIBXS_SPIN:
		xs_close(e->sock);
		xs_term(e->ctx);
		break;
	case IMPL_ZMQ:
		zmq_close(e->sock);
		zmq_ctx_term(e->ctx);
		break;
	case IMPL_NNG:
		nng_close(e->nsock);
		break;
	case IMPL_SHM:
	case NR_IMPLS:
		break;
	}
}

static ssize_t send_msg(struct end *e, const void *buf, size_t len)
{
	uint32_t pending = 0;
	int rv;

	switch (e->impl) {
	case IMPL_XS:
		return send(e->fd, buf, len, MSG_EOR);
	case IMPL_UNIX:
		return send(e->fd, buf, len, 0);
	case IMPL_LIBXS:
	case IMPL_LIBXS_PAIR:
	case IMPL_LIBXS_SPIN:
		return xs_send(e->sock, buf, len, 0);
	case IMPL_NNG:
		rv = nng_send(e->nsock, (void *)buf, len, 0);
		if (rv)
			nng_die("nng_send", rv);
		return len;
	case IMPL_SHM:
		if (shr_wait_room(e->tx, 1, now_ns, 0))
			return -1;
		shr_put(e->tx, &pending, buf, len);
		shr_publish(e->tx, pending);
		return len;
	default:
		return zmq_send(e->sock, buf, len, 0);
	}
}

/*
 * Returns the message's size, 0 when the peer is gone, -1 on error.  shm
 * copies nothing: the message stays in the ring at e->view until
 * recv_done().
 */
static ssize_t recv_msg(struct end *e, void *buf, size_t len)
{
	uint32_t n;
	size_t sz;
	int rv;

	switch (e->impl) {
	case IMPL_XS:
	case IMPL_UNIX:
		return recv(e->fd, buf, len, 0);
	case IMPL_LIBXS:
	case IMPL_LIBXS_PAIR:
	case IMPL_LIBXS_SPIN:
		return xs_recv(e->sock, buf, len, 0);
	case IMPL_NNG:
		sz = len;
		rv = nng_recv(e->nsock, buf, &sz, 0);
		if (rv)
			nng_die("nng_recv", rv);
		return sz;
	case IMPL_SHM:
		while (!shr_wait_data(e->rx, 0, 1000))
			;
		e->view = shr_record(e->rx, 0, 0, &n);
		return n;
	default:
		return zmq_recv(e->sock, buf, len, 0);
	}
}

/* Done with what recv_msg() returned (shm: hand its slot back). */
static void recv_done(struct end *e)
{
	if (e->impl == IMPL_SHM)
		shr_consume(e->rx, 0, 1);
}

/* The child: echo each request until an empty one (or the parent's end). */
static void replier(struct end *e, char *buf)
{
	ssize_t n;

	for (;;) {
		n = recv_msg(e, buf, MAX_SIZE);
		if (n < 0)
			die("replier recv");
		if (send_msg(e, e->impl == IMPL_SHM ? e->view : buf, n) != n)
			die("replier send");
		recv_done(e);
		if (n == 0)
			break;
	}
}

static void pin(const char *cpus, int replier)
{
	cpu_set_t set;

	if (!strcmp(cpus, "any"))
		return;
	CPU_ZERO(&set);
	CPU_SET(!strcmp(cpus, "split") && replier, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity");
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int impl = -1, size = 64, rounds = 10000, warmup = 1000, header = 0;
	int sv[2] = { -1, -1 }, status, opt, i;
	static char buf[MAX_SIZE], reply[MAX_SIZE];
	long long *rtt, t0, sum = 0;
	const char *cpus = "any";
	struct end e = {};
	char name[64], path[128];
	pid_t pid;

	while ((opt = getopt(argc, argv, "i:s:n:w:c:H")) != -1) {
		switch (opt) {
		case 'i':
			for (i = 0; i < NR_IMPLS; i++)
				if (!strcmp(optarg, impl_names[i]))
					impl = i;
			break;
		case 's':
			size = atoi(optarg);
			break;
		case 'n':
			rounds = atoi(optarg);
			break;
		case 'w':
			warmup = atoi(optarg);
			break;
		case 'c':
			cpus = optarg;
			break;
		case 'H':
			header = 1;
			break;
		default:
			goto usage;
		}
	}
	if (impl < 0 || size < 1 || size > MAX_SIZE || rounds < 1 ||
	    warmup < 0 || (strcmp(cpus, "same") && strcmp(cpus, "split") &&
			   strcmp(cpus, "any")))
		goto usage;
	if (header)
		printf("impl,size,cpus,rounds,mean_us,p50_us,p99_us,min_us,max_us\n");

	e.impl = impl;
	/* both processes: libxs reads it when it maps a socket's ring */
	if (impl == IMPL_LIBXS_SPIN)
		setenv("LIBXS_SPIN", "16", 1);
	snprintf(name, sizeof(name), "latency.%d", (int)getpid());
	if (impl == IMPL_UNIX &&
	    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv))
		die("socketpair");
	if (impl == IMPL_SHM) {
		req_ring = shr_create(16, size, 1);
		rep_ring = shr_create(16, size, 1);
		if (!req_ring || !rep_ring)
			die("shr_create");
	}
	rtt = calloc(rounds, sizeof(*rtt));
	if (!rtt)
		die("calloc");
	memset(buf, 'r', size);

	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		pin(cpus, 1);
		if (impl == IMPL_UNIX)
			close(sv[0]);
		open_end(&e, 1, name, sv[1]);
		replier(&e, reply);
		close_end(&e);
		_exit(0);
	}
	pin(cpus, 0);
	if (impl == IMPL_UNIX)
		close(sv[1]);
	/* REQ connects; AF_XS and libxs queue until the replier binds */
	open_end(&e, 0, name, sv[0]);

	for (i = -warmup; i < rounds; i++) {
		ssize_t n;

		t0 = now_ns();
		if (send_msg(&e, buf, size) != size)
			die("send");
		n = recv_msg(&e, reply, sizeof(reply));
		recv_done(&e);
		if (n != size) {
			fprintf(stderr, "latency: reply of %zd bytes, sent %d\n",
				n, size);
			kill(pid, SIGKILL);
			return 1;
		}
		if (i >= 0)
			rtt[i] = now_ns() - t0;
	}
	/* an empty request ends the replier */
	if (send_msg(&e, buf, 0) != 0 || recv_msg(&e, reply, 1) != 0)
		die("end");
	recv_done(&e);
	close_end(&e);
	if (impl == IMPL_ZMQ || impl == IMPL_NNG) {
		snprintf(path, sizeof(path), "/tmp/%s.%s", name,
			 impl == IMPL_ZMQ ? "ipc" : "nng");
		unlink(path);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		return 1;

	for (i = 0; i < rounds; i++)
		sum += rtt[i];
	qsort(rtt, rounds, sizeof(*rtt), cmp_ll);
	printf("%s,%d,%s,%d,%.2f,%.2f,%.2f,%.2f,%.2f\n", impl_names[impl],
	       size, cpus, rounds, sum / 1e3 / rounds, rtt[rounds / 2] / 1e3,
	       rtt[(long long)rounds * 99 / 100] / 1e3, rtt[0] / 1e3,
	       rtt[rounds - 1] / 1e3);
	free(rtt);
	return 0;

usage:
	fprintf(stderr, "usage: latency -i xs|libxs|libxs-pair|libxs-spin|unix|zmq|nng|shm -s SIZE [-n ROUNDS] [-w WARMUP] [-c same|split|any] [-H]\n");
	return 2;
}
