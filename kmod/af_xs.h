/* SPDX-License-Identifier: GPL-2.0 */
/*
 * AF_XS internal definitions shared by the family, records, pipes, the name
 * table and the patterns.  The implementation notes (objects, lifetimes,
 * lock order) are at the top of family.c.
 */
#ifndef _AF_XS_H
#define _AF_XS_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/rhashtable-types.h>
#include <linux/spinlock.h>
#include <linux/pid.h>
#include <linux/workqueue.h>
#include <linux/slab.h>
#include <linux/xarray.h>
#include <net/sock.h>
#include <linux/xs.h>

#include "compat.h"

struct xs_sock;
struct xs_ring;
struct xs_pipe;
struct xs_name;

/* One part of a record: immutable once the record is complete. */
struct xs_part {
	struct list_head	node;
	size_t			len;
	u8			data[];
};

/*
 * A record: the parts one sender assembled up to MSG_EOR.  Complete records
 * are shared, read-only, by every receiver they were routed to; the last
 * reference frees them.  A reply does not copy the envelope of its request:
 * it starts with the request's parts up to @env_last (a reference on the
 * request's record), then its own; xs_rec_first() and xs_rec_next() walk
 * both.
 */
struct xs_record {
	refcount_t		ref;
	u32			nparts;
	size_t			size;		/* payload bytes of all parts */
	size_t			truesize;	/* what the kernel holds for it */
	struct list_head	parts;
	struct xs_record	*env;		/* the request's record, or NULL */
	struct xs_part		*env_last;	/* its last part we start with */
	size_t			env_size;	/* payload of those parts */
	/* the sender, for SO_PASSCRED */
	struct pid		*pid;
	kuid_t			uid;
	kgid_t			gid;
};

/*
 * One record queued for one receiver: the receiver's private handle on a
 * shared record.  While a thread reads a multipart record, the message sits
 * on the socket's reading list with @reader and @next set.
 */
struct xs_msg {
	struct list_head	node;
	struct xs_record	*rec;
	struct xs_pipe		*pipe;		/* reference held */
	struct xs_pipe_end	*to;		/* end it was queued to */
	struct xs_part		*head;		/* identity part read first, owned */
	struct xs_part		*next;		/* next part of @rec to read */
	struct pid		*reader;	/* thread inside this record */
	struct task_struct	*reader_task;	/* compared only, never used */
	u32			epoch;		/* of the sender's end, at delivery */
	u32			charge;		/* rx_mem it holds while queued */
};

/*
 * One end of a pipe.  @xs is the socket at this end, NULL while the end is
 * detached.  It is written under xs_topo_lock and the route lock of the
 * socket at the other end (if any), so a sender that reads its peer under
 * its own route lock keeps that peer alive until it unlocks.
 */
struct xs_pipe_end {
	struct xs_sock		*xs;
	struct xs_pipe		*pipe;
	int			idx;		/* XS_CONN or XS_BIND */
	struct list_head	node;		/* in xs->pipes, xs->route_lock */
	atomic_t		inflight;	/* records queued or reserved to this end */
	/* identity of the socket at the other end, set in xs_pipe_join() */
	u8			id_len;
	u8			id[XS_IDENTITY_MAX];
	u32			epoch;		/* joins of this end, topo lock */
	bool			wake_pending;	/* sender's end: see xs_defer_wake() */
	/* publisher side: subscriptions of the peer (pubsub.c) */
	struct list_head	subs;		/* publisher's sub lock */
	unsigned long		gen;		/* last record matched */
	/* subscriber side: the publisher lacks our subscriptions (pubsub.c) */
	bool			subs_lost;	/* subscriber's route lock */
};

/* Index of the ends: the connector's end never changes. */
enum { XS_CONN = 0, XS_BIND = 1 };

/*
 * A pipe joins a connecting socket to the binder of a name.  It exists from
 * connect() to disconnect/close of the connector; the binder end attaches
 * and detaches as binders come and go.  While no binder is attached,
 * records for it wait on @pending (connector's route lock).
 */
