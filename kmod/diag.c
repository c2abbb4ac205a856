// SPDX-License-Identifier: GPL-2.0
/*
 * AF_XS sock_diag: NETLINK_SOCK_DIAG dumps of the sockets of the caller's
 * network namespace (struct xs_diag_req / xs_diag_msg in <linux/xs.h>).
 *
 * The walk follows /proc/net/xs (proc.c): sockets are found by id in the
 * namespace's xarray under rcu_read_lock() and pinned with a reference;
 * no lock is held between two sockets, so one that closes meanwhile is
 * simply not listed.  cb->args[0] is the id to resume from when a socket
 * did not fit in the message buffer.
 *
 * Locking: the dump runs in process context under the netlink socket's
 * dump mutex, which is taken before and never inside xs_topo_lock.  Names
 * are copied into the message under xs_topo_lock (xs_name_each()); the
 * counters are read locklessly, as /proc/net/xs reads them, except the
 * statistics (XS_DIAG_STATS), read under the socket's route lock and,
 * for a publisher, its sub lock (xs_stats_fill()).
 */

#include <linux/module.h>
#include <linux/sock_diag.h>
#include <net/netlink.h>
#include <net/net_namespace.h>

#include "af_xs.h"

/* xs_name_each() callback, under xs_topo_lock: copy one name. */
static int xs_diag_put_name(void *arg, bool bound, const char *name, u8 len)
{
	return nla_put(arg, bound ? XS_DIAG_BOUND : XS_DIAG_CONNECTED, len,
		       name);
}

/* One socket as one message; -EMSGSIZE leaves @skb as it was. */
static int xs_diag_fill(struct sk_buff *skb, struct xs_sock *xs,
			struct user_namespace *user_ns, u32 portid, u32 seq)
{
	struct xs_diag_msg *rep;
	struct nlmsghdr *nlh;
	struct xs_stats st;

	/* before the message: it takes the socket's route lock */
	xs_stats_fill(xs, &st);
	nlh = nlmsg_put(skb, portid, seq, SOCK_DIAG_BY_FAMILY, sizeof(*rep),
			NLM_F_MULTI);
	if (!nlh)
		return -EMSGSIZE;
	rep = nlmsg_data(nlh);
	rep->xdiag_family = xs_family;
	rep->xdiag_protocol = xs->pat->proto;
	rep->xdiag_pad = 0;
	rep->xdiag_ino = sock_i_ino(&xs->sk);

	if (nla_put_string(skb, XS_DIAG_PATTERN, xs->pat->name) ||
	    nla_put_u32(skb, XS_DIAG_UID,
			from_kuid_munged(user_ns, sock_i_uid(&xs->sk))) ||
	    nla_put_u32(skb, XS_DIAG_RX_RECORDS, READ_ONCE(xs->rx_count)) ||
	    nla_put_u64_64bit(skb, XS_DIAG_RX_BYTES, READ_ONCE(xs->rx_bytes),
			      XS_DIAG_PAD) ||
	    nla_put_u64_64bit(skb, XS_DIAG_RX_MEM, READ_ONCE(xs->rx_mem),
			      XS_DIAG_PAD) ||
	    nla_put_u64_64bit(skb, XS_DIAG_DROPS, atomic64_read(&xs->drops),
			      XS_DIAG_PAD) ||
	    nla_put_u64_64bit(skb, XS_DIAG_MISSED, atomic64_read(&xs->missed),
			      XS_DIAG_PAD) ||
	    nla_put_u32(skb, XS_DIAG_PEERS, READ_ONCE(xs->npipes)) ||
	    nla_put(skb, XS_DIAG_STATS, sizeof(st), &st) ||
	    xs_name_each(xs, xs_diag_put_name, skb))
		goto cancel;
	nlmsg_end(skb, nlh);
	return 0;

cancel:
	nlmsg_cancel(skb, nlh);
	return -EMSGSIZE;
}

static int xs_diag_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct user_namespace *user_ns = sk_user_ns(NETLINK_CB(cb->skb).sk);
	struct xs_net *xn = xs_net(sock_net(skb->sk));
	const struct xs_diag_req *req = nlmsg_data(cb->nlh);
	unsigned long id = cb->args[0];
	struct xs_sock *xs;
	int err = 0;

	for (; (xs = xs_sock_next(xn, &id)); id++) {
		if ((!req->sdiag_protocol ||
		     req->sdiag_protocol == xs->pat->proto) &&
		    (!req->xdiag_ino ||
		     req->xdiag_ino == sock_i_ino(&xs->sk)))
			err = xs_diag_fill(skb, xs, user_ns,
					   NETLINK_CB(cb->skb).portid,
					   cb->nlh->nlmsg_seq);
		sock_put(&xs->sk);
		if (err)
			break;
	}
	cb->args[0] = id;
	/* a socket too big for an empty buffer would never be listed */
	if (err && !skb->len)
		return err;
	return skb->len;
}

static int xs_diag_handler_dump(struct sk_buff *skb, struct nlmsghdr *nlh)
{
	struct netlink_dump_control c = {
		.dump	= xs_diag_dump,
	};

	if (nlmsg_len(nlh) < sizeof(struct xs_diag_req))
		return -EINVAL;
	if (!(nlh->nlmsg_flags & NLM_F_DUMP))
		return -EOPNOTSUPP;
	return netlink_dump_start(sock_net(skb->sk)->diag_nlsk, skb, nlh, &c);
}

/* .family is the module parameter, set before registering. */
static struct sock_diag_handler xs_diag_handler = {
	.owner	= THIS_MODULE,
	.dump	= xs_diag_handler_dump,
};

int xs_diag_init(void)
{
	xs_diag_handler.family = xs_family;
	return sock_diag_register(&xs_diag_handler);
}

void xs_diag_exit(void)
{
	sock_diag_unregister(&xs_diag_handler);
}

/* sock_diag asks for its handler as net-pf-16-proto-4-type-<family>. */
MODULE_ALIAS_NET_PF_PROTO_TYPE(PF_NETLINK, NETLINK_SOCK_DIAG, AF_XS_DEFAULT);
