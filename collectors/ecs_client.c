/*
 * The ECS introspection client behind collectors/ecs_introspection.h: the
 * public eg_ecs_client_* functions and the worker thread that drives the
 * curl multi handle, picks due requests from the cache, publishes answers
 * and announces them on an eventfd. The agent's event loop never blocks on
 * HTTP: lookups return what the cache holds now.
 *
 * Threading: every field of struct eg_ecs_client below `mu` is guarded by
 * it, the cache included. The worker owns the curl handles and only takes the
 * lock to pick work and to publish answers; parsing and I/O happen outside
 * the lock, so a lookup never waits for the network. docs/ecs-identity.md
 * describes the cache states and retry schedule.
 *
 * The rest of the client: ecs_cache.c (entries, LRU, TTL and backoff),
 * ecs_transfer.c (one request), ecs_fallback.c (Docker Engine API fallback),
 * ecs_parse.c (response bodies); ecs_internal.h joins them.
 */
#include "collectors/worker_privileges.h"
#include "collectors/ecs_introspection.h"
#include "collectors/docker_api.h"
#include "collectors/ecs_internal.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define EG_ECS_MAX_PARALLEL 4    /* task requests in flight at once (plus /v1/metadata) */
#define EG_ECS_IDLE_POLL_MS 1000 /* longest sleep of the worker when nothing is due */

struct eg_ecs_client {
    /* Immutable after eg_ecs_client_new. */
    struct eg_ecs_http_config http;
    int notify_fd;
    CURLM *multi; /* used by the worker; other threads only call curl_multi_wakeup */
    pthread_t worker;

    /* Worker-only. */
    struct eg_ecs_transfer *active[EG_ECS_MAX_PARALLEL + 1];
    struct eg_ecs_task scratch_task;

    pthread_mutex_t mu;
    bool stopping;
    bool work_pending;    /* something changed: the worker must rescan the cache */
    uint64_t next_due_ns; /* earliest scheduled request not yet started */
    struct eg_ecs_cache cache;
    unsigned task_in_flight;
    bool metadata_known, metadata_in_flight;
    uint64_t metadata_due_ns;
    unsigned metadata_backoff_ms;
    struct eg_ecs_metadata metadata;
    struct eg_ecs_client_stats stats;
};

static bool docker_id_valid(const char *id)
{
    if (!id)
        return false;
    size_t n = strnlen(id, EG_ECS_ID_BUF);
    if (n != EG_ECS_ID_BUF - 1)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return false;
    return true;
}

/* ---------------------------------------------------------------------------
 * Worker thread
 * ------------------------------------------------------------------------- */

static void count_outcome(struct eg_ecs_client *c, enum eg_ecs_outcome o)
{
    switch (o) {
    case EG_ECS_OUT_OK:
        c->stats.responses_ok++;
        break;
    case EG_ECS_OUT_NOT_FOUND:
        c->stats.not_found++;
        break;
    case EG_ECS_OUT_HTTP_ERROR:
        c->stats.http_errors++;
        break;
    case EG_ECS_OUT_TIMEOUT:
        c->stats.timeouts++;
        break;
    case EG_ECS_OUT_CONNECT:
        c->stats.connect_errors++;
        break;
    case EG_ECS_OUT_OVERSIZED:
        c->stats.oversized++;
        break;
    case EG_ECS_OUT_TRANSPORT:
        c->stats.transport_errors++;
        break;
    case EG_ECS_OUT_PARSE:
        c->stats.parse_errors++;
        break;
    }
}

