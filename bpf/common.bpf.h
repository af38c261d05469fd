/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Maps and helpers shared by every ecsguard kernel program.
 *
 * Each concern is its own object (cap.bpf.c, lifecycle.bpf.c, ...). The maps
 * below are declared in each of them; the agent creates them once and hands
 * the same fds to every object (bpf_map__reuse_fd) so all concerns write one
 * ring buffer and read one container set.
 */
#ifndef ECSGUARD_COMMON_BPF_H
#define ECSGUARD_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "events.h"

char LICENSE[] SEC("license") = "GPL";

#define EG_MAX_CONTAINER_CGROUPS 16384

/* open(2) flags both the rootfs and host-namespace programs test. */
#define EG_O_WRONLY 01
#define EG_O_RDWR 02
#define EG_MAX_SETUP_PROCS 8192

/* Set by the agent before load (see agent/bpf_loader.c). */
const volatile __u32 eg_cgroup_v1_subsys = 0;      /* subsys index of the tracked v1 controller */
const volatile __u32 eg_cgroup_use_v1 = 0;         /* 1: v1 controller, 0: v2 default hierarchy */
const volatile __u32 eg_tracked_hierarchy = 0;     /* hierarchy id of the tracked hierarchy */
const volatile __u64 eg_wakeup_bytes = 256 * 1024; /* force a reader wakeup past this fill */

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 8 * 1024 * 1024);
} eg_events SEC(".maps");

/* cgroup ids of task containers, maintained by the agent. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, EG_MAX_CONTAINER_CGROUPS);
    __type(key, __u64);
    __type(value, struct eg_container_val);
} eg_containers SEC(".maps");

/*
 * Bumped by the agent after every change to eg_containers: a container verdict
 * cached before the change is no longer trusted (see eg_current_container).
 */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 2); /* EG_GEN_CONTAINERS (agent), EG_GEN_MIGRATIONS (kernel) */
    __type(key, __u32);
    __type(value, __u64);
} eg_containers_gen SEC(".maps");

/*
 * Processes that joined a cgroup (or were cloned into a different one) and
 * have not yet exec'd in another mount namespace: the container runtime's
 * own set-up (runc init mounting, pivot_root, sethostname, dropping caps).
 * The value is the mount namespace inum of the runtime that moved it there.
 * Cleared at the entrypoint's exec and at exit.
 */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, EG_MAX_SETUP_PROCS);
    __type(key, __u32);
    __type(value, __u32);
} eg_setup_procs SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct eg_counters);
} eg_counters SEC(".maps");

/*
 * Non-zero while the agent sleeps on its long idle timer (agent/drain_pacer.c): the next record
 * submitted wakes it and clears the mark, so an idle agent neither polls every few milliseconds
 * nor learns late of the first event after a quiet spell.
 */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} eg_reader_idle SEC(".maps");

/*
 * Unused pointers that put every event type into the object's BTF, so the
 * agent's tests can compare the layouts the kernel programs were compiled
 * with against bpf/events.h as the host compiler sees it.
 */
struct eg_event_header *eg_abi_header __attribute__((unused));
struct eg_cap_event *eg_abi_cap __attribute__((unused));
struct eg_exec_event *eg_abi_exec __attribute__((unused));
struct eg_fork_event *eg_abi_fork __attribute__((unused));
struct eg_exit_event *eg_abi_exit __attribute__((unused));
struct eg_cgroup_event *eg_abi_cgroup __attribute__((unused));
struct eg_rootfs_write_event *eg_abi_rootfs_write __attribute__((unused));
struct eg_rootfs_pathop_event *eg_abi_rootfs_pathop __attribute__((unused));
struct eg_rootfs_exec_map_event *eg_abi_rootfs_exec_map __attribute__((unused));
struct eg_rootfs_file_key *eg_abi_rootfs_file_key __attribute__((unused));
struct eg_rootfs_pathop_key *eg_abi_rootfs_pathop_key __attribute__((unused));
struct eg_hostns_event *eg_abi_hostns __attribute__((unused));
struct eg_hostns_dedup_key *eg_abi_hostns_dedup_key __attribute__((unused));

