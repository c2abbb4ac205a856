// SPDX-License-Identifier: GPL-2.0
/*
 * AF_XS pipeline: PUSH load-balances records round-robin over the PULL
 * peers that have room (blocking when none has), PULL fair-queues what its
 * PUSH peers send.
 */

#include "af_xs.h"

const struct xs_pattern xs_push_pattern = {
	.proto		= XSPROTO_PUSH,
	.name		= "PUSH",
	.peers		= BIT(XSPROTO_PULL),
	.can_send	= true,
	.attach		= xs_rr_attach,
	.detach		= xs_rr_detach,
	.send_begin	= xs_rr_send_begin,
	.send_end	= xs_reserved_send_end,
};

const struct xs_pattern xs_pull_pattern = {
	.proto		= XSPROTO_PULL,
	.name		= "PULL",
	.peers		= BIT(XSPROTO_PUSH),
	.can_recv	= true,
	.ring_ok	= true,
	.attach		= xs_recv_only_attach,
	.detach		= xs_no_detach,
};
