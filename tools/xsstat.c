// SPDX-License-Identifier: GPL-2.0
/*
 * xsstat: list the AF_XS sockets of this network namespace, as ss(8) does
 * for other families, from the module's sock_diag dump.  Owners are found
 * by scanning /proc/PID/fd for "socket:[INODE]" links (only processes we
 * may look into are seen).
 *
 * Usage: xsstat [-j] [--name NAME] [--pid PID] [--type PATTERN]
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <getopt.h>
#include <stdlib.h>
#include <strings.h>

#include "xs_diag.h"

struct owner {
	unsigned int	ino;
	int		pid;
	char		comm[64];
};

static struct owner *owners;
static size_t nowners, owners_cap;

static struct {
	bool		json;
	bool		stats;
	const char	*name;
	int		pid;		/* 0: any */
	int		proto;		/* 0: any */
	int		shown;
} opt;

static const char *const patterns[] = {
	[XSPROTO_PAIR] = "PAIR", [XSPROTO_PUB] = "PUB", [XSPROTO_SUB] = "SUB",
	[XSPROTO_REQ] = "REQ", [XSPROTO_REP] = "REP", [XSPROTO_XREQ] = "XREQ",
	[XSPROTO_XREP] = "XREP", [XSPROTO_PULL] = "PULL",
	[XSPROTO_PUSH] = "PUSH", [XSPROTO_XPUB] = "XPUB",
	[XSPROTO_XSUB] = "XSUB", [XSPROTO_SURVEYOR] = "SURVEYOR",
	[XSPROTO_RESPONDENT] = "RESPONDENT",
	[XSPROTO_XSURVEYOR] = "XSURVEYOR",
	[XSPROTO_XRESPONDENT] = "XRESPONDENT",
};

static void add_owner(unsigned int ino, int pid, const char *comm)
{
	if (nowners == owners_cap) {
		owners_cap = owners_cap ? 2 * owners_cap : 64;
		owners = realloc(owners, owners_cap * sizeof(*owners));
		if (!owners) {
			perror("xsstat: realloc");
			exit(1);
		}
	}
	owners[nowners].ino = ino;
	owners[nowners].pid = pid;
	snprintf(owners[nowners].comm, sizeof(owners[0].comm), "%s", comm);
	nowners++;
}

/* Every socket inode every process we can see holds open. */
static void scan_owners(void)
{
	DIR *proc = opendir("/proc"), *fds;
	char path[64], link[64], comm[64];
	struct dirent *p, *f;
	unsigned int ino;
	ssize_t n;
	FILE *cf;
	int pid;

	if (!proc)
		return;
	while ((p = readdir(proc))) {
		if (!isdigit((unsigned char)p->d_name[0]))
			continue;
		pid = atoi(p->d_name);
		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		comm[0] = '\0';
		cf = fopen(path, "r");
		if (cf) {
			if (fgets(comm, sizeof(comm), cf))
				comm[strcspn(comm, "\n")] = '\0';
			fclose(cf);
		}
		snprintf(path, sizeof(path), "/proc/%d/fd", pid);
		fds = opendir(path);
		if (!fds)
			continue;
		while ((f = readdir(fds))) {
			snprintf(path, sizeof(path), "/proc/%d/fd/%.20s", pid,
				 f->d_name);
			n = readlink(path, link, sizeof(link) - 1);
			if (n <= 0)
				continue;
			link[n] = '\0';
			if (sscanf(link, "socket:[%u]", &ino) == 1)
				add_owner(ino, pid, comm);
		}
		closedir(fds);
	}
	closedir(proc);
}

static bool owned_by(unsigned int ino, int pid)
{
	size_t i;

	for (i = 0; i < nowners; i++)
		if (owners[i].ino == ino && owners[i].pid == pid)
			return true;
	return false;
}

static bool has_name(const struct xs_diag_sock *s, const char *name)
{
	int i;

	for (i = 0; i < s->nnames; i++)
		if (!strcmp(s->names[i].str, name))
			return true;
	return false;
}

