// SPDX-License-Identifier: GPL-2.0
/*
 * AF_XS drop accounting, statistics and events.
 *
 * Every record the module gives up on goes through xs_drop(), which
 * counts it at the socket that dropped it (XS_DROPS) and at the one it
 * was meant for (XS_MISSED), each by reason (struct xs_stats), fires the
 * xs_record_dropped tracepoint and reports it to monitors.
 *
 * Events.  A monitor is an AF_XS socket of protocol XSPROTO_MONITOR.
 * setsockopt(XS_MONITOR) points it, once, at one other AF_XS socket (the
 * target), given by a descriptor the caller holds: it must be in the
 * monitor's network namespace and belong to the caller's fsuid, unless
 * the caller has CAP_NET_ADMIN over that namespace.  A target has at most
 * one monitor.  Events are records in the monitor's ordinary receive
 * queue (one struct xs_event and its data, one part), so recv, recvmmsg,
 * poll and epoll work unchanged.  They are bounded as any receive queue:
 * by the monitor's XS_RCVHWM (records) and SO_RCVBUF (what the kernel
 * holds for them, counted as for any record), and charged to the memory
 * cgroup of the task that created the monitor, whoever causes them.  An
 * event that does not fit, or finds no memory, is lost and counted.
 *
 * Lifetimes and locking.  Neither socket holds a reference on the other.
 * The links (target->monitor, RCU; monitor->mon_target) are written under
 * xs_mon_lock (a spinlock, taken under no lock of ours but rx_lock is
 * never taken inside it) by XS_MONITOR and by whichever of the two closes
 * first.  An emitter reads target->monitor under rcu_read_lock() and pins
 * the monitor with a socket reference (sockets are SOCK_RCU_FREE), then
 * allocates without any spinlock and queues under the monitor's rx_lock,
 * where mon_dead (set by a closing monitor before it purges its queue)
 * and the limits are checked.  Emitters run in process context under
 * whatever mutexes their caller holds (topology, route, sub lock) and
 * take none.  A target that closes queues XS_EVENT_CLOSED and shuts the
 * monitor's receive side, so its reader gets 0 once the queue is empty.
 */

#include <linux/cred.h>
#include <linux/file.h>
#include <linux/memcontrol.h>
#include <linux/sched/mm.h>

#include "af_xs.h"
#include "trace.h"

static DEFINE_SPINLOCK(xs_mon_lock);

/* The inode of @xs, or 0 once it is orphaned (RCU read side held). */
static unsigned long xs_ino_rcu(struct xs_sock *xs)
{
	struct socket *sock;

	if (!xs)
		return 0;
	sock = READ_ONCE(xs->sk.sk_socket);
	return sock ? SOCK_INODE(sock)->i_ino : 0;
}

/* rx_lock held: the event about to be queued carries the loss before it. */
static void xs_event_stamp(struct xs_sock *mon, struct xs_msg *m)
{
	struct xs_event *ev = (struct xs_event *)m->next->data;

	ev->lost = mon->mon_lost_pending;
	mon->mon_lost_pending = 0;
}

static void xs_event_lost(struct xs_sock *mon)
{
	atomic64_inc(&mon->mon_lost);
	spin_lock(&mon->rx_lock);
	mon->mon_lost_pending++;
	spin_unlock(&mon->rx_lock);
}

/* Queue one event on monitor @mon (a reference held); may sleep. */
static void xs_event_queue(struct xs_sock *mon, struct xs_sock *xs, u16 type,
			   u16 reason, struct xs_sock *peer, const void *data,
			   u32 len)
{
	gfp_t gfp = GFP_KERNEL_ACCOUNT | __GFP_NOWARN;
	struct mem_cgroup *old;
	struct xs_record *rec;
	struct xs_part *part = NULL;
	struct xs_msg *m = NULL;
	struct xs_event *ev;

	old = set_active_memcg(mon->mon_memcg);
	rec = xs_record_alloc_gfp(gfp);
	if (rec)
		part = kmalloc(struct_size(part, data, sizeof(*ev) + len), gfp);
	if (part)
		m = xs_msg_alloc_gfp(gfp);
	set_active_memcg(old);
	if (!m) {
		kfree(part);
		if (rec)
			xs_record_put(rec);
		xs_event_lost(mon);
		return;
	}
	part->len = sizeof(*ev) + len;
	ev = (struct xs_event *)part->data;
	memset(ev, 0, sizeof(*ev));
	ev->type = type;
	ev->reason = reason;
	ev->len = len;
	ev->ino = mon->mon_ino;
	rcu_read_lock();
	ev->peer = xs_ino_rcu(peer);
	rcu_read_unlock();
	ev->peers = xs ? atomic_read(&xs->npeers) : 0;
	if (len)
		memcpy(ev + 1, data, len);
	xs_record_append(rec, part);
	m->rec = rec;		/* our reference moves to the message */
	m->pipe = NULL;		/* not flow-controlled by a pipe */
	m->to = NULL;
	m->head = NULL;
	m->next = part;
	m->epoch = 0;
	m->reader = NULL;
	if (!xs_rx_enqueue_within(mon, m, xs_event_stamp)) {
		xs_msg_release(m);
		xs_event_lost(mon);
	}
}

