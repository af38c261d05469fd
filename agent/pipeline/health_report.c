/*
 * The health record (JSON) of a running agent from the state of each part: kernel counters,
 * ring buffer and drain pacer, tables, ECS introspection, findings (the aggregator's
 * counters), detectors, sinks, policy, hooks. Also its EMF metrics, its delivery (log, file,
 * sinks) and the drop / corrupt-ring warnings. Reads the parts; owns nothing but what it
 * already warned about.
 */
#include "agent/pipeline/inventory_recorder.h"
#include "agent/pipeline/health_report.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "agent/common/log.h"
#include "agent/common/self_usage.h"
#include "agent/detectors/detector.h"
#include "agent/kernel/bpf_loader.h"
#include "agent/kernel/drain_pacer.h"
#include "agent/kernel/homes.h"
#include "agent/outputs/emf.h"
#include "agent/pipeline/finding_state.h"
#include "agent/outputs/outputs_setup.h"
#include "agent/pipeline/aggregator.h"
#include "agent/pipeline/emit.h"
#include "agent/pipeline/finding_json.h"
#include "agent/pipeline/health.h"
#include "agent/hardening/self_confine.h"
#include "agent/pipeline/policy_load.h"
#include "collectors/container_table.h"
#include "collectors/ecs_introspection.h"
#include "collectors/proc_table.h"
#include "collectors/ringbuf_reader.h"
#include "policy/policy.h"

static void put_u64(struct json_object *o, const char *key, uint64_t v)
{
    json_object_object_add(o, key, json_object_new_int64((int64_t)v));
}

/* Above the LRU's capacity (bpf/maps.bpf.h): a map changing under the walk cannot loop it. */
#define EG_MAX_RING_SHARES_WALK 8192

/*
 * The containers whose records their ring share refused (bpf/emit.bpf.h), most first: who
 * flooded, and how much of its own activity the agent did not see. At most 8 listed; the
 * walk is bounded by the map's capacity.
 */
#define EG_SHED_LISTED 8
static void add_ring_shed(struct json_object *rb, const struct eg_health_sources *s)
{
    struct {
        uint64_t cgid;
        struct eg_ring_share v;
    } top[EG_SHED_LISTED];
    size_t n = 0;
    int fd = s->bpf->ring_shares_fd;
    uint64_t key, next;
    const void *prev = NULL;
    for (uint32_t walked = 0;
         fd >= 0 && walked <= EG_MAX_RING_SHARES_WALK && bpf_map_get_next_key(fd, prev, &next) == 0;
         walked++) {
        key = next;
        prev = &key;
        struct eg_ring_share v;
        if (bpf_map_lookup_elem(fd, &key, &v) != 0 || v.shed_events == 0)
            continue;
        size_t at = n < EG_SHED_LISTED ? n++ : EG_SHED_LISTED;
        if (at == EG_SHED_LISTED) {
            if (v.shed_events <= top[EG_SHED_LISTED - 1].v.shed_events)
                continue;
            at = EG_SHED_LISTED - 1;
        }
        while (at > 0 && top[at - 1].v.shed_events < v.shed_events) {
            top[at] = top[at - 1];
            at--;
        }
        top[at].cgid = key;
        top[at].v = v;
    }
    struct json_object *arr = json_object_new_array();
    for (size_t i = 0; i < n; i++) {
        struct json_object *o = json_object_new_object();
        const struct eg_container *c = eg_container_table_lookup(s->containers, top[i].cgid);
        json_object_object_add(
            o, "containerId",
            json_object_new_string(c && c->id.container_id[0] ? c->id.container_id : ""));
        put_u64(o, "cgroupId", top[i].cgid);
        put_u64(o, "events", top[i].v.shed_events);
        put_u64(o, "bytes", top[i].v.shed_bytes);
        json_object_array_add(arr, o);
    }
    json_object_object_add(rb, "shedByContainer", arr);
}

static void add_ring_buffer(struct json_object *h, const struct eg_health_sources *s)
{
    struct eg_ringbuf_reader_stats rs;
    eg_ringbuf_reader_get_stats(s->reader, &rs);
    uint64_t used, size;
    eg_ringbuf_reader_fill(s->reader, &used, &size);
    struct json_object *rb = json_object_new_object();
    put_u64(rb, "sizeBytes", size);
    put_u64(rb, "usedBytes", used);
    put_u64(rb, "records", rs.records);
    put_u64(rb, "malformed", rs.malformed);
    put_u64(rb, "unhandled", rs.unhandled);
    put_u64(rb, "corruptHeaders", rs.corrupt_headers);
    put_u64(rb, "corruptBytesSkipped", rs.corrupt_bytes_skipped);
    json_object_object_add(rb, "readerIdle", json_object_new_boolean(s->pacer->idle));
    put_u64(rb, "readerIdleEntries", s->pacer->stats.idle_entries);
    put_u64(rb, "readerRingWakeups", s->pacer->stats.ring_wakeups);
    put_u64(rb, "readerIdleMarkErrors", s->pacer->stats.mark_errors);
    add_ring_shed(rb, s);
    json_object_object_add(h, "ringBuffer", rb);
}

