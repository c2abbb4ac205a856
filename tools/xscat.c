// SPDX-License-Identifier: GPL-2.0
/*
 * xscat: bind or connect one libxs socket of any pattern from the shell,
 * send records given on the command line or read from stdin, and print
 * the records that arrive. Run xscat --help for the options.
 *
 * Records and parts: a record is one line. Its parts are separated by the
 * separator character (a TAB by default, --separator changes it); a line
 * without the separator is a one-part record. Each --data argument is one
 * record in the same format. Records received are printed one per line:
 * in raw format the parts joined by the separator, in quoted format each
 * part as a double-quoted C string, the parts separated by one space.
 */
#include <getopt.h>
#include <stdbool.h>
#include <time.h>
#include <xs.h>
#include "xs_perf.h"

static const char *prog = "xscat";

static const struct {
	const char *name;
	int type;
} patterns[] = {
	{ "pair", XS_PAIR },	   { "pub", XS_PUB },
	{ "sub", XS_SUB },	   { "req", XS_REQ },
	{ "rep", XS_REP },	   { "push", XS_PUSH },
	{ "pull", XS_PULL },	   { "surveyor", XS_SURVEYOR },
	{ "respondent", XS_RESPONDENT },
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: xscat --pattern P (--bind|--connect) ENDPOINT [options]\n"
"\n"
"  -p, --pattern P     pair, pub, sub, req, rep, push, pull, surveyor,\n"
"                      respondent\n"
"  -b, --bind EP       bind to EP (ipc://NAME, tcp://HOST:PORT)\n"
"  -c, --connect EP    connect to EP (either may be repeated)\n"
"  -s, --subscribe P   sub: subscribe to prefix P (repeatable; without\n"
"                      any, sub subscribes to everything)\n"
"  -d, --data REC      a record to send (repeatable); without --data,\n"
"                      senders send the lines of stdin\n"
"  -n, --count N       stop after receiving N records (0: no limit)\n"
"  -f, --format F      how received records are printed: raw (default)\n"
"                      or quoted\n"
"  -S, --separator C   the part separator of records sent and printed\n"
"                      (one character, default TAB)\n"
"  -t, --timeout MS    give up waiting for a record after MS ms\n"
"  -w, --delay MS      wait MS ms before sending (lets subscribers join)\n"
"  -h, --help          this text\n"
"\n"
"A record is a line; the separator splits it into parts. What each\n"
"pattern does:\n"
"  push, pub           send the records\n"
"  pull, sub           print the records that arrive\n"
"  pair                send the records given with --data, then print\n"
"                      arrivals if --count is given; without --data, print\n"
"  req, surveyor       send each record, print the reply (surveyor: every\n"
"                      reply until the survey times out)\n"
"  rep, respondent     print each request and answer it with the --data\n"
"                      record (or echo the request when there is none)\n"
"Exit status: 0, or 1 on an error or if fewer than --count records came.\n");
}

/* Send one record: LINE split at SEP into parts. */
static int send_record(void *s, const char *line, char sep)
{
	for (;;) {
		const char *end = strchr(line, sep);
		size_t len = end ? (size_t)(end - line) : strlen(line);

		if (xs_send(s, line, len, end ? XS_SNDMORE : 0) < 0)
			return -1;
		if (!end)
			return 0;
		line = end + 1;
	}
}

static void print_part(const unsigned char *p, size_t len, bool quoted)
{
	size_t i;

	if (!quoted) {
		fwrite(p, 1, len, stdout);
		return;
	}
	putchar('"');
	for (i = 0; i < len; i++) {
		switch (p[i]) {
		case '"': fputs("\\\"", stdout); break;
		case '\\': fputs("\\\\", stdout); break;
		case '\n': fputs("\\n", stdout); break;
		case '\t': fputs("\\t", stdout); break;
		case '\r': fputs("\\r", stdout); break;
		default:
			if (p[i] < 0x20 || p[i] >= 0x7f)
				printf("\\x%02x", p[i]);
			else
				putchar(p[i]);
		}
	}
	putchar('"');
}

/*
 * Receive one whole record and print it. Returns 1 when printed, 0 on a
 * timeout before its first part, -1 on an error. The record is also kept
 * in *keep (parts joined by SEP) when keep is not NULL, for echoing.
 */
