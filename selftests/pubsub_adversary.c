// SPDX-License-Identifier: GPL-2.0
/*
 * Publish/subscribe against a hostile subscriber (issue 8, items 3, 6, 7):
 *
 * - an XPUB that never reads holds at most XS_RCVHWM notices, and at most
 *   SO_RCVBUF bytes of what the kernel holds for them (not only their
 *   payload); the rest are dropped and counted, XS_MISSED on the XPUB and
 *   XS_DROPS on the subscriber, and the module's live records stay
 *   bounded while a SUB flips a subscription 100,000 times;
 * - a notice carries the credentials of the subscriber (pid, uid, gid of
 *   the task that subscribed, for SUB and XSUB), also when the XPUB binds
 *   after the subscription and so makes the copy itself, when the
 *   subscriber goes away and when the XPUB unbinds;
 * - attaching a subscriber with N prefixes, and subscribing N prefixes,
 *   cost O(N): 4N takes well under 8 times as long as N, also with
 *   prefixes chosen to collide in a fixed-seed 256-bucket table.
 */
#include "xs_test.h"

#include <grp.h>
#include <time.h>

/* Only for the longer timeouts of TEST_F_TIMEOUT. */
FIXTURE(adv) {
	int unused;
};

FIXTURE_SETUP(adv)
{
}

FIXTURE_TEARDOWN(adv)
{
}

static int subscribe(int fd, const void *prefix, size_t len)
{
	return setsockopt(fd, SOL_XS, XS_SUBSCRIBE, prefix, len);
}

static int unsubscribe(int fd, const void *prefix, size_t len)
{
	return setsockopt(fd, SOL_XS, XS_UNSUBSCRIBE, prefix, len);
}

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* ---- notices obey the XPUB's limits ---------------------------------- */

/* 200,000 notices; 10,000 on the debug kernel: ten times the HWM either way */
#define FLIPS xs_iters(100000, 5 * XS_HWM_DEFAULT)

TEST_F_TIMEOUT(adv, xpub_that_never_reads_holds_at_most_its_hwm_of_notices, 600)
{
	long long queued, records, bytes;
	uint64_t missed, drops;
	XS_UNAME(name, "flood");
	int xpub, sub, i;
	char buf[16];

	xpub = xs_socket(XSPROTO_XPUB);
	sub = xs_socket(XSPROTO_SUB);
	ASSERT_LE(0, xpub);
	ASSERT_LE(0, sub);
	ASSERT_EQ(XS_HWM_DEFAULT, xs_getint(xpub, SOL_XS, XS_RCVHWM));
	ASSERT_OK(xs_bind(xpub, name));
	ASSERT_OK(xs_connect(sub, name));
	for (i = 0; i < FLIPS; i++) {
		ASSERT_OK(subscribe(sub, "x", 1));
		ASSERT_OK(unsubscribe(sub, "x", 1));
	}
	queued = xs_proc_field(xpub, "rx_records");
	missed = xs_getu64(xpub, XS_MISSED);
	drops = xs_getu64(sub, XS_DROPS);
	ASSERT_OK(xs_live_records(&records, &bytes));
	TH_LOG("%d notices: %lld queued, %llu missed by the XPUB, %llu dropped by the SUB, %lld records live",
	       2 * FLIPS, queued, (unsigned long long)missed,
	       (unsigned long long)drops, records);
	ASSERT_EQ(XS_HWM_DEFAULT, queued);
	ASSERT_GE(XS_HWM_DEFAULT + 16, records);
	ASSERT_EQ(2ULL * FLIPS, missed + queued);
	ASSERT_EQ(missed, drops);
	/* the queued notices are the first ones, in order */
	ASSERT_EQ(2, xs_recv(xpub, buf, sizeof(buf), MSG_DONTWAIT, NULL));
	ASSERT_EQ(0, memcmp(buf, "\1x", 2));
	ASSERT_EQ(2, xs_recv(xpub, buf, sizeof(buf), MSG_DONTWAIT, NULL));
	ASSERT_EQ(0, memcmp(buf, "\0x", 2));
	/* room again: the next change is heard, and subscriptions work */
	ASSERT_OK(subscribe(sub, "y", 1));
	for (i = 0; xs_recv(xpub, buf, sizeof(buf), MSG_DONTWAIT, NULL) > 0;)
		i++;
	ASSERT_EQ(XS_HWM_DEFAULT - 2 + 1, i);
	ASSERT_EQ(0, memcmp(buf, "\1y", 2));
	ASSERT_EQ(2, xs_send(xpub, "y1", 2, MSG_EOR));
	ASSERT_EQ(2, xs_recv_within(sub, buf, sizeof(buf), 0, NULL,
				    xs_wait_ms()));
	xs_close(&sub);
	xs_close(&xpub);
	ASSERT_ALL_GONE();
}

