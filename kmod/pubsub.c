// SPDX-License-Identifier: GPL-2.0
/*
 * AF_XS publish/subscribe: PUB, SUB, XPUB, XSUB.
 *
 * Subscriptions are matched in the kernel at the publisher.  A publisher
 * keeps a hash table of the prefixes its peers subscribed to, each with
 * the list of pipes that hold it (one struct xs_subref per pipe and
 * prefix, itself hashed by pipe and prefix), plus a bitmap of the prefix
 * lengths in use.  Matching a record looks up the first part's prefix of
 * each length in use, so its cost depends on the record and on the
 * subscribers that match, never on those that do not.  The record itself
 * is shared by every subscriber's queue (xs_pipe_deliver() takes a
 * reference, not a copy).
 *
 * Every hash table (the publisher's prefixes and holds, a subscriber's
 * own prefixes) has its own random seed and doubles when it holds more
 * entries than buckets (halves below an eighth), so subscribing, and
 * attaching a subscriber with N prefixes, costs O(1) per prefix on
 * average whatever prefixes a user picks.  Loops over user-sized lists
 * call cond_resched() (they run under mutexes only).
 *
 * A subscriber (SUB, XSUB) keeps its own subscriptions with duplicate
 * counts and tells its publishers about a prefix when its count goes 0->1
 * or 1->0, and everything at once when a publisher attaches, so that a SUB
 * re-subscribes when it reconnects to a re-bound name.  It updates the
 * publisher's table directly, under its own route lock and then the
 * publisher's sub lock (lock order: route lock -> sub lock -> rx lock).
 *
 * Memory: everything a subscription costs a publisher is allocated first
 * (without the publisher's lock, __GFP_NOWARN, never __GFP_NOFAIL) and
 * then linked in, so a change reaches all publishers or none.  It is
 * charged to the memory cgroup of the task that created the subscriber
 * socket, also when the publisher's bind() makes the copy.  A failure in
 * the subscriber's own call (XS_SUBSCRIBE, XS_UNSUBSCRIBE, an XSUB's
 * subscription record) changes nothing and says ENOMEM (XSUB: counted in
 * XS_DROPS).  A failure while a publisher attaches leaves that publisher
 * without any of this subscriber's prefixes: the subscriber's end is
 * marked (subs_lost), its XS_MISSED counts one, and its next subscription
 * call sends the whole list again first (and fails with ENOMEM, changing
 * nothing, if that fails again).  Other subscribers are not affected.
 *
 * XPUB also receives a notice (a record: byte 1 or 0, then the prefix)
 * whenever a prefix becomes subscribed or stops being subscribed by any
 * peer, with SCM_CREDENTIALS of the subscriber (the task that subscribed
 * or unsubscribed; for a SUB that went away, the task that had
 * subscribed).  Notices obey the XPUB's XS_RCVHWM (records queued) and
 * SO_RCVBUF (bytes the kernel holds for them: record, part and message
 * structures, not only the payload): beyond those, or when memory is
 * short, a notice is dropped and counted in the XPUB's XS_MISSED and the
 * subscriber's XS_DROPS.  Notices are not coalesced.  XSUB turns such
 * records sent by its user into subscriptions.
 */

#include <linux/bitmap.h>
#include <linux/cred.h>
#include <linux/jhash.h>
#include <linux/memcontrol.h>
#include <linux/random.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "af_xs.h"
#include "trace.h"

/* ---- hash tables with a random seed, growing and shrinking --------------- */

#define XS_HTAB_MIN_BITS	3
#define XS_HTAB_MAX_BITS	26

struct xs_hnode {
	struct hlist_node	node;
	u32			hash;
};

struct xs_htab {
	struct hlist_head	*b;
	u32			bits;
	u32			count;
	u32			seed;
};

static int xs_htab_init(struct xs_htab *t)
{
	t->b = kcalloc(1U << XS_HTAB_MIN_BITS, sizeof(*t->b),
		       GFP_KERNEL_ACCOUNT);
	if (!t->b)
		return -ENOMEM;
	t->bits = XS_HTAB_MIN_BITS;
	t->count = 0;
	t->seed = get_random_u32();
	return 0;
}

static void xs_htab_destroy(struct xs_htab *t)
{
	kvfree(t->b);
	t->b = NULL;
}

static struct hlist_head *xs_htab_bucket(const struct xs_htab *t, u32 hash)
{
	return &t->b[hash >> (32 - t->bits)];
}

/* The table's lock held (may sleep): rehash into 2^@bits buckets, if we can. */
static void xs_htab_resize(struct xs_htab *t, u32 bits)
{
	struct hlist_head *old = t->b, *nb;
	u32 i, n = 1U << t->bits;
	struct hlist_node *tmp;
	struct xs_hnode *e;

	nb = kvcalloc(1U << bits, sizeof(*nb), GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!nb)
		return;		/* still correct, only more crowded */
	t->b = nb;
	t->bits = bits;
	for (i = 0; i < n; i++) {
		hlist_for_each_entry_safe(e, tmp, &old[i], node) {
			hlist_del(&e->node);
			hlist_add_head(&e->node, xs_htab_bucket(t, e->hash));
		}
		if (!(i & 1023))
			cond_resched();
	}
	kvfree(old);
}

