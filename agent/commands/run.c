/*
 * `ecsguard run`: load and attach the kernel programs, learn the containers
 * already running, then one event loop (epoll) drains the ring buffer on a
 * short timer, feeds the detectors, emits due findings to the sinks and
 * reports health. HTTP (ECS introspection, CloudWatch) never runs on this
 * thread.
 */
#include "agent/commands/run.h"

#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <json-c/json.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "agent/pipeline/aggregator.h"
#include "agent/kernel/bpf_cap.h"
#include "agent/kernel/bpf_hostns.h"
#include "agent/kernel/bpf_rootfs.h"
#include "agent/kernel/bpf_loader.h"
#include "agent/detectors/detector.h"
#include "agent/kernel/drain_pacer.h"
#include "agent/pipeline/finding_json.h"
#include "agent/pipeline/health.h"
#include "agent/common/log.h"
#include "agent/commands/options.h"
#include "agent/outputs/cloudwatch_sink.h"
#include "agent/outputs/emf.h"
#include "agent/outputs/sink.h"
#include "agent/outputs/stdout_sink.h"
#include "collectors/container_table.h"
#include "collectors/ecs_introspection.h"
#include "collectors/proc_table.h"
#include "collectors/ringbuf_reader.h"
#include "policy/policy.h"

struct eg_agent {
    struct eg_run_options opt;
    struct eg_bpf bpf;
    struct eg_ringbuf_reader *reader;
    struct eg_container_table *containers;
    struct eg_proc_table *procs;
    struct eg_ecs_client *ecs;
    struct eg_aggregator *findings;
    void *detectors[16];
    int n_detectors;
    struct eg_policy *policy;
    struct eg_sink *sinks[EG_MAX_OUTPUTS];
    int n_sinks;
    int epfd, sigfd, timerfd;
    struct eg_drain_pacer pacer;
    bool stop;
    char hostname[256];
    uint64_t start_ms, last_flush_ms, last_tick_ms, last_health_ms;
    uint64_t last_dropped_logged;
    uint64_t last_corrupt_logged;    /* ring buffer corrupt-header count already logged */
    struct eg_ecs_task task_scratch; /* large: kept here, not on the stack */
    char *line;                      /* one serialized finding */
    struct {
        uint64_t findings_emitted, findings_suppressed, findings_serialize_failed;
        uint64_t sink_failures, policy_reloads, policy_reload_failures;
        uint64_t containers_found_at_start, processes_found_at_start;
    } stats;
};

/* ---- event handlers --------------------------------------------------------------------- */

static bool is_docker_id(const char *id)
{
    return strlen(id) == EG_CONTAINER_ID_LEN;
}

static void on_cgroup_mkdir(void *ctx, const struct eg_event_header *h, const void *rec,
                            size_t size)
{
    struct eg_agent *a = ctx;
    const struct eg_cgroup_event *e = rec;
    (void)h;
    (void)size;
    char path[EG_PATH_LEN + 1];
    memcpy(path, e->path, EG_PATH_LEN);
    path[EG_PATH_LEN] = '\0';
    struct eg_container *c =
        eg_container_table_add_cgroup(a->containers, e->cgroup_id, path, eg_now_ms());
    if (c && c->cgroup_id == e->cgroup_id) {
        eg_log_debug("container %s (task %s) cgroup %s", c->id.container_id,
                     c->id.task_id[0] ? c->id.task_id : "-", path);
        if (is_docker_id(c->id.container_id))
            eg_ecs_client_request(a->ecs, c->id.container_id);
    }
}

static void on_cgroup_rmdir(void *ctx, const struct eg_event_header *h, const void *rec,
                            size_t size)
{
    struct eg_agent *a = ctx;
    const struct eg_cgroup_event *e = rec;
    (void)h;
    (void)size;
    eg_container_table_remove_cgroup(a->containers, e->cgroup_id, eg_now_ms());
}

static void on_exec(void *ctx, const struct eg_event_header *h, const void *rec, size_t size)
{
    struct eg_agent *a = ctx;
    (void)h;
    (void)size;
    eg_proc_table_exec(a->procs, rec);
}

static void on_fork(void *ctx, const struct eg_event_header *h, const void *rec, size_t size)
{
    struct eg_agent *a = ctx;
    (void)rec;
    (void)size;
    eg_proc_table_upsert(a->procs, h);
}

static void on_exit_event(void *ctx, const struct eg_event_header *h, const void *rec, size_t size)
{
    struct eg_agent *a = ctx;
    (void)rec;
    (void)size;
    eg_proc_table_exit(a->procs, h->tgid, h->start_time_ns);
}

/* ---- emission --------------------------------------------------------------------------- */

static void policy_subject(struct eg_agent *a, const struct eg_finding *f,
                           const struct eg_ecs_task *task, struct eg_policy_subject *s)
{
    (void)a;
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
}

