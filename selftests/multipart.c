// SPDX-License-Identifier: GPL-2.0
/*
 * Records made of parts: atomic delivery, ordering, MSG_EOR placement,
 * sendmmsg/recvmmsg, MSG_PEEK, MSG_TRUNC, FIONREAD, XS_RCVMORE, and what
 * happens to a record whose sender closes, dies or races another thread.
 *
 * Every test runs over each blocking pattern pair (PAIR<->PAIR,
 * PUSH->PULL): tx connects to the name rx binds.
 */
#include "xs_test.h"

FIXTURE(mp) {
	int tx, rx;
	char name[XS_NAME_MAX + 1];
};

XS_FLOW_VARIANTS(mp);

FIXTURE_SETUP(mp)
{
	ASSERT_OK(xs_link(variant->tx_proto, variant->rx_proto, -1, -1,
			  &self->tx, &self->rx, self->name,
			  sizeof(self->name)));
}

FIXTURE_TEARDOWN(mp)
{
	xs_close(&self->tx);
	xs_close(&self->rx);
}

TEST_F(mp, parts_are_invisible_until_eor)
{
	int n = -1;

	ASSERT_SEND(self->tx, "first", 0);
	ASSERT_SEND(self->tx, "second", 0);

	ASSERT_NOTHING(self->rx);
	ASSERT_ERRNO(EAGAIN, xs_recv(self->rx, &n, sizeof(n), MSG_DONTWAIT,
				     NULL));
	ASSERT_EQ(0, xs_revents(self->rx, POLLIN) & POLLIN);
	ASSERT_OK(ioctl(self->rx, FIONREAD, &n));
	ASSERT_EQ(0, n);

	ASSERT_SEND(self->tx, "third", MSG_EOR);
	ASSERT_RECV_RECORD(self->rx, "first", "second", "third");
	ASSERT_NOTHING(self->rx);
}

TEST_F(mp, parts_arrive_in_order_with_eor_only_on_last)
{
	ASSERT_RECORD(self->tx, 0, "a", "bb", "ccc", "dddd");
	ASSERT_RECORD(self->tx, 0, "single");
	ASSERT_RECV_RECORD(self->rx, "a", "bb", "ccc", "dddd");
	ASSERT_RECV_RECORD(self->rx, "single");
	ASSERT_NOTHING(self->rx);
}

TEST_F(mp, records_arrive_in_send_order)
{
	int records = xs_iters(200, 20);
	char buf[64], want[64];
	int i, j, f;

	for (i = 0; i < records; i++)
		for (j = 0; j <= i % 4; j++) {
			snprintf(buf, sizeof(buf), "r%d.p%d", i, j);
			ASSERT_SEND(self->tx, buf, j == i % 4 ? MSG_EOR : 0);
		}
	for (i = 0; i < records; i++)
		for (j = 0; j <= i % 4; j++) {
			ssize_t n;

			snprintf(want, sizeof(want), "r%d.p%d", i, j);
			n = xs_recv_wait(self->rx, buf, sizeof(buf) - 1, &f);
			ASSERT_EQ((ssize_t)strlen(want), n);
			buf[n] = 0;
			ASSERT_STREQ(want, buf);
			ASSERT_EQ(j == i % 4 ? MSG_EOR : 0, f & MSG_EOR);
		}
	ASSERT_NOTHING(self->rx);
}

TEST_F(mp, sendmsg_sends_whole_iovec_as_one_part_and_returns_its_size)
{
	char a[] = "abc", b[] = "", c[] = "defgh";
	struct iovec iov[3] = { { a, 3 }, { b, 0 }, { c, 5 } };
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 3 };

	ASSERT_EQ(8, sendmsg(self->tx, &msg, MSG_EOR));
	ASSERT_RECV_RECORD(self->rx, "abcdefgh");
}

TEST_F(mp, empty_part_is_delivered_as_a_part)
{
	ASSERT_EQ(0, xs_send(self->tx, "", 0, 0));
	ASSERT_SEND(self->tx, "body", MSG_EOR);
	ASSERT_EQ(0, xs_send(self->tx, "", 0, MSG_EOR));
	ASSERT_RECV_RECORD(self->rx, "", "body");
	ASSERT_RECV_RECORD(self->rx, "");
	ASSERT_NOTHING(self->rx);
}

