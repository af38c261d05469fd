/* The agent's own memory and CPU, read the way `ps` does (see self_usage.h). */
#include "agent/common/self_usage.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The number after "<key>:" on its own line of `text` (spaces allowed), or false. */
static bool field(const char *text, const char *key, uint64_t *out)
{
    size_t klen = strlen(key);
    for (const char *line = text; line && *line; line = strchr(line, '\n')) {
        if (*line == '\n')
            line++;
        if (strncmp(line, key, klen) != 0 || line[klen] != ':')
            continue;
        const char *p = line + klen + 1;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p < '0' || *p > '9')
            return false;
        char *end;
        unsigned long long v = strtoull(p, &end, 10);
        if (end == p)
            return false;
        *out = (uint64_t)v;
        return true;
    }
    return false;
}

bool eg_self_usage_parse_status(const char *text, struct eg_self_usage *out)
{
    uint64_t rss_kb, hwm_kb, threads;
    if (!field(text, "VmRSS", &rss_kb) || !field(text, "VmHWM", &hwm_kb) ||
        !field(text, "Threads", &threads))
        return false;
    /* The kernel prints these in kB (fs/proc/task_mmu.c). */
    out->rss_bytes = rss_kb * 1024;
    out->peak_rss_bytes = hwm_kb * 1024;
    out->threads = threads > UINT32_MAX ? UINT32_MAX : (uint32_t)threads;
    return true;
}

bool eg_self_usage_read(struct eg_self_usage *out)
{
    char text[4096];
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    size_t used = 0;
    ssize_t n;
    while (used < sizeof(text) - 1 && (n = read(fd, text + used, sizeof(text) - 1 - used)) > 0)
        used += (size_t)n;
    close(fd);
    text[used] = '\0';
    if (!eg_self_usage_parse_status(text, out))
        return false;
    struct timespec ts;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0)
        return false;
    out->cpu_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
    return true;
}
