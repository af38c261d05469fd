/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Who the task is, uncached: its cgroup id in the tracked hierarchy (v1 controller or v2), for
 * any task or, by direct loads, for the current one; its tgid; whether a cgroup is a task
 * container's (eg_containers); whether a process is still the runtime's set-up
 * (eg_setup_procs); the task container a process belongs to wherever it is now (eg_homes). The
 * cached verdict of the current task built on these is verdict.bpf.h.
 */
#ifndef ECSGUARD_TASK_BPF_H
#define ECSGUARD_TASK_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
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

/* The cgroup of any task in the tracked hierarchy (NULL when none). */
static __always_inline struct cgroup *eg_task_cgroup(struct task_struct *task)
{
    if (eg_cgroup_use_v1) {
        __u32 idx = eg_cgroup_v1_subsys;
        if (idx >= 64)
            return NULL;
        struct cgroup_subsys_state *css = BPF_CORE_READ(task, cgroups, subsys[idx]);
        return css ? BPF_CORE_READ(css, cgroup) : NULL;
    }
    return BPF_CORE_READ(task, cgroups, dfl_cgrp);
}

/*
 * The hot paths (every capability check, every open of a container task) read
 * the *current* task through direct loads: `current` from
 * bpf_get_current_task_btf() is a BTF pointer, so `task->a->b` compiles to
 * exception-guarded loads of ~1 ns each, where every link of a BPF_CORE_READ
 * chain is a bpf_probe_read_kernel() call (~15-25 ns on this VM; the
 * capability program spent most of its ~490 ns per check in such calls).
 *
 * Kernels before 5.11 have no bpf_get_current_task_btf (Amazon Linux 2 and older Bottlerocket
 * run 5.10). Every program that touches the current task therefore has a twin built for the
 * "legacy task access" flavour, named "<program>_lg" (agent/kernel/bpf_loader.c loads one or
 * the other): `current` from bpf_get_current_task(), a plain number to the verifier, and each
 * field read with BPF_CORE_READ. The flavour is a `const bool legacy` argument that every
 * program passes as a constant, so each twin is compiled with one arm of EG_LOAD and the fast
 * programs are the same instructions as without the twins. The legacy flavour also does
 * without the other helpers that came after 5.10: bpf_task_pt_regs (5.15,
 * eg_syscall_regs_legacy below) and bpf_loop (5.17, the unrolled walk in path.bpf.h).
 */
#define EG__ARROW1(s, a) (s)->a
#define EG__ARROW2(s, a, b) (s)->a->b
#define EG__ARROW3(s, a, b, c) (s)->a->b->c
#define EG__ARROW4(s, a, b, c, d) (s)->a->b->c->d
#define EG__ARROW5(s, a, b, c, d, e) (s)->a->b->c->d->e
#define EG__NARG(...) EG__NARG_(__VA_ARGS__, 5, 4, 3, 2, 1, 0)
#define EG__NARG_(_1, _2, _3, _4, _5, n, ...) n
#define EG__CAT(a, b) EG__CAT_(a, b)
#define EG__CAT_(a, b) a##b

/* `src->a->b...`: direct loads, or BPF_CORE_READ(src, a, b, ...) in the legacy flavour. */
#define EG_LOAD(legacy, src, ...)                                                                  \
    ((legacy) ? BPF_CORE_READ(src, __VA_ARGS__)                                                    \
              : EG__CAT(EG__ARROW, EG__NARG(__VA_ARGS__))(src, __VA_ARGS__))

/*
 * cgroup id in the tracked hierarchy of the tasks using css_set `cs` (v1 controller or v2):
 * direct loads, or CO-RE reads in the legacy flavour.
 */
static __always_inline __u64 eg_css_set_cgroup_id(struct css_set *cs, const bool legacy)
{
    if (!eg_cgroup_use_v1)
        return EG_LOAD(legacy, cs, dfl_cgrp, kn, id);
    /* Read-only data is frozen at load: the verifier sees a constant index. */
    __u32 idx = eg_cgroup_v1_subsys;
    if (idx >= sizeof(cs->subsys) / sizeof(cs->subsys[0]))
        return 0;
    struct cgroup_subsys_state *css = EG_LOAD(legacy, cs, subsys[idx]);
    return css ? EG_LOAD(legacy, css, cgroup, kn, id) : 0;
}

/*
 * The same for a BTF task pointer (a tp_btf program's argument, on every kernel since 5.5, or
 * bpf_get_current_task_btf()): direct loads, ~1 ns each, where each link of the CO-RE chains
 * above is a bpf_probe_read_kernel() call (~25 ns on the benchmark VM). The lifecycle programs,
 * which run for every fork, exec and exit on the host, read their task arguments so.
 */
static __always_inline __u64 eg_btf_task_cgroup_id(struct task_struct *task)
{
    struct css_set *cs = task->cgroups;
    return cs ? eg_css_set_cgroup_id(cs, false) : 0;
}

