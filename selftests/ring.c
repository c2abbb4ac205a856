// SPDX-License-Identifier: GPL-2.0
/*
 * Receive rings (XS_RX_RING): records placed in memory the reader maps
 * from its socket.  What is checked: who may have one and what sizes;
 * what the mappings allow (the data area can never be written); records
 * arrive whole and in order, through the ring while the reader keeps up
 * and through the queue behind it when it does not, under the queue's
 * limits; a tail the reader corrupts only hurts that reader; the
 * need-wakeup protocol of poll and blocking recv; and mappings, forks and
 * closes racing the senders.
 */
#include "xs_test.h"

#include <setjmp.h>

#define RSZ	4096

/* A PUB bound to a fresh name and a SUB (subscribed to all) connected. */
static int pubsub(int *pub, int *sub, const char *tag)
{
	char name[XS_NAME_MAX + 1];

	xs_uname(name, sizeof(name), tag);
	*pub = xs_socket(XSPROTO_PUB);
	*sub = xs_socket(XSPROTO_SUB);
	if (*pub < 0 || *sub < 0 || xs_bind(*pub, name) ||
	    xs_connect(*sub, name) ||
	    setsockopt(*sub, SOL_XS, XS_SUBSCRIBE, "", 0))
		return -1;
	return 0;
}

/* Send the parts of @s ('|' separated) as one record. */
static int send_rec(int fd, const char *s, int flags)
{
	const char *bar;

	while ((bar = strchr(s, '|'))) {
		if (xs_send(fd, s, bar - s, flags) != bar - s)
			return -1;
		s = bar + 1;
	}
	return xs_send(fd, s, strlen(s), flags | MSG_EOR) ==
	       (ssize_t)strlen(s) ? 0 : -1;
}

/* The next record from the socket's queue, parts joined by '|'. */
static int recv_rec(int fd, char *buf, size_t len, int flags)
{
	size_t used = 0;
	int mflags = 0, n = 0;
	ssize_t r;

	do {
		if (n && used < len)
			buf[used++] = '|';
		r = xs_recv(fd, buf + used, len - used - 1, flags, &mflags);
		if (r < 0)
			return -1;
		used += r;
		n++;
	} while (!(mflags & MSG_EOR));
	buf[used] = 0;
	return n;
}

static uint64_t missed(int fd)
{
	uint64_t v = 0;
	socklen_t l = sizeof(v);

	getsockopt(fd, SOL_XS, XS_MISSED, &v, &l);
	return v;
}

