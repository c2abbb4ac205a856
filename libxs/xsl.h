/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libxs internals.  Nothing here is exported: the library is built with
 * -fvisibility=hidden and only the functions of xs.h carry XS_EXPORT.
 * Internal names use the xsl_ prefix.
 *
 * Objects and their lifetimes
 *
 *   struct xsl_ctx     one per xs_init().  Owns the list of its open
 *                      sockets.  Freed by xs_term() once every socket of it
 *                      has been closed (nsockets == 0).
 *   struct xsl_socket  one per xs_socket(): an AF_XS fd plus the state the
 *                      kernel does not keep (endpoint ids, options that have
 *                      no kernel meaning, XS_RCVMORE of the last part handed
 *                      out, the read-ahead ring).  Freed by xs_close().
 *   struct xsl_ring    lazily created read-ahead buffer of a socket that
 *                      receives (io.c).
 *
 * Threads and locks
 *
 *   A socket is used by one thread at a time (the Crossroads rule), so its
 *   fields need no lock, with two exceptions touched by xs_term() from any
 *   thread: the 'terminated' flag (atomic) and the ctx list links, which are
 *   only read or written under ctx->lock.  xs_term() shuts every listed fd
 *   down under ctx->lock; xs_close() unlinks the socket under the same lock
 *   before closing its fd, so xs_term() never touches a closed (or reused)
 *   descriptor.  ctx->nsockets counts sockets whose fd is not closed yet;
 *   xs_term() waits on ctx->idle until it drops to zero, then for the
 *   sockets xs_close() left lingering (linger.c, ctx->lingering).
 */
#ifndef XSL_H
#define XSL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <linux/xs.h>

#include "xs.h"

#define XSL_CTX_TAG	0x78734358u	/* live context */
#define XSL_SOCK_TAG	0x7873534bu	/* live socket */
#define XSL_DEAD_TAG	0xdeadbeefu	/* freed object */

#define XSL_MAX_TYPE	XS_XRESPONDENT
#define XSL_DEFAULT_MAX_SOCKETS	512

struct xsl_ring;
struct xsl_map;
struct xsl_idmap;
struct xsl_linger;

/* One bound or connected name, removable by its id with xs_shutdown(). */
struct xsl_endpoint {
	int id;
	bool bound;
	bool fs_node;		/* name is a filesystem path */
	bool remote;		/* carried by libzmq; addr holds the string */
	dev_t node_dev;		/* identity of the node we created at bind */
	ino_t node_ino;
	socklen_t addrlen;
	struct sockaddr_xs addr;
};

/* Options Crossroads defines that have no meaning for a local family:
 * validated and stored so that xs_getsockopt returns what was set. */
struct xsl_options {
	uint64_t affinity;
	int rate;
	int recovery_ivl;
	int sndbuf;
	int rcvbuf;
	int reconnect_ivl;
	int reconnect_ivl_max;
	int backlog;
	int multicast_hops;
	int rcvtimeo;
	int sndtimeo;
	int ipv4only;
	int keepalive;
	int protocol;
	int filter;
};

struct xsl_ctx {
	uint32_t tag;
	unsigned long serial;		/* makes inproc names private */
	pthread_mutex_t lock;
	pthread_cond_t idle;		/* signalled when nsockets drops */
	bool terminating;		/* ctx->lock */
	int max_sockets;		/* ctx->lock */
	int io_threads;			/* ctx->lock; accepted, unused */
	int nsockets;			/* ctx->lock */
	struct xsl_socket *sockets;	/* ctx->lock */
	struct xsl_linger *lingering;	/* ctx->lock; closed, fds kept */
	void *zctx;			/* ctx->lock; libzmq's, lazily */
};