static __always_inline struct eg_counters *eg_counters_get(void)
{
    __u32 zero = 0;
    return bpf_map_lookup_elem(&eg_counters, &zero);
}

static __always_inline void eg_count_seen(__u32 kind)
{
    struct eg_counters *c = eg_counters_get();
    if (c && kind < EG_KIND_SLOTS)
        c->kind[kind].seen++;
}

static __always_inline void eg_count_filtered(__u32 kind, __u32 reason)
{
    struct eg_counters *c = eg_counters_get();
    if (!c)
        return;
    if (kind < EG_KIND_SLOTS)
        c->kind[kind].filtered++;
    if (reason < EG_FILTER_REASONS)
        c->filter_reason[reason]++;
}

static __always_inline void eg_count_deduplicated(__u32 kind)
{
    struct eg_counters *c = eg_counters_get();
    if (c && kind < EG_KIND_SLOTS)
        c->kind[kind].deduplicated++;
}

/* Reserve a record; a failure is counted as a drop for that kind. */
static __always_inline void *eg_reserve(__u32 kind, __u32 size)
{
    void *rec = bpf_ringbuf_reserve(&eg_events, size, 0);
    if (!rec) {
        struct eg_counters *c = eg_counters_get();
        if (c && kind < EG_KIND_SLOTS)
            c->kind[kind].dropped++;
    }
    return rec;
}

/*
 * Submit without waking the reader (a wakeup costs ~3 us per event); the
 * agent drains on a short timer while records flow. Rare events that must be
 * seen at once (urgent) force the wakeup, and so does the first record after
 * the agent went idle (eg_reader_idle). So does a backlog that grows past
 * another multiple of eg_wakeup_bytes: once per step, not once per record past
 * the mark, because a reader that is already draining needs no wakeup per
 * record (under a flood that was one irq_work per event). A crossing hidden by
 * a concurrent producer on another CPU is caught at the next step or by the
 * drain timer.
 *
 * The idle mark is read with a plain load after the reserve: a producer that
 * reads it just before the agent's store becomes visible does not wake it, and
 * its record waits for the idle timer (100 ms), late but never lost.
 */
static __always_inline void eg_submit(void *rec, __u32 kind, bool urgent)
{
    __u64 flags = BPF_RB_NO_WAKEUP;
    __u32 zero = 0;
    __u64 *idle = bpf_map_lookup_elem(&eg_reader_idle, &zero);
    if (urgent) {
        flags = BPF_RB_FORCE_WAKEUP;
    } else if (idle && *(volatile __u64 *)idle) {
        *(volatile __u64 *)idle = 0; /* one wakeup is enough: the agent is draining again */
        flags = BPF_RB_FORCE_WAKEUP;
    } else if (eg_wakeup_bytes) {
        __u64 avail = bpf_ringbuf_query(&eg_events, BPF_RB_AVAIL_DATA);
        /* This record's footprint in the ring: 8-byte header, rounded up to 8. */
        __u64 footprint = ((__u64)((struct eg_event_header *)rec)->size + 8 + 7) & ~7ULL;
        if (avail >= footprint && avail / eg_wakeup_bytes != (avail - footprint) / eg_wakeup_bytes)
            flags = BPF_RB_FORCE_WAKEUP;
    }
    bpf_ringbuf_submit(rec, flags);
    struct eg_counters *c = eg_counters_get();
    if (c && kind < EG_KIND_SLOTS)
        c->kind[kind].sent++;
}

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

