// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tcp:// (and pgm://, epgm:// where libzmq has them) through libzmq.
 *
 * The kernel family is local; records that must reach other hosts are
 * carried by libzmq, opened with dlopen() the first time a socket binds or
 * connects such an endpoint, so a program that never does needs no
 * libzmq at run time (and libxs builds without zmq.h: then these
 * transports are EPROTONOSUPPORT).
 *
 * A socket gets one libzmq socket of the matching pattern (same numbers
 * for PAIR..XSUB; XREQ is DEALER, XREP is ROUTER) in its context's libzmq
 * context.  SURVEYOR, RESPONDENT and their X variants have no libzmq
 * counterpart: EPROTONOSUPPORT.
 *
 * Mixing local (ipc://, inproc://) and remote endpoints on one socket is
 * allowed where the pattern's semantics survive two independent engines:
 * PUB and XPUB (a record goes to both sides; neither blocks) and SUB
 * (fair-queued between both sides, a record taken whole from one).  For
 * every other pattern (load balancing, PAIR's single peer, REQ/REP
 * alternation, identity routing) two engines cannot share one queue or
 * one state machine, so the bind or connect that would mix fails with
 * ENOCOMPATPROTO and changes nothing.
 *
 * Options that both engines know (high-water marks, identity, linger,
 * timeouts, subscriptions, XS_MAXMSGSIZE) are given to the libzmq socket
 * when it is created and whenever they change, and so are those that only
 * a network transport gives a meaning to, which libxs otherwise just
 * keeps (XS_SNDBUF/XS_RCVBUF for the TCP socket buffers, XS_RECONNECT_IVL
 * and its _MAX, XS_BACKLOG, XS_IPV4ONLY, XS_KEEPALIVE, XS_AFFINITY and
 * the PGM ones).  XPUB notices and XSUB subscriptions
 * are translated as for the kernel (translate.c): libzmq 4.3 speaks the
 * same one-byte form.
 */
#include <dlfcn.h>
#include <poll.h>
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "xsl.h"

#ifdef XSL_HAVE_ZMQ
#include <zmq.h>

static struct {
	void *(*ctx_new)(void);
	int (*ctx_shutdown)(void *);
	int (*ctx_term)(void *);
	void *(*socket)(void *, int);
	int (*close)(void *);
	int (*bind)(void *, const char *);
	int (*connect)(void *, const char *);
	int (*unbind)(void *, const char *);
	int (*disconnect)(void *, const char *);
	int (*setsockopt)(void *, int, const void *, size_t);
	int (*getsockopt)(void *, int, void *, size_t *);
	int (*send)(void *, const void *, size_t, int);
	int (*msg_init)(zmq_msg_t *);
	int (*msg_recv)(zmq_msg_t *, void *, int);
	int (*msg_close)(zmq_msg_t *);
	void *(*msg_data)(zmq_msg_t *);
	size_t (*msg_size)(const zmq_msg_t *);
	int (*msg_more)(const zmq_msg_t *);
	int (*poll)(zmq_pollitem_t *, int, long);
	int (*has)(const char *);
} z;

static pthread_once_t z_once = PTHREAD_ONCE_INIT;
static bool z_ok;

static void z_load(void)
{
	void *h = dlopen("libzmq.so.5", RTLD_NOW | RTLD_LOCAL);

	if (!h)
		return;
#define SYM(f, n) \
	do { \
		*(void **)&z.f = dlsym(h, n); \
		if (!z.f) \
			return; \
	} while (0)
	SYM(ctx_new, "zmq_ctx_new");
	SYM(ctx_shutdown, "zmq_ctx_shutdown");
	SYM(ctx_term, "zmq_ctx_term");
	SYM(socket, "zmq_socket");
	SYM(close, "zmq_close");
	SYM(bind, "zmq_bind");
	SYM(connect, "zmq_connect");
	SYM(unbind, "zmq_unbind");
	SYM(disconnect, "zmq_disconnect");
	SYM(setsockopt, "zmq_setsockopt");
	SYM(getsockopt, "zmq_getsockopt");
	SYM(send, "zmq_send");
	SYM(msg_init, "zmq_msg_init");
	SYM(msg_recv, "zmq_msg_recv");
	SYM(msg_close, "zmq_msg_close");
	SYM(msg_data, "zmq_msg_data");
	SYM(msg_size, "zmq_msg_size");
	SYM(msg_more, "zmq_msg_more");
	SYM(poll, "zmq_poll");
	SYM(has, "zmq_has");
#undef SYM
	z_ok = true;
}

/* Is this transport one libzmq carries (and libxs passes on)? */
static bool remote_transport(const char *addr, size_t plen)
{
	return (plen == 3 && !memcmp(addr, "tcp", 3)) ||
	       (plen == 3 && !memcmp(addr, "pgm", 3)) ||
	       (plen == 4 && !memcmp(addr, "epgm", 4));
}

static bool mixable(int type)
{
	return type == XS_PUB || type == XS_XPUB || type == XS_SUB;
}

/*
 * Options libxs keeps for libzmq alone, in s->opt (int, the same meaning
 * in both APIs but for the two mapped below).
 */
static const struct {
	int xs, zmq;
	size_t off;
} kept[] = {
	{ XS_RATE, ZMQ_RATE, offsetof(struct xsl_options, rate) },
	{ XS_RECOVERY_IVL, ZMQ_RECOVERY_IVL,
	  offsetof(struct xsl_options, recovery_ivl) },
	{ XS_RECONNECT_IVL, ZMQ_RECONNECT_IVL,
	  offsetof(struct xsl_options, reconnect_ivl) },
	{ XS_RECONNECT_IVL_MAX, ZMQ_RECONNECT_IVL_MAX,
	  offsetof(struct xsl_options, reconnect_ivl_max) },
	{ XS_BACKLOG, ZMQ_BACKLOG, offsetof(struct xsl_options, backlog) },
	{ XS_MULTICAST_HOPS, ZMQ_MULTICAST_HOPS,
	  offsetof(struct xsl_options, multicast_hops) },
	{ XS_IPV4ONLY, ZMQ_IPV4ONLY, offsetof(struct xsl_options, ipv4only) },
	{ XS_KEEPALIVE, ZMQ_TCP_KEEPALIVE,
	  offsetof(struct xsl_options, keepalive) },
	{ XS_SNDBUF, ZMQ_SNDBUF, offsetof(struct xsl_options, sndbuf) },
	{ XS_RCVBUF, ZMQ_RCVBUF, offsetof(struct xsl_options, rcvbuf) },
};

/* A kept option to libzmq: XS_SNDBUF/XS_RCVBUF 0 is the system's size,
 * which libzmq spells -1. */
static int z_kept(void *zs, size_t i, int v)
{
	if ((kept[i].xs == XS_SNDBUF || kept[i].xs == XS_RCVBUF) && v == 0)
		v = -1;
	return z.setsockopt(zs, kept[i].zmq, &v, sizeof(v));
}

/* Crossroads' XS_MAXMSGSIZE (uint64_t, above INT64_MAX: no limit) as
 * libzmq's (int64_t, -1: no limit). */
static int z_maxmsgsize(void *zs, uint64_t u)
{
	int64_t k = u > INT64_MAX ? -1 : (int64_t)u;

	return z.setsockopt(zs, ZMQ_MAXMSGSIZE, &k, sizeof(k));
}

/* The options both engines share, copied from the kernel socket, and
 * those kept for libzmq. */
static int z_options(struct xsl_socket *s, void *zs)
{
	static const int ints[] = { XS_SNDHWM, XS_RCVHWM, XS_LINGER };
	unsigned char id[XS_IDENTITY_MAX];
	socklen_t len;
	int64_t max;
	size_t i;
	int v;

	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		len = sizeof(v);
		if (getsockopt(s->fd, SOL_XS, ints[i], &v, &len) == 0 &&
		    z.setsockopt(zs, ints[i], &v, sizeof(v)))
			return -1;
	}
	len = sizeof(id);
	if (getsockopt(s->fd, SOL_XS, XS_IDENTITY, id, &len) == 0 && len &&
	    z.setsockopt(zs, ZMQ_ROUTING_ID, id, len))
		return -1;
	if (z.setsockopt(zs, ZMQ_RCVTIMEO, &s->opt.rcvtimeo, sizeof(int)) ||
	    z.setsockopt(zs, ZMQ_SNDTIMEO, &s->opt.sndtimeo, sizeof(int)) ||
	    z.setsockopt(zs, ZMQ_AFFINITY, &s->opt.affinity,
			 sizeof(uint64_t)))
		return -1;
	for (i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		if (z_kept(zs, i, *(int *)((char *)&s->opt + kept[i].off)))
			return -1;
	len = sizeof(max);
	if (getsockopt(s->fd, SOL_XS, XS_MAXMSGSIZE, &max, &len) == 0 &&
	    z_maxmsgsize(zs, max < 0 ? UINT64_MAX : (uint64_t)max))
		return -1;
	for (i = 0; i < s->nsubs; i++)
		if (z.setsockopt(zs, ZMQ_SUBSCRIBE, s->subs[i]->data,
				 s->subs[i]->len))
			return -1;
	return 0;
}

static void *z_socket(struct xsl_socket *s)
{
	struct xsl_ctx *ctx = s->ctx;
	void *zs;
	int err;

	if (s->zs)
		return s->zs;
	pthread_once(&z_once, z_load);
	if (!z_ok) {
		errno = EPROTONOSUPPORT;
		return NULL;
	}
	pthread_mutex_lock(&ctx->lock);
	if (ctx->terminating) {
		pthread_mutex_unlock(&ctx->lock);
		errno = ETERM;
		return NULL;
	}
	if (!ctx->zctx)
		ctx->zctx = z.ctx_new();
	zs = ctx->zctx ? z.socket(ctx->zctx, s->type) : NULL;
	pthread_mutex_unlock(&ctx->lock);
	if (!zs) {
		errno = ENOMEM;
		return NULL;
	}
	if (z_options(s, zs)) {
		err = errno;
		z.close(zs);
		errno = err;
		return NULL;
	}
	s->zs = zs;
	return zs;
}

int xsl_remote_attach(struct xsl_socket *s, const char *addr, size_t plen,
		      bool binding, bool *remote)
{
	void *zs;

	*remote = remote_transport(addr, plen);
	if (!*remote) {
		/* a local endpoint next to remote ones */
		if (s->nremote && !mixable(s->type)) {
			errno = ENOCOMPATPROTO;
			return -1;
		}
		return 0;
	}
	if (s->type > XS_XSUB) {
		errno = EPROTONOSUPPORT;
		return -1;
	}
	if (s->nlocal && !mixable(s->type)) {
		errno = ENOCOMPATPROTO;
		return -1;
	}
	pthread_once(&z_once, z_load);
	if (!z_ok || (addr[0] != 't' && !z.has("pgm"))) {
		errno = EPROTONOSUPPORT;
		return -1;
	}
	zs = z_socket(s);
	if (!zs)
		return -1;
	if ((binding ? z.bind : z.connect)(zs, addr))
		return -1;
	return 0;
}

int xsl_remote_detach(struct xsl_socket *s, const struct xsl_endpoint *ep)
{
	char addr[sizeof(ep->addr.sxs_name) + 1];
	size_t n = ep->addrlen - offsetof(struct sockaddr_xs, sxs_name);

	memcpy(addr, ep->addr.sxs_name, n);
	addr[n] = '\0';
	return (ep->bound ? z.unbind : z.disconnect)(s->zs, addr);
}

/* Mirrors an option the kernel took onto the libzmq socket, if any. */
int xsl_remote_setopt(struct xsl_socket *s, int option, const void *val,
		      size_t len)
{
	uint64_t u;
	size_t i;
	int v;

	if (!s->zs)
		return 0;
	for (i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
		if (kept[i].xs == option) {
			memcpy(&v, val, sizeof(v));
			return z_kept(s->zs, i, v);
		}
	}
	switch (option) {
	case XS_MAXMSGSIZE:
		memcpy(&u, val, sizeof(u));
		return z_maxmsgsize(s->zs, u);
	case XS_AFFINITY:
	case XS_SNDHWM:
	case XS_RCVHWM:
	case XS_LINGER:
	case XS_RCVTIMEO:
	case XS_SNDTIMEO:
	case XS_SUBSCRIBE:
	case XS_UNSUBSCRIBE:
		break;
	case XS_IDENTITY:
		option = ZMQ_ROUTING_ID;
		break;
	default:
		return 0;
	}
	return z.setsockopt(s->zs, option, val, len);
}

int xsl_remote_send(struct xsl_socket *s, const void *buf, size_t len,
		    int flags)
{
	int zf = ((flags & XS_SNDMORE) ? ZMQ_SNDMORE : 0) |
		 ((flags & XS_DONTWAIT) ? ZMQ_DONTWAIT : 0);

	if (z.send(s->zs, buf, len, zf) < 0)
		return xsl_fail(s, errno);
	return 0;
}

/*
 * Which engine the next part comes from: the one of the record being read,
 * else the first with a part ready, looking at the two in turn so that
 * neither starves (SUB fair-queueing); blocks as the call's flags and
 * XS_RCVTIMEO say.  Returns 1 for libzmq, 0 for the kernel, -1 on error.
 */
static int pick(struct xsl_socket *s, int flags)
{
	zmq_pollitem_t it[2] = {
		{ .socket = s->zs, .events = ZMQ_POLLIN },
		{ .fd = s->fd, .events = ZMQ_POLLIN },
	};
	long timeout = (flags & XS_DONTWAIT) ? 0 : s->opt.rcvtimeo;
	bool local, remote;
	int rc;

	if (!s->nlocal)
		return 1;
	if (s->rcvmore)
		return s->from_remote;
	/* parts read ahead from the kernel count as ready there */
	local = xsl_has_buffered(s);
	rc = z.poll(it, 2, local ? 0 : timeout);
	if (rc < 0)
		return xsl_fail(s, errno);
	remote = it[0].revents & ZMQ_POLLIN;
	local = local || (it[1].revents & ZMQ_POLLIN);
	if (!remote && !local)
		return xsl_fail(s, EAGAIN);
	s->turn = !s->turn;
	return remote && (s->turn || !local);
}

/*
 * Receives one part from libzmq into a fresh xs_msg_t (tmp) when the next
 * part is remote; returns 1 then, 0 when the caller must read the kernel.
 */
int xsl_remote_recv(struct xsl_socket *s, int flags, xs_msg_t *tmp,
		    bool *more)
{
	unsigned char wide[4 + XS_PREFIX_MAX];
	const unsigned char *data;
	zmq_msg_t m;
	size_t len;
	void *dst;
	int rc;

	rc = pick(s, flags);
	if (rc <= 0)
		return rc;
	z.msg_init(&m);
	if (z.msg_recv(&m, s->zs, (flags & XS_DONTWAIT) ? ZMQ_DONTWAIT : 0) < 0) {
		rc = errno;
		z.msg_close(&m);
		return xsl_fail(s, rc);
	}
	data = z.msg_data(&m);
	len = z.msg_size(&m);
	*more = z.msg_more(&m);
	if (s->type == XS_XPUB && len >= 1 && len - 1 <= XS_PREFIX_MAX) {
		len = xsl_xpub_notice(data, len, wide, sizeof(wide));
		data = wide;
	}
	dst = xsl_msg_prepare(tmp, len);
	if (!dst) {
		z.msg_close(&m);
		return -1;
	}
	memcpy(dst, data, len);
	z.msg_close(&m);
	s->from_remote = 1;
	return 1;
}

int xsl_remote_events(struct xsl_socket *s, int *fd)
{
	size_t len = sizeof(int);
	int ev = 0;

	if (fd)
		return z.getsockopt(s->zs, ZMQ_FD, fd, &len);
	if (z.getsockopt(s->zs, ZMQ_EVENTS, &ev, &len))
		return xsl_fail(s, errno);
	return ev & (XS_POLLIN | XS_POLLOUT);
}

/*
 * xs_poll over items some of which have libzmq sockets: one zmq_poll, each
 * such socket polled on both engines (libzmq's own level-triggered view
 * of its socket, and the kernel descriptor when it also has local
 * endpoints).
 */
int xsl_remote_poll(xs_pollitem_t *items, int nitems, long timeout)
{
	zmq_pollitem_t *zi;
	int i, n = 0, rc, nev = 0;

	zi = calloc((size_t)nitems * 2, sizeof(*zi));
	if (!zi) {
		errno = ENOMEM;
		return -1;
	}
	for (i = 0; i < nitems; i++) {
		struct xsl_socket *s = items[i].socket;
		short ev = (short)(((items[i].events & XS_POLLIN) ? ZMQ_POLLIN : 0) |
				   ((items[i].events & XS_POLLOUT) ? ZMQ_POLLOUT : 0));

		items[i].revents = 0;
		if (s && s->zs) {
			zi[n].socket = s->zs;
			zi[n++].events = ev;
		}
		if (!s || !s->zs || s->nlocal) {
			zi[n].fd = s ? s->fd : items[i].fd;
			zi[n++].events = ev;
		}
		if (s && (items[i].events & XS_POLLIN) && xsl_has_buffered(s))
			timeout = 0;
	}
	rc = z.poll(zi, n, timeout);
	if (rc < 0) {
		free(zi);
		return -1;
	}
	for (i = 0, n = 0; i < nitems; i++) {
		struct xsl_socket *s = items[i].socket;
		short r = 0;

		if (s && s->zs)
			r |= zi[n++].revents;
		if (!s || !s->zs || s->nlocal)
			r |= zi[n++].revents;
		if (s && (items[i].events & XS_POLLIN) && xsl_has_buffered(s))
			r |= ZMQ_POLLIN;
		if (r & ZMQ_POLLIN)
			items[i].revents |= XS_POLLIN;
		if (r & ZMQ_POLLOUT)
			items[i].revents |= XS_POLLOUT;
		if (r & ZMQ_POLLERR)
			items[i].revents |= XS_POLLERR;
		items[i].revents &= (short)(items[i].events | XS_POLLERR);
		if (items[i].revents)
			nev++;
	}
	free(zi);
	return nev;
}

void xsl_remote_close(struct xsl_socket *s)
{
	if (s->zs)
		z.close(s->zs);
	s->zs = NULL;
}

void xsl_remote_shutdown(struct xsl_ctx *ctx)
{
	if (ctx->zctx)
		z.ctx_shutdown(ctx->zctx);
}

void xsl_remote_term(struct xsl_ctx *ctx)
{
	if (ctx->zctx)
		z.ctx_term(ctx->zctx);
	ctx->zctx = NULL;
}

#else /* !XSL_HAVE_ZMQ: built without libzmq */

int xsl_remote_attach(struct xsl_socket *s, const char *addr, size_t plen,
		      bool binding, bool *remote)
{
	(void)s;
	(void)binding;
	*remote = false;
	if ((plen == 3 && !memcmp(addr, "tcp", 3)) ||
	    (plen == 3 && !memcmp(addr, "pgm", 3)) ||
	    (plen == 4 && !memcmp(addr, "epgm", 4))) {
		errno = EPROTONOSUPPORT;
		return -1;
	}
	return 0;
}

int xsl_remote_detach(struct xsl_socket *s, const struct xsl_endpoint *ep)
{
	(void)s;
	(void)ep;
	errno = EINVAL;
	return -1;
}

int xsl_remote_setopt(struct xsl_socket *s, int option, const void *val,
		      size_t len)
{
	(void)s, (void)option, (void)val, (void)len;
	return 0;
}

int xsl_remote_send(struct xsl_socket *s, const void *buf, size_t len,
		    int flags)
{
	(void)buf, (void)len, (void)flags;
	return xsl_fail(s, EPROTONOSUPPORT);
}

int xsl_remote_recv(struct xsl_socket *s, int flags, xs_msg_t *tmp,
		    bool *more)
{
	(void)s, (void)flags, (void)tmp, (void)more;
	return 0;
}

int xsl_remote_events(struct xsl_socket *s, int *fd)
{
	(void)fd;
	return xsl_fail(s, EPROTONOSUPPORT);
}

int xsl_remote_poll(xs_pollitem_t *items, int nitems, long timeout)
{
	(void)items, (void)nitems, (void)timeout;
	errno = EPROTONOSUPPORT;
	return -1;
}

void xsl_remote_close(struct xsl_socket *s)
{
	(void)s;
}

void xsl_remote_shutdown(struct xsl_ctx *ctx)
{
	(void)ctx;
}

void xsl_remote_term(struct xsl_ctx *ctx)
{
	(void)ctx;
}
#endif
