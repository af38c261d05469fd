/*
 * Private to the CloudWatch sink: the sink's state and what its three parts share.
 * cloudwatch_sink.c is the sink itself (the --output spec, write() on the event loop, flush,
 * counters, set-up and shutdown); cloudwatch_spooler.c the thread that moves accepted lines
 * from memory into the disk spool; cloudwatch_sender.c the thread that reads the spool, batches
 * PutLogEvents calls (agent/aws/logs_*.c sign and send them) and retries with backoff. Nothing
 * else includes this header.
 */
#ifndef ECSGUARD_CLOUDWATCH_INTERNAL_H
#define ECSGUARD_CLOUDWATCH_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "agent/aws/credentials.h"
#include "agent/aws/logs_client.h"
#include "agent/outputs/cloudwatch_sink.h"
#include "agent/outputs/spool.h"

#define ERROR_LOG_INTERVAL_MS 30000u

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
    bool spooling;         /* the spooler holds lines taken from q */
    size_t spooling_lines; /* how many: still in memory, not yet in the spool */
    bool sender_idle;      /* sender has read and delivered everything spooled */
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

static inline uint64_t cw_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static inline uint64_t cw_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Condition waits use CLOCK_MONOTONIC (set on the condvars) so clock jumps do not matter. */
static inline void cw_wait_ms(pthread_cond_t *cv, pthread_mutex_t *mu, uint64_t ms)
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

/* The two delivery threads (arg: the struct cw_sink). */
void *eg_cw_spooler_main(void *arg);
void *eg_cw_sender_main(void *arg);

#endif
