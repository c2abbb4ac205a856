// SPDX-License-Identifier: GPL-2.0
/*
 * AF_XS records: assembling them part by part on the sending side (one
 * record in progress per sending thread) and consuming them part by part on
 * the receiving side (a record being read belongs to the thread that read
 * its first part).
 */

#include <linux/cred.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <linux/mm.h>
#include <linux/vmalloc.h>

#include "af_xs.h"
#include "trace.h"

/*
 * Records alive in the module and their payload bytes (the root-only
 * "live" parameter): per CPU, so that senders on different CPUs do not
 * share a counter's cache line; summed when read.
 */
struct xs_live {
	s64	records;
	s64	bytes;
};

static DEFINE_PER_CPU(struct xs_live, xs_live);

static inline void xs_live_add(s64 records, s64 bytes)
{
	this_cpu_add(xs_live.records, records);
	this_cpu_add(xs_live.bytes, bytes);
}

void xs_live_read(s64 *records, s64 *bytes)
{
	int cpu;

	*records = 0;
	*bytes = 0;
	for_each_possible_cpu(cpu) {
		*records += per_cpu(xs_live.records, cpu);
		*bytes += per_cpu(xs_live.bytes, cpu);
	}
}

struct xs_record *xs_record_alloc(void)
{
	return xs_record_alloc_gfp(GFP_KERNEL_ACCOUNT);
}

struct xs_record *xs_record_alloc_gfp(gfp_t gfp)
{
	struct xs_record *rec = kmalloc(sizeof(*rec), gfp);

	if (!rec)
		return NULL;
	refcount_set(&rec->ref, 1);
	rec->nparts = 0;
	rec->size = 0;
	rec->truesize = xs_mem(sizeof(*rec));
	rec->env = NULL;
	rec->env_last = NULL;
	rec->env_size = 0;
	INIT_LIST_HEAD(&rec->parts);
	rec->pid = get_pid(task_tgid(current));
	current_uid_gid(&rec->uid, &rec->gid);
	xs_live_add(1, 0);
	return rec;
}

void xs_record_put(struct xs_record *rec)
{
	struct xs_part *part, *tmp;

	if (!refcount_dec_and_test(&rec->ref))
		return;
	list_for_each_entry_safe(part, tmp, &rec->parts, node)
		kvfree(part);
	xs_live_add(-1, -(s64)(rec->size - rec->env_size));
	if (rec->env)
		xs_record_put(rec->env);
	put_pid(rec->pid);
	kfree(rec);
}

/* What the kernel holds for @part (kvmalloc()ed: slab or vmalloc). */
static size_t xs_part_mem(const struct xs_part *part)
{
	size_t size = struct_size(part, data, part->len);

	return is_vmalloc_addr(part) ? PAGE_ALIGN(size) : xs_mem(size);
}

void xs_record_append(struct xs_record *rec, struct xs_part *part)
{
	list_add_tail(&part->node, &rec->parts);
	rec->nparts++;
	rec->size += part->len;
	rec->truesize += xs_part_mem(part);
	xs_live_add(0, part->len);
}

/*
 * @rec (not shared yet) starts with the parts of @env up to @env_last,
 * shared, not copied.  Its receivers hold all of @env.
 */
void xs_record_set_env(struct xs_record *rec, struct xs_record *env,
		       struct xs_part *env_last)
{
	struct xs_part *part;

	refcount_inc(&env->ref);
	rec->env = env;
	rec->env_last = env_last;
	list_for_each_entry(part, &env->parts, node) {
		rec->nparts++;
		rec->env_size += part->len;
		if (part == env_last)
			break;
	}
	rec->size += rec->env_size;
	rec->truesize += env->truesize;
}

struct xs_part *xs_rec_first(const struct xs_record *rec)
{
	return list_first_entry(rec->env ? &rec->env->parts : &rec->parts,
				struct xs_part, node);
}

/* The part after @part (not the last one). */
struct xs_part *xs_rec_next(const struct xs_record *rec,
			    struct xs_part *part)
{
	if (part == rec->env_last)
		return list_first_entry(&rec->parts, struct xs_part, node);
	return list_next_entry(part, node);
}

/* The record is not shared yet: take its last part off again. */
static void xs_record_drop_last(struct xs_record *rec)
{
	struct xs_part *part = list_last_entry(&rec->parts, struct xs_part,
					       node);

	list_del(&part->node);
	rec->nparts--;
	rec->size -= part->len;
	rec->truesize -= xs_part_mem(part);
	xs_live_add(0, -(s64)part->len);
	kvfree(part);
}