/* The current task: a BTF pointer, or (legacy) a pointer only CO-RE reads may follow. */
static __always_inline struct task_struct *eg_current_task(const bool legacy)
{
    return legacy ? (struct task_struct *)bpf_get_current_task() : bpf_get_current_task_btf();
}

/*
 * The current task's css in the tracked hierarchy (v1 controller or the v2 cgroup's own).
 * `task` is eg_current_task(legacy) (or, with legacy false, any BTF task pointer); other tasks
 * go through eg_task_cgroup_id().
 */
static __always_inline struct cgroup_subsys_state *eg_current_css(struct task_struct *task,
                                                                  const bool legacy)
{
    if (!eg_cgroup_use_v1)
        return &EG_LOAD(legacy, task, cgroups, dfl_cgrp)->self;
    /* Read-only data is frozen at load: the verifier sees a constant index. */
    __u32 idx = eg_cgroup_v1_subsys;
    if (idx >= sizeof(task->cgroups->subsys) / sizeof(task->cgroups->subsys[0]))
        return NULL;
    return EG_LOAD(legacy, task, cgroups, subsys[idx]);
}

static __always_inline __u64 eg_current_cgroup_id(struct task_struct *task, const bool legacy)
{
    if (!eg_cgroup_use_v1)
        return bpf_get_current_cgroup_id();
    struct cgroup_subsys_state *css = eg_current_css(task, legacy);
    return css ? EG_LOAD(legacy, css, cgroup, kn, id) : 0;
}

/*
 * The syscall's saved user registers without bpf_task_pt_regs (5.15): where task_pt_regs()
 * finds them, at the top of the task's kernel stack, `eg_task_stack_top` bytes above
 * task->stack (THREAD_SIZE less the stack padding; the agent works it out for the running
 * kernel, agent/kernel/bpf_loader.c). Cheaper than the alternative, a per-thread map filled by
 * an enter program: that would add an enter program to every hooked syscall and a hash update
 * on every open by every process of the host, plus a lookup and delete at exit; this is one
 * CO-RE read of task->stack, and the registers are read with CO-RE reads as before. `nr` is the
 * syscall number the exit tracepoint reports (-1: unchecked): registers whose syscall number
 * differs are not this syscall's (a wrong stack size), and are refused and counted
 * (EG_FILTER_SYSCALL_REGS) rather than read as arguments.
 */
static __always_inline struct pt_regs *eg_syscall_regs_legacy(struct task_struct *task, long nr)
{
    void *stack = BPF_CORE_READ(task, stack);
    if (!stack || !eg_task_stack_top)
        return NULL;
    struct pt_regs *regs =
        (struct pt_regs *)((char *)stack + eg_task_stack_top - bpf_core_type_size(struct pt_regs));
    if (nr < 0)
        return regs;
#if defined(__TARGET_ARCH_x86)
    long saved = (long)BPF_CORE_READ(regs, orig_ax);
#elif defined(__TARGET_ARCH_arm64)
    long saved = (long)BPF_CORE_READ(regs, syscallno);
#else
    long saved = nr;
#endif
    if (saved == nr)
        return regs;
    __u32 zero = 0;
    struct eg_counters *c = bpf_map_lookup_elem(&eg_counters, &zero);
    if (c)
        c->filter_reason[EG_FILTER_SYSCALL_REGS]++;
    return NULL;
}

/*
 * The current syscall's saved user registers in a syscall tracepoint (`nr`: the syscall number
 * it reports): bpf_task_pt_regs, or eg_syscall_regs_legacy (NULL when not found).
 */
static __always_inline struct pt_regs *eg_syscall_regs(long nr, const bool legacy)
{
    struct task_struct *task = eg_current_task(legacy);
    return legacy ? eg_syscall_regs_legacy(task, nr) : (struct pt_regs *)bpf_task_pt_regs(task);
}

/*
 * The kernel function of syscall `name` (a string literal), for fentry/fexit sections: it takes
 * the task's saved user registers, so a program there reads the same arguments a syscall
 * tracepoint does, without the tracepoint (whose attachment sends every syscall of every task
 * through the tracing slow path).
 */
#if defined(__TARGET_ARCH_x86)
#define EG_SYSCALL_FN(name) "__x64_sys_" name
#elif defined(__TARGET_ARCH_arm64)
#define EG_SYSCALL_FN(name) "__arm64_sys_" name
#endif

/*
 * The registers of an fentry/fexit program on a syscall's function (EG_SYSCALL_FN), whose
 * context `ctx` holds the function's one argument (the registers) then, at fexit, its return
 * value. The fast flavour takes the argument. The legacy twins (5.10) never read it: 5.10's
 * verifier refuses any read of an argument whose BTF type points to a declaration only, which
 * `struct pt_regs` is in some syscalls' compilation units there (process_vm_writev,
 * userfaultfd, mprotect), so they find the same registers on the task (unchecked: a syscall's
 * function is entered for that syscall only).
 */
