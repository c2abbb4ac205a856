// SPDX-License-Identifier: GPL-2.0
/*
 * xs_remote_lat: the measuring half of the latency test.
 *
 * Usage: xs_remote_lat <connect-to> <message-size> <roundtrip-count>
 *
 * Connects a REQ socket to <connect-to>, sends a <message-size> byte
 * request and waits for its echo (from xs_local_lat, or libzmq's
 * local_lat), <roundtrip-count> times, then prints the average one-way
 * latency: half the mean round-trip time.
 */
#include "xs_perf.h"

int main(int argc, char **argv)
{
	const char *endpoint;
	unsigned long count, i, us;
	size_t size;
	xs_msg_t msg;
	void *ctx, *s, *watch;

	perf_args(argc, argv, "roundtrip-count", &endpoint, &size, &count);
	s = perf_socket(argv[0], XS_REQ, 0, endpoint, &ctx);
	if (xs_msg_init_size(&msg, size))
		perf_fail(argv[0], "xs_msg_init_size");
	memset(xs_msg_data(&msg), 0, size);

	watch = xs_stopwatch_start();
	for (i = 0; i < count; i++) {
		if (xs_sendmsg(s, &msg, 0) < 0)
			perf_fail(argv[0], "xs_sendmsg");
		perf_recv(argv[0], s, &msg, size);
	}
	us = xs_stopwatch_stop(watch);

	printf("message size: %zu [B]\n", size);
	printf("roundtrip count: %lu\n", count);
	printf("average latency: %.3f [us]\n",
	       (double)us / (double)count / 2.0);

	xs_msg_close(&msg);
	if (xs_close(s))
		perf_fail(argv[0], "xs_close");
	if (xs_term(ctx))
		perf_fail(argv[0], "xs_term");
	return 0;
}
