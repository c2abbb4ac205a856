/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared helpers for the AF_XS selftests.
 *
 * Every test program includes this header instead of kselftest_harness.h
 * directly and ends with XS_TEST_MAIN (not TEST_HARNESS_MAIN): it scales
 * each test's timeout by XS_TEST_SCALE so the slow debug kernel gets the
 * same verdicts as the release one.
 *
 * Rules the helpers follow:
 *  - the family number comes from /sys/module/af_xs/parameters/family,
 *    falling back to AF_XS_DEFAULT;
 *  - names are unique per process and call (pid + counter), so tests never
 *    collide with each other or with a previous run;
 *  - waiting for something to arrive polls with MSG_DONTWAIT rather than
 *    poll(2), so a readiness bug shows up in the readiness tests and not
 *    as a mysterious failure everywhere else;
 *  - helpers never ASSERT (they may run in forked children or threads,
 *    where the harness' longjmp must not be used); they return values that
 *    the test body asserts on.
 */
#ifndef XS_TEST_H
#define XS_TEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <stddef.h>
#include <linux/sockios.h>

#include <linux/xs.h>

/*
 * The 6.1 harness, and the code its TEST() macro expands to, leave
 * parameters unused; we build with -Wextra -Werror.
 */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"

/* ---- environment ---------------------------------------------------- */

static inline int xs_family(void)
{
	static int family;
	FILE *f;
	int v;

	if (family)
		return family;
	family = AF_XS_DEFAULT;
	f = fopen(XS_FAMILY_PARAM_PATH, "r");
	if (f) {
		if (fscanf(f, "%d", &v) == 1 && v > 0)
			family = v;
		fclose(f);
	}
	return family;
}

/* XS_TEST_SCALE: how much slower this kernel is than the release build. */
static inline int xs_scale(void)
{
	static int scale;
	const char *s;

	if (scale)
		return scale;
	s = getenv("XS_TEST_SCALE");
	scale = s ? atoi(s) : 1;
	if (scale < 1)
		scale = 1;
	return scale;
}

/* An iteration count divided by the scale, but never below @min. */
static inline int xs_iters(int n, int min)
{
	n /= xs_scale();
	return n < min ? min : n;
}

/* How long to wait for something that must happen: generous, scaled. */
static inline int xs_wait_ms(void)
{
	return 3000 * xs_scale();
}

/* How long to wait before concluding that something did not happen. */
static inline int xs_quiet_ms(void)
{
	return 50 * xs_scale();
}

static inline long long xs_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static inline void xs_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* ---- names and sockets ---------------------------------------------- */

/* A fresh abstract name: "xst.<pid>.<n>.<tag>". */
static inline const char *xs_uname(char *buf, size_t len, const char *tag)
{
	static unsigned int counter;

	snprintf(buf, len, "xst.%d.%u.%s", (int)getpid(), ++counter, tag);
	return buf;
}

#define XS_UNAME(var, tag)						\
	char var[XS_NAME_MAX + 1];					\
	xs_uname(var, sizeof(var), tag)

static inline socklen_t xs_addr(struct sockaddr_xs *sa, const char *name)
{
	size_t n = strlen(name);

	if (n > XS_NAME_MAX)
		n = XS_NAME_MAX;
	memset(sa, 0, sizeof(*sa));
	sa->sxs_family = xs_family();
	memcpy(sa->sxs_name, name, n);
	return offsetof(struct sockaddr_xs, sxs_name) + n;
}

static inline int xs_socket(int proto)
{
	return socket(xs_family(), SOCK_SEQPACKET, proto);
}

static inline int xs_bind(int fd, const char *name)
{
	struct sockaddr_xs sa;
	socklen_t len = xs_addr(&sa, name);

	return bind(fd, (struct sockaddr *)&sa, len);
}

static inline int xs_connect(int fd, const char *name)
{
	struct sockaddr_xs sa;
	socklen_t len = xs_addr(&sa, name);

	return connect(fd, (struct sockaddr *)&sa, len);
}

static inline int xs_setint(int fd, int opt, int val)
{
	return setsockopt(fd, SOL_XS, opt, &val, sizeof(val));
}

/* Returns the option's value, or INT_MIN with errno set. */
static inline int xs_getint(int fd, int level, int opt)
{
	int val = 0;
	socklen_t len = sizeof(val);

	if (getsockopt(fd, level, opt, &val, &len))
		return -2147483647 - 1;
	return val;
}

static inline int xs_set_timeo(int fd, int opt, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	return setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv));
}

static inline void xs_close(int *fd)
{
	if (*fd > 0)
		close(*fd);
	*fd = -1;
}

/* ---- parts and records ---------------------------------------------- */