/*
 * Past this size a part is vmalloc()ed: a power-of-two run of pages from
 * kmalloc() could hold (and be charged) almost twice its size.
 */
#define XS_PART_KMALLOC_MAX	(64 << 10)

/*
 * A part of @len bytes (sized by user input: it must neither warn nor
 * fail loudly), filled from @data unless NULL.  kvfree() frees it.
 */
struct xs_part *xs_part_alloc(const void *data, size_t len)
{
	const gfp_t gfp = GFP_KERNEL_ACCOUNT | __GFP_NOWARN;
	struct xs_part *part;
	size_t size = struct_size(part, data, len);

	part = size <= XS_PART_KMALLOC_MAX ? kvmalloc(size, gfp) :
					      __vmalloc(size, gfp);
	if (!part)
		return NULL;
	part->len = len;
	if (data && len)
		memcpy(part->data, data, len);
	return part;
}

/* Copy one part from @msg and append it; on error @rec is unchanged. */
int xs_record_add_part(struct xs_record *rec, struct msghdr *msg, size_t len)
{
	struct xs_part *part = xs_part_alloc(NULL, len);

	if (!part)
		return -ENOMEM;
	if (len && !copy_from_iter_full(part->data, len, &msg->msg_iter)) {
		kvfree(part);
		return -EFAULT;
	}
	xs_record_append(rec, part);
	return 0;
}

/*
 * io_uring runs a request in a worker thread (SQPOLL, or one it could not
 * complete at once) that does not belong to the submitting thread, so it
 * can take part in no record spanning several calls.
 */
bool xs_is_io_worker(void)
{
	return current->flags & PF_IO_WORKER;
}

/* ---- sending ---------------------------------------------------------- */

/* Drop what @tx holds: its record, its reservation. */
static void xs_tx_clear(struct xs_tx *tx)
{
	u32 i;

	for (i = 0; i < tx->nresv; i++) {
		xs_pipe_unreserve(tx->resv[i]);
		xs_pipe_put(tx->resv[i]->pipe);
	}
	kvfree(tx->resv);
	tx->resv = NULL;
	tx->nresv = 0;
	if (tx->from) {
		xs_pipe_unreserve(tx->from);
		xs_pipe_put(tx->from->pipe);
		tx->from = NULL;
	}
	if (tx->msg) {
		xs_msg_free(tx->msg);
		tx->msg = NULL;
	}
	if (tx->rec) {
		xs_record_put(tx->rec);
		tx->rec = NULL;
	}
}

static void xs_tx_free(struct xs_tx *tx)
{
	xs_tx_clear(tx);
	put_pid(tx->owner);
	kfree(tx);
}

/*
 * Is @pid, @task the calling thread?  The pid alone is not enough: a thread
 * that calls exec() takes over its group leader's pid.
 */
static bool xs_is_me(struct pid *pid, struct task_struct *task)
{
	return pid == task_pid(current) && task == current;
}

/* The calling thread's record in progress, or NULL. */
static struct xs_tx *xs_tx_find(struct xs_sock *xs)
{
	struct xs_tx *tx, *found = NULL;

	spin_lock(&xs->tx_lock);
	list_for_each_entry(tx, &xs->txs, node) {
		if (xs_is_me(tx->owner, tx->task)) {
			found = tx;
			break;
		}
	}
	spin_unlock(&xs->tx_lock);
	return found;
}

static void xs_tx_unlink(struct xs_sock *xs, struct xs_tx *tx)
{
	spin_lock(&xs->tx_lock);
	list_del(&tx->node);
	spin_unlock(&xs->tx_lock);
}

/*
 * Has the thread behind @pid, @owner exited (or given its pid to another
 * thread by exec())?  PF_EXITING is set before a thread's joiner is told,
 * while the task itself lingers until it is reaped.
 */
static bool xs_pid_dead(struct pid *pid, struct task_struct *owner)
{
	struct task_struct *task;
	bool dead;

	rcu_read_lock();
	task = pid_task(pid, PIDTYPE_PID);
	dead = task != owner || (READ_ONCE(task->flags) & PF_EXITING);
	rcu_read_unlock();
	return dead;
}

/* Discard records left unfinished by threads that have exited. */
void xs_tx_gc(struct xs_sock *xs)
{
	struct xs_tx *tx, *tmp;
	LIST_HEAD(dead);

	if (list_empty_careful(&xs->txs))
		return;
	spin_lock(&xs->tx_lock);
	list_for_each_entry_safe(tx, tmp, &xs->txs, node)
		if (xs_pid_dead(tx->owner, tx->task))
			list_move(&tx->node, &dead);
	spin_unlock(&xs->tx_lock);
	list_for_each_entry_safe(tx, tmp, &dead, node)
		xs_tx_free(tx);
}

