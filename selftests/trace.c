// SPDX-License-Identifier: GPL-2.0
/*
 * Tracepoints (events/af_xs in tracefs): a record sent and delivered, a
 * record dropped with its reason, pipe ends attaching and detaching and
 * subscription changes each leave an event naming the sockets by inode.
 */
#include "xs_test.h"

#include <sys/mount.h>

#define TRACE_BUF (1 << 20)

static const char *tracefs(void)
{
	static const char *const dirs[] = {
		"/sys/kernel/tracing", "/sys/kernel/debug/tracing",
	};
	char path[128];
	unsigned int i;

	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/events/af_xs", dirs[i]);
		if (!access(path, F_OK))
			return dirs[i];
	}
	if (mount("nodev", dirs[0], "tracefs", 0, NULL))
		return NULL;
	return dirs[0];
}

static int write_file(const char *dir, const char *file, const char *val)
{
	char path[256];
	int fd, ok;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return -1;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok ? 0 : -1;
}

/* The trace buffer, as text (static storage). */
static const char *read_trace(const char *dir)
{
	static char buf[TRACE_BUF];
	char path[256];
	size_t len = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/trace", dir);
	fd = open(path, O_RDONLY);
	buf[0] = '\0';
	if (fd < 0)
		return buf;
	while (len < sizeof(buf) - 1 &&
	       (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += n;
	buf[len] = '\0';
	close(fd);
	return buf;
}

static unsigned long ino(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : st.st_ino;
}

/* Does the trace hold "EVENT: TEXT"? */
static int traced(const char *dir, const char *event, const char *text)
{
	char want[512];

	snprintf(want, sizeof(want), "%s: %s", event, text);
	return strstr(read_trace(dir), want) != NULL;
}

FIXTURE(trace) {
	const char *dir;
	char text[256];
};

FIXTURE_SETUP(trace)
{
	self->dir = tracefs();
	ASSERT_NE(NULL, self->dir);
	ASSERT_OK(write_file(self->dir, "events/af_xs/enable", "1"));
	ASSERT_OK(write_file(self->dir, "trace", ""));
}

FIXTURE_TEARDOWN(trace)
{
	if (self->dir)
		write_file(self->dir, "events/af_xs/enable", "0");
}

TEST_F(trace, record_sent_delivered_and_pipe_ends_name_the_sockets)
{
	int pull = xs_socket(XSPROTO_PULL), push = xs_socket(XSPROTO_PUSH);
	unsigned long pull_ino = ino(pull), push_ino = ino(push);
	XS_UNAME(name, "trace");

	ASSERT_GE(pull, 0);
	ASSERT_GE(push, 0);
	ASSERT_OK(xs_bind(pull, name));
	ASSERT_OK(xs_connect(push, name));
	ASSERT_SEND(push, "ab", 0);
	ASSERT_SEND(push, "cde", MSG_EOR);
	ASSERT_RECV_RECORD(pull, "ab", "cde");

	snprintf(self->text, sizeof(self->text),
		 "ino=%lu end=bind pipes=1\n", pull_ino);
	EXPECT_TRUE(traced(self->dir, "xs_pipe_attach", self->text));
	snprintf(self->text, sizeof(self->text),
		 "ino=%lu end=connect pipes=1\n", push_ino);
	EXPECT_TRUE(traced(self->dir, "xs_pipe_attach", self->text));
	snprintf(self->text, sizeof(self->text),
		 "ino=%lu proto=%d parts=2 bytes=5\n", push_ino, XSPROTO_PUSH);
	EXPECT_TRUE(traced(self->dir, "xs_record_sent", self->text));
	snprintf(self->text, sizeof(self->text),
		 "ino=%lu proto=%d parts=2 bytes=5\n", pull_ino, XSPROTO_PULL);
	EXPECT_TRUE(traced(self->dir, "xs_record_delivered", self->text));

	close(push);
	snprintf(self->text, sizeof(self->text),
		 "ino=%lu end=connect pipes=0\n", push_ino);
	EXPECT_TRUE(traced(self->dir, "xs_pipe_detach", self->text));
	snprintf(self->text, sizeof(self->text),
		 "ino=%lu end=bind pipes=0\n", pull_ino);
	EXPECT_TRUE(traced(self->dir, "xs_pipe_detach", self->text));
	close(pull);
}

TEST_F(trace, dropped_record_names_sender_receiver_and_reason)
{
	int pub = xs_socket(XSPROTO_PUB), sub = xs_socket(XSPROTO_SUB), i;
	XS_UNAME(name, "tracedrop");

	ASSERT_GE(pub, 0);
	ASSERT_GE(sub, 0);
	ASSERT_OK(xs_setint(pub, XS_SNDHWM, 1));
	ASSERT_OK(xs_setint(sub, XS_RCVHWM, 1));
	ASSERT_OK(xs_bind(pub, name));
	ASSERT_OK(xs_connect(sub, name));
	ASSERT_OK(setsockopt(sub, SOL_XS, XS_SUBSCRIBE, "", 0));
	xs_sleep_ms(xs_quiet_ms());
	for (i = 0; i < 5; i++)
		ASSERT_SEND(pub, "rec", MSG_EOR);
	ASSERT_LT(0ULL, xs_getu64(pub, XS_DROPS));

	snprintf(self->text, sizeof(self->text),
		 "from=%lu to=%lu reason=pipe\n", ino(pub), ino(sub));
	EXPECT_TRUE(traced(self->dir, "xs_record_dropped", self->text));
	close(pub);
	close(sub);
}

TEST_F(trace, subscription_changes_show_prefix_and_direction)
{
	int sub = xs_socket(XSPROTO_SUB);

	ASSERT_GE(sub, 0);
	ASSERT_OK(setsockopt(sub, SOL_XS, XS_SUBSCRIBE, "ab", 2));
	ASSERT_OK(setsockopt(sub, SOL_XS, XS_UNSUBSCRIBE, "ab", 2));
	snprintf(self->text, sizeof(self->text),
		 "ino=%lu subscribe len=2 prefix=6162 err=0\n", ino(sub));
	EXPECT_TRUE(traced(self->dir, "xs_subscription", self->text));
	snprintf(self->text, sizeof(self->text),
		 "ino=%lu unsubscribe len=2 prefix=6162 err=0\n", ino(sub));
	EXPECT_TRUE(traced(self->dir, "xs_subscription", self->text));
	close(sub);
}

/* Nothing is traced while the events are off. */
TEST_F(trace, disabled_events_record_nothing)
{
	int sub;

	ASSERT_OK(write_file(self->dir, "events/af_xs/enable", "0"));
	sub = xs_socket(XSPROTO_SUB);
	ASSERT_GE(sub, 0);
	ASSERT_OK(setsockopt(sub, SOL_XS, XS_SUBSCRIBE, "ab", 2));
	EXPECT_EQ(NULL, strstr(read_trace(self->dir), "xs_subscription"));
	close(sub);
}

XS_TEST_MAIN