static inline ssize_t xs_send(int fd, const void *buf, size_t len, int flags)
{
	struct iovec iov = { (void *)buf, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	return sendmsg(fd, &msg, flags);
}

static inline ssize_t xs_send_str(int fd, const char *s, int flags)
{
	return xs_send(fd, s, strlen(s), flags);
}

/* recvmsg of one part; *mflags receives msg_flags. */
static inline ssize_t xs_recv(int fd, void *buf, size_t len, int flags,
			      int *mflags)
{
	struct iovec iov = { buf, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	n = recvmsg(fd, &msg, flags);
	if (mflags)
		*mflags = n < 0 ? 0 : msg.msg_flags;
	return n;
}

/*
 * Receive one part, waiting up to @ms for it to arrive by retrying with
 * MSG_DONTWAIT.  Returns what the last recvmsg returned (errno EAGAIN on
 * timeout).
 */
static inline ssize_t xs_recv_within(int fd, void *buf, size_t len, int flags,
				     int *mflags, int ms)
{
	long long end = xs_now_ms() + ms;
	ssize_t n;

	for (;;) {
		n = xs_recv(fd, buf, len, flags | MSG_DONTWAIT, mflags);
		if (n >= 0 || errno != EAGAIN || xs_now_ms() >= end)
			return n;
		xs_sleep_ms(1);
	}
}

static inline ssize_t xs_recv_wait(int fd, void *buf, size_t len, int *mflags)
{
	return xs_recv_within(fd, buf, len, 0, mflags, xs_wait_ms());
}

/*
 * True when nothing is readable at @fd after a short quiet period:
 * recvmsg(MSG_DONTWAIT) keeps failing with EAGAIN.
 */
static inline int xs_nothing_arrives(int fd)
{
	char c;
	ssize_t n = xs_recv_within(fd, &c, 1, MSG_PEEK, NULL, xs_quiet_ms());

	return n < 0 && errno == EAGAIN;
}

/* Send a whole record: the parts of a NULL-terminated list, EOR on last. */
static inline int xs_send_record(int fd, int flags, const char *const *parts)
{
	int i;

	for (i = 0; parts[i]; i++) {
		int f = flags | (parts[i + 1] ? 0 : MSG_EOR);

		if (xs_send_str(fd, parts[i], f) != (ssize_t)strlen(parts[i]))
			return -1;
	}
	return 0;
}

#define XS_PARTS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static inline short xs_revents(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	if (poll(&p, 1, 0) < 0)
		return -1;
	return p.revents;
}

/* An address that is certainly not mapped. */
static inline void *xs_unmapped(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return (void *)8;
	munmap(p, 4096);
	return p;
}

/* Wait for a child and return its exit code, or 128 + signal. */
static inline int xs_wait_child(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

/*
 * Make a linked pair: @rx binds a fresh name, @tx connects to it.  HWMs
 * are set before bind/connect when >= 0.  Returns 0 or -1 (errno set).
 */
static inline int xs_link(int tx_proto, int rx_proto, int sndhwm, int rcvhwm,
			  int *tx, int *rx, char *name, size_t namelen)
{
	char buf[XS_NAME_MAX + 1];

	if (!name) {
		name = buf;
		namelen = sizeof(buf);
	}
	xs_uname(name, namelen, "link");
	*tx = xs_socket(tx_proto);
	*rx = xs_socket(rx_proto);
	if (*tx < 0 || *rx < 0)
		return -1;
	if (sndhwm >= 0 && xs_setint(*tx, XS_SNDHWM, sndhwm))
		return -1;
	if (rcvhwm >= 0 && xs_setint(*rx, XS_RCVHWM, rcvhwm))
		return -1;
	if (xs_bind(*rx, name) || xs_connect(*tx, name))
		return -1;
	return 0;
}

/*
 * A blocking call run in a background thread, so the test can check that
 * it is (still) blocked and that something wakes it.
 */
struct xs_bg {
	pthread_t thread;
	int fd;
	int is_recv;
	int flags;
	char buf[256];
	size_t len;
	int done;
	ssize_t ret;
	int err;
};

static inline void *xs_bg_main(void *arg)
{
	struct xs_bg *bg = arg;

	if (bg->is_recv)
		bg->ret = xs_recv(bg->fd, bg->buf, sizeof(bg->buf) - 1,
				  bg->flags, NULL);
	else
		bg->ret = xs_send(bg->fd, bg->buf, bg->len, bg->flags);
	bg->err = errno;
	__atomic_store_n(&bg->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static inline int xs_bg_send(struct xs_bg *bg, int fd, const char *s,
			     int flags)
{
	memset(bg, 0, sizeof(*bg));
	bg->fd = fd;
	bg->flags = flags;
	bg->len = strlen(s);
	memcpy(bg->buf, s, bg->len);
	return pthread_create(&bg->thread, NULL, xs_bg_main, bg);
}

static inline int xs_bg_recv(struct xs_bg *bg, int fd, int flags)
{
	memset(bg, 0, sizeof(*bg));
	bg->fd = fd;
	bg->is_recv = 1;
	bg->flags = flags;
	return pthread_create(&bg->thread, NULL, xs_bg_main, bg);
}

static inline int xs_bg_done(struct xs_bg *bg)
{
	return __atomic_load_n(&bg->done, __ATOMIC_SEQ_CST);
}

/* Wait up to @ms for the call to return; joins the thread if it did. */
static inline int xs_bg_finish(struct xs_bg *bg, int ms)
{
	long long end = xs_now_ms() + ms;

	while (!xs_bg_done(bg)) {
		if (xs_now_ms() >= end)
			return 0;
		xs_sleep_ms(1);
	}
	pthread_join(bg->thread, NULL);
	return 1;
}

/* Give a background call time to block, then report whether it did. */
static inline int xs_bg_blocks(struct xs_bg *bg)
{
	xs_sleep_ms(2 * xs_quiet_ms());
	return !xs_bg_done(bg);
}

/* ---- /proc/net/xs -------------------------------------------------- */

/* True when @tok names endpoint @name ("NAME" or "<kind>:NAME"). */
static inline int xs_token_is_name(const char *tok, const char *name)
{
	const char *colon = strchr(tok, ':');

	return !strcmp(tok, name) || (colon && !strcmp(colon + 1, name));
}

/*
 * Find the /proc/net/xs line (of the caller's network namespace) that
 * lists endpoint @name; copy it to @line.  Returns 1 if found, 0 if not,
 * -1 if the file cannot be read.
 */
static inline int xs_proc_line(const char *name, char *line, size_t len)
{
	char buf[1024], copy[1024], *tok, *save;
	FILE *f = fopen("/proc/net/xs", "r");
	int found = 0;

	if (!f)
		return -1;
	while (!found && fgets(buf, sizeof(buf), f)) {
		buf[strcspn(buf, "\n")] = 0;
		strcpy(copy, buf);
		for (tok = strtok_r(copy, " \t", &save); tok;
		     tok = strtok_r(NULL, " \t", &save))
			if (xs_token_is_name(tok, name)) {
				found = 1;
				if (line)
					snprintf(line, len, "%s", buf);
				break;
			}
	}
	fclose(f);
	return found;
}

/* ---- fixtures and children ------------------------------------------- */

/*
 * The blocking pattern pairs every flow test runs over: tx sends, rx
 * receives (and, for PAIR, can answer).  Declares the fixture's variant
 * type { tx_proto, rx_proto } and one variant per pair.
 */
#define XS_FLOW_VARIANTS(fixture)					\
	FIXTURE_VARIANT(fixture) {					\
		int tx_proto, rx_proto;					\
	};								\
	FIXTURE_VARIANT_ADD(fixture, pair) {				\
		.tx_proto = XSPROTO_PAIR, .rx_proto = XSPROTO_PAIR,	\
	};								\
	FIXTURE_VARIANT_ADD(fixture, pipeline) {			\
		.tx_proto = XSPROTO_PUSH, .rx_proto = XSPROTO_PULL,	\
	}

/* Exit code of a child that could not enter a new network namespace. */
#define XS_NO_NETNS 99

/* fork(); the child continues in a fresh network namespace. */
static inline pid_t xs_fork_netns(void)
{
	pid_t pid = fork();

	if (pid == 0 && unshare(CLONE_NEWNET))
		_exit(XS_NO_NETNS);
	return pid;
}

/*
 * Fork a child that runs @fn(@arg), then SIGKILL it at that point (so it
 * dies holding whatever @fn left half done).  @fn returns 0 or a failure
 * code.  Returns 0 when the child got there and was killed, else the
 * child's failure code (or -1).
 */
static inline int xs_run_then_kill(int (*fn)(void *), void *arg)
{
	int sync[2], rc;
	pid_t pid;
	char c;

	if (pipe(sync))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(sync[0]);
		rc = fn(arg);
		if (rc || write(sync[1], "x", 1) != 1)
			_exit(rc ? rc : 100);
		pause();
		_exit(0);
	}
	close(sync[1]);
	rc = read(sync[0], &c, 1);
	close(sync[0]);
	if (rc != 1)
		return xs_wait_child(pid);
	kill(pid, SIGKILL);
	return xs_wait_child(pid) == 128 + SIGKILL ? 0 : -1;
}

/* ---- assertions ----------------------------------------------------- */

/* @expr must fail with errno @err. */
#define ASSERT_ERRNO(err, expr) do {					\
	long __r;							\
	int __e;							\
	errno = 0;							\
	__r = (long)(expr);						\
	__e = errno;							\
	ASSERT_EQ(-1L, __r) TH_LOG("%s succeeded, wanted %s", #expr,	\
				   strerror(err));			\
	ASSERT_EQ(err, __e) TH_LOG("%s: got %s, wanted %s", #expr,	\
				   strerror(__e), strerror(err));	\
} while (0)

#define EXPECT_ERRNO(err, expr) do {					\
	long __r;							\
	int __e;							\
	errno = 0;							\
	__r = (long)(expr);						\
	__e = errno;							\
	EXPECT_EQ(-1L, __r) TH_LOG("%s succeeded, wanted %s", #expr,	\
				   strerror(err));			\
	if (__r == -1)							\
		EXPECT_EQ(err, __e) TH_LOG("%s: got %s, wanted %s",	\
					   #expr, strerror(__e),	\
					   strerror(err));		\
} while (0)

/* @expr must return 0. */
#define ASSERT_OK(expr) do {						\
	long __r;							\
	errno = 0;							\
	__r = (long)(expr);						\
	ASSERT_EQ(0L, __r) TH_LOG("%s: %s", #expr, strerror(errno));	\
} while (0)

/* Send one part and require it to be accepted whole. */
#define ASSERT_SEND(fd, str, flags) do {				\
	const char *__s = (str);					\
	ssize_t __n = xs_send_str((fd), __s, (flags));			\
	ASSERT_EQ((ssize_t)strlen(__s), __n)				\
		TH_LOG("send '%s': %s", __s, strerror(errno));		\
} while (0)

