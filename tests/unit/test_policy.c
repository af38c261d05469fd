/*
 * Loading policies: the valid format, and every kind of problem reported at
 * its exact line and column (fixtures in tests/fixtures/policy/).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/finding_types.h"
#include "policy/policy.h"

static char *fixture(const char *name)
{
    static char path[4096];
    const char *dir = getenv("ECSGUARD_FIXTURES");
    assert_non_null(dir);
    snprintf(path, sizeof(path), "%s/policy/%s", dir, name);
    return path;
}

struct expect {
    unsigned line, column;
    const char *text;
};

static void print_errors(const char *what, const struct eg_policy_errors *errs)
{
    for (unsigned i = 0; i < errs->count; i++)
        fprintf(stderr, "%s:%u:%u: %s\n", what, errs->items[i].line, errs->items[i].column,
                errs->items[i].message);
}

/* The file is rejected with exactly these problems, in this order. */
static void check_errors(const char *name, const struct expect *exp, unsigned n)
{
    struct eg_policy_errors errs;
    struct eg_policy *p = eg_policy_load_file(fixture(name), &errs);
    assert_null(p);
    if (errs.total != n)
        print_errors(name, &errs);
    assert_int_equal(errs.total, n);
    assert_int_equal(errs.count, n);
    for (unsigned i = 0; i < n; i++) {
        const struct eg_policy_error *e = &errs.items[i];
        if (e->line != exp[i].line || e->column != exp[i].column ||
            !strstr(e->message, exp[i].text))
            print_errors(name, &errs);
        assert_int_equal(e->line, exp[i].line);
        assert_int_equal(e->column, exp[i].column);
        assert_non_null(strstr(e->message, exp[i].text));
    }
}

static struct eg_policy *load_text(const char *text, struct eg_policy_errors *errs)
{
    return eg_policy_load_buffer("test.yaml", text, strlen(text), errs);
}

static void test_valid_full(void **state)
{
    struct eg_policy_errors errs;
    struct eg_policy *p = eg_policy_load_file(fixture("valid_full.yaml"), &errs);
    if (!p)
        print_errors("valid_full.yaml", &errs);
    assert_non_null(p);
    assert_int_equal(errs.total, 0);

    /* CAP_SYS_ADMIN=21, CAP_NET_ADMIN=12, CAP_BPF=39, CAP_SYS_PTRACE=19 */
    uint64_t want = (1ull << 21) | (1ull << 12) | (1ull << 39) | (1ull << 19);
    assert_int_equal(eg_policy_watched_caps(p), want);

    const char *const *files = eg_policy_sensitive_files(p);
    assert_string_equal(files[0], "/etc/passwd");
    assert_string_equal(files[1], "/etc/cron.d/");
    assert_string_equal(files[2], "/home/*/.ssh/authorized_keys");
    assert_null(files[3]);

    char summary[256];
    eg_policy_summary(p, summary, sizeof(summary));
    assert_string_equal(summary, "26 of 27 finding types enabled, 2 severity overrides, 4 allow "
                                 "rules, 4 watched capabilities, 3 sensitive file patterns");
    eg_policy_free(p);
}

static void test_empty_documents_are_valid(void **state)
{
    static const char *const texts[] = {"", "# only a comment\n", "---\n", "~\n", "---\n...\n"};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        struct eg_policy_errors errs;
        struct eg_policy *p = load_text(texts[i], &errs);
        assert_non_null(p);
        /* Sections left out keep the built-in watch set and sensitive files. */
        assert_int_equal(eg_policy_watched_caps(p), (1ull << 21) | (1ull << 12) | (1ull << 39));
        assert_string_equal(eg_policy_sensitive_files(p)[0], "/etc/passwd");
        eg_policy_free(p);
    }
}

static void test_empty_lists_replace_defaults(void **state)
{
    struct eg_policy_errors errs;
    struct eg_policy *p = load_text("watch: {capabilities: []}\nsensitive_files: []\n", &errs);
    assert_non_null(p);
    assert_int_equal(eg_policy_watched_caps(p), 0);
    assert_null(eg_policy_sensitive_files(p)[0]);
    assert_false(eg_policy_is_sensitive_file(p, "/etc/passwd"));
    eg_policy_free(p);
}

static void test_syntax_error(void **state)
{
    static const struct expect exp[] = {
        {5, 4,
         "syntax error: did not find expected '-' indicator (while parsing a block "
         "collection at line 3, column 3)"},
    };
    check_errors("err_syntax.yaml", exp, 1);
}

