/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Counting and emitting records: the per-kind counters (seen, filtered, deduplicated, dropped,
 * sent) every concern keeps in eg_counters, and reserving and submitting records in eg_events
 * with the wakeup policy the agent's drain pacer relies on. One place, so every kind is counted
 * the same way and a record is never sent without being counted.
 */
#ifndef ECSGUARD_EMIT_BPF_H
#define ECSGUARD_EMIT_BPF_H

#include "maps.bpf.h"

static __always_inline struct eg_counters *eg_counters_get(void)
{
    __u32 zero = 0;
    return bpf_map_lookup_elem(&eg_counters, &zero);
}

static __always_inline void eg_count_seen(__u32 kind)
{
    struct eg_counters *c = eg_counters_get();
    if (c && kind < EG_KIND_SLOTS)
        c->kind[kind].seen++;
}

static __always_inline void eg_count_filtered(__u32 kind, __u32 reason)
{
    struct eg_counters *c = eg_counters_get();
    if (!c)
        return;
    if (kind < EG_KIND_SLOTS)
        c->kind[kind].filtered++;
    if (reason < EG_FILTER_REASONS)
        c->filter_reason[reason]++;
}

/*
 * An escape technique held (bpf/escape.bpf.h, escape_open.bpf.h): counted as seen, and as
 * filtered when the process is still the runtime setting its container up (runc 1.1's
 * `runc init` re-executes its memfd copy of itself, before or after the runtime has put it into
 * the container's cgroup; docs/findings.md "Escapes"). True when it is to be sent.
 */
static __always_inline bool eg_escape_wanted(bool setup)
{
    eg_count_seen(EG_EVENT_ESCAPE);
    if (setup) {
        eg_count_filtered(EG_EVENT_ESCAPE, EG_FILTER_SETUP);
        return false;
    }
    return true;
}

/* A "not a filter" reason (events.h): counted alone, no kind's total changes. */
static __always_inline void eg_count_reason(__u32 reason)
{
    struct eg_counters *c = eg_counters_get();
    if (c && reason < EG_FILTER_REASONS)
        c->filter_reason[reason]++;
}

static __always_inline void eg_count_deduplicated(__u32 kind)
{
    struct eg_counters *c = eg_counters_get();
    if (c && kind < EG_KIND_SLOTS)
        c->kind[kind].deduplicated++;
}

/* Reserve a record; a failure is counted as a drop for that kind. */
static __always_inline void *eg_reserve(__u32 kind, __u32 size)
{
    void *rec = bpf_ringbuf_reserve(&eg_events, size, 0);
    if (!rec) {
        struct eg_counters *c = eg_counters_get();
        if (c && kind < EG_KIND_SLOTS)
            c->kind[kind].dropped++;
    }
    return rec;
}

/*
 * Per-container fairness in the ring buffer. One ring serves every container, and a container
 * that makes events faster than the agent drains them (distinct file creates cost it a few
 * microseconds each) would fill it and have every other container's records refused with its
 * own. So once the ring is more than half full, the bulk kinds (process lifecycle, root
 * filesystem writes, path operations, executable mappings) are admitted against a token bucket
 * per container: 1/64 of the ring as burst and as refill per second (128 KiB for the default
 * 8 MiB ring). A flooding container exhausts its bucket and is shed while the other half of
 * the ring stays for everyone else; a container that has been quiet has its whole share.
 * Refused records are counted as drops of their kind, in `shed`, and against the container.
 * Below half nothing is charged: the common path pays one ring query.
 *
 * The kinds that are findings of rare acts (capability checks, host namespace entries, process
 * access, cgroup escapes) and the cgroup bookkeeping are not charged: they are deduplicated in
 * the kernel or cost a container far more than a record to repeat, and a flood must not hide
 * them. The bucket is updated without atomics (two CPUs of one container may both spend the
 * same tokens): it bounds a flood, it is not an accountant; the shed counts are atomic.
 */
#define EG_RING_SHARE_DIVISOR 64
#define EG_NS_PER_SEC 1000000000ULL

