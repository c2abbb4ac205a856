/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Two hosts in one guest, for the tcp:// tests of libxs (libxs_twohost.c,
 * libxs_bridge.c): two fresh network namespaces, A and B, each with its
 * own loopback, its own AF_XS names and its own TCP ports, joined by a
 * veth pair (A is 10.213.0.1, B is 10.213.0.2).  A "host" is a forked
 * process that entered one namespace before doing anything else, so that
 * libzmq's I/O threads (which create its TCP sockets) live there too.
 *
 * Debian's cloud kernels build veth as a module: scripts/vm-run.sh puts
 * it at /veth.ko and twohost_setup() loads it when the kernel does not
 * know the link type yet.  A kernel without veth at all (the debug and
 * KCSAN kernels are tinyconfig with no network devices) gets a relay
 * instead: a process with one foot in each namespace, listening on
 * 127.0.0.1:PORT+RELAY_OFFSET in one and connecting to 127.0.0.1:PORT in
 * the other, byte for byte in both directions.  The programs see the
 * other host at another address and port, nothing else changes; the
 * tests print which of the two they run on.  XS_TWOHOST_RELAY=1 in the
 * environment takes the relays even where veth exists.
 *
 * Helpers never ASSERT (they run in forked children); they return values.
 */
#ifndef XS_TWOHOST_H
#define XS_TWOHOST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include "xs.h"

#define TWOHOST_NET		"10.213.0."
#define RELAY_OFFSET		10000
#define RELAY_PORTS		16	/* ports PORT_BASE.. each host relays */
#define PORT_BASE		5500

enum { HOST_A, HOST_B };

struct twohost {
	int ns[2];		/* namespace fds */
	int home;		/* the caller's namespace */
	bool veth;		/* false: relays */
	pid_t relay[2];		/* relay[h]: reaches host h from the other */
};

/* Printed as TAP diagnostics by whichever process fails. */
static inline void th_note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("# ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
	fflush(stdout);
}

/* In a host's code: fail (exit status 1) with where and why. */
#define CHECK(cond) do {						\
	if (!(cond)) {							\
		th_note("%s:%d: %s failed (errno %d %s)", __FILE__,	\
			__LINE__, #cond, errno, strerror(errno));	\
		return 1;						\
	}								\
} while (0)

static inline int th_scale(void)
{
	const char *s = getenv("XS_TEST_SCALE");
	int v = s ? atoi(s) : 1;

	return v < 1 ? 1 : v;
}

static inline void th_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static inline long long th_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* ---- links ---------------------------------------------------------- */

static inline int nl_put(struct nlmsghdr *nh, size_t max, unsigned short type,
			 const void *data, size_t len)
{
	struct rtattr *rta = (struct rtattr *)((char *)nh +
					       NLMSG_ALIGN(nh->nlmsg_len));

	if (NLMSG_ALIGN(nh->nlmsg_len) + RTA_SPACE(len) > max)
		return -1;
	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(rta), data, len);
	nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + RTA_SPACE(len);
	return 0;
}

static inline struct rtattr *nl_nest(struct nlmsghdr *nh, size_t max,
				     unsigned short type)
{
	struct rtattr *rta = (struct rtattr *)((char *)nh +
					       NLMSG_ALIGN(nh->nlmsg_len));

	return nl_put(nh, max, type, NULL, 0) ? NULL : rta;
}

static inline void nl_end(struct nlmsghdr *nh, struct rtattr *nest)
{
	nest->rta_len = (unsigned short)((char *)nh + nh->nlmsg_len -
					 (char *)nest);
}

