// SPDX-License-Identifier: GPL-2.0
/*
 * Events: a monitor socket (XSPROTO_MONITOR) pointed at another socket
 * with XS_MONITOR receives one struct xs_event per record: peers
 * connecting and leaving, names bound and unbound under a connector,
 * records dropped (which peer, why), subscriptions changing, and the
 * monitored socket closing.  The queue is bounded (XS_RCVHWM, SO_RCVBUF)
 * and losses are counted; only the socket's owner (or CAP_NET_ADMIN in
 * its network namespace) may watch it, only from that namespace.
 */
#include "xs_test.h"

struct ev {
	struct xs_event h;
	char data[XS_PREFIX_MAX + 1];	/* NUL-terminated copy */
};

static unsigned long ino_of(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : st.st_ino;
}

/* A monitor of @target for @events (0: all); -1 with errno on failure. */
static int monitor(int target, unsigned int events)
{
	struct xs_monitor_req req = { .fd = target, .events = events };
	int mon = xs_socket(XSPROTO_MONITOR);

	if (mon < 0)
		return -1;
	if (setsockopt(mon, SOL_XS, XS_MONITOR, &req, sizeof(req))) {
		int e = errno;

		close(mon);
		errno = e;
		return -1;
	}
	return mon;
}

static int set_monitor(int mon, int target, unsigned int events)
{
	struct xs_monitor_req req = { .fd = target, .events = events };

	return setsockopt(mon, SOL_XS, XS_MONITOR, &req, sizeof(req));
}

/*
 * The next event within @ms: 0, 1 at the end of the stream, or -1 (errno
 * EAGAIN: none; EPROTO: malformed).
 */
static int next_event(int mon, struct ev *e, int ms)
{
	char buf[sizeof(struct xs_event) + XS_PREFIX_MAX + 16];
	int fl = 0;
	ssize_t n = xs_recv_within(mon, buf, sizeof(buf), 0, &fl, ms);

	if (n < 0)
		return -1;
	if (n == 0)
		return 1;
	memset(e, 0, sizeof(*e));
	if (n < (ssize_t)sizeof(e->h) || !(fl & MSG_EOR)) {
		errno = EPROTO;
		return -1;
	}
	memcpy(&e->h, buf, sizeof(e->h));
	if (e->h.len != n - sizeof(e->h) || e->h.len > XS_PREFIX_MAX) {
		errno = EPROTO;
		return -1;
	}
	memcpy(e->data, buf + sizeof(e->h), e->h.len);
	return 0;
}

#define ASSERT_EVENT(mon, e, want_type) do {				\
	ASSERT_OK(next_event((mon), (e), xs_wait_ms()));		\
	ASSERT_EQ((unsigned int)(want_type), (e)->h.type)		\
		TH_LOG("event type %#x", (e)->h.type);			\
} while (0)

#define ASSERT_NO_EVENT(mon)						\
	ASSERT_TRUE(xs_nothing_arrives(mon))

TEST(monitor_socket_is_no_pattern)
{
	int mon = xs_socket(XSPROTO_MONITOR), pull = xs_socket(XSPROTO_PULL);
	XS_UNAME(name, "mon");

	ASSERT_LE(0, mon);
	EXPECT_ERRNO(EOPNOTSUPP, xs_bind(mon, name));
	EXPECT_ERRNO(EOPNOTSUPP, xs_connect(mon, name));
	EXPECT_ERRNO(EOPNOTSUPP, xs_send_str(mon, "x", MSG_EOR));
	/* nothing to read yet, and no hang-up before it watches anything */
	EXPECT_ERRNO(EAGAIN, xs_recv(mon, name, 1, MSG_DONTWAIT, NULL));
	EXPECT_EQ(0, xs_revents(mon, POLLIN | POLLOUT | POLLRDHUP));
	EXPECT_EQ(XSPROTO_MONITOR - 1, xs_getint(mon, SOL_XS, XS_TYPE));
	EXPECT_EQ(0U, xs_getu64(mon, XS_EVENTS_LOST));
	/* XS_MONITOR is the monitor's only */
	EXPECT_ERRNO(EINVAL, set_monitor(pull, mon, 0));
	/* the neighbours of its protocol number are not sockets */
	EXPECT_ERRNO(EPROTONOSUPPORT, xs_socket(XSPROTO_MONITOR - 1));
	EXPECT_ERRNO(EPROTONOSUPPORT, xs_socket(XSPROTO_MONITOR + 1));
	close(mon);
	close(pull);
}

