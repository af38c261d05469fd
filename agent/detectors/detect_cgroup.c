/*
 * The cgroup detector: a process that started in a task container and was moved out of the
 * container's cgroup, into the host's cgroups or another task's. One finding per container,
 * destination cgroup and moved process; the moved process, who moved it and where to are in
 * its context.
 */
#include "agent/detectors/detect_cgroup.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/common/json_text.h"
#include "policy/finding.h"

struct eg_cgroup_detector {
    struct eg_detector_env env;
    struct eg_cgroup_detector_stats stats;
};

struct eg_cgroup_detector *eg_cgroup_detector_new(const struct eg_detector_env *env)
{
    struct eg_cgroup_detector *d = calloc(1, sizeof(*d));
    if (d)
        d->env = *env;
    return d;
}

void eg_cgroup_detector_free(struct eg_cgroup_detector *d)
{
    free(d);
}

void eg_cgroup_detector_get_stats(const struct eg_cgroup_detector *d,
                                  struct eg_cgroup_detector_stats *out)
{
    *out = d->stats;
}

/* "self", "containerProcess" (another process of a container) or "host" (a host process). */
static const char *moved_by(uint32_t left_flags)
{
    if (left_flags & EG_LEFT_BY_ITSELF)
        return "self";
    return (left_flags & EG_LEFT_BY_CONTAINED) ? "containerProcess" : "host";
}

static struct json_object *context_of(const struct eg_cgroup_left_event *e,
                                      const struct eg_container *dst)
{
    struct json_object *ctx = json_object_new_object();
    struct json_object *to = json_object_new_object();
    /* Born there (clone3): the fork tracepoint names the cgroup, not its path. */
    json_object_object_add(to, (e->left_flags & EG_LEFT_AT_CLONE) ? "cgroupName" : "cgroupPath",
                           eg_json_string_n(e->dst_path, EG_PATH_LEN, EG_PATH_LEN));
    json_object_object_add(to, "cgroupId", json_object_new_int64((int64_t)e->dst_cgroup_id));
    json_object_object_add(to, "level", json_object_new_int64(e->dst_level));
    json_object_object_add(to, "taskContainer",
                           json_object_new_boolean((e->left_flags & EG_LEFT_INTO_CONTAINER) != 0));
    if (dst) {
        json_object_object_add(to, "containerId", json_object_new_string(dst->id.container_id));
        if (dst->id.task_id[0])
            json_object_object_add(to, "taskId", json_object_new_string(dst->id.task_id));
    }
    json_object_object_add(ctx, "destinationCgroup", to);
    struct json_object *by = json_object_new_object();
    json_object_object_add(by, "kind", json_object_new_string(moved_by(e->left_flags)));
    json_object_object_add(by, "pid", json_object_new_int64(e->writer_tgid));
    json_object_object_add(by, "name", eg_json_string_n(e->writer_comm, EG_COMM_LEN, EG_COMM_LEN));
    json_object_object_add(ctx, "movedBy", by);
    json_object_object_add(ctx, "how",
                           json_object_new_string((e->left_flags & EG_LEFT_AT_CLONE)
                                                      ? "clone3IntoCgroup"
                                                      : "cgroupProcsWrite"));
    json_object_object_add(ctx, "stillAttributed", json_object_new_boolean(1));
    return ctx;
}

void eg_cgroup_on_left(void *ctx, const struct eg_event_header *h, const void *rec, size_t size)
{
    struct eg_cgroup_detector *d = ctx;
    if (size < sizeof(struct eg_cgroup_left_event))
        return;
    const struct eg_cgroup_left_event *e = rec;
    d->stats.moves++;
    struct eg_container *c = eg_container_table_lookup(d->env.containers, h->cgroup_id);
    if (!c)
        d->stats.orphan_moves++;
    struct eg_where w;
    eg_where_capture(&w, c, h->cgroup_id);
    struct eg_finding_key key;
    eg_finding_key_init(&key, EG_FT_CGROUP_ESCAPED, &w);
    eg_finding_key_add_u64(&key, e->dst_cgroup_id);
    eg_finding_key_add_u64(&key, h->tgid);
    eg_finding_key_add_u64(&key, h->start_time_ns);
    uint64_t ms = eg_event_epoch_ms(h->ts_ns);
    bool created = false;
    struct eg_finding *f = eg_aggregator_record(d->env.findings, key.text, EG_FT_CGROUP_ESCAPED, ms,
                                                1, eg_now_ms(), &created);
    if (!f) {
        d->stats.findings_dropped++;
        return;
    }
    if (!created)
        return;
    eg_finding_begin(f, &w, h, ms);
    eg_finding_set_process(f, d->env.procs, h, NULL);
    f->context = context_of(e, eg_container_table_lookup(d->env.containers, e->dst_cgroup_id));
}

static void *cgroup_create(const struct eg_detector_env *env)
{
    return eg_cgroup_detector_new(env);
}

static int cgroup_subscribe(void *d, struct eg_ringbuf_reader *r)
{
    return eg_ringbuf_reader_on(r, EG_EVENT_CGROUP_LEFT, eg_cgroup_on_left, d)
               ? EG_EVENT_CGROUP_LEFT
               : 0;
}

static void cgroup_stats(void *p, struct json_object *obj)
{
    const struct eg_cgroup_detector *d = p;
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "movesOutOfHome", json_object_new_int64((int64_t)d->stats.moves));
    json_object_object_add(o, "orphanMoves", json_object_new_int64((int64_t)d->stats.orphan_moves));
    json_object_object_add(o, "findingsDropped",
                           json_object_new_int64((int64_t)d->stats.findings_dropped));
    json_object_object_add(obj, "containerCgroups", o);
}

static void cgroup_destroy(void *d)
{
    eg_cgroup_detector_free(d);
}

const struct eg_detector_ops eg_cgroup_detector_ops = {
    .name = "containerCgroups",
    .create = cgroup_create,
    .subscribe = cgroup_subscribe,
    .stats = cgroup_stats,
    .destroy = cgroup_destroy,
};
