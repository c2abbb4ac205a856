// SPDX-License-Identifier: GPL-2.0
/*
 * sendmmsg batches: readers are woken once per batch, after its last
 * record (MSG_BATCH on every entry but the last), and a batch that ends
 * early still wakes them.
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
	int pub, sub[READERS];
	struct reader r[READERS];
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
};

FIXTURE_SETUP(batch)
{
	XS_UNAME(name, "batch");
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

XS_TEST_MAIN
