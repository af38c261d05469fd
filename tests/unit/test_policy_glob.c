/* The policy's pattern matcher: fnmatch(3) semantics, validated up front. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "policy/glob.h"

static bool match(const char *pattern, unsigned flags, const char *s)
{
    struct eg_glob g;
    char err[96];
    assert_int_equal(eg_glob_compile(&g, pattern, strlen(pattern), flags, err, sizeof(err)), 0);
    bool m = eg_glob_match(&g, s);
    eg_glob_free(&g);
    return m;
}

static void test_literals_and_wildcards(void **state)
{
    assert_true(match("nginx", 0, "nginx"));
    assert_false(match("nginx", 0, "nginx2"));
    assert_false(match("nginx", 0, "ngin"));
    assert_true(match("nginx:*", 0, "nginx:1.27"));
    assert_true(match("nginx:*", 0, "nginx:"));
    assert_false(match("nginx:*", 0, "nginx"));
    /* '*' crosses '/': image repositories and nested paths match. */
    assert_true(match("*/amazon-ecs-agent:*", 0, "public.ecr.aws/ecs/amazon-ecs-agent:latest"));
    assert_true(match("/managed-agents/execute-command/*", 0,
                      "/managed-agents/execute-command/bin/3.3/amazon-ssm-agent"));
    assert_true(match("a?c", 0, "abc"));
    assert_false(match("a?c", 0, "ac"));
    assert_true(match("*a*b*c*", 0, "xxaxxbxxcxx"));
    assert_false(match("*a*b*c*", 0, "xxaxxcxxbxx"));
    assert_true(match("**", 0, ""));
    assert_true(match("\\*", 0, "*"));
    assert_false(match("\\*", 0, "x"));
    assert_true(match("a\\?", 0, "a?"));
    assert_false(match("a\\?", 0, "ab"));
}

static void test_brackets(void **state)
{
    assert_true(match("v[0-9]", 0, "v7"));
    assert_false(match("v[0-9]", 0, "vx"));
    assert_true(match("v[!0-9]", 0, "vx"));
    assert_false(match("v[^0-9]", 0, "v3"));
    assert_true(match("[]x]", 0, "]"));
    assert_true(match("[!]x]", 0, "y"));
    assert_true(match("a[-z]", 0, "a-"));
    assert_true(match("a[z-]", 0, "a-"));
    assert_true(match("[[:digit:]][[:upper:]]", 0, "7Q"));
    assert_false(match("[[:digit:]][[:upper:]]", 0, "7q"));
    assert_true(match("x[[:space:][:punct:]]y", 0, "x-y"));
    assert_true(match("[\\]]", 0, "]"));
    /* Bytes above 0x7f compare as bytes, whatever the locale. */
    assert_true(match("caf?", 0, "caf\xc3") && !match("caf?", 0, "caf\xc3\xa9"));
}

static void test_directory_prefix(void **state)
{
    assert_true(match("/etc/sudoers.d/", EG_GLOB_DIR_PREFIX, "/etc/sudoers.d/90-cloud"));
    assert_true(match("/etc/sudoers.d/", EG_GLOB_DIR_PREFIX, "/etc/sudoers.d"));
    assert_true(match("/etc/sudoers.d/", EG_GLOB_DIR_PREFIX, "/etc/sudoers.d/a/b"));
    assert_false(match("/etc/sudoers.d/", EG_GLOB_DIR_PREFIX, "/etc/sudoers.dx"));
    assert_false(match("/etc/sudoers.d/", EG_GLOB_DIR_PREFIX, "/etc/sudoers"));
    assert_true(match("/home/*/.ssh/", EG_GLOB_DIR_PREFIX, "/home/ec2-user/.ssh/authorized_keys"));
    /* Without the flag a trailing '/' is literal. */
    assert_false(match("/etc/sudoers.d/", 0, "/etc/sudoers.d/90-cloud"));
    assert_true(match("/etc/passwd", EG_GLOB_DIR_PREFIX, "/etc/passwd"));
    assert_false(match("/etc/passwd", EG_GLOB_DIR_PREFIX, "/etc/passwd-"));
}

static void test_invalid_patterns(void **state)
{
    static const struct {
        const char *pattern;
        const char *reason;
    } bad[] = {
        {"", "empty pattern"},
        {"nginx:[1.2", "unterminated '['"},
        {"a]", "unbalanced ']'"},
        {"[]", "unterminated '['"},
        {"[!]", "unterminated '['"},
        {"abc\\", "trailing '\\' in pattern"},
        {"[a\\", "trailing '\\' in pattern"},
        {"[z-a]", "empty range 'z-a'"},
        {"[[:nope:]]", "unknown character class '[:nope:]'"},
        {"[[:alpha", "unterminated '[:' character class"},
        /* Found by fuzz_policy: the class name is echoed, so control bytes are masked. */
        {"[[:a\nb:]]", "unknown character class '[:a?b:]'"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct eg_glob g;
        char err[96] = "";
        int rc = eg_glob_compile(&g, bad[i].pattern, strlen(bad[i].pattern), 0, err, sizeof(err));
        if (rc == 0 || strcmp(err, bad[i].reason) != 0)
            fprintf(stderr, "pattern '%s': rc %d, '%s'\n", bad[i].pattern, rc, err);
        assert_int_equal(rc, -1);
        assert_string_equal(err, bad[i].reason);
        assert_null(g.text);
    }
    struct eg_glob g;
    char err[96];
    assert_int_equal(eg_glob_compile(&g, "a\0b", 3, 0, err, sizeof(err)), -1);
    assert_string_equal(err, "pattern contains a NUL byte");
}

/* Differential check against the C library on patterns both accept. */
static void test_agrees_with_fnmatch(void **state)
{
    static const char *const patterns[] = {
        "*",      "a*",     "*a",    "a*b",         "*a*b*",   "?",   "a?b",   "[ab]*",
        "[!ab]?", "*[0-9]", "a\\*b", "*/*",         "x[a-c]y", "**b", "a*a*a", "*[[:digit:]]*",
        "[]a]*",  "[a-]",   "*.so*", "/usr/*/lib*",
    };
    static const char *const subjects[] = {
        "",         "a",    "b",   "ab",        "aab",
        "ba",       "abc",  "a*b", "axb",       "a/b",
        "x/y/z",    "xby",  "xdy", "]",         "-",
        "aaa",      "aaab", "1",   "libc.so.6", "/usr/local/lib64",
        "/usr/lib", "9a",   "c1d",
    };
    for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++)
        for (size_t j = 0; j < sizeof(subjects) / sizeof(subjects[0]); j++) {
            bool want = fnmatch(patterns[i], subjects[j], 0) == 0;
            bool got = match(patterns[i], 0, subjects[j]);
            if (want != got)
                fprintf(stderr, "'%s' vs '%s': fnmatch %d, ours %d\n", patterns[i], subjects[j],
                        want, got);
            assert_true(want == got);
        }
}

static void test_worst_case_is_bounded(void **state)
{
    /* Classic exponential case for recursive matchers: linear backtracking here. */
    char subject[4097];
    memset(subject, 'a', sizeof(subject) - 1);
    subject[sizeof(subject) - 1] = '\0';
    assert_false(match("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", 0, subject));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literals_and_wildcards), cmocka_unit_test(test_brackets),
        cmocka_unit_test(test_directory_prefix),       cmocka_unit_test(test_invalid_patterns),
        cmocka_unit_test(test_agrees_with_fnmatch),    cmocka_unit_test(test_worst_case_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
