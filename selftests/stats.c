// SPDX-License-Identifier: GPL-2.0
/*
 * Peer counts and per-socket statistics: XS_PEERS, XS_SUBSCRIBERS,
 * XS_PREFIXES and XS_STATS (records and bytes sent and received, drops
 * and misses by reason, queue depths), their errors, and the same numbers
 * in the sock_diag dump (XS_DIAG_STATS).
 */
#include <linux/netlink.h>
#include <linux/sock_diag.h>

#include "xs_test.h"

static int get_stats(int fd, struct xs_stats *st)
{
	socklen_t len = sizeof(*st);

	memset(st, 0xa5, sizeof(*st));
	if (getsockopt(fd, SOL_XS, XS_STATS, st, &len))
		return -1;
	return len == sizeof(*st) ? 0 : -1;
}

/* Wait until @fd's int option @opt reads @want; returns the last value. */
static int wait_int(int fd, int opt, int want)
{
	long long end = xs_now_ms() + xs_wait_ms();
	int v;

	for (;;) {
		v = xs_getint(fd, SOL_XS, opt);
		if (v == want || xs_now_ms() >= end)
			return v;
		xs_sleep_ms(1);
	}
}

TEST(peers_count_pipes_with_a_socket_at_both_ends)
{
	int b = xs_socket(XSPROTO_PULL), c1 = xs_socket(XSPROTO_PUSH);
	int c2 = xs_socket(XSPROTO_PUSH);
	XS_UNAME(name, "peers");

	ASSERT_EQ(0, xs_getint(b, SOL_XS, XS_PEERS));
	/* a connector waiting for a binder has a pipe but no peer */
	ASSERT_OK(xs_connect(c1, name));
	ASSERT_EQ(0, xs_getint(c1, SOL_XS, XS_PEERS));
	ASSERT_EQ(1, xs_proc_field(c1, "pipes"));
	ASSERT_OK(xs_bind(b, name));
	ASSERT_EQ(1, xs_getint(b, SOL_XS, XS_PEERS));
	ASSERT_EQ(1, xs_getint(c1, SOL_XS, XS_PEERS));
	ASSERT_OK(xs_connect(c2, name));
	ASSERT_EQ(2, xs_getint(b, SOL_XS, XS_PEERS));
	close(c1);
	ASSERT_EQ(1, xs_getint(b, SOL_XS, XS_PEERS));
	/* the binder goes: its connector keeps a pipe, loses the peer */
	ASSERT_OK(setsockopt(b, SOL_XS, XS_UNBIND, name, strlen(name)));
	ASSERT_EQ(0, xs_getint(c2, SOL_XS, XS_PEERS));
	ASSERT_EQ(0, xs_getint(b, SOL_XS, XS_PEERS));
	ASSERT_OK(xs_bind(b, name));
	ASSERT_EQ(1, xs_getint(c2, SOL_XS, XS_PEERS));
	close(b);
	ASSERT_EQ(0, xs_getint(c2, SOL_XS, XS_PEERS));
	close(c2);
}

TEST(peer_count_options_are_read_only_and_checked)
{
	int push = xs_socket(XSPROTO_PUSH), pub = xs_socket(XSPROTO_PUB);
	int sub = xs_socket(XSPROTO_SUB), v = 1;
	socklen_t len = 2;
	static const int ro[] = { XS_PEERS, XS_SUBSCRIBERS, XS_PREFIXES,
				  XS_STATS, XS_EVENTS_LOST };
	unsigned int i;

	for (i = 0; i < sizeof(ro) / sizeof(ro[0]); i++)
		EXPECT_ERRNO(EINVAL, setsockopt(pub, SOL_XS, ro[i], &v,
						sizeof(v)));
	/* only a publisher has subscribers */
	EXPECT_ERRNO(EINVAL, getsockopt(push, SOL_XS, XS_SUBSCRIBERS, &v,
					&len));
	len = sizeof(v);
	EXPECT_ERRNO(EINVAL, getsockopt(sub, SOL_XS, XS_PREFIXES, &v, &len));
	/* an int needs an int's room */
	len = 2;
	EXPECT_ERRNO(EINVAL, getsockopt(pub, SOL_XS, XS_PEERS, &v, &len));
	len = sizeof(v);
	EXPECT_ERRNO(EFAULT, getsockopt(pub, SOL_XS, XS_PEERS, xs_unmapped(),
					&len));
	/* XS_EVENTS_LOST is a monitor's */
	len = sizeof(uint64_t);
	EXPECT_ERRNO(EINVAL, getsockopt(pub, SOL_XS, XS_EVENTS_LOST, &v,
					&len));
	close(push);
	close(pub);
	close(sub);
}

