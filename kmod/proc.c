// SPDX-License-Identifier: GPL-2.0
/*
 * AF_XS /proc/net/xs: one line per socket of the namespace.
 */

#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <net/net_namespace.h>

#include "af_xs.h"

/* Holds xs_topo_lock from start to stop: the socket list is stable. */
static void *xs_seq_start(struct seq_file *seq, loff_t *pos)
{
	mutex_lock(&xs_topo_lock);
	return seq_list_start_head(&xs_net(seq_file_net(seq))->socks, *pos);
}

static void *xs_seq_next(struct seq_file *seq, void *v, loff_t *pos)
{
	return seq_list_next(v, &xs_net(seq_file_net(seq))->socks, pos);
}

static void xs_seq_stop(struct seq_file *seq, void *v)
{
	mutex_unlock(&xs_topo_lock);
}

static int xs_seq_show(struct seq_file *seq, void *v)
{
	struct xs_sock *xs;

	if (v == &xs_net(seq_file_net(seq))->socks) {
		seq_printf(seq, "# records %lld bytes %lld\n",
			   atomic64_read(&xs_record_count),
			   atomic64_read(&xs_record_bytes));
		seq_puts(seq, "inode pattern pipes rx_records rx_bytes drops missed names\n");
		return 0;
	}
	xs = list_entry(v, struct xs_sock, net_node);
	seq_printf(seq, "%lu %s %u %u %zu %lld %lld", sock_i_ino(&xs->sk),
		   xs->pat->name, xs->npipes, READ_ONCE(xs->rx_count),
		   READ_ONCE(xs->rx_bytes), atomic64_read(&xs->drops),
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
