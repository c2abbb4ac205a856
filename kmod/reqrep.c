// SPDX-License-Identifier: GPL-2.0
/*
 * AF_XS request/reply: REQ, REP, XREQ, XREP, and the envelope machinery the
 * survey patterns share (survey.c).
 *
 * The envelope is a record's leading parts, ending with a "bottom" part: an
 * empty part for requests, a survey id for surveys.  REQ adds an empty
 * bottom to each request; XREP puts the sending peer's identity in front of
 * each record it receives and routes what it sends by that first part; so
 * a request crossing XREP|XREQ devices collects one identity per hop, and
 * REP (or RESPONDENT) keeps the whole envelope of the request it read and
 * puts it back in front of its reply, which the devices then route back.
 *
 * State (expecting a reply, the request being answered) lives in xs->priv
 * and is protected by the route lock; the receive hooks take it.
 */

#include <linux/slab.h>

#include "af_xs.h"

/*
 * Where the last envelope part of @m's record is, looking from where its
 * reader starts; NULL if malformed.
 */
static struct xs_part *xs_envelope_bottom(struct xs_msg *m,
					  bool (*is_bottom)(struct xs_part *))
{
	struct xs_part *part;

	for (part = m->next;; part = xs_rec_next(m->rec, part)) {
		if (is_bottom(part))
			return part;
		if (xs_rec_is_last(m->rec, part))
			return NULL;
	}
}

/* Start reading after the envelope; a record with no body is dropped. */
bool xs_skip_envelope(struct xs_msg *m, bool (*is_bottom)(struct xs_part *))
{
	struct xs_part *bottom = xs_envelope_bottom(m, is_bottom);

	if (!bottom || xs_rec_is_last(m->rec, bottom))
		return false;
	m->next = xs_rec_next(m->rec, bottom);
	return true;
}

static bool xs_empty_part(struct xs_part *part)
{
	return !part->len;
}

/* Put a zero-length or given part in front of @rec (not yet shared). */
int xs_record_push(struct xs_record *rec, const void *data, size_t len)
{
	struct xs_part *part = xs_part_alloc(data, len);

	if (!part)
		return -ENOMEM;
	xs_record_append(rec, part);
	/* appended for the accounting; moved to the front */
	list_move(&part->node, &rec->parts);
	return 0;
}

/* ---- replying side: REP and RESPONDENT ---------------------------------- */

struct xs_replier {
	struct xs_msg		*req;		/* request being answered */
	u32			epoch;		/* of the requester's pipe end */
	bool			must_reply;	/* its last part was read */
};

int xs_replier_init(struct xs_sock *xs)
{
	struct xs_replier *r = kzalloc(sizeof(*r), GFP_KERNEL_ACCOUNT);

	xs->priv = r;
	return r ? 0 : -ENOMEM;
}

void xs_replier_release(struct xs_sock *xs)
{
	struct xs_replier *r = xs->priv;

	if (r->req)
		xs_msg_release(r->req);
	kfree(r);
}

/* No lock: receiving while a reply is owed is a state error. */
int xs_replier_recv_begin(struct xs_sock *xs, long *timeo)
{
	struct xs_replier *r = xs->priv;
	int err;

	mutex_lock(&xs->route_lock);
	err = r->must_reply ? -EBADFD : 0;
	mutex_unlock(&xs->route_lock);
	return err;
}

/* No lock: keep the request's envelope and way back. */
int xs_replier_recv_take(struct xs_sock *xs, struct xs_msg *m)
{
	struct xs_replier *r = xs->priv;
	struct xs_msg *keep = xs_msg_alloc();
	struct xs_msg *old;

	if (!keep)
		return -ENOMEM;
	*keep = *m;
	keep->head = NULL;
	keep->reader = NULL;
	refcount_inc(&m->rec->ref);
	refcount_inc(&m->pipe->ref);
	mutex_lock(&xs->route_lock);
	old = r->req;
	r->req = keep;
	/* a reply must not reach whoever attaches to that pipe later */
	r->epoch = m->epoch;
	mutex_unlock(&xs->route_lock);
	if (old)
		xs_msg_release(old);
	return 0;
}

void xs_replier_recv_done(struct xs_sock *xs, struct xs_msg *m)
{
	struct xs_replier *r = xs->priv;

	mutex_lock(&xs->route_lock);
	r->must_reply = true;
	mutex_unlock(&xs->route_lock);
	xs_wake_writer(xs);	/* POLLOUT: a reply may go now */
}

