/*
 * Durable, bounded, on-disk queue of log lines awaiting delivery.
 *
 * Lines are appended as zlib-compressed, CRC-checked frames to segment files
 * (seg-<id>.egs) and fdatasync'd before append returns. Every line gets a
 * sequence number; the reader hands lines out in order and the owner acks
 * "everything below seq N" once delivered, which deletes whole segments and
 * records the ack point in the `ack` file. On open, segments are scanned
 * (corrupt frames are cut out and counted, the damaged original kept aside as
 * damaged-<id>.egs, the four newest of them) and unacked lines are read again:
 * delivery is at-least-once. When an append would exceed max_bytes, the oldest
 * segments are deleted and their unacked lines counted as dropped.
 * All functions are thread-safe.
 */
#ifndef ECSGUARD_SPOOL_H
#define ECSGUARD_SPOOL_H

#include <stddef.h>
#include <stdint.h>

struct eg_spool;

struct eg_spool_opts {
    const char *dir;        /* created (0700) if missing */
    uint64_t max_bytes;     /* bound on segment files; 0 → 256 MiB, at least 64 KiB */
    uint64_t segment_bytes; /* roll size; 0 → max_bytes / 8, between 8 KiB and 8 MiB */
};

struct eg_spool_input {
    uint64_t ts_ms;
    const char *data;
    uint32_t len;
};

struct eg_spool_record {
    uint64_t seq;
    uint64_t ts_ms;
    uint32_t len;
    char *data; /* NUL-terminated copy */
};

struct eg_spool_stats {
    uint64_t disk_bytes; /* segment files now */
    uint64_t segments;
    uint64_t pending_records;    /* stored and not acked */
    uint64_t appended_records;   /* since open */
    uint64_t replayable_records; /* unacked lines found at open */
    uint64_t dropped_records;    /* unacked lines deleted to stay within max_bytes */
    uint64_t dropped_bytes;
    uint64_t write_errors;   /* failed appends (ENOSPC, EIO, ...) */
    uint64_t corrupt_frames; /* frames cut out at open or skipped on read */
    uint64_t corrupt_bytes;
    uint64_t damaged_segments; /* found damaged at open and kept as damaged-<id>.egs */
};

struct eg_spool *eg_spool_open(const struct eg_spool_opts *opts, char *err, size_t errlen);
void eg_spool_close(struct eg_spool *sp);

/*
 * Persist records in order. Returns 0 when all n are durable. On failure returns
 * -1 with *err_no set (ENOSPC, EIO, EMSGSIZE for a line larger than the whole
 * spool): the first *persisted records are durable, the rest were not written
 * (no partial frame is left behind).
 */
int eg_spool_append(struct eg_spool *sp, const struct eg_spool_input *in, size_t n,
                    size_t *persisted, int *err_no);

/*
 * The next unread records (up to one frame) into a malloc'd array; *n = 0 when
 * everything stored has been read. 0 on success, -1 when a damaged frame was
 * skipped (counted; call again).
 */
int eg_spool_read(struct eg_spool *sp, struct eg_spool_record **out, size_t *n);
void eg_spool_records_free(struct eg_spool_record *recs, size_t n);

/* Every record with seq < upto is delivered; whole segments below it are deleted. */
int eg_spool_ack(struct eg_spool *sp, uint64_t upto);

/* Records below this seq are gone (acked or dropped); a reader holding such records drops them. */
uint64_t eg_spool_floor(struct eg_spool *sp);

void eg_spool_get_stats(struct eg_spool *sp, struct eg_spool_stats *out);

#endif
