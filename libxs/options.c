// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * xs_setsockopt / xs_getsockopt.
 *
 * Three kinds of options:
 *   - the kernel's (SOL_XS, same numbers): XS_SNDHWM, XS_RCVHWM, XS_IDENTITY,
 *     XS_SUBSCRIBE, XS_UNSUBSCRIBE, XS_LINGER, XS_MAXMSGSIZE,
 *     XS_SURVEY_TIMEOUT; validated here first the way Crossroads validates
 *     them, so the errors are Crossroads' whatever the kernel checks;
 *   - mapped onto socket-level options: XS_SNDBUF/XS_RCVBUF (SO_SNDBUF/
 *     SO_RCVBUF, 0 = leave the system default), XS_RCVTIMEO/XS_SNDTIMEO
 *     (SO_RCVTIMEO/SO_SNDTIMEO; 0 = never wait, done with MSG_DONTWAIT);
 *     XS_FD is the socket's own descriptor, XS_EVENTS its poll state;
 *   - options for network transports (affinity, rate, reconnection...):
 *     validated and remembered, with no effect on a local family.
 * Unknown options: EINVAL, as in Crossroads.
 */
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "xsl.h"

void xsl_options_init(struct xsl_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->rate = 100;
	opt->recovery_ivl = 10000;
	opt->multicast_hops = 1;
	opt->reconnect_ivl = 100;
	opt->backlog = 100;
	opt->rcvtimeo = -1;
	opt->sndtimeo = -1;
	opt->ipv4only = 1;
	opt->filter = XS_FILTER_PREFIX;
}

/* Kernel flags for one send or receive call. */
int xsl_call_flags(const struct xsl_socket *s, int flags, bool sending)
{
	int kflags = 0;

	if (sending) {
		kflags |= MSG_NOSIGNAL;
		if (!(flags & XS_SNDMORE))
			kflags |= MSG_EOR;
		/*
		 * A publisher's records are queued at once, their readers
		 * woken a little later (one tick at most) or when a batch
		 * has piled up: one wake-up per batch, not per record.
		 */
		if ((kflags & MSG_EOR) &&
		    (s->type == XS_PUB || s->type == XS_XPUB))
			kflags |= MSG_MORE;
	}
	if ((flags & XS_DONTWAIT) ||
	    (sending ? s->opt.sndtimeo : s->opt.rcvtimeo) == 0)
		kflags |= MSG_DONTWAIT;
	return kflags;
}

static int kernel_errno(int err)
{
	/* The kernel says ENOPROTOOPT for what Crossroads calls EINVAL. */
	return err == ENOPROTOOPT ? EINVAL : err;
}

static int kernel_set(struct xsl_socket *s, int level, int option,
		      const void *val, socklen_t len)
{
	if (setsockopt(s->fd, level, option, val, len))
		return xsl_fail(s, kernel_errno(errno));
	return 0;
}

/* Reads an int option value; EINVAL unless exactly an int. */
static int int_value(const void *optval, size_t optvallen, int *v)
{
	if (optvallen != sizeof(int)) {
		errno = EINVAL;
		return -1;
	}
	memcpy(v, optval, sizeof(int));
	return 0;
}

static int set_timeout(struct xsl_socket *s, int option, int ms)
{
	struct timeval tv = { 0, 0 };	/* 0 = wait forever */

	if (ms > 0) {
		tv.tv_sec = ms / 1000;
		tv.tv_usec = (ms % 1000) * 1000;
	}
	return kernel_set(s, SOL_SOCKET,
			  option == XS_RCVTIMEO ? SO_RCVTIMEO : SO_SNDTIMEO,
			  &tv, sizeof(tv));
}

/* Stored-only int options: where they live and the values Crossroads
 * accepts for them. */
