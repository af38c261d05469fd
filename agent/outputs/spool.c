#include "agent/outputs/spool.h"
#include "agent/common/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#define SEG_MAGIC "EGSPOOL1"
#define SEG_HDR 8u
#define FRAME_MAGIC 0x31464745u /* "EGF1" little-endian */
#define FRAME_HDR 28u
#define REC_HDR 12u                 /* ts u64 + len u32 */
#define FRAME_RAW_MAX (1u << 20)    /* lines grouped per frame */
#define FRAME_RAW_LIMIT (64u << 20) /* sanity bound when reading */

struct segment {
    uint64_t id;
    uint64_t first_seq;
    uint64_t end_seq; /* exclusive */
    uint64_t size;    /* bytes of valid frames, header included */
    uint64_t records; /* fewer than end_seq - first_seq when damaged frames were cut out */
};

struct eg_spool {
    pthread_mutex_t mu;
    char *dir;
    uint64_t max_bytes, segment_bytes;
    struct segment *segs; /* ordered by id; the last one is active when active_fd >= 0 */
    size_t nsegs, cap;
    int active_fd;
    uint64_t next_id, next_seq;
    uint64_t ack_seq;                      /* seq < ack_seq delivered */
    uint64_t floor_seq;                    /* seq < floor_seq delivered or dropped */
    uint64_t read_seg, read_off, read_seq; /* reader cursor */
    uint64_t total_bytes;
    struct eg_spool_stats st;
};

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void seg_path(const struct eg_spool *sp, uint64_t id, char *out, size_t len)
{
    snprintf(out, len, "%s/seg-%016" PRIx64 ".egs", sp->dir, id);
}

