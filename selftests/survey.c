// SPDX-License-Identifier: GPL-2.0
/*
 * SURVEYOR, RESPONDENT, XSURVEYOR, XRESPONDENT.
 *
 * A survey goes to every respondent with room (full ones miss it, the
 * surveyor never blocks), behind a 4-byte survey id (top bit set) that
 * users of SURVEYOR and RESPONDENT never see.  SURVEYOR takes answers to
 * its current survey only, until XS_SURVEY_TIMEOUT after it went out
 * (ETIMEDOUT then); RESPONDENT answers like REP, in strict turns.  The X
 * types pass records raw, XRESPONDENT with the surveyor's identity in
 * front and routing by the first part, so a forwarder between them makes
 * a device.  Every type drops at the high-water mark.
 */
#include "xs_test.h"

/* A survey id as an XSURVEYOR user writes it. */
#define SID	"\x80\x01\x02\x03"
#define NRESP	3

static int set_survey_timeout(int fd, int ms)
{
	return xs_setint(fd, XS_SURVEY_TIMEOUT, ms);
}

/* Read a survey id part (not the last part) into @id. */
static int recv_survey_id(int fd, char *id)
{
	int f;
	ssize_t n = xs_recv_wait(fd, id, 8, &f);

	return n == 4 && (id[0] & 0x80) && !(f & MSG_EOR) ? 0 : -1;
}

/* ---- SURVEYOR and RESPONDENTs -------------------------------------------- */

/* A bound SURVEYOR, NRESP RESPONDENTs connected to it. */
FIXTURE(sv) {
	int surveyor, resp[NRESP];
	char name[XS_NAME_MAX + 1];
};

FIXTURE_SETUP(sv)
{
	int i;

	xs_uname(self->name, sizeof(self->name), "sv");
	self->surveyor = xs_socket(XSPROTO_SURVEYOR);
	ASSERT_GE(self->surveyor, 0);
	ASSERT_OK(xs_bind(self->surveyor, self->name));
	/* a call that blocks by mistake fails the test instead of hanging */
	ASSERT_OK(xs_set_timeo(self->surveyor, SO_RCVTIMEO, xs_wait_ms()));
	ASSERT_OK(xs_set_timeo(self->surveyor, SO_SNDTIMEO, xs_wait_ms()));
	for (i = 0; i < NRESP; i++) {
		self->resp[i] = xs_socket(XSPROTO_RESPONDENT);
		ASSERT_GE(self->resp[i], 0);
		ASSERT_OK(xs_set_timeo(self->resp[i], SO_RCVTIMEO,
				       xs_wait_ms()));
		ASSERT_OK(xs_connect(self->resp[i], self->name));
	}
}

FIXTURE_TEARDOWN(sv)
{
	int i;

	xs_close(&self->surveyor);
	for (i = 0; i < NRESP; i++)
		xs_close(&self->resp[i]);
}

/*
 * Collect answers "<prefix><i>" at the surveyor until none comes within a
 * quiet period; returns the bit set of the i seen, or -1 on anything else.
 */
static int collect(int surveyor, const char *prefix)
{
	size_t plen = strlen(prefix);
	struct xs_rec r;
	int seen = 0, i;

	while (xs_recv_rec(surveyor, &r, xs_quiet_ms()) > 0) {
		if (r.n != 1 || r.len[0] != plen + 1 ||
		    memcmp(r.data[0], prefix, plen))
			return -1;
		i = r.data[0][plen] - '0';
		if (i < 0 || i >= 16 || (seen & (1 << i)))
			return -1;
		seen |= 1 << i;
	}
	return errno == EAGAIN ? seen : -1;
}

/* Each respondent reads the survey @parts and answers "<prefix><i>". */
#define ANSWER_ALL(self, prefix, ...) do {				\
	char __a[32];							\
	int __r, __fd;							\
	for (__r = 0; __r < NRESP; __r++) {				\
		__fd = (self)->resp[__r];				\
		ASSERT_RECV_RECORD(__fd, __VA_ARGS__);			\
		snprintf(__a, sizeof(__a), "%s%d", (prefix), __r);	\
		ASSERT_RECORD(__fd, 0, __a);				\
	}								\
} while (0)

TEST_F(sv, survey_reaches_every_respondent_and_answers_come_back)
{
	ASSERT_RECORD(self->surveyor, 0, "how", "are you");
	ANSWER_ALL(self, "fine", "how", "are you");
	ASSERT_EQ((1 << NRESP) - 1, collect(self->surveyor, "fine"));
	ASSERT_ERRNO(EAGAIN, xs_recv(self->surveyor, (char[4]){}, 4,
				     MSG_DONTWAIT, NULL));
}

TEST_F(sv, multipart_answers_arrive_whole)
{
	ASSERT_RECORD(self->surveyor, 0, "q");
	ASSERT_RECV_RECORD(self->resp[1], "q");
	ASSERT_RECORD(self->resp[1], 0, "a1", "", "a3");
	ASSERT_RECV_RECORD(self->surveyor, "a1", "", "a3");
}

