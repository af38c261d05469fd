/*
 * Emission of one due finding: ECS task lookup (and the request when the task is not known
 * yet), policy evaluation, serialisation, fan-out to the sinks. Owns the line buffer and the
 * sink write-failure count; finding state and finding counters are the aggregator's.
 */
#include "agent/pipeline/emit.h"

#include <stdlib.h>
#include <string.h>

#include "agent/common/log.h"
#include "agent/outputs/outputs_setup.h"
#include "agent/pipeline/finding_json.h"
#include "collectors/container_table.h"
#include "policy/policy.h"

int eg_emitter_init(struct eg_emitter *e)
{
    e->line = malloc(EG_FINDING_LINE_MAX + 1);
    return e->line ? 0 : -1;
}

void eg_emitter_fini(struct eg_emitter *e)
{
    free(e->line);
    e->line = NULL;
}

static void policy_subject(const struct eg_finding *f, const struct eg_ecs_task *task,
                           struct eg_policy_subject *s)
{
    memset(s, 0, sizeof(*s));
    const struct eg_finding_type_info *ti = eg_finding_type_info(f->type);
    s->finding_type = ti ? ti->name : NULL;
    if (task) {
        s->task_family = task->family[0] ? task->family : NULL;
        s->task_revision = task->version[0] ? task->version : NULL;
        const struct eg_ecs_container *c = eg_ecs_task_container(task, f->where.container_id);
        if (c) {
            s->container_name = c->name;
            s->image = c->image;
        } else {
            s->container_name = EG_ECS_PAUSE_CONTAINER_NAME;
        }
    }
    s->executable_path = f->process.exe[0] ? f->process.exe : NULL;
    s->capability = f->capability[0] ? f->capability : NULL;
    s->file_path = f->file_path[0] ? f->file_path : NULL;
    s->namespace_kind = f->namespace_kind[0] ? f->namespace_kind : NULL;
    s->target_process = f->target_process[0] ? f->target_process : NULL;
    /* Facts the container cannot choose: the task id in the cgroup path the runtime made, or
     * the task ARN the ECS agent (or the task's runtime labels) gave for its id. */
    bool in_task = f->where.task_id[0] || (task && task->arn[0]);
    s->ecs_task = in_task ? "true" : "false";
}

/*
 * The container's host namespace sharing, when it was not known yet as the finding was
 * captured (the host-namespace detector reads it from the container's first process it sees,
 * which can come after the behaviour): taken from the same container, by its cgroup (an id the
 * kernel does not reuse) and container id, once known. A container-level fact fixed when the
 * runtime created it, not something its processes choose later.
 */
static void complete_host_ns(struct eg_emitter *e, struct eg_finding *f)
{
    if ((f->where.host_ns & EG_CONTAINER_NS_KNOWN) || !e->containers || !f->where.cgroup_id)
        return;
    const struct eg_container *c = eg_container_table_lookup(e->containers, f->where.cgroup_id);
    if (c && (c->host_ns & EG_CONTAINER_NS_KNOWN) &&
        strcmp(c->id.container_id, f->where.container_id) == 0)
        f->where.host_ns = c->host_ns;
}

enum eg_emit_result eg_emit_finding(void *ctx, struct eg_finding *f, uint64_t now_ms, bool final)
{
    struct eg_emitter *e = ctx;
    complete_host_ns(e, f);
    const struct eg_ecs_task *task = NULL;
    const char *resolution = "cgroupPath";
    enum eg_ecs_state st = EG_ECS_NOT_FOUND;
    if (eg_is_docker_id(f->where.container_id)) {
        st = eg_ecs_client_lookup(e->ecs, f->where.container_id, &e->task_scratch);
        if (st == EG_ECS_UNKNOWN)
            eg_ecs_client_request(e->ecs, f->where.container_id);
    }
    if (st == EG_ECS_RESOLVED) {
        task = &e->task_scratch;
        resolution = "introspection";
    } else if (st == EG_ECS_RUNTIME_ONLY) {
        task = &e->task_scratch;
        resolution = "containerRuntime";
    } else if (st == EG_ECS_NOT_FOUND) {
        resolution = eg_is_docker_id(f->where.container_id) ? "notEcs" : "cgroupPath";
    } else {
        /* Still resolving: hold a new finding briefly, never past the grace period. */
        if (!final && !f->emitted && now_ms < f->created_ms + e->resolve_grace_ms)
            return EG_EMIT_DEFERRED;
        if (!final && f->emitted && f->count == f->emitted_count && !f->details_changed)
            return EG_EMIT_DEFERRED; /* a refresh with nothing new to say */
    }
    if (f->emitted && f->refresh && f->count == f->emitted_count && !f->details_changed && !task) {
        f->refresh = false; /* settled without a task (not an ECS container) */
        return EG_EMIT_DEFERRED;
    }

    const struct eg_finding_type_info *ti = eg_finding_type_info(f->type);
    struct eg_policy_subject subj;
    policy_subject(f, task, &subj);
    struct eg_policy_verdict verdict;
    double default_severity = f->severity > 0 ? f->severity : ti ? ti->severity : 5.0;
    eg_policy_evaluate(*e->policy, &subj, default_severity, &verdict);
    f->refresh = !task && st == EG_ECS_PENDING;
    if (!verdict.report)
        return EG_EMIT_SUPPRESSED;

    struct eg_ecs_metadata meta;
    bool have_meta = eg_ecs_client_metadata(e->ecs, &meta);
    struct eg_finding_view v = {
        .severity = verdict.severity,
        .now_ms = now_ms,
        .task = task,
        .agent = have_meta ? &meta : NULL,
        .hostname = e->hostname,
        .task_resolution = resolution,
    };
    int len = eg_finding_to_json(f, &v, e->line, EG_FINDING_LINE_MAX + 1);
    if (len < 0) {
        eg_log_error("finding %s could not be serialized within %d bytes", f->id,
                     EG_FINDING_LINE_MAX);
        return EG_EMIT_FAILED;
    }
    const struct eg_outputs *o = e->outputs;
    for (int i = 0; i < o->n; i++)
        if (eg_sink_write(o->sinks[i], e->line, (size_t)len, now_ms) != 0)
            e->sink_write_failures++;
    return EG_EMIT_EMITTED;
}
