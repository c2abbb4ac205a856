// SPDX-License-Identifier: GPL-2.0
/*
 * xs_bridge: one process that forwards records between two libxs
 * sockets, typically a local AF_XS name on one side and a tcp:// endpoint
 * (libzmq) on the other, so that a host's kernel fan-out reaches other
 * hosts.  Run xs_bridge --help for the options.
 *
 * The two sides are the front (where the senders of the pattern are) and
 * the back (where its receivers are):
 *
 *   pattern   front   back   what crosses
 *   pubsub    XSUB    XPUB   records front to back, subscriptions back to
 *                            front (so publishers filter at the source)
 *   pipeline  PULL    PUSH   records front to back
 *   reqrep    XREP    XREQ   requests front to back, replies back to
 *                            front (the envelope travels with them)
 *
 * Records are forwarded whole: every part is read, then sent with
 * XS_SNDMORE on all but the last.  Both engines deliver records atomically
 * and decide flow control at a record's first part, so only the first
 * send of a record can meet a full peer: it is tried with XS_DONTWAIT, and
 * on EAGAIN the record waits in the bridge (one per direction) while the
 * bridge stops reading that direction and polls its output for room.  The
 * other direction keeps flowing, so a REP that waits for its reply to be
 * taken never deadlocks the bridge.  A record the output refuses for good
 * (an XSUB given something that is not a subscription) is dropped and
 * counted.
 *
 * Signals reach the loop through a pipe polled with the sockets: SIGUSR1
 * prints the counts so far to stderr; SIGINT and SIGTERM end the loop,
 * the sockets close with XS_LINGER --linger (default 0) and xs_term
 * returns.  With --verbose, the counts are printed at exit too.
 */
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <unistd.h>
#include <xs.h>
#include "xs_perf.h"

static const char *prog = "xs_bridge";

static const struct {
	const char *name;
	int front, back;
} patterns[] = {
	{ "pubsub", XS_XSUB, XS_XPUB },
	{ "pipeline", XS_PULL, XS_PUSH },
	{ "reqrep", XS_XREP, XS_XREQ },
};

/* One direction: a record read from 'from' and not yet all sent. */
struct lane {
	const char *name;
	void *from, *to;
	xs_msg_t *parts;
	size_t nparts, cap, sent;	/* sent: parts already taken by 'to' */
	unsigned long records, dropped;
};

static int stop_pipe[2] = { -1, -1 };

static void on_signal(int sig)
{
	char c = (char)sig;
	ssize_t n = write(stop_pipe[1], &c, 1);

	(void)n;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: xs_bridge PATTERN (--front-bind|--front-connect) EP\n"
"                 (--back-bind|--back-connect) EP [options]\n"
"\n"
"PATTERN   front (senders' side)   back (receivers' side)\n"
"pubsub    XSUB: publishers        XPUB: subscribers; subscriptions go front\n"
"pipeline  PULL: pushers           PUSH: pullers\n"
"reqrep    XREP: requesters        XREQ: repliers; replies go front\n"
"\n"
"  -F, --front-bind EP      bind the front socket to EP\n"
"  -f, --front-connect EP   connect the front socket to EP\n"
"  -B, --back-bind EP       bind the back socket to EP\n"
"  -b, --back-connect EP    connect the back socket to EP\n"
"                           (each may be repeated; EP is ipc://NAME,\n"
"                           inproc://NAME or tcp://HOST:PORT)\n"
"  -w, --hwm N              XS_SNDHWM and XS_RCVHWM of both sockets\n"
"  -l, --linger MS          XS_LINGER when the bridge stops (default 0)\n"
"  -v, --verbose            print the endpoints, and the counts at exit\n"
"  -h, --help               this text\n"
"\n"
"SIGUSR1 prints the counts of records forwarded so far to stderr.\n"
"Runs until SIGINT or SIGTERM; exit 0 then, 1 on an error.\n");
}

static void die_usage(const char *why)
{
	fprintf(stderr, "%s: %s\n", prog, why);
	usage(stderr);
	exit(1);
}

static void set_int(void *s, int option, int v, const char *what)
{
	if (xs_setsockopt(s, option, &v, sizeof(v)))
		perf_fail(prog, what);
}

