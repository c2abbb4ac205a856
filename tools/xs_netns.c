// SPDX-License-Identifier: GPL-2.0
/*
 * xs_netns: run a command in a fresh network namespace.  The test VM uses
 * it (scripts/guest-run-test.sh) when its busybox has no `unshare` applet.
 *
 * Usage: xs_netns COMMAND [ARG]...
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: xs_netns COMMAND [ARG]...\n");
		return 2;
	}
	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "xs_netns: unshare: %s\n", strerror(errno));
		return 1;
	}
	execvp(argv[1], argv + 1);
	fprintf(stderr, "xs_netns: %s: %s\n", argv[1], strerror(errno));
	return 127;
}
