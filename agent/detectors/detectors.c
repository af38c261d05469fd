/* Every detector the agent runs. A new concern adds its detector here. */
#include <stddef.h>

#include "agent/detectors/detector.h"

extern const struct eg_detector_ops eg_cap_detector_ops;
extern const struct eg_detector_ops eg_rootfs_detector_ops;
extern const struct eg_detector_ops eg_hostns_detector_ops;
extern const struct eg_detector_ops eg_cgroup_detector_ops;
extern const struct eg_detector_ops eg_escape_detector_ops;

const struct eg_detector_ops *const eg_detectors[] = {
    &eg_cap_detector_ops,    &eg_rootfs_detector_ops, &eg_hostns_detector_ops,
    &eg_cgroup_detector_ops, &eg_escape_detector_ops, NULL,
};
