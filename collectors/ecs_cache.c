/*
 * The ECS client's cache: what the ECS agent said about each container id,
 * bounded (least recently used entry evicted when full), with the schedule of
 * the next request per entry: re-validation after the positive TTL, retries
 * with doubling backoff after a 404 (negative caching) or an error.
 *
 * Owns the entries (one array, allocated at init), their hash index, the LRU
 * list and the state transitions on
 * an answer from the ECS agent; not the lock (ecs_client.c holds its mutex
 * around every call), not the network, not the Docker fallback's transitions
 * (ecs_fallback.c). docs/ecs-identity.md §4 describes states and schedule.
 */
#include "collectors/ecs_internal.h"
#include "collectors/hash.h"

#include <stdlib.h>
#include <string.h>

#define EG_ECS_MAX_ENTRIES_LIMIT (1u << 20)

int eg_ecs_cache_init(struct eg_ecs_cache *cache, const struct eg_ecs_client_config *cfg)
{
    memset(cache, 0, sizeof(*cache));
    cache->positive_ttl_ns =
        (uint64_t)(cfg->positive_ttl_s ? cfg->positive_ttl_s : 300) * 1000 * EG_ECS_NS_PER_MS;
    unsigned negative_ttl_s = cfg->negative_ttl_s ? cfg->negative_ttl_s : 30;
    cache->retry_max_ms = negative_ttl_s > UINT32_MAX / 1000 ? UINT32_MAX : negative_ttl_s * 1000;
    cache->retry_initial_ms = cfg->retry_initial_ms ? cfg->retry_initial_ms : 1000;
    if (cache->retry_initial_ms > cache->retry_max_ms)
        cache->retry_initial_ms = cache->retry_max_ms;
    cache->max_entries = cfg->max_entries ? cfg->max_entries : 4096;
    if (cache->max_entries > EG_ECS_MAX_ENTRIES_LIMIT)
        cache->max_entries = EG_ECS_MAX_ENTRIES_LIMIT;
    /* Twice as many index slots as entries keeps probe runs short. */
    uint32_t slots = 16;
    while (slots < 2 * cache->max_entries)
        slots *= 2;
    cache->entries = calloc(cache->max_entries, sizeof(*cache->entries));
    if (!cache->entries || eg_entry_pool_init(&cache->pool, cache->max_entries) != 0 ||
        eg_hash_index_init(&cache->index, slots, 0, true) != 0) {
        eg_ecs_cache_destroy(cache);
        return -1;
    }
    return 0;
}

/* Ids are attacker-neutral hex: the agent's one hash spreads them well enough. */
static uint64_t id_hash(const char *id)
{
    return eg_hash_str(id);
}

struct eg_ecs_cache_entry *eg_ecs_cache_find(struct eg_ecs_cache *cache, const char *id)
{
    struct eg_hash_iter it;
    for (uint32_t e = eg_hash_index_first(&cache->index, id_hash(id), &it); e != EG_HASH_NONE;
         e = eg_hash_index_next(&cache->index, &it))
        if (strcmp(cache->entries[e].id, id) == 0)
            return &cache->entries[e];
    return NULL;
}

static void lru_unlink(struct eg_ecs_cache *cache, struct eg_ecs_cache_entry *e)
{
    if (e->lru_prev)
        e->lru_prev->lru_next = e->lru_next;
    else
        cache->lru_head = e->lru_next;
    if (e->lru_next)
        e->lru_next->lru_prev = e->lru_prev;
    else
        cache->lru_tail = e->lru_prev;
    e->lru_prev = e->lru_next = NULL;
}

static void lru_push_front(struct eg_ecs_cache *cache, struct eg_ecs_cache_entry *e)
{
    e->lru_prev = NULL;
    e->lru_next = cache->lru_head;
    if (cache->lru_head)
        cache->lru_head->lru_prev = e;
    cache->lru_head = e;
    if (!cache->lru_tail)
        cache->lru_tail = e;
}

static void lru_touch(struct eg_ecs_cache *cache, struct eg_ecs_cache_entry *e)
{
    if (cache->lru_head == e)
        return;
    lru_unlink(cache, e);
    lru_push_front(cache, e);
}

static void entry_remove(struct eg_ecs_cache *cache, struct eg_ecs_cache_entry *e)
{
    uint32_t n = (uint32_t)(e - cache->entries);
    eg_hash_index_remove(&cache->index, id_hash(e->id), n);
    lru_unlink(cache, e);
    cache->n_entries--;
    free(e->task);
    memset(e, 0, sizeof(*e));
    eg_entry_pool_give(&cache->pool, n);
}

