/* Findings as JSON lines: GuardDuty's shape, hostile strings, invalid UTF-8, size bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "agent/pipeline/finding_json.h"
#include "agent/common/json_text.h"

#define CID "4b3c0f5a3f0f8b1e5a3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a"

static struct eg_finding *sample_finding(void)
{
    struct eg_finding *f = calloc(1, sizeof(*f));
    f->type = EG_FT_SYS_ADMIN_CAP_USED;
    snprintf(f->id, sizeof(f->id), "0123456789abcdef0123456789abcdef");
    f->created_ms = 1795461860000ULL;
    f->first_seen_ms = 1795461860001ULL;
    f->last_seen_ms = 1795461861002ULL;
    f->count = 3;
    snprintf(f->where.container_id, sizeof(f->where.container_id), CID);
    snprintf(f->where.task_id, sizeof(f->where.task_id), "5f0c3b3a9c3a4a5f8f1b9f0b1e2d3c4b");
    snprintf(f->process.name, sizeof(f->process.name), "egprobe");
    snprintf(f->process.exe, sizeof(f->process.exe), "/bin/egprobe");
    f->process.pid = 4242;
    f->process.ns_pid = 7;
    f->process.start_time = 1795461859.5;
    f->context = json_object_new_object();
    json_object_object_add(f->context, "capabilityName", json_object_new_string("CAP_SYS_ADMIN"));
    return f;
}

static void free_finding(struct eg_finding *f)
{
    json_object_put(f->context);
    free(f);
}

static struct eg_ecs_task *sample_task(void)
{
    struct eg_ecs_task *t = calloc(1, sizeof(*t));
    snprintf(t->arn, sizeof(t->arn),
             "arn:aws:ecs:us-west-2:123456789012:task/prod/5f0c3b3a9c3a4a5f8f1b9f0b1e2d3c4b");
    snprintf(t->family, sizeof(t->family), "web");
    snprintf(t->version, sizeof(t->version), "8");
    snprintf(t->known_status, sizeof(t->known_status), "RUNNING");
    t->n_containers = 2;
    snprintf(t->containers[0].docker_id, sizeof(t->containers[0].docker_id), CID);
    snprintf(t->containers[0].name, sizeof(t->containers[0].name), "app");
    snprintf(t->containers[0].image, sizeof(t->containers[0].image), "nginx:1.27");
    snprintf(t->containers[0].docker_name, sizeof(t->containers[0].docker_name),
             "ecs-web-8-app-a1b2c3d4e5f6a7b8c9d0");
    snprintf(t->containers[1].docker_id, sizeof(t->containers[1].docker_id), "%064d", 0);
    snprintf(t->containers[1].name, sizeof(t->containers[1].name), "sidecar");
    return t;
}

static json_object *serialize(const struct eg_finding *f, const struct eg_finding_view *v)
{
    static char line[EG_FINDING_LINE_MAX + 1];
    int n = eg_finding_to_json(f, v, line, sizeof(line));
    assert_true(n > 0);
    assert_null(strchr(line, '\n')); /* one finding, one line */
    json_object *o = json_tokener_parse(line);
    assert_non_null(o);
    return o;
}

static const char *str_at(json_object *o, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    json_object *cur = o;
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save)) {
        if (json_object_is_type(cur, json_type_array))
            cur = json_object_array_get_idx(cur, (size_t)atoi(k));
        else if (!json_object_object_get_ex(cur, k, &cur))
            return NULL;
    }
    return json_object_get_string(cur);
}

/* service.additionalInfo.value, parsed (caller puts it). */
static json_object *additional_info(json_object *o)
{
    const char *value = str_at(o, "service.additionalInfo.value");
    assert_non_null(value);
    json_object *extra = json_tokener_parse(value);
    assert_non_null(extra);
    return extra;
}

