/*
 * Evaluating findings against a policy: AND of conditions, globs, family and
 * revision, finding-type scoping, severity overrides, disabled types,
 * suppression counters and the reports built from them.
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

#include "policy/finding_types.h"
#include "policy/policy.h"

#define SYS_ADMIN "PrivilegeEscalation:Runtime/SysAdminCapabilityUsed"
#define NET_ADMIN "PrivilegeEscalation:Runtime/NetAdminCapabilityUsed"
#define BPF_USED "PrivilegeEscalation:Runtime/BpfCapabilityUsed"
#define CAP_DENIED "Discovery:Runtime/CapabilityDenied"
#define ROOTFS "Persistence:Runtime/ContainerRootFilesystemModified"
#define PTRACE "DefenseEvasion:Runtime/ProcessInjection.Ptrace"
#define HOST_NS "PrivilegeEscalation:Runtime/HostNamespaceEntered"
#define NEW_BINARY "Execution:Runtime/NewBinaryExecuted"

static struct eg_policy *load_fixture(const char *name)
{
    char path[4096];
    struct eg_policy_errors errs;
    snprintf(path, sizeof(path), "%s/policy/%s", getenv("ECSGUARD_FIXTURES"), name);
    struct eg_policy *p = eg_policy_load_file(path, &errs);
    for (unsigned i = 0; !p && i < errs.count; i++)
        fprintf(stderr, "%s:%u:%u: %s\n", name, errs.items[i].line, errs.items[i].column,
                errs.items[i].message);
    assert_non_null(p);
    return p;
}

static struct eg_policy *load_text(const char *text)
{
    struct eg_policy_errors errs;
    struct eg_policy *p = eg_policy_load_buffer("inline", text, strlen(text), &errs);
    for (unsigned i = 0; !p && i < errs.count; i++)
        fprintf(stderr, "inline:%u:%u: %s\n", errs.items[i].line, errs.items[i].column,
                errs.items[i].message);
    assert_non_null(p);
    return p;
}

static struct eg_policy_verdict eval(struct eg_policy *p, struct eg_policy_subject s,
                                     double default_severity)
{
    struct eg_policy_verdict v;
    memset(&v, 0xa5, sizeof(v)); /* every field must be written */
    eg_policy_evaluate(p, &s, default_severity, &v);
    return v;
}

static void assert_suppressed_by(struct eg_policy_verdict v, const char *rule)
{
    assert_false(v.report);
    assert_non_null(v.rule_name);
    assert_string_equal(v.rule_name, rule);
}

static void assert_reported(struct eg_policy_verdict v, double severity)
{
    assert_true(v.report);
    assert_null(v.rule_name);
    assert_true(v.severity == severity);
}

static void test_all_conditions_must_hold(void **state)
{
    struct eg_policy *p = load_fixture("valid_full.yaml");

    /* datadog-sys-admin: family AND capability */
    struct eg_policy_subject s = {
        .finding_type = SYS_ADMIN, .task_family = "datadog-agent", .capability = "CAP_SYS_ADMIN"};
    assert_suppressed_by(eval(p, s, 5.0), "datadog-sys-admin");
    s.capability = "CAP_NET_ADMIN";
    assert_reported(eval(p, s, 5.0), 5.0);
    s.capability = NULL; /* a condition on a field the finding lacks never holds */
    assert_reported(eval(p, s, 5.0), 5.0);
    s.capability = "CAP_SYS_ADMIN";
    s.task_family = "web";
    assert_reported(eval(p, s, 5.0), 5.0);
    s.task_family = NULL;
    assert_reported(eval(p, s, 5.0), 5.0);

    /* debug-sidecar-ptrace: container glob, image glob, exe, target glob, type */
    struct eg_policy_subject d = {.finding_type = PTRACE,
                                  .container_name = "debug-1",
                                  .image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/debug:7",
                                  .executable_path = "/usr/bin/gdb",
                                  .target_process = "/app/bin/server"};
    assert_suppressed_by(eval(p, d, 5.0), "debug-sidecar-ptrace");
    struct eg_policy_subject x = d;
    x.target_process = "/usr/sbin/sshd";
    assert_reported(eval(p, x, 5.0), 5.0);
    x = d;
    x.image = "docker.io/library/debug:7";
    assert_reported(eval(p, x, 5.0), 5.0);
    x = d;
    x.container_name = "app";
    assert_reported(eval(p, x, 5.0), 5.0);
    x = d;
    x.executable_path = "/usr/bin/gdb-multiarch";
    assert_reported(eval(p, x, 5.0), 5.0);
    x = d;
    x.finding_type = "DefenseEvasion:Runtime/ProcessInjection.VirtualMemoryWrite";
    assert_reported(eval(p, x, 8.0), 8.0);
    eg_policy_free(p);
}

