#include "agent/pipeline/aggregator.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "collectors/hash.h"
#include "collectors/hash_index.h"

/*
 * Open findings sit in `findings` (max_findings places, NULL free) behind the agent's hash
 * index over their keys. A finding is allocated when it is created (it is large, ~7 KiB, and
 * most places stay empty); recording into an open one allocates nothing.
 */
struct eg_aggregator {
    struct eg_aggregator_config cfg;
    struct eg_aggregator_stats stats;
    /*
     * The agent flushes after every drain (100 times a second while records flow). Walking
     * every place each time was 2-9 % of the agent's CPU; a flush with nothing recorded since
     * the last walk and nothing due before next_due_ms returns at once.
     */
    bool dirty;
    uint64_t next_due_ms;
    unsigned unsaved;           /* enum eg_unsaved bits since the state file was last written */
    struct eg_hash_index index; /* hash of the key -> findings[] */
    struct eg_finding **findings;
    struct eg_entry_pool places; /* findings[] in use; walks stop at places.high */
};

struct eg_aggregator *eg_aggregator_new(const struct eg_aggregator_config *cfg)
{
    struct eg_aggregator *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->cfg = *cfg;
    uint32_t capacity = cfg->max_findings ? cfg->max_findings : 1;
    uint32_t slots = 16; /* twice the places keeps probe runs short */
    while (slots < 2 * capacity)
        slots *= 2;
    a->findings = calloc(capacity, sizeof(*a->findings));
    if (!a->findings || eg_entry_pool_init(&a->places, capacity) != 0 ||
        eg_hash_index_init(&a->index, slots, 0, true) != 0) {
        eg_aggregator_free(a);
        return NULL;
    }
    return a;
}

static void finding_free(struct eg_finding *f)
{
    if (f->context)
        json_object_put(f->context);
    free(f);
}

void eg_aggregator_free(struct eg_aggregator *a)
{
    if (!a)
        return;
    for (uint32_t i = 0; a->findings && i < a->places.high; i++)
        if (a->findings[i])
            finding_free(a->findings[i]);
    eg_hash_index_destroy(&a->index);
    eg_entry_pool_destroy(&a->places);
    free(a->findings);
    free(a);
}

/* Retire the finding in place `i`. */
static void retire_at(struct eg_aggregator *a, uint32_t i)
{
    struct eg_finding *f = a->findings[i];
    eg_hash_index_remove(&a->index, f->key_hash, i);
    a->findings[i] = NULL;
    eg_entry_pool_give(&a->places, i);
    finding_free(f);
    a->stats.open--;
    a->stats.retired++;
    a->unsaved |= EG_UNSAVED_CHANGES;
}

/* Age that never wraps: a finding recorded after `now_ms` was read has age 0. */
static uint64_t age_ms(uint64_t now_ms, uint64_t then_ms)
{
    return now_ms > then_ms ? now_ms - then_ms : 0;
}

/* Something the last emission did not say: more occurrences, or a detail learnt since. */
static bool unsent_change(const struct eg_finding *f)
{
    return f->count != f->emitted_count || f->details_changed;
}

static bool pending_change(const struct eg_finding *f)
{
    return !f->emitted || unsent_change(f) || f->refresh;
}

/* Make room: retire the oldest finding that has nothing left to emit. */
static bool retire_one(struct eg_aggregator *a)
{
    uint32_t victim = EG_HASH_NONE;
    for (uint32_t i = 0; i < a->places.high; i++) {
        const struct eg_finding *f = a->findings[i];
        if (f && !pending_change(f) &&
            (victim == EG_HASH_NONE || f->updated_ms < a->findings[victim]->updated_ms))
            victim = i;
    }
    if (victim == EG_HASH_NONE)
        return false;
    retire_at(a, victim);
    return true;
}

static void new_finding_id(char out[33])
{
    unsigned char r[16];
    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
        static uint64_t fallback = 0x5deece66dULL;
        for (int i = 0; i < 16; i++) {
            fallback = fallback * 6364136223846793005ULL + 1442695040888963407ULL;
            r[i] = (unsigned char)(fallback >> 56);
        }
    }
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", r[i]);
}

struct eg_finding *eg_aggregator_find(struct eg_aggregator *a, const char *key, uint64_t now_ms)
{
    struct eg_hash_iter it;
    for (uint32_t i = eg_hash_index_first(&a->index, eg_hash_str(key), &it); i != EG_HASH_NONE;
         i = eg_hash_index_next(&a->index, &it)) {
        struct eg_finding *f = a->findings[i];
        if (strcmp(f->key, key) == 0 && age_ms(now_ms, f->created_ms) < a->cfg.window_ms)
            return f;
    }
    return NULL;
}

struct eg_finding *eg_aggregator_record(struct eg_aggregator *a, const char *key,
                                        enum eg_finding_type type, uint64_t event_ms,
                                        uint64_t count, uint64_t now_ms, bool *created)
{
    *created = false;
    a->dirty = true; /* the caller fills in or changes what it gets back */
    a->unsaved |= EG_UNSAVED_CHANGES;
    struct eg_finding *f = eg_aggregator_find(a, key, now_ms);
    if (f) {
        f->count += count;
        if (event_ms > f->last_seen_ms)
            f->last_seen_ms = event_ms;
        f->updated_ms = now_ms;
        a->stats.updated++;
        return f;
    }
    if (a->stats.open >= a->cfg.max_findings && !retire_one(a)) {
        a->stats.dropped += count;
        return NULL;
    }
    /* open < capacity: a place is free, and the index (twice as many slots) has room. */
    f = calloc(1, sizeof(*f));
    if (!f) {
        a->stats.dropped += count;
        return NULL;
    }
    uint32_t place = eg_entry_pool_take(&a->places);
    snprintf(f->key, sizeof(f->key), "%s", key);
    f->key_hash = eg_hash_str(key);
    f->type = type;
    new_finding_id(f->id);
    f->created_ms = f->updated_ms = now_ms;
    f->first_seen_ms = f->last_seen_ms = event_ms;
    f->count = count;
    a->findings[place] = f;
    eg_hash_index_insert(&a->index, f->key_hash, place);
    a->stats.open++;
    a->stats.created++;
    *created = true;
    return f;
}

