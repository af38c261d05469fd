/*
 * Opening the spool: what a previous run left is scanned segment by segment, damaged frames are
 * cut out (the segment rewritten with its valid frames only, counted), segments delivered
 * before the restart are deleted, and reading resumes after the recorded ack point. A damaged
 * segment is not lost: its original is moved aside (damaged-<id>.egs, the last few kept) for
 * whoever wants to see what the crash or the disk did to it.
 */
#include "agent/outputs/spool_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/common/log.h"

/* Damaged segments kept as found; older ones are deleted at open (bounds the disk they take). */
#define DAMAGED_KEEP 4

static void damaged_path(const struct eg_spool *sp, uint64_t id, char *out, size_t len)
{
    snprintf(out, len, "%s/damaged-%016" PRIx64 ".egs", sp->dir, id);
}

/*
 * Keep the damaged segment at `path` as damaged-<id>.egs: by a second name when its repaired copy
 * is about to replace it (`keep_name`), else by renaming it. Failing to keep it loses nothing
 * the agent could still deliver, so it is logged and the repair goes on.
 */
static void move_aside(struct eg_spool *sp, uint64_t id, const char *path, bool keep_name)
{
    char aside[4200];
    damaged_path(sp, id, aside, sizeof(aside));
    unlink(aside); /* the same id damaged again: the newer damage is the one to see */
    int rc = keep_name ? link(path, aside) : rename(path, aside);
    if (rc != 0) {
        eg_log_warn("spool: cannot keep damaged segment %s as %s: %s", path, aside,
                    strerror(errno));
        if (!keep_name)
            unlink(path);
        return;
    }
    sp->st.damaged_segments++;
    eg_log_warn("spool: damaged segment kept as %s", aside);
}

static uint64_t read_ack(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/ack", dir);
    FILE *f = fopen(path, "re");
    uint64_t v = 0;
    if (f) {
        if (fscanf(f, "EGACK1 %" SCNu64, &v) != 1) {
            eg_log_warn("spool: unreadable ack file, replaying everything stored");
            v = 0;
        }
        fclose(f);
    }
    return v;
}

/*
 * The rewrite of a damaged segment (`tmp`, opened here): its header and the `good_bytes` of valid
 * frames that precede the first damage. The open fd, or -1.
 */
static int start_rewrite(int fd, const char *tmp, uint64_t good_bytes)
{
    int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0)
        return -1;
    char *prefix = good_bytes ? malloc(good_bytes) : NULL;
    if (eg_spool_write_all(out, SEG_MAGIC, SEG_HDR, 0) != 0 ||
        (good_bytes && (!prefix || eg_spool_read_all(fd, prefix, good_bytes, SEG_HDR) != 0 ||
                        eg_spool_write_all(out, prefix, good_bytes, SEG_HDR) != 0))) {
        free(prefix);
        close(out);
        unlink(tmp);
        return -1;
    }
    free(prefix);
    return out;
}

/*
 * Verify every frame of one segment. Damaged stretches are cut out by
 * rewriting the segment with only its valid frames (so the reader never
 * meets them) and counted. Returns 0 and fills *s, 1 if nothing valid is
 * left (file removed), -1 on I/O error.
 */
static int scan_segment(struct eg_spool *sp, uint64_t id, struct segment *s)
{
    char path[4200], tmp[4300];
    eg_spool_seg_path(sp, id, path, sizeof(path));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat stbuf;
    fstat(fd, &stbuf);
    uint64_t size = (uint64_t)stbuf.st_size;
    char magic[SEG_HDR];
    memset(s, 0, sizeof(*s));
    s->id = id;
    bool header_ok = size >= SEG_HDR && eg_spool_read_all(fd, magic, SEG_HDR, 0) == 0 &&
                     memcmp(magic, SEG_MAGIC, SEG_HDR) == 0;
    uint64_t off = header_ok ? SEG_HDR : 0, good_bytes = 0, nframes = 0;
    bool damaged = !header_ok;
    int out = -1; /* rewrite target, opened at the first damage */
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    uint64_t last_end = 0;
    while (off < size) {
        struct eg_spool_frame f;
        if (eg_spool_frame_read(fd, off, size, &f) != 0 || !eg_spool_frame_well_formed(&f) ||
            (nframes && f.first_seq < last_end)) {
            if (f.raw)
                free(f.raw);
            uint64_t next = eg_spool_resync(fd, off + 1, size);
            sp->st.corrupt_frames++;
            sp->st.corrupt_bytes += next - off;
            eg_log_warn("spool: %s: %" PRIu64 " damaged bytes at offset %" PRIu64 " cut out", path,
                        next - off, off);
            damaged = true;
            off = next;
            continue;
        }
        uint64_t flen = FRAME_HDR + f.comp_len;
        if (!nframes)
            s->first_seq = f.first_seq;
        last_end = f.first_seq + f.nrec;
        s->end_seq = last_end;
        s->records += f.nrec;
        nframes++;
        free(f.raw);
        if (damaged && out < 0 && (out = start_rewrite(fd, tmp, good_bytes)) < 0)
            goto io_error;
        if (out >= 0) {
            char *buf = malloc(flen);
            if (!buf || eg_spool_read_all(fd, buf, flen, (off_t)off) != 0 ||
                eg_spool_write_all(out, buf, flen, (off_t)(SEG_HDR + good_bytes)) != 0) {
                free(buf);
                goto io_error;
            }
            free(buf);
        }
        good_bytes += flen;
        off += flen;
    }
    /* Damage after the last valid frame (a torn tail): the valid frames alone make the segment. */
    if (damaged && out < 0 && nframes && (out = start_rewrite(fd, tmp, good_bytes)) < 0)
        goto io_error;
    close(fd);
    s->size = SEG_HDR + good_bytes;
    if (!nframes) {
        if (out >= 0) {
            close(out);
            unlink(tmp);
        }
        if (damaged)
            move_aside(sp, id, path, false);
        else
            unlink(path); /* a segment created and never written: nothing to see */
        return 1;
    }
    if (out >= 0) {
        if (fdatasync(out) != 0) {
            close(out);
            unlink(tmp);
            return -1;
        }
        move_aside(sp, id, path, true);
        if (close(out) != 0 || rename(tmp, path) != 0) {
            unlink(tmp);
            return -1;
        }
        eg_spool_fsync_dir(sp->dir);
    }
    return 0;
io_error:
    close(fd);
    if (out >= 0)
        close(out);
    unlink(tmp);
    return -1;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Delete all but the DAMAGED_KEEP newest damaged-<id>.egs. */
static void prune_damaged(struct eg_spool *sp)
{
    DIR *d = opendir(sp->dir);
    if (!d)
        return;
    uint64_t keep[DAMAGED_KEEP + 1];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        uint64_t id;
        char tail[8];
        if (sscanf(e->d_name, "damaged-%16" SCNx64 ".%7s", &id, tail) != 2 ||
            strcmp(tail, "egs") != 0)
            continue;
        /* Insert in order, newest first; what falls off the end is deleted. */
        size_t at = n;
        while (at > 0 && keep[at - 1] < id)
            at--;
        if (at >= DAMAGED_KEEP) {
            char path[4200];
            damaged_path(sp, id, path, sizeof(path));
            unlink(path);
            continue;
        }
        if (n == DAMAGED_KEEP) {
            char path[4200];
            damaged_path(sp, keep[DAMAGED_KEEP - 1], path, sizeof(path));
            unlink(path);
            n--;
        }
        memmove(keep + at + 1, keep + at, (n - at) * sizeof(*keep));
        keep[at] = id;
        n++;
    }
    closedir(d);
}

