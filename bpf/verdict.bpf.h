/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The container verdict of the current task, cached per CPU (eg_verdict_cache, maps.bpf.h),
 * with what the concerns' repeat paths need next to it: the executable's identity, the
 * container's slot, the root-filesystem file last written (bpf/rootfs.bpf.c) and the last
 * capability key (bpf/cap.bpf.c). On this VM (PTI without PCID: the TLB is flushed at every
 * kernel entry) a program's cost follows the pages it touches. The v1 cgroup id chain (css_set,
 * css, cgroup, kernfs node) and the eg_containers lookup (bucket, element) were ~160 of the
 * ~410 ns of a capability check; a cache keyed by the css's serial number still read css_set and
 * css on every hit. This one is keyed by what the task itself holds, so a hit touches the task
 * (hot in the syscall already), the generations and the entry:
 *
 *  - the task (its address and start time: an address reused by a later task has another start
 *    time) and its css_set pointer. A task's css_set changes at once when it migrates; the
 *    pointer alone could be a freed and reallocated css_set of other cgroups, so it is only
 *    trusted together with the task that held it;
 *  - eg_containers_gen[EG_GEN_CONTAINERS], bumped by the agent after every change to
 *    eg_containers, and eg_containers_gen[EG_GEN_MIGRATIONS], bumped by
 *    tp_btf/cgroup_attach_task (bpf/lifecycle.bpf.c) after every migration in the tracked
 *    hierarchy. A task that left its css_set and came back to a reallocated one at the same
 *    address migrated twice: the second counter has moved. The generations are read *before*
 *    the lookups they validate, so a verdict computed from a lookup that raced with an update
 *    carries the older generation;
 *  - for the executable, the task's self_exec_id (incremented by every execve): mm->exe_file,
 *    its inode and super block are three more pages per check otherwise. prctl(PR_SET_MM,
 *    PR_SET_MM_EXE_FILE) changes exe_file without an exec; until the task execs, checks stay
 *    attributed to the executable it exec'd (docs/architecture.md).
 *
 * Falls back to the uncached lookups of task.bpf.h when the maps are missing.
 */
#ifndef ECSGUARD_VERDICT_BPF_H
#define ECSGUARD_VERDICT_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "maps.bpf.h"
#include "task.bpf.h"

/*
 * Tracepoint programs do not run preempted on this kernel, but on PREEMPT_RT (and for the
 * fexit/kprobe variants on preemptible kernels) a program can be preempted on its CPU by another
 * that writes the same per-CPU slot; an entry mixing two writers' fields would attribute one
 * task's events to another's cgroup. Readers trust an entry only when its check word matches its
 * fields.
 */
static __always_inline __u64 eg_mix(__u64 h, __u64 v)
{
    return (h ^ v) * 0x9e3779b97f4a7c15ULL + 0x5bd1e995;
}

/*
 * Over the writer's own values, never read back from the slot: a torn slot must not match.
 * Pointers cannot enter arithmetic in a BPF program; the start time stands for the task (two
 * writers' fields mixed carry one's start time and the other's check), and the css_set pointer
 * is compared as it is (a task sharing the css_set another left has the same verdict).
 */
static __always_inline __u64 eg_verdict_check(__u64 start_time, __u64 gen, __u64 migrations,
                                              __u64 cgid, __u64 container)
{
    __u64 h = eg_mix(0x2545f4914f6cdd1dULL, start_time);
    h = eg_mix(h, gen);
    h = eg_mix(h, migrations);
    h = eg_mix(h, cgid);
    return eg_mix(h, container);
}

/* The task's start time is in it: executable fields another task left cannot match. */
static __always_inline __u64 eg_exe_check(__u64 start_time, __u64 exec_id, __u64 ino, __u64 dev)
{
    __u64 h = eg_mix(0x94d049bb133111ebULL, start_time);
    h = eg_mix(h, exec_id);
    h = eg_mix(h, ino);
    return eg_mix(h, dev);
}

