/*
 * One aggregated finding: the same behaviour (type, container, and the
 * detector's own key: capability + executable, file, target...) within a
 * window updates one finding (same id, growing count, eventLastSeen).
 */
#ifndef ECSGUARD_FINDING_H
#define ECSGUARD_FINDING_H

#include <stdbool.h>
#include <stdint.h>

#include "bpf/events.h"
#include "collectors/cgroup_path.h"
#include "collectors/container_table.h"
#include "collectors/proc_table.h"
#include "policy/finding_types.h"

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

/*
 * Where a behaviour happened: the container's identity as the agent knew it when the behaviour
 * was first seen. Captured once (eg_where_capture) and carried by everything that later counts
 * into the behaviour's finding (a detector's record of a kernel dedup key, the finding itself),
 * so a container whose cgroup is gone by the time its repeat counts are folded in keeps its
 * finding, its task and its name. Nothing downstream looks the container up again.
 */
struct eg_where {
    uint64_t cgroup_id; /* the container's own cgroup; the event's cgroup when not a container */
    uint32_t host_ns;   /* EG_CONTAINER_NS_*: at capture, else at emission once known */
    char container_id[EG_CONTAINER_ID_LEN + 1]; /* "" when unknown */
    char task_id[EG_TASK_ID_MAX + 1];           /* from the cgroup path, "" when none */
    char cgroup_path[EG_CONTAINER_PATH_MAX];    /* in the tracked hierarchy, "" unknown */
};

/* Capture from container `c` (NULL: not known, keeps the event's cgroup id only). */
void eg_where_capture(struct eg_where *w, const struct eg_container *c, uint64_t event_cgroup_id);

struct eg_finding {
    uint64_t key_hash; /* of `key`, as the aggregator's index holds it */
    char key[EG_FINDING_KEY_MAX];
    enum eg_finding_type type;
    double severity; /* default severity when it differs from the type's (0: the type's) */
    char id[33];
    uint64_t created_ms, updated_ms, first_seen_ms, last_seen_ms, last_emit_ms;
    uint64_t count, emitted_count;
    bool emitted;    /* at least once */
    bool suppressed; /* policy said no at the last evaluation */
    bool refresh;    /* emitted before its ECS task was known: re-emit once it is */
    /* A detail learnt after an emission (a mount's point, once attached): emit an update even
     * though the count did not change. */
    bool details_changed;

    /* Where it happened (captured with the behaviour's first event). */
    struct eg_where where;
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

/*
 * The one finding-key builder: the type, the container and cgroup of a where, then the
 * detector's own parts (capability and executable, file, target...), each after a '|'. Two
 * occurrences are one finding exactly when their keys are equal. Built by hand, not with
 * snprintf: a key is built for every event, and formatting was most of an event's cost.
 * A key that does not fit is cut (`cut` set): still a key, shared by everything with its prefix.
 */
struct eg_finding_key {
    char text[EG_FINDING_KEY_MAX];
    uint32_t len;
    bool cut;
};
void eg_finding_key_init(struct eg_finding_key *k, enum eg_finding_type type,
                         const struct eg_where *w);
void eg_finding_key_add_u64(struct eg_finding_key *k, uint64_t v);
void eg_finding_key_add_str(struct eg_finding_key *k, const char *s);

/*
 * A finding just created: where it happened (captured with its first event), the first event's
 * header flags and when it was first seen. Every detector starts its findings with this.
 */
void eg_finding_begin(struct eg_finding *f, const struct eg_where *w,
                      const struct eg_event_header *h, uint64_t first_seen_ms);

/* Fill process info (and lineage) from the process table and the event header. */
void eg_finding_set_process(struct eg_finding *f, struct eg_proc_table *procs,
                            const struct eg_event_header *h, const char *exe_fallback);

#endif
