/* cgroup path -> container/task identity, for every layout in docs/design.md §5. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "collectors/cgroup_path.h"

#define CID "79c796ed2a7f864f485c76f83f3165488097279d296a7c05bd5201a1c69b2920"
#define CID2 "bf25c5c5b2d4dba68846c7236e75b6915e1e778d31611e3c6a06831e39814a15"
#define TID_HEX "8f03e41243824aea923aca126495f665"
#define TID_UUID "e01d58a8-151b-40e8-bc01-22647b9ecfec"

static void assert_container(const char *path, enum eg_cgroup_layout layout, const char *cid,
                             const char *tid, bool nested)
{
    struct eg_cgroup_identity id;
    memset(&id, 0xAB, sizeof(id)); /* prove every field is written */
    if (!eg_cgroup_path_parse(path, &id))
        fail_msg("expected a container: %s", path);
    assert_int_equal(id.layout, layout);
    assert_string_equal(id.container_id, cid);
    assert_string_equal(id.task_id, tid);
    assert_int_equal(id.nested, nested);
    assert_false(id.task_only);
}

static void assert_rejected(const char *path)
{
    struct eg_cgroup_identity id;
    memset(&id, 0xAB, sizeof(id));
    if (eg_cgroup_path_parse(path, &id))
        fail_msg("expected rejection: %s", path);
    struct eg_cgroup_identity zero;
    memset(&zero, 0, sizeof(zero));
    assert_memory_equal(&id, &zero, sizeof(id));
}

static void test_ecs_v1(void **state)
{
    (void)state;
    assert_container("/ecs/" TID_HEX "/" CID, EG_LAYOUT_ECS_V1, CID, TID_HEX, false);
    assert_container("/ecs/" TID_UUID "/" CID, EG_LAYOUT_ECS_V1, CID, TID_UUID, false);
    /* Mount prefixes as seen from the host's cgroupfs, in every v1 hierarchy. */
    assert_container("/sys/fs/cgroup/memory/ecs/" TID_HEX "/" CID, EG_LAYOUT_ECS_V1, CID, TID_HEX,
                     false);
    assert_container("/sys/fs/cgroup/cpu,cpuacct/ecs/" TID_HEX "/" CID, EG_LAYOUT_ECS_V1, CID,
                     TID_HEX, false);
    /* Relative form and one trailing slash. */
    assert_container("ecs/" TID_HEX "/" CID, EG_LAYOUT_ECS_V1, CID, TID_HEX, false);
    assert_container("/ecs/" TID_HEX "/" CID "/", EG_LAYOUT_ECS_V1, CID, TID_HEX, false);
}

static void test_ecs_v2(void **state)
{
    (void)state;
    assert_container("/ecstasks.slice/ecstasks-" TID_HEX ".slice/docker-" CID ".scope",
                     EG_LAYOUT_ECS_V2, CID, TID_HEX, false);
    assert_container("/sys/fs/cgroup/ecstasks.slice/ecstasks-" TID_HEX ".slice/docker-" CID
                     ".scope",
                     EG_LAYOUT_ECS_V2, CID, TID_HEX, false);
    /* An old UUID task id, as one flat slice name. */
    assert_container("/ecstasks.slice/ecstasks-" TID_UUID ".slice/docker-" CID ".scope",
                     EG_LAYOUT_ECS_V2, CID, TID_UUID, false);
    /* ...and as systemd expands '-' in slice names into nested slices. */
    assert_container("/ecstasks.slice/ecstasks-e01d58a8.slice/ecstasks-e01d58a8-151b.slice/"
                     "ecstasks-e01d58a8-151b-40e8.slice/ecstasks-e01d58a8-151b-40e8-bc01.slice/"
                     "ecstasks-" TID_UUID ".slice/docker-" CID ".scope",
                     EG_LAYOUT_ECS_V2, CID, TID_UUID, false);
}

static void test_docker_fallbacks(void **state)
{
    (void)state;
    assert_container("/docker/" CID, EG_LAYOUT_DOCKER_CGROUPFS, CID, "", false);
    assert_container("/sys/fs/cgroup/pids/docker/" CID, EG_LAYOUT_DOCKER_CGROUPFS, CID, "", false);
    assert_container("/system.slice/docker-" CID ".scope", EG_LAYOUT_DOCKER_SYSTEMD, CID, "",
                     false);
    assert_container("/sys/fs/cgroup/system.slice/docker-" CID ".scope", EG_LAYOUT_DOCKER_SYSTEMD,
                     CID, "", false);
}