/* Socket release: no thread can be inside a call any more. */
void xs_tx_purge(struct xs_sock *xs)
{
	struct xs_tx *tx, *tmp;

	list_for_each_entry_safe(tx, tmp, &xs->txs, node) {
		list_del(&tx->node);
		xs_tx_free(tx);
	}
}

/*
 * One step of a blocking call's wait: 0 to look again, else the error to
 * return (-EAGAIN when the time is up, -EINTR or -ERESTARTSYS on a
 * signal).  The first step only queues the caller, so a wake-up between
 * its look and its sleep is not lost.
 */
static int xs_wait_step(struct sock *sk, struct wait_queue_entry *wait,
			bool *waiting, long *timeo)
{
	if (!*timeo)
		return -EAGAIN;
	if (signal_pending(current))
		return sock_intr_errno(*timeo);
	if (!*waiting) {
		add_wait_queue(sk_sleep(sk), wait);
		*waiting = true;
		return 0;
	}
	*timeo = wait_woken(wait, TASK_INTERRUPTIBLE, *timeo);
	return 0;
}

/*
 * Readers and writers sleep on the socket's one wait queue.  Each ignores
 * the wake-ups meant only for the other (their poll key says so): a REQ
 * waiting for its reply is not woken because its request was dequeued.
 * Wake-ups without a key (state changes, release) reach everyone.
 */
static int xs_reader_wake(struct wait_queue_entry *wait, unsigned int mode,
			  int sync, void *key)
{
	if (key && !(key_to_poll(key) & (EPOLLIN | EPOLLRDNORM | EPOLLERR |
					 EPOLLHUP | EPOLLRDHUP)))
		return 0;
	return woken_wake_function(wait, mode, sync, key);
}

static int xs_writer_wake(struct wait_queue_entry *wait, unsigned int mode,
			  int sync, void *key)
{
	if (key && !(key_to_poll(key) & (EPOLLOUT | EPOLLWRNORM | EPOLLERR |
					 EPOLLHUP)))
		return 0;
	return woken_wake_function(wait, mode, sync, key);
}

/* First part: wait until the pattern finds a destination with room. */
static int xs_send_begin(struct xs_sock *xs, struct xs_tx *tx, int flags)
{
	struct sock *sk = &xs->sk;
	long timeo = sock_sndtimeo(sk, flags & MSG_DONTWAIT);
	DEFINE_WAIT_FUNC(wait, xs_writer_wake);
	bool waiting = false;
	int err;

	if (!xs->pat->send_begin || (xs->pat->lossless_opt && !tx->lossless))
		return 0;
	for (;;) {
		err = -EPIPE;
		if (READ_ONCE(sk->sk_shutdown) & SEND_SHUTDOWN)
			break;
		mutex_lock(&xs->route_lock);
		err = xs->pat->send_begin(xs, tx);
		/* the readers of our batch must run to make room */
		if (err == -EAGAIN)
			xs_flush_wakes(xs);
		mutex_unlock(&xs->route_lock);
		if (err != -EAGAIN)
			break;
		err = xs_wait_step(sk, &wait, &waiting, &timeo);
		if (err)
			break;
	}
	if (waiting)
		remove_wait_queue(sk_sleep(sk), &wait);
	if (err == -EPIPE && !(flags & MSG_NOSIGNAL))
		send_sig(SIGPIPE, current, 0);
	return err;
}

/*
 * Is @rec, with @len more payload bytes, past the sender's limits?
 * XS_MAXMSGSIZE counts payload; SO_SNDBUF what the kernel holds, so that
 * empty or tiny parts are bounded too.  Checked before a part is copied
 * (with the least it can cost) and after (with what it cost).
 */
static bool xs_record_too_big(struct xs_sock *xs, struct xs_record *rec,
			      size_t len, size_t mem)
{
	s64 max = READ_ONCE(xs->maxmsgsize);

	if (max >= 0 && rec->size + len > max)
		return true;
	return rec->truesize + mem > (size_t)READ_ONCE(xs->sk.sk_sndbuf);
}

/*
 * A part refused after its record began.  sendmmsg(2) returns only how
 * many entries went and drops the error of the one that did not, so the
 * error is also kept for XS_SNDERR.  Not in sk_err: the next recvmmsg of
 * a socket that also receives would return it.
 */
