// SPDX-License-Identifier: GPL-2.0
/*
 * Publish/subscribe: PUB and XPUB fan a record out to every subscriber
 * whose subscription is a prefix of its first part, matching in the kernel
 * at the publisher (a subscriber that matches nothing is never woken), with
 * one shared copy of the record; PUB never blocks and a subscriber at its
 * limit misses records (counted by XS_DROPS, XS_MISSED and /proc/net/xs);
 * XPUB receives subscriptions as records, XSUB sends them, and an
 * XSUB/XPUB forwarder carries subscriptions up and records down; a SUB
 * re-sends its subscriptions to a publisher that (re)binds its name.
 *
 * The fan-out tests run over PUB and XPUB, the publisher binding or
 * connecting to names its subscribers bind.
 */
#include <sys/syscall.h>

#include "xs_test.h"

#define NSUB 4

static int subscribe(int fd, const char *prefix)
{
	return setsockopt(fd, SOL_XS, XS_SUBSCRIBE, prefix, strlen(prefix));
}

static int unsubscribe(int fd, const char *prefix)
{
	return setsockopt(fd, SOL_XS, XS_UNSUBSCRIBE, prefix, strlen(prefix));
}

/* Send a subscription record ("\x01prefix" or "\x00prefix") on an XSUB. */
static ssize_t xsub_send_sub(int fd, int add, const char *prefix)
{
	char buf[256];
	size_t n = strlen(prefix);

	buf[0] = add;
	memcpy(buf + 1, prefix, n);
	return xs_send(fd, buf, n + 1, MSG_EOR);
}

/*
 * Wait for a one-part record holding exactly @len bytes of @data.
 * Returns 0, or -1 with a reason in @why.
 */
static int recv_bytes(int fd, const void *data, size_t len, const char **why)
{
	char buf[512];
	int f = 0;
	ssize_t n = xs_recv_wait(fd, buf, sizeof(buf), &f);

	if (n < 0)
		*why = "nothing arrived";
	else if ((size_t)n != len || memcmp(buf, data, len))
		*why = "wrong content";
	else if (!(f & MSG_EOR))
		*why = "MSG_EOR missing";
	else
		return 0;
	return -1;
}

/* An XPUB's subscription record: @what (1 or 0) then @prefix. */
#define ASSERT_SUBREC(fd, what, prefix) do {				\
	char __r[256];							\
	const char *__why = "";						\
	size_t __l = strlen(prefix);					\
	__r[0] = (what);						\
	memcpy(__r + 1, (prefix), __l);					\
	ASSERT_EQ(0, recv_bytes((fd), __r, __l + 1, &__why))		\
		TH_LOG("subscription record %d'%s': %s", (what),	\
		       (prefix), __why);				\
} while (0)

/* Index of the first of @n sockets with something to read, or -1. */
static int first_with_data(const int *fds, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (!xs_nothing_arrives(fds[i]))
			return i;
	return -1;
}

/* ---- /proc/net/xs ---------------------------------------------------- */

/* ---- fan-out fixture --------------------------------------------------- */

FIXTURE(ps) {
	int pub, sub[NSUB];
	char name[NSUB][XS_NAME_MAX + 1];	/* the subscribers' endpoints */
};

FIXTURE_VARIANT(ps) {
	int pub_proto, pub_binds;
};

FIXTURE_VARIANT_ADD(ps, pub_binds) {
	.pub_proto = XSPROTO_PUB, .pub_binds = 1,
};

FIXTURE_VARIANT_ADD(ps, pub_connects) {
	.pub_proto = XSPROTO_PUB, .pub_binds = 0,
};

FIXTURE_VARIANT_ADD(ps, xpub_binds) {
	.pub_proto = XSPROTO_XPUB, .pub_binds = 1,
};

FIXTURE_VARIANT_ADD(ps, xpub_connects) {
	.pub_proto = XSPROTO_XPUB, .pub_binds = 0,
};

FIXTURE_SETUP(ps)
{
	int i;

	self->pub = xs_socket(variant->pub_proto);
	ASSERT_GE(self->pub, 0);
	if (variant->pub_binds) {
		xs_uname(self->name[0], sizeof(self->name[0]), "pub");
		ASSERT_OK(xs_bind(self->pub, self->name[0]));
	}
	for (i = 0; i < NSUB; i++) {
		self->sub[i] = xs_socket(XSPROTO_SUB);
		ASSERT_GE(self->sub[i], 0);
		if (variant->pub_binds) {
			strcpy(self->name[i], self->name[0]);
			ASSERT_OK(xs_connect(self->sub[i], self->name[0]));
		} else {
			xs_uname(self->name[i], sizeof(self->name[i]), "sub");
			ASSERT_OK(xs_bind(self->sub[i], self->name[i]));
			ASSERT_OK(xs_connect(self->pub, self->name[i]));
		}
	}
}

FIXTURE_TEARDOWN(ps)
{
	int i;

	xs_close(&self->pub);
	for (i = 0; i < NSUB; i++)
		xs_close(&self->sub[i]);
}

TEST_F(ps, subscription_is_a_prefix_of_the_first_part)
{
	ASSERT_OK(subscribe(self->sub[0], "a"));
	ASSERT_OK(subscribe(self->sub[1], "ab"));
	ASSERT_OK(subscribe(self->sub[2], "b"));
	/* sub[3] subscribes to nothing */

	ASSERT_RECORD(self->pub, 0, "abc");
	ASSERT_RECORD(self->pub, 0, "b1");
	ASSERT_RECORD(self->pub, 0, "c");
	ASSERT_RECORD(self->pub, 0, "a");
	ASSERT_RECORD(self->pub, 0, "ba", "ab");	/* 2nd part never counts */
	ASSERT_RECORD(self->pub, 0, "", "a");

	ASSERT_RECV_RECORD(self->sub[0], "abc");
	ASSERT_RECV_RECORD(self->sub[0], "a");
	ASSERT_NOTHING(self->sub[0]);
	ASSERT_RECV_RECORD(self->sub[1], "abc");
	ASSERT_NOTHING(self->sub[1]);
	ASSERT_RECV_RECORD(self->sub[2], "b1");
	ASSERT_RECV_RECORD(self->sub[2], "ba", "ab");
	ASSERT_NOTHING(self->sub[2]);
	ASSERT_NOTHING(self->sub[3]);
}