TEST_F(sv, surveyor_recv_before_any_survey_is_ebadfd)
{
	char buf[8];

	ASSERT_ERRNO(EBADFD, xs_recv(self->surveyor, buf, sizeof(buf), 0,
				     NULL));
	ASSERT_ERRNO(EBADFD, xs_recv(self->surveyor, buf, sizeof(buf),
				     MSG_DONTWAIT, NULL));
}

TEST_F(sv, answers_to_an_older_survey_are_discarded)
{
	ASSERT_RECORD(self->surveyor, 0, "first");
	ANSWER_ALL(self, "old", "first");
	ASSERT_RECORD(self->surveyor, 0, "second");
	ANSWER_ALL(self, "new", "second");
	/* the old answers were queued first */
	ASSERT_EQ((1 << NRESP) - 1, collect(self->surveyor, "new"));
}

TEST_F(sv, respondent_turns_are_enforced)
{
	char buf[8];

	/* nothing to answer yet */
	ASSERT_ERRNO(EBADFD, xs_send_str(self->resp[0], "x", MSG_EOR));
	ASSERT_ERRNO(EBADFD, xs_send_str(self->resp[0], "x", 0));
	ASSERT_RECORD(self->surveyor, 0, "s1", "tail");
	ASSERT_PART(self->resp[0], "s1", 0);
	/* not before the whole survey is read */
	ASSERT_ERRNO(EBADFD, xs_send_str(self->resp[0], "x", MSG_EOR));
	ASSERT_PART(self->resp[0], "tail", MSG_EOR);
	/* an answer is owed: no next survey */
	ASSERT_RECORD(self->surveyor, 0, "s2");
	ASSERT_ERRNO(EBADFD, xs_recv(self->resp[0], buf, sizeof(buf), 0,
				     NULL));
	ASSERT_RECORD(self->resp[0], 0, "late");
	ASSERT_RECV_RECORD(self->resp[0], "s2");
	ASSERT_RECORD(self->resp[0], 0, "a2");
	ASSERT_ERRNO(EBADFD, xs_send_str(self->resp[0], "again", MSG_EOR));
	ASSERT_RECV_RECORD(self->surveyor, "a2");
}

TEST_F(sv, poll_follows_the_turns)
{
	char c;

	ASSERT_EQ(POLLOUT, xs_revents(self->surveyor, POLLIN | POLLOUT));
	ASSERT_EQ(0, xs_revents(self->resp[0], POLLIN | POLLOUT));
	ASSERT_RECORD(self->surveyor, 0, "q");
	ASSERT_EQ(1, xs_recv_within(self->resp[0], &c, 1, MSG_PEEK, NULL,
				    xs_wait_ms()));
	ASSERT_EQ(POLLIN, xs_revents(self->resp[0], POLLIN | POLLOUT));
	ASSERT_RECV_RECORD(self->resp[0], "q");
	ASSERT_EQ(POLLOUT, xs_revents(self->resp[0], POLLIN | POLLOUT));
	ASSERT_RECORD(self->resp[0], 0, "a");
	ASSERT_EQ(0, xs_revents(self->resp[0], POLLIN | POLLOUT));
	ASSERT_EQ(1, xs_recv_within(self->surveyor, &c, 1, MSG_PEEK, NULL,
				    xs_wait_ms()));
	ASSERT_EQ(POLLIN | POLLOUT,
		  xs_revents(self->surveyor, POLLIN | POLLOUT));
	ASSERT_RECV_RECORD(self->surveyor, "a");
	ASSERT_EQ(POLLOUT, xs_revents(self->surveyor, POLLIN | POLLOUT));
}

/* A RESPONDENT owing an answer is not readable: its recv would fail. */
TEST_F(sv, respondent_owing_an_answer_is_not_readable)
{
	char c;

	ASSERT_RECORD(self->surveyor, 0, "s1");
	ASSERT_RECV_RECORD(self->resp[0], "s1");
	ASSERT_RECORD(self->surveyor, 0, "s2");
	xs_sleep_ms(xs_quiet_ms());
	ASSERT_ERRNO(EBADFD, xs_recv(self->resp[0], &c, 1,
				     MSG_PEEK | MSG_DONTWAIT, NULL));
	EXPECT_EQ(POLLOUT, xs_revents(self->resp[0], POLLIN | POLLOUT))
		TH_LOG("POLLIN on a RESPONDENT whose recv fails with EBADFD");
}

/* An answer the surveyor will drop is not shown by MSG_PEEK or POLLIN. */
TEST_F(sv, stale_answer_is_neither_peeked_nor_polled)
{
	char c;

	ASSERT_RECORD(self->surveyor, 0, "s1");
	ASSERT_RECV_RECORD(self->resp[0], "s1");
	ASSERT_RECORD(self->surveyor, 0, "s2");
	ASSERT_RECORD(self->resp[0], 0, "old");
	xs_sleep_ms(xs_quiet_ms());
	EXPECT_ERRNO(EAGAIN, xs_recv(self->surveyor, &c, 1,
				     MSG_PEEK | MSG_DONTWAIT, NULL));
	EXPECT_EQ(POLLOUT, xs_revents(self->surveyor, POLLIN | POLLOUT))
		TH_LOG("POLLIN on a SURVEYOR whose recv finds nothing");
	ASSERT_TRUE(xs_recv_gets_nothing(self->surveyor));
}

