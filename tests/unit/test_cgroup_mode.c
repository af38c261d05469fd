/* Which hierarchy identifies containers: v2, hybrid (v1 controller), v1 with fallbacks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "collectors/cgroup_mode.h"

static void fixture(char *out, size_t len, const char *name)
{
    const char *dir = getenv("ECSGUARD_FIXTURES");
    snprintf(out, len, "%s/cgroups/%s", dir ? dir : "tests/fixtures", name);
}

static int probe(const char *prefix, struct eg_cgroup_setup *s, char *err, unsigned errlen)
{
    char pc[512], mi[512], a[64], b[64];
    snprintf(a, sizeof(a), "%s.proc_cgroups", prefix);
    snprintf(b, sizeof(b), "%s.mountinfo", prefix);
    fixture(pc, sizeof(pc), a);
    fixture(mi, sizeof(mi), b);
    return eg_cgroup_setup_probe(pc, mi, s, err, errlen);
}

static void hybrid_tracks_memory_controller(void **state)
{
    (void)state;
    struct eg_cgroup_setup s;
    char err[128];
    assert_int_equal(probe("hybrid", &s, err, sizeof(err)), 0);
    assert_int_equal(s.mode, EG_CGROUP_HYBRID);
    assert_true(s.use_v1);
    assert_string_equal(s.controller, "memory");
    assert_int_equal(s.subsys_index, 4); /* line order of /proc/cgroups */
    assert_int_equal(s.hierarchy_id, 4);
    assert_string_equal(s.mount_point, "/sys/fs/cgroup/memory");
    assert_string_equal(s.v2_mount_point, "/sys/fs/cgroup/unified");
}

static void unified_only_uses_v2(void **state)
{
    (void)state;
    struct eg_cgroup_setup s;
    char err[128];
    assert_int_equal(probe("v2", &s, err, sizeof(err)), 0);
    assert_int_equal(s.mode, EG_CGROUP_V2);
    assert_false(s.use_v1);
    assert_int_equal(s.hierarchy_id, 0);
    assert_string_equal(s.mount_point, "/sys/fs/cgroup");
}

static void v1_without_memory_falls_back_to_pids(void **state)
{
    (void)state;
    struct eg_cgroup_setup s;
    char err[128];
    assert_int_equal(probe("v1", &s, err, sizeof(err)), 0);
    assert_int_equal(s.mode, EG_CGROUP_V1);
    assert_string_equal(s.controller, "pids");
    assert_int_equal(s.subsys_index, 11);
    assert_int_equal(s.hierarchy_id, 10);
    assert_string_equal(s.mount_point, "/sys/fs/cgroup/pids");
}

static void missing_files_are_a_clear_error(void **state)
{
    (void)state;
    struct eg_cgroup_setup s;
    char err[128] = "";
    assert_int_equal(eg_cgroup_setup_probe("/nonexistent/cgroups", "/nonexistent/mountinfo", &s,
                                           err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "/nonexistent/cgroups"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hybrid_tracks_memory_controller),
        cmocka_unit_test(unified_only_uses_v2),
        cmocka_unit_test(v1_without_memory_falls_back_to_pids),
        cmocka_unit_test(missing_files_are_a_clear_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