TEST_F(ps, empty_prefix_matches_every_record)
{
	ASSERT_OK(setsockopt(self->sub[0], SOL_XS, XS_SUBSCRIBE, "", 0));
	ASSERT_RECORD(self->pub, 0, "x");
	ASSERT_EQ(0, xs_send(self->pub, "", 0, MSG_EOR));
	ASSERT_RECORD(self->pub, 0, "\xff", "tail");

	ASSERT_RECV_RECORD(self->sub[0], "x");
	ASSERT_RECV_RECORD(self->sub[0], "");
	ASSERT_RECV_RECORD(self->sub[0], "\xff", "tail");
	ASSERT_NOTHING(self->sub[0]);
	ASSERT_NOTHING(self->sub[1]);
}

TEST_F(ps, overlapping_prefixes_deliver_a_record_once)
{

	ASSERT_OK(setsockopt(self->sub[0], SOL_XS, XS_SUBSCRIBE, "", 0));
	ASSERT_OK(subscribe(self->sub[0], "a"));
	ASSERT_OK(subscribe(self->sub[0], "ab"));
	ASSERT_OK(subscribe(self->sub[0], "abc"));
	ASSERT_OK(subscribe(self->sub[1], "ab"));
	ASSERT_OK(subscribe(self->sub[1], "abcd"));

	ASSERT_RECORD(self->pub, 0, "abcd", "1");
	ASSERT_RECORD(self->pub, 0, "abx", "2");
	ASSERT_RECORD(self->pub, 0, "z", "3");

	ASSERT_RECV_RECORD(self->sub[0], "abcd", "1");
	ASSERT_RECV_RECORD(self->sub[0], "abx", "2");
	ASSERT_RECV_RECORD(self->sub[0], "z", "3");
	ASSERT_NOTHING(self->sub[0]);
	ASSERT_RECV_RECORD(self->sub[1], "abcd", "1");
	ASSERT_RECV_RECORD(self->sub[1], "abx", "2");
	ASSERT_NOTHING(self->sub[1]);
	ASSERT_EQ(-1, first_with_data(self->sub + 2, NSUB - 2));
}

TEST_F(ps, every_matching_subscriber_gets_the_record)
{
	int i;

	for (i = 0; i < NSUB; i++)
		ASSERT_OK(subscribe(self->sub[i], "news"));
	ASSERT_RECORD(self->pub, 0, "news.1", "body");
	for (i = 0; i < NSUB; i++) {
		ASSERT_RECV_RECORD(self->sub[i], "news.1", "body");
		ASSERT_NOTHING(self->sub[i]);
	}
}

TEST_F(ps, unsubscribe_stops_delivery)
{
	ASSERT_OK(subscribe(self->sub[0], "t"));
	ASSERT_OK(subscribe(self->sub[1], "t"));
	ASSERT_RECORD(self->pub, 0, "t1");
	ASSERT_RECV_RECORD(self->sub[0], "t1");
	ASSERT_RECV_RECORD(self->sub[1], "t1");

	ASSERT_OK(unsubscribe(self->sub[0], "t"));
	ASSERT_RECORD(self->pub, 0, "t2");
	ASSERT_NOTHING(self->sub[0]);
	ASSERT_RECV_RECORD(self->sub[1], "t2");

	/* unknown prefixes are ignored, as in Crossroads */
	ASSERT_OK(unsubscribe(self->sub[0], "t"));
	ASSERT_OK(unsubscribe(self->sub[0], "never"));
	ASSERT_OK(setsockopt(self->sub[2], SOL_XS, XS_UNSUBSCRIBE, "", 0));

	/* and a new subscription works again */
	ASSERT_OK(subscribe(self->sub[0], "t"));
	ASSERT_RECORD(self->pub, 0, "t3");
	ASSERT_RECV_RECORD(self->sub[0], "t3");
	ASSERT_RECV_RECORD(self->sub[1], "t3");
	ASSERT_NOTHING(self->sub[0]);
	ASSERT_NOTHING(self->sub[2]);
}

TEST_F(ps, duplicate_subscriptions_are_counted)
{
	ASSERT_OK(subscribe(self->sub[0], "d"));
	ASSERT_OK(subscribe(self->sub[0], "d"));
	ASSERT_OK(subscribe(self->sub[0], "d"));

	ASSERT_RECORD(self->pub, 0, "d1");
	ASSERT_RECV_RECORD(self->sub[0], "d1");
	ASSERT_NOTHING(self->sub[0]);		/* still once */

	ASSERT_OK(unsubscribe(self->sub[0], "d"));
	ASSERT_OK(unsubscribe(self->sub[0], "d"));
	ASSERT_RECORD(self->pub, 0, "d2");
	ASSERT_RECV_RECORD(self->sub[0], "d2");

	ASSERT_OK(unsubscribe(self->sub[0], "d"));
	ASSERT_RECORD(self->pub, 0, "d3");
	ASSERT_NOTHING(self->sub[0]);
}

TEST_F(ps, without_subscription_nothing_arrives)
{

	ASSERT_RECORD(self->pub, 0, "anything");
	ASSERT_EQ(0, xs_send(self->pub, "", 0, MSG_EOR));
	ASSERT_EQ(-1, first_with_data(self->sub, NSUB));
	/* nothing was dropped either: nobody wanted it */
	ASSERT_EQ(0ULL, xs_getu64(self->pub, XS_DROPS));
}

TEST_F(ps, multipart_records_stay_whole_and_ordered_through_fanout)
{
	int records = xs_iters(300, 30);
	char buf[64], want[64];
	int i, j, s, f;

	ASSERT_OK(subscribe(self->sub[0], "m"));
	ASSERT_OK(subscribe(self->sub[1], "m"));
	ASSERT_OK(subscribe(self->sub[2], "m."));
	for (i = 0; i < records; i++) {
		for (j = 0; j <= i % 5; j++) {
			snprintf(buf, sizeof(buf), "m.%d.%d", i, j);
			ASSERT_SEND(self->pub, buf, j == i % 5 ? MSG_EOR : 0);
		}
		/* a record the subscribers do not want, between theirs */
		ASSERT_RECORD(self->pub, 0, "x", "m.not");
	}
	/* the publisher closes in the middle of a record: nobody sees it */
	ASSERT_SEND(self->pub, "m.partial", 0);
	ASSERT_SEND(self->pub, "m.partial.2", 0);
	xs_close(&self->pub);

	for (s = 0; s < 3; s++) {
		for (i = 0; i < records; i++)
			for (j = 0; j <= i % 5; j++) {
				ssize_t n = xs_recv_wait(self->sub[s], buf,
							 sizeof(buf) - 1, &f);

				snprintf(want, sizeof(want), "m.%d.%d", i, j);
				ASSERT_EQ((ssize_t)strlen(want), n)
					TH_LOG("sub %d waiting for %s", s, want);
				buf[n] = 0;
				ASSERT_STREQ(want, buf);
				ASSERT_EQ(j == i % 5 ? MSG_EOR : 0, f & MSG_EOR);
			}
		ASSERT_NOTHING(self->sub[s]);
	}
	ASSERT_NOTHING(self->sub[3]);
}

