// SPDX-License-Identifier: GPL-2.0
/*
 * XS_LOSSLESS: a PUB or XPUB that waits (EAGAIN under MSG_DONTWAIT, up to
 * SO_SNDTIMEO) while a subscriber its record matches is at its limit,
 * decided at the record's first part, instead of dropping for it.
 */
#include "xs_test.h"

FIXTURE(ll) {
	int pub, sub, sub2;
	char name[XS_NAME_MAX + 1];
};

FIXTURE_VARIANT(ll) {
	int pub_proto;
};

FIXTURE_VARIANT_ADD(ll, pub) { .pub_proto = XSPROTO_PUB };
FIXTURE_VARIANT_ADD(ll, xpub) { .pub_proto = XSPROTO_XPUB };

/* pub binds, sub (RCVHWM 2, prefix "a") connects; pub's SNDHWM is 0. */
FIXTURE_SETUP(ll)
{
	self->sub2 = -1;
	xs_uname(self->name, sizeof(self->name), "ll");
	self->pub = xs_socket(variant->pub_proto);
	self->sub = xs_socket(XSPROTO_SUB);
	ASSERT_OK(xs_setint(self->pub, XS_SNDHWM, 0));
	ASSERT_OK(xs_setint(self->pub, XS_LOSSLESS, 1));
	ASSERT_OK(xs_setint(self->sub, XS_RCVHWM, 2));
	ASSERT_OK(xs_bind(self->pub, self->name));
	ASSERT_OK(xs_connect(self->sub, self->name));
	ASSERT_OK(setsockopt(self->sub, SOL_XS, XS_SUBSCRIBE, "a", 1));
}

FIXTURE_TEARDOWN(ll)
{
	xs_close(&self->pub);
	xs_close(&self->sub);
	xs_close(&self->sub2);
}

TEST_F(ll, option_reads_back_and_is_checked)
{
	int push = xs_socket(XSPROTO_PUSH), sub = xs_socket(XSPROTO_SUB);

	ASSERT_EQ(1, xs_getint(self->pub, SOL_XS, XS_LOSSLESS));
	ASSERT_OK(xs_setint(self->pub, XS_LOSSLESS, 0));
	ASSERT_EQ(0, xs_getint(self->pub, SOL_XS, XS_LOSSLESS));
	EXPECT_ERRNO(EINVAL, xs_setint(self->pub, XS_LOSSLESS, 2));
	EXPECT_ERRNO(EINVAL, xs_setint(self->pub, XS_LOSSLESS, -1));
	EXPECT_ERRNO(EINVAL, xs_setint(self->pub, XS_LOSSLESS, 0x7fffffff));
	EXPECT_ERRNO(EINVAL, setsockopt(self->pub, SOL_XS, XS_LOSSLESS, "x",
					1));
	/* only publishers */
	EXPECT_ERRNO(EINVAL, xs_setint(push, XS_LOSSLESS, 1));
	EXPECT_ERRNO(EINVAL, xs_setint(sub, XS_LOSSLESS, 0));
	EXPECT_EQ(-2147483647 - 1, xs_getint(push, SOL_XS, XS_LOSSLESS));
	ASSERT_EQ(0, xs_getint(self->pub, SOL_XS, XS_LOSSLESS));
	close(push);
	close(sub);
}

TEST_F(ll, full_subscriber_makes_it_wait_instead_of_dropping)
{
	struct xs_bg bg;

	ASSERT_RECORD(self->pub, MSG_DONTWAIT, "a0");
	ASSERT_RECORD(self->pub, MSG_DONTWAIT, "a1");
	EXPECT_ERRNO(EAGAIN, xs_send_str(self->pub, "a2", MSG_EOR |
					 MSG_DONTWAIT));
	/* a blocking send waits for room */
	ASSERT_EQ(0, xs_bg_send(&bg, self->pub, "a2", MSG_EOR));
	ASSERT_TRUE(xs_bg_blocks(&bg));
	ASSERT_PART(self->sub, "a0", MSG_EOR);
	ASSERT_TRUE(xs_bg_finish(&bg, xs_wait_ms()));
	ASSERT_EQ(2, bg.ret);
	ASSERT_PART(self->sub, "a1", MSG_EOR);
	ASSERT_PART(self->sub, "a2", MSG_EOR);
	ASSERT_NOTHING(self->sub);
	ASSERT_EQ(0U, xs_getu64(self->pub, XS_DROPS));
	ASSERT_EQ(0U, xs_getu64(self->sub, XS_MISSED));
}

TEST_F(ll, without_the_option_it_drops)
{
	int i;

	ASSERT_OK(xs_setint(self->pub, XS_LOSSLESS, 0));
	for (i = 0; i < 4; i++)
		ASSERT_RECORD(self->pub, MSG_DONTWAIT, "a");
	ASSERT_EQ(2U, xs_getu64(self->pub, XS_DROPS));
	ASSERT_EQ(2U, xs_getu64(self->sub, XS_MISSED));
}