struct xs_pipe {
	refcount_t		ref;
	struct xs_pipe_end	end[2];
	struct list_head	pending;	/* xs_msg, conn route lock */
	size_t			pending_mem;	/* their charge, conn route lock */
	struct xs_name		*name;
	struct list_head	name_node;	/* in name->pipes, topo lock */
	const struct cred	*cred;		/* connector's, filesystem names */
	const struct xs_pattern	*conn_pat;	/* the connector's pattern */
	struct net		*net;		/* the connector's (no reference) */
	/* after the connector closed with XS_LINGER: see name.c */
	bool			orphan;		/* topo lock */
	struct list_head	orphan_node;	/* xs_orphans, topo lock */
	struct delayed_work	linger;
	/* the address the connector gave (topo lock), NULL once it is gone */
	const char		*addr;
	u8			addr_len;
};

/* A record in progress on one thread of a socket. */
struct xs_tx {
	struct list_head	node;		/* in xs->txs, xs->tx_lock */
	struct pid		*owner;
	struct task_struct	*task;		/* compared only, never used */
	struct xs_record	*rec;
	struct xs_pipe_end	*from;		/* reserved pipe (ref) or NULL */
	struct xs_msg		*msg;		/* for delivery there, at MSG_EOR */
	/* XS_LOSSLESS publisher: every matching pipe reserved (refs held) */
	struct xs_pipe_end	**resv;
	u32			nresv;
	bool			lossless;	/* decided at the first part */
};

/*
 * A messaging pattern.  Each pattern file defines one const instance and
 * family.c lists it.  Unless noted, callbacks run with xs->route_lock held
 * and may sleep.
 */
struct xs_pattern {
	int		proto;		/* XSPROTO_x */
	const char	*name;
	u32		peers;		/* BIT(XSPROTO_x) it may be joined to */
	bool		can_send;
	bool		can_recv;
	/* A pipe end joins @xs; -EBUSY refuses it (it stays pending). */
	int		(*attach)(struct xs_sock *xs, struct xs_pipe_end *pe);
	/* A pipe end leaves @xs. */
	void		(*detach)(struct xs_sock *xs, struct xs_pipe_end *pe);
	/*
	 * First part of a record: pick and reserve the destination in @tx, or
	 * -EAGAIN when none has room (the caller waits).  NULL: never blocks.
	 */
	int		(*send_begin)(struct xs_sock *xs, struct xs_tx *tx);
	/*
	 * Optional, MSG_EOR, before send_end: complete tx->rec (an envelope).
	 * An error fails the send and must leave the record and the
	 * pattern's state as they were.
	 */
	int		(*send_prepare)(struct xs_sock *xs, struct xs_tx *tx);
	/* MSG_EOR: route tx->rec; reservations in @tx are consumed. */
	void		(*send_end)(struct xs_sock *xs, struct xs_tx *tx);
	/* Optional.  The other end of @pe got a socket. */
	void		(*peer_attached)(struct xs_sock *xs,
					 struct xs_pipe_end *pe);
	/*
	 * Optional, sender's route lock held: where a reader of @m starts in
	 * the record (sets m->next past an envelope); false drops it.
	 */
	bool		(*recv_start)(struct xs_sock *xs, struct xs_msg *m);
	/* Optional, no lock: before receiving; may refuse or cut *timeo. */
	int		(*recv_begin)(struct xs_sock *xs, long *timeo);
	/*
	 * Optional, route lock and rx_lock held, no side effects: would the
	 * reader take @m now?  false drops it (a stale reply).
	 */
	bool		(*recv_accept)(struct xs_sock *xs, struct xs_msg *m);
	/*
	 * Optional, no lock: a record leaves the queue.  An error (-ENOMEM)
	 * puts it back and fails the receive.
	 */
	int		(*recv_take)(struct xs_sock *xs, struct xs_msg *m);
	/* Optional, no lock: the reader took the last part of @m. */
	void		(*recv_done)(struct xs_sock *xs, struct xs_msg *m);
	/* Received records start with the sending peer's identity part. */
	bool		prefix_identity;
	/* Optional, no lock held: set up and free xs->priv. */
	int		(*init)(struct xs_sock *xs);
	void		(*release)(struct xs_sock *xs);
	/* PUB/XPUB: XS_LOSSLESS applies; send_begin sees the first part. */
	bool		lossless_opt;
	/* XS_RX_RING allowed: records are read whole, from their start. */
	bool		ring_ok;
	/* Optional, no lock held: pattern options (-ENOPROTOOPT if not). */
	int		(*setsockopt)(struct xs_sock *xs, int optname,
				      sockptr_t optval, unsigned int optlen);
};

/* The socket. */
struct xs_sock {
	struct sock		sk;		/* first: sk_alloc() sizes it */
	const struct xs_pattern	*pat;
	struct list_head	eps;		/* struct xs_ep, topo lock */