TEST_F(sv, answer_to_a_surveyor_that_left_is_dropped_silently)
{
	ASSERT_RECORD(self->surveyor, 0, "q");
	ASSERT_RECV_RECORD(self->resp[0], "q");
	xs_close(&self->surveyor);
	ASSERT_RECORD(self->resp[0], MSG_DONTWAIT, "into the void");
	/* back to waiting for a survey */
	ASSERT_EQ(0, xs_revents(self->resp[0], POLLIN | POLLOUT));
	ASSERT_ERRNO(EAGAIN, xs_recv(self->resp[0], (char[4]){}, 4,
				     MSG_DONTWAIT, NULL));
}

/*
 * The surveyor bound the name and went away: the answer must not wait on
 * the pipe for the next surveyor that binds it (whose first survey id is
 * the same as the first one's).
 */
TEST_F(sv, answer_to_a_vanished_surveyor_does_not_reach_the_next_one)
{
	int next = xs_socket(XSPROTO_SURVEYOR);

	ASSERT_GE(next, 0);
	ASSERT_RECORD(self->surveyor, 0, "q");
	ASSERT_RECV_RECORD(self->resp[0], "q");
	xs_close(&self->surveyor);
	ASSERT_RECORD(self->resp[0], MSG_DONTWAIT, "for the old one");

	ASSERT_OK(xs_bind(next, self->name));
	ASSERT_RECORD(next, 0, "new");
	ASSERT_RECV_RECORD(self->resp[0], "new");
	ASSERT_RECORD(self->resp[0], 0, "for the new one");
	ASSERT_RECV_RECORD(next, "for the new one");
	close(next);
}

TEST_F(sv, xs_type_is_the_crossroads_type)
{
	int xsv = xs_socket(XSPROTO_XSURVEYOR);
	int xresp = xs_socket(XSPROTO_XRESPONDENT);

	ASSERT_EQ(11, xs_getint(self->surveyor, SOL_XS, XS_TYPE));
	ASSERT_EQ(12, xs_getint(self->resp[0], SOL_XS, XS_TYPE));
	ASSERT_EQ(13, xs_getint(xsv, SOL_XS, XS_TYPE));
	ASSERT_EQ(14, xs_getint(xresp, SOL_XS, XS_TYPE));
	close(xsv);
	close(xresp);
}

TEST(surveyor_never_blocks)
{
	int surveyor = xs_socket(XSPROTO_SURVEYOR);
	long long t0;
	XS_UNAME(name, "alone");

	ASSERT_GE(surveyor, 0);
	ASSERT_OK(xs_set_timeo(surveyor, SO_SNDTIMEO, xs_wait_ms()));
	ASSERT_EQ(POLLOUT, xs_revents(surveyor, POLLIN | POLLOUT));
	t0 = xs_now_ms();
	ASSERT_RECORD(surveyor, 0, "anyone?");
	ASSERT_OK(xs_bind(surveyor, name));
	ASSERT_RECORD(surveyor, 0, "anyone", "at all?");
	ASSERT_LT(xs_now_ms() - t0, xs_wait_ms() / 2);
	ASSERT_EQ(POLLOUT, xs_revents(surveyor, POLLIN | POLLOUT));
	/* a survey is on: nothing to read yet, not a state error */
	ASSERT_ERRNO(EAGAIN, xs_recv(surveyor, (char[4]){}, 4, MSG_DONTWAIT,
				     NULL));
	close(surveyor);
}

/* ---- XS_SURVEY_TIMEOUT --------------------------------------------------- */

TEST(survey_timeout_is_none_by_default_and_at_least_minus_one)
{
	int fd = xs_socket(XSPROTO_SURVEYOR);
	char small = 0;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(-1, xs_getint(fd, SOL_XS, XS_SURVEY_TIMEOUT));
	ASSERT_ERRNO(EINVAL, set_survey_timeout(fd, -2));
	ASSERT_ERRNO(EINVAL, setsockopt(fd, SOL_XS, XS_SURVEY_TIMEOUT,
					&small, sizeof(small)));
	ASSERT_EQ(-1, xs_getint(fd, SOL_XS, XS_SURVEY_TIMEOUT));
	ASSERT_OK(set_survey_timeout(fd, 0));
	ASSERT_EQ(0, xs_getint(fd, SOL_XS, XS_SURVEY_TIMEOUT));
	ASSERT_OK(set_survey_timeout(fd, 1500));
	ASSERT_EQ(1500, xs_getint(fd, SOL_XS, XS_SURVEY_TIMEOUT));
	ASSERT_OK(set_survey_timeout(fd, -1));
	ASSERT_EQ(-1, xs_getint(fd, SOL_XS, XS_SURVEY_TIMEOUT));
	close(fd);
}