TEST(connector_hears_its_name_bound_and_unbound)
{
	int b = xs_socket(XSPROTO_PULL), c = xs_socket(XSPROTO_PUSH), mon;
	XS_UNAME(name, "conn");
	struct ev e;

	mon = monitor(c, 0);
	ASSERT_LE(0, mon);
	ASSERT_OK(xs_connect(c, name));
	ASSERT_NO_EVENT(mon);		/* nobody bound it yet */
	ASSERT_OK(xs_bind(b, name));
	ASSERT_EVENT(mon, &e, XS_EVENT_CONNECTED);
	EXPECT_STREQ(name, e.data);
	EXPECT_EQ(ino_of(c), e.h.ino);
	EXPECT_EQ(ino_of(b), e.h.peer);
	EXPECT_EQ(1U, e.h.peers);
	EXPECT_EQ(0U, e.h.lost);
	EXPECT_EQ(0U, e.h.reason);
	ASSERT_OK(setsockopt(b, SOL_XS, XS_UNBIND, name, strlen(name)));
	ASSERT_EVENT(mon, &e, XS_EVENT_DISCONNECTED);
	EXPECT_STREQ(name, e.data);
	EXPECT_EQ(ino_of(b), e.h.peer);
	EXPECT_EQ(0U, e.h.peers);
	/* bound again, by another socket */
	close(b);
	b = xs_socket(XSPROTO_PULL);
	ASSERT_OK(xs_bind(b, name));
	ASSERT_EVENT(mon, &e, XS_EVENT_CONNECTED);
	EXPECT_EQ(ino_of(b), e.h.peer);
	ASSERT_NO_EVENT(mon);
	close(b);
	close(c);
	close(mon);
}

TEST(binder_hears_connectors_come_and_go)
{
	int b = xs_socket(XSPROTO_PULL), c1 = xs_socket(XSPROTO_PUSH);
	int c2 = xs_socket(XSPROTO_PUSH), mon;
	XS_UNAME(name, "bind");
	struct ev e;

	ASSERT_OK(xs_bind(b, name));
	mon = monitor(b, 0);
	ASSERT_LE(0, mon);
	ASSERT_OK(xs_connect(c1, name));
	ASSERT_EVENT(mon, &e, XS_EVENT_ACCEPTED);
	EXPECT_STREQ(name, e.data);
	EXPECT_EQ(ino_of(c1), e.h.peer);
	EXPECT_EQ(1U, e.h.peers);
	ASSERT_OK(xs_connect(c2, name));
	ASSERT_EVENT(mon, &e, XS_EVENT_ACCEPTED);
	EXPECT_EQ(ino_of(c2), e.h.peer);
	EXPECT_EQ(2U, e.h.peers);
	ASSERT_OK(setsockopt(c1, SOL_XS, XS_DISCONNECT, name, strlen(name)));
	ASSERT_EVENT(mon, &e, XS_EVENT_DISCONNECTED);
	EXPECT_EQ(ino_of(c1), e.h.peer);
	EXPECT_EQ(1U, e.h.peers);
	close(c2);
	ASSERT_EVENT(mon, &e, XS_EVENT_DISCONNECTED);
	EXPECT_EQ(0U, e.h.peers);
	ASSERT_NO_EVENT(mon);
	close(c1);
	close(b);
	close(mon);
}

TEST(drops_name_the_peer_and_the_reason_on_both_sides)
{
	int pub = xs_socket(XSPROTO_PUB), sub = xs_socket(XSPROTO_SUB);
	int mpub, msub, i;
	XS_UNAME(name, "drop");
	struct ev e;

	ASSERT_OK(xs_setint(pub, XS_SNDHWM, 0));
	ASSERT_OK(xs_setint(sub, XS_RCVHWM, 1));
	ASSERT_OK(xs_bind(pub, name));
	ASSERT_OK(xs_connect(sub, name));
	ASSERT_OK(setsockopt(sub, SOL_XS, XS_SUBSCRIBE, "", 0));
	mpub = monitor(pub, XS_EVENT_DROPPED);
	msub = monitor(sub, XS_EVENT_MISSED);
	ASSERT_LE(0, mpub);
	ASSERT_LE(0, msub);
	for (i = 0; i < 3; i++)
		ASSERT_RECORD(pub, 0, "r");
	for (i = 0; i < 2; i++) {
		ASSERT_EVENT(mpub, &e, XS_EVENT_DROPPED);
		EXPECT_EQ(XS_REASON_FULL, e.h.reason);
		EXPECT_EQ(ino_of(sub), e.h.peer);
		EXPECT_EQ(ino_of(pub), e.h.ino);
		ASSERT_EVENT(msub, &e, XS_EVENT_MISSED);
		EXPECT_EQ(XS_REASON_FULL, e.h.reason);
		EXPECT_EQ(ino_of(pub), e.h.peer);
	}
	ASSERT_NO_EVENT(mpub);
	ASSERT_NO_EVENT(msub);
	close(pub);
	close(sub);
	close(mpub);
	close(msub);
}