#define NPREFIX 1000

TEST_F_TIMEOUT(adv, notices_obey_so_rcvbuf_counting_what_the_kernel_holds, 300)
{
	long long queued;
	uint64_t missed;
	XS_UNAME(name, "rcvbuf");
	int xpub, sub, rcvbuf, i;
	char p[8];

	xpub = xs_socket(XSPROTO_XPUB);
	sub = xs_socket(XSPROTO_SUB);
	ASSERT_LE(0, xpub);
	ASSERT_LE(0, sub);
	/* no limit in records: only the bytes bound the queue */
	ASSERT_OK(xs_setint(xpub, XS_RCVHWM, 0));
	ASSERT_OK(setsockopt(xpub, SOL_SOCKET, SO_RCVBUF, &(int){ 1 },
			     sizeof(int)));
	rcvbuf = xs_getint(xpub, SOL_SOCKET, SO_RCVBUF);
	ASSERT_LT(0, rcvbuf);
	ASSERT_GT(65536, rcvbuf);
	ASSERT_OK(xs_bind(xpub, name));
	ASSERT_OK(xs_connect(sub, name));
	for (i = 0; i < NPREFIX; i++) {
		snprintf(p, sizeof(p), "%03x", i);
		ASSERT_OK(subscribe(sub, p, 3));
	}
	queued = xs_proc_field(xpub, "rx_records");
	missed = xs_getu64(xpub, XS_MISSED);
	TH_LOG("SO_RCVBUF %d: %lld notices of 4 bytes queued, %llu missed",
	       rcvbuf, queued, (unsigned long long)missed);
	ASSERT_LT(0, queued);
	/* each notice holds a record, a part and a message: >= 100 bytes */
	ASSERT_GE(rcvbuf / 100, queued);
	ASSERT_EQ((uint64_t)NPREFIX, missed + queued);
	ASSERT_EQ(missed, xs_getu64(sub, XS_DROPS));
	xs_close(&sub);
	xs_close(&xpub);
	ASSERT_ALL_GONE();
}

/* ---- the notice names the subscriber ---------------------------------- */

#define NOBODY 65534U

/* A child as nobody: subscribes (SUB option or XSUB record), then waits. */
static pid_t nobody_subscriber(const char *name, int proto, int *go, int *done)
{
	int ready[2], hold[2];
	pid_t pid;
	char c;

	if (pipe(ready) || pipe(hold))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		int fd;

		close(ready[0]);
		close(hold[1]);
		if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
			_exit(10);
		fd = xs_socket(proto);
		if (fd < 0 || xs_connect(fd, name))
			_exit(11);
		if (proto == XSPROTO_SUB ? subscribe(fd, "cred", 4) :
		    xs_send(fd, "\1cred", 5, MSG_EOR) != 5)
			_exit(12);
		if (write(ready[1], "r", 1) != 1)
			_exit(13);
		/* stays subscribed until told to go */
		if (read(hold[0], &c, 1) < 0)
			_exit(14);
		_exit(0);
	}
	close(ready[1]);
	close(hold[0]);
	*go = hold[1];
	*done = ready[0];
	return pid;
}

/* Receive one notice with its credentials. */
static int recv_notice(int fd, char *buf, size_t len, struct ucred *cred)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct ucred))];
	} u;
	struct iovec iov = { buf, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	char peek;
	ssize_t n;

	if (xs_recv_within(fd, &peek, 1, MSG_PEEK, NULL, xs_wait_ms()) != 1)
		return -1;
	msg.msg_control = u.buf;
	msg.msg_controllen = sizeof(u.buf);
	n = recvmsg(fd, &msg, 0);
	c = CMSG_FIRSTHDR(&msg);
	if (n < 0 || !c || c->cmsg_level != SOL_SOCKET ||
	    c->cmsg_type != SCM_CREDENTIALS)
		return -1;
	memcpy(cred, CMSG_DATA(c), sizeof(*cred));
	return n;
}

