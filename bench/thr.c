// SPDX-License-Identifier: GPL-2.0
/*
 * thr: one PUSH, one PULL, one record size; how many records per second
 * get from one process to the other (the measure of ZeroMQ's
 * local_thr/remote_thr pair, both halves in one program).
 *
 *   thr -i IMPL -s SIZE [-n RECORDS] [-d MS] [-H]
 *
 *   IMPL  xs     AF_XS PUSH/PULL with plain syscalls: the sender sends
 *                batches of 32 records with one sendmmsg(MSG_EOR), the
 *                receiver drains with recvmmsg(MSG_WAITFORONE, 64 entries)
 *         libxs  the same sockets through libxs (xs_send / xs_recv)
 *         unix   the hand-written alternative: an AF_UNIX SOCK_SEQPACKET
 *                socketpair, send(2) and recv(2) one record per call
 *         zmq    libzmq PUSH/PULL over ipc:// (zmq_send / zmq_recv)
 *         nng    nng push0/pull0 over ipc:// (nng_send / nng_recv)
 *         shm    the limit: a shared-memory ring (bench/shmring.h), one
 *                copy per record and at most one futex wake-up per batch
 *                of 32
 *   -n    records at most (default 10000000)
 *   -d    the sender stops sending after this many ms (default 1000)
 *   -H    print the CSV header first
 *
 * The receiver (the parent) binds, the sender (a forked child) connects
 * and sends records until it has sent RECORDS or its time is up, then one
 * end record.  The receiver's clock starts at the first record and stops
 * at the end record, as local_thr's does; it checks every record's size
 * and that it received every record sent (PUSH/PULL loses nothing).
 *
 * Output, one CSV line:
 *   impl,size,records,seconds,records_per_s,mb_per_s,
 *   send_cpu_ns_per_record,recv_cpu_ns_per_record,recv_sleeps_per_record
 * CPU is getrusage(RUSAGE_SELF) of each process (library threads
 * included) from its first record to its last; "sleeps" are the
 * receiver's voluntary context switches (it blocked and was woken).  MB
 * is 10^6 bytes of record payload.  It asserts nothing about speed; it
 * exits non-zero when a record is lost, has the wrong size, or a call
 * fails.
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
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <linux/xs.h>
#include <xs.h>
#include <zmq.h>
#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>

#include "shmring.h"

#define MAX_SIZE	65536
#define BATCH		32	/* records per sendmmsg / ring publish */
#define RBATCH		64	/* entries per recvmmsg */
#define RING_SLOTS	1024	/* about XS_HWM_DEFAULT records */
#define DATA_MARK	'M'
#define END_MARK	'E'

enum impl { IMPL_XS, IMPL_LIBXS, IMPL_UNIX, IMPL_ZMQ, IMPL_NNG, IMPL_SHM,
	    NR_IMPLS };
static const char *const impl_names[] = { "xs", "libxs", "unix", "zmq",
					  "nng", "shm" };

struct shared {
	volatile int bound;		/* the receiver is listening */
	long long sent;			/* records sent (not the end one) */
	long long send_cpu_ns;
};

/* One end of the link, whatever carries it. */
struct end {
	int fd;				/* xs, unix */
	void *ctx, *sock;		/* libxs, zmq */
	nng_socket nsock;		/* nng */
	struct mmsghdr hdr[RBATCH];
	struct iovec iov[RBATCH];
	char *bufs;
};

static enum impl impl = NR_IMPLS;
static int rec_size;
static struct shared *sh;
static struct shmring *ring;
static int unix_sv[2] = { -1, -1 };
static char name[64];			/* AF_XS name, ipc path */

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "thr %s s=%d: %s: %s\n", impl_names[impl], rec_size,
		what, strerror(errno));
	exit(1);
}

static void nng_die(const char *what, int rv)
{
	fprintf(stderr, "thr nng s=%d: %s: %s\n", rec_size, what,
		nng_strerror(rv));
	exit(1);
}

static long long cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
}

