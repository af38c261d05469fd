/*
 * The rootfs detector's tables, each the agent's hash index over an array of its own: write
 * totals per container, the distinct (container, path) set, the files written (for exec and
 * mmap checks) and the kernel path-operation keys whose repeats are folded in.
 */
#include "agent/detectors/detect_rootfs_internal.h"

#include <stdio.h>
#include <string.h>

#include "agent/common/json_text.h"
#include "collectors/hash.h"

/* The write totals of container `cg`, added when new; NULL (counted) when the table is full. */
struct cstate *eg_rootfs_cstate_get(struct eg_rootfs_detector *d, uint64_t cg)
{
    uint64_t h = eg_hash_u64(cg);
    struct eg_hash_iter it;
    for (uint32_t i = eg_hash_index_first(&d->cstate_index, h, &it); i != EG_HASH_NONE;
         i = eg_hash_index_next(&d->cstate_index, &it))
        if (d->cstate[i].cg == cg)
            return &d->cstate[i];
    if (d->n_cstate == CSTATE_MAX || !eg_hash_index_insert(&d->cstate_index, h, d->n_cstate)) {
        d->stats.container_full++;
        return NULL;
    }
    struct cstate *s = &d->cstate[d->n_cstate++];
    s->cg = cg;
    d->stats.container_states++;
    return s;
}

/* True when (cg, path) was not seen before. When the set is full, counted and false. */
bool eg_rootfs_distinct_insert(struct eg_rootfs_detector *d, uint64_t cg, const char *path)
{
    /* The hash is the whole key: two paths that share one count once (a lower bound). */
    uint64_t h = eg_hash_more(eg_hash_u64(cg), path, strlen(path));
    /* Filled to three quarters at most: past that, misses probe long runs. */
    if (d->distinct.count * 4 >= (uint64_t)EG_ROOTFS_DISTINCT_SLOTS * 3) {
        d->stats.distinct_full++;
        return false;
    }
    struct eg_hash_iter it;
    if (eg_hash_index_first(&d->distinct, h, &it) != EG_HASH_NONE)
        return false;
    if (!eg_hash_index_insert(&d->distinct, h, 0)) {
        d->stats.distinct_full++;
        return false;
    }
    return true;
}

static uint64_t written_hash(uint64_t cg, uint32_t dev, uint64_t ino)
{
    const uint64_t key[3] = {cg, ino, dev};
    return eg_hash_bytes(key, sizeof(key));
}

/* The entry of a file written in container `cg`, or EG_HASH_NONE. */
uint32_t eg_rootfs_written_find(struct eg_rootfs_detector *d, uint64_t cg, uint32_t dev,
                                uint64_t ino)
{
    struct eg_hash_iter it;
    for (uint32_t i = eg_hash_index_first(&d->written_index, written_hash(cg, dev, ino), &it);
         i != EG_HASH_NONE; i = eg_hash_index_next(&d->written_index, &it)) {
        const struct written_key *k = &d->written_keys[i];
        if (k->cg == cg && k->dev == dev && k->ino == ino)
            return i;
    }
    return EG_HASH_NONE;
}

/*
 * The entry to (re)write for a file: its own, a new one, or, when the file's probe window is
 * full, the oldest entry in that window (counted). The index has as many slots as there are
 * entries, so once all are used every window is full and each new file replaces the oldest of
 * its 16: the same bounded eviction the table has always made, over its keys only.
 */
static uint32_t written_entry(struct eg_rootfs_detector *d, uint64_t cg, uint32_t dev, uint64_t ino)
{
    uint32_t found = eg_rootfs_written_find(d, cg, dev, ino);
    if (found != EG_HASH_NONE)
        return found;
    uint64_t h = written_hash(cg, dev, ino);
    if (d->n_written < EG_ROOTFS_WRITTEN_SLOTS &&
        eg_hash_index_insert(&d->written_index, h, d->n_written))
        return d->n_written++;
    struct eg_hash_iter it, victim_it = {0};
    uint32_t victim = EG_HASH_NONE;
    for (uint32_t i = eg_hash_index_window_first(&d->written_index, h, &it); i != EG_HASH_NONE;
         i = eg_hash_index_window_next(&d->written_index, &it)) {
        if (victim == EG_HASH_NONE || d->written_keys[i].seq < d->written_keys[victim].seq) {
            victim = i;
            victim_it = it;
        }
    }
    if (victim == EG_HASH_NONE)
        return EG_HASH_NONE; /* cannot be: an insert was refused, so the window is full */
    eg_hash_index_replace_at(&d->written_index, &victim_it, victim);
    d->stats.written_evicted++;
    return victim;
}