/* Two threads publish multipart records on one PUB at once. */
struct mp_sender {
	pthread_t thread;
	int fd, id, records, failed;
};

static void *mp_sender_main(void *arg)
{
	struct mp_sender *s = arg;
	char buf[64];
	int i, j;

	for (i = 0; i < s->records; i++)
		for (j = 0; j < 3; j++) {
			snprintf(buf, sizeof(buf), "c.%d.%d.%d", s->id, i, j);
			if (xs_send_str(s->fd, buf, j == 2 ? MSG_EOR : 0) < 0)
				s->failed = 1;
		}
	return NULL;
}

TEST_F(ps, concurrent_publishers_never_interleave_parts)
{
	struct mp_sender snd[2];
	int records = xs_iters(300, 30);
	int next[NSUB][2] = { { 0 } };
	char buf[64];
	int i, s, id, rec, part, p, f;

	for (s = 0; s < NSUB; s++)
		ASSERT_OK(subscribe(self->sub[s], "c."));
	for (i = 0; i < 2; i++) {
		snd[i] = (struct mp_sender){ .fd = self->pub, .id = i,
					     .records = records };
		ASSERT_OK(pthread_create(&snd[i].thread, NULL, mp_sender_main,
					 &snd[i]));
	}
	for (i = 0; i < 2; i++) {
		pthread_join(snd[i].thread, NULL);
		ASSERT_EQ(0, snd[i].failed);
	}
	for (s = 0; s < NSUB; s++) {
		for (i = 0; i < 2 * records; i++) {
			int first_id = -1, first_rec = -1;

			for (part = 0; part < 3; part++) {
				ssize_t n = xs_recv_wait(self->sub[s], buf,
							 sizeof(buf) - 1, &f);

				ASSERT_GT(n, 0);
				buf[n] = 0;
				ASSERT_EQ(3, sscanf(buf, "c.%d.%d.%d", &id,
						    &rec, &p));
				ASSERT_EQ(part, p);
				if (part == 0) {
					first_id = id;
					first_rec = rec;
				}
				ASSERT_EQ(first_id, id) TH_LOG("parts interleaved: %s", buf);
				ASSERT_EQ(first_rec, rec);
			}
			ASSERT_TRUE(f & MSG_EOR);
			/* each sender's records arrive in its order */
			ASSERT_EQ(next[s][first_id], first_rec);
			next[s][first_id]++;
		}
		ASSERT_NOTHING(self->sub[s]);
	}
}

/*
 * The publisher never blocks: the subscriber at sub[0] has room for
 * SNDHWM 2 + RCVHWM 2 records and never reads; sub[1] keeps the default
 * limit and gets every record.  Misses are counted where the spec says.
 */
TEST_F(ps, stalled_subscriber_misses_records_others_get_all)
{
	int records = 200, room = 4, i;
	char buf[32];
	long long t0;

	ASSERT_OK(xs_setint(self->pub, XS_SNDHWM, 2));
	ASSERT_OK(xs_setint(self->sub[0], XS_RCVHWM, 2));
	ASSERT_OK(xs_setint(self->sub[1], XS_RCVHWM, 1000));
	ASSERT_OK(subscribe(self->sub[0], "r"));
	ASSERT_OK(subscribe(self->sub[1], "r"));
	/* were it to block, the send fails instead of hanging the test */
	ASSERT_OK(xs_set_timeo(self->pub, SO_SNDTIMEO, xs_wait_ms()));

	t0 = xs_now_ms();
	for (i = 0; i < records; i++) {
		snprintf(buf, sizeof(buf), "r%d", i);
		ASSERT_SEND(self->pub, buf, 0);
		ASSERT_SEND(self->pub, "tail", MSG_EOR);
	}
	ASSERT_LT(xs_now_ms() - t0, xs_wait_ms());

	/* the dropping is visible before anybody reads */
	ASSERT_EQ(records - room, (int)xs_getu64(self->pub, XS_DROPS));
	ASSERT_EQ(records - room, (int)xs_getu64(self->sub[0], XS_MISSED));
	ASSERT_EQ(0, (int)xs_getu64(self->sub[1], XS_MISSED));
	ASSERT_EQ(records - room, xs_proc_field(self->pub, "drops"));
	ASSERT_EQ(0, xs_proc_field(self->pub, "missed"));
	ASSERT_EQ(records - room, xs_proc_field(self->sub[0], "missed"));
	ASSERT_EQ(room, xs_proc_field(self->sub[0], "rx_records"));
	ASSERT_EQ(0, xs_proc_field(self->sub[1], "missed"));
	ASSERT_EQ(records, xs_proc_field(self->sub[1], "rx_records"));
	ASSERT_EQ(0, xs_proc_field(self->sub[2], "missed"));

	for (i = 0; i < records; i++) {
		snprintf(buf, sizeof(buf), "r%d", i);
		ASSERT_RECV_RECORD(self->sub[1], buf, "tail");
	}
	ASSERT_NOTHING(self->sub[1]);
	/* the stalled one has the first records, whole, and no others */
	for (i = 0; i < room; i++) {
		snprintf(buf, sizeof(buf), "r%d", i);
		ASSERT_RECV_RECORD(self->sub[0], buf, "tail");
	}
	ASSERT_NOTHING(self->sub[0]);

	/* once it has read, it gets records again */
	ASSERT_RECORD(self->pub, 0, "r.again");
	ASSERT_RECV_RECORD(self->sub[0], "r.again");
	ASSERT_RECV_RECORD(self->sub[1], "r.again");
	ASSERT_EQ(records - room, (int)xs_getu64(self->pub, XS_DROPS));
}

/* ---- single-socket tests ------------------------------------------------ */

/*
 * With the default limits (SNDHWM 1000 + RCVHWM 1000) a subscriber that
 * never reads holds 2000 records; the publisher goes on without blocking
 * and drops the rest, and so does a publisher whose name nobody bound.
 */
