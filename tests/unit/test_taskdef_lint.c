/*
 * ecsguard lint: every control's edge cases against its AWS Config rule's semantics (absent
 * vs false vs true, host networking with user "root" / "0" / "1000:1000", privileged with
 * host networking, variable names, logConfiguration absent per container), every input
 * format, CloudFormation intrinsics as unknown values, hostile input, and the allow list.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/taskdef_lint.h"

struct linted {
    struct eg_taskdef_file file;
    struct eg_lint_report report;
    struct eg_policy_errors errs;
    int rc;
};

/* Parse `text` and lint definition `which`; the caller frees with done(). */
static struct linted *lint_def(const char *text, size_t which)
{
    struct linted *l = calloc(1, sizeof(*l));
    assert_non_null(l);
    l->rc = eg_taskdef_parse(text, strlen(text), &l->file, &l->errs);
    if (l->rc == 0 && which < l->file.ndefs)
        assert_int_equal(eg_lint_taskdef(&l->file.defs[which], &l->report), 0);
    return l;
}

static struct linted *lint(const char *text)
{
    struct linted *l = lint_def(text, 0);
    if (l->rc != 0)
        fail_msg("parse failed: %u:%u %s", l->errs.items[0].line, l->errs.items[0].column,
                 l->errs.items[0].message);
    assert_true(l->file.ndefs >= 1);
    return l;
}

static void done(struct linted *l)
{
    eg_lint_report_free(&l->report);
    eg_taskdef_file_free(&l->file);
    free(l);
}

static enum eg_lint_verdict verdict(const struct linted *l, enum eg_lint_control c)
{
    return l->report.verdicts[c];
}

static unsigned count(const struct linted *l, enum eg_lint_control c, enum eg_lint_verdict v)
{
    unsigned n = 0;
    for (size_t i = 0; i < l->report.count; i++)
        n += l->report.results[i].control == c && l->report.results[i].verdict == v;
    return n;
}

static const struct eg_lint_result *first(const struct linted *l, enum eg_lint_control c)
{
    for (size_t i = 0; i < l->report.count; i++)
        if (l->report.results[i].control == c)
            return &l->report.results[i];
    fail_msg("no result for %s", eg_lint_controls[c].id);
    return NULL;
}

/* A RegisterTaskDefinition input with task-level settings and one container's settings. */
static char *api(const char *task, const char *container)
{
    static char buf[8192];
    snprintf(buf, sizeof(buf),
             "{\"family\": \"web\", %s%s\"containerDefinitions\": [{\"name\": \"app\", "
             "\"image\": \"nginx\"%s%s}]}",
             task, task[0] ? ", " : "", container[0] ? ", " : "", container);
    return buf;
}

/* ECS.1 */

static void expect_ecs1(const char *container, enum eg_lint_verdict want)
{
    struct linted *l = lint(api("\"networkMode\": \"host\"", container));
    if (verdict(l, EG_LINT_ECS1) != want)
        fail_msg("ECS.1 for {%s}: %s, expected %s", container,
                 eg_lint_verdict_name(verdict(l, EG_LINT_ECS1)), eg_lint_verdict_name(want));
    done(l);
}

static void test_ecs1_host_network_user(void **state)
{
    (void)state;
    /* privileged absent or false, user empty or root: fails */
    expect_ecs1("", EG_LINT_FAIL);
    expect_ecs1("\"user\": \"\"", EG_LINT_FAIL);
    expect_ecs1("\"user\": \"root\"", EG_LINT_FAIL);
    expect_ecs1("\"privileged\": false, \"user\": \"root\"", EG_LINT_FAIL);
    /* uid 0 is root in every form ECS accepts (docs/posture.md: stricter than the rule's
     * text, which names only "root") */
    expect_ecs1("\"user\": \"0\"", EG_LINT_FAIL);
    expect_ecs1("\"user\": \"00\"", EG_LINT_FAIL);
    expect_ecs1("\"user\": \"0:0\"", EG_LINT_FAIL);
    expect_ecs1("\"user\": \"root:root\"", EG_LINT_FAIL);
    expect_ecs1("\"user\": \"0:1000\"", EG_LINT_FAIL);
    expect_ecs1("\"user\": \":1000\"", EG_LINT_FAIL);
    /* a non-root user passes, named or numeric, whatever the group */
    expect_ecs1("\"user\": \"1000:1000\"", EG_LINT_PASS);
    expect_ecs1("\"user\": \"1000\"", EG_LINT_PASS);
    expect_ecs1("\"user\": \"1000:0\"", EG_LINT_PASS);
    expect_ecs1("\"user\": \"nginx\"", EG_LINT_PASS);
    expect_ecs1("\"user\": \"rootless\"", EG_LINT_PASS);
    /* privileged true is the deliberate choice the rule accepts, even as root */
    expect_ecs1("\"privileged\": true", EG_LINT_PASS);
    expect_ecs1("\"privileged\": true, \"user\": \"0\"", EG_LINT_PASS);
}