TEST_F(mp, close_mid_record_discards_the_partial_record)
{
	ASSERT_RECORD(self->tx, 0, "done1", "done2");
	ASSERT_SEND(self->tx, "partial1", 0);
	ASSERT_SEND(self->tx, "partial2", 0);
	xs_close(&self->tx);

	ASSERT_RECV_RECORD(self->rx, "done1", "done2");
	ASSERT_NOTHING(self->rx);
}

TEST_F(mp, queued_records_survive_sender_close)
{
	ASSERT_RECORD(self->tx, 0, "one");
	ASSERT_RECORD(self->tx, 0, "two", "parts");
	ASSERT_RECORD(self->tx, 0, "three");
	xs_close(&self->tx);

	ASSERT_RECV_RECORD(self->rx, "one");
	ASSERT_RECV_RECORD(self->rx, "two", "parts");
	ASSERT_RECV_RECORD(self->rx, "three");
	ASSERT_NOTHING(self->rx);
}

/* Child bodies for xs_run_then_kill(): 0 once the record is half sent. */
static int send_two_orphans(void *arg)
{
	int fd = *(int *)arg;

	return xs_send_str(fd, "orphan1", MSG_DONTWAIT) == 7 &&
	       xs_send_str(fd, "orphan2", MSG_DONTWAIT) == 7 ? 0 : 1;
}

struct own_socket {
	int proto;
	const char *name;
};

static int connect_whole_then_orphans(void *arg)
{
	struct own_socket *o = arg;
	int fd = xs_socket(o->proto);

	if (fd < 0 || xs_connect(fd, o->name))
		return 1;
	if (xs_send_str(fd, "whole", MSG_EOR) != 5)
		return 2;
	return send_two_orphans(&fd) ? 3 : 0;
}

/*
 * A child process sharing tx starts a record and is SIGKILLed: its parts
 * never reach rx, and the next record started on tx is not polluted by
 * them.
 */
TEST_F(mp, record_of_killed_sharing_process_leaves_no_trace)
{
	ASSERT_EQ(0, xs_run_then_kill(send_two_orphans, &self->tx));
	ASSERT_NOTHING(self->rx);
	ASSERT_RECORD(self->tx, 0, "after");
	ASSERT_RECV_RECORD(self->rx, "after");
	ASSERT_NOTHING(self->rx);
}

/* The same with the killed process owning its socket outright. */
TEST_F(mp, record_of_killed_socket_owner_leaves_no_trace)
{
	XS_UNAME(name2, "killed");
	struct own_socket o = { variant->tx_proto, name2 };
	int rx2 = xs_socket(variant->rx_proto);

	ASSERT_GE(rx2, 0);
	ASSERT_OK(xs_bind(rx2, name2));
	ASSERT_EQ(0, xs_run_then_kill(connect_whole_then_orphans, &o));
	ASSERT_RECV_RECORD(rx2, "whole");
	ASSERT_NOTHING(rx2);
	close(rx2);
}

/* A killed child that reserved a slot with a first part gives it back. */
TEST_F(mp, killed_sender_gives_back_its_reserved_slot)
{
	int tx, rx;

	ASSERT_OK(xs_link(variant->tx_proto, variant->rx_proto, 1, 1, &tx,
			  &rx, NULL, 0));
	ASSERT_EQ(0, xs_run_then_kill(send_two_orphans, &tx));
	ASSERT_RECORD(tx, MSG_DONTWAIT, "one");
	ASSERT_RECORD(tx, MSG_DONTWAIT, "two");
	ASSERT_RECV_RECORD(rx, "one");
	ASSERT_RECV_RECORD(rx, "two");
	ASSERT_NOTHING(rx);
	close(tx);
	close(rx);
}

