/*
 * The CloudWatch sink's sender thread: reads the spool into a window, sends it in PutLogEvents
 * batches within the service's limits, acks what was delivered, and on failure retries with
 * capped, jittered backoff: creating the log group and stream when they are missing, renewing
 * credentials on an auth error, and resending in halves to isolate a line the service refuses.
 */
#include "agent/outputs/cloudwatch_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "agent/aws/logs_batch.h"
#include "agent/common/log.h"

static void window_pop(struct cw_sink *cw, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cw->wbytes -= cw->win[i].len + EG_LOGS_EVENT_OVERHEAD;
        free(cw->win[i].data);
    }
    memmove(cw->win, cw->win + n, (cw->wlen - n) * sizeof(*cw->win));
    cw->wlen -= n;
    cw->win_since_ms = cw->wlen ? cw_now_ms() : 0;
}

static bool window_full(const struct cw_sink *cw)
{
    return cw->wlen >= EG_LOGS_MAX_EVENTS || cw->wbytes >= EG_LOGS_MAX_BATCH_BYTES;
}

/* Top the window up from the spool and forget lines the spool dropped when full. */
static void window_fill(struct cw_sink *cw)
{
    uint64_t floor = eg_spool_floor(cw->spool);
    size_t gone = 0;
    while (gone < cw->wlen && cw->win[gone].seq < floor)
        gone++;
    if (gone)
        window_pop(cw, gone);
    while (!window_full(cw)) {
        struct eg_spool_record *r;
        size_t n;
        if (eg_spool_read(cw->spool, &r, &n) != 0)
            continue; /* damaged frame skipped and counted; keep reading */
        if (n == 0)
            break;
        if (cw->wlen + n > cw->wcap) {
            size_t cap = cw->wcap ? cw->wcap : 1024;
            while (cap < cw->wlen + n)
                cap *= 2;
            struct eg_spool_record *nw = realloc(cw->win, cap * sizeof(*nw));
            if (!nw) {
                /* Not read into memory: the spool keeps them until the next start. */
                eg_spool_records_free(r, n);
                break;
            }
            cw->win = nw;
            cw->wcap = cap;
        }
        if (!cw->wlen)
            cw->win_since_ms = cw_now_ms();
        for (size_t i = 0; i < n; i++) {
            cw->win[cw->wlen++] = r[i];
            cw->wbytes += r[i].len + EG_LOGS_EVENT_OVERHEAD;
        }
        free(r); /* the strings now belong to the window */
    }
}

static void log_failure(struct cw_sink *cw, const char *what, const struct eg_logs_reply *r)
{
    uint64_t t = cw_now_ms();
    if (cw->failing && t - cw->last_error_log_ms < ERROR_LOG_INTERVAL_MS)
        return;
    cw->failing = true;
    cw->last_error_log_ms = t;
    eg_log_warn("cloudwatch: %s to %s failed: %s%s%s (HTTP %ld); retrying with backoff", what,
                eg_logs_client_endpoint(cw->client), r->code, r->message[0] ? ": " : "", r->message,
                r->http_status);
}

static void backoff(struct cw_sink *cw)
{
    unsigned shift = cw->attempt < 16 ? cw->attempt : 16;
    uint64_t cap = (uint64_t)cw->cfg.backoff_base_ms << shift;
    if (cap > cw->cfg.backoff_max_ms)
        cap = cw->cfg.backoff_max_ms;
    cw->attempt++;
    /* Half fixed, half random: spreads agents apart without ever spinning. */
    uint64_t delay =
        cap / 2 + (uint64_t)((double)(cap / 2 + 1) * ((double)rand_r(&cw->jitter_seed) / RAND_MAX));
    pthread_mutex_lock(&cw->mu);
    cw->c.retried++;
    uint64_t until = cw_now_ms() + delay;
    while (!cw->stopping && cw_now_ms() < until)
        cw_wait_ms(&cw->wake_sender, &cw->mu, until - cw_now_ms());
    pthread_mutex_unlock(&cw->mu);
}

