// SPDX-License-Identifier: GPL-2.0
/*
 * AF_XS pipes: the connection between a connecting socket and the binder of
 * a name, with per-direction flow control (high-water marks in records and
 * the receiver's SO_RCVBUF in bytes) and delivery of records into the
 * receiver's queue, or onto the pipe while no binder is attached.
 */

#include <linux/slab.h>

#include "af_xs.h"
#include "trace.h"

static struct kmem_cache *xs_msg_cache __read_mostly;

int xs_pipe_init(void)
{
	xs_msg_cache = KMEM_CACHE(xs_msg, SLAB_ACCOUNT);
	return xs_msg_cache ? 0 : -ENOMEM;
}

void xs_pipe_exit(void)
{
	kmem_cache_destroy(xs_msg_cache);
}

struct xs_msg *xs_msg_alloc(void)
{
	return xs_msg_alloc_gfp(GFP_KERNEL_ACCOUNT);
}

struct xs_msg *xs_msg_alloc_gfp(gfp_t gfp)
{
	return kmem_cache_alloc(xs_msg_cache, gfp);
}

/* What the kernel holds for one xs_msg. */
size_t xs_msg_mem(void)
{
	return kmem_cache_size(xs_msg_cache);
}

void xs_msg_free(struct xs_msg *m)
{
	kmem_cache_free(xs_msg_cache, m);
}

struct xs_pipe *xs_pipe_create(struct xs_name *name)
{
	struct xs_pipe *p = kzalloc(sizeof(*p), GFP_KERNEL_ACCOUNT);
	int i;

	if (!p)
		return NULL;
	refcount_set(&p->ref, 1);
	for (i = 0; i < 2; i++) {
		p->end[i].pipe = p;
		p->end[i].idx = i;
		INIT_LIST_HEAD(&p->end[i].node);
		INIT_LIST_HEAD(&p->end[i].subs);
		atomic_set(&p->end[i].inflight, 0);
	}
	INIT_LIST_HEAD(&p->pending);
	INIT_LIST_HEAD(&p->name_node);
	INIT_LIST_HEAD(&p->orphan_node);
	p->name = name;
	return p;
}

void xs_pipe_put(struct xs_pipe *p)
{
	if (!refcount_dec_and_test(&p->ref))
		return;
	if (p->cred)
		put_cred(p->cred);
	kfree(p);
}

/* The route lock of the sender (@from, at end @me) is held by all below. */

bool xs_pipe_has_room(struct xs_sock *from, struct xs_pipe_end *me)
{
	struct xs_pipe_end *to = xs_other_end(me);
	struct xs_sock *rx = to->xs;
	s64 limit = READ_ONCE(from->sndhwm);

	lockdep_assert_held(&from->route_lock);
	/*
	 * An end joining us is on our list before it is ours (pipe.c,
	 * xs_pipe_join()): nothing may leave through it until then, or the
	 * ownership check at delivery would drop what we reserved.
	 */
	if (READ_ONCE(me->xs) != from)
		return false;
	if (rx) {
		if (xs_rx_full(rx))
			return false;
		/*
		 * Each side's high-water mark counts on its own (0: that side
		 * sets no limit), so a sender without one cannot switch off
		 * the receiver's.  In 64 bits: INT_MAX + INT_MAX.
		 */
		limit += READ_ONCE(rx->rcvhwm);
	} else if (from->pending_mem >= (size_t)READ_ONCE(from->sk.sk_sndbuf)) {
		/*
		 * Nobody bound yet: only our side holds records, charged to
		 * our SO_SNDBUF over all our pipes together.
		 */
		return false;
	}
	return !limit || atomic_read(&to->inflight) < limit;
}

/* Keep one record's room on the pipe; only this sender increments it. */
bool xs_pipe_reserve(struct xs_sock *from, struct xs_pipe_end *me)
{
	if (!xs_pipe_has_room(from, me))
		return false;
	atomic_inc(&xs_other_end(me)->inflight);
	return true;
}

