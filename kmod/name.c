// SPDX-License-Identifier: GPL-2.0
/*
 * AF_XS name table.  A name has at most one binder and the pipes of the
 * sockets that connected to it; the pipes attach to the binder when there
 * is one.  The table and the endpoints are protected by xs_topo_lock, and
 * no filesystem call (path walk, mknod, permission check, path_put) ever
 * runs under it: a stalled filesystem stalls only the caller.
 *
 * Abstract names live in a table of their network namespace, keyed by the
 * string.  Filesystem names (starting with '/') behave like AF_UNIX path
 * sockets and live in one table for all network namespaces (containers
 * sharing a directory meet), keyed by inodes, never by the path string:
 *
 *  - bind creates the socket node in the caller's mount namespace and root
 *    with the caller's umask (an existing file: EADDRINUSE).  The bound
 *    name is keyed by the node's inode ("node name"); the node stays when
 *    the binder goes, as for AF_UNIX.
 *  - connect resolves the path's directory in the caller's context (search
 *    permission on every directory, the last one included).  If the path
 *    leads (symlinks followed) to a node that an AF_XS socket has bound,
 *    the caller needs write permission on it (else EACCES) and its pipe
 *    joins that binder.  Otherwise (no node, or a stale one) the pipe
 *    waits on the "directory name" (directory inode, last component) with
 *    the connector's credentials.
 *  - a binder's new node takes the waiting pipes of its (directory, last
 *    component) that pass the checks made with their saved credentials
 *    (search on the directory, write on the node).  Pipes that fail stay
 *    waiting and never join this node.  The checks run without the lock:
 *    the pipes are taken off the directory name with a reference, checked,
 *    then joined under the lock if they are still alive and the binder is
 *    still bound.
 *  - when the binder goes, its pipes return to the directory name they
 *    were connected through and wait for the next binder of that path.
 *
 * A name holds references on the inodes it is keyed by (struct path), so
 * that the keys stay valid.  Names that die under the lock are put on
 * xs_dead_names; xs_topo_unlock() releases their paths after unlocking.
 *
 * A PAIR binder refuses a second pipe.  The binder's endpoints on which it
 * refused something are kept at the front of its endpoint list (ep->refused)
 * and only those are scanned again when one of its pipes goes.
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
#include <linux/rhashtable.h>
#include <linux/security.h>
#include <linux/slab.h>
#include <linux/seq_file.h>

#include "af_xs.h"

enum xs_name_kind {
	XS_NAME_ABSTRACT,	/* scope: struct net, key: the name */
	XS_NAME_DIR,		/* scope: directory inode, key: last component */
	XS_NAME_NODE,		/* scope: socket node inode, empty key */
};

struct xs_key {
	const void	*scope;
	const char	*str;
	u32		len;
};

struct xs_name {
	struct rhash_head	node;
	struct rhashtable	*ht;		/* the table it is in */
	const void		*scope;
	enum xs_name_kind	kind;
	unsigned int		refs;		/* binder, home pipes, users */
	struct xs_sock		*binder;
	struct xs_ep		*bind_ep;
	struct list_head	pipes;		/* xs_pipe.name_node */
	struct path		path;		/* DIR: directory; NODE: node */
	struct xs_name		*bound;		/* DIR: latest node bound here */
	struct xs_name		*dir;		/* NODE: where it was bound */
	struct list_head	dead;		/* xs_dead_names */
	u32			len;
	char			name[];		/* NUL-terminated */
};

/* One bind or connect of a socket. */
struct xs_ep {
	struct list_head	node;		/* xs->eps */
	struct xs_name		*name;		/* bind: bound name; connect: home */
	struct xs_pipe		*pipe;		/* connect: our pipe; bind: NULL */
	bool			refused;	/* bind: a pipe was refused */
	u8			len;
	char			str[];		/* the address as given */
};

static unsigned int xs_max_linger_ms = 30000;
module_param_named(max_linger_ms, xs_max_linger_ms, uint, 0644);
MODULE_PARM_DESC(max_linger_ms, "longest XS_LINGER honoured after close, ms");

/* Pipes of closed connectors holding records for a name (xs_topo_lock). */
static LIST_HEAD(xs_orphans);

/* Filesystem names, directory and node names of every namespace. */
static struct rhashtable xs_fs_names;

