/*
 * The cgroup detector: a contained process moved out of its container's cgroup is one High
 * finding per container, destination and process, attributed to the container it started in,
 * with where it went and who moved it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "agent/detectors/detect_cgroup.h"
#include "policy/finding_types.h"

#define TASK_A "0123456789abcdef0123456789abcdef"
#define TASK_B "fedcba9876543210fedcba9876543210"
#define CID_A1 "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"
#define CID_B1 "b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1"

enum { CG_A1 = 101, CG_B1 = 201, CG_ROOT = 1 };

struct collected {
    int n;
    struct eg_finding *f[8];
};

static void collect(void *ctx, struct eg_finding *f)
{
    struct collected *c = ctx;
    if (c->n < 8)
        c->f[c->n++] = f;
}

static struct eg_cgroup_left_event left(uint64_t dst, uint32_t flags, const char *path)
{
    struct eg_cgroup_left_event e;
    memset(&e, 0, sizeof(e));
    e.hdr.kind = EG_EVENT_CGROUP_LEFT;
    e.hdr.size = sizeof(e);
    e.hdr.cgroup_id = CG_A1; /* the home */
    e.hdr.tgid = e.hdr.pid = 4242;
    e.hdr.start_time_ns = 3000000000ULL;
    memcpy(e.hdr.comm, "sh", 3);
    e.dst_cgroup_id = dst;
    e.left_flags = flags;
    e.writer_tgid = 4242;
    memcpy(e.writer_comm, "sh", 3);
    snprintf(e.dst_path, sizeof(e.dst_path), "%s", path);
    return e;
}

static const char *ctx_str(struct json_object *o, const char *a, const char *b)
{
    struct json_object *x, *y;
    assert_true(json_object_object_get_ex(o, a, &x));
    assert_true(json_object_object_get_ex(x, b, &y));
    return json_object_get_string(y);
}

static void moves_out_of_the_home_are_findings_of_the_home(void **state)
{
    (void)state;
    struct eg_container_table *containers = eg_container_table_new(-1);
    struct eg_proc_table *procs = eg_proc_table_new();
    struct eg_aggregator_config ac = {.window_ms = 60000, .interval_ms = 1000, .max_findings = 8};
    struct eg_aggregator *findings = eg_aggregator_new(&ac);
    assert_non_null(eg_container_table_add_cgroup(containers, CG_A1, "/ecs/" TASK_A "/" CID_A1, 1));
    assert_non_null(eg_container_table_add_cgroup(containers, CG_B1, "/ecs/" TASK_B "/" CID_B1, 1));
    struct eg_detector_env env = {.findings = findings, .procs = procs, .containers = containers};
    struct eg_cgroup_detector *d = eg_cgroup_detector_new(&env);

    struct eg_cgroup_left_event to_root = left(CG_ROOT, EG_LEFT_BY_ITSELF, "/");
    eg_cgroup_on_left(d, &to_root.hdr, &to_root, sizeof(to_root));
    eg_cgroup_on_left(d, &to_root.hdr, &to_root, sizeof(to_root)); /* the same move again */
    struct eg_cgroup_left_event to_b =
        left(CG_B1, EG_LEFT_INTO_CONTAINER, "/ecs/" TASK_B "/" CID_B1);
    to_b.writer_tgid = 1;
    memcpy(to_b.writer_comm, "systemd", 8);
    eg_cgroup_on_left(d, &to_b.hdr, &to_b, sizeof(to_b));
    /* a truncated record is not read */
    eg_cgroup_on_left(d, &to_b.hdr, &to_b, sizeof(struct eg_event_header));

    struct collected c = {0};
    eg_aggregator_foreach(findings, collect, &c);
    assert_int_equal(c.n, 2);
    for (int i = 0; i < 2; i++) {
        struct eg_finding *f = c.f[i];
        assert_int_equal(f->type, EG_FT_CGROUP_ESCAPED);
        assert_string_equal(f->where.container_id, CID_A1); /* the home, wherever it went */
        assert_string_equal(f->where.task_id, TASK_A);
        assert_int_equal(f->process.pid, 4242);
        struct json_object *to, *x;
        assert_true(json_object_object_get_ex(f->context, "destinationCgroup", &to));
        assert_true(json_object_object_get_ex(to, "taskContainer", &x));
        if (f->count == 2) {
            assert_string_equal(ctx_str(f->context, "destinationCgroup", "cgroupPath"), "/");
            assert_false(json_object_get_boolean(x));
            assert_string_equal(ctx_str(f->context, "movedBy", "kind"), "self");
            assert_string_equal(json_object_get_string(json_object_object_get(f->context, "how")),
                                "cgroupProcsWrite");
            assert_false(json_object_object_get_ex(to, "containerId", &x));
        } else {
            assert_int_equal(f->count, 1);
            assert_true(json_object_get_boolean(x));
            assert_string_equal(ctx_str(f->context, "destinationCgroup", "containerId"), CID_B1);
            assert_string_equal(ctx_str(f->context, "destinationCgroup", "taskId"), TASK_B);
            assert_string_equal(ctx_str(f->context, "movedBy", "kind"), "host");
            assert_string_equal(ctx_str(f->context, "movedBy", "name"), "systemd");
        }
    }
    struct eg_cgroup_detector_stats st;
    eg_cgroup_detector_get_stats(d, &st);
    assert_int_equal(st.moves, 3);
    assert_int_equal(st.orphan_moves, 0);
    assert_string_equal(eg_finding_type_info(EG_FT_CGROUP_ESCAPED)->name,
                        "DefenseEvasion:Runtime/ContainerCgroupEscaped");
    assert_string_equal(eg_severity_label(eg_finding_type_info(EG_FT_CGROUP_ESCAPED)->severity),
                        "High");
    eg_cgroup_detector_free(d);
    eg_aggregator_free(findings);
    eg_proc_table_free(procs);
    eg_container_table_free(containers);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(moves_out_of_the_home_are_findings_of_the_home),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