/* Give back a reservation that no record used (no lock needed). */
void xs_pipe_unreserve(struct xs_pipe_end *me)
{
	atomic_dec(&xs_other_end(me)->inflight);
}

/*
 * Ready @m for reader @rx: its identity head (XREP-like patterns) and where
 * in the record reading starts.  Non-zero: drop it.
 */
static int xs_msg_prepare(struct xs_sock *rx, struct xs_msg *m)
{
	struct xs_pipe_end *to = m->to;

	/* a PUB keeps nothing it could never read */
	if (!rx->pat->can_recv)
		return -EINVAL;
	if (rx->pat->prefix_identity) {
		m->head = kmalloc(struct_size(m->head, data, to->id_len),
				  GFP_KERNEL_ACCOUNT);
		if (!m->head)
			return -ENOMEM;
		m->head->len = to->id_len;
		memcpy(m->head->data, to->id, to->id_len);
	}
	if (rx->pat->recv_start && !rx->pat->recv_start(rx, m))
		return -EINVAL;
	return 0;
}

/*
 * A reader with a ring (ring.c) whose queue is empty gets a copy of @rec
 * there, within the ring's room and outside the pipe's limits, which
 * count the queue behind the ring.  False: queue it.
 */
static bool xs_deliver_ring(struct xs_sock *from, struct xs_pipe_end *me,
			    struct xs_record *rec, struct xs_part *start)
{
	struct xs_sock *rx;

	/* only while @me is ours does our route lock keep @rx alive */
	if (READ_ONCE(me->xs) != from)
		return false;
	rx = xs_other_end(me)->xs;
	if (!rx || !READ_ONCE(rx->ring) ||
	    !xs_ring_put(rx, rec, start ?: xs_rec_first(rec)))
		return false;
	if (from->defer_wakes && !xs_ring_filling(rx))
		xs_defer_wake(from, me);
	else
		xs_ring_wake(rx);
	return true;
}

/*
 * Queue @rec to the other end of @me, to be read from part @start (NULL:
 * the first).  With @reserved (the xs_msg to use, which this consumes)
 * or @kept, the room was kept by xs_pipe_reserve(); otherwise the record
 * is dropped when the pipe is full.
 */
static void xs_pipe_deliver_one(struct xs_sock *from, struct xs_pipe_end *me,
				struct xs_record *rec, struct xs_msg *reserved,
				bool kept, struct xs_part *start)
{
	struct xs_pipe_end *to = xs_other_end(me);
	struct xs_pipe *p = me->pipe;
	struct xs_sock *rx;
	struct xs_msg *m = reserved;
	int reason = XS_REASON_FULL, err;

	lockdep_assert_held(&from->route_lock);
	if (reserved)
		kept = true;
	if (xs_deliver_ring(from, me, rec, start)) {
		if (reserved)
			xs_msg_free(reserved);
		if (kept)
			xs_pipe_unreserve(me);
		return;
	}
	if (!kept && !xs_pipe_reserve(from, me)) {
		if (READ_ONCE(me->xs) != from)
			reason = XS_REASON_NOPEER;
		goto dropped;
	}
	/*
	 * Is @me still ours?  A reply or a reservation may outlive our hold
	 * on the pipe (XS_UNBIND, and another socket bound the name since).
	 * Only while @me is ours does our route lock keep the socket at the
	 * other end alive (family.c, lifetimes).
	 */
	reason = XS_REASON_NOPEER;
	if (READ_ONCE(me->xs) != from)
		goto drop;
	rx = to->xs;
	if (!rx && to->idx == XS_CONN)
		goto drop;
	if (!m)
		m = xs_msg_alloc();
	reason = XS_REASON_NOMEM;
	if (!m)
		goto drop;
	reserved = NULL;
	refcount_inc(&rec->ref);
	refcount_inc(&p->ref);
	m->rec = rec;
	m->pipe = p;
	m->to = to;
	m->epoch = me->epoch;
	m->head = NULL;
	m->next = start ?: xs_rec_first(rec);
	m->reader = NULL;
	if (rx) {
		err = xs_msg_prepare(rx, m);
		if (err) {
			xs_msg_release(m);
			reason = err == -ENOMEM ? XS_REASON_NOMEM :
						  XS_REASON_REFUSED;
			goto drop;
		}
	}
	if (!rx) {
		list_add_tail(&m->node, &p->pending);
		m->charge = xs_msg_charge(m);
		p->pending_mem += m->charge;
		WRITE_ONCE(from->pending_mem, from->pending_mem + m->charge);
		return;
	}
	if (from->defer_wakes)
		xs_defer_wake(from, me);
	/* a reader that fell a batch behind is woken at once all the same */
	xs_rx_enqueue(rx, m, !from->defer_wakes ||
		      (from->more_owed &&
		       READ_ONCE(rx->rx_count) + 1 >= XS_WAKE_BATCH));
	return;

drop:
	if (reserved)
		xs_msg_free(reserved);
	xs_pipe_unreserve(me);
dropped:
	/* while @me is ours, our route lock keeps the receiver alive */
	rx = READ_ONCE(me->xs) == from ? to->xs : NULL;
	xs_drop(from, rx, reason);
}