/* Names that died under xs_topo_lock: freed by xs_topo_unlock(). */
static LIST_HEAD(xs_dead_names);

static u32 xs_key_hash(const void *data, u32 len, u32 seed)
{
	const struct xs_key *k = data;
	u64 s = (unsigned long)k->scope;

	return jhash_2words((u32)s, (u32)(s >> 32), jhash(k->str, k->len, seed));
}

static u32 xs_name_hash(const void *data, u32 len, u32 seed)
{
	const struct xs_name *n = data;
	struct xs_key k = { n->scope, n->name, n->len };

	return xs_key_hash(&k, len, seed);
}

static int xs_name_cmp(struct rhashtable_compare_arg *arg, const void *obj)
{
	const struct xs_key *k = arg->key;
	const struct xs_name *n = obj;

	return n->scope != k->scope || n->len != k->len ||
	       memcmp(n->name, k->str, k->len);
}

static const struct rhashtable_params xs_name_params = {
	.head_offset		= offsetof(struct xs_name, node),
	.key_len		= sizeof(struct xs_key),
	.hashfn			= xs_key_hash,
	.obj_hashfn		= xs_name_hash,
	.obj_cmpfn		= xs_name_cmp,
	.automatic_shrinking	= true,
};

int xs_names_init_net(struct xs_net *xn)
{
	return rhashtable_init(&xn->names, &xs_name_params);
}

/* The namespace has no socket and no orphan left. */
void xs_names_exit_net(struct xs_net *xn)
{
	rhashtable_destroy(&xn->names);
}

int xs_names_init(void)
{
	return rhashtable_init(&xs_fs_names, &xs_name_params);
}

void xs_names_exit(void)
{
	rhashtable_destroy(&xs_fs_names);
}

/* Unlock xs_topo_lock, then release the names that died under it. */
void xs_topo_unlock(void)
{
	struct xs_name *n, *tmp;
	LIST_HEAD(dead);

	lockdep_assert_held(&xs_topo_lock);
	list_splice_init(&xs_dead_names, &dead);
	mutex_unlock(&xs_topo_lock);
	list_for_each_entry_safe(n, tmp, &dead, dead) {
		if (n->path.dentry)
			path_put(&n->path);
		kfree(n);
		cond_resched();
	}
}

static bool xs_is_fs_name(const char *name)
{
	return name[0] == '/';
}

/* xs_topo_lock held: find a name; with @create, make it.  Takes a ref. */
static struct xs_name *xs_name_get(struct rhashtable *ht,
				   enum xs_name_kind kind, const void *scope,
				   const char *str, u32 len, bool create)
{
	struct xs_key k = { scope, str, len };
	struct xs_name *n;

	lockdep_assert_held(&xs_topo_lock);
	n = rhashtable_lookup_fast(ht, &k, xs_name_params);
	if (n) {
		n->refs++;
		return n;
	}
	if (!create)
		return NULL;
	n = kzalloc(struct_size(n, name, len + 1), GFP_KERNEL_ACCOUNT);
	if (!n)
		return NULL;
	n->ht = ht;
	n->scope = scope;
	n->kind = kind;
	n->refs = 1;
	INIT_LIST_HEAD(&n->pipes);
	INIT_LIST_HEAD(&n->dead);
	n->len = len;
	memcpy(n->name, str, len);
	if (rhashtable_insert_fast(ht, &n->node, xs_name_params)) {
		kfree(n);
		return NULL;
	}
	return n;
}

/* xs_topo_lock held: drop a reference; the last one retires the name. */
static void xs_name_put(struct xs_name *n)
{
	lockdep_assert_held(&xs_topo_lock);
	if (--n->refs)
		return;
	WARN_ON_ONCE(n->binder || !list_empty(&n->pipes));
	rhashtable_remove_fast(n->ht, &n->node, xs_name_params);
	if (n->dir) {
		if (n->dir->bound == n)
			n->dir->bound = NULL;
		xs_name_put(n->dir);
		n->dir = NULL;
	}
	/* path_put() may reach a filesystem: after unlocking */
	list_add_tail(&n->dead, &xs_dead_names);
}

static bool xs_compatible(const struct xs_pattern *a,
			  const struct xs_pattern *b)
{
	return (a->peers & BIT(b->proto)) && (b->peers & BIT(a->proto));
}