TEST(pub_never_blocks_on_a_subscriber_that_never_reads)
{
	int pub = xs_socket(XSPROTO_PUB), sub = xs_socket(XSPROTO_SUB);
	int nobody = xs_socket(XSPROTO_PUB);
	int limit = 2 * XS_HWM_DEFAULT, records = limit + 500, i;
	XS_UNAME(name, "full");
	XS_UNAME(unbound, "nobody");

	ASSERT_GE(pub, 0);
	ASSERT_GE(sub, 0);
	ASSERT_GE(nobody, 0);
	ASSERT_OK(xs_bind(pub, name));
	ASSERT_OK(xs_connect(sub, name));
	ASSERT_OK(setsockopt(sub, SOL_XS, XS_SUBSCRIBE, "", 0));
	ASSERT_OK(xs_connect(nobody, unbound));
	/* were it to block, the send fails instead of hanging the test */
	ASSERT_OK(xs_set_timeo(pub, SO_SNDTIMEO, xs_wait_ms()));
	ASSERT_OK(xs_set_timeo(nobody, SO_SNDTIMEO, xs_wait_ms()));

	for (i = 0; i < records; i++) {
		ASSERT_SEND(pub, "rec", MSG_EOR);
		ASSERT_SEND(nobody, "rec", MSG_EOR);
	}
	ASSERT_TRUE(xs_revents(pub, POLLOUT) & POLLOUT);
	ASSERT_EQ(records - limit, (int)xs_getu64(pub, XS_DROPS));
	ASSERT_EQ(records - limit, (int)xs_getu64(sub, XS_MISSED));
	ASSERT_EQ(limit, xs_proc_field(sub, "rx_records"));
	close(nobody);
	close(pub);
	close(sub);
}

TEST(send_on_sub_and_recv_on_pub_are_not_supported)
{
	int pub, sub;
	char c;
	XS_UNAME(name, "dir");

	ASSERT_OK(xs_link(XSPROTO_PUB, XSPROTO_SUB, -1, -1, &pub, &sub,
			  name, sizeof(name)));
	ASSERT_OK(setsockopt(sub, SOL_XS, XS_SUBSCRIBE, "", 0));
	ASSERT_ERRNO(EOPNOTSUPP, xs_send_str(sub, "up", MSG_EOR));
	ASSERT_ERRNO(EOPNOTSUPP, xs_send_str(sub, "up", MSG_DONTWAIT | MSG_EOR));
	ASSERT_ERRNO(EOPNOTSUPP, xs_recv(pub, &c, 1, MSG_DONTWAIT, NULL));
	/* nothing went anywhere, and the sockets still work */
	ASSERT_ERRNO(EAGAIN, xs_recv(sub, &c, 1, MSG_DONTWAIT, NULL));
	ASSERT_RECORD(pub, 0, "down");
	ASSERT_RECV_RECORD(sub, "down");
	close(pub);
	close(sub);
}

TEST(subscribe_option_is_checked)
{
	static const int others[] = { XSPROTO_PUB, XSPROTO_XPUB, XSPROTO_XSUB,
				      XSPROTO_PUSH, XSPROTO_PULL,
				      XSPROTO_PAIR };
	char *big = calloc(1, XS_PREFIX_MAX + 1);
	int sub = xs_socket(XSPROTO_SUB), pub, fd;
	unsigned int i;
	XS_UNAME(name, "opt");

	ASSERT_NE(NULL, big);
	ASSERT_GE(sub, 0);
	memset(big, 'p', XS_PREFIX_MAX + 1);
	ASSERT_OK(setsockopt(sub, SOL_XS, XS_SUBSCRIBE, big, XS_PREFIX_MAX));
	ASSERT_ERRNO(EINVAL, setsockopt(sub, SOL_XS, XS_SUBSCRIBE, big,
					XS_PREFIX_MAX + 1));
	ASSERT_ERRNO(EINVAL, setsockopt(sub, SOL_XS, XS_UNSUBSCRIBE, big,
					XS_PREFIX_MAX + 1));
	ASSERT_ERRNO(EFAULT, setsockopt(sub, SOL_XS, XS_SUBSCRIBE,
					xs_unmapped(), 4));

	/* the longest prefix works; the rejected ones changed nothing */
	pub = xs_socket(XSPROTO_PUB);
	ASSERT_GE(pub, 0);
	ASSERT_OK(xs_bind(pub, name));
	ASSERT_OK(xs_connect(sub, name));
	ASSERT_EQ(XS_PREFIX_MAX, xs_send(pub, big, XS_PREFIX_MAX, MSG_EOR));
	ASSERT_EQ(XS_PREFIX_MAX - 1, xs_send(pub, big, XS_PREFIX_MAX - 1,
					     MSG_EOR));
	ASSERT_EQ(XS_PREFIX_MAX, xs_recv_wait(sub, big, XS_PREFIX_MAX + 1,
					      NULL));
	ASSERT_NOTHING(sub);
	ASSERT_OK(setsockopt(sub, SOL_XS, XS_UNSUBSCRIBE, big, XS_PREFIX_MAX));
	ASSERT_EQ(XS_PREFIX_MAX, xs_send(pub, big, XS_PREFIX_MAX, MSG_EOR));
	ASSERT_NOTHING(sub);

	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		fd = xs_socket(others[i]);
		ASSERT_GE(fd, 0);
		ASSERT_ERRNO(EINVAL, subscribe(fd, "a"));
		ASSERT_ERRNO(EINVAL, unsubscribe(fd, "a"));
		close(fd);
	}
	free(big);
	close(pub);
	close(sub);
}

TEST(subscription_reaches_every_publisher)
{
	int pub[3], sub = xs_socket(XSPROTO_SUB), i;
	char name[3][XS_NAME_MAX + 1], buf[16];

	ASSERT_GE(sub, 0);
	for (i = 0; i < 3; i++) {
		pub[i] = xs_socket(XSPROTO_PUB);
		ASSERT_GE(pub[i], 0);
		xs_uname(name[i], sizeof(name[i]), "multi");
		/* the first before the subscription, the others after */
		if (i != 0)
			continue;
		ASSERT_OK(xs_bind(pub[i], name[i]));
		ASSERT_OK(xs_connect(sub, name[i]));
	}
	ASSERT_OK(subscribe(sub, "s"));
	ASSERT_OK(xs_bind(pub[1], name[1]));
	ASSERT_OK(xs_connect(sub, name[1]));
	ASSERT_OK(xs_connect(sub, name[2]));	/* connect before bind */
	ASSERT_OK(xs_bind(pub[2], name[2]));
	for (i = 0; i < 3; i++) {
		snprintf(buf, sizeof(buf), "s%d", i);
		ASSERT_RECORD(pub[i], 0, buf);
		ASSERT_RECV_RECORD(sub, buf);
		ASSERT_RECORD(pub[i], 0, "other");
	}
	ASSERT_NOTHING(sub);
	for (i = 0; i < 3; i++)
		close(pub[i]);
	close(sub);
}

