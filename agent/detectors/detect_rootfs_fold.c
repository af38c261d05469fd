/*
 * The kernel's rootfs repeat counts, folded into the findings once a second: writes repeated
 * per container slot (eg_rootfs_repeats) and path operations repeated per key
 * (eg_rootfs_pathops_seen, read in batches), each into the finding of the container captured
 * when its first occurrence was sent.
 */
#include "agent/detectors/detect_rootfs_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "agent/common/log.h"

void eg_rootfs_detector_set_pathops_fd(struct eg_rootfs_detector *d, int fd)
{
    d->pathops_fd = fd;
    struct bpf_map_info info;
    uint32_t len = sizeof(info);
    memset(&info, 0, sizeof(info));
    if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) != 0 || info.max_entries == 0 ||
        info.key_size != sizeof(struct eg_rootfs_pathop_key) || info.value_size != sizeof(uint64_t))
        return;
    /* Pages are touched only as far as the map is full. */
    d->batch_keys = calloc(info.max_entries, sizeof(*d->batch_keys));
    d->batch_counts = calloc(info.max_entries, sizeof(*d->batch_counts));
    if (d->batch_keys && d->batch_counts)
        d->batch_cap = info.max_entries;
}

/*
 * The whole of eg_rootfs_pathops_seen in a few BPF_MAP_LOOKUP_BATCH calls. A lookup per
 * tracked key was one syscall per key every second (~1.5 us each on the benchmark VM): with
 * the table's 16384 keys in use, 2.5 % of a CPU. Returns the keys read, or -1 when the kernel
 * cannot read the map in batches (the caller then looks keys up one by one).
 */
static int pathops_read_batch(struct eg_rootfs_detector *d)
{
    if (!d->batch_cap)
        return -1;
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    uint64_t in = 0, out = 0; /* a hash map's batch token is its bucket index */
    uint32_t total = 0;
    bool first = true;
    while (total < d->batch_cap) {
        uint32_t count = d->batch_cap - total;
        int err =
            bpf_map_lookup_batch(d->pathops_fd, first ? NULL : &in, &out, d->batch_keys + total,
                                 d->batch_counts + total, &count, &opts);
        int saved = errno;
        total += count; /* also set when the last call ends the map (ENOENT) */
        if (err) {
            if (saved == ENOENT)
                break;
            if (d->stats.pathop_batch_failures++ == 0)
                eg_log_warn("reading the path-operation repeat counts in batches failed: %s; "
                            "reading them one by one",
                            strerror(saved));
            return -1;
        }
        in = out;
        first = false;
    }
    return (int)total;
}

/*
 * Repeats of path-only operations on the rootfs: stamped now and counted as repeatedWrite
 * (record_rootfs without a path); the key's operation names a finding they would create.
 */
static void fold_pathop(struct eg_rootfs_detector *d, struct pathop_track *t, uint64_t count,
                        uint64_t now_ms)
{
    t->seen_pass = d->pathop_pass;
    if (count <= t->last)
        return;
    uint64_t delta = count - t->last;
    t->last = count;
    d->stats.pathop_repeats_from_kernel += delta;
    const struct eg_where *w = &d->pathop_where[t - d->pathops];
    struct eg_event_header h = {0};
    h.cgroup_id = t->cgroup_id;
    eg_rootfs_record_write(d, w, &h, NULL, eg_rootfs_op_name(t->op), NULL, delta, now_ms);
}

static void fold_pathop_repeats(struct eg_rootfs_detector *d, uint64_t now_ms)
{
    d->pathop_pass++;
    int n = pathops_read_batch(d);
    for (int i = 0; i < n; i++) {
        struct pathop_track *t =
            eg_rootfs_pathop_find(d, d->batch_keys[i].cgroup_id, d->batch_keys[i].hash, false);
        if (t)
            fold_pathop(d, t, d->batch_counts[i], now_ms);
    }
    /*
     * Keys the batch did not return (or all of them, without batches): one lookup each. A
     * batch read races the programs' inserts and LRU moves, so a key is forgotten only when a
     * lookup of its own says the kernel no longer holds it.
     */
    for (uint32_t i = 0; i < d->pathop_pool.high; i++) {
        struct pathop_track *t = &d->pathops[i];
        if (!t->used || t->seen_pass == d->pathop_pass)
            continue;
        struct eg_rootfs_pathop_key key = {.cgroup_id = t->cgroup_id, .hash = t->hash};
        uint64_t count;
        if (bpf_map_lookup_elem(d->pathops_fd, &key, &count) != 0) {
            eg_rootfs_pathop_forget(d, t);
            continue;
        }
        fold_pathop(d, t, count, now_ms);
    }
}

void eg_rootfs_detector_tick(struct eg_rootfs_detector *d, uint64_t now_ms)
{
    if (d->pathops_fd >= 0)
        fold_pathop_repeats(d, now_ms);
    if (d->repeats_fd < 0)
        return;
    /*
     * Counts are per container slot and only grow; a slot's container is replaced only after
     * the old one has been gone (cgroup removed, no task left to write) for minutes, during
     * which its last repeats were folded in. So a new container in a slot starts from where
     * the previous one's count ended.
     */
    for (uint32_t slot = 0; slot < EG_MAX_CONTAINER_SLOTS; slot++) {
        if (!d->slot_gen[slot])
            continue; /* no write sent from this slot yet: nothing can have repeated */
        uint64_t val;
        if (bpf_map_lookup_elem(d->repeats_fd, &slot, &val) != 0)
            continue;
        if (val <= d->repeats_last[slot])
            continue;
        uint64_t delta = val - d->repeats_last[slot];
        d->repeats_last[slot] = val;
        d->stats.repeats_from_kernel += delta;
        const struct eg_where *w = &d->slot_where[slot];
        struct eg_event_header h = {0};
        h.cgroup_id = w->cgroup_id;
        eg_rootfs_record_write(d, w, &h, NULL, "modify", NULL, delta, now_ms);
    }
}
