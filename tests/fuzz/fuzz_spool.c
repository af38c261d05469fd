/*
 * libFuzzer target: the CloudWatch spool as a previous run left it on disk
 * (agent/outputs/spool_recover.c, spool_frame.c, spool.c): segments torn by a crash, cut short
 * by a full disk, damaged by anything, and frames whose checksum holds but whose content lies.
 *
 * The input describes the spool directory: an optional ack file, then up to four segments.
 * A segment is either raw bytes (the fuzzer's own) or built here from frames whose header
 * fields and decompressed record area come from the input, compressed and checksummed as the
 * writer does, so the record parser behind the checksum is reached; either may then be
 * truncated and have one byte damaged.
 *
 * Contracts: open never fails on damaged content (the directory is readable); reading ends;
 * every record handed out is terminated at its length, in strictly increasing order, at or
 * above the ack point; damage is counted and the damaged segments are moved aside (at most
 * four kept); after recovery the spool takes a new line and hands
 * it back; and a second open finds nothing damaged and nothing left to deliver once all was
 * acknowledged.
 */
#include "agent/outputs/spool.h"
#include "agent/outputs/spool_internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "agent/common/log.h"
#include "tests/fuzz/fuzz_input.h"

static char dir[256];

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

static void empty_dir(void)
{
    DIR *d = opendir(dir);
    FUZZ_CHECK(d != NULL);
    struct dirent *e;
    char path[512];
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            unlink(path);
        }
    closedir(d);
}

