/*
 * The host-namespace detector (docs/hostns.md): its ring-buffer handlers, the tracking of the
 * kernel's process-access dedup keys whose repeats are folded in once a second, set-up and
 * health. Decisions, /proc reading and the findings are in
 * detect_hostns_{rules,proc,findings}.c (detect_hostns_internal.h).
 */
#include "agent/detectors/detect_hostns_internal.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "agent/common/json_text.h"
#include "collectors/hash.h"

#define TRACK_PROBES 64 /* the probe bound of the tracked keys, as the capability detector's */

void eg_hostns_on_lifecycle(void *ctx, const struct eg_event_header *h, const void *rec,
                            size_t size)
{
    struct eg_hostns_detector *d = ctx;
    d->stats.lifecycle_events++;
    struct eg_container *c = eg_container_table_lookup(d->env.containers, h->cgroup_id);
    if (!c) {
        d->stats.orphan_events++;
        return;
    }
    /*
     * runc re-executes itself after joining the cgroup and before creating
     * the container's namespaces; that exec runs in the host's mount (and
     * pid) namespace and is the runtime, not the container. ECS containers
     * always have their own mount namespace.
     */
    if (d->host.inum[EG_HOST_NS_MNT] && h->mnt_ns_inum == d->host.inum[EG_HOST_NS_MNT]) {
        d->stats.setup_skipped++;
        return;
    }
    eg_hostns_probe_container_ns(d, c, h->tgid, h->start_time_ns);
    if (!(h->flags & EG_HDR_HOST_PIDNS))
        return;
    const char *exe = NULL;
    char exe_buf[EG_PATH_LEN + 1];
    /* Detectors run before the core's process table learns of this exec: use the event's. */
    if (h->kind == EG_EVENT_EXEC && size >= sizeof(struct eg_exec_event)) {
        const struct eg_exec_event *e = rec;
        eg_utf8_copy(e->exe_path[0] ? e->exe_path : e->filename, EG_PATH_LEN, exe_buf,
                     sizeof(exe_buf));
        exe = exe_buf;
    }
    eg_hostns_report_host_pidns(d, c, h, exe, h->kind == EG_EVENT_EXEC ? "exec" : "fork",
                                eg_event_epoch_ms(h->ts_ns));
}

static void dedup_key_of(const struct eg_hostns_event *e, struct eg_hostns_dedup_key *k)
{
    memset(k, 0, sizeof(*k));
    k->cgroup_id = e->hdr.cgroup_id;
    k->target_start_time_ns = e->target_start_time_ns;
    k->target_tgid =
        (e->target_flags & EG_TGT_RESOLVED) ? e->target_tgid : (uint32_t)e->target_vpid;
    k->action = e->action;
    k->arg = e->arg;
}

static struct access_track *track_find(struct eg_hostns_detector *d,
                                       const struct eg_hostns_dedup_key *k, uint64_t hash)
{
    struct eg_hash_iter it;
    for (uint32_t i = eg_hash_index_first(&d->index, hash, &it); i != EG_HASH_NONE;
         i = eg_hash_index_next(&d->index, &it))
        if (memcmp(&d->track[i].key, k, sizeof(*k)) == 0)
            return &d->track[i];
    return NULL;
}

/* A new key's record, or NULL when none is free within the probe bound. */
static struct access_track *track_add(struct eg_hostns_detector *d, uint64_t hash)
{
    if (d->n_used == EG_HOSTNS_TRACK_SLOTS || !eg_hash_index_insert(&d->index, hash, d->n_used))
        return NULL;
    return &d->track[d->n_used++];
}