/* xs_topo_lock held: the binder of @ep refused a pipe (PAIR). */
static void xs_ep_mark_refused(struct xs_sock *binder, struct xs_ep *ep)
{
	if (ep->refused)
		return;
	ep->refused = true;
	list_move(&ep->node, &binder->eps);
}

/* xs_topo_lock held: a pipe is done (delivered or expired orphan). */
static void xs_orphan_drop(struct xs_pipe *p)
{
	struct xs_name *home = p->name;

	p->orphan = false;
	list_del_init(&p->orphan_node);
	xs_pipe_destroy(p);
	xs_name_put(home);
}

static void xs_orphan_expire(struct work_struct *work)
{
	struct xs_pipe *p = container_of(to_delayed_work(work),
					 struct xs_pipe, linger);

	mutex_lock(&xs_topo_lock);
	if (p->orphan)
		xs_orphan_drop(p);
	xs_topo_unlock();
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
		xs_topo_unlock();
		return;
found:
		refcount_inc(&p->ref);
		xs_topo_unlock();
		if (cancel_delayed_work_sync(&p->linger))
			xs_pipe_put(p);
		mutex_lock(&xs_topo_lock);
		if (p->orphan)
			xs_orphan_drop(p);
		xs_topo_unlock();
		xs_pipe_put(p);
	}
}

/*
 * xs_topo_lock held: @p, on @n's list, meets @n's binder if the patterns
 * fit.  False when the binder refused it.
 */
static bool xs_attach_one(struct xs_name *n, struct xs_pipe *p)
{
	if (p->end[XS_BIND].xs || !xs_compatible(n->binder->pat, p->conn_pat))
		return true;
	if (xs_pipe_join(p, XS_BIND, n->binder))
		return false;
	if (p->orphan) {
		/* the orphan's records are delivered: its job is done */
		if (cancel_delayed_work(&p->linger))
			xs_pipe_put(p);
		xs_orphan_drop(p);
	}
	return true;
}

/* xs_topo_lock held: attach the binder of @n to every pipe waiting on it. */
static void xs_name_attach_waiting(struct xs_name *n)
{
	struct xs_pipe *p, *tmp;
	bool refused = false;
	unsigned int i = 0;

	list_for_each_entry_safe(p, tmp, &n->pipes, name_node) {
		if (!xs_attach_one(n, p))
			refused = true;
		if (!(++i & 255))
			cond_resched();
	}
	if (refused)
		xs_ep_mark_refused(n->binder, n->bind_ep);
}

/* xs_topo_lock held: a binder may take pipes it refused before. */
static void xs_name_retry(struct xs_sock *binder)
{
	struct xs_ep *ep, *tmp;
	LIST_HEAD(todo);

	list_for_each_entry_safe(ep, tmp, &binder->eps, node) {
		if (!ep->refused)
			break;
		list_move_tail(&ep->node, &todo);
	}
	list_for_each_entry_safe(ep, tmp, &todo, node) {
		ep->refused = false;
		list_move_tail(&ep->node, &binder->eps);
		xs_name_attach_waiting(ep->name);
	}
}

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

static struct xs_ep *xs_ep_alloc(const char *name, int len)
{
	struct xs_ep *ep = kzalloc(struct_size(ep, str, len + 1),
				   GFP_KERNEL_ACCOUNT);

	if (!ep)
		return NULL;
	ep->len = len;
	memcpy(ep->str, name, len);
	return ep;
}

/* xs_topo_lock held: a new binder takes its name. */
static void xs_bind_ep(struct xs_sock *xs, struct xs_name *n, struct xs_ep *ep)
{
	n->refs++;
	n->binder = xs;
	n->bind_ep = ep;
	ep->name = n;
	list_add_tail(&ep->node, &xs->eps);
}

/* ---- filesystem names ------------------------------------------------ */

/* What a binder made: its node, the directory and the last component. */
struct xs_fs_bind {
	struct path	node;
	struct path	dir;
	int		len;
	char		comp[NAME_MAX + 1];
};

/*
 * No lock held: may a connector with @cred reach the node @node through
 * the directory @dir?  Used for connectors that came before the node.
 */
static int xs_fs_cred_may_connect(const struct cred *cred,
				  const struct path *dir,
				  const struct path *node)
{
	const struct cred *old = override_creds(cred);
	int err = path_permission(dir, MAY_EXEC);

	if (!err)
		err = path_permission(node, MAY_WRITE);
	revert_creds(old);
	return err;
}

