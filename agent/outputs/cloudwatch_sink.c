/*
 * The CloudWatch Logs sink: parses the --output spec, accepts lines on the event loop (write()
 * only queues them in memory), and owns the delivery threads' set-up, flush, counters and
 * shutdown. The threads are cloudwatch_spooler.c (memory to disk spool) and cloudwatch_sender.c
 * (spool to CloudWatch), sharing cloudwatch_internal.h.
 */
#include "agent/outputs/cloudwatch_internal.h"
#include "collectors/worker_privileges.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "agent/aws/logs_batch.h"
#include "agent/common/log.h"

/* ---- spec ------------------------------------------------------------------------------ */

int eg_cloudwatch_parse_spec(const char *spec, struct eg_cloudwatch_spec *out, char *err,
                             size_t errlen)
{
    memset(out, 0, sizeof(*out));
    static const char prefix[] = "cloudwatch:";
    if (!spec || strncmp(spec, prefix, sizeof(prefix) - 1) != 0) {
        snprintf(err, errlen, "output spec must look like cloudwatch:LOG_GROUP[:LOG_STREAM]");
        return -1;
    }
    const char *g = spec + sizeof(prefix) - 1;
    const char *colon = strchr(g, ':');
    out->log_group = colon ? strndup(g, (size_t)(colon - g)) : strdup(g);
    if (colon)
        out->log_stream = strdup(colon + 1);
    if (!out->log_group || (colon && !out->log_stream)) {
        snprintf(err, errlen, "out of memory");
        eg_cloudwatch_spec_free(out);
        return -1;
    }
    if (!eg_logs_valid_group(out->log_group)) {
        snprintf(err, errlen,
                 "invalid log group name \"%.100s\" (1-512 of A-Z a-z 0-9 . - _ / #, not aws/...)",
                 out->log_group);
        eg_cloudwatch_spec_free(out);
        return -1;
    }
    if (colon && !eg_logs_valid_stream(out->log_stream)) {
        snprintf(err, errlen, "invalid log stream name \"%.100s\" (1-512 chars, no ':' or '*')",
                 out->log_stream);
        eg_cloudwatch_spec_free(out);
        return -1;
    }
    return 0;
}

void eg_cloudwatch_spec_free(struct eg_cloudwatch_spec *spec)
{
    free(spec->log_group);
    free(spec->log_stream);
    memset(spec, 0, sizeof(*spec));
}

/* ---- write (event loop) ---------------------------------------------------------------- */

static int cw_write(struct eg_sink *s, const char *line, size_t len, uint64_t ts_ms)
{
    struct cw_sink *cw = (struct cw_sink *)s;
    size_t clean_len = 0;
    char *clean = len ? eg_utf8_sanitize(line, len, &clean_len) : NULL;
    if (!clean || clean_len == 0 || clean_len > EG_LOGS_MAX_MESSAGE) {
        free(clean);
        pthread_mutex_lock(&cw->mu);
        cw->c.dropped_invalid++;
        pthread_mutex_unlock(&cw->mu);
        return -1;
    }
    pthread_mutex_lock(&cw->mu);
    if (cw->qbytes + clean_len > cw->cfg.queue_max_bytes || cw->stopping) {
        cw->c.dropped_queue_full++;
        pthread_mutex_unlock(&cw->mu);
        free(clean);
        return -1;
    }
    if (cw->qlen == cw->qcap) {
        size_t cap = cw->qcap ? cw->qcap * 2 : 256;
        struct qrec *nq = realloc(cw->q, cap * sizeof(*nq));
        if (!nq) {
            cw->c.dropped_queue_full++;
            pthread_mutex_unlock(&cw->mu);
            free(clean);
            return -1;
        }
        cw->q = nq;
        cw->qcap = cap;
    }
    cw->q[cw->qlen++] = (struct qrec){
        .ts_ms = ts_ms ? ts_ms : cw_wall_ms(), .len = (uint32_t)clean_len, .data = clean};
    cw->qbytes += clean_len;
    cw->c.accepted++;
    pthread_cond_signal(&cw->wake_spooler);
    pthread_mutex_unlock(&cw->mu);
    return 0;
}

/* ---- ops ------------------------------------------------------------------------------- */

static bool all_delivered_locked(const struct cw_sink *cw)
{
    return cw->qlen == 0 && !cw->spooling && cw->sender_idle;
}