static int xs_part_failed(struct xs_sock *xs, int err)
{
	WRITE_ONCE(xs->snd_err, -err);
	return err;
}

/*
 * Append one part to the calling thread's record; MSG_EOR routes it.
 * Returns the part's size.
 */
int xs_send_part(struct xs_sock *xs, struct msghdr *msg, size_t len,
		 int flags)
{
	struct xs_tx local = {}, *tx;
	bool fresh;
	int err;

	if (xs_is_io_worker() && !(flags & MSG_EOR))
		return -EINVAL;
	tx = xs_tx_find(xs);
	fresh = !tx;
	if (fresh) {
		xs_tx_gc(xs);
		tx = &local;
		/*
		 * XS_LOSSLESS: where the record goes depends on its first
		 * part, so room is found once that part is copied.
		 */
		tx->lossless = xs->pat->lossless_opt && READ_ONCE(xs->lossless);
		if (!tx->lossless) {
			err = xs_send_begin(xs, tx, flags);
			if (err)
				return err;
		}
		tx->rec = xs_record_alloc();
		if (!tx->rec) {
			err = -ENOMEM;
			goto discard;
		}
	}

	if (xs_record_too_big(xs, tx->rec, len, sizeof(struct xs_part) + len))
		goto too_big;
	err = xs_record_add_part(tx->rec, msg, len);
	if (err) {
		/* bad input loses nothing: the record stays as it was */
		if (fresh)
			goto discard;
		return xs_part_failed(xs, err);
	}
	if (xs_record_too_big(xs, tx->rec, 0, 0))
		goto too_big;
	if (fresh && tx->lossless) {
		err = xs_send_begin(xs, tx, flags);
		if (err)
			goto discard;
	}

	if (flags & MSG_EOR) {
		/*
		 * What delivery to a reserved destination needs is allocated
		 * now, so that the record either fails here or arrives.
		 */
		if (tx->from && !tx->msg) {
			tx->msg = xs_msg_alloc();
			if (!tx->msg) {
				err = -ENOMEM;
				goto eor_failed;
			}
		}
		mutex_lock(&xs->route_lock);
		err = xs->pat->send_prepare ? xs->pat->send_prepare(xs, tx) : 0;
		if (!err) {
			/*
			 * sendmmsg: wake the readers once, after the last
			 * entry.  MSG_MORE: more records follow soon, wake
			 * them a little later (pipe.c, xs_defer_wake()).
			 */
			xs->defer_wakes = flags & (MSG_BATCH | MSG_MORE);
			if (flags & MSG_MORE)
				xs->more_owed = true;
			trace_xs_record_sent(xs, tx->rec);
			WRITE_ONCE(xs->sent_records, xs->sent_records + 1);
			WRITE_ONCE(xs->sent_bytes,
				   xs->sent_bytes + tx->rec->size);
			xs->pat->send_end(xs, tx);
			xs->defer_wakes = false;
			if (!(flags & (MSG_BATCH | MSG_MORE)))
				xs_flush_wakes(xs);
		}
		mutex_unlock(&xs->route_lock);
		if (err)
			goto eor_failed;
		if (!fresh)
			xs_tx_unlink(xs, tx);
		xs_tx_clear(tx);
		if (!fresh) {
			put_pid(tx->owner);
			kfree(tx);
		}
		return len;
	}

	if (fresh) {
		tx = kmemdup(&local, sizeof(local), GFP_KERNEL_ACCOUNT);
		if (!tx) {
			tx = &local;
			err = -ENOMEM;
			goto discard;
		}
		tx->owner = get_pid(task_pid(current));
		tx->task = current;
		spin_lock(&xs->tx_lock);
		list_add_tail(&tx->node, &xs->txs);
		spin_unlock(&xs->tx_lock);
	}
	return len;

eor_failed:
	if (fresh)
		goto discard;
	/* the record stays in progress, as it was before this part */
	xs_record_drop_last(tx->rec);
	return xs_part_failed(xs, err);
too_big:
	/* the whole record goes: nothing of it may reach a peer */
	err = -EMSGSIZE;
discard:
	if (tx == &local) {
		xs_tx_clear(tx);
		return err;
	}
	xs_tx_unlink(xs, tx);
	xs_tx_free(tx);
	return xs_part_failed(xs, err);
}

/* ---- receiving -------------------------------------------------------- */

/* The part a reader of @m gets next: the identity head, then the record. */
static struct xs_part *xs_msg_part(struct xs_msg *m)
{
	return m->head ?: m->next;
}

