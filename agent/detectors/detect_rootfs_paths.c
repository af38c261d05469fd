/*
 * Whether a path operation (mkdir, rename, unlink, chmod...) landed on the container's root
 * filesystem, and which file it named: the kernel sends the path as the caller gave it; it is
 * joined to its base, its symlinks are resolved inside the container's root (/proc/<pid>/root)
 * and the result is decided against the mount table of the caller's mount namespace
 * (collectors/mount_table.c), both read through a process that is still alive. Where the
 * kernel decided at the operation's LSM hook (EG_PATHOP_NAME_ON_ROOT / _OFF_ROOT: kernels that
 * allow fentry), its verdict stands and no mount table is read.
 */
#include "agent/detectors/detect_rootfs_internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/common/json_text.h"
#include "collectors/cgroup_procs.h"

#define CGROUP_PIDS 8 /* live processes tried for a mount table */

/* Up to `max` pids of the processes in container `w` (cgroup.procs of the tracked hierarchy). */
static int container_pids(struct eg_rootfs_detector *d, const struct eg_where *w, uint32_t *out,
                          int max)
{
    return eg_cgroup_procs(d->env.kernel.cgroup_mount, w->cgroup_path, out, max);
}

static bool in_mnt_ns(const char *proc_root, uint32_t pid, uint32_t mnt_ns)
{
    char p[96];
    struct stat st;
    snprintf(p, sizeof(p), "%s/%u/ns/mnt", proc_root, pid);
    return stat(p, &st) == 0 && (uint32_t)st.st_ino == mnt_ns;
}

/*
 * An O_PATH fd of the root directory of the first of `pids` still in mount namespace `mnt_ns`
 * (checked again after the open: the pid may have been reused in between), or -1.
 */
static int open_container_root(const char *proc_root, uint32_t mnt_ns, const uint32_t *pids, int n)
{
    for (int i = 0; i < n; i++) {
        if (!pids[i] || !in_mnt_ns(proc_root, pids[i], mnt_ns))
            continue;
        char p[96];
        snprintf(p, sizeof(p), "%s/%u/root", proc_root, pids[i]);
        int fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            continue;
        if (in_mnt_ns(proc_root, pids[i], mnt_ns))
            return fd;
        close(fd);
    }
    return -1;
}

/* The op's last component is followed by the kernel (chmod, truncate, utimes). */
static bool follows_last(uint32_t op)
{
    return op == EG_ROOTFS_OP_CHMOD || op == EG_ROOTFS_OP_TRUNCATE || op == EG_ROOTFS_OP_SETTIMES;
}

/*
 * A path op on one name in a directory whose path is longer than the kernel keeps (a
 * directory chain deeper than EG_PATH_LEN, or a name that makes the joined path longer): the
 * agent cannot name the directory, but the kernel saw that it is on the container's root mount
 * (EG_PATHOP_BASE_ON_ROOT), and an op on a single name that is not followed changes that
 * directory: the root filesystem. Named "<unresolved directory>/NAME" (never a path that could
 * match a policy pattern or a sensitive file) and counted, so that a container cannot hide
 * renames, unlinks or mkdirs below a deep directory from the finding's counts. A followed last
 * name (chmod, truncate, times) may lead anywhere through a link: left unresolved.
 */
static bool in_unresolved_dir(uint32_t op, uint32_t flags, const char *path,
                              struct eg_rootfs_names *out)
{
    if (!(flags & EG_PATHOP_BASE_ON_ROOT) || (flags & (EG_PATHOP_TRUNCATED | EG_PATHOP_IN_CHROOT)))
        return false;
    if (!path[0] || path[0] == '/' || strchr(path, '/') || strcmp(path, ".") == 0 ||
        strcmp(path, "..") == 0 || follows_last(op))
        return false;
    int n = snprintf(out->literal, sizeof(out->literal), "<unresolved directory>/%s", path);
    if (n < 0 || (size_t)n >= sizeof(out->literal))
        snprintf(out->literal, sizeof(out->literal), "<unresolved directory>/<long name>");
    memcpy(out->resolved, out->literal, sizeof(out->resolved));
    return true;
}

