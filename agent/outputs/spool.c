/*
 * The spool's segments, append, read and ack (agent/outputs/spool.h describes the whole). The
 * frame format is in spool_frame.c, the recovery at open in spool_recover.c (spool_internal.h).
 */
#include "agent/outputs/spool_internal.h"
#include "agent/common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void eg_spool_seg_path(const struct eg_spool *sp, uint64_t id, char *out, size_t len)
{
    snprintf(out, len, "%s/seg-%016" PRIx64 ".egs", sp->dir, id);
}

int eg_spool_seg_push(struct eg_spool *sp, const struct segment *s)
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

uint64_t eg_spool_seg_unacked(const struct eg_spool *sp, const struct segment *s)
{
    if (sp->floor_seq <= s->first_seq)
        return s->records;
    uint64_t left = s->end_seq > sp->floor_seq ? s->end_seq - sp->floor_seq : 0;
    return left < s->records ? left : s->records;
}

void eg_spool_seal_active(struct eg_spool *sp)
{
    if (sp->active_fd >= 0) {
        close(sp->active_fd);
        sp->active_fd = -1;
    }
}

/* Delete the oldest segment; `dropping` means its unacked lines are lost and counted. */
void eg_spool_seg_remove_oldest(struct eg_spool *sp, bool dropping)
{
    struct segment s = sp->segs[0];
    if (sp->nsegs == 1)
        eg_spool_seal_active(sp);
    char path[4200];
    eg_spool_seg_path(sp, s.id, path, sizeof(path));
    if (unlink(path) != 0 && errno != ENOENT)
        eg_log_warn("spool: cannot delete %s: %s", path, strerror(errno));
    if (dropping) {
        uint64_t lost = eg_spool_seg_unacked(sp, &s);
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
    eg_spool_seg_path(sp, s.id, path, sizeof(path));
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        *err_no = errno;
        return -1;
    }
    if (eg_spool_write_all(fd, SEG_MAGIC, SEG_HDR, 0) != 0 || fdatasync(fd) != 0 ||
        eg_spool_seg_push(sp, &s) != 0) {
        *err_no = errno ? errno : ENOMEM;
        close(fd);
        unlink(path);
        return -1;
    }
    eg_spool_fsync_dir(sp->dir);
    sp->next_id++;
    sp->active_fd = fd;
    sp->total_bytes += SEG_HDR;
    return 0;
}

/* ---- append ---------------------------------------------------------------------------- */

static int append_frame(struct eg_spool *sp, const struct eg_spool_input *in, size_t n, int *err_no)
{
    uint64_t flen;
    unsigned char *frame = eg_spool_frame_encode(in, n, sp->next_seq, &flen, err_no);
    if (!frame)
        return -1;
    if (flen + SEG_HDR > sp->max_bytes) {
        free(frame);
        *err_no = EMSGSIZE;
        return -1;
    }
    /* Oldest data goes first so the newest always fits. */
    while (sp->nsegs && sp->total_bytes + flen + (sp->active_fd < 0 ? SEG_HDR : 0) > sp->max_bytes)
        eg_spool_seg_remove_oldest(sp, true);
    if (sp->active_fd < 0 && open_active(sp, err_no) != 0) {
        free(frame);
        return -1;
    }
    struct segment *s = &sp->segs[sp->nsegs - 1];
    if (eg_spool_write_all(sp->active_fd, frame, flen, (off_t)s->size) != 0 ||
        fdatasync(sp->active_fd)) {
        *err_no = errno;
        /* Leave no partial frame behind; the next append starts a fresh segment. */
        if (ftruncate(sp->active_fd, (off_t)s->size) != 0)
            eg_log_warn("spool: cannot cut a failed write: %s", strerror(errno));
        eg_spool_seal_active(sp);
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
        eg_spool_seal_active(sp);
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
        eg_spool_seg_path(sp, s->id, path, sizeof(path));
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct eg_spool_frame f;
        if (fd < 0 || eg_spool_frame_read(fd, sp->read_off, s->size, &f) != 0) {
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
        if (eg_spool_frame_records(&f, skip, out, n) != 0) {
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
            eg_spool_seg_remove_oldest(sp, false);
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
        out->pending_records += eg_spool_seg_unacked(sp, &sp->segs[i]);
    pthread_mutex_unlock(&sp->mu);
}

void eg_spool_close(struct eg_spool *sp)
{
    if (!sp)
        return;
    eg_spool_seal_active(sp);
    /* A fully delivered last segment is not needed by the next run. */
    while (sp->nsegs && sp->segs[0].end_seq <= sp->ack_seq)
        eg_spool_seg_remove_oldest(sp, false);
    pthread_mutex_destroy(&sp->mu);
    free(sp->segs);
    free(sp->dir);
    free(sp);
}
