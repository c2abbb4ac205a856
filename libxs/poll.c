// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * xs_poll and XS_EVENTS.  AF_XS sockets are level-triggered and exact, so
 * one poll(2) over the sockets' own descriptors and the plain fds does the
 * work; the only state poll(2) cannot see is a part already read ahead
 * into the library (io.c), which counts as XS_POLLIN.
 */
#include <poll.h>
#include <stdlib.h>
#include <time.h>

#include "xsl.h"

#define STACK_ITEMS 16

int xsl_events(struct xsl_socket *s)
{
	struct pollfd pfd = { .fd = s->fd, .events = POLLIN | POLLOUT };
	int ev = 0, rev;

	if (s->zs) {
		rev = xsl_remote_events(s, NULL);
		if (rev < 0 || !s->nlocal)
			return rev;
		ev = rev;
	}

	if (poll(&pfd, 1, 0) < 0)
		return xsl_fail(s, errno);
	if (atomic_load(&s->terminated))
		return xsl_fail(s, ETERM);
	if ((pfd.revents & POLLIN) || xsl_has_buffered(s))
		ev |= XS_POLLIN;
	if (pfd.revents & POLLOUT)
		ev |= XS_POLLOUT;
	return ev;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static short to_poll_events(short xs_events)
{
	return (short)(((xs_events & XS_POLLIN) ? POLLIN : 0) |
		       ((xs_events & XS_POLLOUT) ? POLLOUT : 0));
}

/* Sets items[i].revents from pfd; returns -1 (ETERM) for a dead context. */
static int collect(xs_pollitem_t *item, const struct pollfd *pfd)
{
	struct xsl_socket *s = item->socket;
	short r = pfd->revents;

	item->revents = 0;
	if (s) {
		if (atomic_load(&s->terminated))
			return xsl_fail(s, ETERM);
		if ((item->events & XS_POLLIN) &&
		    ((r & POLLIN) || xsl_has_buffered(s)))
			item->revents |= XS_POLLIN;
		if ((item->events & XS_POLLOUT) && (r & POLLOUT))
			item->revents |= XS_POLLOUT;
		/* Only after a shutdown of the descriptor: say so rather than
		 * spin on a poll that keeps returning. */
		if (r & (POLLERR | POLLHUP | POLLNVAL))
			item->revents |= XS_POLLERR;
		return 0;
	}
	if (r & POLLIN)
		item->revents |= XS_POLLIN;
	if (r & POLLOUT)
		item->revents |= XS_POLLOUT;
	if (r & ~(POLLIN | POLLOUT))
		item->revents |= XS_POLLERR;
	return 0;
}

int xs_poll(xs_pollitem_t *items, int nitems, int timeout)
{
	struct pollfd stack[STACK_ITEMS], *pfds = stack;
	long long deadline = 0;
	bool buffered = false;
	int i, rc, nevents, wait;

	if (nitems < 0) {
		errno = EINVAL;
		return -1;
	}
	if (nitems == 0) {
		if (timeout != 0 && poll(NULL, 0, timeout) < 0)
			return -1;
		return 0;
	}
	if (!items) {
		errno = EFAULT;
		return -1;
	}
	for (i = 0; i < nitems; i++) {
		struct xsl_socket *s = items[i].socket;

		if (!s)
			continue;
		s = xsl_sock_live(s);
		if (!s)
			return -1;
		/* libzmq's sockets are polled with libzmq's poll */
		if (s->zs)
			return xsl_remote_poll(items, nitems, timeout);
	}
	if (nitems > STACK_ITEMS) {
		pfds = calloc((size_t)nitems, sizeof(*pfds));
		if (!pfds) {
			errno = ENOMEM;
			return -1;
		}
	}

	for (i = 0; i < nitems; i++) {
		pfds[i].revents = 0;
		items[i].revents = 0;
		if (items[i].socket) {
			struct xsl_socket *s = xsl_sock_live(items[i].socket);

			if (!s) {
				rc = -1;
				goto out;
			}
			pfds[i].fd = items[i].events ? s->fd : -1;
			if ((items[i].events & XS_POLLIN) &&
			    xsl_has_buffered(s))
				buffered = true;
		} else {
			pfds[i].fd = items[i].fd;
		}
		pfds[i].events = to_poll_events(items[i].events);
	}

	if (timeout > 0)
		deadline = now_ms() + timeout;
	for (;;) {
		if (buffered || timeout == 0)
			wait = 0;
		else if (timeout < 0)
			wait = -1;
		else
			wait = (int)(deadline - now_ms() > 0 ?
				     deadline - now_ms() : 0);
		rc = poll(pfds, (nfds_t)nitems, wait);
		if (rc < 0)
			goto out;	/* EINTR included, as in Crossroads */
		nevents = 0;
		for (i = 0; i < nitems; i++) {
			if (collect(&items[i], &pfds[i])) {
				rc = -1;
				goto out;
			}
			if (items[i].revents)
				nevents++;
		}
		rc = nevents;
		if (nevents || wait == 0 || timeout == 0)
			break;
		if (timeout > 0 && now_ms() >= deadline)
			break;
	}
out:
	if (pfds != stack) {
		int err = errno;

		free(pfds);
		errno = err;
	}
	return rc;
}