TEST_F(sv, recv_after_the_survey_timeout_is_etimedout)
{
	int t = 300 * xs_scale();
	long long sent, took;
	char buf[8];

	ASSERT_OK(set_survey_timeout(self->surveyor, t));
	ASSERT_RECORD(self->surveyor, 0, "quick?");
	sent = xs_now_ms();
	ASSERT_RECV_RECORD(self->resp[0], "quick?");
	ASSERT_RECORD(self->resp[0], 0, "yes");
	ASSERT_RECV_RECORD(self->surveyor, "yes");

	/* SO_RCVTIMEO shorter than the survey's time left: EAGAIN first */
	ASSERT_OK(xs_set_timeo(self->surveyor, SO_RCVTIMEO, t / 10));
	ASSERT_ERRNO(EAGAIN, xs_recv(self->surveyor, buf, sizeof(buf), 0,
				     NULL));
	ASSERT_OK(xs_set_timeo(self->surveyor, SO_RCVTIMEO, 0));
	ASSERT_ERRNO(ETIMEDOUT, xs_recv(self->surveyor, buf, sizeof(buf), 0,
					NULL));
	took = xs_now_ms() - sent;
	ASSERT_GE(took, t - 5) TH_LOG("ETIMEDOUT after %lld ms of %d", took, t);
	ASSERT_LT(took, t + xs_wait_ms());

	/* and from then on, at once, even with an answer queued */
	ASSERT_RECV_RECORD(self->resp[1], "quick?");
	ASSERT_RECORD(self->resp[1], 0, "too late");
	xs_sleep_ms(xs_quiet_ms());
	ASSERT_ERRNO(ETIMEDOUT, xs_recv(self->surveyor, buf, sizeof(buf),
					MSG_DONTWAIT, NULL));
	ASSERT_ERRNO(ETIMEDOUT, xs_recv(self->surveyor, buf, sizeof(buf), 0,
					NULL));

	/* a new survey opens a new window */
	ASSERT_RECORD(self->surveyor, 0, "again?");
	ASSERT_RECV_RECORD(self->resp[1], "again?");
	ASSERT_RECORD(self->resp[1], 0, "in time");
	ASSERT_RECV_RECORD(self->surveyor, "in time");
}

TEST_F(sv, zero_survey_timeout_ends_the_survey_at_once)
{
	char buf[8];

	ASSERT_OK(set_survey_timeout(self->surveyor, 0));
	ASSERT_RECORD(self->surveyor, 0, "q");
	ASSERT_RECV_RECORD(self->resp[0], "q");
	ASSERT_RECORD(self->resp[0], 0, "a");
	xs_sleep_ms(xs_quiet_ms());
	ASSERT_ERRNO(ETIMEDOUT, xs_recv(self->surveyor, buf, sizeof(buf),
					MSG_DONTWAIT, NULL));
}

TEST_F(sv, without_a_timeout_a_survey_waits_like_any_recv)
{
	char buf[8];
	long long t0;

	ASSERT_RECORD(self->surveyor, 0, "q");
	ASSERT_ERRNO(EAGAIN, xs_recv(self->surveyor, buf, sizeof(buf),
				     MSG_DONTWAIT, NULL));
	ASSERT_OK(xs_set_timeo(self->surveyor, SO_RCVTIMEO, 3 * xs_quiet_ms()));
	t0 = xs_now_ms();
	ASSERT_ERRNO(EAGAIN, xs_recv(self->surveyor, buf, sizeof(buf), 0,
				     NULL));
	/* a few ticks of slack: the guest's tick and clock drift under TCG */
	ASSERT_GE(xs_now_ms() - t0, 3 * xs_quiet_ms() - 20);
}

/* ---- XSURVEYOR and XRESPONDENT ------------------------------------------- */

/* XSURVEYOR "xs" bound; two RESPONDENTs and an XRESPONDENT connected. */
FIXTURE(raw) {
	int xsv, resp[2], xresp;
};

FIXTURE_SETUP(raw)
{
	int i;
	XS_UNAME(name, "raw");

	self->xsv = xs_socket(XSPROTO_XSURVEYOR);
	ASSERT_GE(self->xsv, 0);
	ASSERT_OK(xs_set_identity(self->xsv, "xs"));
	ASSERT_OK(xs_bind(self->xsv, name));
	for (i = 0; i < 2; i++) {
		self->resp[i] = xs_socket(XSPROTO_RESPONDENT);
		ASSERT_GE(self->resp[i], 0);
		ASSERT_OK(xs_connect(self->resp[i], name));
	}
	self->xresp = xs_socket(XSPROTO_XRESPONDENT);
	ASSERT_GE(self->xresp, 0);
	ASSERT_OK(xs_connect(self->xresp, name));
}

FIXTURE_TEARDOWN(raw)
{
	xs_close(&self->xsv);
	xs_close(&self->resp[0]);
	xs_close(&self->resp[1]);
	xs_close(&self->xresp);
}

