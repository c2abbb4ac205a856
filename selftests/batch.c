// SPDX-License-Identifier: GPL-2.0
/*
 * sendmmsg batches: readers are woken once per batch, after its last
 * record (MSG_BATCH on every entry but the last), and a batch that ends
 * early still wakes them.  Records sent with MSG_MORE (and MSG_EOR) are
 * queued at once and wake their readers a little later, once per burst.
 */
#include "xs_test.h"

#define BATCH	1024	/* UIO_MAXIOV: as long a batch as sendmmsg takes */

struct reader {
	pthread_t thread;
	int fd;
	int got;		/* parts returned by the first recvmmsg */
	long long ms;		/* how long it waited */
};

/* Blocks in one recvmmsg (MSG_WAITFORONE) for up to BATCH parts. */
static void *read_once(void *arg)
{
	struct reader *r = arg;
	struct mmsghdr *mm = calloc(BATCH, sizeof(*mm));
	struct iovec *iov = calloc(BATCH, sizeof(*iov));
	char (*buf)[16] = calloc(BATCH, 16);
	long long t0 = xs_now_ms();
	int i;

	if (!mm || !iov || !buf) {
		r->got = -1;
		return NULL;
	}
	for (i = 0; i < BATCH; i++) {
		iov[i].iov_base = buf[i];
		iov[i].iov_len = sizeof(buf[i]);
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	r->got = recvmmsg(r->fd, mm, BATCH, MSG_WAITFORONE, NULL);
	r->ms = xs_now_ms() - t0;
	free(mm);
	free(iov);
	free(buf);
	return NULL;
}

#define READERS	8

FIXTURE(batch) {
	char name[XS_NAME_MAX + 1];
	int pub, sub[READERS];
	struct reader r[READERS];
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
};

FIXTURE_SETUP(batch)
{
	const char *name = xs_uname(self->name, sizeof(self->name), "batch");
	int i;

	self->pub = xs_socket(XSPROTO_PUB);
	ASSERT_GE(self->pub, 0);
	ASSERT_OK(xs_bind(self->pub, name));
	memset(self->mm, 0, sizeof(self->mm));
	for (i = 0; i < BATCH; i++) {
		self->iov[i].iov_base = "record";
		self->iov[i].iov_len = 6;
		self->mm[i].msg_hdr.msg_iov = &self->iov[i];
		self->mm[i].msg_hdr.msg_iovlen = 1;
	}
	for (i = 0; i < READERS; i++) {
		self->sub[i] = xs_socket(XSPROTO_SUB);
		ASSERT_GE(self->sub[i], 0);
		ASSERT_OK(setsockopt(self->sub[i], SOL_XS, XS_SUBSCRIBE, "",
				     0));
		ASSERT_OK(xs_connect(self->sub[i], name));
		ASSERT_OK(xs_set_timeo(self->sub[i], SO_RCVTIMEO, 5000));
		self->r[i].fd = self->sub[i];
		ASSERT_EQ(0, pthread_create(&self->r[i].thread, NULL,
					    read_once, &self->r[i]));
	}
	/* let the readers fall asleep in recvmmsg */
	xs_sleep_ms(300);
}

FIXTURE_TEARDOWN(batch)
{
	int i;

	close(self->pub);
	for (i = 0; i < READERS; i++)
		close(self->sub[i]);
}

/*
 * Woken after the last entry, every reader finds the whole batch at once;
 * woken at the first record, they would run while the batch goes on.
 */
TEST_F(batch, readers_wake_once_for_a_whole_batch)
{
	int i;

	/*
	 * The kernel defers a batch's wake-ups for at most 25 ticks; on the
	 * debug kernel (KASAN, lockdep: XS_TEST_SCALE > 1) a batch this long
	 * outlasts that bound, and the early wake-up is the bound working.
	 */
	if (xs_scale() > 1)
		SKIP(return, "a %d-record batch outlasts the deferral bound here",
		     BATCH);

	ASSERT_EQ(BATCH, sendmmsg(self->pub, self->mm, BATCH, MSG_EOR));
	for (i = 0; i < READERS; i++) {
		pthread_join(self->r[i].thread, NULL);
		EXPECT_EQ(BATCH, self->r[i].got)
			TH_LOG("reader %d was woken before the batch ended: %d", i,
			       self->r[i].got);
	}
}

/*
 * sendmmsg stops at an entry whose header cannot be read, before the
 * family sees it: the entries sent must still wake the reader, soon.
 */
TEST_F(batch, batch_cut_short_still_wakes_the_reader)
{
	size_t sz = 2 * sizeof(struct mmsghdr);
	char *pages = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct mmsghdr *mm;

	/* two entries at the end of a page, the third on an unmapped one */
	ASSERT_NE(MAP_FAILED, pages);
	ASSERT_OK(munmap(pages + 4096, 4096));
	mm = (struct mmsghdr *)(pages + 4096 - sz);
	memcpy(mm, self->mm, sz);
	int i;

	ASSERT_EQ(2, sendmmsg(self->pub, mm, 3, MSG_EOR));
	for (i = 0; i < READERS; i++) {
		pthread_join(self->r[i].thread, NULL);
		EXPECT_EQ(2, self->r[i].got);
		EXPECT_GT(1000, self->r[i].ms - 300)
			TH_LOG("reader %d slept %lld ms on a non-empty queue",
			       i, self->r[i].ms);
	}
}

/* ---- MSG_MORE with MSG_EOR: queued at once, readers woken a little later -- */

/* @n records; @gap_us apart, so that a reader woken early has time to run */
static int send_more(int fd, int n, int flags, int gap_us)
{
	int i;

	for (i = 0; i < n; i++) {
		if (i && gap_us)
			usleep(gap_us);
		if (send(fd, "record", 6, MSG_EOR | flags) != 6)
			return -1;
	}
	return 0;
}

TEST_F(batch, more_records_are_queued_at_once)
{
	int late = xs_socket(XSPROTO_SUB);
	char buf[16];

	ASSERT_OK(setsockopt(late, SOL_XS, XS_SUBSCRIBE, "", 0));
	ASSERT_OK(xs_connect(late, self->name));
	ASSERT_OK(send_more(self->pub, 3, MSG_MORE, 0));
	/* no wake-up owed to a reader that does not sleep */
	ASSERT_EQ(6, recv(late, buf, sizeof(buf), MSG_DONTWAIT));
	ASSERT_EQ(6, recv(late, buf, sizeof(buf), MSG_DONTWAIT));
	ASSERT_EQ(6, recv(late, buf, sizeof(buf), MSG_DONTWAIT));
	close(late);
}

TEST_F(batch, a_last_more_record_still_wakes_the_readers_soon)
{
	int i;

	ASSERT_OK(send_more(self->pub, 1, MSG_MORE, 0));
	for (i = 0; i < READERS; i++) {
		pthread_join(self->r[i].thread, NULL);
		EXPECT_EQ(1, self->r[i].got);
		/* one tick at most; far more only on a very busy machine */
		EXPECT_GT(1000, self->r[i].ms - 300)
			TH_LOG("reader %d slept %lld ms on a non-empty queue",
			       i, self->r[i].ms);
	}
}

static long long coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

#define BURST	8

TEST_F(batch, readers_wake_once_for_a_burst_of_more_records)
{
	long long t0 = 0, t1 = 1;
	char buf[16];
	int i, try;

	/*
	 * The coarse clock moves with the tick that flushes owed wake-ups: a
	 * burst that no tick interrupted must wake each reader once.  A try
	 * that a tick cut is repeated with fresh readers.  The records go a
	 * little apart: a reader woken at the first one would run meanwhile.
	 */
	for (try = 0; try < 30 && t0 != t1; try++) {
		if (try) {
			for (i = 0; i < READERS; i++) {
				/* what the last try's readers left */
				while (recv(self->sub[i], buf, sizeof(buf),
					    MSG_DONTWAIT) >= 0)
					;
				ASSERT_EQ(0, pthread_create(&self->r[i].thread,
							    NULL, read_once,
							    &self->r[i]));
			}
			xs_sleep_ms(300);
		}
		t0 = coarse_ns();
		ASSERT_OK(send_more(self->pub, BURST - 1, MSG_MORE, 100));
		ASSERT_OK(send_more(self->pub, 1, 0, 0));
		t1 = coarse_ns();
		for (i = 0; i < READERS; i++)
			pthread_join(self->r[i].thread, NULL);
	}
	if (t0 != t1)
		SKIP(return, "a tick cut every burst");
	for (i = 0; i < READERS; i++) {
		EXPECT_EQ(BURST, self->r[i].got)
			TH_LOG("reader %d was woken inside the burst: %d", i,
			       self->r[i].got);
	}
}

XS_TEST_MAIN