struct xsl_socket {
	uint32_t tag;
	int fd;
	int type;
	atomic_bool terminated;		/* set by xs_term() */
	bool rcvmore;			/* last part handed out had no EOR */
	bool sent;			/* a part was ever sent (linger.c) */
	struct xsl_ctx *ctx;
	struct xsl_socket *prev, *next;	/* ctx->lock */
	struct xsl_options opt;
	struct xsl_endpoint *ep;
	size_t nep, capep;
	struct xsl_ring *ring;
	bool no_ring;			/* read-ahead unavailable */
	struct xsl_map *map;		/* the kernel's receive ring (io.c) */
	bool no_map;			/* ... tried already */
	bool map_broken;		/* set up but not mapped: fatal */
	bool fd_watched;		/* XS_FD was asked for: keep XS_RCVHELD */
	bool held_told;			/* ... as the kernel has it */
	/* io.c: a record being sent, its parts after the first kept here */
	bool tx_open;			/* its first part is in the kernel */
	struct xsl_pend *pend;
	/* XRESPONDENT (translate.c): the record being sent, peer ids */
	bool out_more;			/* a record is being sent */
	bool out_drop;			/* ... to nobody (bad identity part) */
	struct xsl_idmap *ids;
	size_t nids, capids;
	/* remote.c: the libzmq socket for tcp:// endpoints, if any */
	void *zs;
	size_t nlocal, nremote;		/* endpoints of each kind */
	int from_remote;		/* the record being read is libzmq's */
	bool turn;			/* SUB fair-queueing between engines */
	struct xsl_sub **subs;		/* SUB: subscriptions, for libzmq */
	size_t nsubs;
};

struct xsl_sub {
	size_t len;
	unsigned char data[];
};

/* ctx.c */
int xsl_family(void);
struct xsl_socket *xsl_sock(void *s);
struct xsl_socket *xsl_sock_live(void *s);
int xsl_fail(struct xsl_socket *s, int err);

/* endpoint.c */
void xsl_endpoints_release(struct xsl_socket *s);

/* linger.c */
bool xsl_linger_keep(struct xsl_socket *s);
void xsl_linger_sweep(struct xsl_ctx *ctx);
void xsl_linger_wait(struct xsl_ctx *ctx);

/* options.c */
void xsl_options_init(struct xsl_options *opt);
int xsl_call_flags(const struct xsl_socket *s, int flags, bool sending);

/* io.c */
bool xsl_has_buffered(const struct xsl_socket *s);
void xsl_held_sync(struct xsl_socket *s);
void xsl_ring_free(struct xsl_socket *s);
void xsl_map_free(struct xsl_socket *s);
void xsl_pend_free(struct xsl_socket *s);

/* translate.c: Crossroads' subscription and identity forms */
int xsl_xsub_send(struct xsl_socket *s, const void *buf, size_t len,
		  int flags);
size_t xsl_xpub_notice(const unsigned char *in, size_t len,
		       unsigned char *out, size_t outlen);
int xsl_id_to_user(struct xsl_socket *s, const unsigned char *id, size_t len,
		   unsigned char out[4]);
size_t xsl_id_to_kernel(const struct xsl_socket *s, const unsigned char in[4],
			unsigned char *out);
void xsl_ids_free(struct xsl_socket *s);

/* remote.c: tcp:// and other libzmq transports */
int xsl_remote_attach(struct xsl_socket *s, const char *addr, size_t plen,
		      bool binding, bool *remote);
int xsl_remote_detach(struct xsl_socket *s, const struct xsl_endpoint *ep);
int xsl_remote_setopt(struct xsl_socket *s, int option, const void *val,
		      size_t len);
int xsl_remote_send(struct xsl_socket *s, const void *buf, size_t len,
		    int flags);
int xsl_remote_recv(struct xsl_socket *s, int flags, xs_msg_t *tmp,
		    bool *more);
int xsl_remote_events(struct xsl_socket *s, int *fd);
int xsl_remote_poll(xs_pollitem_t *items, int nitems, long timeout);
void xsl_remote_close(struct xsl_socket *s);
void xsl_remote_shutdown(struct xsl_ctx *ctx);
void xsl_remote_term(struct xsl_ctx *ctx);

/* poll.c */
int xsl_events(struct xsl_socket *s);

/* msg.c: helpers the socket calls use on xs_msg_t. */
int xsl_msg_view(xs_msg_t *msg, const void **data, size_t *size);
void xsl_msg_clear(xs_msg_t *msg);
void *xsl_msg_prepare(xs_msg_t *tmp, size_t size);
void xsl_msg_install(xs_msg_t *dest, xs_msg_t *tmp, bool more);
void xsl_msg_discard(xs_msg_t *tmp);

#endif /* XSL_H */
