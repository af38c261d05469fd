/*
 * The on-disk spool: lines survive a restart until acked, acked lines are
 * deleted, a full spool drops the oldest lines and counts them, damaged
 * frames are cut out and counted, and a failing disk loses nothing already
 * persisted and leaves no partial frame.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/outputs/spool.h"

static char g_dir[256];

static int setup(void **state)
{
    snprintf(g_dir, sizeof(g_dir), "/tmp/eg-spool-test-XXXXXX");
    return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static struct eg_spool *open_spool(uint64_t max, uint64_t seg)
{
    char err[256] = "";
    struct eg_spool_opts o = {.dir = g_dir, .max_bytes = max, .segment_bytes = seg};
    struct eg_spool *sp = eg_spool_open(&o, err, sizeof(err));
    if (!sp)
        fail_msg("open: %s", err);
    return sp;
}

static void line_for(uint64_t i, char *buf, size_t len)
{
    snprintf(buf, len, "{\"id\":\"finding-%llu\",\"n\":%llu}", (unsigned long long)i,
             (unsigned long long)i);
}

static void append_lines(struct eg_spool *sp, uint64_t from, uint64_t count)
{
    struct eg_spool_input *in = calloc(count, sizeof(*in));
    char(*bufs)[64] = calloc(count, 64);
    for (uint64_t i = 0; i < count; i++) {
        line_for(from + i, bufs[i], 64);
        in[i] = (struct eg_spool_input){
            .ts_ms = 1000 + from + i, .data = bufs[i], .len = (uint32_t)strlen(bufs[i])};
    }
    size_t done = 0;
    int e = 0;
    assert_int_equal(eg_spool_append(sp, in, count, &done, &e), 0);
    assert_int_equal(done, count);
    free(in);
    free(bufs);
}

/* Read everything unread; checks each line matches its sequence number. */
static uint64_t read_all_lines(struct eg_spool *sp, uint64_t *first, uint64_t *last)
{
    uint64_t count = 0;
    for (;;) {
        struct eg_spool_record *r;
        size_t n;
        int rc = eg_spool_read(sp, &r, &n);
        if (rc == 0 && n == 0)
            break;
        for (size_t i = 0; i < n; i++) {
            char want[64];
            line_for(r[i].seq, want, sizeof(want));
            assert_string_equal(r[i].data, want);
            assert_int_equal(r[i].ts_ms, 1000 + r[i].seq);
            if (count == 0 && first)
                *first = r[i].seq;
            else
                assert_int_equal(r[i].seq, *last + 1);
            *last = r[i].seq;
            count++;
        }
        eg_spool_records_free(r, n);
    }
    return count;
}

static int count_segments(void)
{
    DIR *d = opendir(g_dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strncmp(e->d_name, "seg-", 4) == 0;
    closedir(d);
    return n;
}

static void test_write_replay_ack(void **state)
{
    struct eg_spool *sp = open_spool(1 << 20, 16 << 10);
    append_lines(sp, 0, 40);
    append_lines(sp, 40, 30);
    append_lines(sp, 70, 30);
    uint64_t first = 0, last = 0;
    assert_int_equal(read_all_lines(sp, &first, &last), 100);
    assert_int_equal(first, 0);
    assert_int_equal(last, 99);
    eg_spool_ack(sp, 50);
    struct eg_spool_stats st;
    eg_spool_get_stats(sp, &st);
    assert_int_equal(st.pending_records, 50);
    assert_int_equal(st.appended_records, 100);
    eg_spool_close(sp);

    /* Restart: only the unacked half comes back. */
    sp = open_spool(1 << 20, 16 << 10);
    eg_spool_get_stats(sp, &st);
    assert_int_equal(st.replayable_records, 50);
    assert_int_equal(read_all_lines(sp, &first, &last), 50);
    assert_int_equal(first, 50);
    assert_int_equal(last, 99);
    /* New lines continue the numbering after the replayed ones. */
    append_lines(sp, 100, 5);
    assert_int_equal(read_all_lines(sp, &first, &last), 5);
    assert_int_equal(first, 100);
    eg_spool_ack(sp, 105);
    eg_spool_close(sp);
    assert_int_equal(count_segments(), 0);

    sp = open_spool(1 << 20, 16 << 10);
    assert_int_equal(read_all_lines(sp, &first, &last), 0);
    eg_spool_close(sp);
}

static void test_killed_writer_loses_nothing(void **state)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct eg_spool_opts o = {.dir = g_dir, .max_bytes = 1 << 20};
        char err[256];
        struct eg_spool *sp = eg_spool_open(&o, err, sizeof(err));
        struct eg_spool_input in = {.ts_ms = 0};
        char buf[64];
        for (uint64_t i = 0; sp && i < 500; i++) {
            line_for(i, buf, sizeof(buf));
            in = (struct eg_spool_input){
                .ts_ms = 1000 + i, .data = buf, .len = (uint32_t)strlen(buf)};
            if (eg_spool_append(sp, &in, 1, NULL, NULL) != 0)
                _exit(2);
        }
        raise(SIGKILL); /* no close, no flush: like kill -9 */
        _exit(3);
    }
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    struct eg_spool *sp = open_spool(1 << 20, 0);
    uint64_t first = 0, last = 0;
    assert_int_equal(read_all_lines(sp, &first, &last), 500);
    assert_int_equal(last, 499);
    eg_spool_close(sp);
}

