// SPDX-License-Identifier: GPL-2.0
/*
 * demo_pushpull: the AF_XS family with plain POSIX calls, no library.
 *
 * The parent binds a PUSH socket to a name, forks a few PULL workers that
 * connect to it, then sends N records of two parts each ("task-<i>", then a
 * payload; MSG_EOR on the second part ends the record). The kernel
 * load-balances the records over the workers; each worker prints what it
 * receives and checks that every record arrives whole (two parts, MSG_EOR
 * on the second only). The parent prints the totals and exits 0 only if
 * every record was received exactly once.
 *
 * Usage: demo_pushpull [-w WORKERS] [-n RECORDS] [-s NAME]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/xs.h>

#define MAX_WORKERS 16
#define MAX_RECORDS 100000

/* Shared between the processes (MAP_SHARED): who got which record. */
struct tally {
	int total;			/* records received by all workers */
	int per_worker[MAX_WORKERS];
	int bad;			/* records that arrived malformed */
	unsigned char seen[MAX_RECORDS];
};

static int xs_family(void)
{
	FILE *f = fopen(XS_FAMILY_PARAM_PATH, "r");
	int fam = AF_XS_DEFAULT;

	if (f) {
		if (fscanf(f, "%d", &fam) != 1)
			fam = AF_XS_DEFAULT;
		fclose(f);
	}
	return fam;
}

static socklen_t xs_addr(struct sockaddr_xs *sa, int fam, const char *name)
{
	memset(sa, 0, sizeof(*sa));
	sa->sxs_family = fam;
	strncpy(sa->sxs_name, name, sizeof(sa->sxs_name) - 1);
	return offsetof(struct sockaddr_xs, sxs_name) + strlen(sa->sxs_name);
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* One part: returns its length and the recvmsg flags (MSG_EOR...). */
static ssize_t recv_part(int fd, char *buf, size_t len, int *flags)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len - 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n = recvmsg(fd, &mh, 0);

	if (n >= 0) {
		buf[n] = '\0';
		*flags = mh.msg_flags;
	}
	return n;
}

static void worker(int id, int fam, const char *name, int nrec,
		   struct tally *t, int ready_fd)
{
	struct sockaddr_xs sa;
	socklen_t alen = xs_addr(&sa, fam, name);
	struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
	char head[256], body[256];
	int fd, f1, f2, mine = 0;

	fd = socket(fam, SOCK_SEQPACKET, XSPROTO_PULL);
	if (fd < 0)
		die("worker: socket(PULL)");
	if (connect(fd, (struct sockaddr *)&sa, alen) < 0)
		die("worker: connect");
	/* Wake up now and then to see whether all records are in. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		die("worker: SO_RCVTIMEO");
	if (write(ready_fd, "r", 1) != 1)
		die("worker: ready");
	close(ready_fd);

	while (__atomic_load_n(&t->total, __ATOMIC_SEQ_CST) < nrec) {
		ssize_t n = recv_part(fd, head, sizeof(head), &f1);
		int idx;

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			die("worker: recvmsg");
		/* The record is atomic: its second part is already here. */
		if (recv_part(fd, body, sizeof(body), &f2) < 0)
			die("worker: recvmsg (part 2)");
		if ((f1 & MSG_EOR) || !(f2 & MSG_EOR) ||
		    sscanf(head, "task-%d", &idx) != 1 || idx < 0 || idx >= nrec) {
			printf("worker %d: MALFORMED record: \"%s\"%s + \"%s\"%s\n", id,
			       head, f1 & MSG_EOR ? " [EOR]" : "",
			       body, f2 & MSG_EOR ? " [EOR]" : "");
			__atomic_add_fetch(&t->bad, 1, __ATOMIC_SEQ_CST);
			continue;
		}
		printf("worker %d (pid %d): record \"%s\" + \"%s\"\n",
		       id, getpid(), head, body);
		if (__atomic_add_fetch(&t->seen[idx], 1, __ATOMIC_SEQ_CST) != 1)
			__atomic_add_fetch(&t->bad, 1, __ATOMIC_SEQ_CST);
		mine++;
		t->per_worker[id] = mine;
		__atomic_add_fetch(&t->total, 1, __ATOMIC_SEQ_CST);
	}
	printf("worker %d: done, %d records\n", id, mine);
	close(fd);
	exit(0);
}

