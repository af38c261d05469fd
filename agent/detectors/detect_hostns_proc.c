/*
 * What the host-namespace detector reads from /proc and cgroupfs: the namespaces a container
 * shares with the host (from one of its processes, checked against pid reuse), and the start-up
 * scan that finds containers already sharing the host pid namespace when the agent starts.
 */
#include "agent/detectors/detect_hostns_internal.h"
#include "collectors/proc_table.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROC_START_SLACK_NS 20000000ULL /* /proc start times are in clock ticks (10 ms) */

static bool same_start(uint64_t proc_ns, uint64_t exact_ns)
{
    uint64_t diff = proc_ns > exact_ns ? proc_ns - exact_ns : exact_ns - proc_ns;
    return proc_ns && diff <= PROC_START_SLACK_NS;
}

static uint32_t ns_inode(const char *proc_root, uint32_t tgid, const char *kind)
{
    char path[320];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%u/ns/%s", proc_root, tgid, kind);
    return stat(path, &st) == 0 ? (uint32_t)st.st_ino : 0;
}

/*
 * Record which of net/ipc/uts the container shares with the host, from one
 * of its processes (tgid, start). The start time is checked before and after
 * reading, so a pid reused in between is never read as the container's. A
 * process still in the host's mount namespace is the runtime setting the
 * container up (runc's init before it unshares): it has every host namespace
 * and says nothing about the container's, so it is not probed; a later
 * process of the container is.
 */
void eg_hostns_probe_container_ns(struct eg_hostns_detector *d, struct eg_container *c,
                                  uint32_t tgid, uint64_t start_ns)
{
    if (!c || c->slot >= EG_MAX_CONTAINERS || d->probed_gen[c->slot] == c->generation)
        return;
    if (!same_start(eg_proc_start_ns(d->proc_root, tgid), start_ns)) {
        d->stats.ns_probe_failed++;
        return;
    }
    uint32_t mnt = ns_inode(d->proc_root, tgid, "mnt");
    if (mnt && mnt == d->host.inum[EG_HOST_NS_MNT]) {
        d->stats.ns_probe_runtime++;
        return;
    }
    uint32_t net = ns_inode(d->proc_root, tgid, "net");
    uint32_t ipc = ns_inode(d->proc_root, tgid, "ipc");
    uint32_t uts = ns_inode(d->proc_root, tgid, "uts");
    if (!mnt || !net || !ipc || !uts ||
        !same_start(eg_proc_start_ns(d->proc_root, tgid), start_ns)) {
        d->stats.ns_probe_failed++;
        return;
    }
    uint32_t v = EG_CONTAINER_NS_KNOWN;
    if (d->host.inum[EG_HOST_NS_NET] && net == d->host.inum[EG_HOST_NS_NET])
        v |= EG_CONTAINER_NS_NET;
    if (d->host.inum[EG_HOST_NS_IPC] && ipc == d->host.inum[EG_HOST_NS_IPC])
        v |= EG_CONTAINER_NS_IPC;
    if (d->host.inum[EG_HOST_NS_UTS] && uts == d->host.inum[EG_HOST_NS_UTS])
        v |= EG_CONTAINER_NS_UTS;
    c->host_ns = v;
    d->probed_gen[c->slot] = c->generation;
    d->stats.ns_probed++;
}

/* ---- start-up scan ---------------------------------------------------------------------- */

/* The first process of container `c` (cgroup.procs) that is in the host pid ns. */
static bool scan_container(struct eg_hostns_detector *d, struct eg_container *c)
{
    char path[EG_CONTAINER_PATH_MAX + 320];
    snprintf(path, sizeof(path), "%s%s/cgroup.procs", d->cgroup_mount, c->path);
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    bool found = false;
    unsigned tgid;
    while (!found && fscanf(f, "%u", &tgid) == 1) {
        uint64_t start = eg_proc_start_ns(d->proc_root, tgid);
        if (!start)
            continue;
        eg_hostns_probe_container_ns(d, c, tgid, start);
        /* A process whose children get another pid namespace (runc's init between its
         * unshare and its fork) is the runtime, not a host-pid container. */
        uint32_t children = ns_inode(d->proc_root, tgid, "pid_for_children");
        if (children && children != d->host.inum[EG_HOST_NS_PID])
            continue;
        if (ns_inode(d->proc_root, tgid, "pid") != d->host.inum[EG_HOST_NS_PID] ||
            ns_inode(d->proc_root, tgid, "mnt") == d->host.inum[EG_HOST_NS_MNT])
            continue;
        struct eg_proc *p = eg_proc_table_find(d->env.procs, tgid, start);
        if (!p)
            p = eg_proc_table_scan_pid(d->env.procs, d->proc_root, tgid, c->cgroup_id);
        if (!p || !same_start(eg_proc_start_ns(d->proc_root, tgid), p->start_ns))
            continue;
        struct eg_event_header h = {0};
        h.cgroup_id = c->cgroup_id;
        h.start_time_ns = p->start_ns;
        h.parent_start_time_ns = p->parent_start_ns;
        h.pid = h.tgid = tgid;
        h.ppid = p->ppid;
        h.ns_pid = p->ns_pid;
        h.uid = p->uid;
        h.euid = p->euid;
        h.pid_ns_inum = d->host.inum[EG_HOST_NS_PID];
        h.flags = EG_HDR_HOST_PIDNS;
        memcpy(h.comm, p->comm, sizeof(h.comm));
        eg_hostns_report_host_pidns(d, c, &h, NULL, "startupScan", eg_now_ms());
        d->stats.scan_host_pidns++;
        found = true;
    }
    fclose(f);
    return found;
}

int eg_hostns_startup_scan(struct eg_hostns_detector *d)
{
    d->scanned = true;
    if (!d->cgroup_mount[0] || !d->host.inum[EG_HOST_NS_PID])
        return 0;
    int n = 0;
    for (uint32_t i = 0; i < EG_MAX_CONTAINERS; i++) {
        struct eg_container *c = eg_container_table_by_slot(d->env.containers, i);
        if (!c || c->gone || d->reported_gen[c->slot] == c->generation)
            continue;
        n += scan_container(d, c) ? 1 : 0;
    }
    return n;
}
