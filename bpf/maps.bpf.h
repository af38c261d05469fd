/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What every ecsguard object declares for the agent: the load-time read-only values, the maps
 * all objects share, and the anchors that put every event type into the object's BTF.
 *
 * Each concern is its own object (cap.bpf.c, lifecycle.bpf.c, ...). The maps below are declared
 * in each of them; the agent creates them once and hands the same fds to every object
 * (bpf_map__reuse_fd, agent/kernel/bpf_loader.c) so all concerns write one ring buffer, read one
 * container set and share one per-CPU verdict cache. Declared here, before any helper, in the
 * order they have always had: the objects' maps, sections, BTF and symbols keep their order.
 */
#ifndef ECSGUARD_MAPS_BPF_H
#define ECSGUARD_MAPS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "events.h"

#define EG_MAX_CONTAINER_CGROUPS 16384
#define EG_MAX_SETUP_PROCS 8192
/* Contained processes the kernel can give a home (eg_homes); the agent may size it. */
#define EG_MAX_HOMES 32768

/* Set by the agent before load (see agent/kernel/bpf_loader.c). */
const volatile __u32 eg_cgroup_v1_subsys = 0;      /* subsys index of the tracked v1 controller */
const volatile __u32 eg_cgroup_use_v1 = 0;         /* 1: v1 controller, 0: v2 default hierarchy */
const volatile __u32 eg_tracked_hierarchy = 0;     /* hierarchy id of the tracked hierarchy */
const volatile __u64 eg_wakeup_bytes = 256 * 1024; /* force a reader wakeup past this fill */
/* The ring buffer's size (eg_events), for the per-container shares (emit.bpf.h); 0: none. */
const volatile __u64 eg_ring_bytes = 0;
/* Where the syscall's user registers end above task->stack (legacy flavour, task.bpf.h). */
const volatile __u64 eg_task_stack_top = 0;
/* The host's mount namespace inode (the agent's; 0: unknown), see eg_in_setup (task.bpf.h). */
const volatile __u32 eg_host_mnt_ns = 0;

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

/* The slots of eg_containers_gen. */
#define EG_GEN_CONTAINERS 0
#define EG_GEN_MIGRATIONS 1
/*
 * Not a generation: how many processes with a home are now outside it (EG_HOME_MOVED, kept by
 * bpf/lifecycle.bpf.c). While it is 0 a verdict never needs a home; the cache-miss path reads
 * it, the hit path never does (verdict.bpf.h).
 */
#define EG_GEN_MOVED 2

/*
 * Bumped by the agent after every change to eg_containers: a container verdict
 * cached before the change is no longer trusted (see eg_current_container).
 */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 3); /* EG_GEN_CONTAINERS (agent), EG_GEN_MIGRATIONS, EG_GEN_MOVED */
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
 * Non-zero while the agent sleeps on its long idle timer (agent/kernel/drain_pacer.c): the next
 * record submitted wakes it and clears the mark, so an idle agent neither polls every few
 * milliseconds nor learns late of the first event after a quiet spell.
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
struct eg_home *eg_abi_home __attribute__((unused));
struct eg_cgroup_left_event *eg_abi_cgroup_left __attribute__((unused));
struct eg_ring_share *eg_abi_ring_share __attribute__((unused));
struct eg_escape_event *eg_abi_escape __attribute__((unused));

/*
 * The per-CPU cache of the current task's facts (container verdict, executable, last rootfs
 * write, last capability key); how it is keyed and validated: verdict.bpf.h.
 */
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

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct eg_verdict_cache);
} eg_verdict_cache SEC(".maps");

/*
 * The home of every contained process (struct eg_home, events.h), keyed by tgid: written at
 * the end of the runtime's set-up (the entrypoint's exec), at fork (a homed parent's child) and
 * by the agent's start-up scan; deleted at the process's exit. A plain hash, not an LRU: a
 * process forking without end must not evict another's home. When it is full the process is
 * counted (EG_FILTER_HOMES_FULL) and left home-less. A hash rather than task local storage:
 * one code path for every program type that reads it (syscall tracepoints, kprobe, tp_btf)
 * on every kernel from 5.10, and the agent writes it by tgid (docs/architecture.md).
 */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, EG_MAX_HOMES);
    __type(key, __u32);
    __type(value, struct eg_home);
} eg_homes SEC(".maps");

/*
 * Each container's share of the ring buffer while it is more than half full (struct
 * eg_ring_share, bpf/emit.bpf.h), by the container's cgroup id. An LRU: entries are made only
 * under pressure, and a container forgotten starts again with a full share.
 */
#define EG_MAX_RING_SHARES 4096
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, EG_MAX_RING_SHARES);
    __type(key, __u64);
    __type(value, struct eg_ring_share);
} eg_ring_shares SEC(".maps");

#endif /* ECSGUARD_MAPS_BPF_H */