#define ASSERT_RECORD(fd, flags, ...) do {				\
	const char *const *__p = XS_PARTS(__VA_ARGS__);			\
	int __i;							\
	for (__i = 0; __p[__i]; __i++)					\
		ASSERT_SEND((fd), __p[__i],				\
			    (flags) | (__p[__i + 1] ? 0 : MSG_EOR));	\
} while (0)

/*
 * Wait for the next part and require its exact content and whether it
 * carries MSG_EOR (@eor is MSG_EOR or 0).
 */
#define ASSERT_PART(fd, text, eor) do {					\
	char __b[512];							\
	const char *__t = (text);					\
	int __f = 0;							\
	ssize_t __n = xs_recv_wait((fd), __b, sizeof(__b) - 1, &__f);	\
	ASSERT_EQ((ssize_t)strlen(__t), __n)				\
		TH_LOG("waiting for part '%s': %s", __t,		\
		       __n < 0 ? strerror(errno) : "wrong size");	\
	__b[__n] = 0;							\
	ASSERT_STREQ(__t, __b);						\
	ASSERT_EQ((eor), __f & MSG_EOR)					\
		TH_LOG("part '%s': MSG_EOR %s", __t,			\
		       (__f & MSG_EOR) ? "set" : "missing");		\
	ASSERT_EQ(0, __f & MSG_TRUNC);					\
} while (0)

