// SPDX-License-Identifier: GPL-2.0
/*
 * REQ, REP, XREQ, XREP.
 *
 * REQ sends and receives in strict turn (EBADFD, libxs' EFSM, otherwise),
 * load-balances its requests and takes a reply only through the pipe of
 * its last request and only behind the empty delimiter it added.  REP
 * reads the request body behind the envelope and sends the reply back
 * with that envelope.  XREQ and XREP pass records raw, XREP with the
 * sending peer's identity in front and routing by that first part, so a
 * forwarder between them makes a device.  REQ and XREQ block at the
 * high-water mark; REP and XREP drop.
 */
#include "xs_test.h"

/* Read a 1-part generated or chosen identity: the next part, not the last. */
static ssize_t recv_identity(int fd, char *id)
{
	int f;
	ssize_t n = xs_recv_wait(fd, id, XS_IDENTITY_MAX, &f);

	return n > 0 && !(f & MSG_EOR) ? n : -1;
}

/* ---- REQ and REP: the state machine ------------------------------------- */

FIXTURE(rr) {
	int req, rep;
};

FIXTURE_VARIANT(rr) {
	int req_binds;
};

FIXTURE_VARIANT_ADD(rr, rep_binds) {
	.req_binds = 0,
};

FIXTURE_VARIANT_ADD(rr, req_binds) {
	.req_binds = 1,
};

FIXTURE_SETUP(rr)
{
	if (variant->req_binds)
		ASSERT_OK(xs_link(XSPROTO_REP, XSPROTO_REQ, -1, -1,
				  &self->rep, &self->req, NULL, 0));
	else
		ASSERT_OK(xs_link(XSPROTO_REQ, XSPROTO_REP, -1, -1,
				  &self->req, &self->rep, NULL, 0));
	/* a call that blocks by mistake fails the test instead of hanging */
	ASSERT_OK(xs_set_timeo(self->req, SO_RCVTIMEO, xs_wait_ms()));
	ASSERT_OK(xs_set_timeo(self->rep, SO_RCVTIMEO, xs_wait_ms()));
	ASSERT_OK(xs_set_timeo(self->req, SO_SNDTIMEO, xs_wait_ms()));
	ASSERT_OK(xs_set_timeo(self->rep, SO_SNDTIMEO, xs_wait_ms()));
}

FIXTURE_TEARDOWN(rr)
{
	xs_close(&self->req);
	xs_close(&self->rep);
}

TEST_F(rr, requests_and_replies_alternate_with_multipart_bodies)
{
	char n[16];
	int i;

	for (i = 0; i < 4; i++) {
		snprintf(n, sizeof(n), "%d", i);
		ASSERT_RECORD(self->req, 0, "request", n, "tail");
		ASSERT_RECV_RECORD(self->rep, "request", n, "tail");
		ASSERT_RECORD(self->rep, 0, "reply", n);
		ASSERT_RECV_RECORD(self->req, "reply", n);
	}
	ASSERT_NOTHING(self->rep);
}

/* The envelope ends at the first empty part: bodies may hold empty parts. */
TEST_F(rr, empty_parts_in_bodies_survive_the_envelope)
{
	ASSERT_RECORD(self->req, 0, "", "x", "");
	ASSERT_RECV_RECORD(self->rep, "", "x", "");
	ASSERT_RECORD(self->rep, 0, "", "y");
	ASSERT_RECV_RECORD(self->req, "", "y");
	ASSERT_RECORD(self->req, 0, "");
	ASSERT_RECV_RECORD(self->rep, "");
	ASSERT_RECORD(self->rep, 0, "");
	ASSERT_RECV_RECORD(self->req, "");
}

TEST_F(rr, req_recv_before_a_request_is_ebadfd)
{
	char buf[8];

	ASSERT_ERRNO(EBADFD, xs_recv(self->req, buf, sizeof(buf), 0, NULL));
	ASSERT_ERRNO(EBADFD, xs_recv(self->req, buf, sizeof(buf),
				     MSG_DONTWAIT, NULL));
	ASSERT_ERRNO(EBADFD, xs_recv(self->req, buf, sizeof(buf),
				     MSG_PEEK | MSG_DONTWAIT, NULL));
	/* and after a completed round trip, as before the first one */
	ASSERT_RECORD(self->req, 0, "q");
	ASSERT_RECV_RECORD(self->rep, "q");
	ASSERT_RECORD(self->rep, 0, "a");
	ASSERT_RECV_RECORD(self->req, "a");
	ASSERT_ERRNO(EBADFD, xs_recv(self->req, buf, sizeof(buf), 0, NULL));
}

TEST_F(rr, req_second_request_before_the_reply_is_ebadfd_and_not_sent)
{
	ASSERT_RECORD(self->req, 0, "first");
	ASSERT_ERRNO(EBADFD, xs_send_str(self->req, "second", MSG_EOR));
	ASSERT_ERRNO(EBADFD, xs_send_str(self->req, "second",
					 MSG_EOR | MSG_DONTWAIT));
	ASSERT_ERRNO(EBADFD, xs_send_str(self->req, "second-head", 0));
	ASSERT_RECV_RECORD(self->rep, "first");
	ASSERT_RECORD(self->rep, 0, "reply");
	ASSERT_NOTHING(self->rep);
	ASSERT_RECV_RECORD(self->req, "reply");
	/* the refused calls left no record in progress behind */
	ASSERT_RECORD(self->req, 0, "third");
	ASSERT_RECV_RECORD(self->rep, "third");
}

TEST_F(rr, req_recv_while_its_request_is_unfinished_is_ebadfd)
{
	char buf[8];

	ASSERT_SEND(self->req, "head", 0);
	ASSERT_ERRNO(EBADFD, xs_recv(self->req, buf, sizeof(buf), 0, NULL));
	ASSERT_NOTHING(self->rep);
	ASSERT_SEND(self->req, "tail", MSG_EOR);
	ASSERT_RECV_RECORD(self->rep, "head", "tail");
}

TEST_F(rr, rep_send_without_a_request_is_ebadfd_and_not_sent)
{
	ASSERT_ERRNO(EBADFD, xs_send_str(self->rep, "stray", MSG_EOR));
	ASSERT_ERRNO(EBADFD, xs_send_str(self->rep, "stray",
					 MSG_EOR | MSG_DONTWAIT));
	ASSERT_ERRNO(EBADFD, xs_send_str(self->rep, "stray-head", 0));
	ASSERT_RECORD(self->req, 0, "q");
	ASSERT_RECV_RECORD(self->rep, "q");
	ASSERT_RECORD(self->rep, 0, "a");
	ASSERT_RECV_RECORD(self->req, "a");
	/* after the reply, a second one is out of turn again */
	ASSERT_ERRNO(EBADFD, xs_send_str(self->rep, "again", MSG_EOR));
}

TEST_F(rr, rep_send_while_reading_the_request_is_ebadfd)
{
	ASSERT_RECORD(self->req, 0, "q1", "q2");
	ASSERT_PART(self->rep, "q1", 0);
	ASSERT_ERRNO(EBADFD, xs_send_str(self->rep, "early", MSG_EOR));
	ASSERT_PART(self->rep, "q2", MSG_EOR);
	ASSERT_RECORD(self->rep, 0, "a");
	ASSERT_RECV_RECORD(self->req, "a");
}