	/* Routing state: pipes and pattern data. */
	struct mutex		route_lock;
	struct list_head	pipes;		/* xs_pipe_end.node */
	struct xs_pipe_end	*cursor;	/* round-robin / single peer */
	u32			npipes;
	void			*priv;		/* pattern state */
	bool			defer_wakes;	/* inside a MSG_BATCH/MSG_MORE send */
	bool			wakes_owed;	/* some pipe end has wake_pending */
	bool			more_owed;	/* ... since a MSG_MORE send */
	unsigned long		batch_deliveries;	/* route lock */
	unsigned long		wake_seen;	/* deliveries at the last check */
	unsigned int		wake_ticks;	/* checks since the batch began */
	struct delayed_work	wake_work;
	/* what waits on our pipes that nobody bound yet (route lock) */
	size_t			pending_mem;
	u32			proc_id;	/* in xs_net.socks */

	/* Records in progress, one per sending thread. */
	spinlock_t		tx_lock;
	struct list_head	txs;

	/* Receive side. */
	spinlock_t		rx_lock;
	struct list_head	rxq;		/* xs_msg not yet started */
	struct list_head	reading;	/* xs_msg a thread is inside */
	/* written under rx_lock, read locklessly (READ_ONCE) */
	u32			rx_count;
	size_t			rx_bytes;	/* payload */
	size_t			rx_mem;		/* charge: xs_msg.charge */
	struct xs_ring		*ring;		/* XS_RX_RING (ring.c) or NULL */

	/* Options, written under lock_sock(), read locklessly. */
	u8			identity_len;	/* XS_IDENTITY, xs_topo_lock */
	u8			identity[XS_IDENTITY_MAX];
	int			sndhwm;
	int			rcvhwm;
	int			linger;
	int			survey_timeout;	/* ms, -1: none */
	s64			maxmsgsize;
	bool			rcv_held;	/* XS_RCVHELD */
	int			snd_err;	/* XS_SNDERR, positive */
	atomic64_t		drops;		/* records we could not deliver */
	atomic64_t		missed;		/* records dropped on the way to us */

	/* Statistics (monitor.c).  sent_*: route lock; the rest atomic. */
	u64			sent_records;
	u64			sent_bytes;
	atomic64_t		recv_records;
	atomic64_t		recv_bytes;
	atomic64_t		drops_by[XS_REASON_MAX];
	atomic64_t		missed_by[XS_REASON_MAX];
	atomic_t		npeers;		/* pipes with both ends joined */
	bool			lossless;	/* XS_LOSSLESS, lock_sock() */

	/*
	 * Events (monitor.c).  @monitor: the monitor socket watching us,
	 * RCU, written under xs_mon_lock; no reference either way.  On a
	 * monitor: @mon_target (xs_mon_lock), the rest under rx_lock.
	 */
	struct xs_sock __rcu	*monitor;
	struct xs_sock		*mon_target;
	u32			mon_events;	/* XS_EVENT_x bits wanted */
	bool			mon_dead;	/* closing: queue nothing more */
	bool			mon_used;	/* XS_MONITOR was set once */
	u64			mon_lost_pending;
	atomic64_t		mon_lost;
	unsigned long		mon_ino;	/* the target's inode */
	struct mem_cgroup	*mon_memcg;	/* pays for the events */
};

static inline struct xs_sock *xs_sk(const struct sock *sk)
{
	return container_of(sk, struct xs_sock, sk);
}

static inline struct xs_pipe_end *xs_other_end(struct xs_pipe_end *pe)
{
	return &pe->pipe->end[!pe->idx];
}

/* family.c */
extern struct mutex xs_topo_lock;
extern int xs_family;
extern struct workqueue_struct *xs_wq;
void xs_wake_writer(struct xs_sock *xs);
bool xs_is_xs_socket(const struct socket *sock);

/* What the kernel holds for an allocation of @size bytes. */
static inline size_t xs_mem(size_t size)
{
	return kmalloc_size_roundup(size);
}

/* record.c */
int xs_send_part(struct xs_sock *xs, struct msghdr *msg, size_t len,
		 int flags);
void xs_tx_gc(struct xs_sock *xs);
struct xs_record *xs_record_alloc(void);
struct xs_record *xs_record_alloc_gfp(gfp_t gfp);
void xs_record_put(struct xs_record *rec);
void xs_record_append(struct xs_record *rec, struct xs_part *part);
void xs_record_set_env(struct xs_record *rec, struct xs_record *env,
		       struct xs_part *env_last);
