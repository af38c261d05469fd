/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The container's root for the rootfs programs (rootfs.bpf.c): the map that holds it per
 * container slot, its capture (lifecycle.bpf.c, at the exec that ends the runtime's set-up;
 * the loader shares the lifecycle object's map with the rootfs object) and the lookups the
 * write checks and path walks make.
 */
#ifndef ECSGUARD_ROOTFS_ROOT_BPF_H
#define ECSGUARD_ROOTFS_ROOT_BPF_H

#include "common.bpf.h"

/*
 * The root each container's runtime gave it (issue 17 item 6), per container slot as
 * eg_rootfs_repeats: "on the rootfs" means on this mount, walked up to this dentry, not on
 * whatever the task's root is now. A chroot (CAP_SYS_CHROOT is in the default set) moves the
 * task's root, so comparing with task->fs->root would stop counting writes made through a
 * directory fd from before it, and count the new root's own (a volume, a tmpfs) instead.
 *
 * Filled at the entrypoint's exec (tp_btf/sched_process_exec, in the lifecycle program that
 * ends the set-up of a process the runtime put in the cgroup, once it execs in a mount
 * namespace other than the runtime's: runc init after pivot_root, or a `runc exec` process
 * after setns), after the new image is loaded and before any of its code has run; the first one
 * per container wins, so nothing the container does later (chroot, exec) moves it. A slot's
 * entry names its container's cgroup id: a slot reused by a new container is refilled. A
 * container started before the agent gets its entry from its first `runc exec`; until then the
 * task's root is used (docs/rootfs.md).
 */
struct eg_rootfs_root {
    __u64 cgroup_id; /* the container whose root this is (slots are reused) */
    struct vfsmount *mnt;
    struct dentry *dentry;
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, EG_MAX_CONTAINER_SLOTS);
    __type(key, __u32);
    __type(value, struct eg_rootfs_root);
} eg_rootfs_roots SEC(".maps");

/*
 * The container's slot: from the per-CPU task cache when it has one, else eg_containers. False
 * when it has none: removed, or registered by the kernel and not yet given one by the agent
 * (EG_SLOT_PENDING; *slot says which).
 */
static __always_inline bool container_slot(struct eg_verdict_cache *vc, __u64 cgid, __u32 *slot)
{
    if (vc && vc->container) {
        *slot = (__u32)(vc->container - 1);
        return *slot != EG_SLOT_PENDING;
    }
    struct eg_container_val *cv = bpf_map_lookup_elem(&eg_containers, &cgid);
    if (!cv) {
        *slot = 0;
        return false;
    }
    *slot = cv->slot;
    return *slot != EG_SLOT_PENDING;
}

/*
 * Record `task`'s root (current, at the exec that ends its set-up) as container `cgid`'s,
 * unless one was captured for it already: the first one stands. Called by lifecycle.bpf.c
 * only (one exec per container process start, never on an ordinary exec): the set-up mark it
 * tests is deleted by that same program, so no other program on the exec can see it reliably.
 */
static __always_inline void eg_capture_container_root(struct task_struct *task, __u64 cgid)
{
    struct eg_container_val *cv = bpf_map_lookup_elem(&eg_containers, &cgid);
    if (!cv)
        return;
    __u32 slot = cv->slot;
    if (slot == EG_SLOT_PENDING) {
        /* Not given a slot yet: the task's root stands in (docs/rootfs.md), counted. */
        eg_count_reason(EG_FILTER_SLOT_PENDING);
        return;
    }
    struct eg_rootfs_root *r = bpf_map_lookup_elem(&eg_rootfs_roots, &slot);
    if (!r || r->cgroup_id == cgid)
        return; /* captured already: the first one stands */
    r->cgroup_id = 0;
    r->mnt = BPF_CORE_READ(task, fs, root.mnt);
    r->dentry = BPF_CORE_READ(task, fs, root.dentry);
    r->cgroup_id = cgid;
}

/* The captured root of container `cgid`, or NULL (none captured: the task's root is used). */
static __always_inline struct eg_rootfs_root *captured_root(struct eg_verdict_cache *vc, __u64 cgid)
{
    __u32 slot;
    if (!container_slot(vc, cgid, &slot))
        return NULL;
    struct eg_rootfs_root *r = bpf_map_lookup_elem(&eg_rootfs_roots, &slot);
    return r && r->cgroup_id == cgid ? r : NULL;
}

/* The container's root mount (captured, else the task's). */
static __always_inline struct vfsmount *root_mnt_of(struct eg_rootfs_root *r,
                                                    struct task_struct *task, const bool legacy)
{
    /*
     * The task's root is loaded first, apart: merged with the map load into one instruction
     * (a `?:`), the verifier refuses it ("same insn cannot be used with different pointers").
     */
    struct vfsmount *mnt = EG_LOAD(legacy, task, fs, root.mnt);
    barrier_var(mnt);
    if (r)
        mnt = r->mnt;
    return mnt;
}

/*
 * The container's root as plain values (captured, else the task's), read once per event: the
 * walks and comparisons below take these, never the map pointer, so the verifier's states at
 * each walk do not differ by whether a root was captured and prune against each other.
 */
struct eg_root_view {
    struct dentry *dentry;
    struct vfsmount *mnt;
};

static __always_inline void root_view_of(struct eg_rootfs_root *r, struct task_struct *task,
                                         struct eg_root_view *v)
{
    v->dentry = BPF_CORE_READ(task, fs, root.dentry);
    v->mnt = BPF_CORE_READ(task, fs, root.mnt);
    if (r) {
        v->dentry = r->dentry;
        v->mnt = r->mnt;
    }
}