/*
 * Report @type about @xs to its monitor, if it has one that wants it.
 * @peer: the other socket concerned (or NULL); @data, @len: a name or a
 * prefix.  Process context; takes no mutex.
 */
void xs_event(struct xs_sock *xs, u16 type, u16 reason, struct xs_sock *peer,
	      const void *data, u32 len)
{
	struct xs_sock *mon;

	if (!xs || !xs_monitored(xs))
		return;
	rcu_read_lock();
	mon = rcu_dereference(xs->monitor);
	if (mon && !refcount_inc_not_zero(&mon->sk.sk_refcnt))
		mon = NULL;
	rcu_read_unlock();
	if (!mon)
		return;
	if (READ_ONCE(mon->mon_events) & type)
		xs_event_queue(mon, xs, type, reason, peer, data, len);
	sock_put(&mon->sk);
}

/*
 * xs_topo_lock held: pipe @p between @conn and @binder was connected
 * (@up) or came apart.  Each side hears of it.
 */
void xs_event_pipe(struct xs_pipe *p, struct xs_sock *conn,
		   struct xs_sock *binder, bool up)
{
	u32 len = p->addr ? p->addr_len : 0;

	lockdep_assert_held(&xs_topo_lock);
	xs_event(conn, up ? XS_EVENT_CONNECTED : XS_EVENT_DISCONNECTED, 0,
		 binder, p->addr, len);
	xs_event(binder, up ? XS_EVENT_ACCEPTED : XS_EVENT_DISCONNECTED, 0,
		 conn, p->addr, len);
}

/* The trace's coarser reasons. */
static enum xs_drop_reason xs_trace_reason(int reason)
{
	switch (reason) {
	case XS_REASON_UNREAD:
		return XS_DROP_UNREAD;
	case XS_REASON_STALE:
		return XS_DROP_STALE_REPLY;
	default:
		return XS_DROP_PIPE;
	}
}

/*
 * A record from @from to @to (either may be NULL: gone or not known) is
 * dropped for @reason (XS_REASON_x).  Process context.
 */
void xs_drop(struct xs_sock *from, struct xs_sock *to, int reason)
{
	if (from) {
		atomic64_inc(&from->drops);
		atomic64_inc(&from->drops_by[reason]);
	}
	if (to) {
		atomic64_inc(&to->missed);
		atomic64_inc(&to->missed_by[reason]);
	}
	trace_xs_record_dropped(from, to, xs_trace_reason(reason));
	xs_event(from, XS_EVENT_DROPPED, reason, to, NULL, 0);
	xs_event(to, XS_EVENT_MISSED, reason, from, NULL, 0);
}

/* XS_STATS and the sock_diag XS_DIAG_STATS attribute.  No lock held. */
void xs_stats_fill(struct xs_sock *xs, struct xs_stats *st)
{
	struct xs_pipe_end *pe;
	int i;

	memset(st, 0, sizeof(*st));
	mutex_lock(&xs->route_lock);
	st->sent_records = xs->sent_records;
	st->sent_bytes = xs->sent_bytes;
	st->tx_pending_mem = xs->pending_mem;
	list_for_each_entry(pe, &xs->pipes, node)
		st->tx_queued += atomic_read(&xs_other_end(pe)->inflight);
	mutex_unlock(&xs->route_lock);
	st->recv_records = atomic64_read(&xs->recv_records);
	st->recv_bytes = atomic64_read(&xs->recv_bytes);
	st->drops = atomic64_read(&xs->drops);
	st->missed = atomic64_read(&xs->missed);
	for (i = 0; i < XS_REASON_MAX; i++) {
		st->drops_by[i] = atomic64_read(&xs->drops_by[i]);
		st->missed_by[i] = atomic64_read(&xs->missed_by[i]);
	}
	st->peers = atomic_read(&xs->npeers);
	st->rx_records = READ_ONCE(xs->rx_count);
	st->rx_bytes = READ_ONCE(xs->rx_bytes);
	st->rx_mem = READ_ONCE(xs->rx_mem);
	xs_pub_counts(xs, &st->subscribers, &st->prefixes);
	st->events_lost = atomic64_read(&xs->mon_lost);
}

/* ---- the monitor socket ------------------------------------------------ */

