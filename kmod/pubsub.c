// SPDX-License-Identifier: GPL-2.0
/*
 * AF_XS publish/subscribe: PUB, SUB, XPUB, XSUB.
 *
 * Subscriptions are matched in the kernel at the publisher.  A publisher
 * keeps a hash of the prefixes its peers subscribed to, each with the list
 * of pipes that hold it, plus the sorted list of distinct prefix lengths in
 * use.  Matching a record looks up the first part's prefix of each of those
 * lengths, so its cost depends on the record and on the subscribers that
 * match, never on those that do not.  The record itself is shared by every
 * subscriber's queue (xs_pipe_deliver() takes a reference, not a copy).
 *
 * A subscriber (SUB, XSUB) keeps its own subscriptions with duplicate
 * counts and tells its publishers about a prefix when its count goes 0->1
 * or 1->0, and everything at once when a publisher attaches, so that a SUB
 * re-subscribes when it reconnects to a re-bound name.  It updates the
 * publisher's table directly, under its own route lock and then the
 * publisher's sub lock (lock order: route lock -> sub lock -> rx lock).
 *
 * XPUB also receives a record (byte 1 or 0, then the prefix) whenever a
 * prefix becomes subscribed or stops being subscribed by any peer; XSUB
 * turns such records sent by its user into subscriptions.
 */

#include <linux/jhash.h>
#include <linux/slab.h>

#include "af_xs.h"

#define XS_PREFIX_HASH_BITS	8

/*
 * The publisher's copy of a subscription, and an XPUB's notice of it, are
 * small and bounded (XS_PREFIX_MAX), and losing one would silently break
 * the subscriber: they are allocated without failing.  The subscriber's
 * own record of its subscriptions is allocated normally, so a subscriber
 * that runs out of memory gets ENOMEM from setsockopt() instead.
 */
#define XS_SUB_GFP	(GFP_KERNEL_ACCOUNT | __GFP_NOFAIL)

/* A prefix some peer of a publisher subscribed to. */
struct xs_prefix {
	struct hlist_node	node;
	struct list_head	refs;		/* xs_subref.prefix_node */
	u32			total;		/* over all pipes, counted */
	u32			len;
	u8			data[];
};

/* One pipe's hold on a prefix. */
struct xs_subref {
	struct list_head	prefix_node;
	struct list_head	pipe_node;	/* xs_pipe_end.subs */
	struct xs_prefix	*prefix;
	struct xs_pipe_end	*pe;
	u32			count;
};

/* A prefix length in use, and how many prefixes have it. */
struct xs_sublen {
	struct list_head	node;
	u32			len;
	u32			prefixes;
};

/* A subscriber's own subscription. */
struct xs_mysub {
	struct list_head	node;
	u32			count;
	u32			len;
	u8			data[];
};

struct xs_pubsub {
	/* publisher side */
	struct mutex		lock;		/* the sub lock */
	struct hlist_head	hash[1 << XS_PREFIX_HASH_BITS];
	struct list_head	lens;		/* xs_sublen, ascending */
	unsigned long		gen;
	/* subscriber side, route lock */
	struct list_head	mine;		/* xs_mysub */
};

static struct xs_pubsub *xs_ps(struct xs_sock *xs)
{
	return xs->priv;
}

static int xs_pubsub_init(struct xs_sock *xs)
{
	struct xs_pubsub *ps = kzalloc(sizeof(*ps), GFP_KERNEL_ACCOUNT);
	int i;

	if (!ps)
		return -ENOMEM;
	mutex_init(&ps->lock);
	for (i = 0; i < ARRAY_SIZE(ps->hash); i++)
		INIT_HLIST_HEAD(&ps->hash[i]);
	INIT_LIST_HEAD(&ps->lens);
	INIT_LIST_HEAD(&ps->mine);
	xs->priv = ps;
	return 0;
}

