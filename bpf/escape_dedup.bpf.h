/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The in-kernel dedup of escape records that a container can repeat in a loop (write-opens,
 * connects, mounts: escape_open.bpf.h; 32-bit compat syscalls: compat.bpf.c): one record per key
 * a second, the repeats in between counted in the key's value and carried by the next record
 * (eg_escape_event.arg1), so a loop costs the ring one record a second and loses no count.
 * Each object keeps its own LRU hash of struct eg_escape_open_key -> struct eg_escape_open_val.
 */
#ifndef ECSGUARD_ESCAPE_DEDUP_BPF_H
#define ECSGUARD_ESCAPE_DEDUP_BPF_H

#include "common.bpf.h"

#define EG_ESCAPE_DEDUP_NS 1000000000ULL

/*
 * True when a record for `k` is due (none in the last second); false while within the second of
 * the last one (this repeat counted as absorbed). `absorbed`: the repeats absorbed since that
 * record, taken from the value. `map`: the object's LRU hash of these keys.
 */
static __always_inline bool eg_escape_due(void *map, const struct eg_escape_open_key *k,
                                          __u64 *absorbed)
{
    __u64 now = bpf_ktime_get_boot_ns();
    struct eg_escape_open_val *v = bpf_map_lookup_elem(map, k);
    *absorbed = 0;
    if (v) {
        if (now - v->last_sent_ns < EG_ESCAPE_DEDUP_NS) {
            __sync_fetch_and_add(&v->absorbed, 1);
            return false;
        }
        /*
         * Take the count without an atomic exchange (BPF_XCHG is 5.12+; 5.10 refuses the whole
         * object): read, then subtract what was read with an add whose result is unused (XADD,
         * on every kernel). A repeat counted in between stays for the next record.
         */
        __u64 taken = v->absorbed;
        if (taken)
            __sync_fetch_and_add(&v->absorbed, -taken);
        *absorbed = taken;
        v->last_sent_ns = now;
        return true;
    }
    struct eg_escape_open_val nv = {.last_sent_ns = now};
    bpf_map_update_elem(map, k, &nv, BPF_ANY);
    return true;
}

#endif