static int load(struct eg_spool *sp, char *err, size_t errlen)
{
    DIR *d = opendir(sp->dir);
    if (!d) {
        snprintf(err, errlen, "spool: cannot open %s: %s", sp->dir, strerror(errno));
        return -1;
    }
    uint64_t *ids = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        uint64_t id;
        char tail[8];
        if (sscanf(e->d_name, "seg-%16" SCNx64 ".%7s", &id, tail) != 2 || strcmp(tail, "egs") != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            uint64_t *nids = realloc(ids, cap * sizeof(*ids));
            if (!nids) {
                free(ids);
                closedir(d);
                snprintf(err, errlen, "spool: out of memory");
                return -1;
            }
            ids = nids;
        }
        ids[n++] = id;
    }
    closedir(d);
    if (n)
        qsort(ids, n, sizeof(*ids), cmp_u64);
    sp->ack_seq = sp->floor_seq = read_ack(sp->dir);
    uint64_t max_end = sp->ack_seq;
    for (size_t i = 0; i < n; i++) {
        struct segment s;
        int rc = scan_segment(sp, ids[i], &s);
        sp->next_id = ids[i] + 1;
        if (rc < 0) {
            snprintf(err, errlen, "spool: cannot read segment %016" PRIx64 " in %s: %s", ids[i],
                     sp->dir, strerror(errno));
            free(ids);
            return -1;
        }
        if (rc > 0)
            continue;
        if (s.end_seq > max_end)
            max_end = s.end_seq;
        if (s.end_seq <= sp->ack_seq) { /* delivered before the restart */
            char path[4200];
            eg_spool_seg_path(sp, s.id, path, sizeof(path));
            unlink(path);
            continue;
        }
        if (eg_spool_seg_push(sp, &s) != 0) {
            free(ids);
            snprintf(err, errlen, "spool: out of memory");
            return -1;
        }
        sp->total_bytes += s.size;
        sp->st.replayable_records += eg_spool_seg_unacked(sp, &s);
    }
    free(ids);
    prune_damaged(sp);
    sp->next_seq = max_end;
    sp->read_seg = sp->nsegs ? sp->segs[0].id : sp->next_id;
    sp->read_off = SEG_HDR;
    sp->read_seq = sp->ack_seq;
    return 0;
}

struct eg_spool *eg_spool_open(const struct eg_spool_opts *opts, char *err, size_t errlen)
{
    if (!opts || !opts->dir || !*opts->dir) {
        snprintf(err, errlen, "spool: no directory given");
        return NULL;
    }
    if (mkdir(opts->dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "spool: cannot create %s: %s", opts->dir, strerror(errno));
        return NULL;
    }
    struct eg_spool *sp = calloc(1, sizeof(*sp));
    if (!sp || !(sp->dir = strdup(opts->dir))) {
        free(sp);
        snprintf(err, errlen, "spool: out of memory");
        return NULL;
    }
    pthread_mutex_init(&sp->mu, NULL);
    sp->active_fd = -1;
    sp->max_bytes = opts->max_bytes ? opts->max_bytes : 256ull << 20;
    if (sp->max_bytes < (64u << 10))
        sp->max_bytes = 64u << 10;
    sp->segment_bytes = opts->segment_bytes ? opts->segment_bytes : sp->max_bytes / 8;
    if (sp->segment_bytes < (8u << 10))
        sp->segment_bytes = 8u << 10;
    if (sp->segment_bytes > (8u << 20))
        sp->segment_bytes = 8u << 20;
    if (load(sp, err, errlen) != 0) {
        eg_spool_close(sp);
        return NULL;
    }
    if (sp->st.replayable_records)
        eg_log_info("spool: %s holds %" PRIu64 " undelivered lines from a previous run", sp->dir,
                    sp->st.replayable_records);
    return sp;
}