TEST(publisher_hears_subscriptions_change)
{
	int pub = xs_socket(XSPROTO_XPUB), sub = xs_socket(XSPROTO_SUB), mon;
	XS_UNAME(name, "subs");
	struct ev e;

	ASSERT_OK(xs_bind(pub, name));
	mon = monitor(pub, XS_EVENT_SUBSCRIBED | XS_EVENT_UNSUBSCRIBED);
	ASSERT_LE(0, mon);
	ASSERT_OK(xs_connect(sub, name));
	ASSERT_OK(setsockopt(sub, SOL_XS, XS_SUBSCRIBE, "abc", 3));
	ASSERT_EVENT(mon, &e, XS_EVENT_SUBSCRIBED);
	EXPECT_EQ(3U, e.h.len);
	EXPECT_STREQ("abc", e.data);
	EXPECT_EQ(ino_of(sub), e.h.peer);
	/* a duplicate subscription changes nothing at the publisher */
	ASSERT_OK(setsockopt(sub, SOL_XS, XS_SUBSCRIBE, "abc", 3));
	ASSERT_OK(setsockopt(sub, SOL_XS, XS_SUBSCRIBE, "", 0));
	ASSERT_EVENT(mon, &e, XS_EVENT_SUBSCRIBED);
	EXPECT_EQ(0U, e.h.len);
	ASSERT_OK(setsockopt(sub, SOL_XS, XS_UNSUBSCRIBE, "abc", 3));
	ASSERT_NO_EVENT(mon);
	ASSERT_OK(setsockopt(sub, SOL_XS, XS_UNSUBSCRIBE, "abc", 3));
	ASSERT_EVENT(mon, &e, XS_EVENT_UNSUBSCRIBED);
	EXPECT_STREQ("abc", e.data);
	/* a subscriber leaving takes its subscriptions along */
	close(sub);
	ASSERT_EVENT(mon, &e, XS_EVENT_UNSUBSCRIBED);
	EXPECT_EQ(0U, e.h.len);
	ASSERT_NO_EVENT(mon);	/* the mask: no DISCONNECTED */
	close(pub);
	close(mon);
}

TEST(closing_the_watched_socket_ends_the_stream)
{
	int b = xs_socket(XSPROTO_PULL), c = xs_socket(XSPROTO_PUSH), mon;
	XS_UNAME(name, "close");
	unsigned long ino = ino_of(b);
	struct ev e;
	char x;

	ASSERT_OK(xs_bind(b, name));
	ASSERT_OK(xs_connect(c, name));
	mon = monitor(b, 0);
	ASSERT_LE(0, mon);
	EXPECT_EQ(0, xs_revents(mon, POLLIN));
	close(b);
	/* its peers leave first, then it closes: the last event */
	ASSERT_EVENT(mon, &e, XS_EVENT_DISCONNECTED);
	EXPECT_EQ(ino_of(c), e.h.peer);
	ASSERT_EQ(POLLIN, xs_revents(mon, POLLIN) & POLLIN);
	ASSERT_EVENT(mon, &e, XS_EVENT_CLOSED);
	EXPECT_EQ(ino, e.h.ino);
	EXPECT_EQ(0U, e.h.peer);
	/* then end of stream, at once and for good */
	EXPECT_EQ(0, xs_recv(mon, &x, 1, 0, NULL));
	EXPECT_EQ(0, xs_recv(mon, &x, 1, MSG_DONTWAIT, NULL));
	EXPECT_EQ(POLLIN | POLLRDHUP,
		  xs_revents(mon, POLLIN | POLLRDHUP) & (POLLIN | POLLRDHUP));
	/* it watches nothing now, and may not start again */
	b = xs_socket(XSPROTO_PULL);
	EXPECT_ERRNO(EISCONN, set_monitor(mon, b, 0));
	close(b);
	close(c);
	close(mon);
}