TEST_F(raw, xsurveyor_fans_out_and_receives_raw)
{
	struct xs_rec r;
	int i;

	ASSERT_RECORD(self->xsv, 0, SID, "q", "r");
	for (i = 0; i < 2; i++) {
		ASSERT_RECV_RECORD(self->resp[i], "q", "r");
		ASSERT_RECORD(self->resp[i], 0, "a");
	}
	ASSERT_EQ(4, xs_recv_rec(self->xresp, &r, xs_wait_ms()));
	ASSERT_REC_IS(&r, "xs", SID, "q", "r");
	ASSERT_OK(xs_send_rec(self->xresp, &r, 0, 2, 0, 0));
	ASSERT_SEND(self->xresp, "b", MSG_EOR);

	/* answers come back with the id in front, nothing checked */
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(2, xs_recv_rec(self->xsv, &r, xs_wait_ms()));
		ASSERT_TRUE(xs_rec_is(&r, XS_PARTS(SID, "a")) ||
			    xs_rec_is(&r, XS_PARTS(SID, "b")));
	}
	ASSERT_NOTHING(self->xsv);
	/* XSURVEYOR keeps no survey state: any record goes out */
	ASSERT_RECORD(self->xsv, 0, "\x80\x09\x09\x09", "q2");
	ASSERT_RECV_RECORD(self->resp[0], "q2");
}

TEST_F(raw, respondent_drops_a_survey_without_an_id)
{
	ASSERT_RECORD(self->xsv, 0, "no id");
	ASSERT_RECORD(self->xsv, 0, "\x7f\x01\x02\x03", "top bit clear");
	ASSERT_RECORD(self->xsv, 0, "\x80\x01\x02", "three bytes");
	ASSERT_RECORD(self->xsv, 0, SID);
	ASSERT_NOTHING(self->resp[0]);
	ASSERT_NOTHING(self->resp[1]);
	ASSERT_RECORD(self->xsv, 0, SID, "good");
	ASSERT_RECV_RECORD(self->resp[0], "good");
	ASSERT_RECV_RECORD(self->resp[1], "good");
}

/* XRESPONDENT bound; SURVEYORs "A" and "B" connected. */
FIXTURE(xresp) {
	int xresp, sv[2];
};

FIXTURE_SETUP(xresp)
{
	static const char *const ids[] = { "A", "B" };
	int i;
	XS_UNAME(name, "xresp");

	self->xresp = xs_socket(XSPROTO_XRESPONDENT);
	ASSERT_GE(self->xresp, 0);
	ASSERT_OK(xs_bind(self->xresp, name));
	for (i = 0; i < 2; i++) {
		self->sv[i] = xs_socket(XSPROTO_SURVEYOR);
		ASSERT_GE(self->sv[i], 0);
		ASSERT_OK(xs_set_identity(self->sv[i], ids[i]));
		ASSERT_OK(xs_connect(self->sv[i], name));
	}
}

FIXTURE_TEARDOWN(xresp)
{
	xs_close(&self->xresp);
	xs_close(&self->sv[0]);
	xs_close(&self->sv[1]);
}

TEST_F(xresp, xrespondent_prefixes_identity_and_routes_by_it)
{
	char ida[8], idb[8];

	ASSERT_RECORD(self->sv[0], 0, "from-a");
	ASSERT_RECORD(self->sv[1], 0, "from-b", "more");
	ASSERT_PART(self->xresp, "A", 0);
	ASSERT_OK(recv_survey_id(self->xresp, ida));
	ASSERT_PART(self->xresp, "from-a", MSG_EOR);
	ASSERT_PART(self->xresp, "B", 0);
	ASSERT_OK(recv_survey_id(self->xresp, idb));
	ASSERT_RECV_RECORD(self->xresp, "from-b", "more");

	ASSERT_SEND(self->xresp, "B", 0);
	ASSERT_EQ(4, xs_send(self->xresp, idb, 4, 0));
	ASSERT_SEND(self->xresp, "to-b", MSG_EOR);
	ASSERT_RECV_RECORD(self->sv[1], "to-b");
	ASSERT_TRUE(xs_recv_gets_nothing(self->sv[0]));

	/* unknown identity, identity alone: dropped */
	ASSERT_RECORD(self->xresp, 0, "Z", "nobody");
	ASSERT_RECORD(self->xresp, 0, "A");
	ASSERT_EQ(2ULL, xs_getu64(self->xresp, XS_DROPS));
	ASSERT_TRUE(xs_recv_gets_nothing(self->sv[0]));
	ASSERT_SEND(self->xresp, "A", 0);
	ASSERT_EQ(4, xs_send(self->xresp, ida, 4, 0));
	ASSERT_SEND(self->xresp, "to-a", MSG_EOR);
	ASSERT_RECV_RECORD(self->sv[0], "to-a");
}

TEST_F(xresp, surveyor_drops_answers_without_its_survey_id)
{
	char id[8];

	ASSERT_RECORD(self->sv[0], 0, "s");
	ASSERT_PART(self->xresp, "A", 0);
	ASSERT_OK(recv_survey_id(self->xresp, id));
	ASSERT_PART(self->xresp, "s", MSG_EOR);

	ASSERT_RECORD(self->xresp, 0, "A", "no id");
	ASSERT_RECORD(self->xresp, 0, "A", "\x80\x7f\x7f\x7f", "other id");
	ASSERT_RECORD(self->xresp, 0, "A", "\x80\x7f\x7f\x7f");
	ASSERT_TRUE(xs_recv_gets_nothing(self->sv[0]));
	ASSERT_SEND(self->xresp, "A", 0);
	ASSERT_EQ(4, xs_send(self->xresp, id, 4, 0));
	ASSERT_SEND(self->xresp, "right", MSG_EOR);
	ASSERT_RECV_RECORD(self->sv[0], "right");
}

