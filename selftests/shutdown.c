// SPDX-License-Identifier: GPL-2.0
/*
 * shutdown(2): it wakes every blocked caller (libxs builds xs_term on
 * this), sending after SHUT_WR is EPIPE with SIGPIPE unless MSG_NOSIGNAL,
 * and receiving after SHUT_RD drains what is queued, then returns 0.
 *
 * Every test runs over each blocking pattern pair (PAIR<->PAIR,
 * PUSH->PULL).
 */
#include "xs_test.h"

FIXTURE(sd) {
	int tx, rx;
};

XS_FLOW_VARIANTS(sd);

FIXTURE_SETUP(sd)
{
	ASSERT_OK(xs_link(variant->tx_proto, variant->rx_proto, 1, 1,
			  &self->tx, &self->rx, NULL, 0));
}

FIXTURE_TEARDOWN(sd)
{
	xs_close(&self->tx);
	xs_close(&self->rx);
}

TEST_F(sd, blocked_recv_returns_0_on_shutdown)
{
	struct xs_bg bg;

	ASSERT_OK(xs_bg_recv(&bg, self->rx, 0));
	ASSERT_TRUE(xs_bg_blocks(&bg));
	ASSERT_OK(shutdown(self->rx, SHUT_RDWR));
	ASSERT_TRUE(xs_bg_finish(&bg, xs_wait_ms()))
		TH_LOG("shutdown did not wake recv");
	ASSERT_EQ(0, bg.ret);
}

TEST_F(sd, blocked_recv_returns_0_on_shut_rd)
{
	struct xs_bg bg;

	ASSERT_OK(xs_bg_recv(&bg, self->rx, 0));
	ASSERT_TRUE(xs_bg_blocks(&bg));
	ASSERT_OK(shutdown(self->rx, SHUT_RD));
	ASSERT_TRUE(xs_bg_finish(&bg, xs_wait_ms()));
	ASSERT_EQ(0, bg.ret);
}

TEST_F(sd, blocked_send_fails_with_epipe_on_shutdown)
{
	struct xs_bg bg;

	ASSERT_RECORD(self->tx, MSG_DONTWAIT, "one");
	ASSERT_RECORD(self->tx, MSG_DONTWAIT, "two");
	ASSERT_OK(xs_bg_send(&bg, self->tx, "three", MSG_EOR | MSG_NOSIGNAL));
	ASSERT_TRUE(xs_bg_blocks(&bg));
	ASSERT_OK(shutdown(self->tx, SHUT_RDWR));
	ASSERT_TRUE(xs_bg_finish(&bg, xs_wait_ms()))
		TH_LOG("shutdown did not wake send");
	ASSERT_EQ(-1, bg.ret);
	ASSERT_EQ(EPIPE, bg.err);
}

TEST_F(sd, two_blocked_receivers_are_both_woken)
{
	struct xs_bg a, b;

	ASSERT_OK(xs_bg_recv(&a, self->rx, 0));
	ASSERT_OK(xs_bg_recv(&b, self->rx, 0));
	ASSERT_TRUE(xs_bg_blocks(&a));
	ASSERT_TRUE(xs_bg_blocks(&b));
	ASSERT_OK(shutdown(self->rx, SHUT_RDWR));
	ASSERT_TRUE(xs_bg_finish(&a, xs_wait_ms()));
	ASSERT_TRUE(xs_bg_finish(&b, xs_wait_ms()));
	ASSERT_EQ(0, a.ret);
	ASSERT_EQ(0, b.ret);
}

static int sigpipe_pending(void)
{
	sigset_t set;

	sigpending(&set);
	return sigismember(&set, SIGPIPE);
}

static void block_sigpipe(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

TEST_F(sd, send_after_shut_wr_is_epipe_and_raises_sigpipe)
{
	block_sigpipe();
	ASSERT_OK(shutdown(self->tx, SHUT_WR));
	ASSERT_FALSE(sigpipe_pending());
	ASSERT_ERRNO(EPIPE, xs_send_str(self->tx, "x", MSG_EOR));
	ASSERT_TRUE(sigpipe_pending()) TH_LOG("no SIGPIPE");
}

TEST_F(sd, msg_nosignal_suppresses_sigpipe)
{
	block_sigpipe();
	ASSERT_OK(shutdown(self->tx, SHUT_WR));
	ASSERT_ERRNO(EPIPE, xs_send_str(self->tx, "x", MSG_EOR | MSG_NOSIGNAL));
	ASSERT_FALSE(sigpipe_pending()) TH_LOG("SIGPIPE despite MSG_NOSIGNAL");
}

TEST_F(sd, records_sent_before_shut_wr_are_delivered)
{
	ASSERT_RECORD(self->tx, 0, "before");
	ASSERT_OK(shutdown(self->tx, SHUT_WR));
	ASSERT_RECV_RECORD(self->rx, "before");
}

TEST_F(sd, recv_after_shut_rd_drains_queue_then_returns_0)
{
	char buf[8];
	int f;

	ASSERT_RECORD(self->tx, 0, "queued", "two");
	ASSERT_EQ(6, xs_recv_within(self->rx, buf, sizeof(buf), MSG_PEEK, &f,
				    xs_wait_ms()));
	ASSERT_OK(shutdown(self->rx, SHUT_RD));
	ASSERT_RECV_RECORD(self->rx, "queued", "two");
	ASSERT_EQ(0, xs_recv(self->rx, buf, sizeof(buf), 0, &f));
	ASSERT_EQ(0, xs_recv(self->rx, buf, sizeof(buf), MSG_DONTWAIT, &f));
	ASSERT_EQ(0, f & MSG_EOR);
}

XS_TEST_MAIN
