// SPDX-License-Identifier: GPL-2.0
/*
 * Bad input on every call gets the documented error and changes nothing:
 * socket types and protocols, address lengths and families, option
 * numbers, sizes and ranges, message flags, destination addresses,
 * control messages, NULL and unmapped pointers, and the calls the family
 * does not support.
 */
#include "xs_test.h"

/* ---- socket() ------------------------------------------------------- */

TEST(socket_type_other_than_seqpacket_is_esocktnosupport)
{
	static const int types[] = { SOCK_STREAM, SOCK_DGRAM, SOCK_RAW,
				     SOCK_RDM };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(types); i++)
		EXPECT_ERRNO(ESOCKTNOSUPPORT,
			     socket(xs_family(), types[i], XSPROTO_PAIR));
}

TEST(socket_protocol_0_or_unknown_is_eprotonosupport)
{
	static const int protos[] = { 0, XSPROTO_MAX + 1, 255, -1, 1 << 20 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(protos); i++)
		EXPECT_ERRNO(EPROTONOSUPPORT,
			     socket(xs_family(), SOCK_SEQPACKET, protos[i]));
}

TEST(socket_accepts_nonblock_and_cloexec)
{
	int fd = socket(xs_family(), SOCK_SEQPACKET | SOCK_NONBLOCK |
			SOCK_CLOEXEC, XSPROTO_PULL);
	char c;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	ASSERT_ERRNO(EAGAIN, recv(fd, &c, 1, 0));
	close(fd);
}

TEST(o_nonblock_makes_send_and_recv_nonblocking)
{
	int tx, rx;
	char c;

	ASSERT_OK(xs_link(XSPROTO_PUSH, XSPROTO_PULL, 1, 1, &tx, &rx,
			  NULL, 0));
	ASSERT_OK(fcntl(tx, F_SETFL, O_NONBLOCK));
	ASSERT_OK(fcntl(rx, F_SETFL, O_NONBLOCK));
	ASSERT_ERRNO(EAGAIN, recv(rx, &c, 1, 0));
	ASSERT_RECORD(tx, 0, "1");
	ASSERT_RECORD(tx, 0, "2");
	ASSERT_ERRNO(EAGAIN, send(tx, "3", 1, MSG_EOR));
	close(tx);
	close(rx);
}

/* ---- bind() and connect() ----------------------------------------------- */

FIXTURE(addr) {
	int fd;
	char name[XS_NAME_MAX + 1];
};

FIXTURE_VARIANT(addr) {
	int is_connect;
};

FIXTURE_VARIANT_ADD(addr, bind) {
	.is_connect = 0,
};

FIXTURE_VARIANT_ADD(addr, connect) {
	.is_connect = 1,
};

FIXTURE_SETUP(addr)
{
	self->fd = xs_socket(XSPROTO_PULL);
	ASSERT_GE(self->fd, 0);
	xs_uname(self->name, sizeof(self->name), "addr");
}

FIXTURE_TEARDOWN(addr)
{
	xs_close(&self->fd);
}

static int addr_op(int fd, int is_connect, const void *sa, socklen_t len)
{
	return is_connect ? connect(fd, sa, len) : bind(fd, sa, len);
}

/* After failures, the socket still works and the name is still free. */
static int name_still_free(int fd, int is_connect, const char *name)
{
	int other = xs_socket(XSPROTO_PUSH), ok;

	ok = other >= 0 && xs_bind(other, name) == 0;
	close(other);
	return ok && (is_connect ? xs_connect(fd, name) : xs_bind(fd, name)) == 0;
}

TEST_F(addr, addrlen_without_a_name_is_einval)
{
	struct sockaddr_xs sa;
	socklen_t base = offsetof(struct sockaddr_xs, sxs_name);
	socklen_t len;

	xs_addr(&sa, self->name);
	for (len = 0; len <= base; len++)
		EXPECT_ERRNO(EINVAL, addr_op(self->fd, variant->is_connect,
					     &sa, len));
	ASSERT_TRUE(name_still_free(self->fd, variant->is_connect, self->name));
}