/* Receive a whole record whose parts are listed. */
#define ASSERT_RECV_RECORD(fd, ...) do {				\
	const char *const *__q = XS_PARTS(__VA_ARGS__);			\
	int __j;							\
	for (__j = 0; __q[__j]; __j++)					\
		ASSERT_PART((fd), __q[__j], __q[__j + 1] ? 0 : MSG_EOR); \
} while (0)

#define ASSERT_NOTHING(fd)						\
	ASSERT_TRUE(xs_nothing_arrives(fd)) TH_LOG("fd %d: unexpected part", (fd))

/* ---- whole records, devices, counters -------------------------------- */

/* A record held in userspace: its parts, as a device or a test sees them. */
#define XS_REC_PARTS	16
#define XS_REC_PART_MAX	512

struct xs_rec {
	int n;
	size_t len[XS_REC_PARTS];
	char data[XS_REC_PARTS][XS_REC_PART_MAX + 1];	/* NUL-ended */
};

/*
 * Receive one whole record, waiting up to @ms for its first part (the
 * rest must follow at once).  Returns the number of parts, or -1 (errno
 * set; EMSGSIZE when a part or the part count does not fit).
 */
static inline int xs_recv_rec(int fd, struct xs_rec *r, int ms)
{
	ssize_t n;
	int f;

	for (r->n = 0; r->n < XS_REC_PARTS; r->n++) {
		n = xs_recv_within(fd, r->data[r->n], XS_REC_PART_MAX, 0, &f,
				   r->n ? xs_wait_ms() : ms);
		if (n < 0)
			return -1;
		if (f & MSG_TRUNC) {
			errno = EMSGSIZE;
			return -1;
		}
		r->len[r->n] = n;
		r->data[r->n][n] = 0;
		if (f & MSG_EOR)
			return ++r->n;
	}
	errno = EMSGSIZE;
	return -1;
}

/*
 * Send parts @from .. @to - 1 of @r; MSG_EOR on the last one when @eor.
 * @flags go on every part.  Returns 0 or -1 (errno set).
 */
static inline int xs_send_rec(int fd, const struct xs_rec *r, int from,
			      int to, int eor, int flags)
{
	int i;

	for (i = from; i < to; i++) {
		int f = flags | (eor && i == to - 1 ? MSG_EOR : 0);

		if (xs_send(fd, r->data[i], r->len[i], f) != (ssize_t)r->len[i])
			return -1;
	}
	return 0;
}

/*
 * One step of a device (XREP|XREQ, XRESPONDENT|XSURVEYOR): move one whole
 * record from @from to @to, every part as it is, MSG_EOR kept.  Returns
 * the number of parts moved, or -1.
 */
static inline int xs_forward_record(int from, int to)
{
	struct xs_rec r;

	if (xs_recv_rec(from, &r, xs_wait_ms()) < 0 ||
	    xs_send_rec(to, &r, 0, r.n, 1, 0))
		return -1;
	return r.n;
}

/* A u64 option (XS_DROPS, XS_MISSED); ~0 on error. */
static inline uint64_t xs_getu64(int fd, int opt)
{
	uint64_t v = ~0ULL;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, SOL_XS, opt, &v, &len) || len != sizeof(v))
		return ~0ULL;
	return v;
}

/*
 * Numeric column @col (as named by the header line) of the /proc/net/xs
 * line of socket @fd, found by its inode; -1 if absent.
 */
static inline long long xs_proc_field(int fd, const char *col)
{
	char buf[1024], *tok, *save;
	int idx = -1, ino_idx = -1, i;
	long long v = -1, ino = -1;
	struct stat st;
	FILE *f;

	if (fstat(fd, &st))
		return -1;
	f = fopen("/proc/net/xs", "r");
	if (!f)
		return -1;
	while (v < 0 && fgets(buf, sizeof(buf), f)) {
		if (buf[0] == '#')
			continue;
		for (i = 0, tok = strtok_r(buf, " \t\n", &save); tok;
		     i++, tok = strtok_r(NULL, " \t\n", &save)) {
			if (idx < 0 || ino_idx < 0) {
				/* the header line */
				if (!strcmp(tok, col))
					idx = i;
				if (!strcmp(tok, "inode"))
					ino_idx = i;
				continue;
			}
			if (i == ino_idx)
				ino = atoll(tok);
			if (i == idx && ino == (long long)st.st_ino)
				v = atoll(tok);
		}
		ino = -1;
	}
	fclose(f);
	return v;
}

/* ---- request/reply and survey ------------------------------------------ */

static inline int xs_set_identity(int fd, const char *id)
{
	return setsockopt(fd, SOL_XS, XS_IDENTITY, id, strlen(id));
}

/* Index of the first of @n sockets that gets something within a wait. */
static inline int xs_first_readable(const int *fds, int n)
{
	long long end = xs_now_ms() + xs_wait_ms();
	char c;
	int i;

	do {
		for (i = 0; i < n; i++)
			if (xs_recv(fds[i], &c, 1, MSG_PEEK | MSG_DONTWAIT,
				    NULL) >= 0)
				return i;
		xs_sleep_ms(1);
	} while (xs_now_ms() < end);
	return -1;
}

/*
 * True when a real receive finds nothing for a short while.  Unlike
 * xs_nothing_arrives() it consumes, so it also sees records that the
 * pattern drops only when they are read (a REQ's stale replies).
 */
static inline int xs_recv_gets_nothing(int fd)
{
	char buf[64];
	ssize_t n = xs_recv_within(fd, buf, sizeof(buf), 0, NULL,
				   xs_quiet_ms());

	return n < 0 && errno == EAGAIN;
}

/* Stands, in a list of expected parts, for any survey id (4 bytes, 0x80). */
static const char xs_any_survey_id[] = "<any survey id>";

