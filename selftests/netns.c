// SPDX-License-Identifier: GPL-2.0
/*
 * Network namespaces: an abstract name is private to its namespace (the
 * same name binds independently in two of them, a connector in one never
 * reaches a binder in another, /proc/net/xs shows only its own sockets),
 * while a filesystem name reaches across namespaces that share the
 * directory.
 *
 * Each test forks a child into a new network namespace (xs_fork_netns);
 * the child reports through its exit code (0 = fine, XS_NO_NETNS: SKIP) and
 * talks to the parent over a pipe pair when the two must interleave.
 */
#include "xs_test.h"

struct sync {
	int to_parent[2], to_child[2];
};

static int sync_init(struct sync *s)
{
	return pipe(s->to_parent) || pipe(s->to_child) ? -1 : 0;
}

static int sync_tell(int fd[2])
{
	return write(fd[1], "x", 1) == 1 ? 0 : -1;
}

static int sync_hear(int fd[2])
{
	char c;

	return read(fd[0], &c, 1) == 1 ? 0 : -1;
}

/* In the parent after fork: a child that dies early then reads as EOF. */
static void sync_parent_side(struct sync *s)
{
	close(s->to_parent[1]);
	close(s->to_child[0]);
}

/* Wait for the child; SKIP the test when it had no namespace. */
#define CHILD_RESULT(pid) do {						\
	int __rc = xs_wait_child(pid);					\
	if (__rc == XS_NO_NETNS)						\
		SKIP(return, "unshare(CLONE_NEWNET) not permitted");	\
	ASSERT_EQ(0, __rc) TH_LOG("child step %d failed", __rc);	\
} while (0)

/* Send @s as a record on @fd and read it back on @rx: 0 or @step. */
static int roundtrip(int tx, int rx, const char *s, int step)
{
	char buf[64];
	int f;
	ssize_t n;

	if (xs_send_str(tx, s, MSG_EOR) != (ssize_t)strlen(s))
		return step;
	n = xs_recv_wait(rx, buf, sizeof(buf) - 1, &f);
	if (n != (ssize_t)strlen(s) || memcmp(buf, s, n) || !(f & MSG_EOR))
		return step + 1;
	return 0;
}

TEST(same_abstract_name_binds_independently_per_namespace)
{
	int pull = xs_socket(XSPROTO_PULL), push = xs_socket(XSPROTO_PUSH);
	struct sync sy;
	pid_t pid;
	XS_UNAME(name, "netns");

	ASSERT_GE(pull, 0);
	ASSERT_OK(sync_init(&sy));
	ASSERT_OK(xs_bind(pull, name));
	ASSERT_OK(xs_connect(push, name));

	pid = xs_fork_netns();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int p2, q2, rc;

		p2 = xs_socket(XSPROTO_PULL);
		q2 = xs_socket(XSPROTO_PUSH);
		if (p2 < 0 || q2 < 0)
			_exit(1);
		if (xs_bind(p2, name))
			_exit(2);	/* the parent's binding leaked in */
		if (xs_connect(q2, name))
			_exit(3);
		rc = roundtrip(q2, p2, "inside", 4);
		if (rc)
			_exit(rc);
		if (sync_tell(sy.to_parent) || sync_hear(sy.to_child))
			_exit(6);
		if (!xs_nothing_arrives(p2))
			_exit(7);	/* the parent's record leaked in */
		_exit(0);
	}
	sync_parent_side(&sy);
	if (sync_hear(sy.to_parent) == 0) {
		ASSERT_RECORD(push, 0, "outside");
		ASSERT_RECV_RECORD(pull, "outside");
		ASSERT_NOTHING(pull);
		sync_tell(sy.to_child);
	}
	CHILD_RESULT(pid);
	close(pull);
	close(push);
}

