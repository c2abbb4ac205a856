// SPDX-License-Identifier: GPL-2.0
/*
 * Filesystem names and the name table under attack (issue 8, items 1 and
 * 6).  A filesystem name must behave like an AF_UNIX path socket: resolved
 * in the caller's mount namespace and root, identified by the node's inode
 * (not the path string), with search permission on every directory and
 * write permission on the node checked with the connector's credentials,
 * whether it connects before or after the bind.  The name tables must not
 * degrade into lists for names an attacker chooses.
 *
 * Children report through exit codes: 0 fine, SKIP_RC: no namespaces.
 */
#include "xs_test.h"
#include <grp.h>
#include <sys/mount.h>

#define SKIP_RC 98

struct sync {
	int up[2], down[2];	/* child -> parent, parent -> child */
};

static int sync_init(struct sync *s)
{
	return pipe(s->up) || pipe(s->down) ? -1 : 0;
}

static int say(int fd[2], int v)
{
	unsigned char c = v;

	return write(fd[1], &c, 1) == 1 ? 0 : -1;
}

/* The byte the other side said, or -1 at EOF. */
static int hear(int fd[2])
{
	unsigned char c;

	return read(fd[0], &c, 1) == 1 ? c : -1;
}

static int drop_to_nobody(void)
{
	return setgroups(0, NULL) || setgid(65534) || setuid(65534) ? -1 : 0;
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, s, strlen(s)) == (ssize_t)strlen(s);
	close(fd);
	return ok ? 0 : -1;
}

/* Become root of a new user and mount namespace (as the current uid). */
static int own_user_and_mount_ns(void)
{
	char map[64];
	unsigned int uid = getuid(), gid = getgid();

	if (unshare(CLONE_NEWUSER | CLONE_NEWNS))
		return -1;
	snprintf(map, sizeof(map), "0 %u 1", uid);
	if (write_file("/proc/self/uid_map", map))
		return -1;
	if (write_file("/proc/self/setgroups", "deny") && errno != ENOENT)
		return -1;
	snprintf(map, sizeof(map), "0 %u 1", gid);
	return write_file("/proc/self/gid_map", map);
}

static void make_dir(char *dir, size_t len)
{
	snprintf(dir, len, "/tmp/xsa.%d.XXXXXX", (int)getpid());
	if (!mkdtemp(dir))
		dir[0] = '\0';
}

static void rm_tree(const char *dir)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		return;
}

#define CHILD_OK(pid) do {						\
	int __rc = xs_wait_child(pid);					\
	if (__rc == SKIP_RC)						\
		SKIP(return, "no user/mount namespace for the child");	\
	ASSERT_EQ(0, __rc) TH_LOG("child failed at step %d", __rc);	\
} while (0)

/*
 * (a) A process in its own user+mount namespace mounts a tmpfs over the
 * directory and binds the same path there.  It must not receive the
 * records of a connector that connected, in the original namespace, before
 * the real service bound; the real bind must then succeed and receive them.
 */
TEST(impostor_in_another_mount_namespace_gets_nothing)
{
	char dir[64], path[96];
	struct sync sy;
	int push, pull;
	pid_t pid;

	xs_family();
	make_dir(dir, sizeof(dir));
	ASSERT_NE(0, dir[0]);
	ASSERT_OK(chmod(dir, 0777));
	snprintf(path, sizeof(path), "%s/x.sock", dir);
	push = xs_socket(XSPROTO_PUSH);
	ASSERT_GE(push, 0);
	ASSERT_OK(xs_connect(push, path));
	ASSERT_SEND(push, "secret", MSG_EOR | MSG_DONTWAIT);
	ASSERT_OK(sync_init(&sy));

	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		pid_t probe;
		int fd;

		close(sy.up[0]);
		close(sy.down[1]);
		/* unprivileged if the system allows it, else as root */
		probe = fork();
		if (probe == 0)
			_exit(drop_to_nobody() || own_user_and_mount_ns());
		if (xs_wait_child(probe) == 0 && drop_to_nobody())
			_exit(1);
		if (own_user_and_mount_ns())
			_exit(SKIP_RC);
		if (mount("none", dir, "tmpfs", 0, NULL))
			_exit(SKIP_RC);
		fd = xs_socket(XSPROTO_PULL);
		if (fd < 0)
			_exit(2);
		if (xs_bind(fd, path))
			_exit(3);
		if (say(sy.up, 1))
			_exit(4);
		if (hear(sy.down) != 2)
			_exit(5);
		if (!xs_nothing_arrives(fd))
			_exit(6);	/* the impostor got records */
		_exit(0);
	}
	close(sy.up[1]);
	close(sy.down[0]);
	if (hear(sy.up) == 1) {
		ASSERT_SEND(push, "second", MSG_EOR | MSG_DONTWAIT);
		pull = xs_socket(XSPROTO_PULL);
		ASSERT_GE(pull, 0);
		/* no node exists here: the bind succeeds */
		ASSERT_OK(xs_bind(pull, path));
		ASSERT_RECV_RECORD(pull, "secret");
		ASSERT_RECV_RECORD(pull, "second");
		ASSERT_OK(say(sy.down, 2));
		close(pull);
	}
	CHILD_OK(pid);
	close(push);
	unlink(path);
	rmdir(dir);
}