/* The table's lock held (may sleep). */
static void xs_htab_add(struct xs_htab *t, struct xs_hnode *e, u32 hash)
{
	e->hash = hash;
	hlist_add_head(&e->node, xs_htab_bucket(t, hash));
	if (++t->count > (1U << t->bits) && t->bits < XS_HTAB_MAX_BITS)
		xs_htab_resize(t, t->bits + 1);
}

/* The table's lock held (may sleep). */
static void xs_htab_del(struct xs_htab *t, struct xs_hnode *e)
{
	hlist_del(&e->node);
	if (--t->count < (1U << t->bits) / 8 && t->bits > XS_HTAB_MIN_BITS)
		xs_htab_resize(t, t->bits - 1);
}

/* ---- state --------------------------------------------------------------- */

/* Who subscribed: what an XPUB's notice carries as SCM_CREDENTIALS. */
struct xs_cred {
	struct pid	*pid;		/* reference held, except on the stack */
	kuid_t		uid;
	kgid_t		gid;
};

/* A prefix some peer of a publisher subscribed to. */
struct xs_prefix {
	struct xs_hnode		h;		/* in xs_pubsub.prefixes */
	struct list_head	refs;		/* xs_subref.prefix_node */
	u32			total;		/* pipes that hold it */
	u32			len;
	u8			data[];
};

/*
 * One pipe's hold on a prefix.  Before it is linked in, it is a spare: it
 * sits on a list by @pipe_node and @prefix is a copy of the prefix, used
 * if the publisher does not have it yet.
 */
struct xs_subref {
	struct xs_hnode		h;		/* in xs_pubsub.refs */
	struct list_head	prefix_node;
	struct list_head	pipe_node;	/* xs_pipe_end.subs */
	struct xs_prefix	*prefix;
	struct xs_pipe_end	*pe;
	struct xs_cred		who;		/* the subscriber */
};

/* A subscriber's own subscription. */
struct xs_mysub {
	struct xs_hnode		h;		/* in xs_pubsub.mine_tab */
	struct list_head	node;		/* xs_pubsub.mine */
	u32			count;
	u32			len;
	struct xs_cred		who;		/* who made it (0 -> 1) */
	u8			data[];
};

struct xs_pubsub {
	struct mem_cgroup	*memcg;		/* the creator's: pays for it all */
	/* publisher side */
	struct mutex		lock;		/* the sub lock */
	struct xs_htab		prefixes;	/* xs_prefix */
	struct xs_htab		refs;		/* xs_subref, by (pipe, prefix) */
	u32			*len_count;	/* prefixes of each length */
	unsigned long		lens[BITS_TO_LONGS(XS_PREFIX_MAX + 1)];
	unsigned long		gen;
	atomic_t		notices;	/* XPUB: notices queued */
	/* subscriber side, route lock */
	struct xs_htab		mine_tab;	/* xs_mysub */
	struct list_head	mine;		/* xs_mysub, in subscription order */
};

static struct xs_pubsub *xs_ps(struct xs_sock *xs)
{
	return xs->priv;
}

static bool xs_is_publisher(struct xs_sock *xs)
{
	return xs->pat->proto == XSPROTO_PUB || xs->pat->proto == XSPROTO_XPUB;
}

static void xs_pubsub_free(struct xs_pubsub *ps)
{
	xs_htab_destroy(&ps->prefixes);
	xs_htab_destroy(&ps->refs);
	xs_htab_destroy(&ps->mine_tab);
	kvfree(ps->len_count);
	mem_cgroup_put(ps->memcg);
	mutex_destroy(&ps->lock);
	kfree(ps);
}

static int xs_pubsub_init(struct xs_sock *xs)
{
	struct xs_pubsub *ps = kzalloc(sizeof(*ps), GFP_KERNEL_ACCOUNT);

	if (!ps)
		return -ENOMEM;
	mutex_init(&ps->lock);
	INIT_LIST_HEAD(&ps->mine);
	if (xs_is_publisher(xs)) {
		ps->len_count = kvcalloc(XS_PREFIX_MAX + 1,
					 sizeof(*ps->len_count),
					 GFP_KERNEL_ACCOUNT);
		if (!ps->len_count || xs_htab_init(&ps->prefixes) ||
		    xs_htab_init(&ps->refs))
			goto fail;
	} else if (xs_htab_init(&ps->mine_tab)) {
		goto fail;
	}
	/* subscriptions are charged here even when another task copies them */
	ps->memcg = get_mem_cgroup_from_mm(current->mm);
	xs->priv = ps;
	return 0;
fail:
	xs_pubsub_free(ps);
	return -ENOMEM;
}

