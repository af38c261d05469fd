/*
 * ecsguard advise's rules over parsed definitions and inventories built note by note: capabilities
 * (drop ALL + used, unwatched kept, denied as notes, an already tight definition left alone),
 * privileged, the read-only root (tmpfs for scratch, volumes otherwise, nested directories under
 * one mount, existing mounts, and the writes that block it), pidMode host, confidence, the
 * observation guard, revisions, the three formats (patch paths and PascalCase in templates), and
 * the lint verdicts of the advised document.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "policy/taskdef_advise.h"

#define CAP_NET_ADMIN 12
#define CAP_SYS_ADMIN 21
#define ALL_CAPS ((1ull << 41) - 1)
#define HOUR (3600ull * 1000)
#define T0 1700000000000ull

struct run {
    struct eg_inventory inv;
    struct eg_taskdef_file file;
    struct json_object *advice;
    enum eg_advise_status status;
};

static struct run *new_run(void)
{
    struct run *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    assert_int_equal(eg_inventory_init(&r->inv), 0);
    return r;
}

/* An entry observed for `span` ms over `tasks` tasks with `watched` capabilities watched. */
static struct eg_inv_entry *observed(struct run *r, const char *family, const char *rev,
                                     const char *name, uint64_t span, unsigned tasks,
                                     uint64_t watched)
{
    struct eg_inv_entry *e = eg_inventory_entry(&r->inv, family, rev, name);
    assert_non_null(e);
    eg_inv_note_observed(e, T0, T0 + span, watched);
    for (unsigned i = 0; i < tasks; i++) {
        char id[40];
        snprintf(id, sizeof(id), "%s-%s-task%u", family, rev, i);
        eg_inv_note_task(e, id);
    }
    return e;
}

static void advise(struct run *r, const char *taskdef, uint64_t min_ms)
{
    struct eg_policy_errors errs;
    if (eg_taskdef_parse(taskdef, strlen(taskdef), &r->file, &errs) != 0)
        fail_msg("taskdef: %u:%u %s", errs.items[0].line, errs.items[0].column,
                 errs.items[0].message);
    struct eg_advise_options opt = {.min_observation_ms = min_ms, .now_ms = T0 + 100 * HOUR};
    char err[256] = "";
    r->status = eg_advise_taskdef(&r->file, 0, &r->inv, &opt, &r->advice, err, sizeof(err));
    if (r->status == EG_ADVISE_ERROR)
        fail_msg("advise: %s", err);
}

static void done(struct run *r)
{
    json_object_put(r->advice);
    eg_taskdef_file_free(&r->file);
    eg_inventory_free(&r->inv);
    free(r);
}

static struct json_object *at(struct run *r, const char *ptr)
{
    struct json_object *v = NULL;
    if (json_pointer_get(r->advice, ptr, &v) != 0)
        return NULL;
    return v;
}