TEST_F(mp, sendmmsg_entry_eor_ends_a_record_at_that_entry)
{
	static const char *parts[] = { "a0", "a1", "b0", "b1", "b2" };
	struct mmsghdr m[5];
	struct iovec iov[5];
	int i;

	memset(m, 0, sizeof(m));
	for (i = 0; i < 5; i++) {
		iov[i].iov_base = (void *)parts[i];
		iov[i].iov_len = 2;
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
	}
	m[1].msg_hdr.msg_flags = MSG_EOR;
	m[4].msg_hdr.msg_flags = MSG_EOR;

	ASSERT_EQ(5, sendmmsg(self->tx, m, 5, 0));
	for (i = 0; i < 5; i++)
		ASSERT_EQ(2U, m[i].msg_len);
	ASSERT_RECV_RECORD(self->rx, "a0", "a1");
	ASSERT_RECV_RECORD(self->rx, "b0", "b1", "b2");
	ASSERT_NOTHING(self->rx);
}

/*
 * sendmmsg returns how many entries went and drops the error of the one
 * that did not: the kernel keeps it for XS_SNDERR, read once, and for
 * nothing else (not sk_err: a PAIR's next recvmmsg would return it).
 */
TEST_F(mp, error_sendmmsg_could_not_return_is_kept_for_xs_snderr)
{
	static const char *parts[] = { "1234", "5678", "9abc" };
	struct mmsghdr m[3], r;
	struct iovec iov[3];
	int64_t max = 6;
	char buf[8];
	int i;

	ASSERT_OK(setsockopt(self->tx, SOL_XS, XS_MAXMSGSIZE, &max,
			     sizeof(max)));
	memset(m, 0, sizeof(m));
	for (i = 0; i < 3; i++) {
		iov[i].iov_base = (void *)parts[i];
		iov[i].iov_len = 4;
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
	}
	m[2].msg_hdr.msg_flags = MSG_EOR;
	/* the second part makes the record 8 bytes: it goes, whole */
	ASSERT_EQ(1, sendmmsg(self->tx, m, 3, 0));
	if (variant->tx_proto == XSPROTO_PAIR) {
		/* the sender's own receive side knows nothing of it */
		memset(&r, 0, sizeof(r));
		iov[0].iov_base = buf;
		iov[0].iov_len = sizeof(buf);
		r.msg_hdr.msg_iov = &iov[0];
		r.msg_hdr.msg_iovlen = 1;
		ASSERT_ERRNO(EAGAIN, recvmmsg(self->tx, &r, 1, MSG_DONTWAIT,
					      NULL));
	}
	ASSERT_EQ(EMSGSIZE, xs_getint(self->tx, SOL_XS, XS_SNDERR));
	ASSERT_EQ(0, xs_getint(self->tx, SOL_XS, XS_SNDERR));
	ASSERT_ERRNO(EINVAL, xs_setint(self->tx, XS_SNDERR, 0));
	/* nothing of it is left to join the next record */
	ASSERT_SEND(self->tx, "ok", MSG_EOR);
	ASSERT_RECV_RECORD(self->rx, "ok");
	ASSERT_NOTHING(self->rx);
	/* a first part refused is the call's own error, not kept */
	ASSERT_ERRNO(EMSGSIZE, xs_send(self->tx, "toolong", 7, MSG_EOR));
	ASSERT_EQ(0, xs_getint(self->tx, SOL_XS, XS_SNDERR));
}

TEST_F(mp, sendmmsg_call_eor_ends_a_record_at_every_entry)
{
	static const char *parts[] = { "x", "yy", "zzz" };
	struct mmsghdr m[3];
	struct iovec iov[3];
	int i;

	memset(m, 0, sizeof(m));
	for (i = 0; i < 3; i++) {
		iov[i].iov_base = (void *)parts[i];
		iov[i].iov_len = i + 1;
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
	}
	ASSERT_EQ(3, sendmmsg(self->tx, m, 3, MSG_EOR));
	ASSERT_RECV_RECORD(self->rx, "x");
	ASSERT_RECV_RECORD(self->rx, "yy");
	ASSERT_RECV_RECORD(self->rx, "zzz");
	ASSERT_NOTHING(self->rx);
}