/* No pipe is left: free what remains of our own subscriptions. */
static void xs_pubsub_release(struct xs_sock *xs)
{
	struct xs_pubsub *ps = xs_ps(xs);
	struct xs_mysub *ms, *tmp;

	list_for_each_entry_safe(ms, tmp, &ps->mine, node) {
		put_pid(ms->who.pid);
		kfree(ms);
		cond_resched();
	}
	WARN_ON_ONCE(ps->prefixes.count || ps->refs.count);
	xs_pubsub_free(ps);
}

/* ---- XPUB notices -------------------------------------------------------- */

/*
 * What the kernel holds for a notice besides its payload (which the
 * socket's rx_bytes counts): its record, part and message structures.
 */
#define XS_NOTICE_OVERHEAD	(sizeof(struct xs_record) + \
				 sizeof(struct xs_msg) + sizeof(struct xs_part))

/* Bytes the XPUB @pub holds in its receive queue, notices counted whole. */
static size_t xs_rx_held(struct xs_sock *pub)
{
	return READ_ONCE(pub->rx_bytes) +
	       atomic_read(&xs_ps(pub)->notices) * XS_NOTICE_OVERHEAD;
}

/* No lock: a record leaves an XPUB's queue. */
static int xs_xpub_recv_take(struct xs_sock *xs, struct xs_msg *m)
{
	if (!m->pipe)	/* a notice */
		atomic_dec(&xs_ps(xs)->notices);
	return 0;
}

/*
 * Publisher's sub lock held: an XPUB learns that a prefix appeared (1) or
 * went (0), in a record from @who.  Beyond the XPUB's limits, or without
 * memory, the notice is dropped: missed by the XPUB, dropped by the
 * subscriber @sub (NULL: gone).
 */
static void xs_xpub_notify(struct xs_sock *pub, struct xs_sock *sub, u8 what,
			   const u8 *data, u32 len, const struct xs_cred *who)
{
	gfp_t gfp = GFP_KERNEL_ACCOUNT | __GFP_NOWARN;
	int hwm = READ_ONCE(pub->rcvhwm), reason = XS_REASON_FULL;
	struct xs_record *rec;
	struct xs_part *part;
	struct xs_msg *m;

	lockdep_assert_held(&xs_ps(pub)->lock);
	if (pub->pat->proto != XSPROTO_XPUB)
		return;
	/* only this lock's holders add notices: the checks are not racy */
	if ((hwm > 0 && READ_ONCE(pub->rx_count) >= (u32)hwm) ||
	    xs_rx_held(pub) + XS_NOTICE_OVERHEAD + len + 1 >
	    (size_t)READ_ONCE(pub->sk.sk_rcvbuf))
		goto dropped;
	reason = XS_REASON_NOMEM;
	rec = xs_record_alloc_gfp(gfp);
	if (!rec)
		goto dropped;
	part = kmalloc(struct_size(part, data, len + 1), gfp);
	m = part ? xs_msg_alloc_gfp(gfp) : NULL;
	if (!m) {
		kfree(part);
		xs_record_put(rec);
		goto dropped;
	}
	/* the subscriber's credentials, not those of whoever attached */
	put_pid(rec->pid);
	rec->pid = get_pid(who->pid);
	rec->uid = who->uid;
	rec->gid = who->gid;
	part->len = len + 1;
	part->data[0] = what;
	memcpy(part->data + 1, data, len);
	xs_record_append(rec, part);
	m->rec = rec;		/* our reference moves to the message */
	m->pipe = NULL;		/* not flow-controlled by a pipe */
	m->to = NULL;
	m->head = NULL;
	m->next = part;
	m->epoch = 0;
	m->reader = NULL;
	atomic_inc(&xs_ps(pub)->notices);
	xs_rx_enqueue(pub, m, true);
	return;
dropped:
	xs_drop(sub, pub, reason);
}

/* ---- publisher side ------------------------------------------------------ */

static u32 xs_prefix_hash(struct xs_pubsub *ps, const u8 *data, u32 len)
{
	return jhash(data, len, ps->prefixes.seed);
}

static u32 xs_ref_hash(struct xs_pubsub *ps, const struct xs_pipe_end *pe,
		       const struct xs_prefix *p)
{
	unsigned long key[2] = { (unsigned long)pe, (unsigned long)p };

	return jhash(key, sizeof(key), ps->refs.seed);
}

/* sub lock held */
static struct xs_prefix *xs_prefix_find(struct xs_pubsub *ps, const u8 *data,
					u32 len)
{
	u32 hash = xs_prefix_hash(ps, data, len);
	struct xs_prefix *p;

	hlist_for_each_entry(p, xs_htab_bucket(&ps->prefixes, hash), h.node)
		if (p->h.hash == hash && p->len == len &&
		    !memcmp(p->data, data, len))
			return p;
	return NULL;
}

