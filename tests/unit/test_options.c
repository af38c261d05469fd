/* `ecsguard run` options: defaults, validation, clear errors with exit status 2. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "agent/commands/options.h"

static int parse(struct eg_run_options *o, int argc, const char **argv)
{
    return eg_run_options_parse(argc, (char **)argv, o);
}

static void defaults(void **state)
{
    (void)state;
    struct eg_run_options o;
    const char *argv[] = {"run"};
    assert_int_equal(parse(&o, 1, argv), 0);
    assert_string_equal(o.introspection_url, "http://localhost:51678");
    assert_int_equal(o.n_outputs, 1);
    assert_string_equal(o.outputs[0], "stdout");
    assert_int_equal(o.watched_caps, 0); /* from the policy */
    assert_int_equal(o.health_interval_s, 60);
    assert_false(o.probe_read_file_fields); /* bpf_rdonly_cast where the kernel has it */
}

static void values_are_parsed(void **state)
{
    (void)state;
    struct eg_run_options o;
    const char *argv[] = {"run",
                          "--introspection-url",
                          "http://127.0.0.1:9",
                          "--ready-file",
                          "/tmp/r",
                          "--watch-caps",
                          "CAP_SYS_ADMIN,net_admin,BPF",
                          "--output",
                          "stdout",
                          "--output",
                          "cloudwatch:/ecsguard/findings",
                          "--report-interval",
                          "0",
                          "--bpf-file-reads",
                          "probe-read"};
    assert_int_equal(parse(&o, 15, argv), 0);
    assert_true(o.probe_read_file_fields);
    assert_string_equal(o.introspection_url, "http://127.0.0.1:9");
    assert_string_equal(o.ready_file, "/tmp/r");
    assert_int_equal(o.watched_caps, (1ULL << 21) | (1ULL << 12) | (1ULL << 39));
    assert_int_equal(o.n_outputs, 2);
    assert_int_equal(o.report_interval_s, 0);
}

static void bad_input_is_a_usage_error(void **state)
{
    (void)state;
    struct eg_run_options o;
    const char *unknown[] = {"run", "--frobnicate"};
    assert_int_equal(parse(&o, 2, unknown), 2);
    const char *missing[] = {"run", "--ready-file"};
    assert_int_equal(parse(&o, 2, missing), 2);
    const char *bad_num[] = {"run", "--health-interval", "-5"};
    assert_int_equal(parse(&o, 3, bad_num), 2);
    const char *junk_num[] = {"run", "--report-interval", "5s"};
    assert_int_equal(parse(&o, 3, junk_num), 2);
    const char *bad_cap[] = {"run", "--watch-caps", "CAP_SYS_ADMIN,CAP_WIZARD"};
    assert_int_equal(parse(&o, 3, bad_cap), 2);
    const char *bad_url[] = {"run", "--introspection-url", "localhost:51678"};
    assert_int_equal(parse(&o, 3, bad_url), 2);
    const char *bad_out[] = {"run", "--output", "syslog"};
    assert_int_equal(parse(&o, 3, bad_out), 2);
    const char *bad_reads[] = {"run", "--bpf-file-reads", "fast"};
    assert_int_equal(parse(&o, 3, bad_reads), 2);
    const char *extra[] = {"run", "now"};
    assert_int_equal(parse(&o, 2, extra), 2);
    const char *help[] = {"run", "--help"};
    assert_int_equal(parse(&o, 2, help), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),
        cmocka_unit_test(values_are_parsed),
        cmocka_unit_test(bad_input_is_a_usage_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
