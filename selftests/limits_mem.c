// SPDX-License-Identifier: GPL-2.0
/*
 * Memory is bounded and charged.  Nobody can make the kernel hold more
 * than the documented limits:
 *  - a subscriber that never reads: the publisher goes on, the
 *    subscriber's queue stays within SNDHWM + RCVHWM records and its
 *    SO_RCVBUF bytes, and the rest is counted as dropped (XS_DROPS at the
 *    publisher, XS_MISSED at the subscriber);
 *  - a connector whose peer never binds: SNDHWM records, or SO_SNDBUF
 *    bytes, wait on each pipe, then EAGAIN (a PUB with no subscriber
 *    keeps nothing);
 *  - a sender that never ends its record: EMSGSIZE past SO_SNDBUF or
 *    XS_MAXMSGSIZE, and the record is gone;
 *  - socket memory is charged to the sender's memory cgroup: a process in
 *    a cgroup with a small memory.max, socket limits lifted, sending to a
 *    receiver that never reads, cannot push the cgroup past memory.max;
 *    its sends fail (ENOMEM) or it is OOM-killed, and the kernel stays
 *    sane (the receiver drains, sockets close, counts return to 0).
 * The module's live records and bytes (/sys/module/af_xs/parameters/live) are the
 * measure; the VM runs one program at a time.
 */
#include "xs_test.h"

#include <sys/prctl.h>

FIXTURE(mem) {
	struct xs_kwatch kw;
	char *buf;
};

#define MEM_BUF	(64 * 1024)

FIXTURE_SETUP(mem)
{
	long long r, b;

	ASSERT_OK(unshare(CLONE_NEWNET));
	ASSERT_OK(xs_live_records(&r, &b));
	ASSERT_EQ(0, r) TH_LOG("records alive before the test");
	self->buf = malloc(MEM_BUF);
	ASSERT_NE(NULL, self->buf);
	memset(self->buf, 'm', MEM_BUF);
	xs_kwatch_start(&self->kw);
}

FIXTURE_TEARDOWN(mem)
{
	free(self->buf);
}

static long long live_records(void)
{
	long long r = -1, b;

	xs_live_records(&r, &b);
	return r;
}

static long long live_bytes(void)
{
	long long r, b = -1;

	xs_live_records(&r, &b);
	return b;
}

#define MEM_END(self) do {						\
	ASSERT_ALL_GONE();						\
	ASSERT_KERNEL_QUIET(&(self)->kw);				\
} while (0)

/* ---- a subscriber that never reads ----------------------------------- */

TEST_F(mem, subscriber_that_never_reads_holds_at_most_its_hwm)
{
	int n = xs_iters(20000, 1000), i, pub, sub, hwm = 10;
	char rec[100];
	long long queued;

	ASSERT_OK(xs_link(XSPROTO_PUB, XSPROTO_SUB, hwm, hwm, &pub, &sub,
			  NULL, 0));
	ASSERT_OK(setsockopt(sub, SOL_XS, XS_SUBSCRIBE, "", 0));
	for (i = 0; i < n; i++) {
		snprintf(rec, sizeof(rec), "%08d", i);
		/* a publisher never waits, whatever its subscribers do */
		ASSERT_EQ((ssize_t)sizeof(rec),
			  xs_send(pub, rec, sizeof(rec),
				  MSG_EOR | MSG_DONTWAIT))
			TH_LOG("record %d: %s", i, strerror(errno));
	}
	queued = xs_proc_field(sub, "rx_records");
	ksft_print_msg("%d records published, %lld queued at the subscriber, "
		       "%llu dropped; module holds %lld records, %lld bytes\n",
		       n, queued, (unsigned long long)xs_getu64(pub, XS_DROPS),
		       live_records(), live_bytes());
	ASSERT_EQ(2 * hwm, queued);
	ASSERT_EQ((uint64_t)(n - 2 * hwm), xs_getu64(pub, XS_DROPS));
	ASSERT_EQ((uint64_t)(n - 2 * hwm), xs_getu64(sub, XS_MISSED));
	ASSERT_EQ(2 * hwm, live_records());
	ASSERT_EQ(2LL * hwm * (long long)sizeof(rec), live_bytes());
	/* what it holds are the first records, whole */
	for (i = 0; i < 2 * hwm; i++) {
		char want[16];

		snprintf(want, sizeof(want), "%08d", i);
		ASSERT_EQ((ssize_t)sizeof(rec),
			  xs_recv(sub, rec, sizeof(rec), MSG_DONTWAIT, NULL));
		ASSERT_STREQ(want, rec);
	}
	ASSERT_NOTHING(sub);
	close(pub);
	close(sub);
	MEM_END(self);
}

