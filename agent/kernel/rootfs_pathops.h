/*
 * The path-only and fd syscalls the root filesystem concern watches (bpf/events.h's lists),
 * with this architecture's syscall numbers: what the tracepoint attachment's one path-op
 * program (eg_rootfs_exit_pathops) is told at load, in its read-only eg_pathop_syscalls, and
 * the exits the loader attaches it to. The numbers come from the C library's headers of the
 * build's architecture, the one the agent runs on.
 */
#ifndef ECSGUARD_AGENT_KERNEL_ROOTFS_PATHOPS_H
#define ECSGUARD_AGENT_KERNEL_ROOTFS_PATHOPS_H

#include <stddef.h>

#include "bpf/events.h"

struct eg_rootfs_pathop_syscall {
    const char *name; /* as in its tracepoint, sys_exit_<name> */
    long nr;
    struct eg_pathop_syscall layout;
};

extern const struct eg_rootfs_pathop_syscall eg_rootfs_pathop_syscalls[];
extern const size_t eg_rootfs_pathop_syscall_count;

#endif