void xs_pipe_deliver(struct xs_sock *from, struct xs_pipe_end *me,
		     struct xs_record *rec, struct xs_msg *reserved,
		     struct xs_part *start)
{
	xs_pipe_deliver_one(from, me, rec, reserved, false, start);
}

/* Room for @rec was reserved on @me (XS_LOSSLESS); its xs_msg was not. */
void xs_pipe_deliver_reserved(struct xs_sock *from, struct xs_pipe_end *me,
			      struct xs_record *rec)
{
	xs_pipe_deliver_one(from, me, rec, NULL, true, NULL);
}

/*
 * Wake-ups deferred over a sendmmsg batch (MSG_BATCH on every entry but
 * the last): a reader is woken once per batch, not once per record.  The
 * sender's end of each pipe it delivered to is marked; the last entry
 * flushes the marks.  Should the batch end early (sendmmsg stops at a bad
 * entry without calling us), a work item flushes soon after: it checks
 * every tick and flushes once a tick passed without a batched delivery,
 * or after XS_WAKE_DEFER_TICKS at most (a sender that never ends its
 * batch cannot keep readers asleep), so no reader sleeps on a non-empty
 * queue for long.
 *
 * A record sent with MSG_MORE (and MSG_EOR) says "more follow soon": it is
 * queued at once, as any record, and only its wake-up waits, for the next
 * record sent without MSG_MORE, for the reader's queue to hold
 * XS_WAKE_BATCH records (then that reader is woken at once), for the
 * sender to block, or for the work item's first tick, whichever comes
 * first.  An idle sender's last record is thus late by one tick at most.
 */
#define XS_WAKE_DEFER_TICKS	25

/* route lock held */
void xs_defer_wake(struct xs_sock *xs, struct xs_pipe_end *me)
{
	me->wake_pending = true;
	xs->batch_deliveries++;
	if (xs->wakes_owed)
		return;
	xs->wakes_owed = true;
	xs->wake_ticks = 0;
	xs->wake_seen = xs->batch_deliveries;
	sock_hold(&xs->sk);
	if (!queue_delayed_work(xs_wq, &xs->wake_work, 1))
		sock_put(&xs->sk);
}

/* route lock held */
void xs_flush_wakes(struct xs_sock *xs)
{
	struct xs_pipe_end *pe;
	struct xs_sock *rx;

	lockdep_assert_held(&xs->route_lock);
	if (!xs->wakes_owed)
		return;
	xs->wakes_owed = false;
	xs->more_owed = false;
	list_for_each_entry(pe, &xs->pipes, node) {
		if (!pe->wake_pending)
			continue;
		pe->wake_pending = false;
		rx = xs_other_end(pe)->xs;
		if (rx && rx->ring)
			xs_ring_wake(rx);
		else if (rx)
			rx->sk.sk_data_ready(&rx->sk);
	}
}

