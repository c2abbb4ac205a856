// SPDX-License-Identifier: GPL-2.0
/*
 * Endpoint names: connect before bind, reconnection to the next binder,
 * several binds and connects per socket, EADDRINUSE/EISCONN, removing one
 * endpoint with XS_UNBIND/XS_DISCONNECT, patterns that never attach, and
 * filesystem names (nodes created with the umask, write permission needed
 * to connect).
 */
#include "xs_test.h"

FIXTURE(nm) {
	int tx, rx, rx2;
	char name[XS_NAME_MAX + 1];
};

XS_FLOW_VARIANTS(nm);

/* tx exists and rx exists, nothing bound or connected yet. */
FIXTURE_SETUP(nm)
{
	self->rx2 = -1;
	self->tx = xs_socket(variant->tx_proto);
	self->rx = xs_socket(variant->rx_proto);
	ASSERT_GE(self->tx, 0);
	ASSERT_GE(self->rx, 0);
	xs_uname(self->name, sizeof(self->name), "nm");
}

FIXTURE_TEARDOWN(nm)
{
	xs_close(&self->tx);
	xs_close(&self->rx);
	xs_close(&self->rx2);
}

TEST_F(nm, connect_before_bind_delivers_once_bound)
{
	ASSERT_OK(xs_connect(self->tx, self->name));
	ASSERT_RECORD(self->tx, MSG_DONTWAIT, "early1", "x");
	ASSERT_RECORD(self->tx, MSG_DONTWAIT, "early2");
	ASSERT_OK(xs_bind(self->rx, self->name));
	ASSERT_RECORD(self->tx, MSG_DONTWAIT, "late");
	ASSERT_RECV_RECORD(self->rx, "early1", "x");
	ASSERT_RECV_RECORD(self->rx, "early2");
	ASSERT_RECV_RECORD(self->rx, "late");
	ASSERT_NOTHING(self->rx);
}

TEST_F(nm, siocoutq_counts_what_waits_for_a_binder)
{
	int q = -1;

	ASSERT_OK(xs_connect(self->tx, self->name));
	ASSERT_OK(ioctl(self->tx, SIOCOUTQ, &q));
	ASSERT_EQ(0, q);
	ASSERT_RECORD(self->tx, MSG_DONTWAIT, "early1", "x");
	ASSERT_OK(ioctl(self->tx, SIOCOUTQ, &q));
	/* at least the payload, and what the kernel holds for it */
	ASSERT_LT(7, q);
	ASSERT_OK(xs_bind(self->rx, self->name));
	ASSERT_OK(ioctl(self->tx, SIOCOUTQ, &q));
	ASSERT_EQ(0, q);
	ASSERT_RECV_RECORD(self->rx, "early1", "x");
}

TEST_F(nm, pending_pipe_holds_sndhwm_then_sndhwm_plus_rcvhwm)
{
	long long end;
	ssize_t r;

	ASSERT_OK(xs_setint(self->tx, XS_SNDHWM, 2));
	ASSERT_OK(xs_setint(self->rx, XS_RCVHWM, 2));
	ASSERT_OK(xs_connect(self->tx, self->name));
	ASSERT_RECORD(self->tx, MSG_DONTWAIT, "p1");
	ASSERT_RECORD(self->tx, MSG_DONTWAIT, "p2");
	ASSERT_ERRNO(EAGAIN, xs_send_str(self->tx, "p3", MSG_DONTWAIT));

	ASSERT_OK(xs_bind(self->rx, self->name));
	end = xs_now_ms() + xs_wait_ms();
	while ((r = xs_send_str(self->tx, "p3", MSG_DONTWAIT | MSG_EOR)) < 0 &&
	       errno == EAGAIN && xs_now_ms() < end)
		xs_sleep_ms(1);
	ASSERT_EQ(2, r);
	ASSERT_RECORD(self->tx, MSG_DONTWAIT, "p4");
	ASSERT_ERRNO(EAGAIN, xs_send_str(self->tx, "p5", MSG_DONTWAIT));
	ASSERT_RECV_RECORD(self->rx, "p1");
	ASSERT_RECV_RECORD(self->rx, "p2");
	ASSERT_RECV_RECORD(self->rx, "p3");
	ASSERT_RECV_RECORD(self->rx, "p4");
}

