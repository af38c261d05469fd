/*
 * What every detector gets from the agent: where findings go and the
 * tables that say who did what where. Detectors are ring-buffer handlers
 * (collectors/ringbuf_reader.h) plus an optional periodic tick.
 */
#ifndef ECSGUARD_DETECTOR_H
#define ECSGUARD_DETECTOR_H

#include <stdint.h>

#include "agent/pipeline/aggregator.h"
#include "collectors/container_table.h"
#include "collectors/proc_table.h"
#include "collectors/ringbuf_reader.h"

struct eg_bpf;
struct eg_policy;
struct json_object;

struct eg_detector_env {
    struct eg_aggregator *findings;
    struct eg_proc_table *procs;
    struct eg_container_table *containers;
    struct eg_bpf *bpf;              /* maps of the detector's own kernel concern */
    struct eg_policy *const *policy; /* the policy in force (replaced on SIGHUP) */
};

/*
 * A detector: turns events of its kinds into findings. A new detector adds
 * its file (agent/detect_<concern>.c) and one line in agent/detectors.c.
 */
struct eg_detector_ops {
    const char *name;
    void *(*create)(const struct eg_detector_env *env);
    /* Register ring-buffer handlers for the event kinds it consumes. 0, or the event kind
     * (EG_EVENT_*) that could not be subscribed (eg_ringbuf_reader_on failed). */
    int (*subscribe)(void *detector, struct eg_ringbuf_reader *reader);
    /* About once a second (optional). */
    void (*tick)(void *detector, uint64_t now_ms);
    /* Add its counters to the health record (optional). */
    void (*stats)(void *detector, struct json_object *obj);
    void (*destroy)(void *detector);
};

/* NULL-terminated, in agent/detectors.c. */
extern const struct eg_detector_ops *const eg_detectors[];

/* Wall-clock ms for a boot-time ns timestamp from the kernel. */
uint64_t eg_event_epoch_ms(uint64_t boot_ns);
uint64_t eg_now_ms(void);

#endif
