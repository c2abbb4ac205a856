/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * AF_XS: in-kernel Crossroads I/O messaging sockets.
 *
 * Plain POSIX programs include this header and use socket(2), bind(2),
 * connect(2), sendmsg(2)/sendmmsg(2) (MSG_EOR ends a record), recvmsg(2)/
 * recvmmsg(2), poll(2) and epoll(7) on AF_XS SOCK_SEQPACKET sockets.
 *
 * The family number is a module parameter; read it from
 * /sys/module/af_xs/parameters/family (XS_FAMILY_PARAM_PATH).  When the
 * module is not loaded, socket(AF_XS_DEFAULT, ...) autoloads it.
 */
#ifndef _UAPI_LINUX_XS_H
#define _UAPI_LINUX_XS_H

#include <linux/types.h>
#include <linux/socket.h>

/* A family number no mainline kernel implements (historic AF_ASH). */
#define AF_XS_DEFAULT		18
#define PF_XS_DEFAULT		AF_XS_DEFAULT
#define XS_FAMILY_PARAM_PATH	"/sys/module/af_xs/parameters/family"

/* Option level for the family's own options. */
#define SOL_XS			300

/*
 * Protocols: one per Crossroads pattern.  XSPROTO_x is Crossroads' XS_x
 * socket type plus one, so that protocol 0 stays invalid.
 */
#define XSPROTO_PAIR		1
#define XSPROTO_PUB		2
#define XSPROTO_SUB		3
#define XSPROTO_REQ		4
#define XSPROTO_REP		5
#define XSPROTO_XREQ		6
#define XSPROTO_XREP		7
#define XSPROTO_PULL		8
#define XSPROTO_PUSH		9
#define XSPROTO_XPUB		10
#define XSPROTO_XSUB		11
#define XSPROTO_SURVEYOR	12
#define XSPROTO_RESPONDENT	13
#define XSPROTO_XSURVEYOR	14
#define XSPROTO_XRESPONDENT	15
#define XSPROTO_MAX		15

/*
 * Not a pattern: a monitor socket reports the events of one other AF_XS
 * socket (XS_MONITOR), one struct xs_event per record.  It cannot bind,
 * connect or send.
 */
#define XSPROTO_MONITOR		128

/*
 * An endpoint name: its length is addrlen - offsetof(sxs_name); a NUL byte
 * ends it early.  A name starting with '/' is a filesystem node, any other
 * name is abstract (private to the network namespace).
 */
#define XS_NAME_MAX		108

struct sockaddr_xs {
	__kernel_sa_family_t	sxs_family;
	char			sxs_name[XS_NAME_MAX];
};

/*
 * SOL_XS options.  Numbers shared with Crossroads I/O 1.2 (xs.h) keep the
 * same value, so libxs passes them through unchanged.
 */
#define XS_IDENTITY		5	/* bytes, up to XS_IDENTITY_MAX */
#define XS_SUBSCRIBE		6	/* bytes: prefix */
#define XS_UNSUBSCRIBE		7	/* bytes: prefix */
#define XS_RCVMORE		13	/* int, read-only */
#define XS_TYPE			16	/* int, read-only: Crossroads type */
#define XS_LINGER		17	/* int, ms; -1 = forever */
#define XS_MAXMSGSIZE		22	/* int64, bytes; -1 = no limit */
#define XS_SNDHWM		23	/* int, records; 0 = no limit */
#define XS_RCVHWM		24	/* int, records; 0 = no limit */
#define XS_SURVEY_TIMEOUT	35	/* int, ms; -1 = none */

/* AF_XS only: remove one endpoint (value: the name, as in sxs_name). */
#define XS_UNBIND		64	/* write-only: name */
#define XS_DISCONNECT		65	/* write-only: name */
#define XS_DROPS		66	/* u64, read-only: records we dropped */
#define XS_MISSED		67	/* u64, read-only: records dropped to us */
/*
 * int 0 or 1: the caller holds parts it has already read (a library that
 * reads ahead, as libxs does once a program asks for XS_FD).  While 1,
 * poll reports the socket readable even with nothing queued, so that a
 * poll on the descriptor sees those parts too.  Only the caller clears it.
 */
