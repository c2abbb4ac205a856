// SPDX-License-Identifier: GPL-2.0
/*
 * AF_XS routing shared by several patterns: round-robin load balancing
 * with a reservation at the first part (PUSH, PAIR, and later REQ, XREQ),
 * and the delivery of a record to the destination that was reserved.
 */

#include "af_xs.h"

/* route lock held */
int xs_rr_attach(struct xs_sock *xs, struct xs_pipe_end *pe)
{
	lockdep_assert_held(&xs->route_lock);
	return 0;
}

static struct xs_pipe_end *xs_rr_next(struct xs_sock *xs,
				      struct xs_pipe_end *pe)
{
	if (list_is_last(&pe->node, &xs->pipes))
		return list_first_entry(&xs->pipes, struct xs_pipe_end, node);
	return list_next_entry(pe, node);
}

/* route lock held; @pe is still on xs->pipes */
void xs_rr_detach(struct xs_sock *xs, struct xs_pipe_end *pe)
{
	lockdep_assert_held(&xs->route_lock);
	if (xs->cursor == pe)
		xs->cursor = list_empty(&xs->pipes) ? NULL : xs_rr_next(xs, pe);
	if (xs->cursor == pe)
		xs->cursor = NULL;
}

/*
 * route lock held.  Reserve room on the next pipe, in turn, that has some.
 * With @tx NULL, only report whether one has room.
 */
int xs_rr_send_begin(struct xs_sock *xs, struct xs_tx *tx)
{
	struct xs_pipe_end *start, *pe;

	lockdep_assert_held(&xs->route_lock);
	if (list_empty(&xs->pipes))
		return -EAGAIN;
	start = xs->cursor ?: list_first_entry(&xs->pipes, struct xs_pipe_end,
					       node);
	pe = start;
	do {
		if (!tx) {
			if (xs_pipe_has_room(xs, pe))
				return 0;
		} else if (xs_pipe_reserve(xs, pe)) {
			refcount_inc(&pe->pipe->ref);
			tx->from = pe;
			xs->cursor = xs_rr_next(xs, pe);
			return 0;
		}
		pe = xs_rr_next(xs, pe);
	} while (pe != start);
	return -EAGAIN;
}

/* route lock held: deliver to the pipe reserved at the first part. */
void xs_reserved_send_end(struct xs_sock *xs, struct xs_tx *tx)
{
	struct xs_pipe_end *from = tx->from;
	struct xs_msg *m = tx->msg;

	lockdep_assert_held(&xs->route_lock);
	tx->from = NULL;
	tx->msg = NULL;
	xs_pipe_deliver(xs, from, tx->rec, m, NULL);
	xs_pipe_put(from->pipe);
}

/* route lock held: offer @rec to every peer; full ones miss it. */
void xs_deliver_all(struct xs_sock *xs, struct xs_record *rec,
		    struct xs_part *start)
{
	struct xs_pipe_end *pe;

	lockdep_assert_held(&xs->route_lock);
	list_for_each_entry(pe, &xs->pipes, node) {
		xs_pipe_deliver(xs, pe, rec, NULL, start);
		cond_resched();
	}
}

/* route lock held: receive-only patterns take any compatible peer. */
int xs_recv_only_attach(struct xs_sock *xs, struct xs_pipe_end *pe)
{
	lockdep_assert_held(&xs->route_lock);
	return 0;
}

/* route lock held */
void xs_no_detach(struct xs_sock *xs, struct xs_pipe_end *pe)
{
	lockdep_assert_held(&xs->route_lock);
}
