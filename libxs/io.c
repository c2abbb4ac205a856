// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Sending and receiving parts: xs_send, xs_sendmsg, xs_recv, xs_recvmsg.
 *
 * Sending: MSG_EOR unless XS_SNDMORE, MSG_DONTWAIT for XS_DONTWAIT (or
 * XS_SNDTIMEO 0), always MSG_NOSIGNAL.  A record's first part goes to the
 * kernel at once, by itself: that is where the pattern decides (blocking,
 * EAGAIN at the high-water mark, EFSM...), so those errors come from the
 * very call Crossroads reports them from.  The parts after it are copied
 * here and go with the last one in one sendmmsg(2): two system calls per
 * record, whatever its parts (see pend_add).
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
#include <sched.h>
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
	bool mapped;		/* in the kernel's ring: see part_done */
};

/*
 * The receive ring the kernel fills (XS_RX_RING, af_xs(7)): PAIR, PULL,
 * SUB and XSUB sockets map one at their first receive, unless
 * LIBXS_RING=0 is set (LIBXS_RING=<bytes> sets its size, a power of two).
 * Its records are older than anything the kernel still queues (the kernel
 * refuses recv while the ring holds one), and newer than the parts
 * already read ahead, so parts are taken from the read-ahead ring first,
 * then from the mapped ring, then from the kernel.  A record's entry is
 * released (tail stored) once its last part has been copied out.  Before
 * reporting EAGAIN, the library asks for a wake-up at the next record
 * (XS_RING_NEED_WAKEUP), so that a program waiting on XS_FD, even
 * edge-triggered, is woken.
 */
#define MAP_DEFAULT	((uint32_t)512 << 10)

