/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Paths and open files: the path of a (dentry, mount) as the task sees it from its root (a
 * bpf_loop walk crossing mounts, in a per-CPU scratch buffer of this object's own; an unrolled
 * walk of the same depth in the legacy flavour, for kernels before bpf_loop), the path of a
 * struct file, and the struct file behind an fd (by direct loads for the current task, by
 * CO-RE reads for any task, and as a typed pointer again through bpf_rdonly_cast).
 */
#ifndef ECSGUARD_PATH_BPF_H
#define ECSGUARD_PATH_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "events.h"
#include "task.bpf.h"

/* open(2) flags and a file's f_mode bits both the rootfs and host-namespace programs test. */
#define EG_O_WRONLY 01
#define EG_O_RDWR 02
#define EG_FMODE_READ 0x1
#define EG_FMODE_WRITE 0x2

/* Path components walked up from a dentry (both walks): deeper paths are reported unresolved. */
#define EG_PATH_DEPTH 24
#define EG_PATH_SCRATCH (EG_PATH_LEN * 2)

/* The unrolled walk's state between its steps (see eg_dentry_path_unrolled). */
struct eg_path_walk_state {
    __u64 dentry;
    __u64 vfsmnt;
    __u64 mnt;
    __u32 off;
    __s32 state; /* 0 walking, 1 complete, -1 too long */
};

struct eg_path_scratch {
    char buf[EG_PATH_SCRATCH];
    struct eg_path_walk_state lw;
};
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct eg_path_scratch);
} eg_path_scratch SEC(".maps");

struct eg_path_walk {
    struct dentry *root_dentry;
    struct vfsmount *root_mnt;
    struct dentry *dentry;
    struct vfsmount *vfsmnt;
    struct mount *mnt;
    struct eg_path_scratch *sc;
    __u32 off;
    int state; /* 0 walking, 1 complete, -1 too long */
};

/* One step up the tree: a bpf_loop callback, so the verifier checks it once. */
static long eg_path_step(__u32 i, void *data)
{
    struct eg_path_walk *w = data;
    /* Locals, not w->field, inside BPF_CORE_READ: only kernel types are relocated. */
    struct dentry *dentry = w->dentry;
    struct vfsmount *vfsmnt = w->vfsmnt;
    struct mount *mnt = w->mnt;
    if (dentry == w->root_dentry && vfsmnt == w->root_mnt) {
        w->state = 1;
        return 1;
    }
    struct dentry *mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
    if (dentry == mnt_root) {
        /* Top of this mount: continue from where it is mounted. */
        struct mount *parent = BPF_CORE_READ(mnt, mnt_parent);
        if (parent == mnt) {
            w->state = 1; /* the global root */
            return 1;
        }
        w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
        w->mnt = parent;
        w->vfsmnt = &parent->mnt;
        return 0;
    }
    struct dentry *parent_dentry = BPF_CORE_READ(dentry, d_parent);
    if (parent_dentry == dentry) {
        w->state = 1;
        return 1;
    }
    struct qstr name = BPF_CORE_READ(dentry, d_name);
    __u32 len = name.len & (EG_PATH_LEN - 1);
    __u32 off = w->off;
    if (len + 1 > off || off >= EG_PATH_LEN) {
        w->state = -1;
        return 1;
    }
    off -= len;
    bpf_probe_read_kernel(&w->sc->buf[off & (EG_PATH_LEN - 1)], len, name.name);
    off -= 1;
    w->sc->buf[off & (EG_PATH_LEN - 1)] = '/';
    w->off = off;
    w->dentry = parent_dentry;
    return 0;
}

/*
 * The same walk without bpf_loop (5.17), for the legacy flavour (task.bpf.h): EG_PATH_DEPTH
 * steps unrolled, in a subprogram of its own so each program carries it once. The state between
 * steps is kept in the per-CPU scratch value rather than in registers: the verifier tracks
 * nothing it reads back from map memory, so the states of every step's branches (mount crossed
 * or not, name length) prune against each other and the walk costs it about EG_PATH_DEPTH
 * steps (~2,000 instructions per call site, far below 5.10's limit of a million), not the
 * product of their branches. Returns the offset of the path in sc->buf, or -1 (too deep, too
 * long).
 */
