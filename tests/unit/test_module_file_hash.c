/*
 * moduleSha256: the digest of the file the kernel loaded, taken only when the file found at
 * the path is that file (device and inode) and unchanged since the load (ctime); a link, a
 * FIFO or another file put at the path is never read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "agent/detectors/module_file_hash.h"

/* printf 'module bytes' | sha256sum */
#define CONTENT "module bytes"
#define CONTENT_SHA256 "5c073b6de205a83e4df87dcd07111be224ad4435a8c08ca0ba10e68dcf38fe92"

struct fixture {
    char dir[64];
    char file[96];
    uint32_t kdev;
    uint64_t ino;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/eg-modhash-XXXXXX");
    if (!mkdtemp(fx->dir))
        return -1;
    snprintf(fx->file, sizeof(fx->file), "%s/m.ko", fx->dir);
    FILE *f = fopen(fx->file, "w");
    fputs(CONTENT, f);
    fclose(f);
    struct stat st;
    stat(fx->file, &st);
    fx->kdev = (major(st.st_dev) << 20) | minor(st.st_dev);
    fx->ino = st.st_ino;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
    if (system(cmd) != 0)
        return -1;
    free(fx);
    return 0;
}

static const uint32_t own_root[] = {0};

static void digest_of_the_loaded_file(void **state)
{
    struct fixture *fx = *state;
    char hex[65];
    assert_int_equal(eg_module_file_sha256("/proc", own_root, 1, fx->file, fx->kdev, fx->ino,
                                           now_ns() + 1000000000ull, hex),
                     EG_MODULE_HASHED);
    assert_string_equal(hex, CONTENT_SHA256);
}

static void through_a_process_root(void **state)
{
    struct fixture *fx = *state;
    char hex[65];
    uint32_t pids[] = {999999999u, (uint32_t)getpid()}; /* the first has no /proc entry */
    assert_int_equal(eg_module_file_sha256("/proc", pids, 2, fx->file, fx->kdev, fx->ino,
                                           now_ns() + 1000000000ull, hex),
                     EG_MODULE_HASHED);
}

static void another_file_at_the_path_is_not_read(void **state)
{
    struct fixture *fx = *state;
    char hex[65];
    assert_int_equal(eg_module_file_sha256("/proc", own_root, 1, fx->file, fx->kdev, fx->ino + 1,
                                           now_ns() + 1000000000ull, hex),
                     EG_MODULE_FILE_GONE);
    assert_string_equal(hex, "");
    assert_int_equal(eg_module_file_sha256("/proc", own_root, 1, fx->file, fx->kdev + 1, fx->ino,
                                           now_ns() + 1000000000ull, hex),
                     EG_MODULE_FILE_GONE);
}

static void changed_after_the_load(void **state)
{
    struct fixture *fx = *state;
    char hex[65];
    /* Loaded a minute before its last change. */
    assert_int_equal(eg_module_file_sha256("/proc", own_root, 1, fx->file, fx->kdev, fx->ino,
                                           now_ns() - 60000000000ull, hex),
                     EG_MODULE_FILE_CHANGED);
    assert_string_equal(hex, "");
}

static void a_link_or_fifo_at_the_path_is_not_opened(void **state)
{
    struct fixture *fx = *state;
    char link[128], fifo[128];
    snprintf(link, sizeof(link), "%s/link.ko", fx->dir);
    snprintf(fifo, sizeof(fifo), "%s/fifo.ko", fx->dir);
    assert_int_equal(symlink(fx->file, link), 0);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    char hex[65];
    /* The link leads to the loaded file itself: still not followed. */
    assert_int_equal(eg_module_file_sha256("/proc", own_root, 1, link, fx->kdev, fx->ino,
                                           now_ns() + 1000000000ull, hex),
                     EG_MODULE_FILE_GONE);
    struct stat st;
    stat(fifo, &st);
    /* A FIFO with the identity asked for: not regular, never opened for reading (no hang). */
    assert_int_equal(eg_module_file_sha256("/proc", own_root, 1, fifo,
                                           (major(st.st_dev) << 20) | minor(st.st_dev), st.st_ino,
                                           now_ns() + 1000000000ull, hex),
                     EG_MODULE_FILE_GONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(digest_of_the_loaded_file, setup, teardown),
        cmocka_unit_test_setup_teardown(through_a_process_root, setup, teardown),
        cmocka_unit_test_setup_teardown(another_file_at_the_path_is_not_read, setup, teardown),
        cmocka_unit_test_setup_teardown(changed_after_the_load, setup, teardown),
        cmocka_unit_test_setup_teardown(a_link_or_fifo_at_the_path_is_not_opened, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
