/*
 * `ecsguard run`: set-up, event loop and teardown, nothing else. Load and attach the kernel
 * programs, build the pipeline (tables, aggregation, ECS client, reader, detectors, emission,
 * health), learn the containers already running, then one event loop (epoll) drains the ring
 * buffer on a short timer, feeds the detectors, emits due findings to the sinks and reports
 * health. HTTP (ECS introspection, CloudWatch) never runs on this thread. What each step does
 * lives in its own file: agent/pipeline/{core_handlers,emit,health_report,policy_load}.c,
 * agent/outputs/outputs_setup.c, agent/commands/startup_scan.c. (A little over 500 lines: the
 * benchmark's entry points at the end build the same pipeline through the same set-up.)
 */
#include "agent/commands/run.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "agent/commands/options.h"
#include "agent/commands/startup_scan.h"
#include "agent/common/log.h"
#include "agent/detectors/detector.h"
#include "agent/hardening/self_confine.h"
#include "agent/hardening/syscall_allowlist.h"
#include "agent/kernel/bpf_cap.h"
#include "agent/kernel/bpf_hostns.h"
#include "agent/kernel/bpf_rootfs.h"
#include "agent/kernel/bpf_loader.h"
#include "agent/kernel/drain_pacer.h"
#include "agent/kernel/homes.h"
#include "agent/outputs/outputs_setup.h"
#include "agent/pipeline/aggregator.h"
#include "agent/pipeline/core_handlers.h"
#include "agent/pipeline/emit.h"
#include "agent/pipeline/finding_state.h"
#include "agent/pipeline/health.h"
#include "agent/pipeline/health_report.h"
#include "agent/pipeline/inventory_recorder.h"
#include "agent/pipeline/policy_load.h"
#include "collectors/container_table.h"
#include "collectors/ecs_introspection.h"
#include "collectors/proc_table.h"
#include "collectors/ringbuf_reader.h"
#include "policy/policy.h"

_Static_assert(EG_MAX_OUTPUTS <= EG_MAX_SINKS, "a sink for every --output");

#define EG_MAX_DETECTORS 16

struct eg_agent {
    struct eg_run_options opt;
    struct eg_bpf bpf;
    struct eg_ringbuf_reader *reader;
    struct eg_container_table *containers;
    struct eg_proc_table *procs;
    struct eg_ecs_client *ecs;
    struct eg_aggregator *findings;
    struct eg_finding_state state;           /* open findings across restarts (--state-dir) */
    struct eg_inventory_recorder *inventory; /* NULL: no --inventory-file */
    struct eg_core_tables core;              /* the core handlers' context */
    struct eg_homes homes;                   /* homes the agent writes (agent/kernel/homes.h) */
    uint64_t last_homes_sweep_ms;            /* the last eg_homes_sweep */
    void *detectors[EG_MAX_DETECTORS];
    int n_detectors;
    struct eg_policy_state policy;
    struct eg_outputs outputs;
    struct eg_emitter emitter;
    struct eg_health_reporter health;
    struct eg_confinement confinement; /* what the agent gave up once running */
    int epfd, sigfd, timerfd;
    struct eg_drain_pacer pacer;
    bool stop;
    char hostname[256];
    uint64_t start_ms, last_tick_ms, last_health_ms;
};

/* ---- start-up --------------------------------------------------------------------------- */

static int write_ready_file(const char *path)
{
    FILE *f = fopen(path, "we");
    if (!f)
        return -1;
    fprintf(f, "%d\n", (int)getpid());
    return fclose(f);
}

/* stdout first (before anything can be found); CloudWatch once the ECS client runs. */
static int open_outputs(struct eg_agent *a, bool cloudwatch)
{
    struct eg_outputs_config oc = {
        .specs = a->opt.outputs,
        .n_specs = a->opt.n_outputs,
        .spool_dir = a->opt.spool_dir,
        .hostname = a->hostname,
        .ecs = a->ecs,
    };
    return eg_outputs_open(&a->outputs, &oc, cloudwatch);
}

