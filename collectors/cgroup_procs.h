/*
 * The processes of a cgroup, from its cgroup.procs: the live processes a container still has,
 * for reading through one of them what only a process can show (its mount table, its root).
 */
#ifndef ECSGUARD_COLLECTORS_CGROUP_PROCS_H
#define ECSGUARD_COLLECTORS_CGROUP_PROCS_H

#include <stdint.h>

/*
 * Up to `max` pids (host pid namespace, as the agent reads cgroup.procs) of the processes in
 * cgroup `cgroup_path` of the hierarchy mounted at `cgroup_mount`; 0 when either is empty or
 * the file cannot be read (the cgroup is gone).
 */
int eg_cgroup_procs(const char *cgroup_mount, const char *cgroup_path, uint32_t *out, int max);

#endif