TEST_F(ll, only_matching_subscribers_count)
{
	self->sub2 = xs_socket(XSPROTO_SUB);
	ASSERT_OK(xs_connect(self->sub2, self->name));
	ASSERT_OK(setsockopt(self->sub2, SOL_XS, XS_SUBSCRIBE, "b", 1));
	ASSERT_RECORD(self->pub, MSG_DONTWAIT, "a0");
	ASSERT_RECORD(self->pub, MSG_DONTWAIT, "a1");
	/* "a..." would overflow sub, "b..." goes to sub2 only */
	EXPECT_ERRNO(EAGAIN, xs_send_str(self->pub, "a2", MSG_EOR |
					 MSG_DONTWAIT));
	ASSERT_RECORD(self->pub, MSG_DONTWAIT, "b0");
	ASSERT_RECORD(self->pub, MSG_DONTWAIT, "c0");	/* nobody */
	ASSERT_PART(self->sub2, "b0", MSG_EOR);
	ASSERT_EQ(0U, xs_getu64(self->pub, XS_DROPS));
}

TEST_F(ll, decided_at_the_first_part)
{
	/* the first part waits; the others never do, and nothing is lost */
	ASSERT_RECORD(self->pub, MSG_DONTWAIT, "a0");
	ASSERT_RECORD(self->pub, MSG_DONTWAIT, "a1");
	EXPECT_ERRNO(EAGAIN, xs_send_str(self->pub, "a2", MSG_DONTWAIT));
	ASSERT_PART(self->sub, "a0", MSG_EOR);
	ASSERT_SEND(self->pub, "a2", MSG_DONTWAIT);
	ASSERT_PART(self->sub, "a1", MSG_EOR);
	ASSERT_SEND(self->pub, "mid", MSG_DONTWAIT);
	ASSERT_SEND(self->pub, "end", MSG_DONTWAIT | MSG_EOR);
	ASSERT_RECV_RECORD(self->sub, "a2", "mid", "end");
	ASSERT_EQ(0U, xs_getu64(self->pub, XS_DROPS));
}

TEST_F(ll, send_timeout_bounds_the_wait)
{
	ASSERT_RECORD(self->pub, MSG_DONTWAIT, "a0");
	ASSERT_RECORD(self->pub, MSG_DONTWAIT, "a1");
	ASSERT_OK(xs_set_timeo(self->pub, SO_SNDTIMEO, 20));
	EXPECT_ERRNO(EAGAIN, xs_send_str(self->pub, "a2", MSG_EOR));
	/* nothing of the refused record was kept */
	ASSERT_PART(self->sub, "a0", MSG_EOR);
	ASSERT_RECORD(self->pub, 0, "a3");
	ASSERT_PART(self->sub, "a1", MSG_EOR);
	ASSERT_PART(self->sub, "a3", MSG_EOR);
	ASSERT_NOTHING(self->sub);
}

TEST_F(ll, poll_says_pollout_only_when_every_subscriber_has_room)
{
	ASSERT_EQ(POLLOUT, xs_revents(self->pub, POLLOUT));
	ASSERT_RECORD(self->pub, MSG_DONTWAIT, "a0");
	ASSERT_RECORD(self->pub, MSG_DONTWAIT, "a1");
	ASSERT_EQ(0, xs_revents(self->pub, POLLOUT));
	ASSERT_OK(xs_setint(self->pub, XS_LOSSLESS, 0));
	ASSERT_EQ(POLLOUT, xs_revents(self->pub, POLLOUT));
	ASSERT_OK(xs_setint(self->pub, XS_LOSSLESS, 1));
	ASSERT_PART(self->sub, "a0", MSG_EOR);
	ASSERT_EQ(POLLOUT, xs_revents(self->pub, POLLOUT));
}

TEST_F(ll, waiting_sender_goes_when_the_subscriber_leaves)
{
	struct xs_bg bg;

	ASSERT_RECORD(self->pub, MSG_DONTWAIT, "a0");
	ASSERT_RECORD(self->pub, MSG_DONTWAIT, "a1");
	ASSERT_EQ(0, xs_bg_send(&bg, self->pub, "a2", MSG_EOR));
	ASSERT_TRUE(xs_bg_blocks(&bg));
	xs_close(&self->sub);
	ASSERT_TRUE(xs_bg_finish(&bg, xs_wait_ms()));
	ASSERT_EQ(2, bg.ret);
}