/* ip link add xs0 type veth peer name xs1 netns PEER_NS; 0 or -errno. */
static inline int th_add_veth(int peer_ns)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
		char attrs[512];
	} req = { 0 };
	struct ifinfomsg peer = { .ifi_family = AF_UNSPEC };
	struct rtattr *info, *data, *p;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	char ack[1024];
	struct nlmsghdr *r = (struct nlmsghdr *)ack;
	size_t max = sizeof(req);
	int fd, err = -EPROTO;
	ssize_t n;

	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifi));
	req.nh.nlmsg_type = RTM_NEWLINK;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL |
			     NLM_F_ACK;
	req.ifi.ifi_family = AF_UNSPEC;
	if (nl_put(&req.nh, max, IFLA_IFNAME, "xs0", 4))
		return -E2BIG;
	info = nl_nest(&req.nh, max, IFLA_LINKINFO);
	if (!info || nl_put(&req.nh, max, IFLA_INFO_KIND, "veth", 5))
		return -E2BIG;
	data = nl_nest(&req.nh, max, IFLA_INFO_DATA);
	if (!data)
		return -E2BIG;
	p = nl_nest(&req.nh, max, VETH_INFO_PEER);
	if (!p)
		return -E2BIG;
	/* the peer's attributes follow its own ifinfomsg */
	memcpy((char *)&req + req.nh.nlmsg_len, &peer, sizeof(peer));
	req.nh.nlmsg_len += NLMSG_ALIGN(sizeof(peer));
	if (nl_put(&req.nh, max, IFLA_IFNAME, "xs1", 4) ||
	    nl_put(&req.nh, max, IFLA_NET_NS_FD, &peer_ns, sizeof(peer_ns)))
		return -E2BIG;
	nl_end(&req.nh, p);
	nl_end(&req.nh, data);
	nl_end(&req.nh, info);

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (sendto(fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&kernel,
		   sizeof(kernel)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	n = recv(fd, ack, sizeof(ack), 0);
	if (n >= (ssize_t)NLMSG_LENGTH(sizeof(struct nlmsgerr)) &&
	    r->nlmsg_type == NLMSG_ERROR)
		err = ((struct nlmsgerr *)NLMSG_DATA(r))->error;
	close(fd);
	return err;
}

/* ifconfig NAME [ADDR/24] up, in the caller's namespace. */
static inline int th_if_up(const char *name, const char *addr)
{
	struct ifreq ifr = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = -1;

	if (fd < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (addr) {
		sin->sin_family = AF_INET;
		if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1 ||
		    ioctl(fd, SIOCSIFADDR, &ifr))
			goto out;
		inet_pton(AF_INET, "255.255.255.0", &sin->sin_addr);
		if (ioctl(fd, SIOCSIFNETMASK, &ifr))
			goto out;
	}
	if (ioctl(fd, SIOCGIFFLAGS, &ifr))
		goto out;
	ifr.ifr_flags |= IFF_UP;
	rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
out:
	close(fd);
	return rc;
}

/*
 * Small TCP buffers (about 4 KiB each way per socket, as sysctls of the
 * caller's namespace), so that what a stalled receiver lets through is
 * bounded by the high-water marks and not by megabytes of socket buffer.
 */
static inline int th_small_tcp_buffers(void)
{
	static const char *const files[] = {
		"/proc/sys/net/ipv4/tcp_rmem", "/proc/sys/net/ipv4/tcp_wmem",
	};
	size_t i;

	for (i = 0; i < 2; i++) {
		int fd = open(files[i], O_WRONLY | O_CLOEXEC);
		ssize_t n;

		if (fd < 0)
			return -1;
		n = write(fd, "4096 4096 4096", 14);
		close(fd);
		if (n != 14)
			return -1;
	}
	return 0;
}

/* ---- relays (kernels without veth) ---------------------------------- */

/* One connection: bytes both ways until either side closes. */
static inline void relay_pump(int a, int b)
{
	char buf[16384];
	struct pollfd p[2] = { { a, POLLIN, 0 }, { b, POLLIN, 0 } };
	int i;

	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return;
		for (i = 0; i < 2; i++) {
			ssize_t n, off = 0, w;

			if (!p[i].revents)
				continue;
			n = read(p[i].fd, buf, sizeof(buf));
			if (n <= 0)
				return;
			while (off < n) {
				w = write(p[1 - i].fd, buf + off,
					  (size_t)(n - off));
				if (w <= 0)
					return;
				off += w;
			}
		}
	}
}

/*
 * The relay to host TO: listens on 127.0.0.1:PORT+RELAY_OFFSET in FROM's
 * namespace and connects to 127.0.0.1:PORT in TO's, one process per
 * connection.  Runs until killed.
 */