#define XS_CHECK_BATCH	16

/*
 * No lock held.  The new node @b (bound by @xs) takes the pipes waiting on
 * its directory name @d that pass the permission checks.  Failed pipes go
 * back to @d and never join @b.  @b and @d are referenced by the caller.
 */
static void xs_fs_take_waiting(struct xs_sock *xs, struct xs_name *b,
			       struct xs_name *d)
{
	struct xs_pipe *batch[XS_CHECK_BATCH];
	bool ok[XS_CHECK_BATCH];
	struct xs_pipe *p, *tmp;
	LIST_HEAD(checking);
	LIST_HEAD(failed);
	bool refused = false;
	int i, k = 0;

	for (;;) {
		mutex_lock(&xs_topo_lock);
		/* what the last round checked */
		list_for_each_entry_safe(p, tmp, &checking, name_node) {
			for (i = 0; batch[i] != p; i++)
				;
			if (ok[i] && b->binder == xs) {
				list_move_tail(&p->name_node, &b->pipes);
				if (!xs_attach_one(b, p))
					refused = true;
			} else {
				list_move_tail(&p->name_node, &failed);
			}
		}
		/* pipes that died meanwhile have left the list by themselves */
		while (k-- > 0)
			xs_pipe_put(batch[k]);
		k = 0;
		if (b->binder == xs) {
			list_for_each_entry_safe(p, tmp, &d->pipes, name_node) {
				if (k == XS_CHECK_BATCH)
					break;
				refcount_inc(&p->ref);
				batch[k++] = p;
				list_move_tail(&p->name_node, &checking);
			}
		}
		if (!k) {
			list_splice_tail(&failed, &d->pipes);
			if (refused && b->binder == xs)
				xs_ep_mark_refused(xs, b->bind_ep);
			xs_topo_unlock();
			return;
		}
		xs_topo_unlock();
		for (i = 0; i < k; i++)
			ok[i] = !xs_fs_cred_may_connect(batch[i]->cred,
							&d->path, &b->path);
		cond_resched();
	}
}

/*
 * xs_topo_lock held: enter the new node @fb->node, in directory @fb->dir,
 * as the name @xs binds.  The caller holds the directory's inode lock.
 */
static int xs_fs_enter(struct xs_sock *xs, struct xs_ep *ep,
		       struct xs_fs_bind *fb, struct xs_name **bp,
		       struct xs_name **dp)
{
	struct xs_name *b, *d;

	lockdep_assert_held(&xs_topo_lock);
	b = xs_name_get(&xs_fs_names, XS_NAME_NODE, d_inode(fb->node.dentry),
			"", 0, true);
	if (!b)
		return -ENOMEM;
	if (WARN_ON_ONCE(b->binder)) {	/* a fresh inode is nobody's */
		xs_name_put(b);
		return -EADDRINUSE;
	}
	d = xs_name_get(&xs_fs_names, XS_NAME_DIR, d_inode(fb->dir.dentry),
			fb->comp, fb->len, true);
	if (!d) {
		xs_name_put(b);
		return -ENOMEM;
	}
	b->path = fb->node;
	fb->node.dentry = NULL;
	if (!d->path.dentry) {
		d->path = fb->dir;
		fb->dir.dentry = NULL;
	}
	/* connectors that walked before the node existed look here */
	b->dir = d;
	d->refs++;
	d->bound = b;
	xs_bind_ep(xs, b, ep);
	*bp = b;
	*dp = d;
	return 0;
}

/*
 * No lock held: create the socket node of @path (the caller's context)
 * and bind @xs to it.  A bind that fails after making the node removes it
 * again, as AF_UNIX does, so that the same path can be bound after.
 */