static void test_full_spool_drops_oldest_and_counts(void **state)
{
    const uint64_t max = 64 << 10;
    struct eg_spool *sp = open_spool(max, 8 << 10);
    /* Incompressible lines so the bound is reached quickly. */
    unsigned seed = 7;
    const uint64_t total = 400;
    for (uint64_t i = 0; i < total; i++) {
        char buf[1100];
        int off = snprintf(buf, sizeof(buf), "%llu:", (unsigned long long)i);
        for (int k = off; k < 1024; k++)
            buf[k] = (char)('!' + rand_r(&seed) % 90);
        buf[1024] = '\0';
        struct eg_spool_input in = {.ts_ms = i, .data = buf, .len = 1024};
        assert_int_equal(eg_spool_append(sp, &in, 1, NULL, NULL), 0);
        struct eg_spool_stats st;
        eg_spool_get_stats(sp, &st);
        assert_true(st.disk_bytes <= max);
    }
    struct eg_spool_stats st;
    eg_spool_get_stats(sp, &st);
    assert_true(st.dropped_records > 0);
    assert_int_equal(eg_spool_floor(sp), st.dropped_records);
    /* What is left is exactly the newest lines, in order. */
    uint64_t count = 0, expect = st.dropped_records;
    for (;;) {
        struct eg_spool_record *r;
        size_t n;
        assert_int_equal(eg_spool_read(sp, &r, &n), 0);
        if (!n)
            break;
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(r[i].seq, expect);
            assert_int_equal(strtoull(r[i].data, NULL, 10), expect);
            expect++;
            count++;
        }
        eg_spool_records_free(r, n);
    }
    assert_int_equal(count + st.dropped_records, total);
    assert_int_equal(count, st.pending_records);
    eg_spool_close(sp);
}

static void test_reader_sees_drop_of_lines_it_holds(void **state)
{
    struct eg_spool *sp = open_spool(64 << 10, 8 << 10);
    append_lines(sp, 0, 10);
    struct eg_spool_record *r;
    size_t n;
    assert_int_equal(eg_spool_read(sp, &r, &n), 0);
    assert_int_equal(n, 10);
    eg_spool_records_free(r, n);
    char big[2048];
    memset(big, 'x', sizeof(big));
    unsigned seed = 3;
    for (int i = 0; i < 200; i++) {
        for (size_t k = 0; k < sizeof(big); k++)
            big[k] = (char)('a' + rand_r(&seed) % 26);
        struct eg_spool_input in = {.ts_ms = 1, .data = big, .len = sizeof(big)};
        assert_int_equal(eg_spool_append(sp, &in, 1, NULL, NULL), 0);
    }
    /* The ten lines the reader holds were in the oldest segment, now gone. */
    assert_true(eg_spool_floor(sp) >= 10);
    eg_spool_close(sp);
}

static char *first_segment_path(char *out, size_t len)
{
    DIR *d = opendir(g_dir);
    struct dirent *e;
    char best[256] = "";
    while ((e = readdir(d)))
        if (strncmp(e->d_name, "seg-", 4) == 0 && (!best[0] || strcmp(e->d_name, best) < 0))
            snprintf(best, sizeof(best), "%s", e->d_name);
    closedir(d);
    assert_true(best[0] != '\0');
    snprintf(out, len, "%s/%s", g_dir, best);
    return out;
}

