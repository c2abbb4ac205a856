// SPDX-License-Identifier: GPL-2.0
/*
 * sock_diag: the module's NETLINK_SOCK_DIAG dump lists exactly the AF_XS
 * sockets of the caller's network namespace, with their pattern, owner,
 * names, queue and peers; a long dump resumes without losing or
 * repeating sockets; /tools/xsstat shows the same in JSON.
 *
 * Each test first moves into a network namespace of its own (tests run
 * in forked children), so the dump holds only what the test created.
 */
#include "xs_test.h"
#include "../tools/xs_diag.h"

#define MAX_SOCKS 512

struct seen {
	int			n;
	struct xs_diag_sock	s[8];
	unsigned int		inos[MAX_SOCKS];
	int			ninos;
};

static int collect(const struct xs_diag_sock *s, void *arg)
{
	struct seen *seen = arg;

	if (seen->n < 8)
		seen->s[seen->n] = *s;
	seen->n++;
	if (seen->ninos < MAX_SOCKS)
		seen->inos[seen->ninos++] = s->ino;
	return 0;
}

/* Dump what @fd's namespace holds, @proto and @ino as filters. */
static int dump(int fd, int proto, unsigned int ino, size_t bufsize,
		struct seen *seen)
{
	memset(seen, 0, sizeof(*seen));
	return xs_diag_dump(fd, proto, ino, bufsize, collect, seen);
}

static unsigned int inode_of(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : (unsigned int)st.st_ino;
}

static const struct xs_diag_sock *find(const struct seen *seen,
				       unsigned int ino)
{
	int i;

	for (i = 0; i < seen->n && i < 8; i++)
		if (seen->s[i].ino == ino)
			return &seen->s[i];
	return NULL;
}

/* A PULL bound to "in" holding 2 records from a PUSH connected to it. */
static int make_pair(int *pull, int *push)
{
	char c;

	*pull = xs_socket(XSPROTO_PULL);
	*push = xs_socket(XSPROTO_PUSH);
	if (*pull < 0 || *push < 0 || xs_bind(*pull, "in") ||
	    xs_connect(*push, "in") ||
	    xs_send_record(*push, 0, XS_PARTS("abc")) ||
	    xs_send_record(*push, 0, XS_PARTS("de", "fg")))
		return -1;
	/* both records queued before the dump looks */
	if (xs_recv_within(*pull, &c, 1, MSG_PEEK, NULL, xs_wait_ms()) != 1)
		return -1;
	xs_sleep_ms(xs_quiet_ms());
	return 0;
}

TEST(dump_lists_exactly_the_namespace_sockets_with_their_fields)
{
	const struct xs_diag_sock *s;
	struct seen seen;
	int pull, push, nl;

	ASSERT_OK(unshare(CLONE_NEWNET));
	ASSERT_OK(make_pair(&pull, &push));
	nl = xs_diag_open();
	ASSERT_GE(nl, 0);
	ASSERT_EQ(0, dump(nl, 0, 0, 32768, &seen));
	ASSERT_EQ(2, seen.n);

	s = find(&seen, inode_of(pull));
	ASSERT_NE(NULL, s);
	EXPECT_EQ(XSPROTO_PULL, s->proto);
	EXPECT_STREQ("PULL", s->pattern);
	EXPECT_EQ(geteuid(), s->uid);
	EXPECT_EQ(1, s->peers);
	EXPECT_EQ(2, s->rx_records);
	EXPECT_EQ(7, s->rx_bytes);
	EXPECT_LT(0, s->rx_mem);
	EXPECT_EQ(0, s->drops);
	ASSERT_EQ(1, s->nnames);
	EXPECT_TRUE(s->names[0].bound);
	EXPECT_STREQ("in", s->names[0].str);

	s = find(&seen, inode_of(push));
	ASSERT_NE(NULL, s);
	EXPECT_EQ(XSPROTO_PUSH, s->proto);
	EXPECT_STREQ("PUSH", s->pattern);
	EXPECT_EQ(1, s->peers);
	EXPECT_EQ(0, s->rx_records);
	EXPECT_EQ(0, s->rx_bytes);
	ASSERT_EQ(1, s->nnames);
	EXPECT_FALSE(s->names[0].bound);
	EXPECT_STREQ("in", s->names[0].str);

	/* the filters: one pattern, one inode */
	ASSERT_EQ(0, dump(nl, XSPROTO_PUSH, 0, 32768, &seen));
	ASSERT_EQ(1, seen.n);
	EXPECT_EQ(inode_of(push), seen.s[0].ino);
	ASSERT_EQ(0, dump(nl, 0, inode_of(pull), 32768, &seen));
	ASSERT_EQ(1, seen.n);
	EXPECT_EQ(XSPROTO_PULL, seen.s[0].proto);

	/* a closed socket leaves the dump */
	close(push);
	ASSERT_EQ(0, dump(nl, 0, 0, 32768, &seen));
	ASSERT_EQ(1, seen.n);
	EXPECT_EQ(inode_of(pull), seen.s[0].ino);
	EXPECT_EQ(0, seen.s[0].peers);
	close(pull);
	close(nl);
}

