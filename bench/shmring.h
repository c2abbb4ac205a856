/* SPDX-License-Identifier: GPL-2.0 */
/*
 * shmring: the "limit" every benchmark prints beside the sockets.  A ring
 * of fixed-size slots in memory shared by the processes (a memfd mapped
 * MAP_SHARED, set up before fork), one writer and one or more readers,
 * every reader seeing every record (a broadcast ring: the fan-out
 * benchmark's subscribers all read the one copy).
 *
 * What a record costs here is what any message passing between processes
 * must pay at the least: the writer copies it into shared memory once,
 * the readers look at it where it lies, and a reader that found the ring
 * empty sleeps on a futex and is woken with one FUTEX_WAKE per batch the
 * writer publishes (none when no reader sleeps).  A writer that finds no
 * room for a batch (the slowest reader is a whole ring behind) sleeps on a
 * second futex until a reader makes room; it never drops.
 *
 * No locks: the writer alone writes head and the slots, each reader alone
 * its tail.  The sleep and wake-up sides pair their "I sleep" flag and the
 * index they check with sequentially consistent atomics, so either the
 * sleeper sees the new index or the waker sees the sleeper (and a wake-up
 * that comes before the sleeper reaches futex_wait makes futex_wait
 * return, since the word no longer holds the value it checked).
 */
#ifndef BENCH_SHMRING_H
#define BENCH_SHMRING_H

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#define SHR_MAX_READERS	1024

struct shr_reader {
	uint32_t tail;		/* records this reader has consumed */
	uint32_t active;	/* 0: gone, the writer no longer waits for it */
} __attribute__((aligned(64)));

struct shmring {
	/* written by the writer */
	uint32_t head __attribute__((aligned(64)));	/* records published */
	uint32_t slots, slot_size, nreaders;
	/* written by the readers */
	uint32_t readers_asleep __attribute__((aligned(64)));
	uint32_t writer_asleep __attribute__((aligned(64)));
	uint32_t room;		/* bumped to wake the writer (futex word) */
	struct shr_reader reader[SHR_MAX_READERS];
	/* then slots x slot_size bytes: a u32 length, then the record */
	unsigned char data[] __attribute__((aligned(64)));
};

static inline long shr_futex(uint32_t *word, int op, uint32_t val,
			     const struct timespec *timeout)
{
	return syscall(SYS_futex, word, op, val, timeout, NULL, 0);
}

#define shr_load(p)	__atomic_load_n((p), __ATOMIC_SEQ_CST)
#define shr_store(p, v)	__atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define shr_acquire(p)	__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define shr_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

/*
 * A ring of @slots records of up to @max_size bytes for @nreaders readers,
 * in a memfd mapped shared: call before fork.  NULL with errno on failure.
 */