/* No pipe is left: free what remains of our own subscriptions. */
static void xs_pubsub_release(struct xs_sock *xs)
{
	struct xs_pubsub *ps = xs_ps(xs);
	struct xs_mysub *ms, *tmp;

	list_for_each_entry_safe(ms, tmp, &ps->mine, node)
		kfree(ms);
	WARN_ON_ONCE(!list_empty(&ps->lens));
	mutex_destroy(&ps->lock);
	kfree(ps);
}

/* ---- publisher side ----------------------------------------------------- */

static u32 xs_prefix_hash(const u8 *data, u32 len)
{
	return jhash(data, len, 0) >> (32 - XS_PREFIX_HASH_BITS);
}

/* sub lock held */
static struct xs_prefix *xs_prefix_find(struct xs_pubsub *ps, const u8 *data,
					u32 len)
{
	struct xs_prefix *p;

	hlist_for_each_entry(p, &ps->hash[xs_prefix_hash(data, len)], node)
		if (p->len == len && !memcmp(p->data, data, len))
			return p;
	return NULL;
}

/* sub lock held: count one more (@delta 1) or one less (-1) prefix of @len */
static int xs_sublen_change(struct xs_pubsub *ps, u32 len, int delta)
{
	struct xs_sublen *sl, *n;

	list_for_each_entry(sl, &ps->lens, node) {
		if (sl->len < len)
			continue;
		if (sl->len == len) {
			sl->prefixes += delta;
			if (!sl->prefixes) {
				list_del(&sl->node);
				kfree(sl);
			}
			return 0;
		}
		break;
	}
	if (WARN_ON_ONCE(delta < 0))
		return 0;
	n = kmalloc(sizeof(*n), XS_SUB_GFP);
	if (!n)
		return -ENOMEM;
	n->len = len;
	n->prefixes = 1;
	/* before the first longer length, or at the end */
	list_add_tail(&n->node, &sl->node);
	return 0;
}

/* sub lock held: an XPUB learns that a prefix appeared (1) or went (0). */
static void xs_xpub_notify(struct xs_sock *xs, u8 what, const u8 *data,
			   u32 len)
{
	struct xs_record *rec;
	struct xs_part *part;
	struct xs_msg *m;

	if (xs->pat->proto != XSPROTO_XPUB)
		return;
	rec = xs_record_alloc_gfp(XS_SUB_GFP);
	part = kmalloc(struct_size(part, data, len + 1), XS_SUB_GFP);
	m = xs_msg_alloc_gfp(XS_SUB_GFP);
	part->len = len + 1;
	part->data[0] = what;
	memcpy(part->data + 1, data, len);
	xs_record_append(rec, part);
	m->rec = rec;		/* our reference moves to the message */
	m->pipe = NULL;		/* not flow-controlled */
	m->to = NULL;
	m->head = NULL;
	m->next = part;
	m->epoch = 0;
	m->reader = NULL;
	xs_rx_enqueue(xs, m, true);
}

static void xs_subref_free(struct xs_sock *pub, struct xs_subref *ref)
{
	struct xs_pubsub *ps = xs_ps(pub);
	struct xs_prefix *p = ref->prefix;

	p->total -= ref->count;
	list_del(&ref->prefix_node);
	list_del(&ref->pipe_node);
	kfree(ref);
	if (p->total)
		return;
	xs_xpub_notify(pub, 0, p->data, p->len);
	hlist_del(&p->node);
	xs_sublen_change(ps, p->len, -1);
	kfree(p);
}

/*
 * The peer at the other end of @pe (the publisher's end) subscribes to
 * (@add) or unsubscribes from a prefix.  Called with the subscriber's
 * route lock held, which keeps @pub alive.
 */