static void guardduty_shape_with_resolved_task(void **state)
{
    (void)state;
    struct eg_finding *f = sample_finding();
    struct eg_ecs_task *t = sample_task();
    struct eg_ecs_metadata meta = {0};
    snprintf(meta.cluster, sizeof(meta.cluster), "prod");
    struct eg_finding_view v = {.severity = 5.0,
                                .now_ms = 1795461862003ULL,
                                .task = t,
                                .agent = &meta,
                                .task_resolution = "introspection"};
    json_object *o = serialize(f, &v);
    assert_string_equal(str_at(o, "schemaVersion"), "2.0");
    assert_string_equal(str_at(o, "accountId"), "123456789012");
    assert_string_equal(str_at(o, "region"), "us-west-2");
    assert_string_equal(str_at(o, "type"), "PrivilegeEscalation:Runtime/SysAdminCapabilityUsed");
    assert_string_equal(str_at(o, "severity"), "5.0");
    assert_string_equal(str_at(o, "createdAt"), "2026-11-23T19:24:20.000Z");
    assert_string_equal(str_at(o, "resource.resourceType"), "ECSCluster");
    assert_string_equal(str_at(o, "resource.ecsClusterDetails.name"), "prod");
    assert_string_equal(str_at(o, "resource.ecsClusterDetails.arn"),
                        "arn:aws:ecs:us-west-2:123456789012:cluster/prod");
    assert_string_equal(str_at(o, "resource.ecsClusterDetails.taskDetails.definitionArn"),
                        "arn:aws:ecs:us-west-2:123456789012:task-definition/web:8");
    /* Only the container that acted is named, never its sibling. */
    json_object *containers;
    assert_true(json_object_object_get_ex(
        json_object_object_get(
            json_object_object_get(json_object_object_get(o, "resource"), "ecsClusterDetails"),
            "taskDetails"),
        "containers", &containers));
    assert_int_equal(json_object_array_length(containers), 1);
    assert_string_equal(str_at(o, "resource.ecsClusterDetails.taskDetails.containers.0.name"),
                        "app");
    assert_string_equal(str_at(o, "resource.containerDetails.image"), "nginx:1.27");
    assert_string_equal(str_at(o, "service.count"), "3");
    assert_string_equal(str_at(o, "service.featureName"), "RuntimeMonitoring");
    assert_string_equal(str_at(o, "service.runtimeDetails.process.executablePath"), "/bin/egprobe");
    assert_string_equal(str_at(o, "service.runtimeDetails.process.namespacePid"), "7");
    assert_string_equal(str_at(o, "service.runtimeDetails.process.startTime"), "1795461859.500");
    assert_string_equal(str_at(o, "service.runtimeDetails.context.capabilityName"),
                        "CAP_SYS_ADMIN");
    /* Model structures hold model members only; what they cannot hold is in additionalInfo.
     * EcsTaskDetails.version is the task's version counter, not the definition's revision. */
    assert_null(str_at(o, "resource.ecsClusterDetails.taskDetails.family"));
    assert_null(str_at(o, "resource.ecsClusterDetails.taskDetails.version"));
    assert_null(str_at(o, "resource.ecsClusterDetails.taskDetails.status"));
    assert_null(str_at(o, "resource.ecsClusterDetails.taskDetails.taskId"));
    assert_null(str_at(o, "resource.containerDetails.dockerName"));
    assert_null(str_at(o, "resource.ecsClusterDetails.taskDetails.containers.0.dockerName"));
    json_object *extra = additional_info(o);
    assert_string_equal(str_at(extra, "taskId"), "5f0c3b3a9c3a4a5f8f1b9f0b1e2d3c4b");
    assert_string_equal(str_at(extra, "taskFamily"), "web");
    assert_string_equal(str_at(extra, "taskRevision"), "8");
    assert_string_equal(str_at(extra, "taskStatus"), "RUNNING");
    assert_string_equal(str_at(extra, "dockerName"), "ecs-web-8-app-a1b2c3d4e5f6a7b8c9d0");
    assert_string_equal(str_at(extra, "taskResolution"), "introspection");
    json_object_put(extra);
    json_object_put(o);
    free(t);
    free_finding(f);
}

/*
 * Typed consumers drop members the model lacks: the command line is also the model's
 * commandLineExample, and every context extension is copied into additionalInfo.value.context;
 * model members are not.
 */
