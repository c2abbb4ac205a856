// SPDX-License-Identifier: GPL-2.0
/*
 * PUSH/PULL: PUSH load-balances round-robin over the pipes with room,
 * PULL fair-queues in arrival order, each side refuses the direction it
 * does not have, and a PUSH with nowhere to send blocks.
 */
#include "xs_test.h"

#define NPULL 3

/* One PUSH and NPULL PULLs, the PUSH binding or connecting. */
FIXTURE(lb) {
	int push, pull[NPULL];
};

FIXTURE_VARIANT(lb) {
	int push_binds;
};

FIXTURE_VARIANT_ADD(lb, push_binds) {
	.push_binds = 1,
};

FIXTURE_VARIANT_ADD(lb, push_connects) {
	.push_binds = 0,
};

FIXTURE_SETUP(lb)
{
	char name[XS_NAME_MAX + 1];
	int i;

	self->push = xs_socket(XSPROTO_PUSH);
	ASSERT_GE(self->push, 0);
	if (variant->push_binds) {
		xs_uname(name, sizeof(name), "push");
		ASSERT_OK(xs_bind(self->push, name));
	}
	for (i = 0; i < NPULL; i++) {
		self->pull[i] = xs_socket(XSPROTO_PULL);
		ASSERT_GE(self->pull[i], 0);
		if (variant->push_binds) {
			ASSERT_OK(xs_connect(self->pull[i], name));
		} else {
			xs_uname(name, sizeof(name), "pull");
			ASSERT_OK(xs_bind(self->pull[i], name));
			ASSERT_OK(xs_connect(self->push, name));
		}
	}
}

FIXTURE_TEARDOWN(lb)
{
	int i;

	xs_close(&self->push);
	for (i = 0; i < NPULL; i++)
		xs_close(&self->pull[i]);
}

/* Read every record queued at @fd: their numbers (from "rec<N>"). */
static int drain_numbers(int fd, int *nums, int max)
{
	char buf[32];
	int n = 0, f;

	for (;;) {
		ssize_t len = xs_recv_within(fd, buf, sizeof(buf) - 1, 0, &f,
					     xs_quiet_ms());

		if (len < 0)
			return errno == EAGAIN ? n : -1;
		buf[len] = 0;
		if ((f & MSG_EOR) || n >= max ||
		    sscanf(buf, "rec%d", &nums[n]) != 1)
			return -1;
		/* the second part of each record */
		len = xs_recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT, &f);
		if (len != 3 || !(f & MSG_EOR))
			return -1;
		n++;
	}
}

TEST_F(lb, push_deals_records_round_robin)
{
	int rounds = 3, total = rounds * NPULL;
	int nums[NPULL][16], got[NPULL], seen = 0;
	char buf[32];
	int i, j;

	for (i = 0; i < total; i++) {
		snprintf(buf, sizeof(buf), "rec%d", i);
		ASSERT_SEND(self->push, buf, MSG_DONTWAIT);
		ASSERT_SEND(self->push, "end", MSG_DONTWAIT | MSG_EOR);
	}
	for (i = 0; i < NPULL; i++) {
		got[i] = 0;
		for (;;) {
			int f;
			ssize_t len = xs_recv_within(self->pull[i], buf,
						     sizeof(buf) - 1, 0, &f,
						     xs_quiet_ms() * 4);

			if (len < 0)
				break;
			buf[len] = 0;
			ASSERT_EQ(0, f & MSG_EOR);
			ASSERT_EQ(1, sscanf(buf, "rec%d", &nums[i][got[i]]));
			ASSERT_PART(self->pull[i], "end", MSG_EOR);
			got[i]++;
			ASSERT_LE(got[i], 15);
		}
		ASSERT_EQ(EAGAIN, errno);
	}
	for (i = 0; i < NPULL; i++) {
		ASSERT_EQ(rounds, got[i]) TH_LOG("pull %d got %d records",
						 i, got[i]);
		for (j = 1; j < rounds; j++)
			ASSERT_EQ(nums[i][0] + j * NPULL, nums[i][j])
				TH_LOG("pull %d: record %d not round-robin",
				       i, j);
		seen |= 1 << nums[i][0];
	}
	ASSERT_EQ((1 << NPULL) - 1, seen);
}