static void test_ecs1_only_host_network(void **state)
{
    (void)state;
    const char *modes[] = {"\"networkMode\": \"bridge\"", "\"networkMode\": \"awsvpc\"", ""};
    for (size_t i = 0; i < 3; i++) {
        struct linted *l = lint(api(modes[i], "\"user\": \"root\""));
        assert_int_equal(verdict(l, EG_LINT_ECS1), EG_LINT_NOT_APPLICABLE);
        assert_int_equal(count(l, EG_LINT_ECS1, EG_LINT_FAIL), 0);
        done(l);
    }
    /* The failure points at the user key. */
    struct linted *l = lint("{\"family\": \"w\",\n \"networkMode\": \"host\",\n"
                            " \"containerDefinitions\": [\n  {\"name\": \"a\",\n"
                            "   \"user\": \"0\"}]}");
    const struct eg_lint_result *r = first(l, EG_LINT_ECS1);
    assert_int_equal(r->line, 5);
    assert_int_equal(r->column, 4);
    assert_int_equal(r->container, 0);
    done(l);
}

/* ECS.3 and EG.IPC_HOST */

static void test_host_pid_and_ipc(void **state)
{
    (void)state;
    struct {
        const char *task;
        enum eg_lint_verdict pid, ipc;
    } cases[] = {
        {"\"pidMode\": \"host\"", EG_LINT_FAIL, EG_LINT_PASS},
        {"\"pidMode\": \"task\"", EG_LINT_PASS, EG_LINT_PASS},
        {"", EG_LINT_PASS, EG_LINT_PASS},
        {"\"pidMode\": \"shared\"", EG_LINT_FAIL, EG_LINT_PASS}, /* a daemon's host PID */
        {"\"ipcMode\": \"host\"", EG_LINT_PASS, EG_LINT_FAIL},
        {"\"ipcMode\": \"task\"", EG_LINT_PASS, EG_LINT_PASS},
        {"\"ipcMode\": \"none\"", EG_LINT_PASS, EG_LINT_PASS},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct linted *l = lint(api(cases[i].task, ""));
        assert_int_equal(verdict(l, EG_LINT_ECS3), cases[i].pid);
        assert_int_equal(verdict(l, EG_LINT_IPC_HOST), cases[i].ipc);
        done(l);
    }
    struct linted *l =
        lint("{\"family\": \"w\", \"pidMode\": \"host\", \"containerDefinitions\": []}");
    const struct eg_lint_result *r = first(l, EG_LINT_ECS3);
    assert_int_equal(r->line, 1);
    assert_int_equal(r->column, 17);
    assert_int_equal(r->container, -1);
    done(l);
}

/* ECS.4 */

static void test_ecs4_privileged(void **state)
{
    (void)state;
    struct linted *l = lint(api("", ""));
    assert_int_equal(verdict(l, EG_LINT_ECS4), EG_LINT_PASS);
    done(l);
    l = lint(api("", "\"privileged\": false"));
    assert_int_equal(verdict(l, EG_LINT_ECS4), EG_LINT_PASS);
    done(l);
    l = lint(api("", "\"privileged\": null"));
    assert_int_equal(verdict(l, EG_LINT_ECS4), EG_LINT_PASS);
    done(l);
    /* privileged with host networking: ECS.1 passes (deliberate), ECS.4 fails */
    l = lint(api("\"networkMode\": \"host\"", "\"privileged\": true"));
    assert_int_equal(verdict(l, EG_LINT_ECS4), EG_LINT_FAIL);
    assert_int_equal(verdict(l, EG_LINT_ECS1), EG_LINT_PASS);
    /* privileged is every capability: the capability checks do not apply */
    assert_int_equal(verdict(l, EG_LINT_CAP_DROP), EG_LINT_NOT_APPLICABLE);
    assert_int_equal(verdict(l, EG_LINT_CAP_ADD), EG_LINT_NOT_APPLICABLE);
    done(l);
}

/* ECS.5 */