static __noinline int eg_dentry_path_unrolled(struct eg_path_scratch *sc, __u64 root_dentry,
                                              __u64 root_mnt)
{
    if (!sc)
        return -1;
    volatile struct eg_path_walk_state *lw = &sc->lw;
#pragma unroll
    for (int i = 0; i < EG_PATH_DEPTH; i++) {
        struct dentry *dentry = (struct dentry *)lw->dentry;
        struct vfsmount *vfsmnt = (struct vfsmount *)lw->vfsmnt;
        struct mount *mnt = (struct mount *)lw->mnt;
        if ((__u64)dentry == root_dentry && (__u64)vfsmnt == root_mnt) {
            lw->state = 1;
            break;
        }
        if (dentry == BPF_CORE_READ(vfsmnt, mnt_root)) {
            /* Top of this mount: continue from where it is mounted. */
            struct mount *parent = BPF_CORE_READ(mnt, mnt_parent);
            if (parent == mnt) {
                lw->state = 1; /* the global root */
                break;
            }
            lw->dentry = (__u64)BPF_CORE_READ(mnt, mnt_mountpoint);
            lw->mnt = (__u64)parent;
            lw->vfsmnt = (__u64)&parent->mnt;
            continue;
        }
        struct dentry *parent_dentry = BPF_CORE_READ(dentry, d_parent);
        if (parent_dentry == dentry) {
            lw->state = 1;
            break;
        }
        struct qstr name = BPF_CORE_READ(dentry, d_name);
        __u32 len = name.len & (EG_PATH_LEN - 1);
        __u32 off = lw->off;
        if (len + 1 > off || off >= EG_PATH_LEN) {
            lw->state = -1;
            break;
        }
        off -= len;
        bpf_probe_read_kernel(&sc->buf[off & (EG_PATH_LEN - 1)], len, name.name);
        off -= 1;
        sc->buf[off & (EG_PATH_LEN - 1)] = '/';
        lw->off = off;
        lw->dentry = (__u64)parent_dentry;
    }
    return lw->state == 1 ? (int)(lw->off & (EG_PATH_LEN - 1)) : -1;
}

/*
 * Path of (dentry, vfsmnt) as seen from the task's root (the container's
 * rootfs after pivot_root), crossing mounts, written into out[EG_PATH_LEN].
 * Built right-to-left in a per-CPU scratch buffer twice the path size, so
 * every bounded offset plus a bounded name length stays inside it. Returns 0,
 * or -1 when the path was deeper or longer than we keep (out is then "").
 * `legacy`: the unrolled walk, where bpf_loop is missing (task.bpf.h).
 * eg_dentry_path_from walks up to a given root (rootfs.bpf.c: the container's root as
 * captured at its start, which a later chroot does not move).
 */
