// SPDX-License-Identifier: GPL-2.0
/*
 * Flow control and size limits: high-water marks counted in records,
 * blocking sends and what wakes them, SO_SNDTIMEO/SO_RCVTIMEO, EINTR,
 * SO_RCVBUF room, and EMSGSIZE for records over XS_MAXMSGSIZE or
 * SO_SNDBUF (discarded whole, socket still usable).
 *
 * Every test runs over each blocking pattern pair (PAIR<->PAIR,
 * PUSH->PULL).
 */
#include "xs_test.h"

FIXTURE(lim) {
	int tx, rx;
};

XS_FLOW_VARIANTS(lim);

FIXTURE_SETUP(lim)
{
	self->tx = self->rx = -1;
}

FIXTURE_TEARDOWN(lim)
{
	xs_close(&self->tx);
	xs_close(&self->rx);
}

/* Link tx -> rx with SNDHWM 2 on tx and RCVHWM 2 on rx: room for 4. */
#define LINK(sndhwm, rcvhwm)						\
	ASSERT_OK(xs_link(variant->tx_proto, variant->rx_proto,		\
			  (sndhwm), (rcvhwm), &self->tx, &self->rx,	\
			  NULL, 0))

static int send2(int fd, int i, int flags)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "r%d", i);
	if (xs_send_str(fd, buf, flags) < 0)
		return -1;
	return xs_send_str(fd, "end", flags | MSG_EOR) < 0 ? -1 : 0;
}

TEST_F(lim, hwm_queues_exactly_sndhwm_plus_rcvhwm_records)
{
	int i;

	LINK(2, 2);
	for (i = 0; i < 4; i++)
		ASSERT_OK(send2(self->tx, i, MSG_DONTWAIT));
	ASSERT_ERRNO(EAGAIN, xs_send_str(self->tx, "r4", MSG_DONTWAIT));

	ASSERT_RECV_RECORD(self->rx, "r0", "end");
	ASSERT_OK(send2(self->tx, 4, MSG_DONTWAIT));
	ASSERT_ERRNO(EAGAIN, xs_send_str(self->tx, "r5", MSG_DONTWAIT));

	ASSERT_RECV_RECORD(self->rx, "r1", "end");
	ASSERT_RECV_RECORD(self->rx, "r2", "end");
	ASSERT_RECV_RECORD(self->rx, "r3", "end");
	ASSERT_RECV_RECORD(self->rx, "r4", "end");
	ASSERT_NOTHING(self->rx);
}

TEST_F(lim, hwm_defaults_to_1000_records_each_side)
{
	int i, accepted = 0;

	LINK(-1, -1);
	for (i = 0; i < 2 * XS_HWM_DEFAULT + 1; i++) {
		if (xs_send_str(self->tx, "x", MSG_EOR | MSG_DONTWAIT) < 0)
			break;
		accepted++;
	}
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(2 * XS_HWM_DEFAULT, accepted);
}

TEST_F(lim, zero_hwm_means_no_limit)
{
	int i, n = 2 * XS_HWM_DEFAULT + 100;

	LINK(0, 0);
	for (i = 0; i < n; i++)
		ASSERT_EQ(1, xs_send_str(self->tx, "x", MSG_EOR | MSG_DONTWAIT))
			TH_LOG("record %d: %s", i, strerror(errno));
}

TEST_F(lim, later_parts_never_block_once_first_part_is_accepted)
{
	int i;

	LINK(1, 1);
	ASSERT_RECORD(self->tx, MSG_DONTWAIT, "a");
	ASSERT_SEND(self->tx, "b0", MSG_DONTWAIT);
	/* the pipe is now full, but b's later parts go to its slot */
	for (i = 0; i < 10; i++)
		ASSERT_SEND(self->tx, "b", MSG_DONTWAIT);
	ASSERT_SEND(self->tx, "bend", MSG_DONTWAIT | MSG_EOR);
	ASSERT_ERRNO(EAGAIN, xs_send_str(self->tx, "c", MSG_DONTWAIT));
}