static void test_ecs5_readonly_root(void **state)
{
    (void)state;
    struct linted *l = lint(api("", ""));
    assert_int_equal(verdict(l, EG_LINT_ECS5), EG_LINT_FAIL); /* absent fails */
    assert_int_equal(first(l, EG_LINT_ECS5)->line, 1);
    assert_int_equal(first(l, EG_LINT_ECS5)->column, 44); /* the container */
    done(l);
    l = lint(api("", "\"readonlyRootFilesystem\": false"));
    assert_int_equal(verdict(l, EG_LINT_ECS5), EG_LINT_FAIL);
    assert_int_equal(first(l, EG_LINT_ECS5)->column, 78); /* the key */
    done(l);
    l = lint(api("", "\"readonlyRootFilesystem\": true"));
    assert_int_equal(verdict(l, EG_LINT_ECS5), EG_LINT_PASS);
    done(l);
    /* A quoted "true" is a type error in API input; CloudFormation takes it. */
    l = lint_def(api("", "\"readonlyRootFilesystem\": \"true\""), 0);
    assert_int_equal(l->rc, -1);
    assert_non_null(strstr(l->errs.items[0].message, "must be true or false"));
    done(l);
    l = lint("Resources:\n  T:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n"
             "      ContainerDefinitions:\n        - Name: a\n"
             "          ReadonlyRootFilesystem: \"true\"\n");
    assert_int_equal(verdict(l, EG_LINT_ECS5), EG_LINT_PASS);
    done(l);
}

/* ECS.8 */

static void test_ecs8_environment_names(void **state)
{
    (void)state;
    struct linted *l =
        lint(api("", "\"environment\": [{\"name\": \"AWS_ACCESS_KEY_ID\", \"value\": \"AKIA\"},"
                     "{\"name\": \"aws_secret_access_key\", \"value\": \"x\"},"
                     "{\"name\": \"AWS_SESSION_TOKEN\", \"value\": \"x\"},"
                     "{\"name\": \"ECS_ENGINE_AUTH_DATA\", \"value\": \"{}\"},"
                     "{\"name\": \"AWS_SECRET_ACCESS_KEY\"},"
                     "{\"name\": \"OTHER\", \"value\": \"AWS_ACCESS_KEY_ID\"}]"));
    /* exactly the rule's three names, case-sensitive; values do not matter */
    assert_int_equal(count(l, EG_LINT_ECS8, EG_LINT_FAIL), 3);
    assert_string_equal(first(l, EG_LINT_ECS8)->subject, "AWS_ACCESS_KEY_ID");
    done(l);
    l = lint(api("", "\"secrets\": [{\"name\": \"AWS_SECRET_ACCESS_KEY\", \"valueFrom\": "
                     "\"arn:aws:secretsmanager:us-east-1:1:secret:x\"}], \"environment\": []"));
    assert_int_equal(verdict(l, EG_LINT_ECS8), EG_LINT_PASS);
    done(l);
}

/* ECS.9 */

static void test_ecs9_log_configuration(void **state)
{
    (void)state;
    const char *two = "{\"family\": \"w\", \"containerDefinitions\": ["
                      "{\"name\": \"a\", \"logConfiguration\": {\"logDriver\": \"awslogs\"}},"
                      "{\"name\": \"b\"},"
                      "{\"name\": \"c\", \"logConfiguration\": null},"
                      "{\"name\": \"d\", \"logConfiguration\": {\"options\": {}}}]}";
    struct linted *l = lint(two);
    /* absent at container level, null, and without a driver each fail; a driver passes */
    assert_int_equal(count(l, EG_LINT_ECS9, EG_LINT_FAIL), 3);
    for (size_t i = 0; i < l->report.count; i++)
        if (l->report.results[i].control == EG_LINT_ECS9)
            assert_int_not_equal(l->report.results[i].container, 0);
    done(l);
}

/* EG.CAP_ADD, EG.CAP_DROP */

static void test_capabilities(void **state)
{
    (void)state;
    struct linted *l = lint(api("", "\"linuxParameters\": {\"capabilities\": {\"add\": "
                                    "[\"SYS_ADMIN\", \"CAP_NET_ADMIN\", \"CHOWN\", \"SYS_NICE\"],"
                                    " \"drop\": [\"all\"]}}"));
    assert_int_equal(count(l, EG_LINT_CAP_ADD, EG_LINT_FAIL), 4);
    assert_int_equal(verdict(l, EG_LINT_CAP_DROP), EG_LINT_PASS); /* any case, like Docker */
    enum eg_lint_severity want[] = {EG_LINT_HIGH, EG_LINT_HIGH, EG_LINT_LOW, EG_LINT_MEDIUM};
    size_t k = 0;
    for (size_t i = 0; i < l->report.count; i++)
        if (l->report.results[i].control == EG_LINT_CAP_ADD)
            assert_int_equal(l->report.results[i].severity, want[k++]);
    done(l);
    l = lint(api("", "\"linuxParameters\": {\"capabilities\": {\"drop\": [\"NET_RAW\"]}}"));
    assert_int_equal(verdict(l, EG_LINT_CAP_DROP), EG_LINT_FAIL);
    assert_int_equal(verdict(l, EG_LINT_CAP_ADD), EG_LINT_PASS);
    done(l);
    l = lint(api("", ""));
    assert_int_equal(verdict(l, EG_LINT_CAP_DROP), EG_LINT_FAIL);
    done(l);
}

/* EG.USER, EG.INIT */