TEST_F(addr, addrlen_over_sockaddr_xs_is_einval)
{
	char raw[sizeof(struct sockaddr_storage) + 8];
	struct sockaddr_xs *sa = (struct sockaddr_xs *)raw;

	memset(raw, 'q', sizeof(raw));
	xs_addr(sa, self->name);
	EXPECT_ERRNO(EINVAL, addr_op(self->fd, variant->is_connect, raw,
				     sizeof(struct sockaddr_xs) + 1));
	EXPECT_ERRNO(EINVAL, addr_op(self->fd, variant->is_connect, raw,
				     sizeof(struct sockaddr_storage)));
	EXPECT_ERRNO(EINVAL, addr_op(self->fd, variant->is_connect, raw,
				     sizeof(raw)));
	EXPECT_ERRNO(EINVAL, addr_op(self->fd, variant->is_connect, raw,
				     (socklen_t)-1));
	ASSERT_TRUE(name_still_free(self->fd, variant->is_connect, self->name));
}

TEST_F(addr, empty_name_is_einval)
{
	struct sockaddr_xs sa;

	memset(&sa, 0, sizeof(sa));
	sa.sxs_family = xs_family();
	EXPECT_ERRNO(EINVAL, addr_op(self->fd, variant->is_connect, &sa,
				     sizeof(sa)));
	EXPECT_ERRNO(EINVAL, addr_op(self->fd, variant->is_connect, &sa,
				     offsetof(struct sockaddr_xs, sxs_name) + 1));
	ASSERT_TRUE(name_still_free(self->fd, variant->is_connect, self->name));
}

TEST_F(addr, wrong_family_is_eafnosupport)
{
	static const int families[] = { AF_UNIX, AF_INET, AF_UNSPEC };
	struct sockaddr_xs sa;
	socklen_t len = xs_addr(&sa, self->name);
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(families); i++) {
		if (families[i] == xs_family())
			continue;
		sa.sxs_family = families[i];
		EXPECT_ERRNO(EAFNOSUPPORT, addr_op(self->fd,
						   variant->is_connect,
						   &sa, len));
	}
	ASSERT_TRUE(name_still_free(self->fd, variant->is_connect, self->name));
}

TEST_F(addr, null_or_unmapped_address_is_efault)
{
	EXPECT_ERRNO(EFAULT, addr_op(self->fd, variant->is_connect, NULL,
				     sizeof(struct sockaddr_xs)));
	EXPECT_ERRNO(EFAULT, addr_op(self->fd, variant->is_connect,
				     xs_unmapped(),
				     sizeof(struct sockaddr_xs)));
	ASSERT_TRUE(name_still_free(self->fd, variant->is_connect, self->name));
}

/* ---- options -------------------------------------------------------------- */

FIXTURE(opt) {
	int fd;
};

FIXTURE_SETUP(opt)
{
	self->fd = xs_socket(XSPROTO_PUSH);
	ASSERT_GE(self->fd, 0);
}

FIXTURE_TEARDOWN(opt)
{
	xs_close(&self->fd);
}

static int64_t get64(int fd, int opt, socklen_t *lenp)
{
	int64_t v = 0x5a5a5a5a5a5a5a5aLL;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, SOL_XS, opt, &v, &len))
		return -12345;
	if (lenp)
		*lenp = len;
	return v;
}

TEST_F(opt, defaults_are_documented_values)
{
	socklen_t len = 0;

	ASSERT_EQ(XS_HWM_DEFAULT, xs_getint(self->fd, SOL_XS, XS_SNDHWM));
	ASSERT_EQ(XS_HWM_DEFAULT, xs_getint(self->fd, SOL_XS, XS_RCVHWM));
	ASSERT_EQ(8, xs_getint(self->fd, SOL_XS, XS_TYPE));
	ASSERT_EQ(0, xs_getint(self->fd, SOL_XS, XS_RCVMORE));
	ASSERT_EQ(-1, get64(self->fd, XS_MAXMSGSIZE, &len));
	ASSERT_EQ(sizeof(int64_t), len);
	ASSERT_EQ(0, get64(self->fd, XS_DROPS, &len));
	ASSERT_EQ(sizeof(uint64_t), len);
	ASSERT_EQ(0, get64(self->fd, XS_MISSED, &len));
	ASSERT_EQ(sizeof(uint64_t), len);
}

