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
 * side, and SIOCOUTQ says how much waits so (bytes the kernel holds, 0
 * when every record has reached a peer).  At xs_close, a socket whose
 * linger is not 0 and that has records waiting keeps its descriptor on
 * the context's lingering list (its bound names are released at once, as
 * Crossroads releases them).  While the descriptor is open, a binder that
 * arrives takes the records; the socket is done when SIOCOUTQ says 0.
 *
 * Nothing wakes a waiter when that happens, so xs_term looks again after
 * a sleep that doubles from 1 ms up to LOOK_MAX_MS (bounded by the
 * nearest deadline): it sleeps, it never spins.  A socket whose linger
 * ran out gets XS_LINGER 0 before its close, so the kernel discards its
 * records at once.
 *
 * Lingering sockets are also looked at, and closed if done, at every
 * xs_close of the same context (before that socket's own names go), so a
 * long-lived context does not gather descriptors.  A process that exits
 * without xs_term leaves its records to the kernel's own linger.
 */
#include <fcntl.h>
#include <linux/sockios.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "xsl.h"

#define LOOK_MAX_MS	50

struct xsl_linger {
	int fd;
	long long deadline;		/* CLOCK_MONOTONIC ms, or -1 */
	struct xsl_linger *next;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Bytes of @fd's records that wait for a binder (0 on error). */
static int outq(int fd)
{
	int n = 0;

	if (ioctl(fd, SIOCOUTQ, &n) || n < 0)
		return 0;
	return n;
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
	struct xsl_ctx *ctx = s->ctx;
	struct xsl_linger *l;
	socklen_t len = sizeof(int);
	int linger = 0;
	size_t i;

	if (!s->sent || !queues_for_absent_peers(s->type))
		return false;
	if (getsockopt(s->fd, SOL_XS, XS_LINGER, &linger, &len) || !linger)
		return false;
	if (!outq(s->fd))
		return false;	/* everything sent has reached a peer */
	l = malloc(sizeof(*l));
	if (!l)
		return false;	/* the kernel's own linger keeps them */

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

	pthread_mutex_lock(&ctx->lock);
	if (!ctx->lingering) {
		pthread_mutex_unlock(&ctx->lock);
		return -1;
	}
	pthread_mutex_unlock(&ctx->lock);

	now = now_ms();
	pthread_mutex_lock(&ctx->lock);
	for (pp = &ctx->lingering; (l = *pp) != NULL;) {
		bool expired = l->deadline >= 0 && now >= l->deadline;

		if (expired || !outq(l->fd)) {
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

	while ((l = done) != NULL) {
		done = l->next;
		if (l->fd < 0)
			discard(-l->fd - 1);
		else
			close(l->fd);
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
