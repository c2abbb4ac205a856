// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Sending and receiving parts: xs_send, xs_sendmsg, xs_recv, xs_recvmsg.
 *
 * Sending is one send(2) per part: MSG_EOR unless XS_SNDMORE, MSG_DONTWAIT
 * for XS_DONTWAIT (or XS_SNDTIMEO 0), always MSG_NOSIGNAL.  Errors are thus
 * reported by the very call Crossroads reports them from.
 *
 * Receiving reads ahead.  When a socket has nothing buffered, one
 * recvmmsg(2) with MSG_WAITFORONE takes every part already queued (up to
 * RING_SLOTS): it blocks, times out (SO_RCVTIMEO) or fails exactly as a
 * single recvmsg would for the first part and never waits for the others.
 * Later calls hand those parts out without a system call.  An error met
 * by the first part is the error of this call; one met by a later entry
 * (which does not wait) just ends the batch, and the call that reaches
 * that part reads it again and gets the error then, where Crossroads
 * reports it.
 *
 * A recvmmsg entry whose buffer is too short loses the rest of its part,
 * and the size of the parts after the next one cannot be known in advance.
 * So each entry of the ring reads into two pieces: a small slot (all
 * small slots side by side, where small parts stay) followed by a 2 GiB
 * window of address space reserved with MAP_NORESERVE: no part a receive
 * call can return (its size is an int) is ever cut, and only the pages a
 * part really fills get memory.  A part that spilled into its window gets
 * its head copied into the SLOT_SMALL bytes kept free just before the
 * window, which makes it contiguous.  After a large part, the pages past
 * SLOT_KEEP are given back.  (One window per slot without the small slots
 * works too, but spreading small parts 2 GiB apart costs TLB and page
 * table locality: twice slower under emulation.)  When the next part is
 * known to be large (FIONREAD, asked only after a large part so that
 * small-part streams pay one call per batch), it is read straight into
 * its final buffer instead.  REQ, REP, SURVEYOR and RESPONDENT never
 * read ahead (see readahead_wanted).  Where the reservation fails (strict
 * overcommit, small address space) or LIBXS_READAHEAD=0 is set in the
 * environment, each part is read with its own recvmsg.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "xsl.h"

#define RING_SLOTS	16
#define SLOT_SMALL	((size_t)4096)
#define SLOT_SPAN	((size_t)1 << 31)
#define RING_BYTES	(RING_SLOTS * (SLOT_SMALL + SLOT_SPAN))
#define SLOT_KEEP	((size_t)256 << 10)
#define BYPASS_MIN	(64 << 10)

struct xsl_ring {
	unsigned char *small;		/* RING_SLOTS small slots */
	unsigned char *big;		/* RING_SLOTS windows of SLOT_SPAN */
	unsigned int next;		/* first unread entry */
	unsigned int count;		/* entries filled by the last read */
	bool large;			/* the last part was >= BYPASS_MIN */
	struct mmsghdr hdr[RING_SLOTS];
	struct iovec iov[2 * RING_SLOTS];
};

/* One part, wherever it was read to. */
struct part {
	const unsigned char *data;
	size_t len;
	bool more;
};

/*
 * Patterns whose receive side has a state machine (REQ, REP, SURVEYOR,
 * RESPONDENT) refuse a receive past the end of the current record (EFSM)
 * or survey: reading ahead there would provoke errors nobody asked for.
 */
static bool readahead_wanted(const struct xsl_socket *s)
{
	const char *env = getenv("LIBXS_READAHEAD");

	if (sizeof(void *) < 8)
		return false;
	switch (s->type) {
	case XS_REQ:
	case XS_REP:
	case XS_SURVEYOR:
	case XS_RESPONDENT:
		return false;
	}
	return !(env && env[0] == '0');
}

static struct xsl_ring *ring_get(struct xsl_socket *s)
{
	struct xsl_ring *r;
	void *base;

	if (s->ring || s->no_ring)
		return s->ring;
	if (!readahead_wanted(s)) {
		s->no_ring = true;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		s->no_ring = true;
		return NULL;
	}
	base = mmap(NULL, RING_BYTES, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED) {
		free(r);
		s->no_ring = true;
		return NULL;
	}
	r->small = base;
	r->big = r->small + RING_SLOTS * SLOT_SMALL;
	s->ring = r;
	return r;
}

