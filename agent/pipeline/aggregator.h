/*
 * Open findings, keyed by their aggregation key. Bounded: when full, the
 * oldest already-emitted finding is retired to make room; when none can be
 * retired, the occurrence is dropped and counted. The aggregator owns every
 * finding's emission state (emitted, suppressed, counts already reported) and
 * every finding counter; the emit callback only says what became of one
 * emission.
 */
#ifndef ECSGUARD_AGGREGATOR_H
#define ECSGUARD_AGGREGATOR_H

#include <stdbool.h>
#include <stdint.h>

#include "policy/finding.h"

struct eg_aggregator_config {
    uint64_t window_ms;    /* a finding aggregates occurrences this long after it was created */
    uint64_t interval_ms;  /* updates of one finding are emitted at most this often */
    uint32_t max_findings; /* open findings kept in memory */
};

struct eg_aggregator_stats {
    uint64_t open, created, updated, retired, dropped;
    uint64_t emitted;    /* emissions written out (new findings and their updates) */
    uint64_t suppressed; /* findings the policy turned down (once per finding, and again when
                          * a finding that was reported is turned down) */
    uint64_t deferred;   /* emissions put off to a later flush (one per attempt) */
    uint64_t failed;     /* emissions given up: the finding could not be written */
};

/* What became of one call of the emit callback. */
enum eg_emit_result {
    EG_EMIT_EMITTED,    /* written out */
    EG_EMIT_SUPPRESSED, /* the policy says it is not reported */
    EG_EMIT_DEFERRED,   /* nothing now, finding untouched: try again at a later flush (its ECS
                         * task is still being resolved, or a refresh has nothing new) */
    EG_EMIT_FAILED,     /* could not be written (serialisation); not retried */
};

/*
 * Called for findings that are due. May set f->refresh (emit again about once
 * a second, e.g. once its ECS task is known); everything else about the
 * finding's emission state is the aggregator's, set from the result.
 */
typedef enum eg_emit_result (*eg_emit_fn)(void *ctx, struct eg_finding *f, uint64_t now_ms,
                                          bool final);

struct eg_aggregator;

struct eg_aggregator *eg_aggregator_new(const struct eg_aggregator_config *cfg);
void eg_aggregator_free(struct eg_aggregator *a);

/*
 * Record `count` occurrences for `key` at event time `event_ms`. Returns the
 * finding; *created tells the caller to fill in its details (type, where,
 * who, context). NULL when the table is full (the drop is counted).
 */
struct eg_finding *eg_aggregator_record(struct eg_aggregator *a, const char *key,
                                        enum eg_finding_type type, uint64_t event_ms,
                                        uint64_t count, uint64_t now_ms, bool *created);
struct eg_finding *eg_aggregator_find(struct eg_aggregator *a, const char *key, uint64_t now_ms);

/*
 * Emit what is due: new findings at once, changed ones once per interval.
 * `final` (shutdown) emits every pending change regardless of the interval.
 */
void eg_aggregator_flush(struct eg_aggregator *a, uint64_t now_ms, bool final, eg_emit_fn emit,
                         void *ctx);
/* Re-emit nothing but forget the last policy verdicts (policy reloaded). */
void eg_aggregator_foreach(struct eg_aggregator *a, void (*fn)(void *ctx, struct eg_finding *f),
                           void *ctx);
void eg_aggregator_get_stats(struct eg_aggregator *a, struct eg_aggregator_stats *out);

/*
 * The state file (agent/pipeline/finding_state.h) keeps open findings across a restart.
 * eg_aggregator_adopt takes a finding read back from it (key, id, counts, emission state and
 * details all set; the aggregator owns it from then on): false, and the caller frees it, when
 * the table is full or already holds the key. A recorded occurrence of an adopted finding's
 * key continues it (same id, growing count); nothing is emitted for it until it changes.
 */
bool eg_aggregator_adopt(struct eg_aggregator *a, struct eg_finding *f);

/* What changed since the last eg_aggregator_mark_saved(): what the state file is behind by. */
enum eg_unsaved {
    EG_UNSAVED_NONE = 0,
    EG_UNSAVED_CHANGES = 1, /* counts, details, retirements */
    EG_UNSAVED_NEW_IDS = 2, /* a finding was emitted for the first time: its id is out */
};
/* Every open finding, read only (nothing becomes due). */
void eg_aggregator_visit(const struct eg_aggregator *a,
                         void (*fn)(void *ctx, const struct eg_finding *f), void *ctx);
unsigned eg_aggregator_unsaved(const struct eg_aggregator *a);
void eg_aggregator_mark_saved(struct eg_aggregator *a);

#endif