static bool emit_finding(void *ctx, struct eg_finding *f, uint64_t now_ms, bool final)
{
    struct eg_agent *a = ctx;
    const struct eg_ecs_task *task = NULL;
    const char *resolution = "cgroupPath";
    enum eg_ecs_state st = EG_ECS_NOT_FOUND;
    if (is_docker_id(f->where.container_id)) {
        st = eg_ecs_client_lookup(a->ecs, f->where.container_id, &a->task_scratch);
        if (st == EG_ECS_UNKNOWN)
            eg_ecs_client_request(a->ecs, f->where.container_id);
    }
    if (st == EG_ECS_RESOLVED) {
        task = &a->task_scratch;
        resolution = "introspection";
    } else if (st == EG_ECS_RUNTIME_ONLY) {
        task = &a->task_scratch;
        resolution = "containerRuntime";
    } else if (st == EG_ECS_NOT_FOUND) {
        resolution = is_docker_id(f->where.container_id) ? "notEcs" : "cgroupPath";
    } else {
        /* Still resolving: hold a new finding briefly, never past the grace period. */
        if (!final && !f->emitted && now_ms < f->created_ms + a->opt.resolve_grace_ms)
            return false;
        if (!final && f->emitted && f->count == f->emitted_count)
            return false; /* a refresh with nothing new to say */
    }
    if (f->emitted && f->refresh && f->count == f->emitted_count && !task) {
        f->refresh = false; /* settled without a task (not an ECS container) */
        return false;
    }

    const struct eg_finding_type_info *ti = eg_finding_type_info(f->type);
    struct eg_policy_subject subj;
    policy_subject(a, f, task, &subj);
    struct eg_policy_verdict verdict;
    double default_severity = f->severity > 0 ? f->severity : ti ? ti->severity : 5.0;
    eg_policy_evaluate(a->policy, &subj, default_severity, &verdict);
    f->refresh = !task && st == EG_ECS_PENDING;
    if (!verdict.report) {
        if (!f->suppressed || !f->emitted)
            a->stats.findings_suppressed++;
        f->suppressed = true;
        return true;
    }
    f->suppressed = false;

    struct eg_ecs_metadata meta;
    bool have_meta = eg_ecs_client_metadata(a->ecs, &meta);
    struct eg_finding_view v = {
        .severity = verdict.severity,
        .now_ms = now_ms,
        .task = task,
        .agent = have_meta ? &meta : NULL,
        .hostname = a->hostname,
        .task_resolution = resolution,
    };
    int len = eg_finding_to_json(f, &v, a->line, EG_FINDING_LINE_MAX + 1);
    if (len < 0) {
        a->stats.findings_serialize_failed++;
        eg_log_error("finding %s could not be serialized within %d bytes", f->id,
                     EG_FINDING_LINE_MAX);
        return true;
    }
    for (int i = 0; i < a->n_sinks; i++)
        if (eg_sink_write(a->sinks[i], a->line, (size_t)len, now_ms) != 0)
            a->stats.sink_failures++;
    a->stats.findings_emitted++;
    return true;
}

/* ---- health ----------------------------------------------------------------------------- */

static void put_u64(struct json_object *o, const char *key, uint64_t v)
{
    json_object_object_add(o, key, json_object_new_int64((int64_t)v));
}

static struct json_object *health_json(struct eg_agent *a, uint64_t now_ms)
{
    struct json_object *h = json_object_new_object();
    char iso[32];
    eg_format_iso_ms(now_ms, iso);
    json_object_object_add(h, "time", json_object_new_string(iso));
    put_u64(h, "uptimeSeconds", ((now_ms - a->start_ms) / 1000));
    struct eg_counters kc;
    if (eg_health_read_kernel_counters(a->bpf.counters_fd, &kc) == 0)
        eg_health_add_kernel_counters(h, &kc);

    struct eg_ringbuf_reader_stats rs;
    eg_ringbuf_reader_get_stats(a->reader, &rs);
    uint64_t used, size;
    eg_ringbuf_reader_fill(a->reader, &used, &size);
    struct json_object *rb = json_object_new_object();
    put_u64(rb, "sizeBytes", size);
    put_u64(rb, "usedBytes", used);
    put_u64(rb, "records", rs.records);
    put_u64(rb, "malformed", rs.malformed);
    put_u64(rb, "unhandled", rs.unhandled);
    put_u64(rb, "corruptHeaders", rs.corrupt_headers);
    put_u64(rb, "corruptBytesSkipped", rs.corrupt_bytes_skipped);
    json_object_object_add(rb, "readerIdle", json_object_new_boolean(a->pacer.idle));
    put_u64(rb, "readerIdleEntries", a->pacer.stats.idle_entries);
    put_u64(rb, "readerRingWakeups", a->pacer.stats.ring_wakeups);
    put_u64(rb, "readerIdleMarkErrors", a->pacer.stats.mark_errors);
    json_object_object_add(h, "ringBuffer", rb);

    struct eg_container_table_stats cs;
    eg_container_table_get_stats(a->containers, &cs);
    struct json_object *co = json_object_new_object();
    put_u64(co, "known", cs.containers);
    put_u64(co, "cgroups", cs.cgroups);
    put_u64(co, "foundAtStart", a->stats.containers_found_at_start);
    put_u64(co, "tableFull", cs.full);
    put_u64(co, "kernelMapErrors", cs.map_errors);
    json_object_object_add(h, "containers", co);

