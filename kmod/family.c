// SPDX-License-Identifier: GPL-2.0
/*
 * AF_XS: the socket family, its socket calls and the module's life.
 *
 * Implementation notes
 * ====================
 *
 * Objects
 *   xs_sock     a socket of one pattern (PAIR, PUSH, ...).  Owns its names
 *               (struct xs_ep), the pipe ends attached to it, the records
 *               its threads are assembling (xs_tx) and its receive queue.
 *   xs_name     a name: at most one binder and a list of pipes.  Abstract
 *               names are in their network namespace's table; filesystem
 *               names are keyed by inodes in one table (name.c).
 *   xs_pipe     one connection: created by connect(), it lives until the
 *               connector disconnects or closes.  Its binder end attaches
 *               to whichever socket binds the name and detaches when that
 *               socket goes; records for a missing binder wait on the pipe.
 *   xs_record   a complete record: a list of parts, copied from the sender
 *               once and shared read-only by every receiver (refcounted).
 *   xs_msg      one receiver's handle on a record, queued on its rxq.
 *
 * Lifetimes and references
 *   - A pipe is referenced by its connector's endpoint, by each xs_msg
 *     routed through it and by each xs_tx that reserved room on it.
 *   - A record is referenced by the xs_tx building it and by each xs_msg.
 *   - Sockets are freed after an RCU grace period (SOCK_RCU_FREE), so a
 *     receiver may wake the sender at the other end of a pipe under
 *     rcu_read_lock() after reading the end pointer with READ_ONCE().
 *   - A socket is only freed after it has detached from every pipe, and
 *     detaching takes the route lock of the socket at the other end; a
 *     sender that found its peer under its own route lock may therefore
 *     use it until it drops that lock.
 *
 * Flow control
 *   pipe_end.inflight counts records queued to (or reserved for) that end.
 *   Only the socket at the other end increments it, under its route lock;
 *   the receiver decrements it when it dequeues and wakes that sender.
 *
 * Wake-ups
 *   A reader is woken only if it sleeps (sk_data_ready checks for
 *   waiters), and a sendmmsg batch wakes it once, after its last entry
 *   (pipe.c, xs_defer_wake()).  Writers are woken only for patterns that
 *   wait for room.
 *
 * Other lifetimes
 *   An orphan pipe (XS_LINGER after its connector closed) lives on its
 *   name until a binder takes its records or its delayed work expires it
 *   (name.c).  A socket's deferred wake-up work holds a socket reference.
 *
 * Lock order (outermost first)
 *   xs_topo_lock (mutex, global: names, endpoints, attach/detach).  No
 *   filesystem call (path walk, mknod, permission check, path_put) runs
 *   under it: name.c does those before locking or after unlocking, and
 *   whoever may have retired a name unlocks with xs_topo_unlock(), which
 *   releases the retired names' paths after dropping the mutex.
 *     -> xs->route_lock (mutex, per socket: its pipe list, routing state;
 *        never two route locks at once)
 *       -> rx->rx_lock (spinlock, per socket: rxq and reading list)
 *   xs->tx_lock (spinlock, per socket: list of records in progress) is a
 *   leaf lock.  Options are written under lock_sock() and read with
 *   READ_ONCE().
 */

#include <linux/module.h>
#include <linux/net.h>
#include <linux/poll.h>
#include <asm/ioctls.h>
#include <linux/sockios.h>
#include <linux/sched/signal.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "af_xs.h"

int xs_family = AF_XS_DEFAULT;
module_param_named(family, xs_family, int, 0444);
MODULE_PARM_DESC(family, "address family number of AF_XS");

/* Topology: names, endpoints, pipe attach/detach (see lock order above). */
DEFINE_MUTEX(xs_topo_lock);

/*
 * Every work item of the module (orphan expiry, deferred wake-ups) runs on
 * this queue, so that module exit can wait for the last one to finish.
 */
struct workqueue_struct *xs_wq;

