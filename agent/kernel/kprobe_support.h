/*
 * Whether this kernel lets libbpf attach kprobes at all, told before any kprobe program is
 * loaded: a program that can never attach still costs its verification at start-up.
 */
#ifndef ECSGUARD_KPROBE_SUPPORT_H
#define ECSGUARD_KPROBE_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>

/*
 * libbpf attaches a kprobe through the kprobe PMU (`<sys>/bus/event_source/devices/kprobe/type`)
 * or, without it, through tracefs's kprobe_events (`<sys>/kernel/tracing` or
 * `<sys>/kernel/debug/tracing`). True when one of them is there as the agent sees /sys
 * (`sys_root`, normally "/sys"); false when neither is, with why in `why`: then no kprobe can
 * attach, in this kernel or from this mount namespace.
 */
bool eg_kprobes_offered(const char *sys_root, char *why, size_t whylen);

#endif
