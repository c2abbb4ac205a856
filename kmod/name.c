// SPDX-License-Identifier: GPL-2.0
/*
 * AF_XS name table: per network namespace, a hash of names.  A name has at
 * most one binder and the pipes of every socket that connected to it; the
 * pipes attach to the binder when there is one.  Everything here runs
 * under xs_topo_lock.
 */

#include <linux/jhash.h>
#include <linux/slab.h>
#include <linux/seq_file.h>

#include "af_xs.h"

struct xs_name {
	struct hlist_node	node;
	struct xs_sock		*binder;
	struct list_head	pipes;		/* xs_pipe.name_node */
	int			len;
	char			name[];
};

/* One bind or connect of a socket. */
struct xs_ep {
	struct list_head	node;		/* xs->eps */
	struct xs_name		*name;
	struct xs_pipe		*pipe;		/* connect: our pipe; bind: NULL */
};

/* Returns the name's length, or an error for a malformed address. */
int xs_name_parse(struct sockaddr *addr, int addrlen, const char **name)
{
	struct sockaddr_xs *sxs = (struct sockaddr_xs *)addr;
	int max = addrlen - (int)offsetof(struct sockaddr_xs, sxs_name);

	if (addrlen <= (int)offsetof(struct sockaddr_xs, sxs_name) ||
	    addrlen > (int)sizeof(struct sockaddr_xs))
		return -EINVAL;
	if (sxs->sxs_family != xs_family)
		return -EAFNOSUPPORT;
	*name = sxs->sxs_name;
	max = strnlen(sxs->sxs_name, max);
	return max ? max : -EINVAL;
}

static struct hlist_head *xs_name_bucket(struct xs_sock *xs, const char *name,
					 int len)
{
	struct xs_net *xn = xs_net(sock_net(&xs->sk));

	return &xn->names[jhash(name, len, 0) >> (32 - XS_NAME_HASH_BITS)];
}

static struct xs_name *xs_name_get(struct xs_sock *xs, const char *name,
				   int len, bool create)
{
	struct hlist_head *head = xs_name_bucket(xs, name, len);
	struct xs_name *n;

	lockdep_assert_held(&xs_topo_lock);
	hlist_for_each_entry(n, head, node)
		if (n->len == len && !memcmp(n->name, name, len))
			return n;
	if (!create)
		return NULL;
	n = kzalloc(struct_size(n, name, len), GFP_KERNEL_ACCOUNT);
	if (!n)
		return NULL;
	INIT_LIST_HEAD(&n->pipes);
	n->len = len;
	memcpy(n->name, name, len);
	hlist_add_head(&n->node, head);
	return n;
}

static void xs_name_put_if_unused(struct xs_name *n)
{
	if (n->binder || !list_empty(&n->pipes))
		return;
	hlist_del(&n->node);
	kfree(n);
}

static bool xs_compatible(struct xs_sock *a, struct xs_sock *b)
{
	return (a->pat->peers & BIT(b->pat->proto)) &&
	       (b->pat->peers & BIT(a->pat->proto));
}

/* Attach the binder of @n to every pipe still waiting for one. */
static void xs_name_attach_waiting(struct xs_name *n)
{
	struct xs_pipe *p;

	list_for_each_entry(p, &n->pipes, name_node) {
		if (p->end[XS_BIND].xs || !xs_compatible(n->binder,
							 p->end[XS_CONN].xs))
			continue;
		xs_pipe_join(p, XS_BIND, n->binder);
	}
}

/* A binder may take pipes it refused before (a PAIR lost its peer). */
static void xs_name_retry(struct xs_sock *binder)
{
	struct xs_ep *ep;

	list_for_each_entry(ep, &binder->eps, node)
		if (!ep->pipe)
			xs_name_attach_waiting(ep->name);
}

static struct xs_ep *xs_ep_find(struct xs_sock *xs, struct xs_name *n,
				bool bound)
{
	struct xs_ep *ep;

	list_for_each_entry(ep, &xs->eps, node)
		if (ep->name == n && !ep->pipe == bound)
			return ep;
	return NULL;
}