TEST_F(mem, subscriber_rcvbuf_bounds_the_bytes_it_holds)
{
	int n = xs_iters(2000, 200), i, pub, sub, rcvbuf, size = 4096;
	long long bytes, held;

	ASSERT_OK(xs_link(XSPROTO_PUB, XSPROTO_SUB, 0, 0, &pub, &sub, NULL,
			  0));
	ASSERT_OK(setsockopt(sub, SOL_SOCKET, SO_RCVBUF, &(int){ 32768 },
			     sizeof(int)));
	rcvbuf = xs_getint(sub, SOL_SOCKET, SO_RCVBUF);
	ASSERT_GT(rcvbuf, 0);
	ASSERT_OK(setsockopt(sub, SOL_XS, XS_SUBSCRIBE, "", 0));
	for (i = 0; i < n; i++)
		ASSERT_EQ(size, xs_send(pub, self->buf, size,
					MSG_EOR | MSG_DONTWAIT));
	bytes = xs_proc_field(sub, "rx_bytes");
	held = xs_proc_field(sub, "rx_mem");
	ksft_print_msg("SO_RCVBUF %d: %lld bytes queued of %d sent (the "
		       "kernel holds %lld for them), %llu records dropped\n",
		       rcvbuf, bytes, n * size, held,
		       (unsigned long long)xs_getu64(pub, XS_DROPS));
	/*
	 * SO_RCVBUF bounds what the kernel holds (a record may cross the
	 * limit once: it was accepted below it), at most twice the payload
	 * for a page-sized record.
	 */
	ASSERT_LE(held, rcvbuf + 2 * size + 512);
	ASSERT_GE(held, rcvbuf);
	ASSERT_GE(2 * bytes + 512, rcvbuf);
	ASSERT_LE(live_bytes(), rcvbuf + size);
	ASSERT_EQ((uint64_t)(n - bytes / size), xs_getu64(pub, XS_DROPS));
	close(pub);
	close(sub);
	MEM_END(self);
}

TEST_F(mem, slow_subscriber_does_not_hold_back_a_fast_one)
{
	int n = xs_iters(5000, 500), i, pub, slow, fast, got = 0, flags;
	char name[XS_NAME_MAX + 1], rec[16];

	xs_uname(name, sizeof(name), "pub");
	pub = xs_socket(XSPROTO_PUB);
	slow = xs_socket(XSPROTO_SUB);
	fast = xs_socket(XSPROTO_SUB);
	ASSERT_LE(0, pub);
	ASSERT_LE(0, slow);
	ASSERT_LE(0, fast);
	ASSERT_OK(xs_setint(pub, XS_SNDHWM, 5));
	ASSERT_OK(xs_setint(slow, XS_RCVHWM, 5));
	ASSERT_OK(xs_setint(fast, XS_RCVHWM, 0));
	ASSERT_OK(xs_bind(pub, name));
	ASSERT_OK(setsockopt(slow, SOL_XS, XS_SUBSCRIBE, "", 0));
	ASSERT_OK(setsockopt(fast, SOL_XS, XS_SUBSCRIBE, "", 0));
	ASSERT_OK(xs_connect(slow, name));
	ASSERT_OK(xs_connect(fast, name));
	for (i = 0; i < n; i++) {
		snprintf(rec, sizeof(rec), "%d", i);
		ASSERT_LT(0, xs_send(pub, rec, strlen(rec) + 1,
				     MSG_EOR | MSG_DONTWAIT));
		/* the fast one reads as it goes */
		while (xs_recv(fast, rec, sizeof(rec), MSG_DONTWAIT, &flags) > 0)
			ASSERT_EQ(got++, atoi(rec));
	}
	while (xs_recv(fast, rec, sizeof(rec), MSG_DONTWAIT, &flags) > 0)
		ASSERT_EQ(got++, atoi(rec));
	ASSERT_EQ(n, got);
	ASSERT_EQ(10, xs_proc_field(slow, "rx_records"));
	ASSERT_EQ((uint64_t)(n - 10), xs_getu64(slow, XS_MISSED));
	close(pub);
	close(slow);
	close(fast);
	MEM_END(self);
}

