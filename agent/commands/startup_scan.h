/*
 * `ecsguard run`'s start-up scan: the containers and processes that already exist when the
 * agent starts (the kernel programs only report what happens after they are attached).
 */
#ifndef ECSGUARD_STARTUP_SCAN_H
#define ECSGUARD_STARTUP_SCAN_H

#include <stdint.h>

struct eg_container_table;
struct eg_ecs_client;
struct eg_homes;
struct eg_proc_table;

struct eg_startup_scan {
    struct eg_container_table *containers;
    struct eg_proc_table *procs;
    struct eg_ecs_client *ecs;
    const char *cgroup_mount;     /* where the tracked hierarchy is mounted */
    unsigned hierarchy_id;        /* the tracked hierarchy (0: cgroup v2) */
    const struct eg_homes *homes; /* where the processes found get their home (NULL: not) */
};

struct eg_startup_found {
    uint64_t containers, processes, homes;
};

/*
 * Add every container under the tracked hierarchy, then every process in one of them (giving it
 * its home in the kernel, agent/kernel/homes.h), and ask ECS about each Docker container. Problems
 * are logged; what was found is counted in `found`.
 */
void eg_startup_scan(const struct eg_startup_scan *s, uint64_t now_ms,
                     struct eg_startup_found *found);

#endif