static char *names_body(const struct cw_sink *cw, bool with_stream)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "logGroupName", json_object_new_string(cw->group));
    if (with_stream)
        json_object_object_add(o, "logStreamName", json_object_new_string(cw->stream));
    char *s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return s;
}

static enum eg_logs_outcome create_call(struct cw_sink *cw, const char *op, bool with_stream,
                                        struct eg_logs_reply *r)
{
    char *body = names_body(cw, with_stream);
    if (!body) {
        memset(r, 0, sizeof(*r));
        r->outcome = EG_LOGS_RETRY;
        snprintf(r->code, sizeof(r->code), "OutOfMemory");
        return r->outcome;
    }
    eg_logs_call(cw->client, op, body, strlen(body), r);
    free(body);
    eg_logs_reply_free(r);
    if (r->outcome == EG_LOGS_EXISTS)
        r->outcome = EG_LOGS_OK;
    return r->outcome;
}

/* The stream (and if needed the group) does not exist yet: create them. */
static bool create_destination(struct cw_sink *cw)
{
    struct eg_logs_reply r;
    enum eg_logs_outcome o = create_call(cw, "CreateLogStream", true, &r);
    if (o == EG_LOGS_NOT_FOUND) {
        o = create_call(cw, "CreateLogGroup", false, &r);
        if (o == EG_LOGS_OK) {
            eg_log_info("cloudwatch: created log group %s", cw->group);
            o = create_call(cw, "CreateLogStream", true, &r);
        }
    }
    if (o == EG_LOGS_OK) {
        eg_log_info("cloudwatch: created log stream %s/%s", cw->group, cw->stream);
        return true;
    }
    log_failure(cw, "creating the log group/stream", &r);
    return false;
}

/* Lines CloudWatch refused inside a successful call (too old, too new, expired). */
static uint64_t rejected_count(json_object *body, size_t n)
{
    json_object *info, *v;
    if (!body || !json_object_object_get_ex(body, "rejectedLogEventsInfo", &info))
        return 0;
    int64_t old_end = 0, new_start = (int64_t)n;
    if (json_object_object_get_ex(info, "tooOldLogEventEndIndex", &v))
        old_end = json_object_get_int64(v);
    if (json_object_object_get_ex(info, "expiredLogEventEndIndex", &v) &&
        json_object_get_int64(v) > old_end)
        old_end = json_object_get_int64(v);
    if (json_object_object_get_ex(info, "tooNewLogEventStartIndex", &v))
        new_start = json_object_get_int64(v);
    if (old_end < 0)
        old_end = 0;
    if (new_start < old_end)
        new_start = old_end;
    if (new_start > (int64_t)n)
        new_start = (int64_t)n;
    uint64_t r = (uint64_t)old_end + (n - (uint64_t)new_start);
    return r > n ? n : r;
}

static void delivered(struct cw_sink *cw, size_t n, uint64_t rejected, uint64_t failed)
{
    uint64_t last = cw->win[n - 1].seq;
    eg_spool_ack(cw->spool, last + 1);
    window_pop(cw, n);
    if (cw->split_limit && last >= cw->split_until_seq)
        cw->split_limit = 0;
    pthread_mutex_lock(&cw->mu);
    cw->c.sent += n - rejected - failed;
    cw->c.rejected += rejected;
    cw->c.failed += failed;
    pthread_mutex_unlock(&cw->mu);
}