/* route lock held: a reply is only accepted when one is owed. */
int xs_replier_send_begin(struct xs_sock *xs, struct xs_tx *tx)
{
	struct xs_replier *r = xs->priv;

	lockdep_assert_held(&xs->route_lock);
	if (r->must_reply)
		return 0;
	return tx ? -EBADFD : -EAGAIN;
}

/*
 * route lock held: the reply starts with the request's envelope, shared
 * with the request's record (no copy, whatever its size).  Requests come
 * from REQ, XREQ, SURVEYOR or XSURVEYOR, whose records have no envelope of
 * another record, and the envelope ends before where the request was read.
 */
int xs_replier_send_prepare(struct xs_sock *xs, struct xs_tx *tx)
{
	struct xs_replier *r = xs->priv;
	struct xs_msg *req = r->req;

	lockdep_assert_held(&xs->route_lock);
	if (!req || req->rec->env || req->next == xs_rec_first(req->rec))
		return 0;
	xs_record_set_env(tx->rec, req->rec,
			  list_prev_entry(req->next, node));
	return 0;
}

/* route lock held: the reply goes back the way the request came. */
void xs_replier_send_end(struct xs_sock *xs, struct xs_tx *tx)
{
	struct xs_replier *r = xs->priv;
	struct xs_msg *req = r->req;
	struct xs_pipe_end *back;

	lockdep_assert_held(&xs->route_lock);
	r->req = NULL;
	r->must_reply = false;
	if (!req)
		return;
	/*
	 * Only while the end the request came to is still ours does our
	 * route lock keep the requester's end (and socket) stable: after an
	 * XS_UNBIND it may belong to whoever bound the name since.
	 */
	back = xs_other_end(req->to);
	if (READ_ONCE(req->to->xs) != xs || !back->xs ||
	    READ_ONCE(back->epoch) != r->epoch) {
		xs_drop(xs, NULL, XS_REASON_STALE);
		goto out;
	}
	xs_pipe_deliver(xs, req->to, tx->rec, NULL, NULL);
out:
	xs_msg_release(req);
}

static bool xs_rep_recv_start(struct xs_sock *xs, struct xs_msg *m)
{
	return xs_skip_envelope(m, xs_empty_part);
}

/* ---- REQ ------------------------------------------------------------------ */

struct xs_req {
	struct xs_pipe		*last;		/* where the request went (ref) */
	struct xs_msg		*answer;	/* its reply, once taken; compared only */
	bool			expecting;
};

static int xs_req_init(struct xs_sock *xs)
{
	struct xs_req *q = kzalloc(sizeof(*q), GFP_KERNEL_ACCOUNT);

	xs->priv = q;
	return q ? 0 : -ENOMEM;
}

static void xs_req_release(struct xs_sock *xs)
{
	struct xs_req *q = xs->priv;

	if (q->last)
		xs_pipe_put(q->last);
	kfree(q);
}

/* route lock held: one request at a time */
static int xs_req_send_begin(struct xs_sock *xs, struct xs_tx *tx)
{
	struct xs_req *q = xs->priv;

	if (q->expecting)
		return tx ? -EBADFD : -EAGAIN;
	return xs_rr_send_begin(xs, tx);
}

/* route lock held: the empty bottom that ends a request's envelope */
static int xs_req_send_prepare(struct xs_sock *xs, struct xs_tx *tx)
{
	lockdep_assert_held(&xs->route_lock);
	return xs_record_push(tx->rec, NULL, 0);
}

/* route lock held */
static void xs_req_send_end(struct xs_sock *xs, struct xs_tx *tx)
{
	struct xs_req *q = xs->priv;
	struct xs_pipe *p = tx->from->pipe;

	if (q->last)
		xs_pipe_put(q->last);
	refcount_inc(&p->ref);
	q->last = p;
	q->expecting = true;
	q->answer = NULL;
	/*
	 * Whatever is queued answers an older request.  A reply a thread is
	 * reading stays for it to finish, but answers nothing any more.
	 */
	xs_rx_purge(xs, NULL, false);
	xs_reserved_send_end(xs, tx);
}

static int xs_req_recv_begin(struct xs_sock *xs, long *timeo)
{
	struct xs_req *q = xs->priv;
	int err;

	mutex_lock(&xs->route_lock);
	err = q->expecting ? 0 : -EBADFD;
	mutex_unlock(&xs->route_lock);
	return err;
}

/* The reply must start with the empty bottom REQ added. */
static bool xs_req_recv_start(struct xs_sock *xs, struct xs_msg *m)
{
	struct xs_part *first = m->next;

	if (first->len || xs_rec_is_last(m->rec, first))
		return false;
	m->next = xs_rec_next(m->rec, first);
	return true;
}