/* The safety net: holds a socket reference, taken when scheduled. */
void xs_wake_work(struct work_struct *work)
{
	struct xs_sock *xs = container_of(to_delayed_work(work),
					  struct xs_sock, wake_work);

	mutex_lock(&xs->route_lock);
	if (xs->wakes_owed && !xs->more_owed &&
	    xs->batch_deliveries != xs->wake_seen &&
	    ++xs->wake_ticks < XS_WAKE_DEFER_TICKS) {
		/* the batch is still going: look again next tick */
		xs->wake_seen = xs->batch_deliveries;
		mutex_unlock(&xs->route_lock);
		if (queue_delayed_work(xs_wq, &xs->wake_work, 1))
			return;		/* keeps our reference */
		sock_put(&xs->sk);
		return;
	}
	xs_flush_wakes(xs);
	mutex_unlock(&xs->route_lock);
	sock_put(&xs->sk);
}

static atomic_t xs_next_identity = ATOMIC_INIT(0);

/* xs_topo_lock held: @pe will know its peer @xs by this identity. */
static void xs_identity_of(struct xs_sock *xs, struct xs_pipe_end *pe)
{
	if (xs->identity_len) {
		pe->id_len = xs->identity_len;
		memcpy(pe->id, xs->identity, pe->id_len);
		return;
	}
	/* generated identities start with a zero byte, user ones cannot */
	pe->id_len = 5;
	pe->id[0] = 0;
	put_unaligned_be32(atomic_inc_return(&xs_next_identity), pe->id + 1);
}

/* A waiting record of @p that will never be read: drop it, counted. */
static void xs_pending_drop(struct xs_sock *rx, struct xs_sock *sender,
			    struct xs_msg *m)
{
	list_del(&m->node);
	atomic_dec(&m->to->inflight);
	xs_drop(sender, rx, XS_REASON_UNREAD);
	xs_msg_release(m);
}

/*
 * The binder @xs takes the records that waited on @p for it (the
 * connector @sender's route lock held, or @sender NULL: an orphan): each
 * gets its identity head and start, then they join its queue as far as
 * its limits allow.  What it cannot take or read is dropped and counted.
 */
static void xs_pending_take(struct xs_sock *xs, struct xs_pipe *p,
			    struct xs_sock *sender)
{
	struct xs_msg *m, *tmp;

	list_for_each_entry_safe(m, tmp, &p->pending, node)
		if (xs_msg_prepare(xs, m))
			xs_pending_drop(xs, sender, m);
	xs_rx_splice(xs, &p->pending);
	list_for_each_entry_safe(m, tmp, &p->pending, node)
		xs_pending_drop(xs, sender, m);
	if (sender)
		WRITE_ONCE(sender->pending_mem,
			   sender->pending_mem - p->pending_mem);
	p->pending_mem = 0;
}

/*
 * xs_topo_lock held.  Join end @idx of @p to @xs.  The pattern may refuse
 * with -EBUSY.  The end becomes visible to the socket at the other end
 * under that socket's route lock, together with the records that waited
 * for it, so that they stay ahead of anything sent later.
 */
