/*
 * Root filesystem writes (bpf/rootfs.bpf.c): tracepoints at the exits of the
 * open family and of the path-only file syscalls, plus sys_enter_mmap for
 * executable mappings of written files. Non-essential: the agent runs
 * without it and says why.
 */
#ifndef ECSGUARD_BPF_ROOTFS_H
#define ECSGUARD_BPF_ROOTFS_H

#include "agent/kernel/bpf_loader.h"

#define EG_ROOTFS_HOOK "rootfsWrites"

/* fd of the kernel's per-cgroup repeat counters (eg_rootfs_repeats), -1 when not loaded. */
int eg_bpf_rootfs_repeats_fd(const struct eg_bpf *b);
/* The rootfs object's eg_rootfs_pathops_seen (per-operation repeat counts), or -1. */
int eg_bpf_rootfs_pathops_seen_fd(const struct eg_bpf *b);

/*
 * The program array the root filesystem concern's tracepoint open exits tail-call for a
 * contained opener (bpf/rootfs.bpf.c, eg_open_tails), or -1: not loaded, on the function
 * hooks, or a kernel that refuses a tail call from a program with subprograms.
 */
int eg_bpf_rootfs_open_tails_fd(const struct eg_bpf *b);

#endif