TEST_F(nm, blocked_binder_wakes_when_a_peer_connects)
{
	struct xs_bg bg;

	ASSERT_OK(xs_bind(self->tx, self->name));
	ASSERT_OK(xs_bg_send(&bg, self->tx, "hello", MSG_EOR));
	ASSERT_TRUE(xs_bg_blocks(&bg));
	ASSERT_OK(xs_connect(self->rx, self->name));
	ASSERT_TRUE(xs_bg_finish(&bg, xs_wait_ms()))
		TH_LOG("send still blocked after a peer attached");
	ASSERT_EQ(5, bg.ret);
	ASSERT_RECV_RECORD(self->rx, "hello");
}

TEST_F(nm, blocked_connector_wakes_when_a_binder_attaches)
{
	struct xs_bg bg;

	ASSERT_OK(xs_setint(self->tx, XS_SNDHWM, 1));
	ASSERT_OK(xs_connect(self->tx, self->name));
	ASSERT_RECORD(self->tx, MSG_DONTWAIT, "first");
	ASSERT_OK(xs_bg_send(&bg, self->tx, "second", MSG_EOR));
	ASSERT_TRUE(xs_bg_blocks(&bg));
	ASSERT_OK(xs_bind(self->rx, self->name));
	ASSERT_TRUE(xs_bg_finish(&bg, xs_wait_ms()))
		TH_LOG("send still blocked after the binder attached");
	ASSERT_EQ(6, bg.ret);
	ASSERT_RECV_RECORD(self->rx, "first");
	ASSERT_RECV_RECORD(self->rx, "second");
}

TEST_F(nm, connector_reaches_the_next_binder)
{
	ASSERT_OK(xs_bind(self->rx, self->name));
	ASSERT_OK(xs_connect(self->tx, self->name));
	ASSERT_RECORD(self->tx, 0, "one");
	ASSERT_RECV_RECORD(self->rx, "one");
	xs_close(&self->rx);

	self->rx2 = xs_socket(variant->rx_proto);
	ASSERT_GE(self->rx2, 0);
	ASSERT_OK(xs_bind(self->rx2, self->name));
	ASSERT_RECORD(self->tx, 0, "two");
	ASSERT_RECV_RECORD(self->rx2, "two");
}

TEST_F(nm, records_sent_between_binders_reach_the_next_one)
{
	ASSERT_OK(xs_bind(self->rx, self->name));
	ASSERT_OK(xs_connect(self->tx, self->name));
	xs_close(&self->rx);
	ASSERT_RECORD(self->tx, MSG_DONTWAIT, "meanwhile");

	self->rx2 = xs_socket(variant->rx_proto);
	ASSERT_GE(self->rx2, 0);
	ASSERT_OK(xs_bind(self->rx2, self->name));
	ASSERT_RECV_RECORD(self->rx2, "meanwhile");
}

TEST_F(nm, closing_binder_discards_the_records_it_had_not_read)
{
	char c;

	ASSERT_OK(xs_bind(self->rx, self->name));
	ASSERT_OK(xs_connect(self->tx, self->name));
	ASSERT_RECORD(self->tx, 0, "lost");
	ASSERT_EQ(1, xs_recv_within(self->rx, &c, 1, MSG_PEEK, NULL,
				    xs_wait_ms()));
	xs_close(&self->rx);

	self->rx2 = xs_socket(variant->rx_proto);
	ASSERT_GE(self->rx2, 0);
	ASSERT_OK(xs_bind(self->rx2, self->name));
	ASSERT_RECORD(self->tx, 0, "kept");
	ASSERT_RECV_RECORD(self->rx2, "kept");
	ASSERT_NOTHING(self->rx2);
}