static inline struct shmring *shr_create(uint32_t slots, uint32_t max_size,
					 uint32_t nreaders)
{
	uint32_t slot_size = (max_size + 4 + 63) & ~63u;
	size_t len = sizeof(struct shmring) + (size_t)slots * slot_size;
	struct shmring *r;
	uint32_t i;
	int fd;

	if (!slots || nreaders < 1 || nreaders > SHR_MAX_READERS) {
		errno = EINVAL;
		return NULL;
	}
	fd = memfd_create("bench-shmring", MFD_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (ftruncate(fd, (off_t)len)) {
		close(fd);
		return NULL;
	}
	r = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (r == MAP_FAILED)
		return NULL;
	r->slots = slots;
	r->slot_size = slot_size;
	r->nreaders = nreaders;
	for (i = 0; i < nreaders; i++)
		r->reader[i].active = 1;
	return r;
}

static inline unsigned char *shr_slot(struct shmring *r, uint32_t seq)
{
	return r->data + (size_t)(seq % r->slots) * r->slot_size;
}

/* Records the slowest reader still active has not consumed. */
static inline uint32_t shr_used(struct shmring *r)
{
	uint32_t i, used = 0, head = r->head;

	for (i = 0; i < r->nreaders; i++)
		if (shr_load(&r->reader[i].active) &&
		    head - shr_load(&r->reader[i].tail) > used)
			used = head - shr_load(&r->reader[i].tail);
	return used;
}

/*
 * Wait until @n records fit.  Each sleep lasts 20 ms at most (the writer
 * looks again afterwards, so a reader that died cannot hang it).  Returns
 * 0, or -1 with errno EAGAIN once @now() passed @deadline_ns (0: never).
 */
static inline int shr_wait_room(struct shmring *r, uint32_t n,
				long long (*now)(void), long long deadline_ns)
{
	struct timespec ts = { 0, 20 * 1000000 };
	uint32_t room;

	while (r->slots - shr_used(r) < n) {
		shr_store(&r->writer_asleep, 1);
		room = shr_load(&r->room);
		if (r->slots - shr_used(r) >= n) {
			shr_store(&r->writer_asleep, 0);
			break;
		}
		shr_futex(&r->room, FUTEX_WAIT, room, &ts);
		shr_store(&r->writer_asleep, 0);
		if (deadline_ns && now() > deadline_ns) {
			errno = EAGAIN;
			return -1;
		}
	}
	return 0;
}

/* Copy one record into the next slot; shr_publish() makes it visible. */
static inline void shr_put(struct shmring *r, uint32_t *pending,
			   const void *buf, uint32_t len)
{
	unsigned char *s = shr_slot(r, r->head + *pending);

	memcpy(s, &len, 4);
	memcpy(s + 4, buf, len);
	(*pending)++;
}

/* Publish @pending records: one store, and one wake-up if anyone sleeps. */
static inline void shr_publish(struct shmring *r, uint32_t pending)
{
	shr_store(&r->head, r->head + pending);
	if (shr_load(&r->readers_asleep))
		shr_futex(&r->head, FUTEX_WAKE, INT_MAX, NULL);
}

/*
 * Reader @idx: wait up to @timeout_ms for records; returns how many are
 * there (from shr_slot(r, tail) on), 0 after the timeout.
 */
static inline uint32_t shr_wait_data(struct shmring *r, uint32_t idx,
				     int timeout_ms)
{
	struct timespec ts = { timeout_ms / 1000,
			       (timeout_ms % 1000) * 1000000L };
	uint32_t tail = r->reader[idx].tail, head = shr_acquire(&r->head);

	if (head != tail)
		return head - tail;
	__atomic_add_fetch(&r->readers_asleep, 1, __ATOMIC_SEQ_CST);
	head = shr_load(&r->head);
	if (head == tail)
		shr_futex(&r->head, FUTEX_WAIT, head, &ts);
	__atomic_sub_fetch(&r->readers_asleep, 1, __ATOMIC_SEQ_CST);
	return shr_acquire(&r->head) - tail;
}

/* Record @i (0-based from the reader's tail): its bytes and length. */
static inline const unsigned char *shr_record(struct shmring *r,
					      uint32_t idx, uint32_t i,
					      uint32_t *len)
{
	const unsigned char *s = shr_slot(r, r->reader[idx].tail + i);

	memcpy(len, s, 4);
	return s + 4;
}

/* Reader @idx is done with @n records: hand the room back to the writer. */
static inline void shr_consume(struct shmring *r, uint32_t idx, uint32_t n)
{
	shr_store(&r->reader[idx].tail, r->reader[idx].tail + n);
	if (shr_load(&r->writer_asleep)) {
		__atomic_add_fetch(&r->room, 1, __ATOMIC_SEQ_CST);
		shr_futex(&r->room, FUTEX_WAKE, 1, NULL);
	}
}

/* Reader @idx leaves: the writer stops waiting for it. */
static inline void shr_leave(struct shmring *r, uint32_t idx)
{
	shr_store(&r->reader[idx].active, 0);
	if (shr_load(&r->writer_asleep)) {
		__atomic_add_fetch(&r->room, 1, __ATOMIC_SEQ_CST);
		shr_futex(&r->room, FUTEX_WAKE, 1, NULL);
	}
}

#endif /* BENCH_SHMRING_H */
