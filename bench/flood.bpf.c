/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Benchmark-only event flood (bench/flood.c loads it; never part of the agent). On
 * sys_enter_getppid, which no ecsguard program watches, and only for the flood process itself,
 * copy `per_call` pre-built records (bpf/events.h layouts, written by the loader into
 * eg_flood_tmpl) into the running agent's ring buffer. eg_events and eg_counters are the
 * agent's own maps (bpf_map__reuse_fd), and every record is counted there exactly as the
 * agent's programs count theirs: seen, then sent or dropped (ring buffer full).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "events.h"

char LICENSE[] SEC("license") = "GPL";

#define FLOOD_REC_MAX 1024
#define FLOOD_TEMPLATES 4096 /* power of two */

struct flood_tmpl {
    __u32 size;
    __u32 kind;
    __u8 data[FLOOD_REC_MAX];
};

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096); /* replaced by the agent's map */
} eg_events SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct eg_counters);
} eg_counters SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, FLOOD_TEMPLATES);
    __type(key, __u32);
    __type(value, struct flood_tmpl);
} eg_flood_tmpl SEC(".maps");

const volatile __u32 flood_tgid = 0;
const volatile __u64 flood_wakeup_bytes = 256 * 1024;

/* Set by the loader between calls (.bss is memory-mapped). */
__u32 per_call = 0;
__u32 n_templates = 1;
/* Results. */
__u64 cursor = 0;
__u64 sent = 0;
__u64 dropped = 0;

struct flood_ctx {
    struct eg_counters *c;
    __u64 flags;
};

static long emit_one(__u32 i, void *arg)
{
    struct flood_ctx *fc = arg;
    __u32 k = (__u32)(cursor++ % n_templates) & (FLOOD_TEMPLATES - 1);
    struct flood_tmpl *t = bpf_map_lookup_elem(&eg_flood_tmpl, &k);
    if (!t)
        return 1;
    /* Records are shorter than FLOOD_REC_MAX (the loader checks): a mask the verifier sees. */
    __u32 size = t->size & (FLOOD_REC_MAX - 1);
    __u32 kind = t->kind & (EG_KIND_SLOTS - 1);
    if (size < sizeof(struct eg_event_header))
        return 1;
    long err = bpf_ringbuf_output(&eg_events, t->data, size, fc->flags);
    struct eg_counters *c = fc->c;
    if (c) {
        c->kind[kind].seen++;
        if (err)
            c->kind[kind].dropped++;
        else
            c->kind[kind].sent++;
    }
    if (err)
        dropped++;
    else
        sent++;
    return 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int eg_flood_getppid(void *ctx)
{
    if ((__u32)(bpf_get_current_pid_tgid() >> 32) != flood_tgid)
        return 0;
    __u32 n = per_call;
    if (n > 65536)
        n = 65536;
    __u32 zero = 0;
    struct flood_ctx fc = {.c = bpf_map_lookup_elem(&eg_counters, &zero),
                           .flags = BPF_RB_NO_WAKEUP};
    /* As the agent's programs do: wake the reader only once the backlog is large (per call
     * here, not per record). */
    if (bpf_ringbuf_query(&eg_events, BPF_RB_AVAIL_DATA) > flood_wakeup_bytes)
        fc.flags = BPF_RB_FORCE_WAKEUP;
    bpf_loop(n, emit_one, &fc, 0);
    return 0;
}
