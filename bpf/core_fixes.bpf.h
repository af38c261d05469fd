/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Every kernel-version flavour the programs read through, in one place (after libbpf-tools'
 * core_fixes.bpf.h): local `struct x___flavour` definitions with preserve_access_index, which
 * libbpf relocates against the running kernel's BTF with the suffix ignored, and the accessor
 * that picks the flavour that kernel has (bpf_core_field_exists). Each flavour names the kernel
 * change it follows. The committed vmlinux.h files describe one kernel each: a struct whose
 * layout changed between the kernels ecsguard runs on is read through a flavour here, never
 * through vmlinux.h's one version of it. (Fields a program merely tests for, such as cap.bpf.c's
 * rw_semaphore owner, and kfuncs declared __weak stay with the program that needs them.)
 */
#ifndef ECSGUARD_CORE_FIXES_BPF_H
#define ECSGUARD_CORE_FIXES_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

/*
 * A namespace's CLONE_NEW* kind. Linux 6.18 moved it out of the namespace's operations
 * (ns_common.ops->type, struct proc_ns_operations) into ns_common itself (ns_common.ns_type).
 */

/* Before 6.18: the kind is in the namespace's operations. */
struct proc_ns_operations___old {
    int type;
} __attribute__((preserve_access_index));
struct ns_common___old {
    const struct proc_ns_operations___old *ops;
} __attribute__((preserve_access_index));

/* 6.18+: the kind is a field of ns_common (a local flavour: older vmlinux.h lack it). */
struct ns_common___new {
    u32 ns_type;
} __attribute__((preserve_access_index));

static __always_inline __u32 eg_ns_type(struct ns_common *ns)
{
    struct ns_common___new *cur = (void *)ns;
    if (bpf_core_field_exists(cur->ns_type))
        return BPF_CORE_READ(cur, ns_type);
    struct ns_common___old *old = (void *)ns;
    return BPF_CORE_READ(old, ops, type);
}

/*
 * overlayfs's inode wraps the VFS inode; the upper dentry and the lower stack follow it. Local
 * flavours, relocated against the running kernel's BTF (overlay may be a module, absent from
 * vmlinux BTF). Linux 6.5 ("ovl: move ovl_entry into ovl_inode") replaced the inode's own first
 * lower layer (ovl_inode.lowerpath, a struct ovl_path) with a pointer to the lower stack
 * (ovl_inode.oe, a struct ovl_entry counting its layers in __numlower).
 */

/* 6.5+: what ovl_inode.oe points to. */
struct ovl_entry___eg {
    unsigned int __numlower;
} __attribute__((preserve_access_index));

/* Before 6.5: the type of ovl_inode.lowerpath. */
struct ovl_path___eg {
    void *layer;
    struct dentry *dentry;
} __attribute__((preserve_access_index));

/* overlayfs's super block magic (OVERLAYFS_SUPER_MAGIC). */
#define EG_OVERLAYFS_MAGIC 0x794c7630
/* tmpfs's (TMPFS_MAGIC, include/uapi/linux/magic.h). */
#define EG_TMPFS_MAGIC 0x01021994

/* 6.5+: the lower stack is oe. */
struct ovl_inode___eg {
    struct inode vfs_inode;
    struct dentry *__upperdentry;
    struct ovl_entry___eg *oe;
} __attribute__((preserve_access_index));

/* Before 6.5: the first lower layer is lowerpath. */
struct ovl_inode___eg_old {
    struct inode vfs_inode;
    struct dentry *__upperdentry;
    struct ovl_path___eg lowerpath;
} __attribute__((preserve_access_index));

/* true when the overlayfs inode `oi` has a lower layer under it. */
static __always_inline bool eg_ovl_has_lower(struct ovl_inode___eg *oi)
{
    bool lower = false;
    if (bpf_core_field_exists(oi->oe)) {
        lower = BPF_CORE_READ(oi, oe, __numlower) > 0;
    } else {
        struct ovl_inode___eg_old *old = (void *)oi;
        if (bpf_core_field_exists(old->lowerpath))
            lower = BPF_CORE_READ(old, lowerpath.dentry) != NULL;
    }
    return lower;
}

/*
 * Kernels without BTF for modules (before 5.11, e.g. 5.10) have no type information for an
 * overlayfs built as a module (as distributions build it): no struct ovl_inode___eg relocates.
 * What is left there is the overlay dentry's d_fsdata, a struct ovl_entry whose layout did not
 * change from 4.13 until 6.5 moved the lower stack into the inode: a union of `unsigned long
 * flags` and a struct rcu_head (two pointers), then `unsigned numlower`. A plain local struct
 * (no preserve_access_index: nothing to relocate against), read only on those kernels.
 */
struct ovl_entry___nobtf {
    unsigned long flags_or_rcu[2];
    unsigned int numlower;
};

/* true when the overlayfs dentry `d` has a lower layer under it (kernels without module BTF). */
static __always_inline bool eg_ovl_dentry_has_lower_nobtf(struct dentry *d)
{
    struct ovl_entry___nobtf *oe = BPF_CORE_READ(d, d_fsdata);
    unsigned int numlower = 0;
    if (oe)
        bpf_probe_read_kernel(&numlower, sizeof(numlower), &oe->numlower);
    return numlower > 0;
}

/*
 * EG_ROOTFS_OVERLAY|_UPPER|_LOWER of the overlayfs file with inode `inode` and dentry `d`.
 * Without overlayfs BTF its upper dentry cannot be read: `known_upper` says the caller knows
 * the file has an upper copy (after a write open); otherwise only a file with no lower layer
 * is known to be in the upper one (created there).
 */
static __always_inline __u32 eg_ovl_layers(struct inode *inode, struct dentry *d, bool known_upper)
{
    __u32 flags = EG_ROOTFS_OVERLAY;
    if (!bpf_core_type_exists(struct ovl_inode___eg)) {
        bool lower = eg_ovl_dentry_has_lower_nobtf(d);
        if (lower)
            flags |= EG_ROOTFS_LOWER;
        if (known_upper || !lower)
            flags |= EG_ROOTFS_UPPER;
        return flags;
    }
    struct ovl_inode___eg *oi = container_of(inode, struct ovl_inode___eg, vfs_inode);
    if (BPF_CORE_READ(oi, __upperdentry))
        flags |= EG_ROOTFS_UPPER;
    if (eg_ovl_has_lower(oi))
        flags |= EG_ROOTFS_LOWER;
    return flags;
}

#endif /* ECSGUARD_CORE_FIXES_BPF_H */