void eg_ecs_cache_destroy(struct eg_ecs_cache *cache)
{
    for (struct eg_ecs_cache_entry *e = cache->lru_head; e; e = e->lru_next)
        free(e->task);
    free(cache->entries);
    eg_entry_pool_destroy(&cache->pool);
    eg_hash_index_destroy(&cache->index);
    cache->entries = NULL;
    cache->lru_head = cache->lru_tail = NULL;
    cache->n_entries = 0;
}

struct eg_ecs_cache_entry *eg_ecs_cache_insert(struct eg_ecs_cache *cache, const char *id,
                                               bool *evicted)
{
    *evicted = false;
    if (cache->n_entries >= cache->max_entries && cache->lru_tail) {
        /* An in-flight victim is fine: its answer finds no entry and is dropped. */
        entry_remove(cache, cache->lru_tail);
        *evicted = true;
    }
    /* n_entries < max_entries here, so an entry is free and the index has room. */
    uint32_t n = eg_entry_pool_take(&cache->pool);
    struct eg_ecs_cache_entry *e = &cache->entries[n];
    eg_hash_index_insert(&cache->index, id_hash(id), n);
    memcpy(e->id, id, EG_ECS_ID_BUF);
    e->state = EG_ECS_PENDING;
    e->scheduled = true;
    e->due_ns = eg_ecs_now_ns();
    e->backoff_ms = cache->retry_initial_ms;
    lru_push_front(cache, e);
    cache->n_entries++;
    return e;
}

enum eg_ecs_state eg_ecs_cache_lookup(struct eg_ecs_cache *cache, const char *id,
                                      struct eg_ecs_task *out)
{
    struct eg_ecs_cache_entry *e = eg_ecs_cache_find(cache, id);
    enum eg_ecs_state state = e ? e->state : EG_ECS_UNKNOWN;
    if (e) {
        lru_touch(cache, e);
        if ((state == EG_ECS_RESOLVED || state == EG_ECS_RUNTIME_ONLY) && out)
            memcpy(out, e->task, e->task_size);
    }
    return state;
}

void eg_ecs_cache_forget(struct eg_ecs_cache *cache, const char *id)
{
    struct eg_ecs_cache_entry *e = eg_ecs_cache_find(cache, id);
    if (e) {
        e->forgotten = true;
        e->scheduled = false;
    }
}

unsigned eg_ecs_cache_next_backoff(const struct eg_ecs_cache *cache, unsigned current_ms)
{
    unsigned doubled = current_ms > cache->retry_max_ms / 2 ? cache->retry_max_ms : current_ms * 2;
    return doubled < cache->retry_max_ms ? doubled : cache->retry_max_ms;
}

void eg_ecs_cache_apply_answer(struct eg_ecs_cache *cache, const char *id, enum eg_ecs_outcome o,
                               const struct eg_ecs_task *task, uint64_t now)
{
    struct eg_ecs_cache_entry *e = eg_ecs_cache_find(cache, id);
    if (!e)
        return; /* evicted while in flight */
    e->in_flight = false;
    e->scheduled = false;
    if (o == EG_ECS_OUT_OK) {
        size_t size = offsetof(struct eg_ecs_task, containers) +
                      (size_t)task->n_containers * sizeof(struct eg_ecs_container);
        struct eg_ecs_task *copy = malloc(size);
        if (copy) {
            memcpy(copy, task, size);
            free(e->task);
            e->task = copy;
            e->task_size = size;
            e->state = EG_ECS_RESOLVED;
            e->last_failed = false;
            e->backoff_ms = cache->retry_initial_ms;
            if (!e->forgotten) {
                e->scheduled = true;
                e->due_ns = now + cache->positive_ttl_ns;
            }
            return;
        }
        /* No memory for the copy: keep what we had and retry like any failure. */
    }
    if (o == EG_ECS_OUT_NOT_FOUND && e->state == EG_ECS_RESOLVED) {
        /*
         * The agent dropped the task (cleaned up ~3 h after it stopped). A
         * container never changes task, so the cached identity stays right;
         * there is nothing left to re-validate against.
         */
        return;
    }
    if (o == EG_ECS_OUT_NOT_FOUND && e->state != EG_ECS_RUNTIME_ONLY)
        e->state = EG_ECS_NOT_FOUND;
    e->last_failed = true;
    if (!e->forgotten) {
        e->scheduled = true;
        e->due_ns = now + (uint64_t)e->backoff_ms * EG_ECS_NS_PER_MS;
    }
    e->backoff_ms = eg_ecs_cache_next_backoff(cache, e->backoff_ms);
}