static int xs_fs_bind(struct xs_sock *xs, struct xs_ep *ep, const char *path)
{
	umode_t mode = S_IFSOCK | (0777 & ~current_umask());
	struct xs_name *b = NULL, *d = NULL;
	struct xs_fs_bind *fb;
	struct dentry *dentry;
	struct path parent;
	int err;

	fb = kzalloc(sizeof(*fb), GFP_KERNEL);
	if (!fb)
		return -ENOMEM;
	dentry = kern_path_create(AT_FDCWD, path, &parent, 0);
	if (IS_ERR(dentry)) {
		err = PTR_ERR(dentry) == -EEXIST ? -EADDRINUSE :
		      PTR_ERR(dentry);
		goto out;
	}
	err = security_path_mknod(&parent, dentry, mode, 0);
	if (!err)
		err = xs_vfs_mknod(&parent, dentry, mode);
	if (!err) {
		fb->node.mnt = mntget(parent.mnt);
		fb->node.dentry = dget(dentry);
		fb->dir = parent;
		path_get(&fb->dir);
		fb->len = min_t(int, dentry->d_name.len, NAME_MAX);
		memcpy(fb->comp, dentry->d_name.name, fb->len);
		/* lock order: the directory's inode lock, then xs_topo_lock */
		mutex_lock(&xs_topo_lock);
		err = xs_fs_enter(xs, ep, fb, &b, &d);
		xs_topo_unlock();
		if (err)
			xs_vfs_unlink(&parent, dentry);
	}
	done_path_create(&parent, dentry);
	if (!err) {
		/* b and d keep our references until the pipes are checked */
		xs_fs_take_waiting(xs, b, d);
		mutex_lock(&xs_topo_lock);
		xs_name_put(d);
		xs_name_put(b);
		xs_topo_unlock();
	}
out:
	if (fb->node.dentry)
		path_put(&fb->node);
	if (fb->dir.dentry)
		path_put(&fb->dir);
	kfree(fb);
	return err;
}

/*
 * No lock held: resolve the directory part of @path in the caller's
 * context, with search permission on it.  Points @comp into @path.
 */
static int xs_fs_walk_dir(char *path, struct path *dir, const char **comp,
			  int *clen)
{
	char *slash = strrchr(path, '/');
	int err;

	*comp = slash + 1;
	*clen = strlen(*comp);
	if (!*clen || !strcmp(*comp, ".") || !strcmp(*comp, ".."))
		return -EINVAL;
	if (*clen > NAME_MAX)
		return -ENAMETOOLONG;
	if (slash == path) {
		err = kern_path("/", LOOKUP_FOLLOW | LOOKUP_DIRECTORY, dir);
	} else {
		*slash = '\0';
		err = kern_path(path, LOOKUP_FOLLOW | LOOKUP_DIRECTORY, dir);
		*slash = '/';
	}
	if (err)
		return err;
	err = path_permission(dir, MAY_EXEC);
	if (err)
		path_put(dir);
	return err;
}

/* xs_topo_lock held: is @xs connected through the directory name @d? */
static bool xs_fs_connected(struct xs_sock *xs, struct xs_name *d)
{
	unsigned int i = 0;
	struct xs_ep *ep;

	list_for_each_entry(ep, &xs->eps, node) {
		if (ep->pipe && ep->name == d)
			return true;
		if (!(++i & 1023))
			cond_resched();
	}
	return false;
}

/* xs_topo_lock held: a new pipe of @xs, homed on @home, waiting on @at. */
static struct xs_pipe *xs_pipe_add(struct xs_sock *xs, struct xs_ep *ep,
				   struct xs_name *home, struct xs_name *at)
{
	struct xs_pipe *p = xs_pipe_create(home);

	if (!p)
		return ERR_PTR(-ENOMEM);
	p->conn_pat = xs->pat;
	p->net = sock_net(&xs->sk);
	/* events name the pipe by it; cleared before @ep is freed */
	p->addr = ep->str;
	p->addr_len = ep->len;
	if (xs_pipe_join(p, XS_CONN, xs)) {
		/* the pattern takes no more peers (PAIR) */
		xs_pipe_put(p);
		return ERR_PTR(-EISCONN);
	}
	home->refs++;
	list_add_tail(&p->name_node, &at->pipes);
	ep->name = home;
	ep->pipe = p;
	list_add_tail(&ep->node, &xs->eps);
	if (at->binder && !xs_attach_one(at, p))
		xs_ep_mark_refused(at->binder, at->bind_ep);
	return p;
}