static void test_user_and_init(void **state)
{
    (void)state;
    struct {
        const char *container;
        enum eg_lint_verdict user, init;
    } cases[] = {
        {"", EG_LINT_FAIL, EG_LINT_FAIL},
        {"\"user\": \"root\"", EG_LINT_FAIL, EG_LINT_FAIL},
        {"\"user\": \"0:0\"", EG_LINT_FAIL, EG_LINT_FAIL},
        {"\"user\": \"1000:1000\", \"linuxParameters\": {\"initProcessEnabled\": true}",
         EG_LINT_PASS, EG_LINT_PASS},
        {"\"linuxParameters\": {\"initProcessEnabled\": false}", EG_LINT_FAIL, EG_LINT_FAIL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct linted *l = lint(api("", cases[i].container));
        assert_int_equal(verdict(l, EG_LINT_USER), cases[i].user);
        assert_int_equal(verdict(l, EG_LINT_INIT), cases[i].init);
        done(l);
    }
}

static void test_user_is_root(void **state)
{
    (void)state;
    const char *root[] = {"", "root", "0", "000", "0:0", "root:1000", ":", ":1000"};
    const char *other[] = {"1000", "1000:0", "nginx", "root1", "r00t", "10", "0x0", " 0"};
    for (size_t i = 0; i < sizeof(root) / sizeof(root[0]); i++)
        assert_true(eg_lint_user_is_root(root[i], strlen(root[i])));
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
        assert_false(eg_lint_user_is_root(other[i], strlen(other[i])));
}

/* EG.HOST_PATH */

static void test_host_paths(void **state)
{
    (void)state;
    const char *sensitive[] = {"/",
                               "/proc",
                               "/proc/1/ns",
                               "/var",
                               "/var/run",
                               "/run/docker.sock",
                               "/etc/",
                               "//etc//ecs",
                               "/data/../proc",
                               "/sys/fs/cgroup",
                               "/var/lib/docker/x",
                               "relative/path",
                               "/./dev"};
    const char *fine[] = {"/var/lib/app", "/opt/data", "/tmp",   "/var/log/app",
                          "/procfs",      "/etcetera", "/../opt"};
    for (size_t i = 0; i < sizeof(sensitive) / sizeof(sensitive[0]); i++)
        if (!eg_lint_host_path_sensitive(sensitive[i], strlen(sensitive[i])))
            fail_msg("%s should be sensitive", sensitive[i]);
    for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++)
        if (eg_lint_host_path_sensitive(fine[i], strlen(fine[i])))
            fail_msg("%s should not be sensitive", fine[i]);

    /* Writable somewhere is high, read-only everywhere medium. */
    struct linted *l =
        lint("{\"family\": \"w\", \"volumes\": ["
             "{\"name\": \"sock\", \"host\": {\"sourcePath\": \"/var/run/docker.sock\"}},"
             "{\"name\": \"procfs\", \"host\": {\"sourcePath\": \"/proc\"}},"
             "{\"name\": \"data\", \"host\": {\"sourcePath\": \"/srv/data\"}},"
             "{\"name\": \"scratch\"}],"
             "\"containerDefinitions\": [{\"name\": \"a\", \"mountPoints\": ["
             "{\"sourceVolume\": \"sock\", \"containerPath\": \"/s\"},"
             "{\"sourceVolume\": \"procfs\", \"containerPath\": \"/p\", \"readOnly\": true}]}]}");
    assert_int_equal(count(l, EG_LINT_HOST_PATH, EG_LINT_FAIL), 2);
    assert_int_equal(first(l, EG_LINT_HOST_PATH)->severity, EG_LINT_HIGH);
    assert_string_equal(first(l, EG_LINT_HOST_PATH)->subject, "/var/run/docker.sock");
    assert_int_equal(l->report.results[1].severity, EG_LINT_MEDIUM); /* /proc, read-only */
    done(l);
    /* A runtime socket is high even mounted read-only: connect() is not a write. So is a
     * directory that holds one. */
    l = lint("{\"family\": \"w\", \"volumes\": ["
             "{\"name\": \"sock\", \"host\": {\"sourcePath\": \"/run/docker.sock\"}},"
             "{\"name\": \"run\", \"host\": {\"sourcePath\": \"/var/run/\"}},"
             "{\"name\": \"etc\", \"host\": {\"sourcePath\": \"/etc\"}}],"
             "\"containerDefinitions\": [{\"name\": \"a\", \"mountPoints\": ["
             "{\"sourceVolume\": \"sock\", \"containerPath\": \"/s\", \"readOnly\": true},"
             "{\"sourceVolume\": \"run\", \"containerPath\": \"/r\", \"readOnly\": true},"
             "{\"sourceVolume\": \"etc\", \"containerPath\": \"/e\", \"readOnly\": true}]}]}");
    assert_int_equal(count(l, EG_LINT_HOST_PATH, EG_LINT_FAIL), 3);
    assert_int_equal(l->report.results[0].severity, EG_LINT_HIGH);
    assert_int_equal(l->report.results[1].severity, EG_LINT_HIGH);
    assert_int_equal(l->report.results[2].severity, EG_LINT_MEDIUM);
    assert_non_null(strstr(l->report.results[0].message, "read-only does not restrict"));
    done(l);
}

