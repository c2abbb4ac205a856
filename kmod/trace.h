/* SPDX-License-Identifier: GPL-2.0 */
/*
 * AF_XS tracepoints (events/af_xs in tracefs): a record sent, delivered
 * to a receive queue or dropped (with the reason), a pipe end attached to
 * or detached from a socket, a subscription change.  Sockets are named by
 * inode, as /proc/net/xs and xsstat name them.  trace.c instantiates them.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM af_xs

#if !defined(_AF_XS_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _AF_XS_TRACE_H

#include <linux/tracepoint.h>
#include <linux/net.h>

#include "af_xs.h"

#ifndef _AF_XS_TRACE_HELPERS
#define _AF_XS_TRACE_HELPERS
/*
 * The inode of @xs, or 0 once it is orphaned.  Lockless: tracepoints run
 * in an RCU read-side section and socket inodes are freed after a grace
 * period.
 */
static inline unsigned long xs_trace_ino(struct xs_sock *xs)
{
	struct socket *sock;

	if (!xs)
		return 0;
	sock = READ_ONCE(xs->sk.sk_socket);
	return sock ? SOCK_INODE(sock)->i_ino : 0;
}

/* Why a record did not reach a receive queue. */
enum xs_drop_reason {
	XS_DROP_PIPE,		/* full pipe, peer gone or no memory */
	XS_DROP_UNREAD,		/* waited on a pipe nobody read */
	XS_DROP_STALE_REPLY,	/* its requester is gone or asked again */
};
#endif

TRACE_DEFINE_ENUM(XS_DROP_PIPE);
TRACE_DEFINE_ENUM(XS_DROP_UNREAD);
TRACE_DEFINE_ENUM(XS_DROP_STALE_REPLY);

DECLARE_EVENT_CLASS(xs_record_class,
		    TP_PROTO(struct xs_sock *xs, const struct xs_record *rec),
		    TP_ARGS(xs, rec),
		    TP_STRUCT__entry(__field(unsigned long, ino)
				     __field(int, proto)
				     __field(u32, nparts)
				     __field(size_t, size)),
		    TP_fast_assign(__entry->ino = xs_trace_ino(xs);
				   __entry->proto = xs->pat->proto;
				   __entry->nparts = rec->nparts;
				   __entry->size = rec->size;),
		    TP_printk("ino=%lu proto=%d parts=%u bytes=%zu",
			      __entry->ino, __entry->proto, __entry->nparts,
			      __entry->size));

/* @xs completed a record (MSG_EOR) and routes it. */
DEFINE_EVENT(xs_record_class, xs_record_sent,
	     TP_PROTO(struct xs_sock *xs, const struct xs_record *rec),
	     TP_ARGS(xs, rec));

/* A record joined the receive queue of @xs. */
DEFINE_EVENT(xs_record_class, xs_record_delivered,
	     TP_PROTO(struct xs_sock *xs, const struct xs_record *rec),
	     TP_ARGS(xs, rec));

/* @from could not get a record to @to (either may be NULL). */
TRACE_EVENT(xs_record_dropped,
	    TP_PROTO(struct xs_sock *from, struct xs_sock *to,
		     enum xs_drop_reason reason),
	    TP_ARGS(from, to, reason),
	    TP_STRUCT__entry(__field(unsigned long, from)
			     __field(unsigned long, to)
			     __field(int, reason)),
	    TP_fast_assign(__entry->from = xs_trace_ino(from);
			   __entry->to = xs_trace_ino(to);
			   __entry->reason = reason;),
	    TP_printk("from=%lu to=%lu reason=%s", __entry->from, __entry->to,
		      __print_symbolic(__entry->reason,
				       { XS_DROP_PIPE, "pipe" },
				       { XS_DROP_UNREAD, "unread" },
				       { XS_DROP_STALE_REPLY, "stale_reply" })));

DECLARE_EVENT_CLASS(xs_pipe_class,
		    TP_PROTO(struct xs_sock *xs, int idx, u32 npipes),
		    TP_ARGS(xs, idx, npipes),
		    TP_STRUCT__entry(__field(unsigned long, ino)
				     __field(int, idx)
				     __field(u32, npipes)),
		    TP_fast_assign(__entry->ino = xs_trace_ino(xs);
				   __entry->idx = idx;
				   __entry->npipes = npipes;),
		    TP_printk("ino=%lu end=%s pipes=%u", __entry->ino,
			      __entry->idx == XS_CONN ? "connect" : "bind",
			      __entry->npipes));

/* End @idx of a pipe joined @xs, which now has @npipes. */
DEFINE_EVENT(xs_pipe_class, xs_pipe_attach,
	     TP_PROTO(struct xs_sock *xs, int idx, u32 npipes),
	     TP_ARGS(xs, idx, npipes));

/* End @idx of a pipe left @xs. */
DEFINE_EVENT(xs_pipe_class, xs_pipe_detach,
	     TP_PROTO(struct xs_sock *xs, int idx, u32 npipes),
	     TP_ARGS(xs, idx, npipes));

/* A SUB's XS_SUBSCRIBE or XS_UNSUBSCRIBE of @prefix (its first 64 bytes). */
TRACE_EVENT(xs_subscription,
	    TP_PROTO(struct xs_sock *xs, const u8 *prefix, u32 len, bool add,
		     int err),
	    TP_ARGS(xs, prefix, len, add, err),
	    TP_STRUCT__entry(__field(unsigned long, ino)
			     __field(bool, add)
			     __field(int, err)
			     __field(u32, len)
			     __dynamic_array(u8, prefix, min_t(u32, len, 64))),
	    TP_fast_assign(__entry->ino = xs_trace_ino(xs);
			   __entry->add = add;
			   __entry->err = err;
			   __entry->len = len;
			   memcpy(__get_dynamic_array(prefix), prefix,
				  min_t(u32, len, 64));),
	    TP_printk("ino=%lu %s len=%u prefix=%s err=%d", __entry->ino,
		      __entry->add ? "subscribe" : "unsubscribe", __entry->len,
		      __print_hex_str(__get_dynamic_array(prefix),
				      __get_dynamic_array_len(prefix)),
		      __entry->err));

#endif /* _AF_XS_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