static void test_nested(void **state)
{
    (void)state;
    assert_container("/ecs/" TID_HEX "/" CID "/sub", EG_LAYOUT_ECS_V1, CID, TID_HEX, true);
    assert_container("/ecstasks.slice/ecstasks-" TID_HEX ".slice/docker-" CID ".scope/init.scope",
                     EG_LAYOUT_ECS_V2, CID, TID_HEX, true);
    assert_container("/system.slice/docker-" CID ".scope/a/b", EG_LAYOUT_DOCKER_SYSTEMD, CID, "",
                     true);
    /* Docker in a task container: the outer (ECS) container owns it. */
    assert_container("/ecs/" TID_HEX "/" CID "/docker/" CID2, EG_LAYOUT_ECS_V1, CID, TID_HEX, true);
    assert_container("/docker/" CID "/docker/" CID2, EG_LAYOUT_DOCKER_CGROUPFS, CID, "", true);
}

static void test_task_only(void **state)
{
    (void)state;
    struct eg_cgroup_identity id;
    assert_false(eg_cgroup_path_parse("/ecs/" TID_HEX, &id));
    assert_true(id.task_only);
    assert_int_equal(id.layout, EG_LAYOUT_ECS_V1);
    assert_string_equal(id.task_id, TID_HEX);
    assert_string_equal(id.container_id, "");
    assert_false(id.nested);

    assert_false(eg_cgroup_path_parse("/sys/fs/cgroup/memory/ecs/" TID_UUID "/", &id));
    assert_true(id.task_only);
    assert_string_equal(id.task_id, TID_UUID);

    assert_false(
        eg_cgroup_path_parse("/sys/fs/cgroup/ecstasks.slice/ecstasks-" TID_HEX ".slice", &id));
    assert_true(id.task_only);
    assert_int_equal(id.layout, EG_LAYOUT_ECS_V2);
    assert_string_equal(id.task_id, TID_HEX);

    /* The parents themselves are not task cgroups. */
    assert_rejected("/ecs");
    assert_rejected("/sys/fs/cgroup/ecstasks.slice");
}

static void test_rejects_bad_ids(void **state)
{
    (void)state;
    char upper[] = CID;
    upper[10] = 'A';
    char path[512];
    snprintf(path, sizeof(path), "/docker/%s", upper);
    assert_rejected(path);
    /* 63 and 65 hex chars. */
    assert_rejected("/docker/"
                    "79c796ed2a7f864f485c76f83f3165488097279d296a7c05bd5201a1c69b292");
    assert_rejected("/docker/" CID "0");
    assert_rejected("/system.slice/docker-" CID "0.scope");
    assert_rejected("/system.slice/docker-" CID ".service");
    assert_rejected("/system.slice/containerd.service");
    /* Non-hex character in an otherwise right-length id. */
    snprintf(path, sizeof(path), "/docker/%.63sg", CID);
    assert_rejected(path);
    /* Task ids: upper case, wrong length, misplaced dashes, non-hex. */
    assert_rejected("/ecs/8F03E41243824AEA923ACA126495F665/" CID);
    assert_rejected("/ecs/8f03e41243824aea923aca126495f66/" CID);
    assert_rejected("/ecs/e01d58a8151b-40e8-bc01-22647b9ecfec-/" CID);
    assert_rejected("/ecs/example5-58ff-46c9-ae05-543f8example/" CID);
    assert_rejected("/ecs/" TID_HEX "/not-a-container");
    assert_rejected("/ecstasks.slice/ecstasks-" TID_HEX ".slice/docker-" CID);
    assert_rejected("/ecstasks.slice/ecstasks-.slice/docker-" CID ".scope");
    /* A broken slice chain: the second link does not extend the first. */
    assert_rejected("/ecstasks.slice/ecstasks-e01d58a8.slice/ecstasks-" TID_HEX ".slice/docker-" CID
                    ".scope");
    /* Not containers at all. */
    assert_rejected("/");
    assert_rejected("");
    assert_rejected("/user.slice/user-1000.slice/session-1.scope");
    assert_rejected("/docker");
    assert_rejected("/docker/");
}