static const struct {
	int option;
	size_t offset;
	int min, max;
} stored[] = {
	{ XS_RATE, offsetof(struct xsl_options, rate), 1, INT_MAX },
	{ XS_RECOVERY_IVL, offsetof(struct xsl_options, recovery_ivl),
	  0, INT_MAX },
	{ XS_RECONNECT_IVL, offsetof(struct xsl_options, reconnect_ivl),
	  0, INT_MAX },
	{ XS_RECONNECT_IVL_MAX,
	  offsetof(struct xsl_options, reconnect_ivl_max), 0, INT_MAX },
	{ XS_BACKLOG, offsetof(struct xsl_options, backlog), INT_MIN, INT_MAX },
	{ XS_MULTICAST_HOPS, offsetof(struct xsl_options, multicast_hops),
	  1, INT_MAX },
	{ XS_IPV4ONLY, offsetof(struct xsl_options, ipv4only), 0, 1 },
	{ XS_KEEPALIVE, offsetof(struct xsl_options, keepalive), 0, 1 },
	{ XS_PROTOCOL, offsetof(struct xsl_options, protocol), 0, INT_MAX },
};

static int *stored_int(struct xsl_socket *s, int option, int *min, int *max)
{
	size_t i;

	for (i = 0; i < sizeof(stored) / sizeof(stored[0]); i++) {
		if (stored[i].option == option) {
			*min = stored[i].min;
			*max = stored[i].max;
			return (int *)((char *)&s->opt + stored[i].offset);
		}
	}
	return NULL;
}

static int set_option(void *p, int option, const void *optval,
		      size_t optvallen)
{
	struct xsl_socket *s = xsl_sock_live(p);
	int v, min, max, *slot;
	uint64_t u;
	int64_t k;

	if (!s)
		return -1;
	if (optvallen > 0 && !optval) {
		errno = EFAULT;
		return -1;
	}

	switch (option) {
	case XS_SNDHWM:
	case XS_RCVHWM:
		if (int_value(optval, optvallen, &v))
			return -1;
		if (v < 0) {
			errno = EINVAL;
			return -1;
		}
		return kernel_set(s, SOL_XS, option, &v, sizeof(v));

	case XS_LINGER:
		if (int_value(optval, optvallen, &v))
			return -1;
		if (v < -1)
			v = -1;		/* Crossroads: any negative = forever */
		return kernel_set(s, SOL_XS, option, &v, sizeof(v));

	case XS_IDENTITY:
		/* 1 to 255 bytes; a leading zero byte is reserved. */
		if (optvallen < 1 || optvallen > XS_IDENTITY_MAX ||
		    *(const unsigned char *)optval == 0) {
			errno = EINVAL;
			return -1;
		}
		return kernel_set(s, SOL_XS, option, optval,
				  (socklen_t)optvallen);

	case XS_SUBSCRIBE:
	case XS_UNSUBSCRIBE:
		if (s->type != XS_SUB) {
			errno = EINVAL;
			return -1;
		}
		if (optvallen > 0xffffffffu) {
			errno = EINVAL;
			return -1;
		}
		return kernel_set(s, SOL_XS, option, optval,
				  (socklen_t)optvallen);

	case XS_MAXMSGSIZE:
		/* Crossroads: uint64_t, all ones = no limit; kernel: int64_t,
		 * -1 = no limit. */
		if (optvallen != sizeof(uint64_t)) {
			errno = EINVAL;
			return -1;
		}
		memcpy(&u, optval, sizeof(u));
		k = u > INT64_MAX ? -1 : (int64_t)u;
		return kernel_set(s, SOL_XS, option, &k, sizeof(k));

	case XS_SURVEY_TIMEOUT:
		if (s->type != XS_SURVEYOR) {
			errno = ENOTSUP;
			return -1;
		}
		if (int_value(optval, optvallen, &v))
			return -1;
		if (v < -1)
			v = -1;
		return kernel_set(s, SOL_XS, option, &v, sizeof(v));

	case XS_SNDBUF:
	case XS_RCVBUF:
		if (int_value(optval, optvallen, &v))
			return -1;
		if (v < 0) {
			errno = EINVAL;
			return -1;
		}
		if (v > 0 && kernel_set(s, SOL_SOCKET, option == XS_SNDBUF ?
					SO_SNDBUF : SO_RCVBUF, &v, sizeof(v)))
			return -1;
		if (option == XS_SNDBUF)
			s->opt.sndbuf = v;
		else
			s->opt.rcvbuf = v;
		return 0;

	case XS_RCVTIMEO:
	case XS_SNDTIMEO:
		if (int_value(optval, optvallen, &v))
			return -1;
		if (set_timeout(s, option, v))
			return -1;
		if (option == XS_RCVTIMEO)
			s->opt.rcvtimeo = v;
		else
			s->opt.sndtimeo = v;
		return 0;

	case XS_AFFINITY:
		if (optvallen != sizeof(uint64_t)) {
			errno = EINVAL;
			return -1;
		}
		memcpy(&s->opt.affinity, optval, sizeof(uint64_t));
		return 0;

	case XS_LOSSLESS:
		/* AF_XS extension: 0 or 1, publishers only (the kernel says) */
		if (int_value(optval, optvallen, &v))
			return -1;
		return kernel_set(s, SOL_XS, option, &v, sizeof(v));

	case XS_PEERS:
	case XS_SUBSCRIBERS:
	case XS_PREFIXES:
	case XS_STATS:
	case XS_EVENTS_LOST:
		errno = EINVAL;		/* read-only */
		return -1;

	case XS_FILTER:
		if (int_value(optval, optvallen, &v))
			return -1;
		/* The kernel matches by prefix and only by prefix. */
		if (v != XS_FILTER_PREFIX) {
			errno = ENOTSUP;
			return -1;
		}
		s->opt.filter = v;
		return 0;
	}

	slot = stored_int(s, option, &min, &max);
	if (!slot) {
		errno = EINVAL;
		return -1;
	}
	if (int_value(optval, optvallen, &v))
		return -1;
	if (v < min || v > max) {
		errno = EINVAL;
		return -1;
	}
	*slot = v;
	return 0;
}