/*
 * Default socket buffers: large enough for ZeroMQ-sized messages, which
 * the net.core defaults (about 200 KiB) are not; root sets them here.
 * SO_SNDBUF/SO_RCVBUF still cap what a user asks for at wmem_max/rmem_max.
 */
static unsigned int xs_sndbuf_default = 4 << 20;
module_param_named(sndbuf_default, xs_sndbuf_default, uint, 0644);
MODULE_PARM_DESC(sndbuf_default, "SO_SNDBUF of a new AF_XS socket, bytes");
static unsigned int xs_rcvbuf_default = 4 << 20;
module_param_named(rcvbuf_default, xs_rcvbuf_default, uint, 0644);
MODULE_PARM_DESC(rcvbuf_default, "SO_RCVBUF of a new AF_XS socket, bytes");

/*
 * Records alive in the whole module and their payload bytes, for root only
 * (a namespace's /proc/net/xs shows its own sockets' queues).
 */
static int xs_live_get(char *buf, const struct kernel_param *kp)
{
	s64 records, bytes;

	xs_live_read(&records, &bytes);
	return sysfs_emit(buf, "records %lld bytes %lld\n", records, bytes);
}

static const struct kernel_param_ops xs_live_ops = {
	.get	= xs_live_get,
};
module_param_cb(live, &xs_live_ops, NULL, 0400);
MODULE_PARM_DESC(live, "records alive in the module and their bytes");

static unsigned int xs_net_id __read_mostly;

static struct proto xs_proto = {
	.name		= "AF_XS",
	.owner		= THIS_MODULE,
	.obj_size	= sizeof(struct xs_sock),
};

static const struct xs_pattern *const xs_patterns[XSPROTO_MAX + 1] = {
	[XSPROTO_PAIR]		= &xs_pair_pattern,
	[XSPROTO_PUSH]		= &xs_push_pattern,
	[XSPROTO_PULL]		= &xs_pull_pattern,
	[XSPROTO_PUB]		= &xs_pub_pattern,
	[XSPROTO_SUB]		= &xs_sub_pattern,
	[XSPROTO_XPUB]		= &xs_xpub_pattern,
	[XSPROTO_XSUB]		= &xs_xsub_pattern,
	[XSPROTO_REQ]		= &xs_req_pattern,
	[XSPROTO_REP]		= &xs_rep_pattern,
	[XSPROTO_XREQ]		= &xs_xreq_pattern,
	[XSPROTO_XREP]		= &xs_xrep_pattern,
	[XSPROTO_SURVEYOR]	= &xs_surveyor_pattern,
	[XSPROTO_RESPONDENT]	= &xs_respondent_pattern,
	[XSPROTO_XSURVEYOR]	= &xs_xsurveyor_pattern,
	[XSPROTO_XRESPONDENT]	= &xs_xrespondent_pattern,
};

struct xs_net *xs_net(const struct net *net)
{
	return net_generic(net, xs_net_id);
}

static const struct proto_ops xs_ops;

/* Is @sock one of ours (XS_MONITOR's target)? */
bool xs_is_xs_socket(const struct socket *sock)
{
	return sock->ops == &xs_ops;
}

/* Wake threads waiting for room to send on @xs. */
void xs_wake_writer(struct xs_sock *xs)
{
	xs->sk.sk_write_space(&xs->sk);
}

/* Wake the senders at the other end of our pipes (our limits went up). */
static void xs_wake_peers(struct xs_sock *xs)
{
	struct xs_pipe_end *pe;
	struct xs_sock *peer;

	mutex_lock(&xs->route_lock);
	list_for_each_entry(pe, &xs->pipes, node) {
		/* stable under our route lock: @pe is ours */
		peer = xs_other_end(pe)->xs;
		if (peer)
			xs_wake_writer(peer);
	}
	mutex_unlock(&xs->route_lock);
}