static inline int xs_part_is(const char *want, const char *data, size_t len)
{
	if (want == xs_any_survey_id)
		return len == 4 && (data[0] & 0x80);
	return len == strlen(want) && !memcmp(data, want, len);
}

/* @r holds exactly the parts @want (NULL-terminated). */
static inline int xs_rec_is(const struct xs_rec *r, const char *const *want)
{
	int i;

	for (i = 0; want[i]; i++)
		if (i >= r->n || !xs_part_is(want[i], r->data[i], r->len[i]))
			return 0;
	return i == r->n;
}

#define ASSERT_REC_IS(r, ...)						\
	ASSERT_TRUE(xs_rec_is((r), XS_PARTS(__VA_ARGS__)))		\
		TH_LOG("record of %d parts, first '%s'", (r)->n,	\
		       (r)->n ? (r)->data[0] : "")

static inline const char *xs_proto_name(int proto)
{
	static const char *const names[] = {
		"0", "PAIR", "PUB", "SUB", "REQ", "REP", "XREQ", "XREP",
		"PULL", "PUSH", "XPUB", "XSUB", "SURVEYOR", "RESPONDENT",
		"XSURVEYOR", "XRESPONDENT",
	};

	return proto >= 0 && proto <= XSPROTO_MAX ? names[proto] : "?";
}

/*
 * How many peers a fresh @binder gets when a fresh @connector connects
 * to it (/proc/net/xs "pipes"): 1 when the two patterns may join, else 0.
 */
static inline long long xs_joined_peers(int binder, int connector)
{
	char name[XS_NAME_MAX + 1];
	int b = xs_socket(binder), c = xs_socket(connector);
	long long n = -1;

	xs_uname(name, sizeof(name), "join");
	if (b >= 0 && c >= 0 && !xs_bind(b, name) && !xs_connect(c, name))
		n = xs_proc_field(b, "pipes");
	if (b >= 0)
		close(b);
	if (c >= 0)
		close(c);
	return n;
}

/*
 * One hop of a request/reply or survey topology, for tests that run over
 * every pair of types: tx sends a record to rx.  Where tx only answers
 * (REP, XREP, RESPONDENT, XRESPONDENT), rx asks first ("q" behind
 * @rx_ask when set) and tx reads that request into @env; tx then sends
 * @tx_head, and the request's envelope when @tx_echoes, before its body.
 * rx sees @rx_head, then the body.  tx has the identity "tx", rx "rx".
 */
struct xs_hop {
	int tx_proto, rx_proto;
	const char *tx_head;
	int rx_asks;
	const char *rx_ask;
	int tx_echoes;
	const char *rx_head[3];
};

/* Returns 0, or -1 with errno set (sockets that exist are in *tx, *rx). */
static inline int xs_hop_open(const struct xs_hop *h, int *tx, int *rx,
			      struct xs_rec *env)
{
	char name[XS_NAME_MAX + 1];

	env->n = 0;
	*tx = xs_socket(h->tx_proto);
	*rx = xs_socket(h->rx_proto);
	xs_uname(name, sizeof(name), "hop");
	if (*tx < 0 || *rx < 0 || xs_set_identity(*tx, "tx") ||
	    xs_set_identity(*rx, "rx") || xs_bind(*rx, name) ||
	    xs_connect(*tx, name))
		return -1;
	if (!h->rx_asks)
		return 0;
	if ((h->rx_ask && xs_send_str(*rx, h->rx_ask, 0) < 0) ||
	    xs_send_str(*rx, "q", MSG_EOR) != 1 ||
	    xs_recv_rec(*tx, env, xs_wait_ms()) < 1)
		return -1;
	env->n--;	/* keep the envelope, not the body "q" */
	return 0;
}

/* What tx sends in front of its body. */
static inline int xs_hop_head(const struct xs_hop *h, int tx,
			      const struct xs_rec *env)
{
	if (h->tx_head && xs_send_str(tx, h->tx_head, 0) < 0)
		return -1;
	if (h->tx_echoes)
		return xs_send_rec(tx, env, 0, env->n, 0, 0);
	return 0;
}

/* @r is rx_head followed by the parts @body (NULL-terminated). */
static inline int xs_hop_rec_is(const struct xs_hop *h, const struct xs_rec *r,
				const char *const *body)
{
	const char *want[XS_REC_PARTS + 1];
	int n = 0, i;

	for (i = 0; i < 3 && h->rx_head[i]; i++)
		want[n++] = h->rx_head[i];
	for (i = 0; body[i] && n < XS_REC_PARTS; i++)
		want[n++] = body[i];
	want[n] = NULL;
	return xs_rec_is(r, want);
}

/*
 * The atomicity tests of one hop, run over the variants a program adds
 * with FIXTURE_VARIANT_ADD(fixture, name) { .hop = { ... } }: the parts
 * of a record stay invisible until its last one, and the record of a
 * sender that closes midway never arrives.
 */
