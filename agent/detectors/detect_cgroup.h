/*
 * A contained process moved out of its task container's cgroup
 * (DefenseEvasion:Runtime/ContainerCgroupEscaped, docs/findings.md). The kernel keeps
 * attributing the process to the container it started in (its home, bpf/lifecycle.bpf.c); the
 * move itself is the finding.
 */
#ifndef ECSGUARD_DETECT_CGROUP_H
#define ECSGUARD_DETECT_CGROUP_H

#include <stddef.h>
#include <stdint.h>

#include "agent/detectors/detector.h"
#include "bpf/events.h"

struct eg_cgroup_detector_stats {
    uint64_t moves;            /* EG_EVENT_CGROUP_LEFT records handled */
    uint64_t orphan_moves;     /* ... whose home is no container the agent knows */
    uint64_t findings_dropped; /* the aggregator was full */
};

struct eg_cgroup_detector;

struct eg_cgroup_detector *eg_cgroup_detector_new(const struct eg_detector_env *env);
void eg_cgroup_detector_free(struct eg_cgroup_detector *d);
/* The ring-buffer handler of EG_EVENT_CGROUP_LEFT (ctx: the detector). */
void eg_cgroup_on_left(void *ctx, const struct eg_event_header *h, const void *rec, size_t size);
void eg_cgroup_detector_get_stats(const struct eg_cgroup_detector *d,
                                  struct eg_cgroup_detector_stats *out);

#endif