static void on_access(struct eg_hostns_detector *d, const struct eg_hostns_event *e,
                      struct eg_container *c)
{
    d->stats.accesses++;
    enum eg_finding_type type = eg_hostns_access_type(e->action);
    if (type == EG_FT_COUNT || type == EG_FT_HOST_NS_ENTERED)
        return;
    struct eg_container *tc = NULL;
    enum eg_target_relation rel = EG_REL_HOST;
    if (!(e->target_flags & EG_TGT_ALL)) {
        if (!(e->target_flags & EG_TGT_RESOLVED))
            return; /* the kernel always resolves; an unresolved record is malformed */
        tc = eg_container_table_lookup(d->env.containers, e->target_cgroup_id);
        rel = eg_hostns_relation(e->hdr.cgroup_id, c, e->hdr.pid_ns_inum, e->target_cgroup_id, tc,
                                 e->target_pid_ns_inum, d->host.inum[EG_HOST_NS_PID]);
    }
    if (rel == EG_REL_SAME_TASK) {
        d->stats.same_task++;
        return;
    }
    uint64_t ms = eg_event_epoch_ms(e->hdr.ts_ns);
    struct eg_hostns_dedup_key k;
    dedup_key_of(e, &k);
    uint64_t hash = eg_hash_bytes(&k, sizeof(k));
    struct access_track *t = track_find(d, &k, hash);
    if (t) {
        /*
         * Sent again after the dedup window: the repeats it absorbed since the last fold belong
         * to the finding the key was first seen for. The count only moves forward here: a
         * record sent before a tick but read after it carries an older count than the tick
         * read, and taking it as a restart would count the difference twice. (A key the kernel
         * forgot starts again at 0; its repeats count again once past the old total, the LRU
         * gap docs/architecture.md names.)
         */
        uint64_t delta = e->dedup_repeats > t->last ? e->dedup_repeats - t->last : 0;
        t->last += delta;
        d->stats.repeats_from_kernel += delta;
        eg_hostns_record_access(d, e, &t->where, t->rel, tc, 1 + delta, ms);
        return;
    }
    struct eg_where w;
    eg_where_capture(&w, c, e->hdr.cgroup_id);
    t = track_add(d, hash);
    if (t)
        *t = (struct access_track){
            .rel = rel, .last = e->dedup_repeats, .key = k, .first = *e, .where = w};
    else
        d->stats.untracked_full++;
    eg_hostns_record_access(d, e, &w, rel, tc, 1, ms);
}

/*
 * Fold the kernel's process-access repeat counts: growth seen now happened since the previous
 * tick and is stamped now_ms, into the finding of the identity captured with the key's first
 * record (the caller's container may be gone by now).
 */
void eg_hostns_detector_tick(struct eg_hostns_detector *d, uint64_t now_ms)
{
    if (d->dedup_fd < 0)
        return;
    for (uint32_t i = 0; i < d->n_used; i++) {
        struct access_track *t = &d->track[i];
        struct eg_hostns_dedup_val v;
        if (bpf_map_lookup_elem(d->dedup_fd, &t->key, &v) != 0 || v.repeats <= t->last)
            continue;
        uint64_t delta = v.repeats - t->last;
        t->last = v.repeats;
        d->stats.repeats_from_kernel += delta;
        eg_hostns_record_access(d, &t->first, &t->where, t->rel, NULL, delta, now_ms);
    }
}

void eg_hostns_on_event(void *ctx, const struct eg_event_header *h, const void *rec, size_t size)
{
    struct eg_hostns_detector *d = ctx;
    if (size < sizeof(struct eg_hostns_event))
        return; /* the reader checks sizes; kept for direct callers */
    const struct eg_hostns_event *e = rec;
    struct eg_container *c = eg_container_table_lookup(d->env.containers, h->cgroup_id);
    if (!c)
        d->stats.orphan_events++;
    else
        eg_hostns_probe_container_ns(d, c, h->tgid, h->start_time_ns);
    if (h->kind == EG_EVENT_NS_ENTER)
        eg_hostns_on_ns_enter(d, e, c);
    else
        on_access(d, e, c);
}

/* ---- detector plumbing ------------------------------------------------------------------ */

