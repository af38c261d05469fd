/* The host-namespace concern's loader: the host's namespace identity it gives the kernel. */
#ifndef ECSGUARD_BPF_HOSTNS_H
#define ECSGUARD_BPF_HOSTNS_H

#include <stdint.h>

#include "agent/kernel/bpf_loader.h"

enum eg_host_ns_kind {
    EG_HOST_NS_MNT,
    EG_HOST_NS_PID,
    EG_HOST_NS_NET,
    EG_HOST_NS_UTS,
    EG_HOST_NS_IPC,
    EG_HOST_NS_CGROUP,
    EG_HOST_NS_KINDS
};

/* Namespace inode numbers, 0 when unreadable. */
struct eg_host_ns {
    uint32_t inum[EG_HOST_NS_KINDS];
};

/*
 * Read the host's namespaces under `proc_root` ("/proc"): those of host process `host_pid`
 * (0 or 1: the host's init; the agent shares the host's pid namespace but, as an ECS daemon
 * container, not its mount namespace), else the agent's own (`self/ns/<kind>`) where that
 * process's are unreadable. Returns how many kinds were read.
 */
int eg_hostns_read_host_ns(const char *proc_root, uint32_t host_pid, struct eg_host_ns *out);

struct eg_bpf;
/* The process-access dedup map (repeat counts the detector folds in); -1 when not loaded. */
int eg_bpf_hostns_dedup_fd(const struct eg_bpf *b);

#endif