TEST_F(rr, rep_recv_while_a_reply_is_owed_is_ebadfd)
{
	char buf[8];

	ASSERT_RECORD(self->req, 0, "q");
	ASSERT_RECV_RECORD(self->rep, "q");
	ASSERT_ERRNO(EBADFD, xs_recv(self->rep, buf, sizeof(buf), 0, NULL));
	ASSERT_ERRNO(EBADFD, xs_recv(self->rep, buf, sizeof(buf),
				     MSG_DONTWAIT, NULL));
	ASSERT_RECORD(self->rep, 0, "a");
	ASSERT_RECV_RECORD(self->req, "a");
}

TEST_F(rr, poll_follows_the_turns)
{
	char c;

	/* REQ may send, REP has nothing to answer */
	ASSERT_EQ(POLLOUT, xs_revents(self->req, POLLIN | POLLOUT));
	ASSERT_EQ(0, xs_revents(self->rep, POLLIN | POLLOUT));

	ASSERT_RECORD(self->req, 0, "q");
	ASSERT_EQ(0, xs_revents(self->req, POLLIN | POLLOUT));
	ASSERT_EQ(1, xs_recv_within(self->rep, &c, 1, MSG_PEEK, NULL,
				    xs_wait_ms()));
	ASSERT_EQ(POLLIN, xs_revents(self->rep, POLLIN | POLLOUT));

	ASSERT_RECV_RECORD(self->rep, "q");
	ASSERT_EQ(POLLOUT, xs_revents(self->rep, POLLIN | POLLOUT));

	ASSERT_RECORD(self->rep, 0, "a");
	ASSERT_EQ(0, xs_revents(self->rep, POLLIN | POLLOUT));
	ASSERT_EQ(1, xs_recv_within(self->req, &c, 1, MSG_PEEK, NULL,
				    xs_wait_ms()));
	ASSERT_EQ(POLLIN, xs_revents(self->req, POLLIN | POLLOUT));

	ASSERT_RECV_RECORD(self->req, "a");
	ASSERT_EQ(POLLOUT, xs_revents(self->req, POLLIN | POLLOUT));
}

TEST_F(rr, xs_type_is_the_crossroads_type)
{
	ASSERT_EQ(3, xs_getint(self->req, SOL_XS, XS_TYPE));
	ASSERT_EQ(4, xs_getint(self->rep, SOL_XS, XS_TYPE));
}

/* A REP that has a reply owed is not readable: its recv would fail. */
TEST(rep_owing_a_reply_is_not_readable)
{
	int rep = xs_socket(XSPROTO_REP);
	int a = xs_socket(XSPROTO_REQ), b = xs_socket(XSPROTO_REQ);
	char c;
	XS_UNAME(name, "owing");

	ASSERT_GE(rep, 0);
	ASSERT_OK(xs_bind(rep, name));
	ASSERT_OK(xs_connect(a, name));
	ASSERT_OK(xs_connect(b, name));
	ASSERT_RECORD(a, 0, "qa");
	ASSERT_RECV_RECORD(rep, "qa");
	ASSERT_RECORD(b, 0, "qb");
	/* b's request is queued, but REP must answer a first */
	xs_sleep_ms(xs_quiet_ms());
	ASSERT_ERRNO(EBADFD, xs_recv(rep, &c, 1, MSG_PEEK | MSG_DONTWAIT,
				     NULL));
	EXPECT_EQ(POLLOUT, xs_revents(rep, POLLIN | POLLOUT))
		TH_LOG("POLLIN on a REP whose recv fails with EBADFD");
	ASSERT_RECORD(rep, 0, "ra");
	ASSERT_RECV_RECORD(a, "ra");
	ASSERT_EQ(POLLIN, xs_revents(rep, POLLIN | POLLOUT));
	ASSERT_RECV_RECORD(rep, "qb");
	close(a);
	close(b);
	close(rep);
}

/* ---- REQ: load balancing and blocking ----------------------------------- */

#define NREP 3

TEST(req_deals_requests_round_robin_over_reps)
{
	int req = xs_socket(XSPROTO_REQ), rep[NREP], who[2 * NREP];
	char q[16], seen = 0;
	int i;
	XS_UNAME(name, "lb");

	ASSERT_GE(req, 0);
	ASSERT_OK(xs_bind(req, name));
	for (i = 0; i < NREP; i++) {
		rep[i] = xs_socket(XSPROTO_REP);
		ASSERT_GE(rep[i], 0);
		ASSERT_OK(xs_connect(rep[i], name));
	}
	for (i = 0; i < 2 * NREP; i++) {
		snprintf(q, sizeof(q), "q%d", i);
		ASSERT_RECORD(req, 0, q);
		who[i] = xs_first_readable(rep, NREP);
		ASSERT_GE(who[i], 0) TH_LOG("request %d reached no REP", i);
		ASSERT_RECV_RECORD(rep[who[i]], q);
		ASSERT_RECORD(rep[who[i]], 0, "r", q);
		ASSERT_RECV_RECORD(req, "r", q);
		if (i < NREP) {
			ASSERT_EQ(0, seen & (1 << who[i]))
				TH_LOG("REP %d got two of the first %d", who[i],
				       NREP);
			seen |= 1 << who[i];
		} else {
			ASSERT_EQ(who[i - NREP], who[i])
				TH_LOG("request %d not round-robin", i);
		}
	}
	for (i = 0; i < NREP; i++) {
		ASSERT_NOTHING(rep[i]);
		close(rep[i]);
	}
	close(req);
}

/*
 * An XREP that never reads but answers by REQ's chosen identity lets a
 * REQ fill the pipe (SNDHWM 1 + RCVHWM 1 = 2 requests) without breaking
 * its turns.
 */
static int fill_by_fake_replies(int req, int xrep, int count)
{
	int i;

	for (i = 0; i < count; i++) {
		if (xs_send_str(req, "q", MSG_EOR | MSG_DONTWAIT) != 1)
			return -1;
		if (xs_send_record(xrep, 0, XS_PARTS("req", "", "ok")))
			return -1;
		if (xs_recv_wait(req, (char[4]){}, 4, NULL) != 2)
			return -1;
	}
	return 0;
}

TEST(req_blocks_when_every_peer_is_at_its_hwm)
{
	int req = xs_socket(XSPROTO_REQ), xrep = xs_socket(XSPROTO_XREP);
	struct xs_rec r;
	struct xs_bg bg;
	XS_UNAME(name, "full");

	ASSERT_GE(req, 0);
	ASSERT_GE(xrep, 0);
	ASSERT_ERRNO(EAGAIN, xs_send_str(req, "q", MSG_EOR | MSG_DONTWAIT));
	ASSERT_EQ(0, xs_revents(req, POLLOUT));
	ASSERT_OK(xs_set_identity(req, "req"));
	ASSERT_OK(xs_setint(req, XS_SNDHWM, 1));
	ASSERT_OK(xs_setint(xrep, XS_RCVHWM, 1));
	ASSERT_OK(xs_bind(xrep, name));
	ASSERT_OK(xs_connect(req, name));
	ASSERT_OK(fill_by_fake_replies(req, xrep, 2));

	ASSERT_ERRNO(EAGAIN, xs_send_str(req, "q", MSG_EOR | MSG_DONTWAIT));
	ASSERT_EQ(0, xs_revents(req, POLLOUT));
	ASSERT_OK(xs_bg_send(&bg, req, "late", MSG_EOR));
	ASSERT_TRUE(xs_bg_blocks(&bg));

	ASSERT_EQ(3, xs_recv_rec(xrep, &r, xs_wait_ms()));
	ASSERT_REC_IS(&r, "req", "", "q");
	ASSERT_TRUE(xs_bg_finish(&bg, xs_wait_ms()))
		TH_LOG("REQ still blocked after its peer read a request");
	ASSERT_EQ(4, bg.ret);
	ASSERT_EQ(3, xs_recv_rec(xrep, &r, xs_wait_ms()));
	ASSERT_EQ(3, xs_recv_rec(xrep, &r, xs_wait_ms()));
	ASSERT_REC_IS(&r, "req", "", "late");
	close(req);
	close(xrep);
}

