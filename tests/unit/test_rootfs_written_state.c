/*
 * The rootfs detector's files-written table across a restart: what one detector saved, the
 * next reads back (writer, times, paths, table order); a file of another boot, a damaged one
 * or none leaves a fresh table, counted; without --state-dir nothing is written.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/detectors/detect_rootfs_internal.h"

struct fixture {
    char dir[64];
    char file[128];
    struct eg_proc_table *procs;
    struct eg_container_table *containers;
};

static int setup(void **state)
{
    static struct fixture fx;
    snprintf(fx.dir, sizeof(fx.dir), "/tmp/eg-written-state-XXXXXX");
    if (!mkdtemp(fx.dir))
        return -1;
    snprintf(fx.file, sizeof(fx.file), "%s/rootfs-written.state", fx.dir);
    fx.procs = eg_proc_table_new();
    fx.containers = eg_container_table_new(-1);
    *state = &fx;
    return fx.procs && fx.containers ? 0 : -1;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    unlink(fx->file);
    rmdir(fx->dir);
    eg_proc_table_free(fx->procs);
    eg_container_table_free(fx->containers);
    return 0;
}

static struct eg_rootfs_detector *detector(struct fixture *fx, const char *dir)
{
    struct eg_detector_env env = {.procs = fx->procs, .containers = fx->containers};
    struct eg_rootfs_detector *d = eg_rootfs_detector_new(&env, -1, "/proc");
    assert_non_null(d);
    eg_rootfs_state_open(d, dir);
    return d;
}

static void write_one(struct eg_rootfs_detector *d, uint64_t cg, uint64_t ino, const char *comm,
                      const char *path)
{
    struct eg_event_header h = {.ts_ns = 5000000000ULL + ino,
                                .start_time_ns = 4000000000ULL,
                                .tgid = 900 + (uint32_t)ino,
                                .ns_pid = 7,
                                .uid = 1000};
    snprintf(h.comm, sizeof(h.comm), "%s", comm);
    eg_rootfs_remember_written(d, cg, 42, ino, &h, path);
}

static void saved_table_is_read_back_by_the_next_agent(void **state)
{
    struct fixture *fx = *state;
    struct eg_rootfs_detector *a = detector(fx, fx->dir);
    write_one(a, 101, 1, "cp", "/bin/dropped");
    write_one(a, 101, 2, "sh", "/usr/local/bin/tool");
    write_one(a, 202, 1, "curl", "/tmp/payload"); /* same inode, another container */
    eg_rootfs_state_save(a, 10000, false);        /* the first change: written */
    assert_int_equal(a->stats.written_state_saves, 1);
    eg_rootfs_state_save(a, 16000, false);
    assert_int_equal(a->stats.written_state_saves, 1); /* unchanged since */
    write_one(a, 101, 3, "tar", "/opt/x");
    eg_rootfs_state_save(a, 14000, false);
    assert_int_equal(a->stats.written_state_saves, 1); /* changed, within five seconds */
    eg_rootfs_state_save(a, 14001, true);              /* shutdown */
    assert_int_equal(a->stats.written_state_saves, 2);
    eg_rootfs_detector_free(a);

    struct eg_rootfs_detector *b = detector(fx, fx->dir);
    eg_rootfs_state_load(b);
    assert_int_equal(b->stats.written_state_loaded, 4);
    assert_int_equal(b->stats.written_state_rejected, 0);
    uint32_t i = eg_rootfs_written_find(b, 101, 42, 1);
    assert_int_not_equal(i, EG_HASH_NONE);
    assert_string_equal(b->written[i].comm, "cp");
    assert_string_equal(b->written[i].path, "/bin/dropped");
    assert_int_equal(b->written[i].pid, 901);
    assert_int_equal(b->written[i].ts_ns, 5000000001ULL);
    assert_int_equal(b->written[i].start_ns, 4000000000ULL);
    i = eg_rootfs_written_find(b, 202, 42, 1);
    assert_int_not_equal(i, EG_HASH_NONE);
    assert_string_equal(b->written[i].path, "/tmp/payload");
    assert_int_equal(eg_rootfs_written_find(b, 303, 42, 1), EG_HASH_NONE);
    /* Order continues: the next write is newer than every restored one. */
    write_one(b, 101, 9, "cp", "/bin/later");
    i = eg_rootfs_written_find(b, 101, 42, 9);
    assert_true(b->written_keys[i].seq > 4);
    eg_rootfs_detector_free(b);
}

static void other_boot_damaged_or_absent_file_is_a_fresh_table(void **state)
{
    struct fixture *fx = *state;
    struct eg_rootfs_detector *a = detector(fx, fx->dir);
    write_one(a, 101, 1, "cp", "/bin/dropped");
    eg_rootfs_state_save(a, 10000, true);
    eg_rootfs_detector_free(a);

    /* Another boot: cgroup ids and inodes of the last one mean nothing now. */
    struct eg_rootfs_detector *b = detector(fx, fx->dir);
    memcpy(b->boot_id, "00000000-0000-0000-0000-000000000000", 37);
    eg_rootfs_state_load(b);
    assert_int_equal(b->stats.written_state_loaded, 0);
    assert_int_equal(b->stats.written_state_rejected, 1);
    assert_int_equal(eg_rootfs_written_find(b, 101, 42, 1), EG_HASH_NONE);
    eg_rootfs_detector_free(b);

    /* One byte changed in the middle, then the file cut short: the checksum refuses both. */
    FILE *fp = fopen(fx->file, "r+b");
    assert_non_null(fp);
    fseek(fp, 70, SEEK_SET);
    fputc(0x5a, fp);
    fclose(fp);
    b = detector(fx, fx->dir);
    eg_rootfs_state_load(b);
    assert_int_equal(b->stats.written_state_rejected, 1);
    assert_int_equal(b->stats.written_state_loaded, 0);
    eg_rootfs_detector_free(b);
    assert_int_equal(truncate(fx->file, 20), 0);
    b = detector(fx, fx->dir);
    eg_rootfs_state_load(b);
    assert_int_equal(b->stats.written_state_rejected, 1);
    eg_rootfs_detector_free(b);

    /* None: nothing to read, nothing refused. */
    unlink(fx->file);
    b = detector(fx, fx->dir);
    eg_rootfs_state_load(b);
    assert_int_equal(b->stats.written_state_rejected, 0);
    eg_rootfs_detector_free(b);
}

static void without_a_state_dir_nothing_is_written(void **state)
{
    struct fixture *fx = *state;
    struct eg_rootfs_detector *a = detector(fx, NULL);
    write_one(a, 101, 1, "cp", "/bin/dropped");
    eg_rootfs_state_save(a, 10000, true);
    assert_int_equal(a->stats.written_state_saves, 0);
    eg_rootfs_detector_free(a);
    struct stat st;
    assert_int_not_equal(stat(fx->file, &st), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(saved_table_is_read_back_by_the_next_agent, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(other_boot_damaged_or_absent_file_is_a_fresh_table, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(without_a_state_dir_nothing_is_written, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
