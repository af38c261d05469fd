#include "agent/detectors/detect_cap.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "agent/common/json_text.h"
#include "agent/common/log.h"
#include "agent/detectors/syscall_names.h"
#include "agent/pipeline/inventory_recorder.h"
#include "collectors/hash.h"
#include "collectors/hash_index.h"
#include "policy/capabilities.h"

#define CAP_NET_ADMIN_NR 12
#define CAP_SYS_ADMIN_NR 21
#define CAP_BPF_NR 39

/*
 * The kernel sends the first occurrence of each dedup key and only counts
 * repeats. We remember each key's first event and the count we last read,
 * and fold the difference into the finding once a second.
 */
#define TRACK_SLOTS 16384 /* same as the kernel's eg_cap_dedup */
/*
 * Linear probing stops after this many slots. Inserts never go further, so lookups need not
 * either; without the bound every new key scanned all 16,384 slots once the table was full
 * (the pipeline bench measured 25k events/s at 57k distinct keys).
 */
#define TRACK_MAX_PROBES 64

/*
 * A dedup key the kernel reported: the key, its first event, the count already folded in, and
 * where the behaviour happened as known at that first event. Repeats are folded into the finding
 * of that identity, even once the container's cgroup is gone (a short task exits before the
 * fold).
 */
struct tracked {
    struct eg_cap_dedup_key key;
    uint64_t last_count;
    struct eg_cap_event first;
    struct eg_where where;
};

struct eg_cap_detector {
    struct eg_detector_env env;
    int dedup_fd;
    struct eg_cap_detector_stats stats;
    struct eg_hash_index index; /* hash of the key -> track[] */
    /*
     * Keys in the order they came (never forgotten): the once-a-second tick walks the first
     * n_used, and only the pages of that used part of the array are ever touched.
     */
    uint32_t n_used;
    struct tracked track[TRACK_SLOTS];
};

/*
 * A granted check against a user namespace other than the host's is its own behaviour, whatever
 * the capability: it gives power over that namespace only (the scope is in the key as well).
 */
static enum eg_finding_type type_for(uint32_t cap, int ret, uint32_t scope)
{
    if (ret != 0)
        return EG_FT_CAP_DENIED;
    if (scope != EG_CAP_SCOPE_HOST)
        return EG_FT_NAMESPACED_CAP_USED;
    switch (cap) {
    case CAP_SYS_ADMIN_NR:
        return EG_FT_SYS_ADMIN_CAP_USED;
    case CAP_NET_ADMIN_NR:
        return EG_FT_NET_ADMIN_CAP_USED;
    case CAP_BPF_NR:
        return EG_FT_BPF_CAP_USED;
    default:
        return EG_FT_OTHER_CAP_USED;
    }
}

static void key_of(const struct eg_cap_event *e, struct eg_cap_dedup_key *k)
{
    memset(k, 0, sizeof(*k));
    k->cgroup_id = e->hdr.cgroup_id;
    k->exe_ino = e->exe_ino;
    k->exe_dev = e->exe_dev;
    k->cap = e->cap;
    k->syscall_nr = e->syscall_nr;
    k->granted = e->ret == 0;
    k->scope = (uint16_t)e->scope;
}

static uint64_t key_hash(const struct eg_cap_dedup_key *k)
{
    return eg_hash_bytes(k, sizeof(*k));
}

static struct tracked *track_find(struct eg_cap_detector *d, const struct eg_cap_dedup_key *k,
                                  uint64_t hash)
{
    struct eg_hash_iter it;
    for (uint32_t i = eg_hash_index_first(&d->index, hash, &it); i != EG_HASH_NONE;
         i = eg_hash_index_next(&d->index, &it))
        if (memcmp(&d->track[i].key, k, sizeof(*k)) == 0)
            return &d->track[i];
    return NULL;
}

/* A new key's record, or NULL when none is free within the probe bound. */
static struct tracked *track_add(struct eg_cap_detector *d, uint64_t hash)
{
    if (d->n_used == TRACK_SLOTS || !eg_hash_index_insert(&d->index, hash, d->n_used))
        return NULL;
    return &d->track[d->n_used++];
}

struct eg_cap_detector *eg_cap_detector_new(const struct eg_detector_env *env, int dedup_map_fd)
{
    struct eg_cap_detector *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    if (eg_hash_index_init(&d->index, TRACK_SLOTS, TRACK_MAX_PROBES, true) != 0) {
        free(d);
        return NULL;
    }
    d->env = *env;
    d->dedup_fd = dedup_map_fd;
    return d;
}

void eg_cap_detector_free(struct eg_cap_detector *d)
{
    if (d)
        eg_hash_index_destroy(&d->index);
    free(d);
}