static bool xs_last_part(struct xs_msg *m, struct xs_part *part)
{
	return part != m->head && xs_rec_is_last(m->rec, part);
}

/* rx_lock held or @m private: step past @part. */
static void xs_msg_advance(struct xs_msg *m, struct xs_part *part)
{
	if (part == m->head) {
		m->head = NULL;
		kfree(part);
	} else {
		m->next = xs_rec_next(m->rec, part);
	}
}

void xs_msg_release(struct xs_msg *m)
{
	put_pid(m->reader);
	kfree(m->head);
	xs_record_put(m->rec);
	if (m->pipe)
		xs_pipe_put(m->pipe);
	xs_msg_free(m);
}

/* A record left the queue: give its slot back and wake its sender. */
static void xs_msg_uncount(struct xs_msg *m)
{
	struct xs_sock *peer;

	if (!m->to)
		return;		/* control records are not flow-controlled */
	atomic_dec(&m->to->inflight);
	rcu_read_lock();
	peer = READ_ONCE(xs_other_end(m->to)->xs);
	/* only patterns that wait for room (send_begin) need the wake-up */
	if (peer && peer->pat->send_begin)
		xs_wake_writer(peer);
	rcu_read_unlock();
}

/* What @m holds while it waits in a queue: the record, shared or not. */
size_t xs_msg_charge(const struct xs_msg *m)
{
	size_t charge = m->rec->truesize + xs_msg_mem();

	if (m->head)
		charge += xs_part_mem(m->head);
	return charge;
}

/* rx_lock held: account @m entering (@sign 1) or leaving (-1) the queue. */
static void xs_rxq_count(struct xs_sock *xs, struct xs_msg *m, int sign)
{
	lockdep_assert_held(&xs->rx_lock);
	if (sign > 0)
		m->charge = xs_msg_charge(m);
	WRITE_ONCE(xs->rx_count, xs->rx_count + sign);
	WRITE_ONCE(xs->rx_bytes, xs->rx_bytes + sign * (long)m->rec->size);
	WRITE_ONCE(xs->rx_mem, xs->rx_mem + sign * (long)m->charge);
}

/* rx_lock held */
static void xs_rxq_del(struct xs_sock *xs, struct xs_msg *m)
{
	list_del(&m->node);
	xs_rxq_count(xs, m, -1);
}

/* rx_lock held: is the calling thread inside @m? */
static bool xs_reading_me(struct xs_msg *m)
{
	return xs_is_me(m->reader, m->reader_task);
}

/* rx_lock held: the message the calling thread reads from next. */
static struct xs_msg *xs_rx_peek(struct xs_sock *xs)
{
	struct xs_msg *m;

	list_for_each_entry(m, &xs->reading, node)
		if (xs_reading_me(m))
			return m;
	return list_first_entry_or_null(&xs->rxq, struct xs_msg, node);
}

/* Is the calling thread inside a record of @xs? */
static bool xs_reading_mine(struct xs_sock *xs)
{
	struct xs_msg *m;
	bool mine = false;

	if (list_empty_careful(&xs->reading))
		return false;
	spin_lock(&xs->rx_lock);
	list_for_each_entry(m, &xs->reading, node) {
		if (xs_reading_me(m)) {
			mine = true;
			break;
		}
	}
	spin_unlock(&xs->rx_lock);
	return mine;
}

/* Drop, and count as missed, records whose reading thread has exited. */
static void xs_reading_gc(struct xs_sock *xs)
{
	struct xs_msg *m, *tmp;
	LIST_HEAD(dead);

	if (list_empty_careful(&xs->reading))
		return;
	spin_lock(&xs->rx_lock);
	list_for_each_entry_safe(m, tmp, &xs->reading, node)
		if (xs_pid_dead(m->reader, m->reader_task))
			list_move(&m->node, &dead);
	spin_unlock(&xs->rx_lock);
	list_for_each_entry_safe(m, tmp, &dead, node) {
		xs_drop(NULL, xs, XS_REASON_ABANDONED);
		xs_msg_release(m);
	}
}

static int xs_copy_part(struct msghdr *msg, struct xs_part *part, size_t len,
			bool last, int flags)
{
	size_t n = min(len, part->len);

	if (n && memcpy_to_msg(msg, part->data, n))
		return -EFAULT;
	if (n < part->len)
		msg->msg_flags |= MSG_TRUNC;
	if (last)
		msg->msg_flags |= MSG_EOR;
	return (flags & MSG_TRUNC) ? part->len : n;
}