TEST(req_skips_a_peer_at_its_hwm)
{
	int req = xs_socket(XSPROTO_REQ), xrep = xs_socket(XSPROTO_XREP);
	int rep = xs_socket(XSPROTO_REP);
	char q[16];
	int i;
	XS_UNAME(slow, "slow");
	XS_UNAME(fast, "fast");

	ASSERT_GE(req, 0);
	ASSERT_GE(xrep, 0);
	ASSERT_GE(rep, 0);
	ASSERT_OK(xs_set_identity(req, "req"));
	ASSERT_OK(xs_setint(req, XS_SNDHWM, 1));
	ASSERT_OK(xs_setint(xrep, XS_RCVHWM, 1));
	ASSERT_OK(xs_bind(xrep, slow));
	ASSERT_OK(xs_bind(rep, fast));
	ASSERT_OK(xs_connect(req, slow));
	ASSERT_OK(fill_by_fake_replies(req, xrep, 2));
	ASSERT_OK(xs_connect(req, fast));

	for (i = 0; i < 4; i++) {
		snprintf(q, sizeof(q), "q%d", i);
		ASSERT_RECORD(req, MSG_DONTWAIT, q);
		ASSERT_RECV_RECORD(rep, q);
		ASSERT_RECORD(rep, 0, "a");
		ASSERT_RECV_RECORD(req, "a");
	}
	ASSERT_EQ(2, xs_proc_field(xrep, "rx_records"));
	close(req);
	close(xrep);
	close(rep);
}

TEST(req_connected_before_the_rep_binds_queues_its_request)
{
	int req = xs_socket(XSPROTO_REQ), rep = xs_socket(XSPROTO_REP);
	XS_UNAME(name, "early");

	ASSERT_GE(req, 0);
	ASSERT_GE(rep, 0);
	ASSERT_OK(xs_connect(req, name));
	ASSERT_RECORD(req, MSG_DONTWAIT, "early", "bird");
	ASSERT_OK(xs_bind(rep, name));
	ASSERT_RECV_RECORD(rep, "early", "bird");
	ASSERT_RECORD(rep, 0, "worm");
	ASSERT_RECV_RECORD(req, "worm");
	close(req);
	close(rep);
}

/* ---- REQ: only the reply to its last request ---------------------------- */

/* REQ (identity "req") connected to XREP x[0] and x[1], each bound. */
FIXTURE(strict) {
	int req, x[2];
};

FIXTURE_SETUP(strict)
{
	char name[XS_NAME_MAX + 1];
	int i;

	self->req = xs_socket(XSPROTO_REQ);
	ASSERT_GE(self->req, 0);
	ASSERT_OK(xs_set_identity(self->req, "req"));
	ASSERT_OK(xs_set_timeo(self->req, SO_RCVTIMEO, xs_wait_ms()));
	for (i = 0; i < 2; i++) {
		self->x[i] = xs_socket(XSPROTO_XREP);
		ASSERT_GE(self->x[i], 0);
		xs_uname(name, sizeof(name), "strict");
		ASSERT_OK(xs_bind(self->x[i], name));
		ASSERT_OK(xs_connect(self->req, name));
	}
}

FIXTURE_TEARDOWN(strict)
{
	xs_close(&self->req);
	xs_close(&self->x[0]);
	xs_close(&self->x[1]);
}

/* Send @q; returns the index of the XREP that got it (read whole). */
static int strict_request(struct _test_data_strict *self, const char *q)
{
	struct xs_rec r;
	int i;

	if (xs_send_str(self->req, q, MSG_EOR) != (ssize_t)strlen(q))
		return -1;
	i = xs_first_readable(self->x, 2);
	if (i < 0 || xs_recv_rec(self->x[i], &r, xs_wait_ms()) != 3 ||
	    !xs_rec_is(&r, XS_PARTS("req", "", q)))
		return -1;
	return i;
}

TEST_F(strict, reply_without_the_empty_delimiter_is_dropped)
{
	int i = strict_request(self, "q");

	ASSERT_GE(i, 0);
	ASSERT_OK(xs_send_record(self->x[i], 0, XS_PARTS("req", "bare")));
	ASSERT_OK(xs_send_record(self->x[i], 0,
				 XS_PARTS("req", "hop", "", "behind")));
	ASSERT_OK(xs_send_record(self->x[i], 0, XS_PARTS("req", "")));
	ASSERT_NOTHING(self->req);
	/* still waiting for its reply, which comes through */
	ASSERT_OK(xs_send_record(self->x[i], 0, XS_PARTS("req", "", "good")));
	ASSERT_RECV_RECORD(self->req, "good");
	ASSERT_EQ(POLLOUT, xs_revents(self->req, POLLIN | POLLOUT));
}

TEST_F(strict, late_reply_from_the_previous_peer_is_dropped)
{
	int first = strict_request(self, "q1"), second;

	ASSERT_GE(first, 0);
	ASSERT_OK(xs_send_record(self->x[first], 0,
				 XS_PARTS("req", "", "a1")));
	ASSERT_RECV_RECORD(self->req, "a1");

	second = strict_request(self, "q2");
	ASSERT_EQ(!first, second) TH_LOG("second request not load-balanced");
	/* the first peer answers again, before the right one does */
	ASSERT_OK(xs_send_record(self->x[first], 0,
				 XS_PARTS("req", "", "late")));
	ASSERT_TRUE(xs_recv_gets_nothing(self->req));
	ASSERT_OK(xs_send_record(self->x[second], 0,
				 XS_PARTS("req", "", "a2")));
	ASSERT_RECV_RECORD(self->req, "a2");
}

/* A stale reply that REQ will drop is not shown by MSG_PEEK or POLLIN. */
TEST_F(strict, stale_reply_is_neither_peeked_nor_polled)
{
	int first = strict_request(self, "q1"), second;
	char buf[16];

	ASSERT_GE(first, 0);
	ASSERT_OK(xs_send_record(self->x[first], 0,
				 XS_PARTS("req", "", "a1")));
	ASSERT_RECV_RECORD(self->req, "a1");
	second = strict_request(self, "q2");
	ASSERT_EQ(!first, second);
	ASSERT_OK(xs_send_record(self->x[first], 0,
				 XS_PARTS("req", "", "late")));
	xs_sleep_ms(xs_quiet_ms());
	EXPECT_ERRNO(EAGAIN, xs_recv(self->req, buf, sizeof(buf),
				     MSG_PEEK | MSG_DONTWAIT, NULL));
	EXPECT_EQ(0, xs_revents(self->req, POLLIN | POLLOUT))
		TH_LOG("a REQ whose recv would find nothing polls readable");
	ASSERT_TRUE(xs_recv_gets_nothing(self->req));
	ASSERT_EQ(0, xs_revents(self->req, POLLIN | POLLOUT));
}

/*
 * A peer answered one request twice.  The extra answer was queued before
 * the next request went out through the same pipe, so it cannot be the
 * reply to that request.
 */