void xsl_ring_free(struct xsl_socket *s)
{
	if (!s->ring)
		return;
	munmap(s->ring->small, RING_BYTES);
	free(s->ring);
	s->ring = NULL;
}

bool xsl_has_buffered(const struct xsl_socket *s)
{
	return s->ring && s->ring->next < s->ring->count;
}

/* Fills the ring; blocks (per kflags) for the first part only. */
static int ring_fill(struct xsl_socket *s, struct xsl_ring *r, int kflags)
{
	unsigned int i;
	int n;

	for (i = 0; i < RING_SLOTS; i++) {
		struct iovec *iov = &r->iov[2 * i];

		iov[0].iov_base = r->small + i * SLOT_SMALL;
		iov[0].iov_len = SLOT_SMALL;
		iov[1].iov_base = r->big + i * SLOT_SPAN + SLOT_SMALL;
		iov[1].iov_len = SLOT_SPAN - SLOT_SMALL - 1;
		memset(&r->hdr[i], 0, sizeof(r->hdr[i]));
		r->hdr[i].msg_hdr.msg_iov = iov;
		r->hdr[i].msg_hdr.msg_iovlen = 2;
	}
	r->next = r->count = 0;
	n = recvmmsg(s->fd, r->hdr, RING_SLOTS, kflags | MSG_WAITFORONE, NULL);
	if (n < 0)
		return xsl_fail(s, errno);
	if (n == 0)
		return xsl_fail(s, EAGAIN);
	r->count = (unsigned int)n;
	return 0;
}

/* Takes the next buffered part; its data stays valid until the next read. */
static int ring_take(struct xsl_socket *s, struct part *p)
{
	struct xsl_ring *r = s->ring;
	unsigned int i = r->next++;
	int flags = r->hdr[i].msg_hdr.msg_flags;

	p->len = r->hdr[i].msg_len;
	if (p->len <= SLOT_SMALL) {
		p->data = r->small + i * SLOT_SMALL;
	} else {
		unsigned char *window = r->big + i * SLOT_SPAN;

		memcpy(window, r->small + i * SLOT_SMALL, SLOT_SMALL);
		p->data = window;
	}
	p->more = !(flags & MSG_EOR);
	r->large = p->len >= BYPASS_MIN;
	if (flags & MSG_TRUNC)	/* over 2 GiB: cannot be returned anyway */
		return xsl_fail(s, EMSGSIZE);
	return 0;
}

/* Gives back the memory a large part made resident in its slot. */
static void ring_trim(struct xsl_socket *s, const struct part *p)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t end;

	if (!s->ring || p->len <= SLOT_KEEP)
		return;
	end = (p->len + (size_t)page - 1) & ~((size_t)page - 1);
	madvise((void *)(p->data + SLOT_KEEP), end - SLOT_KEEP,
		MADV_DONTNEED);
}

/* Size of the next queued part, 0 if none (or if it is empty). */
static size_t next_part_size(struct xsl_socket *s)
{
	int q = 0;

	if (ioctl(s->fd, FIONREAD, &q) || q < 0)
		return 0;
	return (size_t)q;
}

/* One recvmsg into buf; returns the part's full length. */
static ssize_t recv_direct(struct xsl_socket *s, void *buf, size_t len,
			   int kflags, bool *more)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	n = recvmsg(s->fd, &mh, kflags | MSG_TRUNC);
	if (n < 0)
		return xsl_fail(s, errno);
	/* After xs_term's shutdown, recvmsg reports end of file. */
	if (n == 0 && atomic_load(&s->terminated))
		return xsl_fail(s, ETERM);
	*more = !(mh.msg_flags & MSG_EOR);
	return n;
}

/*
 * Makes the next part available in p, from the ring if it has one, else
 * by reading.  Returns 1 when the part went to the ring, 0 when the caller
 * must read it directly (no ring, or the next part is large).
 */
static int next_part(struct xsl_socket *s, int flags, struct part *p)
{
	struct xsl_ring *r;

	if (xsl_has_buffered(s))
		return ring_take(s, p) ? -1 : 1;
	r = ring_get(s);
	/* Ask for the next size only while parts are large: small-part
	 * streams then cost one system call per batch. */
	if (!r || (r->large && next_part_size(s) >= BYPASS_MIN))
		return 0;
	if (ring_fill(s, r, xsl_call_flags(s, flags, false)))
		return -1;
	if (atomic_load(&s->terminated))
		return xsl_fail(s, ETERM);
	return ring_take(s, p) ? -1 : 1;
}

