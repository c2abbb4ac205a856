/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The calls of a plain libzmq program, for the tests that talk to one.
 * zmq.h and xs.h define the same macro names with other values, so the
 * few functions used are declared here, and libzmq's numbers are Z_*.
 */
#ifndef XS_ZMQ_H
#define XS_ZMQ_H

#include <stddef.h>

void *zmq_ctx_new(void);
int zmq_ctx_term(void *);
void *zmq_socket(void *, int);
int zmq_close(void *);
int zmq_bind(void *, const char *);
int zmq_connect(void *, const char *);
int zmq_send(void *, const void *, size_t, int);
int zmq_recv(void *, void *, size_t, int);
int zmq_setsockopt(void *, int, const void *, size_t);
int zmq_getsockopt(void *, int, void *, size_t *);

#define Z_SUB		2
#define Z_REQ		3
#define Z_REP		4
#define Z_PULL		7
#define Z_PUSH		8
#define Z_SNDMORE	2
#define Z_SUBSCRIBE	6
#define Z_RCVMORE	13
#define Z_LINGER	17
#define Z_RCVTIMEO	27

#endif