TEST(req_reply_queued_before_the_request_is_not_its_reply)
{
	int req = xs_socket(XSPROTO_REQ), xrep = xs_socket(XSPROTO_XREP);
	XS_UNAME(name, "dup");

	ASSERT_GE(req, 0);
	ASSERT_GE(xrep, 0);
	ASSERT_OK(xs_set_identity(req, "req"));
	ASSERT_OK(xs_bind(xrep, name));
	ASSERT_OK(xs_connect(req, name));
	ASSERT_RECORD(req, 0, "q1");
	ASSERT_RECV_RECORD(xrep, "req", "", "q1");
	ASSERT_RECORD(xrep, 0, "req", "", "a1");
	ASSERT_RECORD(xrep, 0, "req", "", "a1-again");
	ASSERT_RECV_RECORD(req, "a1");
	/* expecting nothing, its recv fails: not readable */
	EXPECT_EQ(POLLOUT, xs_revents(req, POLLIN | POLLOUT))
		TH_LOG("POLLIN on a REQ whose recv fails with EBADFD");

	ASSERT_RECORD(req, 0, "q2");
	ASSERT_RECV_RECORD(xrep, "req", "", "q2");
	ASSERT_TRUE(xs_recv_gets_nothing(req))
		TH_LOG("the second answer to q1 was taken as q2's reply");
	ASSERT_RECORD(xrep, 0, "req", "", "a2");
	ASSERT_RECV_RECORD(req, "a2");
	close(req);
	close(xrep);
}

/* ---- REP: where replies go ---------------------------------------------- */

TEST(rep_answers_each_requester_in_turn)
{
	int rep = xs_socket(XSPROTO_REP), req[NREP];
	char q[16], body[16];
	int i;
	XS_UNAME(name, "many");

	ASSERT_GE(rep, 0);
	ASSERT_OK(xs_bind(rep, name));
	for (i = 0; i < NREP; i++) {
		req[i] = xs_socket(XSPROTO_REQ);
		ASSERT_GE(req[i], 0);
		ASSERT_OK(xs_connect(req[i], name));
		snprintf(q, sizeof(q), "from%d", i);
		ASSERT_RECORD(req[i], 0, q, "x");
	}
	/* fair-queued: the requests come in the order they were sent */
	for (i = 0; i < NREP; i++) {
		snprintf(q, sizeof(q), "from%d", i);
		ASSERT_RECV_RECORD(rep, q, "x");
		snprintf(body, sizeof(body), "to%d", i);
		ASSERT_RECORD(rep, 0, body, "y");
	}
	for (i = 0; i < NREP; i++) {
		snprintf(body, sizeof(body), "to%d", i);
		ASSERT_RECV_RECORD(req[i], body, "y");
		close(req[i]);
	}
	close(rep);
}

/*
 * A requester asks and goes away before the reply.  The reply is dropped
 * silently, and the REP serves the next requester: another connector, or,
 * when the requester had bound the name, the next binder of that name
 * (the reply must not wait on the pipe for it).
 */
FIXTURE(gone) {
	int rep, gone, next;
	char name[XS_NAME_MAX + 1];
};

FIXTURE_VARIANT(gone) {
	int req_binds;
};

FIXTURE_VARIANT_ADD(gone, connector) {
	.req_binds = 0,
};

FIXTURE_VARIANT_ADD(gone, binder) {
	.req_binds = 1,
};

FIXTURE_SETUP(gone)
{
	xs_uname(self->name, sizeof(self->name), "gone");
	self->rep = xs_socket(XSPROTO_REP);
	self->gone = xs_socket(XSPROTO_REQ);
	self->next = xs_socket(XSPROTO_REQ);
	ASSERT_GE(self->rep, 0);
	ASSERT_GE(self->gone, 0);
	ASSERT_GE(self->next, 0);
	if (variant->req_binds) {
		ASSERT_OK(xs_bind(self->gone, self->name));
		ASSERT_OK(xs_connect(self->rep, self->name));
	} else {
		ASSERT_OK(xs_bind(self->rep, self->name));
		ASSERT_OK(xs_connect(self->gone, self->name));
		ASSERT_OK(xs_connect(self->next, self->name));
	}
}

FIXTURE_TEARDOWN(gone)
{
	xs_close(&self->rep);
	xs_close(&self->gone);
	xs_close(&self->next);
}

TEST_F(gone, reply_to_a_requester_that_left_is_dropped_silently)
{
	ASSERT_RECORD(self->gone, 0, "q");
	ASSERT_RECV_RECORD(self->rep, "q");
	xs_close(&self->gone);
	ASSERT_RECORD(self->rep, MSG_DONTWAIT, "into the void");
	ASSERT_EQ(1ULL, xs_getu64(self->rep, XS_DROPS));

	if (variant->req_binds)
		ASSERT_OK(xs_bind(self->next, self->name));
	ASSERT_RECORD(self->next, 0, "q2");
	ASSERT_RECV_RECORD(self->rep, "q2");
	ASSERT_RECORD(self->rep, 0, "a2");
	ASSERT_RECV_RECORD(self->next, "a2");
	ASSERT_NOTHING(self->rep);
}

TEST(rep_drops_a_request_without_an_envelope)
{
	int xreq, rep;

	ASSERT_OK(xs_link(XSPROTO_XREQ, XSPROTO_REP, -1, -1, &xreq, &rep,
			  NULL, 0));
	ASSERT_RECORD(xreq, 0, "no", "delimiter");
	ASSERT_RECORD(xreq, 0, "");
	ASSERT_NOTHING(rep);
	ASSERT_RECORD(xreq, 0, "", "ok");
	ASSERT_RECV_RECORD(rep, "ok");
	ASSERT_RECORD(rep, 0, "fine");
	ASSERT_RECV_RECORD(xreq, "", "fine");
	close(xreq);
	close(rep);
}

/* A REP behind a device: the whole envelope goes back, last hop first. */
TEST(rep_returns_the_whole_envelope)
{
	int xreq, rep;

	ASSERT_OK(xs_link(XSPROTO_XREQ, XSPROTO_REP, -1, -1, &xreq, &rep,
			  NULL, 0));
	ASSERT_RECORD(xreq, 0, "hop2", "hop1", "", "body", "more");
	ASSERT_RECV_RECORD(rep, "body", "more");
	ASSERT_RECORD(rep, 0, "answer", "too");
	ASSERT_RECV_RECORD(xreq, "hop2", "hop1", "", "answer", "too");
	close(xreq);
	close(rep);
}

/* ---- XREQ and XREP ------------------------------------------------------ */

TEST(xreq_deals_round_robin_and_receives_raw)
{
	int xreq = xs_socket(XSPROTO_XREQ), rep[NREP], seen = 0;
	struct xs_rec r;
	char q[16];
	int i, j;
	XS_UNAME(name, "xreq");

	ASSERT_GE(xreq, 0);
	ASSERT_OK(xs_bind(xreq, name));
	for (i = 0; i < NREP; i++) {
		rep[i] = xs_socket(XSPROTO_REP);
		ASSERT_GE(rep[i], 0);
		ASSERT_OK(xs_connect(rep[i], name));
	}
	for (i = 0; i < 2 * NREP; i++) {
		snprintf(q, sizeof(q), "q%d", i);
		ASSERT_RECORD(xreq, MSG_DONTWAIT, "", q);
	}
	for (i = 0; i < NREP; i++) {
		ASSERT_EQ(1, xs_recv_rec(rep[i], &r, xs_wait_ms()));
		ASSERT_EQ(1, sscanf(r.data[0], "q%d", &j));
		seen |= 1 << j;
		ASSERT_RECORD(rep[i], 0, "a");
		snprintf(q, sizeof(q), "q%d", j + NREP);
		ASSERT_RECV_RECORD(rep[i], q);
		ASSERT_RECORD(rep[i], 0, "b");
		ASSERT_NOTHING(rep[i]);
	}
	ASSERT_EQ((1 << NREP) - 1, seen);
	/* replies come back as they are: delimiter, body */
	for (i = 0; i < 2 * NREP; i++) {
		ASSERT_EQ(2, xs_recv_rec(xreq, &r, xs_wait_ms()));
		ASSERT_EQ(0U, r.len[0]);
		ASSERT_EQ(1U, r.len[1]);
	}
	ASSERT_NOTHING(xreq);
	for (i = 0; i < NREP; i++)
		close(rep[i]);
	close(xreq);
}