/*
 * Lock the receive side.  A pattern that rejects records (a stale reply)
 * gets its route lock taken too, and the rejected records at the head of
 * the queue move to @gone, so that what a reader, poll or FIONREAD sees
 * first is always a record recv would return.
 */
static void xs_rx_lock_pruned(struct xs_sock *xs, struct list_head *gone)
	__acquires(&xs->rx_lock)
{
	bool (*accept)(struct xs_sock *xs, struct xs_msg *m);
	struct xs_msg *m;

	accept = xs->pat->recv_accept;
	if (accept)
		mutex_lock(&xs->route_lock);
	spin_lock(&xs->rx_lock);
	if (!accept)
		return;
	while ((m = list_first_entry_or_null(&xs->rxq, struct xs_msg, node)) &&
	       !accept(xs, m)) {
		xs_rxq_del(xs, m);
		list_add_tail(&m->node, gone);
	}
}

static void xs_rx_unlock_pruned(struct xs_sock *xs, struct list_head *gone)
	__releases(&xs->rx_lock)
{
	struct xs_msg *m, *tmp;

	spin_unlock(&xs->rx_lock);
	if (xs->pat->recv_accept)
		mutex_unlock(&xs->route_lock);
	list_for_each_entry_safe(m, tmp, gone, node) {
		list_del(&m->node);
		xs_msg_uncount(m);
		xs_msg_release(m);
	}
}

/* An identity head, copied: its reader may free it once we unlock. */
struct xs_head_copy {
	struct xs_part	part;
	u8		data[XS_IDENTITY_MAX];
};

/*
 * rx_lock held.  MSG_PEEK: the part to copy, with a reference on @m's
 * record taken for the caller.
 */
static struct xs_part *xs_peek_prepare(struct xs_msg *m, bool *last,
				       struct xs_head_copy *copy)
{
	struct xs_part *part = xs_msg_part(m);

	*last = xs_last_part(m, part);
	if (part == m->head) {
		copy->part.len = min_t(size_t, part->len, XS_IDENTITY_MAX);
		memcpy(copy->part.data, part->data, copy->part.len);
		part = &copy->part;
	}
	refcount_inc(&m->rec->ref);
	return part;
}

/* SO_PASSCRED: the first part of a record says who sent it. */
static void xs_put_creds(struct xs_sock *xs, struct msghdr *msg,
			 struct xs_record *rec)
{
	struct ucred creds;

	if (!xs_passcred(&xs->sk))
		return;
	creds.pid = pid_vnr(rec->pid);
	creds.uid = from_kuid_munged(current_user_ns(), rec->uid);
	creds.gid = from_kgid_munged(current_user_ns(), rec->gid);
	put_cmsg(msg, SOL_SOCKET, SCM_CREDENTIALS, sizeof(creds), &creds);
}

/* Put back a record its reader could not take, first in line. */
static void xs_rx_requeue(struct xs_sock *xs, struct xs_msg *m)
{
	if (m->to)
		atomic_inc(&m->to->inflight);
	spin_lock(&xs->rx_lock);
	list_add(&m->node, &xs->rxq);
	xs_rxq_count(xs, m, 1);
	spin_unlock(&xs->rx_lock);
}

/*
 * Will the calling thread have to read @m in more than one call?  An
 * io_uring worker cannot (see xs_is_io_worker()).
 */
static bool xs_msg_multipart(struct xs_msg *m)
{
	return m->head || !xs_rec_is_last(m->rec, m->next);
}