/* pull[0]'s pipe holds SNDHWM 1 + RCVHWM 1 records; the rest go to pull[1]. */
TEST(push_skips_a_full_pull)
{
	int push = xs_socket(XSPROTO_PUSH);
	int slow = xs_socket(XSPROTO_PULL);
	int fast = xs_socket(XSPROTO_PULL);
	int i, n, total = 12, nums[16];
	char buf[32];
	XS_UNAME(name, "skip");

	ASSERT_GE(push, 0);
	ASSERT_GE(slow, 0);
	ASSERT_GE(fast, 0);
	ASSERT_OK(xs_setint(push, XS_SNDHWM, 1));
	ASSERT_OK(xs_setint(slow, XS_RCVHWM, 1));
	ASSERT_OK(xs_bind(push, name));
	ASSERT_OK(xs_connect(slow, name));
	ASSERT_OK(xs_connect(fast, name));

	for (i = 0; i < total; i++) {
		snprintf(buf, sizeof(buf), "rec%d", i);
		ASSERT_SEND(push, buf, MSG_DONTWAIT);
		ASSERT_SEND(push, "end", MSG_DONTWAIT | MSG_EOR);
	}
	n = drain_numbers(slow, nums, 16);
	ASSERT_EQ(2, n);
	n = drain_numbers(fast, nums, 16);
	ASSERT_EQ(total - 2, n);
	for (i = 1; i < n; i++)
		ASSERT_LT(nums[i - 1], nums[i]);
	close(push);
	close(slow);
	close(fast);
}

/* A PULL connected to a bound PUSH takes its pipe with it when it closes. */
TEST(closed_pull_gets_no_more_records)
{
	int push = xs_socket(XSPROTO_PUSH), pull[3], nums[16], i;
	char buf[32];
	XS_UNAME(name, "closed");

	ASSERT_GE(push, 0);
	ASSERT_OK(xs_bind(push, name));
	for (i = 0; i < 3; i++) {
		pull[i] = xs_socket(XSPROTO_PULL);
		ASSERT_GE(pull[i], 0);
		ASSERT_OK(xs_connect(pull[i], name));
	}
	close(pull[2]);
	for (i = 0; i < 6; i++) {
		snprintf(buf, sizeof(buf), "rec%d", i);
		ASSERT_SEND(push, buf, MSG_DONTWAIT);
		ASSERT_SEND(push, "end", MSG_DONTWAIT | MSG_EOR);
	}
	ASSERT_EQ(3, drain_numbers(pull[0], nums, 16));
	ASSERT_EQ(3, drain_numbers(pull[1], nums, 16));
	close(push);
	close(pull[0]);
	close(pull[1]);
}

/* ---- PULL side ---------------------------------------------------------- */

FIXTURE(fq) {
	int pull, push[3];
	char name[XS_NAME_MAX + 1];
};

FIXTURE_SETUP(fq)
{
	int i;

	self->pull = xs_socket(XSPROTO_PULL);
	ASSERT_GE(self->pull, 0);
	ASSERT_OK(xs_setint(self->pull, XS_RCVHWM, 1));
	xs_uname(self->name, sizeof(self->name), "fq");
	ASSERT_OK(xs_bind(self->pull, self->name));
	for (i = 0; i < 3; i++) {
		self->push[i] = xs_socket(XSPROTO_PUSH);
		ASSERT_GE(self->push[i], 0);
		ASSERT_OK(xs_setint(self->push[i], XS_SNDHWM, 1));
		ASSERT_OK(xs_connect(self->push[i], self->name));
	}
}

FIXTURE_TEARDOWN(fq)
{
	int i;

	xs_close(&self->pull);
	for (i = 0; i < 3; i++)
		xs_close(&self->push[i]);
}

TEST_F(fq, pull_delivers_in_arrival_order)
{
	ASSERT_RECORD(self->push[0], MSG_DONTWAIT, "A1");
	ASSERT_RECORD(self->push[1], MSG_DONTWAIT, "B1", "b");
	ASSERT_RECORD(self->push[2], MSG_DONTWAIT, "C1");
	ASSERT_RECORD(self->push[1], MSG_DONTWAIT, "B2");
	ASSERT_RECORD(self->push[0], MSG_DONTWAIT, "A2", "a");

	ASSERT_RECV_RECORD(self->pull, "A1");
	ASSERT_RECV_RECORD(self->pull, "B1", "b");
	ASSERT_RECV_RECORD(self->pull, "C1");
	ASSERT_RECV_RECORD(self->pull, "B2");
	ASSERT_RECV_RECORD(self->pull, "A2", "a");
	ASSERT_NOTHING(self->pull);
}