/* Path of (dentry, mnt) from the container's root `v`. */
static __always_inline int container_path(const struct eg_root_view *v, struct dentry *dentry,
                                          struct vfsmount *mnt, char *out, const bool legacy)
{
    return eg_dentry_path_from(v->dentry, v->mnt, dentry, mnt, out, legacy);
}

/*
 * The mount namespace the mount `mnt` belongs to (NULL: detached), by a CO-RE read. The
 * address is computed as a number, so the verifier sees no negative offset into a typed pointer.
 */
static __always_inline struct mnt_namespace *eg_mount_ns(struct vfsmount *mnt)
{
    __u64 m = (__u64)mnt - bpf_core_field_offset(struct mount, mnt);
    return BPF_CORE_READ((struct mount *)m, mnt_ns);
}

/*
 * The tmpfs file systems processes of a container set up (its runtime during set-up, or the
 * container itself with CAP_SYS_ADMIN: mount(2), or the new mount API), by super block, with
 * the container and the device (a super block freed and reused at that address for another is
 * not taken for it): such a tmpfs started empty in that container, so what runs from it was
 * written there, wherever it is mounted, bound or unmounted since. Filled by the rootfs
 * object's file-system set-up programs (rootfs_escapes.bpf.h: fexit/vfs_get_tree, or the
 * vfs_create_mount kprobe); read by the exec program (eg_root_file_layers). A host tmpfs bound
 * into a container is never here.
 */
struct eg_own_tmpfs {
    __u64 cgroup_id;
    __u32 dev;
    __u32 pad;
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 4096);
    __type(key, __u64);
    __type(value, struct eg_own_tmpfs);
} eg_own_tmpfs SEC(".maps");

/* A tmpfs set up by a process of container `cgid` (any time, its runtime's set-up included). */
static __always_inline void eg_note_own_tmpfs(struct super_block *sb, __u64 cgid)
{
    if (!sb || BPF_CORE_READ(sb, s_magic) != EG_TMPFS_MAGIC)
        return;
    struct eg_own_tmpfs t = {.cgroup_id = cgid, .dev = BPF_CORE_READ(sb, s_dev)};
    __u64 at = (__u64)sb;
    bpf_map_update_elem(&eg_own_tmpfs, &at, &t, BPF_ANY);
}

/*
 * The overlay layers (EG_ROOTFS_OVERLAY|_UPPER|_LOWER) of file `f` when it is on container
 * `cgid`'s root file system (the super block of the root captured at the container's start,
 * else of the task's root), EG_EXEC_ON_TMPFS on a tmpfs of the container's own, else 0: whether
 * it was written in this container is the overlay's record (or the tmpfs's, which starts
 * empty), kept whether or not the agent was watching when it was written.
 */
static __always_inline __u32 eg_root_file_layers(struct task_struct *p, struct file *f, __u64 cgid)
{
    struct inode *inode = BPF_CORE_READ(f, f_inode);
    struct super_block *sb = BPF_CORE_READ(inode, i_sb);
    unsigned long magic = BPF_CORE_READ(sb, s_magic);
    if (magic == EG_TMPFS_MAGIC) {
        /*
         * A tmpfs the container's processes set up (eg_own_tmpfs: under any mount, a
         * subdirectory bound elsewhere included), or, where the set-up programs do not run,
         * one mounted whole in the process's own mount namespace (not a memfd's internal mount,
         * not a subdirectory bound in): EG_EXEC_ON_TMPFS.
         */
        __u64 at = (__u64)sb;
        struct eg_own_tmpfs *own = bpf_map_lookup_elem(&eg_own_tmpfs, &at);
        if (own && own->cgroup_id == cgid && own->dev == BPF_CORE_READ(sb, s_dev))
            return EG_EXEC_ON_TMPFS;
        struct vfsmount *mnt = BPF_CORE_READ(f, f_path.mnt);
        struct mnt_namespace *ns = eg_mount_ns(mnt);
        bool whole = BPF_CORE_READ(mnt, mnt_root) == BPF_CORE_READ(sb, s_root);
        return ns && whole && ns == BPF_CORE_READ(p, nsproxy, mnt_ns) ? EG_EXEC_ON_TMPFS : 0;
    }
    if (magic != EG_OVERLAYFS_MAGIC)
        return 0;
    struct eg_rootfs_root *r = captured_root(NULL, cgid);
    struct vfsmount *root_mnt = r ? r->mnt : BPF_CORE_READ(p, fs, root.mnt);
    if (BPF_CORE_READ(root_mnt, mnt_sb) != sb)
        return 0;
    return eg_ovl_layers(inode, BPF_CORE_READ(f, f_path.dentry), false);
}

/*
 * The file an exec started from (the one execve named), recorded where fentry loads by
 * rootfs.bpf.c's program on security_bprm_creds_for_exec() and taken by lifecycle.bpf.c's exec
 * program: an exec that ended in another file (the interpreter of a #! line) carries the
 * script's identity in its record (eg_exec_event.script_*). One entry per thread that called
 * execve (the exec program finds it by the tracepoint's old pid: a thread that was not the
 * leader has the leader's pid by then) in an LRU: an exec that fails after the hook leaves one,
 * which the thread's next exec overwrites.
 */
struct eg_exec_start {
    __u64 ino;
    __u32 dev;
    __u32 layers;
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 4096);
    __type(key, __u32);
    __type(value, struct eg_exec_start);
} eg_exec_starts SEC(".maps");

#endif /* ECSGUARD_ROOTFS_ROOT_BPF_H */
