/*
 * In-process benchmark of the agent's userspace pipeline, one core:
 * ring-buffer record -> validation and dispatch (collectors/ringbuf_reader.c)
 * -> the core handlers and detectors `ecsguard run` registers (container and
 * process tables, capability / rootfs / host-namespace detectors) ->
 * aggregation -> ECS task (introspection cache) + policy -> finding JSON ->
 * a sink that discards the line. The records are synthetic but laid out as
 * the kernel writes them (bpf/events.h); the containers and their ECS tasks
 * are known before the clock starts (the tasks come from a fake introspection
 * endpoint on 127.0.0.1, resolved once; the timed loop only reads the cache).
 *
 * Prints one JSON object (events/s, ns/event, allocations per event).
 *
 *   ecsguard_pipeline_bench [--seconds S | --passes N] [--containers N] [--cpu N]
 *                           [--records N]
 *
 * --passes N replaces the timed run with exactly N passes over the records, for an
 * instruction count that wall-clock noise cannot move (bench.py runs it under callgrind).
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/pipeline/aggregator.h"
#include "agent/pipeline/health.h"
#include "agent/common/log.h"
#include "agent/commands/options.h"
#include "agent/commands/run.h"
#include "agent/outputs/sink.h"
#include "bpf/events.h"
#include "collectors/container_table.h"
#include "collectors/ecs_introspection.h"
#include "collectors/ringbuf_reader.h"
#include "bench/synth.h"
#include "tests/unit/http_test_server.h"

/* Header-only test server: only some of its helpers are used here. */
static void (*const unused_hts_helpers[])(void)
    __attribute__((unused)) = {(void (*)(void))hts_count, (void (*)(void))hts_total};

/* ---- allocation counting (this thread only; the introspection worker is not counted) ---- */

#if defined(__SANITIZE_ADDRESS__) || defined(EG_BENCH_NO_MALLOC_HOOK)
#define ALLOC_HOOK 0
static uint64_t alloc_count(void)
{
    return 0;
}
#else
#define ALLOC_HOOK 1
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
static _Thread_local uint64_t tl_allocs;

void *malloc(size_t n)
{
    tl_allocs++;
    return __libc_malloc(n);
}
void *calloc(size_t n, size_t m)
{
    tl_allocs++;
    return __libc_calloc(n, m);
}
void *realloc(void *p, size_t n)
{
    tl_allocs++;
    return __libc_realloc(p, n);
}
void free(void *p)
{
    __libc_free(p);
}
static uint64_t alloc_count(void)
{
    return tl_allocs;
}
#endif

/* ---- a sink that counts and discards ---------------------------------------------------- */

struct null_sink {
    struct eg_sink base;
    uint64_t lines, bytes;
};

static int null_write(struct eg_sink *s, const char *line, size_t len, uint64_t ts_ms)
{
    struct null_sink *n = (struct null_sink *)s;
    (void)line;
    (void)ts_ms;
    n->lines++;
    n->bytes += len;
    return 0;
}

static void null_destroy(struct eg_sink *s)
{
    (void)s; /* static */
}

static const struct eg_sink_ops null_ops = {.write = null_write, .destroy = null_destroy};
static struct null_sink g_sink = {.base = {.ops = &null_ops, .name = "null"}};

/* The records back to back (8-byte aligned), as they sit in the ring buffer. */
struct records {
    unsigned char *arena;
    size_t *off;
    uint32_t *size, *kind;
    size_t n;
};

/* `n` records from 64 interleaved process lives spread over the containers. */
static int build_records(struct records *out, size_t n, const struct bench_container *cs,
                         int n_containers)
{
    out->n = n;
    out->arena = malloc(n * 512); /* the average record is ~250 bytes */
    out->off = malloc(n * sizeof(*out->off));
    out->size = malloc(n * sizeof(*out->size));
    out->kind = malloc(n * sizeof(*out->kind));
    struct rec *r = malloc(sizeof(*r));
    if (!out->arena || !out->off || !out->size || !out->kind || !r)
        return -1;
    struct life lives[64];
    uint32_t next_pid = 1000;
    uint64_t ts = now_ns(CLOCK_BOOTTIME);
    for (int i = 0; i < 64; i++)
        new_life(&lives[i], n_containers, &next_pid, ts - 1000000);
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        struct life *l = &lives[rnd() % 64];
        if (!life_step(l, cs, r, ts + i))
            new_life(l, n_containers, &next_pid, ts + i);
        if (used + r->size > n * 512) {
            out->n = i;
            break;
        }
        memcpy(out->arena + used, r->data, r->size);
        out->off[i] = used;
        out->size[i] = r->size;
        out->kind[i] = r->kind;
        used += (r->size + 7) & ~(size_t)7;
    }
    free(r);
    return 0;
}