static void test_unknown_keys(void **state)
{
    static const struct expect exp[] = {
        {2, 1,
         "unknown key 'alow' at the top level (expected version, findings, allow, watch, "
         "sensitive_files)"},
        {7, 5,
         "unknown key 'imgae' in an allow rule (expected name, reason, findings, "
         "task_family"},
        {9, 3, "unknown key 'capabilites' in 'watch' (expected capabilities)"},
        {13, 5, "unknown key 'severiti' in a finding type's settings (expected enabled, severity)"},
    };
    check_errors("err_unknown_key.yaml", exp, 4);
}

static void test_unknown_finding_types(void **state)
{
    static const struct expect exp[] = {
        {4, 3,
         "unknown finding type 'BpfCapabilityUsed'; did you mean "
         "'PrivilegeEscalation:Runtime/BpfCapabilityUsed'?"},
        {12, 9, "unknown finding type 'Foo:Runtime/Bar'"},
    };
    check_errors("err_unknown_type.yaml", exp, 2);
}

static void test_bad_globs(void **state)
{
    static const struct expect exp[] = {
        {4, 12, "invalid pattern 'nginx:[1.2' in 'image': unterminated '['"},
        {9, 9, "invalid pattern '/usr/bin/x]' in 'executable_path': unbalanced ']'"},
        {12, 22, "'executable_path' pattern 'nginx' must start with '/'"},
        {15, 21, "invalid pattern 'app-[z-a]' in 'container_name': empty range 'z-a'"},
        {17, 5,
         "invalid pattern '/etc/[[:foo:]]' in 'sensitive_files': unknown character class "
         "'[:foo:]'"},
        {18, 5, "sensitive file 'etc/passwd' must be an absolute path"},
        {19, 5, "invalid pattern '/etc/trailing\\' in 'sensitive_files': trailing '\\'"},
    };
    check_errors("err_bad_glob.yaml", exp, 7);
}

static void test_wrong_types(void **state)
{
    static const struct expect exp[] = {
        {4, 14, "'enabled' must be true or false, found 'yes'"},
        {6, 5,
         "settings for 'Execution:Runtime/NewLibraryLoaded' must be a mapping (enabled, "
         "severity), found a sequence"},
        {8, 3, "'watch' must be a mapping (capabilities), found a sequence"},
        {10, 3, "'sensitive_files' must be a string or a list of strings, found a mapping"},
        {12, 3, "'allow' must be a list of rules, found a mapping"},
    };
    check_errors("err_wrong_type.yaml", exp, 5);
}

static void test_wrong_types_in_rules(void **state)
{
    static const struct expect exp[] = {
        {2, 5, "an allow rule must be a mapping (name, reason, conditions), found a string"},
        {3, 11, "'name' must be a string, found a sequence"},
        {8, 7, "'reason' must be a string, found a mapping"},
        {10, 9, "'image' must be a string, found a mapping"},
    };
    check_errors("err_wrong_type_rule.yaml", exp, 4);
}

static void test_severity_range(void **state)
{
    static const struct expect exp[] = {
        {3, 15, "severity 11 is out of range (1.0 to 10.0)"},
        {5, 15, "severity 0.5 is out of range (1.0 to 10.0)"},
        {7, 15,
         "invalid severity 'Severe' (a number from 1.0 to 10.0, or Low, Medium, High, "
         "Critical)"},
        {9, 15, "invalid severity '.nan'"},
    };
    check_errors("err_severity.yaml", exp, 4);
}

static void test_rule_names_and_reasons(void **state)
{
    static const struct expect exp[] = {
        {2, 5, "allow rule 'one' has no 'reason'"},
        {4, 5, "allow rule has no 'name'"},
        {9, 11, "duplicate allow rule name 'dup' (first used at line 6)"},
        {13, 13, "'reason' is empty"},
        {15, 5, "allow rule 'no-conditions' has no conditions and would suppress everything"},
    };
    check_errors("err_rules.yaml", exp, 5);
}

static void test_capabilities_and_namespaces(void **state)
{
    static const struct expect exp[] = {
        {4, 7, "unknown capability 'CAP_SYS_ADMINN'"},
        {8, 17, "unknown capability 'CAP_FOO'"},
        {9, 21, "unknown namespace kind 'network' (mnt, pid, net, ipc, uts, user, cgroup, time)"},
        {10, 5, "'task_revision' needs 'task_family' in the same rule"},
    };
    check_errors("err_caps.yaml", exp, 4);
}

static void test_alias_refused(void **state)
{
    static const struct expect exp[] = {
        {6, 9, "aliases (*ecs) are not supported; write the value out"},
    };
    check_errors("err_alias.yaml", exp, 1);
}