TEST(who_may_have_one_and_what_sizes)
{
	static const int no[] = { XSPROTO_PUB, XSPROTO_XPUB, XSPROTO_PUSH,
				  XSPROTO_REQ, XSPROTO_REP, XSPROTO_XREQ,
				  XSPROTO_XREP, XSPROTO_SURVEYOR,
				  XSPROTO_RESPONDENT, XSPROTO_XSURVEYOR,
				  XSPROTO_XRESPONDENT, XSPROTO_MONITOR };
	static const int yes[] = { XSPROTO_PAIR, XSPROTO_PULL, XSPROTO_SUB,
				   XSPROTO_XSUB };
	struct xs_ring_req req = { .size = RSZ };
	int fd, rcvbuf = 8192;
	unsigned int i;

	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		fd = xs_socket(no[i]);
		ASSERT_LE(0, fd);
		EXPECT_ERRNO(EOPNOTSUPP, setsockopt(fd, SOL_XS, XS_RX_RING,
						    &req, sizeof(req)));
		close(fd);
	}
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		fd = xs_socket(yes[i]);
		ASSERT_EQ(0, xs_getint(fd, SOL_XS, XS_RX_RING));
		/* no ring: nothing to map, as before rings existed */
		EXPECT_EQ(MAP_FAILED, mmap(NULL, 4096, PROT_READ, MAP_SHARED,
					   fd, XS_RING_OFF_CTRL));
		EXPECT_EQ(ENODEV, errno);
		req.size = 0;
		EXPECT_ERRNO(EINVAL, setsockopt(fd, SOL_XS, XS_RX_RING, &req,
						sizeof(req)));
		req.size = 2048;
		EXPECT_ERRNO(EINVAL, setsockopt(fd, SOL_XS, XS_RX_RING, &req,
						sizeof(req)));
		req.size = 3 * 4096;
		EXPECT_ERRNO(EINVAL, setsockopt(fd, SOL_XS, XS_RX_RING, &req,
						sizeof(req)));
		req.size = 0x80000000u;
		EXPECT_ERRNO(ENOBUFS, setsockopt(fd, SOL_XS, XS_RX_RING, &req,
						 sizeof(req)));
		req.size = RSZ;
		req.flags = 1;
		EXPECT_ERRNO(EINVAL, setsockopt(fd, SOL_XS, XS_RX_RING, &req,
						sizeof(req)));
		req.flags = 0;
		EXPECT_ERRNO(EINVAL, setsockopt(fd, SOL_XS, XS_RX_RING, &req,
						sizeof(req) - 1));
		EXPECT_ERRNO(EFAULT, setsockopt(fd, SOL_XS, XS_RX_RING,
						(void *)8, sizeof(req)));
		/* the ring is bounded by SO_RCVBUF, as the queue is */
		ASSERT_OK(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
				     sizeof(rcvbuf)));
		req.size = 65536;
		EXPECT_ERRNO(ENOBUFS, setsockopt(fd, SOL_XS, XS_RX_RING, &req,
						 sizeof(req)));
		req.size = RSZ;
		ASSERT_OK(setsockopt(fd, SOL_XS, XS_RX_RING, &req,
				     sizeof(req)));
		EXPECT_ERRNO(EBUSY, setsockopt(fd, SOL_XS, XS_RX_RING, &req,
					       sizeof(req)));
		EXPECT_EQ(RSZ, xs_getint(fd, SOL_XS, XS_RX_RING));
		close(fd);
	}
}

TEST(mappings_allow_only_what_they_should)
{
	int fd = xs_socket(XSPROTO_SUB);
	struct xs_ring_req req = { .size = 2 * RSZ };
	struct xs_ring_ctrl *c;
	long long socks;
	void *d;

	ASSERT_OK(setsockopt(fd, SOL_XS, XS_RX_RING, &req, sizeof(req)));
	/* the data area: never writable, not even later */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 2 * RSZ, PROT_READ | PROT_WRITE,
				   MAP_SHARED, fd, XS_RING_OFF_DATA));
	EXPECT_EQ(EPERM, errno);
	d = mmap(NULL, 2 * RSZ, PROT_READ, MAP_SHARED, fd, XS_RING_OFF_DATA);
	ASSERT_NE(MAP_FAILED, d);
	EXPECT_ERRNO(EACCES, mprotect(d, 2 * RSZ, PROT_READ | PROT_WRITE));
	/* whole areas only, shared only, known offsets only */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, RSZ, PROT_READ, MAP_SHARED, fd,
				   XS_RING_OFF_DATA));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 4 * RSZ, PROT_READ, MAP_SHARED, fd,
				   XS_RING_OFF_DATA));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd,
				   XS_RING_OFF_CTRL));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd,
				   4096));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE, fd, XS_RING_OFF_CTRL));
	EXPECT_EQ(EINVAL, errno);
	c = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 XS_RING_OFF_CTRL);
	ASSERT_NE(MAP_FAILED, c);
	EXPECT_EQ(2u * RSZ, c->size);
	EXPECT_EQ(0u, c->head);
	EXPECT_EQ(0u, c->tail);
	/* a mapping may not grow into what follows */
	EXPECT_EQ(MAP_FAILED, mremap(c, 4096, 8192, 0));
	socks = xs_netns_sockets();
	close(fd);
	/* a mapping holds the socket as a descriptor does */
	EXPECT_EQ(socks, xs_netns_sockets());
	EXPECT_EQ(2u * RSZ, c->size);
	EXPECT_EQ(0, ((volatile unsigned char *)d)[2 * RSZ - 1]);
	munmap(c, 4096);
	EXPECT_EQ(socks, xs_netns_sockets());
	munmap(d, 2 * RSZ);
	EXPECT_EQ(socks - 1, xs_netns_sockets());
}