static long sleeps(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_nvcsw;
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

/*
 * recvmmsg buffers: the record size and a little more (a longer record
 * would show), not MAX_SIZE each: 64 entries of 64 KiB would spread
 * every batch over 4 MiB, and the receiver would measure cache misses.
 */
static size_t rx_slot(void)
{
	return ((size_t)rec_size + 64 + 63) & ~(size_t)63;
}

/* Open our end: the receiver binds (PULL), the sender connects (PUSH). */
static void open_end(struct end *e, int receiver)
{
	char url[128];
	int rv, i;

	switch (impl) {
	case IMPL_XS: {
		struct sockaddr_xs sa = { .sxs_family = xs_family() };
		socklen_t len = offsetof(struct sockaddr_xs, sxs_name) +
				strlen(name);

		memcpy(sa.sxs_name, name, strlen(name));
		e->fd = socket(sa.sxs_family, SOCK_SEQPACKET,
			       receiver ? XSPROTO_PULL : XSPROTO_PUSH);
		if (e->fd < 0)
			die("socket(AF_XS)");
		if ((receiver ? bind : connect)(e->fd, (struct sockaddr *)&sa,
						len))
			die(receiver ? "bind" : "connect");
		break;
	}
	case IMPL_LIBXS:
		snprintf(url, sizeof(url), "ipc://%s", name);
		e->ctx = xs_init();
		e->sock = e->ctx ? xs_socket(e->ctx, receiver ? XS_PULL :
						     XS_PUSH) : NULL;
		if (!e->sock)
			die("xs_socket");
		if ((receiver ? xs_bind : xs_connect)(e->sock, url) < 0)
			die(receiver ? "xs_bind" : "xs_connect");
		break;
	case IMPL_UNIX:
		e->fd = unix_sv[receiver];
		close(unix_sv[!receiver]);
		break;
	case IMPL_ZMQ:
		snprintf(url, sizeof(url), "ipc:///tmp/%s.zmq", name);
		e->ctx = zmq_ctx_new();
		e->sock = e->ctx ? zmq_socket(e->ctx, receiver ? ZMQ_PULL :
						      ZMQ_PUSH) : NULL;
		if (!e->sock)
			die("zmq_socket");
		if ((receiver ? zmq_bind : zmq_connect)(e->sock, url))
			die(receiver ? "zmq_bind" : "zmq_connect");
		break;
	case IMPL_NNG:
		snprintf(url, sizeof(url), "ipc:///tmp/%s.nng", name);
		rv = receiver ? nng_pull0_open(&e->nsock) :
				nng_push0_open(&e->nsock);
		if (rv)
			nng_die("open", rv);
		/*
		 * Queues of about libzmq's default HWM on both sides (nng's
		 * defaults are 0 and 128 messages); not every release takes
		 * them, so a refusal is not an error.
		 */
		nng_socket_set_int(e->nsock, receiver ? NNG_OPT_RECVBUF :
					     NNG_OPT_SENDBUF, 1000);
		rv = receiver ? nng_listen(e->nsock, url, NULL, 0) :
				nng_dial(e->nsock, url, NULL, 0);
		if (rv)
			nng_die(receiver ? "nng_listen" : "nng_dial", rv);
		break;
	case IMPL_SHM:
	case NR_IMPLS:
		break;
	}
	if (receiver && impl == IMPL_XS) {
		e->bufs = malloc((size_t)RBATCH * rx_slot());
		if (!e->bufs)
			die("malloc");
		for (i = 0; i < RBATCH; i++) {
			e->iov[i].iov_base = e->bufs + (size_t)i * rx_slot();
			e->iov[i].iov_len = rx_slot();
			e->hdr[i].msg_hdr = (struct msghdr){
				.msg_iov = &e->iov[i], .msg_iovlen = 1 };
		}
	}
}

static void close_end(struct end *e)
{
	switch (impl) {
	case IMPL_XS:
	case IMPL_UNIX:
		close(e->fd);
		break;
	case IMPL_LIBXS:
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

/* ---- sender ------------------------------------------------------------ */

/* Send @n (<= BATCH) copies of @rec, all of them. */
static void send_batch(struct end *e, const char *rec, int n)
{
	static struct mmsghdr hdr[BATCH];
	static struct iovec iov[BATCH];
	uint32_t pending = 0;
	int i, r, done;

	switch (impl) {
	case IMPL_XS:
		for (i = 0; i < n; i++) {
			iov[i] = (struct iovec){ (void *)rec, rec_size };
			hdr[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i],
							  .msg_iovlen = 1 };
		}
		for (done = 0; done < n; done += r) {
			r = sendmmsg(e->fd, hdr + done, n - done, MSG_EOR);
			if (r <= 0)
				die("sendmmsg");
		}
		break;
	case IMPL_LIBXS:
		for (i = 0; i < n; i++)
			if (xs_send(e->sock, rec, rec_size, 0) != rec_size)
				die("xs_send");
		break;
	case IMPL_UNIX:
		for (i = 0; i < n; i++)
			if (send(e->fd, rec, rec_size, 0) != rec_size)
				die("send(AF_UNIX)");
		break;
	case IMPL_ZMQ:
		for (i = 0; i < n; i++)
			if (zmq_send(e->sock, rec, rec_size, 0) != rec_size)
				die("zmq_send");
		break;
	case IMPL_NNG:
		for (i = 0; i < n; i++) {
			r = nng_send(e->nsock, (void *)rec, rec_size, 0);
			if (r)
				nng_die("nng_send", r);
		}
		break;
	case IMPL_SHM:
		if (shr_wait_room(ring, n, now_ns, 0))
			die("ring");
		for (i = 0; i < n; i++)
			shr_put(ring, &pending, rec, rec_size);
		shr_publish(ring, pending);
		break;
	case NR_IMPLS:
		break;
	}
}

static void sender(long long max, int ms)
{
	struct timespec pause = { 0, 1000000 };
	long long sent = 0, deadline, cpu0;
	static struct end e;
	char *rec = malloc(rec_size);
	int n;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (!rec)
		die("malloc");
	memset(rec, 'x', rec_size);
	while (!sh->bound)
		nanosleep(&pause, NULL);
	open_end(&e, 0);

	rec[0] = DATA_MARK;
	cpu0 = cpu_ns();
	deadline = now_ns() + ms * 1000000LL;
	while (sent < max) {
		n = max - sent < BATCH ? (int)(max - sent) : BATCH;
		send_batch(&e, rec, n);
		sent += n;
		if (now_ns() >= deadline)
			break;
	}
	sh->send_cpu_ns = cpu_ns() - cpu0;
	sh->sent = sent;
	rec[0] = END_MARK;
	send_batch(&e, rec, 1);
	/* the receiver closes first: libraries may drop what is unsent */
	while (sh->bound)
		nanosleep(&pause, NULL);
	close_end(&e);
	_exit(0);
}

/* ---- receiver ---------------------------------------------------------- */

struct tally {
	long long count, bad;
	long long t0, t1, cpu0, sleeps0;
	int ended;
};

static void got(struct tally *t, const char *buf, long len)
{
	if (len < 1 || len != rec_size) {
		t->bad++;
		return;
	}
	if (buf[0] == END_MARK) {
		t->t1 = now_ns();
		t->ended = 1;
		return;
	}
	if (!t->count++) {
		t->t0 = now_ns();
		t->cpu0 = cpu_ns();
		t->sleeps0 = sleeps();
	}
}

static void receive(struct end *e, struct tally *t)
{
	static char buf[MAX_SIZE];
	const unsigned char *p;
	uint32_t n, i, len;
	size_t sz;
	int r;

	switch (impl) {
	case IMPL_XS:
		for (i = 0; i < RBATCH; i++)
			e->hdr[i].msg_hdr.msg_flags = 0;
		r = recvmmsg(e->fd, e->hdr, RBATCH, MSG_WAITFORONE, NULL);
		if (r < 0)
			die("recvmmsg");
		for (i = 0; i < (uint32_t)r && !t->ended; i++)
			got(t, e->bufs + (size_t)i * rx_slot(),
			    e->hdr[i].msg_len);
		break;
	case IMPL_LIBXS:
		r = xs_recv(e->sock, buf, sizeof(buf), 0);
		if (r < 0)
			die("xs_recv");
		got(t, buf, r);
		break;
	case IMPL_UNIX:
		r = recv(e->fd, buf, sizeof(buf), 0);
		if (r <= 0)
			die("recv(AF_UNIX)");
		got(t, buf, r);
		break;
	case IMPL_ZMQ:
		r = zmq_recv(e->sock, buf, sizeof(buf), 0);
		if (r < 0)
			die("zmq_recv");
		got(t, buf, r);
		break;
	case IMPL_NNG:
		sz = sizeof(buf);
		r = nng_recv(e->nsock, buf, &sz, 0);
		if (r)
			nng_die("nng_recv", r);
		got(t, buf, (long)sz);
		break;
	case IMPL_SHM:
		n = shr_wait_data(ring, 0, 1000);
		for (i = 0; i < n && !t->ended; i++) {
			p = shr_record(ring, 0, i, &len);
			got(t, (const char *)p, len);
		}
		shr_consume(ring, 0, n);
		break;
	case NR_IMPLS:
		break;
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: thr -i xs|libxs|unix|zmq|nng|shm -s SIZE "
		"[-n RECORDS] [-d MS] [-H]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	long long max = 10000000, recv_cpu, recv_sleeps;
	int c, i, ms = 1000, header = 0, status;
	struct tally t = { 0 };
	static struct end e;
	double secs;
	pid_t pid;

	while ((c = getopt(argc, argv, "i:s:n:d:H")) != -1) {
		switch (c) {
		case 'i':
			for (i = 0; i < NR_IMPLS; i++)
				if (!strcmp(optarg, impl_names[i]))
					impl = i;
			break;
		case 's':
			rec_size = atoi(optarg);
			break;
		case 'n':
			max = atoll(optarg);
			break;
		case 'd':
			ms = atoi(optarg);
			break;
		case 'H':
			header = 1;
			break;
		default:
			usage();
		}
	}
	if (impl == NR_IMPLS || rec_size < 1 || rec_size > MAX_SIZE ||
	    max < 1 || ms < 1)
		usage();
	if (header)
		printf("impl,size,records,seconds,records_per_s,mb_per_s,"
		       "send_cpu_ns_per_record,recv_cpu_ns_per_record,"
		       "recv_sleeps_per_record\n");
	fflush(stdout);
	/* a peer that hangs must not hang the benchmark */
	alarm(60 + ms / 1000 * 2);

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap");
	snprintf(name, sizeof(name), "bench.thr.%d", (int)getpid());
	if (impl == IMPL_UNIX &&
	    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, unix_sv))
		die("socketpair");
	if (impl == IMPL_SHM) {
		ring = shr_create(RING_SLOTS, rec_size, 1);
		if (!ring)
			die("shr_create");
	}

	pid = fork();
	if (pid < 0)
		die("fork");
	if (!pid)
		sender(max, ms);

	open_end(&e, 1);
	sh->bound = 1;
	while (!t.ended)
		receive(&e, &t);
	recv_cpu = cpu_ns() - t.cpu0;
	recv_sleeps = sleeps() - t.sleeps0;
	sh->bound = 0;
	close_end(&e);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		fprintf(stderr, "thr %s s=%d: the sender failed\n",
			impl_names[impl], rec_size);
		return 1;
	}
	if (impl == IMPL_ZMQ || impl == IMPL_NNG) {
		char path[128];

		snprintf(path, sizeof(path), "/tmp/%s.%s", name,
			 impl_names[impl]);
		unlink(path);
	}
	if (t.bad || t.count != sh->sent) {
		fprintf(stderr, "thr %s s=%d: received %lld records (%lld of "
			"the wrong size), sent %lld\n", impl_names[impl],
			rec_size, t.count, t.bad, sh->sent);
		return 1;
	}
	secs = (t.t1 - t.t0) / 1e9;
	if (secs <= 0)
		secs = 1e-9;
	printf("%s,%d,%lld,%.9f,%.0f,%.2f,%.1f,%.1f,%.4f\n", impl_names[impl],
	       rec_size, t.count, secs, t.count / secs,
	       t.count / secs * rec_size / 1e6,
	       (double)sh->send_cpu_ns / t.count, (double)recv_cpu / t.count,
	       (double)recv_sleeps / t.count);
	return 0;
}
