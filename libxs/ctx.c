// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Contexts and socket life: xs_init, xs_term, xs_setctxopt, xs_socket,
 * xs_close, and the family number lookup.  See xsl.h for the locking rules.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xsl.h"

static atomic_int known_family;		/* 0 until read or proven */
static atomic_ulong ctx_serial;

static int read_family_param(void)
{
	char buf[32];
	ssize_t n;
	long v;
	char *end;
	int fd;

	fd = open(XS_FAMILY_PARAM_PATH, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	v = strtol(buf, &end, 10);
	if (end == buf || v <= 0 || v >= AF_MAX + 64)
		return -1;
	return (int)v;
}

/*
 * The family number is a module parameter.  Before the module is loaded
 * the parameter file does not exist: then socket(AF_XS_DEFAULT) loads the
 * module through its alias, and the next lookup finds the file.
 */
int xsl_family(void)
{
	int f = atomic_load_explicit(&known_family, memory_order_relaxed);

	if (f)
		return f;
	f = read_family_param();
	if (f > 0) {
		atomic_store_explicit(&known_family, f, memory_order_relaxed);
		return f;
	}
	return AF_XS_DEFAULT;
}

static void family_proven(int family)
{
	int f = read_family_param();

	atomic_store_explicit(&known_family, f > 0 ? f : family,
			      memory_order_relaxed);
}

static struct xsl_ctx *ctx_of(void *c)
{
	struct xsl_ctx *ctx = c;

	if (!ctx || ctx->tag != XSL_CTX_TAG) {
		errno = EFAULT;
		return NULL;
	}
	return ctx;
}

struct xsl_socket *xsl_sock(void *p)
{
	struct xsl_socket *s = p;

	if (!s || s->tag != XSL_SOCK_TAG) {
		errno = ENOTSOCK;
		return NULL;
	}
	return s;
}

/* A socket whose context is not terminated, else ETERM. */
struct xsl_socket *xsl_sock_live(void *p)
{
	struct xsl_socket *s = xsl_sock(p);

	if (s && atomic_load_explicit(&s->terminated, memory_order_acquire)) {
		errno = ETERM;
		return NULL;
	}
	return s;
}

/*
 * Every failure of a socket call goes through here.  Once the context is
 * terminated, whatever the kernel said (EPIPE, end of file after the
 * shutdown xs_term did, ...) is reported as ETERM.  The kernel reports a
 * call in the wrong state of REQ, REP, SURVEYOR or RESPONDENT as EBADFD
 * (an errno must stay below 4096): that is Crossroads' EFSM.
 */
int xsl_fail(struct xsl_socket *s, int err)
{
	if (atomic_load_explicit(&s->terminated, memory_order_acquire))
		err = ETERM;
	else if (err == EBADFD)
		err = EFSM;
	errno = err;
	return -1;
}

void *xs_init(void)
{
	struct xsl_ctx *ctx = calloc(1, sizeof(*ctx));

	if (!ctx) {
		errno = ENOMEM;
		return NULL;
	}
	if (pthread_mutex_init(&ctx->lock, NULL)) {
		free(ctx);
		errno = ENOMEM;
		return NULL;
	}
	if (pthread_cond_init(&ctx->idle, NULL)) {
		pthread_mutex_destroy(&ctx->lock);
		free(ctx);
		errno = ENOMEM;
		return NULL;
	}
	ctx->serial = atomic_fetch_add(&ctx_serial, 1) + 1;
	ctx->max_sockets = XSL_DEFAULT_MAX_SOCKETS;
	ctx->io_threads = 1;
	ctx->tag = XSL_CTX_TAG;
	return ctx;
}

int xs_term(void *c)
{
	struct xsl_ctx *ctx = ctx_of(c);
	struct xsl_socket *s;

	if (!ctx)
		return -1;

	pthread_mutex_lock(&ctx->lock);
	if (!ctx->terminating) {
		ctx->terminating = true;
		/* The flag first, so that a woken caller sees it and says
		 * ETERM; the shutdown wakes callers blocked in the kernel. */
		/* libzmq's blocked calls return ETERM too */
		xsl_remote_shutdown(ctx);
		for (s = ctx->sockets; s; s = s->next) {
			atomic_store_explicit(&s->terminated, true,
					      memory_order_release);
			shutdown(s->fd, SHUT_RDWR);
		}
	}
	while (ctx->nsockets > 0)
		pthread_cond_wait(&ctx->idle, &ctx->lock);
	pthread_mutex_unlock(&ctx->lock);
	/* As in Crossroads: closed sockets' records, until XS_LINGER. */
	xsl_linger_wait(ctx);
	xsl_remote_term(ctx);

	ctx->tag = XSL_DEAD_TAG;
	pthread_cond_destroy(&ctx->idle);
	pthread_mutex_destroy(&ctx->lock);
	free(ctx);
	return 0;
}

int xs_setctxopt(void *c, int option, const void *optval, size_t optvallen)
{
	struct xsl_ctx *ctx = ctx_of(c);
	const xs_filter_t *filter;
	int v;

	if (!ctx)
		return -1;

	switch (option) {
	case XS_MAX_SOCKETS:
	case XS_IO_THREADS:
		if (optvallen != sizeof(int)) {
			errno = EINVAL;
			return -1;
		}
		if (!optval) {
			errno = EFAULT;
			return -1;
		}
		memcpy(&v, optval, sizeof(v));
		if (v < (option == XS_MAX_SOCKETS ? 0 : 1)) {
			errno = EINVAL;
			return -1;
		}
		pthread_mutex_lock(&ctx->lock);
		if (option == XS_MAX_SOCKETS)
			ctx->max_sockets = v;
		else
			ctx->io_threads = v;
		pthread_mutex_unlock(&ctx->lock);
		return 0;

	case XS_PLUGIN:
		/*
		 * Subscriptions are matched in the kernel, by prefix; a
		 * filter plug-in's code cannot run there.
		 */
		filter = optval;
		if (!filter) {
			errno = EFAULT;
			return -1;
		}
		errno = ENOTSUP;
		return -1;
	}
	errno = EINVAL;
	return -1;
}

static void ctx_link(struct xsl_ctx *ctx, struct xsl_socket *s)
{
	s->prev = NULL;
	s->next = ctx->sockets;
	if (ctx->sockets)
		ctx->sockets->prev = s;
	ctx->sockets = s;
}

static void ctx_unlink(struct xsl_ctx *ctx, struct xsl_socket *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		ctx->sockets = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
}

/* Gives back a socket slot; the last one wakes xs_term(). */
static void ctx_put_slot(struct xsl_ctx *ctx)
{
	pthread_mutex_lock(&ctx->lock);
	if (--ctx->nsockets == 0)
		pthread_cond_broadcast(&ctx->idle);
	pthread_mutex_unlock(&ctx->lock);
}

static void *socket_of_type(struct xsl_ctx *ctx, int type);

void *xs_socket(void *c, int type)
{
	struct xsl_ctx *ctx = ctx_of(c);

	if (!ctx)
		return NULL;
	if (type < 0 || type > XSL_MAX_TYPE) {
		errno = EINVAL;
		return NULL;
	}
	return socket_of_type(ctx, type);
}

/*
 * AF_XS extension: a monitor socket watching @p (its local endpoints; a
 * libzmq socket behind tcp:// reports nothing).  The kernel checks the
 * events and that @p's socket is ours to watch.
 */
void *xs_socket_monitor(void *p, int events)
{
	struct xsl_socket *s = xsl_sock_live(p), *m;
	struct xs_monitor_req req;
	int err;

	if (!s)
		return NULL;
	if (events < 0 || events > XS_EVENT_ALL) {
		errno = EINVAL;
		return NULL;
	}
	m = socket_of_type(s->ctx, XS_MONITOR_TYPE);
	if (!m)
		return NULL;
	req.fd = s->fd;
	req.events = (unsigned int)(events ? events : XS_EVENT_ALL);
	if (setsockopt(m->fd, SOL_XS, XS_MONITOR, &req, sizeof(req))) {
		err = errno;
		xs_close(m);
		errno = err;
		return NULL;
	}
	return m;
}

static void *socket_of_type(struct xsl_ctx *ctx, int type)
{
	struct xsl_socket *s;
	int family, fd, err;

	pthread_mutex_lock(&ctx->lock);
	if (ctx->terminating) {
		pthread_mutex_unlock(&ctx->lock);
		errno = ETERM;
		return NULL;
	}
	if (ctx->nsockets >= ctx->max_sockets) {
		pthread_mutex_unlock(&ctx->lock);
		errno = EMFILE;
		return NULL;
	}
	ctx->nsockets++;
	pthread_mutex_unlock(&ctx->lock);

	s = calloc(1, sizeof(*s));
	if (!s) {
		ctx_put_slot(ctx);
		errno = ENOMEM;
		return NULL;
	}
	family = xsl_family();
	fd = socket(family, SOCK_SEQPACKET | SOCK_CLOEXEC, type + 1);
	if (fd < 0) {
		err = errno;
		free(s);
		ctx_put_slot(ctx);
		errno = err;
		return NULL;
	}
	if (!atomic_load_explicit(&known_family, memory_order_relaxed))
		family_proven(family);
	/*
	 * Crossroads' default linger is -1: records still waiting for a peer
	 * are not discarded at xs_close.  The kernel's default (for plain
	 * POSIX users) is 0; its max_linger_ms parameter bounds "forever".
	 */
	setsockopt(fd, SOL_XS, XS_LINGER, &(int){ -1 }, sizeof(int));

	s->fd = fd;
	s->type = type;
	s->ctx = ctx;
	atomic_init(&s->terminated, false);
	xsl_options_init(&s->opt);
	s->tag = XSL_SOCK_TAG;

	pthread_mutex_lock(&ctx->lock);
	ctx_link(ctx, s);
	if (ctx->terminating) {
		/* xs_term() started while the fd was being created. */
		atomic_store_explicit(&s->terminated, true,
				      memory_order_release);
		shutdown(fd, SHUT_RDWR);
	}
	pthread_mutex_unlock(&ctx->lock);
	return s;
}

int xs_close(void *p)
{
	struct xsl_socket *s = xsl_sock(p);
	struct xsl_ctx *ctx;

	if (!s)
		return -1;
	ctx = s->ctx;
	s->tag = XSL_DEAD_TAG;

	pthread_mutex_lock(&ctx->lock);
	ctx_unlink(ctx, s);
	pthread_mutex_unlock(&ctx->lock);

	/* Filesystem nodes go before the fd, while the names are ours. */
	xsl_endpoints_release(s);
	/* Before this socket's names go: it may be the binder they wait for. */
	xsl_linger_sweep(ctx);
	if (!xsl_linger_keep(s))
		close(s->fd);
	xsl_remote_close(s);
	xsl_ring_free(s);
	xsl_map_free(s);
	xsl_pend_free(s);
	xsl_ids_free(s);
	while (s->nsubs)
		free(s->subs[--s->nsubs]);
	free(s->subs);
	free(s->ep);
	free(s);

	ctx_put_slot(ctx);
	return 0;
}
