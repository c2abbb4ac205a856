// SPDX-License-Identifier: GPL-2.0
/* AF_XS tracepoints: the one place they are instantiated (see trace.h). */
#define CREATE_TRACE_POINTS
#include "trace.h"
