/*
 * The module file is looked up by path through a process's root, which the container can
 * change after the load: what decides is the file's identity (the kernel's device and inode at
 * the load) and its ctime, never the path. It is opened O_PATH without following a last link
 * (nothing is read and no device or FIFO is opened until its identity matched), then reopened
 * for reading through /proc/self/fd.
 */
#include "agent/detectors/module_file_hash.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static uint64_t ctime_ns(const struct stat *st)
{
    return (uint64_t)st->st_ctim.tv_sec * 1000000000ull + (uint64_t)st->st_ctim.tv_nsec;
}

#define OVERLAYFS_MAGIC 0x794c7630 /* include/uapi/linux/magic.h */

/*
 * A regular file of an overlay (a container image's file, or a host whose root is one) is the
 * overlay's inode in the kernel's record, while stat(2) may give its layer's device instead
 * (layers on different file systems without xino): its inode number is the same, and the
 * overlay's device is what its directory reports. So the file is the loaded one when it is on
 * an overlay and its directory, looked up beside it, is on device `dev`.
 */
static bool overlay_file_of(int rootfd, const char *path, int fd, dev_t dev)
{
    struct statfs fs;
    if (fstatfs(fd, &fs) != 0 || (unsigned long)fs.f_type != OVERLAYFS_MAGIC)
        return false;
    char dir[4096];
    const char *slash = strrchr(path, '/');
    snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    struct stat dst;
    return fstatat(rootfd, dir, &dst, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(dst.st_mode) &&
           dst.st_dev == dev;
}

/* The loaded file under root `rootfd`: an O_PATH fd and its stat, or -1. */
static int open_loaded(int rootfd, const char *path, uint32_t kdev, uint64_t ino, struct stat *st)
{
    while (*path == '/')
        path++;
    if (!*path)
        return -1;
    int fd = openat(rootfd, path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    dev_t dev = makedev(kdev >> 20, kdev & 0xfffffu);
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode) || (uint64_t)st->st_ino != ino ||
        (st->st_dev != dev && !overlay_file_of(rootfd, path, fd, dev))) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool digest_fd(int fd, char hex[65])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;
    unsigned char buf[65536];
    ssize_t n;
    while (ok && (n = read(fd, buf, sizeof(buf))) != 0)
        ok = n > 0 && EVP_DigestUpdate(md, buf, (size_t)n) == 1;
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    ok = ok && EVP_DigestFinal_ex(md, out, &len) == 1 && len == 32;
    EVP_MD_CTX_free(md);
    for (unsigned i = 0; ok && i < len; i++)
        snprintf(hex + 2 * i, 3, "%02x", out[i]);
    return ok;
}

enum eg_module_hash_outcome eg_module_file_sha256(const char *proc_root, const uint32_t *pids,
                                                  int n_pids, const char *path, uint32_t kdev,
                                                  uint64_t ino, uint64_t loaded_epoch_ns,
                                                  char hex[65])
{
    hex[0] = '\0';
    for (int i = 0; i < n_pids; i++) {
        char p[128];
        if (pids[i])
            snprintf(p, sizeof(p), "%s/%u/root", proc_root, pids[i]);
        else
            snprintf(p, sizeof(p), "/");
        int rootfd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
            continue;
        struct stat st;
        int fd = open_loaded(rootfd, path, kdev, ino, &st);
        close(rootfd);
        if (fd < 0)
            continue;
        if (ctime_ns(&st) > loaded_epoch_ns) {
            close(fd);
            return EG_MODULE_FILE_CHANGED;
        }
        if ((uint64_t)st.st_size > EG_MODULE_HASH_MAX_BYTES) {
            close(fd);
            return EG_MODULE_FILE_TOO_LARGE;
        }
        char self[64];
        snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
        int rfd = open(self, O_RDONLY | O_CLOEXEC);
        close(fd);
        if (rfd < 0)
            continue;
        struct stat after;
        bool ok = digest_fd(rfd, hex);
        /* Changed while it was read: the digest is of neither version. */
        if (ok && (fstat(rfd, &after) != 0 || ctime_ns(&after) != ctime_ns(&st))) {
            close(rfd);
            hex[0] = '\0';
            return EG_MODULE_FILE_CHANGED;
        }
        close(rfd);
        if (ok)
            return EG_MODULE_HASHED;
        hex[0] = '\0';
    }
    return EG_MODULE_FILE_GONE;
}

const char *eg_module_hash_outcome_name(enum eg_module_hash_outcome o)
{
    switch (o) {
    case EG_MODULE_HASHED:
        return "hashed";
    case EG_MODULE_FILE_GONE:
        return "fileGone";
    case EG_MODULE_FILE_CHANGED:
        return "fileChangedSinceLoad";
    case EG_MODULE_FILE_TOO_LARGE:
        return "fileTooLarge";
    }
    return "unknown";
}
