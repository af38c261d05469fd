/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Who the task is, uncached: its cgroup id in the tracked hierarchy (v1 controller or v2), for
 * any task or, by direct loads, for the current one; its tgid; whether a cgroup is a task
 * container's (eg_containers); whether a process is still the runtime's set-up
 * (eg_setup_procs). The cached verdict of the current task built on these is verdict.bpf.h.
 */
#ifndef ECSGUARD_TASK_BPF_H
#define ECSGUARD_TASK_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "maps.bpf.h"

/* cgroup id of a task in the tracked hierarchy (v1 controller or v2). */
static __always_inline __u64 eg_task_cgroup_id(struct task_struct *task)
{
    if (eg_cgroup_use_v1) {
        __u32 idx = eg_cgroup_v1_subsys;
        if (idx >= 64)
            return 0;
        struct cgroup_subsys_state *css = BPF_CORE_READ(task, cgroups, subsys[idx]);
        if (!css)
            return 0;
        return BPF_CORE_READ(css, cgroup, kn, id);
    }
    return BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
}

/*
 * The hot paths (every capability check, every open of a container task) read
 * the *current* task through direct loads: `current` from
 * bpf_get_current_task_btf() is a BTF pointer, so `task->a->b` compiles to
 * exception-guarded loads of ~1 ns each, where every link of a BPF_CORE_READ
 * chain is a bpf_probe_read_kernel() call (~15-25 ns on this VM; the
 * capability program spent most of its ~490 ns per check in such calls).
 * `task` must be bpf_get_current_task_btf(); other tasks go through
 * eg_task_cgroup_id().
 */
/* The current task's css in the tracked hierarchy (v1 controller or the v2 cgroup's own). */
static __always_inline struct cgroup_subsys_state *eg_current_css(struct task_struct *task)
{
    if (!eg_cgroup_use_v1)
        return &task->cgroups->dfl_cgrp->self;
    /* Read-only data is frozen at load: the verifier sees a constant index. */
    __u32 idx = eg_cgroup_v1_subsys;
    if (idx >= sizeof(task->cgroups->subsys) / sizeof(task->cgroups->subsys[0]))
        return NULL;
    return task->cgroups->subsys[idx];
}

static __always_inline __u64 eg_current_cgroup_id(struct task_struct *task)
{
    if (!eg_cgroup_use_v1)
        return bpf_get_current_cgroup_id();
    struct cgroup_subsys_state *css = eg_current_css(task);
    return css ? css->cgroup->kn->id : 0;
}

static __always_inline __u32 eg_current_tgid(void)
{
    return (__u32)(bpf_get_current_pid_tgid() >> 32);
}

static __always_inline bool eg_is_container_cgroup(__u64 cgid)
{
    return cgid && bpf_map_lookup_elem(&eg_containers, &cgid) != NULL;
}

static __always_inline bool eg_in_setup(__u32 tgid)
{
    return bpf_map_lookup_elem(&eg_setup_procs, &tgid) != NULL;
}

#endif /* ECSGUARD_TASK_BPF_H */