/* The signals the event loop handles through its signalfd. */
static void agent_signals(sigset_t *mask)
{
    sigemptyset(mask);
    sigaddset(mask, SIGTERM);
    sigaddset(mask, SIGINT);
    sigaddset(mask, SIGHUP);
    sigaddset(mask, SIGUSR1);
    sigaddset(mask, SIGUSR2);
}

/* Hand each detector what it takes from the policy `p` (start-up and every reload). */
static void configure_detectors(struct eg_agent *a, const struct eg_policy *p)
{
    struct eg_detector_config cfg = {
        .sensitive_files = eg_policy_sensitive_patterns(p),
        .rootfs_scratch = eg_policy_rootfs_scratch_patterns(p),
    };
    for (int i = 0; i < a->n_detectors; i++)
        if (eg_detectors[i]->configure)
            eg_detectors[i]->configure(a->detectors[i], &cfg);
    /* What the inventory could see used: only the watched capabilities are reported. */
    eg_inventory_recorder_set_watched(a->inventory, eg_policy_state_watched_caps(&a->policy));
}

static void configure_detectors_cb(void *ctx, const struct eg_policy *p)
{
    configure_detectors(ctx, p);
}

static int cap_flush(const void *ctx, uint32_t *failed_cpus)
{
    return eg_bpf_cap_flush(ctx, failed_cpus);
}

/* Clock, hostname and the policy. */
static int setup_basics(struct eg_agent *a)
{
    a->start_ms = eg_now_ms();
    if (gethostname(a->hostname, sizeof(a->hostname)) != 0)
        snprintf(a->hostname, sizeof(a->hostname), "unknown");
    return eg_policy_state_load(&a->policy, a->opt.policy_file, a->opt.watched_caps);
}

/* Which kind a subscription could not take (eg_ringbuf_reader_on's limit): start-up fails. */
static int subscription_failed(const char *who, const char *name, int kind)
{
    eg_log_error("%s%s: cannot subscribe to %s events", who, name,
                 eg_event_kind_name((uint32_t)kind) ? eg_event_kind_name((uint32_t)kind) : "?");
    return -1;
}

/*
 * Everything a record meets after the ring buffer: container and process tables, aggregation,
 * the ECS client, the reader (fed by the kernel's ring buffer when a->bpf.events_fd is one),
 * the core handlers, the detectors, emission and the health record.
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
    /* Core tables first: detectors see a process after the table has recorded its exec. */
    a->core = (struct eg_core_tables){.containers = a->containers,
                                      .procs = a->procs,
                                      .ecs = a->ecs,
                                      .homes = &a->homes,
                                      .cgroup_mount = a->bpf.cgroups.mount_point};
    int kind = eg_core_subscribe(&a->core, a->reader);
    if (kind)
        return subscription_failed("core tables", "", kind);
    if (a->opt.inventory_file) {
        struct eg_inventory_recorder_config ic = {.path = a->opt.inventory_file,
                                                  .interval_s = a->opt.inventory_interval_s,
                                                  .hostname = a->hostname,
                                                  .ecs = a->ecs,
                                                  .containers = a->containers};
        a->inventory = eg_inventory_recorder_new(&ic);
        if (!a->inventory)
            return -1;
    }
    struct eg_detector_env env = {
        .findings = a->findings,
        .inventory = a->inventory,
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
                .host_ns_pid = a->opt.host_ns_pid,
            },
        .state_dir = a->opt.state_dir,
    };
    for (int i = 0; eg_detectors[i] && a->n_detectors < EG_MAX_DETECTORS; i++) {
        void *d = eg_detectors[i]->create(&env);
        if (!d) {
            eg_log_error("detector %s could not be created", eg_detectors[i]->name);
            return -1;
        }
        a->detectors[a->n_detectors++] = d;
        kind = eg_detectors[i]->subscribe(d, a->reader);
        if (kind)
            return subscription_failed("detector ", eg_detectors[i]->name, kind);
    }
    configure_detectors(a, a->policy.policy);

    a->emitter.ecs = a->ecs;
    a->emitter.containers = a->containers;
    a->emitter.policy = &a->policy.policy;
    a->emitter.outputs = &a->outputs;
    a->emitter.hostname = a->hostname;
    a->emitter.resolve_grace_ms = a->opt.resolve_grace_ms;
    if (eg_emitter_init(&a->emitter) != 0)
        return -1;
    a->health.src = (struct eg_health_sources){
        .start_ms = a->start_ms,
        .hostname = a->hostname,
        .health_file = a->opt.health_file,
        .bpf = &a->bpf,
        .reader = a->reader,
        .pacer = &a->pacer,
        .containers = a->containers,
        .procs = a->procs,
        .ecs = a->ecs,
        .findings = a->findings,
        .detectors = a->detectors,
        .n_detectors = a->n_detectors,
        .outputs = &a->outputs,
        .emitter = &a->emitter,
        .policy = &a->policy,
        .inventory = a->inventory,
        .homes = &a->homes,
    };
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