/*
 * Fork a child as nobody that connects to @path and sends "intruder".
 * It reports the connect's errno (0: connected) on sy->up, then waits
 * for a word on sy->down before closing.
 */
static pid_t intruder(struct sync *sy, const char *path)
{
	pid_t pid;
	int fd;

	if (sync_init(sy))
		return -1;
	pid = fork();
	if (pid)
		return pid;
	close(sy->up[0]);
	close(sy->down[1]);
	if (drop_to_nobody())
		_exit(1);
	fd = xs_socket(XSPROTO_PUSH);
	if (fd < 0)
		_exit(2);
	if (xs_connect(fd, path)) {
		say(sy->up, errno);
	} else {
		say(sy->up, 0);
		xs_send_str(fd, "intruder", MSG_EOR | MSG_DONTWAIT);
	}
	hear(sy->down);
	_exit(0);
}

static int intruder_result(struct sync *sy)
{
	close(sy->up[1]);
	close(sy->down[0]);
	return hear(sy->up);
}

/*
 * (b) uid 65534 must not reach root's service in a 0700 directory: not by
 * connecting before the bind (EACCES at connect, and nothing it sends ever
 * arrives), nor after it.
 */
TEST(nobody_cannot_reach_a_service_in_a_private_directory)
{
	char dir[64], path[96];
	struct sync sy1, sy2;
	pid_t c1, c2;
	int pull, r1, r2;
	mode_t old;

	xs_family();
	make_dir(dir, sizeof(dir));
	ASSERT_NE(0, dir[0]);
	ASSERT_OK(chmod(dir, 0700));
	snprintf(path, sizeof(path), "%s/svc", dir);
	old = umask(0);			/* the node itself is 0777 */

	c1 = intruder(&sy1, path);	/* before the bind */
	ASSERT_GE(c1, 0);
	r1 = intruder_result(&sy1);
	pull = xs_socket(XSPROTO_PULL);
	ASSERT_GE(pull, 0);
	ASSERT_OK(xs_bind(pull, path));
	c2 = intruder(&sy2, path);	/* after the bind */
	ASSERT_GE(c2, 0);
	r2 = intruder_result(&sy2);
	umask(old);

	EXPECT_TRUE(xs_nothing_arrives(pull));
	EXPECT_EQ(EACCES, r1) TH_LOG("connect before bind: %s", strerror(r1));
	EXPECT_EQ(EACCES, r2) TH_LOG("connect after bind: %s", strerror(r2));
	say(sy1.down, 1);
	say(sy2.down, 1);
	EXPECT_EQ(0, xs_wait_child(c1));
	EXPECT_EQ(0, xs_wait_child(c2));
	close(pull);
	unlink(path);
	rmdir(dir);
}

/*
 * (b') A connector that came before the node, with search permission but
 * without write permission on the node the binder creates, stays pending
 * and never joins that node.
 */
