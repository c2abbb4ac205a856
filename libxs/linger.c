// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * XS_LINGER as Crossroads 1.2 honours it: xs_close returns at once, and
 * xs_term waits until every closed socket's records have been taken by a
 * peer, or its linger period has run out (-1: no limit of its own, but at
 * most the module's max_linger_ms, the bound the kernel puts on lingering
 * records anyway; 0: records are discarded at close; N: at most N ms
 * after the xs_close), then discards what is left.
 *
 * In AF_XS a record reaches a bound peer's queue as it is sent; only a
 * record sent towards a name nobody has bound yet waits, on the sender's
 * side.  The kernel does not say how many do (SIOCOUTQ answers 0), so
 * libxs reasons from names: at xs_connect it notes whether the name had a
 * binder (from /proc/net/xs); at xs_close, a socket that sent something,
 * whose linger is not 0 and whose pattern queues for absent peers, and
 * that is connected to names unbound then and now, keeps its descriptor
 * on the context's lingering list (its bound names are released at once,
 * as Crossroads releases them).  While the descriptor is open, a binder
 * that arrives takes the records; the socket is done when each of those
 * names has been seen bound.
 *
 * Nothing wakes a waiter when a name is bound, so xs_term looks again
 * after a sleep that doubles from 1 ms up to LOOK_MAX_MS (bounded by the
 * nearest deadline): it sleeps, it never spins.  A binder that comes and
 * goes between two looks is missed (the wait then lasts the linger
 * period).  A socket whose linger ran out gets XS_LINGER 0 before its
 * close, so the kernel discards its records at once.
 *
 * Lingering sockets are also looked at, and closed if done, at every
 * xs_close of the same context (before that socket's own names go), so a
 * long-lived context does not gather descriptors.  A process that exits
 * without xs_term leaves its records to the kernel's own linger.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xsl.h"

#define LOOK_MAX_MS	50
#define PROC_XS		"/proc/net/xs"

struct xsl_linger {
	int fd;
	long long deadline;		/* CLOCK_MONOTONIC ms, or -1 */
	char *names;			/* escaped, each followed by '\n' */
	struct xsl_linger *next;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The whole of /proc/net/xs, NUL-terminated, or NULL. */
static char *proc_read(void)
{
	size_t len = 0, cap = 16384;
	char *buf = malloc(cap), *nb;
	ssize_t n;
	int fd;

	if (!buf)
		return NULL;
	fd = open(PROC_XS, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(buf);
		return NULL;
	}
	for (;;) {
		if (cap - len < 4096) {
			nb = realloc(buf, cap * 2);
			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return buf;
}

/* Is the (escaped) name of length len bound by any socket listed? */
static bool name_bound(const char *proc, const char *name, size_t len)
{
	const char *p = proc;

	while ((p = strstr(p, " b:")) != NULL) {
		p += 3;
		if (!strncmp(p, name, len) &&
		    (p[len] == ' ' || p[len] == '\n' || p[len] == '\0'))
			return true;
	}
	return false;
}

/* A name as /proc/net/xs writes it; out holds 4 * XS_NAME_MAX + 2. */
static size_t escape(const struct xsl_endpoint *ep, char *out)
{
	size_t i, n = ep->addrlen - offsetof(struct sockaddr_xs, sxs_name);
	size_t o = 0;
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)ep->addr.sxs_name[i];
		if (c <= ' ' || c >= 0x7f || c == '\\')
			o += (size_t)sprintf(out + o, "\\%03o", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
	return o;
}

bool xsl_linger_bound_now(const struct xsl_endpoint *ep)
{
	char name[4 * XS_NAME_MAX + 2];
	char *proc = proc_read();
	bool bound;

	if (!proc)
		return true;	/* cannot tell: never wait on it */
	bound = name_bound(proc, name, escape(ep, name));
	free(proc);
	return bound;
}

/* Is some name of the list (see struct xsl_linger) still unbound? */
static bool waiting(const char *proc, const char *names)
{
	const char *p, *nl;

	if (!proc)
		return false;
	for (p = names; (nl = strchr(p, '\n')) != NULL; p = nl + 1)
		if (!name_bound(proc, p, (size_t)(nl - p)))
			return true;
	return false;
}

/* Patterns whose records wait on the sender's side for a binder. */
static bool queues_for_absent_peers(int type)
{
	switch (type) {
	case XS_PUB:
	case XS_XPUB:	/* nothing is subscribed on an unbound name */
	case XS_SUB:
	case XS_XSUB:	/* subscriptions are state, sent again on attach */
		return false;
	}
	return true;
}

static void discard(int fd)
{
	int zero = 0;

	setsockopt(fd, SOL_XS, XS_LINGER, &zero, sizeof(zero));
	close(fd);
}

/* The module's bound on "forever" for closed sockets, in ms. */
static long long max_linger_ms(void)
{
	char buf[32];
	ssize_t n;
	int fd;

	fd = open("/sys/module/af_xs/parameters/max_linger_ms",
		  O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 30000;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 30000;
	buf[n] = '\0';
	return atoll(buf);
}

bool xsl_linger_keep(struct xsl_socket *s)
{
	char name[4 * XS_NAME_MAX + 2];
	struct xsl_ctx *ctx = s->ctx;
	struct xsl_linger *l;
	socklen_t len = sizeof(int);
	size_t i, n, used = 0;
	int linger = 0;
	char *proc, *names;

	if (!s->sent || !queues_for_absent_peers(s->type))
		return false;
	if (getsockopt(s->fd, SOL_XS, XS_LINGER, &linger, &len) || !linger)
		return false;
	proc = proc_read();
	if (!proc)
		return false;
	names = malloc(s->nep * sizeof(name) + 1);
	if (!names) {
		free(proc);
		return false;	/* the kernel's own linger keeps them */
	}
	/* The names that had no binder when we connected and have none now:
	 * what we sent them is still ours. */
	for (i = 0; i < s->nep; i++) {
		if (s->ep[i].bound || !s->ep[i].unbound_at_connect)
			continue;
		n = escape(&s->ep[i], name);
		if (name_bound(proc, name, n))
			continue;
		memcpy(names + used, name, n);
		used += n;
		names[used++] = '\n';
	}
	names[used] = '\0';
	free(proc);
	l = used ? malloc(sizeof(*l)) : NULL;
	if (!l) {
		free(names);
		return false;
	}

	/* Its names go now, as with Crossroads' close. */
	for (i = 0; i < s->nep; i++)
		if (s->ep[i].bound && !s->ep[i].remote)
			setsockopt(s->fd, SOL_XS, XS_UNBIND,
				   s->ep[i].addr.sxs_name,
				   s->ep[i].addrlen -
				   offsetof(struct sockaddr_xs, sxs_name));
	if (linger < 0 || linger > max_linger_ms())
		linger = (int)max_linger_ms();
	l->fd = s->fd;
	l->names = names;
	l->deadline = now_ms() + linger;
	pthread_mutex_lock(&ctx->lock);
	l->next = ctx->lingering;
	ctx->lingering = l;
	pthread_mutex_unlock(&ctx->lock);
	return true;
}

/*
 * Closes the lingering sockets that are done (taken or expired) and
 * returns how many ms until one may change (-1: none left).
 */
static long long sweep(struct xsl_ctx *ctx, long long look)
{
	struct xsl_linger **pp, *l, *done = NULL;
	long long now, next = -1, left;
	char *proc;

	pthread_mutex_lock(&ctx->lock);
	if (!ctx->lingering) {
		pthread_mutex_unlock(&ctx->lock);
		return -1;
	}
	pthread_mutex_unlock(&ctx->lock);

	proc = proc_read();
	now = now_ms();
	pthread_mutex_lock(&ctx->lock);
	for (pp = &ctx->lingering; (l = *pp) != NULL;) {
		bool expired = l->deadline >= 0 && now >= l->deadline;

		if (expired || !waiting(proc, l->names)) {
			*pp = l->next;
			l->next = done;
			l->fd = expired ? -l->fd - 1 : l->fd;
			done = l;
			continue;
		}
		left = l->deadline < 0 ? look : l->deadline - now;
		if (left > look)
			left = look;
		if (next < 0 || left < next)
			next = left;
		pp = &l->next;
	}
	pthread_mutex_unlock(&ctx->lock);
	free(proc);

	while ((l = done) != NULL) {
		done = l->next;
		if (l->fd < 0)
			discard(-l->fd - 1);
		else
			close(l->fd);
		free(l->names);
		free(l);
	}
	return next;
}

void xsl_linger_sweep(struct xsl_ctx *ctx)
{
	sweep(ctx, LOOK_MAX_MS);
}

void xsl_linger_wait(struct xsl_ctx *ctx)
{
	long long look = 1, wait;
	struct timespec ts;

	while ((wait = sweep(ctx, look)) >= 0) {
		ts.tv_sec = (time_t)(wait / 1000);
		ts.tv_nsec = (long)(wait % 1000) * 1000000L;
		nanosleep(&ts, NULL);
		if (look < LOOK_MAX_MS)
			look *= 2;
	}
}