/* sub lock held: the hold of publisher end @pe on @p, if any. */
static struct xs_subref *xs_subref_find(struct xs_pubsub *ps,
					struct xs_pipe_end *pe,
					struct xs_prefix *p)
{
	u32 hash = xs_ref_hash(ps, pe, p);
	struct xs_subref *ref;

	hlist_for_each_entry(ref, xs_htab_bucket(&ps->refs, hash), h.node)
		if (ref->pe == pe && ref->prefix == p)
			return ref;
	return NULL;
}

/* A spare hold on a prefix, allocated before any lock of the publisher. */
static struct xs_subref *xs_spare_alloc(const u8 *data, u32 len,
					const struct xs_cred *who)
{
	gfp_t gfp = GFP_KERNEL_ACCOUNT | __GFP_NOWARN;
	struct xs_subref *ref = kmalloc(sizeof(*ref), gfp);
	struct xs_prefix *p;

	if (!ref)
		return NULL;
	p = kmalloc(struct_size(p, data, len), gfp);
	if (!p) {
		kfree(ref);
		return NULL;
	}
	INIT_LIST_HEAD(&p->refs);
	p->total = 0;
	p->len = len;
	memcpy(p->data, data, len);
	ref->prefix = p;
	ref->pe = NULL;
	ref->who.pid = get_pid(who->pid);
	ref->who.uid = who->uid;
	ref->who.gid = who->gid;
	return ref;
}

/* A spare that was not used, with its copy of the prefix. */
static void xs_spare_free(struct xs_subref *ref)
{
	kfree(ref->prefix);
	put_pid(ref->who.pid);
	kfree(ref);
}

static void xs_spares_free(struct list_head *spares)
{
	struct xs_subref *ref, *tmp;

	list_for_each_entry_safe(ref, tmp, spares, pipe_node) {
		list_del(&ref->pipe_node);
		xs_spare_free(ref);
		cond_resched();
	}
}

/*
 * sub lock held.  Subscriber @sub, at the other end of publisher end @pe,
 * subscribes to the prefix of @spare, which becomes its hold (or is freed
 * if it holds the prefix already).  Cannot fail.
 */
static void xs_pub_add(struct xs_sock *pub, struct xs_pipe_end *pe,
		       struct xs_subref *spare, struct xs_sock *sub)
{
	struct xs_pubsub *ps = xs_ps(pub);
	struct xs_prefix *sp = spare->prefix, *p;

	lockdep_assert_held(&ps->lock);
	p = xs_prefix_find(ps, sp->data, sp->len);
	if (p && xs_subref_find(ps, pe, p)) {
		xs_spare_free(spare);
		return;
	}
	if (p) {
		kfree(sp);
	} else {
		p = sp;
		xs_htab_add(&ps->prefixes, &p->h,
			    xs_prefix_hash(ps, p->data, p->len));
		if (!ps->len_count[p->len]++)
			__set_bit(p->len, ps->lens);
	}
	spare->prefix = p;
	spare->pe = pe;
	list_add_tail(&spare->prefix_node, &p->refs);
	list_add_tail(&spare->pipe_node, &pe->subs);
	xs_htab_add(&ps->refs, &spare->h, xs_ref_hash(ps, pe, p));
	if (!p->total++)
		xs_xpub_notify(pub, sub, 1, p->data, p->len, &spare->who);
	xs_event(pub, XS_EVENT_SUBSCRIBED, 0, sub, p->data, p->len);
}

/*
 * sub lock held: @ref goes; with the last hold on its prefix the prefix
 * goes too, and an XPUB hears of it from @who (NULL: the subscriber).
 */
static void xs_subref_free(struct xs_sock *pub, struct xs_subref *ref,
			   struct xs_sock *sub, const struct xs_cred *who)
{
	struct xs_pubsub *ps = xs_ps(pub);
	struct xs_prefix *p = ref->prefix;

	lockdep_assert_held(&ps->lock);
	list_del(&ref->prefix_node);
	list_del(&ref->pipe_node);
	xs_htab_del(&ps->refs, &ref->h);
	xs_event(pub, XS_EVENT_UNSUBSCRIBED, 0, sub, p->data, p->len);
	if (!--p->total) {
		xs_xpub_notify(pub, sub, 0, p->data, p->len, who ?: &ref->who);
		xs_htab_del(&ps->prefixes, &p->h);
		if (!--ps->len_count[p->len])
			__clear_bit(p->len, ps->lens);
		kfree(p);
	}
	put_pid(ref->who.pid);
	kfree(ref);
}

/*
 * Subscriber @sub behind publisher end @pe drops a prefix (@who called).
 * Called with the subscriber's route lock held, which keeps @pub alive.
 */
