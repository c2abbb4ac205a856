// SPDX-License-Identifier: GPL-2.0
/*
 * AF_XS receive rings (XS_RX_RING): records copied by the sender's thread
 * into pages the reader maps from its socket, so that a reader keeping up
 * reads without a system call.
 *
 * The pages are allocated order-0 (charged to the reader's memory cgroup)
 * and seen by the kernel through one vmap() of the data area; the reader
 * maps them with vm_insert_pages(), which takes a reference on each page;
 * the mapping also holds the socket's file, so the socket is released
 * (and the ring freed) only once no mapping is left.
 * The data area is mapped read-only: only the kernel writes an entry, and
 * an entry is complete before head covers it.  The reader owns tail; the
 * kernel reads it once per record and trusts nothing about it but that it
 * is a number: an impossible tail makes the ring look full, so that the
 * records go to the socket's queue, and every write stays within the area
 * (positions are masked).
 *
 * Locking: a ring is written under the reader's rx_lock, which orders it
 * against the queue (a record enters the ring only while the queue is
 * empty).  xs->ring is set once under lock_sock() and freed at release,
 * after the socket has left every pipe (no sender can reach it then).
 *
 * Wake-ups: the sender publishes head, then (full barrier) looks at
 * XS_RING_NEED_WAKEUP and wakes the reader only if it is set, clearing it
 * with an exchange so that a reader's set is never lost to a stale clear.
 * A reader sets it (full barrier) before it looks at head for the last
 * time and sleeps: one of the two sees the other.
 */

#include <linux/mm.h>
#include <linux/vmalloc.h>

#include "af_xs.h"
#include "trace.h"

struct xs_ring {
	struct xs_ring_ctrl	*ctrl;		/* page 0 */
	u8			*data;		/* vmap of pages 1..n */
	struct page		**pages;
	u32			npages;		/* control page included */
	u32			size;		/* data bytes, a power of two */
	u64			head;		/* ours; ctrl->head is a copy */
};

/* Largest ring a socket may ask for (it also needs SO_RCVBUF >= size). */
static unsigned int xs_ring_max = 64 << 20;
module_param_named(ring_max, xs_ring_max, uint, 0644);
MODULE_PARM_DESC(ring_max, "largest XS_RX_RING data area, bytes");

static void xs_ring_free(struct xs_ring *r)
{
	u32 i;

	if (r->data)
		vunmap(r->data);
	for (i = 0; r->pages && i < r->npages; i++)
		if (r->pages[i])
			put_page(r->pages[i]);
	kvfree(r->pages);
	kfree(r);
}

static struct xs_ring *xs_ring_alloc(u32 size)
{
	struct xs_ring *r = kzalloc(sizeof(*r), GFP_KERNEL_ACCOUNT);
	u32 i;

	if (!r)
		return NULL;
	r->size = size;
	r->npages = 1 + size / PAGE_SIZE;
	r->pages = kvcalloc(r->npages, sizeof(*r->pages), GFP_KERNEL_ACCOUNT);
	if (!r->pages)
		goto fail;
	for (i = 0; i < r->npages; i++) {
		r->pages[i] = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO |
					 __GFP_NOWARN);
		if (!r->pages[i])
			goto fail;
	}
	r->data = vmap(r->pages + 1, r->npages - 1, VM_MAP, PAGE_KERNEL);
	if (!r->data)
		goto fail;
	r->ctrl = page_address(r->pages[0]);
	r->ctrl->size = size;
	return r;
fail:
	xs_ring_free(r);
	return NULL;
}

/* XS_RX_RING, under lock_sock(). */
int xs_ring_setup(struct xs_sock *xs, sockptr_t optval, unsigned int optlen)
{
	struct xs_ring_req req;
	struct xs_ring *r;

	if (!xs->pat->ring_ok)
		return -EOPNOTSUPP;
	if (optlen < sizeof(req))
		return -EINVAL;
	if (copy_from_sockptr(&req, optval, sizeof(req)))
		return -EFAULT;
	if (req.flags || !is_power_of_2(req.size) || req.size < PAGE_SIZE)
		return -EINVAL;
	if (req.size > READ_ONCE(xs_ring_max) ||
	    req.size > (u32)READ_ONCE(xs->sk.sk_rcvbuf))
		return -ENOBUFS;
	if (xs->ring)
		return -EBUSY;
	r = xs_ring_alloc(req.size);
	if (!r)
		return -ENOMEM;
	spin_lock(&xs->rx_lock);
	WRITE_ONCE(xs->ring, r);
	spin_unlock(&xs->rx_lock);
	return 0;
}

int xs_ring_size(struct xs_sock *xs)
{
	struct xs_ring *r = READ_ONCE(xs->ring);

	return r ? r->size : 0;
}

/* At release, once no sender can reach @xs. */
void xs_ring_release(struct xs_sock *xs)
{
	if (xs->ring)
		xs_ring_free(xs->ring);
	xs->ring = NULL;
}

/*
 * mmap: the control page at XS_RING_OFF_CTRL, the data area (read-only)
 * at XS_RING_OFF_DATA, each whole and shared.  ENODEV without a ring.
 */
int xs_ring_mmap(struct xs_sock *xs, struct vm_area_struct *vma)
{
	struct xs_ring *r = READ_ONCE(xs->ring);
	unsigned long len = vma->vm_end - vma->vm_start;
	u64 off = (u64)vma->vm_pgoff << PAGE_SHIFT;
	struct page **pages;
	unsigned long n;

	if (!r)
		return -ENODEV;
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (off == XS_RING_OFF_CTRL && len == PAGE_SIZE) {
		pages = r->pages;
		n = 1;
	} else if (off == XS_RING_OFF_DATA && len == r->size) {
		if (vma->vm_flags & VM_WRITE)
			return -EPERM;
		xs_vm_flags_clear(vma, VM_MAYWRITE);
		pages = r->pages + 1;
		n = r->npages - 1;
	} else {
		return -EINVAL;
	}
	xs_vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
	return vm_insert_pages(vma, vma->vm_start, pages, &n);
}