/* ---- filtering at the publisher: no wake-ups ----------------------------- */

/* voluntary_ctxt_switches of thread @tid of this process, or -1. */
static long long voluntary_switches(pid_t tid, char *state)
{
	char path[64], line[256];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (state)
			sscanf(line, "State: %c", state);
		sscanf(line, "voluntary_ctxt_switches: %lld", &v);
	}
	fclose(f);
	return v;
}

struct waiter {
	pthread_t thread;
	int fd, use_poll;
	pid_t tid;
	char buf[64];
	ssize_t ret;
	short revents;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;

	__atomic_store_n(&w->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_SEQ_CST);
	if (w->use_poll) {
		struct pollfd p = { .fd = w->fd, .events = POLLIN };

		w->ret = poll(&p, 1, -1);
		w->revents = p.revents;
	} else {
		w->ret = xs_recv(w->fd, w->buf, sizeof(w->buf) - 1, 0, NULL);
	}
	return NULL;
}

/*
 * Start @w blocked in recv or poll on @fd and wait until it sleeps with a
 * stable switch count.  Returns that count, or -1.
 */
static long long waiter_start(struct waiter *w, int fd, int use_poll)
{
	long long end = xs_now_ms() + xs_wait_ms(), a, b;
	char state = 0;

	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->use_poll = use_poll;
	if (pthread_create(&w->thread, NULL, waiter_main, w))
		return -1;
	while (!__atomic_load_n(&w->tid, __ATOMIC_SEQ_CST))
		xs_sleep_ms(1);
	do {
		xs_sleep_ms(xs_quiet_ms());
		a = voluntary_switches(w->tid, &state);
		xs_sleep_ms(xs_quiet_ms());
		b = voluntary_switches(w->tid, NULL);
		if (a >= 0 && a == b && state == 'S')
			return b;
	} while (xs_now_ms() < end);
	return -1;
}

FIXTURE(wake) {
	int pub, quiet, busy;
	struct waiter w;
};

FIXTURE_VARIANT(wake) {
	int use_poll;
};

FIXTURE_VARIANT_ADD(wake, blocked_in_recv) {
	.use_poll = 0,
};

FIXTURE_VARIANT_ADD(wake, blocked_in_poll) {
	.use_poll = 1,
};

FIXTURE_SETUP(wake)
{
	XS_UNAME(name, "wake");

	self->pub = xs_socket(XSPROTO_PUB);
	self->quiet = xs_socket(XSPROTO_SUB);
	self->busy = xs_socket(XSPROTO_SUB);
	ASSERT_GE(self->pub, 0);
	ASSERT_GE(self->quiet, 0);
	ASSERT_GE(self->busy, 0);
	ASSERT_OK(xs_bind(self->pub, name));
	ASSERT_OK(xs_connect(self->quiet, name));
	ASSERT_OK(xs_connect(self->busy, name));
	ASSERT_OK(subscribe(self->quiet, "wanted"));
	ASSERT_OK(subscribe(self->busy, "noise"));
}

FIXTURE_TEARDOWN(wake)
{
	xs_close(&self->pub);
	xs_close(&self->quiet);
	xs_close(&self->busy);
}

/*
 * A thread sleeps on a SUB whose subscription matches none of many
 * records published: it never runs (its voluntary context switches stay
 * put).  Then one matching record wakes it, which shows the count moves
 * when a wake-up does happen.
 */
TEST_F(wake, nonmatching_subscriber_is_not_woken)
{
	int records = xs_iters(2000, 200), i, f;
	long long before, after;
	char buf[64];

	before = waiter_start(&self->w, self->quiet, variant->use_poll);
	ASSERT_GE(before, 0) TH_LOG("waiter thread never settled asleep");

	for (i = 0; i < records; i++) {
		snprintf(buf, sizeof(buf), "noise.%d", i);
		ASSERT_SEND(self->pub, buf, MSG_EOR);
		/* let the other CPU run the waiter, were it woken */
		if (i % 100 == 99)
			sched_yield();
	}
	/* the noise went out (another subscriber wanted it) ... */
	for (i = 0; i < records; i++) {
		snprintf(buf, sizeof(buf), "noise.%d", i);
		ASSERT_EQ((ssize_t)strlen(buf),
			  xs_recv_wait(self->busy, buf, sizeof(buf), &f));
	}
	xs_sleep_ms(xs_quiet_ms());
	after = voluntary_switches(self->w.tid, NULL);
	/* ... but the waiter slept through it */
	ASSERT_EQ(before, after) TH_LOG("woken %lld times by %d records it "
					"does not match", after - before,
					records);

	ASSERT_RECORD(self->pub, 0, "wanted!");
	pthread_join(self->w.thread, NULL);
	if (variant->use_poll) {
		ASSERT_EQ(1, self->w.ret);
		ASSERT_TRUE(self->w.revents & POLLIN);
		ASSERT_RECV_RECORD(self->quiet, "wanted!");
	} else {
		ASSERT_EQ(7, self->w.ret);
		self->w.buf[7] = 0;
		ASSERT_STREQ("wanted!", self->w.buf);
	}
	ASSERT_NOTHING(self->quiet);
}

/* ---- zero-copy fan-out --------------------------------------------------- */

/* MemFree of /proc/meminfo, in KiB, or -1. */
static long long mem_free_kb(void)
{
	char line[128];
	long long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (v < 0 && fgets(line, sizeof(line), f))
		sscanf(line, "MemFree: %lld kB", &v);
	fclose(f);
	return v;
}

#define FANOUT_SUBS	100
#define FANOUT_SIZE	(1 << 20)

/*
 * One 1 MiB record published to 100 subscribers is stored once: the
 * module's live record bytes grow by 1 MiB, not 100, and so does the
 * machine's used memory (give or take noise far below 100 MiB).
 */