static void evidence_typed_consumers_can_read(void **state)
{
    (void)state;
    struct eg_finding *f = sample_finding();
    snprintf(f->process.args, sizeof(f->process.args), "/bin/egprobe mount-tmpfs /mnt");
    json_object_object_add(f->context, "capabilityGranted", json_object_new_boolean(1));
    json_object_object_add(f->context, "filePath", json_object_new_string("/etc/passwd"));
    struct eg_finding_view v = {.severity = 5.0, .now_ms = 1795461862003ULL};
    json_object *o = serialize(f, &v);
    assert_string_equal(str_at(o, "service.runtimeDetails.context.commandLineExample"),
                        "/bin/egprobe mount-tmpfs /mnt");
    assert_string_equal(str_at(o, "service.runtimeDetails.process.commandLine"),
                        "/bin/egprobe mount-tmpfs /mnt");
    assert_string_equal(str_at(o, "service.runtimeDetails.context.capabilityName"),
                        "CAP_SYS_ADMIN");
    json_object *extra = additional_info(o);
    assert_string_equal(str_at(extra, "context.capabilityName"), "CAP_SYS_ADMIN");
    assert_string_equal(str_at(extra, "context.capabilityGranted"), "true");
    assert_null(str_at(extra, "context.filePath"));           /* a model member */
    assert_null(str_at(extra, "context.commandLineExample")); /* a model member */
    json_object_put(extra);
    /* The finding's own context is the detector's: the line adds to a copy. */
    assert_false(json_object_object_get_ex(f->context, "commandLineExample", NULL));
    json_object_put(o);
    free_finding(f);
}

/* An optional member whose value is unknown is left out, never written as "". */
static void unknown_optional_members_are_left_out(void **state)
{
    (void)state;
    struct eg_finding *f = sample_finding();
    f->process.exe[0] = '\0';
    json_object_put(f->context);
    f->context = NULL;
    struct eg_finding_view v = {.severity = 5.0, .now_ms = 1795461862003ULL};
    json_object *o = serialize(f, &v);
    assert_null(str_at(o, "service.runtimeDetails.process.executablePath"));
    assert_null(str_at(o, "service.runtimeDetails.process.commandLine"));
    assert_null(str_at(o, "service.runtimeDetails.context.commandLineExample"));
    assert_string_equal(str_at(o, "service.runtimeDetails.process.name"), "egprobe");
    json_object *extra = additional_info(o);
    assert_null(str_at(extra, "context")); /* no extension, no copy */
    json_object_put(extra);
    json_object_put(o);
    free_finding(f);
}

static void unresolved_task_keeps_cgroup_identity(void **state)
{
    (void)state;
    struct eg_finding *f = sample_finding();
    struct eg_finding_view v = {
        .severity = 2.0, .now_ms = 1795461862003ULL, .task_resolution = "cgroupPath"};
    json_object *o = serialize(f, &v);
    /* Typed consumers see no task ARN: the task id from the cgroup path is in additionalInfo. */
    json_object *extra = additional_info(o);
    assert_string_equal(str_at(extra, "taskId"), "5f0c3b3a9c3a4a5f8f1b9f0b1e2d3c4b");
    assert_string_equal(str_at(extra, "taskResolution"), "cgroupPath");
    json_object_put(extra);
    assert_null(str_at(o, "resource.ecsClusterDetails.taskDetails.arn"));
    assert_string_equal(str_at(o, "resource.containerDetails.id"), CID);
    /* Unknown account and region: "" (the model requires them), no partition, no guess. */
    assert_string_equal(str_at(o, "accountId"), "");
    assert_string_equal(str_at(o, "region"), "");
    assert_null(str_at(o, "partition"));
    assert_string_equal(str_at(o, "arn"),
                        "arn:aws:ecsguard:::finding/0123456789abcdef0123456789abcdef");
    json_object_put(o);
    free_finding(f);
}