static int load_kernel_programs(struct eg_agent *a)
{
    char err[256];
    struct eg_bpf_options bo = {
        .watched_caps = eg_policy_state_watched_caps(&a->policy),
        .ring_buffer_bytes = a->opt.ring_buffer_kib * 1024u,
        .probe_read_file_fields = a->opt.probe_read_file_fields,
        .host_ns_pid = a->opt.host_ns_pid,
        .n_force = a->opt.hooks.n_force,
        /* Wake the reader early enough that a burst cannot fill the buffer between drains. */
        .wakeup_bytes = a->opt.ring_buffer_kib * 1024u / 32 < 256 * 1024
                            ? a->opt.ring_buffer_kib * 1024u / 32
                            : 256 * 1024,
    };
    memcpy(bo.force, a->opt.hooks.force, sizeof(bo.force));
    if (eg_bpf_load(&a->bpf, &bo, err, sizeof(err)) != 0) {
        eg_log_error("%s", err);
        return -1;
    }
    eg_homes_init(&a->homes, a->bpf.homes_fd, a->bpf.setup_fd, "/proc", a->opt.host_ns_pid);
    for (int i = 0; i < a->bpf.n_hooks; i++)
        eg_log_info("hook %s: %s", a->bpf.hooks[i].hook,
                    a->bpf.hooks[i].chosen[0] ? a->bpf.hooks[i].chosen : "none");
    eg_log_info("cgroup mode %s, tracking %s (hierarchy %u at %s)",
                eg_cgroup_mode_name(a->bpf.cgroups.mode),
                a->bpf.cgroups.use_v1 ? a->bpf.cgroups.controller : "unified",
                a->bpf.cgroups.hierarchy_id, a->bpf.cgroups.mount_point);
    return 0;
}

/*
 * Everything that needs privilege is done: keep only the capabilities still used, set
 * no_new_privs, and install the system-call filter on every thread (agent/hardening). The ready
 * file comes after, so whoever waits for it sees a confined agent.
 */
static int confine(struct eg_agent *a)
{
    if (eg_confine_self(a->opt.seccomp, &a->confinement) != 0) {
        eg_log_error("cannot confine the agent (%s); --no-seccomp runs it without the "
                     "system-call filter",
                     a->confinement.error);
        return -1;
    }
    a->health.src.confinement = &a->confinement;
    if (a->opt.seccomp == EG_SECCOMP_OFF)
        eg_log_warn("SECCOMP OFF (--no-seccomp): the agent runs without its system-call "
                    "filter; for diagnosis only (health: confinement.seccomp \"off\")");
    else
        eg_log_info("confined: seccomp %s over %d+ system calls, no_new_privs, capabilities "
                    "kept: %#llx",
                    eg_seccomp_mode_name(a->opt.seccomp), eg_syscall_allowlist_size(),
                    (unsigned long long)a->confinement.capabilities);
    return 0;
}

/* The signalfd, the drain timer and the epoll set over them, the ring and the ECS client. */
static int setup_event_loop(struct eg_agent *a)
{
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
    return 0;
}

