/*
 * Capability use: a watched capability checked by a task container's
 * process, granted (…CapabilityUsed) or denied (CapabilityDenied).
 */
#ifndef ECSGUARD_DETECT_CAP_H
#define ECSGUARD_DETECT_CAP_H

#include <stddef.h>
#include <stdint.h>

#include "agent/detectors/detector.h"
#include "bpf/events.h"

struct eg_cap_detector;

struct eg_cap_detector_stats {
    uint64_t events, repeats_from_kernel, tracked, untracked_full, orphan_events;
    uint64_t flush_failures; /* CPUs on which eg_cap_flush could not run, summed over ticks */
};

/* `dedup_map_fd`: the kernel's eg_cap_dedup map, read for repeat counts (-1 in unit tests). */
struct eg_cap_detector *eg_cap_detector_new(const struct eg_detector_env *env, int dedup_map_fd);
void eg_cap_detector_free(struct eg_cap_detector *d);
/* Ring-buffer handler for EG_EVENT_CAP (ctx = the detector). */
void eg_cap_detector_on_event(void *ctx, const struct eg_event_header *h, const void *rec,
                              size_t size);
/* Fold the kernel's repeat counts into the findings. Call about once a second. */
void eg_cap_detector_tick(struct eg_cap_detector *d, uint64_t now_ms);
void eg_cap_detector_get_stats(struct eg_cap_detector *d, struct eg_cap_detector_stats *out);

#endif