bool eg_rootfs_pathop_on_rootfs(struct eg_rootfs_detector *d, const struct eg_event_header *h,
                                const struct eg_where *w, uint32_t op, uint32_t flags,
                                bool caller_chrooted, const char *base_raw, const char *path_raw,
                                const char *kname_raw, struct eg_rootfs_names *out)
{
    char base[EG_PATH_LEN], path[EG_PATH_LEN];
    eg_utf8_copy(base_raw, EG_PATH_LEN, base, sizeof(base));
    eg_utf8_copy(path_raw, EG_PATH_LEN, path, sizeof(path));
    /*
     * After a chroot an absolute path is relative to the caller's root, whose path from the
     * container's root is the base: normalized on its own first, so ".." stops at that root
     * as the kernel's walk does.
     */
    if ((flags & EG_PATHOP_IN_CHROOT) && path[0] == '/') {
        char inner[EG_PATH_LEN];
        if (eg_path_resolve("/", path, inner, sizeof(inner)) < 0)
            inner[0] = '\0';
        snprintf(path, sizeof(path), "%s", inner[1] ? inner + 1 : ".");
    }
    bool literal_ok = !(flags & (EG_PATHOP_UNRESOLVED | EG_PATHOP_TRUNCATED)) &&
                      eg_path_resolve(base, path, out->literal, sizeof(out->literal)) >= 0;
    /*
     * The kernel named the file on the root filesystem from the dentry the operation acted on
     * (EG_PATHOP_KERNEL_NAMED): that is its name, whatever the links it was reached through
     * lead to now and whether any process of the container still lives.
     */
    if ((flags & EG_PATHOP_NAME_ON_ROOT) && (flags & EG_PATHOP_KERNEL_NAMED) &&
        kname_raw[0] == '/') {
        eg_utf8_copy(kname_raw, EG_PATH_LEN, out->resolved, sizeof(out->resolved));
        if (!literal_ok)
            memcpy(out->literal, out->resolved, sizeof(out->literal));
        d->stats.decided_in_kernel++;
        d->stats.named_in_kernel++;
        return true;
    }
    if (!literal_ok) {
        if (in_unresolved_dir(op, flags, path, out)) {
            d->stats.in_unresolved_dir++;
            return true;
        }
        d->stats.unresolved++;
        return false;
    }
    /* The kernel had the file (fd-based change): its path is resolved and on the root mount. */
    if (flags & EG_PATHOP_FILE_ON_ROOT) {
        memcpy(out->resolved, out->literal, sizeof(out->resolved));
        return true;
    }
    /* The kernel saw the name on another mount at the operation's LSM hook. */
    if (flags & EG_PATHOP_NAME_OFF_ROOT) {
        d->stats.not_rootfs++;
        return false;
    }
    /*
     * ... or on the root filesystem: decided, whether or not a process of the container still
     * lives (one that exits at once leaves no mount table to read). Its links are still
     * resolved below when one does, for the name the file really has.
     */
    bool kernel_on_root = (flags & EG_PATHOP_NAME_ON_ROOT) != 0;
    /*
     * The caller is often gone by now (mkdir, mv, rm): try its parent, then the container's
     * live processes. Their list costs an open and a read of cgroup.procs, so it is only read
     * when neither of the first two can be read through (a namespace already cached needs
     * neither alive).
     */
    /*
     * A chrooted caller sees its chroot's mounts and root, not the container's: it is not read
     * through (its parent and the container's other processes are).
     */
    uint32_t pids[2 + CGROUP_PIDS] = {caller_chrooted ? 0 : h->tgid, h->ppid};
    int n = 2;
    int rootfd = open_container_root(d->proc_root, h->mnt_ns_inum, pids, n);
    const struct eg_mount_table *t =
        kernel_on_root ? NULL : eg_mount_cache_get_any(d->mounts, h->mnt_ns_inum, pids, 2);
    bool need_table = !kernel_on_root && !t;
    if (need_table || rootfd < 0) {
        n += container_pids(d, w, pids + 2, CGROUP_PIDS);
        if (rootfd < 0)
            rootfd = open_container_root(d->proc_root, h->mnt_ns_inum, pids + 2, n - 2);
        if (need_table)
            t = eg_mount_cache_get_any(d->mounts, h->mnt_ns_inum, pids + 2, n - 2);
    }
    /* Without a live process the literal path stands (counted): the links cannot be read. */
    if (rootfd < 0 || eg_path_resolve_links(rootfd, out->literal, follows_last(op), out->resolved,
                                            sizeof(out->resolved)) != 0) {
        d->stats.links_unresolved++;
        memcpy(out->resolved, out->literal, sizeof(out->resolved));
    }
    if (rootfd >= 0)
        close(rootfd);
    if (kernel_on_root) {
        d->stats.decided_in_kernel++;
        return true;
    }
    if (!t) {
        d->stats.unresolved++;
        return false;
    }
    const struct eg_mount *m = eg_mount_table_find(t, out->resolved);
    if (!eg_mount_is_root(m)) {
        d->stats.not_rootfs++;
        return false;
    }
    return true;
}