#define EG_FEXIT_SYSCALL_REGS(ctx, legacy)                                                         \
    ((legacy) ? eg_syscall_regs(-1, true) : (struct pt_regs *)(ctx)[0])

/* The number of the syscall the current task is in, from its saved registers; -1 if unknown. */
static __always_inline long eg_current_syscall_nr(const bool legacy)
{
    struct pt_regs *regs = eg_syscall_regs(-1, legacy);
    if (!regs)
        return -1;
#if defined(__TARGET_ARCH_x86)
    return (long)BPF_CORE_READ(regs, orig_ax);
#elif defined(__TARGET_ARCH_arm64)
    return (long)BPF_CORE_READ(regs, syscallno);
#else
    return -1;
#endif
}

/* Syscall argument n from eg_syscall_regs(): a direct load, or a CO-RE read (legacy). */
#define EG_SYSCALL_ARG(legacy, regs, n)                                                            \
    ((legacy) ? PT_REGS_PARM##n##_CORE_SYSCALL(regs) : PT_REGS_PARM##n##_SYSCALL(regs))

static __always_inline __u32 eg_current_tgid(void)
{
    return (__u32)(bpf_get_current_pid_tgid() >> 32);
}

static __always_inline bool eg_is_container_cgroup(__u64 cgid)
{
    return cgid && bpf_map_lookup_elem(&eg_containers, &cgid) != NULL;
}

/*
 * The home of process `tgid` whose thread-group leader started at `leader_start`
 * (start_boottime), or NULL. An entry left by an earlier process with the same tgid never
 * matches; one the agent's start-up scan wrote matches within the /proc tick it was read at.
 */
static __always_inline struct eg_home *eg_home_of(__u32 tgid, __u64 leader_start)
{
    struct eg_home *h = bpf_map_lookup_elem(&eg_homes, &tgid);
    if (!h)
        return NULL;
    /* An earlier start wraps to a huge difference: never within the slack. */
    __u64 d = leader_start - h->start_time_ns;
    return d == 0 || d < h->start_slack_ns ? h : NULL;
}

/*
 * The home cgroup of process `tgid` (as eg_home_of), 0 when it has none. A global function:
 * the verifier checks it once, not again inside every program that inlines a verdict (the
 * rootfs object alone has some thirty), which kept the agent's load time where it was.
 */
__noinline __u64 eg_home_cgroup_of(__u32 tgid, __u64 leader_start)
{
    struct eg_home *h = eg_home_of(tgid, leader_start);
    return h ? h->cgroup_id : 0;
}

/* The home of any task's process (CO-RE reads). */
static __always_inline struct eg_home *eg_task_home(struct task_struct *task)
{
    return eg_home_of(BPF_CORE_READ(task, tgid), BPF_CORE_READ(task, group_leader, start_boottime));
}

/* The same for a BTF task pointer (direct loads, as eg_btf_task_cgroup_id). */
static __always_inline struct eg_home *eg_btf_task_home(struct task_struct *task)
{
    return eg_home_of(task->tgid, task->group_leader->start_boottime);
}

/* The cgroup any task is attributed to: its process's home if it has one, else its cgroup. */
static __always_inline __u64 eg_task_container_cgroup_id(struct task_struct *task)
{
    __u64 home = eg_home_cgroup_of(BPF_CORE_READ(task, tgid),
                                   BPF_CORE_READ(task, group_leader, start_boottime));
    return home ? home : eg_task_cgroup_id(task);
}

/*
 * Whether the current process (`task`, eg_current_task(legacy)) is the runtime setting its
 * container up rather than the container: the mark a runtime outside task containers gave it
 * when it moved it into the cgroup (eg_setup_procs, bpf/lifecycle.bpf.c), or, without one, no
 * home yet while still in the host's mount namespace. The second is runc's init at its start:
 * `runc run` moves it while it already runs, and the mark is made by a tracepoint that fires
 * only once the move is done, so the init's first privileged step (runc 1.1 bind-mounts its own
 * binary read-only before re-executing it) can come in between. A container's process always
 * has its own mount namespace; one that entered the host's has a home. A mark, once made, is
 * read first: the other test costs nothing to a container process (its mount namespace differs)
 * and one hash lookup to a home-less process in the host's.
 */
static __always_inline bool eg_in_setup(struct task_struct *task, const bool legacy)
{
    __u32 tgid = eg_current_tgid();
    if (bpf_map_lookup_elem(&eg_setup_procs, &tgid))
        return true;
    if (!eg_host_mnt_ns || EG_LOAD(legacy, task, nsproxy, mnt_ns, ns.inum) != eg_host_mnt_ns)
        return false;
    return !eg_home_cgroup_of(tgid, EG_LOAD(legacy, task, group_leader, start_boottime));
}

#endif /* ECSGUARD_TASK_BPF_H */