static void xs_pub_subscribe(struct xs_sock *pub, struct xs_pipe_end *pe,
			     const u8 *data, u32 len, bool add)
{
	struct xs_pubsub *ps = xs_ps(pub);
	struct xs_subref *ref;
	struct xs_prefix *p;

	if (!ps)
		return;
	mutex_lock(&ps->lock);
	p = xs_prefix_find(ps, data, len);
	if (!p && !add)
		goto out;
	if (!p) {
		p = kmalloc(struct_size(p, data, len), XS_SUB_GFP);
		if (!p || xs_sublen_change(ps, len, 1)) {
			kfree(p);
			goto out;
		}
		INIT_LIST_HEAD(&p->refs);
		p->total = 0;
		p->len = len;
		memcpy(p->data, data, len);
		hlist_add_head(&p->node, &ps->hash[xs_prefix_hash(data, len)]);
	}
	list_for_each_entry(ref, &pe->subs, pipe_node)
		if (ref->prefix == p)
			goto found;
	ref = NULL;
	if (add)
		ref = kzalloc(sizeof(*ref), XS_SUB_GFP);
	if (!ref) {
		if (!p->total) {
			hlist_del(&p->node);
			xs_sublen_change(ps, len, -1);
			kfree(p);
		}
		goto out;
	}
	ref->prefix = p;
	ref->pe = pe;
	list_add_tail(&ref->prefix_node, &p->refs);
	list_add_tail(&ref->pipe_node, &pe->subs);
found:
	if (add) {
		ref->count++;
		if (!p->total++)
			xs_xpub_notify(pub, 1, data, len);
	} else if (ref->count == 1) {
		xs_subref_free(pub, ref);
	} else {
		ref->count--;
		p->total--;
	}
out:
	mutex_unlock(&ps->lock);
}

/* Forget every subscription that came through @pe, the publisher's end. */
static void xs_pub_forget_pipe(struct xs_sock *pub, struct xs_pipe_end *pe)
{
	struct xs_pubsub *ps = xs_ps(pub);
	struct xs_subref *ref, *tmp;

	mutex_lock(&ps->lock);
	list_for_each_entry_safe(ref, tmp, &pe->subs, pipe_node)
		xs_subref_free(pub, ref);
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
	xs_pub_forget_pipe(xs, pe);
}