static void xs_pub_remove(struct xs_sock *pub, struct xs_pipe_end *pe,
			  const u8 *data, u32 len, struct xs_sock *sub,
			  const struct xs_cred *who)
{
	struct xs_pubsub *ps = xs_ps(pub);
	struct xs_subref *ref = NULL;
	struct xs_prefix *p;

	mutex_lock(&ps->lock);
	p = xs_prefix_find(ps, data, len);
	if (p)
		ref = xs_subref_find(ps, pe, p);
	if (ref)
		xs_subref_free(pub, ref, sub, who);
	mutex_unlock(&ps->lock);
}

/* Forget every subscription that came through @pe, the publisher's end. */
static void xs_pub_forget_pipe(struct xs_sock *pub, struct xs_pipe_end *pe,
			       struct xs_sock *sub)
{
	struct xs_pubsub *ps = xs_ps(pub);
	struct xs_subref *ref, *tmp;

	mutex_lock(&ps->lock);
	list_for_each_entry_safe(ref, tmp, &pe->subs, pipe_node) {
		xs_subref_free(pub, ref, sub, NULL);
		cond_resched();
	}
	mutex_unlock(&ps->lock);
}

/* route lock held */
static int xs_pub_attach(struct xs_sock *xs, struct xs_pipe_end *pe)
{
	lockdep_assert_held(&xs->route_lock);
	/* a previous publisher's generation must not look like ours */
	pe->gen = 0;
	return 0;
}

/* route lock held */
static void xs_pub_detach(struct xs_sock *xs, struct xs_pipe_end *pe)
{
	lockdep_assert_held(&xs->route_lock);
	xs_pub_forget_pipe(xs, pe, xs_other_end(pe)->xs);
}

/*
 * Sub lock held: call @fn on each pipe end whose subscriptions match
 * @first, once each; stop at the first non-zero return and give it.
 */
static int xs_pub_match(struct xs_sock *xs, struct xs_part *first,
			int (*fn)(struct xs_sock *xs, struct xs_pipe_end *pe,
				  void *arg), void *arg)
{
	struct xs_pubsub *ps = xs_ps(xs);
	size_t max = min_t(size_t, first->len, XS_PREFIX_MAX);
	unsigned long gen = ++ps->gen;
	struct xs_subref *ref;
	struct xs_prefix *p;
	unsigned int len;
	int err;

	lockdep_assert_held(&ps->lock);
	for_each_set_bit(len, ps->lens, max + 1) {
		p = xs_prefix_find(ps, first->data, len);
		if (!p)
			continue;
		list_for_each_entry(ref, &p->refs, prefix_node) {
			/* "a" and "ab" both match "abc": once */
			if (ref->pe->gen == gen)
				continue;
			ref->pe->gen = gen;
			err = fn(xs, ref->pe, arg);
			if (err)
				return err;
		}
	}
	return 0;
}

/* XS_LOSSLESS reservations being made at a record's first part. */
struct xs_resv {
	struct xs_pipe_end	**pes;
	u32			n, max;
};

static int xs_resv_count(struct xs_sock *xs, struct xs_pipe_end *pe,
			 void *arg)
{
	struct xs_resv *r = arg;

	r->max++;
	return 0;
}

static int xs_resv_take(struct xs_sock *xs, struct xs_pipe_end *pe,
			void *arg)
{
	struct xs_resv *r = arg;

	/* an end leaving us (xs_pipe_leave()) reaches nobody: skip it */
	if (READ_ONCE(pe->xs) != xs)
		return 0;
	if (WARN_ON_ONCE(r->n >= r->max) || !xs_pipe_reserve(xs, pe))
		return -EAGAIN;
	refcount_inc(&pe->pipe->ref);
	r->pes[r->n++] = pe;
	return 0;
}

/*
 * route lock held.  XS_LOSSLESS: room for the record on every pipe its
 * first part matches, all or none (-EAGAIN: the caller waits, -ENOMEM).
 * With @tx NULL (poll), whether any first part would go now: has every
 * subscribed peer room?
 */