static void hostile_strings_stay_valid_json(void **state)
{
    (void)state;
    struct eg_finding *f = sample_finding();
    /* quotes, backslashes, control bytes, a fake JSON tail and invalid UTF-8 */
    memcpy(f->process.name, "a\"b\\\n\x01\xff", 8);
    snprintf(f->process.exe, sizeof(f->process.exe), "/tmp/\"},\"type\":\"x\xc3\x28\xe2\x82");
    snprintf(f->process.args, sizeof(f->process.args), "sh -c 'echo \x1b[31m'");
    struct eg_finding_view v = {.severity = 5.0, .now_ms = 1};
    json_object *o = serialize(f, &v);
    assert_string_equal(str_at(o, "type"), "PrivilegeEscalation:Runtime/SysAdminCapabilityUsed");
    assert_string_equal(str_at(o, "service.runtimeDetails.process.name"),
                        "a\"b\\\n\x01\xef\xbf\xbd");
    assert_string_equal(str_at(o, "service.runtimeDetails.process.executablePath"),
                        "/tmp/\"},\"type\":\"x\xef\xbf\xbd(\xef\xbf\xbd\xef\xbf\xbd");
    json_object_put(o);
    free_finding(f);
}

static void utf8_sanitizer(void **state)
{
    (void)state;
    char out[64];
    /* overlong, surrogate, beyond U+10FFFF, truncated sequence, valid 4-byte */
    const char in[] = "\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|\xe2\x82|\xf0\x9f\x98\x80";
    eg_utf8_copy(in, sizeof(in) - 1, out, sizeof(out));
    assert_string_equal(out, "\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|"
                             "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|"
                             "\xef\xbf\xbd\xef\xbf\xbd|\xf0\x9f\x98\x80");
    /* never splits a character to fit */
    char small[5];
    eg_utf8_copy("ab\xf0\x9f\x98\x80", 6, small, sizeof(small));
    assert_string_equal(small, "ab");
    /* ASCII runs: exact fit, one byte short, stopped at a NUL or at inlen, mixed */
    assert_int_equal(eg_utf8_copy("abcd", 4, small, sizeof(small)), 4);
    assert_string_equal(small, "abcd");
    assert_int_equal(eg_utf8_copy("abcde", 5, small, sizeof(small)), 4);
    assert_string_equal(small, "abcd");
    assert_int_equal(eg_utf8_copy("ab\0cd", 5, small, sizeof(small)), 2);
    assert_int_equal(eg_utf8_copy("abcdef", 3, small, sizeof(small)), 3);
    assert_string_equal(small, "abc");
    eg_utf8_copy("a\xc3\xa9"
                 "b\xff"
                 "c",
                 6, out, sizeof(out));
    assert_string_equal(out, "a\xc3\xa9"
                             "b\xef\xbf\xbd"
                             "c");
}

static void long_values_are_cut_with_a_marker(void **state)
{
    (void)state;
    char big[10000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    json_object *s = eg_json_string(big, 100);
    const char *v = json_object_get_string(s);
    assert_int_equal(strlen(v), 100);
    assert_non_null(strstr(v, EG_TRUNCATION_MARKER));
    json_object_put(s);
    s = eg_json_string("short", 100);
    assert_string_equal(json_object_get_string(s), "short");
    json_object_put(s);
    /* Invalid bytes triple in size: around the stack buffer's limit nothing is lost or cut. */
    for (size_t n = 339; n <= 344; n++) {
        char bad[400];
        memset(bad, 0xff, n);
        bad[n] = '\0';
        s = eg_json_string(bad, 4096);
        assert_int_equal(strlen(json_object_get_string(s)), 3 * n);
        assert_null(strstr(json_object_get_string(s), EG_TRUNCATION_MARKER));
        json_object_put(s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(guardduty_shape_with_resolved_task),
        cmocka_unit_test(unresolved_task_keeps_cgroup_identity),
        cmocka_unit_test(evidence_typed_consumers_can_read),
        cmocka_unit_test(unknown_optional_members_are_left_out),
        cmocka_unit_test(hostile_strings_stay_valid_json),
        cmocka_unit_test(utf8_sanitizer),
        cmocka_unit_test(long_values_are_cut_with_a_marker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