TEST(blocked_reader_wakes_when_the_watched_socket_closes)
{
	int b = xs_socket(XSPROTO_PULL), mon;
	struct xs_bg bg;

	mon = monitor(b, XS_EVENT_DROPPED);	/* no CLOSED event wanted */
	ASSERT_LE(0, mon);
	ASSERT_EQ(0, xs_bg_recv(&bg, mon, 0));
	ASSERT_TRUE(xs_bg_blocks(&bg));
	close(b);
	ASSERT_TRUE(xs_bg_finish(&bg, xs_wait_ms()));
	EXPECT_EQ(0, bg.ret);
	close(mon);
}

/* @n drops at @pub (its only subscriber holds one record). */
static int make_drops(int pub, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (xs_send_str(pub, "r", MSG_EOR) != 1)
			return -1;
	return 0;
}

static int full_pub(int *pub, int *sub)
{
	char name[XS_NAME_MAX + 1];

	xs_uname(name, sizeof(name), "full");
	*pub = xs_socket(XSPROTO_PUB);
	*sub = xs_socket(XSPROTO_SUB);
	if (xs_setint(*pub, XS_SNDHWM, 0) || xs_setint(*sub, XS_RCVHWM, 1) ||
	    xs_bind(*pub, name) || xs_connect(*sub, name) ||
	    setsockopt(*sub, SOL_XS, XS_SUBSCRIBE, "", 0))
		return -1;
	return xs_send_str(*pub, "first", MSG_EOR) == 5 ? 0 : -1;
}

TEST(events_are_bounded_and_losses_counted)
{
	int pub, sub, mon, i, n = 100;
	struct xs_stats st;
	socklen_t len = sizeof(st);
	struct ev e;

	ASSERT_OK(full_pub(&pub, &sub));
	mon = monitor(pub, XS_EVENT_DROPPED);
	ASSERT_LE(0, mon);
	ASSERT_OK(xs_setint(mon, XS_RCVHWM, 4));
	ASSERT_OK(make_drops(pub, n));
	ASSERT_EQ(4U, (unsigned int)xs_proc_field(mon, "rx_records"));
	ASSERT_EQ((uint64_t)n - 4, xs_getu64(mon, XS_EVENTS_LOST));
	for (i = 0; i < 4; i++) {
		ASSERT_EVENT(mon, &e, XS_EVENT_DROPPED);
		EXPECT_EQ(0U, e.h.lost);
	}
	ASSERT_NO_EVENT(mon);
	/* the next event says how many were lost before it */
	ASSERT_OK(make_drops(pub, 1));
	ASSERT_EVENT(mon, &e, XS_EVENT_DROPPED);
	EXPECT_EQ((uint64_t)n - 4, e.h.lost);
	ASSERT_OK(make_drops(pub, 1));
	ASSERT_EVENT(mon, &e, XS_EVENT_DROPPED);
	EXPECT_EQ(0U, e.h.lost);
	/* the totals, also in XS_STATS */
	ASSERT_OK(getsockopt(mon, SOL_XS, XS_STATS, &st, &len));
	EXPECT_EQ((uint64_t)n - 4, st.events_lost);
	EXPECT_EQ(6U, st.recv_records);
	/* nothing of it shows at the publisher */
	EXPECT_EQ((uint64_t)n + 2, xs_getu64(pub, XS_DROPS));
	close(pub);
	close(sub);
	close(mon);
}

