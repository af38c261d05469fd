/* The agent's own usage: /proc/<pid>/status parsed in bytes; the live read gives sane values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "agent/common/self_usage.h"

static void status_text_is_parsed_in_bytes(void **state)
{
    (void)state;
    const char *text = "Name:\tecsguard\nVmPeak:\t  300000 kB\nVmHWM:\t   51200 kB\n"
                       "VmRSS:\t   40960 kB\nThreads:\t3\nSigQ:\t0/1\n";
    struct eg_self_usage u = {0};
    assert_true(eg_self_usage_parse_status(text, &u));
    assert_int_equal(u.rss_bytes, 40960ULL * 1024);
    assert_int_equal(u.peak_rss_bytes, 51200ULL * 1024);
    assert_int_equal(u.threads, 3);
}

static void missing_or_malformed_lines_are_refused(void **state)
{
    (void)state;
    struct eg_self_usage u = {0};
    assert_false(eg_self_usage_parse_status("VmRSS:\t1 kB\nThreads:\t1\n", &u)); /* no VmHWM */
    assert_false(eg_self_usage_parse_status("VmHWM:\tx kB\nVmRSS:\t1 kB\nThreads:\t1\n", &u));
    /* A key that only starts like the wanted one is not it. */
    assert_false(eg_self_usage_parse_status("VmRSSx:\t1 kB\nVmHWM:\t1 kB\nThreads:\t1\n", &u));
    assert_false(eg_self_usage_parse_status("", &u));
}

static void the_running_process_reads_itself(void **state)
{
    (void)state;
    struct eg_self_usage u = {0};
    char *block = malloc(8 << 20);
    assert_non_null(block);
    memset(block, 1, 8 << 20); /* resident now */
    assert_true(eg_self_usage_read(&u));
    assert_true(u.rss_bytes >= (8u << 20));
    assert_true(u.peak_rss_bytes >= u.rss_bytes);
    assert_true(u.threads >= 1);
    assert_true(u.cpu_ns > 0);
    free(block);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(status_text_is_parsed_in_bytes),
        cmocka_unit_test(missing_or_malformed_lines_are_refused),
        cmocka_unit_test(the_running_process_reads_itself),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
