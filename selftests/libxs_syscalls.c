// SPDX-License-Identifier: GPL-2.0
/*
 * What libxs costs in system calls, and that its batching keeps every
 * error where Crossroads reports it.
 *
 * This program defines send(), sendmmsg(), recvmsg()... itself: the
 * static libxs it links calls these, so each call is counted here and
 * passed to the kernel with syscall(2).
 *
 * - A record's first part is one send(2) (where the pattern decides:
 *   blocking, EAGAIN, EFSM); its other parts go with the last in one
 *   sendmmsg(2): a 4-part record costs 2 calls to send.
 * - Receiving reads ahead: a receiver that keeps up takes a 4-part record
 *   with 1 call.
 * - A bare poll on XS_FD sees the parts libxs read ahead (XS_RCVHELD).
 * - A record that outgrows XS_MAXMSGSIZE midway is refused whole, with
 *   EMSGSIZE, by the call that sends its last part (the kernel keeps the
 *   error sendmmsg could not return for XS_SNDERR); nothing of it arrives
 *   and the next record does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <linux/xs.h>
#include "xs.h"

#include "kselftest_harness.h"

/* ---- counted calls ------------------------------------------------------ */

static int nsend, nrecv, nsetopt;

int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	nsetopt++;
	return syscall(SYS_setsockopt, fd, level, name, val, len);
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	nsend++;
	return syscall(SYS_sendto, fd, buf, len, flags, NULL, 0);
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags,
	       const struct sockaddr *to, socklen_t tolen)
{
	nsend++;
	return syscall(SYS_sendto, fd, buf, len, flags, to, tolen);
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	nsend++;
	return syscall(SYS_sendmsg, fd, msg, flags);
}

int sendmmsg(int fd, struct mmsghdr *m, unsigned int n, int flags)
{
	nsend++;
	return syscall(SYS_sendmmsg, fd, m, n, flags);
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	nrecv++;
	return syscall(SYS_recvfrom, fd, buf, len, flags, NULL, NULL);
}

ssize_t recvfrom(int fd, void *buf, size_t len, int flags,
		 struct sockaddr *from, socklen_t *fromlen)
{
	nrecv++;
	return syscall(SYS_recvfrom, fd, buf, len, flags, from, fromlen);
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	nrecv++;
	return syscall(SYS_recvmsg, fd, msg, flags);
}

int recvmmsg(int fd, struct mmsghdr *m, unsigned int n, int flags,
	     struct timespec *timeout)
{
	nrecv++;
	return syscall(SYS_recvmmsg, fd, m, n, flags, timeout);
}

/* FIONREAD is a receive-side call too */
int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	nrecv++;
	return syscall(SYS_ioctl, fd, req, arg);
}

/* XS_RX_RING of a libxs socket's descriptor: its ring's size, or 0. */
static int xs_ring_size(void *s)
{
	int fd = -1, v = -1;
	size_t len = sizeof(fd);
	socklen_t vlen = sizeof(v);

	if (xs_getsockopt(s, XS_FD, &fd, &len) ||
	    getsockopt(fd, SOL_XS, XS_RX_RING, &v, &vlen))
		return -1;
	return v;
}

/* ---- fixture ------------------------------------------------------------ */

FIXTURE(calls) {
	void *ctx, *push, *pull;
};

/*
 * ring: the kernel's receive ring (XS_RX_RING), which libxs maps at a
 * receiving socket's first receive: a reader that keeps up makes no call.
 * readahead: LIBXS_RING=0, the queue read ahead with recvmmsg.
 */
FIXTURE_VARIANT(calls) {
	bool ring;
	const char *spin;	/* LIBXS_SPIN */
};

FIXTURE_VARIANT_ADD(calls, ring) { .ring = true, .spin = "0" };
FIXTURE_VARIANT_ADD(calls, ring_spin) { .ring = true, .spin = "8" };
FIXTURE_VARIANT_ADD(calls, readahead) { .ring = false, .spin = "0" };

FIXTURE_SETUP(calls)
{
	char name[64], buf[4];
	int hwm = 0;

	setenv("LIBXS_RING", variant->ring ? "" : "0", 1);
	setenv("LIBXS_SPIN", variant->spin, 1);

	snprintf(name, sizeof(name), "ipc://libxs-calls-%d", (int)getpid());
	self->ctx = xs_init();
	ASSERT_NE(NULL, self->ctx);
	self->push = xs_socket(self->ctx, XS_PUSH);
	self->pull = xs_socket(self->ctx, XS_PULL);
	ASSERT_NE(NULL, self->push);
	ASSERT_NE(NULL, self->pull);
	/* no limit in records: the tests below fill no queue by accident */
	ASSERT_EQ(0, xs_setsockopt(self->push, XS_SNDHWM, &hwm, sizeof(hwm)));
	ASSERT_EQ(0, xs_setsockopt(self->pull, XS_RCVHWM, &hwm, sizeof(hwm)));
	ASSERT_LE(0, xs_bind(self->pull, name));
	ASSERT_LE(0, xs_connect(self->push, name));
	/* the first receive sets the ring up */
	ASSERT_EQ(-1, xs_recv(self->pull, buf, sizeof(buf), XS_DONTWAIT));
	ASSERT_EQ(EAGAIN, errno);
}

