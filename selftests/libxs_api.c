// SPDX-License-Identifier: GPL-2.0
/*
 * libxs: the Crossroads I/O 1.2 API over AF_XS.
 *
 * Each test proves one behaviour of the library as a Crossroads program
 * sees it: constants and errors, xs_msg_t life, addresses and endpoint
 * ids, the send/receive mapping (multipart, XS_DONTWAIT, timeouts, large
 * parts, read-ahead), xs_poll, xs_term and ETERM, and high-water marks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <linux/xs.h>
#include "xs.h"

#include "kselftest_harness.h"

#define MAX_SOCKS 16

/* ---- helpers ---------------------------------------------------------- */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "<transport>://libxs-api-<pid>-<n>-<tag>": unique per process and call. */
static const char *endpoint(char *buf, size_t len, const char *transport,
			    const char *tag)
{
	static int n;

	snprintf(buf, len, "%s://libxs-api-%d-%d-%s", transport, (int)getpid(),
		 ++n, tag);
	return buf;
}

FIXTURE(libxs) {
	void *ctx;
	void *socks[MAX_SOCKS];
};

FIXTURE_SETUP(libxs)
{
	self->ctx = xs_init();
	ASSERT_NE(NULL, self->ctx);
}

/* Closes what a failed test left open, so that xs_term cannot wait. */
FIXTURE_TEARDOWN(libxs)
{
	int i;

	for (i = 0; i < MAX_SOCKS; i++)
		if (self->socks[i])
			xs_close(self->socks[i]);
	EXPECT_EQ(0, xs_term(self->ctx));
}

static void *open_sock(FIXTURE_DATA(libxs) *self, int type)
{
	void *s = xs_socket(self->ctx, type);
	int i;

	if (!s)
		return NULL;
	for (i = 0; i < MAX_SOCKS; i++) {
		if (!self->socks[i]) {
			self->socks[i] = s;
			return s;
		}
	}
	xs_close(s);
	errno = EMFILE;
	return NULL;
}

static int close_sock(FIXTURE_DATA(libxs) *self, void *s)
{
	int i;

	for (i = 0; i < MAX_SOCKS; i++)
		if (self->socks[i] == s)
			self->socks[i] = NULL;
	return xs_close(s);
}

/* A connected pair of sockets of the given types over 'transport'. */
static int wire(FIXTURE_DATA(libxs) *self, int btype, int ctype,
		const char *transport, void **binder, void **connecter)
{
	char name[128];

	*binder = open_sock(self, btype);
	*connecter = open_sock(self, ctype);
	if (!*binder || !*connecter)
		return -1;
	endpoint(name, sizeof(name), transport, "wire");
	if (xs_bind(*binder, name) < 0)
		return -1;
	if (xs_connect(*connecter, name) < 0)
		return -1;
	return 0;
}

static int rcvmore(void *s)
{
	size_t len = sizeof(int);
	int more = -1;

	if (xs_getsockopt(s, XS_RCVMORE, &more, &len) || len != sizeof(int))
		return -1;
	return more;
}

/* ---- version, constants, errors --------------------------------------- */

TEST(version_is_1_2_0)
{
	int major = -1, minor = -1, patch = -1;

	xs_version(&major, &minor, &patch);
	EXPECT_EQ(1, major);
	EXPECT_EQ(2, minor);
	EXPECT_EQ(0, patch);
	EXPECT_EQ(10200, XS_VERSION);
	EXPECT_EQ(XS_MAKE_VERSION(major, minor, patch), XS_VERSION);
}

TEST(constants_have_crossroads_values)
{
	EXPECT_EQ(156384712, XS_HAUSNUMERO);
	EXPECT_EQ(XS_HAUSNUMERO + 51, EFSM);
	EXPECT_EQ(XS_HAUSNUMERO + 52, ENOCOMPATPROTO);
	EXPECT_EQ(XS_HAUSNUMERO + 53, ETERM);
	EXPECT_EQ(XS_HAUSNUMERO + 54, EMTHREAD);
	EXPECT_EQ(0, XS_PAIR);
	EXPECT_EQ(8, XS_PUSH);
	EXPECT_EQ(14, XS_XRESPONDENT);
	EXPECT_EQ(XS_XREP, XS_ROUTER);
	EXPECT_EQ(XS_XREQ, XS_DEALER);
	EXPECT_EQ(1, XS_DONTWAIT);
	EXPECT_EQ(2, XS_SNDMORE);
	EXPECT_EQ(1, XS_MORE);
	EXPECT_EQ(32, (int)sizeof(xs_msg_t));
	/* The kernel's option numbers are Crossroads' own. */
	EXPECT_EQ(XSPROTO_PAIR, XS_PAIR + 1);
	EXPECT_EQ(XSPROTO_XRESPONDENT, XS_XRESPONDENT + 1);
	EXPECT_EQ(23, XS_SNDHWM);
	EXPECT_EQ(24, XS_RCVHWM);
	EXPECT_EQ(35, XS_SURVEY_TIMEOUT);
}

TEST(strerror_names_crossroads_errors)
{
	const int errs[] = { EFSM, ENOCOMPATPROTO, ETERM, EMTHREAD };
	const char *text[4];
	int i, j;

	for (i = 0; i < 4; i++) {
		text[i] = xs_strerror(errs[i]);
		ASSERT_NE(NULL, text[i]);
		EXPECT_NE(0, (int)strlen(text[i]));
		EXPECT_EQ(NULL, strstr(text[i], "Unknown error"));
		for (j = 0; j < i; j++)
			EXPECT_NE(0, strcmp(text[i], text[j]));
	}
	/* System errors read as libc says them. */
	EXPECT_STREQ(strerror(EINVAL), xs_strerror(EINVAL));
	EXPECT_STREQ(strerror(EAGAIN), xs_strerror(EAGAIN));
	errno = ETERM;
	EXPECT_EQ(ETERM, xs_errno());
}

/* ---- messages --------------------------------------------------------- */

static atomic_int freed;
static void *freed_data;
static void *freed_hint;

static void count_free(void *data, void *hint)
{
	atomic_fetch_add(&freed, 1);
	freed_data = data;
	freed_hint = hint;
}