static void test_invalid_utf8(void **state)
{
    static const struct expect exp[] = {
        {4, 15, "invalid input: invalid leading UTF-8 octet"},
    };
    check_errors("err_binary.yaml", exp, 1);
}

static void check_text_error(const char *text, size_t len, unsigned line, unsigned column,
                             const char *message)
{
    struct eg_policy_errors errs;
    struct eg_policy *p = eg_policy_load_buffer("test.yaml", text, len, &errs);
    assert_null(p);
    if (errs.count == 0 || errs.items[0].line != line || errs.items[0].column != column ||
        !strstr(errs.items[0].message, message))
        print_errors("text", &errs);
    assert_true(errs.count >= 1);
    assert_int_equal(errs.items[0].line, line);
    assert_int_equal(errs.items[0].column, column);
    assert_non_null(strstr(errs.items[0].message, message));
}

static void test_document_shape(void **state)
{
    const char *t;
    t = "- a\n- b\n";
    check_text_error(t, strlen(t), 1, 1, "a policy must be a mapping of sections");
    t = "version: 1\n---\nversion: 1\n";
    check_text_error(t, strlen(t), 2, 1, "a second YAML document");
    t = "version: 2\n";
    check_text_error(t, strlen(t), 1, 10, "unsupported policy version '2'");
    t = "findings:\n  \"Impact:Runtime/HostProcessSignaled\": {enabled: \"false\"}\n";
    check_text_error(
        t, strlen(t), 2, 51,
        "'enabled' must be true or false, found the string 'false' (remove the quotes)");
    t = "version: 1\nversion: 1\n";
    check_text_error(t, strlen(t), 2, 1, "duplicate key 'version' at the top level");
    t = "allow: !!seq []\n";
    check_text_error(t, strlen(t), 1, 8, "tags are not supported");
    t = "{[a]: b}\n";
    check_text_error(t, strlen(t), 1, 2, "keys at the top level must be strings, found a sequence");
    t = "findings:\n  \"Impact:Runtime/HostProcessSignaled\": {}\n"
        "  \"Impact:Runtime/HostProcessSignaled\": {}\n";
    check_text_error(t, strlen(t), 3, 3,
                     "finding type 'Impact:Runtime/HostProcessSignaled' is "
                     "configured twice");
}

static void test_hostile_bytes(void **state)
{
    /* A NUL inside a quoted string would truncate the pattern silently. */
    static const char nul[] = "allow:\n  - {name: a, reason: b, image: \"x\\0y\"}\n";
    check_text_error(nul, sizeof(nul) - 1, 2, 33, "'image' contains a NUL byte");

    /* Raw control bytes and binary garbage. */
    static const char bin[] = "\x01\x02\x03\x80\xff\x00garbage";
    check_text_error(bin, sizeof(bin) - 1, 1, 1, "invalid input: control characters");

    /* Nesting is bounded well before libyaml's or our stack could suffer. */
    size_t n = 100000;
    char *deep = malloc(n + 1);
    assert_non_null(deep);
    memset(deep, '[', n);
    deep[n] = '\0';
    check_text_error(deep, n, 1, 33, "nested deeper than 32 levels");
    free(deep);

    /* Input over 4 MiB is refused before parsing. */
    size_t big = (4u << 20) + 1;
    char *huge = malloc(big);
    assert_non_null(huge);
    memset(huge, '#', big);
    check_text_error(huge, big, 1, 1, "policy is larger than 4194304 bytes");
    free(huge);

    /* So is a document with more values than any real policy. */
    size_t items = 100001, len = 0;
    char *wide = malloc(items * 2 + 16);
    assert_non_null(wide);
    len += (size_t)sprintf(wide, "x: [");
    for (size_t i = 0; i < items; i++) {
        wide[len++] = '1';
        wide[len++] = ',';
    }
    wide[len++] = ']';
    struct eg_policy_errors errs;
    assert_null(eg_policy_load_buffer("wide", wide, len, &errs));
    assert_int_equal(errs.total, 1);
    assert_non_null(strstr(errs.items[0].message, "too many values"));
    free(wide);
}

