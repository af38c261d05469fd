// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Process and container lifecycle: exec/fork/exit of processes in task
 * containers (for the agent's process table and lineage), cgroup birth and
 * death in the tracked hierarchy (so a new container is known before its
 * first process runs), and the runtime set-up marks used by every detector.
 *
 * The programs that read the current task or walk a path have "_lg" twins for
 * the legacy task-access flavour (bpf/task.bpf.h; kernels before 5.11/5.17).
 */
#include "common.bpf.h"

/*
 * A task that joins a cgroup has not exec'd there yet: runtime set-up. We
 * remember the mount namespace of the runtime that moved it (the writer of
 * cgroup.procs, i.e. current), because set-up ends at the first exec outside
 * the runtime's namespace: `runc run`'s init joins in the host namespace and
 * unshares later; `runc exec`'s init has already entered the container's.
 */
static __always_inline int cgroup_attach(struct cgroup *dst_cgrp, struct task_struct *task,
                                         const bool legacy)
{
    if (BPF_CORE_READ(dst_cgrp, root, hierarchy_id) != (int)eg_tracked_hierarchy)
        return 0;
    /* Cached container verdicts from before this migration are no longer trusted. */
    __u32 key = EG_GEN_MIGRATIONS;
    __u64 *migrations = bpf_map_lookup_elem(&eg_containers_gen, &key);
    if (migrations)
        __sync_fetch_and_add(migrations, 1);
    __u32 tgid = BPF_CORE_READ(task, tgid);
    struct task_struct *runtime = eg_current_task(legacy);
    __u32 mnt_ns = BPF_CORE_READ(runtime, nsproxy, mnt_ns, ns.inum);
    bpf_map_update_elem(&eg_setup_procs, &tgid, &mnt_ns, BPF_ANY);
    return 0;
}

SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(eg_cgroup_attach_task, struct cgroup *dst_cgrp, const char *path,
             struct task_struct *task, bool threadgroup)
{
    return cgroup_attach(dst_cgrp, task, false);
}

SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(eg_cgroup_attach_task_lg, struct cgroup *dst_cgrp, const char *path,
             struct task_struct *task, bool threadgroup)
{
    return cgroup_attach(dst_cgrp, task, true);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(eg_sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
    __u32 child_pid = BPF_CORE_READ(child, pid);
    __u32 child_tgid = BPF_CORE_READ(child, tgid);
    if (child_pid != child_tgid)
        return 0; /* a new thread, not a new process */

    __u32 parent_tgid = BPF_CORE_READ(parent, tgid);
    __u64 child_cg = eg_task_cgroup_id(child);
    __u32 *parent_setup = bpf_map_lookup_elem(&eg_setup_procs, &parent_tgid);
    bool setup = parent_setup != NULL;
    __u32 mnt_ns = parent_setup ? *parent_setup : 0;
    /* clone3(CLONE_INTO_CGROUP) puts the child straight into another cgroup. */
    if (!setup && child_cg != eg_task_cgroup_id(parent)) {
        setup = true;
        mnt_ns = BPF_CORE_READ(parent, nsproxy, mnt_ns, ns.inum);
    }
    if (setup)
        bpf_map_update_elem(&eg_setup_procs, &child_tgid, &mnt_ns, BPF_ANY);
    if (!eg_is_container_cgroup(child_cg))
        return 0;
    eg_count_seen(EG_EVENT_FORK);
    if (setup) {
        eg_count_filtered(EG_EVENT_FORK, EG_FILTER_SETUP);
        return 0;
    }
    struct eg_fork_event *e = eg_reserve(EG_EVENT_FORK, sizeof(*e));
    if (!e)
        return 0;
    eg_fill_header(&e->hdr, child, child_cg, EG_EVENT_FORK, sizeof(*e));
    eg_submit(e, EG_EVENT_FORK, false);
    return 0;
}

static __always_inline int process_exec(struct task_struct *p, struct linux_binprm *bprm,
                                        const bool legacy)
{
    __u32 tgid = BPF_CORE_READ(p, tgid);
    /*
     * The entrypoint's exec ends the runtime's set-up of this process: it is
     * the first exec outside the mount namespace of the runtime that put it
     * in the cgroup. runc re-executes itself (its memfd-cloned binary) after
     * joining the cgroup but before unsharing the mount namespace, and that
     * exec is still set-up.
     */
    __u32 *joined_in = bpf_map_lookup_elem(&eg_setup_procs, &tgid);
    if (joined_in && *joined_in != BPF_CORE_READ(p, nsproxy, mnt_ns, ns.inum))
        bpf_map_delete_elem(&eg_setup_procs, &tgid);

    /* p is current, and a tracepoint argument: a BTF pointer on every kernel. */
    __u64 cgid = eg_current_cgroup_id(p, false);
    if (!eg_is_container_cgroup(cgid))
        return 0;
    eg_count_seen(EG_EVENT_EXEC);
    struct eg_exec_event *e = eg_reserve(EG_EVENT_EXEC, sizeof(*e));
    if (!e)
        return 0;
    eg_fill_header(&e->hdr, p, cgid, EG_EVENT_EXEC, sizeof(*e));
    struct file *exe = BPF_CORE_READ(bprm, file);
    e->exe_ino = BPF_CORE_READ(exe, f_inode, i_ino);
    e->exe_dev = BPF_CORE_READ(exe, f_inode, i_sb, s_dev);
    bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), BPF_CORE_READ(bprm, filename));
    eg_file_path(p, exe, e->exe_path, legacy);

    struct mm_struct *mm = BPF_CORE_READ(p, mm);
    unsigned long arg_start = BPF_CORE_READ(mm, arg_start);
    unsigned long arg_end = BPF_CORE_READ(mm, arg_end);
    __u64 len = arg_end > arg_start ? arg_end - arg_start : 0;
    if (len > sizeof(e->args) - 1)
        len = sizeof(e->args) - 1;
    /* The mask restates the bound in a form the verifier tracks through clang's codegen. */
    len &= sizeof(e->args) - 1;
    e->args_len = 0;
    if (len > 0 && bpf_probe_read_user(e->args, len, (void *)arg_start) == 0)
        e->args_len = (__u32)len;
    eg_submit(e, EG_EVENT_EXEC, false);
    return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(eg_sched_process_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
    return process_exec(p, bprm, false);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(eg_sched_process_exec_lg, struct task_struct *p, pid_t old_pid,
             struct linux_binprm *bprm)
{
    return process_exec(p, bprm, true);
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(eg_sched_process_exit, struct task_struct *p)
{
    /* Only the end of the whole thread group matters to the process table. */
    if (BPF_CORE_READ(p, signal, live.counter) != 0)
        return 0;
    __u32 tgid = BPF_CORE_READ(p, tgid);
    bpf_map_delete_elem(&eg_setup_procs, &tgid);

    __u64 cgid = eg_task_cgroup_id(p);
    if (!eg_is_container_cgroup(cgid))
        return 0;
    eg_count_seen(EG_EVENT_EXIT);
    struct eg_exit_event *e = eg_reserve(EG_EVENT_EXIT, sizeof(*e));
    if (!e)
        return 0;
    eg_fill_header(&e->hdr, p, cgid, EG_EVENT_EXIT, sizeof(*e));
    e->exit_code = BPF_CORE_READ(p, signal, group_exit_code);
    e->_pad0 = 0;
    eg_submit(e, EG_EVENT_EXIT, false);
    return 0;
}

static __always_inline int emit_cgroup_event(struct cgroup *cgrp, const char *path, __u32 kind,
                                             const bool legacy)
{
    __u32 hid = BPF_CORE_READ(cgrp, root, hierarchy_id);
    if (hid != eg_tracked_hierarchy)
        return 0;
    eg_count_seen(kind);
    struct eg_cgroup_event *e = eg_reserve(kind, sizeof(*e));
    if (!e)
        return 0;
    struct task_struct *task = eg_current_task(legacy);
    eg_fill_header(&e->hdr, task, eg_current_cgroup_id(task, legacy), kind, sizeof(*e));
    e->cgroup_id = BPF_CORE_READ(cgrp, kn, id);
    e->hierarchy_id = hid;
    e->level = BPF_CORE_READ(cgrp, level);
    bpf_probe_read_kernel_str(e->path, sizeof(e->path), path);
    /* Rare and needed before the container's first process: wake the agent now. */
    eg_submit(e, kind, true);
    return 0;
}

SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(eg_cgroup_mkdir, struct cgroup *cgrp, const char *path)
{
    return emit_cgroup_event(cgrp, path, EG_EVENT_CGROUP_MKDIR, false);
}

SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(eg_cgroup_mkdir_lg, struct cgroup *cgrp, const char *path)
{
    return emit_cgroup_event(cgrp, path, EG_EVENT_CGROUP_MKDIR, true);
}

SEC("tp_btf/cgroup_rmdir")
int BPF_PROG(eg_cgroup_rmdir, struct cgroup *cgrp, const char *path)
{
    return emit_cgroup_event(cgrp, path, EG_EVENT_CGROUP_RMDIR, false);
}

SEC("tp_btf/cgroup_rmdir")
int BPF_PROG(eg_cgroup_rmdir_lg, struct cgroup *cgrp, const char *path)
{
    return emit_cgroup_event(cgrp, path, EG_EVENT_CGROUP_RMDIR, true);
}
