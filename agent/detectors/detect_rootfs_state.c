/*
 * The rootfs detector's table of files written, kept across a restart of the agent
 * (`<state-dir>/rootfs-written.state`, docs/reliability.md): without it, a binary written
 * before a restart and run after it is still NewBinaryExecuted on an overlay root (the kernel
 * reads the executable's upper layer) but without who wrote it and when. Written atomically
 * (temporary file, fdatasync, rename) at most every five seconds while the table changed, and
 * at shutdown; read back at start only when it was written during this boot (cgroup ids and
 * inode numbers mean nothing after a reboot) and its checksum holds. A file that does not is a
 * warning, counted, and a fresh table, never a failure to start.
 *
 * Format (host byte order: the file never leaves the host that wrote it): a header (magic,
 * version, boot id, record count), each record (its key, the writer's ids and times, then
 * comm, exe and path as length-prefixed strings), and a CRC-32 of everything before it.
 */
#include "agent/detectors/detect_rootfs_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "agent/common/log.h"

#define STATE_FILE "rootfs-written.state"
#define STATE_MAGIC "EGRWRTN"
#define STATE_VERSION 1u
#define SAVE_EVERY_MS 5000

struct state_header {
    char magic[8];
    uint32_t version;
    uint32_t count;
    char boot_id[40];
};

/* A record's fixed part; comm, exe and path follow, each a uint16_t length and its bytes. */
struct state_record {
    uint64_t cg, ino, seq, ts_ns, start_ns;
    uint32_t dev, pid, ns_pid, uid;
};

static void read_boot_id(char out[40])
{
    memset(out, 0, 40);
    int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, out, 39);
    close(fd);
    for (ssize_t i = 0; i < n; i++)
        if (out[i] == '\n')
            out[i] = '\0';
}

void eg_rootfs_state_open(struct eg_rootfs_detector *d, const char *dir)
{
    if (!dir || !dir[0])
        return;
    int n = snprintf(d->state_path, sizeof(d->state_path), "%s/" STATE_FILE, dir);
    if (n < 0 || (size_t)n >= sizeof(d->state_path)) {
        d->state_path[0] = '\0';
        return;
    }
    read_boot_id(d->boot_id);
}

/* A checksummed writer over a FILE. */
struct crc_out {
    FILE *fp;
    uLong crc;
    bool failed;
};

static void put(struct crc_out *o, const void *p, size_t n)
{
    if (o->failed)
        return;
    o->crc = crc32(o->crc, p, (uInt)n);
    if (fwrite(p, 1, n, o->fp) != n)
        o->failed = true;
}

static void put_str(struct crc_out *o, const char *s, size_t cap)
{
    uint16_t n = (uint16_t)strnlen(s, cap);
    put(o, &n, sizeof(n));
    put(o, s, n);
}

static int write_state(struct eg_rootfs_detector *d, const char *tmp)
{
    FILE *fp = fopen(tmp, "we");
    if (!fp)
        return -1;
    struct crc_out o = {.fp = fp, .crc = crc32(0L, Z_NULL, 0)};
    struct state_header h = {.version = STATE_VERSION, .count = d->n_written};
    memcpy(h.magic, STATE_MAGIC, sizeof(h.magic));
    memcpy(h.boot_id, d->boot_id, sizeof(h.boot_id));
    put(&o, &h, sizeof(h));
    for (uint32_t i = 0; i < d->n_written; i++) {
        const struct written_key *k = &d->written_keys[i];
        const struct written *w = &d->written[i];
        struct state_record r = {.cg = k->cg,
                                 .ino = k->ino,
                                 .seq = k->seq,
                                 .ts_ns = w->ts_ns,
                                 .start_ns = w->start_ns,
                                 .dev = k->dev,
                                 .pid = w->pid,
                                 .ns_pid = w->ns_pid,
                                 .uid = w->uid};
        put(&o, &r, sizeof(r));
        put_str(&o, w->comm, sizeof(w->comm));
        put_str(&o, w->exe, sizeof(w->exe));
        put_str(&o, w->path, sizeof(w->path));
    }
    uint32_t crc = (uint32_t)o.crc;
    if (!o.failed && fwrite(&crc, 1, sizeof(crc), fp) != sizeof(crc))
        o.failed = true;
    int err = 0;
    if (o.failed || fflush(fp) != 0 || fdatasync(fileno(fp)) != 0)
        err = errno ? errno : EIO;
    if (fclose(fp) != 0 && !err)
        err = errno;
    if (err) {
        unlink(tmp);
        errno = err;
        return -1;
    }
    return 0;
}

