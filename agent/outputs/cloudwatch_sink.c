#include "agent/outputs/cloudwatch_sink.h"
#include "agent/aws/credentials.h"
#include "agent/aws/logs_batch.h"
#include "agent/aws/logs_client.h"
#include "agent/common/log.h"
#include "agent/outputs/spool.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#define ERROR_LOG_INTERVAL_MS 30000u
#define SPOOL_RETRY_MS 1000u

struct qrec {
    uint64_t ts_ms;
    uint32_t len;
    char *data;
};

struct cw_sink {
    struct eg_sink base; /* first: the agent holds a struct eg_sink * */
    char *group, *stream;
    struct eg_cloudwatch_config cfg; /* numbers only; strings above */
    struct eg_spool *spool;
    struct eg_logs_client *client;
    struct eg_cred_provider *creds, *own_creds;

    pthread_mutex_t mu;
    pthread_cond_t wake_spooler, wake_sender, idle;
    struct qrec *q; /* lines accepted by write(), not yet in the spool */
    size_t qlen, qcap, qbytes;
    bool spooling;    /* the spooler holds lines taken from q */
    bool sender_idle; /* sender has read and delivered everything spooled */
    bool stopping;
    uint64_t stop_deadline_ms;
    unsigned flush_waiters;
    struct eg_cloudwatch_counters c;
    pthread_t spooler, sender;
    bool spooler_started, sender_started;

    /* Sender thread only. */
    struct eg_spool_record *win; /* lines read from the spool, oldest first */
    size_t wlen, wcap;
    uint64_t wbytes; /* counted as the API counts: message bytes + 26 */
    uint64_t win_since_ms;
    size_t split_limit; /* > 0 while isolating an event the service calls invalid */
    uint64_t split_until_seq;
    unsigned attempt;
    unsigned jitter_seed;
    uint64_t last_error_log_ms;
    bool failing;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Condition waits use CLOCK_MONOTONIC (set on the condvars) so clock jumps do not matter. */
static void wait_ms(pthread_cond_t *cv, pthread_mutex_t *mu, uint64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(cv, mu, &ts);
}

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
        .ts_ms = ts_ms ? ts_ms : wall_ms(), .len = (uint32_t)clean_len, .data = clean};
    cw->qbytes += clean_len;
    cw->c.accepted++;
    pthread_cond_signal(&cw->wake_spooler);
    pthread_mutex_unlock(&cw->mu);
    return 0;
}

/* ---- spooler thread -------------------------------------------------------------------- */

static void *spooler_main(void *arg)
{
    struct cw_sink *cw = arg;
    uint64_t last_log = 0;
    pthread_mutex_lock(&cw->mu);
    for (;;) {
        while (cw->qlen == 0 && !cw->stopping)
            pthread_cond_wait(&cw->wake_spooler, &cw->mu);
        if (cw->qlen == 0)
            break;
        if (cw->stopping && now_ms() >= cw->stop_deadline_ms)
            break;
        struct qrec *batch = cw->q;
        size_t n = cw->qlen;
        cw->q = NULL;
        cw->qlen = cw->qcap = 0;
        cw->spooling = true;
        pthread_mutex_unlock(&cw->mu);

        struct eg_spool_input *in = malloc(n * sizeof(*in));
        size_t done = 0, dropped = 0;
        int e = ENOMEM;
        if (in) {
            for (size_t i = 0; i < n; i++)
                in[i] = (struct eg_spool_input){batch[i].ts_ms, batch[i].data, batch[i].len};
            while (done < n) {
                size_t k = 0;
                if (eg_spool_append(cw->spool, in + done, n - done, &k, &e) == 0) {
                    done = n;
                    break;
                }
                done += k;
                if (e != EMSGSIZE)
                    break;
                /* A line larger than the whole spool can never be stored. */
                free(batch[done].data);
                batch[done].data = NULL;
                done++;
                dropped++;
            }
            free(in);
        }
        size_t freed_bytes = 0;
        for (size_t i = 0; i < done; i++) {
            freed_bytes += batch[i].len;
            free(batch[i].data);
        }

        pthread_mutex_lock(&cw->mu);
        cw->qbytes -= freed_bytes;
        cw->c.dropped_spool_full += dropped;
        cw->spooling = false;
        if (done < n) {
            /* Keep the unwritten lines, ahead of anything written meanwhile. */
            cw->c.spool_errors++;
            size_t left = n - done;
            struct qrec *merged = malloc((left + cw->qlen) * sizeof(*merged));
            if (merged) {
                memcpy(merged, batch + done, left * sizeof(*merged));
                if (cw->qlen)
                    memcpy(merged + left, cw->q, cw->qlen * sizeof(*merged));
                free(cw->q);
                cw->q = merged;
                cw->qlen += left;
                cw->qcap = cw->qlen;
            } else {
                for (size_t i = done; i < n; i++) {
                    cw->qbytes -= batch[i].len;
                    free(batch[i].data);
                }
                cw->c.dropped_queue_full += left;
            }
            uint64_t t = now_ms();
            if (t - last_log >= ERROR_LOG_INTERVAL_MS || last_log == 0) {
                eg_log_error("cloudwatch: cannot write the spool (%s); %zu lines wait in memory",
                             strerror(e), cw->qlen);
                last_log = t;
            }
            free(batch);
            if (!cw->stopping)
                wait_ms(&cw->wake_spooler, &cw->mu, SPOOL_RETRY_MS);
            else if (now_ms() < cw->stop_deadline_ms)
                wait_ms(&cw->wake_spooler, &cw->mu, 100);
            continue;
        }
        free(batch);
        cw->sender_idle = false;
        pthread_cond_signal(&cw->wake_sender);
        pthread_cond_broadcast(&cw->idle);
    }
    /* Lines still queued at exit could not be persisted in time. */
    for (size_t i = 0; i < cw->qlen; i++)
        free(cw->q[i].data);
    if (cw->qlen) {
        eg_log_error("cloudwatch: %zu lines could not be written to the spool before exit",
                     cw->qlen);
        cw->c.dropped_queue_full += cw->qlen;
    }
    free(cw->q);
    cw->q = NULL;
    cw->qlen = cw->qcap = cw->qbytes = 0;
    pthread_cond_broadcast(&cw->idle);
    pthread_mutex_unlock(&cw->mu);
    return NULL;
}

