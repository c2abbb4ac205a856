// SPDX-License-Identifier: GPL-2.0
/*
 * Readiness: poll, select and epoll are level-triggered and exact.
 * POLLIN exactly when a part can be read (never for a record still being
 * built), POLLOUT exactly when a first part would be accepted, POLLHUP
 * after shutdown(SHUT_RDWR), POLLRDHUP after SHUT_RD, and waiters are
 * woken by whatever changes the answer.
 *
 * Every test runs over each blocking pattern pair (PAIR<->PAIR,
 * PUSH->PULL); tx has SNDHWM 1 and rx RCVHWM 1, so the pipe holds 2.
 */
#include "xs_test.h"

#include <sys/epoll.h>
#include <sys/select.h>

FIXTURE(rd) {
	int tx, rx;
};

XS_FLOW_VARIANTS(rd);

FIXTURE_SETUP(rd)
{
	ASSERT_OK(xs_link(variant->tx_proto, variant->rx_proto, 1, 1,
			  &self->tx, &self->rx, NULL, 0));
}

FIXTURE_TEARDOWN(rd)
{
	xs_close(&self->tx);
	xs_close(&self->rx);
}

#define IN	(POLLIN | POLLRDNORM)
#define OUT	(POLLOUT | POLLWRNORM)

/* revents of @fd after giving in-flight work a moment to land. */
static short settled(int fd, short events)
{
	xs_sleep_ms(xs_quiet_ms());
	return xs_revents(fd, events);
}

TEST_F(rd, pollin_exactly_when_a_part_is_readable)
{
	short all = IN | OUT | POLLHUP | POLLERR | POLLRDHUP | POLLPRI;

	ASSERT_EQ(0, settled(self->rx, all) & (IN | POLLHUP | POLLERR));
	ASSERT_SEND(self->tx, "head", 0);
	ASSERT_EQ(0, settled(self->rx, all) & IN)
		TH_LOG("POLLIN for a record without MSG_EOR");
	ASSERT_SEND(self->tx, "tail", MSG_EOR);
	ASSERT_EQ(IN, settled(self->rx, IN) & IN);
	ASSERT_EQ(IN, xs_revents(self->rx, IN) & IN) TH_LOG("level, not edge");

	ASSERT_PART(self->rx, "head", 0);
	ASSERT_EQ(IN, xs_revents(self->rx, IN) & IN)
		TH_LOG("the rest of a record is readable");
	ASSERT_PART(self->rx, "tail", MSG_EOR);
	ASSERT_EQ(0, xs_revents(self->rx, all) & (IN | POLLHUP | POLLERR));
}

TEST_F(rd, pollout_exactly_when_a_first_part_would_be_accepted)
{
	ASSERT_EQ(OUT, xs_revents(self->tx, OUT) & OUT);
	ASSERT_RECORD(self->tx, MSG_DONTWAIT, "one");
	ASSERT_EQ(OUT, xs_revents(self->tx, OUT) & OUT);
	ASSERT_RECORD(self->tx, MSG_DONTWAIT, "two");
	ASSERT_EQ(0, xs_revents(self->tx, OUT) & OUT);
	ASSERT_ERRNO(EAGAIN, xs_send_str(self->tx, "three", MSG_DONTWAIT));
	ASSERT_EQ(0, xs_revents(self->tx, OUT) & OUT);

	ASSERT_RECV_RECORD(self->rx, "one");
	ASSERT_EQ(OUT, settled(self->tx, OUT) & OUT);
	ASSERT_RECORD(self->tx, MSG_DONTWAIT, "three");
	ASSERT_EQ(0, xs_revents(self->tx, OUT) & OUT);
}

TEST_F(rd, pollout_only_on_patterns_that_send)
{
	short rev = xs_revents(self->rx, OUT);

	ASSERT_EQ(variant->rx_proto == XSPROTO_PAIR ? OUT : 0, rev & OUT);
}

TEST_F(rd, poll_waiter_is_woken_by_a_complete_record_only)
{
	struct pollfd p = { .fd = self->rx, .events = POLLIN };
	long long t0 = xs_now_ms();

	ASSERT_SEND(self->tx, "open", 0);
	ASSERT_EQ(0, poll(&p, 1, 2 * xs_quiet_ms()));
	ASSERT_GE(xs_now_ms() - t0, 2 * xs_quiet_ms() - 5);
}

struct waiter {
	pthread_t thread;
	int fd, epfd;
	short events;
	int ret;
	short revents;
	int done;
};