/* One PutLogEvents attempt for the first n lines of the window. */
static void send_batch(struct cw_sink *cw, size_t n)
{
    struct eg_logs_event *ev = malloc(n * sizeof(*ev));
    if (!ev) {
        backoff(cw);
        return;
    }
    for (size_t i = 0; i < n; i++)
        ev[i] = (struct eg_logs_event){cw->win[i].ts_ms, cw->win[i].data, cw->win[i].len};
    eg_logs_sort_events(ev, n);
    size_t len = 0;
    char *body = eg_logs_put_body(cw->group, cw->stream, ev, n, &len);
    free(ev);
    if (!body) {
        backoff(cw);
        return;
    }
    struct eg_logs_reply r;
    eg_logs_call(cw->client, "PutLogEvents", body, len, &r);
    free(body);
    pthread_mutex_lock(&cw->mu);
    cw->c.requests++;
    pthread_mutex_unlock(&cw->mu);

    switch (r.outcome) {
    case EG_LOGS_OK: {
        uint64_t rej = rejected_count(r.body, n);
        if (rej)
            eg_log_warn("cloudwatch: %llu of %zu lines rejected as too old, too new or expired",
                        (unsigned long long)rej, n);
        if (cw->failing)
            eg_log_info("cloudwatch: delivery resumed after %u retries", cw->attempt);
        cw->failing = false;
        cw->attempt = 0;
        delivered(cw, n, rej, 0);
        break;
    }
    case EG_LOGS_NOT_FOUND:
        if (!create_destination(cw))
            backoff(cw);
        break;
    case EG_LOGS_AUTH:
        if (strcmp(r.code, "NoCredentials") != 0)
            eg_cred_provider_invalidate(cw->creds);
        log_failure(cw, "PutLogEvents", &r);
        backoff(cw);
        break;
    case EG_LOGS_RETRY:
        log_failure(cw, "PutLogEvents", &r);
        backoff(cw);
        break;
    case EG_LOGS_EXISTS:
    case EG_LOGS_INVALID:
        eg_log_error("cloudwatch: PutLogEvents refused %zu lines: %s: %s (HTTP %ld)%s", n, r.code,
                     r.message, r.http_status,
                     n > 1 ? "; resending in halves to isolate the bad line" : "; line dropped");
        if (n > 1) {
            cw->split_limit = n / 2;
            cw->split_until_seq = cw->win[n - 1].seq;
        } else {
            delivered(cw, 1, 0, 1);
        }
        break;
    }
    eg_logs_reply_free(&r);
}

void *eg_cw_sender_main(void *arg)
{
    struct cw_sink *cw = arg;
    /* It talks to CloudWatch and the credential endpoints only: started without capabilities. */
    for (;;) {
        pthread_mutex_lock(&cw->mu);
        bool stopping = cw->stopping;
        bool hurry = cw->flush_waiters > 0 || stopping;
        if (stopping && cw_now_ms() >= cw->stop_deadline_ms) {
            pthread_mutex_unlock(&cw->mu);
            break;
        }
        pthread_mutex_unlock(&cw->mu);

        window_fill(cw);
        if (cw->wlen == 0) {
            pthread_mutex_lock(&cw->mu);
            bool idle = cw->qlen == 0 && !cw->spooling;
            cw->sender_idle = idle;
            if (idle)
                pthread_cond_broadcast(&cw->idle);
            if (cw->stopping && idle) {
                pthread_mutex_unlock(&cw->mu);
                break;
            }
            /* The spooler signals when it has stored more. */
            cw_wait_ms(&cw->wake_sender, &cw->mu, cw->cfg.flush_interval_ms);
            pthread_mutex_unlock(&cw->mu);
            continue;
        }
        size_t max = cw->split_limit ? cw->split_limit : EG_LOGS_MAX_EVENTS;
        struct eg_logs_event *ev = malloc(cw->wlen * sizeof(*ev));
        size_t n = 1;
        if (ev) {
            for (size_t i = 0; i < cw->wlen; i++)
                ev[i] = (struct eg_logs_event){cw->win[i].ts_ms, cw->win[i].data, cw->win[i].len};
            n = eg_logs_batch_take(ev, cw->wlen, max);
            free(ev);
        }
        uint64_t age = cw_now_ms() - cw->win_since_ms;
        bool due = hurry || window_full(cw) || n < cw->wlen || age >= cw->cfg.flush_interval_ms;
        if (!due) {
            pthread_mutex_lock(&cw->mu);
            if (!cw->stopping && cw->flush_waiters == 0)
                cw_wait_ms(&cw->wake_sender, &cw->mu, cw->cfg.flush_interval_ms - age);
            pthread_mutex_unlock(&cw->mu);
            continue;
        }
        send_batch(cw, n);
    }
    pthread_mutex_lock(&cw->mu);
    cw->sender_idle = true;
    pthread_cond_broadcast(&cw->idle);
    pthread_mutex_unlock(&cw->mu);
    return NULL;
}
