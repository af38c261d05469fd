/* Function address ranges from a kallsyms file (the overcommit caller check's input). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent/kernel/kallsyms.h"

static const char *fixture(void)
{
    static char path[1024];
    const char *dir = getenv("ECSGUARD_FIXTURES");
    snprintf(path, sizeof(path), "%s/kallsyms/sample", dir ? dir : "tests/fixtures");
    return path;
}

/* The end is the lowest address above the start wherever it stands in the file; names match
 * whole (a module's symbol with the name as a prefix does not count). */
static void ranges_from_an_unsorted_file(void **state)
{
    (void)state;
    struct eg_ksym_range r[] = {{.name = "__vm_enough_memory"},
                                {.name = "cap_vm_enough_memory"},
                                {.name = "no_such_function"},
                                {.name = "hidden_symbol"}};
    assert_int_equal(eg_kallsyms_resolve(fixture(), r, 4), 2);
    assert_int_equal(r[0].start, 0xffffffff815d3ce0ULL);
    assert_int_equal(r[0].end, 0xffffffff815d3e00ULL); /* listed after a higher address */
    assert_int_equal(r[1].start, 0xffffffff81abb680ULL);
    assert_int_equal(r[1].end, 0xffffffff81abb6f0ULL);
    assert_int_equal(r[2].start, 0);
    assert_int_equal(r[2].end, 0);
    assert_int_equal(r[3].start, 0); /* kptr_restrict shows zeros: not resolved */
}

static void missing_file_resolves_nothing(void **state)
{
    (void)state;
    struct eg_ksym_range r[] = {{.name = "__vm_enough_memory"}};
    assert_int_equal(eg_kallsyms_resolve("/nonexistent/kallsyms", r, 1), 0);
    assert_int_equal(r[0].start, 0);
}

/* The running kernel: both overcommit functions resolve to a non-empty range. */
static void running_kernel(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        fprintf(stderr, "skipped: /proc/kallsyms shows addresses only to root (CI runs as "
                        "root)\n");
        skip();
    }
    struct eg_ksym_range r[] = {{.name = "__vm_enough_memory"}, {.name = "cap_vm_enough_memory"}};
    assert_int_equal(eg_kallsyms_resolve("/proc/kallsyms", r, 2), 2);
    for (int i = 0; i < 2; i++) {
        assert_true(r[i].start != 0);
        assert_true(r[i].end > r[i].start);
        assert_true(r[i].end - r[i].start < 64 * 1024);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ranges_from_an_unsorted_file),
        cmocka_unit_test(missing_file_resolves_nothing),
        cmocka_unit_test(running_kernel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