/* ---- a connector whose peer never binds ---------------------------------- */

TEST_F(mem, connector_without_binder_holds_sndhwm_records_per_pipe)
{
	int names = 20, hwm = 5, i, push, sent = 0;
	char name[XS_NAME_MAX + 1];

	push = xs_socket(XSPROTO_PUSH);
	ASSERT_LE(0, push);
	ASSERT_OK(xs_setint(push, XS_SNDHWM, hwm));
	for (i = 0; i < names; i++) {
		xs_uname(name, sizeof(name), "nobody");
		ASSERT_OK(xs_connect(push, name));
	}
	while (xs_send(push, "x", 1, MSG_EOR | MSG_DONTWAIT) == 1)
		sent++;
	ASSERT_EQ(EAGAIN, errno);
	ksft_print_msg("%d names nobody binds, SNDHWM %d: %d records accepted, "
		       "then EAGAIN\n", names, hwm, sent);
	ASSERT_EQ(names * hwm, sent);
	ASSERT_EQ(names * hwm, live_records());
	close(push);
	MEM_END(self);
}

TEST_F(mem, connector_without_binder_holds_at_most_its_sndbuf)
{
	int size = 4096, i, push, sndbuf, sent = 0;
	char name[XS_NAME_MAX + 1];

	xs_uname(name, sizeof(name), "nobody");
	push = xs_socket(XSPROTO_PUSH);
	ASSERT_LE(0, push);
	ASSERT_OK(xs_setint(push, XS_SNDHWM, 0));
	ASSERT_OK(setsockopt(push, SOL_SOCKET, SO_SNDBUF, &(int){ 65536 },
			     sizeof(int)));
	sndbuf = xs_getint(push, SOL_SOCKET, SO_SNDBUF);
	ASSERT_OK(xs_connect(push, name));
	for (i = 0; i < 100000; i++) {
		if (xs_send(push, self->buf, size, MSG_EOR | MSG_DONTWAIT) !=
		    size)
			break;
		sent++;
	}
	ASSERT_EQ(EAGAIN, errno);
	ksft_print_msg("SO_SNDBUF %d, no binder: %d records of %d bytes, then "
		       "EAGAIN\n", sndbuf, sent, size);
	/* SO_SNDBUF bounds what the kernel holds, payload and all */
	ASSERT_LE(live_bytes(), sndbuf + size);
	ASSERT_GE(2 * live_bytes() + 2 * size, sndbuf);
	close(push);
	MEM_END(self);
}

TEST_F(mem, publisher_without_subscribers_holds_nothing)
{
	int n = xs_iters(5000, 500), i, pub;
	char name[XS_NAME_MAX + 1];

	/* connected to a name nobody binds: no subscription, no copy kept */
	xs_uname(name, sizeof(name), "nobody");
	pub = xs_socket(XSPROTO_PUB);
	ASSERT_LE(0, pub);
	ASSERT_OK(xs_setint(pub, XS_SNDHWM, 0));
	ASSERT_OK(xs_connect(pub, name));
	for (i = 0; i < n; i++)
		ASSERT_EQ(MEM_BUF, xs_send(pub, self->buf, MEM_BUF,
					   MSG_EOR | MSG_DONTWAIT));
	ASSERT_EQ(0, live_records());
	ASSERT_EQ(0, live_bytes());
	close(pub);
	MEM_END(self);
}

/* ---- a sender that never ends its record ----------------------------------- */

