/*
 * The agent's own resource use, for its health record: what an operator alarms on when the
 * guard itself misbehaves (a leak, a spin), and what the hostile-container tests hold to the
 * envelope docs/hardening.md states.
 */
#ifndef ECSGUARD_AGENT_COMMON_SELF_USAGE_H
#define ECSGUARD_AGENT_COMMON_SELF_USAGE_H

#include <stdbool.h>
#include <stdint.h>

struct eg_self_usage {
    uint64_t rss_bytes;      /* resident now (VmRSS) */
    uint64_t peak_rss_bytes; /* the most ever resident (VmHWM) */
    uint64_t cpu_ns;         /* user + system time of every thread since start */
    uint32_t threads;
};

/*
 * Parses the text of a /proc/<pid>/status file into `out` (memory and threads). False when a
 * line it needs is missing or malformed.
 */
bool eg_self_usage_parse_status(const char *text, struct eg_self_usage *out);

/*
 * The running process's usage: /proc/self/status and the process CPU clock (no system call the
 * confined agent lacks: open, read, clock_gettime). False when either cannot be read.
 */
bool eg_self_usage_read(struct eg_self_usage *out);

#endif /* ECSGUARD_AGENT_COMMON_SELF_USAGE_H */