/* Only a reply from where the last request went is taken; others: stale. */
static bool xs_req_recv_accept(struct xs_sock *xs, struct xs_msg *m)
{
	struct xs_req *q = xs->priv;

	lockdep_assert_held(&xs->route_lock);
	return q->expecting && m->pipe == q->last;
}

/* No lock: the reply now being read answers the last request. */
static int xs_req_recv_take(struct xs_sock *xs, struct xs_msg *m)
{
	struct xs_req *q = xs->priv;

	mutex_lock(&xs->route_lock);
	q->answer = m;
	mutex_unlock(&xs->route_lock);
	return 0;
}

static void xs_req_recv_done(struct xs_sock *xs, struct xs_msg *m)
{
	struct xs_req *q = xs->priv;

	mutex_lock(&xs->route_lock);
	if (q->answer == m) {
		q->expecting = false;
		q->answer = NULL;
	}
	mutex_unlock(&xs->route_lock);
	xs_wake_writer(xs);	/* POLLOUT: the next request may go now */
}

/* ---- XREP: route by identity ---------------------------------------------- */

/* route lock held: the first part names the peer; unknown or full: dropped */
void xs_route_by_identity(struct xs_sock *xs, struct xs_tx *tx)
{
	struct xs_record *rec = tx->rec;
	struct xs_part *id = list_first_entry(&rec->parts, struct xs_part,
					      node);
	struct xs_pipe_end *pe;

	lockdep_assert_held(&xs->route_lock);
	if (rec->nparts < 2)
		goto drop;
	list_for_each_entry(pe, &xs->pipes, node) {
		/* a peer that left is not reachable, nor its identity reused */
		if (!xs_other_end(pe)->xs)
			continue;
		if (pe->id_len == id->len && !memcmp(pe->id, id->data, id->len)) {
			xs_pipe_deliver(xs, pe, rec, NULL,
					list_next_entry(id, node));
			return;
		}
		cond_resched();
	}
drop:
	xs_drop(xs, NULL, XS_REASON_NOROUTE);
}

const struct xs_pattern xs_req_pattern = {
	.proto		= XSPROTO_REQ,
	.name		= "REQ",
	.peers		= BIT(XSPROTO_REP) | BIT(XSPROTO_XREP),
	.can_send	= true,
	.can_recv	= true,
	.attach		= xs_rr_attach,
	.detach		= xs_rr_detach,
	.send_begin	= xs_req_send_begin,
	.send_prepare	= xs_req_send_prepare,
	.send_end	= xs_req_send_end,
	.recv_start	= xs_req_recv_start,
	.recv_begin	= xs_req_recv_begin,
	.recv_accept	= xs_req_recv_accept,
	.recv_take	= xs_req_recv_take,
	.recv_done	= xs_req_recv_done,
	.init		= xs_req_init,
	.release	= xs_req_release,
};

const struct xs_pattern xs_rep_pattern = {
	.proto		= XSPROTO_REP,
	.name		= "REP",
	.peers		= BIT(XSPROTO_REQ) | BIT(XSPROTO_XREQ),
	.can_send	= true,
	.can_recv	= true,
	.attach		= xs_recv_only_attach,
	.detach		= xs_no_detach,
	.send_begin	= xs_replier_send_begin,
	.send_prepare	= xs_replier_send_prepare,
	.send_end	= xs_replier_send_end,
	.recv_start	= xs_rep_recv_start,
	.recv_begin	= xs_replier_recv_begin,
	.recv_take	= xs_replier_recv_take,
	.recv_done	= xs_replier_recv_done,
	.init		= xs_replier_init,
	.release	= xs_replier_release,
};

const struct xs_pattern xs_xreq_pattern = {
	.proto		= XSPROTO_XREQ,
	.name		= "XREQ",
	.peers		= BIT(XSPROTO_REP) | BIT(XSPROTO_XREP),
	.can_send	= true,
	.can_recv	= true,
	.attach		= xs_rr_attach,
	.detach		= xs_rr_detach,
	.send_begin	= xs_rr_send_begin,
	.send_end	= xs_reserved_send_end,
};

const struct xs_pattern xs_xrep_pattern = {
	.proto		= XSPROTO_XREP,
	.name		= "XREP",
	.peers		= BIT(XSPROTO_REQ) | BIT(XSPROTO_XREQ),
	.can_send	= true,
	.can_recv	= true,
	.prefix_identity = true,
	.attach		= xs_recv_only_attach,
	.detach		= xs_no_detach,
	.send_end	= xs_route_by_identity,
};