TEST(xrespondent_gives_a_generated_identity)
{
	int xresp, sv;
	char id[XS_IDENTITY_MAX], sid[8];
	int f;

	ASSERT_OK(xs_link(XSPROTO_SURVEYOR, XSPROTO_XRESPONDENT, -1, -1, &sv,
			  &xresp, NULL, 0));
	ASSERT_RECORD(sv, 0, "q");
	ASSERT_EQ(5, xs_recv_wait(xresp, id, sizeof(id), &f));
	ASSERT_EQ(0, id[0]);
	ASSERT_OK(recv_survey_id(xresp, sid));
	ASSERT_PART(xresp, "q", MSG_EOR);
	ASSERT_EQ(5, xs_send(xresp, id, 5, 0));
	ASSERT_EQ(4, xs_send(xresp, sid, 4, 0));
	ASSERT_SEND(xresp, "a", MSG_EOR);
	ASSERT_RECV_RECORD(sv, "a");
	close(sv);
	close(xresp);
}

/* ---- devices ------------------------------------------------------------- */

/* SURVEYORs - XRESPONDENT | forwarder | XSURVEYOR - NRESP RESPONDENTs */
FIXTURE(dev) {
	int front, back, sv[2], resp[NRESP];
};

FIXTURE_SETUP(dev)
{
	int i;
	XS_UNAME(fname, "front");
	XS_UNAME(bname, "back");

	self->front = xs_socket(XSPROTO_XRESPONDENT);
	self->back = xs_socket(XSPROTO_XSURVEYOR);
	ASSERT_GE(self->front, 0);
	ASSERT_GE(self->back, 0);
	ASSERT_OK(xs_bind(self->front, fname));
	ASSERT_OK(xs_bind(self->back, bname));
	for (i = 0; i < 2; i++) {
		self->sv[i] = xs_socket(XSPROTO_SURVEYOR);
		ASSERT_GE(self->sv[i], 0);
		ASSERT_OK(xs_connect(self->sv[i], fname));
	}
	for (i = 0; i < NRESP; i++) {
		self->resp[i] = xs_socket(XSPROTO_RESPONDENT);
		ASSERT_GE(self->resp[i], 0);
		ASSERT_OK(xs_connect(self->resp[i], bname));
	}
}

FIXTURE_TEARDOWN(dev)
{
	int i;

	xs_close(&self->front);
	xs_close(&self->back);
	for (i = 0; i < 2; i++)
		xs_close(&self->sv[i]);
	for (i = 0; i < NRESP; i++)
		xs_close(&self->resp[i]);
}

TEST_F(dev, surveys_and_multipart_answers_cross_a_device)
{
	char a[16];
	int i;

	ASSERT_OK(set_survey_timeout(self->sv[0], 2 * xs_wait_ms()));
	ASSERT_RECORD(self->sv[0], 0, "census", "");
	/* identity, survey id, body */
	ASSERT_EQ(4, xs_forward_record(self->front, self->back));
	for (i = 0; i < NRESP; i++) {
		ASSERT_RECV_RECORD(self->resp[i], "census", "");
		snprintf(a, sizeof(a), "%d", i);
		ASSERT_RECORD(self->resp[i], 0, "count", a);
	}
	for (i = 0; i < NRESP; i++)
		ASSERT_EQ(4, xs_forward_record(self->back, self->front));
	for (i = 0; i < NRESP; i++) {
		struct xs_rec r;

		ASSERT_EQ(2, xs_recv_rec(self->sv[0], &r, xs_wait_ms()));
		ASSERT_STREQ("count", r.data[0]);
	}
	ASSERT_ERRNO(EAGAIN, xs_recv(self->sv[0], a, sizeof(a), MSG_DONTWAIT,
				     NULL));
	ASSERT_ERRNO(EBADFD, xs_recv(self->sv[1], a, sizeof(a), MSG_DONTWAIT,
				     NULL));
}

TEST_F(dev, each_surveyor_gets_the_answers_to_its_own_survey)
{
	char a[32];
	struct xs_rec r;
	int i, j;

	ASSERT_RECORD(self->sv[0], 0, "s0");
	ASSERT_RECORD(self->sv[1], 0, "s1");
	ASSERT_EQ(3, xs_forward_record(self->front, self->back));
	ASSERT_EQ(3, xs_forward_record(self->front, self->back));
	for (i = 0; i < NRESP; i++) {
		for (j = 0; j < 2; j++) {
			ASSERT_EQ(1, xs_recv_rec(self->resp[i], &r,
						 xs_wait_ms()));
			snprintf(a, sizeof(a), "%.8s-%d", r.data[0], i);
			ASSERT_RECORD(self->resp[i], 0, a);
		}
	}
	/* identity, survey id, answer */
	for (i = 0; i < 2 * NRESP; i++)
		ASSERT_EQ(3, xs_forward_record(self->back, self->front));
	for (j = 0; j < 2; j++) {
		for (i = 0; i < NRESP; i++) {
			ASSERT_EQ(1, xs_recv_rec(self->sv[j], &r,
						 xs_wait_ms()));
			ASSERT_EQ('s', r.data[0][0]);
			ASSERT_EQ('0' + j, r.data[0][1])
				TH_LOG("surveyor %d got '%s'", j, r.data[0]);
		}
		ASSERT_TRUE(xs_recv_gets_nothing(self->sv[j]));
	}
}