struct xs_part *xs_rec_first(const struct xs_record *rec);
struct xs_part *xs_rec_next(const struct xs_record *rec,
			    struct xs_part *part);

/* Is @part the last one of @rec?  (Envelope parts never are.) */
static inline bool xs_rec_is_last(const struct xs_record *rec,
				  const struct xs_part *part)
{
	return list_is_last(&part->node, &rec->parts);
}

int xs_record_add_part(struct xs_record *rec, struct msghdr *msg, size_t len);
void xs_tx_purge(struct xs_sock *xs);
int xs_recv_part(struct xs_sock *xs, struct msghdr *msg, size_t len,
		 int flags);
int xs_next_part_len(struct xs_sock *xs);
bool xs_rcvmore(struct xs_sock *xs);
bool xs_readable(struct xs_sock *xs);
void xs_rx_purge(struct xs_sock *xs, struct xs_pipe_end *to, bool reading);
size_t xs_msg_charge(const struct xs_msg *m);
void xs_rx_enqueue(struct xs_sock *xs, struct xs_msg *m, bool wake);
bool xs_rx_enqueue_within(struct xs_sock *xs, struct xs_msg *m,
			  void (*stamp)(struct xs_sock *xs, struct xs_msg *m));
bool xs_rx_full(struct xs_sock *xs);
void xs_rx_splice(struct xs_sock *xs, struct list_head *msgs);
void xs_msg_release(struct xs_msg *m);
bool xs_is_io_worker(void);
void xs_live_read(s64 *records, s64 *bytes);

/* pipe.c */
int xs_pipe_init(void);
void xs_pipe_exit(void);
struct xs_msg *xs_msg_alloc(void);
struct xs_msg *xs_msg_alloc_gfp(gfp_t gfp);
size_t xs_msg_mem(void);
void xs_msg_free(struct xs_msg *m);
struct xs_pipe *xs_pipe_create(struct xs_name *name);
void xs_pipe_put(struct xs_pipe *p);
int xs_pipe_join(struct xs_pipe *p, int idx, struct xs_sock *xs);
void xs_pipe_leave(struct xs_pipe *p, int idx, bool purge);
void xs_pipe_destroy(struct xs_pipe *p);
/* Records a MSG_MORE sender's reader may hold before it is woken anyway. */
#define XS_WAKE_BATCH	64

void xs_defer_wake(struct xs_sock *xs, struct xs_pipe_end *me);
void xs_flush_wakes(struct xs_sock *xs);
void xs_wake_work(struct work_struct *work);
bool xs_pipe_has_room(struct xs_sock *from, struct xs_pipe_end *me);
bool xs_pipe_reserve(struct xs_sock *from, struct xs_pipe_end *me);
void xs_pipe_unreserve(struct xs_pipe_end *me);
void xs_pipe_deliver(struct xs_sock *from, struct xs_pipe_end *me,
		     struct xs_record *rec, struct xs_msg *reserved,
		     struct xs_part *start);
void xs_pipe_deliver_reserved(struct xs_sock *from, struct xs_pipe_end *me,
			      struct xs_record *rec);

/* name.c */
int xs_name_bind(struct xs_sock *xs, const char *name, int len);
int xs_name_connect(struct xs_sock *xs, const char *name, int len);
int xs_name_remove(struct xs_sock *xs, const char *name, int len,
		   bool bound);
void xs_name_release_all(struct xs_sock *xs);
void xs_orphans_flush(struct net *net);
int xs_name_parse(struct sockaddr *addr, int addrlen, const char **name);
void xs_name_show(struct seq_file *seq, struct xs_sock *xs);
int xs_name_each(struct xs_sock *xs,
		 int (*fn)(void *arg, bool bound, const char *name, u8 len),
		 void *arg);
void xs_topo_unlock(void);
int xs_names_init(void);
void xs_names_exit(void);

/* Per-namespace state. */
struct xs_net {
	struct rhashtable	names;		/* abstract names, topo lock */
	struct xarray		socks;		/* by xs_sock.proc_id */
	u32			next_proc_id;
};

int xs_names_init_net(struct xs_net *xn);
void xs_names_exit_net(struct xs_net *xn);

struct xs_net *xs_net(const struct net *net);

