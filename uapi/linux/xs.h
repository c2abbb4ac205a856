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
	__XS_DIAG_MAX,
};

#define XS_DIAG_MAX		(__XS_DIAG_MAX - 1)

#endif /* _UAPI_LINUX_XS_H */
