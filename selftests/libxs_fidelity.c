// SPDX-License-Identifier: GPL-2.0
/*
 * libxs: behaviours a Crossroads I/O 1.2 program can tell apart, checked
 * against what Crossroads 1.2 itself does (its code at tag v1.2.0):
 *
 *   - subscriptions at XPUB/XSUB are a 16-bit command (1 subscribe, 2
 *     unsubscribe) and a 16-bit filter id, both big-endian, then the body;
 *   - XRESPONDENT identities are 4 bytes;
 *   - xs_term waits for closed sockets' records as XS_LINGER says.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/xs.h>
#include "xs.h"

#include "kselftest_harness.h"

#define MAX_SOCKS 16

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *endpoint(char *buf, size_t len, const char *tag)
{
	static int n;

	snprintf(buf, len, "ipc://libxs-fidelity-%d-%d-%s", (int)getpid(),
		 ++n, tag);
	return buf;
}

static int rcvmore(void *s)
{
	size_t len = sizeof(int);
	int more = -1;

	if (xs_getsockopt(s, XS_RCVMORE, &more, &len))
		return -1;
	return more;
}

static int set_int(void *s, int option, int v)
{
	return xs_setsockopt(s, option, &v, sizeof(v));
}

FIXTURE(fid) {
	void *ctx;
	void *socks[MAX_SOCKS];
};

FIXTURE_SETUP(fid)
{
	self->ctx = xs_init();
	ASSERT_NE(NULL, self->ctx);
}

FIXTURE_TEARDOWN(fid)
{
	int i, zero = 0;

	for (i = 0; i < MAX_SOCKS; i++) {
		if (self->socks[i]) {
			/* a failed test must not make xs_term wait */
			xs_setsockopt(self->socks[i], XS_LINGER, &zero,
				      sizeof(zero));
			xs_close(self->socks[i]);
		}
	}
	EXPECT_EQ(0, xs_term(self->ctx));
}

static void *open_sock(FIXTURE_DATA(fid) *self, int type)
{
	void *s = xs_socket(self->ctx, type);
	int i;

	for (i = 0; s && i < MAX_SOCKS; i++) {
		if (!self->socks[i]) {
			self->socks[i] = s;
			return s;
		}
	}
	return NULL;
}

static int wire(FIXTURE_DATA(fid) *self, int btype, int ctype,
		void **binder, void **connecter)
{
	char name[128];

	*binder = open_sock(self, btype);
	*connecter = open_sock(self, ctype);
	if (!*binder || !*connecter)
		return -1;
	endpoint(name, sizeof(name), "wire");
	if (xs_bind(*binder, name) < 0 || xs_connect(*connecter, name) < 0)
		return -1;
	return 0;
}

/* ---- subscriptions in Crossroads 1.2 form ----------------------------- */

TEST_F(fid, xpub_hands_out_4_byte_subscription_headers)
{
	static const unsigned char sub_a[] = { 0, 1, 0, 1, 'a', 'b' };
	static const unsigned char unsub_a[] = { 0, 2, 0, 1, 'a', 'b' };
	unsigned char buf[32];
	void *xpub, *sub;
	xs_msg_t m;

	ASSERT_EQ(0, wire(self, XS_XPUB, XS_SUB, &xpub, &sub));
	ASSERT_EQ(0, set_int(xpub, XS_RCVTIMEO, 2000));
	ASSERT_EQ(0, xs_setsockopt(sub, XS_SUBSCRIBE, "ab", 2));
	EXPECT_EQ(6, xs_recv(xpub, buf, sizeof(buf), 0));
	EXPECT_EQ(0, memcmp(buf, sub_a, sizeof(sub_a)));
	EXPECT_EQ(0, rcvmore(xpub));

	ASSERT_EQ(0, xs_setsockopt(sub, XS_UNSUBSCRIBE, "ab", 2));
	ASSERT_EQ(0, xs_msg_init(&m));
	EXPECT_EQ(6, xs_recvmsg(xpub, &m, 0));
	ASSERT_EQ((size_t)6, xs_msg_size(&m));
	EXPECT_EQ(0, memcmp(xs_msg_data(&m), unsub_a, sizeof(unsub_a)));
	EXPECT_EQ(0, xs_msg_close(&m));

	/* An empty subscription (everything) is the bare header. */
	ASSERT_EQ(0, xs_setsockopt(sub, XS_SUBSCRIBE, "", 0));
	EXPECT_EQ(4, xs_recv(xpub, buf, sizeof(buf), 0));
	EXPECT_EQ(0, memcmp(buf, sub_a, 4));
}