static void fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static int write_all(int fd, const void *buf, size_t len, off_t off)
{
    const char *p = buf;
    while (len) {
        ssize_t w = pwrite(fd, p, len, off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (w == 0) {
            errno = EIO;
            return -1;
        }
        p += w;
        len -= (size_t)w;
        off += w;
    }
    return 0;
}

static int read_all(int fd, void *buf, size_t len, off_t off)
{
    char *p = buf;
    while (len) {
        ssize_t r = pread(fd, p, len, off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        len -= (size_t)r;
        off += r;
    }
    return 0;
}

/* ---- frames ---------------------------------------------------------------------------- */

struct frame {
    uint32_t nrec, raw_len, comp_len;
    uint64_t first_seq;
    unsigned char *raw; /* decompressed records */
};

/* Read and verify the frame at off; 0 ok (raw allocated), -1 damaged or short. */
static int frame_read(int fd, uint64_t off, uint64_t limit, struct frame *f)
{
    unsigned char h[FRAME_HDR];
    memset(f, 0, sizeof(*f));
    if (off + FRAME_HDR > limit || read_all(fd, h, FRAME_HDR, (off_t)off) != 0)
        return -1;
    if (get32(h) != FRAME_MAGIC)
        return -1;
    f->nrec = get32(h + 4);
    f->raw_len = get32(h + 8);
    f->comp_len = get32(h + 12);
    f->first_seq = get64(h + 16);
    uint32_t crc_want = get32(h + 24);
    if (f->nrec == 0 || f->raw_len > FRAME_RAW_LIMIT || f->comp_len > compressBound(f->raw_len) ||
        (uint64_t)f->nrec * REC_HDR > f->raw_len || off + FRAME_HDR + f->comp_len > limit)
        return -1;
    unsigned char *comp = malloc(f->comp_len ? f->comp_len : 1);
    f->raw = malloc(f->raw_len ? f->raw_len : 1);
    int rc = -1;
    if (comp && f->raw && read_all(fd, comp, f->comp_len, (off_t)(off + FRAME_HDR)) == 0) {
        uLong crc = crc32(0L, h, 24);
        crc = crc32(crc, comp, f->comp_len);
        uLongf raw_len = f->raw_len;
        if ((uint32_t)crc == crc_want && uncompress(f->raw, &raw_len, comp, f->comp_len) == Z_OK &&
            raw_len == f->raw_len)
            rc = 0;
    }
    free(comp);
    if (rc != 0) {
        free(f->raw);
        f->raw = NULL;
    }
    return rc;
}

/* Split a verified frame into records; -1 if its inner lengths do not add up. */
static int frame_records(const struct frame *f, uint64_t skip_below, struct eg_spool_record **out,
                         size_t *n)
{
    struct eg_spool_record *recs = calloc(f->nrec, sizeof(*recs));
    if (!recs)
        return -1;
    size_t off = 0, count = 0;
    for (uint32_t i = 0; i < f->nrec; i++) {
        if (off + REC_HDR > f->raw_len)
            goto bad;
        uint64_t ts = get64(f->raw + off);
        uint32_t len = get32(f->raw + off + 8);
        off += REC_HDR;
        if (len > f->raw_len - off)
            goto bad;
        uint64_t seq = f->first_seq + i;
        if (seq >= skip_below) {
            recs[count].seq = seq;
            recs[count].ts_ms = ts;
            recs[count].len = len;
            recs[count].data = malloc((size_t)len + 1);
            if (!recs[count].data)
                goto bad;
            memcpy(recs[count].data, f->raw + off, len);
            recs[count].data[len] = '\0';
            count++;
        }
        off += len;
    }
    if (off != f->raw_len)
        goto bad;
    if (count == 0) { /* every line of this frame was acked or dropped already */
        free(recs);
        recs = NULL;
    }
    *out = recs;
    *n = count;
    return 0;
bad:
    eg_spool_records_free(recs, count);
    return -1;
}

void eg_spool_records_free(struct eg_spool_record *recs, size_t n)
{
    for (size_t i = 0; recs && i < n; i++)
        free(recs[i].data);
    free(recs);
}

/* ---- segments -------------------------------------------------------------------------- */

static int seg_push(struct eg_spool *sp, const struct segment *s)
{
    if (sp->nsegs == sp->cap) {
        size_t cap = sp->cap ? sp->cap * 2 : 16;
        struct segment *n = realloc(sp->segs, cap * sizeof(*n));
        if (!n)
            return -1;
        sp->segs = n;
        sp->cap = cap;
    }
    sp->segs[sp->nsegs++] = *s;
    return 0;
}

static uint64_t seg_unacked(const struct eg_spool *sp, const struct segment *s)
{
    if (sp->floor_seq <= s->first_seq)
        return s->records;
    uint64_t left = s->end_seq > sp->floor_seq ? s->end_seq - sp->floor_seq : 0;
    return left < s->records ? left : s->records;
}

static void seal_active(struct eg_spool *sp)
{
    if (sp->active_fd >= 0) {
        close(sp->active_fd);
        sp->active_fd = -1;
    }
}

/* Delete the oldest segment; `dropping` means its unacked lines are lost and counted. */
static void seg_remove_oldest(struct eg_spool *sp, bool dropping)
{
    struct segment s = sp->segs[0];
    if (sp->nsegs == 1)
        seal_active(sp);
    char path[4200];
    seg_path(sp, s.id, path, sizeof(path));
    if (unlink(path) != 0 && errno != ENOENT)
        eg_log_warn("spool: cannot delete %s: %s", path, strerror(errno));
    if (dropping) {
        uint64_t lost = seg_unacked(sp, &s);
        sp->st.dropped_records += lost;
        sp->st.dropped_bytes += s.size;
        if (lost)
            eg_log_warn("spool: full (%" PRIu64 " bytes max): dropped %" PRIu64
                        " oldest undelivered lines",
                        sp->max_bytes, lost);
    }
    if (s.end_seq > sp->floor_seq)
        sp->floor_seq = s.end_seq;
    sp->total_bytes -= s.size;
    memmove(sp->segs, sp->segs + 1, (sp->nsegs - 1) * sizeof(*sp->segs));
    sp->nsegs--;
    if (sp->read_seg == s.id) { /* reader moves on to what is left */
        sp->read_seg = sp->nsegs ? sp->segs[0].id : sp->next_id;
        sp->read_off = SEG_HDR;
    }
}

static int open_active(struct eg_spool *sp, int *err_no)
{
    char path[4200];
    struct segment s = {
        .id = sp->next_id, .first_seq = sp->next_seq, .end_seq = sp->next_seq, .size = SEG_HDR};
    seg_path(sp, s.id, path, sizeof(path));
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        *err_no = errno;
        return -1;
    }
    if (write_all(fd, SEG_MAGIC, SEG_HDR, 0) != 0 || fdatasync(fd) != 0 || seg_push(sp, &s) != 0) {
        *err_no = errno ? errno : ENOMEM;
        close(fd);
        unlink(path);
        return -1;
    }
    fsync_dir(sp->dir);
    sp->next_id++;
    sp->active_fd = fd;
    sp->total_bytes += SEG_HDR;
    return 0;
}

/* ---- append ---------------------------------------------------------------------------- */

static int append_frame(struct eg_spool *sp, const struct eg_spool_input *in, size_t n, int *err_no)
{
    size_t raw_len = 0;
    for (size_t i = 0; i < n; i++)
        raw_len += REC_HDR + in[i].len;
    unsigned char *raw = malloc(raw_len ? raw_len : 1);
    uLongf comp_len = compressBound(raw_len);
    unsigned char *frame = malloc(FRAME_HDR + comp_len);
    if (!raw || !frame) {
        free(raw);
        free(frame);
        *err_no = ENOMEM;
        return -1;
    }
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        put64(raw + off, in[i].ts_ms);
        put32(raw + off + 8, in[i].len);
        memcpy(raw + off + REC_HDR, in[i].data, in[i].len);
        off += REC_HDR + in[i].len;
    }
    int zrc = compress2(frame + FRAME_HDR, &comp_len, raw, raw_len, Z_DEFAULT_COMPRESSION);
    free(raw);
    if (zrc != Z_OK) {
        free(frame);
        *err_no = ENOMEM;
        return -1;
    }
    put32(frame, FRAME_MAGIC);
    put32(frame + 4, (uint32_t)n);
    put32(frame + 8, (uint32_t)raw_len);
    put32(frame + 12, (uint32_t)comp_len);
    put64(frame + 16, sp->next_seq);
    uLong crc = crc32(0L, frame, 24);
    crc = crc32(crc, frame + FRAME_HDR, comp_len);
    put32(frame + 24, (uint32_t)crc);
    uint64_t flen = FRAME_HDR + comp_len;

    if (flen + SEG_HDR > sp->max_bytes) {
        free(frame);
        *err_no = EMSGSIZE;
        return -1;
    }
    /* Oldest data goes first so the newest always fits. */
    while (sp->nsegs && sp->total_bytes + flen + (sp->active_fd < 0 ? SEG_HDR : 0) > sp->max_bytes)
        seg_remove_oldest(sp, true);
    if (sp->active_fd < 0 && open_active(sp, err_no) != 0) {
        free(frame);
        return -1;
    }
    struct segment *s = &sp->segs[sp->nsegs - 1];
    if (write_all(sp->active_fd, frame, flen, (off_t)s->size) != 0 || fdatasync(sp->active_fd)) {
        *err_no = errno;
        /* Leave no partial frame behind; the next append starts a fresh segment. */
        if (ftruncate(sp->active_fd, (off_t)s->size) != 0)
            eg_log_warn("spool: cannot cut a failed write: %s", strerror(errno));
        seal_active(sp);
        free(frame);
        return -1;
    }
    free(frame);
    s->size += flen;
    s->end_seq = sp->next_seq + n;
    s->records += n;
    sp->next_seq += n;
    sp->total_bytes += flen;
    sp->st.appended_records += n;
    if (s->size >= sp->segment_bytes)
        seal_active(sp);
    return 0;
}

