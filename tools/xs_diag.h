/* SPDX-License-Identifier: GPL-2.0 */
/*
 * AF_XS sock_diag client: dump the AF_XS sockets of the caller's network
 * namespace over NETLINK_SOCK_DIAG (struct xs_diag_req in <linux/xs.h>).
 * Header-only: tools/xsstat.c and selftests/xsstat.c both use it.
 */
#ifndef XS_DIAG_H
#define XS_DIAG_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/xs.h>

/* Names kept per socket; more are counted in extra_names. */
#define XS_DIAG_NAMES	16

struct xs_diag_name {
	bool			bound;
	unsigned int		len;
	char			str[XS_NAME_MAX + 1];	/* NUL added */
};

struct xs_diag_sock {
	int			proto;
	unsigned int		ino;
	char			pattern[32];
	unsigned int		uid;
	int			peers;
	int			rx_records;
	long long		rx_bytes;
	long long		rx_mem;
	long long		drops;
	long long		missed;
	bool			has_stats;	/* XS_DIAG_STATS came */
	struct xs_stats		stats;
	int			nnames;
	int			extra_names;
	struct xs_diag_name	names[XS_DIAG_NAMES];
};

/* The family number in use: the module parameter, else the default. */
static inline int xs_diag_family(void)
{
	FILE *f = fopen(XS_FAMILY_PARAM_PATH, "r");
	int v, family = AF_XS_DEFAULT;

	if (f) {
		if (fscanf(f, "%d", &v) == 1 && v > 0)
			family = v;
		fclose(f);
	}
	return family;
}

/* A sock_diag socket of the current network namespace, or -1. */
static inline int xs_diag_open(void)
{
	return socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
}

static inline unsigned long long xs_diag_u64(const struct nlattr *a)
{
	unsigned long long v = 0;

	if (a->nla_len - NLA_HDRLEN >= (int)sizeof(v))
		memcpy(&v, (const char *)a + NLA_HDRLEN, sizeof(v));
	return v;
}

static inline unsigned int xs_diag_u32(const struct nlattr *a)
{
	unsigned int v = 0;

	if (a->nla_len - NLA_HDRLEN >= (int)sizeof(v))
		memcpy(&v, (const char *)a + NLA_HDRLEN, sizeof(v));
	return v;
}

/* One dump message into @s; -1 if it is malformed. */
static inline int xs_diag_parse(const struct nlmsghdr *nlh,
				struct xs_diag_sock *s)
{
	const struct xs_diag_msg *m = NLMSG_DATA(nlh);
	const struct nlattr *a;
	int left = (int)nlh->nlmsg_len - NLMSG_LENGTH(sizeof(*m));
	unsigned int plen;

	if (left < 0)
		return -1;
	memset(s, 0, sizeof(*s));
	s->proto = m->xdiag_protocol;
	s->ino = m->xdiag_ino;
	a = (const struct nlattr *)((const char *)m + NLMSG_ALIGN(sizeof(*m)));
	while (left >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN &&
	       a->nla_len <= left) {
		const char *p = (const char *)a + NLA_HDRLEN;

		plen = a->nla_len - NLA_HDRLEN;
		switch (a->nla_type & NLA_TYPE_MASK) {
		case XS_DIAG_PATTERN:
			snprintf(s->pattern, sizeof(s->pattern), "%.*s",
				 (int)plen, p);
			break;
		case XS_DIAG_UID:
			s->uid = xs_diag_u32(a);
			break;
		case XS_DIAG_PEERS:
			s->peers = xs_diag_u32(a);
			break;
		case XS_DIAG_RX_RECORDS:
			s->rx_records = xs_diag_u32(a);
			break;
		case XS_DIAG_RX_BYTES:
			s->rx_bytes = xs_diag_u64(a);
			break;
		case XS_DIAG_RX_MEM:
			s->rx_mem = xs_diag_u64(a);
			break;
		case XS_DIAG_DROPS:
			s->drops = xs_diag_u64(a);
			break;
		case XS_DIAG_MISSED:
			s->missed = xs_diag_u64(a);
			break;
		case XS_DIAG_STATS:
			/* an older module's may be shorter: zeros after it */
			memcpy(&s->stats, p, plen < sizeof(s->stats) ?
			       plen : sizeof(s->stats));
			s->has_stats = true;
			break;
		case XS_DIAG_BOUND:
		case XS_DIAG_CONNECTED:
			if (s->nnames == XS_DIAG_NAMES || plen > XS_NAME_MAX) {
				s->extra_names++;
				break;
			}
			s->names[s->nnames].bound =
				(a->nla_type & NLA_TYPE_MASK) == XS_DIAG_BOUND;
			s->names[s->nnames].len = plen;
			memcpy(s->names[s->nnames].str, p, plen);
			s->names[s->nnames].str[plen] = '\0';
			s->nnames++;
			break;
		}
		left -= NLA_ALIGN(a->nla_len);
		a = (const struct nlattr *)((const char *)a +
					    NLA_ALIGN(a->nla_len));
	}
	return 0;
}

/*
 * Dump the sockets @fd's namespace holds (of pattern @proto and inode
 * @ino, 0: any), calling @fn on each until it returns non-zero.  @bufsize
 * is the receive buffer (small values make the kernel resume the dump
 * more often).  Returns 0, what @fn returned, or -errno.
 */
static inline int xs_diag_dump(int fd, int proto, unsigned int ino,
			       size_t bufsize,
			       int (*fn)(const struct xs_diag_sock *, void *),
			       void *arg)
{
	struct {
		struct nlmsghdr		nlh;
		struct xs_diag_req	req;
	} rq;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	static struct xs_diag_sock s;
	char buf[65536];
	int stop = 0;

	if (bufsize > sizeof(buf))
		bufsize = sizeof(buf);
	memset(&rq, 0, sizeof(rq));
	rq.nlh.nlmsg_len = sizeof(rq);
	rq.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	rq.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	rq.nlh.nlmsg_seq = 1;
	rq.req.sdiag_family = (unsigned char)xs_diag_family();
	rq.req.sdiag_protocol = (unsigned char)proto;
	rq.req.xdiag_ino = ino;
	if (sendto(fd, &rq, sizeof(rq), 0, (struct sockaddr *)&kernel,
		   sizeof(kernel)) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(fd, buf, bufsize, 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EPIPE;
		for (; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return stop;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				return e->error ? e->error : -EPROTO;
			}
			if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || stop)
				continue;
			if (xs_diag_parse(h, &s))
				return -EPROTO;
			stop = fn(&s, arg);
		}
	}
}

#endif /* XS_DIAG_H */