TEST(publisher_counts_subscribers_and_distinct_prefixes)
{
	int pub = xs_socket(XSPROTO_PUB), s1 = xs_socket(XSPROTO_SUB);
	int s2 = xs_socket(XSPROTO_SUB);
	XS_UNAME(name, "subs");

	ASSERT_OK(xs_bind(pub, name));
	ASSERT_OK(xs_connect(s1, name));
	ASSERT_OK(xs_connect(s2, name));
	ASSERT_EQ(2, xs_getint(pub, SOL_XS, XS_PEERS));
	ASSERT_EQ(0, xs_getint(pub, SOL_XS, XS_SUBSCRIBERS));
	ASSERT_EQ(0, xs_getint(pub, SOL_XS, XS_PREFIXES));
	ASSERT_OK(setsockopt(s1, SOL_XS, XS_SUBSCRIBE, "a", 1));
	ASSERT_EQ(1, xs_getint(pub, SOL_XS, XS_SUBSCRIBERS));
	ASSERT_EQ(1, xs_getint(pub, SOL_XS, XS_PREFIXES));
	/* the same prefix from another peer: one prefix, two subscribers */
	ASSERT_OK(setsockopt(s2, SOL_XS, XS_SUBSCRIBE, "a", 1));
	ASSERT_OK(setsockopt(s2, SOL_XS, XS_SUBSCRIBE, "", 0));
	ASSERT_EQ(2, xs_getint(pub, SOL_XS, XS_SUBSCRIBERS));
	ASSERT_EQ(2, xs_getint(pub, SOL_XS, XS_PREFIXES));
	ASSERT_OK(setsockopt(s1, SOL_XS, XS_UNSUBSCRIBE, "a", 1));
	ASSERT_EQ(1, xs_getint(pub, SOL_XS, XS_SUBSCRIBERS));
	ASSERT_EQ(2, xs_getint(pub, SOL_XS, XS_PREFIXES));
	close(s2);
	ASSERT_EQ(0, xs_getint(pub, SOL_XS, XS_SUBSCRIBERS));
	ASSERT_EQ(0, xs_getint(pub, SOL_XS, XS_PREFIXES));
	ASSERT_EQ(1, xs_getint(pub, SOL_XS, XS_PEERS));
	close(s1);
	close(pub);
}

/*
 * The slow-joiner fix: a publisher that waits for XS_SUBSCRIBERS before
 * its first record loses none of them, even when the subscriber's
 * process starts late.
 */
TEST(publisher_waiting_for_a_subscriber_loses_no_record)
{
	int pub = xs_socket(XSPROTO_PUB), st, i;
	XS_UNAME(name, "joiner");
	pid_t pid;

	ASSERT_OK(xs_bind(pub, name));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int sub = xs_socket(XSPROTO_SUB);
		char buf[16];

		xs_sleep_ms(xs_quiet_ms());
		if (xs_connect(sub, name) ||
		    setsockopt(sub, SOL_XS, XS_SUBSCRIBE, "", 0))
			_exit(1);
		for (i = 0; i < 10; i++) {
			ssize_t n = xs_recv_wait(sub, buf, sizeof(buf) - 1,
						 NULL);

			if (n < 0)
				_exit(2);
			buf[n] = 0;
			if (atoi(buf) != i)
				_exit(3);
		}
		_exit(0);
	}
	ASSERT_EQ(1, wait_int(pub, XS_SUBSCRIBERS, 1));
	for (i = 0; i < 10; i++) {
		char buf[16];

		snprintf(buf, sizeof(buf), "%d", i);
		ASSERT_SEND(pub, buf, MSG_EOR);
	}
	st = xs_wait_child(pid);
	ASSERT_EQ(0, st);
	close(pub);
}