static void add_tables(struct json_object *h, const struct eg_health_sources *s)
{
    struct eg_container_table_stats cs;
    eg_container_table_get_stats(s->containers, &cs);
    struct json_object *co = json_object_new_object();
    put_u64(co, "known", cs.containers);
    put_u64(co, "cgroups", cs.cgroups);
    put_u64(co, "foundAtStart", s->containers_found_at_start);
    put_u64(co, "tableFull", cs.full);
    put_u64(co, "kernelMapErrors", cs.map_errors);
    put_u64(co, "registeredByKernelNotContainers", cs.pending_dropped);
    json_object_object_add(h, "containers", co);

    struct eg_proc_table_stats ps;
    eg_proc_table_get_stats(s->procs, &ps);
    struct json_object *po = json_object_new_object();
    put_u64(po, "tracked", ps.entries);
    put_u64(po, "evictedLive", ps.evicted_live);
    json_object_object_add(h, "processes", po);

    /* The kernel tables that follow live things; LRUs (dedup) are full by design. */
    struct {
        const char *name;
        int fd;
    } maps[] = {
        {"homes", s->bpf->homes_fd},
        {"setupMarks", s->bpf->setup_fd},
        {"containers", s->bpf->containers_fd},
    };
    struct json_object *km = json_object_new_object();
    for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
        uint32_t capacity;
        int64_t n = eg_health_count_map_entries(maps[i].fd, &capacity);
        if (n < 0)
            continue;
        struct json_object *m = json_object_new_object();
        put_u64(m, "entries", (uint64_t)n);
        put_u64(m, "capacity", capacity);
        /* Homes of exited processes the agent removed (agent/kernel/homes.h). */
        if (maps[i].fd == s->bpf->homes_fd && s->homes)
            put_u64(m, "swept", s->homes->swept);
        json_object_object_add(km, maps[i].name, m);
    }
    json_object_object_add(h, "kernelMaps", km);
}

static void add_introspection(struct json_object *h, const struct eg_health_sources *s)
{
    struct eg_ecs_client_stats es;
    eg_ecs_client_get_stats(s->ecs, &es);
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
}

static void add_findings(struct json_object *h, const struct eg_health_sources *s)
{
    struct eg_aggregator_stats ag;
    eg_aggregator_get_stats(s->findings, &ag);
    struct json_object *fo = json_object_new_object();
    put_u64(fo, "open", ag.open);
    put_u64(fo, "created", ag.created);
    put_u64(fo, "emitted", ag.emitted);
    put_u64(fo, "suppressed", ag.suppressed);
    put_u64(fo, "droppedTableFull", ag.dropped);
    put_u64(fo, "serializeFailed", ag.failed);
    /* Emissions put off while a finding's ECS task was still being resolved. */
    put_u64(fo, "deferred", ag.deferred);
    json_object_object_add(h, "findings", fo);
    struct json_object *dets = json_object_new_object();
    for (int i = 0; i < s->n_detectors; i++)
        if (eg_detectors[i]->stats)
            eg_detectors[i]->stats(s->detectors[i], dets);
    json_object_object_add(h, "detectors", dets);
    eg_inventory_recorder_stats(s->inventory, h);
}

/* The agent's own memory and CPU ("agentProcess"); absent when /proc cannot be read. */
static void add_self_usage(struct json_object *h)
{
    struct eg_self_usage u;
    if (!eg_self_usage_read(&u))
        return;
    struct json_object *o = json_object_new_object();
    put_u64(o, "rssBytes", u.rss_bytes);
    put_u64(o, "peakRssBytes", u.peak_rss_bytes);
    json_object_object_add(o, "cpuSeconds", json_object_new_double((double)u.cpu_ns / 1e9));
    put_u64(o, "threads", u.threads);
    json_object_object_add(h, "agentProcess", o);
}

static struct json_object *health_json(const struct eg_health_sources *s, uint64_t now_ms)
{
    struct json_object *h = json_object_new_object();
    char iso[32];
    eg_format_iso_ms(now_ms, iso);
    json_object_object_add(h, "time", json_object_new_string(iso));
    put_u64(h, "uptimeSeconds", ((now_ms - s->start_ms) / 1000));
    struct eg_counters kc;
    if (eg_health_read_kernel_counters(s->bpf->counters_fd, &kc) == 0)
        eg_health_add_kernel_counters(h, &kc);
    add_ring_buffer(h, s);
    add_tables(h, s);
    add_introspection(h, s);
    add_findings(h, s);