static void *poll_waiter(void *arg)
{
	struct waiter *w = arg;
	struct pollfd p = { .fd = w->fd, .events = w->events };

	if (w->epfd >= 0) {
		struct epoll_event ev;

		w->ret = epoll_wait(w->epfd, &ev, 1, 30000);
		w->revents = w->ret == 1 ? ev.events : 0;
	} else {
		w->ret = poll(&p, 1, 30000);
		w->revents = p.revents;
	}
	__atomic_store_n(&w->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static int start_waiter(struct waiter *w, int fd, int epfd, short events)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->epfd = epfd;
	w->events = events;
	return pthread_create(&w->thread, NULL, poll_waiter, w);
}

static int waiter_done_within(struct waiter *w, int ms)
{
	long long end = xs_now_ms() + ms;

	while (!__atomic_load_n(&w->done, __ATOMIC_SEQ_CST)) {
		if (xs_now_ms() >= end)
			return 0;
		xs_sleep_ms(1);
	}
	pthread_join(w->thread, NULL);
	return 1;
}

TEST_F(rd, poll_wakes_when_the_record_completes)
{
	struct waiter w;

	ASSERT_OK(start_waiter(&w, self->rx, -1, POLLIN));
	ASSERT_SEND(self->tx, "head", 0);
	ASSERT_FALSE(waiter_done_within(&w, 2 * xs_quiet_ms()));
	ASSERT_SEND(self->tx, "tail", MSG_EOR);
	ASSERT_TRUE(waiter_done_within(&w, xs_wait_ms()));
	ASSERT_EQ(1, w.ret);
	ASSERT_EQ(POLLIN, w.revents & POLLIN);
}

TEST_F(rd, poll_wakes_when_room_appears)
{
	struct waiter w;

	ASSERT_RECORD(self->tx, MSG_DONTWAIT, "one");
	ASSERT_RECORD(self->tx, MSG_DONTWAIT, "two");
	ASSERT_OK(start_waiter(&w, self->tx, -1, POLLOUT));
	ASSERT_FALSE(waiter_done_within(&w, 2 * xs_quiet_ms()));
	ASSERT_RECV_RECORD(self->rx, "one");
	ASSERT_TRUE(waiter_done_within(&w, xs_wait_ms()));
	ASSERT_EQ(1, w.ret);
	ASSERT_EQ(POLLOUT, w.revents & POLLOUT);
}

TEST_F(rd, epoll_is_level_triggered)
{
	struct epoll_event ev = { .events = EPOLLIN }, out[2];
	int ep = epoll_create1(0);

	ASSERT_GE(ep, 0);
	ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, self->rx, &ev));
	ASSERT_EQ(0, epoll_wait(ep, out, 2, 0));
	ASSERT_RECORD(self->tx, 0, "a", "b");
	ASSERT_EQ(1, epoll_wait(ep, out, 2, xs_wait_ms()));
	ASSERT_EQ(EPOLLIN, (int)(out[0].events & EPOLLIN));
	ASSERT_EQ(1, epoll_wait(ep, out, 2, 0)) TH_LOG("still readable");
	ASSERT_PART(self->rx, "a", 0);
	ASSERT_EQ(1, epoll_wait(ep, out, 2, 0)) TH_LOG("rest of the record");
	ASSERT_PART(self->rx, "b", MSG_EOR);
	ASSERT_EQ(0, epoll_wait(ep, out, 2, 0));
	close(ep);
}

TEST_F(rd, epoll_pollout_tracks_room)
{
	struct epoll_event ev = { .events = EPOLLOUT }, out[2];
	int ep = epoll_create1(0);

	ASSERT_GE(ep, 0);
	ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, self->tx, &ev));
	ASSERT_EQ(1, epoll_wait(ep, out, 2, 0));
	ASSERT_RECORD(self->tx, MSG_DONTWAIT, "one");
	ASSERT_RECORD(self->tx, MSG_DONTWAIT, "two");
	ASSERT_EQ(0, epoll_wait(ep, out, 2, 0));
	ASSERT_RECV_RECORD(self->rx, "one");
	ASSERT_EQ(1, epoll_wait(ep, out, 2, xs_wait_ms()));
	ASSERT_EQ(EPOLLOUT, (int)(out[0].events & EPOLLOUT));
	close(ep);
}

TEST_F(rd, epoll_waiter_is_woken_by_a_record)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct waiter w;
	int ep = epoll_create1(0);

	ASSERT_GE(ep, 0);
	ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, self->rx, &ev));
	ASSERT_OK(start_waiter(&w, self->rx, ep, 0));
	ASSERT_SEND(self->tx, "head", 0);
	ASSERT_FALSE(waiter_done_within(&w, 2 * xs_quiet_ms()));
	ASSERT_SEND(self->tx, "tail", MSG_EOR);
	ASSERT_TRUE(waiter_done_within(&w, xs_wait_ms()));
	ASSERT_EQ(1, w.ret);
	ASSERT_EQ(EPOLLIN, w.revents & EPOLLIN);
	close(ep);
}