#define XS_HOP_ATOMIC_TESTS(fixture)					\
	FIXTURE(fixture) {						\
		int tx, rx;						\
		struct xs_rec env;					\
	};								\
	FIXTURE_VARIANT(fixture) {					\
		struct xs_hop hop;					\
	};								\
	FIXTURE_SETUP(fixture)						\
	{								\
		ASSERT_OK(xs_hop_open(&variant->hop, &self->tx,		\
				      &self->rx, &self->env));		\
	}								\
	FIXTURE_TEARDOWN(fixture)					\
	{								\
		xs_close(&self->tx);					\
		xs_close(&self->rx);					\
	}								\
	TEST_F(fixture, parts_stay_invisible_until_the_last_one)	\
	{								\
		struct xs_rec r;					\
									\
		ASSERT_OK(xs_hop_head(&variant->hop, self->tx,		\
				      &self->env));			\
		ASSERT_SEND(self->tx, "p1", 0);				\
		ASSERT_SEND(self->tx, "", 0);				\
		ASSERT_NOTHING(self->rx);				\
		ASSERT_EQ(0, xs_revents(self->rx, POLLIN));		\
		ASSERT_SEND(self->tx, "p3", MSG_EOR);			\
		ASSERT_LE(3, xs_recv_rec(self->rx, &r, xs_wait_ms()));	\
		ASSERT_TRUE(xs_hop_rec_is(&variant->hop, &r,		\
					  XS_PARTS("p1", "", "p3")))	\
			TH_LOG("%d parts, first '%s'", r.n, r.data[0]);	\
	}								\
	TEST_F(fixture, record_of_a_sender_that_closes_midway_never_arrives) \
	{								\
		ASSERT_OK(xs_hop_head(&variant->hop, self->tx,		\
				      &self->env));			\
		ASSERT_SEND(self->tx, "p1", 0);				\
		xs_close(&self->tx);					\
		ASSERT_NOTHING(self->rx);				\
		ASSERT_EQ(0, xs_revents(self->rx, POLLIN));		\
	}

/* ---- accounting and kernel reports (stress, crash, faults, limits) ---- */

/*
 * The AF_XS "sockets" column of /proc/net/protocols: sockets open in the
 * caller's network namespace.  -1 if the line is missing.
 */
static inline long long xs_netns_sockets(void)
{
	char line[512], name[64];
	long long size, n, v = -1;
	FILE *f = fopen("/proc/net/protocols", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %lld %lld", name, &size, &n) == 3 &&
		    !strcmp(name, "AF_XS")) {
			v = n;
			break;
		}
	fclose(f);
	return v;
}

/*
 * Records alive in the whole module (every namespace) and their payload
 * bytes, from the root-only /sys/module/af_xs/parameters/live ("records N
 * bytes M").  Returns 0, or -1 if unreadable.
 */
#define XS_LIVE_PATH "/sys/module/af_xs/parameters/live"

static inline int xs_live_records(long long *records, long long *bytes)
{
	char line[256];
	FILE *f = fopen(XS_LIVE_PATH, "r");
	int ok = 0;

	if (!f)
		return -1;
	if (fgets(line, sizeof(line), f) &&
	    sscanf(line, "records %lld bytes %lld", records, bytes) == 2)
		ok = 1;
	fclose(f);
	return ok ? 0 : -1;
}

/*
 * Wait up to @ms until this namespace has no AF_XS socket and the module
 * holds no record.  Returns 1 when it does; the last values seen are left
 * in *socks, *records, *bytes.  (Module-wide records: only meaningful when
 * no other program uses the family, as in the test VM.)
 */
static inline int xs_all_gone(int ms, long long *socks, long long *records,
			      long long *bytes)
{
	long long end = xs_now_ms() + ms;

	for (;;) {
		*socks = xs_netns_sockets();
		if (xs_live_records(records, bytes))
			*records = *bytes = -1;
		if (!*socks && !*records && !*bytes)
			return 1;
		if (xs_now_ms() >= end)
			return 0;
		xs_sleep_ms(10);
	}
}

#define ASSERT_ALL_GONE() do {						\
	long long __s, __r, __b;					\
	ASSERT_TRUE(xs_all_gone(xs_wait_ms(), &__s, &__r, &__b))	\
		TH_LOG("left behind: %lld sockets in this netns, %lld "	\
		       "records, %lld bytes in the module", __s, __r,	\
		       __b);						\
} while (0)

/*
 * Set the module's max_linger_ms parameter (the longest a closed socket's
 * records may wait for a binder); returns the old value, or -1.
 */
static inline int xs_max_linger_ms(int ms)
{
	const char *path = "/sys/module/af_xs/parameters/max_linger_ms";
	FILE *f = fopen(path, "r");
	int old = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%d", &old) != 1)
		old = -1;
	fclose(f);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "%d\n", ms);
	fclose(f);
	return old;
}

/* /proc/sys/kernel/tainted bits that mean the kernel complained. */
#define XS_BAD_TAINT	(32 | 128 | 512 | 16384)