static int setup(struct eg_agent *a)
{
    if (setup_basics(a) != 0)
        return -1;
    if (open_outputs(a, false) != 0)
        return -1;
    if (load_kernel_programs(a) != 0)
        return -1;
    if (setup_pipeline(a) != 0)
        return -1;
    if (open_outputs(a, true) != 0)
        return -1;
    /*
     * The findings a previous run left open, before the scan and the first drain: what they
     * find again continues those findings (same id) instead of starting new ones.
     */
    eg_finding_state_open(&a->state, a->opt.state_dir);
    eg_finding_state_load(&a->state, a->findings, eg_now_ms(), (uint64_t)a->opt.window_s * 1000);
    a->health.src.state = &a->state;

    /* Programs are attached before the scan, so nothing born in between is missed. */
    struct eg_startup_scan scan = {
        .containers = a->containers,
        .procs = a->procs,
        .ecs = a->ecs,
        .cgroup_mount = a->bpf.cgroups.mount_point,
        .hierarchy_id = a->bpf.cgroups.hierarchy_id,
        .homes = &a->homes,
    };
    struct eg_startup_found found;
    eg_startup_scan(&scan, a->start_ms, &found);
    a->health.src.containers_found_at_start = found.containers;

    if (setup_event_loop(a) != 0)
        return -1;
    /* Start-up's garbage (BTF, kallsyms and /proc reads, ELF copies) back to the kernel. */
    malloc_trim(0);
    if (confine(a) != 0)
        return -1;
    if (a->opt.ready_file && write_ready_file(a->opt.ready_file) != 0) {
        eg_log_error("cannot write ready file %s: %s", a->opt.ready_file, strerror(errno));
        return -1;
    }
    eg_log_info("ready");
    return 0;
}

/* ---- loop ------------------------------------------------------------------------------- */

static void reload_policy(struct eg_agent *a)
{
    if (eg_policy_state_reload(&a->policy, configure_detectors_cb, a) == 0)
        eg_bpf_set_watched_caps(&a->bpf, eg_policy_state_watched_caps(&a->policy));
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
    eg_aggregator_flush(a->findings, now, true, eg_emit_finding, &a->emitter);
    eg_inventory_recorder_tick(a->inventory, now);
    eg_inventory_recorder_write(a->inventory, now);
    return now;
}

/*
 * SIGUSR2: what a stop emits, without stopping. The kernel's records are read, repeats folded
 * and every pending change of a finding written now instead of at its next report time; the
 * health line logged after it says how many lines the outputs have taken in total, so whoever
 * asked (an operator before a host is drained, a test sharing one agent) knows when it has
 * them all. CloudWatch delivers them on its own schedule: waiting for it here would stall the
 * event loop.
 */
static void flush_now(struct eg_agent *a)
{
    eg_ringbuf_reader_drain(a->reader);
    uint64_t now = fold_and_flush(a);
    eg_log_info("signal %d: pending findings emitted", SIGUSR2);
    eg_health_report(&a->health, now, true);
}

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
            eg_health_report(&a->health, eg_now_ms(), true);
        } else if (si.ssi_signo == SIGUSR2) {
            flush_now(a);
        }
    }
}

static void periodic(struct eg_agent *a, bool woken_by_ring)
{
    int records = eg_ringbuf_reader_drain(a->reader);
    eg_drain_pacer_after_drain(&a->pacer, a->reader, records, woken_by_ring);
    /* Read the clock after draining: findings created by the drain are not in the future. */
    uint64_t now = eg_now_ms();
    eg_aggregator_flush(a->findings, now, false, eg_emit_finding, &a->emitter);
    if (now - a->last_tick_ms >= 100) {
        for (int i = 0; i < a->outputs.n; i++)
            if (a->outputs.sinks[i]->ops->tick)
                a->outputs.sinks[i]->ops->tick(a->outputs.sinks[i], now);
        eg_finding_state_tick(&a->state, a->findings, now, false);
    }
    if (now - a->last_tick_ms >= 1000) {
        a->last_tick_ms = now;
        tick_detectors(a, now);
        eg_inventory_recorder_tick(a->inventory, now);
        eg_container_table_expire(a->containers, now, 10 * 60 * 1000);
        eg_health_check_drops(&a->health);
    }
    if (now - a->last_homes_sweep_ms >= 30 * 1000) {
        a->last_homes_sweep_ms = now;
        eg_homes_sweep(&a->homes);
    }
    if (now - a->last_health_ms >= (uint64_t)a->opt.health_interval_s * 1000) {
        a->last_health_ms = now;
        eg_health_report(&a->health, now, true);
    }
}