/* Formats */

static const char *const cfn_yaml = "AWSTemplateFormatVersion: \"2010-09-09\"\n"
                                    "Resources:\n"
                                    "  Role:\n"
                                    "    Type: AWS::IAM::Role\n"
                                    "  Web:\n"
                                    "    Type: AWS::ECS::TaskDefinition\n"
                                    "    Properties:\n"
                                    "      Family: web\n"
                                    "      NetworkMode: host\n"
                                    "      PidMode: !If [Prod, task, host]\n"
                                    "      ContainerDefinitions:\n"
                                    "        - Name: app\n"
                                    "          Image: !Sub \"${Repo}:1\"\n"
                                    "          User: 1000\n"
                                    "          Privileged: !Ref Priv\n"
                                    "          ReadonlyRootFilesystem: true\n"
                                    "          Environment:\n"
                                    "            - Name: !Ref VarName\n"
                                    "              Value: x\n"
                                    "          LogConfiguration:\n"
                                    "            LogDriver: !Ref AWS::NoValue\n"
                                    "        - !If [Prod, !Ref AWS::NoValue, {Name: b}]\n"
                                    "  Agent:\n"
                                    "    Type: AWS::ECS::DaemonTaskDefinition\n"
                                    "    Properties:\n"
                                    "      PidMode: shared\n"
                                    "      ContainerDefinitions: !Ref Defs\n";

static void test_format_cloudformation_yaml(void **state)
{
    (void)state;
    struct linted *l = lint(cfn_yaml);
    assert_int_equal(l->file.format, EG_TD_FORMAT_CLOUDFORMATION);
    assert_int_equal(l->file.ndefs, 2);
    const struct eg_taskdef *td = &l->file.defs[0];
    assert_string_equal(td->family, "web");
    assert_string_equal(td->resource, "Web");
    /* Intrinsics are unknown; an unknown decides nothing it could change. */
    assert_int_equal(verdict(l, EG_LINT_ECS3), EG_LINT_UNKNOWN);
    assert_non_null(strstr(first(l, EG_LINT_ECS3)->message, "Fn::If"));
    assert_int_equal(verdict(l, EG_LINT_ECS4), EG_LINT_UNKNOWN);
    /* User 1000 (a number, a string in CloudFormation) is not root: ECS.1 passes for 'app'
     * whatever Privileged is; the !If container is unknown. */
    assert_int_equal(count(l, EG_LINT_ECS1, EG_LINT_FAIL), 0);
    assert_int_equal(count(l, EG_LINT_ECS1, EG_LINT_UNKNOWN), 1);
    assert_int_equal(count(l, EG_LINT_ECS8, EG_LINT_UNKNOWN), 2); /* a name; container b */
    /* !Ref AWS::NoValue is absent: a logConfiguration without a driver. */
    assert_int_equal(count(l, EG_LINT_ECS9, EG_LINT_FAIL), 1);
    assert_int_equal(verdict(l, EG_LINT_ECS5), EG_LINT_UNKNOWN); /* only through container b */
    assert_int_equal(count(l, EG_LINT_ECS5, EG_LINT_FAIL), 0);
    done(l);

    /* The daemon resource: family from the logical id, host PID via "shared", ECS.1 n/a. */
    l = lint_def(cfn_yaml, 1);
    assert_int_equal(l->file.defs[1].kind, EG_TD_DAEMON);
    assert_string_equal(l->file.defs[1].family, "Agent");
    assert_int_equal(verdict(l, EG_LINT_ECS3), EG_LINT_FAIL);
    assert_int_equal(verdict(l, EG_LINT_ECS1), EG_LINT_NOT_APPLICABLE);
    assert_int_equal(verdict(l, EG_LINT_ECS4), EG_LINT_UNKNOWN);
    done(l);
}

static void test_format_cloudformation_json(void **state)
{
    (void)state;
    struct linted *l =
        lint("{\"Resources\": {\"T\": {\"Type\": \"AWS::ECS::TaskDefinition\", \"Properties\": {"
             "\"Family\": {\"Fn::Sub\": \"${AWS::StackName}-web\"},"
             "\"ContainerDefinitions\": [{\"Name\": \"a\", \"Privileged\": true,"
             " \"ReadonlyRootFilesystem\": {\"Fn::If\": [\"C\", true, false]},"
             " \"LogConfiguration\": {\"LogDriver\": {\"Ref\": \"Driver\"}}}]}}}}");
    assert_string_equal(l->file.defs[0].family, "T"); /* Family not literal: logical id */
    assert_int_equal(verdict(l, EG_LINT_ECS4), EG_LINT_FAIL);
    assert_int_equal(verdict(l, EG_LINT_ECS5), EG_LINT_UNKNOWN);
    assert_int_equal(verdict(l, EG_LINT_ECS9), EG_LINT_UNKNOWN);
    done(l);
}

