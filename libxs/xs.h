/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libxs: the Crossroads I/O 1.2 C API, implemented as a thin layer over
 * AF_XS sockets (see uapi/linux/xs.h and README.md, section "libxs").
 *
 * Programs written against Crossroads I/O 1.2 compile against this header
 * unchanged: every name, signature and numeric value below is the one
 * Crossroads I/O 1.2 publishes.  Installed as <xs/xs.h> and <xs.h>.
 */
#ifndef __XS_H_INCLUDED__
#define __XS_H_INCLUDED__

#ifdef __cplusplus
extern "C" {
#endif

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#if defined __GNUC__ && __GNUC__ >= 4
#define XS_EXPORT __attribute__ ((visibility ("default")))
#else
#define XS_EXPORT
#endif

/* ---- Version ---------------------------------------------------------- */

#define XS_VERSION_MAJOR 1
#define XS_VERSION_MINOR 2
#define XS_VERSION_PATCH 0

#define XS_MAKE_VERSION(major, minor, patch) \
    ((major) * 10000 + (minor) * 100 + (patch))
#define XS_VERSION \
    XS_MAKE_VERSION (XS_VERSION_MAJOR, XS_VERSION_MINOR, XS_VERSION_PATCH)

/* Version of the library actually linked (may differ from the macros). */
XS_EXPORT void xs_version (int *major, int *minor, int *patch);

/* ---- Errors ----------------------------------------------------------- */

/* Base of the library's own error numbers, far above any errno range. */
#define XS_HAUSNUMERO 156384712

/* Fallbacks for platforms whose errno.h lacks these (Linux has them all). */
#ifndef ENOTSUP
#define ENOTSUP (XS_HAUSNUMERO + 1)
#endif
#ifndef EPROTONOSUPPORT
#define EPROTONOSUPPORT (XS_HAUSNUMERO + 2)
#endif
#ifndef ENOBUFS
#define ENOBUFS (XS_HAUSNUMERO + 3)
#endif
#ifndef ENETDOWN
#define ENETDOWN (XS_HAUSNUMERO + 4)
#endif
#ifndef EADDRINUSE
#define EADDRINUSE (XS_HAUSNUMERO + 5)
#endif
#ifndef EADDRNOTAVAIL
#define EADDRNOTAVAIL (XS_HAUSNUMERO + 6)
#endif
#ifndef ECONNREFUSED
#define ECONNREFUSED (XS_HAUSNUMERO + 7)
#endif
#ifndef EINPROGRESS
#define EINPROGRESS (XS_HAUSNUMERO + 8)
#endif
#ifndef ENOTSOCK
#define ENOTSOCK (XS_HAUSNUMERO + 9)
#endif
#ifndef EAFNOSUPPORT
#define EAFNOSUPPORT (XS_HAUSNUMERO + 10)
#endif

/* Errors only Crossroads defines. */
#define EFSM (XS_HAUSNUMERO + 51)           /* wrong state for this call */
#define ENOCOMPATPROTO (XS_HAUSNUMERO + 52) /* transport unfit for type */
#define ETERM (XS_HAUSNUMERO + 53)          /* context was terminated */
#define EMTHREAD (XS_HAUSNUMERO + 54)       /* historic, never returned */

/* errno as the library sees it. */
XS_EXPORT int xs_errno (void);

/* Text for a system or Crossroads error number. */
XS_EXPORT const char *xs_strerror (int errnum);

/* ---- Messages --------------------------------------------------------- */

/* Opaque, caller-allocated; initialise with one of the xs_msg_init*(). */
typedef struct {unsigned char _ [32];} xs_msg_t;

typedef void (xs_free_fn) (void *data, void *hint);

XS_EXPORT int xs_msg_init (xs_msg_t *msg);
XS_EXPORT int xs_msg_init_size (xs_msg_t *msg, size_t size);
XS_EXPORT int xs_msg_init_data (xs_msg_t *msg, void *data,
    size_t size, xs_free_fn *ffn, void *hint);
XS_EXPORT int xs_msg_close (xs_msg_t *msg);
XS_EXPORT int xs_msg_move (xs_msg_t *dest, xs_msg_t *src);
XS_EXPORT int xs_msg_copy (xs_msg_t *dest, xs_msg_t *src);
XS_EXPORT void *xs_msg_data (xs_msg_t *msg);
XS_EXPORT size_t xs_msg_size (xs_msg_t *msg);
XS_EXPORT int xs_getmsgopt (xs_msg_t *msg, int option, void *optval,
    size_t *optvallen);

/* ---- Context ---------------------------------------------------------- */

#define XS_MAX_SOCKETS 1
#define XS_IO_THREADS 2
#define XS_PLUGIN 3

XS_EXPORT void *xs_init (void);
XS_EXPORT int xs_term (void *context);
XS_EXPORT int xs_setctxopt (void *context, int option, const void *optval,
    size_t optvallen);

/* ---- Sockets ---------------------------------------------------------- */

/* Socket types (the AF_XS protocol number is the type plus one). */
#define XS_PAIR 0
#define XS_PUB 1
#define XS_SUB 2
#define XS_REQ 3
#define XS_REP 4
#define XS_XREQ 5
#define XS_XREP 6
#define XS_PULL 7
#define XS_PUSH 8
#define XS_XPUB 9
#define XS_XSUB 10
#define XS_SURVEYOR 11
#define XS_RESPONDENT 12
#define XS_XSURVEYOR 13
#define XS_XRESPONDENT 14

/* Older spellings of two types. */
#define XS_ROUTER XS_XREP
#define XS_DEALER XS_XREQ

/* Socket options. */
#define XS_AFFINITY 4
#define XS_IDENTITY 5
#define XS_SUBSCRIBE 6
#define XS_UNSUBSCRIBE 7
#define XS_RATE 8
#define XS_RECOVERY_IVL 9
#define XS_SNDBUF 11
#define XS_RCVBUF 12
#define XS_RCVMORE 13
#define XS_FD 14
#define XS_EVENTS 15
#define XS_TYPE 16
#define XS_LINGER 17
#define XS_RECONNECT_IVL 18
#define XS_BACKLOG 19
#define XS_RECONNECT_IVL_MAX 21
#define XS_MAXMSGSIZE 22
#define XS_SNDHWM 23
#define XS_RCVHWM 24
#define XS_MULTICAST_HOPS 25
#define XS_RCVTIMEO 27
#define XS_SNDTIMEO 28
#define XS_IPV4ONLY 31
#define XS_KEEPALIVE 32
#define XS_PROTOCOL 33
#define XS_SURVEY_TIMEOUT 35

/* Message options. */
#define XS_MORE 1

/* Flags of the send and receive calls. */
#define XS_DONTWAIT 1
#define XS_SNDMORE 2

XS_EXPORT void *xs_socket (void *context, int type);
XS_EXPORT int xs_close (void *s);
XS_EXPORT int xs_setsockopt (void *s, int option, const void *optval,
    size_t optvallen);
XS_EXPORT int xs_getsockopt (void *s, int option, void *optval,
    size_t *optvallen);
XS_EXPORT int xs_bind (void *s, const char *addr);
XS_EXPORT int xs_connect (void *s, const char *addr);
XS_EXPORT int xs_shutdown (void *s, int how);
XS_EXPORT int xs_send (void *s, const void *buf, size_t len, int flags);
XS_EXPORT int xs_recv (void *s, void *buf, size_t len, int flags);
XS_EXPORT int xs_sendmsg (void *s, xs_msg_t *msg, int flags);
XS_EXPORT int xs_recvmsg (void *s, xs_msg_t *msg, int flags);

/* ---- Polling ---------------------------------------------------------- */

#define XS_POLLIN 1
#define XS_POLLOUT 2
#define XS_POLLERR 4

/* Either socket (an xs socket) or, when socket is NULL, fd is polled. */
typedef struct
{
    void *socket;
    int fd;
    short events;
    short revents;
} xs_pollitem_t;

/* timeout in milliseconds, -1 waits forever. */
XS_EXPORT int xs_poll (xs_pollitem_t *items, int nitems, int timeout);

/* ---- AF_XS extensions (not in Crossroads I/O 1.2) --------------------- */

/*
 * Options with no Crossroads counterpart (the kernel's <linux/xs.h> has the
 * same numbers).  Read-only ints: XS_PEERS (peers attached now),
 * XS_SUBSCRIBERS and XS_PREFIXES (XS_PUB, XS_XPUB: peers holding a
 * subscription, distinct prefixes).  XS_LOSSLESS (int 0 or 1, XS_PUB and
 * XS_XPUB): wait for a full subscriber instead of dropping for it.
 * XS_STATS: an xs_stats_t, copied as far as the buffer holds.
 * XS_EVENTS_LOST (uint64_t, a monitor): events lost so far.
 */
#define XS_PEERS 68
#define XS_SUBSCRIBERS 69
#define XS_PREFIXES 70
#define XS_STATS 71
#define XS_LOSSLESS 72
#define XS_EVENTS_LOST 74

/* Why a record was dropped: the index in xs_stats_t.drops_by, missed_by. */
#define XS_REASON_FULL 0
#define XS_REASON_NOPEER 1
#define XS_REASON_NOMEM 2
#define XS_REASON_UNREAD 3
#define XS_REASON_STALE 4
#define XS_REASON_REFUSED 5
#define XS_REASON_NOROUTE 6
#define XS_REASON_ABANDONED 7

typedef struct
{
    uint64_t sent_records;
    uint64_t sent_bytes;
    uint64_t recv_records;
    uint64_t recv_bytes;
    uint64_t drops;
    uint64_t missed;
    uint64_t drops_by[8];
    uint64_t missed_by[8];
    uint32_t peers;
    uint32_t rx_records;
    uint64_t rx_bytes;
    uint64_t rx_mem;
    uint64_t tx_pending_mem;
    uint32_t tx_queued;
    uint32_t subscribers;
    uint32_t prefixes;
    uint32_t stats_pad;
    uint64_t events_lost;
} xs_stats_t;

/*
 * Socket events, in the manner of ZeroMQ's zmq_socket_monitor (Crossroads
 * I/O 1.2 had none).  xs_socket_monitor() returns a new socket of type
 * XS_MONITOR, in the context of s, from which xs_recv()/xs_recvmsg() read
 * one event per message: an xs_event_t, then event.len bytes (a name or a
 * prefix).  xs_poll() and XS_FD work on it; xs_close() ends it.  Its
 * XS_TYPE is XS_MONITOR_TYPE.
 */
#define XS_MONITOR_TYPE 127

#define XS_EVENT_CONNECTED 0x0001
#define XS_EVENT_ACCEPTED 0x0002
#define XS_EVENT_DISCONNECTED 0x0004
#define XS_EVENT_DROPPED 0x0008
#define XS_EVENT_MISSED 0x0010
#define XS_EVENT_SUBSCRIBED 0x0020
#define XS_EVENT_UNSUBSCRIBED 0x0040
#define XS_EVENT_CLOSED 0x0080
#define XS_EVENT_ALL 0x00ff

typedef struct
{
    uint16_t type;
    uint16_t reason;
    uint32_t len;
    uint64_t ino;
    uint64_t peer;
    uint64_t lost;
    uint32_t peers;
    uint32_t event_pad;
} xs_event_t;

XS_EXPORT void *xs_socket_monitor (void *s, int events);

/* ---- Utilities (for benchmarks and language bindings) ----------------- */

/* Returns a handle; xs_stopwatch_stop() frees it and returns elapsed us. */
XS_EXPORT void *xs_stopwatch_start (void);
XS_EXPORT unsigned long xs_stopwatch_stop (void *watch);

/* ---- Filter plug-ins (experimental in Crossroads I/O 1.2) ------------- */

#define XS_FILTER 34

#define XS_PLUGIN_FILTER 1

#define XS_FILTER_ALL 0
#define XS_FILTER_PREFIX 1
#define XS_FILTER_TOPIC 2

typedef struct
{
    int type;
    int version;

    int (*id) (void *core);
    void *(*pf_create) (void *core);
    void (*pf_destroy) (void *core, void *pf);
    int (*pf_subscribe) (void *core, void *pf, void *subscriber,
        const unsigned char *data, size_t size);
    int (*pf_unsubscribe) (void *core, void *pf, void *subscriber,
        const unsigned char *data, size_t size);
    void (*pf_unsubscribe_all) (void *core, void *pf, void *subscriber);
    void (*pf_match) (void *core, void *pf,
        const unsigned char *data, size_t size);

    void *(*sf_create) (void *core);
    void (*sf_destroy) (void *core, void *sf);
    int (*sf_subscribe) (void *core, void *sf,
        const unsigned char *data, size_t size);
    int (*sf_unsubscribe) (void *core, void *sf,
        const unsigned char *data, size_t size);
    int (*sf_match) (void *core, void *sf,
        const unsigned char *data, size_t size);

} xs_filter_t;

XS_EXPORT int xs_filter_subscribed (void *core,
    const unsigned char *data, size_t size);

XS_EXPORT int xs_filter_unsubscribed (void *core,
    const unsigned char *data, size_t size);

XS_EXPORT int xs_filter_matching (void *core, void *subscriber);

#undef XS_EXPORT

#ifdef __cplusplus
}
#endif

#endif