static void test_family_and_revision(void **state)
{
    struct eg_policy *p = load_fixture("valid_full.yaml");
    struct eg_policy_subject s = {.finding_type = ROOTFS,
                                  .task_family = "build",
                                  .task_revision = "7",
                                  .file_path = "/var/cache/apt/pkgcache.bin"};
    assert_suppressed_by(eval(p, s, 2.0), "build-cache");
    s.task_revision = "8";
    assert_suppressed_by(eval(p, s, 2.0), "build-cache");
    s.task_revision = "9";
    assert_reported(eval(p, s, 2.0), 2.0);
    s.task_revision = "08x";
    assert_reported(eval(p, s, 2.0), 2.0);
    s.task_revision = NULL;
    assert_reported(eval(p, s, 2.0), 2.0);
    s.task_revision = "7";
    s.task_family = "build-2"; /* families are whole names, not prefixes */
    assert_reported(eval(p, s, 2.0), 2.0);
    s.task_family = "build";
    s.file_path = "/var/cache"; /* the directory itself */
    assert_suppressed_by(eval(p, s, 2.0), "build-cache");
    s.file_path = "/var/cachex/a";
    assert_reported(eval(p, s, 2.0), 2.0);
    /* The rule is scoped to the rootfs finding: a new binary there is still reported. */
    s.file_path = "/var/cache/apt/pkgcache.bin";
    s.finding_type = NEW_BINARY;
    assert_reported(eval(p, s, 5.0), 5.0);
    eg_policy_free(p);
}

static void test_lists_are_any_of(void **state)
{
    struct eg_policy *p = load_fixture("valid_full.yaml");
    struct eg_policy_subject s = {
        .finding_type = HOST_NS, .namespace_kind = "net", .executable_path = "/usr/sbin/openvpn"};
    assert_suppressed_by(eval(p, s, 7.5), "vpn-netns");
    s.namespace_kind = "uts";
    assert_suppressed_by(eval(p, s, 7.5), "vpn-netns");
    s.namespace_kind = "mnt";
    assert_reported(eval(p, s, 7.5), 7.5);
    s.namespace_kind = "bogus";
    assert_reported(eval(p, s, 7.5), 7.5);
    eg_policy_free(p);
}

static void test_severity_overrides_and_disabled(void **state)
{
    struct eg_policy *p = load_fixture("valid_full.yaml");
    /* Critical label */
    assert_reported(eval(p, (struct eg_policy_subject){.finding_type = BPF_USED}, 7.0), 9.5);
    /* numeric override */
    assert_reported(eval(p, (struct eg_policy_subject){.finding_type = NET_ADMIN}, 5.0), 6.5);
    /* no override: the caller's default */
    assert_reported(eval(p, (struct eg_policy_subject){.finding_type = SYS_ADMIN}, 5.0), 5.0);
    /* disabled */
    struct eg_policy_verdict v =
        eval(p, (struct eg_policy_subject){.finding_type = CAP_DENIED}, 2.0);
    assert_false(v.report);
    assert_null(v.rule_name);
    /* a type this build does not know, and no type at all, are still reported */
    assert_reported(eval(p, (struct eg_policy_subject){.finding_type = "Foo:Runtime/Bar"}, 3.0),
                    3.0);
    assert_reported(eval(p, (struct eg_policy_subject){0}, 3.0), 3.0);
    /* the registry's own pointer and an equal copy behave the same */
    char copy[128];
    snprintf(copy, sizeof(copy), "%s", BPF_USED);
    assert_reported(eval(p, (struct eg_policy_subject){.finding_type = copy}, 7.0), 9.5);
    assert_reported(eval(p,
                         (struct eg_policy_subject){
                             .finding_type = eg_finding_type_info(EG_FT_BPF_CAP_USED)->name},
                         7.0),
                    9.5);
    eg_policy_free(p);
}

