/*
 * Sink that delivers finding lines straight to CloudWatch Logs with
 * PutLogEvents. write() only appends to an in-memory queue; a spooler thread
 * persists the queue to the on-disk spool (fsync'd) and a sender thread
 * batches spooled lines within the API limits, signs and sends them, and acks
 * them in the spool once CloudWatch accepted them. Lines survive outages and
 * restarts (at-least-once); every line that cannot be delivered is counted.
 */
#ifndef ECSGUARD_CLOUDWATCH_SINK_H
#define ECSGUARD_CLOUDWATCH_SINK_H

#include <stddef.h>
#include <stdint.h>

#include "agent/outputs/sink.h"

struct eg_cred_provider;

/* "cloudwatch:LOG_GROUP[:LOG_STREAM]" from --output. */
struct eg_cloudwatch_spec {
    char *log_group;
    char *log_stream; /* NULL when the spec names none (the agent picks the default) */
};

/* 0 on success (free with eg_cloudwatch_spec_free); -1 with err for malformed specs and names. */
int eg_cloudwatch_parse_spec(const char *spec, struct eg_cloudwatch_spec *out, char *err,
                             size_t errlen);
void eg_cloudwatch_spec_free(struct eg_cloudwatch_spec *spec);

struct eg_cloudwatch_config {
    const char *log_group;    /* required */
    const char *log_stream;   /* required: from the spec, else container instance id or hostname */
    const char *region;       /* NULL → AWS_REGION, AWS_DEFAULT_REGION */
    const char *endpoint;     /* NULL → AWS_ENDPOINT_URL_CLOUDWATCH_LOGS, AWS_ENDPOINT_URL, or
                                 https://logs.<region>.amazonaws.com */
    const char *spool_dir;    /* required (--spool-dir) */
    uint64_t spool_max_bytes; /* 0 → 256 MiB */
    size_t queue_max_bytes;   /* lines waiting for the spool; 0 → 16 MiB */
    unsigned flush_interval_ms;           /* send at least this often; 0 → 2000 */
    unsigned request_timeout_ms;          /* 0 → 10000 */
    unsigned backoff_base_ms;             /* 0 → 250 */
    unsigned backoff_max_ms;              /* 0 → 30000 */
    unsigned shutdown_timeout_ms;         /* flush()/destroy() delivery budget; 0 → 5000 */
    struct eg_cred_provider *credentials; /* borrowed; NULL → the default chain, owned */
};

/* NULL with err on bad configuration or an unusable spool directory. */
struct eg_sink *eg_cloudwatch_sink_new(const struct eg_cloudwatch_config *cfg, char *err,
                                       size_t errlen);

struct eg_cloudwatch_counters {
    uint64_t accepted;           /* lines taken by write() */
    uint64_t sent;               /* lines CloudWatch accepted */
    uint64_t failed;             /* lines given up on: InvalidParameter for that line alone */
    uint64_t rejected;           /* lines CloudWatch refused in rejectedLogEventsInfo */
    uint64_t retried;            /* requests repeated after throttling, 5xx, network, auth */
    uint64_t requests;           /* PutLogEvents calls */
    uint64_t dropped_queue_full; /* write() refused: queue for the spool over its bound */
    uint64_t dropped_invalid;    /* write() refused: empty or longer than 256 KiB - 26 */
    uint64_t dropped_spool_full; /* oldest unsent lines deleted to bound the spool */
    uint64_t spool_errors;       /* failed spool writes (ENOSPC, EIO); lines kept queued */
    uint64_t spool_corrupt_frames;
    uint64_t spool_damaged_segments; /* found damaged at open, kept as damaged-<id>.egs */
    uint64_t spooled_bytes;          /* spool size on disk */
    uint64_t queued;                 /* lines in memory, not yet in the spool */
    uint64_t backlog;                /* lines not yet delivered (queued + spooled) */
};

/* Snapshot of the counters the `stats` op reports (for tests and the agent). */
void eg_cloudwatch_sink_counters(struct eg_sink *s, struct eg_cloudwatch_counters *out);

#endif