static int xs_fs_connect(struct xs_sock *xs, struct xs_ep *ep, char *path)
{
	struct path dir, node = {};
	struct xs_name *d, *b;
	bool retried = false;
	struct xs_pipe *p;
	const char *comp;
	int err, clen, write_err;

again:
	err = xs_fs_walk_dir(path, &dir, &comp, &clen);
	if (err)
		return err;
	/* an existing socket node (symlinks followed), as for AF_UNIX */
	write_err = -ENOENT;
	if (!kern_path(path, LOOKUP_FOLLOW, &node)) {
		if (S_ISSOCK(d_inode(node.dentry)->i_mode))
			write_err = path_permission(&node, MAY_WRITE);
		else
			path_put(&node);
	}
	if (write_err == -ENOENT)
		node.dentry = NULL;

	mutex_lock(&xs_topo_lock);
	err = -ENOMEM;
	d = xs_name_get(&xs_fs_names, XS_NAME_DIR, d_inode(dir.dentry), comp,
			clen, true);
	if (!d)
		goto out;
	if (!d->path.dentry) {
		d->path = dir;
		dir.dentry = NULL;
	}
	err = -EISCONN;
	if (xs_fs_connected(xs, d))
		goto out_name;
	b = NULL;
	if (node.dentry) {
		struct xs_key k = { d_inode(node.dentry), "", 0 };

		b = rhashtable_lookup_fast(&xs_fs_names, &k, xs_name_params);
		if (b && !b->binder)
			b = NULL;
	}
	err = write_err;
	if (b && err)
		goto out_name;
	if (!b && d->bound && !retried) {
		/*
		 * A node was bound here, perhaps after our walk: walk again.
		 * The second walk comes after that bind, so what it finds
		 * (or does not) is the answer.
		 */
		retried = true;
		xs_name_put(d);
		xs_topo_unlock();
		if (dir.dentry)
			path_put(&dir);
		if (node.dentry)
			path_put(&node);
		node.dentry = NULL;
		goto again;
	}
	p = xs_pipe_add(xs, ep, d, b ? b : d);
	err = PTR_ERR_OR_ZERO(p);
	if (!err)
		p->cred = get_current_cred();
out_name:
	xs_name_put(d);
out:
	xs_topo_unlock();
	if (dir.dentry)
		path_put(&dir);
	if (node.dentry)
		path_put(&node);
	return err;
}

/* ---- bind, connect, unbind ------------------------------------------- */

int xs_name_bind(struct xs_sock *xs, const char *name, int len)
{
	struct xs_name *n;
	struct xs_ep *ep;
	int err = 0;

	ep = xs_ep_alloc(name, len);
	if (!ep)
		return -ENOMEM;
	if (xs_is_fs_name(name)) {
		err = xs_fs_bind(xs, ep, ep->str);
		if (err)
			kfree(ep);
		return err;
	}
	mutex_lock(&xs_topo_lock);
	n = xs_name_get(&xs_net(sock_net(&xs->sk))->names, XS_NAME_ABSTRACT,
			sock_net(&xs->sk), name, len, true);
	if (!n) {
		err = -ENOMEM;
		goto out;
	}
	if (n->binder) {
		err = -EADDRINUSE;
	} else {
		xs_bind_ep(xs, n, ep);
		ep = NULL;
		xs_name_attach_waiting(n);
	}
	xs_name_put(n);
out:
	xs_topo_unlock();
	kfree(ep);
	return err;
}

/*
 * xs_topo_lock held: has @xs a pipe on the abstract name @n?  Walks the
 * socket's endpoints and the name's pipes side by side: a match is on both
 * lists, so the walk stops after the shorter one.
 */
static bool xs_connected(struct xs_sock *xs, struct xs_name *n)
{
	struct list_head *a = xs->eps.next, *b = n->pipes.next;
	unsigned int i = 0;

	while (a != &xs->eps && b != &n->pipes) {
		struct xs_ep *ep = list_entry(a, struct xs_ep, node);
		struct xs_pipe *p = list_entry(b, struct xs_pipe, name_node);

		if ((ep->pipe && ep->name == n) || p->end[XS_CONN].xs == xs)
			return true;
		a = a->next;
		b = b->next;
		if (!(++i & 1023))
			cond_resched();
	}
	return false;
}