static void test_first_matching_rule_wins(void **state)
{
    struct eg_policy *p = load_text("allow:\n"
                                    "  - {name: first, reason: r, task_family: web}\n"
                                    "  - {name: second, reason: r, task_family: 'w*'}\n"
                                    "  - name: any-type\n"
                                    "    reason: r\n"
                                    "    image: 'busybox:*'\n");
    struct eg_policy_subject s = {.finding_type = SYS_ADMIN, .task_family = "web"};
    assert_suppressed_by(eval(p, s, 5.0), "first");
    s.task_family = "worker";
    assert_suppressed_by(eval(p, s, 5.0), "second");
    /* A rule that names no finding type applies to every one, even unknown ones. */
    struct eg_policy_subject b = {.finding_type = "Future:Runtime/Thing", .image = "busybox:1"};
    assert_suppressed_by(eval(p, b, 5.0), "any-type");
    eg_policy_free(p);
}

static void test_capability_names_in_subjects(void **state)
{
    struct eg_policy *p =
        load_text("allow:\n"
                  "  - {name: caps, reason: r, capability: [sys_admin, CAP_BPF]}\n");
    static const char *const yes[] = {"CAP_SYS_ADMIN", "SYS_ADMIN", "cap_bpf"};
    static const char *const no[] = {"CAP_NET_ADMIN", "CAP_SYS_ADMINX", "", "CAP_"};
    for (size_t i = 0; i < 3; i++)
        assert_suppressed_by(
            eval(p, (struct eg_policy_subject){.finding_type = SYS_ADMIN, .capability = yes[i]},
                 5.0),
            "caps");
    for (size_t i = 0; i < 4; i++)
        assert_reported(
            eval(p, (struct eg_policy_subject){.finding_type = SYS_ADMIN, .capability = no[i]},
                 5.0),
            5.0);
    eg_policy_free(p);
}

static void test_ecs_task_condition(void **state)
{
    struct eg_policy *p = load_text("allow:\n"
                                    "  - {name: outside, reason: r, ecs_task: false}\n"
                                    "  - {name: inside, reason: r, ecs_task: [true]}\n");
    assert_suppressed_by(
        eval(p, (struct eg_policy_subject){.finding_type = SYS_ADMIN, .ecs_task = "false"}, 5.0),
        "outside");
    assert_suppressed_by(
        eval(p, (struct eg_policy_subject){.finding_type = SYS_ADMIN, .ecs_task = "true"}, 5.0),
        "inside");
    /* Not known either way: no rule on it holds. */
    assert_reported(eval(p, (struct eg_policy_subject){.finding_type = SYS_ADMIN}, 5.0), 5.0);
    eg_policy_free(p);

    static const char bad[] = "allow:\n  - {name: x, reason: r, ecs_task: maybe}\n";
    struct eg_policy_errors errs;
    assert_null(eg_policy_load_buffer("inline", bad, strlen(bad), &errs));
    assert_int_equal(errs.count, 1);
    assert_string_equal(errs.items[0].message, "'ecs_task' must be true or false, found 'maybe'");
}