#define XS_RCVHELD		80
/*
 * int, read-only, read once: the error of a part refused after its record
 * had begun (EMSGSIZE: the record is dropped; ENOMEM: it stays as it was
 * before that part), which sendmmsg(2) cannot return when some entries
 * went.  0 when there is none.
 */
#define XS_SNDERR		81
#define XS_PEERS		68	/* int, read-only: peers attached now */
#define XS_SUBSCRIBERS		69	/* int, read-only, PUB/XPUB: peers subscribed */
#define XS_PREFIXES		70	/* int, read-only, PUB/XPUB: distinct prefixes */
#define XS_STATS		71	/* struct xs_stats, read-only */
#define XS_LOSSLESS		72	/* int, PUB/XPUB: 1 = wait, never drop for room */
#define XS_MONITOR		73	/* struct xs_monitor_req, monitor, write-only */
#define XS_EVENTS_LOST		74	/* u64, read-only, monitor: events lost */

/* Why a record was dropped: the index in xs_stats.drops_by/missed_by. */
#define XS_REASON_FULL		0	/* the pipe or the receiver's queue was full */
#define XS_REASON_NOPEER	1	/* the peer had gone */
#define XS_REASON_NOMEM		2	/* the kernel had no memory for it */
#define XS_REASON_UNREAD	3	/* it waited for a binder that could not take it */
#define XS_REASON_STALE		4	/* a reply whose requester no longer waits */
#define XS_REASON_REFUSED	5	/* the receiving pattern refused it (malformed) */
#define XS_REASON_NOROUTE	6	/* no peer has the identity it is addressed to */
#define XS_REASON_ABANDONED	7	/* the thread reading it exited mid-record */
#define XS_REASON_MAX		8

/*
 * XS_STATS: counters since the socket was created and queue depths now.
 * getsockopt copies min(optlen, sizeof) bytes and sets optlen to that, so
 * a program built against a shorter struct keeps working.
 */
struct xs_stats {
	__u64	sent_records;	/* records completed (MSG_EOR) and routed */
	__u64	sent_bytes;	/* their payload */
	__u64	recv_records;	/* records whose first part was read */
	__u64	recv_bytes;	/* their payload */
	__u64	drops;		/* XS_DROPS: records we could not deliver */
	__u64	missed;		/* XS_MISSED: records lost on the way to us */
	__u64	drops_by[XS_REASON_MAX];	/* drops, by XS_REASON_x */
	__u64	missed_by[XS_REASON_MAX];	/* missed, by XS_REASON_x */
	__u32	peers;		/* XS_PEERS */
	__u32	rx_records;	/* records queued to be read */
	__u64	rx_bytes;	/* their payload */
	__u64	rx_mem;		/* what the kernel holds for them */
	__u64	tx_pending_mem;	/* held for names nobody bound (SIOCOUTQ) */
	__u32	tx_queued;	/* our records in peers' queues or reserved */
	__u32	subscribers;	/* PUB/XPUB: XS_SUBSCRIBERS, else 0 */
	__u32	prefixes;	/* PUB/XPUB: XS_PREFIXES, else 0 */
	__u32	stats_pad;
	__u64	events_lost;	/* monitor: XS_EVENTS_LOST, else 0 */
};

/*
 * Events.  A monitor socket (XSPROTO_MONITOR) is pointed at one AF_XS
 * socket with setsockopt(XS_MONITOR); recv then gives one struct
 * xs_event (and its data) per record, poll/epoll say when one is queued.
 * The queue is bounded by the monitor's SO_RCVBUF and XS_RCVHWM: an event
 * that does not fit is lost and counted (xs_event.lost of the next one
 * delivered, XS_EVENTS_LOST in total).  When the monitored socket closes,
 * XS_EVENT_CLOSED is the last event and recv returns 0 after it.
 * Event types are bits, so that @events chooses several.
 */