/* A name as JSON string contents: bytes outside ASCII as \u00XX. */
static void json_str(const char *s, unsigned int len)
{
	unsigned int i;
	unsigned char c;

	putchar('"');
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void json_names(const struct xs_diag_sock *s, bool bound)
{
	bool first = true;
	int i;

	for (i = 0; i < s->nnames; i++) {
		if (s->names[i].bound != bound)
			continue;
		if (!first)
			putchar(',');
		json_str(s->names[i].str, s->names[i].len);
		first = false;
	}
}

static const char *const reasons[XS_REASON_MAX] = {
	"full", "nopeer", "nomem", "unread", "stale", "refused", "noroute",
	"abandoned",
};

static void json_reasons(const char *key, const __u64 *by)
{
	int i;

	printf(",\"%s\":{", key);
	for (i = 0; i < XS_REASON_MAX; i++)
		printf("%s\"%s\":%llu", i ? "," : "", reasons[i],
		       (unsigned long long)by[i]);
	putchar('}');
}

/* XS_STATS as the "stats" object of a socket. */
static void json_stats(const struct xs_stats *st)
{
	printf(",\"stats\":{\"sent_records\":%llu,\"sent_bytes\":%llu,"
	       "\"recv_records\":%llu,\"recv_bytes\":%llu,"
	       "\"connected_peers\":%u,\"tx_queued\":%u,"
	       "\"tx_pending_mem\":%llu,\"subscribers\":%u,"
	       "\"prefixes\":%u,\"events_lost\":%llu",
	       (unsigned long long)st->sent_records,
	       (unsigned long long)st->sent_bytes,
	       (unsigned long long)st->recv_records,
	       (unsigned long long)st->recv_bytes, st->peers, st->tx_queued,
	       (unsigned long long)st->tx_pending_mem, st->subscribers,
	       st->prefixes, (unsigned long long)st->events_lost);
	json_reasons("drops_by", st->drops_by);
	json_reasons("missed_by", st->missed_by);
	putchar('}');
}

/* --stats: one more line under the socket's. */
static void text_stats(const struct xs_stats *st)
{
	int i;

	printf("    sent %llu/%llu B  received %llu/%llu B  connected %u"
	       "  queued-at-peers %u  waiting %llu B",
	       (unsigned long long)st->sent_records,
	       (unsigned long long)st->sent_bytes,
	       (unsigned long long)st->recv_records,
	       (unsigned long long)st->recv_bytes, st->peers, st->tx_queued,
	       (unsigned long long)st->tx_pending_mem);
	if (st->subscribers || st->prefixes)
		printf("  subscribers %u prefixes %u", st->subscribers,
		       st->prefixes);
	for (i = 0; i < XS_REASON_MAX; i++)
		if (st->drops_by[i])
			printf("  drop:%s %llu", reasons[i],
			       (unsigned long long)st->drops_by[i]);
	for (i = 0; i < XS_REASON_MAX; i++)
		if (st->missed_by[i])
			printf("  missed:%s %llu", reasons[i],
			       (unsigned long long)st->missed_by[i]);
	if (st->events_lost)
		printf("  events-lost %llu",
		       (unsigned long long)st->events_lost);
	putchar('\n');
}

static void show_json(const struct xs_diag_sock *s)
{
	bool first = true;
	size_t i;

	printf("%s\n  {\"ino\":%u,\"pattern\":", opt.shown ? "," : "", s->ino);
	json_str(s->pattern, strlen(s->pattern));
	printf(",\"uid\":%u,\"peers\":%d,\"rx_records\":%d,\"rx_bytes\":%lld,"
	       "\"rx_mem\":%lld,\"drops\":%lld,\"missed\":%lld,\"bound\":[",
	       s->uid, s->peers, s->rx_records, s->rx_bytes, s->rx_mem,
	       s->drops, s->missed);
	json_names(s, true);
	printf("],\"connected\":[");
	json_names(s, false);
	printf("]");
	if (s->has_stats)
		json_stats(&s->stats);
	printf(",\"processes\":[");
	for (i = 0; i < nowners; i++) {
		if (owners[i].ino != s->ino)
			continue;
		printf("%s{\"pid\":%d,\"command\":", first ? "" : ",",
		       owners[i].pid);
		json_str(owners[i].comm, strlen(owners[i].comm));
		putchar('}');
		first = false;
	}
	printf("]}");
}

/* A name as text: bytes outside printable ASCII as \ooo, as /proc does. */
static void text_name(const struct xs_diag_name *n)
{
	unsigned int i;
	unsigned char c;

	printf(" %c:", n->bound ? 'b' : 'c');
	for (i = 0; i < n->len; i++) {
		c = (unsigned char)n->str[i];
		if (c <= ' ' || c >= 0x7f || c == '\\')
			printf("\\%03o", c);
		else
			putchar(c);
	}
}

static void show_text(const struct xs_diag_sock *s)
{
	char procs[256] = "-";
	size_t i, used = 0;
	int k;

	for (i = 0; i < nowners && used < sizeof(procs); i++) {
		if (owners[i].ino != s->ino)
			continue;
		k = snprintf(procs + used, sizeof(procs) - used, "%s%s/%d",
			     used ? "," : "", owners[i].comm, owners[i].pid);
		if (k > 0)
			used += (size_t)k;
	}
	printf("%-10u %-11s %5d %8d %10lld %10lld %8lld %8lld %6u %-20s",
	       s->ino, s->pattern, s->peers, s->rx_records, s->rx_bytes,
	       s->rx_mem, s->drops, s->missed, s->uid, procs);
	for (k = 0; k < s->nnames; k++)
		text_name(&s->names[k]);
	if (s->extra_names)
		printf(" (+%d)", s->extra_names);
	putchar('\n');
	if (opt.stats && s->has_stats)
		text_stats(&s->stats);
}

static int show(const struct xs_diag_sock *s, void *arg)
{
	(void)arg;
	if (opt.name && !has_name(s, opt.name))
		return 0;
	if (opt.pid && !owned_by(s->ino, opt.pid))
		return 0;
	if (opt.json)
		show_json(s);
	else
		show_text(s);
	opt.shown++;
	return 0;
}

static int parse_type(const char *t)
{
	int i;

	for (i = 1; i <= XSPROTO_MAX; i++)
		if (patterns[i] && !strcasecmp(t, patterns[i]))
			return i;
	fprintf(stderr, "xsstat: unknown pattern %s\n", t);
	exit(2);
}

static void usage(int rc)
{
	fprintf(rc ? stderr : stdout,
		"usage: xsstat [-j] [-s] [--name NAME] [--pid PID] [--type PATTERN]\n"
		"  -j, --json     JSON output (with each socket's statistics)\n"
		"  -s, --stats    a line of statistics under each socket\n"
		"  --name NAME    only sockets bound or connected to NAME\n"
		"  --pid PID      only sockets PID holds open\n"
		"  --type PATTERN only PUSH, PULL, ... sockets\n");
	exit(rc);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "stats", no_argument, NULL, 's' },
		{ "name", required_argument, NULL, 'n' },
		{ "pid", required_argument, NULL, 'p' },
		{ "type", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, fd, err;

	while ((c = getopt_long(argc, argv, "jsn:p:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			opt.json = true;
			break;
		case 's':
			opt.stats = true;
			break;
		case 'n':
			opt.name = optarg;
			break;
		case 'p':
			opt.pid = atoi(optarg);
			if (opt.pid <= 0)
				usage(2);
			break;
		case 't':
			opt.proto = parse_type(optarg);
			break;
		case 'h':
			usage(0);
			break;
		default:
			usage(2);
		}
	}
	if (optind != argc)
		usage(2);

	scan_owners();
	fd = xs_diag_open();
	if (fd < 0) {
		perror("xsstat: NETLINK_SOCK_DIAG");
		return 1;
	}
	if (opt.json)
		printf("[");
	else
		printf("%-10s %-11s %5s %8s %10s %10s %8s %8s %6s %-20s %s\n",
		       "Inode", "Pattern", "Peers", "Records", "Bytes", "Mem",
		       "Drops", "Missed", "Uid", "Process", "Names");
	err = xs_diag_dump(fd, opt.proto, 0, 32768, show, NULL);
	close(fd);
	if (opt.json)
		printf("%s]\n", opt.shown ? "\n" : "");
	if (err < 0) {
		fprintf(stderr, "xsstat: sock_diag dump: %s%s\n", strerror(-err),
			err == -ENOENT ? " (is af_xs loaded?)" : "");
		return 1;
	}
	return 0;
}