TEST(xrep_prefixes_a_generated_identity_per_peer)
{
	int xrep = xs_socket(XSPROTO_XREP), a = xs_socket(XSPROTO_XREQ);
	int b = xs_socket(XSPROTO_XREQ);
	char ida[XS_IDENTITY_MAX], idb[XS_IDENTITY_MAX], id[XS_IDENTITY_MAX];
	XS_UNAME(name, "ids");

	ASSERT_GE(xrep, 0);
	ASSERT_OK(xs_bind(xrep, name));
	ASSERT_OK(xs_connect(a, name));
	ASSERT_OK(xs_connect(b, name));
	ASSERT_RECORD(a, 0, "from-a", "x");
	ASSERT_EQ(5, recv_identity(xrep, ida));
	ASSERT_EQ(0, ida[0]) TH_LOG("a generated identity starts with 0");
	ASSERT_RECV_RECORD(xrep, "from-a", "x");
	ASSERT_RECORD(b, 0, "from-b");
	ASSERT_EQ(5, recv_identity(xrep, idb));
	ASSERT_EQ(0, idb[0]);
	ASSERT_RECV_RECORD(xrep, "from-b");
	ASSERT_NE(0, memcmp(ida, idb, 5));
	/* the same peer keeps its identity */
	ASSERT_RECORD(a, 0, "again");
	ASSERT_EQ(5, recv_identity(xrep, id));
	ASSERT_EQ(0, memcmp(ida, id, 5));
	ASSERT_RECV_RECORD(xrep, "again");

	/* and the identity routes back to it */
	ASSERT_EQ(5, xs_send(xrep, idb, 5, 0));
	ASSERT_SEND(xrep, "to-b", MSG_EOR);
	ASSERT_RECV_RECORD(b, "to-b");
	ASSERT_NOTHING(a);
	close(a);
	close(b);
	close(xrep);
}

TEST(xrep_prefixes_the_identity_a_peer_chose)
{
	int xrep = xs_socket(XSPROTO_XREP), req = xs_socket(XSPROTO_REQ);
	XS_UNAME(name, "chosen");

	ASSERT_GE(req, 0);
	ASSERT_GE(xrep, 0);
	ASSERT_OK(xs_set_identity(req, "alice"));
	ASSERT_OK(xs_bind(xrep, name));
	ASSERT_OK(xs_connect(req, name));
	ASSERT_RECORD(req, 0, "hi", "there");
	ASSERT_RECV_RECORD(xrep, "alice", "", "hi", "there");
	ASSERT_RECORD(xrep, 0, "alice", "", "hello");
	ASSERT_RECV_RECORD(req, "hello");
	close(req);
	close(xrep);
}

TEST(identity_is_1_to_255_bytes_not_starting_with_zero)
{
	int fd = xs_socket(XSPROTO_REQ);
	char id[XS_IDENTITY_MAX + 1], out[XS_IDENTITY_MAX + 1];
	socklen_t len = sizeof(out);

	ASSERT_GE(fd, 0);
	memset(id, 'i', sizeof(id));
	ASSERT_ERRNO(EINVAL, setsockopt(fd, SOL_XS, XS_IDENTITY, id, 0));
	ASSERT_ERRNO(EINVAL, setsockopt(fd, SOL_XS, XS_IDENTITY, id,
					XS_IDENTITY_MAX + 1));
	ASSERT_ERRNO(EINVAL, setsockopt(fd, SOL_XS, XS_IDENTITY, "\0ab", 3));
	/* the shape of a survey id, which would end an envelope */
	ASSERT_ERRNO(EINVAL, setsockopt(fd, SOL_XS, XS_IDENTITY,
					"\x80" "abc", 4));
	ASSERT_OK(setsockopt(fd, SOL_XS, XS_IDENTITY, "\x80" "abcd", 5));
	ASSERT_OK(setsockopt(fd, SOL_XS, XS_IDENTITY, "\x7f" "abc", 4));
	ASSERT_OK(setsockopt(fd, SOL_XS, XS_IDENTITY, "a\0b", 3));
	ASSERT_OK(getsockopt(fd, SOL_XS, XS_IDENTITY, out, &len));
	ASSERT_EQ(3U, len);
	ASSERT_EQ(0, memcmp("a\0b", out, 3));
	ASSERT_OK(setsockopt(fd, SOL_XS, XS_IDENTITY, id, XS_IDENTITY_MAX));
	len = sizeof(out);
	ASSERT_OK(getsockopt(fd, SOL_XS, XS_IDENTITY, out, &len));
	ASSERT_EQ((socklen_t)XS_IDENTITY_MAX, len);
	ASSERT_EQ(0, memcmp(id, out, len));
	close(fd);
}

/* XREP bound, XREQs "A", "B", "C" connected. */
FIXTURE(route) {
	int xrep, peer[3];
};

FIXTURE_SETUP(route)
{
	static const char *const ids[] = { "A", "B", "C" };
	int i;
	XS_UNAME(name, "route");

	self->xrep = xs_socket(XSPROTO_XREP);
	ASSERT_GE(self->xrep, 0);
	ASSERT_OK(xs_bind(self->xrep, name));
	for (i = 0; i < 3; i++) {
		self->peer[i] = xs_socket(XSPROTO_XREQ);
		ASSERT_GE(self->peer[i], 0);
		ASSERT_OK(xs_set_identity(self->peer[i], ids[i]));
		ASSERT_OK(xs_connect(self->peer[i], name));
	}
}

FIXTURE_TEARDOWN(route)
{
	int i;

	xs_close(&self->xrep);
	for (i = 0; i < 3; i++)
		xs_close(&self->peer[i]);
}

TEST_F(route, xrep_routes_by_the_first_part_and_strips_it)
{
	ASSERT_RECORD(self->xrep, MSG_DONTWAIT, "B", "m1", "m2");
	ASSERT_RECORD(self->xrep, MSG_DONTWAIT, "C", "m3");
	ASSERT_RECORD(self->xrep, MSG_DONTWAIT, "B", "m4");
	ASSERT_RECV_RECORD(self->peer[1], "m1", "m2");
	ASSERT_RECV_RECORD(self->peer[1], "m4");
	ASSERT_RECV_RECORD(self->peer[2], "m3");
	ASSERT_NOTHING(self->peer[0]);
	ASSERT_NOTHING(self->peer[1]);
	ASSERT_NOTHING(self->peer[2]);
	ASSERT_EQ(0ULL, xs_getu64(self->xrep, XS_DROPS));
}

