// SPDX-License-Identifier: GPL-2.0
/*
 * AF_XS /proc/net/xs: one line per socket of the namespace.
 *
 * Format (docs/semantics.md): a header "# records N bytes N" with what the
 * sockets of this namespace hold in their receive queues (no other
 * namespace's traffic shows), a line of column names, then per socket
 * "inode pattern pipes rx_records rx_bytes rx_mem drops missed" followed by
 * its names, each " b:NAME" (bound) or " c:NAME" (connected) with every
 * byte outside printable ASCII, the space and the backslash written as a
 * three-digit octal escape "\ooo", so a name cannot pose as another field.
 *
 * The sockets are found in the namespace's xarray by id, so each chunk
 * of a long read resumes where the last one stopped instead of walking
 * the list from its head.  A socket being shown is held by a reference;
 * no lock is held across chunks.
 */

#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <net/net_namespace.h>

#include "af_xs.h"

/* The header's totals: every socket of the namespace, read locklessly. */
static void xs_seq_header(struct seq_file *seq, struct xs_net *xn)
{
	unsigned long idx, records = 0, bytes = 0;
	struct xs_sock *xs;

	rcu_read_lock();
	xa_for_each(&xn->socks, idx, xs) {
		records += READ_ONCE(xs->rx_count);
		bytes += READ_ONCE(xs->rx_bytes);
	}
	rcu_read_unlock();
	seq_printf(seq, "# records %lu bytes %lu\n", records, bytes);
	seq_puts(seq, "inode pattern pipes rx_records rx_bytes rx_mem drops missed names\n");
}

/*
 * The first socket of @xn with an id >= *@idx, referenced, or NULL (also
 * for the sock_diag dump, diag.c).
 */
struct xs_sock *xs_sock_next(struct xs_net *xn, unsigned long *idx)
{
	struct xs_sock *xs;

	rcu_read_lock();
	for (;;) {
		xs = xa_find(&xn->socks, idx, ULONG_MAX, XA_PRESENT);
		/* freed after a grace period (SOCK_RCU_FREE) */
		if (!xs || refcount_inc_not_zero(&xs->sk.sk_refcnt))
			break;
		++*idx;
	}
	rcu_read_unlock();
	return xs;
}

/* *pos 0 is the header, *pos n + 1 the socket of id n or the next one. */
static void *xs_seq_start(struct seq_file *seq, loff_t *pos)
{
	unsigned long idx;
	struct xs_sock *xs;

	if (!*pos)
		return SEQ_START_TOKEN;
	idx = *pos - 1;
	xs = xs_sock_next(xs_net(seq_file_net(seq)), &idx);
	if (xs)
		*pos = idx + 1;
	return xs;
}

static void *xs_seq_next(struct seq_file *seq, void *v, loff_t *pos)
{
	unsigned long idx = 0;
	struct xs_sock *xs;

	if (v != SEQ_START_TOKEN) {
		idx = xs_sk(v)->proc_id + 1;
		sock_put(v);
	}
	xs = xs_sock_next(xs_net(seq_file_net(seq)), &idx);
	*pos = xs ? idx + 1 : *pos + 1;
	return xs;
}

static void xs_seq_stop(struct seq_file *seq, void *v)
{
	if (v && v != SEQ_START_TOKEN)
		sock_put(v);
}

static int xs_seq_show(struct seq_file *seq, void *v)
{
	struct xs_sock *xs;

	if (v == SEQ_START_TOKEN) {
		xs_seq_header(seq, xs_net(seq_file_net(seq)));
		return 0;
	}
	xs = xs_sk(v);
	seq_printf(seq, "%lu %s %u %u %zu %zu %lld %lld", sock_i_ino(&xs->sk),
		   xs->pat->name, READ_ONCE(xs->npipes),
		   READ_ONCE(xs->rx_count), READ_ONCE(xs->rx_bytes),
		   READ_ONCE(xs->rx_mem), atomic64_read(&xs->drops),
		   atomic64_read(&xs->missed));
	xs_name_show(seq, xs);
	seq_putc(seq, '\n');
	return 0;
}

static const struct seq_operations xs_seq_ops = {
	.start	= xs_seq_start,
	.next	= xs_seq_next,
	.stop	= xs_seq_stop,
	.show	= xs_seq_show,
};

int xs_proc_init_net(struct net *net)
{
	if (!proc_create_net("xs", 0444, net->proc_net, &xs_seq_ops,
			     sizeof(struct seq_net_private)))
		return -ENOMEM;
	return 0;
}

void xs_proc_exit_net(struct net *net)
{
	remove_proc_entry("xs", net->proc_net);
}
