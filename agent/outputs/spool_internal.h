/*
 * Private to the spool (agent/outputs/spool.h): its state and the functions its files share.
 * spool.c holds the segments, append, read and ack; spool_frame.c the on-disk frame format and
 * the whole-buffer file I/O it is read and written with; spool_recover.c what open does with what
 * a previous run left (scan, cut damaged frames out, resume after the ack point). Nothing else
 * includes this header.
 */
#ifndef ECSGUARD_SPOOL_INTERNAL_H
#define ECSGUARD_SPOOL_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent/outputs/spool.h"

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

/* One frame as read from a segment file. */
struct eg_spool_frame {
    uint32_t nrec, raw_len, comp_len;
    uint64_t first_seq;
    unsigned char *raw; /* decompressed records */
};

/* ---- spool_frame.c ---------------------------------------------------------------------- */

/* pwrite/pread all of `len` bytes at `off` (EINTR retried); 0, or -1 with errno set. */
int eg_spool_write_all(int fd, const void *buf, size_t len, off_t off);
int eg_spool_read_all(int fd, void *buf, size_t len, off_t off);
/* fsync a directory, so a file created or renamed in it survives a crash. */
void eg_spool_fsync_dir(const char *dir);
/* The frame holding lines in[0..n), numbered from first_seq (malloc'd), or NULL (*err_no). */
unsigned char *eg_spool_frame_encode(const struct eg_spool_input *in, size_t n, uint64_t first_seq,
                                     uint64_t *frame_len, int *err_no);
/* Read and verify the frame at off; 0 ok (raw allocated), -1 damaged or short. */
int eg_spool_frame_read(int fd, uint64_t off, uint64_t limit, struct eg_spool_frame *f);
/*
 * Whether the records of a verified frame add up to its raw length. The checksum only proves the
 * frame is what was written; this proves what was written can be split (a writer bug, or a file
 * made by someone else, passes the one and not the other).
 */
bool eg_spool_frame_well_formed(const struct eg_spool_frame *f);
/* The records of a verified frame numbered skip_below and up; -1 if its lengths do not add up. */
int eg_spool_frame_records(const struct eg_spool_frame *f, uint64_t skip_below,
                           struct eg_spool_record **out, size_t *n);
/* Offset of the next plausible frame after a damaged one, or `size` if none. */
uint64_t eg_spool_resync(int fd, uint64_t from, uint64_t size);

/* ---- spool.c ---------------------------------------------------------------------------- */

void eg_spool_seg_path(const struct eg_spool *sp, uint64_t id, char *out, size_t len);
int eg_spool_seg_push(struct eg_spool *sp, const struct segment *s);
/* Lines of segment `s` neither delivered nor dropped. */
uint64_t eg_spool_seg_unacked(const struct eg_spool *sp, const struct segment *s);
void eg_spool_seal_active(struct eg_spool *sp);
/* Delete the oldest segment; `dropping` means its unacked lines are lost and counted. */
void eg_spool_seg_remove_oldest(struct eg_spool *sp, bool dropping);

#endif