/* Every syscall that made this behaviour's checks, not only the first (bounded). */
#define CAP_SYSCALLS_MAX 16

static void add_syscall(struct json_object *ctx, int nr)
{
    struct json_object *list;
    if (!ctx || !json_object_object_get_ex(ctx, "syscalls", &list))
        return;
    const char *name = eg_syscall_name(nr);
    size_t n = json_object_array_length(list);
    for (size_t i = 0; i < n; i++)
        if (strcmp(json_object_get_string(json_object_array_get_idx(list, i)), name) == 0)
            return;
    if (n < CAP_SYSCALLS_MAX)
        json_object_array_add(list, json_object_new_string(name));
}

static const char *scope_name(uint32_t scope)
{
    switch (scope) {
    case EG_CAP_SCOPE_HOST:
        return "host";
    case EG_CAP_SCOPE_CONTAINER:
        return "container";
    default:
        return "created";
    }
}

static struct json_object *cap_context(const struct eg_cap_event *e)
{
    struct json_object *ctx = json_object_new_object();
    const char *name = eg_capability_name((int)e->cap);
    char fallback[24];
    if (!name) {
        snprintf(fallback, sizeof(fallback), "CAP_%u", e->cap);
        name = fallback;
    }
    json_object_object_add(ctx, "capabilityName", json_object_new_string(name));
    json_object_object_add(ctx, "capabilityGranted", json_object_new_boolean(e->ret == 0));
    json_object_object_add(ctx, "syscall", json_object_new_string(eg_syscall_name(e->syscall_nr)));
    json_object_object_add(ctx, "syscalls", json_object_new_array());
    add_syscall(ctx, e->syscall_nr);
    bool host = e->scope == EG_CAP_SCOPE_HOST;
    json_object_object_add(ctx, "capabilityScope", json_object_new_string(scope_name(e->scope)));
    json_object_object_add(ctx, "hostLevel", json_object_new_boolean(host));
    json_object_object_add(ctx, "userNamespaceLevel", json_object_new_int64(e->userns_level));
    json_object_object_add(ctx, "userNamespaceInode", json_object_new_int64(e->userns_inum));
    if (e->cap_flags & EG_CAP_NOISE_UNCHECKED)
        json_object_object_add(ctx, "overcommitFilter", json_object_new_string("unavailable"));
    return ctx;
}

/*
 * Fold `count` occurrences of the behaviour `e` stands for, in the container `w` captured when it
 * was first seen, into its finding; the last of them happened at `last_seen_ms` (epoch ms).
 */
static void record(struct eg_cap_detector *d, const struct eg_cap_event *e,
                   const struct eg_where *w, uint64_t count, uint64_t last_seen_ms)
{
    uint64_t now = eg_now_ms();
    /* The inventory first: it keeps what the container needed even when no finding can be. */
    struct eg_inv_entry *ie = eg_inventory_recorder_entry(d->env.inventory, w);
    if (ie)
        eg_inv_note_cap(ie, (int)e->cap, e->syscall_nr, e->ret == 0,
                        e->scope != EG_CAP_SCOPE_HOST && e->scope != EG_CAP_SCOPE_CONTAINER, count,
                        last_seen_ms);
    enum eg_finding_type type = type_for(e->cap, e->ret, e->scope);
    struct eg_finding_key key;
    eg_finding_key_init(&key, type, w);
    eg_finding_key_add_u64(&key, e->cap);
    eg_finding_key_add_u64(&key, e->scope); /* a host-level use is never a namespaced repeat */
    eg_finding_key_add_u64(&key, e->exe_dev);
    eg_finding_key_add_u64(&key, e->exe_ino);
    bool created;
    struct eg_finding *f =
        eg_aggregator_record(d->env.findings, key.text, type, last_seen_ms, count, now, &created);
    if (!f)
        return;
    if (!created) {
        /* The kernel dedups per syscall: a first event from another syscall names it here. */
        add_syscall(f->context, e->syscall_nr);
        return;
    }
    eg_finding_begin(f, w, &e->hdr, eg_event_epoch_ms(e->hdr.ts_ns));
    const struct eg_proc *p = eg_proc_table_find(d->env.procs, e->hdr.tgid, e->hdr.start_time_ns);
    char exe_name[EG_NAME_LEN + 1];
    eg_utf8_copy(e->exe_name, sizeof(e->exe_name), exe_name, sizeof(exe_name));
    eg_finding_set_process(f, d->env.procs, &e->hdr, p ? NULL : exe_name);
    f->context = cap_context(e);
    const char *cap_name = eg_capability_name((int)e->cap);
    snprintf(f->capability, sizeof(f->capability), "%s", cap_name ? cap_name : "");
}

