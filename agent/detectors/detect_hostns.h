/*
 * Host PID namespace sharing, entering host namespaces, and acting on
 * processes outside the caller's ECS task (docs/hostns.md).
 */
#ifndef ECSGUARD_DETECT_HOSTNS_H
#define ECSGUARD_DETECT_HOSTNS_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/kernel/bpf_hostns.h"
#include "agent/detectors/detector.h"
#include "policy/finding_types.h"
#include "bpf/events.h"

/* Where the target of a process access is, seen from the caller. */
enum eg_target_relation {
    EG_REL_SAME_TASK,  /* the caller's own container, or a container of its ECS task */
    EG_REL_OTHER_TASK, /* a container of another task */
    EG_REL_HOST,       /* a process outside every task container */
};

/*
 * Decide the relation from cgroups, never pids. `caller`/`target` are the
 * containers of the two cgroups (NULL when the cgroup is not a container's).
 * Containers of one task share a pid namespace under pidMode task; when a
 * layout carries no task id, a shared non-host pid namespace is what makes
 * them one task.
 */
enum eg_target_relation eg_hostns_relation(uint64_t caller_cgroup,
                                           const struct eg_container *caller,
                                           uint32_t caller_pid_ns, uint64_t target_cgroup,
                                           const struct eg_container *target,
                                           uint32_t target_pid_ns, uint32_t host_pid_ns);

/* The finding type for a process access action; EG_FT_COUNT for an unknown action. */
enum eg_finding_type eg_hostns_access_type(uint32_t action);

/* "mnt,pid,net" for a CLONE_NEW* mask, in a fixed order. Returns the number of kinds. */
int eg_hostns_ns_kinds(uint32_t mask, char *out, size_t outlen);

struct eg_hostns_detector_stats {
    uint64_t lifecycle_events;    /* exec/fork seen */
    uint64_t host_pidns_found;    /* containers reported for sharing the host pid ns */
    uint64_t setup_skipped;       /* runtime set-up execs in the host mount ns */
    uint64_t ns_entries;          /* EG_EVENT_NS_ENTER events */
    uint64_t accesses;            /* EG_EVENT_PROC_ACCESS events */
    uint64_t same_task;           /* accesses to the caller's own task: not reported */
    uint64_t orphan_events;       /* caller cgroup not (or no longer) a known container */
    uint64_t ns_probed;           /* containers whose net/ipc/uts sharing is known */
    uint64_t ns_probe_failed;     /* first process gone or reused before it could be read */
    uint64_t ns_probe_runtime;    /* a process still in the host mount ns (runtime): not read */
    uint64_t scan_host_pidns;     /* found by the start-up scan */
    uint64_t findings_dropped;    /* aggregator full */
    uint64_t repeats_from_kernel; /* process-access repeats the kernel absorbed, folded in */
    uint64_t untracked_full;      /* dedup keys not tracked (table full): repeats not folded */
};
/* Process-access dedup keys whose repeats are folded in: as many as the kernel map holds. */
#define EG_HOSTNS_TRACK_SLOTS 8192

struct eg_hostns_detector;

/*
 * `proc_root` ("/proc") and `host` (the agent's own namespaces) are
 * parameters so tests can give a fixture; `cgroup_mount` is the tracked
 * hierarchy's mount point for the start-up scan (NULL: no scan).
 */
struct eg_hostns_detector *eg_hostns_detector_new(const struct eg_detector_env *env,
                                                  const char *proc_root,
                                                  const struct eg_host_ns *host,
                                                  const char *cgroup_mount);
void eg_hostns_detector_free(struct eg_hostns_detector *d);
/* Ring-buffer handlers: exec/fork, and both hostns kinds. */
void eg_hostns_on_lifecycle(void *ctx, const struct eg_event_header *h, const void *rec,
                            size_t size);
void eg_hostns_on_event(void *ctx, const struct eg_event_header *h, const void *rec, size_t size);
/* Containers already running at start: report those sharing the host pid ns. Returns how many. */
int eg_hostns_startup_scan(struct eg_hostns_detector *d);
void eg_hostns_detector_get_stats(struct eg_hostns_detector *d,
                                  struct eg_hostns_detector_stats *out);
/* Fold the kernel's process-access repeat counts into their findings (about once a second). */
void eg_hostns_detector_tick(struct eg_hostns_detector *d, uint64_t now_ms);

#endif
