/*
 * The spool's on-disk format: a segment file is a magic header and then frames, each a
 * CRC-checked, zlib-compressed group of lines numbered from its first sequence number. Here
 * frames are built, read and verified, split into records, and found again after a damaged
 * stretch; with the whole-buffer pread/pwrite they are read and written with.
 */
#include "agent/outputs/spool_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

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

void eg_spool_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int eg_spool_write_all(int fd, const void *buf, size_t len, off_t off)
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

int eg_spool_read_all(int fd, void *buf, size_t len, off_t off)
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

unsigned char *eg_spool_frame_encode(const struct eg_spool_input *in, size_t n, uint64_t first_seq,
                                     uint64_t *frame_len, int *err_no)
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
        return NULL;
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
        return NULL;
    }
    put32(frame, FRAME_MAGIC);
    put32(frame + 4, (uint32_t)n);
    put32(frame + 8, (uint32_t)raw_len);
    put32(frame + 12, (uint32_t)comp_len);
    put64(frame + 16, first_seq);
    uLong crc = crc32(0L, frame, 24);
    crc = crc32(crc, frame + FRAME_HDR, comp_len);
    put32(frame + 24, (uint32_t)crc);
    *frame_len = FRAME_HDR + comp_len;
    return frame;
}

/* Read and verify the frame at off; 0 ok (raw allocated), -1 damaged or short. */
int eg_spool_frame_read(int fd, uint64_t off, uint64_t limit, struct eg_spool_frame *f)
{
    unsigned char h[FRAME_HDR];
    memset(f, 0, sizeof(*f));
    if (off + FRAME_HDR > limit || eg_spool_read_all(fd, h, FRAME_HDR, (off_t)off) != 0)
        return -1;
    if (get32(h) != FRAME_MAGIC)
        return -1;
    f->nrec = get32(h + 4);
    f->raw_len = get32(h + 8);
    f->comp_len = get32(h + 12);
    f->first_seq = get64(h + 16);
    uint32_t crc_want = get32(h + 24);
    /* Sequence numbers must not wrap: records are handed out in increasing order. */
    if (f->nrec == 0 || f->first_seq > UINT64_MAX - f->nrec || f->raw_len > FRAME_RAW_LIMIT ||
        f->comp_len > compressBound(f->raw_len) || (uint64_t)f->nrec * REC_HDR > f->raw_len ||
        off + FRAME_HDR + f->comp_len > limit)
        return -1;
    unsigned char *comp = malloc(f->comp_len ? f->comp_len : 1);
    f->raw = malloc(f->raw_len ? f->raw_len : 1);
    int rc = -1;
    if (comp && f->raw && eg_spool_read_all(fd, comp, f->comp_len, (off_t)(off + FRAME_HDR)) == 0) {
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

bool eg_spool_frame_well_formed(const struct eg_spool_frame *f)
{
    size_t off = 0;
    for (uint32_t i = 0; i < f->nrec; i++) {
        if (off + REC_HDR > f->raw_len)
            return false;
        uint32_t len = get32(f->raw + off + 8);
        off += REC_HDR;
        if (len > f->raw_len - off)
            return false;
        off += len;
    }
    return off == f->raw_len;
}

/* Split a verified frame into records; -1 if its inner lengths do not add up. */
int eg_spool_frame_records(const struct eg_spool_frame *f, uint64_t skip_below,
                           struct eg_spool_record **out, size_t *n)
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

/* Offset of the next plausible frame after a damaged one, or `size` if none. */
uint64_t eg_spool_resync(int fd, uint64_t from, uint64_t size)
{
    unsigned char buf[4096];
    for (uint64_t off = from; off + 4 <= size;) {
        size_t want = size - off < sizeof(buf) ? (size_t)(size - off) : sizeof(buf);
        if (eg_spool_read_all(fd, buf, want, (off_t)off) != 0)
            return size;
        for (size_t i = 0; i + 4 <= want; i++) {
            if (get32(buf + i) == FRAME_MAGIC) {
                struct eg_spool_frame f;
                if (eg_spool_frame_read(fd, off + i, size, &f) == 0) {
                    free(f.raw);
                    return off + i;
                }
            }
        }
        off += want > 3 ? want - 3 : want;
    }
    return size;
}