/*
 * The container verdict of the current task, cached per CPU, with what the concerns' repeat
 * paths need next to it: the executable's identity, the container's slot, the root-filesystem
 * file last written (bpf/rootfs.bpf.c) and the last capability key (bpf/cap.bpf.c). On this VM (PTI
 * without PCID: the TLB is flushed at every kernel entry) a program's cost follows the pages it
 * touches. The v1 cgroup id chain (css_set, css, cgroup, kernfs node) and the eg_containers lookup
 * (bucket, element) were ~160 of the ~410 ns of a capability check; a cache keyed by the css's
 * serial number still read css_set and css on every hit. This one is keyed by what the task itself
 * holds, so a hit touches the task (hot in the syscall already), the generations and the entry:
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
 */
#define EG_GEN_CONTAINERS 0
#define EG_GEN_MIGRATIONS 1

struct eg_verdict_cache {
    __u64 task;       /* address of the task_struct the entry is for */
    __u64 start_time; /* its task->start_time */
    __u64 css_set;    /* its task->cgroups when the verdict was computed */
    __u64 gen;        /* eg_containers_gen[EG_GEN_CONTAINERS] the verdict was computed under */
    __u64 migrations; /* eg_containers_gen[EG_GEN_MIGRATIONS] likewise */
    __u64 cgid;
    __u64 container; /* 0: not a task container; else its slot in the agent's table + 1 */
    __u64 check;     /* eg_verdict_check() of the above: a torn entry never matches */
    __u64 exec_id;   /* task->self_exec_id + 1 the executable fields are for; 0: none */
    __u64 exe_ino;
    __u64 exe_dev;
    __u64 exe_check; /* eg_exe_check() of the task's start time, exec_id and the two above */
    __u64 wr_ino;    /* the root-filesystem file this task last wrote (bpf/rootfs.bpf.c) */
    __u64 wr_dev;
    __u64 wr_check; /* over the task's start time, cgroup and the two above; 0: none */
    /*
     * The capability dedup key this CPU last saw and its repeats counted here instead of in
     * eg_cap_dedup (bpf/cap.bpf.c). Not tied to the task: another task with the same key is a
     * repeat of the same behaviour. cap_count is written by the capability program only,
     * cap_flushed by whoever moved counts into eg_cap_dedup (that program on a key change,
     * eg_cap_flush run on this CPU by the agent each second).
     */
    struct eg_cap_dedup_key cap_key;
    __u64 cap_valid; /* 0 while cap_key changes */
    __u64 cap_check; /* over cap_key as its writer saw it: a key mixed by two writers fails */
    __u64 cap_count;
    __u64 cap_flushed;
};

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

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct eg_verdict_cache);
} eg_verdict_cache SEC(".maps");

/* cgroup id in the tracked hierarchy of the tasks using css_set `cs` (v1 controller or v2). */
static __always_inline __u64 eg_css_set_cgroup_id(struct css_set *cs)
{
    if (!eg_cgroup_use_v1)
        return cs->dfl_cgrp->kn->id;
    __u32 idx = eg_cgroup_v1_subsys;
    if (idx >= sizeof(cs->subsys) / sizeof(cs->subsys[0]))
        return 0;
    struct cgroup_subsys_state *css = cs->subsys[idx];
    return css ? css->cgroup->kn->id : 0;
}

/*
 * The verdict for the current task: true when it is in a task container; *cgid is its cgroup
 * id either way. `*entry` is this CPU's cache slot, now holding the task's verdict (NULL when
 * the maps are missing), for eg_current_exe() in the same program run.
 */
