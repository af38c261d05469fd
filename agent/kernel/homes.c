/*
 * Homes of contained processes written by the agent (agent/kernel/homes.h).
 */
#include "agent/kernel/homes.h"

#include <errno.h>
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

/* Whether the home `home` of `tgid` is still its process's: /proc has it, started then. */
static bool home_still_running(const struct eg_homes *h, uint32_t tgid, const struct eg_home *home)
{
    uint64_t start = eg_proc_start_ns(h->proc_root, tgid);
    if (!start) {
        /* Gone only when /proc says so: a read that failed otherwise (EMFILE...) keeps it. */
        char path[64];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%u", h->proc_root, tgid);
        return !(stat(path, &st) != 0 && errno == ENOENT);
    }
    uint64_t tick = eg_proc_tick_ns();
    /* /proc truncates to whole ticks; a home holds the kernel's start or a truncated one. */
    return start == home->start_time_ns - home->start_time_ns % tick;
}

/* include/linux/proc_ns.h: the initial pid namespace's inode number, fixed by the kernel. */
#define EG_PROC_PID_INIT_INO 0xEFFFFFFCu

/*
 * Whether <proc_root> shows the host's processes by their host pids (the kernel's keys): the
 * agent runs in the initial pid namespace. In any other, every home would look gone.
 */
static bool proc_shows_host_pids(const struct eg_homes *h)
{
    char path[64];
    struct stat st;
    snprintf(path, sizeof(path), "%s/self/ns/pid", h->proc_root);
    return stat(path, &st) == 0 && st.st_ino == EG_PROC_PID_INIT_INO;
}

unsigned eg_homes_sweep(struct eg_homes *h)
{
    if (!h || h->homes_fd < 0 || !proc_shows_host_pids(h))
        return 0;
    /*
     * Collected first, removed after: deleting while walking makes the next-key walk start
     * over. At most this many a sweep; the rest wait for the next one.
     */
    enum { BATCH = 512 };
    uint32_t stale[BATCH];
    struct eg_home seen[BATCH];
    unsigned n = 0;
    uint32_t key, next;
    const uint32_t *prev = NULL;
    while (n < BATCH && bpf_map_get_next_key(h->homes_fd, prev, &next) == 0) {
        key = next;
        prev = &key;
        struct eg_home home;
        if (bpf_map_lookup_elem(h->homes_fd, &key, &home) != 0 || home_still_running(h, key, &home))
            continue;
        stale[n] = key;
        seen[n] = home;
        n++;
    }
    unsigned removed = 0;
    for (unsigned i = 0; i < n; i++) {
        /*
         * Only the entry judged: a process that took the tgid since has a home of its own,
         * written by the kernel with its start time. (The window between this read and the
         * delete is a few microseconds.)
         */
        struct eg_home now;
        if (bpf_map_lookup_elem(h->homes_fd, &stale[i], &now) != 0 ||
            now.start_time_ns != seen[i].start_time_ns || now.cgroup_id != seen[i].cgroup_id)
            continue;
        if (bpf_map_delete_elem(h->homes_fd, &stale[i]) == 0)
            removed++;
    }
    h->swept += removed;
    return removed;
}