TEST_F(opt, values_read_back_as_set)
{
	int64_t big = 1LL << 40, v;

	ASSERT_OK(xs_setint(self->fd, XS_SNDHWM, 7));
	ASSERT_EQ(7, xs_getint(self->fd, SOL_XS, XS_SNDHWM));
	ASSERT_OK(xs_setint(self->fd, XS_RCVHWM, 0));
	ASSERT_EQ(0, xs_getint(self->fd, SOL_XS, XS_RCVHWM));
	ASSERT_OK(xs_setint(self->fd, XS_LINGER, 250));
	ASSERT_EQ(250, xs_getint(self->fd, SOL_XS, XS_LINGER));
	ASSERT_OK(xs_setint(self->fd, XS_LINGER, -1));
	ASSERT_EQ(-1, xs_getint(self->fd, SOL_XS, XS_LINGER));
	ASSERT_OK(setsockopt(self->fd, SOL_XS, XS_MAXMSGSIZE, &big,
			     sizeof(big)));
	v = get64(self->fd, XS_MAXMSGSIZE, NULL);
	ASSERT_EQ(big, v);
}

TEST_F(opt, unknown_option_is_enoprotoopt)
{
	static const int opts[] = { 0, 1, 2, 63, 200, 999, -1 };
	int v = 1;
	socklen_t len = sizeof(v);
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(opts); i++) {
		int r;

		errno = 0;
		r = setsockopt(self->fd, SOL_XS, opts[i], &v, sizeof(v));
		EXPECT_TRUE(r == -1 && errno == ENOPROTOOPT)
			TH_LOG("setsockopt(%d): %d, %s", opts[i], r,
			       strerror(errno));
		errno = 0;
		r = getsockopt(self->fd, SOL_XS, opts[i], &v, &len);
		EXPECT_TRUE(r == -1 && errno == ENOPROTOOPT)
			TH_LOG("getsockopt(%d): %d, %s", opts[i], r,
			       strerror(errno));
	}
}

TEST_F(opt, wrong_size_is_einval_and_changes_nothing)
{
	static const int opts[] = { XS_SNDHWM, XS_RCVHWM, XS_LINGER };
	int64_t v64 = 5;
	char v[8] = { 5 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(opts); i++) {
		EXPECT_ERRNO(EINVAL, setsockopt(self->fd, SOL_XS, opts[i], v,
						0));
		EXPECT_ERRNO(EINVAL, setsockopt(self->fd, SOL_XS, opts[i], v,
						2));
		EXPECT_ERRNO(EINVAL, setsockopt(self->fd, SOL_XS, opts[i], v,
						8));
	}
	EXPECT_ERRNO(EINVAL, setsockopt(self->fd, SOL_XS, XS_MAXMSGSIZE,
					&v64, 4));
	EXPECT_ERRNO(EINVAL, setsockopt(self->fd, SOL_XS, XS_MAXMSGSIZE,
					&v64, 16));
	ASSERT_EQ(XS_HWM_DEFAULT, xs_getint(self->fd, SOL_XS, XS_SNDHWM));
	ASSERT_EQ(XS_HWM_DEFAULT, xs_getint(self->fd, SOL_XS, XS_RCVHWM));
	ASSERT_EQ(-1, get64(self->fd, XS_MAXMSGSIZE, NULL));
}

TEST_F(opt, out_of_range_value_is_einval_and_changes_nothing)
{
	int64_t m2 = -2;

	EXPECT_ERRNO(EINVAL, xs_setint(self->fd, XS_SNDHWM, -1));
	EXPECT_ERRNO(EINVAL, xs_setint(self->fd, XS_RCVHWM, -1));
	EXPECT_ERRNO(EINVAL, xs_setint(self->fd, XS_LINGER, -2));
	EXPECT_ERRNO(EINVAL, setsockopt(self->fd, SOL_XS, XS_MAXMSGSIZE, &m2,
					sizeof(m2)));
	ASSERT_EQ(XS_HWM_DEFAULT, xs_getint(self->fd, SOL_XS, XS_SNDHWM));
	ASSERT_EQ(XS_HWM_DEFAULT, xs_getint(self->fd, SOL_XS, XS_RCVHWM));
	ASSERT_EQ(-1, get64(self->fd, XS_MAXMSGSIZE, NULL));
}

TEST_F(opt, read_only_option_is_einval)
{
	int64_t v = 0;

	EXPECT_ERRNO(EINVAL, xs_setint(self->fd, XS_TYPE, 0));
	EXPECT_ERRNO(EINVAL, xs_setint(self->fd, XS_RCVMORE, 0));
	EXPECT_ERRNO(EINVAL, setsockopt(self->fd, SOL_XS, XS_DROPS, &v,
					sizeof(v)));
	EXPECT_ERRNO(EINVAL, setsockopt(self->fd, SOL_XS, XS_MISSED, &v,
					sizeof(v)));
	ASSERT_EQ(8, xs_getint(self->fd, SOL_XS, XS_TYPE));
}