TEST_F(mem, record_that_never_ends_stops_at_sndbuf_and_maxmsgsize)
{
	int size = 1024, tx, rx, sndbuf, parts, pass;
	int64_t max = 10000;
	long long most;

	ASSERT_OK(xs_link(XSPROTO_PUSH, XSPROTO_PULL, -1, -1, &tx, &rx, NULL,
			  0));
	ASSERT_OK(setsockopt(tx, SOL_SOCKET, SO_SNDBUF, &(int){ 32768 },
			     sizeof(int)));
	sndbuf = xs_getint(tx, SOL_SOCKET, SO_SNDBUF);
	for (pass = 0; pass < 2; pass++) {
		long long limit = pass ? max : sndbuf;

		if (pass)
			ASSERT_OK(setsockopt(tx, SOL_XS, XS_MAXMSGSIZE, &max,
					     sizeof(max)));
		most = 0;
		for (parts = 0; parts < 100000; parts++) {
			if (xs_send(tx, self->buf, size, 0) != size)
				break;
			if (live_bytes() > most)
				most = live_bytes();
		}
		ASSERT_EQ(EMSGSIZE, errno);
		ksft_print_msg("%s %lld: %d parts of %d bytes, then EMSGSIZE; "
			       "at most %lld bytes held\n",
			       pass ? "XS_MAXMSGSIZE" : "SO_SNDBUF", limit,
			       parts, size, most);
		if (pass) {
			ASSERT_EQ(limit / size, parts);
		} else {
			/* what each part costs the kernel counts as well */
			ASSERT_LE(parts, limit / size);
			ASSERT_GE(parts, limit / (2 * size + 64));
		}
		ASSERT_LE(most, limit);
		/* the whole record is gone */
		ASSERT_EQ(0, live_records());
		ASSERT_NOTHING(rx);
	}
	close(tx);
	close(rx);
	MEM_END(self);
}

/* ---- memory cgroup ---------------------------------------------------------- */

#define CG_ROOT		"/sys/fs/cgroup"
#define CG_MAX		(8LL << 20)
#define CG_RECORD	60000

static int cg_write(const char *dir, const char *file, const char *val)
{
	char path[256];
	int fd, ok;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok ? 0 : -1;
}

static long long cg_read(const char *dir, const char *file, const char *key)
{
	char path[256], line[256];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!key) {
			v = atoll(line);
			break;
		}
		if (!strncmp(line, key, strlen(key)) &&
		    line[strlen(key)] == ' ') {
			v = atoll(line + strlen(key) + 1);
			break;
		}
	}
	fclose(f);
	return v;
}

/* What the child in the cgroup reports. */
struct cg_report {
	int ready;
	long long sent;		/* records whose send returned */
	int err;		/* errno of the send that failed */
};

static void cg_child(const char *cg, const char *name, struct cg_report *rep)
{
	int fd, big = 512 << 20;
	int64_t nomax = -1;
	char *buf;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (cg_write(cg, "cgroup.procs", "0"))
		_exit(10);
	/* from here on, what this process allocates is charged to @cg */
	buf = malloc(CG_RECORD);
	fd = xs_socket(XSPROTO_PUSH);
	if (!buf || fd < 0)
		_exit(11);
	memset(buf, 'c', CG_RECORD);
	/* only the cgroup may stop us */
	if (xs_setint(fd, XS_SNDHWM, 0) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big)) ||
	    setsockopt(fd, SOL_XS, XS_MAXMSGSIZE, &nomax, sizeof(nomax)) ||
	    xs_connect(fd, name))
		_exit(12);
	rep->ready = 1;
	for (;;) {
		if (xs_send(fd, buf, CG_RECORD, MSG_EOR | MSG_DONTWAIT) !=
		    CG_RECORD) {
			rep->err = errno;
			break;
		}
		__atomic_add_fetch(&rep->sent, 1, __ATOMIC_SEQ_CST);
	}
	/* stay, holding the socket, until told: the records stay charged */
	pause();
	_exit(0);
}