TEST(one_record_to_100_subscribers_is_stored_once)
{
	long long rec0, bytes0, rec1, bytes1, rec2, bytes2, free0, free1;
	int pub = xs_socket(XSPROTO_PUB), sub[FANOUT_SUBS], i, f;
	unsigned char *data = malloc(FANOUT_SIZE), *in = malloc(FANOUT_SIZE + 1);
	XS_UNAME(name, "zc");

	ASSERT_NE(NULL, data);
	ASSERT_NE(NULL, in);
	for (i = 0; i < FANOUT_SIZE; i++)
		data[i] = (unsigned char)(i * 7 + i / 4096);
	data[0] = 'z';
	ASSERT_GE(pub, 0);
	/* the default SO_SNDBUF and SO_RCVBUF (4 MiB) hold the record */
	ASSERT_GE(xs_getint(pub, SOL_SOCKET, SO_SNDBUF), 2 * FANOUT_SIZE);
	ASSERT_OK(xs_bind(pub, name));
	for (i = 0; i < FANOUT_SUBS; i++) {
		sub[i] = xs_socket(XSPROTO_SUB);
		ASSERT_GE(sub[i], 0);
		ASSERT_OK(xs_connect(sub[i], name));
		ASSERT_OK(subscribe(sub[i], "z"));
	}

	ASSERT_OK(xs_live_records(&rec0, &bytes0));
	free0 = mem_free_kb();
	ASSERT_EQ(FANOUT_SIZE, xs_send(pub, data, FANOUT_SIZE, MSG_EOR));
	ASSERT_OK(xs_live_records(&rec1, &bytes1));
	free1 = mem_free_kb();
	TH_LOG("records %lld -> %lld, bytes %lld -> %lld, MemFree %lld -> %lld kB",
	       rec0, rec1, bytes0, bytes1, free0, free1);
	ASSERT_EQ(0, (int)xs_getu64(pub, XS_DROPS));
	ASSERT_EQ(FANOUT_SIZE, xs_proc_field(sub[FANOUT_SUBS - 1], "rx_bytes"));
	ASSERT_EQ(rec0 + 1, rec1);
	ASSERT_GE(bytes1 - bytes0, FANOUT_SIZE);
	ASSERT_LT(bytes1 - bytes0, 2 * FANOUT_SIZE);
	ASSERT_LT(free0 - free1, 32 * 1024)
		TH_LOG("MemFree fell by %lld KiB", free0 - free1);

	/* every subscriber reads the same full record */
	for (i = 0; i < FANOUT_SUBS; i++) {
		ASSERT_EQ(FANOUT_SIZE, xs_recv_wait(sub[i], in,
						    FANOUT_SIZE + 1, &f));
		ASSERT_TRUE(f & MSG_EOR);
		ASSERT_EQ(0, memcmp(in, data, FANOUT_SIZE))
			TH_LOG("subscriber %d got different bytes", i);
		if (i == FANOUT_SUBS / 2) {
			/* shared: still held while others have not read */
			ASSERT_OK(xs_live_records(&rec2, &bytes2));
			ASSERT_EQ(rec1, rec2);
		}
	}
	/* the last reader freed it */
	ASSERT_OK(xs_live_records(&rec2, &bytes2));
	ASSERT_EQ(rec0, rec2);
	ASSERT_EQ(bytes0, bytes2);

	for (i = 0; i < FANOUT_SUBS; i++)
		close(sub[i]);
	close(pub);
	free(data);
	free(in);
}

/* ---- XPUB / XSUB ----------------------------------------------------------- */

TEST(xpub_receives_subscriptions_as_records)
{
	int xpub = xs_socket(XSPROTO_XPUB);
	int a = xs_socket(XSPROTO_SUB), b = xs_socket(XSPROTO_SUB);
	XS_UNAME(name, "xpub");

	ASSERT_GE(xpub, 0);
	ASSERT_GE(a, 0);
	ASSERT_GE(b, 0);
	ASSERT_OK(xs_bind(xpub, name));
	ASSERT_OK(xs_connect(a, name));
	ASSERT_OK(xs_connect(b, name));
	ASSERT_NOTHING(xpub);

	ASSERT_OK(subscribe(a, "abc"));
	ASSERT_SUBREC(xpub, 1, "abc");
	ASSERT_OK(subscribe(a, "abc"));	/* duplicate: no news */
	ASSERT_OK(subscribe(b, "abc"));	/* already subscribed: no news */
	ASSERT_NOTHING(xpub);

	ASSERT_OK(setsockopt(b, SOL_XS, XS_SUBSCRIBE, "", 0));
	ASSERT_SUBREC(xpub, 1, "");
	ASSERT_OK(subscribe(b, "x"));
	ASSERT_SUBREC(xpub, 1, "x");

	/* the prefix goes when its last holder lets go */
	ASSERT_OK(unsubscribe(a, "abc"));
	ASSERT_OK(unsubscribe(a, "abc"));
	ASSERT_NOTHING(xpub);
	ASSERT_OK(unsubscribe(b, "abc"));
	ASSERT_SUBREC(xpub, 0, "abc");
	ASSERT_OK(unsubscribe(b, "never"));
	ASSERT_NOTHING(xpub);

	/* or when it goes away */
	close(b);
	{
		/* "" and "x" go, in either order */
		char r[2][8];
		int i, n, f;

		for (i = 0; i < 2; i++) {
			n = xs_recv_wait(xpub, r[i], sizeof(r[i]) - 1, &f);
			ASSERT_GE(n, 1);
			ASSERT_TRUE(f & MSG_EOR);
			ASSERT_EQ(0, r[i][0]);
			r[i][n] = 0;
		}
		ASSERT_TRUE((!r[0][1] && !strcmp(r[1] + 1, "x")) ||
			    (!r[1][1] && !strcmp(r[0] + 1, "x")));
	}
	ASSERT_NOTHING(xpub);

	/* an XPUB also publishes */
	ASSERT_OK(subscribe(a, "p"));
	ASSERT_SUBREC(xpub, 1, "p");
	ASSERT_RECORD(xpub, 0, "p1", "more");
	ASSERT_RECV_RECORD(a, "p1", "more");
	close(a);
	ASSERT_SUBREC(xpub, 0, "p");
	close(xpub);
}