TEST_F(mp, sendmmsg_without_eor_leaves_the_record_open)
{
	struct mmsghdr m[2];
	struct iovec iov[2] = { { "p0", 2 }, { "p1", 2 } };

	memset(m, 0, sizeof(m));
	m[0].msg_hdr.msg_iov = &iov[0];
	m[0].msg_hdr.msg_iovlen = 1;
	m[1].msg_hdr.msg_iov = &iov[1];
	m[1].msg_hdr.msg_iovlen = 1;
	ASSERT_EQ(2, sendmmsg(self->tx, m, 2, 0));
	ASSERT_NOTHING(self->rx);
	ASSERT_SEND(self->tx, "p2", MSG_EOR);
	ASSERT_RECV_RECORD(self->rx, "p0", "p1", "p2");
}

TEST_F(mp, recvmmsg_returns_parts_with_eor_per_entry)
{
	char bufs[8][16];
	struct mmsghdr m[8];
	struct iovec iov[8];
	char c;
	int i;

	ASSERT_RECORD(self->tx, 0, "p0", "p1");
	ASSERT_RECORD(self->tx, 0, "q00");
	ASSERT_EQ(1, xs_recv_within(self->rx, &c, 1, MSG_PEEK, NULL,
				    xs_wait_ms()));

	memset(m, 0, sizeof(m));
	for (i = 0; i < 8; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = sizeof(bufs[i]);
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
	}
	ASSERT_EQ(3, recvmmsg(self->rx, m, 8, MSG_DONTWAIT, NULL));
	ASSERT_EQ(2U, m[0].msg_len);
	ASSERT_EQ(2U, m[1].msg_len);
	ASSERT_EQ(3U, m[2].msg_len);
	ASSERT_EQ(0, memcmp(bufs[0], "p0", 2));
	ASSERT_EQ(0, memcmp(bufs[1], "p1", 2));
	ASSERT_EQ(0, memcmp(bufs[2], "q00", 3));
	ASSERT_EQ(0, m[0].msg_hdr.msg_flags & MSG_EOR);
	ASSERT_EQ(MSG_EOR, m[1].msg_hdr.msg_flags & MSG_EOR);
	ASSERT_EQ(MSG_EOR, m[2].msg_hdr.msg_flags & MSG_EOR);
	ASSERT_ERRNO(EAGAIN, recvmmsg(self->rx, m, 8, MSG_DONTWAIT, NULL));
}

TEST_F(mp, peek_returns_next_part_without_consuming_it)
{
	char buf[16];
	int f;

	ASSERT_RECORD(self->tx, 0, "head", "tail");
	ASSERT_EQ(4, xs_recv_within(self->rx, buf, sizeof(buf), MSG_PEEK, &f,
				    xs_wait_ms()));
	ASSERT_EQ(0, memcmp(buf, "head", 4));
	ASSERT_EQ(0, f & MSG_EOR);
	ASSERT_EQ(4, xs_recv(self->rx, buf, sizeof(buf), MSG_PEEK, &f));
	ASSERT_EQ(0, memcmp(buf, "head", 4));
	ASSERT_PART(self->rx, "head", 0);

	ASSERT_EQ(4, xs_recv(self->rx, buf, sizeof(buf), MSG_PEEK, &f));
	ASSERT_EQ(0, memcmp(buf, "tail", 4));
	ASSERT_EQ(MSG_EOR, f & MSG_EOR);
	ASSERT_PART(self->rx, "tail", MSG_EOR);
	ASSERT_ERRNO(EAGAIN, xs_recv(self->rx, buf, sizeof(buf),
				     MSG_PEEK | MSG_DONTWAIT, NULL));
}