/*
 * An identity of the shape of a survey id (4 bytes, top bit set) would end
 * an envelope early behind a device: the kernel refuses it, and a 5-byte
 * identity with the top bit set routes fine.
 */
TEST_F(dev, identity_shaped_like_a_survey_id_is_refused)
{
	int sv = xs_socket(XSPROTO_SURVEYOR);
	XS_UNAME(name, "idshape");

	ASSERT_GE(sv, 0);
	ASSERT_ERRNO(EINVAL, xs_set_identity(sv, "\xff\x01\x02\x03"));
	ASSERT_OK(xs_set_identity(sv, "\xff\x01\x02\x03\x04"));
	ASSERT_OK(xs_bind(self->front, name));
	ASSERT_OK(xs_connect(sv, name));
	ASSERT_RECORD(sv, 0, "body");
	ASSERT_EQ(3, xs_forward_record(self->front, self->back));
	ASSERT_RECV_RECORD(self->resp[0], "body");
	ASSERT_RECORD(self->resp[0], 0, "answer");
	ASSERT_EQ(3, xs_forward_record(self->back, self->front));
	ASSERT_RECV_RECORD(sv, "answer");
	close(sv);
}

/* ---- high-water marks: every survey type drops --------------------------- */

/*
 * tx sends five records to rx over a pipe that holds SNDHWM 1 + RCVHWM 1
 * = 2; rx never reads them.  Where tx fans out, a second receiver with
 * room gets all five.  rx has the identity "rx".
 */
FIXTURE(hwm) {
	int tx, rx, roomy;
};

FIXTURE_VARIANT(hwm) {
	int tx_proto, rx_proto;
	int fans_out;
};

FIXTURE_VARIANT_ADD(hwm, surveyor) {
	.tx_proto = XSPROTO_SURVEYOR, .rx_proto = XSPROTO_RESPONDENT,
	.fans_out = 1,
};

FIXTURE_VARIANT_ADD(hwm, xsurveyor) {
	.tx_proto = XSPROTO_XSURVEYOR, .rx_proto = XSPROTO_RESPONDENT,
	.fans_out = 1,
};

FIXTURE_VARIANT_ADD(hwm, respondent) {
	.tx_proto = XSPROTO_RESPONDENT, .rx_proto = XSPROTO_XSURVEYOR,
};

FIXTURE_VARIANT_ADD(hwm, xrespondent) {
	.tx_proto = XSPROTO_XRESPONDENT, .rx_proto = XSPROTO_XSURVEYOR,
};

FIXTURE_SETUP(hwm)
{
	XS_UNAME(name, "hwm");

	self->roomy = -1;
	self->tx = xs_socket(variant->tx_proto);
	self->rx = xs_socket(variant->rx_proto);
	ASSERT_GE(self->tx, 0);
	ASSERT_GE(self->rx, 0);
	ASSERT_OK(xs_set_identity(self->rx, "rx"));
	ASSERT_OK(xs_setint(self->tx, XS_SNDHWM, 1));
	ASSERT_OK(xs_setint(self->rx, XS_RCVHWM, 1));
	/* a dropping sender must not wait even when it may */
	ASSERT_OK(xs_set_timeo(self->tx, SO_SNDTIMEO, xs_wait_ms()));
	ASSERT_OK(xs_bind(self->tx, name));
	ASSERT_OK(xs_connect(self->rx, name));
	if (variant->fans_out) {
		self->roomy = xs_socket(variant->rx_proto);
		ASSERT_GE(self->roomy, 0);
		ASSERT_OK(xs_setint(self->roomy, XS_RCVHWM, 100));
		ASSERT_OK(xs_connect(self->roomy, name));
	}
}

FIXTURE_TEARDOWN(hwm)
{
	xs_close(&self->tx);
	xs_close(&self->rx);
	xs_close(&self->roomy);
}

/* One record from tx to rx, with what each type needs around it. */
static int hwm_send(struct _test_data_hwm *self,
		    const struct _fixture_variant_hwm *variant, int i)
{
	char m[16], buf[16];

	snprintf(m, sizeof(m), "m%d", i);
	switch (variant->tx_proto) {
	case XSPROTO_SURVEYOR:
		return xs_send_str(self->tx, m, MSG_EOR) < 0 ? -1 : 0;
	case XSPROTO_XSURVEYOR:
		return xs_send_record(self->tx, 0, XS_PARTS(SID, m));
	case XSPROTO_RESPONDENT:
		/* a survey to answer first (rx's own direction has room) */
		if (xs_send_record(self->rx, 0, XS_PARTS(SID, "q")) ||
		    xs_recv_wait(self->tx, buf, sizeof(buf), NULL) != 1)
			return -1;
		return xs_send_str(self->tx, m, MSG_EOR) < 0 ? -1 : 0;
	default:
		return xs_send_record(self->tx, 0, XS_PARTS("rx", SID, m));
	}
}