static int recv_record(void *s, char sep, bool quoted, char **keep)
{
	size_t klen = 0;
	int more = 1, first = 1;

	if (keep) {
		free(*keep);
		*keep = NULL;
	}
	while (more) {
		xs_msg_t msg;
		size_t morelen = sizeof(more);

		xs_msg_init(&msg);
		if (xs_recvmsg(s, &msg, 0) < 0) {
			xs_msg_close(&msg);
			if (first && xs_errno() == EAGAIN)
				return 0;
			return -1;
		}
		if (!first)
			putchar(quoted ? ' ' : sep);
		print_part(xs_msg_data(&msg), xs_msg_size(&msg), quoted);
		if (keep) {
			char *k = realloc(*keep, klen + xs_msg_size(&msg) + 2);

			if (!k)
				return -1;
			if (!first)
				k[klen++] = sep;
			memcpy(k + klen, xs_msg_data(&msg), xs_msg_size(&msg));
			klen += xs_msg_size(&msg);
			k[klen] = '\0';
			*keep = k;
		}
		xs_msg_close(&msg);
		if (xs_getsockopt(s, XS_RCVMORE, &more, &morelen) < 0)
			return -1;
		first = 0;
	}
	putchar('\n');
	fflush(stdout);
	return 1;
}

/* The next record to send: a --data argument, or a line of stdin. */
static char *next_record(char **data, int ndata, int *next, char **line,
			 size_t *cap)
{
	ssize_t n;

	if (ndata)
		return *next < ndata ? data[(*next)++] : NULL;
	n = getline(line, cap, stdin);
	if (n < 0)
		return NULL;
	if (n > 0 && (*line)[n - 1] == '\n')
		(*line)[n - 1] = '\0';
	return *line;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pattern", required_argument, NULL, 'p' },
		{ "bind", required_argument, NULL, 'b' },
		{ "connect", required_argument, NULL, 'c' },
		{ "subscribe", required_argument, NULL, 's' },
		{ "data", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'n' },
		{ "format", required_argument, NULL, 'f' },
		{ "separator", required_argument, NULL, 'S' },
		{ "timeout", required_argument, NULL, 't' },
		{ "delay", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char **data = calloc((size_t)argc, sizeof(char *));
	char **subs = calloc((size_t)argc, sizeof(char *));
	char **eps = calloc((size_t)argc, sizeof(char *));
	bool *bind = calloc((size_t)argc, sizeof(bool));
	int ndata = 0, nsubs = 0, neps = 0, type = -1, c, i, next = 0;
	unsigned long count = 0, got = 0, delay = 0;
	long timeout = -1;
	bool quoted = false, sending, receiving, ok = true;
	char sep = '\t', *line = NULL, *rec, *keep = NULL;
	size_t cap = 0;
	void *ctx, *s;

	if (!data || !subs || !eps || !bind) {
		perror(prog);
		return 1;
	}
	while ((c = getopt_long(argc, argv, "p:b:c:s:d:n:f:S:t:w:h", opts,
				NULL)) != -1) {
		switch (c) {
		case 'p':
			for (i = 0; i < (int)(sizeof(patterns) / sizeof(patterns[0])); i++)
				if (!strcmp(optarg, patterns[i].name))
					type = patterns[i].type;
			if (type < 0) {
				fprintf(stderr, "%s: unknown pattern '%s'\n", prog, optarg);
				return 1;
			}
			break;
		case 'b':
		case 'c':
			bind[neps] = c == 'b';
			eps[neps++] = optarg;
			break;
		case 's': subs[nsubs++] = optarg; break;
		case 'd': data[ndata++] = optarg; break;
		case 'n': count = perf_number(prog, "count", optarg, 1UL << 40); break;
		case 't': timeout = (long)perf_number(prog, "timeout", optarg, 1UL << 30); break;
		case 'w': delay = perf_number(prog, "delay", optarg, 1UL << 30); break;
		case 'f':
			if (!strcmp(optarg, "quoted"))
				quoted = true;
			else if (strcmp(optarg, "raw")) {
				fprintf(stderr, "%s: unknown format '%s'\n", prog, optarg);
				return 1;
			}
			break;
		case 'S':
			if (strlen(optarg) != 1) {
				fprintf(stderr, "%s: the separator is one character\n", prog);
				return 1;
			}
			sep = optarg[0];
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc || type < 0 || neps == 0) {
		usage(stderr);
		return 1;
	}

	switch (type) {
	case XS_PUSH: case XS_PUB:
		sending = true; receiving = false; break;
	case XS_PULL: case XS_SUB: case XS_REP: case XS_RESPONDENT:
		sending = false; receiving = true; break;
	case XS_PAIR:
		sending = ndata > 0; receiving = !sending || count > 0; break;
	default: /* req, surveyor: both, in lock step */
		sending = receiving = true; break;
	}

	ctx = xs_init();
	if (!ctx)
		perf_fail(prog, "xs_init");
	s = xs_socket(ctx, type);
	if (!s)
		perf_fail(prog, "xs_socket");
	if (timeout >= 0) {
		int ms = (int)timeout;

		if (xs_setsockopt(s, XS_RCVTIMEO, &ms, sizeof(ms)) < 0)
			perf_fail(prog, "XS_RCVTIMEO");
		if (type == XS_SURVEYOR &&
		    xs_setsockopt(s, XS_SURVEY_TIMEOUT, &ms, sizeof(ms)) < 0)
			perf_fail(prog, "XS_SURVEY_TIMEOUT");
	}
	if (type == XS_SUB && nsubs == 0 &&
	    xs_setsockopt(s, XS_SUBSCRIBE, "", 0) < 0)
		perf_fail(prog, "XS_SUBSCRIBE");
	for (i = 0; i < nsubs; i++)
		if (xs_setsockopt(s, XS_SUBSCRIBE, subs[i], strlen(subs[i])) < 0)
			perf_fail(prog, "XS_SUBSCRIBE");
	for (i = 0; i < neps; i++)
		if ((bind[i] ? xs_bind(s, eps[i]) : xs_connect(s, eps[i])) < 0)
			perf_fail(prog, eps[i]);
	if (delay && sending) {
		struct timespec ts = { (time_t)(delay / 1000),
				       (long)(delay % 1000) * 1000000L };
		nanosleep(&ts, NULL);
	}

	if (type == XS_REP || type == XS_RESPONDENT) {
		/* Answer each request: the --data record, or the request. */
		while (!count || got < count) {
			int r = recv_record(s, sep, quoted, &keep);

			if (r <= 0) {
				ok = r == 0 && !count;
				if (r < 0)
					perf_fail(prog, "receive");
				break;
			}
			got++;
			if (send_record(s, ndata ? data[0] : keep, sep) < 0)
				perf_fail(prog, "send");
		}
	} else if (sending) {
		while ((rec = next_record(data, ndata, &next, &line, &cap))) {
			if (send_record(s, rec, sep) < 0)
				perf_fail(prog, "send");
			if (type == XS_REQ) {
				int r = recv_record(s, sep, quoted, NULL);

				if (r < 0)
					perf_fail(prog, "receive");
				if (r == 0) {
					fprintf(stderr, "%s: no reply\n", prog);
					ok = false;
					break;
				}
				got++;
			} else if (type == XS_SURVEYOR) {
				/* Every response until the survey's deadline. */
				int r;

				while ((r = recv_record(s, sep, quoted, NULL)) > 0)
					got++;
				if (r < 0 && xs_errno() != ETIMEDOUT &&
				    xs_errno() != EFSM)
					perf_fail(prog, "receive");
			}
		}
		if (type == XS_PAIR && receiving)
			goto receive;
	} else {
receive:
		while (!count || got < count) {
			int r = recv_record(s, sep, quoted, NULL);

			if (r < 0)
				perf_fail(prog, "receive");
			if (r == 0)
				break;
			got++;
		}
		if (count && got < count)
			ok = false;
	}

	free(line);
	free(keep);
	if (xs_close(s))
		perf_fail(prog, "xs_close");
	if (xs_term(ctx))
		perf_fail(prog, "xs_term");
	if (!ok && count && got < count)
		fprintf(stderr, "%s: %lu of %lu records arrived\n", prog, got,
			count);
	free(data);
	free(subs);
	free(eps);
	free(bind);
	return ok ? 0 : 1;
}