/* A write to the data area kills the writer; it changes nothing. */
TEST(data_area_cannot_be_written)
{
	struct xs_tring r;
	int pub, sub, status;
	char buf[64];
	pid_t pid;

	ASSERT_OK(pubsub(&pub, &sub, "rw"));
	ASSERT_OK(xs_tring_open(&r, sub, RSZ));
	ASSERT_OK(send_rec(pub, "hello", 0));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		((volatile unsigned char *)r.data)[16] = 'X';
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(SIGSEGV, WTERMSIG(status));
	ASSERT_EQ(1, xs_tring_str(&r, buf, sizeof(buf)));
	EXPECT_STREQ("hello", buf);
	xs_tring_close(&r);
	close(pub);
	close(sub);
}

TEST(records_arrive_whole_in_the_ring)
{
	struct xs_tring r;
	int pub, sub;
	char buf[256];

	ASSERT_OK(pubsub(&pub, &sub, "whole"));
	ASSERT_OK(xs_tring_open(&r, sub, RSZ));
	ASSERT_OK(send_rec(pub, "a", 0));
	ASSERT_OK(send_rec(pub, "one|two|three", 0));
	ASSERT_OK(send_rec(pub, "|x||", 0));	/* empty parts */
	/* a record begun is not visible until its last part */
	ASSERT_EQ(4, xs_send(pub, "half", 4, 0));
	ASSERT_EQ(1, xs_tring_str(&r, buf, sizeof(buf)));
	EXPECT_STREQ("a", buf);
	ASSERT_EQ(3, xs_tring_str(&r, buf, sizeof(buf)));
	EXPECT_STREQ("one|two|three", buf);
	ASSERT_EQ(4, xs_tring_str(&r, buf, sizeof(buf)));
	EXPECT_STREQ("|x||", buf);
	ASSERT_EQ(0, xs_tring_str(&r, buf, sizeof(buf)));
	ASSERT_EQ(4, xs_send(pub, "done", 4, MSG_EOR));
	ASSERT_EQ(2, xs_tring_str(&r, buf, sizeof(buf)));
	EXPECT_STREQ("half|done", buf);
	/* nothing came through the queue, and nothing was lost */
	EXPECT_ERRNO(EAGAIN, xs_recv(sub, buf, sizeof(buf), MSG_DONTWAIT,
				     NULL));
	EXPECT_EQ(0u, missed(sub));
	xs_tring_close(&r);
	close(pub);
	close(sub);
}

/*
 * A reader that falls behind: the ring fills, later records wait in the
 * queue (in order, under XS_RCVHWM), recv refuses while the ring holds
 * records, and the ring is used again once the queue is empty.
 */