static int count_files(const char *prefix)
{
    DIR *d = opendir(dir);
    FUZZ_CHECK(d != NULL);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

static void write_file(const char *name, const void *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FUZZ_CHECK(fd >= 0);
    FUZZ_CHECK(len == 0 || write(fd, data, len) == (ssize_t)len);
    close(fd);
}

/* One frame from the input: header fields and the record area, compressed and checksummed. */
static size_t build_frame(struct fuzz_input *in, unsigned char *out, size_t room,
                          uint64_t *next_seq)
{
    uint32_t nrec = fuzz_u8(in);
    uint64_t first_seq = *next_seq + (fuzz_u8(in) % 4) - 1; /* mostly in order, not always */
    const uint8_t *raw;
    size_t raw_len = fuzz_bytes(in, fuzz_u8(in) | (size_t)(fuzz_u8(in) & 0x0f) << 8, &raw);
    uLongf comp_len = compressBound(raw_len);
    if (FRAME_HDR + comp_len > room)
        return 0;
    if (compress2(out + FRAME_HDR, &comp_len, raw_len ? raw : (const uint8_t *)"", raw_len,
                  Z_BEST_SPEED) != Z_OK)
        return 0;
    put32(out, FRAME_MAGIC);
    put32(out + 4, nrec);
    put32(out + 8, (uint32_t)raw_len);
    put32(out + 12, (uint32_t)comp_len);
    put64(out + 16, first_seq);
    uLong crc = crc32(0L, out, 24);
    crc = crc32(crc, out + FRAME_HDR, comp_len);
    put32(out + 24, (uint32_t)crc);
    *next_seq = first_seq + nrec;
    return FRAME_HDR + comp_len;
}

static unsigned char seg[1 << 16];

static void build_segment(struct fuzz_input *in, uint64_t id, uint64_t *next_seq)
{
    uint8_t ctl = fuzz_u8(in);
    size_t len = 0;
    if (ctl & 1) {
        memcpy(seg, SEG_MAGIC, SEG_HDR);
        len = SEG_HDR;
        int frames = 1 + (ctl >> 1) % 4;
        for (int i = 0; i < frames; i++)
            len += build_frame(in, seg + len, sizeof(seg) - len, next_seq);
    } else {
        const uint8_t *raw;
        len = fuzz_bytes(in, fuzz_u8(in) | (size_t)fuzz_u8(in) << 8, &raw);
        memcpy(seg, raw, len);
    }
    if ((ctl & 0x20) && len) /* torn at the end */
        len = (fuzz_u8(in) | (size_t)fuzz_u8(in) << 8) % len;
    if ((ctl & 0x40) && len) { /* one byte damaged */
        size_t at = (fuzz_u8(in) | (size_t)fuzz_u8(in) << 8) % len;
        seg[at] ^= (uint8_t)(fuzz_u8(in) | 1);
    }
    char name[64];
    snprintf(name, sizeof(name), "seg-%016" PRIx64 ".egs", id);
    write_file(name, seg, len);
}

/* Every record there is, checked; returns how many, *last the highest seq. */
static uint64_t read_all(struct eg_spool *sp, uint64_t floor, uint64_t *last)
{
    uint64_t count = 0, prev = 0;
    bool any = false;
    for (int calls = 0; calls < 100000; calls++) {
        struct eg_spool_record *recs = NULL;
        size_t n = 0;
        int rc = eg_spool_read(sp, &recs, &n);
        if (rc != 0) {
            FUZZ_CHECK(rc == -1 && n == 0);
            continue;
        }
        if (n == 0) {
            *last = any ? prev : 0;
            return count;
        }
        for (size_t i = 0; i < n; i++) {
            FUZZ_CHECK(recs[i].data && recs[i].data[recs[i].len] == '\0');
            FUZZ_CHECK(recs[i].seq >= floor);
            FUZZ_CHECK(!any || recs[i].seq > prev);
            prev = recs[i].seq;
            any = true;
            count++;
        }
        eg_spool_records_free(recs, n);
    }
    FUZZ_CHECK(!"the reader never reported the end");
    return 0;
}

static void remove_dir(void)
{
    empty_dir();
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof(dir), "%s/ecsguard-fuzz-spool-%d", base, (int)getpid());
    mkdir(dir, 0700);
    atexit(remove_dir); /* libFuzzer exits at the end of its time; a crash leaves it to look at */
    eg_log_set_level(EG_LOG_ERROR); /* damage is logged as a warning on every input */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = {data, size};
    empty_dir();
    uint8_t ctl = fuzz_u8(&in);
    uint64_t ack = 0;
    if (ctl & 1) {
        ack = fuzz_u8(&in);
        char text[64];
        int n = (ctl & 2) ? snprintf(text, sizeof(text), "EGACK1 %" PRIu64 "\n", ack)
                          : snprintf(text, sizeof(text), "EGACK%u %u", fuzz_u8(&in), fuzz_u8(&in));
        write_file("ack", text, (size_t)n);
        if (!(ctl & 2))
            ack = 0; /* unreadable: everything is replayed */
    }
    int nsegs = (ctl >> 2) % 5;
    uint64_t next_seq = 0;
    for (int i = 0; i < nsegs; i++)
        build_segment(&in, 1 + i + ((ctl & 0x80) ? 0x100 : 0), &next_seq);

    char err[512] = "";
    struct eg_spool_opts opts = {.dir = dir, .max_bytes = 1 << 20};
    struct eg_spool *sp = eg_spool_open(&opts, err, sizeof(err));
    if (!sp) {
        fprintf(stderr, "open refused a damaged spool: %s\n", err);
        abort();
    }
    uint64_t last = 0;
    uint64_t got = read_all(sp, ack, &last);
    struct eg_spool_stats st;
    eg_spool_get_stats(sp, &st);
    FUZZ_CHECK(got <= st.replayable_records);
    /* Damage is counted and the damaged segments kept aside, a bounded number of them. */
    FUZZ_CHECK(st.corrupt_frames == 0 || st.damaged_segments > 0);
    FUZZ_CHECK(st.damaged_segments <= (uint64_t)nsegs);
    FUZZ_CHECK(count_files("damaged-") <= 4 && count_files("damaged-") <= (int)st.damaged_segments);

    /* Still a working spool: a new line goes after everything recovered and comes back. */
    static const char line[] = "{\"after\":\"recovery\"}";
    struct eg_spool_input one = {.ts_ms = 1, .data = line, .len = sizeof(line) - 1};
    size_t persisted = 0;
    int err_no = 0;
    FUZZ_CHECK(eg_spool_append(sp, &one, 1, &persisted, &err_no) == 0 && persisted == 1);
    struct eg_spool_record *recs = NULL;
    size_t n = 0;
    int rc;
    while ((rc = eg_spool_read(sp, &recs, &n)) == -1)
        ;
    FUZZ_CHECK(rc == 0 && n == 1 && recs[0].len == one.len && memcmp(recs[0].data, line, n) == 0);
    FUZZ_CHECK(got == 0 || recs[0].seq > last);
    uint64_t end = recs[0].seq + 1;
    eg_spool_records_free(recs, n);
    FUZZ_CHECK(eg_spool_ack(sp, end) == 0);
    eg_spool_close(sp);

    /* Recovery left a clean spool: nothing damaged, nothing to deliver. */
    sp = eg_spool_open(&opts, err, sizeof(err));
    FUZZ_CHECK(sp != NULL);
    eg_spool_get_stats(sp, &st);
    FUZZ_CHECK(st.corrupt_frames == 0 && st.replayable_records == 0);
    FUZZ_CHECK(read_all(sp, end, &last) == 0);
    eg_spool_close(sp);
    return 0;
}