    struct json_object *so = json_object_new_object();
    put_u64(so, "writeFailures", s->emitter->sink_write_failures);
    for (int i = 0; i < s->outputs->n; i++) {
        struct eg_sink *sink = s->outputs->sinks[i];
        if (sink->ops->stats)
            sink->ops->stats(sink, so);
    }
    json_object_object_add(h, "sinks", so);

    eg_policy_stats(s->policy->policy, h); /* adds "policy" */
    struct json_object *pol = NULL;
    if (json_object_object_get_ex(h, "policy", &pol)) {
        put_u64(pol, "reloads", s->policy->reloads);
        put_u64(pol, "reloadFailures", s->policy->reload_failures);
    }

    struct json_object *hooks = json_object_new_object();
    for (int i = 0; i < s->bpf->n_hooks; i++)
        json_object_object_add(hooks, s->bpf->hooks[i].hook ? s->bpf->hooks[i].hook : "?",
                               json_object_new_string(s->bpf->hooks[i].chosen));
    json_object_object_add(h, "hooks", hooks);
    if (s->confinement)
        eg_confinement_report(s->confinement, h); /* adds "confinement" */
    if (s->state)
        eg_finding_state_report(s->state, h); /* adds "findingsState" */
    add_self_usage(h);
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

static void ship_emf(const struct eg_health_sources *s, struct json_object *h, uint64_t now_ms)
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
    add_metric(m, "agent_rss_bytes", h, "agentProcess", "rssBytes", NULL);
    add_metric(m, "agent_cpu_seconds", h, "agentProcess", "cpuSeconds", NULL);
    /* Lines that will never reach CloudWatch (and the backlog that may not): what deploy/'s
     * delivery alarm and dashboard read. Absent without a CloudWatch sink. */
    static const char *const delivery[] = {
        "cloudwatch_failed",
        "cloudwatch_rejected",
        "cloudwatch_dropped_queue_full",
        "cloudwatch_dropped_spool_full",
        "cloudwatch_spool_errors",
        "cloudwatch_backlog",
    };
    for (size_t i = 0; i < sizeof(delivery) / sizeof(delivery[0]); i++)
        add_metric(m, delivery[i], h, "sinks", delivery[i], NULL);
    struct json_object *dims = json_object_new_object();
    json_object_object_add(dims, "Host", json_object_new_string(s->hostname));
    char *line = eg_emf_record(m, dims, now_ms);
    if (line) {
        for (int i = 0; i < s->outputs->n; i++) {
            struct eg_sink *sink = s->outputs->sinks[i];
            if (strcmp(sink->name, "stdout") != 0)
                eg_sink_write(sink, line, strlen(line), now_ms);
        }
        free(line);
    }
    json_object_put(dims);
    json_object_put(m);
}

void eg_health_report(struct eg_health_reporter *hr, uint64_t now_ms, bool log_it)
{
    const struct eg_health_sources *s = &hr->src;
    struct json_object *h = health_json(s, now_ms);
    /* stdout carries findings only; metrics go to the CloudWatch sinks. */
    ship_emf(s, h, now_ms);
    if (log_it)
        eg_log_info("health %s", json_object_to_json_string_ext(
                                     h, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    if (s->health_file && eg_health_write_file(s->health_file, h) != 0)
        eg_log_warn("cannot write health file %s: %s", s->health_file, strerror(errno));
    json_object_put(h);
}

void eg_health_check_drops(struct eg_health_reporter *hr)
{
    struct eg_counters kc;
    if (eg_health_read_kernel_counters(hr->src.bpf->counters_fd, &kc) != 0)
        return;
    uint64_t dropped = 0;
    for (int k = 0; k < EG_KIND_SLOTS; k++)
        dropped += kc.kind[k].dropped;
    if (dropped > hr->last_dropped_logged) {
        eg_log_warn("ring buffer full: %llu events dropped so far (+%llu)",
                    (unsigned long long)dropped,
                    (unsigned long long)(dropped - hr->last_dropped_logged));
        hr->last_dropped_logged = dropped;
    }
    struct eg_ringbuf_reader_stats rs;
    eg_ringbuf_reader_get_stats(hr->src.reader, &rs);
    if (rs.corrupt_headers > hr->last_corrupt_logged) {
        eg_log_error("ring buffer record header with an impossible length: skipped %llu bytes "
                     "of records that cannot be parsed (%llu times so far)",
                     (unsigned long long)rs.corrupt_bytes_skipped,
                     (unsigned long long)rs.corrupt_headers);
        hr->last_corrupt_logged = rs.corrupt_headers;
    }
}