void eg_cap_detector_on_event(void *ctx, const struct eg_event_header *h, const void *rec,
                              size_t size)
{
    struct eg_cap_detector *d = ctx;
    const struct eg_cap_event *e = rec;
    (void)h;
    (void)size;
    d->stats.events++;
    struct eg_cap_dedup_key k;
    key_of(e, &k);
    struct eg_where here;
    const struct eg_where *w = &here;
    uint64_t hash = key_hash(&k);
    struct tracked *t = track_find(d, &k, hash);
    if (t) {
        /* The kernel forgot the key (LRU) and sent it again: its count restarted. */
        t->last_count = 1;
        w = &t->where;
    } else {
        struct eg_container *c = eg_container_table_lookup(d->env.containers, e->hdr.cgroup_id);
        if (!c) /* the kernel only reports container cgroups: a race with rmdir+expiry */
            d->stats.orphan_events++;
        eg_where_capture(&here, c, e->hdr.cgroup_id);
        t = track_add(d, hash);
        if (t) {
            t->key = k;
            t->first = *e;
            t->last_count = 1;
            t->where = here;
            d->stats.tracked++;
        } else {
            d->stats.untracked_full++;
        }
    }
    record(d, e, w, 1, eg_event_epoch_ms(e->hdr.ts_ns));
}

/*
 * Fold the kernel's repeat counts. The kernel counts repeats without a clock read, so growth
 * seen now happened since the previous tick (at most a second ago): it is stamped now_ms.
 */
void eg_cap_detector_tick(struct eg_cap_detector *d, uint64_t now_ms)
{
    if (d->dedup_fd < 0)
        return;
    /* Repeats of each CPU's last key are counted on that CPU until flushed (bpf/cap.bpf.c). */
    uint32_t failed_cpus = 0;
    if (d->env.kernel.cap_flush &&
        d->env.kernel.cap_flush(d->env.kernel.cap_flush_ctx, &failed_cpus) == 0 && failed_cpus) {
        /* Once in the log (a persistent failure would repeat every second); health counts all. */
        if (!d->stats.flush_failures)
            eg_log_warn("capability repeat counts could not be flushed on %u CPU(s); they are "
                        "folded in once that CPU's next key arrives (health: "
                        "repeatFlushFailures)",
                        failed_cpus);
        d->stats.flush_failures += failed_cpus;
    }
    for (uint32_t i = 0; i < d->n_used; i++) {
        struct tracked *t = &d->track[i];
        struct eg_cap_dedup_val v;
        if (bpf_map_lookup_elem(d->dedup_fd, &t->key, &v) != 0)
            continue;
        if (v.count > t->last_count) {
            uint64_t delta = v.count - t->last_count;
            t->last_count = v.count;
            d->stats.repeats_from_kernel += delta;
            record(d, &t->first, &t->where, delta, now_ms);
        }
    }
}

void eg_cap_detector_get_stats(struct eg_cap_detector *d, struct eg_cap_detector_stats *out)
{
    *out = d->stats;
}

static void *cap_create(const struct eg_detector_env *env)
{
    return eg_cap_detector_new(env, env->kernel.cap_dedup_fd > 0 ? env->kernel.cap_dedup_fd : -1);
}

static int cap_subscribe(void *d, struct eg_ringbuf_reader *r)
{
    return eg_ringbuf_reader_on(r, EG_EVENT_CAP, eg_cap_detector_on_event, d) ? EG_EVENT_CAP : 0;
}

static void cap_tick(void *d, uint64_t now_ms)
{
    eg_cap_detector_tick(d, now_ms);
}

static void cap_stats(void *d, struct json_object *obj)
{
    struct eg_cap_detector_stats st;
    eg_cap_detector_get_stats(d, &st);
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "events", json_object_new_int64((int64_t)st.events));
    json_object_object_add(o, "repeatsFromKernel",
                           json_object_new_int64((int64_t)st.repeats_from_kernel));
    json_object_object_add(o, "repeatFlushFailures",
                           json_object_new_int64((int64_t)st.flush_failures));
    json_object_object_add(o, "trackedKeys", json_object_new_int64((int64_t)st.tracked));
    json_object_object_add(o, "untrackedTableFull",
                           json_object_new_int64((int64_t)st.untracked_full));
    json_object_object_add(obj, "capability", o);
}

static void cap_destroy(void *d)
{
    eg_cap_detector_free(d);
}

const struct eg_detector_ops eg_cap_detector_ops = {
    .name = "capability",
    .create = cap_create,
    .subscribe = cap_subscribe,
    .tick = cap_tick,
    .stats = cap_stats,
    .destroy = cap_destroy,
};
