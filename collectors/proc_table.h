/*
 * Processes of task containers, for process details and lineage in
 * findings. Identified by (tgid, start time) so pid reuse never mixes two
 * processes. Fixed capacity; when full, the oldest exited entry is reused,
 * then the oldest entry at all (counted).
 */
#ifndef ECSGUARD_PROC_TABLE_H
#define ECSGUARD_PROC_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "bpf/events.h"

#define EG_PROC_CAPACITY 32768
#define EG_LINEAGE_MAX 8

struct eg_proc {
    uint32_t tgid, ppid, ns_pid, uid, euid;
    uint64_t start_ns; /* boot-time ns (exact from the kernel, ~10 ms from /proc) */
    uint64_t parent_start_ns;
    uint64_t cgroup_id;
    uint64_t seq; /* insertion order, for eviction */
    bool used, exited, approx_start;
    char comm[EG_COMM_LEN];
    /*
     * Sized to fit (never NULL, "" when unknown), at most EG_PATH_LEN - 1 and EG_ARGS_LEN - 1
     * bytes: fixed arrays made each entry ~600 bytes, and exited entries stay for lineage.
     */
    const char *exe;
    const char *args; /* space separated, may be truncated */
};

struct eg_proc_table;

struct eg_proc_table_stats {
    uint64_t entries, inserted, evicted_live, lookups, misses;
    uint64_t probes; /* slots visited by tgid lookups: their number per lookup stays small */
};

struct eg_proc_table *eg_proc_table_new(void);
void eg_proc_table_free(struct eg_proc_table *t);

/* Insert or refresh from an event header (fork/exec/cap...). Returns the entry. */
struct eg_proc *eg_proc_table_upsert(struct eg_proc_table *t, const struct eg_event_header *h);
/* Exec: also records the executable path and arguments. */
struct eg_proc *eg_proc_table_exec(struct eg_proc_table *t, const struct eg_exec_event *e);
void eg_proc_table_exit(struct eg_proc_table *t, uint32_t tgid, uint64_t start_ns);
/* The process (tgid, start_ns), or NULL. A /proc-scanned entry matches within its precision. */
struct eg_proc *eg_proc_table_find(struct eg_proc_table *t, uint32_t tgid, uint64_t start_ns);
/* Insert a process found by the start-up scan of /proc/<tgid>. NULL when unreadable. */
struct eg_proc *eg_proc_table_scan_pid(struct eg_proc_table *t, const char *proc_root,
                                       uint32_t tgid, uint64_t cgroup_id);
/* Ancestors of `p` (nearest first), up to max. */
int eg_proc_table_lineage(struct eg_proc_table *t, const struct eg_proc *p,
                          const struct eg_proc **out, int max);
void eg_proc_table_get_stats(struct eg_proc_table *t, struct eg_proc_table_stats *out);

/*
 * Stable process UUID from (boot id, tgid, start time), so the same process
 * has the same uuid in every finding and its children name it as parent.
 */
void eg_proc_uuid(uint32_t tgid, uint64_t start_ns, char out[37]);
/*
 * Start time of /proc/<tgid> (under proc_root) in boot ns, at the clock tick's precision; 0
 * when the process is gone or its stat unreadable. The one parser of that field.
 */
uint64_t eg_proc_start_ns(const char *proc_root, uint32_t tgid);
/* Length of one /proc clock tick in ns (the precision of eg_proc_start_ns). */
uint64_t eg_proc_tick_ns(void);
/* Boot-time ns to Unix epoch seconds (with fraction). */
double eg_boot_ns_to_epoch(uint64_t boot_ns);

#endif