#define XS_EVENT_CONNECTED	0x0001	/* a binder took the name we connected to */
#define XS_EVENT_ACCEPTED	0x0002	/* a connector joined a name we bound */
#define XS_EVENT_DISCONNECTED	0x0004	/* a peer left (or the name was unbound) */
#define XS_EVENT_DROPPED	0x0008	/* we dropped a record for @peer (@reason) */
#define XS_EVENT_MISSED		0x0010	/* a record from @peer to us was dropped */
#define XS_EVENT_SUBSCRIBED	0x0020	/* PUB/XPUB: @peer subscribed to data */
#define XS_EVENT_UNSUBSCRIBED	0x0040	/* PUB/XPUB: @peer dropped that prefix */
#define XS_EVENT_CLOSED		0x0080	/* the monitored socket closed: the last */
#define XS_EVENT_ALL		0x00ff

struct xs_monitor_req {
	__s32	fd;		/* the AF_XS socket to watch */
	__u32	events;		/* XS_EVENT_x bits; 0 = XS_EVENT_ALL */
};

struct xs_event {
	__u16	type;		/* one XS_EVENT_x */
	__u16	reason;		/* DROPPED, MISSED: XS_REASON_x, else 0 */
	__u32	len;		/* bytes of data following this header */
	__u64	ino;		/* the monitored socket's inode */
	__u64	peer;		/* the peer socket's inode, 0 if unknown */
	__u64	lost;		/* events lost just before this one */
	__u32	peers;		/* the monitored socket's XS_PEERS after it */
	__u32	event_pad;
	/*
	 * Then @len bytes: the name the pipe was connected to (CONNECTED,
	 * ACCEPTED, DISCONNECTED; empty if the connector is gone), or the
	 * prefix (SUBSCRIBED, UNSUBSCRIBED).
	 */
};

/*
 * Errors: a call in the wrong state of REQ/REP/SURVEYOR/RESPONDENT (what
 * Crossroads calls EFSM) fails with EBADFD; libxs reports it as EFSM.  A
 * SURVEYOR's receive after XS_SURVEY_TIMEOUT fails with ETIMEDOUT.
 *
 * Envelopes, as XREP/XREQ and XRESPONDENT/XSURVEYOR users see them: a
 * request ends its envelope with an empty part; a survey with its survey
 * id, 4 bytes big-endian with the top bit set.  Identities generated for
 * peers without XS_IDENTITY are 5 bytes starting with a zero byte; an
 * XS_IDENTITY may not start with zero nor be 4 bytes with the top bit set.
 */

/*
 * The receive ring (XS_RX_RING): records placed by the kernel in memory the
 * reader maps from its socket, read without a system call.  PAIR, PULL,
 * SUB and XSUB sockets may have one; it is set once and lives as long as
 * the socket.  Two mappings, both MAP_SHARED:
 *   XS_RING_OFF_CTRL  one page, read-write: struct xs_ring_ctrl
 *   XS_RING_OFF_DATA  the data area, xs_ring_req.size bytes, read-only
 * A record goes into the ring when the socket's queue is empty and the
 * ring has room for it whole, else into the queue, under the queue's usual
 * limits (XS_RCVHWM, SO_RCVBUF): the ring is room ahead of the queue, and
 * every record of the ring is older than every record of the queue.  So
 * a reader empties the ring before it calls recv, which fails with EAGAIN
 * (even blocking) while the ring holds a record.
 *
 * Entries start at multiples of 8 bytes of the data area, at offset
 * position % size: a struct xs_ring_rec, then per part a struct
 * xs_ring_part and the part's bytes padded to 8.  An entry with nparts 0
 * fills the end of the area: skip it.  The reader reads the entries from
 * tail to head, then stores the new tail (release order).
 */