TEST_F(mp, short_buffer_truncates_part_and_discards_its_rest)
{
	char buf[16];
	int f;

	ASSERT_RECORD(self->tx, 0, "0123456789", "next");
	ASSERT_EQ(4, xs_recv_within(self->rx, buf, 4, 0, &f, xs_wait_ms()));
	ASSERT_EQ(0, memcmp(buf, "0123", 4));
	ASSERT_EQ(MSG_TRUNC, f & MSG_TRUNC);
	ASSERT_EQ(0, f & MSG_EOR);
	ASSERT_PART(self->rx, "next", MSG_EOR);

	ASSERT_RECORD(self->tx, 0, "abcdefgh");
	ASSERT_EQ(3, xs_recv_within(self->rx, buf, 3, 0, &f, xs_wait_ms()));
	ASSERT_EQ(MSG_TRUNC | MSG_EOR, f & (MSG_TRUNC | MSG_EOR));
	ASSERT_NOTHING(self->rx);
}

TEST_F(mp, trunc_flag_returns_full_part_length)
{
	char buf[16];
	int f;

	ASSERT_RECORD(self->tx, 0, "abcdefgh");
	ASSERT_EQ(8, xs_recv_within(self->rx, buf, 3, MSG_TRUNC, &f,
				    xs_wait_ms()));
	ASSERT_EQ(0, memcmp(buf, "abc", 3));
	ASSERT_EQ(MSG_TRUNC | MSG_EOR, f & (MSG_TRUNC | MSG_EOR));
	ASSERT_NOTHING(self->rx);
}

TEST_F(mp, fionread_is_size_of_next_part)
{
	int n = -1;
	char c;

	ASSERT_OK(ioctl(self->rx, FIONREAD, &n));
	ASSERT_EQ(0, n);
	ASSERT_RECORD(self->tx, 0, "hello", "wo");
	ASSERT_EQ(1, xs_recv_within(self->rx, &c, 1, MSG_PEEK, NULL,
				    xs_wait_ms()));
	ASSERT_OK(ioctl(self->rx, FIONREAD, &n));
	ASSERT_EQ(5, n);
	ASSERT_OK(ioctl(self->rx, SIOCINQ, &n));
	ASSERT_EQ(5, n);
	ASSERT_PART(self->rx, "hello", 0);
	ASSERT_OK(ioctl(self->rx, FIONREAD, &n));
	ASSERT_EQ(2, n);
	ASSERT_PART(self->rx, "wo", MSG_EOR);
	ASSERT_OK(ioctl(self->rx, FIONREAD, &n));
	ASSERT_EQ(0, n);
}

TEST_F(mp, rcvmore_is_set_while_inside_a_record)
{
	ASSERT_EQ(0, xs_getint(self->rx, SOL_XS, XS_RCVMORE));
	ASSERT_RECORD(self->tx, 0, "one", "two", "three");
	ASSERT_PART(self->rx, "one", 0);
	ASSERT_EQ(1, xs_getint(self->rx, SOL_XS, XS_RCVMORE));
	ASSERT_PART(self->rx, "two", 0);
	ASSERT_EQ(1, xs_getint(self->rx, SOL_XS, XS_RCVMORE));
	ASSERT_PART(self->rx, "three", MSG_EOR);
	ASSERT_EQ(0, xs_getint(self->rx, SOL_XS, XS_RCVMORE));
}

TEST_F(mp, large_record_arrives_intact)
{
	size_t part = 16384, nparts = 8, i, j;
	unsigned char *buf = malloc(part);
	int f;

	ASSERT_NE(NULL, buf);
	for (i = 0; i < nparts; i++) {
		for (j = 0; j < part; j++)
			buf[j] = (unsigned char)(i * 131 + j * 7);
		ASSERT_EQ((ssize_t)part, xs_send(self->tx, buf, part,
				i + 1 == nparts ? MSG_EOR : 0));
	}
	for (i = 0; i < nparts; i++) {
		memset(buf, 0, part);
		ASSERT_EQ((ssize_t)part, xs_recv_wait(self->rx, buf, part, &f));
		ASSERT_EQ(i + 1 == nparts ? MSG_EOR : 0, f & MSG_EOR);
		for (j = 0; j < part; j++)
			if (buf[j] != (unsigned char)(i * 131 + j * 7))
				break;
		ASSERT_EQ(part, j) TH_LOG("part %zu corrupt at byte %zu", i, j);
	}
	free(buf);
}

