/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The identity header every record starts with (struct eg_event_header, events.h): pids and
 * their start times, parent, credentials, mount and pid namespaces, comm, read from any task
 * with CO-RE reads. The one writer of the header, so all kinds carry the same identity.
 */
#ifndef ECSGUARD_EVENT_HEADER_BPF_H
#define ECSGUARD_EVENT_HEADER_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "events.h"

/* Fill the identity header from `task` (not necessarily current). */
static __always_inline void eg_fill_header(struct eg_event_header *h, struct task_struct *task,
                                           __u64 cgid, __u32 kind, __u32 size)
{
    h->ts_ns = bpf_ktime_get_boot_ns();
    h->cgroup_id = cgid;
    h->kind = kind;
    h->size = size;
    h->flags = 0;
    h->_pad0 = 0;
    h->pid = BPF_CORE_READ(task, pid);
    h->tgid = BPF_CORE_READ(task, tgid);
    h->start_time_ns = BPF_CORE_READ(task, group_leader, start_boottime);

    struct task_struct *parent = BPF_CORE_READ(task, real_parent);
    h->ppid = BPF_CORE_READ(parent, tgid);
    h->parent_start_time_ns = BPF_CORE_READ(parent, group_leader, start_boottime);

    const struct cred *cred = BPF_CORE_READ(task, real_cred);
    h->uid = BPF_CORE_READ(cred, uid.val);
    h->euid = BPF_CORE_READ(cred, euid.val);

    struct nsproxy *nsp = BPF_CORE_READ(task, nsproxy);
    h->mnt_ns_inum = BPF_CORE_READ(nsp, mnt_ns, ns.inum);

    /* The active pid namespace is the one of the task's own struct pid. */
    struct pid *tpid = BPF_CORE_READ(task, thread_pid);
    unsigned int level = BPF_CORE_READ(tpid, level);
    struct upid up;
    bpf_core_read(&up, sizeof(up), &tpid->numbers[level & 31]);
    h->pid_ns_inum = BPF_CORE_READ(up.ns, ns.inum);
    h->ns_pid = up.nr;
    /* ns_pid above is the thread's; the leader's number in the same ns is what ps shows. */
    if (h->pid != h->tgid) {
        struct pid *lpid = BPF_CORE_READ(task, group_leader, thread_pid);
        struct upid lup;
        bpf_core_read(&lup, sizeof(lup), &lpid->numbers[level & 31]);
        h->ns_pid = lup.nr;
    }
    if (level == 0)
        h->flags |= EG_HDR_HOST_PIDNS;
    BPF_CORE_READ_STR_INTO(&h->comm, task, comm);
}

#endif /* ECSGUARD_EVENT_HEADER_BPF_H */
