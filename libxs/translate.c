// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Where Crossroads 1.2 programs see bytes that the kernel spells another
 * way, libxs rewrites them at the API and nowhere else:
 *
 *   subscriptions  Crossroads: a 16-bit command in network order (1
 *                  subscribe, 2 unsubscribe), a 16-bit filter id
 *                  (XS_FILTER_PREFIX = 1), then the body.  The kernel: one
 *                  byte, 1 or 0, then the prefix.  An XPUB's notices are
 *                  widened on receive; what an XSUB sends is checked and
 *                  narrowed, each part being one subscription (XS_SNDMORE
 *                  changes nothing: Crossroads treats every part alike).
 *   XRESPONDENT    Crossroads gives each peer a 4-byte id.  The kernel's
 *   identities     identity of a peer is 5 bytes (a zero, then a 32-bit
 *                  counter) or the peer's own XS_IDENTITY.  A generated
 *                  one loses its zero byte (and gets it back on send); a
 *                  peer's own identity is given a 4-byte id with the top
 *                  bit set from a per-socket table, which grows with the
 *                  number of distinct named peers seen.  Which part is an
 *                  identity is known by its position (first of a record),
 *                  so the kernel's survey ids (4 bytes, top bit set) never
 *                  need telling apart from these.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "xsl.h"

#define CMD_SUBSCRIBE	1
#define CMD_UNSUBSCRIBE	2
#define SUB_HEADER	4
#define LOCAL_ID_BIT	0x80000000u

struct xsl_idmap {
	uint32_t local;
	unsigned char len;
	unsigned char id[XS_IDENTITY_MAX];
};

/* ---- subscriptions ---------------------------------------------------- */

int xsl_xsub_send(struct xsl_socket *s, const void *buf, size_t len, int flags)
{
	unsigned char kform[1 + XS_PREFIX_MAX];
	const unsigned char *p = buf;
	uint16_t cmd, filter;

	if (len < SUB_HEADER) {
		errno = EINVAL;
		return -1;
	}
	cmd = (uint16_t)(p[0] << 8 | p[1]);
	filter = (uint16_t)(p[2] << 8 | p[3]);
	if (cmd != CMD_SUBSCRIBE && cmd != CMD_UNSUBSCRIBE) {
		errno = EINVAL;
		return -1;
	}
	/* The kernel matches prefixes and nothing else. */
	if (filter != XS_FILTER_PREFIX) {
		errno = ENOTSUP;
		return -1;
	}
	if (len - SUB_HEADER > XS_PREFIX_MAX) {
		errno = EINVAL;
		return -1;
	}
	kform[0] = cmd == CMD_SUBSCRIBE;
	memcpy(kform + 1, p + SUB_HEADER, len - SUB_HEADER);
	/* libzmq 4.3 takes the same one-byte form */
	if (s->zs && xsl_remote_send(s, kform, 1 + len - SUB_HEADER,
				     flags & ~XS_SNDMORE))
		return -1;
	if (s->zs && !s->nlocal)
		return 0;
	if (send(s->fd, kform, 1 + len - SUB_HEADER,
		 xsl_call_flags(s, flags & ~XS_SNDMORE, true)) < 0)
		return xsl_fail(s, errno);
	return 0;
}

size_t xsl_xpub_notice(const unsigned char *in, size_t len,
		       unsigned char *out, size_t outlen)
{
	size_t body = len ? len - 1 : 0;

	if (outlen < SUB_HEADER + body)
		body = outlen - SUB_HEADER;
	out[0] = 0;
	out[1] = len && in[0] ? CMD_SUBSCRIBE : CMD_UNSUBSCRIBE;
	out[2] = 0;
	out[3] = XS_FILTER_PREFIX;
	memcpy(out + SUB_HEADER, in + 1, body);
	return SUB_HEADER + body;
}

/* ---- XRESPONDENT identities ------------------------------------------- */

static bool generated(const unsigned char *id, size_t len)
{
	return len == 5 && id[0] == 0;
}

int xsl_id_to_user(struct xsl_socket *s, const unsigned char *id, size_t len,
		   unsigned char out[4])
{
	struct xsl_idmap *m;
	uint32_t local;
	size_t i;

	if (generated(id, len)) {
		memcpy(out, id + 1, 4);
		return 0;
	}
	if (len == 0 || len > XS_IDENTITY_MAX) {
		errno = EPROTO;
		return -1;
	}
	for (i = 0; i < s->nids; i++) {
		m = &s->ids[i];
		if (m->len == len && !memcmp(m->id, id, len))
			goto found;
	}
	if (s->nids == s->capids) {
		size_t cap = s->capids ? 2 * s->capids : 4;

		m = realloc(s->ids, cap * sizeof(*m));
		if (!m) {
			errno = ENOMEM;
			return -1;
		}
		s->ids = m;
		s->capids = cap;
	}
	m = &s->ids[s->nids++];
	m->local = LOCAL_ID_BIT | (uint32_t)s->nids;
	m->len = (unsigned char)len;
	memcpy(m->id, id, len);
found:
	local = htonl(m->local);
	memcpy(out, &local, 4);
	return 0;
}

size_t xsl_id_to_kernel(const struct xsl_socket *s, const unsigned char in[4],
			unsigned char *out)
{
	uint32_t local;
	size_t i;

	memcpy(&local, in, 4);
	local = ntohl(local);
	if (local & LOCAL_ID_BIT) {
		for (i = 0; i < s->nids; i++) {
			if (s->ids[i].local == local) {
				memcpy(out, s->ids[i].id, s->ids[i].len);
				return s->ids[i].len;
			}
		}
	}
	out[0] = 0;
	memcpy(out + 1, in, 4);
	return 5;
}

void xsl_ids_free(struct xsl_socket *s)
{
	free(s->ids);
	s->ids = NULL;
	s->nids = s->capids = 0;
}