TEST_F(nm, bind_of_a_taken_name_is_eaddrinuse)
{
	ASSERT_OK(xs_bind(self->rx, self->name));
	ASSERT_ERRNO(EADDRINUSE, xs_bind(self->rx, self->name));
	ASSERT_ERRNO(EADDRINUSE, xs_bind(self->tx, self->name));
	xs_close(&self->rx);
	ASSERT_OK(xs_bind(self->tx, self->name));
}

TEST_F(nm, connecting_the_same_name_twice_is_eisconn)
{
	ASSERT_OK(xs_connect(self->tx, self->name));
	ASSERT_ERRNO(EISCONN, xs_connect(self->tx, self->name));
}

TEST_F(nm, unbind_removes_one_name)
{
	char other[XS_NAME_MAX + 1];
	int tx2;

	xs_uname(other, sizeof(other), "other");
	ASSERT_OK(xs_bind(self->rx, self->name));
	ASSERT_OK(xs_bind(self->rx, other));
	ASSERT_OK(setsockopt(self->rx, SOL_XS, XS_UNBIND, self->name,
			     strlen(self->name)));
	ASSERT_ERRNO(ENOENT, setsockopt(self->rx, SOL_XS, XS_UNBIND,
					self->name, strlen(self->name)));

	/* the name is free again; the other one still works */
	self->rx2 = xs_socket(variant->rx_proto);
	ASSERT_GE(self->rx2, 0);
	ASSERT_OK(xs_bind(self->rx2, self->name));
	tx2 = xs_socket(variant->tx_proto);
	ASSERT_GE(tx2, 0);
	ASSERT_OK(xs_connect(tx2, other));
	ASSERT_RECORD(tx2, 0, "via-other");
	ASSERT_RECV_RECORD(self->rx, "via-other");
	ASSERT_OK(xs_connect(self->tx, self->name));
	ASSERT_RECORD(self->tx, 0, "via-name");
	ASSERT_RECV_RECORD(self->rx2, "via-name");
	ASSERT_NOTHING(self->rx);
	close(tx2);
}

TEST_F(nm, unknown_endpoint_removal_is_enoent)
{
	ASSERT_ERRNO(ENOENT, setsockopt(self->rx, SOL_XS, XS_UNBIND,
					self->name, strlen(self->name)));
	ASSERT_ERRNO(ENOENT, setsockopt(self->tx, SOL_XS, XS_DISCONNECT,
					self->name, strlen(self->name)));
	ASSERT_OK(xs_bind(self->rx, self->name));
	ASSERT_ERRNO(ENOENT, setsockopt(self->rx, SOL_XS, XS_DISCONNECT,
					self->name, strlen(self->name)));
}

TEST_F(nm, longest_name_works)
{
	char name[XS_NAME_MAX + 1];

	memset(name, 'L', XS_NAME_MAX);
	name[XS_NAME_MAX] = 0;
	snprintf(name, 24, "xst.%d.long", (int)getpid());
	name[strlen(name)] = 'L';
	ASSERT_EQ(XS_NAME_MAX, (int)strlen(name));
	ASSERT_OK(xs_bind(self->rx, name));
	ASSERT_OK(xs_connect(self->tx, name));
	ASSERT_RECORD(self->tx, 0, "long");
	ASSERT_RECV_RECORD(self->rx, "long");
}

TEST_F(nm, nul_byte_ends_the_name)
{
	struct sockaddr_xs sa;
	size_t n = strlen(self->name);

	memset(&sa, 'z', sizeof(sa));
	sa.sxs_family = xs_family();
	memcpy(sa.sxs_name, self->name, n);
	sa.sxs_name[n] = 0;
	ASSERT_OK(bind(self->rx, (struct sockaddr *)&sa, sizeof(sa)));
	ASSERT_ERRNO(EADDRINUSE, xs_bind(self->tx, self->name));
	ASSERT_OK(xs_connect(self->tx, self->name));
	ASSERT_RECORD(self->tx, 0, "short");
	ASSERT_RECV_RECORD(self->rx, "short");
}

