// SPDX-License-Identifier: GPL-2.0
/*
 * AF_XS name table.  A name has at most one binder and the pipes of every
 * socket that connected to it; the pipes attach to the binder when there
 * is one.  Everything here runs under xs_topo_lock.
 *
 * Abstract names live in a table per network namespace.  Names starting
 * with '/' are filesystem nodes, as for AF_UNIX: bind creates a socket
 * node (caller's umask; an existing file is EADDRINUSE), connect needs
 * write permission on it (EACCES).  They live in one table for all
 * namespaces, keyed by the path as written, so that containers sharing a
 * directory can meet.  A connect to a path nobody has bound yet waits with
 * the connector's credentials, which are checked against the node when a
 * binder creates it.
 *
 * Linger: when a connector closes with XS_LINGER != 0 while records wait
 * on a pipe nobody has bound yet, the pipe stays on the name as an orphan
 * for the linger time (at most max_linger_ms, also for -1 = forever, so
 * that closed sockets cannot pin memory without end).  A binder arriving
 * in time receives the records; otherwise a delayed work drops them.  The
 * work holds a pipe reference; namespace exit and module exit flush the
 * orphans.
 */

#include <linux/cred.h>
#include <linux/jhash.h>
#include <linux/namei.h>
#include <linux/security.h>
#include <linux/slab.h>
#include <linux/seq_file.h>

#include "af_xs.h"

struct xs_name {
	struct hlist_node	node;
	struct xs_sock		*binder;
	struct list_head	pipes;		/* xs_pipe.name_node */
	struct path		path;		/* bound filesystem node */
	int			len;
	char			name[];		/* NUL-terminated */
};

static unsigned int xs_max_linger_ms = 30000;
module_param_named(max_linger_ms, xs_max_linger_ms, uint, 0644);
MODULE_PARM_DESC(max_linger_ms, "longest XS_LINGER honoured after close, ms");

/* Pipes of closed connectors holding records for a name (xs_topo_lock). */
static LIST_HEAD(xs_orphans);

/* Filesystem names: one table for every namespace (xs_topo_lock). */
static struct hlist_head xs_fs_names[1 << XS_NAME_HASH_BITS];

static bool xs_is_fs_name(const char *name)
{
	return name[0] == '/';
}

/* Create the socket node of a filesystem name. */
static int xs_fs_mknod(struct xs_name *n)
{
	umode_t mode = S_IFSOCK | (0777 & ~current_umask());
	struct dentry *dentry;
	struct path parent;
	int err;

	dentry = kern_path_create(AT_FDCWD, n->name, &parent, 0);
	if (IS_ERR(dentry))
		return PTR_ERR(dentry) == -EEXIST ? -EADDRINUSE :
		       PTR_ERR(dentry);
	err = security_path_mknod(&parent, dentry, mode, 0);
	if (!err)
		err = xs_vfs_mknod(&parent, dentry, mode);
	if (!err) {
		n->path.mnt = mntget(parent.mnt);
		n->path.dentry = dget(dentry);
	}
	done_path_create(&parent, dentry);
	return err;
}

/* connect(): may the caller reach the node of @n by its path? */
static int xs_fs_may_connect(struct xs_name *n)
{
	struct path path;
	int err;

	err = kern_path(n->name, LOOKUP_FOLLOW, &path);
	if (err)
		return err;
	if (d_inode(path.dentry) != d_inode(n->path.dentry))
		err = -ECONNREFUSED;	/* not our node (any more) */
	else
		err = path_permission(&path, MAY_WRITE);
	path_put(&path);
	return err;
}

/*
 * A connector that came before the node existed, checked with its saved
 * credentials when a binder creates the node.  No path walk: this may run
 * in a closing task that has no filesystem context left.
 */
static int xs_fs_cred_may_connect(struct xs_name *n, const struct cred *cred)
{
	const struct cred *old = override_creds(cred);
	int err = path_permission(&n->path, MAY_WRITE);

	revert_creds(old);
	return err;
}

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
	u32 hash = jhash(name, len, 0) >> (32 - XS_NAME_HASH_BITS);

	if (xs_is_fs_name(name))
		return &xs_fs_names[hash];
	return &xs_net(sock_net(&xs->sk))->names[hash];
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
	n = kzalloc(struct_size(n, name, len + 1), GFP_KERNEL_ACCOUNT);
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

static bool xs_compatible(const struct xs_pattern *a,
			  const struct xs_pattern *b)
{
	return (a->peers & BIT(b->proto)) && (b->peers & BIT(a->proto));
}

/* xs_topo_lock held: an orphan is done (delivered or expired). */
static void xs_orphan_drop(struct xs_pipe *p)
{
	struct xs_name *n = p->name;

	p->orphan = false;
	list_del_init(&p->orphan_node);
	xs_pipe_destroy(p);
	xs_name_put_if_unused(n);
}

static void xs_orphan_expire(struct work_struct *work)
{
	struct xs_pipe *p = container_of(to_delayed_work(work),
					 struct xs_pipe, linger);

	mutex_lock(&xs_topo_lock);
	if (p->orphan)
		xs_orphan_drop(p);
	mutex_unlock(&xs_topo_lock);
	xs_pipe_put(p);
}