static void xs_write_space(struct sock *sk)
{
	struct socket_wq *wq;

	rcu_read_lock();
	wq = rcu_dereference(sk->sk_wq);
	if (skwq_has_sleeper(wq))
		wake_up_interruptible_poll(&wq->wait, EPOLLOUT | EPOLLWRNORM |
					   EPOLLWRBAND);
	sk_wake_async(sk, SOCK_WAKE_SPACE, POLL_OUT);
	rcu_read_unlock();
}

static int xs_release(struct socket *sock)
{
	struct sock *sk = sock->sk;
	struct xs_sock *xs;

	if (!sk)
		return 0;
	xs = xs_sk(sk);

	WRITE_ONCE(sk->sk_shutdown, SHUTDOWN_MASK);
	sk->sk_state_change(sk);
	/* deliver the wake-ups a last batch still owes, then no more work */
	if (cancel_delayed_work_sync(&xs->wake_work))
		sock_put(sk);
	mutex_lock(&xs->route_lock);
	xs_flush_wakes(xs);
	mutex_unlock(&xs->route_lock);

	xa_erase(&xs_net(sock_net(sk))->socks, xs->proc_id);
	mutex_lock(&xs_topo_lock);
	xs_name_release_all(xs);
	xs_topo_unlock();	/* releases the paths of dead names */
	WARN_ON_ONCE(!list_empty(&xs->pipes));
	/* after the last DISCONNECTED event, before the queue goes */
	xs_monitor_close(xs);

	xs_tx_purge(xs);
	xs_rx_purge(xs, NULL, true);
	xs_ring_release(xs);
	if (xs->pat->release)
		xs->pat->release(xs);

	sock_orphan(sk);
	sock->sk = NULL;
	sock_prot_inuse_add(sock_net(sk), &xs_proto, -1);
	sock_put(sk);
	return 0;
}

static int xs_bind(struct socket *sock, struct sockaddr *addr, int addrlen)
{
	const char *name;
	int len = xs_name_parse(addr, addrlen, &name);

	if (len < 0)
		return len;
	if (!xs_sk(sock->sk)->pat->peers)
		return -EOPNOTSUPP;	/* a monitor has no peers */
	return xs_name_bind(xs_sk(sock->sk), name, len);
}

static int xs_connect(struct socket *sock, struct sockaddr *addr,
		      int addrlen, int flags)
{
	const char *name;
	int len = xs_name_parse(addr, addrlen, &name);

	if (len < 0)
		return len;
	if (!xs_sk(sock->sk)->pat->peers)
		return -EOPNOTSUPP;
	return xs_name_connect(xs_sk(sock->sk), name, len);
}

/* Would a first part be accepted now? */
static bool xs_writable(struct xs_sock *xs)
{
	bool ok;

	if (!xs->pat->send_begin)
		return true;
	/* a thread that died mid-record gives its reserved room back */
	xs_tx_gc(xs);
	mutex_lock(&xs->route_lock);
	ok = xs->pat->send_begin(xs, NULL) == 0;
	mutex_unlock(&xs->route_lock);
	return ok;
}

static __poll_t xs_poll(struct file *file, struct socket *sock,
			poll_table *wait)
{
	struct sock *sk = sock->sk;
	struct xs_sock *xs = xs_sk(sk);
	u8 shutdown = READ_ONCE(sk->sk_shutdown);
	__poll_t mask = 0;

	sock_poll_wait(file, sock, wait);

	if (shutdown == SHUTDOWN_MASK)
		mask |= EPOLLHUP;
	if (shutdown & RCV_SHUTDOWN)
		mask |= EPOLLRDHUP | EPOLLIN | EPOLLRDNORM;
	if (xs->pat->can_recv &&
	    (READ_ONCE(xs->rcv_held) || xs_ring_nonempty(xs) ||
	     xs_readable(xs) || xs_ring_arm(xs)))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (xs->pat->can_send && !(shutdown & SEND_SHUTDOWN) &&
	    xs_writable(xs))
		mask |= EPOLLOUT | EPOLLWRNORM;
	return mask;
}