TEST_F(nm, names_are_exact_not_prefixes)
{
	char longer[XS_NAME_MAX + 2];

	snprintf(longer, sizeof(longer), "%sX", self->name);
	ASSERT_OK(xs_bind(self->rx, self->name));
	ASSERT_OK(xs_connect(self->tx, longer));
	ASSERT_RECORD(self->tx, MSG_DONTWAIT, "astray");
	ASSERT_NOTHING(self->rx);
}

/* ---- several endpoints per socket (PUSH/PULL) -------------------------- */

TEST(pull_binds_several_names)
{
	int pull = xs_socket(XSPROTO_PULL);
	int a = xs_socket(XSPROTO_PUSH), b = xs_socket(XSPROTO_PUSH);
	XS_UNAME(n1, "n1");
	XS_UNAME(n2, "n2");

	ASSERT_GE(pull, 0);
	ASSERT_OK(xs_bind(pull, n1));
	ASSERT_OK(xs_bind(pull, n2));
	ASSERT_OK(xs_connect(a, n1));
	ASSERT_OK(xs_connect(b, n2));
	ASSERT_RECORD(a, 0, "via-n1");
	ASSERT_RECV_RECORD(pull, "via-n1");
	ASSERT_RECORD(b, 0, "via-n2");
	ASSERT_RECV_RECORD(pull, "via-n2");
	close(pull);
	close(a);
	close(b);
}

TEST(push_connects_several_names_and_disconnects_one)
{
	int push = xs_socket(XSPROTO_PUSH);
	int p1 = xs_socket(XSPROTO_PULL), p2 = xs_socket(XSPROTO_PULL);
	char buf[32];
	XS_UNAME(n1, "n1");
	XS_UNAME(n2, "n2");

	ASSERT_GE(push, 0);
	ASSERT_OK(xs_bind(p1, n1));
	ASSERT_OK(xs_bind(p2, n2));
	ASSERT_OK(xs_connect(push, n1));
	ASSERT_OK(xs_connect(push, n2));
	ASSERT_RECORD(push, 0, "r1");
	ASSERT_RECORD(push, 0, "r2");
	/* one each, whichever order */
	ASSERT_EQ(2, xs_recv_wait(p1, buf, sizeof(buf), NULL));
	ASSERT_EQ(2, xs_recv_wait(p2, buf, sizeof(buf), NULL));

	ASSERT_OK(setsockopt(push, SOL_XS, XS_DISCONNECT, n1, strlen(n1)));
	ASSERT_ERRNO(ENOENT, setsockopt(push, SOL_XS, XS_DISCONNECT, n1,
					strlen(n1)));
	ASSERT_RECORD(push, 0, "only-n2-a");
	ASSERT_RECORD(push, 0, "only-n2-b");
	ASSERT_RECV_RECORD(p2, "only-n2-a");
	ASSERT_RECV_RECORD(p2, "only-n2-b");
	ASSERT_NOTHING(p1);
	close(push);
	close(p1);
	close(p2);
}