/* Bytes the reader has not read yet; more than size when tail is bad. */
static u64 xs_ring_used(struct xs_ring *r)
{
	/* the reader's reads of what it releases come before our writes */
	return r->head - smp_load_acquire(&r->ctrl->tail);
}

/* Does the ring hold a record (or so says the reader's tail)? */
bool xs_ring_nonempty(struct xs_sock *xs)
{
	struct xs_ring *r = READ_ONCE(xs->ring);

	return r && READ_ONCE(r->head) != READ_ONCE(r->ctrl->tail);
}

/*
 * Nothing to read: ask for a wake-up at the next record.  True if one
 * arrived meanwhile (the caller must not sleep).
 */
bool xs_ring_arm(struct xs_sock *xs)
{
	struct xs_ring *r = READ_ONCE(xs->ring);

	if (!r)
		return false;
	if (!(READ_ONCE(r->ctrl->flags) & XS_RING_NEED_WAKEUP))
		xchg(&r->ctrl->flags, XS_RING_NEED_WAKEUP);
	smp_mb();	/* pairs with xs_ring_wake() */
	return xs_ring_nonempty(xs);
}

/* After placing records: wake the reader if it asked to be. */
void xs_ring_wake(struct xs_sock *xs)
{
	struct xs_ring *r = READ_ONCE(xs->ring);

	smp_mb();	/* head before the flag: pairs with xs_ring_arm() */
	if (!(READ_ONCE(r->ctrl->flags) & XS_RING_NEED_WAKEUP))
		return;
	if (xchg(&r->ctrl->flags, 0) & XS_RING_NEED_WAKEUP)
		xs->sk.sk_data_ready(&xs->sk);
}

/* The parts of @rec from @start on (xs_rec_next() has no end mark). */
static struct xs_part *xs_ring_next(struct xs_record *rec,
				    struct xs_part *part)
{
	return xs_rec_is_last(rec, part) ? NULL : xs_rec_next(rec, part);
}

static void xs_ring_write(struct xs_ring *r, u64 pos, const void *src,
			  size_t len)
{
	memcpy(r->data + (pos & (r->size - 1)), src, len);
}

/* The entry of @rec from part @start: its size, 0 if it cannot go. */
static size_t xs_ring_entry_size(struct xs_ring *r, struct xs_record *rec,
				 struct xs_part *start)
{
	size_t size = sizeof(struct xs_ring_rec);
	struct xs_part *part;

	if (rec->size > XS_RING_REC_MAX)
		return 0;
	for (part = start; part; part = xs_ring_next(rec, part))
		size += sizeof(struct xs_ring_part) + ALIGN(part->len, 8);
	return size <= r->size ? size : 0;
}

/*
 * Place @rec, read from part @start, in the ring of @rx.  False when it
 * must be queued instead: no ring, records in the queue (they are older),
 * too large, or no room.
 */
bool xs_ring_put(struct xs_sock *rx, struct xs_record *rec,
		 struct xs_part *start)
{
	struct xs_ring *r = READ_ONCE(rx->ring);
	struct xs_ring_part ph = {};
	struct xs_ring_rec eh = {};
	struct xs_part *part;
	size_t need, pad;
	u64 pos;

	if (!r)
		return false;
	need = xs_ring_entry_size(r, rec, start);
	if (!need)
		return false;
	spin_lock(&rx->rx_lock);
	if (rx->rx_count || !list_empty(&rx->reading))
		goto full;
	pos = r->head;
	/* an entry never wraps: the area's end is padded past */
	pad = r->size - (pos & (r->size - 1));
	if (pad >= need)
		pad = 0;
	if (need + pad > r->size || xs_ring_used(r) > r->size - need - pad)
		goto full;
	if (pad) {
		eh.size = pad;
		xs_ring_write(r, pos, &eh, sizeof(eh));
		pos += pad;
	}
	eh.size = need;
	eh.nparts = 0;
	for (part = start; part; part = xs_ring_next(rec, part))
		eh.nparts++;
	xs_ring_write(r, pos, &eh, sizeof(eh));
	pos += sizeof(eh);
	for (part = start; part; part = xs_ring_next(rec, part)) {
		ph.len = part->len;
		xs_ring_write(r, pos, &ph, sizeof(ph));
		pos += sizeof(ph);
		xs_ring_write(r, pos, part->data, part->len);
		pos += ALIGN(part->len, 8);
	}
	WRITE_ONCE(r->head, pos);
	/* the entry before head: pairs with the reader's acquire of head */
	smp_store_release(&r->ctrl->head, pos);
	trace_xs_record_delivered(rx, rec);
	spin_unlock(&rx->rx_lock);
	atomic64_inc(&rx->recv_records);
	atomic64_add(rec->size, &rx->recv_bytes);
	return true;
full:
	spin_unlock(&rx->rx_lock);
	return false;
}

/* Is the ring at least a quarter full (wake its reader now)? */
bool xs_ring_filling(struct xs_sock *xs)
{
	struct xs_ring *r = READ_ONCE(xs->ring);

	return READ_ONCE(r->head) - READ_ONCE(r->ctrl->tail) >= r->size / 4;
}