TEST_F(lim, blocked_send_wakes_when_room_appears)
{
	struct xs_bg bg;

	LINK(1, 1);
	ASSERT_RECORD(self->tx, MSG_DONTWAIT, "one");
	ASSERT_RECORD(self->tx, MSG_DONTWAIT, "two");
	ASSERT_OK(xs_bg_send(&bg, self->tx, "three", MSG_EOR));
	ASSERT_TRUE(xs_bg_blocks(&bg)) TH_LOG("send did not block");

	ASSERT_RECV_RECORD(self->rx, "one");
	ASSERT_TRUE(xs_bg_finish(&bg, xs_wait_ms()))
		TH_LOG("send not woken by room");
	ASSERT_EQ(5, bg.ret);
	ASSERT_RECV_RECORD(self->rx, "two");
	ASSERT_RECV_RECORD(self->rx, "three");
}

TEST_F(lim, sndtimeo_expiry_gives_eagain_after_the_timeout)
{
	long long t0, dt;

	LINK(1, 1);
	ASSERT_RECORD(self->tx, MSG_DONTWAIT, "one");
	ASSERT_RECORD(self->tx, MSG_DONTWAIT, "two");
	ASSERT_OK(xs_set_timeo(self->tx, SO_SNDTIMEO, 300));
	t0 = xs_now_ms();
	ASSERT_ERRNO(EAGAIN, xs_send_str(self->tx, "three", MSG_EOR));
	dt = xs_now_ms() - t0;
	ASSERT_GE(dt, 290);
	ASSERT_LE(dt, 300 + 1000 * xs_scale());
	ASSERT_RECV_RECORD(self->rx, "one");
	ASSERT_RECV_RECORD(self->rx, "two");
	ASSERT_NOTHING(self->rx);
}

TEST_F(lim, rcvtimeo_expiry_gives_eagain_after_the_timeout)
{
	long long t0, dt;
	char buf[8];

	LINK(-1, -1);
	ASSERT_SEND(self->tx, "open", 0);	/* a partial record is no record */
	ASSERT_OK(xs_set_timeo(self->rx, SO_RCVTIMEO, 300));
	t0 = xs_now_ms();
	ASSERT_ERRNO(EAGAIN, xs_recv(self->rx, buf, sizeof(buf), 0, NULL));
	dt = xs_now_ms() - t0;
	ASSERT_GE(dt, 290);
	ASSERT_LE(dt, 300 + 1000 * xs_scale());
}

static void on_alarm(int sig)
{
	(void)sig;
}

static void arm_alarm_no_restart(int ms)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval it = { .it_value = { ms / 1000, (ms % 1000) * 1000 } };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
}

TEST_F(lim, signal_interrupts_blocked_send_with_eintr)
{
	LINK(1, 1);
	ASSERT_RECORD(self->tx, MSG_DONTWAIT, "one");
	ASSERT_RECORD(self->tx, MSG_DONTWAIT, "two");
	arm_alarm_no_restart(100);
	ASSERT_ERRNO(EINTR, xs_send_str(self->tx, "three", MSG_EOR));
	/* nothing was queued: the interrupted record does not exist */
	ASSERT_RECV_RECORD(self->rx, "one");
	ASSERT_RECV_RECORD(self->rx, "two");
	ASSERT_NOTHING(self->rx);
	ASSERT_RECORD(self->tx, MSG_DONTWAIT, "four");
	ASSERT_RECV_RECORD(self->rx, "four");
}

TEST_F(lim, signal_interrupts_blocked_recv_with_eintr)
{
	char buf[8];

	LINK(-1, -1);
	arm_alarm_no_restart(100);
	ASSERT_ERRNO(EINTR, xs_recv(self->rx, buf, sizeof(buf), 0, NULL));
}

