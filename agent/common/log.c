#include "agent/common/log.h"

#include <stdarg.h>
#include <stdio.h>
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
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* One write per line so concurrent threads never interleave inside a line. */
    fprintf(stderr, "%s.%03ldZ ecsguard %s: %s\n", when, ts.tv_nsec / 1000000, tags[level], msg);
}
