// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * xs_msg_t: 32 caller-owned bytes holding either a small part inline or a
 * pointer to reference-counted content.
 *
 * Layout (byte offsets; xs_msg_t has no alignment, so multi-byte fields
 * are moved with memcpy):
 *   0      kind: KIND_INLINE or KIND_SHARED; anything else is not a message
 *          (a closed or never initialised xs_msg_t -> EFAULT)
 *   1      flags: FLAG_MORE (the part was received without end of record)
 *   2      inline: size of the data
 *   3..31  inline: the data (up to INLINE_MAX bytes)
 *   8..15  shared: struct content *
 *
 * Content created by xs_msg_init_size() carries its data right after the
 * header; content created by xs_msg_init_data() points at the caller's
 * buffer and calls the caller's free function when the last reference goes.
 */
#include <stdlib.h>
#include <string.h>

#include "xsl.h"

#define KIND_INLINE	0x69
#define KIND_SHARED	0x73
#define FLAG_MORE	0x01

#define OFF_KIND	0
#define OFF_FLAGS	1
#define OFF_ISIZE	2
#define OFF_IDATA	3
#define OFF_CONTENT	8
#define INLINE_MAX	(sizeof(xs_msg_t) - OFF_IDATA)

struct content {
	atomic_uint refs;
	void *data;
	size_t size;
	xs_free_fn *ffn;
	void *hint;
};

static inline unsigned char kind_of(const xs_msg_t *m)
{
	return m->_[OFF_KIND];
}

static inline bool valid(const xs_msg_t *m)
{
	return m && (kind_of(m) == KIND_INLINE || kind_of(m) == KIND_SHARED);
}

static inline struct content *content_of(const xs_msg_t *m)
{
	struct content *c;

	memcpy(&c, &m->_[OFF_CONTENT], sizeof(c));
	return c;
}

static void set_inline(xs_msg_t *m, size_t size)
{
	memset(m, 0, sizeof(*m));
	m->_[OFF_KIND] = KIND_INLINE;
	m->_[OFF_ISIZE] = (unsigned char)size;
}

static void set_shared(xs_msg_t *m, struct content *c)
{
	memset(m, 0, sizeof(*m));
	m->_[OFF_KIND] = KIND_SHARED;
	memcpy(&m->_[OFF_CONTENT], &c, sizeof(c));
}

static void content_put(struct content *c)
{
	if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (c->ffn)
		c->ffn(c->data, c->hint);
	free(c);
}

/* Drops what m holds; m is left invalid. */
static void release(xs_msg_t *m)
{
	if (kind_of(m) == KIND_SHARED)
		content_put(content_of(m));
	memset(m, 0, sizeof(*m));
}

int xs_msg_init(xs_msg_t *msg)
{
	if (!msg) {
		errno = EFAULT;
		return -1;
	}
	set_inline(msg, 0);
	return 0;
}

int xs_msg_init_size(xs_msg_t *msg, size_t size)
{
	struct content *c;

	if (!msg) {
		errno = EFAULT;
		return -1;
	}
	if (size <= INLINE_MAX) {
		set_inline(msg, size);
		return 0;
	}
	if (size > SIZE_MAX - sizeof(*c)) {
		errno = ENOMEM;
		return -1;
	}
	c = malloc(sizeof(*c) + size);
	if (!c) {
		errno = ENOMEM;
		return -1;
	}
	atomic_init(&c->refs, 1);
	c->data = c + 1;
	c->size = size;
	c->ffn = NULL;
	c->hint = NULL;
	set_shared(msg, c);
	return 0;
}

int xs_msg_init_data(xs_msg_t *msg, void *data, size_t size,
		     xs_free_fn *ffn, void *hint)
{
	struct content *c;

	if (!msg) {
		errno = EFAULT;
		return -1;
	}
	c = malloc(sizeof(*c));
	if (!c) {
		errno = ENOMEM;
		return -1;
	}
	atomic_init(&c->refs, 1);
	c->data = data;
	c->size = size;
	c->ffn = ffn;
	c->hint = hint;
	set_shared(msg, c);
	return 0;
}