TEST_F(lim, rcvbuf_full_receiver_refuses_the_next_record)
{
	int rcvbuf, half, i;
	char *big;

	LINK(-1, -1);
	ASSERT_OK(setsockopt(self->rx, SOL_SOCKET, SO_RCVBUF,
			     &(int){ 4096 }, sizeof(int)));
	rcvbuf = xs_getint(self->rx, SOL_SOCKET, SO_RCVBUF);
	ASSERT_GT(rcvbuf, 0);
	/*
	 * SO_RCVBUF counts what the kernel holds for a record (the part
	 * rounded up to its allocation, the record and the queue entry):
	 * leave room for that below half the buffer.
	 */
	half = rcvbuf / 2 - 512;
	big = malloc(half);
	ASSERT_NE(NULL, big);
	memset(big, 'b', half);

	/* queued below SO_RCVBUF: accepted (even past it, once) */
	ASSERT_EQ(half, xs_send(self->tx, big, half, MSG_EOR | MSG_DONTWAIT));
	ASSERT_EQ(half, xs_send(self->tx, big, half, MSG_EOR | MSG_DONTWAIT));
	ASSERT_ERRNO(EAGAIN, xs_send(self->tx, big, half,
				     MSG_EOR | MSG_DONTWAIT));
	ASSERT_EQ(0, xs_revents(self->tx, POLLOUT) & POLLOUT);

	ASSERT_EQ(half, xs_recv_wait(self->rx, big, half, NULL));
	ASSERT_EQ(half, xs_send(self->tx, big, half, MSG_EOR | MSG_DONTWAIT));
	ASSERT_ERRNO(EAGAIN, xs_send(self->tx, big, half,
				     MSG_EOR | MSG_DONTWAIT));
	for (i = 0; i < 2; i++)
		ASSERT_EQ(half, xs_recv_wait(self->rx, big, half, NULL));
	ASSERT_NOTHING(self->rx);
	free(big);
}

struct flood {
	pthread_t thread;
	int fd, id, records;
	char error[96];
};

static void *flood_main(void *arg)
{
	struct flood *f = arg;
	char buf[32];
	int k;

	for (k = 0; k < f->records; k++) {
		int n = snprintf(buf, sizeof(buf), "%d:%d", f->id, k);

		if (xs_send(f->fd, buf, n, MSG_EOR) != n) {
			snprintf(f->error, sizeof(f->error), "%d: %s", k,
				 strerror(errno));
			break;
		}
	}
	return NULL;
}

/*
 * Two threads keep a 2-record pipe full with blocking sends while the
 * receiver drains it: a lost wake-up shows as a hang (test timeout).
 */
TEST_F(lim, blocked_senders_never_miss_a_wakeup)
{
	int per = xs_iters(2000, 100), next[2] = { 0, 0 };
	struct flood fl[2];
	char buf[32];
	int i, t, k;

	LINK(1, 1);
	for (i = 0; i < 2; i++) {
		memset(&fl[i], 0, sizeof(fl[i]));
		fl[i].fd = self->tx;
		fl[i].id = i;
		fl[i].records = per;
		ASSERT_OK(pthread_create(&fl[i].thread, NULL, flood_main,
					 &fl[i]));
	}
	for (i = 0; i < 2 * per; i++) {
		ssize_t n = xs_recv(self->rx, buf, sizeof(buf) - 1, 0, NULL);

		ASSERT_GT(n, 0);
		buf[n] = 0;
		ASSERT_EQ(2, sscanf(buf, "%d:%d", &t, &k));
		ASSERT_TRUE(t == 0 || t == 1);
		ASSERT_EQ(next[t], k);
		next[t]++;
	}
	for (i = 0; i < 2; i++) {
		pthread_join(fl[i].thread, NULL);
		ASSERT_STREQ("", fl[i].error);
	}
	ASSERT_NOTHING(self->rx);
}

