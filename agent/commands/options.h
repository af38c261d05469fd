/* `ecsguard run` options: parsed and validated before anything is loaded. */
#ifndef ECSGUARD_OPTIONS_H
#define ECSGUARD_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "agent/hardening/self_confine.h"
#include "agent/kernel/bpf_loader.h"

#define EG_MAX_OUTPUTS 8

struct eg_run_options {
    const char *introspection_url;
    const char *ready_file;
    const char *health_file;
    const char *inventory_file; /* behaviour inventory (NULL: none) */
    unsigned inventory_interval_s;
    const char *policy_file;
    const char *spool_dir;
    const char *state_dir;               /* open findings across restarts; "" none */
    const char *docker_socket;           /* NULL: the default socket when present */
    const char *outputs[EG_MAX_OUTPUTS]; /* "stdout", "cloudwatch:GROUP[:STREAM]" */
    int n_outputs;
    uint64_t watched_caps;        /* 0: from the policy */
    unsigned health_interval_s;   /* health record period */
    unsigned report_interval_s;   /* min gap between updates of one finding */
    unsigned window_s;            /* aggregation window */
    unsigned host_ns_pid;         /* the host's namespaces are /proc/<pid>/ns (default 1) */
    unsigned resolve_grace_ms;    /* wait this long for the ECS task before emitting anyway */
    unsigned drain_interval_ms;   /* ring buffer reader timer */
    unsigned ring_buffer_kib;     /* kernel ring buffer size (power of two, >= 16 KiB) */
    bool probe_read_file_fields;  /* --bpf-file-reads probe-read */
    struct eg_bpf_options hooks;  /* only its --hook list (force, n_force) is set here */
    enum eg_seccomp_mode seccomp; /* --seccomp (default enforce) */
    int log_level;
};

/*
 * Parse argv (argv[0] is "run"). Returns 0 to run, 1 when --help was printed
 * (exit 0), 2 on a usage error (message printed; exit 2).
 */
int eg_run_options_parse(int argc, char **argv, struct eg_run_options *o);
void eg_run_usage(FILE *out);

/* --bpf-file-reads: "auto" or "probe-read" (*probe_read true). 0, or -1 for anything else. */
int eg_file_reads_parse(const char *mode, bool *probe_read);

#endif
