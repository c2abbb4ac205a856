// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Version, errors, stopwatch and the filter plug-in entry points.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xsl.h"

void xs_version(int *major, int *minor, int *patch)
{
	if (major)
		*major = XS_VERSION_MAJOR;
	if (minor)
		*minor = XS_VERSION_MINOR;
	if (patch)
		*patch = XS_VERSION_PATCH;
}

int xs_errno(void)
{
	return errno;
}

/* The one table of texts for the errors libc does not know. */
static const struct {
	int err;
	const char *text;
} xs_errors[] = {
	{ EFSM, "Operation not allowed in the socket's current state" },
	{ ENOCOMPATPROTO, "Transport does not suit this socket type" },
	{ ETERM, "The socket's context has been terminated" },
	{ EMTHREAD, "No thread available" },
};

const char *xs_strerror(int errnum)
{
	size_t i;

	for (i = 0; i < sizeof(xs_errors) / sizeof(xs_errors[0]); i++)
		if (xs_errors[i].err == errnum)
			return xs_errors[i].text;
	return strerror(errnum);
}

static unsigned long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000ULL +
	       (unsigned long long)ts.tv_nsec / 1000ULL;
}

void *xs_stopwatch_start(void)
{
	unsigned long long *watch = malloc(sizeof(*watch));

	if (watch)
		*watch = now_us();
	return watch;
}

unsigned long xs_stopwatch_stop(void *watch)
{
	unsigned long long start, end = now_us();

	if (!watch)
		return 0;
	start = *(unsigned long long *)watch;
	free(watch);
	return (unsigned long)(end - start);
}

/*
 * A filter plug-in calls these back from its matching code.  Matching
 * happens in the kernel, by prefix, and xs_setctxopt(XS_PLUGIN) refuses
 * plug-ins, so no plug-in is ever running to call them.
 */
int xs_filter_subscribed(void *core, const unsigned char *data, size_t size)
{
	(void)core;
	(void)data;
	(void)size;
	errno = ENOTSUP;
	return -1;
}

int xs_filter_unsubscribed(void *core, const unsigned char *data,
			   size_t size)
{
	(void)core;
	(void)data;
	(void)size;
	errno = ENOTSUP;
	return -1;
}

int xs_filter_matching(void *core, void *subscriber)
{
	(void)core;
	(void)subscriber;
	errno = ENOTSUP;
	return -1;
}