static int set_maxmsgsize(int fd, int64_t v)
{
	return setsockopt(fd, SOL_XS, XS_MAXMSGSIZE, &v, sizeof(v));
}

TEST_F(lim, record_over_maxmsgsize_is_emsgsize_and_discarded_whole)
{
	char part[101];

	LINK(-1, -1);
	ASSERT_OK(set_maxmsgsize(self->tx, 100));
	memset(part, 'm', sizeof(part));

	/* the part crossing the limit fails, the record is gone */
	ASSERT_EQ(60, xs_send(self->tx, part, 60, 0));
	ASSERT_ERRNO(EMSGSIZE, xs_send(self->tx, part, 60, 0));
	ASSERT_SEND(self->tx, "fresh", MSG_EOR);
	ASSERT_RECV_RECORD(self->rx, "fresh");
	ASSERT_NOTHING(self->rx);

	/* a single part over the limit */
	ASSERT_ERRNO(EMSGSIZE, xs_send(self->tx, part, 101, MSG_EOR));
	ASSERT_NOTHING(self->rx);

	/* exactly at the limit is fine */
	ASSERT_EQ(60, xs_send(self->tx, part, 60, 0));
	ASSERT_EQ(40, xs_send(self->tx, part, 40, MSG_EOR));
	ASSERT_EQ(60, xs_recv_wait(self->rx, part, sizeof(part), NULL));
	ASSERT_EQ(40, xs_recv_wait(self->rx, part, sizeof(part), NULL));
	ASSERT_NOTHING(self->rx);
}

TEST_F(lim, emsgsize_releases_the_reserved_slot)
{
	char part[64];
	int i;

	LINK(1, 1);
	ASSERT_OK(set_maxmsgsize(self->tx, 10));
	memset(part, 'e', sizeof(part));
	for (i = 0; i < 5; i++)
		ASSERT_ERRNO(EMSGSIZE, xs_send(self->tx, part, 11,
					       MSG_EOR | MSG_DONTWAIT));
	ASSERT_RECORD(self->tx, MSG_DONTWAIT, "ok1");
	ASSERT_RECORD(self->tx, MSG_DONTWAIT, "ok2");
	ASSERT_RECV_RECORD(self->rx, "ok1");
	ASSERT_RECV_RECORD(self->rx, "ok2");
}

TEST_F(lim, record_over_sndbuf_is_emsgsize_and_discarded_whole)
{
	int sndbuf, half;
	char *big;

	LINK(-1, -1);
	ASSERT_OK(setsockopt(self->tx, SOL_SOCKET, SO_SNDBUF,
			     &(int){ 4096 }, sizeof(int)));
	sndbuf = xs_getint(self->tx, SOL_SOCKET, SO_SNDBUF);
	ASSERT_GT(sndbuf, 0);
	big = malloc(sndbuf + 1);
	ASSERT_NE(NULL, big);
	memset(big, 's', sndbuf + 1);
	/* what the kernel holds for a record counts, not only its payload */
	half = sndbuf / 2 - 512;

	ASSERT_ERRNO(EMSGSIZE, xs_send(self->tx, big, sndbuf + 1, MSG_EOR));
	ASSERT_EQ(half, xs_send(self->tx, big, half, 0));
	ASSERT_ERRNO(EMSGSIZE, xs_send(self->tx, big, sndbuf / 2 + 1, 0));
	ASSERT_SEND(self->tx, "fresh", MSG_EOR);
	ASSERT_RECV_RECORD(self->rx, "fresh");
	ASSERT_NOTHING(self->rx);

	/* almost half the buffer in one record is fine */
	ASSERT_EQ(half, xs_send(self->tx, big, half, MSG_EOR));
	ASSERT_EQ(half, xs_recv_wait(self->rx, big, sndbuf + 1, NULL));
	free(big);
}

XS_TEST_MAIN