    struct eg_proc_table_stats ps;
    eg_proc_table_get_stats(a->procs, &ps);
    struct json_object *po = json_object_new_object();
    put_u64(po, "tracked", ps.entries);
    put_u64(po, "evictedLive", ps.evicted_live);
    json_object_object_add(h, "processes", po);

    struct eg_ecs_client_stats es;
    eg_ecs_client_get_stats(a->ecs, &es);
    struct json_object *eo = json_object_new_object();
    put_u64(eo, "requests", es.requests);
    put_u64(eo, "ok", es.responses_ok);
    put_u64(eo, "notFound", es.not_found);
    put_u64(eo, "httpErrors", es.http_errors);
    put_u64(eo, "timeouts", es.timeouts);
    put_u64(eo, "connectErrors", es.connect_errors);
    put_u64(eo, "parseErrors", es.parse_errors);
    put_u64(eo, "cacheHits", es.cache_hits);
    put_u64(eo, "cacheMisses", es.cache_misses);
    put_u64(eo, "runtimeLookups", es.runtime_lookups);
    put_u64(eo, "runtimeAnswers", es.runtime_answers);
    json_object_object_add(eo, "metadataKnown", json_object_new_boolean(es.metadata_known));
    json_object_object_add(h, "introspection", eo);

    struct eg_aggregator_stats ag;
    eg_aggregator_get_stats(a->findings, &ag);
    struct json_object *fo = json_object_new_object();
    put_u64(fo, "open", ag.open);
    put_u64(fo, "created", ag.created);
    put_u64(fo, "emitted", a->stats.findings_emitted);
    put_u64(fo, "suppressed", a->stats.findings_suppressed);
    put_u64(fo, "droppedTableFull", ag.dropped);
    put_u64(fo, "serializeFailed", a->stats.findings_serialize_failed);
    json_object_object_add(h, "findings", fo);
    struct json_object *dets = json_object_new_object();
    for (int i = 0; i < a->n_detectors; i++)
        if (eg_detectors[i]->stats)
            eg_detectors[i]->stats(a->detectors[i], dets);
    json_object_object_add(h, "detectors", dets);

    struct json_object *so = json_object_new_object();
    put_u64(so, "writeFailures", a->stats.sink_failures);
    for (int i = 0; i < a->n_sinks; i++)
        if (a->sinks[i]->ops->stats)
            a->sinks[i]->ops->stats(a->sinks[i], so);
    json_object_object_add(h, "sinks", so);

    eg_policy_stats(a->policy, h); /* adds "policy" */
    struct json_object *pol = NULL;
    if (json_object_object_get_ex(h, "policy", &pol)) {
        put_u64(pol, "reloads", a->stats.policy_reloads);
        put_u64(pol, "reloadFailures", a->stats.policy_reload_failures);
    }

    struct json_object *hooks = json_object_new_object();
    for (int i = 0; i < a->bpf.n_hooks; i++)
        json_object_object_add(hooks, a->bpf.hooks[i].hook ? a->bpf.hooks[i].hook : "?",
                               json_object_new_string(a->bpf.hooks[i].chosen));
    json_object_object_add(h, "hooks", hooks);
    return h;
}

/* Flat metrics from the health record, for CloudWatch Embedded Metric Format. */
static void add_metric(struct json_object *m, const char *name, struct json_object *h,
                       const char *a1, const char *a2, const char *a3)
{
    struct json_object *cur = h;
    const char *path[] = {a1, a2, a3};
    for (int i = 0; i < 3 && path[i] && cur; i++)
        if (!json_object_object_get_ex(cur, path[i], &cur))
            cur = NULL;
    if (cur &&
        (json_object_is_type(cur, json_type_int) || json_object_is_type(cur, json_type_double)))
        json_object_object_add(m, name, json_object_get(cur));
}

static void ship_emf(struct eg_agent *a, struct json_object *h, uint64_t now_ms)
{
    struct json_object *m = json_object_new_object();
    add_metric(m, "kernel_events_dropped", h, "kernelEventsDropped", NULL, NULL);
    add_metric(m, "capability_events_seen", h, "kernelEvents", "capability", "seen");
    add_metric(m, "capability_events_sent", h, "kernelEvents", "capability", "sent");
    add_metric(m, "capability_events_deduplicated", h, "kernelEvents", "capability",
               "deduplicated");
    add_metric(m, "ring_buffer_used_bytes", h, "ringBuffer", "usedBytes", NULL);
    add_metric(m, "ring_buffer_malformed", h, "ringBuffer", "malformed", NULL);
    add_metric(m, "ring_buffer_corrupt_headers", h, "ringBuffer", "corruptHeaders", NULL);
    add_metric(m, "containers_known", h, "containers", "known", NULL);
    add_metric(m, "findings_emitted", h, "findings", "emitted", NULL);
    add_metric(m, "findings_suppressed", h, "findings", "suppressed", NULL);
    add_metric(m, "findings_dropped", h, "findings", "droppedTableFull", NULL);
    add_metric(m, "introspection_cache_hits", h, "introspection", "cacheHits", NULL);
    add_metric(m, "introspection_errors", h, "introspection", "httpErrors", NULL);
    add_metric(m, "sink_write_failures", h, "sinks", "writeFailures", NULL);
    struct json_object *dims = json_object_new_object();
    json_object_object_add(dims, "Host", json_object_new_string(a->hostname));
    char *line = eg_emf_record(m, dims, now_ms);
    if (line) {
        for (int i = 0; i < a->n_sinks; i++)
            if (strcmp(a->sinks[i]->name, "stdout") != 0)
                eg_sink_write(a->sinks[i], line, strlen(line), now_ms);
        free(line);
    }
    json_object_put(dims);
    json_object_put(m);
}

