/* SPDX-License-Identifier: GPL-2.0 */
/*
 * AF_XS: differences between the kernel generations the module builds for
 * (Debian's 6.1 and 6.12).  Every version test lives here.
 */
#ifndef _AF_XS_COMPAT_H
#define _AF_XS_COMPAT_H

#include <linux/version.h>

#endif /* _AF_XS_COMPAT_H */