TEST(event_queue_limits_at_zero_one_and_int_max)
{
	int pub, sub, mon, rcvbuf, n = 200;
	socklen_t len = sizeof(rcvbuf);
	long long mem;

	ASSERT_OK(full_pub(&pub, &sub));
	mon = monitor(pub, XS_EVENT_DROPPED);
	ASSERT_LE(0, mon);

	/* RCVHWM 1: one event queued, the rest lost */
	ASSERT_OK(xs_setint(mon, XS_RCVHWM, 1));
	ASSERT_OK(make_drops(pub, 10));
	ASSERT_EQ(1, xs_proc_field(mon, "rx_records"));
	ASSERT_EQ(9U, xs_getu64(mon, XS_EVENTS_LOST));
	close(mon);

	/* RCVHWM INT_MAX: all of them */
	mon = monitor(pub, XS_EVENT_DROPPED);
	ASSERT_LE(0, mon);
	ASSERT_OK(xs_setint(mon, XS_RCVHWM, 0x7fffffff));
	ASSERT_OK(make_drops(pub, n));
	ASSERT_EQ(n, xs_proc_field(mon, "rx_records"));
	ASSERT_EQ(0U, xs_getu64(mon, XS_EVENTS_LOST));
	close(mon);

	/* RCVHWM 0 (none): SO_RCVBUF still bounds what the kernel holds */
	mon = monitor(pub, XS_EVENT_DROPPED);
	ASSERT_LE(0, mon);
	ASSERT_OK(xs_setint(mon, XS_RCVHWM, 0));
	rcvbuf = 4096;
	ASSERT_OK(setsockopt(mon, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
			     sizeof(rcvbuf)));
	ASSERT_OK(getsockopt(mon, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &len));
	ASSERT_OK(make_drops(pub, n));
	mem = xs_proc_field(mon, "rx_mem");
	ASSERT_LT(0, mem);
	ASSERT_LE(mem, rcvbuf);
	ASSERT_LT(0U, xs_getu64(mon, XS_EVENTS_LOST));
	ASSERT_EQ((uint64_t)n, xs_proc_field(mon, "rx_records") +
			       xs_getu64(mon, XS_EVENTS_LOST));
	close(mon);
	close(pub);
	close(sub);
}

TEST(event_mask_is_checked_and_filters)
{
	int b = xs_socket(XSPROTO_PULL), c = xs_socket(XSPROTO_PUSH), mon;
	XS_UNAME(name, "mask");
	struct xs_monitor_req req = { .fd = b, .events = 0x100 };
	struct ev e;

	mon = xs_socket(XSPROTO_MONITOR);
	EXPECT_ERRNO(EINVAL, setsockopt(mon, SOL_XS, XS_MONITOR, &req,
					sizeof(req)));
	req.events = ~0U;
	EXPECT_ERRNO(EINVAL, setsockopt(mon, SOL_XS, XS_MONITOR, &req,
					sizeof(req)));
	req.events = 0;
	EXPECT_ERRNO(EINVAL, setsockopt(mon, SOL_XS, XS_MONITOR, &req,
					sizeof(req) - 1));
	EXPECT_ERRNO(EINVAL, setsockopt(mon, SOL_XS, XS_MONITOR, &req,
					sizeof(req) + 1));
	EXPECT_ERRNO(EINVAL, setsockopt(mon, SOL_XS, XS_MONITOR, &req, 0));
	EXPECT_ERRNO(EFAULT, setsockopt(mon, SOL_XS, XS_MONITOR,
					xs_unmapped(), sizeof(req)));
	/* the failures left it unused */
	ASSERT_OK(set_monitor(mon, b, XS_EVENT_DISCONNECTED));
	ASSERT_OK(xs_bind(b, name));
	ASSERT_OK(xs_connect(c, name));
	ASSERT_NO_EVENT(mon);		/* ACCEPTED was not asked for */
	close(c);
	ASSERT_EVENT(mon, &e, XS_EVENT_DISCONNECTED);
	close(b);
	ASSERT_EQ(1, next_event(mon, &e, xs_wait_ms()));	/* no CLOSED */
	close(mon);
}

TEST(only_af_xs_sockets_can_be_watched_once)
{
	int mon = xs_socket(XSPROTO_MONITOR), mon2 = xs_socket(XSPROTO_MONITOR);
	int p[2], u = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	int pull = xs_socket(XSPROTO_PULL), pull2 = xs_socket(XSPROTO_PULL);

	ASSERT_OK(pipe(p));
	EXPECT_ERRNO(EBADF, set_monitor(mon, -1, 0));
	EXPECT_ERRNO(EBADF, set_monitor(mon, 100000, 0));
	EXPECT_ERRNO(ENOTSOCK, set_monitor(mon, p[0], 0));
	EXPECT_ERRNO(EINVAL, set_monitor(mon, u, 0));
	EXPECT_ERRNO(EINVAL, set_monitor(mon, mon, 0));
	EXPECT_ERRNO(EINVAL, set_monitor(mon, mon2, 0));
	ASSERT_OK(set_monitor(mon, pull, 0));
	/* one monitor per socket, one socket per monitor */
	EXPECT_ERRNO(EBUSY, set_monitor(mon2, pull, 0));
	EXPECT_ERRNO(EISCONN, set_monitor(mon, pull2, 0));
	EXPECT_ERRNO(EISCONN, set_monitor(mon, pull, 0));
	/* a monitor that closes frees its socket for another */
	close(mon);
	ASSERT_OK(set_monitor(mon2, pull, 0));
	close(mon2);
	close(pull);
	close(pull2);
	close(u);
	close(p[0]);
	close(p[1]);
}