static __always_inline int eg_dentry_path_from(struct dentry *root_dentry,
                                               struct vfsmount *root_mnt, struct dentry *dentry,
                                               struct vfsmount *vfsmnt, char *out,
                                               const bool legacy)
{
    __u32 zero = 0;
    out[0] = '\0';
    if (legacy) {
        struct eg_path_scratch *sc = bpf_map_lookup_elem(&eg_path_scratch, &zero);
        if (!sc || !dentry)
            return -1;
        sc->lw.dentry = (__u64)dentry;
        sc->lw.vfsmnt = (__u64)vfsmnt;
        sc->lw.mnt = (__u64)container_of(vfsmnt, struct mount, mnt);
        sc->lw.off = EG_PATH_LEN - 1;
        sc->lw.state = 0;
        sc->buf[EG_PATH_LEN - 1] = '\0';
        int at = eg_dentry_path_unrolled(sc, (__u64)root_dentry, (__u64)root_mnt);
        if (at < 0)
            return -1;
        if (at >= EG_PATH_LEN - 1) {
            out[0] = '/';
            out[1] = '\0';
            return 0;
        }
        bpf_probe_read_kernel_str(out, EG_PATH_LEN, &sc->buf[at & (EG_PATH_LEN - 1)]);
        return 0;
    }
    struct eg_path_walk w = {};
    w.sc = bpf_map_lookup_elem(&eg_path_scratch, &zero);
    if (!w.sc || !dentry)
        return -1;
    w.root_dentry = root_dentry;
    w.root_mnt = root_mnt;
    w.dentry = dentry;
    w.vfsmnt = vfsmnt;
    w.mnt = container_of(vfsmnt, struct mount, mnt);
    w.off = EG_PATH_LEN - 1;
    w.sc->buf[EG_PATH_LEN - 1] = '\0';
    bpf_loop(EG_PATH_DEPTH, eg_path_step, &w, 0);
    if (w.state != 1)
        return -1;
    if (w.off >= EG_PATH_LEN - 1) {
        out[0] = '/';
        out[1] = '\0';
        return 0;
    }
    bpf_probe_read_kernel_str(out, EG_PATH_LEN, &w.sc->buf[w.off & (EG_PATH_LEN - 1)]);
    return 0;
}

static __always_inline int eg_dentry_path(struct task_struct *task, struct dentry *dentry,
                                          struct vfsmount *vfsmnt, char *out, const bool legacy)
{
    return eg_dentry_path_from(BPF_CORE_READ(task, fs, root.dentry),
                               BPF_CORE_READ(task, fs, root.mnt), dentry, vfsmnt, out, legacy);
}

/* Path of an open file, as eg_dentry_path. */
static __always_inline int eg_file_path(struct task_struct *task, struct file *f, char *out,
                                        const bool legacy)
{
    if (!f) {
        out[0] = '\0';
        return -1;
    }
    return eg_dentry_path(task, BPF_CORE_READ(f, f_path.dentry), BPF_CORE_READ(f, f_path.mnt), out,
                          legacy);
}

/*
 * The open file behind `fd` in the current task's table (direct loads up to the array slot;
 * CO-RE reads in the legacy flavour, task.bpf.h).
 */
static __always_inline struct file *eg_current_fd_file(struct task_struct *task, long fd,
                                                       const bool legacy)
{
    if (fd < 0)
        return NULL;
    struct fdtable *fdt = EG_LOAD(legacy, task, files, fdt);
    if (!fdt || (unsigned long)fd >= EG_LOAD(legacy, fdt, max_fds))
        return NULL;
    struct file **fds = EG_LOAD(legacy, fdt, fd);
    struct file *f = NULL;
    /* A variable index into a kernel array: the one read that needs the helper. */
    bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
    return f;
}

/*
 * The file pointer comes out of the fd table through bpf_probe_read_kernel (a
 * variable index into a kernel array), so the verifier sees a plain number and each
 * field behind it is one more helper call (~15-25 ns on the benchmark VM).
 * bpf_rdonly_cast (6.2+) makes it a typed, read-only pointer again: its fields are
 * direct, fault-guarded loads (~1 ns). Callers need a kernel with the kfunc (the
 * loader checks) or a probe-read twin of the program.
 */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

static __always_inline struct file *eg_file_btf(struct file *f)
{
    return bpf_rdonly_cast(f, bpf_core_type_id_kernel(struct file));
}

/* The open file behind `fd` in `task`'s table, or NULL. */
static __always_inline struct file *eg_fd_file(struct task_struct *task, long fd)
{
    if (fd < 0)
        return NULL;
    struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
    if (!fdt || (unsigned long)fd >= BPF_CORE_READ(fdt, max_fds))
        return NULL;
    struct file **fds = BPF_CORE_READ(fdt, fd);
    struct file *f = NULL;
    bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
    return f;
}

#endif /* ECSGUARD_PATH_BPF_H */
