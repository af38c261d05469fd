/*
 * What every detector gets from the agent: where findings go and the
 * tables that say who did what where. Detectors are ring-buffer handlers
 * (collectors/ringbuf_reader.h) plus an optional periodic tick.
 */
#ifndef ECSGUARD_DETECTOR_H
#define ECSGUARD_DETECTOR_H

#include <stdint.h>

#include "agent/aggregator.h"
#include "collectors/container_table.h"
#include "collectors/proc_table.h"

struct eg_detector_env {
    struct eg_aggregator *findings;
    struct eg_proc_table *procs;
    struct eg_container_table *containers;
};

/* Wall-clock ms for a boot-time ns timestamp from the kernel. */
uint64_t eg_event_epoch_ms(uint64_t boot_ns);
uint64_t eg_now_ms(void);

#endif
