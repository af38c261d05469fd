/*
 * agent/kernel/rootfs_pathops.c: the path-only and fd syscalls' layouts by this architecture's
 * numbers, which the tracepoints' one path-op program reads (bpf/rootfs.bpf.c). A wrong number
 * or argument here sends a syscall's exit down another's layout.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>
#include <sys/syscall.h>

#include "agent/kernel/rootfs_pathops.h"

static const struct eg_rootfs_pathop_syscall *find(const char *name)
{
    for (size_t i = 0; i < eg_rootfs_pathop_syscall_count; i++)
        if (strcmp(eg_rootfs_pathop_syscalls[i].name, name) == 0)
            return &eg_rootfs_pathop_syscalls[i];
    return NULL;
}

/* Every number fits the kernel's table and names one syscall: no two layouts for one exit. */
static void test_numbers_fit_the_table_and_are_distinct(void **state)
{
    (void)state;
    assert_true(eg_rootfs_pathop_syscall_count >= 20);
    for (size_t i = 0; i < eg_rootfs_pathop_syscall_count; i++) {
        const struct eg_rootfs_pathop_syscall *a = &eg_rootfs_pathop_syscalls[i];
        assert_true(a->nr >= 0 && a->nr < EG_PATHOP_NR_LIMIT);
        assert_true(a->layout.kind >= EG_PATHOP_KIND_PATH &&
                    a->layout.kind <= EG_PATHOP_KIND_PATH_OR_FD);
        assert_true(a->layout.op >= EG_ROOTFS_OP_UNLINK && a->layout.op <= EG_ROOTFS_OP_SETTIMES);
        for (size_t j = i + 1; j < eg_rootfs_pathop_syscall_count; j++)
            assert_int_not_equal(a->nr, eg_rootfs_pathop_syscalls[j].nr);
    }
}

/* The C library's numbers, and the arguments as the syscalls' prototypes have them. */
static void test_layouts_follow_the_prototypes(void **state)
{
    (void)state;
    const struct eg_rootfs_pathop_syscall *s = find("unlinkat");
    assert_non_null(s);
    assert_int_equal(s->nr, SYS_unlinkat);
    assert_int_equal(s->layout.op, EG_ROOTFS_OP_UNLINK);
    assert_int_equal(s->layout.fd, 1);
    assert_int_equal(s->layout.path, 2);
    assert_int_equal(s->layout.path2, EG_ARG_NONE);

    /* symlinkat(target, newdirfd, linkpath): the new name is what lands on the root. */
    s = find("symlinkat");
    assert_non_null(s);
    assert_int_equal(s->nr, SYS_symlinkat);
    assert_int_equal(s->layout.fd, 2);
    assert_int_equal(s->layout.path, 3);

    /* renameat2(olddirfd, oldpath, newdirfd, newpath, flags) */
    s = find("renameat2");
    assert_non_null(s);
    assert_int_equal(s->nr, SYS_renameat2);
    assert_int_equal(s->layout.fd2, 3);
    assert_int_equal(s->layout.path2, 4);

    /* fchownat(dirfd, path, owner, group, flags): AT_EMPTY_PATH makes it the fd's */
    s = find("fchownat");
    assert_non_null(s);
    assert_int_equal(s->nr, SYS_fchownat);
    assert_int_equal(s->layout.kind, EG_PATHOP_KIND_PATH_OR_FD);
    assert_int_equal(s->layout.at_flags, 5);

    /* fchmod(fd, mode): the mode is kept (setuid bits) */
    s = find("fchmod");
    assert_non_null(s);
    assert_int_equal(s->nr, SYS_fchmod);
    assert_int_equal(s->layout.kind, EG_PATHOP_KIND_FD);
    assert_int_equal(s->layout.fd, 1);
    assert_int_equal(s->layout.mode, 2);

    /* setxattr(path, ...): no directory fd, the working directory is the base */
    s = find("setxattr");
    assert_non_null(s);
    assert_int_equal(s->layout.fd, EG_ARG_AT_FDCWD);
    assert_int_equal(s->layout.path, 1);

    s = find("fchmodat2");
    assert_non_null(s);
    assert_int_equal(s->nr, 452);
}

/* The older syscalls exist in x86_64's table only (arm64 has the *at forms alone). */
static void test_older_syscalls_only_where_the_table_has_them(void **state)
{
    (void)state;
#if defined(__x86_64__)
    const struct eg_rootfs_pathop_syscall *s = find("rename");
    assert_non_null(s);
    assert_int_equal(s->nr, SYS_rename);
    assert_int_equal(s->layout.fd, EG_ARG_AT_FDCWD);
    assert_int_equal(s->layout.fd2, EG_ARG_AT_FDCWD);
    assert_int_equal(s->layout.path2, 2);
    s = find("chmod");
    assert_non_null(s);
    assert_int_equal(s->nr, SYS_chmod);
    assert_int_equal(s->layout.mode, 2);
    assert_non_null(find("futimesat"));
#else
    assert_null(find("rename"));
    assert_null(find("futimesat"));
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers_fit_the_table_and_are_distinct),
        cmocka_unit_test(test_layouts_follow_the_prototypes),
        cmocka_unit_test(test_older_syscalls_only_where_the_table_has_them),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
