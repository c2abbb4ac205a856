// SPDX-License-Identifier: GPL-2.0
/*
 * Introspection: /proc/net/xs lists every socket of the namespace with
 * its pattern, names, pipes (peers), queued records and bytes and drops;
 * /proc/net/protocols counts the family's open sockets.
 *
 * /proc/net/xs format (docs/semantics.md leaves it to the module): a
 * "# ..." summary line, a header line naming the columns
 * ("inode pattern pipes rx_records rx_bytes drops names"), then one line
 * per socket whose trailing tokens are its endpoints as "b:NAME" (bound)
 * or "c:NAME" (connected).  Columns are looked up by header name.
 */
#include "xs_test.h"

#define MAX_COLS 16

/* Split @line into at most MAX_COLS tokens (modifies @line). */
static int split(char *line, char **tok)
{
	char *save, *t;
	int n = 0;

	for (t = strtok_r(line, " \t\n", &save); t && n < MAX_COLS;
	     t = strtok_r(NULL, " \t\n", &save))
		tok[n++] = t;
	return n;
}

/* Index of column @col in the /proc/net/xs header, or -1. */
static int column(const char *col)
{
	char buf[512], *tok[MAX_COLS];
	FILE *f = fopen("/proc/net/xs", "r");
	int i, n, idx = -1;

	if (!f)
		return -1;
	while (idx < 0 && fgets(buf, sizeof(buf), f)) {
		if (buf[0] == '#')
			continue;
		n = split(buf, tok);
		for (i = 0; i < n; i++)
			if (!strcmp(tok[i], col))
				idx = i;
		break;		/* only the first non-comment line is the header */
	}
	fclose(f);
	return idx;
}

/* Field @col of the line listing endpoint @name, into @out. */
static int field(const char *name, const char *col, char *out, size_t len)
{
	char line[1024], *tok[MAX_COLS];
	int idx = column(col), n;

	if (idx < 0 || xs_proc_line(name, line, sizeof(line)) != 1)
		return -1;
	n = split(line, tok);
	if (idx >= n)
		return -1;
	snprintf(out, len, "%s", tok[idx]);
	return 0;
}

static long field_num(const char *name, const char *col)
{
	char v[64];

	if (field(name, col, v, sizeof(v)))
		return -1;
	return strtol(v, NULL, 10);
}

TEST(proc_net_xs_lists_pattern_and_every_name)
{
	int push = xs_socket(XSPROTO_PUSH);
	char line[1024], pattern[32], bound[XS_NAME_MAX + 4],
	     conn[XS_NAME_MAX + 4];
	XS_UNAME(n1, "bound");
	XS_UNAME(n2, "conn");

	ASSERT_GE(push, 0);
	ASSERT_OK(xs_bind(push, n1));
	ASSERT_OK(xs_connect(push, n2));
	ASSERT_EQ(1, xs_proc_line(n1, line, sizeof(line)));
	TH_LOG("line: %s", line);
	ASSERT_OK(field(n1, "pattern", pattern, sizeof(pattern)));
	ASSERT_STREQ("PUSH", pattern);
	snprintf(bound, sizeof(bound), " b:%s", n1);
	snprintf(conn, sizeof(conn), " c:%s", n2);
	ASSERT_NE(NULL, strstr(line, bound));
	ASSERT_NE(NULL, strstr(line, conn));
	/* both names are on the same, single line */
	ASSERT_EQ(1, xs_proc_line(n2, NULL, 0));
	ASSERT_OK(field(n2, "pattern", pattern, sizeof(pattern)));
	ASSERT_STREQ("PUSH", pattern);
	close(push);
}