TEST_F(hwm, full_peers_miss_records_and_the_sender_goes_on)
{
	struct xs_rec r;
	int i;

	for (i = 0; i < 5; i++)
		ASSERT_OK(hwm_send(self, variant, i));
	ASSERT_EQ(3ULL, xs_getu64(self->tx, XS_DROPS));
	ASSERT_EQ(3ULL, xs_getu64(self->rx, XS_MISSED));
	ASSERT_EQ(2, xs_proc_field(self->rx, "rx_records"));
	if (variant->tx_proto != XSPROTO_RESPONDENT)
		ASSERT_EQ(POLLOUT, xs_revents(self->tx, POLLOUT));
	for (i = 0; i < 2; i++) {
		ASSERT_GE(xs_recv_rec(self->rx, &r, xs_wait_ms()), 1);
		ASSERT_EQ('0' + i, r.data[r.n - 1][1]);
		/* a RESPONDENT answers before it reads the next survey */
		if (variant->rx_proto == XSPROTO_RESPONDENT)
			ASSERT_RECORD(self->rx, 0, "a");
	}
	if (self->roomy >= 0)
		ASSERT_EQ(5, xs_proc_field(self->roomy, "rx_records"));
}

/* ---- atomic multipart records through each type ------------------------- */

XS_HOP_ATOMIC_TESTS(atomic);

FIXTURE_VARIANT_ADD(atomic, surveyor_to_respondent) {
	.hop = { .tx_proto = XSPROTO_SURVEYOR,
		 .rx_proto = XSPROTO_RESPONDENT },
};

FIXTURE_VARIANT_ADD(atomic, surveyor_to_xrespondent) {
	.hop = { .tx_proto = XSPROTO_SURVEYOR,
		 .rx_proto = XSPROTO_XRESPONDENT,
		 .rx_head = { "tx", xs_any_survey_id } },
};

FIXTURE_VARIANT_ADD(atomic, xsurveyor_to_respondent) {
	.hop = { .tx_proto = XSPROTO_XSURVEYOR,
		 .rx_proto = XSPROTO_RESPONDENT, .tx_head = SID },
};

FIXTURE_VARIANT_ADD(atomic, xsurveyor_to_xrespondent) {
	.hop = { .tx_proto = XSPROTO_XSURVEYOR,
		 .rx_proto = XSPROTO_XRESPONDENT, .tx_head = SID,
		 .rx_head = { "tx", SID } },
};

FIXTURE_VARIANT_ADD(atomic, respondent_to_surveyor) {
	.hop = { .tx_proto = XSPROTO_RESPONDENT,
		 .rx_proto = XSPROTO_SURVEYOR, .rx_asks = 1 },
};

FIXTURE_VARIANT_ADD(atomic, respondent_to_xsurveyor) {
	.hop = { .tx_proto = XSPROTO_RESPONDENT,
		 .rx_proto = XSPROTO_XSURVEYOR, .rx_asks = 1, .rx_ask = SID,
		 .rx_head = { SID } },
};

FIXTURE_VARIANT_ADD(atomic, xrespondent_to_surveyor) {
	.hop = { .tx_proto = XSPROTO_XRESPONDENT,
		 .rx_proto = XSPROTO_SURVEYOR, .rx_asks = 1,
		 .tx_echoes = 1 },
};

FIXTURE_VARIANT_ADD(atomic, xrespondent_to_xsurveyor) {
	.hop = { .tx_proto = XSPROTO_XRESPONDENT,
		 .rx_proto = XSPROTO_XSURVEYOR, .rx_asks = 1, .rx_ask = SID,
		 .tx_echoes = 1, .rx_head = { SID } },
};

/* ---- who may join whom -------------------------------------------------- */

static int is_surveyor(int p)
{
	return p == XSPROTO_SURVEYOR || p == XSPROTO_XSURVEYOR;
}

static int is_respondent(int p)
{
	return p == XSPROTO_RESPONDENT || p == XSPROTO_XRESPONDENT;
}

TEST(only_compatible_types_join)
{
	int ours, other, want;

	for (ours = XSPROTO_SURVEYOR; ours <= XSPROTO_XRESPONDENT; ours++) {
		for (other = 1; other <= XSPROTO_MAX; other++) {
			want = (is_surveyor(ours) && is_respondent(other)) ||
			       (is_respondent(ours) && is_surveyor(other));
			EXPECT_EQ(want, xs_joined_peers(ours, other))
				TH_LOG("%s bound, %s connecting",
				       xs_proto_name(ours),
				       xs_proto_name(other));
			EXPECT_EQ(want, xs_joined_peers(other, ours))
				TH_LOG("%s bound, %s connecting",
				       xs_proto_name(other),
				       xs_proto_name(ours));
		}
	}
}

XS_TEST_MAIN