static void loop(struct eg_agent *a)
{
    a->last_health_ms = a->last_tick_ms = a->last_homes_sweep_ms = eg_now_ms();
    if (a->opt.health_file)
        eg_health_report(&a->health, a->last_health_ms, false);
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
    eg_finding_state_tick(&a->state, a->findings, now, true);
    for (int i = 0; i < a->n_detectors; i++)
        if (eg_detectors[i]->persist)
            eg_detectors[i]->persist(a->detectors[i], now);
    for (int i = 0; i < a->outputs.n; i++)
        if (a->outputs.sinks[i]->ops->flush)
            a->outputs.sinks[i]->ops->flush(a->outputs.sinks[i]);
    eg_health_report(&a->health, now, true);
    eg_log_debug("stop: last findings flushed");
}

/*
 * After the last finding: stdout (the findings stream) ends, so whoever reads it (a log
 * shipper's pipe, the integration tests) has every finding at end of file and need not wait
 * for the process to exit. Removing the kernel programs comes after and can take seconds:
 * each fentry/fexit trampoline's removal waits for an RCU-tasks grace period, one after
 * another, on 6.x kernels (docs/kernel-matrix.md). /dev/null takes fd 1's place so that no file
 * opened during teardown can become "stdout".
 */
static void end_findings_stream(void)
{
    int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null_fd >= 0) {
        dup2(null_fd, STDOUT_FILENO);
        close(null_fd);
    } else {
        close(STDOUT_FILENO);
    }
    eg_log_info("stop: findings stream closed; removing the kernel programs");
}

/* ---- teardown --------------------------------------------------------------------------- */

static void teardown(struct eg_agent *a)
{
    uint64_t started = eg_now_ms();
    eg_bpf_unload(&a->bpf);
    /* Where a stop's time goes (detaching waits for the kernel's grace periods). */
    eg_log_debug("stop: kernel programs detached and freed in %llu ms",
                 (unsigned long long)(eg_now_ms() - started));
    for (int i = 0; i < a->n_detectors; i++)
        eg_detectors[i]->destroy(a->detectors[i]);
    if (a->reader)
        eg_ringbuf_reader_free(a->reader);
    if (a->ecs)
        eg_ecs_client_free(a->ecs);
    if (a->findings)
        eg_aggregator_free(a->findings);
    eg_inventory_recorder_free(a->inventory);
    a->inventory = NULL;
    if (a->procs)
        eg_proc_table_free(a->procs);
    if (a->containers)
        eg_container_table_free(a->containers);
    eg_outputs_close(&a->outputs);
    eg_policy_state_free(&a->policy);
    if (a->epfd >= 0)
        close(a->epfd);
    if (a->sigfd >= 0)
        close(a->sigfd);
    if (a->timerfd >= 0)
        close(a->timerfd);
    eg_emitter_fini(&a->emitter);
}

int eg_run_main(int argc, char **argv)
{
    struct eg_agent *a = calloc(1, sizeof(*a));
    if (!a) {
        fprintf(stderr, "ecsguard run: out of memory\n");
        return 1;
    }
    a->epfd = a->sigfd = a->timerfd = -1;
    a->homes.homes_fd = a->homes.setup_fd = -1;
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
    end_findings_stream();
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
        a->bpf.containers_gen_fd = a->bpf.verdict_cache_fd = a->bpf.reader_idle_fd =
            a->bpf.homes_fd = -1;
    a->homes.homes_fd = a->homes.setup_fd = -1; /* no kernel programs: no homes */
    if (sink)
        eg_outputs_add(&a->outputs, sink);
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