TEST(stats_count_records_bytes_and_queue_depths)
{
	int tx, rx, i;
	struct xs_stats st;
	char buf[64];

	ASSERT_OK(xs_link(XSPROTO_PUSH, XSPROTO_PULL, -1, -1, &tx, &rx,
			  NULL, 0));
	ASSERT_OK(get_stats(tx, &st));
	ASSERT_EQ(0U, st.sent_records);
	ASSERT_EQ(0U, st.recv_records);
	ASSERT_EQ(1U, st.peers);
	ASSERT_EQ(0U, st.events_lost);
	/* three records of 2 parts: 3 + 4 bytes each */
	for (i = 0; i < 3; i++)
		ASSERT_RECORD(tx, 0, "abc", "defg");
	ASSERT_OK(get_stats(tx, &st));
	ASSERT_EQ(3U, st.sent_records);
	ASSERT_EQ(21U, st.sent_bytes);
	ASSERT_EQ(3U, st.tx_queued);
	ASSERT_EQ(0U, st.tx_pending_mem);
	ASSERT_OK(get_stats(rx, &st));
	ASSERT_EQ(3U, st.rx_records);
	ASSERT_EQ(21U, st.rx_bytes);
	ASSERT_LT(21U, st.rx_mem);	/* true size: more than the payload */
	ASSERT_EQ(st.rx_mem, (uint64_t)xs_proc_field(rx, "rx_mem"));
	ASSERT_EQ(0U, st.recv_records);
	/* a record counts as received at its first part */
	ASSERT_EQ(3, xs_recv(rx, buf, sizeof(buf), 0, NULL));
	ASSERT_OK(get_stats(rx, &st));
	ASSERT_EQ(1U, st.recv_records);
	ASSERT_EQ(7U, st.recv_bytes);
	ASSERT_EQ(2U, st.rx_records);
	ASSERT_EQ(4, xs_recv(rx, buf, sizeof(buf), 0, NULL));
	ASSERT_RECV_RECORD(rx, "abc", "defg");
	ASSERT_RECV_RECORD(rx, "abc", "defg");
	ASSERT_OK(get_stats(rx, &st));
	ASSERT_EQ(3U, st.recv_records);
	ASSERT_EQ(21U, st.recv_bytes);
	ASSERT_EQ(0U, st.rx_records);
	ASSERT_EQ(0U, st.rx_mem);
	ASSERT_EQ(0U, st.sent_records);
	ASSERT_OK(get_stats(tx, &st));
	ASSERT_EQ(0U, st.tx_queued);
	/* MSG_PEEK reads nothing */
	ASSERT_RECORD(tx, 0, "p");
	ASSERT_EQ(1, xs_recv_within(rx, buf, sizeof(buf), MSG_PEEK, NULL,
				    xs_wait_ms()));
	ASSERT_OK(get_stats(rx, &st));
	ASSERT_EQ(3U, st.recv_records);
	close(tx);
	close(rx);
}

TEST(stats_count_what_waits_for_a_binder)
{
	int tx = xs_socket(XSPROTO_PUSH);
	struct xs_stats st;
	XS_UNAME(name, "pending");
	int outq = -1;

	ASSERT_OK(xs_connect(tx, name));
	ASSERT_RECORD(tx, MSG_DONTWAIT, "x");
	ASSERT_RECORD(tx, MSG_DONTWAIT, "y");
	ASSERT_OK(get_stats(tx, &st));
	ASSERT_EQ(2U, st.sent_records);
	ASSERT_EQ(2U, st.tx_queued);
	ASSERT_OK(ioctl(tx, SIOCOUTQ, &outq));
	ASSERT_EQ((uint64_t)outq, st.tx_pending_mem);
	ASSERT_LT(0, outq);
	close(tx);
}

TEST(stats_count_drops_and_misses_by_reason)
{
	int pub = xs_socket(XSPROTO_PUB), sub = xs_socket(XSPROTO_SUB), i;
	struct xs_stats st;
	XS_UNAME(name, "drops");

	ASSERT_OK(xs_setint(pub, XS_SNDHWM, 0));
	ASSERT_OK(xs_setint(sub, XS_RCVHWM, 1));
	ASSERT_OK(xs_bind(pub, name));
	ASSERT_OK(xs_connect(sub, name));
	ASSERT_OK(setsockopt(sub, SOL_XS, XS_SUBSCRIBE, "", 0));
	for (i = 0; i < 5; i++)
		ASSERT_RECORD(pub, 0, "r");
	ASSERT_OK(get_stats(pub, &st));
	ASSERT_EQ(5U, st.sent_records);
	ASSERT_EQ(4U, st.drops);
	ASSERT_EQ(4U, st.drops_by[XS_REASON_FULL]);
	for (i = 0; i < XS_REASON_MAX; i++)
		if (i != XS_REASON_FULL)
			ASSERT_EQ(0U, st.drops_by[i]);
	ASSERT_EQ(4U, xs_getu64(pub, XS_DROPS));
	ASSERT_EQ(1U, st.subscribers);
	ASSERT_EQ(1U, st.prefixes);
	ASSERT_OK(get_stats(sub, &st));
	ASSERT_EQ(4U, st.missed);
	ASSERT_EQ(4U, st.missed_by[XS_REASON_FULL]);
	ASSERT_EQ(0U, st.subscribers);	/* not a publisher */
	close(pub);
	close(sub);
}