static void report_health(struct eg_agent *a, uint64_t now_ms, bool log_it)
{
    struct json_object *h = health_json(a, now_ms);
    /* stdout carries findings only; metrics go to the CloudWatch sinks. */
    ship_emf(a, h, now_ms);
    if (log_it)
        eg_log_info("health %s", json_object_to_json_string_ext(
                                     h, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    if (a->opt.health_file && eg_health_write_file(a->opt.health_file, h) != 0)
        eg_log_warn("cannot write health file %s: %s", a->opt.health_file, strerror(errno));
    json_object_put(h);
}

/* Say so as soon as the kernel drops events, not only in the periodic record. */
static void check_drops(struct eg_agent *a)
{
    struct eg_counters kc;
    if (eg_health_read_kernel_counters(a->bpf.counters_fd, &kc) != 0)
        return;
    uint64_t dropped = 0;
    for (int k = 0; k < EG_KIND_SLOTS; k++)
        dropped += kc.kind[k].dropped;
    if (dropped > a->last_dropped_logged) {
        eg_log_warn("ring buffer full: %llu events dropped so far (+%llu)",
                    (unsigned long long)dropped,
                    (unsigned long long)(dropped - a->last_dropped_logged));
        a->last_dropped_logged = dropped;
    }
    struct eg_ringbuf_reader_stats rs;
    eg_ringbuf_reader_get_stats(a->reader, &rs);
    if (rs.corrupt_headers > a->last_corrupt_logged) {
        eg_log_error("ring buffer record header with an impossible length: skipped %llu bytes "
                     "of records that cannot be parsed (%llu times so far)",
                     (unsigned long long)rs.corrupt_bytes_skipped,
                     (unsigned long long)rs.corrupt_headers);
        a->last_corrupt_logged = rs.corrupt_headers;
    }
}

/* ---- start-up --------------------------------------------------------------------------- */

/* Processes already inside containers when the agent started. */
static void scan_processes(struct eg_agent *a)
{
    DIR *d = opendir("/proc");
    if (!d) {
        eg_log_warn("cannot scan /proc: %s", strerror(errno));
        return;
    }
    struct dirent *de;
    char path[512], line[4096];
    while ((de = readdir(d))) {
        char *end;
        unsigned long pid = strtoul(de->d_name, &end, 10);
        if (*end || pid == 0)
            continue;
        snprintf(path, sizeof(path), "/proc/%lu/cgroup", pid);
        FILE *f = fopen(path, "re");
        if (!f)
            continue;
        char cgpath[4096] = "";
        while (fgets(line, sizeof(line), f)) {
            /* hierarchy-id:controllers:path */
            char *c1 = strchr(line, ':');
            char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
            if (!c2)
                continue;
            if ((unsigned)strtoul(line, NULL, 10) != a->bpf.cgroups.hierarchy_id)
                continue;
            snprintf(cgpath, sizeof(cgpath), "%s", c2 + 1);
            cgpath[strcspn(cgpath, "\n")] = '\0';
            break;
        }
        fclose(f);
        if (!cgpath[0] || strcmp(cgpath, "/") == 0)
            continue;
        char full[8192];
        snprintf(full, sizeof(full), "%s%s", a->bpf.cgroups.mount_point, cgpath);
        struct stat st;
        if (stat(full, &st) != 0)
            continue;
        if (!eg_container_table_lookup(a->containers, st.st_ino))
            continue;
        if (eg_proc_table_scan_pid(a->procs, "/proc", (uint32_t)pid, st.st_ino))
            a->stats.processes_found_at_start++;
    }
    closedir(d);
}

static void request_all_containers(struct eg_agent *a)
{
    for (uint32_t i = 0; i < EG_MAX_CONTAINERS; i++) {
        struct eg_container *c = eg_container_table_by_slot(a->containers, i);
        if (c && is_docker_id(c->id.container_id))
            eg_ecs_client_request(a->ecs, c->id.container_id);
    }
}

static int write_ready_file(const char *path)
{
    FILE *f = fopen(path, "we");
    if (!f)
        return -1;
    fprintf(f, "%d\n", (int)getpid());
    return fclose(f);
}

/* mkdir -p: the spool directory may be several levels below an existing one. */
static int make_dirs(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return -1;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

/*
 * The default stream is the container instance's id (from /v1/metadata),
 * else the hostname. The introspection endpoint is asked at start; give it a
 * moment, never more than two seconds.
 */
static void default_stream(struct eg_agent *a, char *out, size_t len)
{
    struct eg_ecs_metadata meta;
    for (int i = 0; i < 20; i++) {
        if (eg_ecs_client_metadata(a->ecs, &meta) && meta.container_instance_arn[0]) {
            const char *slash = strrchr(meta.container_instance_arn, '/');
            snprintf(out, len, "%s", slash ? slash + 1 : meta.container_instance_arn);
            return;
        }
        usleep(100 * 1000);
    }
    snprintf(out, len, "%s", a->hostname);
}

/* Region from the environment (read by the sink), else from the container instance ARN. */
static const char *default_region(struct eg_agent *a, char *buf, size_t len)
{
    if (getenv("AWS_REGION") || getenv("AWS_DEFAULT_REGION"))
        return NULL;
    struct eg_ecs_metadata meta;
    if (!eg_ecs_client_metadata(a->ecs, &meta))
        return NULL;
    char tmp[512];
    snprintf(tmp, sizeof(tmp), "%s", meta.container_instance_arn);
    char *save = NULL, *tok = strtok_r(tmp, ":", &save);
    for (int i = 0; tok && i < 3; i++)
        tok = strtok_r(NULL, ":", &save);
    if (!tok || !*tok)
        return NULL;
    snprintf(buf, len, "%s", tok);
    return buf;
}

static int open_cloudwatch_sink(struct eg_agent *a, const char *spec_text)
{
    struct eg_cloudwatch_spec spec;
    char err[256];
    if (eg_cloudwatch_parse_spec(spec_text, &spec, err, sizeof(err)) != 0) {
        eg_log_error("output '%s': %s", spec_text, err);
        return -1;
    }
    const char *spool = a->opt.spool_dir ? a->opt.spool_dir : "/var/lib/ecsguard/spool";
    if (make_dirs(spool) != 0) {
        eg_log_error("spool directory %s: %s", spool, strerror(errno));
        eg_cloudwatch_spec_free(&spec);
        return -1;
    }
    char stream[512], region[64];
    if (spec.log_stream)
        snprintf(stream, sizeof(stream), "%s", spec.log_stream);
    else
        default_stream(a, stream, sizeof(stream));
    struct eg_cloudwatch_config cfg = {
        .log_group = spec.log_group,
        .log_stream = stream,
        .region = default_region(a, region, sizeof(region)),
        .spool_dir = spool,
    };
    struct eg_sink *s = eg_cloudwatch_sink_new(&cfg, err, sizeof(err));
    if (s)
        eg_log_info("findings go to CloudWatch Logs group %s, stream %s (spool %s)", spec.log_group,
                    stream, spool);
    eg_cloudwatch_spec_free(&spec);
    if (!s) {
        eg_log_error("output '%s': %s", spec_text, err);
        return -1;
    }
    a->sinks[a->n_sinks++] = s;
    return 0;
}

/* stdout first (before anything can be found); CloudWatch once the ECS client runs. */
static int open_sinks(struct eg_agent *a, bool cloudwatch)
{
    for (int i = 0; i < a->opt.n_outputs; i++) {
        const char *spec = a->opt.outputs[i];
        bool is_cw = strncmp(spec, "cloudwatch:", 11) == 0;
        if (is_cw != cloudwatch)
            continue;
        if (is_cw) {
            if (open_cloudwatch_sink(a, spec) != 0)
                return -1;
            continue;
        }
        struct eg_sink *s = eg_stdout_sink_new(STDOUT_FILENO);
        if (!s) {
            eg_log_error("output '%s' could not be opened", spec);
            return -1;
        }
        a->sinks[a->n_sinks++] = s;
    }
    return 0;
}

static struct eg_policy *load_policy(const char *path)
{
    if (!path)
        return eg_policy_default();
    struct eg_policy_errors errs;
    memset(&errs, 0, sizeof(errs));
    struct eg_policy *p = eg_policy_load_file(path, &errs);
    if (!p) {
        for (unsigned i = 0; i < errs.count; i++)
            eg_log_error("%s:%u:%u: %s", path, errs.items[i].line, errs.items[i].column,
                         errs.items[i].message);
        if (errs.total > errs.count)
            eg_log_error("%s: %u more problems", path, errs.total - errs.count);
    }
    return p;
}

static uint64_t watched_caps(struct eg_agent *a)
{
    return a->opt.watched_caps ? a->opt.watched_caps : eg_policy_watched_caps(a->policy);
}

/* Hand each detector what it takes from the policy in force (start-up and every reload). */
static void configure_detectors(struct eg_agent *a)
{
    struct eg_detector_config cfg = {
        .sensitive_files = eg_policy_sensitive_patterns(a->policy),
        .rootfs_scratch = eg_policy_rootfs_scratch_patterns(a->policy),
    };
    for (int i = 0; i < a->n_detectors; i++)
        if (eg_detectors[i]->configure)
            eg_detectors[i]->configure(a->detectors[i], &cfg);
}

static int cap_flush(const void *ctx, uint32_t *failed_cpus)
{
    return eg_bpf_cap_flush(ctx, failed_cpus);
}

static void reload_policy(struct eg_agent *a)
{
    if (!a->opt.policy_file) {
        eg_log_info("SIGHUP: no --policy file; the built-in policy stays");
        return;
    }
    struct eg_policy *p = load_policy(a->opt.policy_file);
    if (!p) {
        a->stats.policy_reload_failures++;
        eg_log_error("policy reload rejected; the previous policy stays in force");
        return;
    }
    struct eg_policy *old = a->policy;
    a->policy = p;
    configure_detectors(a); /* before the old policy's patterns are freed */
    eg_policy_free(old);
    eg_bpf_set_watched_caps(&a->bpf, watched_caps(a));
    a->stats.policy_reloads++;
    char summary[256];
    eg_policy_summary(p, summary, sizeof(summary));
    eg_log_info("policy reloaded from %s: %s", a->opt.policy_file, summary);
}

/* The signals the event loop handles through its signalfd. */
static void agent_signals(sigset_t *mask)
{
    sigemptyset(mask);
    sigaddset(mask, SIGTERM);
    sigaddset(mask, SIGINT);
    sigaddset(mask, SIGHUP);
    sigaddset(mask, SIGUSR1);
}

/* Clock, hostname, the finding line buffer and the policy. */
static int setup_basics(struct eg_agent *a)
{
    a->start_ms = eg_now_ms();
    if (gethostname(a->hostname, sizeof(a->hostname)) != 0)
        snprintf(a->hostname, sizeof(a->hostname), "unknown");
    a->line = malloc(EG_FINDING_LINE_MAX + 1);
    a->policy = load_policy(a->opt.policy_file);
    return a->line && a->policy ? 0 : -1;
}

/*
 * Everything a record meets after the ring buffer: container and process tables, aggregation,
 * the ECS client, the reader (fed by the kernel's ring buffer when a->bpf.events_fd is one),
 * the core handlers and the detectors.
 */
static int setup_pipeline(struct eg_agent *a)
{
    a->containers = eg_container_table_new(a->bpf.containers_fd);
    if (a->containers)
        eg_container_table_set_generation_map(a->containers, a->bpf.containers_gen_fd);
    a->procs = eg_proc_table_new();
    struct eg_aggregator_config ac = {
        .window_ms = (uint64_t)a->opt.window_s * 1000,
        .interval_ms = (uint64_t)a->opt.report_interval_s * 1000,
        .max_findings = 8192,
    };
    a->findings = eg_aggregator_new(&ac);
    struct eg_ecs_client_config ec = {.base_url = a->opt.introspection_url,
                                      .docker_socket = a->opt.docker_socket};
    a->ecs = eg_ecs_client_new(&ec);
    a->reader = eg_ringbuf_reader_new(a->bpf.events_fd);
    if (!a->containers || !a->procs || !a->findings || !a->ecs || !a->reader)
        return -1;
    struct eg_detector_env env = {
        .findings = a->findings,
        .procs = a->procs,
        .containers = a->containers,
        .kernel =
            {
                .cap_dedup_fd = eg_bpf_cap_dedup_fd(&a->bpf),
                .rootfs_repeats_fd = eg_bpf_rootfs_repeats_fd(&a->bpf),
                .rootfs_pathops_fd = eg_bpf_rootfs_pathops_seen_fd(&a->bpf),
                .hostns_dedup_fd = eg_bpf_hostns_dedup_fd(&a->bpf),
                .cap_flush = cap_flush,
                .cap_flush_ctx = &a->bpf,
                .cgroup_mount = a->bpf.cgroups.mount_point,
                .proc_root = "/proc",
            },
    };
    /* Core tables first: detectors see a process after the table has recorded its exec. */
    eg_ringbuf_reader_on(a->reader, EG_EVENT_CGROUP_MKDIR, on_cgroup_mkdir, a);
    eg_ringbuf_reader_on(a->reader, EG_EVENT_CGROUP_RMDIR, on_cgroup_rmdir, a);
    eg_ringbuf_reader_on(a->reader, EG_EVENT_EXEC, on_exec, a);
    eg_ringbuf_reader_on(a->reader, EG_EVENT_FORK, on_fork, a);
    eg_ringbuf_reader_on(a->reader, EG_EVENT_EXIT, on_exit_event, a);
    for (int i = 0; eg_detectors[i] && a->n_detectors < 16; i++) {
        void *d = eg_detectors[i]->create(&env);
        if (!d) {
            eg_log_error("detector %s could not be created", eg_detectors[i]->name);
            return -1;
        }
        a->detectors[a->n_detectors++] = d;
        eg_detectors[i]->subscribe(d, a->reader);
    }
    configure_detectors(a);
    return 0;
}

/*
 * glibc malloc for a long-running agent whose start-up is its peak (vmlinux BTF parsed by
 * libbpf, twice, ~6 MiB each; docs/architecture.md, "Resident memory"): a fixed mmap
 * threshold so large blocks go back to the kernel when freed (the default threshold rises
 * after the first such free and the next BTF then lands on the heap, which never shrinks
 * past a live block); at most two arenas for the worker threads (introspection,
 * CloudWatch), which allocate little.
 */
static void tune_malloc(void)
{
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    mallopt(M_ARENA_MAX, 2);
}

static int setup(struct eg_agent *a)
{
    if (setup_basics(a) != 0)
        return -1;
    if (open_sinks(a, false) != 0)
        return -1;

    char err[256];
    struct eg_bpf_options bo = {
        .watched_caps = watched_caps(a),
        .ring_buffer_bytes = a->opt.ring_buffer_kib * 1024u,
        .probe_read_file_fields = a->opt.probe_read_file_fields,
        /* Wake the reader early enough that a burst cannot fill the buffer between drains. */
        .wakeup_bytes = a->opt.ring_buffer_kib * 1024u / 32 < 256 * 1024
                            ? a->opt.ring_buffer_kib * 1024u / 32
                            : 256 * 1024,
    };
    if (eg_bpf_load(&a->bpf, &bo, err, sizeof(err)) != 0) {
        eg_log_error("%s", err);
        return -1;
    }
    for (int i = 0; i < a->bpf.n_hooks; i++)
        eg_log_info("hook %s: %s", a->bpf.hooks[i].hook,
                    a->bpf.hooks[i].chosen[0] ? a->bpf.hooks[i].chosen : "none");
    eg_log_info("cgroup mode %s, tracking %s (hierarchy %u at %s)",
                eg_cgroup_mode_name(a->bpf.cgroups.mode),
                a->bpf.cgroups.use_v1 ? a->bpf.cgroups.controller : "unified",
                a->bpf.cgroups.hierarchy_id, a->bpf.cgroups.mount_point);

    if (setup_pipeline(a) != 0)
        return -1;
    if (open_sinks(a, true) != 0)
        return -1;

    /* Programs are attached before the scan, so nothing born in between is missed. */
    int found = eg_container_table_scan(a->containers, a->bpf.cgroups.mount_point, a->start_ms);
    if (found < 0)
        eg_log_warn("cannot scan %s: %s", a->bpf.cgroups.mount_point, strerror(errno));
    a->stats.containers_found_at_start = found > 0 ? (uint64_t)found : 0;
    scan_processes(a);
    request_all_containers(a);
    eg_log_info("start-up scan: %llu containers, %llu processes in them",
                (unsigned long long)a->stats.containers_found_at_start,
                (unsigned long long)a->stats.processes_found_at_start);

    sigset_t mask;
    agent_signals(&mask);
    a->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    a->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    a->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (a->sigfd < 0 || a->timerfd < 0 || a->epfd < 0)
        return -1;
    if (eg_drain_pacer_init(&a->pacer, a->timerfd, a->bpf.reader_idle_fd,
                            a->opt.drain_interval_ms) != 0)
        return -1;
    int fds[] = {a->sigfd, a->timerfd, eg_ringbuf_reader_fd(a->reader),
                 eg_ecs_client_notify_fd(a->ecs)};
    for (unsigned i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fds[i]};
        if (fds[i] >= 0 && epoll_ctl(a->epfd, EPOLL_CTL_ADD, fds[i], &ev) != 0)
            return -1;
    }
    /* Start-up's garbage (BTF, kallsyms and /proc reads, ELF copies) back to the kernel. */
    malloc_trim(0);
    if (a->opt.ready_file && write_ready_file(a->opt.ready_file) != 0) {
        eg_log_error("cannot write ready file %s: %s", a->opt.ready_file, strerror(errno));
        return -1;
    }
    eg_log_info("ready");
    return 0;
}

/* ---- loop ------------------------------------------------------------------------------- */

static void on_signal(struct eg_agent *a)
{
    struct signalfd_siginfo si;
    while (read(a->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
            eg_log_info("signal %u: flushing and stopping", si.ssi_signo);
            a->stop = true;
        } else if (si.ssi_signo == SIGHUP) {
            reload_policy(a);
        } else if (si.ssi_signo == SIGUSR1) {
            report_health(a, eg_now_ms(), true);
        }
    }
}

static void tick_detectors(struct eg_agent *a, uint64_t now)
{
    for (int i = 0; i < a->n_detectors; i++)
        if (eg_detectors[i]->tick)
            eg_detectors[i]->tick(a->detectors[i], now);
}

/* After the last drain: fold the kernel's repeat counts, emit every pending change. */
static uint64_t fold_and_flush(struct eg_agent *a)
{
    uint64_t now = eg_now_ms();
    tick_detectors(a, now);
    eg_aggregator_flush(a->findings, now, true, emit_finding, a);
    return now;
}

static void periodic(struct eg_agent *a, bool woken_by_ring)
{
    int records = eg_ringbuf_reader_drain(a->reader);
    eg_drain_pacer_after_drain(&a->pacer, a->reader, records, woken_by_ring);
    /* Read the clock after draining: findings created by the drain are not in the future. */
    uint64_t now = eg_now_ms();
    eg_aggregator_flush(a->findings, now, false, emit_finding, a);
    if (now - a->last_tick_ms >= 100) {
        for (int i = 0; i < a->n_sinks; i++)
            if (a->sinks[i]->ops->tick)
                a->sinks[i]->ops->tick(a->sinks[i], now);
    }
    if (now - a->last_tick_ms >= 1000) {
        a->last_tick_ms = now;
        tick_detectors(a, now);
        eg_container_table_expire(a->containers, now, 10 * 60 * 1000);
        check_drops(a);
    }
    if (now - a->last_health_ms >= (uint64_t)a->opt.health_interval_s * 1000) {
        a->last_health_ms = now;
        report_health(a, now, true);
    }
}

static void loop(struct eg_agent *a)
{
    a->last_health_ms = a->last_tick_ms = eg_now_ms();
    if (a->opt.health_file)
        report_health(a, a->last_health_ms, false);
    struct epoll_event evs[8];
    while (!a->stop) {
        int n = epoll_wait(a->epfd, evs, 8, 1000);
        if (n < 0 && errno != EINTR) {
            eg_log_error("epoll_wait: %s", strerror(errno));
            break;
        }
        bool woken_by_ring = false;
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == eg_ringbuf_reader_fd(a->reader)) {
                woken_by_ring = true;
            } else if (fd == a->sigfd) {
                on_signal(a);
            } else if (fd == a->timerfd) {
                uint64_t exp;
                if (read(a->timerfd, &exp, sizeof(exp)) < 0 && errno != EAGAIN)
                    eg_log_warn("timerfd read: %s", strerror(errno));
            } else if (fd == eg_ecs_client_notify_fd(a->ecs)) {
                uint64_t cnt;
                if (read(fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
                    eg_log_warn("introspection notify read: %s", strerror(errno));
            }
        }
        periodic(a, woken_by_ring);
    }
    /* Shutdown: take what the kernel still holds, fold repeats, emit everything pending. */
    eg_ringbuf_reader_drain(a->reader);
    uint64_t now = fold_and_flush(a);
    for (int i = 0; i < a->n_sinks; i++)
        if (a->sinks[i]->ops->flush)
            a->sinks[i]->ops->flush(a->sinks[i]);
    report_health(a, now, true);
}

static void teardown(struct eg_agent *a)
{
    eg_bpf_unload(&a->bpf);
    for (int i = 0; i < a->n_detectors; i++)
        eg_detectors[i]->destroy(a->detectors[i]);
    if (a->reader)
        eg_ringbuf_reader_free(a->reader);
    if (a->ecs)
        eg_ecs_client_free(a->ecs);
    if (a->findings)
        eg_aggregator_free(a->findings);
    if (a->procs)
        eg_proc_table_free(a->procs);
    if (a->containers)
        eg_container_table_free(a->containers);
    for (int i = 0; i < a->n_sinks; i++)
        a->sinks[i]->ops->destroy(a->sinks[i]);
    if (a->policy)
        eg_policy_free(a->policy);
    if (a->epfd >= 0)
        close(a->epfd);
    if (a->sigfd >= 0)
        close(a->sigfd);
    if (a->timerfd >= 0)
        close(a->timerfd);
    free(a->line);
}

int eg_run_main(int argc, char **argv)
{
    struct eg_agent *a = calloc(1, sizeof(*a));
    if (!a) {
        fprintf(stderr, "ecsguard run: out of memory\n");
        return 1;
    }
    a->epfd = a->sigfd = a->timerfd = -1;
    int rc = eg_run_options_parse(argc, argv, &a->opt);
    if (rc != 0) {
        free(a);
        return rc == 1 ? 0 : 2;
    }
    eg_log_set_level(a->opt.log_level);
    /*
     * Block the handled signals before any thread exists (introspection,
     * CloudWatch delivery): threads inherit the mask, so SIGTERM can only be
     * taken by the event loop's signalfd and never kills a worker.
     */
    sigset_t mask;
    agent_signals(&mask);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    tune_malloc();
    if (setup(a) != 0) {
        eg_log_error("start-up failed");
        teardown(a);
        free(a);
        return 1;
    }
    loop(a);
    teardown(a);
    free(a);
    return 0;
}

/* ---- the pipeline alone (benchmarks) ------------------------------------------------------ */

struct eg_agent *eg_agent_pipeline_new(const struct eg_run_options *opt, struct eg_sink *sink)
{
    struct eg_agent *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->opt = *opt;
    a->epfd = a->sigfd = a->timerfd = -1;
    a->pacer.idle_mark_fd = -1; /* no kernel programs: never idle */
    a->bpf.events_fd = a->bpf.containers_fd = a->bpf.setup_fd = a->bpf.counters_fd =
        a->bpf.containers_gen_fd = a->bpf.verdict_cache_fd = a->bpf.reader_idle_fd = -1;
    if (sink)
        a->sinks[a->n_sinks++] = sink;
    if (setup_basics(a) != 0 || setup_pipeline(a) != 0) {
        eg_agent_free(a);
        return NULL;
    }
    a->last_health_ms = a->last_tick_ms = eg_now_ms();
    return a;
}

struct eg_ringbuf_reader *eg_agent_reader(struct eg_agent *a)
{
    return a->reader;
}

struct eg_container_table *eg_agent_containers(struct eg_agent *a)
{
    return a->containers;
}

struct eg_ecs_client *eg_agent_ecs(struct eg_agent *a)
{
    return a->ecs;
}

struct eg_aggregator *eg_agent_findings(struct eg_agent *a)
{
    return a->findings;
}

void eg_agent_periodic(struct eg_agent *a)
{
    periodic(a, false);
}

void eg_agent_shutdown_flush(struct eg_agent *a)
{
    fold_and_flush(a);
}

void eg_agent_free(struct eg_agent *a)
{
    if (!a)
        return;
    teardown(a);
    free(a);
}