TEST(proc_net_xs_counts_pipes_and_queued_records)
{
	int pull = xs_socket(XSPROTO_PULL);
	int a = xs_socket(XSPROTO_PUSH), b = xs_socket(XSPROTO_PUSH);
	char c;
	XS_UNAME(name, "count");

	ASSERT_GE(pull, 0);
	ASSERT_OK(xs_bind(pull, name));
	ASSERT_EQ(0, field_num(name, "pipes"));
	ASSERT_EQ(0, field_num(name, "rx_records"));
	ASSERT_OK(xs_connect(a, name));
	ASSERT_OK(xs_connect(b, name));
	ASSERT_RECORD(a, 0, "12345", "678");
	ASSERT_RECORD(b, 0, "9");
	ASSERT_EQ(1, xs_recv_within(pull, &c, 1, MSG_PEEK, NULL,
				    xs_wait_ms()));
	xs_sleep_ms(xs_quiet_ms());
	ASSERT_EQ(2, field_num(name, "pipes"));
	ASSERT_EQ(2, field_num(name, "rx_records"));
	ASSERT_EQ(9, field_num(name, "rx_bytes"));
	ASSERT_EQ(0, field_num(name, "drops"));
	ASSERT_RECV_RECORD(pull, "12345", "678");
	ASSERT_EQ(1, field_num(name, "rx_records"));
	ASSERT_EQ(1, field_num(name, "rx_bytes"));
	close(a);
	close(b);
	close(pull);
}

TEST(closed_socket_leaves_proc_net_xs)
{
	int fd = xs_socket(XSPROTO_PAIR);
	long long end;
	XS_UNAME(name, "gone");

	ASSERT_GE(fd, 0);
	ASSERT_OK(xs_bind(fd, name));
	ASSERT_EQ(1, xs_proc_line(name, NULL, 0));
	close(fd);
	end = xs_now_ms() + xs_wait_ms();
	while (xs_proc_line(name, NULL, 0) == 1 && xs_now_ms() < end)
		xs_sleep_ms(10);
	ASSERT_EQ(0, xs_proc_line(name, NULL, 0));
}

/* Socket count on the family's /proc/net/protocols line, or -1. */
static long protocols_count(void)
{
	char buf[512], *tok[MAX_COLS];
	FILE *f = fopen("/proc/net/protocols", "r");
	long count = -1;

	if (!f)
		return -1;
	while (fgets(buf, sizeof(buf), f))
		if (split(buf, tok) >= 3 && !strcmp(tok[0], "AF_XS")) {
			count = strtol(tok[2], NULL, 10);
			break;
		}
	fclose(f);
	return count;
}

static int wait_count(long want)
{
	long long end = xs_now_ms() + xs_wait_ms();

	while (protocols_count() != want && xs_now_ms() < end)
		xs_sleep_ms(10);
	return protocols_count() == want;
}

/*
 * Counted in a fresh network namespace (the counter is per namespace), so
 * nothing else running can disturb the numbers.
 */
TEST(protocols_line_counts_sockets_back_to_zero)
{
	pid_t pid = xs_fork_netns();

	ASSERT_GE(pid, 0);
	if (pid == 0) {
		static const int protos[3] = { XSPROTO_PAIR, XSPROTO_PAIR,
					       XSPROTO_PULL };
		int fd[3], i;

		if (protocols_count() != 0)
			_exit(1);
		for (i = 0; i < 3; i++)
			fd[i] = xs_socket(protos[i]);
		if (!wait_count(3))
			_exit(2);
		if (xs_bind(fd[0], "a") || xs_connect(fd[1], "a"))
			_exit(3);
		for (i = 0; i < 3; i++)
			close(fd[i]);
		if (!wait_count(0))
			_exit(4);
		_exit(0);
	}
	{
		int rc = xs_wait_child(pid);

		if (rc == XS_NO_NETNS)
			SKIP(return, "unshare(CLONE_NEWNET) not permitted");
		ASSERT_EQ(0, rc) TH_LOG("1: not 0 at start, 2: not 3 after "
					"socket(), 3: bind/connect, 4: not "
					"back to 0 after close");
	}
}

TEST(protocols_line_names_the_family)
{
	int fd = xs_socket(XSPROTO_PAIR);
	long before;

	ASSERT_GE(fd, 0);
	before = protocols_count();
	ASSERT_GE(before, 1) TH_LOG("no AF_XS line or no count");
	close(fd);
	ASSERT_TRUE(wait_count(before - 1));
}

XS_TEST_MAIN