FIXTURE_TEARDOWN(calls)
{
	int zero = 0;

	xs_setsockopt(self->push, XS_LINGER, &zero, sizeof(zero));
	xs_close(self->push);
	xs_close(self->pull);
	xs_term(self->ctx);
}

/* LIBXS_RING says whether a receiving socket gets a ring (of 512 KiB). */
TEST_F(calls, ring_is_set_up_at_the_first_receive_unless_switched_off)
{
	ASSERT_EQ(variant->ring ? 512 << 10 : 0, xs_ring_size(self->pull));
	/* a sending-only pattern never gets one */
	ASSERT_EQ(0, xs_ring_size(self->push));
}

/* Sends parts[0..n) as one record; returns what the last xs_send did. */
static int send_record(void *s, const char *const *parts, int n)
{
	int i, rc = 0;

	for (i = 0; i < n && rc >= 0; i++)
		rc = xs_send(s, parts[i], strlen(parts[i]),
			     i < n - 1 ? XS_SNDMORE : 0);
	return rc;
}

/* Receives one record and checks it is parts[0..n). */
static int recv_record(void *s, const char *const *parts, int n, int flags)
{
	char buf[256];
	size_t len = sizeof(int);
	int i, rc, more;

	for (i = 0; i < n; i++) {
		rc = xs_recv(s, buf, sizeof(buf), flags);
		if (rc != (int)strlen(parts[i]) || memcmp(buf, parts[i], rc))
			return -1;
		if (xs_getsockopt(s, XS_RCVMORE, &more, &len))
			return -1;
		if (more != (i < n - 1))
			return -1;
	}
	return 0;
}

static void *send_late(void *push)
{
	static const char *const one[] = { "late" };

	usleep(200 * 1000);
	send_record(push, one, 1);
	return NULL;
}

/*
 * A blocking receive keeps its timeout and its wake-up, whether it
 * yields first (LIBXS_SPIN) or not.
 */
TEST_F(calls, blocking_receive_times_out_and_wakes)
{
	struct timespec t0, t1;
	int timeo = 100, rc;
	char buf[8];
	pthread_t t;

	ASSERT_EQ(0, xs_setsockopt(self->pull, XS_RCVTIMEO, &timeo,
				   sizeof(timeo)));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_EQ(-1, xs_recv(self->pull, buf, sizeof(buf), 0));
	ASSERT_EQ(EAGAIN, errno);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	EXPECT_LE(90, (t1.tv_sec - t0.tv_sec) * 1000 +
		  (t1.tv_nsec - t0.tv_nsec) / 1000000);
	timeo = -1;
	ASSERT_EQ(0, xs_setsockopt(self->pull, XS_RCVTIMEO, &timeo,
				   sizeof(timeo)));
	ASSERT_EQ(0, pthread_create(&t, NULL, send_late, self->push));
	rc = xs_recv(self->pull, buf, sizeof(buf), 0);
	ASSERT_EQ(4, rc);
	ASSERT_EQ(0, memcmp(buf, "late", 4));
	ASSERT_EQ(0, pthread_join(t, NULL));
}

static const char *const four[] = { "head", "part two", "3", "the end" };

TEST_F(calls, four_part_record_costs_two_calls_to_send_and_one_to_receive)
{
	nsend = 0;
	ASSERT_EQ(7, send_record(self->push, four, 4));
	EXPECT_EQ(2, nsend);

	nrecv = nsetopt = 0;
	ASSERT_EQ(0, recv_record(self->pull, four, 4, 0));
	EXPECT_EQ(variant->ring ? 0 : 1, nrecv);
	EXPECT_EQ(0, nsetopt);
}

/* A receiver that keeps up: fewer calls than parts, and nothing mixed. */
TEST_F(calls, a_stream_of_records_costs_under_one_call_per_part)
{
	const int records = 200;
	int i;

	nsend = 0;
	for (i = 0; i < records; i++)
		ASSERT_EQ(7, send_record(self->push, four, 4));
	EXPECT_EQ(2 * records, nsend);

	nrecv = 0;
	for (i = 0; i < records; i++)
		ASSERT_EQ(0, recv_record(self->pull, four, 4, 0));
	TH_LOG("%d parts received with %d calls", 4 * records, nrecv);
	EXPECT_GT(4 * records, 4 * nrecv);
	if (variant->ring)
		EXPECT_EQ(0, nrecv);
}