/*
 * Parts the library rewrites (translate.c): an XPUB's subscription notices
 * and the identity that starts each record an XRESPONDENT receives.
 */
static bool rewritten(const struct xsl_socket *s)
{
	return s->type == XS_XPUB ||
	       (s->type == XS_XRESPONDENT && !s->rcvmore);
}

#define REWRITTEN_MAX	(4 + XS_PREFIX_MAX)

/* Reads one such part (both kinds are small) and rewrites it into out. */
static int recv_rewritten(struct xsl_socket *s, int flags, unsigned char *out,
			  size_t *outlen, bool *more)
{
	unsigned char raw[1 + XS_PREFIX_MAX + XS_IDENTITY_MAX];
	struct part p;
	ssize_t n;
	int rc;

	rc = next_part(s, flags, &p);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		n = recv_direct(s, raw, sizeof(raw),
				xsl_call_flags(s, flags, false), &p.more);
		if (n < 0)
			return -1;
		p.data = raw;
		p.len = (size_t)n < sizeof(raw) ? (size_t)n : sizeof(raw);
	}
	if (s->type == XS_XPUB) {
		*outlen = xsl_xpub_notice(p.data, p.len, out, REWRITTEN_MAX);
	} else {
		if (xsl_id_to_user(s, p.data, p.len, out)) {
			if (rc == 1)	/* first in line again */
				s->ring->next--;
			return -1;
		}
		*outlen = 4;
	}
	*more = p.more;
	return 0;
}

int xs_recv(void *sp, void *buf, size_t len, int flags)
{
	struct xsl_socket *s = xsl_sock_live(sp);
	unsigned char out[REWRITTEN_MAX];
	struct part p;
	ssize_t n;
	int rc;

	if (!s)
		return -1;
	if (s->zs) {
		xs_msg_t tmp;

		rc = xsl_remote_recv(s, flags, &tmp, &p.more);
		if (rc < 0)
			return -1;
		if (rc == 1) {
			p.len = xs_msg_size(&tmp);
			if (len)
				memcpy(buf, xs_msg_data(&tmp),
				       p.len < len ? p.len : len);
			xsl_msg_discard(&tmp);
			s->rcvmore = p.more;
			return (int)p.len;
		}
		s->from_remote = 0;
	}
	if (rewritten(s)) {
		if (recv_rewritten(s, flags, out, &p.len, &p.more))
			return -1;
		if (len)
			memcpy(buf, out, p.len < len ? p.len : len);
		s->rcvmore = p.more;
		return (int)p.len;
	}
	rc = next_part(s, flags, &p);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		n = recv_direct(s, buf, len, xsl_call_flags(s, flags, false),
				&p.more);
		if (n < 0)
			return -1;
		if (s->ring)
			s->ring->large = n >= BYPASS_MIN;
		s->rcvmore = p.more;
		return (int)n;
	}
	/* Like Crossroads: copy what fits, return the part's size. */
	if (len)
		memcpy(buf, p.data, p.len < len ? p.len : len);
	s->rcvmore = p.more;
	ring_trim(s, &p);
	return (int)p.len;
}

