#include "agent/kernel/kprobe_support.h"

#include <stdio.h>
#include <unistd.h>

bool eg_kprobes_offered(const char *sys_root, char *why, size_t whylen)
{
    static const char *const ways[] = {
        "bus/event_source/devices/kprobe/type", /* the kprobe PMU (4.17+) */
        "kernel/tracing/kprobe_events",         /* tracefs, where libbpf falls back */
        "kernel/debug/tracing/kprobe_events",   /* tracefs under debugfs */
    };
    for (size_t i = 0; i < sizeof(ways) / sizeof(ways[0]); i++) {
        char path[512];
        if (snprintf(path, sizeof(path), "%s/%s", sys_root, ways[i]) >= (int)sizeof(path))
            continue;
        if (access(path, F_OK) == 0)
            return true;
    }
    snprintf(why, whylen,
             "no kprobes in this kernel (no kprobe PMU in %s/bus/event_source/devices, no "
             "kprobe_events in tracefs)",
             sys_root);
    return false;
}