/* ---- sender thread --------------------------------------------------------------------- */

static void window_pop(struct cw_sink *cw, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cw->wbytes -= cw->win[i].len + EG_LOGS_EVENT_OVERHEAD;
        free(cw->win[i].data);
    }
    memmove(cw->win, cw->win + n, (cw->wlen - n) * sizeof(*cw->win));
    cw->wlen -= n;
    cw->win_since_ms = cw->wlen ? now_ms() : 0;
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
            cw->win_since_ms = now_ms();
        for (size_t i = 0; i < n; i++) {
            cw->win[cw->wlen++] = r[i];
            cw->wbytes += r[i].len + EG_LOGS_EVENT_OVERHEAD;
        }
        free(r); /* the strings now belong to the window */
    }
}

static void log_failure(struct cw_sink *cw, const char *what, const struct eg_logs_reply *r)
{
    uint64_t t = now_ms();
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
    uint64_t until = now_ms() + delay;
    while (!cw->stopping && now_ms() < until)
        wait_ms(&cw->wake_sender, &cw->mu, until - now_ms());
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

static void *sender_main(void *arg)
{
    struct cw_sink *cw = arg;
    for (;;) {
        pthread_mutex_lock(&cw->mu);
        bool stopping = cw->stopping;
        bool hurry = cw->flush_waiters > 0 || stopping;
        if (stopping && now_ms() >= cw->stop_deadline_ms) {
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
            wait_ms(&cw->wake_sender, &cw->mu, cw->cfg.flush_interval_ms);
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
        uint64_t age = now_ms() - cw->win_since_ms;
        bool due = hurry || window_full(cw) || n < cw->wlen || age >= cw->cfg.flush_interval_ms;
        if (!due) {
            pthread_mutex_lock(&cw->mu);
            if (!cw->stopping && cw->flush_waiters == 0)
                wait_ms(&cw->wake_sender, &cw->mu, cw->cfg.flush_interval_ms - age);
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

/* ---- ops ------------------------------------------------------------------------------- */

static bool all_delivered_locked(const struct cw_sink *cw)
{
    return cw->qlen == 0 && !cw->spooling && cw->sender_idle;
}

static void cw_flush(struct eg_sink *s)
{
    struct cw_sink *cw = (struct cw_sink *)s;
    pthread_mutex_lock(&cw->mu);
    uint64_t deadline = now_ms() + cw->cfg.shutdown_timeout_ms;
    cw->flush_waiters++;
    cw->sender_idle = false; /* make the sender look again before we call it done */
    pthread_cond_signal(&cw->wake_spooler);
    pthread_cond_signal(&cw->wake_sender);
    while (!all_delivered_locked(cw) && now_ms() < deadline)
        wait_ms(&cw->idle, &cw->mu, deadline - now_ms());
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
    uint64_t queued = cw->qlen;
    pthread_mutex_unlock(&cw->mu);
    out->dropped_spool_full += st.dropped_records;
    out->spool_corrupt_frames = st.corrupt_frames;
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
    cw->stop_deadline_ms = now_ms() + cw->cfg.shutdown_timeout_ms;
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
    cw->jitter_seed = (unsigned)(wall_ms() ^ (uintptr_t)cw);
    cw->spooler_started = pthread_create(&cw->spooler, NULL, spooler_main, cw) == 0;
    cw->sender_started =
        cw->spooler_started && pthread_create(&cw->sender, NULL, sender_main, cw) == 0;
    if (!cw->sender_started) {
        snprintf(err, errlen, "cloudwatch: cannot start delivery threads");
        cw_destroy(&cw->base);
        return NULL;
    }
    eg_log_info("cloudwatch: delivering to %s/%s at %s, spool %s", cw->group, cw->stream,
                eg_logs_client_endpoint(cw->client), cfg->spool_dir);
    return &cw->base;
}
