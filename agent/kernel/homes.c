/*
 * Homes of contained processes written by the agent (agent/kernel/homes.h).
 */
#include "agent/kernel/homes.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "bpf/events.h"
#include "collectors/proc_table.h"

static uint64_t ns_inode(const char *proc_root, const char *pid, const char *kind)
{
    char path[320];
    snprintf(path, sizeof(path), "%s/%s/ns/%s", proc_root, pid, kind);
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

void eg_homes_init(struct eg_homes *h, int homes_fd, int setup_fd, const char *proc_root,
                   uint32_t host_ns_pid)
{
    h->homes_fd = homes_fd;
    h->setup_fd = setup_fd;
    h->proc_root = proc_root ? proc_root : "/proc";
    /* A host process's (PID 1's): an ECS daemon's own mount namespace is not the host's. */
    char pid[16];
    snprintf(pid, sizeof(pid), "%u", host_ns_pid ? host_ns_pid : 1);
    h->host_mnt_ns = ns_inode(h->proc_root, pid, "mnt");
    if (!h->host_mnt_ns)
        h->host_mnt_ns = ns_inode(h->proc_root, "self", "mnt");
}

bool eg_homes_give(const struct eg_homes *h, uint32_t tgid, uint64_t start_ns, uint64_t cgid)
{
    if (!h || h->homes_fd < 0 || !start_ns)
        return false;
    uint32_t mark;
    if (h->setup_fd >= 0 && bpf_map_lookup_elem(h->setup_fd, &tgid, &mark) == 0)
        return false;
    char pid[16];
    snprintf(pid, sizeof(pid), "%u", tgid);
    uint64_t mnt = ns_inode(h->proc_root, pid, "mnt");
    if (!mnt || mnt == h->host_mnt_ns)
        return false;
    /* /proc truncates the start to whole ticks: the kernel matches within one tick above it. */
    struct eg_home home = {.cgroup_id = cgid,
                           .start_time_ns = start_ns - start_ns % eg_proc_tick_ns(),
                           .start_slack_ns = eg_proc_tick_ns()};
    return bpf_map_update_elem(h->homes_fd, &tgid, &home, BPF_NOEXIST) == 0;
}

unsigned eg_homes_give_cgroup(const struct eg_homes *h, const char *dir, uint64_t cgid)
{
    if (!h || h->homes_fd < 0)
        return 0;
    char path[4352];
    snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    unsigned n = 0, tgid;
    while (fscanf(f, "%u", &tgid) == 1)
        if (eg_homes_give(h, tgid, eg_proc_start_ns(h->proc_root, tgid), cgid))
            n++;
    fclose(f);
    return n;
}