static void test_format_describe_and_daemon(void **state)
{
    (void)state;
    struct linted *l = lint("{\"taskDefinition\": {\"family\": \"web\", \"revision\": 7, "
                            "\"pidMode\": \"host\", \"containerDefinitions\": []}, \"tags\": []}");
    assert_int_equal(l->file.format, EG_TD_FORMAT_DESCRIBE);
    assert_true(eg_td_value_is(&l->file.defs[0].revision, "7"));
    assert_int_equal(verdict(l, EG_LINT_ECS3), EG_LINT_FAIL);
    done(l);
    /* RegisterDaemonTaskDefinition input: no networkMode, "shared" namespaces */
    l = lint("{\"family\": \"agent\", \"pidMode\": \"shared\", \"ipcMode\": \"shared\","
             " \"containerDefinitions\": [{\"name\": \"a\", \"user\": \"0\"}]}");
    assert_int_equal(l->file.format, EG_TD_FORMAT_REGISTER);
    assert_int_equal(l->file.defs[0].kind, EG_TD_DAEMON);
    assert_int_equal(verdict(l, EG_LINT_ECS3), EG_LINT_FAIL);
    assert_int_equal(verdict(l, EG_LINT_IPC_HOST), EG_LINT_FAIL);
    assert_int_equal(verdict(l, EG_LINT_USER), EG_LINT_FAIL);
    done(l);
    /* YAML input of the API (--cli-input-yaml) */
    l = lint("family: web\ncontainerDefinitions:\n  - name: a\n    privileged: true\n");
    assert_int_equal(verdict(l, EG_LINT_ECS4), EG_LINT_FAIL);
    assert_int_equal(first(l, EG_LINT_ECS4)->line, 4);
    assert_int_equal(first(l, EG_LINT_ECS4)->column, 5);
    done(l);
    /* A template without task definitions: no definitions, no error */
    l = lint_def("Resources:\n  B:\n    Type: AWS::S3::Bucket\n", 0);
    assert_int_equal(l->rc, 0);
    assert_int_equal(l->file.ndefs, 0);
    done(l);
}

/* An Fn::If whose branches are literal decides a control both branches agree on. */
static void test_if_branches(void **state)
{
    (void)state;
    struct linted *l =
        lint("Resources:\n  T:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n"
             "      Family: web\n"
             "      NetworkMode: host\n"
             "      PidMode: !If [Debug, task, !Ref AWS::NoValue]\n" /* both pass */
             "      IpcMode: {\"Fn::If\": [Debug, host, task]}\n"    /* they differ */
             "      ContainerDefinitions:\n"
             "        - Name: a\n"
             "          Privileged: !If [Debug, false, !Ref AWS::NoValue]\n" /* both pass */
             "          User: !If [Debug, \"1000\", \"nginx\"]\n"            /* both non-root */
             "          ReadonlyRootFilesystem: !If [Debug, false, true]\n"  /* they differ */
             "          LogConfiguration:\n"
             "            LogDriver: !If [Debug, awslogs, fluentd]\n" /* both pass */
             "          LinuxParameters:\n"
             "            InitProcessEnabled: !If [Debug, \"TRUE\", true]\n" /* both pass */
             "        - Name: b\n"
             "          Privileged: !If [Debug, true, \"true\"]\n" /* both fail */
             "          User: !If [Debug, !Ref U, \"1000\"]\n"     /* not literal */
             "      Volumes:\n"
             "        - Name: v\n"
             "          Host:\n"
             "            SourcePath: !If [Debug, /proc, /etc]\n"); /* both fail */
    assert_int_equal(verdict(l, EG_LINT_ECS3), EG_LINT_PASS);
    assert_int_equal(verdict(l, EG_LINT_IPC_HOST), EG_LINT_UNKNOWN);
    assert_non_null(strstr(first(l, EG_LINT_IPC_HOST)->message, "one of its branches fails"));
    assert_int_equal(count(l, EG_LINT_ECS4, EG_LINT_FAIL), 1); /* b only */
    assert_int_equal(first(l, EG_LINT_ECS4)->container, 1);
    assert_int_equal(count(l, EG_LINT_ECS4, EG_LINT_UNKNOWN), 0);
    assert_int_equal(count(l, EG_LINT_ECS5, EG_LINT_UNKNOWN), 1); /* a */
    assert_int_equal(count(l, EG_LINT_ECS5, EG_LINT_FAIL), 1);    /* b: not set */
    assert_int_equal(count(l, EG_LINT_ECS9, EG_LINT_FAIL), 1);    /* b: no logConfiguration */
    assert_int_equal(count(l, EG_LINT_ECS9, EG_LINT_UNKNOWN), 0);
    assert_int_equal(count(l, EG_LINT_USER, EG_LINT_UNKNOWN), 1); /* b: !Ref in a branch */
    assert_int_equal(count(l, EG_LINT_USER, EG_LINT_FAIL), 0);
    assert_int_equal(count(l, EG_LINT_INIT, EG_LINT_FAIL), 1); /* b */
    assert_int_equal(count(l, EG_LINT_ECS1, EG_LINT_FAIL), 0); /* a non-root, b privileged */
    assert_int_equal(count(l, EG_LINT_ECS1, EG_LINT_UNKNOWN), 0);
    assert_int_equal(count(l, EG_LINT_HOST_PATH, EG_LINT_FAIL), 1);
    assert_string_equal(first(l, EG_LINT_HOST_PATH)->subject, "/proc");
    done(l);
}

