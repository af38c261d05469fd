/*
 * PutLogEvents batching rules (CloudWatch Logs API reference, design §7):
 * at most 1,048,576 bytes counting each message's UTF-8 bytes plus 26, at
 * most 10,000 events, chronological order, at most 24 h between the oldest
 * and newest event, messages of 1 .. 256 KiB - 26 bytes (the portable cap).
 */
#ifndef ECSGUARD_AWS_LOGS_BATCH_H
#define ECSGUARD_AWS_LOGS_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EG_LOGS_MAX_BATCH_BYTES 1048576u
#define EG_LOGS_EVENT_OVERHEAD 26u
#define EG_LOGS_MAX_EVENTS 10000u
#define EG_LOGS_MAX_SPAN_MS (24ull * 3600 * 1000)
#define EG_LOGS_MAX_MESSAGE (262144u - EG_LOGS_EVENT_OVERHEAD)

struct eg_logs_event {
    uint64_t ts_ms;
    const char *msg;
    size_t len;
};

/*
 * How many leading events of ev[0..n) fit in one call within every limit
 * (and at most max_events). Returns at least 1 when n > 0: a single event
 * always fits because messages are capped before they are queued.
 */
size_t eg_logs_batch_take(const struct eg_logs_event *ev, size_t n, size_t max_events);

/* Stable sort by timestamp (the order the API requires within a call). */
void eg_logs_sort_events(struct eg_logs_event *ev, size_t n);

/* PutLogEvents request body for already sorted events; malloc'd, NULL on ENOMEM. */
char *eg_logs_put_body(const char *group, const char *stream, const struct eg_logs_event *ev,
                       size_t n, size_t *len_out);

/*
 * Copy of s with every invalid UTF-8 sequence replaced by U+FFFD, so the byte
 * count used for batching is the one the service counts. malloc'd.
 */
char *eg_utf8_sanitize(const char *s, size_t len, size_t *len_out);

/* Name rules of CreateLogGroup / CreateLogStream. */
bool eg_logs_valid_group(const char *name);
bool eg_logs_valid_stream(const char *name);

#endif
