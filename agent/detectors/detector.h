/*
 * What every detector gets from the agent: where findings go, the tables that say who did what
 * where, its kernel maps, and (configure) what it needs from the policy. Detectors are ring-buffer
 * handlers (collectors/ringbuf_reader.h) plus an optional periodic tick.
 */
#ifndef ECSGUARD_DETECTOR_H
#define ECSGUARD_DETECTOR_H

#include <stdint.h>

#include "agent/pipeline/aggregator.h"
#include "policy/policy.h"
#include "collectors/container_table.h"
#include "collectors/proc_table.h"
#include "collectors/ringbuf_reader.h"

struct json_object;

/*
 * The kernel side a detector reads: its concern's maps (fd <= 0: none, so a zeroed struct has
 * none) and the capability repeat flush. Detectors get these, never the loader's whole struct
 * eg_bpf.
 */
struct eg_detector_kernel {
    int cap_dedup_fd;
    int rootfs_repeats_fd;
    int rootfs_pathops_fd;
    int hostns_dedup_fd;
    /* Move per-CPU capability repeat counts into cap_dedup before a read (NULL: none). */
    int (*cap_flush)(const void *ctx, uint32_t *failed_cpus);
    const void *cap_flush_ctx;
    const char *cgroup_mount; /* mount point of the tracked cgroup hierarchy ("" unknown) */
    const char *proc_root;    /* "/proc" */
    uint32_t host_ns_pid;     /* the host's namespaces are /proc/<pid>/ns (0: 1) */
};

struct eg_inventory_recorder;

struct eg_detector_env {
    struct eg_aggregator *findings;
    /* What the containers did, reported or not (agent/pipeline/inventory_recorder.h; NULL:
     * no --inventory-file). Detectors hand it every behaviour where they record it. */
    struct eg_inventory_recorder *inventory;
    struct eg_proc_table *procs;
    struct eg_container_table *containers;
    struct eg_detector_kernel kernel;
    /* --state-dir: where a detector keeps what must outlive a restart (NULL: nowhere). */
    const char *state_dir;
};

/*
 * What detectors take from the policy. Handed over at start-up and again after every reload
 * (SIGHUP); valid until the next configure call. Detectors never evaluate the policy: it is
 * evaluated once per finding, where the whole finding is known (agent/pipeline/emit.c).
 */
struct eg_detector_config {
    struct eg_path_patterns sensitive_files;
    struct eg_path_patterns rootfs_scratch;
};

/*
 * A detector: turns events of its kinds into findings. A new detector adds
 * its file (agent/detectors/detect_<concern>.c) and one line in agent/detectors/detectors.c.
 */
struct eg_detector_ops {
    const char *name;
    void *(*create)(const struct eg_detector_env *env);
    /* Register ring-buffer handlers for the event kinds it consumes. 0, or the event kind
     * (EG_EVENT_*) that could not be subscribed (eg_ringbuf_reader_on failed). */
    int (*subscribe)(void *detector, struct eg_ringbuf_reader *reader);
    /* Take what it needs from the policy in force (optional). */
    void (*configure)(void *detector, const struct eg_detector_config *cfg);
    /* About once a second (optional). */
    void (*tick)(void *detector, uint64_t now_ms);
    /* Write what must outlive a restart, now (optional; at shutdown, after the last drain). */
    void (*persist)(void *detector, uint64_t now_ms);
    /* Add its counters to the health record (optional). */
    void (*stats)(void *detector, struct json_object *obj);
    void (*destroy)(void *detector);
};

/* NULL-terminated, in agent/detectors/detectors.c. */
extern const struct eg_detector_ops *const eg_detectors[];

/* Wall-clock ms for a boot-time ns timestamp from the kernel. */
uint64_t eg_event_epoch_ms(uint64_t boot_ns);
uint64_t eg_now_ms(void);

#endif