/* Lists as long as the value limit allows load in linear time (ctest's timeout guards). */
static void test_long_lists_load(void **state)
{
    size_t items = 45000, len = 0;
    char *text = malloc(items * 24 + 256);
    assert_non_null(text);
    len += (size_t)sprintf(text + len, "sensitive_files: [");
    for (size_t i = 0; i < items; i++)
        len += (size_t)sprintf(text + len, "/f/%zu,", i);
    len += (size_t)sprintf(text + len, "]\nallow:\n  - {name: a, reason: b, task_family: f, "
                                       "task_revision: [");
    for (size_t i = 1; i <= items; i++)
        len += (size_t)sprintf(text + len, "%zu,", i);
    len += (size_t)sprintf(text + len, "]}\n");
    struct eg_policy_errors errs;
    struct eg_policy *p = eg_policy_load_buffer("long", text, len, &errs);
    free(text);
    assert_non_null(p);
    const char *const *files = eg_policy_sensitive_files(p);
    assert_string_equal(files[items - 1], "/f/44999");
    assert_null(files[items]);
    assert_true(eg_policy_is_sensitive_file(p, "/f/44999"));
    struct eg_policy_subject s = {.finding_type = "Impact:Runtime/HostProcessSignaled",
                                  .task_family = "f",
                                  .task_revision = "45000"};
    struct eg_policy_verdict v;
    eg_policy_evaluate(p, &s, 5.0, &v);
    assert_false(v.report);
    eg_policy_free(p);
}

static void test_error_overflow_is_counted(void **state)
{
    /* 100 unknown keys: 64 stored, all counted. */
    char text[4096];
    size_t len = 0;
    for (int i = 0; i < 100; i++)
        len += (size_t)snprintf(text + len, sizeof(text) - len, "k%d: 1\n", i);
    struct eg_policy_errors errs;
    assert_null(eg_policy_load_buffer("many", text, len, &errs));
    assert_int_equal(errs.total, 100);
    assert_int_equal(errs.count, 64);
    assert_int_equal(errs.items[63].line, 64);
}

static void test_missing_file(void **state)
{
    struct eg_policy_errors errs;
    assert_null(eg_policy_load_file(fixture("does-not-exist.yaml"), &errs));
    assert_int_equal(errs.total, 1);
    assert_int_equal(errs.items[0].line, 0);
    assert_string_equal(errs.items[0].message, "cannot open: No such file or directory");

    assert_null(eg_policy_load_file(getenv("ECSGUARD_FIXTURES"), &errs));
    assert_int_equal(errs.total, 1);
    assert_string_equal(errs.items[0].message, "cannot read: Is a directory");

    /* No error sink is fine too. */
    assert_null(eg_policy_load_file(fixture("err_rules.yaml"), NULL));
}

static void test_severity_labels_and_numbers(void **state)
{
    static const struct {
        const char *value;
        double severity;
    } cases[] = {{"Low", 2.0}, {"medium", 5.0}, {"HIGH", 8.0},      {"Critical", 9.5}, {"1", 1.0},
                 {"10", 10.0}, {"7.5", 7.5},    {"\"4.25\"", 4.25}, {"1e1", 10.0},     {"+3", 3.0}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[256];
        snprintf(text, sizeof(text),
                 "findings:\n  \"Impact:Runtime/HostProcessSignaled\": {severity: %s}\n",
                 cases[i].value);
        struct eg_policy_errors errs;
        struct eg_policy *p = load_text(text, &errs);
        if (!p)
            print_errors(cases[i].value, &errs);
        assert_non_null(p);
        struct eg_policy_subject s = {.finding_type = "Impact:Runtime/HostProcessSignaled"};
        struct eg_policy_verdict v;
        eg_policy_evaluate(p, &s, 5.0, &v);
        assert_true(v.report);
        assert_true(v.severity == cases[i].severity);
        eg_policy_free(p);
    }
    static const char *const bad[] = {"0x5", "inf", "-1", "10.01", "", "[5]", "1e400"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[256];
        snprintf(text, sizeof(text),
                 "findings:\n  \"Impact:Runtime/HostProcessSignaled\": {severity: %s}\n", bad[i]);
        struct eg_policy_errors errs;
        assert_null(load_text(text, &errs));
        assert_int_equal(errs.total, 1);
        assert_int_equal(errs.items[0].line, 2);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_full),
        cmocka_unit_test(test_empty_documents_are_valid),
        cmocka_unit_test(test_empty_lists_replace_defaults),
        cmocka_unit_test(test_syntax_error),
        cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_unknown_finding_types),
        cmocka_unit_test(test_bad_globs),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_wrong_types_in_rules),
        cmocka_unit_test(test_severity_range),
        cmocka_unit_test(test_rule_names_and_reasons),
        cmocka_unit_test(test_capabilities_and_namespaces),
        cmocka_unit_test(test_alias_refused),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_document_shape),
        cmocka_unit_test(test_hostile_bytes),
        cmocka_unit_test(test_long_lists_load),
        cmocka_unit_test(test_error_overflow_is_counted),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_severity_labels_and_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