int eg_spool_append(struct eg_spool *sp, const struct eg_spool_input *in, size_t n,
                    size_t *persisted, int *err_no)
{
    pthread_mutex_lock(&sp->mu);
    size_t done = 0;
    int rc = 0;
    uint64_t frame_raw_max =
        sp->segment_bytes / 2 < FRAME_RAW_MAX ? sp->segment_bytes / 2 : FRAME_RAW_MAX;
    while (done < n) {
        size_t k = 0, raw = 0;
        do {
            raw += REC_HDR + in[done + k].len;
            k++;
        } while (done + k < n && raw + REC_HDR + in[done + k].len <= frame_raw_max);
        if (append_frame(sp, in + done, k, err_no) != 0) {
            sp->st.write_errors++;
            rc = -1;
            break;
        }
        done += k;
    }
    pthread_mutex_unlock(&sp->mu);
    if (persisted)
        *persisted = done;
    return rc;
}

/* ---- read and ack ---------------------------------------------------------------------- */

int eg_spool_read(struct eg_spool *sp, struct eg_spool_record **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&sp->mu);
    int rc = 0;
    while (rc == 0 && *n == 0) {
        size_t i;
        for (i = 0; i < sp->nsegs && sp->segs[i].id < sp->read_seg; i++)
            ;
        if (i == sp->nsegs)
            break;
        struct segment *s = &sp->segs[i];
        if (s->id != sp->read_seg) { /* cursor's segment is gone */
            sp->read_seg = s->id;
            sp->read_off = SEG_HDR;
        }
        if (sp->read_off >= s->size) {
            if (i + 1 == sp->nsegs)
                break; /* caught up with the writer */
            sp->read_seg = sp->segs[i + 1].id;
            sp->read_off = SEG_HDR;
            continue;
        }
        char path[4200];
        seg_path(sp, s->id, path, sizeof(path));
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct frame f;
        if (fd < 0 || frame_read(fd, sp->read_off, s->size, &f) != 0) {
            /* Damaged after it was verified at open: skip the rest of this segment. */
            eg_log_error("spool: unreadable frame in %s at %" PRIu64 ", skipping segment", path,
                         sp->read_off);
            sp->st.corrupt_frames++;
            sp->st.corrupt_bytes += s->size - sp->read_off;
            sp->read_off = s->size;
            if (fd >= 0)
                close(fd);
            rc = -1;
            break;
        }
        close(fd);
        uint64_t skip = sp->floor_seq > sp->read_seq ? sp->floor_seq : sp->read_seq;
        if (frame_records(&f, skip, out, n) != 0) {
            sp->st.corrupt_frames++;
            sp->st.corrupt_bytes += FRAME_HDR + f.comp_len;
            rc = -1;
        }
        free(f.raw);
        sp->read_off += FRAME_HDR + f.comp_len;
        if (f.first_seq + f.nrec > sp->read_seq)
            sp->read_seq = f.first_seq + f.nrec;
    }
    pthread_mutex_unlock(&sp->mu);
    return rc;
}