static void notice_names_subscriber(struct __test_metadata *_metadata,
				    int proto, int bind_first)
{
	XS_UNAME(name, "cred");
	struct ucred cred;
	int xpub, go, done;
	char buf[16], c;
	pid_t pid;

	xpub = xs_socket(XSPROTO_XPUB);
	ASSERT_LE(0, xpub);
	ASSERT_OK(setsockopt(xpub, SOL_SOCKET, SO_PASSCRED, &(int){ 1 },
			     sizeof(int)));
	if (bind_first)
		ASSERT_OK(xs_bind(xpub, name));
	pid = nobody_subscriber(name, proto, &go, &done);
	ASSERT_LT(0, pid);
	ASSERT_EQ(1, read(done, &c, 1)) TH_LOG("the subscriber failed");
	/* binding now: this task attaches, and copies the subscription */
	if (!bind_first)
		ASSERT_OK(xs_bind(xpub, name));
	ASSERT_EQ(5, recv_notice(xpub, buf, sizeof(buf), &cred));
	ASSERT_EQ(0, memcmp(buf, "\1cred", 5));
	EXPECT_EQ(pid, cred.pid);
	EXPECT_EQ(NOBODY, cred.uid);
	EXPECT_EQ(NOBODY, cred.gid);
	if (bind_first) {
		/* the XPUB unbinds: it forgets the subscriber's prefix */
		ASSERT_OK(setsockopt(xpub, SOL_XS, XS_UNBIND, name,
				     strlen(name)));
	}
	/* the subscriber goes: the XPUB hears it from the subscriber still */
	close(go);
	ASSERT_EQ(0, xs_wait_child(pid));
	close(done);
	ASSERT_EQ(5, recv_notice(xpub, buf, sizeof(buf), &cred));
	ASSERT_EQ(0, memcmp(buf, "\0cred", 5));
	EXPECT_EQ(pid, cred.pid);
	EXPECT_EQ(NOBODY, cred.uid);
	EXPECT_EQ(NOBODY, cred.gid);
	xs_close(&xpub);
}

TEST(notice_of_a_sub_copied_at_bind_names_the_subscriber)
{
	notice_names_subscriber(_metadata, XSPROTO_SUB, 0);
}

TEST(notice_of_an_xsub_copied_at_bind_names_the_subscriber)
{
	notice_names_subscriber(_metadata, XSPROTO_XSUB, 0);
}

/* The XPUB's own unbind takes the prefix away: still the subscriber's. */
TEST(notice_of_a_prefix_forgotten_at_unbind_names_the_subscriber)
{
	notice_names_subscriber(_metadata, XSPROTO_SUB, 1);
}

/* ---- O(1) per prefix -------------------------------------------------- */

/*
 * 5000 prefixes, best of 5 runs; on the debug kernel, where every call
 * costs ~50x, 1250, best of 3 (4000 prefixes in one bucket still cost
 * 16x 1000 if a lookup walks the bucket).
 */
#define SCALE_N		(xs_scale() > 1 ? 1250 : 5000)
#define SCALE_TRIES	(xs_scale() > 1 ? 3 : 5)

static uint32_t rol(uint32_t w, int s)
{
	return (w << s) | (w >> (32 - s));
}

/* Bob Jenkins' lookup3 as the kernel's jhash() computes it. */
static uint32_t kernel_jhash(const unsigned char *k, uint32_t len,
			     uint32_t seed)
{
	uint32_t a, b, c;

	a = b = c = 0xdeadbeef + len + seed;
	while (len > 12) {
		a += k[0] | k[1] << 8 | k[2] << 16 | (uint32_t)k[3] << 24;
		b += k[4] | k[5] << 8 | k[6] << 16 | (uint32_t)k[7] << 24;
		c += k[8] | k[9] << 8 | k[10] << 16 | (uint32_t)k[11] << 24;
		a -= c; a ^= rol(c, 4); c += b;
		b -= a; b ^= rol(a, 6); a += c;
		c -= b; c ^= rol(b, 8); b += a;
		a -= c; a ^= rol(c, 16); c += b;
		b -= a; b ^= rol(a, 19); a += c;
		c -= b; c ^= rol(b, 4); b += a;
		len -= 12;
		k += 12;
	}
	switch (len) {
	case 12: c += (uint32_t)k[11] << 24; /* fall through */
	case 11: c += k[10] << 16; /* fall through */
	case 10: c += k[9] << 8; /* fall through */
	case 9: c += k[8]; /* fall through */
	case 8: b += (uint32_t)k[7] << 24; /* fall through */
	case 7: b += k[6] << 16; /* fall through */
	case 6: b += k[5] << 8; /* fall through */
	case 5: b += k[4]; /* fall through */
	case 4: a += (uint32_t)k[3] << 24; /* fall through */
	case 3: a += k[2] << 16; /* fall through */
	case 2: a += k[1] << 8; /* fall through */
	case 1: a += k[0];
		c ^= b; c -= rol(b, 14);
		a ^= c; a -= rol(c, 11);
		b ^= a; b -= rol(a, 25);
		c ^= b; c -= rol(b, 16);
		a ^= c; a -= rol(c, 4);
		b ^= a; b -= rol(a, 14);
		c ^= b; c -= rol(b, 24);
		break;
	case 0:
		break;
	}
	return c;
}