TEST(pending_connector_without_write_permission_never_joins)
{
	char dir[64], path[96];
	struct sync sy;
	int pull, r;
	mode_t old;
	pid_t c;

	xs_family();
	make_dir(dir, sizeof(dir));
	ASSERT_NE(0, dir[0]);
	ASSERT_OK(chmod(dir, 0755));
	snprintf(path, sizeof(path), "%s/svc", dir);
	c = intruder(&sy, path);
	ASSERT_GE(c, 0);
	r = intruder_result(&sy);
	ASSERT_EQ(0, r);
	old = umask(022);		/* node 0755: nobody may not write */
	pull = xs_socket(XSPROTO_PULL);
	ASSERT_GE(pull, 0);
	ASSERT_OK(xs_bind(pull, path));
	umask(old);
	EXPECT_TRUE(xs_nothing_arrives(pull));
	say(sy.down, 1);
	EXPECT_EQ(0, xs_wait_child(c));
	close(pull);
	unlink(path);
	rmdir(dir);
}

/* (c) A chrooted process's path resolves inside its root, both ways. */
TEST(chrooted_path_resolves_inside_the_root)
{
	char root[64], out[96], late[96];
	struct sync sy;
	int pull, pull2;
	pid_t pid;

	xs_family();
	make_dir(root, sizeof(root));
	ASSERT_NE(0, root[0]);
	ASSERT_OK(chmod(root, 0755));
	snprintf(out, sizeof(out), "%s/s.sock", root);
	snprintf(late, sizeof(late), "%s/t.sock", root);
	pull = xs_socket(XSPROTO_PULL);
	ASSERT_GE(pull, 0);
	ASSERT_OK(xs_bind(pull, out));
	ASSERT_OK(sync_init(&sy));

	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int a, b;

		close(sy.up[0]);
		close(sy.down[1]);
		if (chroot(root) || chdir("/"))
			_exit(1);
		a = xs_socket(XSPROTO_PUSH);
		b = xs_socket(XSPROTO_PUSH);
		if (a < 0 || b < 0)
			_exit(2);
		if (xs_connect(a, "/s.sock"))		/* bound */
			_exit(3);
		if (xs_connect(b, "/t.sock"))		/* not yet */
			_exit(4);
		if (xs_send_str(a, "jail", MSG_EOR | MSG_DONTWAIT) != 4 ||
		    xs_send_str(b, "early", MSG_EOR | MSG_DONTWAIT) != 5)
			_exit(5);
		say(sy.up, 1);
		hear(sy.down);
		_exit(0);
	}
	close(sy.up[1]);
	close(sy.down[0]);
	ASSERT_EQ(1, hear(sy.up));
	pull2 = xs_socket(XSPROTO_PULL);
	ASSERT_GE(pull2, 0);
	ASSERT_OK(xs_bind(pull2, late));
	ASSERT_RECV_RECORD(pull, "jail");
	ASSERT_RECV_RECORD(pull2, "early");
	say(sy.down, 1);
	CHILD_OK(pid);
	close(pull);
	close(pull2);
	rm_tree(root);
}

/*
 * (d) Spellings of one path (dot-dot, double slash, a symlinked
 * directory) reach the same binder, before and after the bind.
 */
TEST(spellings_of_one_path_reach_one_binder)
{
	char dir[64], link[80], p1[128], p2[160], p3[128], p4[128];
	const char *base;
	int pull, a, b, c;

	xs_family();
	make_dir(dir, sizeof(dir));
	ASSERT_NE(0, dir[0]);
	base = strrchr(dir, '/') + 1;
	snprintf(link, sizeof(link), "%s.lnk", dir);
	ASSERT_OK(symlink(dir, link));
	snprintf(p1, sizeof(p1), "%s/x", dir);
	snprintf(p2, sizeof(p2), "%s/../%s/x", dir, base);
	snprintf(p3, sizeof(p3), "%s/x", link);
	snprintf(p4, sizeof(p4), "/tmp//%s//x", base);
	a = xs_socket(XSPROTO_PUSH);
	b = xs_socket(XSPROTO_PUSH);
	c = xs_socket(XSPROTO_PUSH);
	pull = xs_socket(XSPROTO_PULL);
	ASSERT_GE(a, 0);
	ASSERT_GE(b, 0);
	ASSERT_GE(c, 0);
	ASSERT_GE(pull, 0);
	ASSERT_OK(xs_connect(a, p2));			/* before the bind */
	ASSERT_OK(xs_bind(pull, p1));
	ASSERT_OK(xs_connect(b, p3));			/* after */
	ASSERT_OK(xs_connect(c, p4));
	ASSERT_SEND(a, "dotdot", MSG_EOR | MSG_DONTWAIT);
	ASSERT_RECV_RECORD(pull, "dotdot");
	ASSERT_SEND(b, "symlink", MSG_EOR | MSG_DONTWAIT);
	ASSERT_RECV_RECORD(pull, "symlink");
	ASSERT_SEND(c, "slashes", MSG_EOR | MSG_DONTWAIT);
	ASSERT_RECV_RECORD(pull, "slashes");
	close(a);
	close(b);
	close(c);
	close(pull);
	unlink(link);
	rm_tree(dir);
}

