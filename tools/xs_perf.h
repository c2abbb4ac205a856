/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the perf tools (xs_local_thr, xs_remote_thr,
 * xs_local_lat, xs_remote_lat): argument parsing and error exits.
 * They follow the argument conventions of the ZeroMQ / Crossroads I/O
 * perf tools, so the same command lines work against either.
 */
#ifndef XS_PERF_H
#define XS_PERF_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xs.h>

/* Print "PROG: WHAT: <libxs error>" and exit 1. */
static inline void perf_fail(const char *prog, const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, xs_strerror(xs_errno()));
	exit(1);
}

/* A positive decimal count, or exit 1 with the usage. */
static inline unsigned long perf_number(const char *prog, const char *what,
					const char *arg, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || v > max) {
		fprintf(stderr, "%s: bad %s '%s'\n", prog, what, arg);
		exit(1);
	}
	return v;
}

/*
 * argv: PROG ENDPOINT SIZE COUNT. The size may be 0; the count must not.
 * Exits with the usage line on anything else.
 */
static inline void perf_args(int argc, char **argv, const char *count_name,
			     const char **endpoint, size_t *size,
			     unsigned long *count)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s <%s> <message-size> <%s>\n",
			argv[0],
			strstr(argv[0], "local") ? "bind-to" : "connect-to",
			count_name);
		exit(1);
	}
	*endpoint = argv[1];
	*size = perf_number(argv[0], "message size", argv[2], 1UL << 30);
	*count = perf_number(argv[0], count_name, argv[3], 1UL << 40);
	if (*count == 0) {
		fprintf(stderr, "%s: the %s must be at least 1\n", argv[0],
			count_name);
		exit(1);
	}
}

/* A context and a socket of TYPE bound (BIND) or connected to ENDPOINT. */
static inline void *perf_socket(const char *prog, int type, int bind,
				const char *endpoint, void **ctx)
{
	void *s;

	*ctx = xs_init();
	if (!*ctx)
		perf_fail(prog, "xs_init");
	s = xs_socket(*ctx, type);
	if (!s)
		perf_fail(prog, "xs_socket");
	if ((bind ? xs_bind(s, endpoint) : xs_connect(s, endpoint)) < 0)
		perf_fail(prog, endpoint);
	return s;
}

/* Receive one message of exactly SIZE bytes into MSG, or exit 1. */
static inline void perf_recv(const char *prog, void *s, xs_msg_t *msg,
			     size_t size)
{
	if (xs_recvmsg(s, msg, 0) < 0)
		perf_fail(prog, "xs_recvmsg");
	if (xs_msg_size(msg) != size) {
		fprintf(stderr, "%s: message of %zu bytes, expected %zu\n",
			prog, xs_msg_size(msg), size);
		exit(1);
	}
}

#endif