/* More parts than libxs keeps: they go in batches, the record whole. */
TEST_F(calls, a_record_of_many_parts_arrives_whole)
{
	static char text[40][8];
	const char *parts[40];
	int i;

	for (i = 0; i < 40; i++) {
		snprintf(text[i], sizeof(text[i]), "p%d", i);
		parts[i] = text[i];
	}
	nsend = 0;
	ASSERT_EQ(3, send_record(self->push, parts, 40));
	/* the first part, then one call per 15 kept parts and the last */
	EXPECT_GE(4, nsend);
	ASSERT_EQ(0, recv_record(self->pull, parts, 40, 0));
}

/* A large middle part is not copied: kept parts, then it, then the last. */
TEST_F(calls, large_middle_part_goes_by_itself_and_arrives_whole)
{
	size_t big = 1 << 20;
	char *a = malloc(big), *b = malloc(big);
	char small[8];

	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	memset(a, 'a', big);
	nsend = 0;
	ASSERT_EQ(1, xs_send(self->push, "1", 1, XS_SNDMORE));
	ASSERT_EQ(1, xs_send(self->push, "2", 1, XS_SNDMORE));
	ASSERT_EQ((int)big, xs_send(self->push, a, big, XS_SNDMORE));
	ASSERT_EQ(1, xs_send(self->push, "4", 1, 0));
	EXPECT_EQ(3, nsend);

	ASSERT_EQ(1, xs_recv(self->pull, small, sizeof(small), 0));
	ASSERT_EQ('1', small[0]);
	ASSERT_EQ(1, xs_recv(self->pull, small, sizeof(small), 0));
	ASSERT_EQ('2', small[0]);
	ASSERT_EQ((int)big, xs_recv(self->pull, b, big, 0));
	ASSERT_EQ(0, memcmp(a, b, big));
	ASSERT_EQ(1, xs_recv(self->pull, small, sizeof(small), 0));
	ASSERT_EQ('4', small[0]);
	free(a);
	free(b);
}

/* xs_sendmsg of a kept part: the message is emptied, the data copied. */
static int freed;

static void count_free(void *data, void *hint)
{
	(void)hint;
	freed++;
	memset(data, 'x', 5);
}

TEST_F(calls, zero_copy_message_kept_for_later_is_copied_and_freed)
{
	static char data[] = "kept!";
	xs_msg_t m;
	char buf[16];

	freed = 0;
	ASSERT_EQ(4, xs_send(self->push, "head", 4, XS_SNDMORE));
	ASSERT_EQ(0, xs_msg_init_data(&m, data, 5, count_free, NULL));
	ASSERT_EQ(5, xs_sendmsg(self->push, &m, XS_SNDMORE));
	ASSERT_EQ(0, xs_msg_close(&m));
	/* the library may free it now: the record must not change */
	EXPECT_EQ(1, freed);
	ASSERT_EQ(3, xs_send(self->push, "end", 3, 0));

	ASSERT_EQ(4, xs_recv(self->pull, buf, sizeof(buf), 0));
	ASSERT_EQ(5, xs_recv(self->pull, buf, sizeof(buf), 0));
	ASSERT_EQ(0, memcmp(buf, "kept!", 5));
	ASSERT_EQ(3, xs_recv(self->pull, buf, sizeof(buf), 0));
}

TEST_F(calls, record_outgrowing_maxmsgsize_midway_is_refused_whole)
{
	static const char *const next[] = { "next", "one" };
	int64_t max = 10;
	char buf[16];

	ASSERT_EQ(0, xs_setsockopt(self->push, XS_MAXMSGSIZE, &max,
				   sizeof(max)));
	ASSERT_EQ(4, xs_send(self->push, "1234", 4, XS_SNDMORE));
	ASSERT_EQ(4, xs_send(self->push, "5678", 4, XS_SNDMORE));
	/* 12 bytes: kept here for now, refused by the kernel below */
	ASSERT_EQ(4, xs_send(self->push, "9abc", 4, XS_SNDMORE));
	/* the whole record goes, reported by the call of its last part */
	errno = 0;
	ASSERT_EQ(-1, xs_send(self->push, "d", 1, 0));
	ASSERT_EQ(EMSGSIZE, errno);
	/* the error is reported once, not left behind for the next call */
	ASSERT_EQ(3, send_record(self->push, next, 2));
	ASSERT_EQ(0, recv_record(self->pull, next, 2, 0));
	ASSERT_EQ(-1, xs_recv(self->pull, buf, sizeof(buf), XS_DONTWAIT));
	ASSERT_EQ(EAGAIN, errno);
}