int xs_name_connect(struct xs_sock *xs, const char *name, int len)
{
	struct xs_pipe *p;
	struct xs_name *n;
	struct xs_ep *ep;
	int err;

	ep = xs_ep_alloc(name, len);
	if (!ep)
		return -ENOMEM;
	if (xs_is_fs_name(name)) {
		err = xs_fs_connect(xs, ep, ep->str);
		if (err)
			kfree(ep);
		return err;
	}
	mutex_lock(&xs_topo_lock);
	err = -ENOMEM;
	n = xs_name_get(&xs_net(sock_net(&xs->sk))->names, XS_NAME_ABSTRACT,
			sock_net(&xs->sk), name, len, true);
	if (!n)
		goto out;
	err = -EISCONN;
	if (!xs_connected(xs, n)) {
		p = xs_pipe_add(xs, ep, n, n);
		err = PTR_ERR_OR_ZERO(p);
		if (!err)
			ep = NULL;
	}
	xs_name_put(n);
out:
	xs_topo_unlock();
	kfree(ep);
	return err;
}

/* xs_topo_lock held: the binder of @n goes; its pipes wait at home. */
static void xs_name_unbind(struct xs_sock *xs, struct xs_name *n)
{
	struct xs_pipe *p, *tmp;
	unsigned int i = 0;

	list_for_each_entry_safe(p, tmp, &n->pipes, name_node) {
		if (p->end[XS_BIND].xs == xs)
			xs_pipe_leave(p, XS_BIND, true);
		if (p->name != n)
			list_move_tail(&p->name_node, &p->name->pipes);
		if (!(++i & 255))
			cond_resched();
	}
	n->binder = NULL;
	n->bind_ep = NULL;
	/* a node name dies here; the node stays, as for AF_UNIX */
	xs_name_put(n);
}

/* xs_topo_lock held.  @closing: the socket goes, its records may linger. */
static void xs_ep_remove(struct xs_sock *xs, struct xs_ep *ep, bool closing)
{
	struct xs_name *n = ep->name;
	struct xs_pipe *p = ep->pipe;

	list_del(&ep->node);
	if (p) {
		struct xs_sock *binder = p->end[XS_BIND].xs;

		if (!closing || !xs_orphan_start(xs, p)) {
			xs_pipe_destroy(p);
			xs_name_put(n);
		} else {
			p->addr = NULL;		/* the orphan outlives @ep */
		}
		/* a PAIR binder has room again: the pipes it refused */
		if (binder && binder != xs)
			xs_name_retry(binder);
	} else {
		xs_name_unbind(xs, n);
		/* a PAIR that loses its peer this way takes another */
		if (!closing)
			xs_name_retry(xs);
	}
	kfree(ep);
}

int xs_name_remove(struct xs_sock *xs, const char *name, int len, bool bound)
{
	struct xs_ep *ep;
	unsigned int i = 0;
	int err = -ENOENT;

	mutex_lock(&xs_topo_lock);
	list_for_each_entry(ep, &xs->eps, node) {
		if (!ep->pipe == bound && ep->len == len &&
		    !memcmp(ep->str, name, len)) {
			xs_ep_remove(xs, ep, false);
			err = 0;
			break;
		}
		if (!(++i & 1023))
			cond_resched();
	}
	xs_topo_unlock();
	return err;
}

/* xs_topo_lock held: the socket is closing; call xs_topo_unlock() after. */
void xs_name_release_all(struct xs_sock *xs)
{
	struct xs_ep *ep, *tmp;

	lockdep_assert_held(&xs_topo_lock);
	list_for_each_entry_safe(ep, tmp, &xs->eps, node) {
		xs_ep_remove(xs, ep, true);
		cond_resched();
	}
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
		for (i = 0; i < ep->len; i++) {
			c = ep->str[i];
			if (c <= ' ' || c >= 0x7f || c == '\\')
				seq_printf(seq, "\\%03o", c);
			else
				seq_putc(seq, c);
		}
	}
	mutex_unlock(&xs_topo_lock);
}

/*
 * Call @fn on each name of @xs, bound or connected, until it returns
 * non-zero, and return that (or 0).  @fn runs under xs_topo_lock: it may
 * not take it nor sleep on anything that waits for topology changes.
 */
int xs_name_each(struct xs_sock *xs,
		 int (*fn)(void *arg, bool bound, const char *name, u8 len),
		 void *arg)
{
	struct xs_ep *ep;
	int err = 0;

	mutex_lock(&xs_topo_lock);
	list_for_each_entry(ep, &xs->eps, node) {
		err = fn(arg, !ep->pipe, ep->str, ep->len);
		if (err)
			break;
	}
	mutex_unlock(&xs_topo_lock);
	return err;
}