TEST_F(opt, null_or_unmapped_value_is_efault)
{
	socklen_t len = sizeof(int);

	EXPECT_ERRNO(EFAULT, setsockopt(self->fd, SOL_XS, XS_SNDHWM, NULL,
					sizeof(int)));
	EXPECT_ERRNO(EFAULT, setsockopt(self->fd, SOL_XS, XS_SNDHWM,
					xs_unmapped(), sizeof(int)));
	EXPECT_ERRNO(EFAULT, getsockopt(self->fd, SOL_XS, XS_SNDHWM, NULL,
					&len));
	EXPECT_ERRNO(EFAULT, getsockopt(self->fd, SOL_XS, XS_SNDHWM,
					xs_unmapped(), &len));
	EXPECT_ERRNO(EFAULT, getsockopt(self->fd, SOL_XS, XS_SNDHWM, &len,
					NULL));
	EXPECT_ERRNO(EFAULT, getsockopt(self->fd, SOL_XS, XS_SNDHWM, &len,
					xs_unmapped()));
	ASSERT_EQ(XS_HWM_DEFAULT, xs_getint(self->fd, SOL_XS, XS_SNDHWM));
}

TEST_F(opt, getsockopt_short_length_is_einval)
{
	int v = 0;
	socklen_t len = 2;

	EXPECT_ERRNO(EINVAL, getsockopt(self->fd, SOL_XS, XS_SNDHWM, &v,
					&len));
	len = 4;
	EXPECT_ERRNO(EINVAL, getsockopt(self->fd, SOL_XS, XS_MAXMSGSIZE, &v,
					&len));
	len = -1;
	EXPECT_ERRNO(EINVAL, getsockopt(self->fd, SOL_XS, XS_SNDHWM, &v,
					&len));
}

TEST_F(opt, endpoint_option_without_name_is_einval)
{
	char name[XS_NAME_MAX + 8];

	memset(name, 'n', sizeof(name));
	EXPECT_ERRNO(EINVAL, setsockopt(self->fd, SOL_XS, XS_UNBIND, name, 0));
	EXPECT_ERRNO(EINVAL, setsockopt(self->fd, SOL_XS, XS_DISCONNECT, name,
					sizeof(name)));
	EXPECT_ERRNO(EFAULT, setsockopt(self->fd, SOL_XS, XS_UNBIND,
					xs_unmapped(), 8));
}

/* ---- sendmsg/recvmsg ---------------------------------------------------- */

FIXTURE(io) {
	int tx, rx;
};

FIXTURE_SETUP(io)
{
	ASSERT_OK(xs_link(XSPROTO_PAIR, XSPROTO_PAIR, 1, 1, &self->tx,
			  &self->rx, NULL, 0));
}

FIXTURE_TEARDOWN(io)
{
	xs_close(&self->tx);
	xs_close(&self->rx);
}

TEST_F(io, send_with_oob_or_unknown_flag_is_eopnotsupp)
{
	static const int flags[] = { MSG_OOB, MSG_DONTROUTE, MSG_CONFIRM,
				     MSG_PROXY, MSG_FASTOPEN, MSG_ERRQUEUE };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(flags); i++)
		EXPECT_ERRNO(EOPNOTSUPP, xs_send_str(self->tx, "x",
						     flags[i] | MSG_EOR));
	ASSERT_NOTHING(self->rx);
	ASSERT_RECORD(self->tx, MSG_DONTWAIT, "ok1");
	ASSERT_RECORD(self->tx, MSG_DONTWAIT, "ok2");
	ASSERT_RECV_RECORD(self->rx, "ok1");
	ASSERT_RECV_RECORD(self->rx, "ok2");
}

TEST_F(io, send_accepts_documented_flags)
{
	ASSERT_SEND(self->tx, "a", MSG_MORE | MSG_NOSIGNAL | MSG_DONTWAIT);
	ASSERT_SEND(self->tx, "b", MSG_BATCH | MSG_EOR);
	ASSERT_RECV_RECORD(self->rx, "a", "b");
}