/* xs_topo_lock held: keep @p's waiting records after its connector closes. */
static bool xs_orphan_start(struct xs_sock *xs, struct xs_pipe *p)
{
	int linger = READ_ONCE(xs->linger);
	unsigned int ms = xs_max_linger_ms;

	if (!linger || p->end[XS_BIND].xs || list_empty(&p->pending))
		return false;
	if (linger > 0 && linger < ms)
		ms = linger;
	xs_pipe_leave(p, XS_CONN, true);
	p->orphan = true;
	list_add_tail(&p->orphan_node, &xs_orphans);
	refcount_inc(&p->ref);		/* the work's */
	INIT_DELAYED_WORK(&p->linger, xs_orphan_expire);
	queue_delayed_work(xs_wq, &p->linger, msecs_to_jiffies(ms));
	return true;
}

/* No lock held: drop the orphans of @net (all of them for NULL). */
void xs_orphans_flush(struct net *net)
{
	struct xs_pipe *p;

	for (;;) {
		mutex_lock(&xs_topo_lock);
		list_for_each_entry(p, &xs_orphans, orphan_node)
			if (!net || p->net == net)
				goto found;
		mutex_unlock(&xs_topo_lock);
		return;
found:
		refcount_inc(&p->ref);
		mutex_unlock(&xs_topo_lock);
		if (cancel_delayed_work_sync(&p->linger))
			xs_pipe_put(p);
		mutex_lock(&xs_topo_lock);
		if (p->orphan)
			xs_orphan_drop(p);
		mutex_unlock(&xs_topo_lock);
		xs_pipe_put(p);
	}
}

/* Attach the binder of @n to every pipe still waiting for one. */
static void xs_name_attach_waiting(struct xs_name *n)
{
	struct xs_pipe *p, *tmp;

	list_for_each_entry_safe(p, tmp, &n->pipes, name_node) {
		if (p->end[XS_BIND].xs ||
		    !xs_compatible(n->binder->pat, p->conn_pat))
			continue;
		/* connected before the node existed: check it now */
		if (p->cred && xs_fs_cred_may_connect(n, p->cred))
			continue;
		if (xs_pipe_join(p, XS_BIND, n->binder) || !p->orphan)
			continue;
		/* the orphan's records are delivered: its job is done */
		if (cancel_delayed_work(&p->linger))
			xs_pipe_put(p);
		xs_orphan_drop(p);
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
	if (xs_is_fs_name(name)) {
		err = xs_fs_mknod(n);
		if (err)
			goto out_name;
	}
	n->binder = xs;
	ep->name = n;
	list_add_tail(&ep->node, &xs->eps);
	ep = NULL;
	xs_name_attach_waiting(n);
	goto out;
out_name:
	xs_name_put_if_unused(n);
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
	if (xs_is_fs_name(name) && n->binder) {
		err = xs_fs_may_connect(n);
		if (err)
			goto out_name;
	}
	err = -ENOMEM;
	p = xs_pipe_create(n);
	if (!p)
		goto out_name;
	if (xs_is_fs_name(name))
		p->cred = get_current_cred();
	p->conn_pat = xs->pat;
	p->net = sock_net(&xs->sk);
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
	if (n->binder && xs_compatible(n->binder->pat, xs->pat))
		xs_pipe_join(p, XS_BIND, n->binder);
	err = 0;
out_name:
	xs_name_put_if_unused(n);
out:
	mutex_unlock(&xs_topo_lock);
	kfree(ep);
	return err;
}

/* xs_topo_lock held.  @closing: the socket goes, its records may linger. */
static void xs_ep_remove(struct xs_sock *xs, struct xs_ep *ep, bool closing)
{
	struct xs_name *n = ep->name;
	struct xs_sock *binder = n->binder;
	struct xs_pipe *p;

	list_del(&ep->node);
	if (ep->pipe) {
		if (!closing || !xs_orphan_start(xs, ep->pipe))
			xs_pipe_destroy(ep->pipe);
		if (binder && binder != xs)
			xs_name_retry(binder);
	} else {
		list_for_each_entry(p, &n->pipes, name_node)
			if (p->end[XS_BIND].xs == xs)
				xs_pipe_leave(p, XS_BIND, true);
		n->binder = NULL;
		/* the node stays, as for AF_UNIX: binding it again is EADDRINUSE */
		path_put(&n->path);
		n->path.mnt = NULL;
		n->path.dentry = NULL;
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
		xs_ep_remove(xs, ep, false);
	mutex_unlock(&xs_topo_lock);
	return ep ? 0 : -ENOENT;
}

/* xs_topo_lock held: the socket is closing. */
void xs_name_release_all(struct xs_sock *xs)
{
	struct xs_ep *ep, *tmp;

	lockdep_assert_held(&xs_topo_lock);
	list_for_each_entry_safe(ep, tmp, &xs->eps, node)
		xs_ep_remove(xs, ep, true);
}

/*
 * /proc/net/xs: the socket's names, " b:NAME" bound, " c:NAME" connected,
 * each byte that could be mistaken for a separator (or is not printable
 * ASCII) as an octal escape "\ooo".
 */
void xs_name_show(struct seq_file *seq, struct xs_sock *xs)
{
	struct xs_ep *ep;
	int i;
	u8 c;

	mutex_lock(&xs_topo_lock);
	list_for_each_entry(ep, &xs->eps, node) {
		seq_printf(seq, " %c:", ep->pipe ? 'c' : 'b');
		for (i = 0; i < ep->name->len; i++) {
			c = ep->name->name[i];
			if (c <= ' ' || c >= 0x7f || c == '\\')
				seq_printf(seq, "\\%03o", c);
			else
				seq_putc(seq, c);
		}
	}
	mutex_unlock(&xs_topo_lock);
}
