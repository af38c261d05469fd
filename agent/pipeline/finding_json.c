#include "agent/pipeline/finding_json.h"

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "agent/common/json_text.h"
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

static void add_str(struct json_object *o, const char *key, const char *val)
{
    if (val)
        json_object_object_add(o, key, eg_json_string(val, FIELD_MAX));
}

static void add_time(struct json_object *o, const char *key, uint64_t epoch_ms)
{
    char iso[32];
    eg_format_iso_ms(epoch_ms, iso);
    json_object_object_add(o, key, json_object_new_string(iso));
}

/* GuardDuty's "timestamp" members are epoch seconds with a fraction. */
static struct json_object *epoch_seconds(double t)
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
    if (p->args[0])
        add_str(o, "commandLine", p->args);
    json_object_object_add(o, "pid", json_object_new_int64(p->pid));
    json_object_object_add(o, "namespacePid", json_object_new_int64(p->ns_pid));
    json_object_object_add(o, "userId", json_object_new_int64(p->uid));
    json_object_object_add(o, "euid", json_object_new_int64(p->euid));
    json_object_object_add(o, "startTime", epoch_seconds(p->start_time));
    add_str(o, "uuid", p->uuid);
    add_str(o, "parentUuid", p->parent_uuid);
    return o;
}

struct account_info {
    char partition[16], region[32], account[16];
};

static void account_from(const struct eg_finding_view *v, struct account_info *ai)
{
    snprintf(ai->partition, sizeof(ai->partition), "aws");
    snprintf(ai->region, sizeof(ai->region), "unknown");
    snprintf(ai->account, sizeof(ai->account), "unknown");
    struct eg_task_arn arn;
    /* The task ARN is the best source; the container instance ARN has the same fields. */
    bool ok = v->task && eg_task_arn_parse(v->task->arn, &arn);
    if (!ok && v->agent && v->agent->container_instance_arn[0]) {
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
        }
        return;
    }
    if (ok) {
        snprintf(ai->partition, sizeof(ai->partition), "%s", arn.partition);
        snprintf(ai->region, sizeof(ai->region), "%s", arn.region);
        snprintf(ai->account, sizeof(ai->account), "%s", arn.account);
    }
}

static struct json_object *container_json(const struct eg_finding *f,
                                          const struct eg_ecs_task *task,
                                          const struct eg_ecs_container *c)
{
    struct json_object *o = json_object_new_object();
    add_str(o, "containerRuntime", "docker");
    add_str(o, "id", f->where.container_id);
    if (c) {
        add_str(o, "name", c->name);
        if (c->image[0])
            add_str(o, "image", c->image);
        if (c->docker_name[0])
            add_str(o, "dockerName", c->docker_name);
    } else if (task) {
        add_str(o, "name", EG_ECS_PAUSE_CONTAINER_NAME);
    }
    return o;
}

static struct json_object *resource_json(const struct eg_finding *f,
                                         const struct eg_finding_view *v,
                                         const struct account_info *ai)
{
    struct json_object *res = json_object_new_object();
    add_str(res, "resourceType", "ECSCluster");
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
        if (strncmp(cluster, "arn:", 4) == 0)
            snprintf(carn, sizeof(carn), "%s", cluster);
        else
            snprintf(carn, sizeof(carn), "arn:%s:ecs:%s:%s:cluster/%s", ai->partition, ai->region,
                     ai->account, cluster);
        add_str(cd, "arn", carn);
    }
    struct json_object *td = json_object_new_object();
    const struct eg_ecs_container *c = NULL;
    if (v->task) {
        /* A task known only from the container runtime may lack its ECS labels. */
        if (v->task->arn[0])
            add_str(td, "arn", v->task->arn);
        if (v->task->family[0]) {
            char def[640];
            snprintf(def, sizeof(def), "arn:%s:ecs:%s:%s:task-definition/%s:%s", ai->partition,
                     ai->region, ai->account, v->task->family, v->task->version);
            add_str(td, "definitionArn", def);
            add_str(td, "family", v->task->family);
            add_str(td, "version", v->task->version);
        }
        if (v->task->known_status[0])
            add_str(td, "status", v->task->known_status);
        c = eg_ecs_task_container(v->task, f->where.container_id);
    }
    if (f->where.task_id[0])
        add_str(td, "taskId", f->where.task_id);
    add_str(td, "launchType", "EC2");
    /* Only the container that acted: its task siblings are not blamed. */
    struct json_object *arr = json_object_new_array();
    json_object_array_add(arr, container_json(f, v->task, c));
    json_object_object_add(td, "containers", arr);
    json_object_object_add(cd, "taskDetails", td);
    json_object_object_add(res, "ecsClusterDetails", cd);
    json_object_object_add(res, "containerDetails", container_json(f, v->task, c));
    return res;
}