TEST(stats_count_stale_replies_and_unknown_identities)
{
	int rep, req, xrep, xreq;
	struct xs_stats st;
	char buf[32];
	XS_UNAME(name, "xrep");

	/* a reply to a requester that left */
	ASSERT_OK(xs_link(XSPROTO_REQ, XSPROTO_REP, -1, -1, &req, &rep,
			  NULL, 0));
	ASSERT_RECORD(req, 0, "q");
	ASSERT_EQ(1, xs_recv_wait(rep, buf, sizeof(buf), NULL));
	close(req);
	ASSERT_RECORD(rep, 0, "a");
	ASSERT_OK(get_stats(rep, &st));
	ASSERT_EQ(1U, st.drops_by[XS_REASON_STALE]);
	close(rep);

	/* XREP: an identity nobody has */
	xrep = xs_socket(XSPROTO_XREP);
	xreq = xs_socket(XSPROTO_XREQ);
	ASSERT_OK(xs_bind(xrep, name));
	ASSERT_OK(xs_connect(xreq, name));
	ASSERT_RECORD(xrep, 0, "nobody", "x");
	ASSERT_OK(get_stats(xrep, &st));
	ASSERT_EQ(1U, st.drops_by[XS_REASON_NOROUTE]);
	ASSERT_EQ(1U, st.drops);
	close(xrep);
	close(xreq);
}

TEST(stats_copy_as_much_as_the_buffer_holds)
{
	int tx, rx;
	unsigned char buf[sizeof(struct xs_stats) + 16];
	struct xs_stats st;
	socklen_t len;

	ASSERT_OK(xs_link(XSPROTO_PUSH, XSPROTO_PULL, -1, -1, &tx, &rx,
			  NULL, 0));
	ASSERT_RECORD(tx, 0, "abc");
	/* a shorter (older) struct gets its prefix */
	memset(buf, 0xee, sizeof(buf));
	len = 8;
	ASSERT_OK(getsockopt(tx, SOL_XS, XS_STATS, buf, &len));
	ASSERT_EQ(8U, len);
	ASSERT_EQ(1U, *(uint64_t *)buf);
	ASSERT_EQ(0xee, buf[8]);
	/* a longer one: the struct, nothing past it */
	memset(buf, 0xee, sizeof(buf));
	len = sizeof(buf);
	ASSERT_OK(getsockopt(tx, SOL_XS, XS_STATS, buf, &len));
	ASSERT_EQ(sizeof(st), len);
	ASSERT_EQ(0xee, buf[sizeof(st)]);
	len = 0;
	ASSERT_OK(getsockopt(tx, SOL_XS, XS_STATS, buf, &len));
	ASSERT_EQ(0U, len);
	len = sizeof(st);
	EXPECT_ERRNO(EFAULT, getsockopt(tx, SOL_XS, XS_STATS, xs_unmapped(),
					&len));
	len = -1;
	EXPECT_ERRNO(EINVAL, getsockopt(tx, SOL_XS, XS_STATS, buf, &len));
	len = 0x7fffffff;
	ASSERT_OK(getsockopt(tx, SOL_XS, XS_STATS, buf, &len));
	ASSERT_EQ(sizeof(st), len);
	close(tx);
	close(rx);
}

/* ---- sock_diag ---------------------------------------------------------- */