static inline long xs_taint(void)
{
	long v = -1;
	FILE *f = fopen("/proc/sys/kernel/tainted", "r");

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/*
 * The kernel log from now on: open /dev/kmsg at its end.  -1 if there is
 * no /dev/kmsg (then xs_kmsg_reports() finds nothing).
 */
static inline int xs_kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/*
 * Count the kernel reports (KASAN, lockdep, WARN, BUG, hung task...)
 * logged since xs_kmsg_open(); copy the first one's text to @first.
 */
static inline int xs_kmsg_reports(int fd, char *first, size_t len)
{
	static const char *const pats[] = {
		"BUG:", "WARNING:", "Oops", "KASAN", "UBSAN",
		"possible circular locking", "possible recursive locking",
		"INFO: ", "general protection fault", "kernel BUG at",
		"unreferenced object", "Kernel panic", "refcount_t:",
		"list_add corruption", "list_del corruption",
	};
	char rec[2048];
	int n = 0;
	size_t i;

	if (first && len)
		first[0] = 0;
	if (fd < 0)
		return 0;
	for (;;) {
		ssize_t r = read(fd, rec, sizeof(rec) - 1);
		char *text;

		if (r < 0 && errno == EPIPE)	/* overwritten: go on */
			continue;
		if (r <= 0)
			break;
		rec[r] = 0;
		text = strchr(rec, ';');
		text = text ? text + 1 : rec;
		text[strcspn(text, "\n")] = 0;
		for (i = 0; i < sizeof(pats) / sizeof(pats[0]); i++)
			if (strstr(text, pats[i])) {
				if (!n++ && first && len) {
					size_t m = strlen(text);

					if (m >= len)
						m = len - 1;
					memcpy(first, text, m);
					first[m] = 0;
				}
				break;
			}
	}
	return n;
}

/*
 * Kernel health around a test: its log and taint at the start, compared
 * at the end.
 */
struct xs_kwatch {
	int kmsg;
	long taint;
};

static inline void xs_kwatch_start(struct xs_kwatch *w)
{
	w->kmsg = xs_kmsg_open();
	w->taint = xs_taint();
}

/* Returns the number of reports (0: healthy); the first goes to @first. */
static inline int xs_kwatch_end(struct xs_kwatch *w, char *first, size_t len)
{
	int n = xs_kmsg_reports(w->kmsg, first, len);
	long t = xs_taint();

	if (w->kmsg >= 0)
		close(w->kmsg);
	w->kmsg = -1;
	if (t >= 0 && w->taint >= 0 && ((t & ~w->taint) & XS_BAD_TAINT)) {
		if (!n && first && len)
			snprintf(first, len, "kernel newly tainted: %ld -> %ld",
				 w->taint, t);
		n++;
	}
	return n;
}

#define ASSERT_KERNEL_QUIET(w) do {					\
	char __first[512];						\
	int __n = xs_kwatch_end((w), __first, sizeof(__first));		\
	ASSERT_EQ(0, __n) TH_LOG("%d kernel report(s), first: %s",	\
				 __n, __first);				\
} while (0)

/* ---- stamped parts: records that check themselves -------------------- */

/*
 * A stamped part starts with this header: who sent it (token), which of
 * its records (seq), its place (idx of n), its length and a checksum of
 * the rest.  The magic starts with 'a', so a subscription to "a" matches.
 */
#define XS_STAMP_MAGIC	0x21535861u	/* "aXS!" */

struct xs_stamp {
	uint32_t magic;
	uint32_t token;
	uint32_t seq;
	uint16_t idx, n;
	uint32_t len;
	uint32_t sum;
};

static inline uint32_t xs_stamp_sum(const unsigned char *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL, w;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0x100000001b3ULL;
	}
	for (; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return (uint32_t)(h ^ (h >> 32));
}

/* Fill @buf (@len >= sizeof(struct xs_stamp)) as part @idx of @n. */
static inline void xs_stamp_fill(void *buf, size_t len, uint32_t token,
				 uint32_t seq, int idx, int n)
{
	struct xs_stamp st = {
		XS_STAMP_MAGIC, token, seq, (uint16_t)idx, (uint16_t)n,
		(uint32_t)len, 0
	};
	unsigned char *p = buf;
	uint64_t x = ((uint64_t)token << 32 | seq) * 0x9e3779b97f4a7c15ULL +
		     idx + 1;
	size_t i;

	for (i = sizeof(st); i + 8 <= len; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(p + i, &x, 8);
	}
	for (; i < len; i++)
		p[i] = (unsigned char)(x >> (8 * (i & 7)));
	st.sum = xs_stamp_sum(p + sizeof(st), len - sizeof(st));
	memcpy(p, &st, sizeof(st));
}

/* A stamped part's header, or 0 if @buf is not one. */
static inline int xs_stamp_get(const void *buf, size_t len,
			       struct xs_stamp *st)
{
	if (len < sizeof(*st))
		return 0;
	memcpy(st, buf, sizeof(*st));
	return st->magic == XS_STAMP_MAGIC;
}

/* What a checker may find wrong with a received record. */
enum {
	XS_REC_OK,
	XS_REC_STARTS_MIDWAY,	/* first stamped part is not part 0 */
	XS_REC_MIXED,		/* a part of another record, or out of order */
	XS_REC_ENDS_EARLY,	/* MSG_EOR before the last part */
	XS_REC_NO_EOR,		/* last part without MSG_EOR */
	XS_REC_CORRUPT,		/* checksum or length wrong */
	XS_REC_FOREIGN,		/* unstamped part after stamped ones */
};

static inline const char *xs_rec_fault_name(int v)
{
	static const char *const names[] = {
		"ok", "record starts midway", "parts of two records mixed",
		"MSG_EOR before the last part", "last part without MSG_EOR",
		"corrupt part", "foreign part inside a record",
	};

	return v >= 0 && v <= XS_REC_FOREIGN ? names[v] : "?";
}

/*
 * Follows the parts one receiver reads, record after record.  A record may
 * start with unstamped parts (envelopes, identities); from its first
 * stamped part on, it must be exactly parts 0 .. n-1 of one sender's
 * record, MSG_EOR on the last.  Parts cut by MSG_TRUNC are not summed.
 */
struct xs_checker {
	int stamped;		/* inside the stamped parts of a record */
	struct xs_stamp cur;	/* the last stamped part */
	struct xs_stamp bad;	/* the part that broke the rule */
};