static __always_inline bool eg_current_verdict(struct task_struct *task, __u64 *cgid,
                                               struct eg_verdict_cache **entry)
{
    __u32 zero = 0, one = EG_GEN_MIGRATIONS;
    __u64 *genp = bpf_map_lookup_elem(&eg_containers_gen, &zero);
    __u64 *migp = bpf_map_lookup_elem(&eg_containers_gen, &one);
    struct eg_verdict_cache *vc = bpf_map_lookup_elem(&eg_verdict_cache, &zero);
    *entry = NULL;
    if (!genp || !migp || !vc) {
        *cgid = eg_current_cgroup_id(task);
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
     */
    __sync_fetch_and_add(&vc->check, 0);
#endif
    __u64 t = (__u64)task, start = task->start_time;
    struct css_set *cs = task->cgroups;
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
    *cgid = eg_css_set_cgroup_id(cs);
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

/* true when the current task is in a task container; *cgid is its cgroup id either way. */
static __always_inline bool eg_current_container(struct task_struct *task, __u64 *cgid)
{
    struct eg_verdict_cache *entry;
    return eg_current_verdict(task, cgid, &entry);
}

/*
 * Inode number and device of the current task's executable, from the entry
 * eg_current_verdict() returned for this task in this program run (NULL: no cache).
 */
static __always_inline void eg_current_exe(struct task_struct *task, struct eg_verdict_cache *vc,
                                           __u64 *ino, __u64 *dev)
{
    __u64 exec_id = task->self_exec_id + 1;
    __u64 start = task->start_time;
    if (vc && vc->exec_id == exec_id) {
        __u64 i = vc->exe_ino, d = vc->exe_dev;
        if (vc->exe_check == eg_exe_check(start, exec_id, i, d)) {
            *ino = i;
            *dev = d;
            return;
        }
    }
    /* Direct loads; a kernel thread's NULL mm reads as 0. */
    struct file *exe = task->mm->exe_file;
    *ino = 0;
    *dev = 0;
    if (exe) {
        struct inode *exe_inode = exe->f_inode;
        *ino = exe_inode->i_ino;
        *dev = exe_inode->i_sb->s_dev;
    }
    if (!vc)
        return;
    vc->exe_check = 0;
    vc->exec_id = exec_id;
    vc->exe_ino = *ino;
    vc->exe_dev = *dev;
    vc->exe_check = eg_exe_check(start, exec_id, *ino, *dev);
}

static __always_inline bool eg_in_setup(__u32 tgid)
{
    return bpf_map_lookup_elem(&eg_setup_procs, &tgid) != NULL;
}

#define EG_PATH_DEPTH 24
#define EG_PATH_SCRATCH (EG_PATH_LEN * 2)

struct eg_path_scratch {
    char buf[EG_PATH_SCRATCH];
};
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct eg_path_scratch);
} eg_path_scratch SEC(".maps");

struct eg_path_walk {
    struct dentry *root_dentry;
    struct vfsmount *root_mnt;
    struct dentry *dentry;
    struct vfsmount *vfsmnt;
    struct mount *mnt;
    struct eg_path_scratch *sc;
    __u32 off;
    int state; /* 0 walking, 1 complete, -1 too long */
};

/* One step up the tree: a bpf_loop callback, so the verifier checks it once. */
static long eg_path_step(__u32 i, void *data)
{
    struct eg_path_walk *w = data;
    /* Locals, not w->field, inside BPF_CORE_READ: only kernel types are relocated. */
    struct dentry *dentry = w->dentry;
    struct vfsmount *vfsmnt = w->vfsmnt;
    struct mount *mnt = w->mnt;
    if (dentry == w->root_dentry && vfsmnt == w->root_mnt) {
        w->state = 1;
        return 1;
    }
    struct dentry *mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
    if (dentry == mnt_root) {
        /* Top of this mount: continue from where it is mounted. */
        struct mount *parent = BPF_CORE_READ(mnt, mnt_parent);
        if (parent == mnt) {
            w->state = 1; /* the global root */
            return 1;
        }
        w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
        w->mnt = parent;
        w->vfsmnt = &parent->mnt;
        return 0;
    }
    struct dentry *parent_dentry = BPF_CORE_READ(dentry, d_parent);
    if (parent_dentry == dentry) {
        w->state = 1;
        return 1;
    }
    struct qstr name = BPF_CORE_READ(dentry, d_name);
    __u32 len = name.len & (EG_PATH_LEN - 1);
    __u32 off = w->off;
    if (len + 1 > off || off >= EG_PATH_LEN) {
        w->state = -1;
        return 1;
    }
    off -= len;
    bpf_probe_read_kernel(&w->sc->buf[off & (EG_PATH_LEN - 1)], len, name.name);
    off -= 1;
    w->sc->buf[off & (EG_PATH_LEN - 1)] = '/';
    w->off = off;
    w->dentry = parent_dentry;
    return 0;
}

