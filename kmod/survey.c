// SPDX-License-Identifier: GPL-2.0
/*
 * AF_XS surveys: SURVEYOR, RESPONDENT, XSURVEYOR, XRESPONDENT.
 *
 * A survey goes to every respondent; its envelope bottom is the survey id:
 * 4 bytes, big-endian, top bit set, from one counter for the whole module
 * (so a surveyor never takes answers meant for an earlier one).  No
 * identity looks like it: generated ones are 5 bytes starting with zero,
 * and XS_IDENTITY refuses 4-byte values with the top bit set.  RESPONDENT
 * answers like REP, with the survey's envelope in front; SURVEYOR takes
 * only answers carrying the current id, until XS_SURVEY_TIMEOUT after the
 * survey went out (ETIMEDOUT then).
 * XRESPONDENT routes like XREP, XSURVEYOR sends and receives raw records.
 */

#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/slab.h>

#include "af_xs.h"

#define XS_SURVEY_ID_LEN	4
#define XS_SURVEY_ID_BIT	0x80000000u

static atomic_t xs_survey_ids = ATOMIC_INIT(0);

struct xs_surveyor {
	u32			id;		/* current survey */
	u32			next_id;	/* the one being sent */
	ktime_t			deadline;	/* CLOCK_MONOTONIC, if timed */
	bool			active;
	bool			timed;
};

static bool xs_survey_bottom(struct xs_part *part)
{
	return part->len == XS_SURVEY_ID_LEN && (part->data[0] & 0x80);
}

static int xs_surveyor_init(struct xs_sock *xs)
{
	struct xs_surveyor *s = kzalloc(sizeof(*s), GFP_KERNEL_ACCOUNT);

	xs->priv = s;
	return s ? 0 : -ENOMEM;
}

static void xs_surveyor_release(struct xs_sock *xs)
{
	kfree(xs->priv);
}

/* route lock held: the new survey's id ends its envelope */
static int xs_surveyor_send_prepare(struct xs_sock *xs, struct xs_tx *tx)
{
	struct xs_surveyor *s = xs->priv;
	u8 id[XS_SURVEY_ID_LEN];

	lockdep_assert_held(&xs->route_lock);
	s->next_id = atomic_inc_return(&xs_survey_ids) | XS_SURVEY_ID_BIT;
	put_unaligned_be32(s->next_id, id);
	return xs_record_push(tx->rec, id, sizeof(id));
}

/* route lock held: a new survey, to every respondent with room */
static void xs_surveyor_send_end(struct xs_sock *xs, struct xs_tx *tx)
{
	struct xs_surveyor *s = xs->priv;
	int timeout = READ_ONCE(xs->survey_timeout);

	lockdep_assert_held(&xs->route_lock);
	s->id = s->next_id;
	s->active = true;
	s->timed = timeout >= 0;
	s->deadline = ktime_add_ms(ktime_get(), max(timeout, 0));
	xs_deliver_all(xs, tx->rec, NULL);
}

/* No lock: answers are only read during a survey, until its deadline. */
static int xs_surveyor_recv_begin(struct xs_sock *xs, long *timeo)
{
	struct xs_surveyor *s = xs->priv;
	s64 left_ns;
	u64 left;
	int err = 0;

	mutex_lock(&xs->route_lock);
	if (!s->active) {
		err = -EBADFD;
	} else if (s->timed) {
		/*
		 * The clock user space measures with, not the tick count; in
		 * 64 bits all the way (INT_MAX ms does not fit a u32 of us).
		 */
		left_ns = ktime_to_ns(ktime_sub(s->deadline, ktime_get()));
		if (left_ns <= 0) {
			err = -ETIMEDOUT;
		} else {
			/* rounded up: a wait that ends finds the deadline past */
			left = nsecs_to_jiffies64(left_ns + TICK_NSEC - 1);
			if ((u64)*timeo > left)
				*timeo = left;
		}
	}
	mutex_unlock(&xs->route_lock);
	return err;
}

