/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Resolve a pid to its task in the kernel, the way find_task_by_vpid() does, on every kernel
 * the agent supports. The kfuncs for this (bpf_task_from_pid 6.2, bpf_task_from_vpid 6.13) are
 * missing on the kernels most ECS hosts run (5.10, 6.1, 6.12), and a kernel-only code path would
 * leave the others untested; so the pid namespace's idr is walked here with CO-RE reads.
 *
 * A pid namespace keeps its pids in `ns->idr`, an xarray (since 4.20) of struct pid pointers
 * indexed by pid number. Internal entries (low bits 10) point at xa_nodes of 64 slots; a pid
 * number has at most 22 bits (PID_MAX_LIMIT 4M), so four levels reach every pid. The task is
 * the first on the struct pid's PIDTYPE_PID list (pid_task()).
 *
 * Programs run inside an RCU read-side section, as the kernel's own lookup does: a struct pid
 * found here is not freed under the program. The answer can still be overtaken, exactly like
 * the syscall's own lookup (the target exits and its number is reused between this read and
 * the syscall's); the target's start time, read with it, tells two incarnations apart.
 * Nothing is referenced, so nothing is released. Reads that race with an insertion can see a
 * retry entry or an empty slot: the pid is then reported as not resolved, never as another
 * process.
 */
#ifndef ECSGUARD_PID_BPF_H
#define ECSGUARD_PID_BPF_H

#define EG_XA_CHUNK_SHIFT 6
#define EG_XA_CHUNK_MASK ((1UL << EG_XA_CHUNK_SHIFT) - 1)
#define EG_XA_MAX_LEVELS 4 /* 4 x 6 bits >= the 22 bits of PID_MAX_LIMIT */
#define EG_PIDTYPE_PID 0

static __always_inline bool eg_xa_is_node(const void *entry)
{
    unsigned long v = (unsigned long)entry;
    return (v & 3) == 2 && v > 4096;
}

/* idr_find(): the pointer stored under `id`, NULL when there is none. */
static __always_inline void *eg_idr_find(struct idr *idr, unsigned long id)
{
    unsigned long index = id - BPF_CORE_READ(idr, idr_base);
    void *entry = BPF_CORE_READ(idr, idr_rt.xa_head);
    if (!eg_xa_is_node(entry))
        return index == 0 && ((unsigned long)entry & 3) == 0 ? entry : NULL;
    struct xa_node *node = (struct xa_node *)((unsigned long)entry - 2);
    unsigned char shift = BPF_CORE_READ(node, shift);
    /* The root node's height bounds the index it can hold (radix_tree_load_root). */
    if (shift >= 64 - EG_XA_CHUNK_SHIFT || (index >> shift) > EG_XA_CHUNK_MASK)
        return NULL;
#pragma unroll
    for (int level = 0; level < EG_XA_MAX_LEVELS; level++) {
        unsigned long offset = (index >> (shift & 63)) & EG_XA_CHUNK_MASK;
        entry = NULL;
        bpf_core_read(&entry, sizeof(entry), &node->slots[offset]);
        if (!eg_xa_is_node(entry) || shift == 0)
            break;
        node = (struct xa_node *)((unsigned long)entry - 2);
        shift = BPF_CORE_READ(node, shift);
    }
    /* A node still (deeper than any pid), a retry or a value entry: not a struct pid. */
    return ((unsigned long)entry & 3) == 0 ? entry : NULL;
}

/* pid_task(pid, PIDTYPE_PID): the task a struct pid names, NULL once it has gone. */
static __always_inline struct task_struct *eg_pid_task(struct pid *pid)
{
    if (!pid)
        return NULL;
    struct hlist_node *first = BPF_CORE_READ(pid, tasks[EG_PIDTYPE_PID].first);
    if (!first)
        return NULL;
    return (struct task_struct *)((char *)first -
                                  bpf_core_field_offset(struct task_struct, pid_links));
}

/* The pid namespace `task` sees (task_active_pid_ns()). */
static __always_inline struct pid_namespace *eg_task_active_pid_ns(struct task_struct *task)
{
    struct pid *p = BPF_CORE_READ(task, thread_pid);
    unsigned int level = BPF_CORE_READ(p, level);
    struct upid up = {};
    bpf_core_read(&up, sizeof(up), &p->numbers[level & 31]);
    return up.ns;
}

/* find_task_by_vpid(): the task `vpid` names in the pid namespace `task` sees. */
static __always_inline struct task_struct *eg_task_by_vpid(struct task_struct *task, __s32 vpid)
{
    struct pid_namespace *ns = eg_task_active_pid_ns(task);
    if (!ns || vpid <= 0)
        return NULL;
    return eg_pid_task(eg_idr_find(&ns->idr, (unsigned long)vpid));
}

#endif
