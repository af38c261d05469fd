/*
 * One aggregated finding: the same behaviour (type, container, and the
 * detector's own key: capability + executable, file, target...) within a
 * window updates one finding (same id, growing count, eventLastSeen).
 */
#ifndef ECSGUARD_FINDING_H
#define ECSGUARD_FINDING_H

#include <stdbool.h>
#include <stdint.h>

#include "policy/finding_types.h"
#include "bpf/events.h"
#include "collectors/cgroup_path.h"
#include "collectors/proc_table.h"

struct json_object;

#define EG_FINDING_KEY_MAX 512

struct eg_process_info {
    char name[EG_COMM_LEN];
    char exe[EG_PATH_LEN];
    char args[EG_ARGS_LEN];
    uint32_t pid, ns_pid, uid, euid;
    double start_time; /* epoch seconds */
    char uuid[37], parent_uuid[37];
};

struct eg_finding {
    struct eg_finding *next_in_bucket;
    uint64_t key_hash;
    char key[EG_FINDING_KEY_MAX];
    enum eg_finding_type type;
    double severity; /* default severity when it differs from the type's (0: the type's) */
    char id[33];
    uint64_t created_ms, updated_ms, first_seen_ms, last_seen_ms, last_emit_ms;
    uint64_t count, emitted_count;
    bool emitted;    /* at least once */
    bool suppressed; /* policy said no at the last evaluation */
    bool refresh;    /* emitted before its ECS task was known: re-emit once it is */

    /* Where it happened. */
    uint64_t cgroup_id;
    char container_id[EG_CONTAINER_ID_LEN + 1];
    char task_id[EG_TASK_ID_MAX + 1];
    uint32_t host_flags; /* EG_HDR_* of the first event (host pid ns, ...) */

    /* Who did it (first occurrence) and its ancestors. */
    struct eg_process_info process;
    int n_lineage;
    struct eg_process_info lineage[EG_LINEAGE_MAX];

    /* Detector-specific service.runtimeDetails.context (owned json-c object). */
    struct json_object *context;
    /* Policy subject fields the detector knows (capability, file path...). */
    char capability[32];
    char file_path[EG_PATH_LEN];
    char namespace_kind[16];
    char target_process[EG_PATH_LEN];
};

/* Fill process info (and lineage) from the process table and the event header. */
void eg_finding_set_process(struct eg_finding *f, struct eg_proc_table *procs,
                            const struct eg_event_header *h, const char *exe_fallback);

#endif