TEST(msg_init_data_frees_once_after_last_copy)
{
	static char buf[100] = "zero-copy";
	xs_msg_t a, b, c;

	atomic_store(&freed, 0);
	ASSERT_EQ(0, xs_msg_init_data(&a, buf, sizeof(buf), count_free,
				      (void *)0x1234));
	EXPECT_EQ((void *)buf, xs_msg_data(&a));
	EXPECT_EQ(sizeof(buf), xs_msg_size(&a));

	/* A copy shares the content: same bytes, no new allocation. */
	ASSERT_EQ(0, xs_msg_init(&b));
	ASSERT_EQ(0, xs_msg_copy(&b, &a));
	EXPECT_EQ(xs_msg_data(&a), xs_msg_data(&b));

	/* A move leaves the source empty and valid. */
	ASSERT_EQ(0, xs_msg_init(&c));
	ASSERT_EQ(0, xs_msg_move(&c, &b));
	EXPECT_EQ((void *)buf, xs_msg_data(&c));
	EXPECT_EQ(0u, xs_msg_size(&b));

	ASSERT_EQ(0, xs_msg_close(&a));
	EXPECT_EQ(0, atomic_load(&freed));
	ASSERT_EQ(0, xs_msg_close(&b));
	EXPECT_EQ(0, atomic_load(&freed));
	ASSERT_EQ(0, xs_msg_close(&c));
	EXPECT_EQ(1, atomic_load(&freed));
	EXPECT_EQ((void *)buf, freed_data);
	EXPECT_EQ((void *)0x1234, freed_hint);

	/* A closed message is no message. */
	EXPECT_EQ(-1, xs_msg_close(&c));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(1, atomic_load(&freed));
}

TEST(msg_sizes_and_more_option)
{
	size_t sizes[] = { 0, 1, 29, 30, 4096, 1 << 20 };
	size_t i, len;
	xs_msg_t m, copy;
	int more;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		ASSERT_EQ(0, xs_msg_init_size(&m, sizes[i]));
		EXPECT_EQ(sizes[i], xs_msg_size(&m));
		ASSERT_NE(NULL, xs_msg_data(&m));
		memset(xs_msg_data(&m), 0x5a, sizes[i]);
		ASSERT_EQ(0, xs_msg_init(&copy));
		ASSERT_EQ(0, xs_msg_copy(&copy, &m));
		EXPECT_EQ(sizes[i], xs_msg_size(&copy));
		if (sizes[i])
			EXPECT_EQ(0x5a, ((unsigned char *)
					 xs_msg_data(&copy))[sizes[i] - 1]);
		EXPECT_EQ(0, xs_msg_close(&copy));
		EXPECT_EQ(0, xs_msg_close(&m));
	}

	ASSERT_EQ(0, xs_msg_init(&m));
	len = sizeof(more);
	more = -1;
	EXPECT_EQ(0, xs_getmsgopt(&m, XS_MORE, &more, &len));
	EXPECT_EQ(0, more);
	EXPECT_EQ(sizeof(int), len);
	len = 1;
	EXPECT_EQ(-1, xs_getmsgopt(&m, XS_MORE, &more, &len));
	EXPECT_EQ(EINVAL, errno);
	len = sizeof(more);
	EXPECT_EQ(-1, xs_getmsgopt(&m, 42, &more, &len));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, xs_msg_close(&m));
}

/* ---- context and socket arguments ------------------------------------- */