/* XS_RCVHELD: a library holding parts it read ahead keeps POLLIN up. */
TEST_F(rd, rcvheld_makes_poll_readable_until_cleared)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct waiter w;
	int ep = epoll_create1(0);

	ASSERT_EQ(0, xs_getint(self->rx, SOL_XS, XS_RCVHELD));
	ASSERT_EQ(0, settled(self->rx, IN) & IN);
	/* a poller and an epoll waiter asleep are woken by it */
	ASSERT_GE(ep, 0);
	ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, self->rx, &ev));
	ASSERT_OK(start_waiter(&w, self->rx, -1, POLLIN));
	ASSERT_FALSE(waiter_done_within(&w, 2 * xs_quiet_ms()));
	ASSERT_OK(xs_setint(self->rx, XS_RCVHELD, 1));
	ASSERT_TRUE(waiter_done_within(&w, xs_wait_ms()));
	ASSERT_EQ(POLLIN, w.revents & POLLIN);
	ASSERT_EQ(1, epoll_wait(ep, &ev, 1, 0));
	ASSERT_EQ(1, xs_getint(self->rx, SOL_XS, XS_RCVHELD));
	/* level: still readable, and the queue really is empty */
	ASSERT_EQ(IN, xs_revents(self->rx, IN) & IN);
	ASSERT_NOTHING(self->rx);
	ASSERT_EQ(IN, xs_revents(self->rx, IN) & IN);
	ASSERT_OK(xs_setint(self->rx, XS_RCVHELD, 0));
	ASSERT_EQ(0, xs_revents(self->rx, IN) & IN);
	ASSERT_EQ(0, epoll_wait(ep, &ev, 1, 0));
	/* 0 or 1 only; a socket that cannot receive has nothing to hold */
	ASSERT_ERRNO(EINVAL, xs_setint(self->rx, XS_RCVHELD, 2));
	ASSERT_ERRNO(EINVAL, xs_setint(self->rx, XS_RCVHELD, -1));
	ASSERT_EQ(0, xs_getint(self->rx, SOL_XS, XS_RCVHELD));
	if (variant->tx_proto == XSPROTO_PUSH)
		ASSERT_ERRNO(EOPNOTSUPP, xs_setint(self->tx, XS_RCVHELD, 1));
	close(ep);
}

TEST_F(rd, select_sees_readable_and_writable)
{
	struct timeval tv = { 0, 0 };
	fd_set r, w;

	FD_ZERO(&r);
	FD_SET(self->rx, &r);
	ASSERT_EQ(0, select(self->rx + 1, &r, NULL, NULL, &tv));
	ASSERT_RECORD(self->tx, 0, "x");
	tv.tv_sec = xs_wait_ms() / 1000;
	FD_ZERO(&r);
	FD_SET(self->rx, &r);
	ASSERT_EQ(1, select(self->rx + 1, &r, NULL, NULL, &tv));
	ASSERT_TRUE(FD_ISSET(self->rx, &r));

	tv.tv_sec = 0;
	FD_ZERO(&w);
	FD_SET(self->tx, &w);
	ASSERT_EQ(1, select(self->tx + 1, NULL, &w, NULL, &tv));
	ASSERT_TRUE(FD_ISSET(self->tx, &w));
}

TEST_F(rd, pollhup_after_shutdown_rdwr_and_rdhup_after_shut_rd)
{
	short ev = POLLIN | POLLOUT | POLLRDHUP;

	ASSERT_EQ(0, xs_revents(self->rx, ev) & (POLLHUP | POLLRDHUP | POLLERR));
	ASSERT_OK(shutdown(self->rx, SHUT_RD));
	ASSERT_EQ(POLLRDHUP, xs_revents(self->rx, ev) & POLLRDHUP);
	ASSERT_EQ(0, xs_revents(self->rx, ev) & (POLLHUP | POLLERR));

	ASSERT_EQ(0, xs_revents(self->tx, ev) & (POLLHUP | POLLRDHUP));
	ASSERT_OK(shutdown(self->tx, SHUT_RDWR));
	ASSERT_EQ(POLLHUP, xs_revents(self->tx, ev) & POLLHUP);
	ASSERT_EQ(0, xs_revents(self->tx, ev) & POLLERR);
}

TEST_F(rd, poll_waiter_is_woken_by_shutdown)
{
	struct waiter w;

	ASSERT_OK(start_waiter(&w, self->rx, -1, POLLIN));
	ASSERT_FALSE(waiter_done_within(&w, 2 * xs_quiet_ms()));
	ASSERT_OK(shutdown(self->rx, SHUT_RDWR));
	ASSERT_TRUE(waiter_done_within(&w, xs_wait_ms()));
	ASSERT_EQ(1, w.ret);
	ASSERT_EQ(POLLHUP, w.revents & POLLHUP);
}

XS_TEST_MAIN