TEST_F(route, xrep_drops_unknown_identity_and_identity_only_records)
{
	ASSERT_RECORD(self->xrep, 0, "Z", "nobody");
	ASSERT_RECORD(self->xrep, 0, "AB", "nobody");
	ASSERT_RECORD(self->xrep, 0, "A");
	ASSERT_EQ(3ULL, xs_getu64(self->xrep, XS_DROPS));
	ASSERT_NOTHING(self->peer[0]);
	ASSERT_NOTHING(self->peer[1]);
	ASSERT_NOTHING(self->peer[2]);
	ASSERT_RECORD(self->xrep, 0, "A", "somebody");
	ASSERT_RECV_RECORD(self->peer[0], "somebody");
}

TEST_F(route, xrep_routes_a_shared_identity_to_the_first_peer)
{
	int twin = xs_socket(XSPROTO_XREQ);
	char name[XS_NAME_MAX + 1];

	ASSERT_GE(twin, 0);
	ASSERT_OK(xs_set_identity(twin, "A"));
	xs_uname(name, sizeof(name), "twin");
	ASSERT_OK(xs_bind(self->xrep, name));
	ASSERT_OK(xs_connect(twin, name));
	ASSERT_RECORD(self->xrep, 0, "A", "first");
	ASSERT_RECV_RECORD(self->peer[0], "first");
	ASSERT_NOTHING(twin);
	/* its records still come in, with the identity it chose */
	ASSERT_RECORD(twin, 0, "from-twin");
	ASSERT_RECV_RECORD(self->xrep, "A", "from-twin");
	close(twin);
}

TEST_F(route, xrep_drops_records_for_a_peer_that_left)
{
	xs_close(&self->peer[0]);
	ASSERT_RECORD(self->xrep, 0, "A", "gone");
	ASSERT_EQ(1ULL, xs_getu64(self->xrep, XS_DROPS));
	ASSERT_RECORD(self->xrep, 0, "B", "here");
	ASSERT_RECV_RECORD(self->peer[1], "here");
}

TEST_F(route, xrep_receives_raw_records_fair_queued)
{
	ASSERT_RECORD(self->peer[2], 0, "c1", "c2");
	ASSERT_RECORD(self->peer[0], 0, "a1");
	ASSERT_RECORD(self->peer[2], 0, "");
	ASSERT_RECV_RECORD(self->xrep, "C", "c1", "c2");
	ASSERT_RECV_RECORD(self->xrep, "A", "a1");
	ASSERT_RECV_RECORD(self->xrep, "C", "");
	ASSERT_NOTHING(self->xrep);
}

TEST_F(route, xrep_is_always_writable_and_readable_only_with_a_record)
{
	int lonely = xs_socket(XSPROTO_XREP);

	ASSERT_GE(lonely, 0);
	ASSERT_EQ(POLLOUT, xs_revents(lonely, POLLIN | POLLOUT));
	ASSERT_RECORD(lonely, 0, "A", "nowhere");
	close(lonely);

	ASSERT_EQ(POLLOUT, xs_revents(self->xrep, POLLIN | POLLOUT));
	ASSERT_EQ(POLLOUT, xs_revents(self->peer[0], POLLIN | POLLOUT));
	ASSERT_RECORD(self->peer[0], 0, "x");
	ASSERT_PART(self->xrep, "A", 0);
	ASSERT_EQ(POLLIN | POLLOUT, xs_revents(self->xrep, POLLIN | POLLOUT));
	ASSERT_PART(self->xrep, "x", MSG_EOR);
	ASSERT_EQ(POLLOUT, xs_revents(self->xrep, POLLIN | POLLOUT));
	ASSERT_RECORD(self->xrep, 0, "A", "y");
	ASSERT_PART(self->peer[0], "y", MSG_EOR);
	ASSERT_EQ(POLLOUT, xs_revents(self->peer[0], POLLIN | POLLOUT));
}

/* ---- devices ------------------------------------------------------------ */

/* REQ - XREP | forwarder | XREQ - REP, the forwarder driven by the test. */
TEST(device_routes_multipart_replies_to_their_requesters)
{
	int front = xs_socket(XSPROTO_XREP), back = xs_socket(XSPROTO_XREQ);
	int req[2], rep[2], i, j, k;
	struct xs_rec r;
	XS_UNAME(fname, "front");
	XS_UNAME(bname, "back");

	ASSERT_GE(front, 0);
	ASSERT_GE(back, 0);
	ASSERT_OK(xs_bind(front, fname));
	ASSERT_OK(xs_bind(back, bname));
	for (i = 0; i < 2; i++) {
		req[i] = xs_socket(XSPROTO_REQ);
		rep[i] = xs_socket(XSPROTO_REP);
		ASSERT_GE(req[i], 0);
		ASSERT_GE(rep[i], 0);
		ASSERT_OK(xs_connect(req[i], fname));
		ASSERT_OK(xs_connect(rep[i], bname));
	}
	ASSERT_RECORD(req[0], 0, "zero", "0", "");
	ASSERT_RECORD(req[1], 0, "one", "1");
	/* identity, delimiter, body */
	ASSERT_EQ(5, xs_forward_record(front, back));
	ASSERT_EQ(4, xs_forward_record(front, back));

	/* XREQ dealt one request to each REP; each echoes it reversed */
	for (i = 0; i < 2; i++) {
		ASSERT_GE(xs_recv_rec(rep[i], &r, xs_wait_ms()), 2);
		ASSERT_TRUE(xs_rec_is(&r, XS_PARTS("zero", "0", "")) ||
			    xs_rec_is(&r, XS_PARTS("one", "1")));
		for (j = 0, k = r.n - 1; k >= 0; j++, k--) {
			ASSERT_EQ((ssize_t)r.len[k],
				  xs_send(rep[i], r.data[k], r.len[k],
					  k ? 0 : MSG_EOR));
		}
		ASSERT_EQ(r.n, j);
	}
	ASSERT_GE(xs_forward_record(back, front), 4);
	ASSERT_GE(xs_forward_record(back, front), 4);
	ASSERT_RECV_RECORD(req[0], "", "0", "zero");
	ASSERT_RECV_RECORD(req[1], "1", "one");
	for (i = 0; i < 2; i++) {
		ASSERT_NOTHING(rep[i]);
		close(req[i]);
		close(rep[i]);
	}
	ASSERT_NOTHING(front);
	ASSERT_NOTHING(back);
	close(front);
	close(back);
}

/* Two devices in a row: the envelope grows by one identity per hop. */
TEST(two_devices_in_a_row_stack_the_envelope)
{
	int sock[6], i;
	static const int proto[6] = {
		XSPROTO_REQ, XSPROTO_XREP, XSPROTO_XREQ,
		XSPROTO_XREP, XSPROTO_XREQ, XSPROTO_REP,
	};
	char name[XS_NAME_MAX + 1];
	struct xs_rec r;

	for (i = 0; i < 6; i++) {
		sock[i] = xs_socket(proto[i]);
		ASSERT_GE(sock[i], 0);
	}
	/* links 0-1, 2-3, 4-5 */
	for (i = 0; i < 6; i += 2) {
		xs_uname(name, sizeof(name), "hop");
		ASSERT_OK(xs_bind(sock[i + 1], name));
		ASSERT_OK(xs_connect(sock[i], name));
	}
	ASSERT_RECORD(sock[0], 0, "deep", "request");
	/* identity, delimiter, body */
	ASSERT_EQ(4, xs_forward_record(sock[1], sock[2]));
	/* and one identity more */
	ASSERT_EQ(5, xs_recv_rec(sock[3], &r, xs_wait_ms()));
	ASSERT_EQ(5U, r.len[0]);
	ASSERT_EQ(5U, r.len[1]);
	ASSERT_EQ(0U, r.len[2]);
	ASSERT_OK(xs_send_rec(sock[4], &r, 0, r.n, 1, 0));
	ASSERT_RECV_RECORD(sock[5], "deep", "request");
	ASSERT_RECORD(sock[5], 0, "deep", "reply");
	ASSERT_EQ(5, xs_forward_record(sock[4], sock[3]));
	ASSERT_EQ(4, xs_forward_record(sock[2], sock[1]));
	ASSERT_RECV_RECORD(sock[0], "deep", "reply");
	for (i = 0; i < 6; i++)
		close(sock[i]);
}

