// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Process and container lifecycle: exec/fork/exit of processes in task
 * containers (for the agent's process table and lineage), cgroup birth and
 * death in the tracked hierarchy (so a new container is known before its
 * first process runs), the runtime set-up marks used by every detector, and
 * the home of every contained process (the task container it belongs to
 * wherever it is moved, and the record of a move out of it). The exec that
 * ends a container process's set-up also records the container's root for the
 * rootfs programs (eg_rootfs_roots, rootfs_root.bpf.h).
 *
 * The programs that read the current task or walk a path have "_lg" twins for
 * the legacy task-access flavour (bpf/task.bpf.h; kernels before 5.11/5.17).
 *
 * (About 500 lines: the process and container lifecycle is one concern, and the object that owns
 * the shared maps.)
 */
#include "common.bpf.h"
#include "rootfs_root.bpf.h"
#include "escape.bpf.h"

/* ---- homes (struct eg_home, events.h) ----------------------------------------------------- */

/* Cgroups a home's descendants may be nested below it (a container's own sub-cgroups). */
#define EG_HOME_DEPTH 8

/* Count a process more (+1) or less (-1) away from its home (eg_containers_gen[EG_GEN_MOVED]). */
static __always_inline void moved_add(__u64 delta)
{
    __u32 key = EG_GEN_MOVED;
    __u64 *moved = bpf_map_lookup_elem(&eg_containers_gen, &key);
    if (moved)
        __sync_fetch_and_add(moved, delta);
}

/* Whether some homed process is away from its home (eg_containers_gen[EG_GEN_MOVED]). */
static __always_inline bool eg_homes_moved(void)
{
    __u32 key = EG_GEN_MOVED;
    __u64 *moved = bpf_map_lookup_elem(&eg_containers_gen, &key);
    return !moved || *(volatile __u64 *)moved != 0;
}

/* Give process `tgid` (leader started at `start`) the home `cgid`; false when the map is full. */
static __always_inline bool set_home(__u32 tgid, __u64 cgid, __u64 start, bool away)
{
    struct eg_home h = {.cgroup_id = cgid, .start_time_ns = start};
    if (away)
        h.flags = EG_HOME_MOVED;
    if (bpf_map_update_elem(&eg_homes, &tgid, &h, BPF_ANY) != 0) {
        struct eg_counters *c = eg_counters_get();
        if (c)
            c->filter_reason[EG_FILTER_HOMES_FULL]++;
        return false;
    }
    if (away)
        moved_add(1);
    return true;
}

/*
 * Whether `task` is in a mount namespace of its own, not the host's: a container's process,
 * never runc's init before it unshares (which a home must not be given to: it is set-up, and
 * its mark may not exist yet, see eg_in_setup). False when the host's is unknown.
 */
static __always_inline bool own_mount_ns(struct task_struct *task)
{
    return eg_host_mnt_ns && task->nsproxy->mnt_ns->ns.inum != eg_host_mnt_ns;
}

/* Whether cgroup `cg` is `home` or below it (within EG_HOME_DEPTH levels). */
static __always_inline bool within_home(struct cgroup *cg, __u64 home)
{
#pragma unroll
    for (int i = 0; i < EG_HOME_DEPTH; i++) {
        if (!cg)
            return false;
        if (BPF_CORE_READ(cg, kn, id) == home)
            return true;
        struct cgroup_subsys_state *parent = BPF_CORE_READ(cg, self.parent);
        if (!parent)
            return false;
        cg = BPF_CORE_READ(parent, cgroup);
    }
    return false;
}

/*
 * A homed process was moved out of its home (or born outside it, EG_LEFT_AT_CLONE): the record
 * of that, urgent (docs/findings.md). `path`: the destination's path; NULL: only its name known.
 */
static __always_inline void emit_left(struct task_struct *task, __u64 home, struct cgroup *dst,
                                      const char *path, bool writer_homed, __u32 flags)
{
    eg_count_seen(EG_EVENT_CGROUP_LEFT);
    struct eg_cgroup_left_event *e = eg_reserve(EG_EVENT_CGROUP_LEFT, sizeof(*e));
    if (!e)
        return;
    eg_fill_header(&e->hdr, task, home, EG_EVENT_CGROUP_LEFT, sizeof(*e));
    e->dst_cgroup_id = BPF_CORE_READ(dst, kn, id);
    e->dst_level = BPF_CORE_READ(dst, level);
    e->writer_tgid = eg_current_tgid();
    e->left_flags = flags;
    if (e->writer_tgid == e->hdr.tgid)
        e->left_flags |= EG_LEFT_BY_ITSELF;
    if (writer_homed)
        e->left_flags |= EG_LEFT_BY_CONTAINED;
    if (eg_is_container_cgroup(e->dst_cgroup_id))
        e->left_flags |= EG_LEFT_INTO_CONTAINER;
    e->_pad0 = 0;
    bpf_get_current_comm(e->writer_comm, sizeof(e->writer_comm));
    if (path)
        bpf_probe_read_kernel_str(e->dst_path, sizeof(e->dst_path), path);
    else
        bpf_probe_read_kernel_str(e->dst_path, sizeof(e->dst_path), BPF_CORE_READ(dst, kn, name));
    eg_submit(e, EG_EVENT_CGROUP_LEFT, true);
}

/*
 * A task joined a cgroup of the tracked hierarchy (the tracepoint fires once the move is done).
 *
 * A task with a home (a contained process) is never runtime set-up, whoever moved it: it keeps
 * its home, and a move out of it is reported (EG_EVENT_CGROUP_LEFT) and counted in
 * EG_GEN_MOVED, so every verdict keeps attributing it, and the children it forks, to its home.
 *
 * A home-less task has not exec'd its entrypoint yet: runtime set-up, marked with the mount
 * namespace of the runtime that moved it (the writer of cgroup.procs, i.e. current), because
 * set-up ends at the first exec outside the runtime's namespace: `runc run`'s init joins in
 * the host namespace and unshares later; `runc exec`'s init has already entered the
 * container's. Only a runtime can create the mark: a writer with a home, or one in a task
 * container's cgroup, is a container moving a process, and creates none.
 */
static __always_inline int cgroup_attach(struct cgroup *dst_cgrp, const char *path,
                                         struct task_struct *task, const bool legacy)
{
    if (BPF_CORE_READ(dst_cgrp, root, hierarchy_id) != (int)eg_tracked_hierarchy)
        return 0;
    __u32 tgid = BPF_CORE_READ(task, tgid);
    struct eg_home *home = eg_task_home(task);
    bool left = false;
    __u64 home_cgid = 0;
    if (home) {
        home_cgid = home->cgroup_id;
        bool away = BPF_CORE_READ(dst_cgrp, kn, id) != home_cgid;
        /* Moves of one process are serialised by the kernel (cgroup_threadgroup_rwsem). */
        if (away && !(home->flags & EG_HOME_MOVED)) {
            home->flags |= EG_HOME_MOVED;
            moved_add(1);
        } else if (!away && (home->flags & EG_HOME_MOVED)) {
            home->flags &= ~EG_HOME_MOVED;
            moved_add((__u64)-1);
        }
        left = away && !within_home(dst_cgrp, home_cgid);
    }
    /*
     * Cached container verdicts from before this migration are no longer trusted. After
     * EG_GEN_MOVED above: a verdict computed under the new generation has seen the count.
     */
    __u32 key = EG_GEN_MIGRATIONS;
    __u64 *migrations = bpf_map_lookup_elem(&eg_containers_gen, &key);
    if (migrations)
        __sync_fetch_and_add(migrations, 1);

    struct task_struct *writer = eg_current_task(legacy);
    bool writer_homed = eg_home_of(eg_current_tgid(),
                                   EG_LOAD(legacy, writer, group_leader, start_boottime)) != NULL;
    if (home) {
        if (left)
            emit_left(task, home_cgid, dst_cgrp, path, writer_homed, 0);
        return 0;
    }
    if (writer_homed || eg_is_container_cgroup(eg_current_cgroup_id(writer, legacy)))
        return 0;
    __u32 mnt_ns = EG_LOAD(legacy, writer, nsproxy, mnt_ns, ns.inum);
    bpf_map_update_elem(&eg_setup_procs, &tgid, &mnt_ns, BPF_ANY);
    return 0;
}

SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(eg_cgroup_attach_task, struct cgroup *dst_cgrp, const char *path,
             struct task_struct *task, bool threadgroup)
{
    return cgroup_attach(dst_cgrp, path, task, false);
}

SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(eg_cgroup_attach_task_lg, struct cgroup *dst_cgrp, const char *path,
             struct task_struct *task, bool threadgroup)
{
    return cgroup_attach(dst_cgrp, path, task, true);
}

/*
 * A new process. A homed parent's child inherits the home (wherever either of them is) and is
 * never set-up; one it clones straight into a cgroup outside the home is reported as a move. A
 * home-less parent's child inherits its set-up mark; a child cloned into another cgroup (clone3
 * CLONE_INTO_CGROUP) by a runtime outside task containers is set-up; any other child born in a task
 * container, of a parent in a mount namespace of its own, gets that container as its home (a
 * container the agent found already running, whose processes the start-up scan may have missed; not
 * runc's init before its mark exists).
 */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(eg_sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
    /* Both tasks are BTF pointers (tp_btf): direct loads, on every kernel (task.bpf.h). */
    __u32 child_pid = child->pid;
    __u32 child_tgid = child->tgid;
    if (child_pid != child_tgid)
        return 0; /* a new thread, not a new process */

    __u64 child_cg = eg_btf_task_cgroup_id(child);
    /*
     * A host process's fork, decided without the parent's home and set-up mark: the child
     * shares its parent's css_set (no clone into another cgroup, and the parent not moved since
     * the child was copied: a move changes the parent's), that cgroup is no task container, and
     * no homed process is away from its home (eg_containers_gen[EG_GEN_MOVED] is zero: a move
     * raises it before the mover's write returns). A homed parent is then in its home, which
     * is no container either, and a home-less one's child would be given none: nothing to
     * record. What the fast path leaves out is harmless (docs/architecture.md, "Host processes
     * at fork, exec and exit"): a home that is no container, which attributes nothing, and a set-up
     * mark, which the runtime gives anew to any process it moves into a container's cgroup.
     * Two task pointers, the child's cgroup chain (hot: just copied from the parent's) and
     * the containers bucket instead of two more hash lookups (homes, marks).
     */
    if (child->cgroups == parent->cgroups && !eg_homes_moved() && !eg_is_container_cgroup(child_cg))
        return 0;
    __u64 child_start = child->start_boottime;
    struct eg_home *parent_home = eg_btf_task_home(parent);
    bool setup = false, contained;
    if (parent_home) {
        __u64 home = parent_home->cgroup_id;
        set_home(child_tgid, home, child_start, child_cg != home);
        /*
         * clone3(CLONE_INTO_CGROUP) by a contained process: born in another cgroup than its
         * parent's, out of its home. (A child born where its moved parent is was reported
         * with the parent's move.)
         */
        struct cgroup *born_in = child_cg != home && child_cg != eg_btf_task_cgroup_id(parent)
                                     ? eg_task_cgroup(child)
                                     : NULL;
        if (born_in && !within_home(born_in, home))
            emit_left(child, home, born_in, NULL, true, EG_LEFT_AT_CLONE);
        child_cg = home;
        contained = eg_is_container_cgroup(child_cg);
    } else {
        __u32 parent_tgid = parent->tgid;
        __u32 *parent_setup = bpf_map_lookup_elem(&eg_setup_procs, &parent_tgid);
        setup = parent_setup != NULL;
        __u32 mnt_ns = parent_setup ? *parent_setup : 0;
        /* clone3(CLONE_INTO_CGROUP) puts the child straight into another cgroup. */
        __u64 parent_cg = eg_btf_task_cgroup_id(parent);
        if (!setup && child_cg != parent_cg && !eg_is_container_cgroup(parent_cg)) {
            setup = true;
            mnt_ns = parent->nsproxy->mnt_ns->ns.inum;
        }
        /* One lookup for both uses (a host process's fork makes three in all). */
        contained = eg_is_container_cgroup(child_cg);
        if (setup)
            bpf_map_update_elem(&eg_setup_procs, &child_tgid, &mnt_ns, BPF_ANY);
        else if (contained && own_mount_ns(parent))
            set_home(child_tgid, child_cg, child_start, false);
    }
    if (!contained)
        return 0;
    eg_count_seen(EG_EVENT_FORK);
    if (setup) {
        eg_count_filtered(EG_EVENT_FORK, EG_FILTER_SETUP);
        return 0;
    }
    struct eg_fork_event *e = eg_reserve_shared(EG_EVENT_FORK, sizeof(*e), child_cg);
    if (!e)
        return 0;
    eg_fill_header(&e->hdr, child, child_cg, EG_EVENT_FORK, sizeof(*e));
    eg_submit(e, EG_EVENT_FORK, false);
    return 0;
}

/* The exec record of a contained process (the agent's process table and lineage). */
static __always_inline void exec_record(struct task_struct *p, struct linux_binprm *bprm,
                                        __u64 cgid, pid_t old_pid, const bool legacy)
{
    eg_count_seen(EG_EVENT_EXEC);
    struct eg_exec_event *e = eg_reserve_shared(EG_EVENT_EXEC, sizeof(*e), cgid);
    if (!e)
        return;
    eg_fill_header(&e->hdr, p, cgid, EG_EVENT_EXEC, sizeof(*e));
    struct file *exe = BPF_CORE_READ(bprm, file);
    e->exe_ino = BPF_CORE_READ(exe, f_inode, i_ino);
    e->exe_dev = BPF_CORE_READ(exe, f_inode, i_sb, s_dev);
    e->exe_layers = eg_root_file_layers(p, exe, cgid);
    e->_pad0 = 0;
    /*
     * Started from another file than it runs: a script, whose identity the record carries.
     * Keyed by the thread that called execve, as it was then: one that was not the leader has
     * taken the leader's pid by now, and the tracepoint passes its old one.
     */
    __u32 tid = (__u32)old_pid;
    struct eg_exec_start *st = bpf_map_lookup_elem(&eg_exec_starts, &tid);
    e->script_ino = 0;
    e->script_dev = 0;
    e->script_layers = 0;
    if (st) {
        if (st->ino != e->exe_ino || st->dev != e->exe_dev) {
            e->script_ino = st->ino;
            e->script_dev = st->dev;
            e->script_layers = st->layers;
        }
        bpf_map_delete_elem(&eg_exec_starts, &tid);
    }
    bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), BPF_CORE_READ(bprm, filename));
    eg_file_path(p, exe, e->exe_path, legacy);

    struct mm_struct *mm = BPF_CORE_READ(p, mm);
    unsigned long arg_start = BPF_CORE_READ(mm, arg_start);
    unsigned long arg_end = BPF_CORE_READ(mm, arg_end);
    __u64 full = arg_end > arg_start ? arg_end - arg_start : 0;
    __u64 len = full;
    if (len > sizeof(e->args) - 1)
        len = sizeof(e->args) - 1;
    /* The mask restates the bound in a form the verifier tracks through clang's codegen. */
    len &= sizeof(e->args) - 1;
    e->args_len = 0;
    /* Cut: more than the final NUL left out. The agent marks the command line as cut. */
    if (len > 0 && bpf_probe_read_user(e->args, len, (void *)arg_start) == 0)
        e->args_len = (__u32)len | (full > len + 1 ? EG_EXEC_ARGS_CUT : 0);
    eg_submit(e, EG_EVENT_EXEC, false);
}