static void test_corrupt_frame_is_cut_out_and_counted(void **state)
{
    struct eg_spool *sp = open_spool(1 << 20, 1 << 20);
    append_lines(sp, 0, 10);  /* frame 1 */
    append_lines(sp, 10, 10); /* frame 2: damaged below */
    append_lines(sp, 20, 10); /* frame 3 */
    eg_spool_close(sp);

    char path[1024];
    first_segment_path(path, sizeof(path));
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    /* Frames are roughly the same size: the middle of the file is in frame 2. */
    int fd = open(path, O_RDWR);
    unsigned char b;
    off_t mid = st.st_size / 2;
    assert_int_equal(pread(fd, &b, 1, mid), 1);
    b ^= 0x5a;
    assert_int_equal(pwrite(fd, &b, 1, mid), 1);
    close(fd);

    char damaged[1024];
    snprintf(damaged, sizeof(damaged), "%s/damaged-%s", g_dir, strrchr(path, '/') + 5);
    sp = open_spool(1 << 20, 1 << 20);
    struct eg_spool_stats s;
    eg_spool_get_stats(sp, &s);
    assert_int_equal(s.corrupt_frames, 1);
    assert_true(s.corrupt_bytes > 0);
    /* The damaged original is moved aside as it was, byte for byte; the repaired copy is smaller.
     */
    assert_int_equal(s.damaged_segments, 1);
    struct stat aside, repaired;
    assert_int_equal(stat(damaged, &aside), 0);
    assert_int_equal(aside.st_size, st.st_size);
    fd = open(damaged, O_RDONLY);
    unsigned char kept;
    assert_int_equal(pread(fd, &kept, 1, mid), 1);
    assert_int_equal(kept, b);
    close(fd);
    assert_int_equal(stat(path, &repaired), 0);
    assert_true(repaired.st_size < st.st_size);
    uint64_t seen[30] = {0}, total = 0;
    for (;;) {
        struct eg_spool_record *r;
        size_t n;
        assert_int_equal(eg_spool_read(sp, &r, &n), 0);
        if (!n)
            break;
        for (size_t i = 0; i < n; i++) {
            char want[64];
            line_for(r[i].seq, want, sizeof(want));
            assert_string_equal(r[i].data, want);
            seen[r[i].seq]++;
            total++;
        }
        eg_spool_records_free(r, n);
    }
    assert_int_equal(total, 20);
    for (int i = 0; i < 30; i++)
        assert_int_equal(seen[i], (i >= 10 && i < 20) ? 0 : 1);
    eg_spool_close(sp);

    /* The repair is persistent: a second open finds nothing damaged (and keeps what was). */
    sp = open_spool(1 << 20, 1 << 20);
    eg_spool_get_stats(sp, &s);
    assert_int_equal(s.corrupt_frames, 0);
    assert_int_equal(s.damaged_segments, 0);
    assert_int_equal(s.replayable_records, 20);
    assert_int_equal(stat(damaged, &aside), 0);
    eg_spool_close(sp);
}

static int count_damaged(void)
{
    DIR *d = opendir(g_dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strncmp(e->d_name, "damaged-", 8) == 0;
    closedir(d);
    return n;
}

/* Nothing valid left (garbage under a segment's name): moved aside whole; four kept at most. */
static void test_damaged_segments_are_moved_aside_and_bounded(void **state)
{
    for (int i = 1; i <= 6; i++) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/seg-%016x.egs", g_dir, i);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fprintf(f, "not a segment %d", i);
        fclose(f);
    }
    struct eg_spool *sp = open_spool(1 << 20, 1 << 20);
    struct eg_spool_stats s;
    eg_spool_get_stats(sp, &s);
    assert_int_equal(s.damaged_segments, 6);
    assert_int_equal(s.replayable_records, 0);
    eg_spool_close(sp);
    assert_int_equal(count_damaged(), 4);
    char path[1024];
    struct stat st;
    for (int i = 1; i <= 6; i++) {
        snprintf(path, sizeof(path), "%s/damaged-%016x.egs", g_dir, i);
        assert_int_equal(stat(path, &st) == 0, i > 2); /* the newest four */
        snprintf(path, sizeof(path), "%s/seg-%016x.egs", g_dir, i);
        assert_int_equal(stat(path, &st), -1);
    }
    /* Appends after it go on as usual. */
    sp = open_spool(1 << 20, 1 << 20);
    append_lines(sp, 0, 3);
    uint64_t first = 0, last = 0;
    assert_int_equal(read_all_lines(sp, &first, &last), 3);
    eg_spool_close(sp);
}