/*
 * The cgroup a verdict is about: the current process's home (eg_homes) when it has one and has
 * been moved away from it, else `cgid`, its current cgroup. Only on a cache miss, and only
 * while some homed process is away (eg_containers_gen[EG_GEN_MOVED] non-zero), so host
 * processes pay nothing for it until a container has left its cgroup. The counter is raised
 * in tp_btf/cgroup_attach_task before that program bumps the migration generation, and a
 * miss reads it after the generation: a verdict cached under the new generation has seen it.
 * That tracepoint fires only once the move is done, though: a process moved by another runs
 * under its new css_set before the counter says so. `migrated` (this CPU's entry was this
 * task's, under another css_set: it was just moved) looks the home up regardless: a process
 * moved while it runs, whose CPU's entry is its own, is not attributed to where it was moved
 * even for that moment.
 */
static __always_inline __u64 eg_home_or(struct task_struct *task, __u64 cgid, bool migrated,
                                        const bool legacy)
{
    __u32 key = EG_GEN_MOVED;
    __u64 *moved = bpf_map_lookup_elem(&eg_containers_gen, &key);
    if (!migrated && (!moved || !*(volatile __u64 *)moved))
        return cgid;
    __u64 home =
        eg_home_cgroup_of(eg_current_tgid(), EG_LOAD(legacy, task, group_leader, start_boottime));
    return home ? home : cgid;
}

/*
 * True when this CPU's verdict cache already holds `task` as in no task container (the entry
 * eg_current_verdict() below would take without recomputing); false means "perhaps in one".
 * For hooks on functions every host process calls, which must stay small: they leave at once
 * for the common case and leave the full decision to a program that makes it anyway.
 */
static __always_inline bool eg_cached_host_task(struct task_struct *task, const bool legacy)
{
    __u32 zero = 0, one = EG_GEN_MIGRATIONS;
    __u64 *genp = bpf_map_lookup_elem(&eg_containers_gen, &zero);
    __u64 *migp = bpf_map_lookup_elem(&eg_containers_gen, &one);
    struct eg_verdict_cache *vc = bpf_map_lookup_elem(&eg_verdict_cache, &zero);
    if (!genp || !migp || !vc)
        return false;
    __u64 gen = *(volatile __u64 *)genp;
    __u64 migrations = *(volatile __u64 *)migp;
    __u64 t = (__u64)task, start = EG_LOAD(legacy, task, start_time);
    struct css_set *cs = EG_LOAD(legacy, task, cgroups);
    if (vc->task != t || vc->start_time != start || vc->css_set != (__u64)cs || vc->gen != gen ||
        vc->migrations != migrations)
        return false;
    __u64 c = vc->cgid, yes = vc->container;
    return yes == 0 && vc->check == eg_verdict_check(start, gen, migrations, c, yes);
}

/*
 * The verdict for the current task: true when it is in a task container; *cgid is its cgroup
 * id either way. `*entry` is this CPU's cache slot, now holding the task's verdict (NULL when
 * the maps are missing), for eg_current_exe() in the same program run. `task` is
 * eg_current_task(legacy) (task.bpf.h).
 */