static int xs_monitor_init(struct xs_sock *xs)
{
	/* events are charged here, whoever causes them */
	xs->mon_memcg = get_mem_cgroup_from_mm(current->mm);
	return 0;
}

static void xs_monitor_free(struct xs_sock *xs)
{
	mem_cgroup_put(xs->mon_memcg);
	xs->mon_memcg = NULL;
}

/* Is the caller allowed to watch @t from monitor @mon? */
static int xs_may_monitor(struct xs_sock *mon, struct xs_sock *t)
{
	struct net *net = sock_net(&t->sk);

	if (!net_eq(net, sock_net(&mon->sk)))
		return -EPERM;
	if (uid_eq(sock_i_uid(&t->sk), current_fsuid()))
		return 0;
	return ns_capable(net->user_ns, CAP_NET_ADMIN) ? 0 : -EPERM;
}

static int xs_monitor_set(struct xs_sock *xs, sockptr_t optval,
			  unsigned int optlen)
{
	struct xs_monitor_req req;
	struct socket *sock;
	struct xs_sock *t;
	unsigned long ino;
	int err;

	if (optlen != sizeof(req))
		return -EINVAL;
	if (copy_from_sockptr(&req, optval, sizeof(req)))
		return -EFAULT;
	if (req.events & ~XS_EVENT_ALL)
		return -EINVAL;
	sock = sockfd_lookup(req.fd, &err);
	if (!sock)
		return err;
	err = -EINVAL;
	if (!xs_is_xs_socket(sock) || !sock->sk)
		goto out;
	t = xs_sk(sock->sk);
	if (t->pat == &xs_monitor_pattern)
		goto out;
	err = xs_may_monitor(xs, t);
	if (err)
		goto out;
	ino = sock_i_ino(&t->sk);
	/* our caller's file reference keeps @t from closing meanwhile */
	spin_lock(&xs_mon_lock);
	if (xs->mon_used) {
		err = -EISCONN;
	} else if (rcu_access_pointer(t->monitor)) {
		err = -EBUSY;
	} else {
		WRITE_ONCE(xs->mon_events, req.events ?: XS_EVENT_ALL);
		xs->mon_ino = ino;
		xs->mon_used = true;
		xs->mon_target = t;
		rcu_assign_pointer(t->monitor, xs);
		err = 0;
	}
	spin_unlock(&xs_mon_lock);
out:
	sockfd_put(sock);
	return err;
}

static int xs_monitor_setsockopt(struct xs_sock *xs, int optname,
				 sockptr_t optval, unsigned int optlen)
{
	if (optname != XS_MONITOR)
		return -ENOPROTOOPT;
	return xs_monitor_set(xs, optval, optlen);
}

/*
 * Socket release, after its names (and pipes) are gone, before its queue
 * is purged.  A monitor stops taking events and leaves its target; a
 * target tells its monitor it closed and leaves it.
 */
void xs_monitor_close(struct xs_sock *xs)
{
	struct xs_sock *mon, *t;

	if (xs->pat == &xs_monitor_pattern) {
		spin_lock(&xs->rx_lock);
		xs->mon_dead = true;
		spin_unlock(&xs->rx_lock);
		spin_lock(&xs_mon_lock);
		t = xs->mon_target;
		if (t) {
			RCU_INIT_POINTER(t->monitor, NULL);
			xs->mon_target = NULL;
		}
		spin_unlock(&xs_mon_lock);
		return;
	}
	if (!xs_monitored(xs))
		return;
	spin_lock(&xs_mon_lock);
	mon = rcu_dereference_protected(xs->monitor,
					lockdep_is_held(&xs_mon_lock));
	if (mon) {
		RCU_INIT_POINTER(xs->monitor, NULL);
		mon->mon_target = NULL;
		/* alive: it would have unlinked us under this lock */
		sock_hold(&mon->sk);
	}
	spin_unlock(&xs_mon_lock);
	if (!mon)
		return;
	if (READ_ONCE(mon->mon_events) & XS_EVENT_CLOSED)
		xs_event_queue(mon, xs, XS_EVENT_CLOSED, 0, NULL, NULL, 0);
	lock_sock(&mon->sk);
	WRITE_ONCE(mon->sk.sk_shutdown, mon->sk.sk_shutdown | RCV_SHUTDOWN);
	release_sock(&mon->sk);
	mon->sk.sk_state_change(&mon->sk);
	sock_put(&mon->sk);
}

const struct xs_pattern xs_monitor_pattern = {
	.proto		= XSPROTO_MONITOR,
	.name		= "MONITOR",
	.peers		= 0,
	.can_recv	= true,
	.attach		= xs_recv_only_attach,
	.detach		= xs_no_detach,
	.init		= xs_monitor_init,
	.release	= xs_monitor_free,
	.setsockopt	= xs_monitor_setsockopt,
};