static int xs_pub_send_begin(struct xs_sock *xs, struct xs_tx *tx)
{
	struct xs_pubsub *ps = xs_ps(xs);
	struct xs_resv r = {};
	struct xs_pipe_end *pe;
	int err = 0;

	lockdep_assert_held(&xs->route_lock);
	if (!tx) {
		if (!READ_ONCE(xs->lossless))
			return 0;
		mutex_lock(&ps->lock);
		list_for_each_entry(pe, &xs->pipes, node)
			if (!list_empty(&pe->subs) && READ_ONCE(pe->xs) == xs &&
			    !xs_pipe_has_room(xs, pe)) {
				err = -EAGAIN;
				break;
			}
		mutex_unlock(&ps->lock);
		return err;
	}
	/* switched off while we waited: the record goes the lossy way */
	if (!READ_ONCE(xs->lossless)) {
		tx->lossless = false;
		return 0;
	}
	mutex_lock(&ps->lock);
	xs_pub_match(xs, list_first_entry(&tx->rec->parts, struct xs_part,
					  node), xs_resv_count, &r);
	if (!r.max)
		goto out;
	r.pes = kvmalloc_array(r.max, sizeof(*r.pes),
			       GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	err = -ENOMEM;
	if (!r.pes)
		goto out;
	err = xs_pub_match(xs, list_first_entry(&tx->rec->parts,
						struct xs_part, node),
			   xs_resv_take, &r);
	if (err) {
		while (r.n--) {
			xs_pipe_unreserve(r.pes[r.n]);
			xs_pipe_put(r.pes[r.n]->pipe);
		}
		kvfree(r.pes);
		goto out;
	}
	tx->resv = r.pes;
	tx->nresv = r.n;
out:
	mutex_unlock(&ps->lock);
	return err;
}

/*
 * route lock held: an XS_LOSSLESS record goes where room was kept for it
 * at its first part (decided then: a peer that subscribed since does not
 * get it, one that unsubscribed since still does).
 */
static void xs_pub_send_reserved(struct xs_sock *xs, struct xs_tx *tx)
{
	struct xs_pipe_end *pe;
	u32 i;

	for (i = 0; i < tx->nresv; i++) {
		pe = tx->resv[i];
		xs_pipe_deliver_reserved(xs, pe, tx->rec);
		xs_pipe_put(pe->pipe);
		cond_resched();
	}
	kvfree(tx->resv);
	tx->resv = NULL;
	tx->nresv = 0;
}

/*
 * XS_PEERS' cousins for a publisher: peers holding a subscription, and
 * distinct prefixes.  -EINVAL for other patterns.  No lock held.
 */
int xs_pub_counts(struct xs_sock *xs, u32 *subscribers, u32 *prefixes)
{
	struct xs_pubsub *ps;
	struct xs_pipe_end *pe;
	u32 n = 0;

	if (!xs_is_publisher(xs))
		return -EINVAL;
	ps = xs_ps(xs);
	mutex_lock(&xs->route_lock);
	mutex_lock(&ps->lock);
	list_for_each_entry(pe, &xs->pipes, node)
		if (!list_empty(&pe->subs))
			n++;
	*prefixes = ps->prefixes.count;
	mutex_unlock(&ps->lock);
	mutex_unlock(&xs->route_lock);
	*subscribers = n;
	return 0;
}

/* route lock held: fan the record out to every matching pipe, once each. */
static void xs_pub_send_end(struct xs_sock *xs, struct xs_tx *tx)
{
	struct xs_pubsub *ps = xs_ps(xs);
	struct xs_part *first;
	struct xs_subref *ref;
	struct xs_prefix *p;
	unsigned long gen;
	unsigned int len;
	size_t max;

	lockdep_assert_held(&xs->route_lock);
	if (tx->lossless) {
		xs_pub_send_reserved(xs, tx);
		return;
	}
	first = list_first_entry(&tx->rec->parts, struct xs_part, node);
	max = min_t(size_t, first->len, XS_PREFIX_MAX);
	mutex_lock(&ps->lock);
	gen = ++ps->gen;
	for_each_set_bit(len, ps->lens, max + 1) {
		p = xs_prefix_find(ps, first->data, len);
		if (!p)
			continue;
		list_for_each_entry(ref, &p->refs, prefix_node) {
			/* "a" and "ab" both match "abc": deliver once */
			if (ref->pe->gen == gen)
				continue;
			ref->pe->gen = gen;
			xs_pipe_deliver(xs, ref->pe, tx->rec, NULL, NULL);
		}
	}
	mutex_unlock(&ps->lock);
}

/* ---- subscriber side ----------------------------------------------------- */

/* route lock held */
static struct xs_mysub *xs_mysub_find(struct xs_pubsub *ps, const u8 *data,
				      u32 len, u32 hash)
{
	struct xs_mysub *ms;

	hlist_for_each_entry(ms, xs_htab_bucket(&ps->mine_tab, hash), h.node)
		if (ms->h.hash == hash && ms->len == len &&
		    !memcmp(ms->data, data, len))
			return ms;
	return NULL;
}

/*
 * route lock held.  A publisher is (or may be) behind @pe: give it every
 * subscription of ours, all or none.  -ENOMEM: it has none of them, and
 * @pe is marked for a retry.
 */
static int xs_sub_send_all(struct xs_sock *xs, struct xs_pipe_end *pe)
{
	struct xs_pipe_end *pub_end = xs_other_end(pe);
	struct xs_sock *pub = pub_end->xs;
	struct xs_pubsub *ps = xs_ps(xs);
	struct xs_subref *ref, *tmp;
	struct mem_cgroup *old;
	struct xs_mysub *ms;
	LIST_HEAD(spares);
	int err = 0;

	lockdep_assert_held(&xs->route_lock);
	pe->subs_lost = false;
	if (!pub || !xs_ps(pub) || list_empty(&ps->mine))
		return 0;
	old = set_active_memcg(ps->memcg);
	list_for_each_entry(ms, &ps->mine, node) {
		ref = xs_spare_alloc(ms->data, ms->len, &ms->who);
		if (!ref) {
			err = -ENOMEM;
			break;
		}
		list_add_tail(&ref->pipe_node, &spares);
		cond_resched();
	}
	if (!err) {
		mutex_lock(&xs_ps(pub)->lock);
		list_for_each_entry_safe(ref, tmp, &spares, pipe_node) {
			list_del(&ref->pipe_node);
			xs_pub_add(pub, pub_end, ref, xs);
			cond_resched();
		}
		mutex_unlock(&xs_ps(pub)->lock);
	}
	xs_spares_free(&spares);
	set_active_memcg(old);
	if (err)
		pe->subs_lost = true;
	return err;
}

/* route lock held: a publisher appeared behind @pe. */
static void xs_sub_peer_attached(struct xs_sock *xs, struct xs_pipe_end *pe)
{
	/* only this subscriber loses: counted, retried at its next change */
	if (xs_sub_send_all(xs, pe))
		xs_drop(NULL, xs, XS_REASON_NOMEM);
}

/* route lock held: publishers that lack our subscriptions get them now. */
static int xs_sub_retry(struct xs_sock *xs)
{
	struct xs_pipe_end *pe;

	list_for_each_entry(pe, &xs->pipes, node)
		if (pe->subs_lost && xs_sub_send_all(xs, pe))
			return -ENOMEM;
	return 0;
}

/*
 * route lock held: one more or one less subscription to a prefix, asked
 * by @who.  On error nothing changed.
 */
static int xs_sub_change(struct xs_sock *xs, const u8 *data, u32 len,
			 bool add, const struct xs_cred *who)
{
	struct xs_pubsub *ps = xs_ps(xs);
	struct xs_pipe_end *pe;
	struct xs_subref *ref;
	struct mem_cgroup *old;
	struct xs_mysub *ms;
	struct xs_sock *pub;
	LIST_HEAD(spares);
	u32 hash;
	int err;

	lockdep_assert_held(&xs->route_lock);
	err = xs_sub_retry(xs);
	if (err)
		return err;
	hash = jhash(data, len, ps->mine_tab.seed);
	ms = xs_mysub_find(ps, data, len, hash);
	if (!add) {
		/* as Crossroads: unknown prefixes are ignored */
		if (!ms || --ms->count)
			return 0;
		list_for_each_entry(pe, &xs->pipes, node) {
			pub = xs_other_end(pe)->xs;
			if (pub && xs_ps(pub))
				xs_pub_remove(pub, xs_other_end(pe), data, len,
					      xs, who);
			cond_resched();
		}
		list_del(&ms->node);
		xs_htab_del(&ps->mine_tab, &ms->h);
		put_pid(ms->who.pid);
		kfree(ms);
		return 0;
	}
	if (ms) {
		if (ms->count == U32_MAX)
			return -EOVERFLOW;
		ms->count++;
		return 0;
	}

	old = set_active_memcg(ps->memcg);
	err = -ENOMEM;
	ms = kmalloc(struct_size(ms, data, len),
		     GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!ms)
		goto out;
	ms->count = 1;
	ms->len = len;
	memcpy(ms->data, data, len);
	ms->who.pid = get_pid(who->pid);
	ms->who.uid = who->uid;
	ms->who.gid = who->gid;
	/* every publisher's share first: all of them get it, or none */
	list_for_each_entry(pe, &xs->pipes, node) {
		pub = xs_other_end(pe)->xs;
		if (!pub || !xs_ps(pub))
			continue;
		ref = xs_spare_alloc(data, len, who);
		if (!ref)
			goto out_free;
		list_add_tail(&ref->pipe_node, &spares);
		cond_resched();
	}
	list_add_tail(&ms->node, &ps->mine);
	xs_htab_add(&ps->mine_tab, &ms->h, hash);
	list_for_each_entry(pe, &xs->pipes, node) {
		pub = xs_other_end(pe)->xs;
		if (!pub || !xs_ps(pub))
			continue;
		ref = list_first_entry(&spares, struct xs_subref, pipe_node);
		list_del(&ref->pipe_node);
		mutex_lock(&xs_ps(pub)->lock);
		xs_pub_add(pub, xs_other_end(pe), ref, xs);
		mutex_unlock(&xs_ps(pub)->lock);
	}
	ms = NULL;
	err = 0;
out_free:
	xs_spares_free(&spares);
	if (ms) {
		put_pid(ms->who.pid);
		kfree(ms);
	}
out:
	set_active_memcg(old);
	return err;
}

/* route lock held */
static int xs_sub_attach(struct xs_sock *xs, struct xs_pipe_end *pe)
{
	lockdep_assert_held(&xs->route_lock);
	xs_sub_peer_attached(xs, pe);
	return 0;
}

/* route lock held: the publisher must forget what came through @pe */
static void xs_sub_detach(struct xs_sock *xs, struct xs_pipe_end *pe)
{
	struct xs_pipe_end *pub_end = xs_other_end(pe);

	lockdep_assert_held(&xs->route_lock);
	pe->subs_lost = false;
	if (pub_end->xs && xs_ps(pub_end->xs))
		xs_pub_forget_pipe(pub_end->xs, pub_end, xs);
}

static int xs_sub_setsockopt(struct xs_sock *xs, int optname,
			     sockptr_t optval, unsigned int optlen)
{
	struct xs_cred who = { .pid = task_tgid(current) };
	u8 *prefix;
	int err;

	if (optname != XS_SUBSCRIBE && optname != XS_UNSUBSCRIBE)
		return -ENOPROTOOPT;
	if (xs->pat->proto != XSPROTO_SUB || optlen > XS_PREFIX_MAX)
		return -EINVAL;
	prefix = memdup_sockptr(optval, optlen);
	if (IS_ERR(prefix))
		return PTR_ERR(prefix);
	current_uid_gid(&who.uid, &who.gid);
	mutex_lock(&xs->route_lock);
	err = xs_sub_change(xs, prefix, optlen, optname == XS_SUBSCRIBE,
			    &who);
	mutex_unlock(&xs->route_lock);
	trace_xs_subscription(xs, prefix, optlen, optname == XS_SUBSCRIBE, err);
	kfree(prefix);
	return err;
}

/*
 * route lock held.  XSUB: a one-part record starting with 1 or 0 is a
 * subscription, by the record's sender; anything else goes to every
 * publisher that reads.
 */
static void xs_xsub_send_end(struct xs_sock *xs, struct xs_tx *tx)
{
	struct xs_record *rec = tx->rec;
	struct xs_part *first;

	lockdep_assert_held(&xs->route_lock);
	first = list_first_entry(&rec->parts, struct xs_part, node);
	if (rec->nparts == 1 && first->len >= 1 && first->data[0] <= 1 &&
	    first->len - 1 <= XS_PREFIX_MAX) {
		struct xs_cred who = {
			.pid = rec->pid, .uid = rec->uid, .gid = rec->gid,
		};

		/* no error return here: a change that failed is a drop */
		if (xs_sub_change(xs, first->data + 1, first->len - 1,
				  first->data[0], &who))
			xs_drop(xs, NULL, XS_REASON_NOMEM);
		return;
	}
	xs_deliver_all(xs, rec, NULL);
}

const struct xs_pattern xs_pub_pattern = {
	.proto		= XSPROTO_PUB,
	.name		= "PUB",
	.peers		= BIT(XSPROTO_SUB) | BIT(XSPROTO_XSUB),
	.can_send	= true,
	.attach		= xs_pub_attach,
	.detach		= xs_pub_detach,
	.send_begin	= xs_pub_send_begin,
	.send_end	= xs_pub_send_end,
	.lossless_opt	= true,
	.init		= xs_pubsub_init,
	.release	= xs_pubsub_release,
};

const struct xs_pattern xs_xpub_pattern = {
	.proto		= XSPROTO_XPUB,
	.name		= "XPUB",
	.peers		= BIT(XSPROTO_SUB) | BIT(XSPROTO_XSUB),
	.can_send	= true,
	.can_recv	= true,
	.attach		= xs_pub_attach,
	.detach		= xs_pub_detach,
	.send_begin	= xs_pub_send_begin,
	.send_end	= xs_pub_send_end,
	.lossless_opt	= true,
	.recv_take	= xs_xpub_recv_take,
	.init		= xs_pubsub_init,
	.release	= xs_pubsub_release,
};

const struct xs_pattern xs_sub_pattern = {
	.proto		= XSPROTO_SUB,
	.name		= "SUB",
	.peers		= BIT(XSPROTO_PUB) | BIT(XSPROTO_XPUB),
	.can_recv	= true,
	.ring_ok	= true,
	.attach		= xs_sub_attach,
	.detach		= xs_sub_detach,
	.peer_attached	= xs_sub_peer_attached,
	.init		= xs_pubsub_init,
	.release	= xs_pubsub_release,
	.setsockopt	= xs_sub_setsockopt,
};

const struct xs_pattern xs_xsub_pattern = {
	.proto		= XSPROTO_XSUB,
	.name		= "XSUB",
	.peers		= BIT(XSPROTO_PUB) | BIT(XSPROTO_XPUB),
	.can_send	= true,
	.can_recv	= true,
	.ring_ok	= true,
	.attach		= xs_sub_attach,
	.detach		= xs_sub_detach,
	.send_end	= xs_xsub_send_end,
	.peer_attached	= xs_sub_peer_attached,
	.init		= xs_pubsub_init,
	.release	= xs_pubsub_release,
	.setsockopt	= xs_sub_setsockopt,
};