TEST_F(io, send_with_destination_is_eisconn)
{
	struct sockaddr_xs sa;
	socklen_t len = xs_addr(&sa, "anywhere");
	struct iovec iov = { "x", 1 };
	struct msghdr msg = { .msg_name = &sa, .msg_namelen = len,
			      .msg_iov = &iov, .msg_iovlen = 1 };

	ASSERT_ERRNO(EISCONN, sendmsg(self->tx, &msg, MSG_EOR));
	ASSERT_ERRNO(EISCONN, sendto(self->tx, "x", 1, MSG_EOR,
				     (struct sockaddr *)&sa, len));
	ASSERT_NOTHING(self->rx);
}

TEST_F(io, send_with_control_message_is_einval)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = { "x", 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &self->rx, sizeof(int));
	ASSERT_ERRNO(EINVAL, sendmsg(self->tx, &msg, MSG_EOR));
	ASSERT_NOTHING(self->rx);
}

TEST_F(io, send_from_bad_buffer_is_efault_and_leaks_no_slot)
{
	struct iovec iov[2] = { { "ok", 2 }, { NULL, 4 } };
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
	int i;

	/* the pipe holds 2; five failed first parts must not use them up */
	for (i = 0; i < 5; i++) {
		EXPECT_ERRNO(EFAULT, xs_send(self->tx, NULL, 4,
					     MSG_EOR | MSG_DONTWAIT));
		EXPECT_ERRNO(EFAULT, xs_send(self->tx, xs_unmapped(), 4,
					     MSG_EOR | MSG_DONTWAIT));
		EXPECT_ERRNO(EFAULT, sendmsg(self->tx, &msg,
					     MSG_EOR | MSG_DONTWAIT));
	}
	ASSERT_NOTHING(self->rx);
	ASSERT_RECORD(self->tx, MSG_DONTWAIT, "ok1");
	ASSERT_RECORD(self->tx, MSG_DONTWAIT, "ok2");
	ASSERT_RECV_RECORD(self->rx, "ok1");
	ASSERT_RECV_RECORD(self->rx, "ok2");
	ASSERT_NOTHING(self->rx);
}

TEST_F(io, bad_msghdr_is_efault)
{
	struct msghdr msg = { .msg_iov = NULL, .msg_iovlen = 1 };

	EXPECT_ERRNO(EFAULT, sendmsg(self->tx, &msg, MSG_EOR));
	EXPECT_ERRNO(EFAULT, sendmsg(self->tx, xs_unmapped(), MSG_EOR));
	EXPECT_ERRNO(EFAULT, recvmsg(self->rx, &msg, MSG_DONTWAIT));
	EXPECT_ERRNO(EFAULT, recvmsg(self->rx, xs_unmapped(), MSG_DONTWAIT));
	ASSERT_RECORD(self->tx, 0, "fine");
	ASSERT_RECV_RECORD(self->rx, "fine");
}

TEST_F(io, recv_with_oob_or_errqueue_is_eopnotsupp)
{
	char buf[8];

	ASSERT_RECORD(self->tx, 0, "kept");
	ASSERT_EQ(4, xs_recv_within(self->rx, buf, sizeof(buf), MSG_PEEK,
				    NULL, xs_wait_ms()));
	EXPECT_ERRNO(EOPNOTSUPP, xs_recv(self->rx, buf, sizeof(buf), MSG_OOB,
					 NULL));
	EXPECT_ERRNO(EOPNOTSUPP, xs_recv(self->rx, buf, sizeof(buf),
					 MSG_ERRQUEUE, NULL));
	ASSERT_RECV_RECORD(self->rx, "kept");
}

TEST_F(io, recv_accepts_documented_flags)
{
	char buf[8];
	int f;

	ASSERT_RECORD(self->tx, 0, "abc");
	ASSERT_EQ(3, xs_recv_within(self->rx, buf, sizeof(buf),
				    MSG_WAITALL | MSG_CMSG_CLOEXEC, &f,
				    xs_wait_ms()));
	ASSERT_EQ(MSG_EOR, f & MSG_EOR);
}

TEST_F(io, recv_into_bad_buffer_is_efault_and_keeps_the_part)
{
	ASSERT_RECORD(self->tx, 0, "kept", "too");
	ASSERT_EQ(4, xs_recv_within(self->rx, (char[8]){ 0 }, 8, MSG_PEEK,
				    NULL, xs_wait_ms()));
	EXPECT_ERRNO(EFAULT, xs_recv(self->rx, NULL, 8, MSG_DONTWAIT, NULL));
	EXPECT_ERRNO(EFAULT, xs_recv(self->rx, xs_unmapped(), 8, MSG_DONTWAIT,
				     NULL));
	ASSERT_RECV_RECORD(self->rx, "kept", "too");
}