TEST(xsub_subscribes_upstream_by_sending_records)
{
	int pub = xs_socket(XSPROTO_PUB), xpub = xs_socket(XSPROTO_XPUB);
	int xsub = xs_socket(XSPROTO_XSUB);
	XS_UNAME(pname, "pub");
	XS_UNAME(xname, "xpub");

	ASSERT_GE(pub, 0);
	ASSERT_GE(xpub, 0);
	ASSERT_GE(xsub, 0);
	ASSERT_OK(xs_bind(pub, pname));
	ASSERT_OK(xs_bind(xpub, xname));
	ASSERT_OK(xs_connect(xsub, pname));
	ASSERT_OK(xs_connect(xsub, xname));

	ASSERT_RECORD(pub, 0, "top.0");
	ASSERT_NOTHING(xsub);

	ASSERT_EQ(4, xsub_send_sub(xsub, 1, "top"));
	ASSERT_SUBREC(xpub, 1, "top");
	ASSERT_RECORD(pub, 0, "top.1", "body");
	ASSERT_RECORD(pub, 0, "other");
	ASSERT_RECORD(xpub, 0, "top.2");
	ASSERT_RECV_RECORD(xsub, "top.1", "body");
	ASSERT_RECV_RECORD(xsub, "top.2");
	ASSERT_NOTHING(xsub);

	/* counted like XS_SUBSCRIBE */
	ASSERT_EQ(4, xsub_send_sub(xsub, 1, "top"));
	ASSERT_EQ(4, xsub_send_sub(xsub, 0, "top"));
	ASSERT_RECORD(pub, 0, "top.3");
	ASSERT_RECV_RECORD(xsub, "top.3");
	ASSERT_NOTHING(xpub);
	ASSERT_EQ(4, xsub_send_sub(xsub, 0, "top"));
	ASSERT_SUBREC(xpub, 0, "top");
	ASSERT_RECORD(pub, 0, "top.4");
	ASSERT_NOTHING(xsub);

	/* any other record goes up to the publishers that read */
	ASSERT_RECORD(xsub, 0, "hello", "up");
	ASSERT_RECV_RECORD(xpub, "hello", "up");
	ASSERT_RECORD(xsub, 0, "\x02x");
	ASSERT_RECV_RECORD(xpub, "\x02x");
	ASSERT_NOTHING(xpub);

	close(xsub);
	close(xpub);
	close(pub);
}

/* ---- forwarder ------------------------------------------------------------- */

#define FWD_LOG 4096

/*
 * A forwarder thread: records from @xsub go down to @xpub, subscription
 * records from @xpub go up to @xsub, whole, with MSG_EOR kept.
 * Waiting is by MSG_DONTWAIT retries (see xs_test.h).
 */
struct forwarder {
	pthread_t thread;
	int xsub, xpub;
	int stop, failed;
	int down, up;			/* records forwarded */
	char log[FWD_LOG][16];		/* first parts sent down */
};

/* Move every record readable at @from to @to; returns records moved or -1. */
static int fwd_move(int from, int to, int *nrec, char (*log)[16])
{
	struct xs_rec r;
	int moved = 0;

	for (;;) {
		if (xs_recv_rec(from, &r, 0) < 0)
			return errno == EAGAIN ? moved : -1;
		if (log && *nrec < FWD_LOG)
			snprintf(log[*nrec], sizeof(log[0]), "%.15s", r.data[0]);
		if (xs_send_rec(to, &r, 0, r.n, 1, 0))
			return -1;
		__atomic_add_fetch(nrec, 1, __ATOMIC_SEQ_CST);
		moved++;
	}
}

static void *forwarder_main(void *arg)
{
	struct forwarder *fw = arg;
	int a, b;

	while (!__atomic_load_n(&fw->stop, __ATOMIC_SEQ_CST)) {
		a = fwd_move(fw->xsub, fw->xpub, &fw->down, fw->log);
		b = fwd_move(fw->xpub, fw->xsub, &fw->up, NULL);
		if (a < 0 || b < 0) {
			fw->failed = 1;
			break;
		}
		if (!a && !b)
			xs_sleep_ms(1);
	}
	return NULL;
}

FIXTURE(fwd) {
	int pub, xsub, xpub, sub[2];
	struct forwarder fw;
	int running;
};

FIXTURE_SETUP(fwd)
{
	XS_UNAME(up, "up");
	XS_UNAME(down, "down");
	int i;

	self->running = 0;
	self->pub = xs_socket(XSPROTO_PUB);
	self->xsub = xs_socket(XSPROTO_XSUB);
	self->xpub = xs_socket(XSPROTO_XPUB);
	ASSERT_GE(self->pub, 0);
	ASSERT_GE(self->xsub, 0);
	ASSERT_GE(self->xpub, 0);
	ASSERT_OK(xs_bind(self->pub, up));
	ASSERT_OK(xs_connect(self->xsub, up));
	ASSERT_OK(xs_bind(self->xpub, down));
	for (i = 0; i < 2; i++) {
		self->sub[i] = xs_socket(XSPROTO_SUB);
		ASSERT_GE(self->sub[i], 0);
		ASSERT_OK(xs_connect(self->sub[i], down));
	}
	memset(&self->fw, 0, sizeof(self->fw));
	self->fw.xsub = self->xsub;
	self->fw.xpub = self->xpub;
	ASSERT_OK(pthread_create(&self->fw.thread, NULL, forwarder_main,
				 &self->fw));
	self->running = 1;
}

FIXTURE_TEARDOWN(fwd)
{
	int i;

	if (self->running) {
		__atomic_store_n(&self->fw.stop, 1, __ATOMIC_SEQ_CST);
		pthread_join(self->fw.thread, NULL);
	}
	xs_close(&self->pub);
	xs_close(&self->xsub);
	xs_close(&self->xpub);
	for (i = 0; i < 2; i++)
		xs_close(&self->sub[i]);
}

/*
 * Publish "<prefix>sync.<n>" records until @sub gets one (the subscription
 * has travelled up through the forwarder), then drain @sub up to a final
 * marker so that nothing of the probing is left.  0 or -1.
 */
static int await_path(int pub, int sub, const char *prefix)
{
	long long end = xs_now_ms() + xs_wait_ms();
	char buf[64], marker[64];
	int n, f;

	for (;;) {
		snprintf(buf, sizeof(buf), "%ssync", prefix);
		if (xs_send_str(pub, buf, MSG_EOR) < 0)
			return -1;
		if (xs_recv_within(sub, buf, sizeof(buf), 0, &f, 5) >= 0)
			break;
		if (xs_now_ms() > end)
			return -1;
	}
	snprintf(marker, sizeof(marker), "%sdone", prefix);
	if (xs_send_str(pub, marker, MSG_EOR) < 0)
		return -1;
	for (;;) {
		n = xs_recv_wait(sub, buf, sizeof(buf) - 1, &f);
		if (n < 0)
			return -1;
		buf[n] = 0;
		if (!strcmp(buf, marker))
			return 0;
	}
}