#define XS_RX_RING		82	/* struct xs_ring_req, write-once; int size, read */
#define XS_RING_OFF_CTRL	0x00000000ULL
#define XS_RING_OFF_DATA	0x80000000ULL
#define XS_RING_MIN		4096	/* size: a power of two from here... */
#define XS_RING_REC_MAX		(64 << 10)	/* records beyond: queue only */

struct xs_ring_req {
	__u32	size;		/* data area bytes, a power of two */
	__u32	flags;		/* 0 */
};

/*
 * The control page.  head and tail count bytes since the ring was made.
 * XS_RING_NEED_WAKEUP: set by a reader about to sleep (and by poll and
 * recv when they find nothing to read); a sender that adds a record
 * clears it and wakes the reader.  Without it set, records arrive
 * without a wake-up: set it (a sequentially consistent store), then look
 * at head again, before sleeping.
 */
#define XS_RING_NEED_WAKEUP	1

struct xs_ring_ctrl {
	__u64	head;		/* kernel: end of the last complete entry */
	__u64	ctrl_pad0[7];
	__u64	tail;		/* reader: end of what it has read */
	__u64	ctrl_pad1[7];
	__u32	flags;		/* XS_RING_x */
	__u32	size;		/* the data area's size */
};

struct xs_ring_rec {
	__u32	size;		/* bytes of the entry, this header included */
	__u32	nparts;		/* 0: padding, skip to the area's start */
};

struct xs_ring_part {
	__u32	len;		/* bytes of data following */
	__u32	part_pad;
};

#define XS_IDENTITY_MAX		255
#define XS_PREFIX_MAX		1024	/* longest XS_SUBSCRIBE prefix */
#define XS_HWM_DEFAULT		1000

/*
 * sock_diag: a NETLINK_SOCK_DIAG socket sends SOCK_DIAG_BY_FAMILY with
 * NLM_F_DUMP and a struct xs_diag_req; each socket of the caller's network
 * namespace comes back as a struct xs_diag_msg followed by XS_DIAG_x
 * attributes.  sdiag_family is the family number in use (the module
 * parameter).
 */
struct xs_diag_req {
	__u8	sdiag_family;
	__u8	sdiag_protocol;		/* XSPROTO_x, or 0 for every pattern */
	__u16	xdiag_pad;
	__u32	xdiag_ino;		/* only this socket inode, or 0 */
};

struct xs_diag_msg {
	__u8	xdiag_family;
	__u8	xdiag_protocol;		/* XSPROTO_x */
	__u16	xdiag_pad;
	__u32	xdiag_ino;		/* socket inode, as in /proc/net/xs */
};

enum {
	XS_DIAG_UNSPEC,
	XS_DIAG_PAD,
	XS_DIAG_PATTERN,	/* string: "PUSH", ... */
	XS_DIAG_UID,		/* u32: owner, in the caller's user namespace */
	XS_DIAG_BOUND,		/* binary: one bound name (no NUL); repeated */
	XS_DIAG_CONNECTED,	/* binary: one connected name; repeated */
	XS_DIAG_RX_RECORDS,	/* u32: records queued to be received */
	XS_DIAG_RX_BYTES,	/* u64: their payload bytes */
	XS_DIAG_RX_MEM,		/* u64: memory charged for them */
	XS_DIAG_DROPS,		/* u64: records this socket could not deliver */
	XS_DIAG_MISSED,		/* u64: records dropped on the way to it */
	XS_DIAG_PEERS,		/* u32: pipes attached (peers) */
	XS_DIAG_STATS,		/* binary: struct xs_stats (may grow) */
	__XS_DIAG_MAX,
};

#define XS_DIAG_MAX		(__XS_DIAG_MAX - 1)

#endif /* _UAPI_LINUX_XS_H */
