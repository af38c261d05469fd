/*
 * The health record of a running agent, assembled from its parts (agent/pipeline/health.h
 * reads the kernel counters and writes the file): logged every interval and on SIGUSR1,
 * written to --health-file, shipped as EMF metrics to the sinks other than stdout. Also the
 * prompt warnings when the kernel drops events or the ring holds a corrupt header.
 */
#ifndef ECSGUARD_HEALTH_REPORT_H
#define ECSGUARD_HEALTH_REPORT_H

#include <stdbool.h>
#include <stdint.h>

struct eg_aggregator;
struct eg_bpf;
struct eg_confinement;
struct eg_container_table;
struct eg_drain_pacer;
struct eg_ecs_client;
struct eg_finding_state;
struct eg_emitter;
struct eg_homes;
struct eg_outputs;
struct eg_policy_state;
struct eg_proc_table;
struct eg_ringbuf_reader;

/* What the record reads; none of it is owned here. */
struct eg_health_sources {
    uint64_t start_ms;
    const char *hostname;
    const char *health_file;  /* --health-file, or NULL */
    const struct eg_bpf *bpf; /* the kernel counters map and the hooks chosen */
    struct eg_ringbuf_reader *reader;
    const struct eg_drain_pacer *pacer;
    struct eg_container_table *containers;
    uint64_t containers_found_at_start;
    struct eg_proc_table *procs;
    struct eg_ecs_client *ecs;
    struct eg_aggregator *findings;
    void *const *detectors; /* eg_detectors[i]'s instance is detectors[i] */
    int n_detectors;
    const struct eg_outputs *outputs;
    const struct eg_emitter *emitter; /* sink write failures */
    const struct eg_policy_state *policy;
    const struct eg_confinement *confinement; /* NULL before the agent confines itself */
    const struct eg_finding_state *state;     /* NULL without one (the pipeline benchmark) */
    struct eg_inventory_recorder *inventory;  /* NULL: no --inventory-file */
    const struct eg_homes *homes;             /* NULL: none (kernelMaps.homes.swept) */
};

struct eg_health_reporter {
    struct eg_health_sources src;
    uint64_t last_dropped_logged; /* kernel drops already warned about */
    uint64_t last_corrupt_logged; /* ring buffer corrupt-header count already logged */
};

/* Build the record, ship its metrics, write the file; log it when `log_it`. */
void eg_health_report(struct eg_health_reporter *h, uint64_t now_ms, bool log_it);
/* Say so as soon as the kernel drops events, not only in the periodic record. */
void eg_health_check_drops(struct eg_health_reporter *h);

#endif