/* Hostile and wrong input: a clear error with a position, never a crash. */

static void expect_error(const char *text, size_t len, const char *needle)
{
    struct eg_taskdef_file f;
    struct eg_policy_errors errs;
    assert_int_equal(eg_taskdef_parse(text, len, &f, &errs), -1);
    assert_true(errs.count >= 1);
    if (!strstr(errs.items[0].message, needle))
        fail_msg("'%s' not in '%s'", needle, errs.items[0].message);
}

static void test_wrong_input(void **state)
{
    (void)state;
#define E(text, needle) expect_error(text, strlen(text), needle)
    E("{\"family\": \"a\", \"family\": \"b\", \"containerDefinitions\": []}", "repeats");
    E("{\"family\": \"a\", \"containerDefinitions\": [{\"name\": \"x\", \"privileged\": true, "
      "\"privileged\": false}]}",
      "repeats");
    E("{\"family\": \"a\", \"containerDefinitions\": {}}", "must be a list");
    E("{\"family\": \"a\", \"containerDefinitions\": [\"x\"]}", "must be mappings");
    E("{\"family\": \"a\", \"containerDefinitions\": [{\"user\": 0}]}", "must be a string");
    E("{\"family\": \"a\", \"containerDefinitions\": [{\"user\": [\"root\"]}]}",
      "must be a string");
    E("{\"family\": \"a\", \"containerDefinitions\": [{\"privileged\": 1}]}", "true or false");
    E("{\"family\": \"a\", \"containerDefinitions\": [{\"linuxParameters\": {\"capabilities\": "
      "{\"add\": [{}]}}}]}",
      "must be strings");
    E("{\"family\": \"a\", \"containerDefinitions\": [{\"environment\": {\"A\": \"b\"}}]}",
      "must be a list");
    E("{\"containerDefinitions\": []}", "no 'family'");
    E("{\"hello\": 1}", "not a task definition");
    E("[1, 2]", "expected a task definition");
    E("", "empty");
    E("{\"family\": \"a\", \"containerDefinitions\": [{\"user\": !Ref U}]}", "CloudFormation");
    E("family: &f a\ncontainerDefinitions: [*f]\n", "aliases");
    E("{\"family\": \"a\xff\", \"containerDefinitions\": []}", "invalid input");
    E("Resources: [1]\n", "must be a mapping");
    E("{\"family\": \"a\", \"containerDefinitions\": [{\"name\": \"a\\u0000b\"}]}", "NUL");
#undef E
    /* deeply nested */
    char deep[400];
    size_t n = 0;
    for (int i = 0; i < 150; i++)
        deep[n++] = '[';
    expect_error(deep, n, "nested deeper");
    /* huge */
    size_t big = EG_TASKDEF_MAX_BYTES + 1;
    char *huge = malloc(big);
    assert_non_null(huge);
    memset(huge, ' ', big);
    expect_error(huge, big, "larger than");
    free(huge);
}

static void test_surrogate_pairs(void **state)
{
    (void)state;
    /* JSON's escape for a character beyond the BMP, which YAML lacks, reads as that
     * character; an escaped backslash before "u" stays text. */
    struct linted *l =
        lint("{\"family\": \"w\\ud83d\\ude00\\\\ud83d\", \"containerDefinitions\": []}");
    assert_string_equal(l->file.defs[0].family, "w\xf0\x9f\x98\x80\\ud83d");
    done(l);
}

/* --allow */