TEST_F(fwd, subscriptions_flow_up_and_records_flow_down)
{
	int records = xs_iters(200, 20), i, j, s;
	char buf[64];

	ASSERT_OK(subscribe(self->sub[0], "a."));
	ASSERT_OK(subscribe(self->sub[1], "b."));
	ASSERT_OK(await_path(self->pub, self->sub[0], "a."));
	ASSERT_OK(await_path(self->pub, self->sub[1], "b."));

	for (i = 0; i < records; i++) {
		for (s = 0; s < 3; s++) {
			snprintf(buf, sizeof(buf), "%c.%d", "abc"[s], i);
			ASSERT_SEND(self->pub, buf, 0);
			ASSERT_SEND(self->pub, "p1", 0);
			ASSERT_SEND(self->pub, "p2", MSG_EOR);
		}
	}
	for (s = 0; s < 2; s++) {
		for (i = 0; i < records; i++) {
			snprintf(buf, sizeof(buf), "%c.%d", "ab"[s], i);
			ASSERT_RECV_RECORD(self->sub[s], buf, "p1", "p2");
		}
		ASSERT_NOTHING(self->sub[s]);
	}
	ASSERT_EQ(0, self->fw.failed);
	/* the publisher filtered "c.": it never reached the forwarder */
	for (j = 0; j < __atomic_load_n(&self->fw.down, __ATOMIC_SEQ_CST) &&
	     j < FWD_LOG; j++)
		ASSERT_NE('c', self->fw.log[j][0]) TH_LOG("forwarded %s",
							  self->fw.log[j]);
}

TEST_F(fwd, unsubscribe_flows_up)
{
	int down, j;

	ASSERT_OK(subscribe(self->sub[0], "a."));
	ASSERT_OK(subscribe(self->sub[1], "b."));
	ASSERT_OK(await_path(self->pub, self->sub[0], "a."));
	ASSERT_OK(await_path(self->pub, self->sub[1], "b."));

	ASSERT_OK(unsubscribe(self->sub[0], "a."));
	/* wait for the unsubscription to pass the forwarder (3 up so far) */
	for (j = 0; j < xs_wait_ms() &&
	     __atomic_load_n(&self->fw.up, __ATOMIC_SEQ_CST) < 3; j++)
		xs_sleep_ms(1);
	ASSERT_EQ(3, __atomic_load_n(&self->fw.up, __ATOMIC_SEQ_CST));

	down = __atomic_load_n(&self->fw.down, __ATOMIC_SEQ_CST);
	ASSERT_RECORD(self->pub, 0, "a.after");
	ASSERT_OK(await_path(self->pub, self->sub[1], "b."));
	ASSERT_NOTHING(self->sub[0]);
	/* "a.after" stayed at the publisher */
	for (j = down; j < __atomic_load_n(&self->fw.down, __ATOMIC_SEQ_CST) &&
	     j < FWD_LOG; j++)
		ASSERT_NE('a', self->fw.log[j][0]) TH_LOG("forwarded %s",
							  self->fw.log[j]);

	/* a subscriber leaving unsubscribes upstream too */
	xs_close(&self->sub[1]);
	for (j = 0; j < xs_wait_ms() &&
	     __atomic_load_n(&self->fw.up, __ATOMIC_SEQ_CST) < 4; j++)
		xs_sleep_ms(1);
	ASSERT_EQ(4, __atomic_load_n(&self->fw.up, __ATOMIC_SEQ_CST));
	down = __atomic_load_n(&self->fw.down, __ATOMIC_SEQ_CST);
	ASSERT_RECORD(self->pub, 0, "b.after");
	xs_sleep_ms(xs_quiet_ms());
	ASSERT_EQ(down, __atomic_load_n(&self->fw.down, __ATOMIC_SEQ_CST));
}

/* ---- re-subscription --------------------------------------------------------- */

TEST(sub_resubscribes_when_a_new_publisher_binds)
{
	int pub = xs_socket(XSPROTO_PUB), sub = xs_socket(XSPROTO_SUB);
	int xpub;
	XS_UNAME(name, "rebind");

	ASSERT_GE(pub, 0);
	ASSERT_GE(sub, 0);
	ASSERT_OK(xs_bind(pub, name));
	ASSERT_OK(xs_connect(sub, name));
	ASSERT_OK(subscribe(sub, "k"));
	ASSERT_OK(subscribe(sub, "k"));
	ASSERT_OK(subscribe(sub, "m"));
	ASSERT_OK(unsubscribe(sub, "m"));
	ASSERT_RECORD(pub, 0, "k1");
	ASSERT_RECV_RECORD(sub, "k1");
	close(pub);

	/* a new publisher on the same name gets the subscription */
	pub = xs_socket(XSPROTO_PUB);
	ASSERT_GE(pub, 0);
	ASSERT_OK(xs_bind(pub, name));
	ASSERT_RECORD(pub, 0, "k2", "x");
	ASSERT_RECORD(pub, 0, "m2");
	ASSERT_RECORD(pub, 0, "z");
	ASSERT_RECV_RECORD(sub, "k2", "x");
	ASSERT_NOTHING(sub);
	close(pub);

	/* an XPUB sees it arrive, counted once, as the SUB's state stands */
	xpub = xs_socket(XSPROTO_XPUB);
	ASSERT_GE(xpub, 0);
	ASSERT_OK(xs_bind(xpub, name));
	ASSERT_SUBREC(xpub, 1, "k");
	ASSERT_NOTHING(xpub);
	ASSERT_OK(unsubscribe(sub, "k"));
	ASSERT_NOTHING(xpub);		/* one "k" left */
	ASSERT_OK(unsubscribe(sub, "k"));
	ASSERT_SUBREC(xpub, 0, "k");
	close(xpub);
	close(sub);
}

TEST(sub_subscribed_before_the_publisher_binds_receives)
{
	int pub = xs_socket(XSPROTO_PUB), sub = xs_socket(XSPROTO_SUB);
	XS_UNAME(name, "early");

	ASSERT_GE(pub, 0);
	ASSERT_GE(sub, 0);
	ASSERT_OK(xs_connect(sub, name));
	ASSERT_OK(subscribe(sub, "e"));
	ASSERT_OK(xs_bind(pub, name));
	ASSERT_RECORD(pub, 0, "e1");
	ASSERT_RECORD(pub, 0, "f1");
	ASSERT_RECV_RECORD(sub, "e1");
	ASSERT_NOTHING(sub);

	/* unbinding and binding again: same story */
	ASSERT_OK(setsockopt(pub, SOL_XS, XS_UNBIND, name, strlen(name)));
	ASSERT_OK(xs_bind(pub, name));
	ASSERT_RECORD(pub, 0, "e2");
	ASSERT_RECV_RECORD(sub, "e2");
	close(pub);
	close(sub);
}

XS_TEST_MAIN