TEST_F(mp, blocked_recv_wakes_only_when_the_record_completes)
{
	struct xs_bg bg;

	ASSERT_OK(xs_bg_recv(&bg, self->rx, 0));
	ASSERT_TRUE(xs_bg_blocks(&bg));
	ASSERT_SEND(self->tx, "head", 0);
	ASSERT_TRUE(xs_bg_blocks(&bg)) TH_LOG("woken by a part without EOR");
	ASSERT_SEND(self->tx, "tail", MSG_EOR);
	ASSERT_TRUE(xs_bg_finish(&bg, xs_wait_ms()));
	ASSERT_EQ(4, bg.ret);
	ASSERT_EQ(0, memcmp(bg.buf, "head", 4));
	/* "tail" belongs to the (finished) reading thread now */
}

static void *send_partial_and_exit(void *arg)
{
	int fd = *(int *)arg;

	xs_send_str(fd, "abandoned", 0);
	return NULL;
}

TEST_F(mp, record_of_exited_thread_is_discarded)
{
	pthread_t t;

	ASSERT_OK(pthread_create(&t, NULL, send_partial_and_exit, &self->tx));
	ASSERT_OK(pthread_join(t, NULL));
	ASSERT_NOTHING(self->rx);
	ASSERT_RECORD(self->tx, 0, "mine");
	ASSERT_RECV_RECORD(self->rx, "mine");
	ASSERT_NOTHING(self->rx);
}

struct stepper {
	int fd;
	int step, done;		/* main sets step, thread acks with done */
	char error[128];
};

static void wait_step(struct stepper *s, int step)
{
	while (__atomic_load_n(&s->step, __ATOMIC_SEQ_CST) < step)
		xs_sleep_ms(1);
}

static void ack_step(struct stepper *s, int step)
{
	__atomic_store_n(&s->done, step, __ATOMIC_SEQ_CST);
}

static int wait_ack(struct stepper *s, int step)
{
	long long end = xs_now_ms() + xs_wait_ms();

	while (__atomic_load_n(&s->done, __ATOMIC_SEQ_CST) < step)
		if (xs_now_ms() > end)
			return 0;
		else
			xs_sleep_ms(1);
	return 1;
}

/* Thread: open a record, let main send whole ones, then finish it. */
static void *slow_sender(void *arg)
{
	struct stepper *s = arg;

	if (xs_send_str(s->fd, "slow1", 0) != 5)
		snprintf(s->error, sizeof(s->error), "slow1: %s",
			 strerror(errno));
	ack_step(s, 1);
	wait_step(s, 2);
	if (xs_send_str(s->fd, "slow2", MSG_EOR) != 5)
		snprintf(s->error, sizeof(s->error), "slow2: %s",
			 strerror(errno));
	ack_step(s, 2);
	return NULL;
}

TEST_F(mp, records_in_progress_are_per_thread)
{
	struct stepper s = { .fd = self->tx };
	pthread_t t;

	ASSERT_OK(pthread_create(&t, NULL, slow_sender, &s));
	ASSERT_TRUE(wait_ack(&s, 1));
	ASSERT_RECORD(self->tx, 0, "quick1", "quick2");
	ASSERT_RECV_RECORD(self->rx, "quick1", "quick2");
	ASSERT_NOTHING(self->rx);
	__atomic_store_n(&s.step, 2, __ATOMIC_SEQ_CST);
	ASSERT_TRUE(wait_ack(&s, 2));
	pthread_join(t, NULL);
	ASSERT_STREQ("", s.error);
	ASSERT_RECV_RECORD(self->rx, "slow1", "slow2");
}

/* Thread: read the first part of a record, later the rest. */
static void *slow_reader(void *arg)
{
	struct stepper *s = arg;
	char buf[16];
	int f, more;
	ssize_t n;

	n = xs_recv(s->fd, buf, sizeof(buf) - 1, 0, &f);
	if (n != 2 || memcmp(buf, "a0", 2) || (f & MSG_EOR))
		snprintf(s->error, sizeof(s->error), "first part wrong");
	ack_step(s, 1);
	wait_step(s, 2);
	more = xs_getint(s->fd, SOL_XS, XS_RCVMORE);
	n = xs_recv(s->fd, buf, sizeof(buf) - 1, MSG_DONTWAIT, &f);
	if (more != 1 || n != 2 || memcmp(buf, "a1", 2) || !(f & MSG_EOR))
		snprintf(s->error, sizeof(s->error),
			 "second part wrong (rcvmore %d, n %zd)", more, n);
	ack_step(s, 2);
	return NULL;
}