/* proc.c */
struct xs_sock *xs_sock_next(struct xs_net *xn, unsigned long *idx);
int xs_proc_init_net(struct net *net);
void xs_proc_exit_net(struct net *net);

/* monitor.c */
extern const struct xs_pattern xs_monitor_pattern;
void xs_drop(struct xs_sock *from, struct xs_sock *to, int reason);
void xs_event(struct xs_sock *xs, u16 type, u16 reason, struct xs_sock *peer,
	      const void *data, u32 len);
void xs_event_pipe(struct xs_pipe *p, struct xs_sock *conn,
		   struct xs_sock *binder, bool up);
void xs_monitor_close(struct xs_sock *xs);
void xs_stats_fill(struct xs_sock *xs, struct xs_stats *st);

/* Is @xs watched by a monitor?  Lockless: a hint. */
static inline bool xs_monitored(struct xs_sock *xs)
{
	return rcu_access_pointer(xs->monitor);
}

/* ring.c */
int xs_ring_setup(struct xs_sock *xs, sockptr_t optval, unsigned int optlen);
int xs_ring_size(struct xs_sock *xs);
void xs_ring_release(struct xs_sock *xs);
int xs_ring_mmap(struct xs_sock *xs, struct vm_area_struct *vma);
bool xs_ring_nonempty(struct xs_sock *xs);
bool xs_ring_arm(struct xs_sock *xs);
void xs_ring_wake(struct xs_sock *xs);
bool xs_ring_put(struct xs_sock *rx, struct xs_record *rec,
		 struct xs_part *start);
bool xs_ring_filling(struct xs_sock *xs);

/* pubsub.c */
int xs_pub_counts(struct xs_sock *xs, u32 *subscribers, u32 *prefixes);

/* diag.c */
int xs_diag_init(void);
void xs_diag_exit(void);

/* Patterns. */
extern const struct xs_pattern xs_pair_pattern;
extern const struct xs_pattern xs_push_pattern;
extern const struct xs_pattern xs_pull_pattern;
extern const struct xs_pattern xs_pub_pattern;
extern const struct xs_pattern xs_sub_pattern;
extern const struct xs_pattern xs_xpub_pattern;
extern const struct xs_pattern xs_xsub_pattern;
extern const struct xs_pattern xs_req_pattern;
extern const struct xs_pattern xs_rep_pattern;
extern const struct xs_pattern xs_xreq_pattern;
extern const struct xs_pattern xs_xrep_pattern;
extern const struct xs_pattern xs_surveyor_pattern;
extern const struct xs_pattern xs_respondent_pattern;
extern const struct xs_pattern xs_xsurveyor_pattern;
extern const struct xs_pattern xs_xrespondent_pattern;

/* Envelopes and replies (reqrep.c), shared with the survey patterns. */
int xs_record_push(struct xs_record *rec, const void *data, size_t len);
struct xs_part *xs_part_alloc(const void *data, size_t len);
bool xs_skip_envelope(struct xs_msg *m, bool (*is_bottom)(struct xs_part *));
void xs_route_by_identity(struct xs_sock *xs, struct xs_tx *tx);
int xs_replier_init(struct xs_sock *xs);
void xs_replier_release(struct xs_sock *xs);
int xs_replier_recv_begin(struct xs_sock *xs, long *timeo);
int xs_replier_recv_take(struct xs_sock *xs, struct xs_msg *m);
void xs_replier_recv_done(struct xs_sock *xs, struct xs_msg *m);
int xs_replier_send_begin(struct xs_sock *xs, struct xs_tx *tx);
int xs_replier_send_prepare(struct xs_sock *xs, struct xs_tx *tx);
void xs_replier_send_end(struct xs_sock *xs, struct xs_tx *tx);

/* Helpers shared by the patterns (pattern.c). */
int xs_rr_attach(struct xs_sock *xs, struct xs_pipe_end *pe);
void xs_rr_detach(struct xs_sock *xs, struct xs_pipe_end *pe);
int xs_rr_send_begin(struct xs_sock *xs, struct xs_tx *tx);
void xs_reserved_send_end(struct xs_sock *xs, struct xs_tx *tx);
int xs_recv_only_attach(struct xs_sock *xs, struct xs_pipe_end *pe);
void xs_no_detach(struct xs_sock *xs, struct xs_pipe_end *pe);
void xs_deliver_all(struct xs_sock *xs, struct xs_record *rec,
		    struct xs_part *start);

#endif /* _AF_XS_H */