/* One attempt; -EAGAIN when there is nothing to read. */
static int xs_recv_try(struct xs_sock *xs, struct msghdr *msg, size_t len,
		       int flags)
{
	struct xs_head_copy copy;
	struct xs_record *rec;
	struct xs_part *part;
	struct xs_msg *m;
	bool fresh, last;
	LIST_HEAD(gone);
	int ret;

	xs_rx_lock_pruned(xs, &gone);
	m = xs_rx_peek(xs);
	/*
	 * Every record in a ring (ring.c) is older than a record of the
	 * queue not begun yet; rx_lock orders us against ring writers.
	 */
	if (!m || (!m->reader && xs_ring_nonempty(xs))) {
		xs_rx_unlock_pruned(xs, &gone);
		return -EAGAIN;
	}
	if (!m->reader && xs_is_io_worker() && xs_msg_multipart(m)) {
		/* it stays first in line, for a reader that can take it */
		xs_rx_unlock_pruned(xs, &gone);
		return -EINVAL;
	}
	if (flags & MSG_PEEK) {
		rec = m->rec;
		part = xs_peek_prepare(m, &last, &copy);
		xs_rx_unlock_pruned(xs, &gone);
		ret = xs_copy_part(msg, part, len, last, flags);
		xs_record_put(rec);
		return ret;
	}
	fresh = !m->reader;
	if (fresh)
		xs_rxq_del(xs, m);
	else
		list_del(&m->node);
	xs_rx_unlock_pruned(xs, &gone);
	if (fresh) {
		xs_msg_uncount(m);
		ret = xs->pat->recv_take ? xs->pat->recv_take(xs, m) : 0;
		if (ret) {
			/* out of memory: the record stays first in line */
			xs_rx_requeue(xs, m);
			return ret;
		}
		atomic64_inc(&xs->recv_records);
		atomic64_add(m->rec->size, &xs->recv_bytes);
	}

	part = xs_msg_part(m);
	last = xs_last_part(m, part);
	ret = xs_copy_part(msg, part, len, last, flags);
	if (ret >= 0 && fresh)
		xs_put_creds(xs, msg, m->rec);
	if (ret >= 0) {
		if (last) {
			if (xs->pat->recv_done)
				xs->pat->recv_done(xs, m);
			xs_msg_release(m);
			return ret;
		}
		xs_msg_advance(m, part);
	}
	/* on a bad buffer the part stays for the next call */
	if (!m->reader) {
		m->reader = get_pid(task_pid(current));
		m->reader_task = current;
	}
	spin_lock(&xs->rx_lock);
	list_add(&m->node, &xs->reading);
	spin_unlock(&xs->rx_lock);
	return ret;
}

int xs_recv_part(struct xs_sock *xs, struct msghdr *msg, size_t len,
		 int flags)
{
	struct sock *sk = &xs->sk;
	long timeo = sock_rcvtimeo(sk, flags & MSG_DONTWAIT), step;
	DEFINE_WAIT_FUNC(wait, xs_reader_wake);
	bool waiting = false;
	int ret;

	xs_reading_gc(xs);
	for (;;) {
		/*
		 * The pattern's state (a reply owed, a survey over) decides
		 * whether a record may be begun; one begun is always finished.
		 * It may also shorten this step's wait (a survey's deadline),
		 * without using up the caller's SO_RCVTIMEO: the deadline is
		 * on the clock, and a step of whole ticks may end before it.
		 */
		step = timeo;
		if (xs->pat->recv_begin && !xs_reading_mine(xs)) {
			ret = xs->pat->recv_begin(xs, &step);
			if (ret)
				break;
		}
		/*
		 * A ring's records are read from the ring (xs_recv_try()
		 * refuses the queue's meanwhile).  Before sleeping, ask for
		 * a wake-up when one arrives there.
		 */
		ret = xs_recv_try(xs, msg, len, flags);
		if (ret != -EAGAIN || xs_ring_nonempty(xs) ||
		    (waiting && xs_ring_arm(xs)))
			break;
		if (READ_ONCE(sk->sk_shutdown) & RCV_SHUTDOWN) {
			ret = 0;
			break;
		}
		if (timeo != MAX_SCHEDULE_TIMEOUT)
			timeo -= step;
		ret = xs_wait_step(sk, &wait, &waiting, &step);
		if (timeo != MAX_SCHEDULE_TIMEOUT)
			timeo += step;	/* what the step left unused */
		if (ret)
			break;
	}
	if (waiting)
		remove_wait_queue(sk_sleep(sk), &wait);
	return ret;
}

/* FIONREAD: size of the next part the caller would read. */
int xs_next_part_len(struct xs_sock *xs)
{
	struct xs_msg *m;
	LIST_HEAD(gone);
	int len = 0;

	xs_rx_lock_pruned(xs, &gone);
	m = xs_rx_peek(xs);
	if (m)
		len = min_t(size_t, xs_msg_part(m)->len, INT_MAX);
	xs_rx_unlock_pruned(xs, &gone);
	return len;
}

/* XS_RCVMORE: is the calling thread inside a record? */
bool xs_rcvmore(struct xs_sock *xs)
{
	struct xs_msg *m;
	bool more = false;

	spin_lock(&xs->rx_lock);
	list_for_each_entry(m, &xs->reading, node)
		if (xs_reading_me(m))
			more = true;
	spin_unlock(&xs->rx_lock);
	return more;
}

