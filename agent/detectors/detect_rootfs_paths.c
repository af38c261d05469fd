/*
 * Whether a path operation (mkdir, rename, unlink, chmod...) landed on the container's root
 * filesystem: the kernel sends the path as the caller gave it, and it is resolved here against
 * the mount table of the caller's mount namespace (collectors/mount_table.c), read through a
 * process that is still alive.
 */
#include "agent/detectors/detect_rootfs_internal.h"

#include <stdio.h>

#include "agent/common/json_text.h"

#define CGROUP_PIDS 8 /* live processes tried for a mount table */

/* Up to `max` pids of the processes in container `w` (cgroup.procs of the tracked hierarchy). */
static int container_pids(struct eg_rootfs_detector *d, const struct eg_where *w, uint32_t *out,
                          int max)
{
    if (!w->cgroup_path[0] || !d->env.kernel.cgroup_mount || !d->env.kernel.cgroup_mount[0])
        return 0;
    char path[EG_CONTAINER_PATH_MAX + 300];
    snprintf(path, sizeof(path), "%s%s/cgroup.procs", d->env.kernel.cgroup_mount, w->cgroup_path);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    int n = 0;
    unsigned v;
    while (n < max && fscanf(f, "%u", &v) == 1)
        out[n++] = v;
    fclose(f);
    return n;
}

/* Resolve one path of a path op to an absolute path on the root mount; false when not. */
bool eg_rootfs_pathop_on_rootfs(struct eg_rootfs_detector *d, const struct eg_event_header *h,
                                const struct eg_where *w, uint32_t flags, const char *base_raw,
                                const char *path_raw, char *out, size_t outlen)
{
    char base[EG_PATH_LEN], path[EG_PATH_LEN];
    eg_utf8_copy(base_raw, EG_PATH_LEN, base, sizeof(base));
    eg_utf8_copy(path_raw, EG_PATH_LEN, path, sizeof(path));
    if ((flags & (EG_PATHOP_UNRESOLVED | EG_PATHOP_TRUNCATED)) ||
        eg_path_resolve(base, path, out, outlen) < 0) {
        d->stats.unresolved++;
        return false;
    }
    /*
     * The caller is often gone by now (mkdir, mv, rm): try its parent, then the container's
     * live processes. Their list costs an open and a read of cgroup.procs, so it is only read
     * when neither of the first two can be read through (a namespace already cached needs
     * neither alive).
     */
    uint32_t pids[2 + CGROUP_PIDS] = {h->tgid, h->ppid};
    const struct eg_mount_table *t = eg_mount_cache_get_any(d->mounts, h->mnt_ns_inum, pids, 2);
    if (!t) {
        int n = container_pids(d, w, pids + 2, CGROUP_PIDS);
        t = eg_mount_cache_get_any(d->mounts, h->mnt_ns_inum, pids + 2, n);
    }
    if (!t) {
        d->stats.unresolved++;
        return false;
    }
    const struct eg_mount *m = eg_mount_table_find(t, out);
    if (!eg_mount_is_root(m)) {
        d->stats.not_rootfs++;
        return false;
    }
    return true;
}