static void write_ack(struct eg_spool *sp)
{
    char tmp[4200], path[4200];
    snprintf(tmp, sizeof(tmp), "%s/ack.tmp", sp->dir);
    snprintf(path, sizeof(path), "%s/ack", sp->dir);
    FILE *f = fopen(tmp, "we");
    /* Losing this file only means re-sending acked lines (at-least-once), so no fsync. */
    if (!f || fprintf(f, "EGACK1 %" PRIu64 "\n", sp->ack_seq) < 0 || fclose(f) != 0 ||
        rename(tmp, path) != 0) {
        if (f == NULL)
            eg_log_warn("spool: cannot record ack point: %s", strerror(errno));
        unlink(tmp);
    }
}

int eg_spool_ack(struct eg_spool *sp, uint64_t upto)
{
    pthread_mutex_lock(&sp->mu);
    if (upto > sp->next_seq)
        upto = sp->next_seq;
    if (upto > sp->ack_seq) {
        sp->ack_seq = upto;
        if (upto > sp->floor_seq)
            sp->floor_seq = upto;
        while (sp->nsegs && sp->segs[0].end_seq <= sp->ack_seq &&
               (sp->nsegs > 1 || sp->active_fd < 0))
            seg_remove_oldest(sp, false);
        write_ack(sp);
    }
    pthread_mutex_unlock(&sp->mu);
    return 0;
}

uint64_t eg_spool_floor(struct eg_spool *sp)
{
    pthread_mutex_lock(&sp->mu);
    uint64_t f = sp->floor_seq;
    pthread_mutex_unlock(&sp->mu);
    return f;
}

void eg_spool_get_stats(struct eg_spool *sp, struct eg_spool_stats *out)
{
    pthread_mutex_lock(&sp->mu);
    *out = sp->st;
    out->disk_bytes = sp->total_bytes;
    out->segments = sp->nsegs;
    out->pending_records = 0;
    for (size_t i = 0; i < sp->nsegs; i++)
        out->pending_records += seg_unacked(sp, &sp->segs[i]);
    pthread_mutex_unlock(&sp->mu);
}

