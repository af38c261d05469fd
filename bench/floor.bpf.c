/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The benchmark floor (bench/floor.c loads it; never part of the agent): one program per
 * program the agent attaches, at the same hook, whose whole body is one per-CPU counter
 * increment. Measured next to "none" and "ecsguard", it separates what any BPF guard at these
 * hooks costs (the tracepoint, the program call, the syscall tracepoint's argument copy) from
 * what ecsguard's own program bodies add.
 *
 * The list mirrors the agent's attachments one for one on the benchmark VM (both syscall
 * concerns on the tracepoints): one program on each open exit, where the host-namespace
 * concern's open check is tail-called by the root filesystem concern's program
 * (bpf/rootfs.bpf.c, eg_open_tails) rather than attached beside it; every extra program on a
 * tracepoint is one more call, and the floor pays what the agent pays. Of the four
 * cap_capable variants in bpf/cap.bpf.c only tp_btf/cap_capable is here: it is the one the
 * agent uses on kernels with the capability:cap_capable tracepoint (6.14+), which is what the
 * benchmark VM runs. Keep this list in step with bpf/<concern>.bpf.c.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/* One slot for all programs: the count is only a sanity check that the hooks fired; per
 * program counts and times come from kernel.bpf_stats_enabled (bench.py reads them). */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} floor_count SEC(".maps");

/* Per-CPU, so a plain increment: no atomic, no contention between CPUs. */
static __always_inline int count_one(void)
{
    __u32 zero = 0;
    __u64 *v = bpf_map_lookup_elem(&floor_count, &zero);
    if (v)
        (*v)++;
    return 0;
}

/* BTF-enabled raw tracepoints (bpf/lifecycle.bpf.c, bpf/cap.bpf.c). */
#define FLOOR_TP_BTF(event)                                                                        \
    SEC("tp_btf/" #event)                                                                          \
    int floor_##event(__u64 *ctx)                                                                  \
    {                                                                                              \
        return count_one();                                                                        \
    }

/* Syscall tracepoints; `who` keeps the two programs on one tracepoint apart. */
#define FLOOR_SYS(who, dir, name)                                                                  \
    SEC("tracepoint/syscalls/sys_" #dir "_" #name)                                                 \
    int floor_##who##_##dir##_##name(void *ctx)                                                    \
    {                                                                                              \
        return count_one();                                                                        \
    }

/* bpf/lifecycle.bpf.c */
FLOOR_TP_BTF(cgroup_attach_task)
FLOOR_TP_BTF(sched_process_fork)
FLOOR_TP_BTF(sched_process_exec)
FLOOR_TP_BTF(sched_process_exit)
FLOOR_TP_BTF(cgroup_mkdir)
FLOOR_TP_BTF(cgroup_rmdir)

/* bpf/cap.bpf.c, the variant the agent picks on 6.14+ (bench/floor.c checks for it). */
FLOOR_TP_BTF(cap_capable)

/* bpf/rootfs.bpf.c: open exits, path operations, executable mappings. */
FLOOR_SYS(rootfs, exit, openat)
FLOOR_SYS(rootfs, exit, open)
FLOOR_SYS(rootfs, exit, creat)
FLOOR_SYS(rootfs, exit, openat2)
FLOOR_SYS(rootfs, exit, unlinkat)
FLOOR_SYS(rootfs, exit, renameat)
FLOOR_SYS(rootfs, exit, renameat2)
FLOOR_SYS(rootfs, exit, mkdirat)
FLOOR_SYS(rootfs, exit, linkat)
FLOOR_SYS(rootfs, exit, symlinkat)
FLOOR_SYS(rootfs, exit, mknodat)
FLOOR_SYS(rootfs, exit, fchmodat)
FLOOR_SYS(rootfs, exit, fchmodat2)
FLOOR_SYS(rootfs, exit, fchownat)
FLOOR_SYS(rootfs, exit, setxattr)
FLOOR_SYS(rootfs, exit, lsetxattr)
FLOOR_SYS(rootfs, exit, removexattr)
FLOOR_SYS(rootfs, exit, lremovexattr)
FLOOR_SYS(rootfs, exit, truncate)
FLOOR_SYS(rootfs, exit, utimensat)
FLOOR_SYS(rootfs, exit, fchmod)
FLOOR_SYS(rootfs, exit, fchown)
FLOOR_SYS(rootfs, exit, fsetxattr)
FLOOR_SYS(rootfs, exit, fremovexattr)
/* Legacy syscalls: x86_64 only; bench/floor.c skips them where tracefs lacks them. */
FLOOR_SYS(rootfs, exit, unlink)
FLOOR_SYS(rootfs, exit, rmdir)
FLOOR_SYS(rootfs, exit, rename)
FLOOR_SYS(rootfs, exit, mkdir)
FLOOR_SYS(rootfs, exit, link)
FLOOR_SYS(rootfs, exit, symlink)
FLOOR_SYS(rootfs, exit, mknod)
FLOOR_SYS(rootfs, exit, chmod)
FLOOR_SYS(rootfs, exit, chown)
FLOOR_SYS(rootfs, exit, lchown)
FLOOR_SYS(rootfs, exit, utime)
FLOOR_SYS(rootfs, exit, utimes)
FLOOR_SYS(rootfs, exit, futimesat)
FLOOR_SYS(rootfs, enter, mmap)
FLOOR_SYS(rootfs, enter, mprotect)
/* bpf/rootfs_escapes.bpf.h: connects to host sockets, userfaultfd. */
FLOOR_SYS(rootfs, exit, connect)
FLOOR_SYS(rootfs, exit, userfaultfd)

/* bpf/hostns.bpf.c */
FLOOR_SYS(hostns, enter, setns)
FLOOR_SYS(hostns, exit, setns)
FLOOR_SYS(hostns, enter, ptrace)
FLOOR_SYS(hostns, enter, process_vm_writev)
FLOOR_SYS(hostns, enter, kill)
FLOOR_SYS(hostns, enter, tkill)
FLOOR_SYS(hostns, enter, tgkill)
FLOOR_SYS(hostns, enter, pidfd_send_signal)
/* Its open check runs from the rootfs open exits above (a tail call): no program of its own. */