/* The first part still meets the high-water mark where Crossroads does. */
TEST_F(calls, first_part_at_the_limit_is_eagain_and_starts_nothing)
{
	static const char *const one[] = { "only", "record" };
	void *push, *pull;
	char name[64], buf[16];
	int hwm = 1;

	push = xs_socket(self->ctx, XS_PUSH);
	pull = xs_socket(self->ctx, XS_PULL);
	ASSERT_NE(NULL, push);
	ASSERT_NE(NULL, pull);
	ASSERT_EQ(0, xs_setsockopt(push, XS_SNDHWM, &hwm, sizeof(hwm)));
	ASSERT_EQ(0, xs_setsockopt(pull, XS_RCVHWM, &hwm, sizeof(hwm)));
	snprintf(name, sizeof(name), "ipc://libxs-calls-hwm-%d", (int)getpid());
	ASSERT_LE(0, xs_bind(pull, name));
	ASSERT_LE(0, xs_connect(push, name));
	/* fill the pipe: SNDHWM + RCVHWM records */
	while (xs_send(push, "fill", 4, XS_DONTWAIT) == 4)
		;
	ASSERT_EQ(EAGAIN, errno);
	nsend = 0;
	ASSERT_EQ(-1, xs_send(push, "more", 4, XS_DONTWAIT | XS_SNDMORE));
	ASSERT_EQ(EAGAIN, errno);
	EXPECT_EQ(1, nsend);
	/* drain; the refused part began no record */
	while (xs_recv(pull, buf, sizeof(buf), XS_DONTWAIT) == 4)
		;
	ASSERT_EQ(6, send_record(push, one, 2));
	ASSERT_EQ(0, recv_record(pull, one, 2, 0));
	xs_close(push);
	xs_close(pull);
}

/* Ready (0 ms) for @events on the bare descriptor? */
static short fd_revents(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	return poll(&p, 1, 0) == 1 ? p.revents : 0;
}

/*
 * A bare poll on XS_FD sees what libxs read ahead, level-triggered; the
 * kernel is told at each end of a batch, so receiving costs 2 calls more
 * per batch, and nothing for a program that never asked for XS_FD.
 */
TEST_F(calls, poll_on_xs_fd_sees_parts_read_ahead)
{
	static const char *const one[] = { "a", "b" }, *const two[] = { "c" };
	size_t len = sizeof(int);
	int fd = -1, events;
	char buf[4];

	ASSERT_EQ(1, send_record(self->push, one, 2));
	ASSERT_EQ(1, send_record(self->push, two, 1));
	ASSERT_EQ(0, xs_getsockopt(self->pull, XS_FD, &fd, &len));
	ASSERT_LE(0, fd);
	ASSERT_EQ(POLLIN, fd_revents(fd, POLLIN) & POLLIN);
	nrecv = nsetopt = 0;
	/* all three parts come in one read; two stay in the library */
	ASSERT_EQ(1, xs_recv(self->pull, buf, sizeof(buf), XS_DONTWAIT));
	ASSERT_EQ('a', buf[0]);
	ASSERT_EQ(POLLIN, fd_revents(fd, POLLIN) & POLLIN);
	ASSERT_EQ(1, xs_recv(self->pull, buf, sizeof(buf), XS_DONTWAIT));
	ASSERT_EQ('b', buf[0]);
	ASSERT_EQ(POLLIN, fd_revents(fd, POLLIN) & POLLIN);
	len = sizeof(events);
	ASSERT_EQ(0, xs_getsockopt(self->pull, XS_EVENTS, &events, &len));
	ASSERT_EQ(XS_POLLIN, events & XS_POLLIN);
	ASSERT_EQ(0, recv_record(self->pull, two, 1, XS_DONTWAIT));
	/* all handed out: not readable, and truly nothing there */
	EXPECT_EQ(variant->ring ? 0 : 1, nrecv);
	/* the ring needs no XS_RCVHELD: the kernel sees what is unread */
	EXPECT_EQ(variant->ring ? 0 : 2, nsetopt);
	ASSERT_EQ(0, fd_revents(fd, POLLIN) & POLLIN);
	ASSERT_EQ(-1, xs_recv(self->pull, buf, sizeof(buf), XS_DONTWAIT));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, fd_revents(fd, POLLIN) & POLLIN);
	/* and a new record shows */
	ASSERT_EQ(1, send_record(self->push, two, 1));
	ASSERT_EQ(POLLIN, fd_revents(fd, POLLIN) & POLLIN);
}

TEST_HARNESS_MAIN
