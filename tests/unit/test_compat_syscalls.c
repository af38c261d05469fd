/*
 * agent/kernel/compat_syscalls.c: the i386 syscalls the compat concern watches, by number, with
 * their path and flag arguments (bpf/compat.bpf.c reads the table the loader fills from it). A
 * wrong number reports one syscall as another; a native syscall the root filesystem concern
 * watches without an i386 row is a way around both concerns.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "agent/kernel/compat_syscalls.h"
#include "agent/kernel/rootfs_pathops.h"

#if defined(__x86_64__)
static const struct eg_compat_syscall_row *row(const char *name)
{
    for (size_t i = 0; i < eg_compat_syscall_row_count; i++)
        if (strcmp(eg_compat_syscall_rows[i].name, name) == 0)
            return &eg_compat_syscall_rows[i];
    return NULL;
}

/* Every number fits the program's table and names one row; every row is watched. */
static void test_numbers_fit_the_table_and_are_distinct(void **state)
{
    (void)state;
    assert_true(eg_compat_syscall_row_count >= 40);
    for (size_t i = 0; i < eg_compat_syscall_row_count; i++) {
        const struct eg_compat_syscall_row *a = &eg_compat_syscall_rows[i];
        assert_true(a->nr > 0 && a->nr < EG_COMPAT_NR_LIMIT);
        assert_true(a->layout.concern == EG_COMPAT_ROOTFS || a->layout.concern == EG_COMPAT_HOSTNS);
        assert_true(a->layout.path <= 5 && a->layout.path2 <= 5 && a->layout.flags <= 5);
        assert_non_null(a->function);
        for (size_t j = i + 1; j < eg_compat_syscall_row_count; j++)
            assert_int_not_equal(a->nr, eg_compat_syscall_rows[j].nr);
        assert_ptr_equal(eg_compat_syscall_by_nr(a->nr), a);
    }
    assert_null(eg_compat_syscall_by_nr(20)); /* getpid: not watched */
    assert_null(eg_compat_syscall_by_nr(-1));
}

/*
 * Every path-only and fd syscall the root filesystem concern watches natively has its i386 form
 * here, with the path arguments where the native prototype has them (i386 passes the same
 * arguments in the same order).
 */
static void test_every_native_path_syscall_has_its_i386_form(void **state)
{
    (void)state;
    for (size_t i = 0; i < eg_rootfs_pathop_syscall_count; i++) {
        const struct eg_rootfs_pathop_syscall *n = &eg_rootfs_pathop_syscalls[i];
        const struct eg_compat_syscall_row *r = row(n->name);
        if (!r)
            fail_msg("%s: watched natively, no i386 row", n->name);
        assert_int_equal(r->layout.concern, EG_COMPAT_ROOTFS);
        unsigned native_path = n->layout.path == EG_ARG_NONE ? 0 : n->layout.path;
        unsigned native_path2 = n->layout.path2 == EG_ARG_NONE ? 0 : n->layout.path2;
        if (r->layout.path != native_path)
            fail_msg("%s: i386 path argument %u, native %u", n->name, r->layout.path, native_path);
        /* symlink's second path is its target, which the native layout does not read */
        if (native_path2 && r->layout.path2 != native_path2)
            fail_msg("%s: i386 second path %u, native %u", n->name, r->layout.path2, native_path2);
    }
}

/* i386's own numbers (arch/x86/entry/syscalls/syscall_32.tbl), and its old forms. */
static void test_i386_numbers_and_functions(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        long nr;
        const char *function;
    } want[] = {
        {"open", 5, "open"},
        {"openat", 295, "openat"},
        {"kill", 37, "kill"},
        {"setns", 346, "setns"},
        {"ptrace", 26, "ptrace"},
        {"chown", 182, "chown16"},
        {"chown32", 212, "chown"},
        {"utimensat", 320, "utimensat_time32"},
        {"truncate64", 193, "ia32_truncate64"},
        {"fchmodat2", 452, "fchmodat2"},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const struct eg_compat_syscall_row *r = row(want[i].name);
        assert_non_null(r);
        assert_int_equal(r->nr, want[i].nr);
        assert_string_equal(r->function, want[i].function);
    }
    /* Only write opens: the flags argument of open and openat; creat always writes. */
    assert_int_equal(row("open")->layout.flags, 2);
    assert_int_equal(row("openat")->layout.flags, 3);
    assert_int_equal(row("creat")->layout.flags, 0);
    assert_int_equal(row("kill")->layout.concern, EG_COMPAT_HOSTNS);
    assert_int_equal(row("rename")->layout.path2, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers_fit_the_table_and_are_distinct),
        cmocka_unit_test(test_every_native_path_syscall_has_its_i386_form),
        cmocka_unit_test(test_i386_numbers_and_functions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
#else
/* Other architectures watch no compat ABI: the table is empty. */
static void test_no_rows_elsewhere(void **state)
{
    (void)state;
    assert_int_equal(eg_compat_syscall_row_count, 0);
    assert_null(eg_compat_syscall_by_nr(5));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_no_rows_elsewhere)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif
