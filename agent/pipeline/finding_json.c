#include "agent/pipeline/finding_json.h"

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "agent/common/json_text.h"
#include "agent/pipeline/guardduty_model.h"
#include "collectors/arn.h"
#include "collectors/container_table.h"

#define FIELD_MAX 4096 /* any single string field; longer ones are cut with a marker */

void eg_format_iso_ms(uint64_t epoch_ms, char out[32])
{
    time_t sec = (time_t)(epoch_ms / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    char base[24];
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 32, "%s.%03uZ", base, (unsigned)(epoch_ms % 1000));
}

/*
 * Every member of a line is added once, under a key that outlives the line (a literal, or a key
 * of the finding's own context): json-c neither looks the key up nor copies it (a malloc and a
 * free per member otherwise).
 */
static void put(struct json_object *o, const char *key, struct json_object *val)
{
    json_object_object_add_ex(o, key, val,
                              JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_ADD_CONSTANT_KEY);
}

/* An optional member: left out when its value is unknown (NULL or ""), never written empty. */
static void add_str(struct json_object *o, const char *key, const char *val)
{
    if (val && val[0])
        put(o, key, eg_json_string(val, FIELD_MAX));
}

/* A string this file writes itself (a literal, a type's title): nothing to sanitize. */
static void add_const(struct json_object *o, const char *key, const char *val)
{
    put(o, key, json_object_new_string(val));
}

/* A member the model requires: written even when empty (accountId, region when unknown). */
static void add_required_str(struct json_object *o, const char *key, const char *val)
{
    put(o, key, eg_json_string(val, FIELD_MAX));
}

static void add_time(struct json_object *o, const char *key, uint64_t epoch_ms)
{
    char iso[32];
    eg_format_iso_ms(epoch_ms, iso);
    put(o, key, json_object_new_string(iso));
}

struct json_object *eg_json_epoch_seconds(double t)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%.3f", t);
    return json_object_new_double_s(t, buf);
}

static struct json_object *process_json(const struct eg_process_info *p)
{
    struct json_object *o = json_object_new_object();
    add_str(o, "name", p->name);
    add_str(o, "executablePath", p->exe);
    add_str(o, "commandLine", p->args); /* an extension: the model has commandLineExample */
    put(o, "pid", json_object_new_int64(p->pid));
    put(o, "namespacePid", json_object_new_int64(p->ns_pid));
    put(o, "userId", json_object_new_int64(p->uid));
    put(o, "euid", json_object_new_int64(p->euid));
    put(o, "startTime", eg_json_epoch_seconds(p->start_time));
    add_str(o, "uuid", p->uuid);
    add_str(o, "parentUuid", p->parent_uuid);
    return o;
}

/*
 * The account, region and partition of the finding: from the task ARN, else from the container
 * instance ARN (the same fields). When neither is known, accountId and region (required by the
 * model) are "" and partition (optional) is left out: never a placeholder that reads like a
 * value. ARNs ecsguard builds from them (cluster, task definition) are then left out too; the
 * finding's own arn keeps its shape with empty fields, as ARNs without a region or account do.
 */
struct account_info {
    bool known;
    char partition[16], region[32], account[16];
};

static void account_from(const struct eg_finding_view *v, struct account_info *ai)
{
    ai->known = false;
    ai->partition[0] = ai->region[0] = ai->account[0] = '\0';
    struct eg_task_arn arn;
    if (v->task && eg_task_arn_parse(v->task->arn, &arn)) {
        snprintf(ai->partition, sizeof(ai->partition), "%s", arn.partition);
        snprintf(ai->region, sizeof(ai->region), "%s", arn.region);
        snprintf(ai->account, sizeof(ai->account), "%s", arn.account);
        ai->known = true;
        return;
    }
    if (v->agent && v->agent->container_instance_arn[0]) {
        /* arn:aws:ecs:<region>:<account>:container-instance/... */
        char tmp[512];
        snprintf(tmp, sizeof(tmp), "%s", v->agent->container_instance_arn);
        char *parts[6] = {0};
        char *save = NULL, *tok = strtok_r(tmp, ":", &save);
        for (int i = 0; tok && i < 6; i++, tok = strtok_r(NULL, ":", &save))
            parts[i] = tok;
        if (parts[1] && parts[3] && parts[4]) {
            snprintf(ai->partition, sizeof(ai->partition), "%s", parts[1]);
            snprintf(ai->region, sizeof(ai->region), "%s", parts[3]);
            snprintf(ai->account, sizeof(ai->account), "%s", parts[4]);
            ai->known = true;
        }
    }
}

/* Model members only (Container): the Docker name goes to additionalInfo. */
static struct json_object *container_json(const struct eg_finding *f,
                                          const struct eg_ecs_task *task,
                                          const struct eg_ecs_container *c)
{
    struct json_object *o = json_object_new_object();
    add_const(o, "containerRuntime", "docker");
    add_str(o, "id", f->where.container_id);
    if (c) {
        add_str(o, "name", c->name);
        add_str(o, "image", c->image);
    } else if (task) {
        add_str(o, "name", EG_ECS_PAUSE_CONTAINER_NAME);
    }
    return o;
}

static const struct eg_ecs_container *acting_container(const struct eg_finding *f,
                                                       const struct eg_finding_view *v)
{
    return v->task ? eg_ecs_task_container(v->task, f->where.container_id) : NULL;
}

/*
 * EcsTaskDetails holds model members only. Its `version` is the task's own version counter,
 * which the ECS agent's introspection does not give, so it is left out: the task definition's
 * revision is in definitionArn (and, with the family, the task id from the cgroup path and the
 * task's status, in additionalInfo).
 */
static struct json_object *resource_json(const struct eg_finding *f,
                                         const struct eg_finding_view *v,
                                         const struct account_info *ai)
{
    struct json_object *res = json_object_new_object();
    add_const(res, "resourceType", "ECSCluster");
    struct json_object *cd = json_object_new_object();
    char cluster[256] = "";
    struct eg_task_arn arn;
    bool arn_ok = v->task && eg_task_arn_parse(v->task->arn, &arn);
    if (v->agent && v->agent->cluster[0])
        snprintf(cluster, sizeof(cluster), "%s", v->agent->cluster);
    else if (arn_ok && arn.cluster[0])
        snprintf(cluster, sizeof(cluster), "%s", arn.cluster);
    if (cluster[0]) {
        add_str(cd, "name", cluster);
        char carn[512];
        /* A cluster name from the agent may already be an ARN. */
        if (strncmp(cluster, "arn:", 4) == 0) {
            add_str(cd, "arn", cluster);
        } else if (ai->known) {
            snprintf(carn, sizeof(carn), "arn:%s:ecs:%s:%s:cluster/%s", ai->partition, ai->region,
                     ai->account, cluster);
            add_str(cd, "arn", carn);
        }
    }
    struct json_object *td = json_object_new_object();
    if (v->task) {
        /* A task known only from the container runtime may lack its ECS labels. */
        add_str(td, "arn", v->task->arn);
        if (v->task->family[0] && ai->known) {
            char def[640];
            snprintf(def, sizeof(def), "arn:%s:ecs:%s:%s:task-definition/%s:%s", ai->partition,
                     ai->region, ai->account, v->task->family, v->task->version);
            add_str(td, "definitionArn", def);
        }
    }
    add_const(td, "launchType", "EC2");
    /* Only the container that acted: its task siblings are not blamed. */
    const struct eg_ecs_container *c = acting_container(f, v);
    struct json_object *arr = json_object_new_array();
    json_object_array_add(arr, container_json(f, v->task, c));
    put(td, "containers", arr);
    put(cd, "taskDetails", td);
    put(res, "ecsClusterDetails", cd);
    put(res, "containerDetails", container_json(f, v->task, c));
    return res;
}

/*
 * The line's context: the detector's members (shared, not copied) and the acting process's
 * command line as the model's commandLineExample. Members the model lacks also go into
 * `dropped`, which the line carries in additionalInfo, where typed consumers can read them.
 */
static struct json_object *context_json(const struct eg_finding *f, struct json_object *proc,
                                        struct json_object *dropped)
{
    struct json_object *ctx = json_object_new_object();
    if (f->context) {
        json_object_object_foreach(f->context, k, val)
        {
            put(ctx, k, json_object_get(val));
            if (!eg_gd_runtime_context_member(k))
                put(dropped, k, json_object_get(val));
        }
    }
    /* The process's commandLine object itself: sanitized once, printed twice. */
    struct json_object *cmd;
    if (json_object_object_get_ex(proc, "commandLine", &cmd) &&
        !json_object_object_get_ex(ctx, "commandLineExample", NULL))
        put(ctx, "commandLineExample", json_object_get(cmd));
    return ctx;
}

/*
 * service.additionalInfo.value: ecsguard's own facts as a JSON object in the model's string
 * member (GuardDuty does the same); every member is listed in docs/findings.md.
 */
static struct json_object *additional_info_json(const struct eg_finding *f,
                                                const struct eg_finding_view *v,
                                                struct json_object *dropped)
{
    struct json_object *extra = json_object_new_object();
    add_const(extra, "agentVersion", ECSGUARD_VERSION);
    add_str(extra, "hostname", v->hostname);
    if (v->agent)
        add_str(extra, "containerInstanceArn", v->agent->container_instance_arn);
    add_str(extra, "cgroupPath", f->where.cgroup_path);
    add_const(extra, "taskResolution", v->task_resolution ? v->task_resolution : "cgroupPath");
    /* The task's identity when typed consumers see no task ARN, and what the model cannot hold. */
    add_str(extra, "taskId", f->where.task_id);
    if (v->task) {
        add_str(extra, "taskFamily", v->task->family);
        if (v->task->family[0])
            add_str(extra, "taskRevision", v->task->version);
        add_str(extra, "taskStatus", v->task->known_status);
        const struct eg_ecs_container *c = acting_container(f, v);
        if (c)
            add_str(extra, "dockerName", c->docker_name);
    }
    put(extra, "hostPidNamespace",
        json_object_new_boolean((f->host_flags & EG_HDR_HOST_PIDNS) != 0));
    /* Host network/IPC/UTS sharing is common and no finding itself, but analysts need it here. */
    if (f->where.host_ns & EG_CONTAINER_NS_KNOWN) {
        put(extra, "hostNetwork",
            json_object_new_boolean((f->where.host_ns & EG_CONTAINER_NS_NET) != 0));
        put(extra, "hostIpc",
            json_object_new_boolean((f->where.host_ns & EG_CONTAINER_NS_IPC) != 0));
        put(extra, "hostUts",
            json_object_new_boolean((f->where.host_ns & EG_CONTAINER_NS_UTS) != 0));
    }
    if (json_object_object_length(dropped) > 0)
        put(extra, "context", json_object_get(dropped));
    struct json_object *ai = json_object_new_object();
    /* json-c printed it from sanitized strings: valid UTF-8 already, nothing to sanitize. */
    size_t len = 0;
    const char *value = json_object_to_json_string_length(
        extra, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    put(ai, "value", json_object_new_string_len(value, (int)len));
    add_const(ai, "type", "default");
    json_object_put(extra);
    return ai;
}

static struct json_object *service_json(const struct eg_finding *f, const struct eg_finding_view *v)
{
    struct json_object *svc = json_object_new_object();
    add_const(svc, "serviceName", "ecsguard");
    add_const(svc, "featureName", "RuntimeMonitoring");
    add_const(svc, "resourceRole", "TARGET");
    put(svc, "archived", json_object_new_boolean(0));
    put(svc, "count", json_object_new_int64((int64_t)f->count));
    add_time(svc, "eventFirstSeen", f->first_seen_ms);
    add_time(svc, "eventLastSeen", f->last_seen_ms);

    struct json_object *rd = json_object_new_object();
    struct json_object *proc = process_json(&f->process);
    /*
     * process.pwd (a model member) where a detector knew the working directory from the
     * kernel at the event: RuncContainerEscape's, the directory the exec ran in.
     */
    struct json_object *pwd;
    if (f->context && json_object_object_get_ex(f->context, "workingDirectory", &pwd))
        put(proc, "pwd", json_object_get(pwd));
    struct json_object *lineage = json_object_new_array();
    for (int i = 0; i < f->n_lineage; i++)
        json_object_array_add(lineage, process_json(&f->lineage[i]));
    put(proc, "lineage", lineage);
    put(rd, "process", proc);
    struct json_object *dropped = json_object_new_object();
    put(rd, "context", context_json(f, proc, dropped));
    put(svc, "runtimeDetails", rd);
    put(svc, "additionalInfo", additional_info_json(f, v, dropped));
    json_object_put(dropped);
    return svc;
}

int eg_finding_to_json(const struct eg_finding *f, const struct eg_finding_view *v, char *out,
                       size_t outlen)
{
    const struct eg_finding_type_info *ti = eg_finding_type_info(f->type);
    if (!ti)
        return -1;
    struct account_info ai;
    account_from(v, &ai);

    struct json_object *o = json_object_new_object();
    add_const(o, "schemaVersion", "2.0");
    add_required_str(o, "accountId", ai.account);
    add_required_str(o, "region", ai.region);
    add_str(o, "partition", ai.partition);
    add_str(o, "id", f->id);
    char arn[256];
    snprintf(arn, sizeof(arn), "arn:%s:ecsguard:%s:%s:finding/%s", ai.known ? ai.partition : "aws",
             ai.region, ai.account, f->id);
    add_str(o, "arn", arn);
    add_const(o, "type", ti->name);
    double sev = round(v->severity * 10.0) / 10.0;
    char sevbuf[16];
    snprintf(sevbuf, sizeof(sevbuf), "%.1f", sev);
    put(o, "severity", json_object_new_double_s(sev, sevbuf));
    add_time(o, "createdAt", f->created_ms);
    add_time(o, "updatedAt", v->now_ms);
    add_const(o, "title", ti->title);
    add_const(o, "description", ti->description);
    put(o, "resource", resource_json(f, v, &ai));
    put(o, "service", service_json(f, v));

    size_t len = 0;
    const char *s = json_object_to_json_string_length(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    int rc = -1;
    if (s && len < outlen && len <= EG_FINDING_LINE_MAX) {
        memcpy(out, s, len + 1);
        rc = (int)len;
    }
    json_object_put(o);
    return rc;
}
