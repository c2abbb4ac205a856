/* SPDX-License-Identifier: GPL-2.0 */
/*
 * AF_XS: differences between the kernel generations the module builds for
 * (Debian's 6.1 and 6.12).  Every version test lives here; the features
 * are probed from the kernel's headers in Kbuild, not from version numbers.
 */
#ifndef _AF_XS_COMPAT_H
#define _AF_XS_COMPAT_H

#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/mount.h>
#include <net/sock.h>

/* The unaligned access helpers moved to linux/ in 6.12. */
#ifdef XS_HAVE_LINUX_UNALIGNED
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif

/* SO_PASSCRED is a socket flag up to 6.15. */
static inline bool xs_passcred(const struct sock *sk)
{
	return test_bit(SOCK_PASSCRED, &sk->sk_socket->flags);
}

/*
 * vfs_mknod() takes the mount's idmap from 6.3, its user namespace before
 * (XS_HAVE_MNT_IDMAP is probed from the headers by Kbuild).
 */
static inline int xs_vfs_mknod(const struct path *parent,
			       struct dentry *dentry, umode_t mode)
{
#ifdef XS_HAVE_MNT_IDMAP
	return vfs_mknod(mnt_idmap(parent->mnt), d_inode(parent->dentry),
			 dentry, mode, 0);
#else
	return vfs_mknod(mnt_user_ns(parent->mnt), d_inode(parent->dentry),
			 dentry, mode, 0);
#endif
}

/* The same for vfs_unlink() (no delegation: not an NFS export). */
static inline int xs_vfs_unlink(const struct path *parent,
				struct dentry *dentry)
{
#ifdef XS_HAVE_MNT_IDMAP
	return vfs_unlink(mnt_idmap(parent->mnt), d_inode(parent->dentry),
			  dentry, NULL);
#else
	return vfs_unlink(mnt_user_ns(parent->mnt), d_inode(parent->dentry),
			  dentry, NULL);
#endif
}

/* vm_flags became read-only, changed through helpers, in 6.3. */
static inline void xs_vm_flags_set(struct vm_area_struct *vma,
				   unsigned long flags)
{
#ifdef XS_HAVE_VM_FLAGS_SET
	vm_flags_set(vma, flags);
#else
	vma->vm_flags |= flags;
#endif
}

static inline void xs_vm_flags_clear(struct vm_area_struct *vma,
				     unsigned long flags)
{
#ifdef XS_HAVE_VM_FLAGS_SET
	vm_flags_clear(vma, flags);
#else
	vma->vm_flags &= ~flags;
#endif
}

#endif /* _AF_XS_COMPAT_H */