/* Many requesters at once through a device thread, replies never mixed. */
#define NCLIENT 3
#define NWORKER 2

struct device {
	int front, back, stop, failed;
};

static void *device_main(void *arg)
{
	struct device *d = arg;
	struct xs_rec r;
	int moved;

	while (!__atomic_load_n(&d->stop, __ATOMIC_SEQ_CST)) {
		moved = 0;
		if (xs_recv_rec(d->front, &r, 0) > 0) {
			if (xs_send_rec(d->back, &r, 0, r.n, 1, 0))
				goto fail;
			moved = 1;
		} else if (errno != EAGAIN) {
			goto fail;
		}
		if (xs_recv_rec(d->back, &r, 0) > 0) {
			if (xs_send_rec(d->front, &r, 0, r.n, 1, 0))
				goto fail;
			moved = 1;
		} else if (errno != EAGAIN) {
			goto fail;
		}
		if (!moved)
			xs_sleep_ms(1);
	}
	return NULL;
fail:
	d->failed = errno ? errno : -1;
	return NULL;
}

struct endpoint {
	pthread_t thread;
	int fd, id, rounds, done, bad;
};

static void *client_main(void *arg)
{
	struct endpoint *c = arg;
	char q[32], a[32];
	struct xs_rec r;
	int i;

	for (i = 0; i < c->rounds; i++) {
		snprintf(q, sizeof(q), "c%d-%d", c->id, i);
		snprintf(a, sizeof(a), "re:c%d-%d", c->id, i);
		if (xs_send_str(c->fd, q, 0) < 0 ||
		    xs_send_str(c->fd, "tail", MSG_EOR) < 0 ||
		    xs_recv_rec(c->fd, &r, xs_wait_ms()) != 2 ||
		    !xs_rec_is(&r, XS_PARTS(a, "tail"))) {
			c->bad = i + 1;
			break;
		}
		c->done++;
	}
	return NULL;
}

static void *worker_main(void *arg)
{
	struct endpoint *w = arg;
	struct xs_rec r;
	char a[40];

	/* stops when the socket is shut down */
	while (xs_recv_rec(w->fd, &r, 3600 * 1000) > 0) {
		snprintf(a, sizeof(a), "re:%.*s", (int)r.len[0], r.data[0]);
		if (xs_send_str(w->fd, a, 0) < 0 ||
		    xs_send_rec(w->fd, &r, 1, r.n, 1, 0)) {
			w->bad = 1;
			break;
		}
		w->done++;
	}
	return NULL;
}

TEST(device_thread_keeps_concurrent_requesters_apart)
{
	struct device d = { .front = xs_socket(XSPROTO_XREP),
			    .back = xs_socket(XSPROTO_XREQ) };
	struct endpoint c[NCLIENT] = {}, w[NWORKER] = {};
	int rounds = xs_iters(200, 10), total = 0, i;
	pthread_t dev;
	XS_UNAME(fname, "dfront");
	XS_UNAME(bname, "dback");

	ASSERT_GE(d.front, 0);
	ASSERT_GE(d.back, 0);
	ASSERT_OK(xs_bind(d.front, fname));
	ASSERT_OK(xs_bind(d.back, bname));
	for (i = 0; i < NWORKER; i++) {
		w[i].fd = xs_socket(XSPROTO_REP);
		ASSERT_GE(w[i].fd, 0);
		ASSERT_OK(xs_connect(w[i].fd, bname));
		ASSERT_EQ(0, pthread_create(&w[i].thread, NULL, worker_main,
					    &w[i]));
	}
	ASSERT_EQ(0, pthread_create(&dev, NULL, device_main, &d));
	for (i = 0; i < NCLIENT; i++) {
		c[i].fd = xs_socket(XSPROTO_REQ);
		ASSERT_GE(c[i].fd, 0);
		ASSERT_OK(xs_connect(c[i].fd, fname));
		c[i].id = i;
		c[i].rounds = rounds;
		ASSERT_EQ(0, pthread_create(&c[i].thread, NULL, client_main,
					    &c[i]));
	}
	for (i = 0; i < NCLIENT; i++) {
		pthread_join(c[i].thread, NULL);
		EXPECT_EQ(0, c[i].bad) TH_LOG("client %d: round %d wrong", i,
					      c[i].bad - 1);
		EXPECT_EQ(rounds, c[i].done);
	}
	__atomic_store_n(&d.stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(dev, NULL);
	EXPECT_EQ(0, d.failed);
	for (i = 0; i < NWORKER; i++) {
		shutdown(w[i].fd, SHUT_RDWR);
		pthread_join(w[i].thread, NULL);
		EXPECT_EQ(0, w[i].bad);
		/* XREQ dealt the requests to both workers */
		EXPECT_GT(w[i].done, 0);
		total += w[i].done;
		close(w[i].fd);
	}
	EXPECT_EQ(NCLIENT * rounds, total);
	for (i = 0; i < NCLIENT; i++)
		close(c[i].fd);
	close(d.front);
	close(d.back);
}

/* ---- high-water marks: REQ and XREQ block, REP and XREP drop ------------ */

/*
 * tx sends to rx over a pipe that holds SNDHWM 1 + RCVHWM 1 = 2 records;
 * rx never reads what tx sends.  rx has the identity "rx", tx "tx".
 */
FIXTURE(hwm) {
	int tx, rx;
};

FIXTURE_VARIANT(hwm) {
	int tx_proto, rx_proto;
	int blocks;
};

FIXTURE_VARIANT_ADD(hwm, req_blocks) {
	.tx_proto = XSPROTO_REQ, .rx_proto = XSPROTO_XREP, .blocks = 1,
};

FIXTURE_VARIANT_ADD(hwm, xreq_blocks) {
	.tx_proto = XSPROTO_XREQ, .rx_proto = XSPROTO_REP, .blocks = 1,
};

FIXTURE_VARIANT_ADD(hwm, rep_drops) {
	.tx_proto = XSPROTO_REP, .rx_proto = XSPROTO_XREQ, .blocks = 0,
};

FIXTURE_VARIANT_ADD(hwm, xrep_drops) {
	.tx_proto = XSPROTO_XREP, .rx_proto = XSPROTO_XREQ, .blocks = 0,
};

FIXTURE_SETUP(hwm)
{
	XS_UNAME(name, "hwm");

	self->tx = xs_socket(variant->tx_proto);
	self->rx = xs_socket(variant->rx_proto);
	ASSERT_GE(self->tx, 0);
	ASSERT_GE(self->rx, 0);
	ASSERT_OK(xs_set_identity(self->tx, "tx"));
	ASSERT_OK(xs_set_identity(self->rx, "rx"));
	ASSERT_OK(xs_setint(self->tx, XS_SNDHWM, 1));
	ASSERT_OK(xs_setint(self->rx, XS_RCVHWM, 1));
	/* a dropping sender must not wait even when it may */
	ASSERT_OK(xs_set_timeo(self->tx, SO_SNDTIMEO, xs_wait_ms()));
	ASSERT_OK(xs_bind(self->rx, name));
	ASSERT_OK(xs_connect(self->tx, name));
}

FIXTURE_TEARDOWN(hwm)
{
	xs_close(&self->tx);
	xs_close(&self->rx);
}

/*
 * One record from tx to rx, first part with @flags, with whatever each
 * type needs around it.  Returns what the first part's send returned.
 */
static ssize_t hwm_send(struct _test_data_hwm *self,
			const struct _fixture_variant_hwm *variant, int i,
			int flags)
{
	char m[16], buf[16];
	ssize_t n;

	snprintf(m, sizeof(m), "m%d", i);
	switch (variant->tx_proto) {
	case XSPROTO_REQ:
		n = xs_send_str(self->tx, m, flags | MSG_EOR);
		/* rx answers without reading, so REQ may ask again */
		if (n < 0 || xs_send_record(self->rx, 0,
					    XS_PARTS("tx", "", "ok")) ||
		    xs_recv_wait(self->tx, buf, sizeof(buf), NULL) != 2)
			return -1;
		return n;
	case XSPROTO_XREQ:
		n = xs_send_str(self->tx, "", flags);
		if (n < 0 || xs_send_str(self->tx, m, MSG_EOR) < 0)
			return -1;
		return n;
	case XSPROTO_REP:
		/* a request to answer first (rx's own direction has room) */
		if (xs_send_record(self->rx, 0, XS_PARTS("", "q")) ||
		    xs_recv_wait(self->tx, buf, sizeof(buf), NULL) != 1)
			return -1;
		return xs_send_str(self->tx, m, flags | MSG_EOR);
	default:
		n = xs_send_str(self->tx, "rx", flags);
		if (n < 0 || xs_send_str(self->tx, m, MSG_EOR) < 0)
			return -1;
		return n;
	}
}

TEST_F(hwm, sender_blocks_or_drops_at_the_limit)
{
	struct xs_rec r;
	struct xs_bg bg;
	int i;

	for (i = 0; i < 2; i++)
		ASSERT_LE(0, hwm_send(self, variant, i, MSG_DONTWAIT));
	ASSERT_EQ(2, xs_proc_field(self->rx, "rx_records"));

	if (!variant->blocks) {
		/* never waits, not even without MSG_DONTWAIT */
		for (i = 2; i < 5; i++)
			ASSERT_LE(0, hwm_send(self, variant, i, 0));
		ASSERT_EQ(3ULL, xs_getu64(self->tx, XS_DROPS));
		ASSERT_EQ(3ULL, xs_getu64(self->rx, XS_MISSED));
		ASSERT_EQ(2, xs_proc_field(self->rx, "rx_records"));
		/* the first two arrived, nothing of the rest */
		ASSERT_GE(xs_recv_rec(self->rx, &r, xs_wait_ms()), 1);
		ASSERT_EQ(0, memcmp(r.data[r.n - 1], "m0", 2));
		ASSERT_GE(xs_recv_rec(self->rx, &r, xs_wait_ms()), 1);
		ASSERT_EQ(0, memcmp(r.data[r.n - 1], "m1", 2));
		return;
	}

	ASSERT_EQ(-1, hwm_send(self, variant, 2, MSG_DONTWAIT));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, xs_revents(self->tx, POLLOUT));
	ASSERT_EQ(0ULL, xs_getu64(self->tx, XS_DROPS));

	/* a blocking sender waits until rx takes one */
	if (variant->tx_proto == XSPROTO_REQ)
		ASSERT_OK(xs_bg_send(&bg, self->tx, "m2", MSG_EOR));
	else
		ASSERT_OK(xs_bg_send(&bg, self->tx, "", 0));
	ASSERT_TRUE(xs_bg_blocks(&bg));
	ASSERT_GE(xs_recv_rec(self->rx, &r, xs_wait_ms()), 1);
	ASSERT_TRUE(xs_bg_finish(&bg, xs_wait_ms()))
		TH_LOG("still blocked after the receiver made room");
	ASSERT_LE(0, bg.ret);
}

