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

#include "agent/common/log.h"
#include "agent/kernel/homes.h"
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

/* Processes already inside containers when the agent started. */
static uint64_t scan_processes(const struct eg_startup_scan *s, uint64_t *homes)
{
    DIR *d = opendir("/proc");
    if (!d) {
        eg_log_warn("cannot scan /proc: %s", strerror(errno));
        return 0;
    }
    uint64_t found = 0;
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
        /* So that a container running before the agent cannot blind itself either. */
        if (eg_homes_give(s->homes, p->tgid, p->start_ns, st.st_ino))
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