/*
 * (e) A renamed node is reached through its new path; its old path is
 * free, as for AF_UNIX: a new bind there succeeds and takes the
 * connectors of the old path.
 */
TEST(renamed_node_is_reached_by_its_new_path)
{
	char dir[64], pa[96], pb[96];
	int pull, pull2, a, b;

	xs_family();
	make_dir(dir, sizeof(dir));
	ASSERT_NE(0, dir[0]);
	snprintf(pa, sizeof(pa), "%s/a", dir);
	snprintf(pb, sizeof(pb), "%s/b", dir);
	pull = xs_socket(XSPROTO_PULL);
	pull2 = xs_socket(XSPROTO_PULL);
	a = xs_socket(XSPROTO_PUSH);
	b = xs_socket(XSPROTO_PUSH);
	ASSERT_GE(pull, 0);
	ASSERT_GE(pull2, 0);
	ASSERT_GE(a, 0);
	ASSERT_GE(b, 0);
	ASSERT_OK(xs_bind(pull, pa));
	ASSERT_OK(rename(pa, pb));
	ASSERT_OK(xs_connect(b, pb));
	ASSERT_SEND(b, "new-path", MSG_EOR | MSG_DONTWAIT);
	ASSERT_RECV_RECORD(pull, "new-path");

	ASSERT_OK(xs_connect(a, pa));		/* nothing there now */
	ASSERT_SEND(a, "old-path", MSG_EOR | MSG_DONTWAIT);
	ASSERT_OK(xs_bind(pull2, pa));
	ASSERT_RECV_RECORD(pull2, "old-path");
	ASSERT_TRUE(xs_nothing_arrives(pull));
	close(a);
	close(b);
	close(pull);
	close(pull2);
	rm_tree(dir);
}

/* ---- table sizes --------------------------------------------------- */

FIXTURE(big) {
	int unused;
};

FIXTURE_SETUP(big)
{
}

FIXTURE_TEARDOWN(big)
{
}

static uint32_t rol(uint32_t x, int k)
{
	return (x << k) | (x >> (32 - k));
}

/* Bob Jenkins' lookup3 as the kernel's jhash() computes it (LE). */
static uint32_t kjhash(const unsigned char *k, uint32_t len, uint32_t seed)
{
	uint32_t a, b, c, w[3];
	unsigned char tail[12];

	a = b = c = 0xdeadbeef + len + seed;
	while (len > 12) {
		memcpy(w, k, 12);
		a += w[0];
		b += w[1];
		c += w[2];
		a -= c; a ^= rol(c, 4);  c += b;
		b -= a; b ^= rol(a, 6);  a += c;
		c -= b; c ^= rol(b, 8);  b += a;
		a -= c; a ^= rol(c, 16); c += b;
		b -= a; b ^= rol(a, 19); a += c;
		c -= b; c ^= rol(b, 4);  b += a;
		len -= 12;
		k += 12;
	}
	if (!len)
		return c;
	memset(tail, 0, sizeof(tail));
	memcpy(tail, k, len);
	memcpy(w, tail, 12);
	a += w[0];
	b += w[1];
	c += w[2];
	c ^= b; c -= rol(b, 14);
	a ^= c; a -= rol(c, 11);
	b ^= a; b -= rol(a, 25);
	c ^= b; c -= rol(b, 16);
	a ^= c; a -= rol(c, 4);
	b ^= a; b -= rol(a, 14);
	c ^= b; c -= rol(b, 24);
	return c;
}

#define NAME_LEN 24