static int xs_ioctl(struct socket *sock, unsigned int cmd, unsigned long arg)
{
	struct xs_sock *xs = xs_sk(sock->sk);

	switch (cmd) {
	case SIOCINQ:
		return put_user(xs_next_part_len(xs), (int __user *)arg);
	case SIOCOUTQ:
		/*
		 * What waits on our pipes for a binder (bytes the kernel
		 * holds): 0 once everything sent has reached a peer's queue.
		 */
		return put_user((int)min_t(size_t, READ_ONCE(xs->pending_mem),
					   INT_MAX), (int __user *)arg);
	default:
		return -ENOIOCTLCMD;
	}
}

static int xs_shutdown(struct socket *sock, int how)
{
	struct sock *sk = sock->sk;

	if (how < SHUT_RD || how > SHUT_RDWR)
		return -EINVAL;
	lock_sock(sk);
	WRITE_ONCE(sk->sk_shutdown, sk->sk_shutdown | (how + 1));
	release_sock(sk);
	sk->sk_state_change(sk);
	return 0;
}

static int xs_set_int(sockptr_t optval, unsigned int optlen, int min,
		      int *out)
{
	int val;

	if (optlen != sizeof(int))
		return -EINVAL;
	if (copy_from_sockptr(&val, optval, sizeof(val)))
		return -EFAULT;
	if (val < min)
		return -EINVAL;
	*out = val;
	return 0;
}

static int xs_setsockopt(struct socket *sock, int level, int optname,
			 sockptr_t optval, unsigned int optlen)
{
	struct sock *sk = sock->sk;
	struct xs_sock *xs = xs_sk(sk);
	char name[XS_IDENTITY_MAX];
	s64 val64;
	int val, err;

	BUILD_BUG_ON(sizeof(name) < XS_NAME_MAX);
	if (level != SOL_XS)
		return -ENOPROTOOPT;
	if (xs->pat->setsockopt) {
		err = xs->pat->setsockopt(xs, optname, optval, optlen);
		if (err != -ENOPROTOOPT)
			return err;
	}

	switch (optname) {
	case XS_SNDHWM:
	case XS_RCVHWM:
	case XS_LINGER:
	case XS_SURVEY_TIMEOUT:
		err = xs_set_int(optval, optlen, optname == XS_LINGER ||
				 optname == XS_SURVEY_TIMEOUT ? -1 : 0, &val);
		if (err)
			return err;
		lock_sock(sk);
		if (optname == XS_SNDHWM)
			WRITE_ONCE(xs->sndhwm, val);
		else if (optname == XS_RCVHWM)
			WRITE_ONCE(xs->rcvhwm, val);
		else if (optname == XS_LINGER)
			WRITE_ONCE(xs->linger, val);
		else
			WRITE_ONCE(xs->survey_timeout, val);
		release_sock(sk);
		/* a higher limit may let blocked senders (ours or peers') in */
		if (optname == XS_RCVHWM)
			xs_wake_peers(xs);
		else
			xs_wake_writer(xs);
		return 0;
	case XS_RCVHELD:
		if (!xs->pat->can_recv)
			return -EOPNOTSUPP;
		err = xs_set_int(optval, optlen, 0, &val);
		if (err)
			return err;
		if (val > 1)
			return -EINVAL;
		WRITE_ONCE(xs->rcv_held, val);
		/* a poller already asleep must see it (no lock: a flag) */
		if (val)
			sk->sk_data_ready(sk);
		return 0;
	case XS_LOSSLESS:
		err = xs_set_int(optval, optlen, 0, &val);
		if (err)
			return err;
		if (val > 1 || !xs->pat->lossless_opt)
			return -EINVAL;
		lock_sock(sk);
		WRITE_ONCE(xs->lossless, val);
		release_sock(sk);
		/* a lossy publisher never waits: let waiting senders go */
		xs_wake_writer(xs);
		return 0;
	case XS_RX_RING:
		lock_sock(sk);
		err = xs_ring_setup(xs, optval, optlen);
		release_sock(sk);
		return err;
	case XS_MAXMSGSIZE:
		if (optlen != sizeof(s64))
			return -EINVAL;
		if (copy_from_sockptr(&val64, optval, sizeof(val64)))
			return -EFAULT;
		if (val64 < -1)
			return -EINVAL;
		WRITE_ONCE(xs->maxmsgsize, val64);
		return 0;
	case XS_IDENTITY:
		/* as Crossroads: 1 to 255 bytes, not starting with zero */
		if (optlen < 1 || optlen > XS_IDENTITY_MAX)
			return -EINVAL;
		if (copy_from_sockptr(name, optval, optlen))
			return -EFAULT;
		if (!name[0])
			return -EINVAL;
		/* the shape of a survey id, which ends an envelope */
		if (optlen == 4 && (name[0] & 0x80))
			return -EINVAL;
		/* read when pipes join, under the same lock */
		mutex_lock(&xs_topo_lock);
		memcpy(xs->identity, name, optlen);
		xs->identity_len = optlen;
		mutex_unlock(&xs_topo_lock);
		return 0;
	case XS_UNBIND:
	case XS_DISCONNECT:
		if (optlen < 1 || optlen > XS_NAME_MAX)
			return -EINVAL;
		if (copy_from_sockptr(name, optval, optlen))
			return -EFAULT;
		val = strnlen(name, optlen);
		if (!val)
			return -EINVAL;
		return xs_name_remove(xs, name, val, optname == XS_UNBIND);
	case XS_RCVMORE:
	case XS_SNDERR:
	case XS_TYPE:
	case XS_DROPS:
	case XS_MISSED:
	case XS_SUBSCRIBE:
	case XS_UNSUBSCRIBE:
	case XS_PEERS:
	case XS_SUBSCRIBERS:
	case XS_PREFIXES:
	case XS_STATS:
	case XS_MONITOR:
	case XS_EVENTS_LOST:
		return -EINVAL;
	default:
		return -ENOPROTOOPT;
	}
}

