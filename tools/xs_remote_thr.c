// SPDX-License-Identifier: GPL-2.0
/*
 * xs_remote_thr: the sending half of the throughput test.
 *
 * Usage: xs_remote_thr <connect-to> <message-size> <message-count>
 *
 * Connects a PUSH socket to <connect-to> and sends <message-count>
 * messages of <message-size> bytes as fast as it can, then closes; the
 * context's termination waits (up to XS_LINGER) until they are delivered.
 * xs_local_thr at the other end measures and prints.
 */
#include "xs_perf.h"

int main(int argc, char **argv)
{
	const char *endpoint;
	unsigned long count, i;
	size_t size;
	char *buf;
	void *ctx, *s;

	perf_args(argc, argv, "message-count", &endpoint, &size, &count);
	buf = calloc(1, size ? size : 1);
	if (!buf) {
		perror(argv[0]);
		return 1;
	}
	s = perf_socket(argv[0], XS_PUSH, 0, endpoint, &ctx);

	for (i = 0; i < count; i++)
		if (xs_send(s, buf, size, 0) < 0)
			perf_fail(argv[0], "xs_send");

	if (xs_close(s))
		perf_fail(argv[0], "xs_close");
	if (xs_term(ctx))
		perf_fail(argv[0], "xs_term");
	free(buf);
	return 0;
}