/*
 * The host-namespace detector learns each container's namespaces from /proc once, from the
 * first of its processes it can still see. The synthetic pids do not exist, so give it this
 * process (as if it were each container's first process), once, before the clock starts.
 */
static void prime_namespace_probe(struct eg_agent *a, const struct bench_container *cs, int n)
{
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "re");
    size_t len = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f)
        fclose(f);
    buf[len] = '\0';
    char *rp = strrchr(buf, ')');
    unsigned long long ticks = 0;
    if (!rp || sscanf(rp + 2,
                      "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
                      "%*d %*d %llu",
                      &ticks) != 1)
        return;
    long hz = sysconf(_SC_CLK_TCK);
    struct eg_fork_event e;
    for (int i = 0; i < n; i++) {
        memset(&e, 0, sizeof(e));
        e.hdr.kind = EG_EVENT_FORK;
        e.hdr.size = sizeof(e);
        e.hdr.ts_ns = now_ns(CLOCK_BOOTTIME);
        e.hdr.cgroup_id = cs[i].cgroup_id;
        e.hdr.pid = e.hdr.tgid = (uint32_t)getpid();
        e.hdr.start_time_ns = ticks * (1000000000ULL / (uint64_t)(hz > 0 ? hz : 100));
        e.hdr.mnt_ns_inum = 4026533000u + (uint32_t)i;
        eg_ringbuf_dispatch(eg_agent_reader(a), &e, sizeof(e));
        /* and forget it again, as its exit would */
        struct eg_exit_event x;
        memset(&x, 0, sizeof(x));
        x.hdr = e.hdr;
        x.hdr.kind = EG_EVENT_EXIT;
        x.hdr.size = sizeof(x);
        eg_ringbuf_dispatch(eg_agent_reader(a), &x, sizeof(x));
    }
}

/* ---- fake ECS agent (answers once per container, before the clock starts) -------------- */

static void serve_tasks(struct http_test_server *srv, const struct bench_container *cs, int n)
{
    char body[2048], target[128];
    snprintf(body, sizeof(body),
             "{\"Cluster\":\"bench\",\"ContainerInstanceArn\":\"arn:aws:ecs:us-west-2:"
             "123456789012:container-instance/bench/0123456789abcdef\",\"Version\":\"Amazon ECS "
             "Agent - v1.90.0\"}");
    hts_route(srv, "/v1/metadata", HTS_REPLY, 200, body, 0);
    for (int i = 0; i < n; i++) {
        snprintf(body, sizeof(body),
                 "{\"Arn\":\"arn:aws:ecs:us-west-2:123456789012:task/bench/%s\","
                 "\"DesiredStatus\":\"RUNNING\",\"KnownStatus\":\"RUNNING\",\"Family\":\"web%d\","
                 "\"Version\":\"3\",\"Containers\":[{\"DockerId\":\"%s\",\"DockerName\":"
                 "\"ecs-web-3-app-%d\",\"Name\":\"app\",\"Image\":\"nginx:1.27\"}]}",
                 cs[i].task, i % 8, cs[i].id, i);
        snprintf(target, sizeof(target), "/v1/tasks?dockerid=%s", cs[i].id);
        hts_route(srv, target, HTS_REPLY, 200, body, 0);
    }
}

/* ---- main --------------------------------------------------------------------------------- */

struct pass {
    uint64_t events, ns, allocs, periodic_allocs, periodic_calls;
};

/* Events between two drain-timer calls when passes are counted instead of timed (about what
 * 10 ms holds at ~2 M events/s): the same work per event however slowly the run goes. */
#define EVENTS_PER_PERIODIC 16384

/*
 * Feed records round-robin for `seconds` (or one pass over them when 0), the drain timer's
 * work (eg_agent_periodic) every 10 ms of wall time, exactly as the event loop interleaves it.
 * With `passes` > 0: exactly that many passes, the drain timer every EVENTS_PER_PERIODIC
 * events, so an instruction count (callgrind) does not depend on how fast the run went.
 */