TEST_F(fid, xsub_takes_4_byte_subscription_headers)
{
	static const unsigned char sub_a[] = { 0, 1, 0, 1, 'a' };
	static const unsigned char unsub_a[] = { 0, 2, 0, 1, 'a' };
	char buf[16];
	void *pub, *xsub;
	xs_msg_t m;

	ASSERT_EQ(0, wire(self, XS_PUB, XS_XSUB, &pub, &xsub));
	EXPECT_EQ(5, xs_send(xsub, sub_a, sizeof(sub_a), 0));
	EXPECT_EQ(5, xs_send(pub, "apple", 5, 0));
	EXPECT_EQ(6, xs_send(pub, "banana", 6, 0));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(0, set_int(xsub, XS_RCVTIMEO, 2000));
	EXPECT_EQ(5, xs_recv(xsub, buf, sizeof(buf), 0));
	EXPECT_STREQ("apple", buf);
	EXPECT_EQ(-1, xs_recv(xsub, buf, sizeof(buf), XS_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);

	/* Through xs_sendmsg too; unsubscribed, nothing comes. */
	ASSERT_EQ(0, xs_msg_init_size(&m, sizeof(unsub_a)));
	memcpy(xs_msg_data(&m), unsub_a, sizeof(unsub_a));
	EXPECT_EQ(5, xs_sendmsg(xsub, &m, 0));
	EXPECT_EQ(0, xs_msg_close(&m));
	EXPECT_EQ(5, xs_send(pub, "apple", 5, 0));
	EXPECT_EQ(-1, xs_recv(xsub, buf, sizeof(buf), XS_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
}

TEST_F(fid, xsub_refuses_malformed_subscriptions_and_changes_nothing)
{
	static const unsigned char old_form[] = { 1, 'b' };
	static const unsigned char three[] = { 0, 1, 0 };
	static const unsigned char bad_cmd[] = { 0, 3, 0, 1, 'b' };
	static const unsigned char cmd_zero[] = { 0, 0, 0, 1, 'b' };
	static const unsigned char bad_filter[] = { 0, 1, 0, 2, 'b' };
	static const unsigned char big_cmd[] = { 1, 1, 0, 1, 'b' };
	char buf[16];
	void *pub, *xsub;

	ASSERT_EQ(0, wire(self, XS_PUB, XS_XSUB, &pub, &xsub));
	EXPECT_EQ(-1, xs_send(xsub, old_form, sizeof(old_form), 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, xs_send(xsub, three, sizeof(three), 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, xs_send(xsub, bad_cmd, sizeof(bad_cmd), 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, xs_send(xsub, cmd_zero, sizeof(cmd_zero), 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, xs_send(xsub, big_cmd, sizeof(big_cmd), 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, xs_send(xsub, bad_filter, sizeof(bad_filter), 0));
	EXPECT_EQ(ENOTSUP, errno);

	/* None of them subscribed to anything. */
	EXPECT_EQ(4, xs_send(pub, "bell", 4, 0));
	EXPECT_EQ(-1, xs_recv(xsub, buf, sizeof(buf), XS_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
}

TEST_F(fid, xsub_to_xpub_device_forwards_subscriptions_unchanged)
{
	unsigned char buf[32];
	void *xpub, *sub, *pub, *xsub;
	int n;

	/* sub -> xpub | device | xsub -> pub: what XPUB gives, XSUB takes */
	ASSERT_EQ(0, wire(self, XS_XPUB, XS_SUB, &xpub, &sub));
	ASSERT_EQ(0, wire(self, XS_PUB, XS_XSUB, &pub, &xsub));
	ASSERT_EQ(0, set_int(xpub, XS_RCVTIMEO, 2000));
	ASSERT_EQ(0, set_int(sub, XS_RCVTIMEO, 2000));
	ASSERT_EQ(0, xs_setsockopt(sub, XS_SUBSCRIBE, "k", 1));
	n = xs_recv(xpub, buf, sizeof(buf), 0);
	ASSERT_EQ(5, n);
	EXPECT_EQ(5, xs_send(xsub, buf, (size_t)n, 0));

	EXPECT_EQ(3, xs_send(pub, "key", 3, 0));
	EXPECT_EQ(3, xs_send(pub, "nok", 3, 0));
	n = xs_recv(xsub, buf, sizeof(buf), XS_DONTWAIT);
	ASSERT_EQ(3, n);
	EXPECT_EQ(3, xs_send(xpub, buf, 3, 0));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(3, xs_recv(sub, buf, sizeof(buf), 0));
	EXPECT_EQ(0, memcmp(buf, "key", 3));
	EXPECT_EQ(-1, xs_recv(xsub, buf, sizeof(buf), XS_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
}

/* ---- XRESPONDENT identities ------------------------------------------- */

/* Reads one survey at an XRESPONDENT: identity, survey id, body. */
static int read_survey(void *xresp, unsigned char id[4], unsigned char sid[4],
		       char *body, size_t bodylen)
{
	unsigned char part[64];

	if (xs_recv(xresp, part, sizeof(part), 0) != 4 || rcvmore(xresp) != 1)
		return -1;
	memcpy(id, part, 4);
	if (xs_recv(xresp, part, sizeof(part), 0) != 4 || rcvmore(xresp) != 1)
		return -2;
	memcpy(sid, part, 4);
	memset(body, 0, bodylen);
	if (xs_recv(xresp, body, bodylen - 1, 0) < 0 || rcvmore(xresp) != 0)
		return -3;
	return 0;
}

TEST_F(fid, xrespondent_identities_are_4_bytes_and_route_answers)
{
	unsigned char id[4], sid[4], id2[4];
	void *xresp, *surveyor, *named;
	char name[128], body[16];

	xresp = open_sock(self, XS_XRESPONDENT);
	surveyor = open_sock(self, XS_SURVEYOR);
	named = open_sock(self, XS_SURVEYOR);
	ASSERT_NE(NULL, named);
	/* A peer's own identity does not show: Crossroads numbers peers. */
	ASSERT_EQ(0, xs_setsockopt(named, XS_IDENTITY, "named-peer", 10));
	ASSERT_EQ(0, set_int(xresp, XS_RCVTIMEO, 2000));
	ASSERT_EQ(0, set_int(surveyor, XS_SURVEY_TIMEOUT, 2000));
	ASSERT_EQ(0, set_int(named, XS_SURVEY_TIMEOUT, 2000));
	endpoint(name, sizeof(name), "xresp");
	ASSERT_LT(0, xs_bind(xresp, name));
	ASSERT_LT(0, xs_connect(surveyor, name));
	ASSERT_LT(0, xs_connect(named, name));

	ASSERT_EQ(3, xs_send(surveyor, "who", 3, 0));
	ASSERT_EQ(0, read_survey(xresp, id, sid, body, sizeof(body)));
	EXPECT_STREQ("who", body);
	EXPECT_EQ(4, xs_send(xresp, id, 4, XS_SNDMORE));
	EXPECT_EQ(4, xs_send(xresp, sid, 4, XS_SNDMORE));
	EXPECT_EQ(2, xs_send(xresp, "me", 2, 0));
	memset(body, 0, sizeof(body));
	EXPECT_EQ(2, xs_recv(surveyor, body, sizeof(body), 0));
	EXPECT_STREQ("me", body);

	ASSERT_EQ(5, xs_send(named, "where", 5, 0));
	ASSERT_EQ(0, read_survey(xresp, id2, sid, body, sizeof(body)));
	EXPECT_STREQ("where", body);
	EXPECT_NE(0, memcmp(id, id2, 4));
	EXPECT_EQ(4, xs_send(xresp, id2, 4, XS_SNDMORE));
	EXPECT_EQ(4, xs_send(xresp, sid, 4, XS_SNDMORE));
	EXPECT_EQ(4, xs_send(xresp, "here", 4, 0));
	memset(body, 0, sizeof(body));
	EXPECT_EQ(4, xs_recv(named, body, sizeof(body), 0));
	EXPECT_STREQ("here", body);

	/* The same peer keeps its id. */
	ASSERT_EQ(4, xs_send(named, "when", 4, 0));
	ASSERT_EQ(0, read_survey(xresp, id, sid, body, sizeof(body)));
	EXPECT_EQ(0, memcmp(id, id2, 4));
}

TEST_F(fid, xrespondent_drops_a_record_not_led_by_a_4_byte_id)
{
	unsigned char id[4], sid[4], five[5];
	void *xresp, *surveyor;
	char body[16];

	ASSERT_EQ(0, wire(self, XS_XRESPONDENT, XS_SURVEYOR, &xresp,
			  &surveyor));
	ASSERT_EQ(0, set_int(xresp, XS_RCVTIMEO, 2000));
	ASSERT_EQ(0, set_int(surveyor, XS_SURVEY_TIMEOUT, 300));
	ASSERT_EQ(3, xs_send(surveyor, "who", 3, 0));
	ASSERT_EQ(0, read_survey(xresp, id, sid, body, sizeof(body)));

	/* The kernel's own 5-byte form is not an identity at this API. */
	five[0] = 0;
	memcpy(five + 1, id, 4);
	EXPECT_EQ(5, xs_send(xresp, five, 5, XS_SNDMORE));
	EXPECT_EQ(4, xs_send(xresp, sid, 4, XS_SNDMORE));
	EXPECT_EQ(3, xs_send(xresp, "bad", 3, 0));
	/* Then a good one goes through. */
	EXPECT_EQ(4, xs_send(xresp, id, 4, XS_SNDMORE));
	EXPECT_EQ(4, xs_send(xresp, sid, 4, XS_SNDMORE));
	EXPECT_EQ(4, xs_send(xresp, "good", 4, 0));
	memset(body, 0, sizeof(body));
	EXPECT_EQ(4, xs_recv(surveyor, body, sizeof(body), 0));
	EXPECT_STREQ("good", body);
	EXPECT_EQ(-1, xs_recv(surveyor, body, sizeof(body), 0));
	EXPECT_EQ(ETIMEDOUT, errno);
}

/* ---- xs_term and XS_LINGER -------------------------------------------- */

struct late_binder {
	char name[128];
	int delay_ms;
	atomic_int bound;		/* set just before the bind */
	atomic_int release;		/* may close (after the bind) */
	char got[16];
	int rc;
};

/* Another context binds a PULL after a delay and reads one record. */
static void *late_bind(void *arg)
{
	struct late_binder *b = arg;
	void *ctx = xs_init(), *pull;
	int ms = 1000;

	usleep((useconds_t)b->delay_ms * 1000);
	pull = xs_socket(ctx, XS_PULL);
	xs_setsockopt(pull, XS_RCVTIMEO, &ms, sizeof(ms));
	atomic_store(&b->bound, 1);
	if (xs_bind(pull, b->name) < 0) {
		b->rc = -2;
	} else {
		memset(b->got, 0, sizeof(b->got));
		b->rc = xs_recv(pull, b->got, sizeof(b->got) - 1, 0);
	}
	/* stay bound until told to go (or 5 s) */
	for (ms = 0; ms < 5000 && !atomic_load(&b->release); ms += 10)
		usleep(10000);
	xs_close(pull);
	xs_term(ctx);
	return NULL;
}

static void *push_to_nobody(void *ctx, const char *name, int linger)
{
	void *push = xs_socket(ctx, XS_PUSH);

	if (!push)
		return NULL;
	if ((linger != -2 && set_int(push, XS_LINGER, linger)) ||
	    xs_connect(push, name) < 0 || xs_send(push, "kept", 4, 0) != 4) {
		xs_close(push);
		return NULL;
	}
	return push;
}

TEST(term_waits_for_a_closed_sockets_records_until_taken)
{
	struct late_binder b = { .delay_ms = 400 };
	void *ctx = xs_init(), *push;
	pthread_t t;

	ASSERT_NE(NULL, ctx);
	endpoint(b.name, sizeof(b.name), "linger-forever");
	push = push_to_nobody(ctx, b.name, -2);	/* default: -1 */
	ASSERT_NE(NULL, push);
	ASSERT_EQ(0, xs_close(push));
	ASSERT_EQ(0, pthread_create(&t, NULL, late_bind, &b));
	ASSERT_EQ(0, xs_term(ctx));
	/* xs_term came back only once a binder could take the record */
	EXPECT_EQ(1, atomic_load(&b.bound));
	atomic_store(&b.release, 1);
	pthread_join(t, NULL);
	EXPECT_EQ(4, b.rc);
	EXPECT_STREQ("kept", b.got);
}

TEST(term_with_linger_n_gives_up_after_n_ms_and_discards)
{
	struct late_binder b = { .delay_ms = 0, .release = 1 };
	void *ctx = xs_init(), *push;
	long long t0, dt;

	ASSERT_NE(NULL, ctx);
	endpoint(b.name, sizeof(b.name), "linger-n");
	push = push_to_nobody(ctx, b.name, 300);
	ASSERT_NE(NULL, push);
	t0 = now_ms();
	ASSERT_EQ(0, xs_close(push));
	ASSERT_EQ(0, xs_term(ctx));
	dt = now_ms() - t0;
	EXPECT_LE(300, dt);
	EXPECT_GT(10000, dt);
	/* what was not taken in time is gone */
	late_bind(&b);
	EXPECT_EQ(-1, b.rc);
}

TEST(term_with_zero_linger_discards_at_once)
{
	struct late_binder b = { .delay_ms = 0, .release = 1 };
	void *ctx = xs_init(), *push;
	long long t0;

	ASSERT_NE(NULL, ctx);
	endpoint(b.name, sizeof(b.name), "linger-0");
	push = push_to_nobody(ctx, b.name, 0);
	ASSERT_NE(NULL, push);
	t0 = now_ms();
	ASSERT_EQ(0, xs_close(push));
	ASSERT_EQ(0, xs_term(ctx));
	EXPECT_GT(5000, now_ms() - t0);
	late_bind(&b);
	EXPECT_EQ(-1, b.rc);
}

TEST(term_does_not_wait_for_records_a_peer_already_holds)
{
	void *ctx = xs_init(), *pull, *push, *idle;
	char name[128], nobody[128];
	long long t0;

	ASSERT_NE(NULL, ctx);
	endpoint(name, sizeof(name), "linger-held");
	pull = xs_socket(ctx, XS_PULL);
	ASSERT_LT(0, xs_bind(pull, name));
	push = push_to_nobody(ctx, name, -1);
	ASSERT_NE(NULL, push);
	/* connected to a name nobody binds, but it sent nothing */
	endpoint(nobody, sizeof(nobody), "linger-idle");
	idle = xs_socket(ctx, XS_PUSH);
	ASSERT_LT(0, xs_connect(idle, nobody));
	t0 = now_ms();
	ASSERT_EQ(0, xs_close(push));
	ASSERT_EQ(0, xs_close(idle));
	ASSERT_EQ(0, xs_close(pull));
	/* with linger -1, a wrong wait here would never end */
	ASSERT_EQ(0, xs_term(ctx));
	EXPECT_GT(3000, now_ms() - t0);
}

TEST(term_does_not_wait_once_a_late_binder_took_the_records_and_left)
{
	struct late_binder b = { .delay_ms = 0, .release = 1 };
	void *ctx = xs_init(), *push;
	pthread_t t;
	long long t0;

	ASSERT_NE(NULL, ctx);
	endpoint(b.name, sizeof(b.name), "linger-gone");
	push = push_to_nobody(ctx, b.name, -1);
	ASSERT_NE(NULL, push);
	/* the binder comes, takes the record and goes before the close */
	ASSERT_EQ(0, pthread_create(&t, NULL, late_bind, &b));
	pthread_join(t, NULL);
	ASSERT_EQ(4, b.rc);
	t0 = now_ms();
	ASSERT_EQ(0, xs_close(push));
	/* nothing waits any more: with linger -1 a wrong wait lasts 30 s */
	ASSERT_EQ(0, xs_term(ctx));
	EXPECT_GT(3000, now_ms() - t0);
}

TEST_HARNESS_MAIN