TEST_F(libxs, bad_handles_get_crossroads_errors)
{
	int v = 1;

	EXPECT_EQ(NULL, xs_socket(NULL, XS_PAIR));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(NULL, xs_socket(self->ctx, -1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(NULL, xs_socket(self->ctx, XS_XRESPONDENT + 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, xs_close(NULL));
	EXPECT_EQ(ENOTSOCK, errno);
	EXPECT_EQ(-1, xs_send(NULL, "x", 1, 0));
	EXPECT_EQ(ENOTSOCK, errno);
	EXPECT_EQ(-1, xs_bind(self->ctx, "ipc://x"));
	EXPECT_EQ(ENOTSOCK, errno);
	EXPECT_EQ(-1, xs_term(NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, xs_setctxopt(self->ctx, 99, &v, sizeof(v)));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, xs_setctxopt(self->ctx, XS_IO_THREADS, &v, 2));
	EXPECT_EQ(EINVAL, errno);
	v = 0;
	EXPECT_EQ(-1, xs_setctxopt(self->ctx, XS_IO_THREADS, &v, sizeof(v)));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(libxs, max_sockets_limits_the_context)
{
	int one = 1;
	void *a;

	ASSERT_EQ(0, xs_setctxopt(self->ctx, XS_MAX_SOCKETS, &one,
				  sizeof(one)));
	a = open_sock(self, XS_PAIR);
	ASSERT_NE(NULL, a);
	EXPECT_EQ(NULL, open_sock(self, XS_PAIR));
	EXPECT_EQ(EMFILE, errno);
	ASSERT_EQ(0, close_sock(self, a));
	a = open_sock(self, XS_PAIR);
	EXPECT_NE(NULL, a);
}

/* ---- addresses and endpoints ------------------------------------------ */

TEST_F(libxs, addresses_are_parsed_like_crossroads)
{
	static const struct {
		const char *addr;
		int err;
	} bad[] = {
		/* tcp:// and pgm:// go to libzmq: see libxs_tcp.c */
		{ "udp://127.0.0.1:5555", EPROTONOSUPPORT },
		{ "carrier-pigeon://home", EPROTONOSUPPORT },
		{ "garbage", EINVAL },
		{ "ipc://", EINVAL },
		{ "://name", EINVAL },
		{ NULL, EINVAL },
	};
	char longname[300];
	void *s = open_sock(self, XS_PAIR);
	size_t i;

	ASSERT_NE(NULL, s);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-1, xs_bind(s, bad[i].addr));
		EXPECT_EQ(bad[i].err, errno);
		EXPECT_EQ(-1, xs_connect(s, bad[i].addr));
		EXPECT_EQ(bad[i].err, errno);
	}

	memset(longname, 'n', sizeof(longname));
	memcpy(longname, "ipc://", 6);
	longname[sizeof(longname) - 1] = '\0';
	EXPECT_EQ(-1, xs_bind(s, longname));
	EXPECT_EQ(ENAMETOOLONG, errno);

	/* inproc names have no length limit: long ones are hashed. */
	memcpy(longname, "inproc://", 9);
	EXPECT_LT(0, xs_bind(s, longname));
}

TEST_F(libxs, endpoint_ids_shut_down_one_endpoint)
{
	char n1[128], n2[128];
	void *a = open_sock(self, XS_PULL);
	void *b = open_sock(self, XS_PULL);
	int id1, id2, id3;

	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	endpoint(n1, sizeof(n1), "ipc", "one");
	endpoint(n2, sizeof(n2), "inproc", "two");
	id1 = xs_bind(a, n1);
	id2 = xs_bind(a, n2);
	ASSERT_LT(0, id1);
	ASSERT_LT(0, id2);
	EXPECT_NE(id1, id2);

	/* The name is taken while bound... */
	EXPECT_EQ(-1, xs_bind(b, n1));
	EXPECT_EQ(EADDRINUSE, errno);

	/* ...and free once its endpoint is shut down. */
	EXPECT_EQ(0, xs_shutdown(a, id1));
	EXPECT_LT(0, xs_bind(b, n1));
	EXPECT_EQ(-1, xs_shutdown(a, id1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, xs_shutdown(a, 0));
	EXPECT_EQ(ENOTSUP, errno);

	/* The smallest free id is reused, as Crossroads numbers them. */
	id3 = xs_connect(a, n1);
	EXPECT_EQ(id1, id3);
	EXPECT_EQ(0, xs_shutdown(a, id3));
	EXPECT_EQ(0, xs_shutdown(a, id2));
}

TEST_F(libxs, inproc_names_are_private_to_a_context)
{
	char name[128];
	void *ctx2 = xs_init();
	void *pull1 = open_sock(self, XS_PULL);
	void *pull2, *push2;
	char buf[16];

	ASSERT_NE(NULL, ctx2);
	ASSERT_NE(NULL, pull1);
	pull2 = xs_socket(ctx2, XS_PULL);
	push2 = xs_socket(ctx2, XS_PUSH);
	ASSERT_NE(NULL, pull2);
	ASSERT_NE(NULL, push2);

	endpoint(name, sizeof(name), "inproc", "shared");
	EXPECT_LT(0, xs_bind(pull1, name));
	EXPECT_LT(0, xs_bind(pull2, name));	/* no EADDRINUSE */
	EXPECT_LT(0, xs_connect(push2, name));
	EXPECT_EQ(5, xs_send(push2, "ctx-2", 5, 0));

	EXPECT_EQ(5, xs_recv(pull2, buf, sizeof(buf), 0));
	EXPECT_EQ(0, memcmp(buf, "ctx-2", 5));
	EXPECT_EQ(-1, xs_recv(pull1, buf, sizeof(buf), XS_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);

	EXPECT_EQ(0, xs_close(pull2));
	EXPECT_EQ(0, xs_close(push2));
	EXPECT_EQ(0, xs_term(ctx2));
}

/* ---- sending and receiving -------------------------------------------- */

TEST_F(libxs, pair_over_abstract_ipc_talks_both_ways)
{
	void *a, *b;
	char buf[16];

	ASSERT_EQ(0, wire(self, XS_PAIR, XS_PAIR, "ipc", &a, &b));
	EXPECT_EQ(5, xs_send(b, "hello", 5, 0));
	EXPECT_EQ(5, xs_recv(a, buf, sizeof(buf), 0));
	EXPECT_EQ(0, memcmp(buf, "hello", 5));
	EXPECT_EQ(0, rcvmore(a));
	EXPECT_EQ(5, xs_send(a, "world", 5, 0));
	EXPECT_EQ(5, xs_recv(b, buf, sizeof(buf), 0));
	EXPECT_EQ(0, memcmp(buf, "world", 5));
}

TEST_F(libxs, push_pull_over_inproc_keeps_order)
{
	void *pull, *push;
	char buf[16];
	int i;

	ASSERT_EQ(0, wire(self, XS_PULL, XS_PUSH, "inproc", &pull, &push));
	for (i = 0; i < 40; i++) {
		snprintf(buf, sizeof(buf), "m%02d", i);
		ASSERT_EQ(3, xs_send(push, buf, 3, 0));
	}
	for (i = 0; i < 40; i++) {
		char want[8];

		snprintf(want, sizeof(want), "m%02d", i);
		memset(buf, 0, sizeof(buf));
		ASSERT_EQ(3, xs_recv(pull, buf, sizeof(buf), 0));
		EXPECT_STREQ(want, buf);
	}
	EXPECT_EQ(-1, xs_recv(pull, buf, sizeof(buf), XS_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
}

TEST_F(libxs, multipart_sets_rcvmore_and_more)
{
	void *pull, *push;
	size_t len;
	xs_msg_t m;
	char buf[8];
	int more;

	ASSERT_EQ(0, wire(self, XS_PULL, XS_PUSH, "ipc", &pull, &push));
	EXPECT_EQ(1, xs_send(push, "a", 1, XS_SNDMORE));
	EXPECT_EQ(2, xs_send(push, "bb", 2, XS_SNDMORE));

	/* Nothing of a record is visible before its last part. */
	EXPECT_EQ(-1, xs_recv(pull, buf, sizeof(buf), XS_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);

	EXPECT_EQ(3, xs_send(push, "ccc", 3, 0));

	EXPECT_EQ(1, xs_recv(pull, buf, sizeof(buf), 0));
	EXPECT_EQ('a', buf[0]);
	EXPECT_EQ(1, rcvmore(pull));

	ASSERT_EQ(0, xs_msg_init(&m));
	EXPECT_EQ(2, xs_recvmsg(pull, &m, 0));
	EXPECT_EQ(0, memcmp(xs_msg_data(&m), "bb", 2));
	len = sizeof(more);
	EXPECT_EQ(0, xs_getmsgopt(&m, XS_MORE, &more, &len));
	EXPECT_EQ(1, more);
	EXPECT_EQ(1, rcvmore(pull));

	EXPECT_EQ(3, xs_recvmsg(pull, &m, 0));
	EXPECT_EQ(0, memcmp(xs_msg_data(&m), "ccc", 3));
	len = sizeof(more);
	EXPECT_EQ(0, xs_getmsgopt(&m, XS_MORE, &more, &len));
	EXPECT_EQ(0, more);
	EXPECT_EQ(0, rcvmore(pull));
	EXPECT_EQ(0, xs_msg_close(&m));
}

TEST_F(libxs, sub_receives_only_subscribed_prefixes)
{
	void *pub, *sub;
	char buf[16];

	ASSERT_EQ(0, wire(self, XS_PUB, XS_SUB, "ipc", &pub, &sub));
	ASSERT_EQ(0, xs_setsockopt(sub, XS_SUBSCRIBE, "a", 1));
	EXPECT_EQ(5, xs_send(pub, "apple", 5, 0));
	EXPECT_EQ(6, xs_send(pub, "banana", 6, 0));
	EXPECT_EQ(3, xs_send(pub, "avo", 3, XS_SNDMORE));
	EXPECT_EQ(4, xs_send(pub, "cado", 4, 0));

	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(5, xs_recv(sub, buf, sizeof(buf), 0));
	EXPECT_STREQ("apple", buf);
	EXPECT_EQ(0, rcvmore(sub));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(3, xs_recv(sub, buf, sizeof(buf), 0));
	EXPECT_STREQ("avo", buf);
	EXPECT_EQ(1, rcvmore(sub));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(4, xs_recv(sub, buf, sizeof(buf), 0));
	EXPECT_STREQ("cado", buf);
	EXPECT_EQ(0, rcvmore(sub));
	EXPECT_EQ(-1, xs_recv(sub, buf, sizeof(buf), XS_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);

	/* Unsubscribed: nothing more gets through. */
	ASSERT_EQ(0, xs_setsockopt(sub, XS_UNSUBSCRIBE, "a", 1));
	EXPECT_EQ(5, xs_send(pub, "apple", 5, 0));
	EXPECT_EQ(-1, xs_recv(sub, buf, sizeof(buf), XS_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
}

TEST_F(libxs, req_rep_alternate_and_report_efsm)
{
	void *rep, *req;
	char buf[16];
	xs_msg_t m;

	ASSERT_EQ(0, wire(self, XS_REP, XS_REQ, "ipc", &rep, &req));
	EXPECT_EQ(-1, xs_recv(req, buf, sizeof(buf), XS_DONTWAIT));
	EXPECT_EQ(EFSM, errno);
	EXPECT_EQ(-1, xs_send(rep, "early", 5, 0));
	EXPECT_EQ(EFSM, errno);

	EXPECT_EQ(8, xs_send(req, "question", 8, 0));
	EXPECT_EQ(-1, xs_send(req, "again", 5, 0));
	EXPECT_EQ(EFSM, errno);

	/* REQ and REP do not read ahead: xs_recvmsg sizes each part first. */
	ASSERT_EQ(0, xs_msg_init(&m));
	EXPECT_EQ(8, xs_recvmsg(rep, &m, 0));
	EXPECT_EQ(0, memcmp("question", xs_msg_data(&m), 8));
	EXPECT_EQ(0, rcvmore(rep));	/* the envelope stays hidden */
	EXPECT_EQ(6, xs_send(rep, "answer", 6, XS_SNDMORE));
	EXPECT_EQ(1, xs_send(rep, "!", 1, 0));
	EXPECT_EQ(6, xs_recvmsg(req, &m, 0));
	EXPECT_EQ(0, memcmp("answer", xs_msg_data(&m), 6));
	EXPECT_EQ(1, rcvmore(req));
	EXPECT_EQ(1, xs_recvmsg(req, &m, 0));
	EXPECT_EQ(0, rcvmore(req));
	EXPECT_EQ(-1, xs_recvmsg(req, &m, XS_DONTWAIT));
	EXPECT_EQ(EFSM, errno);
	EXPECT_EQ(0, xs_msg_close(&m));
}

TEST_F(libxs, xrep_sees_and_routes_by_identity)
{
	void *xrep = open_sock(self, XS_XREP);
	void *xreq = open_sock(self, XS_XREQ);
	char name[128], buf[16];

	ASSERT_NE(NULL, xrep);
	ASSERT_NE(NULL, xreq);
	ASSERT_EQ(0, xs_setsockopt(xreq, XS_IDENTITY, "peer-1", 6));
	endpoint(name, sizeof(name), "ipc", "xrep");
	ASSERT_LT(0, xs_bind(xrep, name));
	ASSERT_LT(0, xs_connect(xreq, name));

	EXPECT_EQ(2, xs_send(xreq, "hi", 2, 0));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(6, xs_recv(xrep, buf, sizeof(buf), 0));
	EXPECT_STREQ("peer-1", buf);
	EXPECT_EQ(1, rcvmore(xrep));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(2, xs_recv(xrep, buf, sizeof(buf), 0));
	EXPECT_STREQ("hi", buf);
	EXPECT_EQ(0, rcvmore(xrep));

	EXPECT_EQ(6, xs_send(xrep, "peer-1", 6, XS_SNDMORE));
	EXPECT_EQ(2, xs_send(xrep, "yo", 2, 0));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(2, xs_recv(xreq, buf, sizeof(buf), 0));
	EXPECT_STREQ("yo", buf);
}

TEST_F(libxs, survey_ends_with_etimedout)
{
	void *surveyor, *respondent;
	int ms = 200, v;
	long long t0, dt;
	size_t len;
	char buf[16];

	ASSERT_EQ(0, wire(self, XS_SURVEYOR, XS_RESPONDENT, "ipc",
			  &surveyor, &respondent));
	ASSERT_EQ(0, xs_setsockopt(surveyor, XS_SURVEY_TIMEOUT, &ms,
				   sizeof(ms)));
	len = sizeof(v);
	ASSERT_EQ(0, xs_getsockopt(surveyor, XS_SURVEY_TIMEOUT, &v, &len));
	EXPECT_EQ(200, v);
	EXPECT_EQ(-1, xs_recv(surveyor, buf, sizeof(buf), XS_DONTWAIT));
	EXPECT_EQ(EFSM, errno);

	EXPECT_EQ(3, xs_send(surveyor, "who", 3, 0));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(3, xs_recv(respondent, buf, sizeof(buf), 0));
	EXPECT_STREQ("who", buf);
	EXPECT_EQ(2, xs_send(respondent, "me", 2, 0));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(2, xs_recv(surveyor, buf, sizeof(buf), 0));
	EXPECT_STREQ("me", buf);

	t0 = now_ms();
	EXPECT_EQ(-1, xs_recv(surveyor, buf, sizeof(buf), 0));
	EXPECT_EQ(ETIMEDOUT, errno);
	dt = now_ms() - t0;
	EXPECT_GT(5000, dt);
}

TEST_F(libxs, recv_truncates_and_returns_full_size)
{
	void *pull, *push;
	char buf[4];

	ASSERT_EQ(0, wire(self, XS_PULL, XS_PUSH, "ipc", &pull, &push));
	EXPECT_EQ(10, xs_send(push, "0123456789", 10, 0));
	EXPECT_EQ(5, xs_send(push, "abcde", 5, 0));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(10, xs_recv(pull, buf, sizeof(buf), 0));
	EXPECT_EQ(0, memcmp(buf, "0123", 4));
	/* The rest of the truncated part is gone, not delivered later. */
	EXPECT_EQ(5, xs_recv(pull, buf, sizeof(buf), 0));
	EXPECT_EQ(0, memcmp(buf, "abcd", 4));
}

static void fill(unsigned char *p, size_t n, unsigned int seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 131 + seed);
}

static int check(const unsigned char *p, size_t n, unsigned int seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != (unsigned char)(i * 131 + seed))
			return -1;
	return 0;
}

/* Small and large parts mixed, read with both calls: whatever path a part
 * takes inside the library (read-ahead or direct), it arrives whole. */
TEST_F(libxs, large_and_small_parts_arrive_whole)
{
	const size_t sizes[] = { 10, 100000, 7, 150000, 3 };
	const int n = sizeof(sizes) / sizeof(sizes[0]);
	int buf_size = 400000;
	unsigned char *big;
	void *pull, *push;
	xs_msg_t m;
	int i;

	big = malloc(300000);
	ASSERT_NE(NULL, big);
	ASSERT_EQ(0, wire(self, XS_PULL, XS_PUSH, "ipc", &pull, &push));
	ASSERT_EQ(0, xs_setsockopt(push, XS_SNDBUF, &buf_size,
				   sizeof(buf_size)));
	ASSERT_EQ(0, xs_setsockopt(pull, XS_RCVBUF, &buf_size,
				   sizeof(buf_size)));

	/* All queued before the first receive. */
	for (i = 0; i < n; i++) {
		fill(big, sizes[i], (unsigned int)i);
		ASSERT_EQ((int)sizes[i], xs_send(push, big, sizes[i], 0));
	}
	ASSERT_EQ(0, xs_msg_init(&m));
	for (i = 0; i < n; i++) {
		ASSERT_EQ((int)sizes[i], xs_recvmsg(pull, &m, 0));
		ASSERT_EQ(sizes[i], xs_msg_size(&m));
		EXPECT_EQ(0, check(xs_msg_data(&m), sizes[i], (unsigned)i));
	}

	/* One at a time, so that each part meets the library empty-handed
	 * after a large or a small one. */
	for (i = 0; i < 5; i++) {
		const size_t one[] = { 120000, 120001, 5, 300000, 6 };
		size_t sz = one[i];

		fill(big, sz, 40u + (unsigned int)i);
		ASSERT_EQ((int)sz, xs_send(push, big, sz, 0));
		memset(big, 0, sz);
		if (i == 1 || i == 4) {
			ASSERT_EQ((int)sz, xs_recv(pull, big, 300000, 0));
			EXPECT_EQ(0, check(big, sz, 40u + (unsigned int)i));
		} else {
			ASSERT_EQ((int)sz, xs_recvmsg(pull, &m, 0));
			EXPECT_EQ(0, check(xs_msg_data(&m), sz,
					   40u + (unsigned int)i));
		}
	}
	EXPECT_EQ(0, xs_msg_close(&m));
	free(big);
}

TEST_F(libxs, sendmsg_empties_the_message_and_frees_zero_copy_data)
{
	static char payload[64] = "sent without a copy in the library";
	void *pull, *push;
	xs_msg_t m, keep;
	char buf[64];

	ASSERT_EQ(0, wire(self, XS_PULL, XS_PUSH, "inproc", &pull, &push));
	atomic_store(&freed, 0);
	ASSERT_EQ(0, xs_msg_init_data(&m, payload, sizeof(payload),
				      count_free, NULL));
	ASSERT_EQ(0, xs_msg_init(&keep));
	ASSERT_EQ(0, xs_msg_copy(&keep, &m));

	EXPECT_EQ((int)sizeof(payload), xs_sendmsg(push, &m, 0));
	EXPECT_EQ(0u, xs_msg_size(&m));		/* nullified */
	EXPECT_EQ(0, atomic_load(&freed));	/* 'keep' still holds it */
	EXPECT_EQ(0, xs_msg_close(&keep));
	EXPECT_EQ(1, atomic_load(&freed));
	EXPECT_EQ(0, xs_msg_close(&m));
	EXPECT_EQ(1, atomic_load(&freed));

	EXPECT_EQ((int)sizeof(payload), xs_recv(pull, buf, sizeof(buf), 0));
	EXPECT_EQ(0, memcmp(buf, payload, sizeof(payload)));

	/* A failed send leaves the message to the caller. */
	ASSERT_EQ(0, xs_msg_init_size(&m, 3));
	EXPECT_EQ(-1, xs_sendmsg(pull, &m, 0));
	EXPECT_EQ(ENOTSUP, errno);
	EXPECT_EQ(3u, xs_msg_size(&m));
	EXPECT_EQ(0, xs_msg_close(&m));
}

TEST_F(libxs, dontwait_and_timeouts_give_eagain)
{
	void *pull, *push, *lone;
	int ms = 100, zero = 0;
	long long t0, dt;
	char buf[8];

	ASSERT_EQ(0, wire(self, XS_PULL, XS_PUSH, "ipc", &pull, &push));
	EXPECT_EQ(-1, xs_recv(pull, buf, sizeof(buf), XS_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);

	ASSERT_EQ(0, xs_setsockopt(pull, XS_RCVTIMEO, &ms, sizeof(ms)));
	t0 = now_ms();
	EXPECT_EQ(-1, xs_recv(pull, buf, sizeof(buf), 0));
	EXPECT_EQ(EAGAIN, errno);
	dt = now_ms() - t0;
	EXPECT_LE(90, dt);
	EXPECT_GT(2000, dt);

	ASSERT_EQ(0, xs_setsockopt(pull, XS_RCVTIMEO, &zero, sizeof(zero)));
	t0 = now_ms();
	EXPECT_EQ(-1, xs_recv(pull, buf, sizeof(buf), 0));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_GT(50, now_ms() - t0);

	/* A PUSH with no peer at all cannot place a record. */
	lone = open_sock(self, XS_PUSH);
	ASSERT_NE(NULL, lone);
	EXPECT_EQ(-1, xs_send(lone, "x", 1, XS_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, xs_setsockopt(lone, XS_SNDTIMEO, &ms, sizeof(ms)));
	t0 = now_ms();
	EXPECT_EQ(-1, xs_send(lone, "x", 1, 0));
	EXPECT_EQ(EAGAIN, errno);
	dt = now_ms() - t0;
	EXPECT_LE(90, dt);
	EXPECT_GT(2000, dt);
}

TEST_F(libxs, wrong_direction_is_enotsup)
{
	void *pull, *push;
	char buf[4];

	ASSERT_EQ(0, wire(self, XS_PULL, XS_PUSH, "ipc", &pull, &push));
	EXPECT_EQ(-1, xs_send(pull, "x", 1, 0));
	EXPECT_EQ(ENOTSUP, errno);
	EXPECT_EQ(-1, xs_recv(push, buf, sizeof(buf), XS_DONTWAIT));
	EXPECT_EQ(ENOTSUP, errno);
}

TEST_F(libxs, hwm_is_sndhwm_plus_rcvhwm_records)
{
	void *pull = open_sock(self, XS_PULL);
	void *push = open_sock(self, XS_PUSH);
	char name[128], buf[4];
	int hwm = 2, i;

	ASSERT_NE(NULL, pull);
	ASSERT_NE(NULL, push);
	ASSERT_EQ(0, xs_setsockopt(push, XS_SNDHWM, &hwm, sizeof(hwm)));
	ASSERT_EQ(0, xs_setsockopt(pull, XS_RCVHWM, &hwm, sizeof(hwm)));
	endpoint(name, sizeof(name), "ipc", "hwm");
	ASSERT_LT(0, xs_bind(pull, name));
	ASSERT_LT(0, xs_connect(push, name));

	for (i = 0; i < 4; i++)
		ASSERT_EQ(1, xs_send(push, "r", 1, XS_DONTWAIT));
	EXPECT_EQ(-1, xs_send(push, "r", 1, XS_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);

	/* Room comes back when the receiver takes records. */
	EXPECT_EQ(1, xs_recv(pull, buf, sizeof(buf), 0));
	EXPECT_EQ(1, xs_send(push, "r", 1, XS_DONTWAIT));
}

/* ---- options ---------------------------------------------------------- */

TEST_F(libxs, socket_options_follow_crossroads_types)
{
	void *s = open_sock(self, XS_SUB);
	void *push = open_sock(self, XS_PUSH);
	int v, fd;
	uint64_t u;
	size_t len;

	ASSERT_NE(NULL, s);
	ASSERT_NE(NULL, push);

	len = sizeof(v);
	ASSERT_EQ(0, xs_getsockopt(s, XS_TYPE, &v, &len));
	EXPECT_EQ(XS_SUB, v);
	EXPECT_EQ(sizeof(int), len);

	len = sizeof(v);
	ASSERT_EQ(0, xs_getsockopt(s, XS_SNDHWM, &v, &len));
	EXPECT_EQ(1000, v);
	v = 7;
	ASSERT_EQ(0, xs_setsockopt(s, XS_RCVHWM, &v, sizeof(v)));
	len = sizeof(v);
	ASSERT_EQ(0, xs_getsockopt(s, XS_RCVHWM, &v, &len));
	EXPECT_EQ(7, v);
	v = -1;
	EXPECT_EQ(-1, xs_setsockopt(s, XS_SNDHWM, &v, sizeof(v)));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, xs_setsockopt(s, XS_SNDHWM, &v, 2));
	EXPECT_EQ(EINVAL, errno);

	/* Crossroads reads any negative linger as "forever" (-1). */
	v = 250;
	ASSERT_EQ(0, xs_setsockopt(s, XS_LINGER, &v, sizeof(v)));
	len = sizeof(v);
	ASSERT_EQ(0, xs_getsockopt(s, XS_LINGER, &v, &len));
	EXPECT_EQ(250, v);
	v = -5;
	ASSERT_EQ(0, xs_setsockopt(s, XS_LINGER, &v, sizeof(v)));
	len = sizeof(v);
	ASSERT_EQ(0, xs_getsockopt(s, XS_LINGER, &v, &len));
	EXPECT_EQ(-1, v);

	len = sizeof(u);
	ASSERT_EQ(0, xs_getsockopt(s, XS_MAXMSGSIZE, &u, &len));
	EXPECT_EQ(UINT64_MAX, u);
	EXPECT_EQ(sizeof(uint64_t), len);
	u = 1 << 20;
	ASSERT_EQ(0, xs_setsockopt(s, XS_MAXMSGSIZE, &u, sizeof(u)));
	len = sizeof(u);
	ASSERT_EQ(0, xs_getsockopt(s, XS_MAXMSGSIZE, &u, &len));
	EXPECT_EQ((uint64_t)1 << 20, u);
	EXPECT_EQ(-1, xs_setsockopt(s, XS_MAXMSGSIZE, &v, sizeof(v)));
	EXPECT_EQ(EINVAL, errno);

	EXPECT_EQ(0, xs_setsockopt(s, XS_SUBSCRIBE, "", 0));
	EXPECT_EQ(0, xs_setsockopt(s, XS_SUBSCRIBE, "topic", 5));
	EXPECT_EQ(0, xs_setsockopt(s, XS_UNSUBSCRIBE, "topic", 5));
	EXPECT_EQ(-1, xs_setsockopt(push, XS_SUBSCRIBE, "topic", 5));
	EXPECT_EQ(EINVAL, errno);
	v = 100;
	EXPECT_EQ(-1, xs_setsockopt(s, XS_SURVEY_TIMEOUT, &v, sizeof(v)));
	EXPECT_EQ(ENOTSUP, errno);

	/* Transport options: validated and remembered. */
	len = sizeof(v);
	ASSERT_EQ(0, xs_getsockopt(s, XS_RATE, &v, &len));
	EXPECT_EQ(100, v);
	v = 0;
	EXPECT_EQ(-1, xs_setsockopt(s, XS_RATE, &v, sizeof(v)));
	EXPECT_EQ(EINVAL, errno);
	v = 2;
	EXPECT_EQ(-1, xs_setsockopt(s, XS_IPV4ONLY, &v, sizeof(v)));
	EXPECT_EQ(EINVAL, errno);
	v = 250;
	ASSERT_EQ(0, xs_setsockopt(s, XS_RECONNECT_IVL, &v, sizeof(v)));
	len = sizeof(v);
	ASSERT_EQ(0, xs_getsockopt(s, XS_RECONNECT_IVL, &v, &len));
	EXPECT_EQ(250, v);
	u = 3;
	ASSERT_EQ(0, xs_setsockopt(s, XS_AFFINITY, &u, sizeof(u)));
	EXPECT_EQ(-1, xs_setsockopt(s, XS_AFFINITY, &v, sizeof(v)));
	EXPECT_EQ(EINVAL, errno);

	/* XS_FD is the socket itself; read-only options stay read-only. */
	len = sizeof(fd);
	ASSERT_EQ(0, xs_getsockopt(s, XS_FD, &fd, &len));
	EXPECT_LE(0, fd);
	EXPECT_NE(0, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(-1, xs_setsockopt(s, XS_TYPE, &v, sizeof(v)));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, xs_setsockopt(s, XS_RCVMORE, &v, sizeof(v)));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, xs_setsockopt(s, 999, &v, sizeof(v)));
	EXPECT_EQ(EINVAL, errno);
	len = sizeof(v);
	EXPECT_EQ(-1, xs_getsockopt(s, 999, &v, &len));
	EXPECT_EQ(EINVAL, errno);
	len = 1;
	EXPECT_EQ(-1, xs_getsockopt(s, XS_TYPE, &v, &len));
	EXPECT_EQ(EINVAL, errno);
}

/* Crossroads' default linger is -1: a record sent to a name nobody has
 * bound yet survives xs_close and reaches a binder that comes later. */
TEST_F(libxs, default_linger_keeps_records_after_close)
{
	char name[128], buf[8];
	void *push, *pull;
	int v = 0;
	size_t len = sizeof(v);

	push = open_sock(self, XS_PUSH);
	ASSERT_NE(NULL, push);
	ASSERT_EQ(0, xs_getsockopt(push, XS_LINGER, &v, &len));
	EXPECT_EQ(-1, v);
	endpoint(name, sizeof(name), "ipc", "linger");
	ASSERT_LT(0, xs_connect(push, name));
	ASSERT_EQ(4, xs_send(push, "kept", 4, 0));
	ASSERT_EQ(0, close_sock(self, push));

	pull = open_sock(self, XS_PULL);
	ASSERT_NE(NULL, pull);
	ASSERT_LT(0, xs_bind(pull, name));
	v = 2000;
	ASSERT_EQ(0, xs_setsockopt(pull, XS_RCVTIMEO, &v, sizeof(v)));
	EXPECT_EQ(4, xs_recv(pull, buf, sizeof(buf), 0));
	EXPECT_EQ(0, memcmp(buf, "kept", 4));
}

TEST_F(libxs, zero_linger_drops_records_at_close)
{
	char name[128], buf[8];
	void *push, *pull;
	int v = 0;

	push = open_sock(self, XS_PUSH);
	ASSERT_NE(NULL, push);
	ASSERT_EQ(0, xs_setsockopt(push, XS_LINGER, &v, sizeof(v)));
	endpoint(name, sizeof(name), "ipc", "nolinger");
	ASSERT_LT(0, xs_connect(push, name));
	ASSERT_EQ(4, xs_send(push, "gone", 4, 0));
	ASSERT_EQ(0, close_sock(self, push));

	pull = open_sock(self, XS_PULL);
	ASSERT_NE(NULL, pull);
	ASSERT_LT(0, xs_bind(pull, name));
	v = 200;
	ASSERT_EQ(0, xs_setsockopt(pull, XS_RCVTIMEO, &v, sizeof(v)));
	EXPECT_EQ(-1, xs_recv(pull, buf, sizeof(buf), 0));
	EXPECT_EQ(EAGAIN, errno);
}

TEST_F(libxs, identity_is_1_to_255_bytes_not_starting_with_zero)
{
	void *s = open_sock(self, XS_PAIR);
	char id[300];
	size_t len;

	ASSERT_NE(NULL, s);
	ASSERT_EQ(0, xs_setsockopt(s, XS_IDENTITY, "me", 2));
	len = sizeof(id);
	ASSERT_EQ(0, xs_getsockopt(s, XS_IDENTITY, id, &len));
	EXPECT_EQ(2u, len);
	EXPECT_EQ(0, memcmp(id, "me", 2));
	len = 1;
	EXPECT_EQ(-1, xs_getsockopt(s, XS_IDENTITY, id, &len));
	EXPECT_EQ(EINVAL, errno);

	EXPECT_EQ(-1, xs_setsockopt(s, XS_IDENTITY, "", 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, xs_setsockopt(s, XS_IDENTITY, "\0x", 2));
	EXPECT_EQ(EINVAL, errno);
	memset(id, 'i', sizeof(id));
	EXPECT_EQ(-1, xs_setsockopt(s, XS_IDENTITY, id, 256));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, xs_setsockopt(s, XS_IDENTITY, id, 255));
	len = sizeof(id);
	ASSERT_EQ(0, xs_getsockopt(s, XS_IDENTITY, id, &len));
	EXPECT_EQ(255u, len);
}

TEST_F(libxs, events_report_readiness)
{
	void *pull, *push;
	size_t len;
	char buf[4];
	int ev;

	ASSERT_EQ(0, wire(self, XS_PULL, XS_PUSH, "ipc", &pull, &push));
	len = sizeof(ev);
	ASSERT_EQ(0, xs_getsockopt(push, XS_EVENTS, &ev, &len));
	EXPECT_EQ(XS_POLLOUT, ev);
	len = sizeof(ev);
	ASSERT_EQ(0, xs_getsockopt(pull, XS_EVENTS, &ev, &len));
	EXPECT_EQ(0, ev);

	ASSERT_EQ(1, xs_send(push, "a", 1, 0));
	ASSERT_EQ(1, xs_send(push, "b", 1, 0));
	len = sizeof(ev);
	ASSERT_EQ(0, xs_getsockopt(pull, XS_EVENTS, &ev, &len));
	EXPECT_EQ(XS_POLLIN, ev);

	/* One part taken, one left (in the kernel or read ahead). */
	ASSERT_EQ(1, xs_recv(pull, buf, sizeof(buf), 0));
	len = sizeof(ev);
	ASSERT_EQ(0, xs_getsockopt(pull, XS_EVENTS, &ev, &len));
	EXPECT_EQ(XS_POLLIN, ev);
	ASSERT_EQ(1, xs_recv(pull, buf, sizeof(buf), 0));
	len = sizeof(ev);
	ASSERT_EQ(0, xs_getsockopt(pull, XS_EVENTS, &ev, &len));
	EXPECT_EQ(0, ev);
}

/* ---- xs_poll ---------------------------------------------------------- */

TEST_F(libxs, poll_mixes_sockets_and_plain_fds)
{
	void *pull, *push;
	xs_pollitem_t items[3];
	int pipefd[2];
	long long t0, dt;
	char buf[4];

	ASSERT_EQ(0, wire(self, XS_PULL, XS_PUSH, "ipc", &pull, &push));
	ASSERT_EQ(0, pipe(pipefd));
	memset(items, 0, sizeof(items));
	items[0].socket = pull;
	items[0].events = XS_POLLIN;
	items[1].fd = pipefd[0];
	items[1].events = XS_POLLIN;
	items[2].socket = push;
	items[2].events = XS_POLLOUT;

	/* Only the PUSH can act. */
	EXPECT_EQ(1, xs_poll(items, 3, 0));
	EXPECT_EQ(0, items[0].revents);
	EXPECT_EQ(0, items[1].revents);
	EXPECT_EQ(XS_POLLOUT, items[2].revents);

	/* Nothing readable: the timeout (ms) runs out. */
	t0 = now_ms();
	EXPECT_EQ(0, xs_poll(items, 2, 100));
	dt = now_ms() - t0;
	EXPECT_LE(90, dt);
	EXPECT_GT(2000, dt);

	ASSERT_EQ(1, write(pipefd[1], "p", 1));
	EXPECT_EQ(1, xs_poll(items, 2, -1));
	EXPECT_EQ(0, items[0].revents);
	EXPECT_EQ(XS_POLLIN, items[1].revents);
	ASSERT_EQ(1, read(pipefd[0], buf, 1));

	ASSERT_EQ(1, xs_send(push, "s", 1, 0));
	EXPECT_EQ(1, xs_poll(items, 2, 1000));
	EXPECT_EQ(XS_POLLIN, items[0].revents);
	EXPECT_EQ(0, items[1].revents);
	ASSERT_EQ(1, xs_recv(pull, buf, sizeof(buf), 0));
	EXPECT_EQ(0, xs_poll(items, 2, 0));

	/* A closed write end is an error condition on the plain fd. */
	close(pipefd[1]);
	EXPECT_EQ(1, xs_poll(items, 2, 0));
	EXPECT_NE(0, items[1].revents & XS_POLLERR);
	close(pipefd[0]);

	EXPECT_EQ(-1, xs_poll(items, -1, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, xs_poll(NULL, 0, 0));
}

/* ---- xs_term ---------------------------------------------------------- */

struct blocked_receiver {
	void *ctx;
	void *sock;
	atomic_int started;
	int recv_rc, recv_err;
	int send_rc, send_err;
	int opt_rc, opt_err;
	void *new_sock;
	int new_err;
};

static void *receive_until_term(void *arg)
{
	struct blocked_receiver *b = arg;
	char buf[8];
	size_t len = sizeof(int);
	int v;

	atomic_store(&b->started, 1);
	b->recv_rc = xs_recv(b->sock, buf, sizeof(buf), 0);
	b->recv_err = errno;
	b->send_rc = xs_send(b->sock, "x", 1, XS_DONTWAIT);
	b->send_err = errno;
	b->opt_rc = xs_getsockopt(b->sock, XS_TYPE, &v, &len);
	b->opt_err = errno;
	b->new_sock = xs_socket(b->ctx, XS_PAIR);
	b->new_err = errno;
	xs_close(b->sock);
	return NULL;
}

static void *terminate(void *arg)
{
	void **ctx = arg;

	return (void *)(intptr_t)xs_term(*ctx);
}

TEST(term_wakes_a_blocked_recv_with_eterm)
{
	struct blocked_receiver b;
	pthread_t rt, tt;
	char name[128];
	void *ret;

	memset(&b, 0, sizeof(b));
	b.ctx = xs_init();
	ASSERT_NE(NULL, b.ctx);
	b.sock = xs_socket(b.ctx, XS_PAIR);
	ASSERT_NE(NULL, b.sock);
	ASSERT_LT(0, xs_bind(b.sock, endpoint(name, sizeof(name), "ipc",
					      "term")));

	ASSERT_EQ(0, pthread_create(&rt, NULL, receive_until_term, &b));
	while (!atomic_load(&b.started))
		usleep(1000);
	usleep(200 * 1000);	/* let it block in the kernel */

	/* xs_term returns only once the receiver has closed its socket. */
	ASSERT_EQ(0, pthread_create(&tt, NULL, terminate, &b.ctx));
	ASSERT_EQ(0, pthread_join(rt, NULL));
	ASSERT_EQ(0, pthread_join(tt, &ret));
	EXPECT_EQ(0, (int)(intptr_t)ret);

	EXPECT_EQ(-1, b.recv_rc);
	EXPECT_EQ(ETERM, b.recv_err);
	EXPECT_EQ(-1, b.send_rc);
	EXPECT_EQ(ETERM, b.send_err);
	EXPECT_EQ(-1, b.opt_rc);
	EXPECT_EQ(ETERM, b.opt_err);
	EXPECT_EQ(NULL, b.new_sock);
	EXPECT_EQ(ETERM, b.new_err);
}

struct blocked_poller {
	void *sock;
	atomic_int started;
	int rc, err;
};

static void *poll_until_term(void *arg)
{
	struct blocked_poller *b = arg;
	xs_pollitem_t item = { .socket = b->sock, .events = XS_POLLIN };

	atomic_store(&b->started, 1);
	b->rc = xs_poll(&item, 1, -1);
	b->err = errno;
	xs_close(b->sock);
	return NULL;
}

TEST(term_wakes_a_blocked_poll_with_eterm)
{
	struct blocked_poller b;
	char name[128];
	pthread_t pt;
	void *ctx;

	memset(&b, 0, sizeof(b));
	ctx = xs_init();
	ASSERT_NE(NULL, ctx);
	b.sock = xs_socket(ctx, XS_PULL);
	ASSERT_NE(NULL, b.sock);
	ASSERT_LT(0, xs_bind(b.sock, endpoint(name, sizeof(name), "inproc",
					      "pollterm")));
	ASSERT_EQ(0, pthread_create(&pt, NULL, poll_until_term, &b));
	while (!atomic_load(&b.started))
		usleep(1000);
	usleep(200 * 1000);

	EXPECT_EQ(0, xs_term(ctx));	/* returns once the poller closed */
	ASSERT_EQ(0, pthread_join(pt, NULL));
	EXPECT_EQ(-1, b.rc);
	EXPECT_EQ(ETERM, b.err);
}

TEST(term_without_sockets_returns_at_once)
{
	void *ctx = xs_init();

	ASSERT_NE(NULL, ctx);
	EXPECT_EQ(0, xs_term(ctx));
}

/* ---- filesystem names ------------------------------------------------- */

TEST_F(libxs, ipc_path_binds_a_node_and_replaces_a_stale_one)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char path[96], addr[128], buf[8];
	void *a, *b;
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "/tmp/libxs-api-%d.sock", (int)getpid());
	snprintf(addr, sizeof(addr), "ipc://%s", path);
	unlink(path);

	a = open_sock(self, XS_PULL);
	b = open_sock(self, XS_PUSH);
	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	ASSERT_LT(0, xs_bind(a, addr));
	ASSERT_EQ(0, lstat(path, &st));
	ASSERT_LT(0, xs_connect(b, addr));
	EXPECT_EQ(2, xs_send(b, "fs", 2, 0));
	EXPECT_EQ(2, xs_recv(a, buf, sizeof(buf), 0));
	EXPECT_EQ(0, memcmp(buf, "fs", 2));
	ASSERT_EQ(0, close_sock(self, a));
	EXPECT_EQ(-1, lstat(path, &st));	/* the binder's node is gone */

	/* A node left behind by a dead binder is replaced. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ASSERT_LE(0, fd);
	strcpy(sun.sun_path, path);
	ASSERT_EQ(0, bind(fd, (struct sockaddr *)&sun, sizeof(sun)));
	close(fd);
	a = open_sock(self, XS_PULL);
	ASSERT_NE(NULL, a);
	EXPECT_LT(0, xs_bind(a, addr));
	ASSERT_EQ(0, close_sock(self, a));

	/* Any other kind of file is left alone. */
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	ASSERT_LE(0, fd);
	close(fd);
	a = open_sock(self, XS_PULL);
	ASSERT_NE(NULL, a);
	EXPECT_EQ(-1, xs_bind(a, addr));
	EXPECT_EQ(EADDRINUSE, errno);
	ASSERT_EQ(0, lstat(path, &st));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	unlink(path);
}

TEST_HARNESS_MAIN
