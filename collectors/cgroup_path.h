/*
 * Container and ECS task identity from a cgroup path, for every layout ECS
 * and Docker use (docs/design.md "From cgroup to ECS task"). Pure functions:
 * no allocation, no I/O, safe on hostile input.
 */
#ifndef ECSGUARD_CGROUP_PATH_H
#define ECSGUARD_CGROUP_PATH_H

#include <stdbool.h>
#include <stddef.h>

#define EG_CONTAINER_ID_LEN 64  /* full docker id, hex */
#define EG_TASK_ID_MAX 36       /* 32 hex, or a UUID with dashes */
#define EG_CGROUP_PATH_MAX 4096 /* PATH_MAX: longer input is rejected, never truncated */

enum eg_cgroup_layout {
    EG_LAYOUT_NONE = 0,        /* not a container cgroup */
    EG_LAYOUT_ECS_V1,          /* /ecs/<task-id>/<64-hex id> */
    EG_LAYOUT_ECS_V2,          /* /ecstasks.slice/ecstasks-<task-id>.slice/docker-<id>.scope */
    EG_LAYOUT_DOCKER_CGROUPFS, /* /docker/<id> (v1 or v2, cgroupfs driver) */
    EG_LAYOUT_DOCKER_SYSTEMD,  /* /system.slice/docker-<id>.scope (systemd driver) */
};

struct eg_cgroup_identity {
    enum eg_cgroup_layout layout;
    bool nested;    /* path is below the container's own cgroup (e.g. .../<id>/sub) */
    bool task_only; /* the task's own cgroup (/ecs/<task-id>), no container */
    char container_id[EG_CONTAINER_ID_LEN + 1]; /* lower-case hex, "" when none */
    char task_id[EG_TASK_ID_MAX + 1];           /* "" when the layout has none */
};

/*
 * Parse `path` (as in /proc/<pid>/cgroup or the cgroup_mkdir tracepoint,
 * with or without a leading mount prefix such as /sys/fs/cgroup/memory).
 * Returns true when the path is, or is below, a container cgroup; `out` is
 * always fully initialised.
 * A task's own cgroup (/ecs/<task-id>, ecstasks-<task-id>.slice) returns
 * false with task_only set, task_id filled and layout naming the ECS layout.
 * Anything else that is not a container returns false with `out` zeroed.
 */
bool eg_cgroup_path_parse(const char *path, struct eg_cgroup_identity *out);

/*
 * Same, for a buffer of exactly `len` bytes that need not be NUL-terminated
 * (e.g. a fixed-size path copied out of the kernel). A NUL byte inside the
 * `len` bytes means the path was truncated or forged: rejected.
 */
bool eg_cgroup_path_parse_buf(const char *buf, size_t len, struct eg_cgroup_identity *out);

const char *eg_cgroup_layout_name(enum eg_cgroup_layout layout);

/*
 * True when s[0..n) is an ECS task id as the agent writes it into cgroup
 * paths: 32 lower-case hex, or a lower-case 8-4-4-4-12 UUID. Shared with the
 * ARN parser so both sources of a task id agree on what one is.
 */
bool eg_task_id_valid(const char *s, size_t n);

#endif