int xs_pipe_join(struct xs_pipe *p, int idx, struct xs_sock *xs)
{
	struct xs_pipe_end *me = &p->end[idx];
	struct xs_sock *peer = p->end[!idx].xs;
	int err;

	lockdep_assert_held(&xs_topo_lock);
	/* a reply kept for this end's previous socket must not reach @xs */
	WRITE_ONCE(me->epoch, me->epoch + 1);
	/*
	 * The binder will know the connector by this identity, even if the
	 * connector is gone by then (an orphan's records, XS_LINGER).
	 */
	if (idx == XS_CONN)
		xs_identity_of(xs, &p->end[XS_BIND]);
	if (peer) {
		/* both sides learn the other's identity before either sends */
		mutex_lock(&peer->route_lock);
		xs_identity_of(xs, &p->end[!idx]);
		mutex_unlock(&peer->route_lock);
		xs_identity_of(peer, me);
	}
	mutex_lock(&xs->route_lock);
	err = xs->pat->attach(xs, me);
	if (!err) {
		list_add_tail(&me->node, &xs->pipes);
		WRITE_ONCE(xs->npipes, xs->npipes + 1);
		/* with no peer, nobody else reads it: ours at once */
		if (!peer)
			WRITE_ONCE(me->xs, xs);
	}
	mutex_unlock(&xs->route_lock);
	if (err)
		return err;
	trace_xs_pipe_attach(xs, idx, READ_ONCE(xs->npipes));

	if (!peer) {
		/* a sender of ours may have been waiting for a destination */
		xs_wake_writer(xs);
		/* an orphan's records (XS_LINGER) finally have a reader */
		if (idx == XS_BIND)
			xs_pending_take(xs, p, NULL);
		return 0;
	}
	mutex_lock(&peer->route_lock);
	WRITE_ONCE(me->xs, xs);
	atomic_inc(&xs->npeers);
	atomic_inc(&peer->npeers);
	xs_pending_take(xs, p, peer);
	if (peer->pat->peer_attached)
		peer->pat->peer_attached(peer, &p->end[!idx]);
	mutex_unlock(&peer->route_lock);
	xs_event_pipe(p, p->end[XS_CONN].xs, p->end[XS_BIND].xs, true);
	/*
	 * Either side may have been waiting for a destination, or for room;
	 * ours only now that the end is ours (xs_pipe_has_room()).
	 */
	xs_wake_writer(xs);
	xs_wake_writer(peer);
	return 0;
}

/*
 * xs_topo_lock held.  Take end @idx of @p off its socket.  With @purge, the
 * records queued to that end and not yet read are discarded (the socket
 * is leaving); without, they stay with it (the other side left).
 */
void xs_pipe_leave(struct xs_pipe *p, int idx, bool purge)
{
	struct xs_pipe_end *me = &p->end[idx];
	struct xs_sock *xs = me->xs;
	struct xs_sock *peer = p->end[!idx].xs;

	lockdep_assert_held(&xs_topo_lock);
	if (!xs)
		return;
	/*
	 * First hide @xs from the peer: once its route lock has been taken,
	 * the peer can neither deliver to @xs through @p nor add state to
	 * @xs's pattern (a subscription) that the detach below would miss.
	 */
	if (peer) {
		mutex_lock(&peer->route_lock);
		WRITE_ONCE(me->xs, NULL);
		atomic_dec(&xs->npeers);
		atomic_dec(&peer->npeers);
		mutex_unlock(&peer->route_lock);
		xs_event_pipe(p, idx == XS_CONN ? xs : peer,
			      idx == XS_CONN ? peer : xs, false);
	} else {
		WRITE_ONCE(me->xs, NULL);
	}

	mutex_lock(&xs->route_lock);
	xs_flush_wakes(xs);	/* before the pipe leaves the list it walks */
	list_del_init(&me->node);
	WRITE_ONCE(xs->npipes, xs->npipes - 1);
	xs->pat->detach(xs, me);
	mutex_unlock(&xs->route_lock);
	trace_xs_pipe_detach(xs, idx, READ_ONCE(xs->npipes));
	if (purge)
		xs_rx_purge(xs, me, false);
	/* a sender waiting for room on this pipe (XS_LOSSLESS) looks again */
	xs_wake_writer(xs);
}

/* xs_topo_lock held.  The connector is done with @p: tear it down. */
void xs_pipe_destroy(struct xs_pipe *p)
{
	struct xs_sock *conn = p->end[XS_CONN].xs;
	struct xs_msg *m, *tmp;

	xs_pipe_leave(p, XS_CONN, true);
	/* the connector, still open, stops paying for what waited on @p */
	if (conn) {
		mutex_lock(&conn->route_lock);
		WRITE_ONCE(conn->pending_mem,
			   conn->pending_mem - p->pending_mem);
		mutex_unlock(&conn->route_lock);
	}
	xs_pipe_leave(p, XS_BIND, false);
	list_for_each_entry_safe(m, tmp, &p->pending, node) {
		list_del(&m->node);
		atomic_dec(&m->to->inflight);
		xs_msg_release(m);
	}
	p->pending_mem = 0;
	list_del_init(&p->name_node);
	xs_pipe_put(p);
}
