/*
 * Private to the ECS introspection client: the types and functions that
 * ecs_cache.c, ecs_transfer.c, ecs_fallback.c and ecs_client.c share.
 * Nothing else includes this header; callers use collectors/ecs_introspection.h.
 *
 * Locking: the cache and fallback functions take no lock of their own.
 * ecs_client.c calls them with its mutex (struct eg_ecs_client's `mu`) held,
 * except for the set-up and tear-down ones (eg_ecs_cache_init/destroy,
 * eg_ecs_fallback_socket), which run while no worker thread exists. The
 * transfer functions touch no shared state and run on the worker thread only.
 */
#ifndef ECSGUARD_ECS_INTERNAL_H
#define ECSGUARD_ECS_INTERNAL_H

#include "collectors/cgroup_path.h"
#include "collectors/ecs_introspection.h"
#include "collectors/hash_index.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define EG_ECS_NS_PER_MS 1000000ull
#define EG_ECS_ID_BUF (EG_CONTAINER_ID_LEN + 1)

static inline uint64_t eg_ecs_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* How a request ended: ecs_transfer.c classifies, the cache and the stats consume it. */
enum eg_ecs_outcome {
    EG_ECS_OUT_OK,
    EG_ECS_OUT_NOT_FOUND,
    EG_ECS_OUT_HTTP_ERROR,
    EG_ECS_OUT_TIMEOUT,
    EG_ECS_OUT_CONNECT,
    EG_ECS_OUT_OVERSIZED,
    EG_ECS_OUT_TRANSPORT,
    EG_ECS_OUT_PARSE
};

/* ---------------------------------------------------------------------------
 * Cache of tasks per container id (ecs_cache.c)
 * ------------------------------------------------------------------------- */

struct eg_ecs_cache_entry {
    char id[EG_ECS_ID_BUF];
    enum eg_ecs_state state;
    struct eg_ecs_task *task; /* RESOLVED: heap copy holding only n_containers containers */
    size_t task_size;
    uint64_t due_ns; /* when `scheduled`: next request (retry or re-validation) */
    bool scheduled;
    bool in_flight;
    bool forgotten;     /* container gone: no more retries or re-validation */
    bool last_failed;   /* the previous answer was a 404 or an error: the next request is a retry */
    bool runtime_asked; /* the Docker API fallback was asked once */
    unsigned backoff_ms; /* delay before the next retry after a 404 or an error */
    struct eg_ecs_cache_entry *lru_prev, *lru_next; /* most recently used first */
};

struct eg_ecs_cache {
    /* Fixed by eg_ecs_cache_init. */
    uint64_t positive_ttl_ns;
    unsigned retry_initial_ms, retry_max_ms;
    unsigned max_entries;
    struct eg_ecs_cache_entry *entries; /* max_entries, touched as used */
    struct eg_entry_pool pool;          /* entries[] in use */
    struct eg_hash_index index;         /* hash of the id -> entries[] */

    unsigned n_entries;
    struct eg_ecs_cache_entry *lru_head, *lru_tail;
};

/* Bounds and schedule from `cfg` (defaults for zeros), empty table. 0, or -1 out of memory. */
int eg_ecs_cache_init(struct eg_ecs_cache *cache, const struct eg_ecs_client_config *cfg);
/* Drop every entry and the table. Also fine on a zeroed, never initialised cache. */
void eg_ecs_cache_destroy(struct eg_ecs_cache *cache);
struct eg_ecs_cache_entry *eg_ecs_cache_find(struct eg_ecs_cache *cache, const char *id);
/*
 * New PENDING entry, due now. Evicts the least recently used entry when full
 * (*evicted says so). Never NULL: the entries are allocated by eg_ecs_cache_init.
 */
struct eg_ecs_cache_entry *eg_ecs_cache_insert(struct eg_ecs_cache *cache, const char *id,
                                               bool *evicted);
/* The state of `id` (UNKNOWN when absent); refreshes its recency and copies its task if any. */
enum eg_ecs_state eg_ecs_cache_lookup(struct eg_ecs_cache *cache, const char *id,
                                      struct eg_ecs_task *out);
/* No more retries or re-validation for `id`. */
void eg_ecs_cache_forget(struct eg_ecs_cache *cache, const char *id);
/* Record the ECS agent's answer for `id` (task only with EG_ECS_OUT_OK) and schedule what's next.
 */
void eg_ecs_cache_apply_answer(struct eg_ecs_cache *cache, const char *id, enum eg_ecs_outcome o,
                               const struct eg_ecs_task *task, uint64_t now);
/* The retry delay after `current_ms`: doubled, capped at the negative TTL. */
unsigned eg_ecs_cache_next_backoff(const struct eg_ecs_cache *cache, unsigned current_ms);

/* ---------------------------------------------------------------------------
 * One HTTP request (ecs_transfer.c), worker thread only
 * ------------------------------------------------------------------------- */

enum eg_ecs_transfer_kind { EG_ECS_XFER_TASK, EG_ECS_XFER_METADATA, EG_ECS_XFER_RUNTIME };

struct eg_ecs_http_config {
    char *base_url;      /* the ECS agent, without trailing '/' */
    char *docker_socket; /* NULL: no runtime fallback */
    long connect_timeout_ms, request_timeout_ms;
};

struct eg_ecs_transfer {
    CURL *easy;
    enum eg_ecs_transfer_kind kind;
    char id[EG_ECS_ID_BUF];
    char *url;
    char *body;
    size_t len, cap;
    bool oversized;
};

/* A configured easy handle for `kind` (id: the container, unused for metadata), or NULL. */
struct eg_ecs_transfer *eg_ecs_transfer_new(const struct eg_ecs_http_config *http,
                                            enum eg_ecs_transfer_kind kind, const char *id);
void eg_ecs_transfer_free(struct eg_ecs_transfer *t);
/* How the finished transfer ended; *status gets the HTTP status (0 if none). */
enum eg_ecs_outcome eg_ecs_transfer_outcome(const struct eg_ecs_transfer *t, CURLcode rc,
                                            long *status);

/* ---------------------------------------------------------------------------
 * Docker Engine API fallback (ecs_fallback.c)
 * ------------------------------------------------------------------------- */

/* The socket to ask (heap copy), or NULL: configured "" or the socket does not exist. */
char *eg_ecs_fallback_socket(const char *configured);
/* Whether to ask the Docker API about `id` now; marks it asked. */
bool eg_ecs_fallback_wanted(struct eg_ecs_cache *cache, const char *socket, const char *id);
/* The request could not be started: allow asking again after the next failure. */
void eg_ecs_fallback_unask(struct eg_ecs_cache *cache, const char *id);
/* Record the Docker API's answer for `id`. True when it was stored (RUNTIME_ONLY). */
bool eg_ecs_fallback_apply_answer(struct eg_ecs_cache *cache, const char *id, enum eg_ecs_outcome o,
                                  const struct eg_ecs_task *task);

#endif