static inline void relay_run(int from_ns, int to_ns)
{
	struct pollfd l[RELAY_PORTS];
	int i, one = 1;

	if (setns(from_ns, CLONE_NEWNET))
		_exit(2);
	for (i = 0; i < RELAY_PORTS; i++) {
		struct sockaddr_in sin = {
			.sin_family = AF_INET,
			.sin_port = htons(PORT_BASE + RELAY_OFFSET + i),
			.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
		};

		l[i].fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		l[i].events = POLLIN;
		setsockopt(l[i].fd, SOL_SOCKET, SO_REUSEADDR, &one,
			   sizeof(one));
		if (bind(l[i].fd, (struct sockaddr *)&sin, sizeof(sin)) ||
		    listen(l[i].fd, 16))
			_exit(3);
	}
	/* sockets made from now on are TO's */
	if (setns(to_ns, CLONE_NEWNET))
		_exit(2);
	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		if (poll(l, RELAY_PORTS, -1) < 0)
			continue;
		for (i = 0; i < RELAY_PORTS; i++) {
			struct sockaddr_in sin = {
				.sin_family = AF_INET,
				.sin_port = htons(PORT_BASE + i),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
			};
			int in, out;

			if (!l[i].revents)
				continue;
			in = accept4(l[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (in < 0)
				continue;
			out = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (out >= 0 && !connect(out, (struct sockaddr *)&sin,
						 sizeof(sin)) && fork() == 0) {
				prctl(PR_SET_PDEATHSIG, SIGKILL);
				relay_pump(in, out);
				_exit(0);
			}
			close(in);
			if (out >= 0)
				close(out);
		}
	}
}

/* ---- setting up and using the hosts --------------------------------- */

static inline int th_load_veth(void)
{
	int fd = open("/veth.ko", O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = (int)syscall(SYS_finit_module, fd, "", 0);
	close(fd);
	return rc && errno != EEXIST ? -1 : 0;
}

static inline int th_enter(struct twohost *h, int host)
{
	return setns(h->ns[host], CLONE_NEWNET);
}

/* Makes the two hosts; the caller stays in its own namespace. */
static inline int twohost_setup(struct twohost *h)
{
	const char *relay;
	int rc, i;

	memset(h, 0, sizeof(*h));
	h->ns[0] = h->ns[1] = h->home = -1;
	h->home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (h->home < 0)
		return -1;
	for (i = 0; i < 2; i++) {
		if (unshare(CLONE_NEWNET))
			return -1;
		h->ns[i] = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		if (h->ns[i] < 0 || th_if_up("lo", NULL) ||
		    th_small_tcp_buffers())
			return -1;
	}
	/* in B now; the pair is made from A */
	if (th_enter(h, HOST_A))
		return -1;
	/* XS_TWOHOST_RELAY=1: relays even where veth exists */
	relay = getenv("XS_TWOHOST_RELAY");
	rc = relay && relay[0] == '1' ? -EOPNOTSUPP :
	     th_add_veth(h->ns[HOST_B]);
	if (rc == -EOPNOTSUPP && !(relay && relay[0] == '1') &&
	    !th_load_veth())
		rc = th_add_veth(h->ns[HOST_B]);
	h->veth = rc == 0;
	if (h->veth) {
		if (th_if_up("xs0", TWOHOST_NET "1") || th_enter(h, HOST_B) ||
		    th_if_up("xs1", TWOHOST_NET "2"))
			return -1;
	} else {
		for (i = 0; i < 2; i++) {
			h->relay[i] = fork();
			if (h->relay[i] < 0)
				return -1;
			if (h->relay[i] == 0) {
				prctl(PR_SET_PDEATHSIG, SIGKILL);
				relay_run(h->ns[1 - i], h->ns[i]);
			}
		}
	}
	return setns(h->home, CLONE_NEWNET);
}

static inline void twohost_teardown(struct twohost *h)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (h->relay[i] > 0) {
			kill(h->relay[i], SIGKILL);
			waitpid(h->relay[i], NULL, 0);
		}
		if (h->ns[i] >= 0)
			close(h->ns[i]);
	}
	if (h->home >= 0)
		close(h->home);
}

/* The endpoint a host binds for port N (0 .. RELAY_PORTS - 1). */
static inline const char *th_bind_ep(char *buf, size_t len, int n)
{
	snprintf(buf, len, "tcp://*:%d", PORT_BASE + n);
	return buf;
}

/* The endpoint that reaches port N of HOST from the other host. */
static inline const char *th_remote_ep(const struct twohost *h, char *buf,
				       size_t len, int host, int n)
{
	if (h->veth)
		snprintf(buf, len, "tcp://" TWOHOST_NET "%d:%d", host + 1,
			 PORT_BASE + n);
	else
		snprintf(buf, len, "tcp://127.0.0.1:%d",
			 PORT_BASE + RELAY_OFFSET + n);
	return buf;
}