static __always_inline int process_exec(struct task_struct *p, pid_t old_pid,
                                        struct linux_binprm *bprm, const bool legacy)
{
    /*
     * A process in no task container by its cached verdict (bpf/verdict.bpf.h): the checks
     * this execve made already (the new stack's overcommit check, the binary's open) have
     * usually computed it for this task on this CPU, so a host process's exec costs a cache
     * hit instead of the home, the set-up mark, the cgroup chain and the containers bucket.
     * The verdict takes the home into account exactly when the per-operation programs do
     * (a homed process away from it, or moved under the cached entry); a set-up mark is left
     * on a process outside task containers until it exits (docs/architecture.md, "Host
     * processes at fork, exec and exit"). The kernel's modprobe helper is still looked at.
     */
    __u64 verdict_cg;
    struct eg_verdict_cache *vc;
    if (!eg_current_verdict(p, &verdict_cg, &vc, legacy)) {
        eg_module_helper_exec(p);
        return 0;
    }
    /* p is current, and a tracepoint argument: a BTF pointer on every kernel. */
    __u32 tgid = p->tgid;
    __u64 start = p->group_leader->start_boottime;
    __u64 cgid = eg_current_cgroup_id(p, false);
    struct eg_home *home = eg_home_of(tgid, start);
    /* Still the runtime's set-up after this exec: no home, and the set-up has not ended. */
    bool setup = false;
    if (home) {
        cgid = home->cgroup_id;
    } else {
        /*
         * The entrypoint's exec ends the runtime's set-up of this process: it is the first
         * exec outside the mount namespace of the runtime that put it in the cgroup. runc
         * re-executes itself (its memfd-cloned binary) after joining the cgroup but before
         * unsharing the mount namespace, and that exec is still set-up. From here on the
         * process has its task container as home. An exec in a task container by a process
         * that was never set-up and has a mount namespace of its own (a container already
         * running when the agent started) gives it that home too.
         */
        __u32 *joined_in = bpf_map_lookup_elem(&eg_setup_procs, &tgid);
        bool ended = joined_in && *joined_in != p->nsproxy->mnt_ns->ns.inum;
        if (ended)
            bpf_map_delete_elem(&eg_setup_procs, &tgid);
        setup = !ended && !(!joined_in && own_mount_ns(p));
        if (!setup && eg_is_container_cgroup(cgid))
            set_home(tgid, cgid, start, false);
        /* The root the runtime gave the container, before the entrypoint's first instruction. */
        if (ended)
            eg_capture_container_root(p, cgid);
    }

