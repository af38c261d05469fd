/*
 * Which cgroup hierarchy identifies containers on this host: the unified
 * (v2) hierarchy, or one v1 controller (memory, then pids, then cpuset) on v1
 * and hybrid hosts, where container runtimes place tasks by controller.
 */
#ifndef ECSGUARD_CGROUP_MODE_H
#define ECSGUARD_CGROUP_MODE_H

#include <stdbool.h>

enum eg_cgroup_mode { EG_CGROUP_UNKNOWN = 0, EG_CGROUP_V1, EG_CGROUP_V2, EG_CGROUP_HYBRID };

struct eg_cgroup_setup {
    enum eg_cgroup_mode mode;
    bool use_v1;              /* track a v1 controller (v1 and hybrid hosts) */
    char controller[32];      /* tracked v1 controller, "" for v2 */
    unsigned subsys_index;    /* its index in the kernel's cgroup_subsys[] */
    unsigned hierarchy_id;    /* tracked hierarchy (0 = v2 default hierarchy) */
    char mount_point[256];    /* where the tracked hierarchy is mounted */
    char v2_mount_point[256]; /* unified hierarchy mount, "" when none */
};

const char *eg_cgroup_mode_name(enum eg_cgroup_mode m);

/*
 * Probe /proc/cgroups and a mountinfo file. `proc_cgroups` and `mountinfo`
 * are paths (the real ones are /proc/cgroups and /proc/self/mountinfo);
 * tests pass fixtures. Returns 0, or -1 with a reason in `err`.
 */
int eg_cgroup_setup_probe(const char *proc_cgroups, const char *mountinfo,
                          struct eg_cgroup_setup *out, char *err, unsigned errlen);

#endif
