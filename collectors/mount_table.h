/*
 * A container's mounts as its own processes see them (/proc/<pid>/mountinfo),
 * to decide on which mount a path named by a path-only syscall (unlink,
 * rename, mkdir...) lands: the root mount is the container's root filesystem;
 * volumes, bind mounts, EFS and tmpfs are mounts of their own.
 *
 * Tables are cached per mount namespace and re-read when the kernel says
 * the namespace's mounts changed (mountinfo polls POLLPRI on a change), so
 * a mount made inside the container is seen before the next lookup.
 */
#ifndef ECSGUARD_MOUNT_TABLE_H
#define ECSGUARD_MOUNT_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EG_MOUNT_POINT_MAX 256
#define EG_MOUNTS_MAX 256 /* per namespace; more are counted as truncated */
#define EG_MOUNT_CACHE_NS 64

struct eg_mount {
    int mount_id, parent_id;
    char mount_point[EG_MOUNT_POINT_MAX]; /* unescaped, as seen from the process's root */
    char fstype[32];
};

struct eg_mount_table {
    int n;
    bool truncated; /* more mounts than EG_MOUNTS_MAX, or a line too long */
    struct eg_mount m[EG_MOUNTS_MAX];
};

/* Parse mountinfo text. Returns the number of mounts, -1 when no line parsed. */
int eg_mount_table_parse(const char *text, size_t len, struct eg_mount_table *t);

/*
 * The mount `abs_path` (absolute, normalized) lands on: the longest mount
 * point that is a whole-component prefix; of several mounts on the same
 * point, the last one (it hides the others). NULL when the table is empty.
 */
const struct eg_mount *eg_mount_table_find(const struct eg_mount_table *t, const char *abs_path);

/* Whether `m` is the root mount ("/"). */
bool eg_mount_is_root(const struct eg_mount *m);

/*
 * Join `path` to `base` (when path is relative) and normalize: no "//",
 * no "." and ".." components (".." stops at "/", as the kernel does at a
 * process's root). Returns the length, or -1 when a relative path has no
 * base or the result does not fit in outlen.
 */
int eg_path_resolve(const char *base, const char *path, char *out, size_t outlen);

/*
 * `literal` (absolute, normalized) with its symlinks resolved as the kernel's walk resolves
 * them, inside the directory `rootfd` taken as "/" (e.g. an O_PATH fd of /proc/<pid>/root):
 * every directory component, and the last one when `follow_last`. "." and ".." are applied
 * here, never handed to the kernel, so no lookup leaves that root; a component that is not a
 * symlink (or does not exist) is kept as named. Returns 0, or -1 (more than 40 links, too
 * long for `out`).
 */
int eg_path_resolve_links(int rootfd, const char *literal, bool follow_last, char *out,
                          size_t outlen);

struct eg_mount_cache;

struct eg_mount_cache_stats {
    uint64_t reads, read_errors, rereads_on_change, evictions;
};

/* `proc_root`: "/proc" (tests may point elsewhere). */
struct eg_mount_cache *eg_mount_cache_new(const char *proc_root);
void eg_mount_cache_free(struct eg_mount_cache *c);
/*
 * The mount table of mount namespace `mnt_ns`, read through process `pid`
 * (host pid) the first time, when the namespace's mounts changed, or when
 * the process it was read through is gone. NULL when it cannot be read.
 */
const struct eg_mount_table *eg_mount_cache_get(struct eg_mount_cache *c, uint32_t mnt_ns,
                                                uint32_t pid);
/* The same, trying each candidate process (e.g. the event's process, its parent, the
 * container's other processes) until one is still in `mnt_ns`. */
const struct eg_mount_table *eg_mount_cache_get_any(struct eg_mount_cache *c, uint32_t mnt_ns,
                                                    const uint32_t *pids, int n_pids);
void eg_mount_cache_get_stats(struct eg_mount_cache *c, struct eg_mount_cache_stats *out);

#endif