static void cw_flush(struct eg_sink *s)
{
    struct cw_sink *cw = (struct cw_sink *)s;
    pthread_mutex_lock(&cw->mu);
    uint64_t deadline = cw_now_ms() + cw->cfg.shutdown_timeout_ms;
    cw->flush_waiters++;
    cw->sender_idle = false; /* make the sender look again before we call it done */
    pthread_cond_signal(&cw->wake_spooler);
    pthread_cond_signal(&cw->wake_sender);
    while (!all_delivered_locked(cw) && cw_now_ms() < deadline)
        cw_wait_ms(&cw->idle, &cw->mu, deadline - cw_now_ms());
    cw->flush_waiters--;
    pthread_mutex_unlock(&cw->mu);
}

void eg_cloudwatch_sink_counters(struct eg_sink *s, struct eg_cloudwatch_counters *out)
{
    struct cw_sink *cw = (struct cw_sink *)s;
    struct eg_spool_stats st;
    eg_spool_get_stats(cw->spool, &st);
    pthread_mutex_lock(&cw->mu);
    *out = cw->c;
    /* The spooler's batch too: taken off the queue, not durable until its append returns. */
    uint64_t queued = cw->qlen + cw->spooling_lines;
    pthread_mutex_unlock(&cw->mu);
    out->dropped_spool_full += st.dropped_records;
    out->spool_corrupt_frames = st.corrupt_frames;
    out->spool_damaged_segments = st.damaged_segments;
    out->spooled_bytes = st.disk_bytes;
    out->queued = queued;
    out->backlog = queued + st.pending_records;
}

static void cw_stats(struct eg_sink *s, struct json_object *obj)
{
    struct eg_cloudwatch_counters c;
    eg_cloudwatch_sink_counters(s, &c);
    struct {
        const char *name;
        uint64_t v;
    } rows[] = {
        {"cloudwatch_accepted", c.accepted},
        {"cloudwatch_sent", c.sent},
        {"cloudwatch_failed", c.failed},
        {"cloudwatch_rejected", c.rejected},
        {"cloudwatch_retried", c.retried},
        {"cloudwatch_requests", c.requests},
        {"cloudwatch_dropped_queue_full", c.dropped_queue_full},
        {"cloudwatch_dropped_invalid", c.dropped_invalid},
        {"cloudwatch_dropped_spool_full", c.dropped_spool_full},
        {"cloudwatch_spool_errors", c.spool_errors},
        {"cloudwatch_spool_corrupt_frames", c.spool_corrupt_frames},
        {"cloudwatch_spool_damaged_segments", c.spool_damaged_segments},
        {"cloudwatch_spooled_bytes", c.spooled_bytes},
        {"cloudwatch_backlog", c.backlog},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        json_object_object_add(obj, rows[i].name, json_object_new_int64((int64_t)rows[i].v));
}

static void cw_free(struct cw_sink *cw)
{
    eg_spool_close(cw->spool);
    eg_logs_client_free(cw->client);
    eg_cred_provider_free(cw->own_creds);
    for (size_t i = 0; i < cw->wlen; i++)
        free(cw->win[i].data);
    free(cw->win);
    free(cw->q);
    free(cw->group);
    free(cw->stream);
    pthread_cond_destroy(&cw->wake_spooler);
    pthread_cond_destroy(&cw->wake_sender);
    pthread_cond_destroy(&cw->idle);
    pthread_mutex_destroy(&cw->mu);
    free(cw);
}

static void cw_destroy(struct eg_sink *s)
{
    struct cw_sink *cw = (struct cw_sink *)s;
    pthread_mutex_lock(&cw->mu);
    cw->stopping = true;
    cw->stop_deadline_ms = cw_now_ms() + cw->cfg.shutdown_timeout_ms;
    pthread_cond_broadcast(&cw->wake_spooler);
    pthread_cond_broadcast(&cw->wake_sender);
    pthread_mutex_unlock(&cw->mu);
    if (cw->spooler_started)
        pthread_join(cw->spooler, NULL);
    if (cw->sender_started)
        pthread_join(cw->sender, NULL);
    struct eg_cloudwatch_counters c;
    eg_cloudwatch_sink_counters(s, &c);
    if (c.backlog)
        eg_log_info("cloudwatch: %llu undelivered lines stay in the spool for the next start",
                    (unsigned long long)c.backlog);
    cw_free(cw);
}

static const struct eg_sink_ops cw_ops = {
    .write = cw_write,
    .flush = cw_flush,
    .stats = cw_stats,
    .destroy = cw_destroy,
};

static void init_cond(pthread_cond_t *cv)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(cv, &a);
    pthread_condattr_destroy(&a);
}