TEST_F(mp, record_being_read_belongs_to_its_reader)
{
	struct stepper s = { .fd = self->rx };
	pthread_t t;

	ASSERT_RECORD(self->tx, 0, "a0", "a1");
	ASSERT_RECORD(self->tx, 0, "b0", "b1");
	ASSERT_OK(pthread_create(&t, NULL, slow_reader, &s));
	ASSERT_TRUE(wait_ack(&s, 1));
	ASSERT_EQ(0, xs_getint(self->rx, SOL_XS, XS_RCVMORE));
	ASSERT_RECV_RECORD(self->rx, "b0", "b1");
	__atomic_store_n(&s.step, 2, __ATOMIC_SEQ_CST);
	ASSERT_TRUE(wait_ack(&s, 2));
	pthread_join(t, NULL);
	ASSERT_STREQ("", s.error);
	ASSERT_NOTHING(self->rx);
}

TEST_F(mp, passcred_puts_credentials_on_the_first_part)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(struct ucred))];
	} u;
	char data[8];
	struct iovec iov = { data, sizeof(data) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	struct ucred cred;
	char peek;

	ASSERT_OK(setsockopt(self->rx, SOL_SOCKET, SO_PASSCRED, &(int){ 1 },
			     sizeof(int)));
	ASSERT_RECORD(self->tx, 0, "first", "second");
	ASSERT_EQ(1, xs_recv_within(self->rx, &peek, 1, MSG_PEEK, NULL,
				    xs_wait_ms()));

	msg.msg_control = u.buf;
	msg.msg_controllen = sizeof(u.buf);
	ASSERT_EQ(5, recvmsg(self->rx, &msg, 0));
	c = CMSG_FIRSTHDR(&msg);
	ASSERT_NE(NULL, c) TH_LOG("no control message on the first part");
	ASSERT_EQ(SOL_SOCKET, c->cmsg_level);
	ASSERT_EQ(SCM_CREDENTIALS, c->cmsg_type);
	memcpy(&cred, CMSG_DATA(c), sizeof(cred));
	ASSERT_EQ(getpid(), cred.pid);
	ASSERT_EQ(getuid(), cred.uid);
	ASSERT_EQ(getgid(), cred.gid);

	msg.msg_control = u.buf;
	msg.msg_controllen = sizeof(u.buf);
	ASSERT_EQ(6, recvmsg(self->rx, &msg, 0));
	ASSERT_EQ(NULL, CMSG_FIRSTHDR(&msg)) TH_LOG("credentials repeated");
}

/* ---- concurrency ------------------------------------------------------ */

struct mp_thread {
	pthread_t thread;
	int fd, id, records;
	int *stop;
	int *taken;
	char error[160];
};

static void *mp_sender(void *arg)
{
	struct mp_thread *t = arg;
	char buf[32];
	int k, j;

	for (k = 0; k < t->records; k++)
		for (j = 0; j < 3; j++) {
			int n = snprintf(buf, sizeof(buf), "%d:%d:%d",
					 t->id, k, j);

			if (xs_send(t->fd, buf, n, j == 2 ? MSG_EOR : 0) != n) {
				snprintf(t->error, sizeof(t->error),
					 "sender %d: %s", t->id,
					 strerror(errno));
				return NULL;
			}
		}
	return NULL;
}

