// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Addresses and endpoints: xs_bind, xs_connect, xs_shutdown.
 *
 *   ipc://NAME     the family's name NAME.  A NAME starting with '/' is a
 *                  filesystem node (ipc:///tmp/x), any other is abstract.
 *   inproc://NAME  an abstract name private to the context:
 *                  "inproc/<pid>/<context serial>/NAME", or, when that does
 *                  not fit the family's name length, "inproc#<pid>/<serial>/"
 *                  followed by a 128-bit hash of NAME.
 *   tcp, pgm, epgm carried by libzmq (remote.c)
 *   anything else  EPROTONOSUPPORT; no "://", an
 *                  empty transport or an empty address: EINVAL.
 *
 * Every bind and connect gets an endpoint id (1, 2, ..., smallest free
 * first, as Crossroads numbers them) that xs_shutdown() takes back.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xsl.h"

#define NAME_OFFSET	offsetof(struct sockaddr_xs, sxs_name)

static uint64_t fnv1a(const char *p, uint64_t h)
{
	while (*p) {
		h ^= (unsigned char)*p++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static int inproc_name(const struct xsl_socket *s, const char *name,
		       char *out, size_t outlen)
{
	int n;

	n = snprintf(out, outlen, "inproc/%ld/%lu/%s", (long)getpid(),
		     s->ctx->serial, name);
	if (n >= 0 && (size_t)n <= XS_NAME_MAX)
		return n;
	n = snprintf(out, outlen, "inproc#%ld/%lu/%016llx%016llx",
		     (long)getpid(), s->ctx->serial,
		     (unsigned long long)fnv1a(name, 0xcbf29ce484222325ULL),
		     (unsigned long long)fnv1a(name, 0x84222325cbf29ce4ULL));
	return n;
}

/* Fills sa/len from an endpoint string; *fs tells a filesystem name. */
static int parse_endpoint(const struct xsl_socket *s, const char *addr,
			  struct sockaddr_xs *sa, socklen_t *len, bool *fs)
{
	char name[XS_NAME_MAX + 64];
	const char *sep, *rest;
	size_t plen, nlen;
	int n;

	if (!addr) {
		errno = EINVAL;
		return -1;
	}
	sep = strstr(addr, "://");
	if (!sep || sep == addr || sep[3] == '\0') {
		errno = EINVAL;
		return -1;
	}
	plen = (size_t)(sep - addr);
	rest = sep + 3;

	if (plen == 3 && !memcmp(addr, "ipc", 3)) {
		nlen = strlen(rest);
		if (nlen > XS_NAME_MAX) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(name, rest, nlen);
		*fs = rest[0] == '/';
	} else if (plen == 6 && !memcmp(addr, "inproc", 6)) {
		n = inproc_name(s, rest, name, sizeof(name));
		if (n < 0 || (size_t)n > XS_NAME_MAX) {
			errno = ENAMETOOLONG;
			return -1;
		}
		nlen = (size_t)n;
		*fs = false;
	} else {
		errno = EPROTONOSUPPORT;
		return -1;
	}

	memset(sa, 0, sizeof(*sa));
	sa->sxs_family = (__kernel_sa_family_t)xsl_family();
	memcpy(sa->sxs_name, name, nlen);
	*len = (socklen_t)(NAME_OFFSET + nlen);
	return 0;
}

static int add_endpoint(struct xsl_socket *s, const struct sockaddr_xs *sa,
			socklen_t len, bool bound, bool fs)
{
	struct xsl_endpoint *ep;
	int id = 1;
	size_t i;

	if (s->nep == s->capep) {
		size_t cap = s->capep ? 2 * s->capep : 4;

		ep = realloc(s->ep, cap * sizeof(*ep));
		if (!ep)
			return -1;
		s->ep = ep;
		s->capep = cap;
	}
	/* The array is kept sorted by id: the first gap is the new id. */
	for (i = 0; i < s->nep && s->ep[i].id == id; i++)
		id++;
	memmove(&s->ep[i + 1], &s->ep[i], (s->nep - i) * sizeof(*ep));
	ep = &s->ep[i];
	memset(ep, 0, sizeof(*ep));
	ep->id = id;
	ep->bound = bound;
	ep->fs_node = fs;
	ep->addrlen = len;
	ep->addr = *sa;
	s->nep++;
	return id;
}

static void path_of(const struct xsl_endpoint *ep, char *path)
{
	size_t n = ep->addrlen - NAME_OFFSET;

	memcpy(path, ep->addr.sxs_name, n);
	path[n] = '\0';
}

/* Removes the node we created at bind, not one someone made since. */
static void unlink_own_node(const struct xsl_endpoint *ep)
{
	char path[XS_NAME_MAX + 1];
	struct stat st;

	if (!ep->bound || !ep->fs_node || !ep->node_ino)
		return;
	path_of(ep, path);
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    st.st_dev == ep->node_dev && st.st_ino == ep->node_ino)
		unlink(path);
}

void xsl_endpoints_release(struct xsl_socket *s)
{
	size_t i;

	for (i = 0; i < s->nep; i++)
		unlink_own_node(&s->ep[i]);
}

/*
 * A socket node left by a binder that died makes bind fail with
 * EADDRINUSE; like other ipc libraries we remove such a node (a socket
 * node only, never another kind of file) and bind again once.
 */
static int bind_name(struct xsl_socket *s, const struct sockaddr_xs *sa,
		     socklen_t len, bool fs)
{
	char path[XS_NAME_MAX + 1];
	struct stat st;
	size_t n = len - NAME_OFFSET;

	if (bind(s->fd, (const struct sockaddr *)sa, len) == 0)
		return 0;
	if (errno != EADDRINUSE || !fs)
		return -1;
	memcpy(path, sa->sxs_name, n);
	path[n] = '\0';
	if (lstat(path, &st) || !S_ISSOCK(st.st_mode)) {
		errno = EADDRINUSE;
		return -1;
	}
	if (unlink(path) && errno != ENOENT) {
		errno = EADDRINUSE;
		return -1;
	}
	return bind(s->fd, (const struct sockaddr *)sa, len);
}

/* tcp://, pgm://, epgm://: carried by libzmq (remote.c). */
static int attach_remote(struct xsl_socket *s, const char *addr,
			 bool binding)
{
	const char *sep = addr ? strstr(addr, "://") : NULL;
	struct sockaddr_xs sa;
	size_t n;
	bool remote;
	int id;

	if (!sep || sep == addr || sep[3] == '\0')
		return 0;
	n = strlen(addr);
	if (xsl_remote_attach(s, addr, (size_t)(sep - addr), binding,
			      &remote))
		return -1;
	if (!remote)
		return 0;
	memset(&sa, 0, sizeof(sa));
	if (n > sizeof(sa.sxs_name))
		n = sizeof(sa.sxs_name);	/* kept for xs_shutdown only */
	memcpy(sa.sxs_name, addr, n);
	id = add_endpoint(s, &sa, (socklen_t)(NAME_OFFSET + n), binding,
			  false);
	if (id < 0) {
		errno = ENOMEM;
		return -1;
	}
	for (n = 0; s->ep[n].id != id; n++)
		;
	s->ep[n].remote = true;
	s->nremote++;
	return id;
}

static int attach(void *p, const char *addr, bool binding)
{
	struct xsl_socket *s = xsl_sock_live(p);
	struct sockaddr_xs sa;
	struct stat st;
	socklen_t len;
	bool fs;
	int id, rc;

	if (!s)
		return -1;
	id = attach_remote(s, addr, binding);
	if (id)
		return id < 0 ? xsl_fail(s, errno) : id;
	if (parse_endpoint(s, addr, &sa, &len, &fs))
		return -1;

	if (binding)
		rc = bind_name(s, &sa, len, fs);
	else
		rc = connect(s->fd, (const struct sockaddr *)&sa, len);
	if (rc)
		return xsl_fail(s, errno);

	id = add_endpoint(s, &sa, len, binding, fs);
	if (id < 0) {
		/* Keep the books straight: undo what we cannot track. */
		setsockopt(s->fd, SOL_XS, binding ? XS_UNBIND : XS_DISCONNECT,
			   sa.sxs_name, len - NAME_OFFSET);
		errno = ENOMEM;
		return -1;
	}
	s->nlocal++;
	if (binding && fs) {
		char path[XS_NAME_MAX + 1];
		struct xsl_endpoint *ep;
		size_t i;

		for (i = 0; s->ep[i].id != id; i++)
			;
		ep = &s->ep[i];
		path_of(ep, path);
		if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
			ep->node_dev = st.st_dev;
			ep->node_ino = st.st_ino;
		}
	}
	return id;
}

int xs_bind(void *s, const char *addr)
{
	return attach(s, addr, true);
}

int xs_connect(void *s, const char *addr)
{
	return attach(s, addr, false);
}

int xs_shutdown(void *p, int how)
{
	struct xsl_socket *s = xsl_sock_live(p);
	struct xsl_endpoint *ep;
	size_t i;

	if (!s)
		return -1;
	if (how <= 0) {
		errno = ENOTSUP;
		return -1;
	}
	for (i = 0; i < s->nep && s->ep[i].id != how; i++)
		;
	if (i == s->nep) {
		errno = EINVAL;
		return -1;
	}
	ep = &s->ep[i];
	if (ep->remote) {
		if (xsl_remote_detach(s, ep))
			return xsl_fail(s, errno);
		s->nremote--;
	} else {
		if (setsockopt(s->fd, SOL_XS, ep->bound ? XS_UNBIND :
			       XS_DISCONNECT, ep->addr.sxs_name,
			       ep->addrlen - NAME_OFFSET))
			return xsl_fail(s, errno);
		s->nlocal--;
	}
	unlink_own_node(ep);
	s->nep--;
	memmove(&s->ep[i], &s->ep[i + 1], (s->nep - i) * sizeof(*ep));
	return 0;
}