static struct json_object *service_json(const struct eg_finding *f, const struct eg_finding_view *v)
{
    struct json_object *svc = json_object_new_object();
    add_str(svc, "serviceName", "ecsguard");
    add_str(svc, "featureName", "RuntimeMonitoring");
    add_str(svc, "resourceRole", "TARGET");
    json_object_object_add(svc, "archived", json_object_new_boolean(0));
    json_object_object_add(svc, "count", json_object_new_int64((int64_t)f->count));
    add_time(svc, "eventFirstSeen", f->first_seen_ms);
    add_time(svc, "eventLastSeen", f->last_seen_ms);

    struct json_object *rd = json_object_new_object();
    struct json_object *proc = process_json(&f->process);
    struct json_object *lineage = json_object_new_array();
    for (int i = 0; i < f->n_lineage; i++)
        json_object_array_add(lineage, process_json(&f->lineage[i]));
    json_object_object_add(proc, "lineage", lineage);
    json_object_object_add(rd, "process", proc);
    json_object_object_add(rd, "context",
                           f->context ? json_object_get(f->context) : json_object_new_object());
    json_object_object_add(svc, "runtimeDetails", rd);

    /* GuardDuty carries extra facts as a JSON string in additionalInfo.value. */
    struct json_object *extra = json_object_new_object();
    add_str(extra, "agentVersion", ECSGUARD_VERSION);
    if (v->hostname)
        add_str(extra, "hostname", v->hostname);
    if (v->agent && v->agent->container_instance_arn[0])
        add_str(extra, "containerInstanceArn", v->agent->container_instance_arn);
    if (f->where.cgroup_path[0])
        add_str(extra, "cgroupPath", f->where.cgroup_path);
    add_str(extra, "taskResolution", v->task_resolution ? v->task_resolution : "cgroupPath");
    json_object_object_add(extra, "hostPidNamespace",
                           json_object_new_boolean((f->host_flags & EG_HDR_HOST_PIDNS) != 0));
    /* Host network/IPC/UTS sharing is common and no finding itself, but analysts need it here. */
    if (f->where.host_ns & EG_CONTAINER_NS_KNOWN) {
        json_object_object_add(
            extra, "hostNetwork",
            json_object_new_boolean((f->where.host_ns & EG_CONTAINER_NS_NET) != 0));
        json_object_object_add(
            extra, "hostIpc",
            json_object_new_boolean((f->where.host_ns & EG_CONTAINER_NS_IPC) != 0));
        json_object_object_add(
            extra, "hostUts",
            json_object_new_boolean((f->where.host_ns & EG_CONTAINER_NS_UTS) != 0));
    }
    struct json_object *ai = json_object_new_object();
    add_str(ai, "value",
            json_object_to_json_string_ext(extra, JSON_C_TO_STRING_PLAIN |
                                                      JSON_C_TO_STRING_NOSLASHESCAPE));
    add_str(ai, "type", "default");
    json_object_put(extra);
    json_object_object_add(svc, "additionalInfo", ai);
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
    add_str(o, "schemaVersion", "2.0");
    add_str(o, "accountId", ai.account);
    add_str(o, "region", ai.region);
    add_str(o, "partition", ai.partition);
    add_str(o, "id", f->id);
    char arn[256];
    snprintf(arn, sizeof(arn), "arn:%s:ecsguard:%s:%s:finding/%s", ai.partition, ai.region,
             ai.account, f->id);
    add_str(o, "arn", arn);
    add_str(o, "type", ti->name);
    double sev = round(v->severity * 10.0) / 10.0;
    char sevbuf[16];
    snprintf(sevbuf, sizeof(sevbuf), "%.1f", sev);
    json_object_object_add(o, "severity", json_object_new_double_s(sev, sevbuf));
    add_time(o, "createdAt", f->created_ms);
    add_time(o, "updatedAt", v->now_ms);
    add_str(o, "title", ti->title);
    add_str(o, "description", ti->description);
    json_object_object_add(o, "resource", resource_json(f, v, &ai));
    json_object_object_add(o, "service", service_json(f, v));

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