static bool rcvmore(void *s)
{
	size_t len = sizeof(int);
	int more = 0;

	if (xs_getsockopt(s, XS_RCVMORE, &more, &len))
		perf_fail(prog, "XS_RCVMORE");
	return more;
}

/* Reads a whole record into the lane; 0 if none was there after all. */
static int lane_read(struct lane *l)
{
	int flags = XS_DONTWAIT;

	l->nparts = l->sent = 0;
	do {
		if (l->nparts == l->cap) {
			size_t cap = l->cap ? 2 * l->cap : 8;
			xs_msg_t *p = realloc(l->parts, cap * sizeof(*p));

			if (!p) {
				fprintf(stderr, "%s: out of memory\n", prog);
				exit(1);
			}
			l->parts = p;
			l->cap = cap;
		}
		if (xs_msg_init(&l->parts[l->nparts]))
			perf_fail(prog, "xs_msg_init");
		if (xs_recvmsg(l->from, &l->parts[l->nparts], flags) < 0) {
			int err = xs_errno();

			xs_msg_close(&l->parts[l->nparts]);
			if (err == EAGAIN && l->nparts == 0)
				return 0;
			errno = err;
			return -1;
		}
		l->nparts++;
		/* the rest of a record is there once its first part is */
		flags = 0;
	} while (rcvmore(l->from));
	return 1;
}

static void lane_clear(struct lane *l)
{
	while (l->sent < l->nparts)
		xs_msg_close(&l->parts[l->sent++]);
	l->nparts = l->sent = 0;
}

/*
 * Sends what the lane holds.  Returns 1 when the record is gone (sent or
 * dropped), 0 when the output has no room for its first part yet, -1 on
 * an error that ends the bridge.
 */
static int lane_write(struct lane *l, bool verbose)
{
	while (l->sent < l->nparts) {
		bool last = l->sent + 1 == l->nparts;
		int flags = (last ? 0 : XS_SNDMORE) |
			    (l->sent == 0 ? XS_DONTWAIT : 0);

		if (xs_sendmsg(l->to, &l->parts[l->sent], flags) >= 0) {
			xs_msg_close(&l->parts[l->sent++]);
			continue;
		}
		if (xs_errno() == EAGAIN && l->sent == 0)
			return 0;
		if ((xs_errno() == EINVAL || xs_errno() == ENOTSUP) &&
		    l->sent == 0) {
			if (verbose)
				fprintf(stderr, "%s: %s: record dropped: %s\n",
					prog, l->name, xs_strerror(xs_errno()));
			l->dropped++;
			lane_clear(l);
			return 1;
		}
		return -1;
	}
	l->records++;
	l->nparts = l->sent = 0;
	return 1;
}

static void report(const struct lane *fwd, const struct lane *bwd)
{
	fprintf(stderr,
		"%s: %lu records front to back, %lu back to front, %lu dropped\n",
		prog, fwd->records, bwd->records, fwd->dropped + bwd->dropped);
}

