// SPDX-License-Identifier: GPL-2.0
/*
 * xs_local_thr: the receiving half of the throughput test.
 *
 * Usage: xs_local_thr <bind-to> <message-size> <message-count>
 *
 * Binds a PULL socket to <bind-to> (a libxs endpoint: ipc://NAME or
 * tcp://HOST:PORT), receives <message-count> messages of exactly
 * <message-size> bytes (sent by xs_remote_thr, or by libzmq's remote_thr)
 * and prints the mean throughput. The clock starts when the first message
 * arrives, so connection set-up is not counted.
 */
#include "xs_perf.h"

int main(int argc, char **argv)
{
	const char *endpoint;
	unsigned long count, i, us;
	double per_sec, mbits;
	size_t size;
	xs_msg_t msg;
	void *ctx, *s, *watch;

	perf_args(argc, argv, "message-count", &endpoint, &size, &count);
	s = perf_socket(argv[0], XS_PULL, 1, endpoint, &ctx);
	if (xs_msg_init(&msg))
		perf_fail(argv[0], "xs_msg_init");

	perf_recv(argv[0], s, &msg, size);
	watch = xs_stopwatch_start();
	for (i = 1; i < count; i++)
		perf_recv(argv[0], s, &msg, size);
	us = xs_stopwatch_stop(watch);
	if (us == 0)
		us = 1;

	per_sec = (double)count * 1000000.0 / (double)us;
	mbits = per_sec * (double)size * 8.0 / 1000000.0;
	printf("message size: %zu [B]\n", size);
	printf("message count: %lu\n", count);
	printf("mean throughput: %.0f [msg/s]\n", per_sec);
	printf("mean throughput: %.3f [Mb/s]\n", mbits);

	xs_msg_close(&msg);
	if (xs_close(s))
		perf_fail(argv[0], "xs_close");
	if (xs_term(ctx))
		perf_fail(argv[0], "xs_term");
	return 0;
}