static void test_allow_list(void **state)
{
    (void)state;
    const char *yaml = "allow:\n"
                       "  - family: web\n"
                       "    control: ECS.4\n"
                       "    reason: loads BPF programs\n"
                       "  - family: web\n"
                       "    control: eg.user\n"
                       "    container: other\n"
                       "    reason: only for 'other'\n"
                       "  - family: web\n"
                       "    control: ECS.3\n"
                       "    reason: \"stale: pidMode is gone\"\n"
                       "  - family: elsewhere\n"
                       "    control: ECS.5\n"
                       "    reason: not linted here\n";
    struct eg_policy_errors errs;
    struct eg_lint_allow *a = eg_lint_allow_load_buffer(yaml, strlen(yaml), &errs);
    assert_non_null(a);
    assert_int_equal(a->count, 4);
    struct linted *l = lint(api("", "\"privileged\": true, \"user\": \"0\""));
    eg_lint_apply_allow(a, &l->file.defs[0], &l->report);
    assert_int_equal(first(l, EG_LINT_ECS4)->allowed_by, 0);
    assert_int_equal(first(l, EG_LINT_USER)->allowed_by, -1); /* container 'app', not 'other' */
    assert_int_equal(a->entries[0].matched, 1);
    assert_int_equal(a->entries[1].matched, 0);
    assert_true(a->entries[2].family_linted); /* matched nothing: stale */
    assert_int_equal(a->entries[2].matched, 0);
    assert_false(a->entries[3].family_linted); /* unused, not stale */
    done(l);
    eg_lint_allow_free(a);

    const char *bad[][2] = {
        {"allow:\n  - family: web\n    control: ECS.4\n", "needs 'reason'"},
        {"allow:\n  - family: web\n    control: ECS.4\n    reason: \"  \"\n", "empty"},
        {"allow:\n  - family: web\n    control: ECS.99\n    reason: x\n", "unknown control"},
        {"allow:\n  - family: web\n    control: ECS.4\n    reason: x\n    note: y\n", "note"},
        {"allow:\n  - family: web\n    family: api\n    control: ECS.4\n    reason: x\n",
         "repeats"},
        {"allowed: []\n", "allowed"},
        {"allow: {family: web}\n", "must be a list"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        a = eg_lint_allow_load_buffer(bad[i][0], strlen(bad[i][0]), &errs);
        assert_null(a);
        assert_true(errs.count >= 1);
        if (!strstr(errs.items[0].message, bad[i][1]))
            fail_msg("'%s' not in '%s'", bad[i][1], errs.items[0].message);
    }
}

/* libyaml's marks are right on the repository's own JSON and YAML: the ECS.4 result of each
 * deploy/ definition sits exactly where the file's privileged key is (found by text search,
 * so this follows edits to those files). */
static void expect_key_position(const char *rel, const char *needle)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/../../%s", getenv("ECSGUARD_FIXTURES"), rel);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char text[1 << 20];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    const char *hit = strstr(text, needle);
    if (!hit) {
        print_message("%s has no '%s': nothing to compare\n", rel, needle);
        return;
    }
    unsigned line = 1, column = 1;
    for (const char *p = text; p < hit; p++) {
        if (*p == '\n') {
            line++;
            column = 1;
        } else {
            column++;
        }
    }
    struct linted *l = lint(text);
    const struct eg_lint_result *r = first(l, EG_LINT_ECS4);
    if (r->line != line || r->column != column)
        fail_msg("%s: ECS.4 at %u:%u, the key is at %u:%u", rel, r->line, r->column, line, column);
    done(l);
}

static void test_positions_in_repository_files(void **state)
{
    (void)state;
    expect_key_position("deploy/ecs/task-definition-ec2-daemon.json", "\"privileged\"");
    expect_key_position("deploy/ecs/task-definition-managed-daemon.json", "\"privileged\"");
    expect_key_position("deploy/cloudformation/ecsguard.yaml", "Privileged:");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ecs1_host_network_user),
        cmocka_unit_test(test_ecs1_only_host_network),
        cmocka_unit_test(test_host_pid_and_ipc),
        cmocka_unit_test(test_ecs4_privileged),
        cmocka_unit_test(test_ecs5_readonly_root),
        cmocka_unit_test(test_ecs8_environment_names),
        cmocka_unit_test(test_ecs9_log_configuration),
        cmocka_unit_test(test_capabilities),
        cmocka_unit_test(test_user_and_init),
        cmocka_unit_test(test_user_is_root),
        cmocka_unit_test(test_host_paths),
        cmocka_unit_test(test_format_cloudformation_yaml),
        cmocka_unit_test(test_format_cloudformation_json),
        cmocka_unit_test(test_format_describe_and_daemon),
        cmocka_unit_test(test_if_branches),
        cmocka_unit_test(test_wrong_input),
        cmocka_unit_test(test_surrogate_pairs),
        cmocka_unit_test(test_allow_list),
        cmocka_unit_test(test_positions_in_repository_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
