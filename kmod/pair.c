// SPDX-License-Identifier: GPL-2.0
/*
 * AF_XS PAIR: exactly one peer; sends block while it has no room.
 */

#include "af_xs.h"

/* route lock held: a second peer waits until the first is gone */
static int xs_pair_attach(struct xs_sock *xs, struct xs_pipe_end *pe)
{
	lockdep_assert_held(&xs->route_lock);
	return xs->npipes ? -EBUSY : 0;
}

const struct xs_pattern xs_pair_pattern = {
	.proto		= XSPROTO_PAIR,
	.name		= "PAIR",
	.peers		= BIT(XSPROTO_PAIR),
	.can_send	= true,
	.can_recv	= true,
	.ring_ok	= true,
	.attach		= xs_pair_attach,
	.detach		= xs_rr_detach,
	.send_begin	= xs_rr_send_begin,
	.send_end	= xs_reserved_send_end,
};