/* XS_STATS: as much of struct xs_stats as the caller's buffer holds. */
static int xs_get_stats(struct xs_sock *xs, char __user *optval,
			int __user *optlen, int len)
{
	struct xs_stats st;

	if (len < 0)
		return -EINVAL;
	len = min_t(unsigned int, len, sizeof(st));
	xs_stats_fill(xs, &st);
	if (copy_to_user(optval, &st, len) || put_user(len, optlen))
		return -EFAULT;
	return 0;
}

static int xs_getsockopt(struct socket *sock, int level, int optname,
			 char __user *optval, int __user *optlen)
{
	struct xs_sock *xs = xs_sk(sock->sk);
	union {
		int i;
		s64 s;
		u64 u;
	} v;
	int len, size = sizeof(int);

	if (level != SOL_XS)
		return -ENOPROTOOPT;
	if (get_user(len, optlen))
		return -EFAULT;
	if (optname == XS_IDENTITY) {
		u8 id[XS_IDENTITY_MAX];

		mutex_lock(&xs_topo_lock);
		size = xs->identity_len;
		memcpy(id, xs->identity, size);
		mutex_unlock(&xs_topo_lock);
		if (len < size)
			return -EINVAL;
		if (copy_to_user(optval, id, size) || put_user(size, optlen))
			return -EFAULT;
		return 0;
	}

	switch (optname) {
	case XS_SNDHWM:
		v.i = READ_ONCE(xs->sndhwm);
		break;
	case XS_RCVHWM:
		v.i = READ_ONCE(xs->rcvhwm);
		break;
	case XS_LINGER:
		v.i = READ_ONCE(xs->linger);
		break;
	case XS_SURVEY_TIMEOUT:
		v.i = READ_ONCE(xs->survey_timeout);
		break;
	case XS_TYPE:
		v.i = xs->pat->proto - 1;
		break;
	case XS_RCVMORE:
		v.i = xs_rcvmore(xs);
		break;
	case XS_RCVHELD:
		v.i = READ_ONCE(xs->rcv_held);
		break;
	case XS_SNDERR:
		v.i = xchg(&xs->snd_err, 0);
		break;
	case XS_RX_RING:
		v.i = xs_ring_size(xs);
		break;
	case XS_MAXMSGSIZE:
		v.s = READ_ONCE(xs->maxmsgsize);
		size = sizeof(s64);
		break;
	case XS_DROPS:
	case XS_MISSED:
		v.u = atomic64_read(optname == XS_DROPS ? &xs->drops :
				    &xs->missed);
		size = sizeof(u64);
		break;
	case XS_PEERS:
		v.i = atomic_read(&xs->npeers);
		break;
	case XS_SUBSCRIBERS:
	case XS_PREFIXES: {
		u32 subs, prefixes;

		if (xs_pub_counts(xs, &subs, &prefixes))
			return -EINVAL;
		v.i = optname == XS_SUBSCRIBERS ? subs : prefixes;
		break;
	}
	case XS_LOSSLESS:
		if (!xs->pat->lossless_opt)
			return -EINVAL;
		v.i = READ_ONCE(xs->lossless);
		break;
	case XS_STATS:
		return xs_get_stats(xs, optval, optlen, len);
	case XS_EVENTS_LOST:
		if (xs->pat != &xs_monitor_pattern)
			return -EINVAL;
		v.u = atomic64_read(&xs->mon_lost);
		size = sizeof(u64);
		break;
	case XS_MONITOR:
	case XS_UNBIND:
	case XS_DISCONNECT:
	case XS_SUBSCRIBE:
	case XS_UNSUBSCRIBE:
		return -EINVAL;
	default:
		return -ENOPROTOOPT;
	}
	if (len < size)
		return -EINVAL;
	if (copy_to_user(optval, &v, size) || put_user(size, optlen))
		return -EFAULT;
	return 0;
}