/* Runs FN(ARG) in a child inside HOST; its return value is the status. */
static inline pid_t th_spawn(struct twohost *h, int host, int (*fn)(void *),
			     void *arg)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (th_enter(h, host))
			_exit(98);
		_exit(fn(arg));
	}
	return pid;
}

/* Exec'ing ARGV in HOST (a tool from /tools); stderr into *ERR if given. */
static inline pid_t th_spawn_exec(struct twohost *h, int host,
				  char *const argv[], int *err)
{
	int p[2] = { -1, -1 };
	pid_t pid;

	if (err && pipe2(p, O_CLOEXEC))
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (err)
			dup2(p[1], 2);
		if (th_enter(h, host))
			_exit(98);
		execv(argv[0], argv);
		_exit(127);
	}
	if (err) {
		close(p[1]);
		*err = p[0];
	}
	return pid;
}

/* The child's exit status; anything but a normal exit is -1.  A child
 * still running after MS ms is killed (-2). */
static inline int th_wait(pid_t pid, int ms)
{
	long long end = th_now_ms() + (long long)ms * th_scale();
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		if (r < 0)
			return -1;
		if (th_now_ms() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			th_note("child %d killed after %d ms", (int)pid,
				ms * th_scale());
			return -2;
		}
		th_sleep_ms(5);
	}
}

/* Shared between the test and its hosts (MAP_SHARED, made before fork). */
static inline void *th_shared(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Waits until *FLAG is at least V (set by another process); 0 or -1. */
static inline int th_await(atomic_int *flag, int v, int ms)
{
	long long end = th_now_ms() + (long long)ms * th_scale();

	while (atomic_load(flag) < v) {
		if (th_now_ms() > end)
			return -1;
		th_sleep_ms(2);
	}
	return 0;
}

/* ---- libxs in a host ------------------------------------------------ */

/* A waiting receive: XS_RCVTIMEO of this many ms (scaled). */
#define TH_RCVTIMEO	5000

static inline int th_setint(void *s, int option, int v)
{
	return xs_setsockopt(s, option, &v, sizeof(v));
}

/* A socket with a receive timeout, or NULL. */
static inline void *th_sock(void *ctx, int type)
{
	void *s = xs_socket(ctx, type);

	if (s && th_setint(s, XS_RCVTIMEO, TH_RCVTIMEO * th_scale())) {
		xs_close(s);
		return NULL;
	}
	return s;
}

static inline int th_rcvmore(void *s)
{
	size_t len = sizeof(int);
	int more = -1;

	if (xs_getsockopt(s, XS_RCVMORE, &more, &len))
		return -1;
	return more;
}

/* One part as a string; its size, or -1.  *MORE: XS_RCVMORE after it. */
static inline int th_recv_str(void *s, char *buf, size_t len, int *more)
{
	int n = xs_recv(s, buf, len - 1, 0);

	if (n < 0)
		return -1;
	buf[(size_t)n < len - 1 ? (size_t)n : len - 1] = '\0';
	if (more)
		*more = th_rcvmore(s);
	return n;
}

static inline int th_send_str(void *s, const char *str, int flags)
{
	return xs_send(s, str, strlen(str), flags);
}

/* Closes the sockets without lingering, then the context; 0 or -1. */
static inline int th_done(void *ctx, void **socks, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (!socks[i])
			continue;
		th_setint(socks[i], XS_LINGER, 0);
		xs_close(socks[i]);
	}
	return xs_term(ctx);
}

/*
 * TEST_HARNESS_MAIN with each test's timeout at TH_TIMEOUT seconds times
 * XS_TEST_SCALE (the harness' own default, 30 s, is per test too).
 */
#define TH_TIMEOUT	60
#define TH_TEST_MAIN							\
	static void __attribute__((constructor))			\
	__constructor_order_last(void)					\
	{								\
		if (!__constructor_order)				\
			__constructor_order =				\
				_CONSTRUCTOR_ORDER_BACKWARD;		\
	}								\
	int main(int argc, char **argv)					\
	{								\
		struct __fixture_metadata *f;				\
		struct __test_metadata *t;				\
									\
		signal(SIGPIPE, SIG_IGN);				\
		for (f = __fixture_list; f; f = f->next)		\
			for (t = f->tests; t; t = t->next)		\
				t->timeout = TH_TIMEOUT * th_scale();	\
		return test_harness_run(argc, argv);			\
	}

#endif /* XS_TWOHOST_H */
