/* `ecsguard policy check FILE`: exit codes and what it prints where. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "policy/policy.h"

struct run {
    int status;
    char out[65536];
    char err[65536];
};

static void slurp(FILE *f, char *buf, size_t len)
{
    rewind(f);
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* Run the command with stdout and stderr captured in temporary files. */
static struct run run_check(int argc, const char *const *args)
{
    static struct run r;
    char *argv[8];
    for (int i = 0; i < argc; i++)
        argv[i] = (char *)args[i];
    argv[argc] = NULL;

    FILE *out = tmpfile(), *err = tmpfile();
    assert_non_null(out);
    assert_non_null(err);
    fflush(stdout);
    fflush(stderr);
    int saved_out = dup(STDOUT_FILENO), saved_err = dup(STDERR_FILENO);
    dup2(fileno(out), STDOUT_FILENO);
    dup2(fileno(err), STDERR_FILENO);
    r.status = eg_policy_check_main(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, STDOUT_FILENO);
    dup2(saved_err, STDERR_FILENO);
    close(saved_out);
    close(saved_err);
    slurp(out, r.out, sizeof(r.out));
    slurp(err, r.err, sizeof(r.err));
    return r;
}

static const char *fixture(const char *name)
{
    static char path[4096];
    snprintf(path, sizeof(path), "%s/policy/%s", getenv("ECSGUARD_FIXTURES"), name);
    return path;
}

static void test_valid(void **state)
{
    const char *path = fixture("valid_full.yaml");
    struct run r = run_check(2, (const char *const[]){"check", path});
    assert_int_equal(r.status, 0);
    char want[8192];
    snprintf(want, sizeof(want),
             "%s: valid: 26 of 27 finding types enabled, 2 severity overrides, 4 allow rules, 4 "
             "watched capabilities, 3 sensitive file patterns\n",
             path);
    assert_string_equal(r.out, want);
    assert_string_equal(r.err, "");
}

static void test_invalid_lists_every_problem(void **state)
{
    const char *path = fixture("err_rules.yaml");
    struct run r = run_check(2, (const char *const[]){"check", path});
    assert_int_equal(r.status, 1);
    assert_string_equal(r.out, "");
    /* One FILE:LINE:COLUMN: message line per problem, in file order. */
    static const char *const lines[] = {
        ":2:5: allow rule 'one' has no 'reason'",
        ":4:5: allow rule has no 'name'",
        ":9:11: duplicate allow rule name 'dup' (first used at line 6)",
        ":13:13: 'reason' is empty",
        ":15:5: allow rule 'no-conditions' has no conditions",
    };
    const char *p = r.err;
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        assert_memory_equal(p, path, strlen(path));
        p += strlen(path);
        assert_memory_equal(p, lines[i], strlen(lines[i]));
        p = strchr(p, '\n');
        assert_non_null(p);
        p++;
    }
    assert_string_equal(p, "");
}

static void test_unreadable_file(void **state)
{
    struct run r = run_check(2, (const char *const[]){"check", "/nonexistent/policy.yaml"});
    assert_int_equal(r.status, 1);
    assert_string_equal(r.err,
                        "/nonexistent/policy.yaml: cannot open: No such file or directory\n");
}

static void test_truncated_error_list(void **state)
{
    char path[] = "/tmp/ecsguard-policy-check-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    for (int i = 0; i < 70; i++)
        fprintf(f, "k%d: 1\n", i);
    fclose(f);
    struct run r = run_check(2, (const char *const[]){"check", path});
    unlink(path);
    assert_int_equal(r.status, 1);
    char want[128];
    snprintf(want, sizeof(want), "%s: 6 more problems not shown\n", path);
    assert_non_null(strstr(r.err, want));
}

static void test_usage(void **state)
{
    struct run r = run_check(2, (const char *const[]){"check", "--help"});
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "usage: ecsguard policy check FILE"));
    assert_string_equal(r.err, "");

    r = run_check(1, (const char *const[]){"check"});
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "missing the policy FILE"));
    assert_string_equal(r.out, "");

    r = run_check(3, (const char *const[]){"check", "a.yaml", "b.yaml"});
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "expected exactly one FILE"));

    r = run_check(2, (const char *const[]){"lint", "a.yaml"});
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "unknown command 'lint'"));

    r = run_check(0, (const char *const[]){NULL});
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "usage:"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),           cmocka_unit_test(test_invalid_lists_every_problem),
        cmocka_unit_test(test_unreadable_file), cmocka_unit_test(test_truncated_error_list),
        cmocka_unit_test(test_usage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