/* ---- atomic multipart records through each type ------------------------- */

XS_HOP_ATOMIC_TESTS(atomic);

FIXTURE_VARIANT_ADD(atomic, req_to_rep) {
	.hop = { .tx_proto = XSPROTO_REQ, .rx_proto = XSPROTO_REP },
};

FIXTURE_VARIANT_ADD(atomic, req_to_xrep) {
	.hop = { .tx_proto = XSPROTO_REQ, .rx_proto = XSPROTO_XREP,
		 .rx_head = { "tx", "" } },
};

FIXTURE_VARIANT_ADD(atomic, xreq_to_rep) {
	.hop = { .tx_proto = XSPROTO_XREQ, .rx_proto = XSPROTO_REP,
		 .tx_head = "" },
};

FIXTURE_VARIANT_ADD(atomic, xreq_to_xrep) {
	.hop = { .tx_proto = XSPROTO_XREQ, .rx_proto = XSPROTO_XREP,
		 .rx_head = { "tx" } },
};

FIXTURE_VARIANT_ADD(atomic, rep_to_req) {
	.hop = { .tx_proto = XSPROTO_REP, .rx_proto = XSPROTO_REQ,
		 .rx_asks = 1 },
};

FIXTURE_VARIANT_ADD(atomic, rep_to_xreq) {
	.hop = { .tx_proto = XSPROTO_REP, .rx_proto = XSPROTO_XREQ,
		 .rx_asks = 1, .rx_ask = "", .rx_head = { "" } },
};

FIXTURE_VARIANT_ADD(atomic, xrep_to_req) {
	.hop = { .tx_proto = XSPROTO_XREP, .rx_proto = XSPROTO_REQ,
		 .rx_asks = 1, .tx_echoes = 1 },
};

FIXTURE_VARIANT_ADD(atomic, xrep_to_xreq) {
	.hop = { .tx_proto = XSPROTO_XREP, .rx_proto = XSPROTO_XREQ,
		 .rx_asks = 1, .tx_echoes = 1 },
};

/* ---- who may join whom -------------------------------------------------- */

static int compatible(int a, int b)
{
	static const int pairs[][2] = {
		{ XSPROTO_REQ, XSPROTO_REP }, { XSPROTO_REQ, XSPROTO_XREP },
		{ XSPROTO_XREQ, XSPROTO_REP }, { XSPROTO_XREQ, XSPROTO_XREP },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(pairs); i++)
		if ((a == pairs[i][0] && b == pairs[i][1]) ||
		    (a == pairs[i][1] && b == pairs[i][0]))
			return 1;
	return 0;
}

TEST(only_compatible_types_join)
{
	static const int ours[] = {
		XSPROTO_REQ, XSPROTO_REP, XSPROTO_XREQ, XSPROTO_XREP,
	};
	unsigned int i;
	int other;

	for (i = 0; i < ARRAY_SIZE(ours); i++) {
		for (other = 1; other <= XSPROTO_MAX; other++) {
			EXPECT_EQ(compatible(ours[i], other),
				  xs_joined_peers(ours[i], other))
				TH_LOG("%s bound, %s connecting",
				       xs_proto_name(ours[i]),
				       xs_proto_name(other));
			EXPECT_EQ(compatible(ours[i], other),
				  xs_joined_peers(other, ours[i]))
				TH_LOG("%s bound, %s connecting",
				       xs_proto_name(other),
				       xs_proto_name(ours[i]));
		}
	}
}

XS_TEST_MAIN