TEST(dump_shows_only_the_caller_namespace)
{
	int outer, inner, nl_outer, nl_inner;
	struct seen seen;

	ASSERT_OK(unshare(CLONE_NEWNET));
	outer = xs_socket(XSPROTO_PAIR);
	ASSERT_GE(outer, 0);
	ASSERT_OK(xs_bind(outer, "outer"));
	nl_outer = xs_diag_open();
	ASSERT_GE(nl_outer, 0);

	ASSERT_OK(unshare(CLONE_NEWNET));
	inner = xs_socket(XSPROTO_PAIR);
	ASSERT_GE(inner, 0);
	ASSERT_OK(xs_bind(inner, "inner"));
	nl_inner = xs_diag_open();
	ASSERT_GE(nl_inner, 0);

	ASSERT_EQ(0, dump(nl_inner, 0, 0, 32768, &seen));
	ASSERT_EQ(1, seen.n);
	EXPECT_EQ(inode_of(inner), seen.s[0].ino);
	EXPECT_STREQ("inner", seen.s[0].names[0].str);

	/* the netlink socket's namespace counts, not the caller's */
	ASSERT_EQ(0, dump(nl_outer, 0, 0, 32768, &seen));
	ASSERT_EQ(1, seen.n);
	EXPECT_EQ(inode_of(outer), seen.s[0].ino);
	EXPECT_STREQ("outer", seen.s[0].names[0].str);
	close(inner);
	close(outer);
	close(nl_inner);
	close(nl_outer);
}

/* More sockets than one netlink buffer holds: each is listed once. */
TEST(long_dump_resumes_without_loss_or_repeats)
{
	static int fds[300];
	struct seen seen;
	int i, j, nl, n = 300;
	char name[32];

	ASSERT_OK(unshare(CLONE_NEWNET));
	for (i = 0; i < n; i++) {
		fds[i] = xs_socket(XSPROTO_PULL);
		ASSERT_GE(fds[i], 0);
		snprintf(name, sizeof(name), "resume-%d-with-a-long-name", i);
		ASSERT_OK(xs_bind(fds[i], name));
	}
	nl = xs_diag_open();
	ASSERT_GE(nl, 0);
	ASSERT_EQ(0, dump(nl, 0, 0, 4096, &seen));
	ASSERT_EQ(n, seen.n);
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			ASSERT_NE(seen.inos[i], seen.inos[j]);
	for (i = 0; i < n; i++) {
		for (j = 0; j < n && seen.inos[j] != inode_of(fds[i]); j++)
			;
		ASSERT_LT(j, n);
		close(fds[i]);
	}
	close(nl);
}

/* /tools/xsstat's output, or NULL. */
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
	while ((n = fread(out + len, 1, sizeof(out) - 1 - len, p)) > 0)
		len += n;
	out[len] = '\0';
	if (pclose(p) != 0)
		return NULL;
	return out;
}

TEST(xsstat_json_names_the_sockets_and_their_owner)
{
	char want[128], *out;
	int pull, push;

	ASSERT_EQ(0, access("/tools/xsstat", X_OK)) {
		TH_LOG("no /tools/xsstat: make tools before booting the guest");
	}
	ASSERT_OK(unshare(CLONE_NEWNET));
	ASSERT_OK(make_pair(&pull, &push));

	out = run_xsstat("-j");
	ASSERT_NE(NULL, out);
	TH_LOG("%s", out);
	snprintf(want, sizeof(want),
		 "{\"ino\":%u,\"pattern\":\"PULL\",", inode_of(pull));
	EXPECT_NE(NULL, strstr(out, want));
	EXPECT_NE(NULL, strstr(out, "\"rx_records\":2,\"rx_bytes\":7,"));
	EXPECT_NE(NULL, strstr(out, "\"bound\":[\"in\"],\"connected\":[]"));
	EXPECT_NE(NULL, strstr(out, "\"bound\":[],\"connected\":[\"in\"]"));
	snprintf(want, sizeof(want), "{\"pid\":%d,", getpid());
	EXPECT_NE(NULL, strstr(out, want));

	/* the filters */
	out = run_xsstat("-j --type push");
	ASSERT_NE(NULL, out);
	EXPECT_EQ(NULL, strstr(out, "\"PULL\""));
	EXPECT_NE(NULL, strstr(out, "\"PUSH\""));
	snprintf(want, sizeof(want), "-j --pid %d", getpid());
	out = run_xsstat(want);
	ASSERT_NE(NULL, out);
	EXPECT_NE(NULL, strstr(out, "\"PULL\""));
	EXPECT_NE(NULL, strstr(out, "\"PUSH\""));
	out = run_xsstat("-j --pid 1");
	ASSERT_NE(NULL, out);
	EXPECT_EQ(NULL, strstr(out, "\"ino\""));
	out = run_xsstat("-j --name nothere");
	ASSERT_NE(NULL, out);
	EXPECT_EQ(NULL, strstr(out, "\"ino\""));
	close(push);
	close(pull);
}

XS_TEST_MAIN