static void test_rejects_forged_paths(void **state)
{
    (void)state;
    assert_rejected("/ecs/../ecs/" TID_HEX "/" CID);
    assert_rejected("/ecs/" TID_HEX "/" CID "/..");
    assert_rejected("/docker/./" CID);
    assert_rejected("/ecs//" TID_HEX "/" CID);
    assert_rejected("/docker/" CID "//");

    struct eg_cgroup_identity id;
    assert_false(eg_cgroup_path_parse(NULL, &id));
    assert_false(eg_cgroup_path_parse_buf(NULL, 10, &id));

    /* Over EG_CGROUP_PATH_MAX: refused outright rather than cut, even with a valid tail. */
    static char longpath[EG_CGROUP_PATH_MAX + 200];
    size_t prefix = EG_CGROUP_PATH_MAX - strlen("/docker/" CID) + 1;
    memset(longpath, 'x', prefix);
    longpath[0] = '/';
    snprintf(longpath + prefix, sizeof(longpath) - prefix, "/docker/%s", CID);
    assert_true(strlen(longpath) == EG_CGROUP_PATH_MAX + 1);
    assert_rejected(longpath);
    /* One byte shorter is accepted: the limit is exact. */
    assert_true(eg_cgroup_path_parse(longpath + 1, &id));
    assert_string_equal(id.container_id, CID);
}

static void test_buffer_form(void **state)
{
    (void)state;
    struct eg_cgroup_identity id;
    const char good[] = "/ecs/" TID_HEX "/" CID;
    /* Exactly the path bytes, no terminator needed. */
    char buf[sizeof(good) + 16];
    memset(buf, '#', sizeof(buf));
    memcpy(buf, good, sizeof(good) - 1);
    assert_true(eg_cgroup_path_parse_buf(buf, sizeof(good) - 1, &id));
    assert_string_equal(id.container_id, CID);

    /* A kernel buffer cut mid-id: the NUL sits inside the claimed length. */
    char cut[sizeof(good)];
    memcpy(cut, good, sizeof(good));
    cut[sizeof(good) - 20] = '\0';
    assert_false(eg_cgroup_path_parse_buf(cut, sizeof(good) - 1, &id));
    assert_int_equal(id.layout, EG_LAYOUT_NONE);
    /* As a C string the same bytes stop at the NUL: a 45-char id, still rejected. */
    assert_false(eg_cgroup_path_parse(cut, &id));
    assert_string_equal(id.container_id, "");

    assert_false(eg_cgroup_path_parse_buf(good, 0, &id));
    assert_false(eg_cgroup_path_parse_buf(good, EG_CGROUP_PATH_MAX + 1, &id));
}

static void test_task_id_valid(void **state)
{
    (void)state;
    assert_true(eg_task_id_valid(TID_HEX, strlen(TID_HEX)));
    assert_true(eg_task_id_valid(TID_UUID, strlen(TID_UUID)));
    assert_false(eg_task_id_valid(TID_HEX, 31));
    assert_false(eg_task_id_valid("E01D58A8-151B-40E8-BC01-22647B9ECFEC", 36));
    assert_false(eg_task_id_valid("e01d58a8-151b-40e8-bc01_22647b9ecfec", 36));
    assert_false(eg_task_id_valid("", 0));
}

static void test_layout_names(void **state)
{
    (void)state;
    assert_string_equal(eg_cgroup_layout_name(EG_LAYOUT_NONE), "none");
    assert_string_equal(eg_cgroup_layout_name(EG_LAYOUT_ECS_V1), "ecs-v1");
    assert_string_equal(eg_cgroup_layout_name(EG_LAYOUT_ECS_V2), "ecs-v2");
    assert_string_equal(eg_cgroup_layout_name(EG_LAYOUT_DOCKER_CGROUPFS), "docker-cgroupfs");
    assert_string_equal(eg_cgroup_layout_name(EG_LAYOUT_DOCKER_SYSTEMD), "docker-systemd");
    assert_string_equal(eg_cgroup_layout_name((enum eg_cgroup_layout)99), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ecs_v1),
        cmocka_unit_test(test_ecs_v2),
        cmocka_unit_test(test_docker_fallbacks),
        cmocka_unit_test(test_nested),
        cmocka_unit_test(test_task_only),
        cmocka_unit_test(test_rejects_bad_ids),
        cmocka_unit_test(test_rejects_forged_paths),
        cmocka_unit_test(test_buffer_form),
        cmocka_unit_test(test_task_id_valid),
        cmocka_unit_test(test_layout_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