/*
 * Path of (dentry, vfsmnt) as seen from the task's root (the container's
 * rootfs after pivot_root), crossing mounts, written into out[EG_PATH_LEN].
 * Built right-to-left in a per-CPU scratch buffer twice the path size, so
 * every bounded offset plus a bounded name length stays inside it. Returns 0,
 * or -1 when the path was deeper or longer than we keep (out is then "").
 */
static __always_inline int eg_dentry_path(struct task_struct *task, struct dentry *dentry,
                                          struct vfsmount *vfsmnt, char *out)
{
    __u32 zero = 0;
    out[0] = '\0';
    struct eg_path_walk w = {};
    w.sc = bpf_map_lookup_elem(&eg_path_scratch, &zero);
    if (!w.sc || !dentry)
        return -1;
    w.root_dentry = BPF_CORE_READ(task, fs, root.dentry);
    w.root_mnt = BPF_CORE_READ(task, fs, root.mnt);
    w.dentry = dentry;
    w.vfsmnt = vfsmnt;
    w.mnt = container_of(vfsmnt, struct mount, mnt);
    w.off = EG_PATH_LEN - 1;
    w.sc->buf[EG_PATH_LEN - 1] = '\0';
    bpf_loop(EG_PATH_DEPTH, eg_path_step, &w, 0);
    if (w.state != 1)
        return -1;
    if (w.off >= EG_PATH_LEN - 1) {
        out[0] = '/';
        out[1] = '\0';
        return 0;
    }
    bpf_probe_read_kernel_str(out, EG_PATH_LEN, &w.sc->buf[w.off & (EG_PATH_LEN - 1)]);
    return 0;
}

/* Path of an open file, as eg_dentry_path. */
static __always_inline int eg_file_path(struct task_struct *task, struct file *f, char *out)
{
    if (!f) {
        out[0] = '\0';
        return -1;
    }
    return eg_dentry_path(task, BPF_CORE_READ(f, f_path.dentry), BPF_CORE_READ(f, f_path.mnt), out);
}

/* The open file behind `fd` in the current task's table (direct loads up to the array slot). */
static __always_inline struct file *eg_current_fd_file(struct task_struct *task, long fd)
{
    if (fd < 0)
        return NULL;
    struct fdtable *fdt = task->files->fdt;
    if (!fdt || (unsigned long)fd >= fdt->max_fds)
        return NULL;
    struct file **fds = fdt->fd;
    struct file *f = NULL;
    /* A variable index into a kernel array: the one read that needs the helper. */
    bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
    return f;
}

/*
 * The file pointer comes out of the fd table through bpf_probe_read_kernel (a
 * variable index into a kernel array), so the verifier sees a plain number and each
 * field behind it is one more helper call (~15-25 ns on the benchmark VM).
 * bpf_rdonly_cast (6.2+) makes it a typed, read-only pointer again: its fields are
 * direct, fault-guarded loads (~1 ns). Callers need a kernel with the kfunc (the
 * loader checks) or a probe-read twin of the program.
 */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

static __always_inline struct file *eg_file_btf(struct file *f)
{
    return bpf_rdonly_cast(f, bpf_core_type_id_kernel(struct file));
}

/* The open file behind `fd` in `task`'s table, or NULL. */
static __always_inline struct file *eg_fd_file(struct task_struct *task, long fd)
{
    if (fd < 0)
        return NULL;
    struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
    if (!fdt || (unsigned long)fd >= BPF_CORE_READ(fdt, max_fds))
        return NULL;
    struct file **fds = BPF_CORE_READ(fdt, fd);
    struct file *f = NULL;
    bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
    return f;
}

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

#endif /* ECSGUARD_COMMON_BPF_H */
