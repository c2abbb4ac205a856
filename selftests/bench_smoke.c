// SPDX-License-Identifier: GPL-2.0
/*
 * bench_smoke: the benchmarks (bench/thr.c, bench/fanout.c,
 * bench/latency.c) still work, for every implementation they compare.
 * They are linked into this program with their main() renamed
 * (selftests/Makefile) and run with tiny counts; each test checks that a
 * run exits 0 and prints one CSV line whose figures fit together.  Nothing
 * here judges speed: only that the numbers a benchmark reports are the
 * numbers of the work it did.
 */
#include "xs_test.h"
#include <math.h>

int bench_thr_main(int argc, char **argv);
int bench_fanout_main(int argc, char **argv);
int bench_latency_main(int argc, char **argv);

#define OUT_MAX 4096

/*
 * Run @fn with @argv (NULL-terminated) in a child whose stdout is a pipe;
 * the last line it printed goes to @line.  Returns the child's exit
 * status (-1 if it did not exit).
 */
static int run_bench(int (*fn)(int, char **), char **argv, char *line)
{
	char out[OUT_MAX], *last, *p;
	size_t len = 0;
	int fds[2], argc = 0, status;
	ssize_t n;
	pid_t pid;

	while (argv[argc])
		argc++;
	line[0] = 0;
	fflush(stdout);
	fflush(stderr);
	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		close(fds[0]);
		if (dup2(fds[1], STDOUT_FILENO) < 0)
			_exit(99);
		close(fds[1]);
		optind = 1;
		exit(fn(argc, argv));
	}
	close(fds[1]);
	/* until every process of the benchmark has let go of the pipe */
	while ((n = read(fds[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += n;
	close(fds[0]);
	out[len] = 0;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	while (len && out[len - 1] == '\n')
		out[--len] = 0;
	last = out;
	for (p = out; *p; p++)
		if (*p == '\n')
			last = p + 1;
	snprintf(line, OUT_MAX, "%s", last);
	return WEXITSTATUS(status);
}

FIXTURE(bench) {
	char line[OUT_MAX];
};

FIXTURE_VARIANT(bench) {
	const char *impl;
	int lossless;		/* fan-out delivers every record */
};

FIXTURE_VARIANT_ADD(bench, xs) { .impl = "xs" };
FIXTURE_VARIANT_ADD(bench, libxs) { .impl = "libxs" };
FIXTURE_VARIANT_ADD(bench, unix) { .impl = "unix", .lossless = 1 };
FIXTURE_VARIANT_ADD(bench, zmq) { .impl = "zmq" };
FIXTURE_VARIANT_ADD(bench, nng) { .impl = "nng" };
FIXTURE_VARIANT_ADD(bench, shm) { .impl = "shm", .lossless = 1 };

FIXTURE_SETUP(bench)
{
}

FIXTURE_TEARDOWN(bench)
{
}

/*
 * PUSH to PULL: every record sent arrives (thr exits non-zero otherwise),
 * the count is what -n asked for, and records/s and MB/s agree.
 */
TEST_F(bench, thr_reports_the_records_it_moved)
{
	static const char *const sizes[] = { "64", "4096" };
	double secs, rate, mb, scpu, rcpu, sleeps;
	long long records;
	char impl[32];
	int i, size;

	for (i = 0; i < 2; i++) {
		char *argv[] = { "thr", "-i", (char *)variant->impl, "-s",
				 (char *)sizes[i], "-n", "320", "-d", "30000",
				 NULL };

		ASSERT_EQ(0, run_bench(bench_thr_main, argv, self->line))
			TH_LOG("thr %s -s %s: %s", variant->impl, sizes[i],
			       self->line);
		ASSERT_EQ(9, sscanf(self->line,
				    "%31[^,],%d,%lld,%lf,%lf,%lf,%lf,%lf,%lf",
				    impl, &size, &records, &secs, &rate, &mb,
				    &scpu, &rcpu, &sleeps))
			TH_LOG("thr printed '%s'", self->line);
		EXPECT_STREQ(variant->impl, impl);
		EXPECT_EQ(atoi(sizes[i]), size);
		EXPECT_EQ(320, records);
		ASSERT_GT(secs, 0);
		/* records/s is records over seconds, to the printed digits */
		EXPECT_LT(fabs(rate - records / secs), 0.01 * rate + 1)
			TH_LOG("%s", self->line);
		EXPECT_LT(fabs(mb - rate * size / 1e6), 0.01 * mb + 0.01)
			TH_LOG("%s", self->line);
		/* CPU time comes in scheduler ticks: a tiny run may show none */
		EXPECT_GE(scpu, 0);
		EXPECT_GE(rcpu, 0);
		EXPECT_GE(sleeps, 0);
	}
}

/*
 * One publisher, two subscribers: the run reaches both, delivers some of
 * what it published (all of it where the publisher blocks instead of
 * dropping), and its rate is what it delivered over its time.
 */
TEST_F(bench, fanout_reports_what_the_subscribers_received)
{
	char *argv[] = { "fanout", "-i", (char *)variant->impl, "-n", "2",
			 "-s", "64", "-d", "100", NULL };
	double secs, rate, cpu, frac, sw, sleeps, subcpu;
	long long published, delivered;
	int subs, size, cold;
	char impl[32];

	ASSERT_EQ(0, run_bench(bench_fanout_main, argv, self->line))
		TH_LOG("fanout %s: %s", variant->impl, self->line);
	ASSERT_EQ(13, sscanf(self->line,
			     "%31[^,],%d,%d,%lld,%lld,%lf,%lf,%lf,%lf,%lf,%lf,%d,%lf",
			     impl, &subs, &size, &published, &delivered, &secs,
			     &rate, &cpu, &frac, &sw, &sleeps, &cold, &subcpu))
		TH_LOG("fanout printed '%s'", self->line);
	EXPECT_STREQ(variant->impl, impl);
	EXPECT_EQ(2, subs);
	EXPECT_EQ(64, size);
	EXPECT_EQ(0, cold);
	ASSERT_GT(published, 0);
	ASSERT_GT(delivered, 0);
	EXPECT_LE(delivered, 2 * published);
	if (variant->lossless)
		EXPECT_EQ(2 * published, delivered);
	ASSERT_GT(secs, 0);
	EXPECT_LT(fabs(rate - delivered / secs), 0.01 * rate + 1)
		TH_LOG("%s", self->line);
	EXPECT_LT(fabs(frac - (double)delivered / (2.0 * published)), 0.001)
		TH_LOG("%s", self->line);
	EXPECT_GE(subcpu, 0);
}

/* REQ/REP: every round trip timed, the statistics in order. */
TEST_F(bench, latency_reports_ordered_statistics)
{
	char *argv[] = { "latency", "-i", (char *)variant->impl, "-s", "64",
			 "-n", "50", "-w", "5", NULL };
	double mean, p50, p99, min, max;
	char impl[32], cpus[16];
	int size, rounds;

	ASSERT_EQ(0, run_bench(bench_latency_main, argv, self->line))
		TH_LOG("latency %s: %s", variant->impl, self->line);
	ASSERT_EQ(9, sscanf(self->line,
			    "%31[^,],%d,%15[^,],%d,%lf,%lf,%lf,%lf,%lf", impl,
			    &size, cpus, &rounds, &mean, &p50, &p99, &min,
			    &max))
		TH_LOG("latency printed '%s'", self->line);
	EXPECT_STREQ(variant->impl, impl);
	EXPECT_EQ(64, size);
	EXPECT_STREQ("any", cpus);
	EXPECT_EQ(50, rounds);
	/* a coarse clock (the debug guest's ticks in jiffies) may read 0 */
	EXPECT_GE(min, 0);
	EXPECT_LE(min, p50);
	EXPECT_LE(p50, p99);
	EXPECT_LE(p99, max);
	EXPECT_LE(min, mean);
	EXPECT_LE(mean, max);
}

XS_TEST_MAIN
