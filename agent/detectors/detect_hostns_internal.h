/*
 * Private to the host-namespace detector: its state and the functions its files share.
 * detect_hostns.c holds the ring-buffer handlers, the tracking of the kernel's process-access
 * dedup keys and their fold, set-up and health; detect_hostns_rules.c the pure decisions and
 * names (relation of a target to the caller, finding type of an action); detect_hostns_proc.c
 * what is read from /proc and cgroupfs (a container's namespaces, the start-up scan); and
 * detect_hostns_findings.c the findings and their JSON context. Nothing else includes this.
 */
#ifndef ECSGUARD_DETECT_HOSTNS_INTERNAL_H
#define ECSGUARD_DETECT_HOSTNS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/detectors/detect_hostns.h"
#include "collectors/hash_index.h"
#include "policy/finding.h"

struct json_object;

/*
 * A process-access dedup key the kernel sent: its first record, the relation decided then,
 * where it happened (captured at that record) and the kernel repeat count already folded in.
 */
struct access_track {
    enum eg_target_relation rel;
    uint64_t last;
    struct eg_hostns_dedup_key key;
    struct eg_hostns_event first;
    struct eg_where where;
};

struct eg_hostns_detector {
    struct eg_detector_env env;
    struct eg_host_ns host;
    char proc_root[256];
    char cgroup_mount[256];
    bool scanned;
    struct eg_hostns_detector_stats stats;
    /* Per container slot: the generation already reported / probed (0: none). */
    uint64_t reported_gen[EG_MAX_CONTAINERS];
    uint64_t probed_gen[EG_MAX_CONTAINERS];
    int dedup_fd;               /* the kernel's eg_hostns_dedup, -1 without one */
    struct eg_hash_index index; /* hash of the key -> track[] */
    uint32_t n_used;            /* track[] in the order keys came; the tick walks these */
    struct access_track *track; /* EG_HOSTNS_TRACK_SLOTS, touched as used */
};

/* ---- detect_hostns_rules.c -------------------------------------------------------------- */

/* The namespace kinds of a CLONE_NEW* mask as a JSON array of names. */
struct json_object *eg_hostns_ns_kind_array(uint32_t mask);
/* The syscall that made a process access. */
const char *eg_hostns_action_syscall(const struct eg_hostns_event *e);
/* PTRACE_* name of a request that writes to or takes over the target, or NULL. */
const char *eg_hostns_ptrace_request_name(uint32_t req);

/* ---- detect_hostns_proc.c --------------------------------------------------------------- */

/* Learn which of net/ipc/uts container `c` shares with the host, from its process (tgid, start). */
void eg_hostns_probe_container_ns(struct eg_hostns_detector *d, struct eg_container *c,
                                  uint32_t tgid, uint64_t start_ns);

/* ---- detect_hostns_findings.c ----------------------------------------------------------- */

/* Container `c` shares the host pid namespace (once per container generation). */
void eg_hostns_report_host_pidns(struct eg_hostns_detector *d, struct eg_container *c,
                                 const struct eg_event_header *h, const char *exe, const char *how,
                                 uint64_t event_ms);
/* A setns into host namespaces by a process of container `c`. */
void eg_hostns_on_ns_enter(struct eg_hostns_detector *d, const struct eg_hostns_event *e,
                           struct eg_container *c);
/*
 * `count` occurrences of the process access `e` by container `w` (the target's container `tc`
 * when known, for the finding's context).
 */
void eg_hostns_record_access(struct eg_hostns_detector *d, const struct eg_hostns_event *e,
                             const struct eg_where *w, enum eg_target_relation rel,
                             const struct eg_container *tc, uint64_t count, uint64_t event_ms);

#endif