static void notify(struct eg_ecs_client *c)
{
    uint64_t one = 1;
    /* EAGAIN means the counter is saturated: the reader is already woken. */
    if (write(c->notify_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        return;
}

static void apply_metadata_answer_locked(struct eg_ecs_client *c, enum eg_ecs_outcome o,
                                         const struct eg_ecs_metadata *md, uint64_t now)
{
    c->metadata_in_flight = false;
    if (o == EG_ECS_OUT_OK) {
        c->metadata = *md;
        /* Before registration the agent answers with an empty instance ARN: not known yet. */
        if (md->container_instance_arn[0]) {
            c->metadata_known = true;
            c->stats.metadata_known = true;
            return;
        }
    }
    c->metadata_due_ns = now + (uint64_t)c->metadata_backoff_ms * EG_ECS_NS_PER_MS;
    c->metadata_backoff_ms = eg_ecs_cache_next_backoff(&c->cache, c->metadata_backoff_ms);
}

static bool start_transfer(struct eg_ecs_client *c, enum eg_ecs_transfer_kind kind, const char *id);

static void finish_transfer(struct eg_ecs_client *c, struct eg_ecs_transfer *t, CURLcode rc)
{
    long status;
    enum eg_ecs_outcome o = eg_ecs_transfer_outcome(t, rc, &status);
    struct eg_ecs_metadata md = {0};
    char err[256];
    if (o == EG_ECS_OUT_OK) {
        int prc;
        if (t->kind == EG_ECS_XFER_TASK)
            prc = eg_ecs_parse_task(t->body, t->len, &c->scratch_task, err, sizeof(err));
        else if (t->kind == EG_ECS_XFER_RUNTIME)
            prc = eg_docker_parse_container(t->body, t->len, t->id, &c->scratch_task, err,
                                            sizeof(err));
        else
            prc = eg_ecs_parse_metadata(t->body, t->len, &md, err, sizeof(err));
        if (prc != 0)
            o = EG_ECS_OUT_PARSE;
    }
    uint64_t now = eg_ecs_now_ns();
    bool ask_runtime = false;
    pthread_mutex_lock(&c->mu);
    if (t->kind == EG_ECS_XFER_RUNTIME) {
        if (eg_ecs_fallback_apply_answer(&c->cache, t->id, o, &c->scratch_task))
            c->stats.runtime_answers++;
    } else {
        count_outcome(c, o);
        if (t->kind == EG_ECS_XFER_TASK) {
            c->task_in_flight--;
            eg_ecs_cache_apply_answer(&c->cache, t->id, o, &c->scratch_task, now);
            ask_runtime = o != EG_ECS_OUT_OK &&
                          eg_ecs_fallback_wanted(&c->cache, c->http.docker_socket, t->id);
            if (ask_runtime)
                c->stats.runtime_lookups++;
        } else {
            apply_metadata_answer_locked(c, o, &md, now);
        }
    }
    c->work_pending = true;
    pthread_mutex_unlock(&c->mu);
    /* The ECS agent could not say: ask the container runtime, once per container. */
    if (ask_runtime && !start_transfer(c, EG_ECS_XFER_RUNTIME, t->id)) {
        pthread_mutex_lock(&c->mu);
        /* No free slot now: try after the next failure. */
        eg_ecs_fallback_unask(&c->cache, t->id);
        pthread_mutex_unlock(&c->mu);
    }
    notify(c);
}

static bool start_transfer(struct eg_ecs_client *c, enum eg_ecs_transfer_kind kind, const char *id)
{
    struct eg_ecs_transfer *t = eg_ecs_transfer_new(&c->http, kind, id);
    if (t) {
        for (size_t i = 0; i < EG_ECS_MAX_PARALLEL + 1; i++) {
            if (!c->active[i]) {
                if (curl_multi_add_handle(c->multi, t->easy) != CURLM_OK)
                    break;
                c->active[i] = t;
                return true;
            }
        }
        eg_ecs_transfer_free(t);
    }
    return false;
}

/* Undo the bookkeeping of a request that could not even be started; retried with backoff. */
static void start_failed_locked(struct eg_ecs_client *c, enum eg_ecs_transfer_kind kind,
                                const char *id, uint64_t now)
{
    c->stats.transport_errors++;
    if (kind == EG_ECS_XFER_TASK) {
        c->task_in_flight--;
        eg_ecs_cache_apply_answer(&c->cache, id, EG_ECS_OUT_TRANSPORT, NULL, now);
    } else {
        apply_metadata_answer_locked(c, EG_ECS_OUT_TRANSPORT, NULL, now);
    }
}

struct start_list {
    size_t n;
    bool metadata;
    char ids[EG_ECS_MAX_PARALLEL][EG_ECS_ID_BUF];
};

/*
 * Pick what is due, most recently used first, up to the parallelism bound,
 * and mark it in flight. Returns with c->next_due_ns set to the earliest
 * future request; entries held back only by the bound are picked up again
 * when a slot frees (work_pending).
 */
static void pick_due_locked(struct eg_ecs_client *c, uint64_t now, struct start_list *out)
{
    out->n = 0;
    out->metadata = false;
    uint64_t next = UINT64_MAX;
    if (!c->metadata_known && !c->metadata_in_flight) {
        if (c->metadata_due_ns <= now) {
            c->metadata_in_flight = true;
            out->metadata = true;
            c->stats.requests++;
        } else if (c->metadata_due_ns < next) {
            next = c->metadata_due_ns;
        }
    }
    for (struct eg_ecs_cache_entry *e = c->cache.lru_head; e; e = e->lru_next) {
        if (!e->scheduled || e->in_flight)
            continue;
        if (e->due_ns > now) {
            if (e->due_ns < next)
                next = e->due_ns;
            continue;
        }
        if (c->task_in_flight >= EG_ECS_MAX_PARALLEL)
            continue;
        e->in_flight = true;
        c->task_in_flight++;
        c->stats.requests++;
        if (e->state == EG_ECS_RESOLVED && !e->last_failed)
            c->stats.revalidations++;
        else if (e->last_failed)
            c->stats.retries++;
        memcpy(out->ids[out->n++], e->id, EG_ECS_ID_BUF);
    }
    c->next_due_ns = next;
    c->work_pending = false;
}

static void *worker_main(void *arg)
{
    struct eg_ecs_client *c = arg;
    /* It reads only the network: started without capabilities (eg_worker_start). */
    for (;;) {
        struct start_list todo = {0};
        uint64_t now = eg_ecs_now_ns();
        pthread_mutex_lock(&c->mu);
        if (c->stopping) {
            pthread_mutex_unlock(&c->mu);
            break;
        }
        if (c->work_pending || now >= c->next_due_ns)
            pick_due_locked(c, now, &todo);
        uint64_t next_due = c->next_due_ns;
        pthread_mutex_unlock(&c->mu);

        bool failed[EG_ECS_MAX_PARALLEL] = {false};
        bool metadata_failed = todo.metadata && !start_transfer(c, EG_ECS_XFER_METADATA, NULL);
        for (size_t i = 0; i < todo.n; i++)
            failed[i] = !start_transfer(c, EG_ECS_XFER_TASK, todo.ids[i]);
        if (metadata_failed || todo.n) {
            pthread_mutex_lock(&c->mu);
            if (metadata_failed)
                start_failed_locked(c, EG_ECS_XFER_METADATA, NULL, now);
            for (size_t i = 0; i < todo.n; i++)
                if (failed[i])
                    start_failed_locked(c, EG_ECS_XFER_TASK, todo.ids[i], now);
            pthread_mutex_unlock(&c->mu);
        }

        int running = 0;
        curl_multi_perform(c->multi, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(c->multi, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            CURL *easy = msg->easy_handle;
            CURLcode rc = msg->data.result;
            struct eg_ecs_transfer *t = NULL;
            curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
            curl_multi_remove_handle(c->multi, easy);
            for (size_t i = 0; i < EG_ECS_MAX_PARALLEL + 1; i++)
                if (c->active[i] == t)
                    c->active[i] = NULL;
            finish_transfer(c, t, rc);
            eg_ecs_transfer_free(t);
        }

        /* curl_multi_poll also returns early for curl's own timers and for curl_multi_wakeup. */
        uint64_t after = eg_ecs_now_ns();
        long wait_ms = EG_ECS_IDLE_POLL_MS;
        if (next_due != UINT64_MAX) {
            uint64_t until =
                next_due > after ? (next_due - after + EG_ECS_NS_PER_MS - 1) / EG_ECS_NS_PER_MS : 0;
            if (until < (uint64_t)wait_ms)
                wait_ms = (long)until;
        }
        pthread_mutex_lock(&c->mu);
        if (c->work_pending)
            wait_ms = 0;
        pthread_mutex_unlock(&c->mu);
        curl_multi_poll(c->multi, NULL, 0, (int)wait_ms, NULL);
    }
    /* Abandon whatever is in flight: a hanging agent must not hold up shutdown. */
    for (size_t i = 0; i < EG_ECS_MAX_PARALLEL + 1; i++) {
        if (c->active[i]) {
            curl_multi_remove_handle(c->multi, c->active[i]->easy);
            eg_ecs_transfer_free(c->active[i]);
            c->active[i] = NULL;
        }
    }
    return NULL;
}

/* ---------------------------------------------------------------------------
 * Public interface
 * ------------------------------------------------------------------------- */

static char *normalised_base_url(const char *base)
{
    if (!base || !base[0])
        base = "http://localhost:51678";
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, base, n);
        s[n] = '\0';
    }
    return s;
}

struct eg_ecs_client *eg_ecs_client_new(const struct eg_ecs_client_config *cfg)
{
    struct eg_ecs_client_config zero = {0};
    if (!cfg)
        cfg = &zero;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return NULL;
    struct eg_ecs_client *c = calloc(1, sizeof(*c));
    if (!c) {
        curl_global_cleanup();
        return NULL;
    }
    c->notify_fd = -1;
    c->http.connect_timeout_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 500;
    c->http.request_timeout_ms = cfg->request_timeout_ms > 0 ? cfg->request_timeout_ms : 2000;
    bool cache_ok = eg_ecs_cache_init(&c->cache, cfg) == 0;
    c->metadata_backoff_ms = c->cache.retry_initial_ms;
    c->next_due_ns = 0;
    c->work_pending = true;

    c->http.base_url = normalised_base_url(cfg->base_url);
    c->http.docker_socket = eg_ecs_fallback_socket(cfg->docker_socket);
    c->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    c->multi = curl_multi_init();
    if (!c->http.base_url || !cache_ok || c->notify_fd < 0 || !c->multi ||
        pthread_mutex_init(&c->mu, NULL) != 0)
        goto fail;
    if (eg_worker_start(&c->worker, worker_main, c) != 0) {
        pthread_mutex_destroy(&c->mu);
        goto fail;
    }
    return c;
fail:
    if (c->multi)
        curl_multi_cleanup(c->multi);
    if (c->notify_fd >= 0)
        close(c->notify_fd);
    eg_ecs_cache_destroy(&c->cache);
    free(c->http.base_url);
    free(c->http.docker_socket);
    free(c);
    curl_global_cleanup();
    return NULL;
}

void eg_ecs_client_free(struct eg_ecs_client *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->stopping = true;
    pthread_mutex_unlock(&c->mu);
    curl_multi_wakeup(c->multi);
    pthread_join(c->worker, NULL);

    eg_ecs_cache_destroy(&c->cache);
    curl_multi_cleanup(c->multi);
    close(c->notify_fd);
    pthread_mutex_destroy(&c->mu);
    free(c->http.base_url);
    free(c->http.docker_socket);
    free(c);
    curl_global_cleanup();
}

void eg_ecs_client_request(struct eg_ecs_client *c, const char *docker_id)
{
    if (!c || !docker_id_valid(docker_id))
        return;
    bool wake = false;
    pthread_mutex_lock(&c->mu);
    if (!eg_ecs_cache_find(&c->cache, docker_id)) {
        bool evicted;
        struct eg_ecs_cache_entry *e = eg_ecs_cache_insert(&c->cache, docker_id, &evicted);
        if (evicted)
            c->stats.evictions++;
        if (e) {
            c->work_pending = true;
            wake = true;
        }
    }
    pthread_mutex_unlock(&c->mu);
    if (wake)
        curl_multi_wakeup(c->multi);
}

enum eg_ecs_state eg_ecs_client_lookup(struct eg_ecs_client *c, const char *docker_id,
                                       struct eg_ecs_task *out)
{
    if (!c || !docker_id_valid(docker_id))
        return EG_ECS_UNKNOWN;
    pthread_mutex_lock(&c->mu);
    enum eg_ecs_state state = eg_ecs_cache_lookup(&c->cache, docker_id, out);
    if (state == EG_ECS_RESOLVED || state == EG_ECS_NOT_FOUND || state == EG_ECS_RUNTIME_ONLY)
        c->stats.cache_hits++;
    else
        c->stats.cache_misses++;
    pthread_mutex_unlock(&c->mu);
    return state;
}

bool eg_ecs_client_metadata(struct eg_ecs_client *c, struct eg_ecs_metadata *out)
{
    if (!c)
        return false;
    pthread_mutex_lock(&c->mu);
    bool known = c->metadata_known;
    if (known && out)
        *out = c->metadata;
    pthread_mutex_unlock(&c->mu);
    return known;
}

int eg_ecs_client_notify_fd(struct eg_ecs_client *c)
{
    return c ? c->notify_fd : -1;
}

void eg_ecs_client_forget(struct eg_ecs_client *c, const char *docker_id)
{
    if (!c || !docker_id_valid(docker_id))
        return;
    pthread_mutex_lock(&c->mu);
    eg_ecs_cache_forget(&c->cache, docker_id);
    pthread_mutex_unlock(&c->mu);
}

void eg_ecs_client_get_stats(struct eg_ecs_client *c, struct eg_ecs_client_stats *out)
{
    if (!c) {
        memset(out, 0, sizeof(*out));
        return;
    }
    pthread_mutex_lock(&c->mu);
    *out = c->stats;
    pthread_mutex_unlock(&c->mu);
}