static __always_inline bool eg_current_verdict(struct task_struct *task, __u64 *cgid,
                                               struct eg_verdict_cache **entry, const bool legacy)
{
    __u32 zero = 0, one = EG_GEN_MIGRATIONS;
    __u64 *genp = bpf_map_lookup_elem(&eg_containers_gen, &zero);
    __u64 *migp = bpf_map_lookup_elem(&eg_containers_gen, &one);
    struct eg_verdict_cache *vc = bpf_map_lookup_elem(&eg_verdict_cache, &zero);
    *entry = NULL;
    if (!genp || !migp || !vc) {
        *cgid = eg_home_or(task, eg_current_cgroup_id(task, legacy), false, legacy);
        return eg_is_container_cgroup(*cgid);
    }
    *entry = vc;
    __u64 gen = *(volatile __u64 *)genp;
    __u64 migrations = *(volatile __u64 *)migp;
#if !defined(__TARGET_ARCH_x86)
    /*
     * x86 keeps these loads before the lookup below. Weaker orderings (arm64) need a barrier:
     * an atomic read-modify-write is one, and on this CPU's own cache slot it costs no
     * cache-line traffic (an atomic on the shared generation would bounce it between CPUs).
     * The zero added is hidden from the compiler: an add of a constant 0 is rewritten as an
     * atomic OR, an instruction kernels before 5.12 refuse ("BPF_STX uses reserved fields":
     * the whole lifecycle object failed to load on arm64 5.10, Amazon Linux 2's Graviton
     * kernel); a plain atomic add (BPF_XADD) loads everywhere.
     */
    __u64 hidden_zero = 0;
    asm volatile("" : "+r"(hidden_zero));
    __sync_fetch_and_add(&vc->check, hidden_zero);
#endif
    __u64 t = (__u64)task, start = EG_LOAD(legacy, task, start_time);
    struct css_set *cs = EG_LOAD(legacy, task, cgroups);
    if (vc->task == t && vc->start_time == start && vc->css_set == (__u64)cs && vc->gen == gen &&
        vc->migrations == migrations) {
        __u64 c = vc->cgid, yes = vc->container;
        if (vc->check == eg_verdict_check(start, gen, migrations, c, yes)) {
            *cgid = c;
            return yes != 0;
        }
    }
    if (!cs) {
        *cgid = 0;
        return false;
    }
    *cgid = eg_css_set_cgroup_id(cs, legacy);
    bool migrated = vc->task == t && vc->start_time == start && vc->css_set != (__u64)cs;
    *cgid = eg_home_or(task, *cgid, migrated, legacy);
    struct eg_container_val *cv = *cgid ? bpf_map_lookup_elem(&eg_containers, cgid) : NULL;
    __u64 yes = cv ? (__u64)cv->slot + 1 : 0;
    vc->check = 0; /* invalid while the fields change */
    vc->exe_check = 0;
    vc->wr_check = 0;
    vc->exec_id = 0;
    vc->task = t;
    vc->start_time = start;
    vc->css_set = (__u64)cs;
    vc->gen = gen;
    vc->migrations = migrations;
    vc->cgid = *cgid;
    vc->container = yes;
    vc->check = eg_verdict_check(start, gen, migrations, *cgid, yes);
    return yes != 0;
}

/*
 * The current task when it is in a task container (its container's cgroup id in *cgid), else
 * NULL: the prologue of every program that acts only on contained processes.
 */
static __always_inline struct task_struct *eg_contained_current(__u64 *cgid, const bool legacy)
{
    struct task_struct *task = eg_current_task(legacy);
    struct eg_verdict_cache *vc;
    return eg_current_verdict(task, cgid, &vc, legacy) ? task : NULL;
}

/* true when the current task is in a task container; *cgid is its cgroup id either way. */
static __always_inline bool eg_current_container(struct task_struct *task, __u64 *cgid,
                                                 const bool legacy)
{
    struct eg_verdict_cache *entry;
    return eg_current_verdict(task, cgid, &entry, legacy);
}

/*
 * Inode number and device of the current task's executable, from the entry
 * eg_current_verdict() returned for this task in this program run (NULL: no cache).
 */
static __always_inline void eg_current_exe(struct task_struct *task, struct eg_verdict_cache *vc,
                                           __u64 *ino, __u64 *dev, const bool legacy)
{
    __u64 exec_id = EG_LOAD(legacy, task, self_exec_id) + 1;
    __u64 start = EG_LOAD(legacy, task, start_time);
    if (vc && vc->exec_id == exec_id) {
        __u64 i = vc->exe_ino, d = vc->exe_dev;
        if (vc->exe_check == eg_exe_check(start, exec_id, i, d)) {
            *ino = i;
            *dev = d;
            return;
        }
    }
    /* Direct loads; a kernel thread's NULL mm reads as 0. */
    struct file *exe = EG_LOAD(legacy, task, mm, exe_file);
    *ino = 0;
    *dev = 0;
    if (exe) {
        struct inode *exe_inode = EG_LOAD(legacy, exe, f_inode);
        *ino = EG_LOAD(legacy, exe_inode, i_ino);
        *dev = EG_LOAD(legacy, exe_inode, i_sb, s_dev);
    }
    if (!vc)
        return;
    vc->exe_check = 0;
    vc->exec_id = exec_id;
    vc->exe_ino = *ino;
    vc->exe_dev = *dev;
    vc->exe_check = eg_exe_check(start, exec_id, *ino, *dev);
}

#endif /* ECSGUARD_VERDICT_BPF_H */