static void run_pass(struct eg_agent *a, const struct records *recs, double seconds, size_t passes,
                     struct pass *p, uint64_t per_kind_allocs[EG_KIND_SLOTS],
                     uint64_t per_kind_events[EG_KIND_SLOTS])
{
    struct eg_ringbuf_reader *r = eg_agent_reader(a);
    memset(p, 0, sizeof(*p));
    uint64_t t0 = now_ns(CLOCK_MONOTONIC), last_periodic = t0;
    uint64_t deadline = t0 + (uint64_t)(seconds * 1e9);
    uint64_t a0 = alloc_count();
    size_t i = 0;
    for (;;) {
        for (int burst = 0; burst < 256; burst++) {
            const void *rec = recs->arena + recs->off[i];
            if (per_kind_allocs) {
                uint64_t before = alloc_count();
                eg_ringbuf_dispatch(r, rec, recs->size[i]);
                per_kind_allocs[recs->kind[i]] += alloc_count() - before;
                per_kind_events[recs->kind[i]]++;
            } else {
                eg_ringbuf_dispatch(r, rec, recs->size[i]);
            }
            p->events++;
            if (++i == recs->n) {
                i = 0;
                if (passes ? p->events >= passes * recs->n : seconds <= 0)
                    goto done;
            }
        }
        uint64_t t = now_ns(CLOCK_MONOTONIC);
        if (passes ? p->events % EVENTS_PER_PERIODIC < 256 : t - last_periodic >= 10000000ULL) {
            uint64_t before = alloc_count();
            eg_agent_periodic(a);
            p->periodic_allocs += alloc_count() - before;
            p->periodic_calls++;
            last_periodic = t;
        }
        if (!passes && seconds > 0 && t >= deadline)
            break;
    }
done:
    eg_agent_periodic(a);
    p->ns = now_ns(CLOCK_MONOTONIC) - t0;
    p->allocs = alloc_count() - a0;
}

/* The measured run, a function of its own: `valgrind --tool=callgrind
 * --toggle-collect=measured_run` counts the instructions of exactly this. */
__attribute__((noinline)) static void measured_run(struct eg_agent *a, const struct records *recs,
                                                   double seconds, size_t passes, struct pass *p)
{
    run_pass(a, recs, seconds, passes, p, NULL, NULL);
}