/* When `f`, as it is now, next needs the flush: an emission or its retirement. */
static uint64_t next_due(const struct eg_aggregator *a, const struct eg_finding *f, uint64_t now_ms)
{
    if (!f->emitted)
        return now_ms; /* its emission was deferred (task still resolving): try every flush */
    uint64_t due = f->created_ms + a->cfg.window_ms;
    if (unsent_change(f) && f->last_emit_ms + a->cfg.interval_ms < due)
        due = f->last_emit_ms + a->cfg.interval_ms;
    if (f->refresh && f->last_emit_ms + 1000 < due)
        due = f->last_emit_ms + 1000;
    return due;
}

/* Record what became of one emission of `f`. */
static void settle(struct eg_aggregator *a, struct eg_finding *f, enum eg_emit_result r,
                   uint64_t now_ms)
{
    switch (r) {
    case EG_EMIT_DEFERRED:
        a->stats.deferred++;
        return;
    case EG_EMIT_SUPPRESSED:
        /* Counted once per finding, and again when one that was reported is turned down. */
        if (!f->suppressed || !f->emitted)
            a->stats.suppressed++;
        f->suppressed = true;
        break;
    case EG_EMIT_EMITTED:
        a->stats.emitted++;
        if (!f->emitted)
            a->unsaved |= EG_UNSAVED_NEW_IDS;
        f->suppressed = false;
        break;
    case EG_EMIT_FAILED:
        a->stats.failed++;
        f->suppressed = false;
        break;
    }
    f->emitted = true;
    f->emitted_count = f->count;
    f->details_changed = false;
    f->last_emit_ms = now_ms;
    a->unsaved |= EG_UNSAVED_CHANGES;
}

void eg_aggregator_flush(struct eg_aggregator *a, uint64_t now_ms, bool final, eg_emit_fn emit,
                         void *ctx)
{
    if (!final && !a->dirty && now_ms < a->next_due_ms)
        return;
    uint64_t soonest = UINT64_MAX;
    for (uint32_t i = 0; i < a->places.high; i++) {
        struct eg_finding *f = a->findings[i];
        if (!f)
            continue;
        bool due = !f->emitted ||
                   (unsent_change(f) &&
                    (final || age_ms(now_ms, f->last_emit_ms) >= a->cfg.interval_ms)) ||
                   (f->refresh && age_ms(now_ms, f->last_emit_ms) >= 1000);
        if (due)
            settle(a, f, emit(ctx, f, now_ms, final), now_ms);
        /* Past its window with nothing pending, a finding is done. */
        if (age_ms(now_ms, f->created_ms) >= a->cfg.window_ms && !pending_change(f)) {
            retire_at(a, i);
            continue;
        }
        uint64_t due_at = next_due(a, f, now_ms);
        if (due_at < soonest)
            soonest = due_at;
    }
    a->dirty = false;
    a->next_due_ms = soonest;
}

void eg_aggregator_foreach(struct eg_aggregator *a, void (*fn)(void *ctx, struct eg_finding *f),
                           void *ctx)
{
    a->dirty = true; /* fn may change what is due */
    for (uint32_t i = 0; i < a->places.high; i++)
        if (a->findings[i])
            fn(ctx, a->findings[i]);
}

void eg_aggregator_get_stats(struct eg_aggregator *a, struct eg_aggregator_stats *out)
{
    *out = a->stats;
}

bool eg_aggregator_adopt(struct eg_aggregator *a, struct eg_finding *f)
{
    f->key[sizeof(f->key) - 1] = '\0';
    f->key_hash = eg_hash_str(f->key);
    struct eg_hash_iter it;
    for (uint32_t i = eg_hash_index_first(&a->index, f->key_hash, &it); i != EG_HASH_NONE;
         i = eg_hash_index_next(&a->index, &it))
        if (strcmp(a->findings[i]->key, f->key) == 0)
            return false;
    if (a->stats.open >= a->cfg.max_findings)
        return false;
    uint32_t place = eg_entry_pool_take(&a->places);
    a->findings[place] = f;
    eg_hash_index_insert(&a->index, f->key_hash, place);
    a->stats.open++;
    a->dirty = true;
    return true;
}

void eg_aggregator_visit(const struct eg_aggregator *a,
                         void (*fn)(void *ctx, const struct eg_finding *f), void *ctx)
{
    for (uint32_t i = 0; i < a->places.high; i++)
        if (a->findings[i])
            fn(ctx, a->findings[i]);
}

unsigned eg_aggregator_unsaved(const struct eg_aggregator *a)
{
    return a->unsaved;
}

void eg_aggregator_mark_saved(struct eg_aggregator *a)
{
    a->unsaved = EG_UNSAVED_NONE;
}