TEST_F(ll, waiting_sender_goes_when_the_option_is_cleared)
{
	struct xs_bg bg;

	ASSERT_RECORD(self->pub, MSG_DONTWAIT, "a0");
	ASSERT_RECORD(self->pub, MSG_DONTWAIT, "a1");
	ASSERT_EQ(0, xs_bg_send(&bg, self->pub, "a2", MSG_EOR));
	ASSERT_TRUE(xs_bg_blocks(&bg));
	ASSERT_OK(xs_setint(self->pub, XS_LOSSLESS, 0));
	ASSERT_TRUE(xs_bg_finish(&bg, xs_wait_ms()));
	ASSERT_EQ(2, bg.ret);
	ASSERT_EQ(1U, xs_getu64(self->pub, XS_DROPS));	/* lossy now */
}

TEST_F(ll, higher_rcvhwm_lets_the_waiting_sender_in)
{
	struct xs_bg bg;

	ASSERT_RECORD(self->pub, MSG_DONTWAIT, "a0");
	ASSERT_RECORD(self->pub, MSG_DONTWAIT, "a1");
	ASSERT_EQ(0, xs_bg_send(&bg, self->pub, "a2", MSG_EOR));
	ASSERT_TRUE(xs_bg_blocks(&bg));
	ASSERT_OK(xs_setint(self->sub, XS_RCVHWM, 0x7fffffff));
	ASSERT_TRUE(xs_bg_finish(&bg, xs_wait_ms()));
	ASSERT_EQ(2, bg.ret);
}

/*
 * One slow subscriber in another process and one fast one: with
 * XS_LOSSLESS both get every record in order, and the publisher is held
 * back to the slow one's pace; lossy, the slow one misses records.
 */
static int slow_reader(const char *name, int n, int every_ms)
{
	int sub = xs_socket(XSPROTO_SUB), i;
	char buf[32];

	if (xs_setint(sub, XS_RCVHWM, 4) || xs_connect(sub, name) ||
	    setsockopt(sub, SOL_XS, XS_SUBSCRIBE, "", 0))
		return 1;
	/* the publisher gets well ahead (or waits, lossless) first */
	xs_sleep_ms(2 * xs_quiet_ms());
	for (i = 0; i < n; i++) {
		ssize_t r = xs_recv_wait(sub, buf, sizeof(buf) - 1, NULL);

		if (r < 0)
			return 2;
		buf[r] = 0;
		if (atoi(buf) != i)
			return 3;
		if (i % 8 == 0)
			xs_sleep_ms(every_ms);
	}
	return xs_getu64(sub, XS_MISSED) ? 4 : 0;
}

static int publish_to_slow_and_fast(int lossless, uint64_t *drops,
				    int *fast_got)
{
	int pub = xs_socket(XSPROTO_PUB), fast = xs_socket(XSPROTO_SUB);
	int n = xs_iters(400, 80), i, st;
	char name[XS_NAME_MAX + 1], buf[32];
	pid_t pid;

	xs_uname(name, sizeof(name), "slow");
	if (xs_setint(pub, XS_SNDHWM, 0) ||
	    xs_setint(pub, XS_LOSSLESS, lossless) || xs_bind(pub, name) ||
	    xs_setint(fast, XS_RCVHWM, 0) || xs_connect(fast, name) ||
	    setsockopt(fast, SOL_XS, XS_SUBSCRIBE, "", 0))
		return -1;
	pid = fork();
	if (pid == 0)
		_exit(slow_reader(name, n, 1));
	for (i = 0; xs_getint(pub, SOL_XS, XS_SUBSCRIBERS) < 2; i++) {
		if (i > xs_wait_ms())
			return -1;
		xs_sleep_ms(1);
	}
	for (i = 0; i < n; i++) {
		snprintf(buf, sizeof(buf), "%d", i);
		if (xs_send_str(pub, buf, MSG_EOR) < 0)
			return -1;
	}
	*fast_got = 0;
	while (xs_recv_within(fast, buf, sizeof(buf), 0, NULL,
			      xs_quiet_ms()) > 0)
		++*fast_got;
	*drops = xs_getu64(pub, XS_DROPS);
	if (!lossless)
		kill(pid, SIGKILL);
	st = xs_wait_child(pid);
	close(pub);
	close(fast);
	return lossless ? st : 0;
}

TEST(lossless_publisher_paces_itself_to_a_slow_subscriber)
{
	uint64_t drops = 1;
	int fast = 0;

	ASSERT_EQ(0, publish_to_slow_and_fast(1, &drops, &fast));
	ASSERT_EQ(0U, drops);
	ASSERT_EQ(xs_iters(400, 80), fast);
	/* the same, lossy: the slow subscriber misses some */
	ASSERT_EQ(0, publish_to_slow_and_fast(0, &drops, &fast));
	ASSERT_LT(0U, drops);
	ASSERT_EQ(xs_iters(400, 80), fast);
}

XS_TEST_MAIN