static const char *str_at(struct run *r, const char *ptr)
{
    struct json_object *v = at(r, ptr);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static struct json_object *change_for(struct run *r, const char *setting, int nth)
{
    struct json_object *changes = at(r, "/changes");
    assert_non_null(changes);
    for (size_t i = 0; i < json_object_array_length(changes); i++) {
        struct json_object *c = json_object_array_get_idx(changes, i), *s;
        if (json_object_object_get_ex(c, "setting", &s) &&
            !strcmp(json_object_get_string(s), setting) && nth-- == 0)
            return c;
    }
    return NULL;
}

static const char *member_str(struct json_object *o, const char *k)
{
    struct json_object *v;
    return o && json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

static bool notes_say(struct run *r, const char *text)
{
    struct json_object *notes = at(r, "/notes");
    for (size_t i = 0; notes && i < json_object_array_length(notes); i++)
        if (strstr(member_str(json_object_array_get_idx(notes, i), "note"), text))
            return true;
    return false;
}

static const char *json_text(struct json_object *o)
{
    return json_object_to_json_string_ext(o,
                                          JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

static const char *PRIVILEGED_WEB =
    "{\"family\": \"web\", \"containerDefinitions\": [{\"name\": \"app\", \"image\": \"x\","
    " \"privileged\": true, \"logConfiguration\": {\"logDriver\": \"awslogs\"}}]}";

static void test_privileged_to_least_privilege(void **state)
{
    (void)state;
    struct run *r = new_run();
    struct eg_inv_entry *e = observed(r, "web", "3", "app", 2 * HOUR, 1, ALL_CAPS);
    eg_inv_note_cap(e, CAP_NET_ADMIN, 16, true, false, 3, T0 + 10);
    eg_inv_note_cap(e, CAP_SYS_ADMIN, 165, false, false, 2, T0 + 20);
    eg_inv_note_write(e, "/var/cache/app/a", 5, T0 + 30);
    eg_inv_note_write(e, "/tmp/x/y", 1, T0 + 40);
    eg_inv_note_write(e, "/tmp/z", 2, T0 + 50);
    advise(r, PRIVILEGED_WEB, HOUR);
    assert_int_equal(r->status, EG_ADVISE_OK);
    assert_string_equal(str_at(r, "/status"), "advised");
    assert_string_equal(
        json_text(at(r, "/advisedDocument/containerDefinitions/0/linuxParameters/capabilities")),
        "{\"drop\":[\"ALL\"],\"add\":[\"NET_ADMIN\"]}");
    assert_null(at(r, "/advisedDocument/containerDefinitions/0/privileged"));
    assert_true(json_object_get_boolean(
        at(r, "/advisedDocument/containerDefinitions/0/readonlyRootFilesystem")));
    assert_string_equal(json_text(at(r, "/advisedDocument/containerDefinitions/0/mountPoints")),
                        "[{\"sourceVolume\":\"var-cache-app\",\"containerPath\":\"/var/cache/app\","
                        "\"readOnly\":false}]");
    assert_string_equal(json_text(at(r, "/advisedDocument/volumes")),
                        "[{\"name\":\"var-cache-app\"}]");
    assert_string_equal(
        json_text(at(r, "/advisedDocument/containerDefinitions/0/linuxParameters/tmpfs")),
        "[{\"containerPath\":\"/tmp\",\"size\":64}]");
    /* Evidence and confidence: 2 hours, one task. */
    struct json_object *caps = change_for(r, "linuxParameters.capabilities", 0);
    assert_string_equal(member_str(caps, "confidence"), "medium");
    struct json_object *ev;
    assert_true(json_object_object_get_ex(caps, "evidence", &ev));
    assert_string_equal(json_text(json_object_object_get(ev, "revisions")), "[\"3\"]");
    assert_int_equal(json_object_get_int(json_object_object_get(ev, "observedSeconds")), 7200);
    assert_non_null(change_for(r, "privileged", 0));
    struct json_object *tm = change_for(r, "linuxParameters.tmpfs", 0);
    assert_non_null(tm);
    assert_int_equal(
        json_object_get_int(json_pointer_get(tm, "/evidence/writes", &ev) == 0 ? ev : NULL), 3);
    assert_true(notes_say(r, "SYS_ADMIN was attempted 2 times"));
    /* The patch removes privileged and the lint passes what it failed. */
    assert_string_equal(json_text(at(r, "/patch/2")),
                        "{\"op\":\"remove\",\"path\":\"/containerDefinitions/0/privileged\"}");
    assert_string_equal(str_at(r, "/lintOfAdvised/ECS.4"), "pass");
    assert_string_equal(str_at(r, "/lintOfAdvised/ECS.5"), "pass");
    assert_string_equal(str_at(r, "/lintOfAdvised/EG.CAP_DROP"), "pass");
    done(r);
}

static void test_unwatched_capabilities_are_kept(void **state)
{
    (void)state;
    struct run *r = new_run();
    /* The agent's default watch list: NET_ADMIN, SYS_ADMIN, BPF. */
    observed(r, "web", "1", "app", 2 * HOUR, 1,
             1ull << CAP_NET_ADMIN | 1ull << CAP_SYS_ADMIN | 1ull << 39);
    advise(r,
           "{\"family\": \"web\", \"containerDefinitions\": [{\"name\": \"app\", \"image\": \"x\","
           " \"readonlyRootFilesystem\": true,"
           " \"linuxParameters\": {\"capabilities\": {\"add\": [\"NET_ADMIN\"]}}}]}",
           HOUR);
    assert_int_equal(r->status, EG_ADVISE_OK);
    /* NET_ADMIN was watched and never used: gone. Docker's defaults were not watched: kept. */
    const char *add = json_text(
        at(r, "/advisedDocument/containerDefinitions/0/linuxParameters/capabilities/add"));
    assert_null(strstr(add, "NET_ADMIN"));
    assert_non_null(strstr(add, "CHOWN"));
    assert_non_null(strstr(add, "NET_BIND_SERVICE"));
    struct json_object *c = change_for(r, "linuxParameters.capabilities", 0);
    assert_non_null(strstr(member_str(c, "reason"), "not watched"));
    assert_null(change_for(r, "readonlyRootFilesystem", 0)); /* already read-only */
    done(r);
}

static void test_already_tight_is_left_alone(void **state)
{
    (void)state;
    struct run *r = new_run();
    struct eg_inv_entry *e = observed(r, "web", "1", "app", 30 * HOUR, 5, ALL_CAPS);
    eg_inv_note_cap(e, CAP_NET_ADMIN, 16, true, false, 1, T0);
    advise(r,
           "{\"family\": \"web\", \"containerDefinitions\": [{\"name\": \"app\", \"image\": \"x\","
           " \"readonlyRootFilesystem\": true, \"linuxParameters\": {\"capabilities\":"
           " {\"drop\": [\"ALL\"], \"add\": [\"NET_ADMIN\"]}}}]}",
           HOUR);
    assert_int_equal(r->status, EG_ADVISE_OK);
    assert_int_equal(json_object_array_length(at(r, "/changes")), 0);
    assert_int_equal(json_object_array_length(at(r, "/patch")), 0);
    done(r);
}

static void test_rootfs_rules(void **state)
{
    (void)state;
    /* Nested directories under one volume, an existing mount covers its own writes, and a
     * name already taken by a volume gets a suffix. */
    struct run *r = new_run();
    struct eg_inv_entry *e = observed(r, "web", "1", "app", 48 * HOUR, 3, ALL_CAPS);
    eg_inv_note_write(e, "/var/lib/app/sub/f", 1, T0);
    eg_inv_note_write(e, "/var/lib/app/f", 1, T0);
    eg_inv_note_write(e, "/data/x", 4, T0);
    eg_inv_note_write(e, "/run/app.pid", 1, T0);
    advise(r,
           "{\"family\": \"web\", \"volumes\": [{\"name\": \"var-lib-app\"}, {\"name\": \"d\"}],"
           " \"containerDefinitions\": [{\"name\": \"app\", \"image\": \"x\","
           " \"linuxParameters\": {\"capabilities\": {\"drop\": [\"ALL\"]}},"
           " \"mountPoints\": [{\"sourceVolume\": \"d\", \"containerPath\": \"/data\"}]}]}",
           HOUR);
    assert_int_equal(r->status, EG_ADVISE_OK);
    assert_string_equal(json_text(at(r, "/advisedDocument/containerDefinitions/0/mountPoints")),
                        "[{\"sourceVolume\":\"d\",\"containerPath\":\"/data\"},"
                        "{\"sourceVolume\":\"var-lib-app-2\",\"containerPath\":\"/var/lib/app\","
                        "\"readOnly\":false}]");
    assert_string_equal(
        json_text(at(r, "/advisedDocument/containerDefinitions/0/linuxParameters/tmpfs")),
        "[{\"containerPath\":\"/run\",\"size\":64}]");
    /* Appending to existing lists patches with "/-". */
    assert_non_null(strstr(json_text(at(r, "/patch")), "\"path\":\"/volumes/-\""));
    assert_string_equal(member_str(change_for(r, "readonlyRootFilesystem", 0), "confidence"),
                        "high");
    assert_null(change_for(r, "linuxParameters.capabilities", 0)); /* drop ALL, nothing used */
    done(r);

    /* Writes directly in '/', or with no resolvable path: no read-only root, and why. */
    const char *writable =
        "{\"family\": \"web\", \"containerDefinitions\": [{\"name\": \"app\", \"image\": \"x\"}]}";
    r = new_run();
    e = observed(r, "web", "1", "app", 2 * HOUR, 1, ALL_CAPS);
    eg_inv_note_write(e, "/marker", 1, T0);
    advise(r, writable, HOUR);
    assert_null(change_for(r, "readonlyRootFilesystem", 0));
    assert_true(notes_say(r, "directly in '/'"));
    done(r);
    r = new_run();
    e = observed(r, "web", "1", "app", 2 * HOUR, 1, ALL_CAPS);
    eg_inv_note_write(e, "<unresolved inode 8:9>", 1, T0);
    advise(r, writable, HOUR);
    assert_null(change_for(r, "readonlyRootFilesystem", 0));
    assert_true(notes_say(r, "no resolvable path"));
    done(r);
    r = new_run();
    e = observed(r, "web", "1", "app", 2 * HOUR, 1, ALL_CAPS);
    char p[32];
    for (int i = 0; i < EG_INV_MAX_DIRS + 1; i++) {
        snprintf(p, sizeof(p), "/d%d/f", i);
        eg_inv_note_write(e, p, 1, T0);
    }
    advise(r, writable, HOUR);
    assert_null(change_for(r, "readonlyRootFilesystem", 0));
    assert_true(notes_say(r, "more directories"));
    done(r);
    /* Nothing written at all: read-only, no mounts. */
    r = new_run();
    observed(r, "web", "1", "app", 2 * HOUR, 1, ALL_CAPS);
    advise(r, writable, HOUR);
    assert_non_null(change_for(r, "readonlyRootFilesystem", 0));
    assert_null(at(r, "/advisedDocument/containerDefinitions/0/mountPoints"));
    done(r);
}

static const char *HOST_PID =
    "{\"family\": \"mon\", \"pidMode\": \"host\", \"containerDefinitions\": ["
    "{\"name\": \"a\", \"image\": \"x\", \"readonlyRootFilesystem\": true},"
    "{\"name\": \"b\", \"image\": \"x\", \"readonlyRootFilesystem\": true}]}";

static void test_pid_mode(void **state)
{
    (void)state;
    /* Shared, never used: removed. */
    struct run *r = new_run();
    eg_inv_note_hostpid_shared(observed(r, "mon", "1", "a", 2 * HOUR, 1, ALL_CAPS), T0);
    eg_inv_note_hostpid_shared(observed(r, "mon", "1", "b", 2 * HOUR, 1, ALL_CAPS), T0);
    advise(r, HOST_PID, HOUR);
    assert_non_null(change_for(r, "pidMode", 0));
    assert_null(at(r, "/advisedDocument/pidMode"));
    assert_non_null(
        strstr(json_text(at(r, "/patch")), "{\"op\":\"remove\",\"path\":\"/pidMode\"}"));
    done(r);
    /* A signal to a process outside the task: kept. */
    r = new_run();
    observed(r, "mon", "1", "a", 2 * HOUR, 1, ALL_CAPS);
    eg_inv_note_hostpid_use(observed(r, "mon", "1", "b", 2 * HOUR, 1, ALL_CAPS), EG_INV_PID_SIGNAL,
                            1, T0);
    advise(r, HOST_PID, HOUR);
    assert_null(change_for(r, "pidMode", 0));
    assert_string_equal(str_at(r, "/advisedDocument/pidMode"), "host");
    assert_true(notes_say(r, "pidMode kept: containers used"));
    done(r);
    /* One container never observed: kept, it may be the one that needs it. */
    r = new_run();
    observed(r, "mon", "1", "a", 2 * HOUR, 1, ALL_CAPS);
    advise(r, HOST_PID, HOUR);
    assert_null(change_for(r, "pidMode", 0));
    assert_true(notes_say(r, "not every container"));
    done(r);
}

static void test_observation_guard(void **state)
{
    (void)state;
    struct run *r = new_run();
    observed(r, "web", "1", "app", 10 * 1000, 1, ALL_CAPS);
    advise(r, PRIVILEGED_WEB, HOUR);
    assert_int_equal(r->status, EG_ADVISE_TOO_LITTLE);
    assert_string_equal(str_at(r, "/status"), "insufficient-observation");
    assert_null(at(r, "/patch"));
    assert_null(at(r, "/advisedDocument"));
    assert_true(notes_say(r, "observed for 10 s"));
    done(r);
    /* Short observation is low confidence when allowed. */
    r = new_run();
    observed(r, "web", "1", "app", 10 * 1000, 1, ALL_CAPS);
    advise(r, PRIVILEGED_WEB, 5 * 1000);
    assert_int_equal(r->status, EG_ADVISE_OK);
    assert_string_equal(member_str(change_for(r, "privileged", 0), "confidence"), "low");
    done(r);
    /* Another family only: nothing observed. */
    r = new_run();
    observed(r, "other", "1", "app", 10 * HOUR, 1, ALL_CAPS);
    advise(r, PRIVILEGED_WEB, HOUR);
    assert_int_equal(r->status, EG_ADVISE_TOO_LITTLE);
    assert_true(notes_say(r, "no container of family 'web'"));
    done(r);
}

static void test_describe_counts_its_own_revision(void **state)
{
    (void)state;
    struct run *r = new_run();
    struct eg_inv_entry *e1 = observed(r, "web", "1", "app", 2 * HOUR, 1, ALL_CAPS);
    eg_inv_note_cap(e1, CAP_SYS_ADMIN, 165, true, false, 1, T0);
    struct eg_inv_entry *e2 = observed(r, "web", "2", "app", 2 * HOUR, 1, ALL_CAPS);
    eg_inv_note_cap(e2, CAP_NET_ADMIN, 16, true, false, 1, T0);
    advise(r,
           "{\"taskDefinition\": {\"family\": \"web\", \"revision\": 2, \"containerDefinitions\":"
           " [{\"name\": \"app\", \"image\": \"x\", \"privileged\": true}]}}",
           HOUR);
    assert_int_equal(r->status, EG_ADVISE_OK);
    assert_string_equal(str_at(r, "/revision"), "2");
    assert_string_equal(
        json_text(at(r, "/advisedDocument/taskDefinition/containerDefinitions/0/linuxParameters/"
                        "capabilities/add")),
        "[\"NET_ADMIN\"]");
    assert_string_equal(str_at(r, "/patch/0/path"),
                        "/taskDefinition/containerDefinitions/0/linuxParameters");
    done(r);
}

static void test_cloudformation_yaml(void **state)
{
    (void)state;
    struct run *r = new_run();
    struct eg_inv_entry *e = observed(r, "web", "7", "app", 2 * HOUR, 2, ALL_CAPS);
    eg_inv_note_cap(e, CAP_NET_ADMIN, 16, true, false, 1, T0);
    eg_inv_note_write(e, "/tmp/f", 1, T0);
    advise(r,
           "Resources:\n"
           "  Web:\n"
           "    Type: AWS::ECS::TaskDefinition\n"
           "    Properties:\n"
           "      Family: web\n"
           "      ContainerDefinitions:\n"
           "        - Name: app\n"
           "          Image: !Sub '${AWS::AccountId}.dkr.ecr/web'\n"
           "          Privileged: true\n"
           "          Memory: 512\n",
           HOUR);
    assert_int_equal(r->status, EG_ADVISE_OK);
    const char *base = "/advisedDocument/Resources/Web/Properties/ContainerDefinitions/0";
    char p[200];
    snprintf(p, sizeof(p), "%s/LinuxParameters/Capabilities", base);
    assert_string_equal(json_text(at(r, p)), "{\"Drop\":[\"ALL\"],\"Add\":[\"NET_ADMIN\"]}");
    snprintf(p, sizeof(p), "%s/Image", base);
    assert_string_equal(json_text(at(r, p)), "{\"Fn::Sub\":\"${AWS::AccountId}.dkr.ecr/web\"}");
    snprintf(p, sizeof(p), "%s/Memory", base);
    assert_int_equal(json_object_get_int(at(r, p)), 512);
    snprintf(p, sizeof(p), "%s/LinuxParameters/Tmpfs/0/ContainerPath", base);
    assert_string_equal(str_at(r, p), "/tmp");
    assert_non_null(strstr(json_text(at(r, "/patch")),
                           "\"path\":\"/Resources/Web/Properties/ContainerDefinitions/0/"
                           "Privileged\""));
    assert_string_equal(str_at(r, "/lintOfAdvised/ECS.4"), "pass");
    assert_string_equal(str_at(r, "/lintOfAdvised/ECS.5"), "pass");
    done(r);
}

/* A template's definitions advised one after the other into one document. */
static void test_template_definitions_share_one_document(void **state)
{
    (void)state;
    struct run *r = new_run();
    eg_inv_note_cap(observed(r, "web", "1", "app", 2 * HOUR, 1, ALL_CAPS), CAP_NET_ADMIN, 16, true,
                    false, 1, T0);
    observed(r, "api", "1", "app", 2 * HOUR, 1, ALL_CAPS);
    const char *tpl = "Resources:\n"
                      "  Web:\n"
                      "    Type: AWS::ECS::TaskDefinition\n"
                      "    Properties:\n"
                      "      Family: web\n"
                      "      ContainerDefinitions: [{Name: app, Image: w, Privileged: true}]\n"
                      "  Api:\n"
                      "    Type: AWS::ECS::TaskDefinition\n"
                      "    Properties:\n"
                      "      Family: api\n"
                      "      ContainerDefinitions: [{Name: app, Image: a, Privileged: true}]\n";
    struct eg_policy_errors errs;
    assert_int_equal(eg_taskdef_parse(tpl, strlen(tpl), &r->file, &errs), 0);
    assert_int_equal(r->file.ndefs, 2);
    struct json_object *doc = eg_taskdef_document_json(&r->file);
    struct eg_advise_options opt = {.min_observation_ms = HOUR};
    char err[256];
    for (size_t i = 0; i < 2; i++) {
        struct json_object *advice = NULL;
        assert_int_equal(
            eg_advise_taskdef_in(&r->file, i, &r->inv, &opt, doc, &advice, err, sizeof(err)),
            EG_ADVISE_OK);
        assert_null(json_object_object_get(advice, "advisedDocument"));
        json_object_put(advice);
    }
    struct json_object *v;
    assert_int_equal(json_pointer_get(doc,
                                      "/Resources/Web/Properties/ContainerDefinitions/0/"
                                      "LinuxParameters/Capabilities/Add/0",
                                      &v),
                     0);
    assert_string_equal(json_object_get_string(v), "NET_ADMIN");
    assert_int_equal(json_pointer_get(doc,
                                      "/Resources/Api/Properties/ContainerDefinitions/0/"
                                      "LinuxParameters/Capabilities/Add",
                                      &v),
                     0);
    assert_int_equal(json_object_array_length(v), 0);
    assert_int_equal(
        json_pointer_get(doc, "/Resources/Web/Properties/ContainerDefinitions/0/Privileged", &v),
        -1);
    assert_int_equal(
        json_pointer_get(doc, "/Resources/Api/Properties/ContainerDefinitions/0/Privileged", &v),
        -1);
    json_object_put(doc);
    done(r);
}

static void test_durations(void **state)
{
    (void)state;
    assert_int_equal(eg_parse_duration_ms("90"), 90000);
    assert_int_equal(eg_parse_duration_ms("2s"), 2000);
    assert_int_equal(eg_parse_duration_ms("500ms"), 500);
    assert_int_equal(eg_parse_duration_ms("30m"), 1800000);
    assert_int_equal(eg_parse_duration_ms("24h"), 86400000);
    assert_int_equal(eg_parse_duration_ms("7d"), 604800000);
    assert_int_equal(eg_parse_duration_ms("1.5h"), 5400000);
    assert_int_equal(eg_parse_duration_ms(""), -1);
    assert_int_equal(eg_parse_duration_ms("-1s"), -1);
    assert_int_equal(eg_parse_duration_ms("3 weeks"), -1);
    assert_int_equal(eg_parse_duration_ms("h"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_privileged_to_least_privilege),
        cmocka_unit_test(test_unwatched_capabilities_are_kept),
        cmocka_unit_test(test_already_tight_is_left_alone),
        cmocka_unit_test(test_rootfs_rules),
        cmocka_unit_test(test_pid_mode),
        cmocka_unit_test(test_observation_guard),
        cmocka_unit_test(test_describe_counts_its_own_revision),
        cmocka_unit_test(test_cloudformation_yaml),
        cmocka_unit_test(test_template_definitions_share_one_document),
        cmocka_unit_test(test_durations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