/* A SUB's subscriptions, kept for a libzmq socket created later. */
static int track_subscription(struct xsl_socket *s, int option,
			      const void *val, size_t len)
{
	struct xsl_sub **subs, *sub;
	size_t i;

	if (option == XS_UNSUBSCRIBE) {
		for (i = 0; i < s->nsubs; i++) {
			if (s->subs[i]->len == len &&
			    !memcmp(s->subs[i]->data, val, len)) {
				free(s->subs[i]);
				s->subs[i] = s->subs[--s->nsubs];
				break;
			}
		}
		return 0;
	}
	subs = realloc(s->subs, (s->nsubs + 1) * sizeof(*subs));
	if (!subs)
		return -1;
	s->subs = subs;
	sub = malloc(sizeof(*sub) + len);
	if (!sub)
		return -1;
	sub->len = len;
	memcpy(sub->data, val, len);
	s->subs[s->nsubs++] = sub;
	return 0;
}

int xs_setsockopt(void *p, int option, const void *optval, size_t optvallen)
{
	struct xsl_socket *s;
	int v;

	if (set_option(p, option, optval, optvallen))
		return -1;
	s = p;
	if (option == XS_SUBSCRIBE || option == XS_UNSUBSCRIBE) {
		if (track_subscription(s, option, optval, optvallen))
			return -1;
	}
	if (option == XS_LINGER) {
		/* as the kernel took it: any negative is -1 */
		memcpy(&v, optval, sizeof(v));
		v = v < -1 ? -1 : v;
		optval = &v;
	}
	if (xsl_remote_setopt(s, option, optval, optvallen))
		return xsl_fail(s, errno);
	return 0;
}

/* Copies a value out, Crossroads style: EINVAL if the buffer is short. */
static int give(void *optval, size_t *optvallen, const void *val, size_t len)
{
	if (*optvallen < len) {
		errno = EINVAL;
		return -1;
	}
	memcpy(optval, val, len);
	*optvallen = len;
	return 0;
}