#define XS_SEND_FLAGS	(MSG_EOR | MSG_DONTWAIT | MSG_NOSIGNAL | MSG_BATCH | \
			 MSG_MORE | MSG_CMSG_COMPAT)
#define XS_RECV_FLAGS	(MSG_DONTWAIT | MSG_PEEK | MSG_TRUNC | MSG_WAITALL | \
			 MSG_CMSG_CLOEXEC | MSG_CMSG_COMPAT)

static int xs_sendmsg(struct socket *sock, struct msghdr *msg, size_t len)
{
	struct sock *sk = sock->sk;
	struct xs_sock *xs = xs_sk(sk);
	int flags = msg->msg_flags;

	if (flags & ~XS_SEND_FLAGS)
		return -EOPNOTSUPP;
	if (msg->msg_name || msg->msg_namelen)
		return -EISCONN;
	if (msg->msg_controllen)
		return -EINVAL;
	if (!xs->pat->can_send)
		return -EOPNOTSUPP;
	if (READ_ONCE(sk->sk_shutdown) & SEND_SHUTDOWN) {
		if (!(flags & MSG_NOSIGNAL))
			send_sig(SIGPIPE, current, 0);
		return -EPIPE;
	}
	if (len > INT_MAX)
		return -EMSGSIZE;
	return xs_send_part(xs, msg, len, flags);
}

static int xs_recvmsg(struct socket *sock, struct msghdr *msg, size_t len,
		      int flags)
{
	struct xs_sock *xs = xs_sk(sock->sk);

	if (flags & ~XS_RECV_FLAGS)
		return -EOPNOTSUPP;
	if (!xs->pat->can_recv)
		return -EOPNOTSUPP;
	msg->msg_namelen = 0;
	return xs_recv_part(xs, msg, len, flags);
}

static int xs_mmap(struct file *file, struct socket *sock,
		   struct vm_area_struct *vma)
{
	return xs_ring_mmap(xs_sk(sock->sk), vma);
}

/*
 * .family is informational (the socket layer keys on net_proto_family and
 * sk_family, which carry the module parameter's value).
 */