TEST(overflow_goes_to_the_queue_in_order)
{
	int pub, sub, i, next = 0, inring = 0, inqueue = 0, n;
	char buf[256], want[64];
	struct xs_tring r;

	ASSERT_OK(pubsub(&pub, &sub, "ovf"));
	ASSERT_OK(xs_setint(sub, XS_RCVHWM, 0));
	ASSERT_OK(xs_tring_open(&r, sub, RSZ));
	for (i = 0; i < 300; i++) {
		snprintf(buf, sizeof(buf), "rec%04d|%0*d", i, 40, i);
		ASSERT_OK(send_rec(pub, buf, 0));
	}
	/* the ring is full: recv says so, even blocking */
	EXPECT_ERRNO(EAGAIN, xs_recv(sub, buf, sizeof(buf), 0, NULL));
	while (next < 300) {
		n = xs_tring_str(&r, buf, sizeof(buf));
		ASSERT_LE(0, n);
		if (n) {
			inring++;
		} else {
			ASSERT_EQ(2, recv_rec(sub, buf, sizeof(buf),
					      MSG_DONTWAIT));
			inqueue++;
			/* new records keep to the queue while it has any */
			if (next == 150) {
				snprintf(want, sizeof(want), "rec%04d|%0*d",
					 300, 40, 300);
				ASSERT_OK(send_rec(pub, want, 0));
			}
		}
		snprintf(want, sizeof(want), "rec%04d|%0*d", next, 40, next);
		ASSERT_STREQ(want, buf);
		next++;
	}
	EXPECT_LT(0, inring);
	EXPECT_LT(0, inqueue);
	ASSERT_EQ(2, recv_rec(sub, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(0, strncmp(buf, "rec0300", 7));
	/* all read: the ring again */
	ASSERT_OK(send_rec(pub, "again", 0));
	ASSERT_EQ(1, xs_tring_str(&r, buf, sizeof(buf)));
	EXPECT_STREQ("again", buf);
	EXPECT_EQ(0u, missed(sub));
	xs_tring_close(&r);
	close(pub);
	close(sub);
}

/* Ring and queue both full: the newest are lost and counted, as without. */
TEST(ring_and_queue_full_lose_the_newest_counted)
{
	int pub, sub, i, n, got = 0;
	struct xs_tring r;
	char buf[64];

	ASSERT_OK(pubsub(&pub, &sub, "full"));
	ASSERT_OK(xs_setint(sub, XS_RCVHWM, 1));
	ASSERT_OK(xs_setint(pub, XS_SNDHWM, 1));
	ASSERT_OK(xs_tring_open(&r, sub, RSZ));
	for (i = 0; i < 1000; i++) {
		snprintf(buf, sizeof(buf), "%06d", i);
		ASSERT_OK(send_rec(pub, buf, 0));
	}
	for (i = 0; (n = xs_tring_str(&r, buf, sizeof(buf))) > 0; i++)
		ASSERT_EQ(i, atoi(buf));
	got = i;
	/* what followed the ring's last record waits in the queue */
	while (recv_rec(sub, buf, sizeof(buf), MSG_DONTWAIT) > 0) {
		ASSERT_EQ(got, atoi(buf));
		got++;
	}
	EXPECT_LT(100, got);
	EXPECT_GT(1000, got);
	EXPECT_EQ(1000 - got, (int)missed(sub));
	xs_tring_close(&r);
	close(pub);
	close(sub);
}

/* XS_LOSSLESS: the publisher waits for the queue behind a full ring. */
TEST(lossless_publisher_waits_and_loses_nothing)
{
	int pub, sub, i, got = 0, n;
	struct xs_tring r;
	char buf[64];

	ASSERT_OK(pubsub(&pub, &sub, "ll"));
	ASSERT_OK(xs_setint(pub, XS_LOSSLESS, 1));
	ASSERT_OK(xs_setint(sub, XS_RCVHWM, 2));
	ASSERT_OK(xs_setint(pub, XS_SNDHWM, 0));
	ASSERT_OK(xs_tring_open(&r, sub, RSZ));
	for (i = 0; i < 2000; i++) {
		snprintf(buf, sizeof(buf), "%06d", i);
		while (send_rec(pub, buf, MSG_DONTWAIT)) {
			ASSERT_EQ(EAGAIN, errno);
			/* drain a little: ring first, then the queue */
			n = xs_tring_str(&r, buf, sizeof(buf));
			if (n == 0)
				n = recv_rec(sub, buf, sizeof(buf),
					     MSG_DONTWAIT);
			ASSERT_LT(0, n);
			ASSERT_EQ(got, atoi(buf));
			got++;
			snprintf(buf, sizeof(buf), "%06d", i);
		}
	}
	for (;;) {
		n = xs_tring_str(&r, buf, sizeof(buf));
		if (n == 0)
			n = recv_rec(sub, buf, sizeof(buf), MSG_DONTWAIT);
		if (n <= 0)
			break;
		ASSERT_EQ(got, atoi(buf));
		got++;
	}
	EXPECT_EQ(2000, got);
	EXPECT_EQ(0u, missed(sub));
	xs_tring_close(&r);
	close(pub);
	close(sub);
}

/* Records larger than XS_RING_REC_MAX, or than the ring, use the queue. */
TEST(large_records_use_the_queue)
{
	size_t big = XS_RING_REC_MAX + 1;
	char *buf = malloc(big + 1), small[64];
	struct xs_tring r;
	int pub, sub;

	ASSERT_NE(NULL, buf);
	ASSERT_OK(pubsub(&pub, &sub, "big"));
	ASSERT_OK(xs_tring_open(&r, sub, 2 * XS_RING_REC_MAX));
	memset(buf, 'b', big);
	ASSERT_EQ((ssize_t)big, xs_send(pub, buf, big, MSG_EOR));
	ASSERT_OK(send_rec(pub, "after", 0));
	EXPECT_EQ(0, xs_tring_str(&r, small, sizeof(small)));
	ASSERT_EQ((ssize_t)big, xs_recv(sub, buf, big + 1, MSG_DONTWAIT,
					NULL));
	ASSERT_EQ(1, recv_rec(sub, small, sizeof(small), MSG_DONTWAIT));
	EXPECT_STREQ("after", small);
	xs_tring_close(&r);
	close(sub);
	/* a record the ring cannot hold whole (4 KiB) */
	close(pub);
	ASSERT_OK(pubsub(&pub, &sub, "big2"));
	ASSERT_OK(xs_tring_open(&r, sub, RSZ));
	ASSERT_EQ(RSZ, xs_send(pub, buf, RSZ, MSG_EOR));
	EXPECT_EQ(0, xs_tring_str(&r, small, sizeof(small)));
	ASSERT_EQ(RSZ, xs_recv(sub, buf, big, MSG_DONTWAIT, NULL));
	xs_tring_close(&r);
	free(buf);
	close(pub);
	close(sub);
}

/* Entries of every size wrap around a small ring, read as they come. */
TEST(entries_wrap_around)
{
	unsigned char out[1500], *p;
	struct xs_tpart parts[4];
	int pub, sub, i, j, n;
	struct xs_tring r;
	uint64_t end;

	ASSERT_OK(pubsub(&pub, &sub, "wrap"));
	ASSERT_OK(xs_tring_open(&r, sub, RSZ));
	for (i = 0; i < 3000; i++) {
		size_t len = (i * 37) % 1400;

		for (j = 0; j < (int)len; j++)
			out[j] = (unsigned char)(i + j);
		ASSERT_EQ(1, xs_send(pub, "k", 1, 0));
		ASSERT_EQ((ssize_t)len, xs_send(pub, out, len, MSG_EOR));
		n = xs_tring_peek(&r, parts, 4, &end);
		ASSERT_EQ(2, n);
		ASSERT_EQ(1u, parts[0].len);
		ASSERT_EQ(len, parts[1].len);
		p = (unsigned char *)parts[1].data;
		ASSERT_EQ(0, memcmp(p, out, len));
		xs_tring_release(&r, end);
	}
	EXPECT_LT((uint64_t)RSZ * 100, r.tail);
	EXPECT_EQ(0u, missed(sub));
	xs_tring_close(&r);
	close(pub);
	close(sub);
}

/*
 * The reader owns tail and can write anything there, and into head and
 * flags: the kernel then finds the ring full (records go to the queue)
 * and writes nothing outside the area.
 */
TEST(a_corrupt_control_page_only_hurts_its_reader)
{
	static const uint64_t tails[] = { 1, 7, 4096 * 3, ~0ULL, 1ULL << 63,
					  12345678901ULL };
	struct xs_tring r;
	int pub, sub, i, k;
	char buf[64];

	ASSERT_OK(pubsub(&pub, &sub, "bad"));
	ASSERT_OK(xs_setint(sub, XS_RCVHWM, 0));
	ASSERT_OK(xs_tring_open(&r, sub, RSZ));
	for (k = 0; k < (int)(sizeof(tails) / sizeof(tails[0])); k++) {
		r.ctrl->tail = tails[k];
		r.ctrl->head = ~tails[k];
		r.ctrl->flags = ~0u;
		for (i = 0; i < 200; i++)
			ASSERT_OK(send_rec(pub, "payload-payload", 0));
		/* poll and recv survive whatever the page says */
		struct pollfd pfd = { .fd = sub, .events = POLLIN };

		EXPECT_LE(0, poll(&pfd, 1, 0));
		xs_recv(sub, buf, sizeof(buf), MSG_DONTWAIT, NULL);
		while (xs_recv(sub, buf, sizeof(buf), MSG_DONTWAIT, NULL) > 0)
			;
	}
	/* an honest tail again: the ring works */
	r.ctrl->flags = 0;
	xs_tring_release(&r, __atomic_load_n(&r.ctrl->head,
					     __ATOMIC_ACQUIRE));
	close(pub);
	xs_tring_close(&r);
	close(sub);
}

static void *recv_blocked(void *arg)
{
	int fd = *(int *)arg;
	char buf[16];
	long rc = xs_recv(fd, buf, sizeof(buf), 0, NULL);

	return (void *)(rc < 0 ? (long)-errno : rc);
}

/*
 * Need-wakeup: poll and blocking recv ask for a wake-up before they
 * sleep; a record in the ring wakes them (recv with EAGAIN: read the
 * ring).  The flag is cleared by the wake-up, so that a reader that
 * keeps up is never woken.
 */
TEST(poll_and_recv_wake_for_the_ring)
{
	struct pollfd pfd;
	struct xs_tring r;
	pthread_t t;
	int pub, sub;
	char buf[64];
	void *ret;

	ASSERT_OK(pubsub(&pub, &sub, "wake"));
	ASSERT_OK(xs_tring_open(&r, sub, RSZ));
	pfd.fd = sub;
	pfd.events = POLLIN;
	ASSERT_EQ(0, poll(&pfd, 1, 0));
	EXPECT_EQ((unsigned)XS_RING_NEED_WAKEUP, r.ctrl->flags);
	ASSERT_OK(send_rec(pub, "x", 0));
	EXPECT_EQ(0u, r.ctrl->flags);
	/* a record that needs no wake-up leaves the flag alone */
	ASSERT_OK(send_rec(pub, "y", 0));
	EXPECT_EQ(0u, r.ctrl->flags);
	ASSERT_EQ(1, poll(&pfd, 1, 0));
	ASSERT_EQ(1, xs_tring_str(&r, buf, sizeof(buf)));
	ASSERT_EQ(1, xs_tring_str(&r, buf, sizeof(buf)));
	ASSERT_EQ(0, poll(&pfd, 1, 0));

	/* poll asleep, woken by a record in the ring */
	if (fork() == 0) {
		xs_sleep_ms(200);
		_exit(send_rec(pub, "late", 0) ? 1 : 0);
	}
	ASSERT_EQ(1, poll(&pfd, 1, xs_wait_ms()));
	EXPECT_EQ(POLLIN, pfd.revents);
	wait(NULL);
	ASSERT_EQ(1, xs_tring_str(&r, buf, sizeof(buf)));
	EXPECT_STREQ("late", buf);

	/* blocking recv, woken, told to read the ring */
	ASSERT_EQ(0, pthread_create(&t, NULL, recv_blocked, &sub));
	xs_sleep_ms(200);
	ASSERT_OK(send_rec(pub, "ring", 0));
	ASSERT_EQ(0, pthread_join(t, &ret));
	EXPECT_EQ(-EAGAIN, (long)ret);
	ASSERT_EQ(1, xs_tring_str(&r, buf, sizeof(buf)));
	EXPECT_STREQ("ring", buf);
	/* ... and by one in the queue (too large for it), which it returns */
	ASSERT_EQ(0, pthread_create(&t, NULL, recv_blocked, &sub));
	xs_sleep_ms(200);
	{
		char big[RSZ + 8];

		memset(big, 'q', sizeof(big));
		ASSERT_EQ((ssize_t)sizeof(big),
			  xs_send(pub, big, sizeof(big), MSG_EOR));
	}
	ASSERT_EQ(0, pthread_join(t, &ret));
	EXPECT_EQ(16, (long)ret);
	xs_tring_close(&r);
	close(pub);
	close(sub);
}

/* PULL and PAIR: the pusher is held back by the queue behind the ring. */
TEST(pull_with_a_ring_gets_everything_in_order)
{
	char name[XS_NAME_MAX + 1], buf[64];
	int push, pull, i, got = 0, n;
	struct xs_tring r;
	pid_t pid;

	xs_uname(name, sizeof(name), "pull");
	push = xs_socket(XSPROTO_PUSH);
	pull = xs_socket(XSPROTO_PULL);
	ASSERT_OK(xs_setint(pull, XS_RCVHWM, 4));
	ASSERT_OK(xs_setint(push, XS_SNDHWM, 4));
	ASSERT_OK(xs_bind(pull, name));
	ASSERT_OK(xs_tring_open(&r, pull, RSZ));
	ASSERT_OK(xs_connect(push, name));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		for (i = 0; i < 5000; i++) {
			snprintf(buf, sizeof(buf), "%d|%d", i, i * 7);
			if (send_rec(push, buf, 0))
				_exit(1);
		}
		_exit(0);
	}
	close(push);
	while (got < 5000) {
		struct pollfd pfd = { .fd = pull, .events = POLLIN };

		n = xs_tring_str(&r, buf, sizeof(buf));
		if (n == 0)
			n = recv_rec(pull, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && errno == EAGAIN) {
			ASSERT_LT(0, poll(&pfd, 1, xs_wait_ms()));
			continue;
		}
		ASSERT_EQ(2, n);
		ASSERT_EQ(got, atoi(buf));
		ASSERT_EQ(got * 7, atoi(strchr(buf, '|') + 1));
		got++;
	}
	ASSERT_EQ(pid, waitpid(pid, &i, 0));
	EXPECT_EQ(0, i);
	xs_tring_close(&r);
	close(pull);
}

/*
 * Mapping, unmapping, forking, closing and killing while a publisher
 * sends to many ring readers: every record read is whole, and nothing of
 * the kernel breaks (the runner checks its log).
 */
TEST(readers_come_and_go_while_records_fly)
{
	char name[XS_NAME_MAX + 1];
	int pub, i, status, rounds = xs_iters(60, 6);
	pid_t sender;

	xs_uname(name, sizeof(name), "churn");
	pub = xs_socket(XSPROTO_PUB);
	ASSERT_OK(xs_bind(pub, name));
	sender = fork();
	ASSERT_LE(0, sender);
	if (sender == 0) {
		char rec[200];
		unsigned int n = 0;

		memset(rec, 'r', sizeof(rec));
		for (;;) {
			snprintf(rec, 16, "%08u", n++);
			xs_send(pub, rec, 16, MSG_MORE);
			xs_send(pub, rec, 16 + n % 180, MSG_EOR);
		}
	}
	for (i = 0; i < rounds; i++) {
		pid_t kid = fork();

		ASSERT_LE(0, kid);
		if (kid == 0) {
			struct xs_tpart p[4];
			struct xs_tring r;
			uint64_t end;
			int sub = xs_socket(XSPROTO_SUB), n, k;

			if (xs_connect(sub, name) ||
			    setsockopt(sub, SOL_XS, XS_SUBSCRIBE, "", 0) ||
			    xs_tring_open(&r, sub, RSZ << (i % 3)))
				_exit(2);
			if (i % 4 == 1 && fork() == 0) {
				/* a child of the reader reads the same ring */
				xs_sleep_ms(i % 7);
				_exit(0);
			}
			for (k = 0; k < 200 * (i % 5); k++) {
				n = xs_tring_peek(&r, p, 4, &end);
				if (n < 0 || (n > 0 && (n != 2 ||
				    memcmp(p[0].data, p[1].data, 16))))
					_exit(3);
				if (n > 0)
					xs_tring_release(&r, end);
			}
			if (i % 3 == 0)
				xs_tring_close(&r);	/* unmap, then close */
			if (i % 2)
				close(sub);		/* close, still mapped */
			if (i % 5 == 4)
				pause();		/* killed below */
			_exit(0);
		}
		if (i % 5 == 4) {
			xs_sleep_ms(i % 11);
			kill(kid, SIGKILL);
		}
		ASSERT_EQ(kid, waitpid(kid, &status, 0));
		if (i % 5 == 4) {
			EXPECT_TRUE(WIFSIGNALED(status));
		} else {
			EXPECT_TRUE(WIFEXITED(status));
			EXPECT_EQ(0, WEXITSTATUS(status));
		}
	}
	kill(sender, SIGKILL);
	waitpid(sender, NULL, 0);
	close(pub);
}

XS_TEST_MAIN
