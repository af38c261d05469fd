/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Namespaces and pids, for the host-namespace programs (hostns.bpf.c, the only object that
 * includes this): which of a task's namespaces are the host's (the host's inode numbers are
 * load-time values the agent reads from its own /proc/self/ns), a task's active pid namespace,
 * and the task a pidfd or a struct pid refers to (bpf/pid.bpf.h: nothing is referenced, so
 * nothing is released). Apart from hostns.bpf.c so that file holds the programs.
 */
#ifndef ECSGUARD_NAMESPACES_BPF_H
#define ECSGUARD_NAMESPACES_BPF_H

#include "common.bpf.h"
#include "pid.bpf.h"

#define EG_CLONE_NEWNS 0x00020000
#define EG_CLONE_NEWCGROUP 0x02000000
#define EG_CLONE_NEWUTS 0x04000000
#define EG_CLONE_NEWIPC 0x08000000
#define EG_CLONE_NEWPID 0x20000000
#define EG_CLONE_NEWNET 0x40000000
#define EG_NS_WATCHED                                                                              \
    (EG_CLONE_NEWNS | EG_CLONE_NEWCGROUP | EG_CLONE_NEWUTS | EG_CLONE_NEWIPC | EG_CLONE_NEWPID |   \
     EG_CLONE_NEWNET)

#define EG_NSFS_MAGIC 0x6e736673
#define EG_PIDFS_MAGIC 0x50494446
#define EG_ANON_INODE_FS_MAGIC 0x09041934 /* pidfds before pidfs (< 6.9) */

/*
 * The host's namespace inode numbers, from the agent's /proc/self/ns (0 = unknown). The mount
 * namespace's, eg_host_mnt_ns, is in maps.bpf.h: every object's set-up test reads it.
 */
const volatile __u32 eg_host_pid_ns = 0;
const volatile __u32 eg_host_net_ns = 0;
const volatile __u32 eg_host_uts_ns = 0;
const volatile __u32 eg_host_ipc_ns = 0;
const volatile __u32 eg_host_cgroup_ns = 0;

/* CLONE_NEW* kinds of `task` whose namespace is the host's (pid: the one for children). */
static __always_inline __u32 host_ns_mask(struct task_struct *task)
{
    struct nsproxy *nsp = BPF_CORE_READ(task, nsproxy);
    __u32 m = 0;
    if (!nsp)
        return 0;
    if (eg_host_mnt_ns && BPF_CORE_READ(nsp, mnt_ns, ns.inum) == eg_host_mnt_ns)
        m |= EG_CLONE_NEWNS;
    if (eg_host_pid_ns && BPF_CORE_READ(nsp, pid_ns_for_children, ns.inum) == eg_host_pid_ns)
        m |= EG_CLONE_NEWPID;
    if (eg_host_net_ns && BPF_CORE_READ(nsp, net_ns, ns.inum) == eg_host_net_ns)
        m |= EG_CLONE_NEWNET;
    if (eg_host_uts_ns && BPF_CORE_READ(nsp, uts_ns, ns.inum) == eg_host_uts_ns)
        m |= EG_CLONE_NEWUTS;
    if (eg_host_ipc_ns && BPF_CORE_READ(nsp, ipc_ns, ns.inum) == eg_host_ipc_ns)
        m |= EG_CLONE_NEWIPC;
    if (eg_host_cgroup_ns && BPF_CORE_READ(nsp, cgroup_ns, ns.inum) == eg_host_cgroup_ns)
        m |= EG_CLONE_NEWCGROUP;
    return m;
}

/* The process a pidfd (or a /proc/<pid> inode's struct pid) refers to. */
static __always_inline struct task_struct *task_of_pid(struct pid *p)
{
    return eg_pid_task(p);
}

/*
 * The struct pid behind a pidfd: pidfs (6.9+) keeps it in the inode, the
 * anon-inode pidfds before it in the file (named "[pidfd]"; other anon-inode
 * files hold other things there). NULL for any other file.
 */
static __always_inline struct pid *pidfd_struct_pid(struct file *f)
{
    if (!f)
        return NULL;
    struct inode *ino = BPF_CORE_READ(f, f_inode);
    unsigned long magic = BPF_CORE_READ(ino, i_sb, s_magic);
    if (magic == EG_PIDFS_MAGIC)
        return BPF_CORE_READ(ino, i_private);
    if (magic != EG_ANON_INODE_FS_MAGIC)
        return NULL;
    char name[8] = {};
    bpf_probe_read_kernel(name, sizeof(name), BPF_CORE_READ(f, f_path.dentry, d_name.name));
    if (__builtin_memcmp(name, "[pidfd]", 8) != 0)
        return NULL;
    return BPF_CORE_READ(f, private_data);
}

static __always_inline bool active_pidns_is_host(struct task_struct *task)
{
    return BPF_CORE_READ(task, thread_pid, level) == 0;
}

/* Inode of the task's active pid namespace (the one of its own struct pid). */
static __always_inline __u32 pid_ns_inum(struct task_struct *task)
{
    return BPF_CORE_READ(eg_task_active_pid_ns(task), ns.inum);
}

#endif