int xs_recvmsg(void *sp, xs_msg_t *msg, int flags)
{
	struct xsl_socket *s = xsl_sock_live(sp);
	const void *old;
	size_t oldlen, size;
	xs_msg_t tmp;
	struct part p;
	void *data;
	int kflags;
	ssize_t n;
	int rc;

	if (!s)
		return -1;
	if (xsl_msg_view(msg, &old, &oldlen))
		return -1;
	if (s->zs) {
		rc = xsl_remote_recv(s, flags, &tmp, &p.more);
		if (rc < 0)
			return -1;
		if (rc == 1) {
			size = xs_msg_size(&tmp);
			xsl_msg_install(msg, &tmp, p.more);
			s->rcvmore = p.more;
			return (int)size;
		}
		s->from_remote = 0;
	}
	if (rewritten(s)) {
		unsigned char out[REWRITTEN_MAX];

		if (recv_rewritten(s, flags, out, &p.len, &p.more))
			return -1;
		data = xsl_msg_prepare(&tmp, p.len);
		if (!data)
			return -1;
		memcpy(data, out, p.len);
		xsl_msg_install(msg, &tmp, p.more);
		s->rcvmore = p.more;
		return (int)p.len;
	}
	rc = next_part(s, flags, &p);
	if (rc < 0)
		return -1;

	if (rc == 1) {
		data = xsl_msg_prepare(&tmp, p.len);
		if (!data) {
			/* The part stays first in line for the next call. */
			s->ring->next--;
			return -1;
		}
		memcpy(data, p.data, p.len);
		ring_trim(s, &p);
		xsl_msg_install(msg, &tmp, p.more);
		s->rcvmore = p.more;
		return (int)p.len;
	}

	/* Direct read: learn the size, then read into the final buffer. */
	kflags = xsl_call_flags(s, flags, false);
	size = next_part_size(s);
	if (size == 0) {
		struct msghdr probe = { 0 };

		n = recvmsg(s->fd, &probe, kflags | MSG_PEEK | MSG_TRUNC);
		if (n < 0)
			return xsl_fail(s, errno);
		if (n == 0 && atomic_load(&s->terminated))
			return xsl_fail(s, ETERM);
		size = (size_t)n;
	}
	data = xsl_msg_prepare(&tmp, size);
	if (!data)
		return -1;
	n = recv_direct(s, data, size, kflags, &p.more);
	if (s->ring)
		s->ring->large = size >= BYPASS_MIN;
	if (n < 0 || (size_t)n != size) {
		xsl_msg_discard(&tmp);
		/* Only a second reader of this socket could change the part
		 * under us; Crossroads forbids that. */
		return n < 0 ? -1 : xsl_fail(s, EAGAIN);
	}
	xsl_msg_install(msg, &tmp, p.more);
	s->rcvmore = p.more;
	return (int)n;
}

/*
 * XRESPONDENT: a record starts with the peer's 4-byte id, which goes to
 * the kernel as that peer's identity.  As in Crossroads, a record whose
 * first part is not a 4-byte id followed by more parts goes nowhere,
 * silently.
 */
static int send_xrespondent(struct xsl_socket *s, const void *buf,
			    size_t len, int flags)
{
	unsigned char kid[XS_IDENTITY_MAX];
	bool more = flags & XS_SNDMORE;
	size_t klen;

	if (!s->out_more) {
		if (len != 4 || !more) {
			s->out_drop = more;
			s->out_more = more;
			return 0;
		}
		klen = xsl_id_to_kernel(s, buf, kid);
		if (send(s->fd, kid, klen, xsl_call_flags(s, flags, true)) < 0)
			return xsl_fail(s, errno);
		s->sent = true;
		s->out_more = true;
		s->out_drop = false;
		return 0;
	}
	if (s->out_drop) {
		s->out_more = s->out_drop = more;
		return 0;
	}
	if (send(s->fd, buf, len, xsl_call_flags(s, flags, true)) < 0)
		return xsl_fail(s, errno);
	s->out_more = more;
	return 0;
}

static int send_part(struct xsl_socket *s, const void *buf, size_t len,
		     int flags)
{
	if (s->type == XS_XSUB)
		return xsl_xsub_send(s, buf, len, flags);
	if (s->type == XS_XRESPONDENT)
		return send_xrespondent(s, buf, len, flags);
	if (s->zs && !s->nlocal)
		return xsl_remote_send(s, buf, len, flags);
	if (send(s->fd, buf, len, xsl_call_flags(s, flags, true)) < 0)
		return xsl_fail(s, errno);	/* EOPNOTSUPP == ENOTSUP */
	s->sent = true;
	/* PUB, XPUB with local and remote subscribers: both get it. */
	if (s->zs)
		return xsl_remote_send(s, buf, len, flags);
	return 0;
}

int xs_send(void *sp, const void *buf, size_t len, int flags)
{
	struct xsl_socket *s = xsl_sock_live(sp);

	if (!s)
		return -1;
	if (send_part(s, buf, len, flags))
		return -1;
	return (int)len;
}

int xs_sendmsg(void *sp, xs_msg_t *msg, int flags)
{
	struct xsl_socket *s = xsl_sock_live(sp);
	const void *data;
	size_t len;

	if (!s)
		return -1;
	if (xsl_msg_view(msg, &data, &len))
		return -1;
	if (send_part(s, data, len, flags))
		return -1;
	/* Sent: the message is emptied (its free function may run now). */
	xsl_msg_clear(msg);
	return (int)len;
}
