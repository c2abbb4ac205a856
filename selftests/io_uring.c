// SPDX-License-Identifier: GPL-2.0
/*
 * io_uring (issue 8, item 11).  A record is assembled per thread, and
 * io_uring may run a request in one of its own worker threads (SQPOLL, a
 * request it could not complete at once, IOSQE_ASYNC) that belongs to no
 * user thread: there, parts of different user threads would merge into
 * one record and one record's parts would split over several workers.
 * So, in an io_uring worker:
 *   - a send must complete its record (MSG_EOR): otherwise EINVAL;
 *   - a receive takes only a record of one part: otherwise EINVAL, and the
 *     record stays first in line for a reader that can take it.
 * Whole single-part records go through io_uring like any send or receive.
 */
#include "xs_test.h"

#include <liburing.h>

FIXTURE(ring) {
	struct io_uring ring;
	int push, pull;
	int have_ring;
};

FIXTURE_VARIANT(ring) {
	unsigned int setup_flags;
	unsigned char sqe_flags;
};

/* A worker runs the request because we say so. */
FIXTURE_VARIANT_ADD(ring, async) {
	.setup_flags = 0,
	.sqe_flags = IOSQE_ASYNC,
};

/* The kernel's SQ polling thread runs every request. */
FIXTURE_VARIANT_ADD(ring, sqpoll) {
	.setup_flags = IORING_SETUP_SQPOLL,
	.sqe_flags = 0,
};

FIXTURE_SETUP(ring)
{
	int err;

	self->have_ring = 0;
	ASSERT_OK(xs_link(XSPROTO_PUSH, XSPROTO_PULL, -1, -1, &self->push,
			  &self->pull, NULL, 0));
	err = io_uring_queue_init(8, &self->ring, variant->setup_flags);
	if (err)
		SKIP(return, "io_uring_queue_init: %s", strerror(-err));
	self->have_ring = 1;
}

FIXTURE_TEARDOWN(ring)
{
	if (self->have_ring)
		io_uring_queue_exit(&self->ring);
	close(self->push);
	close(self->pull);
}

/* Submit one sendmsg or recvmsg and return its result. */
static int ring_op(struct io_uring *ring, unsigned char sqe_flags, int fd,
		   struct msghdr *msg, int flags, int is_recv)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct __kernel_timespec ts = { .tv_sec = 10 };
	struct io_uring_cqe *cqe;
	int res;

	if (!sqe)
		return -ENOSPC;
	if (is_recv)
		io_uring_prep_recvmsg(sqe, fd, msg, flags);
	else
		io_uring_prep_sendmsg(sqe, fd, msg, flags);
	sqe->flags |= sqe_flags;
	/*
	 * Under SQPOLL io_uring_submit() counts what the polling thread has
	 * not consumed yet, so 0 is a success when it was quicker than us;
	 * the bounded wait catches a request that truly went nowhere.
	 */
	res = io_uring_submit(ring);
	if (res < 0)
		return res;
	res = io_uring_wait_cqe_timeout(ring, &cqe, &ts);
	if (res)
		return res;
	res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return res;
}

static int ring_send(struct io_uring *ring, unsigned char sqe_flags, int fd,
		     const char *s, int flags)
{
	struct iovec iov = { (void *)s, strlen(s) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	return ring_op(ring, sqe_flags, fd, &msg, flags, 0);
}

TEST_F(ring, part_without_eor_is_einval_and_starts_nothing)
{
	ASSERT_EQ(-EINVAL, ring_send(&self->ring, variant->sqe_flags,
				     self->push, "part", 0));
	/* nothing of it is waiting for a MSG_EOR from anyone */
	ASSERT_SEND(self->push, "own", MSG_EOR);
	ASSERT_RECV_RECORD(self->pull, "own");
	ASSERT_NOTHING(self->pull);
}

TEST_F(ring, whole_records_go_through)
{
	ASSERT_EQ(5, ring_send(&self->ring, variant->sqe_flags, self->push,
			       "whole", MSG_EOR));
	ASSERT_EQ(5, ring_send(&self->ring, variant->sqe_flags, self->push,
			       "again", MSG_EOR));
	ASSERT_RECV_RECORD(self->pull, "whole");
	ASSERT_RECV_RECORD(self->pull, "again");
}

TEST_F(ring, a_worker_does_not_join_a_users_record)
{
	/* this thread starts a record; a worker's send is not part of it */
	ASSERT_SEND(self->push, "mine", 0);
	ASSERT_EQ(6, ring_send(&self->ring, variant->sqe_flags, self->push,
			       "worker", MSG_EOR));
	ASSERT_RECV_RECORD(self->pull, "worker");
	ASSERT_NOTHING(self->pull);
	ASSERT_SEND(self->push, "end", MSG_EOR);
	ASSERT_RECV_RECORD(self->pull, "mine", "end");
}

TEST_F(ring, multipart_record_is_einval_to_a_worker_and_stays)
{
	char buf[16];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	ASSERT_RECORD(self->push, 0, "one", "two");
	ASSERT_EQ(3, xs_recv_within(self->pull, buf, sizeof(buf), MSG_PEEK,
				    NULL, xs_wait_ms()));
	ASSERT_EQ(-EINVAL, ring_op(&self->ring, variant->sqe_flags,
				   self->pull, &msg, MSG_DONTWAIT, 1));
	ASSERT_RECV_RECORD(self->pull, "one", "two");

	ASSERT_RECORD(self->push, 0, "single");
	ASSERT_EQ(6, xs_recv_within(self->pull, buf, sizeof(buf), MSG_PEEK,
				    NULL, xs_wait_ms()));
	msg.msg_flags = 0;
	ASSERT_EQ(6, ring_op(&self->ring, variant->sqe_flags, self->pull,
			     &msg, MSG_DONTWAIT, 1));
	ASSERT_EQ(MSG_EOR, msg.msg_flags & MSG_EOR);
	ASSERT_EQ(0, memcmp(buf, "single", 6));
}

XS_TEST_MAIN