struct xsl_map {
	struct xs_ring_ctrl *ctrl;
	const unsigned char *data;
	uint32_t size;
	uint64_t tail;			/* start of the current entry */
	uint64_t end;			/* its end, 0 when none is open */
	uint32_t off;			/* next part's offset in the area */
	uint32_t left;			/* parts of it not taken yet */
	uint32_t prev_off;		/* the part taken last, for part_unget */
	int spin, spin_max;		/* yields before sleeping (map_spin) */
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

/*
 * A program that polls XS_FD itself must see the parts read ahead too:
 * once it asked for XS_FD, the kernel is told (XS_RCVHELD) whenever the
 * ring goes from empty to holding parts and back, and its poll then
 * reports the socket readable.  One system call at each end of a batch
 * of more than one part; none for programs that never ask for XS_FD.
 */
void xsl_held_sync(struct xsl_socket *s)
{
	int held = xsl_has_buffered(s);

	if (!s->fd_watched || held == s->held_told)
		return;
	if (setsockopt(s->fd, SOL_XS, XS_RCVHELD, &held, sizeof(held)) == 0)
		s->held_told = held;
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
	xsl_held_sync(s);
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

static uint32_t map_size_wanted(const struct xsl_socket *s)
{
	const char *env = getenv("LIBXS_RING");
	unsigned long v;

	switch (s->type) {
	case XS_PAIR:
	case XS_PULL:
	case XS_SUB:
	case XS_XSUB:
		break;
	default:
		return 0;
	}
	if (!env || !*env)
		return MAP_DEFAULT;
	v = strtoul(env, NULL, 0);
	return v > UINT32_MAX / 2 + 1 ? 0 : (uint32_t)v;
}

/* The socket's mapped ring, set up at the first call; NULL if none. */
static struct xsl_map *map_get(struct xsl_socket *s)
{
	struct xs_ring_req req = { 0 };
	const char *env;
	struct xsl_map *m;
	void *c, *d;

	if (s->map || s->no_map)
		return s->map;
	s->no_map = true;
	req.size = map_size_wanted(s);
	if (!req.size ||
	    setsockopt(s->fd, SOL_XS, XS_RX_RING, &req, sizeof(req)))
		return NULL;	/* an old module, or no room: the queue only */
	m = calloc(1, sizeof(*m));
	c = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd,
		 XS_RING_OFF_CTRL);
	d = mmap(NULL, req.size, PROT_READ, MAP_SHARED, s->fd,
		 XS_RING_OFF_DATA);
	if (!m || c == MAP_FAILED || d == MAP_FAILED) {
		/* the kernel fills a ring nobody reads: the queue takes over
		 * once it is full, and recv keeps failing until then, so
		 * this is fatal to the socket's receiving */
		free(m);
		if (c != MAP_FAILED)
			munmap(c, 4096);
		if (d != MAP_FAILED)
			munmap(d, req.size);
		s->map_broken = true;
		return NULL;
	}
	m->ctrl = c;
	m->data = d;
	m->size = req.size;
	env = getenv("LIBXS_SPIN");
	m->spin_max = env ? atoi(env) : 0;
	if (m->spin_max < 0 || m->spin_max > 1000)
		m->spin_max = 0;
	m->spin = m->spin_max;
	m->tail = __atomic_load_n(&m->ctrl->tail, __ATOMIC_RELAXED);
	s->map = m;
	return m;
}

void xsl_map_free(struct xsl_socket *s)
{
	if (!s->map)
		return;
	munmap(s->map->ctrl, 4096);
	munmap((void *)s->map->data, s->map->size);
	free(s->map);
	s->map = NULL;
}

/*
 * Takes the next part of the mapped ring: 1, or 0 when it is empty.  The
 * kernel wrote every entry and the reader cannot write the area, so the
 * entries are well formed; they are still checked against the area's
 * bounds, as a reader of shared memory should.
 */
static int map_take(struct xsl_socket *s, struct xsl_map *m, struct part *p)
{
	const struct xs_ring_part *ph;
	const struct xs_ring_rec *e;
	uint64_t head;

	while (!m->end) {
		head = __atomic_load_n(&m->ctrl->head, __ATOMIC_ACQUIRE);
		if (head == m->tail)
			return 0;
		e = (const void *)(m->data + (m->tail & (m->size - 1)));
		if (e->size < sizeof(*e) || (e->size & 7) ||
		    e->size > head - m->tail)
			return xsl_fail(s, EPROTO);
		if (!e->nparts) {	/* padding to the area's end */
			m->tail += e->size;
			__atomic_store_n(&m->ctrl->tail, m->tail,
					 __ATOMIC_RELEASE);
			continue;
		}
		m->end = m->tail + e->size;
		m->off = (uint32_t)((m->tail & (m->size - 1)) + sizeof(*e));
		m->left = e->nparts;
	}
	ph = (const void *)(m->data + m->off);
	if (m->off + sizeof(*ph) + ph->len > m->size)
		return xsl_fail(s, EPROTO);
	p->data = m->data + m->off + sizeof(*ph);
	p->len = ph->len;
	p->more = --m->left > 0;
	p->mapped = true;
	m->prev_off = m->off;
	m->off += sizeof(*ph) + ((ph->len + 7) & ~7u);
	return 1;
}

/* The last part of an entry was copied out: the kernel may reuse it. */
static void map_release(struct xsl_map *m)
{
	m->tail = m->end;
	m->end = 0;
	__atomic_store_n(&m->ctrl->tail, m->tail, __ATOMIC_RELEASE);
}

/*
 * Nothing to read: ask the kernel to wake this socket's pollers at the
 * next record.  True if one came meanwhile.
 */
static bool map_arm(struct xsl_map *m)
{
	__atomic_store_n(&m->ctrl->flags, XS_RING_NEED_WAKEUP,
			 __ATOMIC_SEQ_CST);
	return __atomic_load_n(&m->ctrl->head, __ATOMIC_SEQ_CST) != m->tail;
}

/* The caller could not take part p: it is first in line again. */
static void part_unget(struct xsl_socket *s, const struct part *p)
{
	if (p->mapped) {
		s->map->off = s->map->prev_off;
		s->map->left++;
	} else {
		s->ring->next--;
		xsl_held_sync(s);
	}
}

/* The caller copied part p out. */
static void part_done(struct xsl_socket *s, const struct part *p)
{
	if (p->mapped && !p->more)
		map_release(s->map);
	else if (!p->mapped)
		ring_trim(s, p);
}

static int next_queued(struct xsl_socket *s, int flags, struct part *p);

/*
 * How many times a blocking receive that finds the ring empty yields the
 * CPU (sched_yield) and looks again before it sleeps in the kernel:
 * LIBXS_SPIN, 0 (no yielding) by default.  A peer that answers at once
 * (a request/reply ping-pong, on one CPU or two) then costs no sleep and
 * no wake-up; records that come in bursts to many readers gain nothing
 * and the yielding readers take CPU from their publisher.  The count
 * adapts: it halves each time yielding found nothing, and doubles back
 * up to LIBXS_SPIN each time it did.
 */
static int map_spin(struct xsl_socket *s, int flags)
{
	if (xsl_call_flags(s, flags, false) & MSG_DONTWAIT)
		return 0;
	return s->map->spin;
}

/*
 * Makes the next part available in p: from the read-ahead ring, from the
 * mapped ring, else from the kernel's queue (next_queued).  Returns 1 when
 * p holds the part, 0 when the caller must read it directly (no read-ahead
 * ring, or the next part is large).
 */
static int next_part(struct xsl_socket *s, int flags, struct part *p)
{
	struct xsl_map *m;
	int rc, spin;

	p->mapped = false;
	if (xsl_has_buffered(s))
		return ring_take(s, p) ? -1 : 1;
	m = map_get(s);
	if (s->map_broken)
		return xsl_fail(s, ENOMEM);
	/* a record begun from the queue is finished from there */
	if (!m || (s->rcvmore && !m->end))
		return next_queued(s, flags, p);
	spin = map_spin(s, flags);
	for (;;) {
		rc = map_take(s, m, p);
		if (rc) {
			if (spin < m->spin)	/* yielding paid off */
				m->spin = m->spin * 2 > m->spin_max ?
					  m->spin_max : m->spin * 2;
			return rc < 0 ? -1 : 1;
		}
		if (spin-- > 0) {
			sched_yield();
			continue;
		}
		if (m->spin > 1 && spin == -1)
			m->spin /= 2;		/* it did not: sleep sooner */
		rc = next_queued(s, flags, p);
		if (rc >= 0 || errno != EAGAIN)
			return rc;
		/* the ring got a record, or nothing came in time */
		if (!map_arm(m))
			return -1;
	}
}

/*
 * A direct read failed with EAGAIN: true if the ring got a record (read
 * it instead), else the caller's pollers will be woken by the next one.
 */
static bool map_retry(struct xsl_socket *s)
{
	return errno == EAGAIN && s->map && map_arm(s->map);
}

/* next_part from the kernel's queue, reading ahead where it can. */
static int next_queued(struct xsl_socket *s, int flags, struct part *p)
{
	struct xsl_ring *r;

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
			xsl_held_sync(s);
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
retry:
	rc = next_part(s, flags, &p);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		n = recv_direct(s, buf, len, xsl_call_flags(s, flags, false),
				&p.more);
		if (n < 0 && map_retry(s))
			goto retry;
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
	part_done(s, &p);
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
retry:
	rc = next_part(s, flags, &p);
	if (rc < 0)
		return -1;

	if (rc == 1) {
		data = xsl_msg_prepare(&tmp, p.len);
		if (!data) {
			/* The part stays first in line for the next call. */
			part_unget(s, &p);
			return -1;
		}
		memcpy(data, p.data, p.len);
		part_done(s, &p);
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
		if (n < 0 && map_retry(s))
			goto retry;
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
		if (n < 0 && map_retry(s))
			goto retry;
		/* Only a second reader of this socket could change the part
		 * under us; Crossroads forbids that. */
		return n < 0 ? -1 : xsl_fail(s, EAGAIN);
	}
	xsl_msg_install(msg, &tmp, p.more);
	s->rcvmore = p.more;
	return (int)n;
}

/*
 * The parts of a record after its first, waiting for its last.  Past the
 * first part the kernel refuses a part only for the record's size
 * (EMSGSIZE: the record is gone) or for memory (ENOMEM: the record stays
 * as it was before that part).  sendmmsg(2) loses that error when some
 * entries went: the kernel keeps it for XS_SNDERR.  The call that sends
 * the last part reports it; after ENOMEM the parts the kernel did not
 * take stay here, so repeating that call carries on where it stopped.
 * A large part is not copied: what is kept goes first, then the part by
 * itself.
 */
#define PEND_PARTS	15
#define PEND_PART_MAX	((size_t)16 << 10)
#define PEND_BYTES	((size_t)64 << 10)

struct xsl_pend {
	unsigned int n;
	size_t used;
	size_t off[PEND_PARTS], len[PEND_PARTS];
	unsigned char buf[PEND_BYTES];
};

void xsl_pend_free(struct xsl_socket *s)
{
	free(s->pend);
	s->pend = NULL;
}

/*
 * Sends what is kept, then @last (NULL: nothing more), in one sendmmsg.
 * @kflags are the flags of @last's call; kept parts never end a record.
 */
static int pend_flush(struct xsl_socket *s, const void *last, size_t len,
		      int kflags)
{
	struct xsl_pend *p = s->pend;
	struct mmsghdr m[PEND_PARTS + 1];
	struct iovec iov[PEND_PARTS + 1];
	unsigned int n = 0, i, kept = p ? p->n : 0;
	int done, err;

	memset(m, 0, sizeof(m));
	for (i = 0; i < kept; i++, n++) {
		iov[n].iov_base = p->buf + p->off[i];
		iov[n].iov_len = p->len[i];
	}
	if (last) {
		iov[n].iov_base = (void *)last;
		iov[n].iov_len = len;
		m[n].msg_hdr.msg_flags = kflags & MSG_EOR;
		n++;
	}
	if (!n)
		return 0;
	for (i = 0; i < n; i++) {
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
	}
	done = sendmmsg(s->fd, m, n, kflags & ~MSG_EOR);
	if (done == (int)n) {
		if (p)
			p->n = p->used = 0;
		return 0;
	}
	if (done < 0) {
		err = errno;
		done = 0;
	} else {
		socklen_t l = sizeof(err);

		if (getsockopt(s->fd, SOL_XS, XS_SNDERR, &err, &l) || !err)
			err = EIO;
	}
	if (err == EMSGSIZE) {
		/* the kernel dropped the record: so do we */
		s->tx_open = false;
		if (p)
			p->n = p->used = 0;
		return xsl_fail(s, err);
	}
	if (p && done) {
		/* drop what went; the rest stays first in line */
		unsigned int went = (unsigned int)done < kept ?
				    (unsigned int)done : kept;

		for (i = went; i < kept; i++) {
			p->off[i - went] = p->off[i];
			p->len[i - went] = p->len[i];
		}
		p->n = kept - went;
	}
	return xsl_fail(s, err);
}

/*
 * A part of a record whose first part is in the kernel.  Returns 1 when it
 * was kept for later, 0 when it went now, -1 on error.
 */
static int pend_add(struct xsl_socket *s, const void *buf, size_t len,
		    int kflags)
{
	struct xsl_pend *p = s->pend;

	if (!(kflags & MSG_EOR) && len <= PEND_PART_MAX) {
		if (!p) {
			p = malloc(sizeof(*p));
			if (!p)
				return xsl_fail(s, ENOMEM);
			p->n = 0;
			p->used = 0;
			s->pend = p;
		}
		if (p->n == PEND_PARTS || p->used + len > PEND_BYTES) {
			if (pend_flush(s, NULL, 0, kflags))
				return -1;
		}
		if (len)	/* an empty part may come with a null buf */
			memcpy(p->buf + p->used, buf, len);
		p->off[p->n] = p->used;
		p->len[p->n++] = len;
		p->used += len;
		return 1;
	}
	/* the last part, or one too large to copy: with what is kept */
	if (pend_flush(s, buf, len, kflags))
		return -1;
	return 0;
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
	int kflags, rc;

	if (s->type == XS_XSUB)
		return xsl_xsub_send(s, buf, len, flags);
	if (s->type == XS_XRESPONDENT)
		return send_xrespondent(s, buf, len, flags);
	if (s->zs && !s->nlocal)
		return xsl_remote_send(s, buf, len, flags);
	kflags = xsl_call_flags(s, flags, true);
	if (s->tx_open && !s->zs) {
		rc = pend_add(s, buf, len, kflags);
		if (rc < 0)
			return -1;
		if (kflags & MSG_EOR)
			s->tx_open = false;
		return 0;
	}
	if (send(s->fd, buf, len, kflags) < 0)
		return xsl_fail(s, errno);	/* EOPNOTSUPP == ENOTSUP */
	s->tx_open = !(kflags & MSG_EOR);
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