struct eg_sink *eg_cloudwatch_sink_new(const struct eg_cloudwatch_config *cfg, char *err,
                                       size_t errlen)
{
    if (!eg_logs_valid_group(cfg->log_group)) {
        snprintf(err, errlen, "cloudwatch: invalid log group name");
        return NULL;
    }
    if (!eg_logs_valid_stream(cfg->log_stream)) {
        snprintf(err, errlen, "cloudwatch: invalid or missing log stream name");
        return NULL;
    }
    if (!cfg->spool_dir || !*cfg->spool_dir) {
        snprintf(err, errlen, "cloudwatch: a spool directory is required (--spool-dir)");
        return NULL;
    }
    const char *region = cfg->region;
    if (!region || !*region)
        region = getenv("AWS_REGION");
    if (!region || !*region)
        region = getenv("AWS_DEFAULT_REGION");
    if (!region || !*region) {
        snprintf(err, errlen, "cloudwatch: no AWS region (set AWS_REGION or pass one)");
        return NULL;
    }
    struct cw_sink *cw = calloc(1, sizeof(*cw));
    if (!cw) {
        snprintf(err, errlen, "cloudwatch: out of memory");
        return NULL;
    }
    pthread_mutex_init(&cw->mu, NULL);
    init_cond(&cw->wake_spooler);
    init_cond(&cw->wake_sender);
    init_cond(&cw->idle);
    cw->base.ops = &cw_ops;
    cw->base.name = "cloudwatch";
    cw->cfg = *cfg;
    cw->cfg.log_group = cw->cfg.log_stream = cw->cfg.region = cw->cfg.endpoint = NULL;
    cw->cfg.spool_dir = NULL;
    if (!cw->cfg.queue_max_bytes)
        cw->cfg.queue_max_bytes = 16u << 20;
    if (!cw->cfg.flush_interval_ms)
        cw->cfg.flush_interval_ms = 2000;
    if (!cw->cfg.request_timeout_ms)
        cw->cfg.request_timeout_ms = 10000;
    if (!cw->cfg.backoff_base_ms)
        cw->cfg.backoff_base_ms = 250;
    if (!cw->cfg.backoff_max_ms)
        cw->cfg.backoff_max_ms = 30000;
    if (!cw->cfg.shutdown_timeout_ms)
        cw->cfg.shutdown_timeout_ms = 5000;
    cw->group = strdup(cfg->log_group);
    cw->stream = strdup(cfg->log_stream);
    cw->creds = cfg->credentials;
    if (!cw->creds)
        cw->creds = cw->own_creds = eg_cred_provider_new(NULL);
    if (!cw->group || !cw->stream || !cw->creds) {
        snprintf(err, errlen, "cloudwatch: out of memory");
        cw_free(cw);
        return NULL;
    }
    struct eg_logs_client_opts lo = {.region = region,
                                     .endpoint = cfg->endpoint,
                                     .credentials = cw->creds,
                                     .timeout_ms = cw->cfg.request_timeout_ms};
    cw->client = eg_logs_client_new(&lo, err, errlen);
    if (!cw->client) {
        cw_free(cw);
        return NULL;
    }
    struct eg_spool_opts so = {.dir = cfg->spool_dir, .max_bytes = cfg->spool_max_bytes};
    cw->spool = eg_spool_open(&so, err, errlen);
    if (!cw->spool) {
        cw_free(cw);
        return NULL;
    }
    cw->jitter_seed = (unsigned)(cw_wall_ms() ^ (uintptr_t)cw);
    /* Both start without capabilities, dropped before the agent's filter can arrive. */
    cw->spooler_started = eg_worker_start(&cw->spooler, eg_cw_spooler_main, cw) == 0;
    cw->sender_started =
        cw->spooler_started && eg_worker_start(&cw->sender, eg_cw_sender_main, cw) == 0;
    if (!cw->sender_started) {
        snprintf(err, errlen, "cloudwatch: cannot start delivery threads");
        cw_destroy(&cw->base);
        return NULL;
    }
    eg_log_info("cloudwatch: delivering to %s/%s at %s, spool %s", cw->group, cw->stream,
                eg_logs_client_endpoint(cw->client), cfg->spool_dir);
    return &cw->base;
}