TEST_F(mp, concurrent_senders_never_interleave_parts)
{
	int per = xs_iters(1000, 50);
	struct mp_thread th[2];
	int next[2] = { 0, 0 };
	char buf[32];
	int i, j, f, t, k, jj;

	for (i = 0; i < 2; i++) {
		memset(&th[i], 0, sizeof(th[i]));
		th[i].fd = self->tx;
		th[i].id = i;
		th[i].records = per;
		ASSERT_OK(pthread_create(&th[i].thread, NULL, mp_sender,
					 &th[i]));
	}
	for (i = 0; i < 2 * per; i++) {
		int rt = -1, rk = -1;

		for (j = 0; j < 3; j++) {
			ssize_t n = xs_recv_wait(self->rx, buf,
						 sizeof(buf) - 1, &f);

			ASSERT_GT(n, 0) TH_LOG("record %d part %d: %s", i, j,
					       strerror(errno));
			buf[n] = 0;
			ASSERT_EQ(3, sscanf(buf, "%d:%d:%d", &t, &k, &jj));
			if (j == 0) {
				rt = t;
				rk = k;
				ASSERT_TRUE(t == 0 || t == 1);
				ASSERT_EQ(next[t], k)
					TH_LOG("sender %d reordered", t);
				next[t]++;
			}
			ASSERT_EQ(rt, t) TH_LOG("part '%s' inside record of "
						"sender %d", buf, rt);
			ASSERT_EQ(rk, k);
			ASSERT_EQ(j, jj);
			ASSERT_EQ(j == 2 ? MSG_EOR : 0, f & MSG_EOR);
		}
	}
	for (i = 0; i < 2; i++) {
		pthread_join(th[i].thread, NULL);
		ASSERT_STREQ("", th[i].error);
	}
	ASSERT_NOTHING(self->rx);
}

static void *mp_receiver(void *arg)
{
	struct mp_thread *t = arg;
	char buf[32];
	int j, f, k, jj, first = -1;

	while (!__atomic_load_n(t->stop, __ATOMIC_SEQ_CST)) {
		for (j = 0; j < 3; j++) {
			ssize_t n = xs_recv(t->fd, buf, sizeof(buf) - 1, 0, &f);

			if (n < 0 && j == 0 &&
			    (errno == EAGAIN || errno == EINTR))
				break;
			if (n < 0) {
				snprintf(t->error, sizeof(t->error),
					 "receiver %d part %d: %s", t->id, j,
					 strerror(errno));
				return NULL;
			}
			buf[n] = 0;
			if (sscanf(buf, "%*d:%d:%d", &k, &jj) != 2 ||
			    jj != j || (j && k != first) ||
			    (j == 2) != !!(f & MSG_EOR)) {
				snprintf(t->error, sizeof(t->error),
					 "receiver %d got '%s' (flags %#x) as "
					 "part %d of record %d", t->id, buf, f,
					 j, first);
				return NULL;
			}
			first = k;
			if (j == 2)
				__atomic_add_fetch(t->taken, 1,
						   __ATOMIC_SEQ_CST);
		}
	}
	return NULL;
}

TEST_F(mp, concurrent_receivers_never_split_a_record)
{
	int records = xs_iters(1000, 50);
	int stop = 0, taken = 0;
	struct mp_thread th[2];
	struct mp_thread sender;
	long long end;
	int i;

	ASSERT_OK(xs_set_timeo(self->rx, SO_RCVTIMEO, 20));
	for (i = 0; i < 2; i++) {
		memset(&th[i], 0, sizeof(th[i]));
		th[i].fd = self->rx;
		th[i].id = i;
		th[i].stop = &stop;
		th[i].taken = &taken;
		ASSERT_OK(pthread_create(&th[i].thread, NULL, mp_receiver,
					 &th[i]));
	}
	memset(&sender, 0, sizeof(sender));
	sender.fd = self->tx;
	sender.records = records;
	mp_sender(&sender);
	ASSERT_STREQ("", sender.error);

	end = xs_now_ms() + xs_wait_ms() * 5;
	while (__atomic_load_n(&taken, __ATOMIC_SEQ_CST) < records &&
	       xs_now_ms() < end)
		xs_sleep_ms(5);
	__atomic_store_n(&stop, 1, __ATOMIC_SEQ_CST);
	for (i = 0; i < 2; i++) {
		pthread_join(th[i].thread, NULL);
		EXPECT_STREQ("", th[i].error);
	}
	ASSERT_EQ(records, taken);
}

XS_TEST_MAIN
