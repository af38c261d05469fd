/*
 * Where finding lines go. A sink receives complete JSON lines (no trailing
 * newline) and owns their delivery: stdout for the awslogs driver, CloudWatch
 * Logs directly, a file. The agent calls write() from its event loop, so a
 * sink must never block on the network there (queue and deliver elsewhere).
 */
#ifndef ECSGUARD_SINK_H
#define ECSGUARD_SINK_H

#include <stddef.h>
#include <stdint.h>

struct json_object;

struct eg_sink;

struct eg_sink_ops {
    /* Accept one line. 0 on success; -1 when the line could not be accepted (counted). */
    int (*write)(struct eg_sink *s, const char *line, size_t len, uint64_t ts_ms);
    /* Called about every 100 ms from the event loop. Optional. */
    void (*tick)(struct eg_sink *s, uint64_t now_ms);
    /* Deliver or persist everything accepted so far (shutdown). Optional. */
    void (*flush)(struct eg_sink *s);
    /* Add this sink's health counters to `obj` (a JSON object). Optional. */
    void (*stats)(struct eg_sink *s, struct json_object *obj);
    void (*destroy)(struct eg_sink *s);
};

struct eg_sink {
    const struct eg_sink_ops *ops;
    const char *name; /* "stdout", "cloudwatch", ... */
};

static inline int eg_sink_write(struct eg_sink *s, const char *line, size_t len, uint64_t ts_ms)
{
    return s->ops->write(s, line, len, ts_ms);
}

#endif
