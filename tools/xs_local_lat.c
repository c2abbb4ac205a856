// SPDX-License-Identifier: GPL-2.0
/*
 * xs_local_lat: the echoing half of the latency test.
 *
 * Usage: xs_local_lat <bind-to> <message-size> <roundtrip-count>
 *
 * Binds a REP socket to <bind-to> and sends back each of
 * <roundtrip-count> requests of exactly <message-size> bytes unchanged.
 * xs_remote_lat at the other end measures and prints.
 */
#include "xs_perf.h"

int main(int argc, char **argv)
{
	const char *endpoint;
	unsigned long count, i;
	size_t size;
	xs_msg_t msg;
	void *ctx, *s;

	perf_args(argc, argv, "roundtrip-count", &endpoint, &size, &count);
	s = perf_socket(argv[0], XS_REP, 1, endpoint, &ctx);
	if (xs_msg_init(&msg))
		perf_fail(argv[0], "xs_msg_init");

	for (i = 0; i < count; i++) {
		perf_recv(argv[0], s, &msg, size);
		/* xs_sendmsg() leaves msg empty, ready for the next receive. */
		if (xs_sendmsg(s, &msg, 0) < 0)
			perf_fail(argv[0], "xs_sendmsg");
	}

	xs_msg_close(&msg);
	if (xs_close(s))
		perf_fail(argv[0], "xs_close");
	if (xs_term(ctx))
		perf_fail(argv[0], "xs_term");
	return 0;
}