/* Returns XS_REC_OK or what is wrong; any result resets at MSG_EOR. */
static inline int xs_check_part(struct xs_checker *c, const void *buf,
				size_t len, int msg_flags)
{
	int eor = msg_flags & MSG_EOR, v = XS_REC_OK;
	struct xs_stamp st;

	if (!xs_stamp_get(buf, len, &st)) {
		if (c->stamped)
			v = XS_REC_FOREIGN;
		memset(&c->bad, 0, sizeof(c->bad));
		goto out;
	}
	c->bad = st;
	if (!c->stamped && st.idx != 0)
		v = XS_REC_STARTS_MIDWAY;
	else if (c->stamped && (st.token != c->cur.token ||
				st.seq != c->cur.seq ||
				st.idx != c->cur.idx + 1 || st.n != c->cur.n))
		v = XS_REC_MIXED;
	else if (!(msg_flags & MSG_TRUNC) &&
		 (st.len != len ||
		  st.sum != xs_stamp_sum((const unsigned char *)buf +
					 sizeof(st), len - sizeof(st))))
		v = XS_REC_CORRUPT;
	else if (eor && st.idx + 1 != st.n)
		v = XS_REC_ENDS_EARLY;
	else if (!eor && st.idx + 1 == st.n)
		v = XS_REC_NO_EOR;
	c->stamped = 1;
	c->cur = st;
out:
	if (eor || v != XS_REC_OK)
		c->stamped = 0;
	return v;
}

/* ---- receive rings (XS_RX_RING) -------------------------------------- */

/* A reader's view of a socket's ring, written here from the uapi rules. */
struct xs_tring {
	struct xs_ring_ctrl *ctrl;
	const unsigned char *data;
	uint32_t size;
	uint64_t tail;			/* what we released */
};

struct xs_tpart {
	const unsigned char *data;
	uint32_t len;
};

/* Give @fd a ring of @size bytes and map it; -1 with errno on failure. */
static inline int xs_tring_open(struct xs_tring *r, int fd, uint32_t size)
{
	struct xs_ring_req req = { .size = size };
	void *c, *d;

	memset(r, 0, sizeof(*r));
	if (setsockopt(fd, SOL_XS, XS_RX_RING, &req, sizeof(req)))
		return -1;
	c = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 XS_RING_OFF_CTRL);
	if (c == MAP_FAILED)
		return -1;
	d = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, XS_RING_OFF_DATA);
	if (d == MAP_FAILED) {
		munmap(c, 4096);
		return -1;
	}
	r->ctrl = c;
	r->data = d;
	r->size = size;
	r->tail = __atomic_load_n(&r->ctrl->tail, __ATOMIC_RELAXED);
	return 0;
}

static inline void xs_tring_close(struct xs_tring *r)
{
	if (r->ctrl)
		munmap(r->ctrl, 4096);
	if (r->data)
		munmap((void *)r->data, r->size);
	r->ctrl = NULL;
	r->data = NULL;
}

/*
 * The next record: its number of parts (the first @max described in @p)
 * and in *end the position to release it at; 0 when the ring is empty, -1
 * when an entry breaks the uapi rules (never, from a correct kernel).
 */
static inline int xs_tring_peek(struct xs_tring *r, struct xs_tpart *p,
				int max, uint64_t *end)
{
	uint64_t head = __atomic_load_n(&r->ctrl->head, __ATOMIC_ACQUIRE);
	uint64_t pos = r->tail;
	const struct xs_ring_rec *e;
	const struct xs_ring_part *ph;
	uint32_t off, used, i;

	for (;;) {
		if (pos == head)
			return 0;
		if (head - pos > r->size || (pos & 7))
			return -1;
		off = pos & (r->size - 1);
		e = (const void *)(r->data + off);
		if (e->size < sizeof(*e) || (e->size & 7) ||
		    e->size > r->size - off || e->size > head - pos)
			return -1;
		if (e->nparts)
			break;
		pos += e->size;		/* padding to the area's end */
		r->tail = pos;
	}
	used = sizeof(*e);
	for (i = 0; i < e->nparts; i++) {
		if (used + sizeof(*ph) > e->size)
			return -1;
		ph = (const void *)(r->data + off + used);
		used += sizeof(*ph);
		if (ph->len > e->size - used)
			return -1;
		if ((int)i < max) {
			p[i].data = r->data + off + used;
			p[i].len = ph->len;
		}
		used += (ph->len + 7) & ~7u;
	}
	if (used != e->size)
		return -1;
	*end = pos + e->size;
	return (int)e->nparts;
}

static inline void xs_tring_release(struct xs_tring *r, uint64_t end)
{
	r->tail = end;
	__atomic_store_n(&r->ctrl->tail, end, __ATOMIC_RELEASE);
}

/*
 * Take the next record as its parts joined by '|' into @buf (NUL ended):
 * its number of parts, 0 if none, -1 if malformed or too long.
 */
static inline int xs_tring_str(struct xs_tring *r, char *buf, size_t len)
{
	struct xs_tpart p[16];
	size_t used = 0;
	uint64_t end;
	int n, i;

	n = xs_tring_peek(r, p, 16, &end);
	if (n <= 0 || n > 16)
		return n > 16 ? -1 : n;
	for (i = 0; i < n; i++) {
		if (used + p[i].len + 2 > len)
			return -1;
		if (i)
			buf[used++] = '|';
		memcpy(buf + used, p[i].data, p[i].len);
		used += p[i].len;
	}
	buf[used] = 0;
	xs_tring_release(r, end);
	return n;
}

/* ---- harness glue ---------------------------------------------------- */

static inline void xs_scale_timeouts(void)
{
	struct __fixture_metadata *f;
	struct __test_metadata *t;
	int scale = xs_scale();

	for (f = __fixture_list; f; f = f->next)
		for (t = f->tests; t; t = t->next)
			t->timeout *= scale;
}

#define XS_TEST_MAIN							\
	static void __attribute__((constructor))			\
	__constructor_order_last(void)					\
	{								\
		if (!__constructor_order)				\
			__constructor_order =				\
				_CONSTRUCTOR_ORDER_BACKWARD;		\
	}								\
	int main(int argc, char **argv)					\
	{								\
		signal(SIGPIPE, SIG_IGN);				\
		xs_scale_timeouts();					\
		return test_harness_run(argc, argv);			\
	}

#endif /* XS_TEST_H */