/* route lock held: fan the record out to every matching pipe, once each. */
static void xs_pub_send_end(struct xs_sock *xs, struct xs_tx *tx)
{
	struct xs_pubsub *ps = xs_ps(xs);
	struct xs_part *first;
	struct xs_subref *ref;
	struct xs_sublen *sl;
	struct xs_prefix *p;
	unsigned long gen;

	lockdep_assert_held(&xs->route_lock);
	first = list_first_entry(&tx->rec->parts, struct xs_part, node);
	mutex_lock(&ps->lock);
	gen = ++ps->gen;
	list_for_each_entry(sl, &ps->lens, node) {
		if (sl->len > first->len)
			break;
		p = xs_prefix_find(ps, first->data, sl->len);
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

/* ---- subscriber side ---------------------------------------------------- */

/* route lock held: tell the publisher behind @pe, if any. */
static void xs_sub_upstream(struct xs_pipe_end *pe, const u8 *data, u32 len,
			    bool add)
{
	struct xs_pipe_end *pub_end = xs_other_end(pe);
	struct xs_sock *pub = pub_end->xs;

	if (pub)
		xs_pub_subscribe(pub, pub_end, data, len, add);
}

/* route lock held: a publisher appeared behind @pe: send it everything. */
static void xs_sub_send_all(struct xs_sock *xs, struct xs_pipe_end *pe)
{
	struct xs_mysub *ms;

	lockdep_assert_held(&xs->route_lock);
	list_for_each_entry(ms, &xs_ps(xs)->mine, node)
		xs_sub_upstream(pe, ms->data, ms->len, true);
}

/* route lock held: one more or one less subscription to a prefix. */
static int xs_sub_change(struct xs_sock *xs, const u8 *data, u32 len,
			 bool add)
{
	struct xs_pubsub *ps = xs_ps(xs);
	struct xs_pipe_end *pe;
	struct xs_mysub *ms;

	lockdep_assert_held(&xs->route_lock);
	list_for_each_entry(ms, &ps->mine, node)
		if (ms->len == len && !memcmp(ms->data, data, len))
			goto found;
	if (!add)
		return 0;	/* as Crossroads: unknown prefixes are ignored */
	ms = kmalloc(struct_size(ms, data, len), GFP_KERNEL_ACCOUNT);
	if (!ms)
		return -ENOMEM;
	ms->count = 0;
	ms->len = len;
	memcpy(ms->data, data, len);
	list_add_tail(&ms->node, &ps->mine);
found:
	if (add && ms->count++)
		return 0;
	if (!add && --ms->count)
		return 0;
	list_for_each_entry(pe, &xs->pipes, node)
		xs_sub_upstream(pe, data, len, add);
	if (!add) {
		list_del(&ms->node);
		kfree(ms);
	}
	return 0;
}

/* route lock held */
static int xs_sub_attach(struct xs_sock *xs, struct xs_pipe_end *pe)
{
	xs_sub_send_all(xs, pe);
	return 0;
}

/* route lock held: the publisher must forget what came through @pe */
static void xs_sub_detach(struct xs_sock *xs, struct xs_pipe_end *pe)
{
	struct xs_pipe_end *pub_end = xs_other_end(pe);

	lockdep_assert_held(&xs->route_lock);
	if (pub_end->xs)
		xs_pub_forget_pipe(pub_end->xs, pub_end);
}

static int xs_sub_setsockopt(struct xs_sock *xs, int optname,
			     sockptr_t optval, unsigned int optlen)
{
	u8 *prefix;
	int err;

	if (optname != XS_SUBSCRIBE && optname != XS_UNSUBSCRIBE)
		return -ENOPROTOOPT;
	if (xs->pat->proto != XSPROTO_SUB || optlen > XS_PREFIX_MAX)
		return -EINVAL;
	prefix = memdup_sockptr(optval, optlen);
	if (IS_ERR(prefix))
		return PTR_ERR(prefix);
	mutex_lock(&xs->route_lock);
	err = xs_sub_change(xs, prefix, optlen, optname == XS_SUBSCRIBE);
	mutex_unlock(&xs->route_lock);
	kfree(prefix);
	return err;
}

/*
 * route lock held.  XSUB: a one-part record starting with 1 or 0 is a
 * subscription; anything else goes to every publisher that reads.
 */
static void xs_xsub_send_end(struct xs_sock *xs, struct xs_tx *tx)
{
	struct xs_record *rec = tx->rec;
	struct xs_part *first;

	lockdep_assert_held(&xs->route_lock);
	first = list_first_entry(&rec->parts, struct xs_part, node);
	if (rec->nparts == 1 && first->len >= 1 && first->data[0] <= 1 &&
	    first->len - 1 <= XS_PREFIX_MAX) {
		if (xs_sub_change(xs, first->data + 1, first->len - 1,
				  first->data[0]))
			atomic64_inc(&xs->drops);
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
	.send_end	= xs_pub_send_end,
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
	.send_end	= xs_pub_send_end,
	.init		= xs_pubsub_init,
	.release	= xs_pubsub_release,
};

const struct xs_pattern xs_sub_pattern = {
	.proto		= XSPROTO_SUB,
	.name		= "SUB",
	.peers		= BIT(XSPROTO_PUB) | BIT(XSPROTO_XPUB),
	.can_recv	= true,
	.attach		= xs_sub_attach,
	.detach		= xs_sub_detach,
	.peer_attached	= xs_sub_send_all,
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
	.attach		= xs_sub_attach,
	.detach		= xs_sub_detach,
	.send_end	= xs_xsub_send_end,
	.peer_attached	= xs_sub_send_all,
	.init		= xs_pubsub_init,
	.release	= xs_pubsub_release,
	.setsockopt	= xs_sub_setsockopt,
};