/* ---- open: scan, repair, resume -------------------------------------------------------- */

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

/* Offset of the next plausible frame after a damaged one, or `size` if none. */
static uint64_t resync(int fd, uint64_t from, uint64_t size)
{
    unsigned char buf[4096];
    for (uint64_t off = from; off + 4 <= size;) {
        size_t want = size - off < sizeof(buf) ? (size_t)(size - off) : sizeof(buf);
        if (read_all(fd, buf, want, (off_t)off) != 0)
            return size;
        for (size_t i = 0; i + 4 <= want; i++) {
            if (get32(buf + i) == FRAME_MAGIC) {
                struct frame f;
                if (frame_read(fd, off + i, size, &f) == 0) {
                    free(f.raw);
                    return off + i;
                }
            }
        }
        off += want > 3 ? want - 3 : want;
    }
    return size;
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
    seg_path(sp, id, path, sizeof(path));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat stbuf;
    fstat(fd, &stbuf);
    uint64_t size = (uint64_t)stbuf.st_size;
    char magic[SEG_HDR];
    memset(s, 0, sizeof(*s));
    s->id = id;
    bool header_ok = size >= SEG_HDR && read_all(fd, magic, SEG_HDR, 0) == 0 &&
                     memcmp(magic, SEG_MAGIC, SEG_HDR) == 0;
    uint64_t off = header_ok ? SEG_HDR : 0, good_bytes = 0, nframes = 0;
    bool damaged = !header_ok;
    int out = -1; /* rewrite target, opened at the first damage */
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    uint64_t last_end = 0;
    while (off < size) {
        struct frame f;
        if (frame_read(fd, off, size, &f) != 0 || (nframes && f.first_seq < last_end)) {
            if (f.raw)
                free(f.raw);
            uint64_t next = resync(fd, off + 1, size);
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
        if (damaged && out < 0) {
            out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
            if (out < 0 || write_all(out, SEG_MAGIC, SEG_HDR, 0) != 0)
                goto io_error;
            /* Copy the valid frames seen before the damage. */
            char *prefix = good_bytes ? malloc(good_bytes) : NULL;
            if (good_bytes && (!prefix || read_all(fd, prefix, good_bytes, SEG_HDR) != 0 ||
                               write_all(out, prefix, good_bytes, SEG_HDR) != 0)) {
                free(prefix);
                goto io_error;
            }
            free(prefix);
        }
        if (out >= 0) {
            char *buf = malloc(flen);
            if (!buf || read_all(fd, buf, flen, (off_t)off) != 0 ||
                write_all(out, buf, flen, (off_t)(SEG_HDR + good_bytes)) != 0) {
                free(buf);
                goto io_error;
            }
            free(buf);
        }
        good_bytes += flen;
        off += flen;
    }
    close(fd);
    s->size = SEG_HDR + good_bytes;
    if (!nframes) {
        if (out >= 0) {
            close(out);
            unlink(tmp);
        }
        unlink(path);
        return 1;
    }
    if (out >= 0) {
        if (fdatasync(out) != 0 || close(out) != 0 || rename(tmp, path) != 0) {
            unlink(tmp);
            return -1;
        }
        fsync_dir(sp->dir);
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
            seg_path(sp, s.id, path, sizeof(path));
            unlink(path);
            continue;
        }
        if (seg_push(sp, &s) != 0) {
            free(ids);
            snprintf(err, errlen, "spool: out of memory");
            return -1;
        }
        sp->total_bytes += s.size;
        sp->st.replayable_records += seg_unacked(sp, &s);
    }
    free(ids);
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

void eg_spool_close(struct eg_spool *sp)
{
    if (!sp)
        return;
    seal_active(sp);
    /* A fully delivered last segment is not needed by the next run. */
    while (sp->nsegs && sp->segs[0].end_seq <= sp->ack_seq)
        seg_remove_oldest(sp, false);
    pthread_mutex_destroy(&sp->mu);
    free(sp->segs);
    free(sp->dir);
    free(sp);
}