/* The XS_DIAG_STATS of socket @fd from a sock_diag dump; 0 or -1. */
static int diag_stats(int fd, struct xs_stats *out)
{
	struct {
		struct nlmsghdr nlh;
		struct xs_diag_req req;
	} q = {};
	static char buf[65536];
	struct stat stb;
	int nl, found = -1, done = 0;
	ssize_t n;

	if (fstat(fd, &stb))
		return -1;
	nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (nl < 0)
		return -1;
	q.nlh.nlmsg_len = sizeof(q);
	q.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	q.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	q.req.sdiag_family = xs_family();
	q.req.xdiag_ino = stb.st_ino;
	if (send(nl, &q, sizeof(q), 0) != sizeof(q))
		goto out;
	while (!done && (n = recv(nl, buf, sizeof(buf), 0)) > 0) {
		struct nlmsghdr *h = (struct nlmsghdr *)buf;

		for (; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			struct xs_diag_msg *m = NLMSG_DATA(h);
			struct nlattr *a;
			int rem;

			if (h->nlmsg_type == NLMSG_DONE ||
			    h->nlmsg_type == NLMSG_ERROR) {
				done = 1;
				break;
			}
			a = (struct nlattr *)((char *)m + NLMSG_ALIGN(sizeof(*m)));
			rem = h->nlmsg_len - NLMSG_LENGTH(sizeof(*m));
			while (rem >= (int)sizeof(*a) && a->nla_len >= sizeof(*a) &&
			       a->nla_len <= rem) {
				if (a->nla_type == XS_DIAG_STATS &&
				    (size_t)a->nla_len >= NLA_HDRLEN + sizeof(*out)) {
					memcpy(out, (char *)a + NLA_HDRLEN,
					       sizeof(*out));
					found = 0;
				}
				rem -= NLA_ALIGN(a->nla_len);
				a = (struct nlattr *)((char *)a +
						      NLA_ALIGN(a->nla_len));
			}
		}
	}
out:
	close(nl);
	return found;
}

TEST(sock_diag_carries_the_same_statistics)
{
	int tx, rx;
	struct xs_stats a, b;

	ASSERT_OK(xs_link(XSPROTO_PUSH, XSPROTO_PULL, -1, -1, &tx, &rx,
			  NULL, 0));
	ASSERT_RECORD(tx, 0, "abc", "de");
	ASSERT_RECORD(tx, 0, "f");
	ASSERT_OK(get_stats(tx, &a));
	ASSERT_OK(diag_stats(tx, &b));
	ASSERT_EQ(0, memcmp(&a, &b, sizeof(a)));
	ASSERT_EQ(2U, b.sent_records);
	ASSERT_EQ(6U, b.sent_bytes);
	ASSERT_OK(get_stats(rx, &a));
	ASSERT_OK(diag_stats(rx, &b));
	ASSERT_EQ(0, memcmp(&a, &b, sizeof(a)));
	ASSERT_EQ(2U, b.rx_records);
	close(tx);
	close(rx);
}

/* The output of /tools/xsstat with @args, or NULL. */
static char *run_xsstat(const char *args)
{
	static char out[65536];
	char cmd[256];
	size_t len = 0, n;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "/tools/xsstat %s", args);
	p = popen(cmd, "r");
	if (!p)
		return NULL;
	while (len < sizeof(out) - 1 &&
	       (n = fread(out + len, 1, sizeof(out) - 1 - len, p)) > 0)
		len += n;
	out[len] = '\0';
	return pclose(p) ? NULL : out;
}

TEST(xsstat_shows_the_statistics)
{
	int pub = xs_socket(XSPROTO_PUB), sub = xs_socket(XSPROTO_SUB), i;
	char *out;

	ASSERT_EQ(0, access("/tools/xsstat", X_OK)) {
		TH_LOG("no /tools/xsstat: make tools before booting the guest");
	}
	close(pub);
	close(sub);
	ASSERT_OK(unshare(CLONE_NEWNET));
	pub = xs_socket(XSPROTO_PUB);
	sub = xs_socket(XSPROTO_SUB);
	ASSERT_OK(xs_setint(pub, XS_SNDHWM, 0));
	ASSERT_OK(xs_setint(sub, XS_RCVHWM, 1));
	ASSERT_OK(xs_bind(pub, "feed"));
	ASSERT_OK(xs_connect(sub, "feed"));
	ASSERT_OK(setsockopt(sub, SOL_XS, XS_SUBSCRIBE, "ab", 2));
	for (i = 0; i < 3; i++)
		ASSERT_RECORD(pub, 0, "abc");
	out = run_xsstat("-j --type pub");
	ASSERT_NE(NULL, out);
	TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "\"stats\":{\"sent_records\":3,"
				    "\"sent_bytes\":9,"));
	EXPECT_NE(NULL, strstr(out, "\"subscribers\":1,\"prefixes\":1,"));
	EXPECT_NE(NULL, strstr(out, "\"drops_by\":{\"full\":2,"));
	out = run_xsstat("-s");
	ASSERT_NE(NULL, out);
	TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "sent 3/9 B"));
	EXPECT_NE(NULL, strstr(out, "subscribers 1 prefixes 1  drop:full 2"));
	EXPECT_NE(NULL, strstr(out, "missed:full 2"));
	close(pub);
	close(sub);
}

XS_TEST_MAIN