int xs_msg_close(xs_msg_t *msg)
{
	if (!valid(msg)) {
		errno = EFAULT;
		return -1;
	}
	release(msg);
	return 0;
}

/* dest gives up its content and takes src's: shared (copy) or not (move). */
static int take_over(xs_msg_t *dest, xs_msg_t *src, bool share)
{
	if (!valid(src) || !valid(dest)) {
		errno = EFAULT;
		return -1;
	}
	if (dest == src)
		return 0;
	release(dest);
	if (share && kind_of(src) == KIND_SHARED)
		atomic_fetch_add_explicit(&content_of(src)->refs, 1,
					  memory_order_relaxed);
	memcpy(dest, src, sizeof(*dest));
	if (!share)
		set_inline(src, 0);
	return 0;
}

int xs_msg_move(xs_msg_t *dest, xs_msg_t *src)
{
	return take_over(dest, src, false);
}

int xs_msg_copy(xs_msg_t *dest, xs_msg_t *src)
{
	return take_over(dest, src, true);
}

void *xs_msg_data(xs_msg_t *msg)
{
	if (!valid(msg)) {
		errno = EFAULT;
		return NULL;
	}
	if (kind_of(msg) == KIND_INLINE)
		return &msg->_[OFF_IDATA];
	return content_of(msg)->data;
}

size_t xs_msg_size(xs_msg_t *msg)
{
	if (!valid(msg)) {
		errno = EFAULT;
		return 0;
	}
	if (kind_of(msg) == KIND_INLINE)
		return msg->_[OFF_ISIZE];
	return content_of(msg)->size;
}

int xs_getmsgopt(xs_msg_t *msg, int option, void *optval, size_t *optvallen)
{
	int more;

	if (!valid(msg)) {
		errno = EFAULT;
		return -1;
	}
	if (option != XS_MORE) {
		errno = EINVAL;
		return -1;
	}
	if (!optval || !optvallen) {
		errno = EFAULT;
		return -1;
	}
	if (*optvallen < sizeof(int)) {
		errno = EINVAL;
		return -1;
	}
	more = (msg->_[OFF_FLAGS] & FLAG_MORE) ? 1 : 0;
	memcpy(optval, &more, sizeof(more));
	*optvallen = sizeof(int);
	return 0;
}

/* ---- Helpers for the socket calls ------------------------------------- */

/* Data and size of a valid message; EFAULT otherwise. */
int xsl_msg_view(xs_msg_t *msg, const void **data, size_t *size)
{
	if (!valid(msg)) {
		errno = EFAULT;
		return -1;
	}
	*data = xs_msg_data(msg);
	*size = xs_msg_size(msg);
	return 0;
}

/* A sent message is emptied: its content is released (the free function
 * runs if this was the last reference) and it holds an empty part. */
void xsl_msg_clear(xs_msg_t *msg)
{
	release(msg);
	set_inline(msg, 0);
}

/* Builds a fresh message of 'size' bytes in tmp and returns where its data
 * goes, or NULL (ENOMEM). */
void *xsl_msg_prepare(xs_msg_t *tmp, size_t size)
{
	if (xs_msg_init_size(tmp, size))
		return NULL;
	return xs_msg_data(tmp);
}

/* Replaces dest's content by tmp's, with the MORE flag of the part. */
void xsl_msg_install(xs_msg_t *dest, xs_msg_t *tmp, bool more)
{
	release(dest);
	memcpy(dest, tmp, sizeof(*dest));
	if (more)
		dest->_[OFF_FLAGS] |= FLAG_MORE;
	memset(tmp, 0, sizeof(*tmp));
}

void xsl_msg_discard(xs_msg_t *tmp)
{
	release(tmp);
}