int main(int argc, char **argv)
{
	int nworkers = 3, nrec = 12, fam = xs_family();
	const char *name = "demo-pushpull";
	struct sockaddr_xs sa;
	socklen_t alen;
	struct tally *t;
	int ready[2], push, opt, i, ok = 1;
	char c;

	while ((opt = getopt(argc, argv, "w:n:s:")) != -1) {
		switch (opt) {
		case 'w':
			nworkers = atoi(optarg);
			break;
		case 'n':
			nrec = atoi(optarg);
			break;
		case 's':
			name = optarg;
			break;
		default:
			fprintf(stderr, "usage: %s [-w WORKERS] [-n RECORDS] [-s NAME]\n", argv[0]);
			return 2;
		}
	}
	if (nworkers < 1 || nworkers > MAX_WORKERS || nrec < 1 || nrec > MAX_RECORDS) {
		fprintf(stderr, "1 <= workers <= %d, 1 <= records <= %d\n", MAX_WORKERS, MAX_RECORDS);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	alarm(60);	/* never hang the VM: SIGALRM kills a stuck demo */

	t = mmap(NULL, sizeof(*t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (t == MAP_FAILED)
		die("mmap");

	printf("demo: AF_XS family %d, PUSH bound to \"%s\", %d PULL workers, %d records of 2 parts\n",
	       fam, name, nworkers, nrec);
	push = socket(fam, SOCK_SEQPACKET, XSPROTO_PUSH);
	if (push < 0)
		die("socket(PUSH)");
	alen = xs_addr(&sa, fam, name);
	if (bind(push, (struct sockaddr *)&sa, alen) < 0)
		die("bind");

	/*
	 * Start sending only when every worker is connected, so that the
	 * load balancing has all of them to choose from.
	 */
	if (pipe(ready) < 0)
		die("pipe");
	for (i = 0; i < nworkers; i++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (pid == 0) {
			close(ready[0]);
			close(push);
			worker(i, fam, name, nrec, t, ready[1]);
		}
	}
	close(ready[1]);
	for (i = 0; i < nworkers; i++)
		if (read(ready[0], &c, 1) != 1)
			die("a worker failed to start");
	close(ready[0]);

	for (i = 0; i < nrec; i++) {
		char head[64], body[128];
		struct iovec iov;
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

		snprintf(head, sizeof(head), "task-%d", i);
		snprintf(body, sizeof(body), "payload of task %d: %.*s", i, i % 16, "xxxxxxxxxxxxxxxx");
		iov = (struct iovec){ head, strlen(head) };
		if (sendmsg(push, &mh, 0) < 0)		/* part 1: record open */
			die("sendmsg part 1");
		iov = (struct iovec){ body, strlen(body) };
		if (sendmsg(push, &mh, MSG_EOR) < 0)	/* part 2 ends the record */
			die("sendmsg part 2");
	}
	printf("demo: sent %d records\n", nrec);

	for (i = 0; i < nworkers; i++) {
		int st;

		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			ok = 0;
	}
	close(push);

	printf("demo: totals: sent %d, received %d, malformed or duplicate %d; per worker:",
	       nrec, t->total, t->bad);
	for (i = 0; i < nworkers; i++)
		printf(" %d", t->per_worker[i]);
	printf("\n");
	for (i = 0; i < nrec; i++)
		if (t->seen[i] != 1)
			ok = 0;
	if (t->total != nrec || t->bad)
		ok = 0;
	printf("demo: %s\n", ok ? "every record delivered exactly once, whole" : "FAILED");
	return ok ? 0 : 1;
}