/* "xs<tag>.<pid>.<i>", exactly NAME_LEN bytes. */
static void name_of(char *s, char tag, unsigned long i)
{
	char tmp[64];

	snprintf(tmp, sizeof(tmp), "xs%c.%04u.%015lu", tag,
		 (unsigned int)getpid() % 10000, i);
	memcpy(s, tmp, NAME_LEN);
	s[NAME_LEN] = '\0';
}

/* @n names of one length that all fell into one bucket of the old table. */
static char *colliding_names(int n)
{
	char *names = malloc((size_t)n * (NAME_LEN + 1));
	unsigned long cand = 0;
	int got = 0;

	if (!names)
		return NULL;
	while (got < n) {
		char *s = names + (size_t)got * (NAME_LEN + 1);

		name_of(s, 'a', cand++);
		if (kjhash((unsigned char *)s, NAME_LEN, 0) >> 24 == 0x5a)
			got++;
	}
	return names;
}

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* Bind, connect and close @n of @names; microseconds, or -1. */
static long long bind_connect_close(const char *names, int n)
{
	int pull = xs_socket(XSPROTO_PULL), push = xs_socket(XSPROTO_PUSH);
	long long t = now_us();
	int i;

	if (pull < 0 || push < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (xs_bind(pull, names + (size_t)i * (NAME_LEN + 1)) ||
		    xs_connect(push, names + (size_t)i * (NAME_LEN + 1)))
			return -1;
	close(push);
	close(pull);
	return now_us() - t;
}

/*
 * (f) Names chosen to collide in the old fixed, unseeded table: four times
 * as many names must cost less than ten times as long (linear, with
 * room for noise; quadratic would be sixteen).
 */
TEST_F_TIMEOUT(big, colliding_abstract_names_cost_linear_time, 120)
{
	int n = xs_iters(4000, 500);
	char *names = colliding_names(4 * n);
	long long t1, t4, t;
	int round;

	ASSERT_NE(NULL, names);
	t1 = t4 = -1;
	for (round = 0; round < 2; round++) {
		t = bind_connect_close(names, n);
		ASSERT_LT(0, t);
		if (t1 < 0 || t < t1)
			t1 = t;
		/* the second half of the names: fresh ones, same bucket */
		t = bind_connect_close(names, 4 * n);
		ASSERT_LT(0, t);
		if (t4 < 0 || t < t4)
			t4 = t;
	}
	TH_LOG("%d names: %lld us, %d names: %lld us", n, t1, 4 * n, t4);
	EXPECT_LT(t4, 10 * t1);
	free(names);
}

/* Connect a fresh socket to each of @n names in turn and close it. */
static long long connect_close(const char *names, int n)
{
	long long t = now_us();
	int i;

	for (i = 0; i < n; i++) {
		int fd = xs_socket(XSPROTO_PUSH);

		if (fd < 0 || xs_connect(fd, names + (size_t)i * (NAME_LEN + 1)))
			return -1;
		close(fd);
	}
	return now_us() - t;
}

static long long binder_with_names(const char *names, int n)
{
	int pull = xs_socket(XSPROTO_PULL), i;
	long long t;

	if (pull < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (xs_bind(pull, names + (size_t)i * (NAME_LEN + 1)))
			return -1;
	t = connect_close(names, n);
	close(pull);
	return t;
}

/*
 * (g) Connectors coming and going on a binder that holds many names: each
 * close must not scan all of the binder's names.
 */
TEST_F_TIMEOUT(big, connector_churn_on_a_binder_with_many_names_is_linear, 120)
{
	int n = xs_iters(3000, 400), i;
	char *names = malloc((size_t)4 * n * (NAME_LEN + 1));
	long long t1 = -1, t4 = -1, t;
	int round;

	ASSERT_NE(NULL, names);
	for (i = 0; i < 4 * n; i++)
		name_of(names + (size_t)i * (NAME_LEN + 1), 'g', i);
	for (round = 0; round < 2; round++) {
		t = binder_with_names(names, n);
		ASSERT_LT(0, t);
		if (t1 < 0 || t < t1)
			t1 = t;
		t = binder_with_names(names, 4 * n);
		ASSERT_LT(0, t);
		if (t4 < 0 || t < t4)
			t4 = t;
	}
	TH_LOG("%d names: %lld us, %d names: %lld us", n, t1, 4 * n, t4);
	EXPECT_LT(t4, 10 * t1);
	free(names);
}

XS_TEST_MAIN