#define PLEN 8

/*
 * @n prefixes of PLEN bytes; with @collide, all in one bucket of a
 * 256-bucket table hashed with seed 0 (what the module had before).
 */
static unsigned char *make_prefixes(int n, int collide)
{
	unsigned char *p = malloc((size_t)n * PLEN), cand[PLEN + 1];
	uint32_t i = 0, target = 0;
	int got = 0;

	if (!p)
		return NULL;
	while (got < n) {
		snprintf((char *)cand, sizeof(cand), "%08x", i++ * 2654435761u);
		if (collide) {
			uint32_t b = kernel_jhash(cand, PLEN, 0) >> 24;

			if (got == 0)
				target = b;
			else if (b != target)
				continue;
		}
		memcpy(p + (size_t)got++ * PLEN, cand, PLEN);
	}
	return p;
}

/*
 * Best of SCALE_TRIES: the time (us) for a SUB to subscribe to the first
 * @n prefixes, and for it to attach them to a PUB (its connect()).
 */
static int time_attach(const unsigned char *p, int n, long long *sub_us,
		       long long *attach_us)
{
	int t, i, sub, pub, ret = -1;
	long long t0, t1, t2;

	*sub_us = *attach_us = -1;
	for (t = 0; t < SCALE_TRIES; t++) {
		XS_UNAME(name, "scale");

		sub = xs_socket(XSPROTO_SUB);
		pub = xs_socket(XSPROTO_PUB);
		if (sub < 0 || pub < 0 || xs_bind(pub, name))
			goto out;
		t0 = now_us();
		for (i = 0; i < n; i++)
			if (subscribe(sub, p + (size_t)i * PLEN, PLEN))
				goto out;
		t1 = now_us();
		if (xs_connect(sub, name))
			goto out;
		t2 = now_us();
		if (*sub_us < 0 || t1 - t0 < *sub_us)
			*sub_us = t1 - t0;
		if (*attach_us < 0 || t2 - t1 < *attach_us)
			*attach_us = t2 - t1;
		close(sub);
		close(pub);
	}
	return 0;
out:
	close(sub);
	close(pub);
	return ret;
}

static void check_scaling(struct __test_metadata *_metadata, int collide)
{
	long long s1, a1, s4, a4;
	unsigned char *p;

	p = make_prefixes(4 * SCALE_N, collide);
	ASSERT_NE(NULL, p);
	ASSERT_OK(time_attach(p, SCALE_N, &s1, &a1));
	ASSERT_OK(time_attach(p, 4 * SCALE_N, &s4, &a4));
	TH_LOG("%s prefixes: subscribe %d in %lld us, %d in %lld us; attach %lld us, %lld us",
	       collide ? "colliding" : "plain", SCALE_N, s1, 4 * SCALE_N, s4,
	       a1, a4);
	/*
	 * O(N): 4 times the work, less than 10 times as long (room for a
	 * busy host and the table's resizes); quadratic would be 16.
	 */
	EXPECT_GT(10 * s1, s4);
	EXPECT_GT(10 * a1, a4);
	free(p);
}

TEST_F_TIMEOUT(adv, subscribing_and_attaching_n_prefixes_is_linear, 600)
{
	check_scaling(_metadata, 0);
	ASSERT_ALL_GONE();
}

TEST_F_TIMEOUT(adv, colliding_prefixes_do_not_make_attach_slower, 600)
{
	long long sp, ap, sc, ac;
	unsigned char *plain, *coll;

	check_scaling(_metadata, 1);
	/* and colliding prefixes cost about what any prefixes cost */
	plain = make_prefixes(4 * SCALE_N, 0);
	coll = make_prefixes(4 * SCALE_N, 1);
	ASSERT_NE(NULL, plain);
	ASSERT_NE(NULL, coll);
	ASSERT_OK(time_attach(plain, 4 * SCALE_N, &sp, &ap));
	ASSERT_OK(time_attach(coll, 4 * SCALE_N, &sc, &ac));
	TH_LOG("%d prefixes: plain subscribe %lld us attach %lld us, colliding %lld us, %lld us",
	       4 * SCALE_N, sp, ap, sc, ac);
	EXPECT_GT(3 * sp, sc);
	EXPECT_GT(3 * ap, ac);
	free(plain);
	free(coll);
	ASSERT_ALL_GONE();
}

TEST_HARNESS_MAIN