static void test_counters_and_stats(void **state)
{
    struct eg_policy *p = load_fixture("valid_full.yaml");
    struct eg_policy_subject dd = {
        .finding_type = SYS_ADMIN, .task_family = "datadog-agent", .capability = "CAP_SYS_ADMIN"};
    struct eg_policy_subject vpn = {
        .finding_type = HOST_NS, .namespace_kind = "net", .executable_path = "/usr/sbin/openvpn"};
    for (int i = 0; i < 3; i++)
        eval(p, dd, 5.0);
    eval(p, vpn, 7.5);
    /* Reported and disabled findings count against no rule. */
    eval(p, (struct eg_policy_subject){.finding_type = SYS_ADMIN, .task_family = "web"}, 5.0);
    eval(p, (struct eg_policy_subject){.finding_type = CAP_DENIED}, 2.0);

    struct json_object *root = json_object_new_object();
    eg_policy_stats(p, root);
    struct json_object *pol, *rules, *v;
    assert_true(json_object_object_get_ex(root, "policy", &pol));
    assert_true(json_object_object_get_ex(pol, "source", &v));
    assert_non_null(strstr(json_object_get_string(v), "valid_full.yaml"));
    assert_true(json_object_object_get_ex(pol, "rules", &rules));
    assert_int_equal(json_object_array_length(rules), 4);
    static const struct {
        const char *name;
        int n;
    } want[] = {{"datadog-sys-admin", 3},
                {"build-cache", 0},
                {"debug-sidecar-ptrace", 0},
                {"vpn-netns", 1}};
    for (size_t i = 0; i < 4; i++) {
        struct json_object *r = json_object_array_get_idx(rules, i), *name, *n;
        assert_true(json_object_object_get_ex(r, "name", &name));
        assert_true(json_object_object_get_ex(r, "suppressed", &n));
        assert_string_equal(json_object_get_string(name), want[i].name);
        assert_int_equal(json_object_get_int(n), want[i].n);
    }
    assert_true(json_object_object_get_ex(pol, "suppressed", &v));
    assert_int_equal(json_object_get_int(v), 4);
    assert_true(json_object_object_get_ex(pol, "watched_capabilities", &v));
    assert_string_equal(
        json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
        "[\"CAP_NET_ADMIN\",\"CAP_SYS_PTRACE\",\"CAP_SYS_ADMIN\",\"CAP_BPF\"]");
    struct json_object *types;
    assert_true(json_object_object_get_ex(pol, "finding_types", &types));
    assert_true(json_object_object_get_ex(types, "disabled", &v));
    assert_string_equal(
        json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
        "[\"" CAP_DENIED "\"]");
    assert_true(json_object_object_get_ex(types, "severity_overrides", &v));
    struct json_object *sev;
    assert_true(json_object_object_get_ex(v, BPF_USED, &sev));
    assert_true(json_object_get_double(sev) == 9.5);
    json_object_put(root);
    eg_policy_free(p);
}

static void test_sensitive_files(void **state)
{
    struct eg_policy *p = load_fixture("valid_full.yaml");
    assert_true(eg_policy_is_sensitive_file(p, "/etc/passwd"));
    assert_false(eg_policy_is_sensitive_file(p, "/etc/passwd.bak"));
    assert_true(eg_policy_is_sensitive_file(p, "/etc/cron.d/backdoor"));
    assert_true(eg_policy_is_sensitive_file(p, "/home/app/.ssh/authorized_keys"));
    assert_false(eg_policy_is_sensitive_file(p, "/home/app/.ssh/known_hosts"));
    assert_false(eg_policy_is_sensitive_file(p, NULL));
    eg_policy_free(p);
}

static void test_summary_truncates_safely(void **state)
{
    struct eg_policy *p = load_text("");
    char small[12];
    memset(small, 'x', sizeof(small));
    eg_policy_summary(p, small, sizeof(small));
    assert_int_equal(strlen(small), sizeof(small) - 1);
    char full[256];
    eg_policy_summary(p, full, sizeof(full));
    assert_string_equal(full, "27 of 27 finding types enabled, 0 severity overrides, 0 allow "
                              "rules, 3 watched capabilities, 38 sensitive file patterns");
    eg_policy_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_conditions_must_hold),
        cmocka_unit_test(test_family_and_revision),
        cmocka_unit_test(test_lists_are_any_of),
        cmocka_unit_test(test_severity_overrides_and_disabled),
        cmocka_unit_test(test_first_matching_rule_wins),
        cmocka_unit_test(test_capability_names_in_subjects),
        cmocka_unit_test(test_ecs_task_condition),
        cmocka_unit_test(test_counters_and_stats),
        cmocka_unit_test(test_sensitive_files),
        cmocka_unit_test(test_summary_truncates_safely),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