/* In a child: the errno of watching @target, as the exit code. */
static int child_monitor_errno(int target)
{
	int mon = xs_socket(XSPROTO_MONITOR);

	if (mon < 0)
		return 100;
	if (!set_monitor(mon, target, 0))
		return 0;
	return errno;
}

TEST(another_user_cannot_watch_a_socket_it_does_not_own)
{
	int pull = xs_socket(XSPROTO_PULL), st;
	pid_t pid;

	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int mine;

		/* it holds the descriptor, inherited, but not the socket */
		if (setgid(65534) || setuid(65534))
			_exit(101);
		if (child_monitor_errno(pull) != EPERM)
			_exit(1);
		/* its own socket it may watch */
		mine = xs_socket(XSPROTO_PUSH);
		_exit(child_monitor_errno(mine) ? 2 : 0);
	}
	st = xs_wait_child(pid);
	ASSERT_EQ(0, st);
	close(pull);
}

TEST(another_network_namespace_cannot_watch)
{
	int pull = xs_socket(XSPROTO_PULL), st;
	pid_t pid;

	pid = xs_fork_netns();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(child_monitor_errno(pull) == EPERM ? 0 : 1);
	st = xs_wait_child(pid);
	if (st == XS_NO_NETNS)
		SKIP(return, "no network namespaces");
	ASSERT_EQ(0, st);
	close(pull);
}

/*
 * The monitor goes while another thread keeps making events for it: no
 * event outlives it (kmemleak, KASAN), and the socket can be watched
 * again at once.
 */
struct storm {
	int pub;
	int stop;
};

static void *storm_main(void *arg)
{
	struct storm *s = arg;

	while (!__atomic_load_n(&s->stop, __ATOMIC_SEQ_CST))
		if (xs_send_str(s->pub, "r", MSG_EOR) != 1)
			break;
	return NULL;
}

TEST(monitor_closed_while_events_are_in_flight)
{
	int pub, sub, mon, round, rounds = xs_iters(60, 5);
	struct storm s;
	pthread_t t;
	struct ev e;

	ASSERT_OK(full_pub(&pub, &sub));
	s.pub = pub;
	s.stop = 0;
	ASSERT_EQ(0, pthread_create(&t, NULL, storm_main, &s));
	for (round = 0; round < rounds; round++) {
		mon = monitor(pub, 0);
		ASSERT_LE(0, mon);
		if (round & 1)
			ASSERT_OK(next_event(mon, &e, xs_wait_ms()));
		close(mon);
	}
	__atomic_store_n(&s.stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(t, NULL);
	close(pub);
	close(sub);
	ASSERT_ALL_GONE();
}

/* The watched socket closes while its events are being made and read. */
TEST(owner_closes_while_watched_and_read)
{
	int pub, sub, mon, round, rounds = xs_iters(30, 3);
	struct storm s;
	pthread_t t;
	struct ev e;
	int got;

	for (round = 0; round < rounds; round++) {
		ASSERT_OK(full_pub(&pub, &sub));
		mon = monitor(pub, 0);
		ASSERT_LE(0, mon);
		s.pub = pub;
		s.stop = 0;
		ASSERT_EQ(0, pthread_create(&t, NULL, storm_main, &s));
		ASSERT_OK(next_event(mon, &e, xs_wait_ms()));
		__atomic_store_n(&s.stop, 1, __ATOMIC_SEQ_CST);
		pthread_join(t, NULL);
		close(pub);
		close(sub);
		/* drains to CLOSED (unless lost), then end of stream */
		while ((got = next_event(mon, &e, xs_wait_ms())) == 0 &&
		       e.h.type != XS_EVENT_CLOSED)
			;
		if (!got)
			got = next_event(mon, &e, xs_wait_ms());
		ASSERT_EQ(1, got);
		close(mon);
	}
}

XS_TEST_MAIN
