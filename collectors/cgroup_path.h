/*
 * Container and ECS task identity from a cgroup path, for every layout ECS
 * and Docker use (docs/design.md "From cgroup to ECS task"). Pure functions:
 * no allocation, no I/O, safe on hostile input.
 */
#ifndef ECSGUARD_CGROUP_PATH_H
#define ECSGUARD_CGROUP_PATH_H

#include <stdbool.h>
#include <stddef.h>

#define EG_CONTAINER_ID_LEN 64 /* full docker id, hex */
#define EG_TASK_ID_MAX 36      /* 32 hex, or a UUID with dashes */

enum eg_cgroup_layout {
    EG_LAYOUT_NONE = 0,       /* not a container cgroup */
    EG_LAYOUT_ECS_V1,         /* /ecs/<task-id>/<64-hex id> */
    EG_LAYOUT_ECS_V2,         /* /ecstasks.slice/ecstasks-<task-id>.slice/docker-<id>.scope */
    EG_LAYOUT_DOCKER_CGROUPFS,/* /docker/<id> (v1 or v2, cgroupfs driver) */
    EG_LAYOUT_DOCKER_SYSTEMD, /* /system.slice/docker-<id>.scope (systemd driver) */
};

struct eg_cgroup_identity {
    enum eg_cgroup_layout layout;
    bool nested;   /* path is below the container's own cgroup (e.g. .../<id>/sub) */
    bool task_only;/* the task's own cgroup (/ecs/<task-id>), no container */
    char container_id[EG_CONTAINER_ID_LEN + 1]; /* lower-case hex, "" when none */
    char task_id[EG_TASK_ID_MAX + 1];           /* "" when the layout has none */
};

/*
 * Parse `path` (as in /proc/<pid>/cgroup or the cgroup_mkdir tracepoint,
 * with or without a leading mount prefix such as /sys/fs/cgroup/memory).
 * Returns true when the path is, or is below, a container cgroup; `out` is
 * always fully initialised.
 */
bool eg_cgroup_path_parse(const char *path, struct eg_cgroup_identity *out);

const char *eg_cgroup_layout_name(enum eg_cgroup_layout layout);

#endif