static int kernel_get(struct xsl_socket *s, int option, void *val,
		      socklen_t *len)
{
	if (getsockopt(s->fd, SOL_XS, option, val, len))
		return xsl_fail(s, kernel_errno(errno));
	return 0;
}

int xs_getsockopt(void *p, int option, void *optval, size_t *optvallen)
{
	struct xsl_socket *s = xsl_sock_live(p);
	unsigned char id[XS_IDENTITY_MAX];
	int v, min, max, *slot;
	socklen_t len;
	int64_t k;

	if (!s)
		return -1;
	if (!optval || !optvallen) {
		errno = EFAULT;
		return -1;
	}

	switch (option) {
	case XS_TYPE:
		return give(optval, optvallen, &s->type, sizeof(int));

	case XS_RCVMORE:
		v = s->rcvmore;
		return give(optval, optvallen, &v, sizeof(int));

	case XS_FD:
		/* a socket with remote endpoints only: libzmq's (see
		 * remote.c: edge-triggered, check XS_EVENTS after a wake) */
		v = s->fd;
		if (s->zs && !s->nlocal && xsl_remote_events(s, &v))
			return xsl_fail(s, errno);
		if (!s->zs || s->nlocal) {
			s->fd_watched = true;
			xsl_held_sync(s);
		}
		return give(optval, optvallen, &v, sizeof(int));

	case XS_EVENTS:
		if (*optvallen < sizeof(int)) {
			errno = EINVAL;
			return -1;
		}
		v = xsl_events(s);
		if (v < 0)
			return -1;
		return give(optval, optvallen, &v, sizeof(int));

	case XS_SURVEY_TIMEOUT:
		if (s->type != XS_SURVEYOR) {
			errno = ENOTSUP;
			return -1;
		}
		/* fall through */
	case XS_SNDHWM:
	case XS_RCVHWM:
	case XS_LINGER:
	case XS_PEERS:
	case XS_SUBSCRIBERS:
	case XS_PREFIXES:
	case XS_LOSSLESS:
		if (*optvallen < sizeof(int)) {
			errno = EINVAL;
			return -1;
		}
		len = sizeof(v);
		if (kernel_get(s, option, &v, &len))
			return -1;
		return give(optval, optvallen, &v, sizeof(int));

	case XS_MAXMSGSIZE:
	case XS_EVENTS_LOST:
		if (*optvallen < sizeof(uint64_t)) {
			errno = EINVAL;
			return -1;
		}
		len = sizeof(k);
		if (kernel_get(s, option, &k, &len))
			return -1;
		/* a limit of -1 (none) reads back as all ones, as in Crossroads */
		return give(optval, optvallen, &k, sizeof(uint64_t));

	case XS_IDENTITY:
		len = sizeof(id);
		if (kernel_get(s, option, id, &len))
			return -1;
		return give(optval, optvallen, id, len);

	case XS_STATS:
		/* as much of xs_stats_t as the buffer holds, as the kernel */
		len = *optvallen > sizeof(xs_stats_t) ? sizeof(xs_stats_t) :
							(socklen_t)*optvallen;
		if (kernel_get(s, option, optval, &len))
			return -1;
		*optvallen = len;
		return 0;

	case XS_SNDBUF:
		return give(optval, optvallen, &s->opt.sndbuf, sizeof(int));
	case XS_RCVBUF:
		return give(optval, optvallen, &s->opt.rcvbuf, sizeof(int));
	case XS_RCVTIMEO:
		return give(optval, optvallen, &s->opt.rcvtimeo, sizeof(int));
	case XS_SNDTIMEO:
		return give(optval, optvallen, &s->opt.sndtimeo, sizeof(int));
	case XS_AFFINITY:
		return give(optval, optvallen, &s->opt.affinity,
			    sizeof(uint64_t));
	case XS_FILTER:
		return give(optval, optvallen, &s->opt.filter, sizeof(int));
	}

	slot = stored_int(s, option, &min, &max);
	if (!slot) {
		errno = EINVAL;
		return -1;
	}
	return give(optval, optvallen, slot, sizeof(int));
}