/*
 * poll: would recv by the calling thread return a part now (rather than
 * wait or fail)?  Records other threads are inside do not count; those of
 * threads that died are dropped first.
 */
bool xs_readable(struct xs_sock *xs)
{
	long timeo = 0;
	LIST_HEAD(gone);
	struct xs_msg *m;
	bool ret;

	if (xs->pat->recv_begin && xs->pat->recv_begin(xs, &timeo))
		return false;
	xs_reading_gc(xs);
	xs_rx_lock_pruned(xs, &gone);
	m = xs_rx_peek(xs);
	ret = m && !(!m->reader && xs_is_io_worker() && xs_msg_multipart(m));
	xs_rx_unlock_pruned(xs, &gone);
	return ret;
}

/* Is the receive queue of @xs at its SO_RCVBUF (what the kernel holds)? */
bool xs_rx_full(struct xs_sock *xs)
{
	return READ_ONCE(xs->rx_mem) >= (size_t)READ_ONCE(xs->sk.sk_rcvbuf);
}

/* Enqueue @m for @xs and, with @wake, wake a reader that sleeps. */
void xs_rx_enqueue(struct xs_sock *xs, struct xs_msg *m, bool wake)
{
	spin_lock(&xs->rx_lock);
	list_add_tail(&m->node, &xs->rxq);
	xs_rxq_count(xs, m, 1);
	/* a reader may take and free @m once we unlock */
	trace_xs_record_delivered(xs, m->rec);
	spin_unlock(&xs->rx_lock);
	if (wake)
		xs->sk.sk_data_ready(&xs->sk);
}

/*
 * Queue @m, a record no pipe controls (an event), for @xs only within its
 * XS_RCVHWM and SO_RCVBUF (what the kernel holds, the record counted
 * whole) and unless @xs is closing; @stamp runs under rx_lock just before.
 * False: not queued, @m is the caller's.
 */
bool xs_rx_enqueue_within(struct xs_sock *xs, struct xs_msg *m,
			  void (*stamp)(struct xs_sock *xs, struct xs_msg *m))
{
	int hwm = READ_ONCE(xs->rcvhwm);
	size_t charge = xs_msg_charge(m);

	spin_lock(&xs->rx_lock);
	if (xs->mon_dead || (hwm > 0 && xs->rx_count >= (u32)hwm) ||
	    xs->rx_mem + charge > (size_t)READ_ONCE(xs->sk.sk_rcvbuf)) {
		spin_unlock(&xs->rx_lock);
		return false;
	}
	stamp(xs, m);
	list_add_tail(&m->node, &xs->rxq);
	xs_rxq_count(xs, m, 1);
	spin_unlock(&xs->rx_lock);
	xs->sk.sk_data_ready(&xs->sk);
	return true;
}

/*
 * Move a pipe's waiting records to the receive queue of @xs, as far as its
 * SO_RCVBUF allows (one record past it, as for any delivery).  Those left
 * on @msgs are the caller's to drop.
 */
void xs_rx_splice(struct xs_sock *xs, struct list_head *msgs)
{
	struct xs_msg *m, *tmp;
	bool moved = false;

	spin_lock(&xs->rx_lock);
	list_for_each_entry_safe(m, tmp, msgs, node) {
		if (xs_rx_full(xs))
			break;
		list_move_tail(&m->node, &xs->rxq);
		xs_rxq_count(xs, m, 1);
		moved = true;
	}
	spin_unlock(&xs->rx_lock);
	if (moved)
		xs->sk.sk_data_ready(&xs->sk);
}

/*
 * Discard the queued records that came through pipe end @to (through any,
 * when @to is NULL) and, with @reading, those threads are reading too (the
 * socket is going away).  A record a thread has begun to read is otherwise
 * its own to finish.
 */
void xs_rx_purge(struct xs_sock *xs, struct xs_pipe_end *to, bool reading)
{
	struct xs_msg *m, *tmp;
	LIST_HEAD(gone);
	LIST_HEAD(read);

	spin_lock(&xs->rx_lock);
	list_for_each_entry_safe(m, tmp, &xs->rxq, node) {
		if (!to || m->to == to) {
			xs_rxq_del(xs, m);
			list_add_tail(&m->node, &gone);
		}
	}
	if (reading)
		list_splice_init(&xs->reading, &read);
	spin_unlock(&xs->rx_lock);

	list_for_each_entry_safe(m, tmp, &gone, node) {
		xs_msg_uncount(m);
		xs_msg_release(m);
	}
	list_for_each_entry_safe(m, tmp, &read, node)
		xs_msg_release(m);
}
