/*
 * The start-up scan of `ecsguard run`: the cgroup hierarchy for containers, /proc for the
 * processes inside them, and an ECS request per Docker container. It runs once, after the
 * programs are attached (so nothing born in between is missed) and before the event loop; it
 * is part of the command's start-up, not of the per-record pipeline (the benchmark's pipeline
 * never runs it), hence agent/commands.
 */
#include "agent/commands/startup_scan.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "agent/common/log.h"
#include "agent/pipeline/emit.h"
#include "collectors/container_table.h"
#include "collectors/ecs_introspection.h"
#include "collectors/proc_table.h"

/* The path of `pid`'s cgroup in hierarchy `hierarchy_id`, "" when none. */
static void pid_cgroup(unsigned long pid, unsigned hierarchy_id, char *out, size_t len)
{
    char path[512], line[4096];
    out[0] = '\0';
    snprintf(path, sizeof(path), "/proc/%lu/cgroup", pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        /* hierarchy-id:controllers:path */
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        if ((unsigned)strtoul(line, NULL, 10) != hierarchy_id)
            continue;
        snprintf(out, len, "%s", c2 + 1);
        out[strcspn(out, "\n")] = '\0';
        break;
    }
    fclose(f);
}

/* The inode of /proc/<pid>/ns/<kind> (`pid` "self" or a number), 0 when unreadable. */
static uint64_t ns_inode(const char *pid, const char *kind)
{
    char path[320];
    snprintf(path, sizeof(path), "/proc/%s/ns/%s", pid, kind);
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

/*
 * Give process `p`, found in container cgroup `cgid`, its home in the kernel (struct eg_home,
 * bpf/lifecycle.bpf.c), so that a container already running when the agent started cannot
 * blind itself by moving its processes either. Not a process still in the runtime's set-up:
 * one the kernel has marked (it gets its home at its entrypoint's exec), or one still in the
 * host's mount namespace (runc's init before it unshares). A home the kernel has given since
 * the programs were attached is kept (BPF_NOEXIST). The start time is /proc's, a clock tick
 * coarse: the kernel matches the process within that tick.
 */
static bool give_home(const struct eg_startup_scan *s, const struct eg_proc *p, const char *pid,
                      uint64_t cgid, uint64_t host_mnt_ns)
{
    if (s->homes_fd < 0)
        return false;
    uint32_t tgid = p->tgid, mark;
    if (s->setup_fd >= 0 && bpf_map_lookup_elem(s->setup_fd, &tgid, &mark) == 0)
        return false;
    uint64_t mnt = ns_inode(pid, "mnt");
    if (!mnt || mnt == host_mnt_ns)
        return false;
    long hz = sysconf(_SC_CLK_TCK);
    struct eg_home h = {.cgroup_id = cgid,
                        .start_time_ns = p->start_ns,
                        .start_slack_ns = 1000000000ULL / (uint64_t)(hz > 0 ? hz : 100)};
    return bpf_map_update_elem(s->homes_fd, &tgid, &h, BPF_NOEXIST) == 0;
}

/* Processes already inside containers when the agent started. */
static uint64_t scan_processes(const struct eg_startup_scan *s, uint64_t *homes)
{
    DIR *d = opendir("/proc");
    if (!d) {
        eg_log_warn("cannot scan /proc: %s", strerror(errno));
        return 0;
    }
    uint64_t found = 0;
    /* The agent runs in the host's mount namespace (as the host-namespace detector assumes). */
    uint64_t host_mnt_ns = ns_inode("self", "mnt");
    struct dirent *de;
    while ((de = readdir(d))) {
        char *end;
        unsigned long pid = strtoul(de->d_name, &end, 10);
        if (*end || pid == 0)
            continue;
        char cgpath[4096];
        pid_cgroup(pid, s->hierarchy_id, cgpath, sizeof(cgpath));
        if (!cgpath[0] || strcmp(cgpath, "/") == 0)
            continue;
        char full[8192];
        snprintf(full, sizeof(full), "%s%s", s->cgroup_mount, cgpath);
        struct stat st;
        if (stat(full, &st) != 0)
            continue;
        if (!eg_container_table_lookup(s->containers, st.st_ino))
            continue;
        struct eg_proc *p = eg_proc_table_scan_pid(s->procs, "/proc", (uint32_t)pid, st.st_ino);
        if (!p)
            continue;
        found++;
        if (give_home(s, p, de->d_name, st.st_ino, host_mnt_ns))
            (*homes)++;
    }
    closedir(d);
    return found;
}

static void request_all_containers(const struct eg_startup_scan *s)
{
    for (uint32_t i = 0; i < EG_MAX_CONTAINERS; i++) {
        struct eg_container *c = eg_container_table_by_slot(s->containers, i);
        if (c && eg_is_docker_id(c->id.container_id))
            eg_ecs_client_request(s->ecs, c->id.container_id);
    }
}

void eg_startup_scan(const struct eg_startup_scan *s, uint64_t now_ms,
                     struct eg_startup_found *found)
{
    int n = eg_container_table_scan(s->containers, s->cgroup_mount, now_ms);
    if (n < 0)
        eg_log_warn("cannot scan %s: %s", s->cgroup_mount, strerror(errno));
    found->containers = n > 0 ? (uint64_t)n : 0;
    found->homes = 0;
    found->processes = scan_processes(s, &found->homes);
    request_all_containers(s);
    eg_log_info("start-up scan: %llu containers, %llu processes in them, %llu given their home",
                (unsigned long long)found->containers, (unsigned long long)found->processes,
                (unsigned long long)found->homes);
}
