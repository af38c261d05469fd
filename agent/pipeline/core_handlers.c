/*
 * Ring-buffer handlers of the core tables: containers from cgroup lifecycle events, processes
 * from exec/fork/exit. They record who is where; findings are the detectors'.
 */
#include "agent/pipeline/core_handlers.h"

#include <stdio.h>
#include <string.h>

#include "agent/common/log.h"
#include "agent/detectors/detector.h"
#include "agent/kernel/homes.h"
#include "agent/pipeline/emit.h"
#include "collectors/container_table.h"
#include "collectors/ecs_introspection.h"
#include "collectors/proc_table.h"
#include "collectors/ringbuf_reader.h"

static void on_cgroup_mkdir(void *ctx, const struct eg_event_header *h, const void *rec,
                            size_t size)
{
    struct eg_core_tables *t = ctx;
    const struct eg_cgroup_event *e = rec;
    (void)h;
    (void)size;
    char path[EG_PATH_LEN + 1];
    memcpy(path, e->path, EG_PATH_LEN);
    path[EG_PATH_LEN] = '\0';
    struct eg_container *c =
        eg_container_table_add_cgroup(t->containers, e->cgroup_id, path, eg_now_ms());
    if (!c) {
        eg_container_table_drop_pending(t->containers, e->cgroup_id);
        return;
    }
    if (c->cgroup_id == e->cgroup_id) {
        eg_log_debug("container %s (task %s) cgroup %s", c->id.container_id,
                     c->id.task_id[0] ? c->id.task_id : "-", path);
        if (eg_is_docker_id(c->id.container_id))
            eg_ecs_client_request(t->ecs, c->id.container_id);
        /*
         * Now a task container's in the kernel too. A process that exec'd its entrypoint
         * before that (the agent learnt of the cgroup late) got no home then: give it one.
         */
        if (t->homes && t->cgroup_mount && t->cgroup_mount[0]) {
            char dir[EG_PATH_LEN + 512];
            snprintf(dir, sizeof(dir), "%s%s", t->cgroup_mount, path);
            eg_homes_give_cgroup(t->homes, dir, e->cgroup_id);
        }
    }
}

static void on_cgroup_rmdir(void *ctx, const struct eg_event_header *h, const void *rec,
                            size_t size)
{
    struct eg_core_tables *t = ctx;
    const struct eg_cgroup_event *e = rec;
    (void)h;
    (void)size;
    eg_container_table_remove_cgroup(t->containers, e->cgroup_id, eg_now_ms());
}

static void on_exec(void *ctx, const struct eg_event_header *h, const void *rec, size_t size)
{
    struct eg_core_tables *t = ctx;
    (void)h;
    (void)size;
    eg_proc_table_exec(t->procs, rec);
}

static void on_fork(void *ctx, const struct eg_event_header *h, const void *rec, size_t size)
{
    struct eg_core_tables *t = ctx;
    (void)rec;
    (void)size;
    eg_proc_table_upsert(t->procs, h);
}

static void on_exit_event(void *ctx, const struct eg_event_header *h, const void *rec, size_t size)
{
    struct eg_core_tables *t = ctx;
    (void)rec;
    (void)size;
    eg_proc_table_exit(t->procs, h->tgid, h->start_time_ns);
}

int eg_core_subscribe(struct eg_core_tables *t, struct eg_ringbuf_reader *r)
{
    static const struct {
        uint32_t kind;
        eg_event_handler fn;
    } subs[] = {
        {EG_EVENT_CGROUP_MKDIR, on_cgroup_mkdir},
        {EG_EVENT_CGROUP_RMDIR, on_cgroup_rmdir},
        {EG_EVENT_EXEC, on_exec},
        {EG_EVENT_FORK, on_fork},
        {EG_EVENT_EXIT, on_exit_event},
    };
    for (unsigned i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
        if (eg_ringbuf_reader_on(r, subs[i].kind, subs[i].fn, t) != 0)
            return (int)subs[i].kind;
    return 0;
}
