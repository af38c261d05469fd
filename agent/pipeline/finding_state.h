/*
 * Open findings across a restart (`--state-dir`, docs/reliability.md "Faults"): the aggregator's
 * open findings (key, id, counts, first/last seen, emission state and the details an update
 * needs) written to `<dir>/findings.state`, atomically (a temporary file, fdatasync, rename),
 * a second after a finding was first emitted and otherwise every five seconds while anything
 * changed, and at shutdown; read back at start, so a finding already emitted keeps its id and
 * its count continues after a crash or a task replacement instead of coming back as a new one.
 * A missing, damaged or foreign file is a warning and a fresh start (damaged lines are skipped
 * and counted), never a failure to start. Bounded by the aggregator's table.
 */
#ifndef ECSGUARD_FINDING_STATE_H
#define ECSGUARD_FINDING_STATE_H

#include <stdbool.h>
#include <stdint.h>

struct eg_aggregator;
struct json_object;

struct eg_finding_state_stats {
    uint64_t loaded;        /* findings read back at start */
    uint64_t load_skipped;  /* lines not taken: damaged, past the window, duplicate, table full */
    uint64_t saves;         /* state files written */
    uint64_t save_failures; /* writes that failed (the previous file stays) */
    uint64_t last_save_bytes;
    int last_error; /* errno of the last failed write; 0 after a good one */
};

struct eg_finding_state {
    bool enabled;
    char path[4096], tmp[4096], dir[4000];
    uint64_t last_save_ms, last_fail_log_ms;
    struct eg_finding_state_stats st;
};

/* `dir` NULL or "" disables it. Creates the directory (0700); -1 (logged) when it cannot. */
int eg_finding_state_open(struct eg_finding_state *s, const char *dir);
/* Read the file back into `a` (findings still within `window_ms` of their creation). */
void eg_finding_state_load(struct eg_finding_state *s, struct eg_aggregator *a, uint64_t now_ms,
                           uint64_t window_ms);
/* Write the file when due (`final`: whenever anything changed since the last write). */
void eg_finding_state_tick(struct eg_finding_state *s, struct eg_aggregator *a, uint64_t now_ms,
                           bool final);
/* Adds "state" to the health record. */
void eg_finding_state_report(const struct eg_finding_state *s, struct json_object *health);

#endif