struct eg_hostns_detector *eg_hostns_detector_new(const struct eg_detector_env *env,
                                                  const char *proc_root,
                                                  const struct eg_host_ns *host,
                                                  const char *cgroup_mount)
{
    struct eg_hostns_detector *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->env = *env;
    d->host = *host;
    d->dedup_fd = env->kernel.hostns_dedup_fd > 0 ? env->kernel.hostns_dedup_fd : -1;
    d->track = calloc(EG_HOSTNS_TRACK_SLOTS, sizeof(*d->track));
    if (!d->track ||
        eg_hash_index_init(&d->index, EG_HOSTNS_TRACK_SLOTS, TRACK_PROBES, true) != 0) {
        free(d->track);
        free(d);
        return NULL;
    }
    snprintf(d->proc_root, sizeof(d->proc_root), "%s", proc_root);
    snprintf(d->cgroup_mount, sizeof(d->cgroup_mount), "%s", cgroup_mount ? cgroup_mount : "");
    return d;
}

void eg_hostns_detector_free(struct eg_hostns_detector *d)
{
    if (d) {
        eg_hash_index_destroy(&d->index);
        free(d->track);
    }
    free(d);
}

void eg_hostns_detector_get_stats(struct eg_hostns_detector *d,
                                  struct eg_hostns_detector_stats *out)
{
    *out = d->stats;
}

static void *hostns_create(const struct eg_detector_env *env)
{
    struct eg_host_ns host;
    eg_hostns_read_host_ns("/proc", env->kernel.host_ns_pid, &host);
    return eg_hostns_detector_new(env, env->kernel.proc_root ? env->kernel.proc_root : "/proc",
                                  &host, env->kernel.cgroup_mount);
}

static int hostns_subscribe(void *d, struct eg_ringbuf_reader *r)
{
    if (eg_ringbuf_reader_on(r, EG_EVENT_EXEC, eg_hostns_on_lifecycle, d))
        return EG_EVENT_EXEC;
    if (eg_ringbuf_reader_on(r, EG_EVENT_FORK, eg_hostns_on_lifecycle, d))
        return EG_EVENT_FORK;
    if (eg_ringbuf_reader_on(r, EG_EVENT_NS_ENTER, eg_hostns_on_event, d))
        return EG_EVENT_NS_ENTER;
    if (eg_ringbuf_reader_on(r, EG_EVENT_PROC_ACCESS, eg_hostns_on_event, d))
        return EG_EVENT_PROC_ACCESS;
    return 0;
}

static void hostns_tick(void *p, uint64_t now_ms)
{
    struct eg_hostns_detector *d = p;
    /* The core scans containers and their processes after detectors are created. */
    if (!d->scanned)
        eg_hostns_startup_scan(d);
    eg_hostns_detector_tick(d, now_ms);
}

static void hostns_stats(void *p, struct json_object *obj)
{
    struct eg_hostns_detector *d = p;
    const struct eg_hostns_detector_stats *s = &d->stats;
    struct json_object *o = json_object_new_object();
#define ADD(name, field) json_object_object_add(o, name, json_object_new_int64((int64_t)s->field))
    ADD("lifecycleEvents", lifecycle_events);
    ADD("hostPidNamespaceContainers", host_pidns_found);
    ADD("hostPidNamespaceAtStart", scan_host_pidns);
    ADD("runtimeSetupSkipped", setup_skipped);
    ADD("namespaceEntries", ns_entries);
    ADD("processAccesses", accesses);
    ADD("sameTaskAccesses", same_task);
    ADD("orphanEvents", orphan_events);
    ADD("containerNamespacesProbed", ns_probed);
    ADD("containerNamespaceProbeFailed", ns_probe_failed);
    ADD("containerNamespaceProbeRuntime", ns_probe_runtime);
    ADD("findingsDropped", findings_dropped);
    ADD("repeatsFromKernel", repeats_from_kernel);
    ADD("untrackedTableFull", untracked_full);
#undef ADD
    json_object_object_add(obj, "hostNamespaces", o);
}

static void hostns_destroy(void *d)
{
    eg_hostns_detector_free(d);
}

const struct eg_detector_ops eg_hostns_detector_ops = {
    .name = "hostNamespaces",
    .create = hostns_create,
    .subscribe = hostns_subscribe,
    .tick = hostns_tick,
    .stats = hostns_stats,
    .destroy = hostns_destroy,
};