static const struct proto_ops xs_ops = {
	.family		= AF_XS_DEFAULT,
	.owner		= THIS_MODULE,
	.release	= xs_release,
	.bind		= xs_bind,
	.connect	= xs_connect,
	.socketpair	= sock_no_socketpair,
	.accept		= sock_no_accept,
	.getname	= sock_no_getname,
	.poll		= xs_poll,
	.ioctl		= xs_ioctl,
	.listen		= sock_no_listen,
	.shutdown	= xs_shutdown,
	.setsockopt	= xs_setsockopt,
	.getsockopt	= xs_getsockopt,
	.sendmsg	= xs_sendmsg,
	.recvmsg	= xs_recvmsg,
	.mmap		= xs_mmap,
};

static void xs_sock_init(struct xs_sock *xs, const struct xs_pattern *pat)
{
	int i;

	xs->pat = pat;
	INIT_LIST_HEAD(&xs->eps);
	mutex_init(&xs->route_lock);
	INIT_LIST_HEAD(&xs->pipes);
	xs->cursor = NULL;
	xs->npipes = 0;
	spin_lock_init(&xs->tx_lock);
	INIT_LIST_HEAD(&xs->txs);
	spin_lock_init(&xs->rx_lock);
	INIT_LIST_HEAD(&xs->rxq);
	INIT_LIST_HEAD(&xs->reading);
	xs->rx_count = 0;
	xs->rx_bytes = 0;
	xs->rx_mem = 0;
	xs->ring = NULL;
	xs->pending_mem = 0;
	xs->sndhwm = XS_HWM_DEFAULT;
	xs->rcvhwm = XS_HWM_DEFAULT;
	xs->linger = 0;
	xs->survey_timeout = -1;
	xs->maxmsgsize = -1;
	atomic64_set(&xs->drops, 0);
	atomic64_set(&xs->missed, 0);
	xs->sent_records = 0;
	xs->sent_bytes = 0;
	atomic64_set(&xs->recv_records, 0);
	atomic64_set(&xs->recv_bytes, 0);
	for (i = 0; i < XS_REASON_MAX; i++) {
		atomic64_set(&xs->drops_by[i], 0);
		atomic64_set(&xs->missed_by[i], 0);
	}
	atomic_set(&xs->npeers, 0);
	xs->lossless = false;
	RCU_INIT_POINTER(xs->monitor, NULL);
	xs->mon_target = NULL;
	xs->mon_events = 0;
	xs->mon_dead = false;
	xs->mon_used = false;
	xs->mon_lost_pending = 0;
	atomic64_set(&xs->mon_lost, 0);
	xs->mon_memcg = NULL;
	xs->priv = NULL;
	xs->identity_len = 0;
	xs->defer_wakes = false;
	xs->wakes_owed = false;
	xs->more_owed = false;
	INIT_DELAYED_WORK(&xs->wake_work, xs_wake_work);
}

static int xs_create(struct net *net, struct socket *sock, int protocol,
		     int kern)
{
	const struct xs_pattern *pat;
	struct xs_sock *xs;
	struct xs_net *xn;
	struct sock *sk;
	int err;

	if (sock->type != SOCK_SEQPACKET)
		return -ESOCKTNOSUPPORT;
	if (protocol == XSPROTO_MONITOR)
		pat = &xs_monitor_pattern;
	else if (protocol > 0 && protocol <= XSPROTO_MAX)
		pat = xs_patterns[protocol];
	else
		pat = NULL;
	if (!pat)
		return -EPROTONOSUPPORT;

	sk = sk_alloc(net, xs_family, GFP_KERNEL, &xs_proto, kern);
	if (!sk)
		return -ENOMEM;
	sock_init_data(sock, sk);
	sock->ops = &xs_ops;
	sk->sk_protocol = protocol;
	sk->sk_write_space = xs_write_space;
	sk->sk_sndbuf = clamp_t(unsigned int, READ_ONCE(xs_sndbuf_default),
				SOCK_MIN_SNDBUF, INT_MAX);
	sk->sk_rcvbuf = clamp_t(unsigned int, READ_ONCE(xs_rcvbuf_default),
				SOCK_MIN_RCVBUF, INT_MAX);
	sock_set_flag(sk, SOCK_RCU_FREE);

	xs = xs_sk(sk);
	xs_sock_init(xs, pat);
	err = pat->init ? pat->init(xs) : 0;
	if (err)
		goto out_free;
	xn = xs_net(net);
	err = xa_alloc_cyclic(&xn->socks, &xs->proc_id, xs, xa_limit_32b,
			      &xn->next_proc_id, GFP_KERNEL_ACCOUNT);
	if (err < 0)
		goto out_release;
	sock_prot_inuse_add(net, &xs_proto, 1);
	return 0;

out_release:
	if (pat->release)
		pat->release(xs);
out_free:
	sock_orphan(sk);
	sock->sk = NULL;
	sk_free(sk);
	return err;
}