static __always_inline bool eg_ring_share_admit(__u64 cgid, __u32 size)
{
    if (!eg_ring_bytes || bpf_ringbuf_query(&eg_events, BPF_RB_AVAIL_DATA) < eg_ring_bytes / 2)
        return true;
    __u64 share = eg_ring_bytes / EG_RING_SHARE_DIVISOR;
    __u64 cost = ((__u64)size + 8 + 7) & ~7ULL; /* header and rounding, as the ring takes it */
    __u64 now = bpf_ktime_get_boot_ns();
    struct eg_ring_share *s = bpf_map_lookup_elem(&eg_ring_shares, &cgid);
    if (!s) {
        struct eg_ring_share fresh = {.tokens = share, .last_ns = now};
        bpf_map_update_elem(&eg_ring_shares, &cgid, &fresh, BPF_NOEXIST);
        s = bpf_map_lookup_elem(&eg_ring_shares, &cgid);
        if (!s)
            return true;
    }
    __u64 elapsed = now > s->last_ns ? now - s->last_ns : 0;
    if (elapsed > EG_NS_PER_SEC)
        elapsed = EG_NS_PER_SEC;
    __u64 tokens = s->tokens + share * elapsed / EG_NS_PER_SEC;
    if (tokens > share)
        tokens = share;
    s->last_ns = now;
    if (tokens < cost) {
        s->tokens = tokens;
        __sync_fetch_and_add(&s->shed_events, 1);
        __sync_fetch_and_add(&s->shed_bytes, cost);
        return false;
    }
    s->tokens = tokens - cost;
    return true;
}

/* eg_reserve for the bulk kinds: first the container's share (above), counted when refused. */
static __always_inline void *eg_reserve_shared(__u32 kind, __u32 size, __u64 cgid)
{
    if (!eg_ring_share_admit(cgid, size)) {
        struct eg_counters *c = eg_counters_get();
        if (c) {
            if (kind < EG_KIND_SLOTS)
                c->kind[kind].dropped++;
            c->shed++;
        }
        return NULL;
    }
    return eg_reserve(kind, size);
}

/*
 * Submit without waking the reader (a wakeup costs ~3 us per event); the
 * agent drains on a short timer while records flow. Rare events that must be
 * seen at once (urgent) force the wakeup, and so does the first record after
 * the agent went idle (eg_reader_idle). So does a backlog that grows past
 * another multiple of eg_wakeup_bytes: once per step, not once per record past
 * the mark, because a reader that is already draining needs no wakeup per
 * record (under a flood that was one irq_work per event). A crossing hidden by
 * a concurrent producer on another CPU is caught at the next step or by the
 * drain timer.
 *
 * The idle mark is read with a plain load after the reserve: a producer that
 * reads it just before the agent's store becomes visible does not wake it, and
 * its record waits for the idle timer (100 ms), late but never lost.
 */
static __always_inline void eg_submit(void *rec, __u32 kind, bool urgent)
{
    __u64 flags = BPF_RB_NO_WAKEUP;
    __u32 zero = 0;
    __u64 *idle = bpf_map_lookup_elem(&eg_reader_idle, &zero);
    if (urgent) {
        flags = BPF_RB_FORCE_WAKEUP;
    } else if (idle && *(volatile __u64 *)idle) {
        *(volatile __u64 *)idle = 0; /* one wakeup is enough: the agent is draining again */
        flags = BPF_RB_FORCE_WAKEUP;
    } else if (eg_wakeup_bytes) {
        __u64 avail = bpf_ringbuf_query(&eg_events, BPF_RB_AVAIL_DATA);
        /* This record's footprint in the ring: 8-byte header, rounded up to 8. */
        __u64 footprint = ((__u64)((struct eg_event_header *)rec)->size + 8 + 7) & ~7ULL;
        if (avail >= footprint && avail / eg_wakeup_bytes != (avail - footprint) / eg_wakeup_bytes)
            flags = BPF_RB_FORCE_WAKEUP;
    }
    bpf_ringbuf_submit(rec, flags);
    struct eg_counters *c = eg_counters_get();
    if (c && kind < EG_KIND_SLOTS)
        c->kind[kind].sent++;
}

#endif /* ECSGUARD_EMIT_BPF_H */