void eg_rootfs_state_save(struct eg_rootfs_detector *d, uint64_t now_ms, bool final)
{
    if (!d->state_path[0] || !d->written_changed)
        return;
    if (!final && now_ms < d->state_saved_ms + SAVE_EVERY_MS)
        return;
    d->state_saved_ms = now_ms;
    char tmp[sizeof(d->state_path) + 24];
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", d->state_path, (long)getpid());
    if (write_state(d, tmp) != 0 || rename(tmp, d->state_path) != 0) {
        int err = errno;
        unlink(tmp);
        if (d->stats.written_state_save_failures++ == 0 || final)
            eg_log_error("cannot write the written-files state %s: %s (%" PRIu64 " failed writes)",
                         d->state_path, strerror(err), d->stats.written_state_save_failures);
        return;
    }
    d->written_changed = false;
    d->stats.written_state_saves++;
}

/* A checksummed reader over a buffer. */
struct crc_in {
    const unsigned char *p, *end;
    bool short_read;
};

static bool take(struct crc_in *in, void *dst, size_t n)
{
    if ((size_t)(in->end - in->p) < n) {
        in->short_read = true;
        return false;
    }
    memcpy(dst, in->p, n);
    in->p += n;
    return true;
}

static bool take_str(struct crc_in *in, char *dst, size_t cap)
{
    uint16_t n;
    if (!take(in, &n, sizeof(n)) || n >= cap)
        return false;
    if (!take(in, dst, n))
        return false;
    dst[n] = '\0';
    return true;
}

/*
 * Why the records of `in` (after the header) do not parse, or NULL; with `restore`, each is
 * put into `d`. Run once to check and once to restore: a table is taken whole or not at all.
 */
static const char *records(struct eg_rootfs_detector *d, struct crc_in in, uint32_t count,
                           bool restore)
{
    for (uint32_t i = 0; i < count; i++) {
        struct state_record r;
        struct written w = {0};
        if (!take(&in, &r, sizeof(r)) || !take_str(&in, w.comm, sizeof(w.comm)) ||
            !take_str(&in, w.exe, sizeof(w.exe)) || !take_str(&in, w.path, sizeof(w.path)))
            return "a record does not parse";
        if (!restore)
            continue;
        w.ts_ns = r.ts_ns;
        w.start_ns = r.start_ns;
        w.pid = r.pid;
        w.ns_pid = r.ns_pid;
        w.uid = r.uid;
        struct written_key k = {.cg = r.cg, .ino = r.ino, .seq = r.seq, .dev = r.dev};
        if (eg_rootfs_restore_written(d, &k, &w))
            d->stats.written_state_loaded++;
    }
    return in.p == in.end ? NULL : "bytes after the last record";
}

const char *eg_rootfs_state_load_buffer(struct eg_rootfs_detector *d, const unsigned char *buf,
                                        size_t len)
{
    if (len < sizeof(struct state_header) + sizeof(uint32_t))
        return "too short";
    uint32_t crc;
    memcpy(&crc, buf + len - sizeof(crc), sizeof(crc));
    if ((uint32_t)crc32(crc32(0L, Z_NULL, 0), buf, (uInt)(len - sizeof(crc))) != crc)
        return "checksum mismatch (damaged or truncated)";
    struct crc_in in = {.p = buf, .end = buf + len - sizeof(crc)};
    struct state_header h;
    take(&in, &h, sizeof(h));
    if (memcmp(h.magic, STATE_MAGIC, sizeof(h.magic)) != 0 || h.version != STATE_VERSION)
        return "not a written-files state of this version";
    if (!d->boot_id[0] || memcmp(h.boot_id, d->boot_id, sizeof(h.boot_id)) != 0)
        return "written before this boot";
    if (h.count > EG_ROOTFS_WRITTEN_SLOTS)
        return "more records than the table holds";
    const char *why = records(d, in, h.count, false);
    if (!why)
        records(d, in, h.count, true);
    return why;
}

void eg_rootfs_state_load(struct eg_rootfs_detector *d)
{
    if (!d->state_path[0])
        return;
    FILE *fp = fopen(d->state_path, "re");
    if (!fp) {
        if (errno != ENOENT)
            eg_log_warn("written-files state %s: %s (a fresh table)", d->state_path,
                        strerror(errno));
        return;
    }
    /* Bounded: a full table of the longest records, and the header and checksum. */
    size_t cap = sizeof(struct state_header) + sizeof(uint32_t) +
                 (size_t)EG_ROOTFS_WRITTEN_SLOTS *
                     (sizeof(struct state_record) + 6 + EG_COMM_LEN + 2 * EG_PATH_LEN);
    unsigned char *buf = malloc(cap + 1);
    size_t len = buf ? fread(buf, 1, cap + 1, fp) : 0;
    fclose(fp);
    const char *why = !buf ? "out of memory" : len > cap ? "larger than a full table" : NULL;
    if (!why)
        why = eg_rootfs_state_load_buffer(d, buf, len);
    free(buf);
    if (why) {
        d->stats.written_state_rejected++;
        eg_log_warn("written-files state %s not used: %s (a fresh table)", d->state_path, why);
        return;
    }
    eg_log_info("written-files state %s: %" PRIu64 " files written before the restart",
                d->state_path, d->stats.written_state_loaded);
}
