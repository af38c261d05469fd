#include "agent/pipeline/aggregator.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "collectors/hash.h"

#define EG_AGG_BUCKETS 4096 /* power of two */

struct eg_aggregator {
    struct eg_aggregator_config cfg;
    struct eg_aggregator_stats stats;
    /*
     * The agent flushes after every drain (100 times a second while records flow). Walking the
     * 32 KiB of buckets each time was 2-9 % of the agent's CPU; a flush with nothing recorded
     * since the last walk and nothing due before next_due_ms returns at once.
     */
    bool dirty;
    uint64_t next_due_ms;
    struct eg_finding *buckets[EG_AGG_BUCKETS];
};

struct eg_aggregator *eg_aggregator_new(const struct eg_aggregator_config *cfg)
{
    struct eg_aggregator *a = calloc(1, sizeof(*a));
    if (a)
        a->cfg = *cfg;
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
    for (int b = 0; b < EG_AGG_BUCKETS; b++) {
        struct eg_finding *f = a->buckets[b];
        while (f) {
            struct eg_finding *next = f->next_in_bucket;
            finding_free(f);
            f = next;
        }
    }
    free(a);
}

static void unlink_finding(struct eg_aggregator *a, struct eg_finding *f)
{
    struct eg_finding **pp = &a->buckets[f->key_hash & (EG_AGG_BUCKETS - 1)];
    while (*pp && *pp != f)
        pp = &(*pp)->next_in_bucket;
    if (*pp)
        *pp = f->next_in_bucket;
    a->stats.open--;
    a->stats.retired++;
}

/* Age that never wraps: a finding recorded after `now_ms` was read has age 0. */
static uint64_t age_ms(uint64_t now_ms, uint64_t then_ms)
{
    return now_ms > then_ms ? now_ms - then_ms : 0;
}

static bool pending_change(const struct eg_finding *f)
{
    return !f->emitted || f->count != f->emitted_count || f->refresh;
}

/* Make room: retire the oldest finding that has nothing left to emit. */
static bool retire_one(struct eg_aggregator *a)
{
    struct eg_finding *victim = NULL;
    for (int b = 0; b < EG_AGG_BUCKETS; b++)
        for (struct eg_finding *f = a->buckets[b]; f; f = f->next_in_bucket)
            if (!pending_change(f) && (!victim || f->updated_ms < victim->updated_ms))
                victim = f;
    if (!victim)
        return false;
    unlink_finding(a, victim);
    finding_free(victim);
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
    uint64_t h = eg_hash_str(key);
    for (struct eg_finding *f = a->buckets[h & (EG_AGG_BUCKETS - 1)]; f; f = f->next_in_bucket)
        if (f->key_hash == h && strcmp(f->key, key) == 0 &&
            age_ms(now_ms, f->created_ms) < a->cfg.window_ms)
            return f;
    return NULL;
}

struct eg_finding *eg_aggregator_record(struct eg_aggregator *a, const char *key,
                                        enum eg_finding_type type, uint64_t event_ms,
                                        uint64_t count, uint64_t now_ms, bool *created)
{
    *created = false;
    a->dirty = true; /* the caller fills in or changes what it gets back */
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
    f = calloc(1, sizeof(*f));
    if (!f) {
        a->stats.dropped += count;
        return NULL;
    }
    snprintf(f->key, sizeof(f->key), "%s", key);
    f->key_hash = eg_hash_str(key);
    f->type = type;
    new_finding_id(f->id);
    f->created_ms = f->updated_ms = now_ms;
    f->first_seen_ms = f->last_seen_ms = event_ms;
    f->count = count;
    struct eg_finding **bucket = &a->buckets[f->key_hash & (EG_AGG_BUCKETS - 1)];
    f->next_in_bucket = *bucket;
    *bucket = f;
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
    if (f->count != f->emitted_count && f->last_emit_ms + a->cfg.interval_ms < due)
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
        f->suppressed = false;
        break;
    case EG_EMIT_FAILED:
        a->stats.failed++;
        f->suppressed = false;
        break;
    }
    f->emitted = true;
    f->emitted_count = f->count;
    f->last_emit_ms = now_ms;
}

void eg_aggregator_flush(struct eg_aggregator *a, uint64_t now_ms, bool final, eg_emit_fn emit,
                         void *ctx)
{
    if (!final && !a->dirty && now_ms < a->next_due_ms)
        return;
    uint64_t soonest = UINT64_MAX;
    for (int b = 0; b < EG_AGG_BUCKETS; b++) {
        struct eg_finding **pp = &a->buckets[b];
        while (*pp) {
            struct eg_finding *f = *pp;
            bool due = !f->emitted ||
                       (f->count != f->emitted_count &&
                        (final || age_ms(now_ms, f->last_emit_ms) >= a->cfg.interval_ms)) ||
                       (f->refresh && age_ms(now_ms, f->last_emit_ms) >= 1000);
            if (due)
                settle(a, f, emit(ctx, f, now_ms, final), now_ms);
            /* Past its window with nothing pending, a finding is done. */
            if (age_ms(now_ms, f->created_ms) >= a->cfg.window_ms && !pending_change(f)) {
                *pp = f->next_in_bucket;
                a->stats.open--;
                a->stats.retired++;
                finding_free(f);
                continue;
            }
            uint64_t due_at = next_due(a, f, now_ms);
            if (due_at < soonest)
                soonest = due_at;
            pp = &f->next_in_bucket;
        }
    }
    a->dirty = false;
    a->next_due_ms = soonest;
}

void eg_aggregator_foreach(struct eg_aggregator *a, void (*fn)(void *ctx, struct eg_finding *f),
                           void *ctx)
{
    a->dirty = true; /* fn may change what is due */
    for (int b = 0; b < EG_AGG_BUCKETS; b++)
        for (struct eg_finding *f = a->buckets[b]; f; f = f->next_in_bucket)
            fn(ctx, f);
}

void eg_aggregator_get_stats(struct eg_aggregator *a, struct eg_aggregator_stats *out)
{
    *out = a->stats;
}