static bool xs_surveyor_recv_start(struct xs_sock *xs, struct xs_msg *m)
{
	struct xs_part *first = m->next;

	if (!xs_survey_bottom(first) ||
	    xs_rec_is_last(m->rec, first))
		return false;
	m->next = xs_rec_next(m->rec, first);
	return true;
}

/* An answer to an older survey (of any surveyor) is discarded. */
static bool xs_surveyor_recv_accept(struct xs_sock *xs, struct xs_msg *m)
{
	struct xs_surveyor *s = xs->priv;
	/* recv_start left the id just before where reading starts */
	struct xs_part *id = list_prev_entry(m->next, node);

	/* ... which, in a reply sharing the survey's envelope, ends that */
	if (m->rec->env && &id->node == &m->rec->parts)
		id = m->rec->env_last;

	lockdep_assert_held(&xs->route_lock);
	return s->active && get_unaligned_be32(id->data) == s->id;
}

static bool xs_respondent_recv_start(struct xs_sock *xs, struct xs_msg *m)
{
	return xs_skip_envelope(m, xs_survey_bottom);
}

/* route lock held */
static void xs_xsurveyor_send_end(struct xs_sock *xs, struct xs_tx *tx)
{
	xs_deliver_all(xs, tx->rec, NULL);
}

const struct xs_pattern xs_surveyor_pattern = {
	.proto		= XSPROTO_SURVEYOR,
	.name		= "SURVEYOR",
	.peers		= BIT(XSPROTO_RESPONDENT) | BIT(XSPROTO_XRESPONDENT),
	.can_send	= true,
	.can_recv	= true,
	.attach		= xs_recv_only_attach,
	.detach		= xs_no_detach,
	.send_end	= xs_surveyor_send_end,
	.recv_start	= xs_surveyor_recv_start,
	.send_prepare	= xs_surveyor_send_prepare,
	.recv_begin	= xs_surveyor_recv_begin,
	.recv_accept	= xs_surveyor_recv_accept,
	.init		= xs_surveyor_init,
	.release	= xs_surveyor_release,
};

const struct xs_pattern xs_respondent_pattern = {
	.proto		= XSPROTO_RESPONDENT,
	.name		= "RESPONDENT",
	.peers		= BIT(XSPROTO_SURVEYOR) | BIT(XSPROTO_XSURVEYOR),
	.can_send	= true,
	.can_recv	= true,
	.attach		= xs_recv_only_attach,
	.detach		= xs_no_detach,
	.send_begin	= xs_replier_send_begin,
	.send_prepare	= xs_replier_send_prepare,
	.send_end	= xs_replier_send_end,
	.recv_start	= xs_respondent_recv_start,
	.recv_begin	= xs_replier_recv_begin,
	.recv_take	= xs_replier_recv_take,
	.recv_done	= xs_replier_recv_done,
	.init		= xs_replier_init,
	.release	= xs_replier_release,
};

const struct xs_pattern xs_xsurveyor_pattern = {
	.proto		= XSPROTO_XSURVEYOR,
	.name		= "XSURVEYOR",
	.peers		= BIT(XSPROTO_RESPONDENT) | BIT(XSPROTO_XRESPONDENT),
	.can_send	= true,
	.can_recv	= true,
	.attach		= xs_recv_only_attach,
	.detach		= xs_no_detach,
	.send_end	= xs_xsurveyor_send_end,
};

const struct xs_pattern xs_xrespondent_pattern = {
	.proto		= XSPROTO_XRESPONDENT,
	.name		= "XRESPONDENT",
	.peers		= BIT(XSPROTO_SURVEYOR) | BIT(XSPROTO_XSURVEYOR),
	.can_send	= true,
	.can_recv	= true,
	.prefix_identity = true,
	.attach		= xs_recv_only_attach,
	.detach		= xs_no_detach,
	.send_end	= xs_route_by_identity,
};
