#include "agent/common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static enum eg_log_level current_level = EG_LOG_INFO;

void eg_log_set_level(enum eg_log_level level)
{
    current_level = level;
}

int eg_log_level_parse(const char *s)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++)
        if (s && strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

bool eg_log_verbose(void)
{
    return current_level >= EG_LOG_INFO;
}

bool eg_log_debug_enabled(void)
{
    return current_level >= EG_LOG_DEBUG;
}

/*
 * Lines are never cut: a message that carries JSON (the health record grows with the policy's
 * rules and the agent's counters) must stay one whole, parseable line. Up to the stack buffer's
 * size nothing is allocated; a longer one is formatted again into a buffer that fits.
 */
void eg_log(enum eg_log_level level, const char *fmt, ...)
{
    if (level > current_level)
        return;
    static const char *const tags[] = {"error", "warn", "info", "debug"};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    char small[2048];
    char *msg = small;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof(small)) {
        char *big = malloc((size_t)n + 1);
        if (big) {
            va_start(ap, fmt);
            vsnprintf(big, (size_t)n + 1, fmt, ap);
            va_end(ap);
            msg = big;
        } else {
            /* No memory for the whole line: say so rather than write a cut one. */
            snprintf(small, sizeof(small), "(a %d-byte log message was dropped: out of memory)", n);
        }
    }
    /*
     * One locked stdio call per line so concurrent threads never interleave inside a line (the
     * stream's lock is held across its writes, however many a long line needs).
     */
    fprintf(stderr, "%s.%03ldZ ecsguard %s: %s\n", when, ts.tv_nsec / 1000000, tags[level], msg);
    if (msg != small)
        free(msg);
}