TEST_F(io, fionread_into_bad_pointer_is_efault)
{
	EXPECT_ERRNO(EFAULT, ioctl(self->rx, FIONREAD, NULL));
	EXPECT_ERRNO(EFAULT, ioctl(self->rx, FIONREAD, xs_unmapped()));
}

TEST_F(io, unknown_ioctl_is_enotty)
{
	int v = 0;

	EXPECT_ERRNO(ENOTTY, ioctl(self->rx, 0x12345678, &v));
}

TEST_F(io, shutdown_with_bad_how_is_einval)
{
	EXPECT_ERRNO(EINVAL, shutdown(self->tx, 3));
	EXPECT_ERRNO(EINVAL, shutdown(self->tx, -1));
	ASSERT_RECORD(self->tx, 0, "alive");
	ASSERT_RECV_RECORD(self->rx, "alive");
}

TEST_F(io, sendmmsg_stops_at_the_first_bad_entry)
{
	struct sockaddr_xs sa;
	struct mmsghdr m[3];
	struct iovec iov[3] = { { "a", 1 }, { "b", 1 }, { "c", 1 } };
	int i;

	memset(m, 0, sizeof(m));
	for (i = 0; i < 3; i++) {
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
	}
	m[1].msg_hdr.msg_name = &sa;
	m[1].msg_hdr.msg_namelen = xs_addr(&sa, "somewhere");
	ASSERT_EQ(1, sendmmsg(self->tx, m, 3, MSG_EOR));
	ASSERT_RECV_RECORD(self->rx, "a");
	ASSERT_NOTHING(self->rx);
	ASSERT_ERRNO(EISCONN, sendmmsg(self->tx, &m[1], 2, MSG_EOR));
}

/* ---- unsupported calls ------------------------------------------------ */

TEST(listen_and_accept_are_eopnotsupp)
{
	int fd = xs_socket(XSPROTO_PAIR);
	XS_UNAME(name, "listen");

	ASSERT_GE(fd, 0);
	EXPECT_ERRNO(EOPNOTSUPP, listen(fd, 1));
	EXPECT_ERRNO(EOPNOTSUPP, accept(fd, NULL, NULL));
	ASSERT_OK(xs_bind(fd, name));
	EXPECT_ERRNO(EOPNOTSUPP, listen(fd, 1));
	EXPECT_ERRNO(EOPNOTSUPP, accept4(fd, NULL, NULL, SOCK_NONBLOCK));
	close(fd);
}

TEST(socketpair_is_eopnotsupp)
{
	int sv[2];

	EXPECT_ERRNO(EOPNOTSUPP, socketpair(xs_family(), SOCK_SEQPACKET,
					    XSPROTO_PAIR, sv));
}

TEST(getsockname_and_getpeername_are_eopnotsupp)
{
	int fd = xs_socket(XSPROTO_PAIR);
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	XS_UNAME(name, "gsn");

	ASSERT_GE(fd, 0);
	ASSERT_OK(xs_bind(fd, name));
	EXPECT_ERRNO(EOPNOTSUPP, getsockname(fd, (struct sockaddr *)&ss, &len));
	EXPECT_ERRNO(EOPNOTSUPP, getpeername(fd, (struct sockaddr *)&ss, &len));
	close(fd);
}

/* As for every socket without mmap support (sock_no_mmap). */
TEST(mmap_is_enodev)
{
	int fd = xs_socket(XSPROTO_PAIR);
	void *p;

	ASSERT_GE(fd, 0);
	errno = 0;
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(ENODEV, errno) TH_LOG("mmap: %s", strerror(errno));
	close(fd);
}

TEST(closed_fd_is_ebadf_and_non_socket_is_enotsock)
{
	int fd = xs_socket(XSPROTO_PAIR);
	int devnull = open("/dev/null", O_RDWR);

	ASSERT_GE(fd, 0);
	close(fd);
	EXPECT_ERRNO(EBADF, xs_send_str(fd, "x", MSG_EOR));
	EXPECT_ERRNO(EBADF, xs_bind(fd, "closed"));
	ASSERT_GE(devnull, 0);
	EXPECT_ERRNO(ENOTSOCK, xs_bind(devnull, "notsock"));
	EXPECT_ERRNO(ENOTSOCK, xs_setint(devnull, XS_SNDHWM, 1));
	close(devnull);
}

XS_TEST_MAIN