    if (!eg_is_container_cgroup(cgid)) {
        /* The kernel's modprobe helper takes the request it serves (bpf/escape.bpf.h). */
        eg_module_helper_exec(p);
        return 0;
    }
    exec_record(p, bprm, cgid, old_pid, legacy);
    /* After the exec record: the agent's process table knows the new image first. */
    eg_escape_at_exec(p, bprm, cgid, setup, legacy);
    return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(eg_sched_process_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
    return process_exec(p, old_pid, bprm, false);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(eg_sched_process_exec_lg, struct task_struct *p, pid_t old_pid,
             struct linux_binprm *bprm)
{
    return process_exec(p, old_pid, bprm, true);
}

/*
 * A kernel module being loaded (init_module/finit_module): a container escape when a contained
 * process does it, or the kernel's modprobe for one (bpf/escape.bpf.h). Loaded only where the
 * kernel has module support (the loader checks for the tracepoint's BTF).
 */
SEC("tp_btf/module_load")
int BPF_PROG(eg_module_load, struct module *mod)
{
    eg_escape_module_load(bpf_get_current_task_btf(), mod, false);
    return 0;
}

SEC("tp_btf/module_load")
int BPF_PROG(eg_module_load_lg, struct module *mod)
{
    eg_escape_module_load(eg_current_task(true), mod, true);
    return 0;
}

/* A module asked for by a contained process (request_module), for the load that follows. */
SEC("tp_btf/module_request")
int BPF_PROG(eg_module_request, char *name, bool wait, unsigned long ip)
{
    eg_escape_module_request(bpf_get_current_task_btf(), name, false);
    return 0;
}

SEC("tp_btf/module_request")
int BPF_PROG(eg_module_request_lg, char *name, bool wait, unsigned long ip)
{
    eg_escape_module_request(eg_current_task(true), name, true);
    return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(eg_sched_process_exit, struct task_struct *p)
{
    /* Only the end of the whole thread group matters to the process table. */
    /* p is a BTF pointer (tp_btf): direct loads (task.bpf.h). */
    if (p->signal->live.counter != 0)
        return 0;
    __u32 tgid = p->tgid;
    /* A lookup first: a delete takes the bucket's lock even to find nothing, and nearly every
     * process that ends (a host process's) has no mark. */
    if (bpf_map_lookup_elem(&eg_setup_procs, &tgid))
        bpf_map_delete_elem(&eg_setup_procs, &tgid);

    /*
     * p is current here. In no task container by its cached verdict, with no homed process
     * away from its home: a homed process would be in its home, a container, so this one has
     * none to delete (or one whose container is gone, which the agent's sweep of ended
     * processes removes, agent/kernel/homes.c). The host process's exit costs a cache hit.
     */
    __u64 verdict_cg;
    struct eg_verdict_cache *vc;
    if (!eg_current_verdict(p, &verdict_cg, &vc, false) && !eg_homes_moved()) {
        eg_module_helper_exit(p);
        return 0;
    }
    __u64 cgid = eg_btf_task_cgroup_id(p);
    struct eg_home *home = eg_btf_task_home(p);
    if (home) {
        cgid = home->cgroup_id;
        if (home->flags & EG_HOME_MOVED)
            moved_add((__u64)-1);
        bpf_map_delete_elem(&eg_homes, &tgid);
    }
    if (!eg_is_container_cgroup(cgid)) {
        eg_module_helper_exit(p);
        return 0;
    }
    eg_count_seen(EG_EVENT_EXIT);
    struct eg_exit_event *e = eg_reserve_shared(EG_EVENT_EXIT, sizeof(*e), cgid);
    if (!e)
        return 0;
    eg_fill_header(&e->hdr, p, cgid, EG_EVENT_EXIT, sizeof(*e));
    e->exit_code = BPF_CORE_READ(p, signal, group_exit_code);
    e->_pad0 = 0;
    eg_submit(e, EG_EVENT_EXIT, false);
    return 0;
}

#define EG_CONTAINER_ID_LEN 64
#define EG_SCOPE_PREFIX "docker-"
#define EG_SCOPE_SUFFIX ".scope"

static __always_inline bool lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* 64 lowercase hex digits at `id` (a constant offset into the caller's buffer). */
static __always_inline bool hex_container_id(const char *id)
{
    for (int i = 0; i < EG_CONTAINER_ID_LEN; i++)
        if (!lower_hex(id[i]))
            return false;
    return true;
}

/*
 * A cgroup named like a container: 64 lowercase hex digits (/ecs/<task>/<id>, /docker/<id>) or
 * docker-<64 hex>.scope (systemd layouts). The name alone, not the path: collectors/cgroup_path.c
 * decides with the whole path when the agent reads the record, and drops what this took wrongly
 * (a host cgroup named so); a container-created cgroup below its own is its container's already.
 */
static __always_inline bool named_like_container(struct cgroup *cgrp)
{
    char name[EG_CONTAINER_ID_LEN + sizeof(EG_SCOPE_PREFIX) + sizeof(EG_SCOPE_SUFFIX)] = {};
    long n = bpf_probe_read_kernel_str(name, sizeof(name), BPF_CORE_READ(cgrp, kn, name));
    if (n == EG_CONTAINER_ID_LEN + 1)
        return hex_container_id(name);
    if (n != sizeof(name) - 1)
        return false;
    for (int i = 0; i < (int)sizeof(EG_SCOPE_PREFIX) - 1; i++)
        if (name[i] != EG_SCOPE_PREFIX[i])
            return false;
    for (int i = 0; i < (int)sizeof(EG_SCOPE_SUFFIX) - 1; i++)
        if (name[sizeof(EG_SCOPE_PREFIX) - 1 + EG_CONTAINER_ID_LEN + i] != EG_SCOPE_SUFFIX[i])
            return false;
    return hex_container_id(name + sizeof(EG_SCOPE_PREFIX) - 1);
}

/*
 * Registers a new container cgroup in eg_containers at once, with no slot yet: until the agent
 * has read this cgroup_mkdir record (under load, after the container's first processes ran:
 * issue 17), the container is a container to every program, and its events are sent. The agent
 * then writes the slot, or deletes the entry when the whole path is not a container's.
 */
static __always_inline void register_pending_container(struct cgroup *cgrp, __u64 cgid)
{
    if (!named_like_container(cgrp))
        return;
    struct eg_container_val v = {.slot = EG_SLOT_PENDING, .flags = EG_CONTAINER_PENDING};
    bpf_map_update_elem(&eg_containers, &cgid, &v, BPF_NOEXIST);
}

/* A removed cgroup the agent never gave a slot (it missed the mkdir record): not left behind. */
static __always_inline void forget_pending_container(__u64 cgid)
{
    struct eg_container_val *v = bpf_map_lookup_elem(&eg_containers, &cgid);
    if (v && v->slot == EG_SLOT_PENDING)
        bpf_map_delete_elem(&eg_containers, &cgid);
}

static __always_inline int emit_cgroup_event(struct cgroup *cgrp, const char *path, __u32 kind,
                                             const bool legacy)
{
    __u32 hid = BPF_CORE_READ(cgrp, root, hierarchy_id);
    if (hid != eg_tracked_hierarchy)
        return 0;
    __u64 cgid = BPF_CORE_READ(cgrp, kn, id);
    if (kind == EG_EVENT_CGROUP_MKDIR)
        register_pending_container(cgrp, cgid);
    else
        forget_pending_container(cgid);
    eg_count_seen(kind);
    struct eg_cgroup_event *e = eg_reserve(kind, sizeof(*e));
    if (!e)
        return 0;
    struct task_struct *task = eg_current_task(legacy);
    eg_fill_header(&e->hdr, task, eg_current_cgroup_id(task, legacy), kind, sizeof(*e));
    e->cgroup_id = cgid;
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