TEST_F(fq, flooding_pusher_does_not_starve_the_others)
{
	ASSERT_RECORD(self->push[0], MSG_DONTWAIT, "A1");
	ASSERT_RECORD(self->push[0], MSG_DONTWAIT, "A2");
	ASSERT_ERRNO(EAGAIN, xs_send_str(self->push[0], "A3", MSG_DONTWAIT));

	ASSERT_RECORD(self->push[1], MSG_DONTWAIT, "B1");
	ASSERT_RECORD(self->push[1], MSG_DONTWAIT, "B2");
	ASSERT_RECORD(self->push[2], MSG_DONTWAIT, "C1");

	ASSERT_RECV_RECORD(self->pull, "A1");
	ASSERT_RECV_RECORD(self->pull, "A2");
	ASSERT_RECV_RECORD(self->pull, "B1");
	ASSERT_RECV_RECORD(self->pull, "B2");
	ASSERT_RECV_RECORD(self->pull, "C1");
	ASSERT_NOTHING(self->pull);
}

TEST_F(fq, partial_record_does_not_hold_back_complete_ones)
{
	ASSERT_SEND(self->push[0], "slow-head", MSG_DONTWAIT);
	ASSERT_RECORD(self->push[1], MSG_DONTWAIT, "quick");
	ASSERT_RECV_RECORD(self->pull, "quick");
	ASSERT_NOTHING(self->pull);
	ASSERT_SEND(self->push[0], "slow-tail", MSG_EOR);
	ASSERT_RECV_RECORD(self->pull, "slow-head", "slow-tail");
}

/* ---- direction and blocking ------------------------------------------- */

TEST(send_on_pull_is_enotsup)
{
	int pull = xs_socket(XSPROTO_PULL);
	struct mmsghdr m = { .msg_hdr = { .msg_iov = &(struct iovec){ "x", 1 },
					  .msg_iovlen = 1 } };
	XS_UNAME(name, "dir");

	ASSERT_GE(pull, 0);
	ASSERT_OK(xs_bind(pull, name));
	ASSERT_ERRNO(ENOTSUP, xs_send_str(pull, "x", MSG_EOR));
	ASSERT_ERRNO(ENOTSUP, xs_send_str(pull, "x", MSG_EOR | MSG_DONTWAIT));
	ASSERT_ERRNO(ENOTSUP, sendmmsg(pull, &m, 1, MSG_EOR));
	ASSERT_ERRNO(ENOTSUP, write(pull, "x", 1));
	close(pull);
}

TEST(recv_on_push_is_enotsup)
{
	int push = xs_socket(XSPROTO_PUSH);
	struct mmsghdr m = { .msg_hdr = { .msg_iov = &(struct iovec){ NULL, 0 },
					  .msg_iovlen = 1 } };
	char buf[4];
	XS_UNAME(name, "dir");

	ASSERT_GE(push, 0);
	ASSERT_OK(xs_bind(push, name));
	ASSERT_ERRNO(ENOTSUP, xs_recv(push, buf, sizeof(buf), 0, NULL));
	ASSERT_ERRNO(ENOTSUP, xs_recv(push, buf, sizeof(buf), MSG_DONTWAIT,
				      NULL));
	ASSERT_ERRNO(ENOTSUP, recvmmsg(push, &m, 1, MSG_DONTWAIT, NULL));
	ASSERT_ERRNO(ENOTSUP, read(push, buf, sizeof(buf)));
	close(push);
}

TEST(push_without_peers_would_block)
{
	int push = xs_socket(XSPROTO_PUSH);
	XS_UNAME(name, "alone");

	ASSERT_GE(push, 0);
	ASSERT_ERRNO(EAGAIN, xs_send_str(push, "x", MSG_EOR | MSG_DONTWAIT));
	ASSERT_OK(xs_bind(push, name));
	ASSERT_ERRNO(EAGAIN, xs_send_str(push, "x", MSG_EOR | MSG_DONTWAIT));
	ASSERT_EQ(0, xs_revents(push, POLLOUT) & POLLOUT);
	close(push);
}

TEST(push_is_never_readable_and_pull_never_writable)
{
	int push, pull;

	ASSERT_OK(xs_link(XSPROTO_PUSH, XSPROTO_PULL, -1, -1, &push, &pull,
			  NULL, 0));
	ASSERT_RECORD(push, 0, "x");
	ASSERT_PART(pull, "x", MSG_EOR);
	ASSERT_RECORD(push, 0, "y");
	xs_sleep_ms(xs_quiet_ms());
	ASSERT_EQ(0, xs_revents(push, POLLIN) & (POLLIN | POLLRDNORM));
	ASSERT_EQ(POLLOUT, xs_revents(push, POLLOUT) & POLLOUT);
	ASSERT_EQ(0, xs_revents(pull, POLLOUT) & (POLLOUT | POLLWRNORM));
	ASSERT_EQ(POLLIN, xs_revents(pull, POLLIN) & POLLIN);
	close(push);
	close(pull);
}

XS_TEST_MAIN