int xs_name_bind(struct xs_sock *xs, const char *name, int len)
{
	struct xs_name *n;
	struct xs_ep *ep;
	int err = 0;

	ep = kzalloc(sizeof(*ep), GFP_KERNEL_ACCOUNT);
	if (!ep)
		return -ENOMEM;
	mutex_lock(&xs_topo_lock);
	n = xs_name_get(xs, name, len, true);
	if (!n) {
		err = -ENOMEM;
		goto out;
	}
	if (n->binder) {
		err = -EADDRINUSE;
		goto out;
	}
	n->binder = xs;
	ep->name = n;
	list_add_tail(&ep->node, &xs->eps);
	ep = NULL;
	xs_name_attach_waiting(n);
out:
	mutex_unlock(&xs_topo_lock);
	kfree(ep);
	return err;
}

int xs_name_connect(struct xs_sock *xs, const char *name, int len)
{
	struct xs_pipe *p = NULL;
	struct xs_name *n;
	struct xs_ep *ep;
	int err;

	ep = kzalloc(sizeof(*ep), GFP_KERNEL_ACCOUNT);
	if (!ep)
		return -ENOMEM;
	mutex_lock(&xs_topo_lock);
	err = -ENOMEM;
	n = xs_name_get(xs, name, len, true);
	if (!n)
		goto out;
	err = -EISCONN;
	if (xs_ep_find(xs, n, false))
		goto out_name;
	err = -ENOMEM;
	p = xs_pipe_create(n);
	if (!p)
		goto out_name;
	err = xs_pipe_join(p, XS_CONN, xs);
	if (err) {
		/* the pattern takes no more peers (PAIR) */
		err = -EISCONN;
		xs_pipe_put(p);
		goto out_name;
	}
	list_add_tail(&p->name_node, &n->pipes);
	ep->name = n;
	ep->pipe = p;
	list_add_tail(&ep->node, &xs->eps);
	ep = NULL;
	if (n->binder && xs_compatible(n->binder, xs))
		xs_pipe_join(p, XS_BIND, n->binder);
	err = 0;
out_name:
	xs_name_put_if_unused(n);
out:
	mutex_unlock(&xs_topo_lock);
	kfree(ep);
	return err;
}

/* xs_topo_lock held */
static void xs_ep_remove(struct xs_sock *xs, struct xs_ep *ep)
{
	struct xs_name *n = ep->name;
	struct xs_sock *binder = n->binder;
	struct xs_pipe *p;

	list_del(&ep->node);
	if (ep->pipe) {
		xs_pipe_destroy(ep->pipe);
		if (binder && binder != xs)
			xs_name_retry(binder);
	} else {
		list_for_each_entry(p, &n->pipes, name_node)
			if (p->end[XS_BIND].xs == xs)
				xs_pipe_leave(p, XS_BIND, true);
		n->binder = NULL;
	}
	xs_name_put_if_unused(n);
	kfree(ep);
}

int xs_name_remove(struct xs_sock *xs, const char *name, int len, bool bound)
{
	struct xs_name *n;
	struct xs_ep *ep = NULL;

	mutex_lock(&xs_topo_lock);
	n = xs_name_get(xs, name, len, false);
	if (n)
		ep = xs_ep_find(xs, n, bound);
	if (ep)
		xs_ep_remove(xs, ep);
	mutex_unlock(&xs_topo_lock);
	return ep ? 0 : -ENOENT;
}

/* xs_topo_lock held: the socket is closing. */
void xs_name_release_all(struct xs_sock *xs)
{
	struct xs_ep *ep, *tmp;

	lockdep_assert_held(&xs_topo_lock);
	list_for_each_entry_safe(ep, tmp, &xs->eps, node)
		xs_ep_remove(xs, ep);
}

/* /proc/net/xs: the socket's names, " b:NAME" bound, " c:NAME" connected. */
void xs_name_show(struct seq_file *seq, struct xs_sock *xs)
{
	struct xs_ep *ep;

	list_for_each_entry(ep, &xs->eps, node)
		seq_printf(seq, " %c:%*pE", ep->pipe ? 'c' : 'b',
			   ep->name->len, ep->name->name);
}