TEST(incompatible_patterns_never_attach)
{
	static const struct { int bound, conn; } t[] = {
		{ XSPROTO_PUSH, XSPROTO_PUSH },
		{ XSPROTO_PULL, XSPROTO_PAIR },
		{ XSPROTO_PAIR, XSPROTO_PUSH },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		int b = xs_socket(t[i].bound), c = xs_socket(t[i].conn);
		XS_UNAME(name, "incompat");

		ASSERT_GE(b, 0);
		ASSERT_GE(c, 0);
		ASSERT_OK(xs_setint(c, XS_SNDHWM, 1));
		ASSERT_OK(xs_bind(b, name));
		ASSERT_OK(xs_connect(c, name));
		/* the pending pipe takes SNDHWM records, then blocks */
		ASSERT_RECORD(c, MSG_DONTWAIT, "stray");
		ASSERT_ERRNO(EAGAIN, xs_send_str(c, "more", MSG_DONTWAIT));
		if (t[i].bound != XSPROTO_PUSH)
			ASSERT_NOTHING(b);
		if (t[i].bound != XSPROTO_PULL)
			ASSERT_ERRNO(EAGAIN, xs_send_str(b, "back",
						 MSG_DONTWAIT | MSG_EOR));
		close(b);
		close(c);
	}
}

/* ---- filesystem names -------------------------------------------------- */

FIXTURE(fsname) {
	char dir[64];
	char path[128];
};

FIXTURE_SETUP(fsname)
{
	snprintf(self->dir, sizeof(self->dir), "/tmp/xst.%d.XXXXXX",
		 (int)getpid());
	ASSERT_NE(NULL, mkdtemp(self->dir));
	ASSERT_OK(chmod(self->dir, 0755));
	snprintf(self->path, sizeof(self->path), "%s/sock", self->dir);
}

FIXTURE_TEARDOWN(fsname)
{
	unlink(self->path);
	rmdir(self->dir);
}

TEST_F(fsname, bind_creates_a_socket_node_with_the_umask)
{
	int fd = xs_socket(XSPROTO_PULL);
	struct stat st;

	ASSERT_GE(fd, 0);
	umask(027);
	ASSERT_OK(xs_bind(fd, self->path));
	ASSERT_OK(stat(self->path, &st));
	ASSERT_TRUE(S_ISSOCK(st.st_mode));
	ASSERT_EQ(0750U, st.st_mode & 0777);
	close(fd);
}

TEST_F(fsname, records_travel_through_a_filesystem_name)
{
	int pull = xs_socket(XSPROTO_PULL), push = xs_socket(XSPROTO_PUSH);

	ASSERT_OK(xs_bind(pull, self->path));
	ASSERT_OK(xs_connect(push, self->path));
	ASSERT_RECORD(push, 0, "via-fs", "2");
	ASSERT_RECV_RECORD(pull, "via-fs", "2");
	close(pull);
	close(push);
}

TEST_F(fsname, bind_over_an_existing_file_is_eaddrinuse)
{
	int fd = xs_socket(XSPROTO_PULL), file;

	file = open(self->path, O_CREAT | O_WRONLY, 0644);
	ASSERT_GE(file, 0);
	close(file);
	ASSERT_ERRNO(EADDRINUSE, xs_bind(fd, self->path));
	close(fd);
}

/*
 * In a child running as nobody: connect to @path and send a record.
 * Returns 0 when that worked, the connect errno when it failed, or
 * 100+ when something else went wrong.
 */
static int connect_as_nobody(const char *path)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		return 100;
	if (pid > 0)
		return xs_wait_child(pid);
	if (setgid(65534) || setuid(65534))
		_exit(101);
	fd = xs_socket(XSPROTO_PUSH);
	if (fd < 0)
		_exit(102);
	if (xs_connect(fd, path))
		_exit(errno);
	_exit(xs_send_str(fd, "nobody", MSG_EOR) == 6 ? 0 : 103);
}

/* Connecting needs write permission on the node, as for AF_UNIX. */
TEST_F(fsname, connect_needs_write_permission)
{
	int pull = xs_socket(XSPROTO_PULL);

	umask(022);
	ASSERT_OK(xs_bind(pull, self->path));
	ASSERT_EQ(EACCES, connect_as_nobody(self->path));
	ASSERT_OK(chmod(self->path, 0777));
	ASSERT_EQ(0, connect_as_nobody(self->path));
	ASSERT_RECV_RECORD(pull, "nobody");
	close(pull);
}

XS_TEST_MAIN