static void test_torn_tail_is_cut(void **state)
{
    struct eg_spool *sp = open_spool(1 << 20, 1 << 20);
    append_lines(sp, 0, 10);
    append_lines(sp, 10, 10);
    eg_spool_close(sp);
    char path[1024];
    first_segment_path(path, sizeof(path));
    struct stat st;
    stat(path, &st);
    assert_int_equal(truncate(path, st.st_size - 5), 0); /* crash mid-write */
    sp = open_spool(1 << 20, 1 << 20);
    struct eg_spool_stats s;
    eg_spool_get_stats(sp, &s);
    assert_int_equal(s.corrupt_frames, 1);
    uint64_t first = 0, last = 0;
    assert_int_equal(read_all_lines(sp, &first, &last), 10);
    assert_int_equal(last, 9);
    /* Appends after the repair continue cleanly; the torn lines were never
     * durable, so their numbers are reused. */
    append_lines(sp, 10, 3);
    struct eg_spool_record *r;
    size_t n;
    assert_int_equal(eg_spool_read(sp, &r, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(r[0].seq, 10);
    eg_spool_records_free(r, n);
    eg_spool_close(sp);

    /* The torn tail was cut out for good (moved aside), not found again at every start. */
    sp = open_spool(1 << 20, 1 << 20);
    eg_spool_get_stats(sp, &s);
    assert_int_equal(s.corrupt_frames, 0);
    assert_int_equal(s.damaged_segments, 0);
    assert_int_equal(read_all_lines(sp, &first, &last), 13);
    eg_spool_close(sp);
    char aside[1024];
    snprintf(aside, sizeof(aside), "%s/damaged-%s", g_dir, strrchr(path, '/') + 5);
    assert_int_equal(stat(aside, &st), 0);
}

static void test_write_error_is_reported_not_fatal(void **state)
{
    struct eg_spool *sp = open_spool(4 << 20, 1 << 20);
    append_lines(sp, 0, 5);
    struct eg_spool_stats s;
    eg_spool_get_stats(sp, &s);
    /* A file size limit fails writes the way a full disk does (EFBIG instead of ENOSPC). */
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = (rlim_t)(s.disk_bytes + 64);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    char big[8192];
    unsigned seed = 11;
    for (size_t k = 0; k < sizeof(big); k++)
        big[k] = (char)('a' + rand_r(&seed) % 26);
    struct eg_spool_input in[2] = {{.ts_ms = 1005, .data = "small", .len = 5},
                                   {.ts_ms = 1006, .data = big, .len = sizeof(big)}};
    size_t done = 99;
    int e = 0;
    int rc = eg_spool_append(sp, in, 2, &done, &e);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, SIG_DFL);
    assert_int_equal(rc, -1);
    assert_int_equal(e, EFBIG);
    assert_int_equal(done, 0);
    eg_spool_get_stats(sp, &s);
    assert_int_equal(s.write_errors, 1);
    /* Once the disk has room again the same lines go through. */
    assert_int_equal(eg_spool_append(sp, in, 2, &done, &e), 0);
    eg_spool_close(sp);

    sp = open_spool(4 << 20, 1 << 20);
    eg_spool_get_stats(sp, &s);
    assert_int_equal(s.corrupt_frames, 0);
    assert_int_equal(s.replayable_records, 7);
    eg_spool_close(sp);
}

static void test_line_larger_than_spool_is_refused(void **state)
{
    struct eg_spool *sp = open_spool(64 << 10, 8 << 10);
    size_t len = 200 << 10;
    char *huge = malloc(len);
    unsigned seed = 5;
    for (size_t k = 0; k < len; k++)
        huge[k] = (char)('a' + rand_r(&seed) % 26);
    struct eg_spool_input in = {.ts_ms = 1, .data = huge, .len = (uint32_t)len};
    int e = 0;
    assert_int_equal(eg_spool_append(sp, &in, 1, NULL, &e), -1);
    assert_int_equal(e, EMSGSIZE);
    free(huge);
    eg_spool_close(sp);
}

static void test_open_rejects_unusable_dir(void **state)
{
    char err[256] = "";
    struct eg_spool_opts o = {.dir = "/proc/version/spool"};
    assert_null(eg_spool_open(&o, err, sizeof(err)));
    assert_non_null(strstr(err, "/proc/version/spool"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_replay_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_killed_writer_loses_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_spool_drops_oldest_and_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reader_sees_drop_of_lines_it_holds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_frame_is_cut_out_and_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail_is_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_segments_are_moved_aside_and_bounded, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_write_error_is_reported_not_fatal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_larger_than_spool_is_refused, setup, teardown),
        cmocka_unit_test(test_open_rejects_unusable_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