TEST_F_TIMEOUT(mem, memory_cgroup_caps_what_a_sender_can_pin, 120)
{
	char cg[128], name[XS_NAME_MAX + 1], *rbuf;
	long long peak = 0, cur, most_bytes = 0, got = 0, end;
	long long events_before, ooms, max;
	int big = 512 << 20, rx, status, flags, exit_sig = 0;
	struct cg_report *rep;
	ssize_t n;
	pid_t pid;
	char ctrl[256] = "";
	FILE *f;

	f = fopen(CG_ROOT "/cgroup.controllers", "r");
	if (f) {
		if (!fgets(ctrl, sizeof(ctrl), f))
			ctrl[0] = 0;
		fclose(f);
	}
	if (!strstr(ctrl, "memory"))
		SKIP(return, "no memory controller in %s (cgroup v2 with "
		     "CONFIG_MEMCG needed)", CG_ROOT);
	ASSERT_OK(cg_write(CG_ROOT, "cgroup.subtree_control", "+memory"));
	snprintf(cg, sizeof(cg), CG_ROOT "/xs-mem.%d", (int)getpid());
	ASSERT_OK(mkdir(cg, 0755));
	ASSERT_OK(cg_write(cg, "memory.max", "8M"));
	cg_write(cg, "memory.swap.max", "0");
	max = cg_read(cg, "memory.max", NULL);
	ASSERT_EQ(CG_MAX, max);
	events_before = cg_read(cg, "memory.events", "oom_kill");

	rep = mmap(NULL, sizeof(*rep), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, rep);
	memset(rep, 0, sizeof(*rep));
	rbuf = malloc(CG_RECORD + 1);
	ASSERT_NE(NULL, rbuf);

	/* a receiver outside the cgroup that never reads (yet) */
	xs_uname(name, sizeof(name), "memcg");
	rx = xs_socket(XSPROTO_PULL);
	ASSERT_LE(0, rx);
	ASSERT_OK(xs_setint(rx, XS_RCVHWM, 0));
	ASSERT_OK(setsockopt(rx, SOL_SOCKET, SO_RCVBUFFORCE, &big,
			     sizeof(big)));
	ASSERT_OK(xs_bind(rx, name));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		cg_child(cg, name, rep);

	/* watch the cgroup until the child is stopped, one way or another */
	end = xs_now_ms() + 30000LL * xs_scale();
	for (;;) {
		cur = cg_read(cg, "memory.current", NULL);
		if (cur > peak)
			peak = cur;
		if (live_bytes() > most_bytes)
			most_bytes = live_bytes();
		if (waitpid(pid, &status, WNOHANG) == pid) {
			exit_sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
			pid = 0;
			break;
		}
		if (__atomic_load_n(&rep->err, __ATOMIC_SEQ_CST))
			break;
		ASSERT_LT(xs_now_ms(), end) TH_LOG("the sender was never "
						   "stopped: %lld records, "
						   "memory.current %lld",
						   rep->sent, cur);
		xs_sleep_ms(2);
	}
	if (cg_read(cg, "memory.peak", NULL) > peak)
		peak = cg_read(cg, "memory.peak", NULL);
	if (live_bytes() > most_bytes)
		most_bytes = live_bytes();
	ooms = cg_read(cg, "memory.events", "oom_kill") - events_before;
	ksft_print_msg("memory.max %lld: the sender got %lld records of %d "
		       "bytes in, then %s; memory.peak %lld, records held "
		       "%lld bytes, %lld OOM kills\n", max, rep->sent,
		       CG_RECORD,
		       pid ? strerror(rep->err) :
		       exit_sig ? strsignal(exit_sig) : "exited", peak,
		       most_bytes, ooms);
	/*
	 * The limit held.  A task the cgroup's OOM killer has chosen may
	 * finish its charge past memory.max so that it can exit (the memcg
	 * "force" charge of a dying task): at most one charge batch, 64
	 * pages.
	 */
	EXPECT_LE(peak, max + 64 * 4096);
	EXPECT_LE(most_bytes, max);
	if (pid) {
		EXPECT_TRUE(rep->err == ENOMEM || rep->err == ENOBUFS)
			TH_LOG("the sender stopped with %s",
			       strerror(rep->err));
	} else {
		EXPECT_EQ(SIGKILL, exit_sig) TH_LOG("the sender ended with "
						    "status %#x", status);
	}

	/* the kernel is sane: the receiver takes every record whole */
	while ((n = xs_recv(rx, rbuf, CG_RECORD + 1, MSG_DONTWAIT,
			    &flags)) >= 0) {
		ASSERT_EQ(CG_RECORD, n);
		ASSERT_EQ(MSG_EOR, flags & (MSG_EOR | MSG_TRUNC));
		got++;
	}
	ksft_print_msg("the receiver drained %lld records\n", got);
	EXPECT_LE(got, rep->sent + 1);
	EXPECT_GE(got + (long long)xs_getu64(rx, XS_MISSED), rep->sent);
	if (pid) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	close(rx);
	ASSERT_ALL_GONE();
	/* the cgroup empties and goes */
	end = xs_now_ms() + xs_wait_ms();
	while (rmdir(cg) && xs_now_ms() < end)
		xs_sleep_ms(20);
	EXPECT_NE(0, access(cg, F_OK)) TH_LOG("rmdir %s: %s", cg,
					      strerror(errno));
	free(rbuf);
	ASSERT_KERNEL_QUIET(&self->kw);
}

XS_TEST_MAIN