static void attach(void *s, bool bind, const char *ep, const char *side,
		   bool verbose)
{
	if ((bind ? xs_bind(s, ep) : xs_connect(s, ep)) < 0) {
		fprintf(stderr, "%s: %s %s %s: %s\n", prog, side,
			bind ? "bind" : "connect", ep, xs_strerror(xs_errno()));
		exit(1);
	}
	if (verbose)
		fprintf(stderr, "%s: %s %s %s\n", prog, side,
			bind ? "bound to" : "connected to", ep);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "front-bind", required_argument, NULL, 'F' },
		{ "front-connect", required_argument, NULL, 'f' },
		{ "back-bind", required_argument, NULL, 'B' },
		{ "back-connect", required_argument, NULL, 'b' },
		{ "hwm", required_argument, NULL, 'w' },
		{ "linger", required_argument, NULL, 'l' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct { char side; bool bind; const char *ep; } eps[64];
	int neps = 0, nfront = 0, nback = 0, hwm = -1, linger = 0, opt, rc;
	struct lane fwd = { .name = "front to back" };
	struct lane bwd = { .name = "back to front" };
	bool verbose = false, stopping = false;
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };
	void *ctx, *front, *back;
	size_t p, i;

	while ((opt = getopt_long(argc, argv, "F:f:B:b:w:l:vh", longopts,
				  NULL)) != -1) {
		switch (opt) {
		case 'F':
		case 'f':
		case 'B':
		case 'b':
			if (neps == (int)(sizeof(eps) / sizeof(eps[0])))
				die_usage("too many endpoints");
			eps[neps].side = (opt == 'F' || opt == 'f') ? 'f' : 'b';
			eps[neps].bind = opt == 'F' || opt == 'B';
			eps[neps++].ep = optarg;
			if (opt == 'F' || opt == 'f')
				nfront++;
			else
				nback++;
			break;
		case 'w':
			hwm = (int)perf_number(prog, "hwm", optarg, 1 << 30);
			break;
		case 'l':
			linger = (int)perf_number(prog, "linger", optarg,
						  1 << 30);
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind + 1 != argc)
		die_usage("one PATTERN expected");
	for (p = 0; p < sizeof(patterns) / sizeof(patterns[0]); p++)
		if (!strcmp(argv[optind], patterns[p].name))
			break;
	if (p == sizeof(patterns) / sizeof(patterns[0]))
		die_usage("PATTERN is pubsub, pipeline or reqrep");
	if (!nfront || !nback)
		die_usage("both sides need an endpoint");

	if (pipe(stop_pipe))
		perf_fail(prog, "pipe");
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);

	ctx = xs_init();
	if (!ctx)
		perf_fail(prog, "xs_init");
	front = xs_socket(ctx, patterns[p].front);
	back = xs_socket(ctx, patterns[p].back);
	if (!front || !back)
		perf_fail(prog, "xs_socket");
	if (hwm >= 0) {
		set_int(front, XS_SNDHWM, hwm, "XS_SNDHWM");
		set_int(front, XS_RCVHWM, hwm, "XS_RCVHWM");
		set_int(back, XS_SNDHWM, hwm, "XS_SNDHWM");
		set_int(back, XS_RCVHWM, hwm, "XS_RCVHWM");
	}
	for (i = 0; i < (size_t)neps; i++)
		attach(eps[i].side == 'f' ? front : back, eps[i].bind,
		       eps[i].ep, eps[i].side == 'f' ? "front" : "back",
		       verbose);

	fwd.from = bwd.to = front;
	fwd.to = bwd.from = back;
	while (!stopping) {
		/* Read a direction only while its output took the last
		 * record; otherwise wait for room there. */
		xs_pollitem_t it[3] = {
			{ .socket = front,
			  .events = (short)((fwd.nparts ? 0 : XS_POLLIN) |
					    (bwd.nparts ? XS_POLLOUT : 0)) },
			{ .socket = back,
			  .events = (short)((bwd.nparts ? 0 : XS_POLLIN) |
					    (fwd.nparts ? XS_POLLOUT : 0)) },
			{ .fd = stop_pipe[0], .events = XS_POLLIN },
		};
		struct lane *lanes[2] = { &fwd, &bwd };
		int k;

		if (xs_poll(it, 3, -1) < 0) {
			if (xs_errno() == EINTR)
				continue;
			if (xs_errno() == ETERM)
				break;
			perf_fail(prog, "xs_poll");
		}
		if (it[2].revents) {
			char sig = 0;

			if (read(stop_pipe[0], &sig, 1) == 1 && sig == SIGUSR1)
				report(&fwd, &bwd);
			else
				stopping = true;
		}
		for (k = 0; k < 2 && !stopping; k++) {
			struct lane *l = lanes[k];
			short in = it[k].revents, out = it[1 - k].revents;

			if (l->nparts && !(out & XS_POLLOUT))
				continue;
			if (!l->nparts) {
				if (!(in & XS_POLLIN))
					continue;
				rc = lane_read(l);
				if (rc < 0)
					perf_fail(prog, l->name);
				if (rc == 0)
					continue;
			}
			if (lane_write(l, verbose) < 0)
				perf_fail(prog, l->name);
		}
	}

	lane_clear(&fwd);
	lane_clear(&bwd);
	free(fwd.parts);
	free(bwd.parts);
	set_int(front, XS_LINGER, linger, "XS_LINGER");
	set_int(back, XS_LINGER, linger, "XS_LINGER");
	xs_close(front);
	xs_close(back);
	if (xs_term(ctx))
		perf_fail(prog, "xs_term");
	if (verbose)
		report(&fwd, &bwd);
	return 0;
}