static struct net_proto_family xs_family_ops = {
	.family	= AF_XS_DEFAULT,
	.create	= xs_create,
	.owner	= THIS_MODULE,
};

static int __net_init xs_net_init(struct net *net)
{
	struct xs_net *xn = xs_net(net);
	int err;

	xa_init_flags(&xn->socks, XA_FLAGS_ALLOC);
	err = xs_names_init_net(xn);
	if (err)
		return err;
	err = xs_proc_init_net(net);
	if (err)
		xs_names_exit_net(xn);
	return err;
}

static void __net_exit xs_net_exit(struct net *net)
{
	xs_orphans_flush(net);
	xs_proc_exit_net(net);
	xs_names_exit_net(xs_net(net));
	xa_destroy(&xs_net(net)->socks);
}

static struct pernet_operations xs_net_ops = {
	.init	= xs_net_init,
	.exit	= xs_net_exit,
	.id	= &xs_net_id,
	.size	= sizeof(struct xs_net),
};

static int __init xs_module_init(void)
{
	int err;

	if (xs_family <= 0 || xs_family >= NPROTO)
		return -EINVAL;
	xs_family_ops.family = xs_family;

	xs_wq = alloc_workqueue("af_xs", 0, 0);
	if (!xs_wq)
		return -ENOMEM;
	err = proto_register(&xs_proto, 1);
	if (err)
		goto out_wq;
	err = xs_pipe_init();
	if (err)
		goto out_proto;
	err = xs_names_init();
	if (err)
		goto out_pipe;
	err = register_pernet_subsys(&xs_net_ops);
	if (err)
		goto out_names;
	err = sock_register(&xs_family_ops);
	if (err)
		goto out_pernet;
	err = xs_diag_init();
	if (err)
		goto out_sock;
	return 0;

out_sock:
	sock_unregister(xs_family);
out_pernet:
	unregister_pernet_subsys(&xs_net_ops);
out_names:
	xs_names_exit();
out_pipe:
	xs_pipe_exit();
out_proto:
	proto_unregister(&xs_proto);
out_wq:
	destroy_workqueue(xs_wq);
	return err;
}

static void __exit xs_module_exit(void)
{
	xs_diag_exit();
	sock_unregister(xs_family);
	xs_orphans_flush(NULL);
	unregister_pernet_subsys(&xs_net_ops);
	/* no socket is left: wait for the work items still running */
	destroy_workqueue(xs_wq);
	/* sockets are freed after a grace period: wait for the last ones */
	rcu_barrier();
	xs_names_exit();
	xs_pipe_exit();
	proto_unregister(&xs_proto);
}

module_init(xs_module_init);
module_exit(xs_module_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("AF_XS: Crossroads I/O messaging patterns as a socket family");
MODULE_ALIAS_NETPROTO(AF_XS_DEFAULT);
MODULE_VERSION(XS_MODULE_VERSION);
MODULE_AUTHOR("The AF_XS authors");