TEST(connector_in_another_namespace_does_not_reach_the_binder)
{
	int pull = xs_socket(XSPROTO_PULL);
	struct sync sy;
	pid_t pid;
	XS_UNAME(name, "netns");

	ASSERT_GE(pull, 0);
	ASSERT_OK(sync_init(&sy));
	ASSERT_OK(xs_bind(pull, name));

	pid = xs_fork_netns();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int push;

		push = xs_socket(XSPROTO_PUSH);
		if (push < 0 || xs_setint(push, XS_SNDHWM, 1))
			_exit(1);
		if (xs_connect(push, name))
			_exit(2);
		/* pending: only SNDHWM fits, nobody here has bound it */
		if (xs_send_str(push, "stray", MSG_EOR | MSG_DONTWAIT) != 5)
			_exit(3);
		if (xs_send_str(push, "more", MSG_EOR | MSG_DONTWAIT) != -1 ||
		    errno != EAGAIN)
			_exit(4);
		if (sync_tell(sy.to_parent) || sync_hear(sy.to_child))
			_exit(5);
		_exit(0);
	}
	sync_parent_side(&sy);
	if (sync_hear(sy.to_parent) == 0) {
		ASSERT_NOTHING(pull);
		sync_tell(sy.to_child);
	}
	CHILD_RESULT(pid);
	ASSERT_NOTHING(pull);
	close(pull);
}

TEST(binder_in_another_namespace_does_not_take_pending_connectors)
{
	int push = xs_socket(XSPROTO_PUSH);
	pid_t pid;
	XS_UNAME(name, "netns");

	ASSERT_GE(push, 0);
	ASSERT_OK(xs_connect(push, name));
	ASSERT_RECORD(push, MSG_DONTWAIT, "waiting");

	pid = xs_fork_netns();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int pull;

		pull = xs_socket(XSPROTO_PULL);
		if (pull < 0 || xs_bind(pull, name))
			_exit(1);
		if (!xs_nothing_arrives(pull))
			_exit(2);
		_exit(0);
	}
	CHILD_RESULT(pid);
	close(push);
}

TEST(filesystem_name_reaches_across_namespaces)
{
	char dir[64], path[96];
	int pull = xs_socket(XSPROTO_PULL);
	pid_t pid;

	ASSERT_GE(pull, 0);
	snprintf(dir, sizeof(dir), "/tmp/xst.%d.XXXXXX", (int)getpid());
	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sock", dir);
	ASSERT_OK(xs_bind(pull, path));

	pid = xs_fork_netns();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int push;

		push = xs_socket(XSPROTO_PUSH);
		if (push < 0 || xs_connect(push, path))
			_exit(1);
		if (xs_send_str(push, "across", MSG_EOR) != 6)
			_exit(2);
		close(push);
		_exit(0);
	}
	CHILD_RESULT(pid);
	ASSERT_RECV_RECORD(pull, "across");
	close(pull);
	unlink(path);
	rmdir(dir);
}

TEST(proc_net_xs_shows_only_its_namespace)
{
	int pull = xs_socket(XSPROTO_PULL);
	struct sync sy;
	pid_t pid;
	XS_UNAME(outer, "outer");
	XS_UNAME(inner, "inner");

	ASSERT_GE(pull, 0);
	ASSERT_OK(sync_init(&sy));
	ASSERT_OK(xs_bind(pull, outer));
	ASSERT_EQ(1, xs_proc_line(outer, NULL, 0));

	pid = xs_fork_netns();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int fd;

		if (xs_proc_line(outer, NULL, 0) != 0)
			_exit(1);	/* also fails if the file is missing */
		fd = xs_socket(XSPROTO_PUSH);
		if (fd < 0 || xs_bind(fd, inner))
			_exit(2);
		if (xs_proc_line(inner, NULL, 0) != 1)
			_exit(3);
		if (sync_tell(sy.to_parent) || sync_hear(sy.to_child))
			_exit(4);
		_exit(0);
	}
	sync_parent_side(&sy);
	if (sync_hear(sy.to_parent) == 0) {
		EXPECT_EQ(0, xs_proc_line(inner, NULL, 0));
		sync_tell(sy.to_child);
	}
	CHILD_RESULT(pid);
	close(pull);
}

XS_TEST_MAIN