int main(int argc, char **argv)
{
    double seconds = 3;
    size_t passes = 0;
    int n_containers = 50, cpu = -1;
    size_t n_records = 1 << 16;
    const char *inventory = NULL; /* --inventory FILE: the behaviour inventory on */
    static const struct option longopts[] = {{"seconds", required_argument, NULL, 's'},
                                             {"containers", required_argument, NULL, 'c'},
                                             {"cpu", required_argument, NULL, 'p'},
                                             {"records", required_argument, NULL, 'r'},
                                             {"passes", required_argument, NULL, 'n'},
                                             {"inventory", required_argument, NULL, 'i'},
                                             {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 's':
            seconds = atof(optarg);
            break;
        case 'c':
            n_containers = atoi(optarg);
            break;
        case 'p':
            cpu = atoi(optarg);
            break;
        case 'r':
            n_records = strtoul(optarg, NULL, 10);
            break;
        case 'n':
            passes = strtoul(optarg, NULL, 10);
            break;
        case 'i':
            inventory = optarg;
            break;
        default:
            fprintf(stderr,
                    "usage: %s [--seconds S | --passes N] [--containers N] [--cpu N] "
                    "[--records N] [--inventory FILE]\n",
                    argv[0]);
            return 2;
        }
    }
    if (n_containers < 1 || n_containers > HTS_MAX_ROUTES - 1 || n_records < 1024 || seconds <= 0) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    if (cpu < 0)
        cpu = (int)sysconf(_SC_NPROCESSORS_ONLN) - 1;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0) {
        fprintf(stderr, "sched_setaffinity(%d): %s\n", cpu, strerror(errno));
        return 1;
    }

    struct bench_container *cs = calloc((size_t)n_containers, sizeof(*cs));
    struct http_test_server *srv = hts_start();
    if (!cs || !srv) {
        fprintf(stderr, "set-up failed\n");
        return 1;
    }
    for (int i = 0; i < n_containers; i++) {
        cs[i].cgroup_id = 100000 + (uint64_t)i * 7;
        hex(cs[i].task, 32, 1000 + (uint64_t)i / 2); /* two containers per task */
        hex(cs[i].id, 64, 5000 + (uint64_t)i);
    }
    serve_tasks(srv, cs, n_containers);

    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", srv->port);
    char *run_argv[] = {
        "run", "--introspection-url", url, "--docker-socket", "", "--log-level", "warn", NULL, NULL,
        NULL};
    int run_argc = 7;
    if (inventory) {
        run_argv[run_argc++] = "--inventory-file";
        run_argv[run_argc++] = (char *)inventory;
    }
    struct eg_run_options opt;
    optind = 1;
    if (eg_run_options_parse(run_argc, run_argv, &opt) != 0) {
        fprintf(stderr, "options\n");
        return 1;
    }
    eg_log_set_level(EG_LOG_WARN);
    struct eg_agent *a = eg_agent_pipeline_new(&opt, &g_sink.base);
    if (!a) {
        fprintf(stderr, "pipeline set-up failed\n");
        return 1;
    }
    /* The containers as the start-up scan or cgroup_mkdir would have found them. */
    for (int i = 0; i < n_containers; i++) {
        char path[256];
        snprintf(path, sizeof(path), "/ecs/%s/%s", cs[i].task, cs[i].id);
        if (!eg_container_table_add_cgroup(eg_agent_containers(a), cs[i].cgroup_id, path,
                                           (uint64_t)time(NULL) * 1000)) {
            fprintf(stderr, "container table refused %s\n", path);
            return 1;
        }
        eg_ecs_client_request(eg_agent_ecs(a), cs[i].id);
    }
    struct eg_ecs_task *task = malloc(sizeof(*task));
    int resolved = 0;
    for (int tries = 0; tries < 1000 && resolved < n_containers; tries++) {
        resolved = 0;
        for (int i = 0; i < n_containers; i++)
            resolved += eg_ecs_client_lookup(eg_agent_ecs(a), cs[i].id, task) == EG_ECS_RESOLVED;
        if (resolved < n_containers)
            usleep(10000);
    }
    free(task);
    if (resolved < n_containers) {
        fprintf(stderr, "only %d of %d tasks resolved\n", resolved, n_containers);
        return 1;
    }

    struct records recs;
    if (build_records(&recs, n_records, cs, n_containers) != 0) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    n_records = recs.n;
    uint64_t mix[EG_KIND_SLOTS] = {0};
    for (size_t i = 0; i < n_records; i++)
        mix[recs.kind[i]]++;
    prime_namespace_probe(a, cs, n_containers);

    /* Warm-up: one pass creates the findings and fills the tables; then attribute allocations
     * to event kinds in a second pass (dispatch only), then the timed run. */
    struct pass warm, attr, timed;
    uint64_t kind_allocs[EG_KIND_SLOTS] = {0}, kind_events[EG_KIND_SLOTS] = {0};
    run_pass(a, &recs, 0, 0, &warm, NULL, NULL);
    run_pass(a, &recs, 0, 0, &attr, kind_allocs, kind_events);
    uint64_t lines_before = g_sink.lines, bytes_before = g_sink.bytes;
    measured_run(a, &recs, seconds, passes, &timed);
    uint64_t lines = g_sink.lines - lines_before, bytes = g_sink.bytes - bytes_before;
    eg_agent_shutdown_flush(a);

    struct eg_aggregator_stats ag;
    eg_aggregator_get_stats(eg_agent_findings(a), &ag);
    struct eg_ringbuf_reader_stats rs;
    eg_ringbuf_reader_get_stats(eg_agent_reader(a), &rs);

    double ns_per = (double)timed.ns / (double)timed.events;
    printf("{\"cpu\":%d,\"containers\":%d,\"records\":%zu,\"passes\":%zu,\"seconds\":%.3f,"
           "\"events\":%llu,\"eventsPerSecond\":%.0f,\"nsPerEvent\":%.1f,",
           cpu, n_containers, n_records, passes, (double)timed.ns / 1e9,
           (unsigned long long)timed.events, 1e9 / ns_per, ns_per);
    printf("\"firstPassEvents\":%llu,\"firstPassEventsPerSecond\":%.0f,",
           (unsigned long long)warm.events, (double)warm.events * 1e9 / (double)warm.ns);
    printf("\"allocHook\":%s,\"allocations\":%llu,\"allocationsPerEvent\":%.6f,"
           "\"periodicCalls\":%llu,\"allocationsInPeriodic\":%llu,",
           ALLOC_HOOK ? "true" : "false", (unsigned long long)timed.allocs,
           (double)timed.allocs / (double)timed.events, (unsigned long long)timed.periodic_calls,
           (unsigned long long)timed.periodic_allocs);
    printf("\"findingLinesTimed\":%llu,\"findingBytesTimed\":%llu,\"findingsCreated\":%llu,"
           "\"findingsOpen\":%llu,\"findingsDropped\":%llu,\"malformed\":%llu,\"unhandled\":%llu,",
           (unsigned long long)lines, (unsigned long long)bytes, (unsigned long long)ag.created,
           (unsigned long long)ag.open, (unsigned long long)ag.dropped,
           (unsigned long long)rs.malformed, (unsigned long long)rs.unhandled);
    printf("\"mix\":{");
    const char *sep = "";
    for (int k = 0; k < EG_KIND_SLOTS; k++) {
        if (!mix[k])
            continue;
        const char *name = eg_event_kind_name((uint32_t)k);
        printf("%s\"%s\":{\"share\":%.3f,\"allocationsPerEvent\":%.4f}", sep, name ? name : "other",
               (double)mix[k] / (double)n_records,
               kind_events[k] ? (double)kind_allocs[k] / (double)kind_events[k] : 0.0);
        sep = ",";
    }
    printf("}}\n");

    eg_agent_free(a);
    hts_stop(srv);
    free(recs.arena);
    free(recs.off);
    free(recs.size);
    free(recs.kind);
    free(cs);
    return 0;
}