bool eg_rootfs_restore_written(struct eg_rootfs_detector *d, const struct written_key *k,
                               const struct written *w)
{
    uint32_t i = written_entry(d, k->cg, k->dev, k->ino);
    if (i == EG_HASH_NONE)
        return false;
    d->written_keys[i] = *k;
    d->written[i] = *w;
    if (k->seq > d->seq)
        d->seq = k->seq;
    return true;
}

void eg_rootfs_remember_written(struct eg_rootfs_detector *d, uint64_t cg, uint32_t dev,
                                uint64_t ino, const struct eg_event_header *h, const char *path)
{
    uint32_t i = written_entry(d, cg, dev, ino);
    if (i == EG_HASH_NONE)
        return;
    d->written_changed = true;
    struct written *w = &d->written[i];
    d->written_keys[i] = (struct written_key){.cg = cg, .ino = ino, .seq = ++d->seq, .dev = dev};
    memset(w, 0, sizeof(*w));
    w->ts_ns = h->ts_ns;
    w->pid = h->tgid;
    w->ns_pid = h->ns_pid;
    w->uid = h->uid;
    w->start_ns = h->start_time_ns;
    eg_utf8_copy(h->comm, sizeof(h->comm), w->comm, sizeof(w->comm));
    const struct eg_proc *p = eg_proc_table_find(d->env.procs, h->tgid, h->start_time_ns);
    if (p)
        snprintf(w->exe, sizeof(w->exe), "%s", p->exe);
    snprintf(w->path, sizeof(w->path), "%s", path);
}

/* The tracked key (cgroup_id, hash) of the kernel's map, or NULL; added when `insert`. */
struct pathop_track *eg_rootfs_pathop_find(struct eg_rootfs_detector *d, uint64_t cgroup_id,
                                           uint64_t hash, bool insert)
{
    uint64_t h = eg_hash_u64(cgroup_id ^ hash);
    struct eg_hash_iter it;
    for (uint32_t i = eg_hash_index_first(&d->pathop_index, h, &it); i != EG_HASH_NONE;
         i = eg_hash_index_next(&d->pathop_index, &it))
        if (d->pathops[i].cgroup_id == cgroup_id && d->pathops[i].hash == hash)
            return &d->pathops[i];
    if (!insert)
        return NULL;
    uint32_t i = eg_entry_pool_peek(&d->pathop_pool);
    if (i == EG_HASH_NONE || !eg_hash_index_insert(&d->pathop_index, h, i))
        return NULL;
    eg_entry_pool_take(&d->pathop_pool);
    d->pathops[i] = (struct pathop_track){.cgroup_id = cgroup_id, .hash = hash, .used = true};
    return &d->pathops[i];
}

/* The kernel forgot the key (LRU): so do we, and its entry is free again. */
void eg_rootfs_pathop_forget(struct eg_rootfs_detector *d, struct pathop_track *t)
{
    uint32_t i = (uint32_t)(t - d->pathops);
    eg_hash_index_remove(&d->pathop_index, eg_hash_u64(t->cgroup_id ^ t->hash), i);
    t->used = false;
    eg_entry_pool_give(&d->pathop_pool, i);
}

/*
 * The kernel counts this operation's repeats under e->dedup_hash; fold them in later, into the
 * finding of the container `w` it happened in.
 */
void eg_rootfs_pathop_track(struct eg_rootfs_detector *d, const struct eg_event_header *h,
                            const struct eg_rootfs_pathop_event *e, const struct eg_where *w)
{
    if (d->pathops_fd < 0 || !e->dedup_hash)
        return;
    struct pathop_track *t = eg_rootfs_pathop_find(d, h->cgroup_id, e->dedup_hash, true);
    if (!t) {
        d->stats.pathop_keys_untracked++;
        return;
    }
    t->last = 1; /* a key sent again was forgotten by the kernel (LRU): its count restarted */
    t->op = e->op;
    d->pathop_where[t - d->pathops] = *w;
}
