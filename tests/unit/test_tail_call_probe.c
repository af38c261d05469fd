/*
 * agent/kernel/tail_call_probe.c against the running kernel (the unit tests run as root): on
 * x86_64 every kernel the agent supports (5.10+) allows a tail call from a program with
 * subprograms, so a probe that says otherwise there is broken, and the root filesystem
 * concern's open exits would never hand opens to the host-namespace concern. Elsewhere the
 * answer is the kernel's (arm64: 6.0+); either way a refusal carries its reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "agent/kernel/tail_call_probe.h"

static void test_probe_answers_with_a_reason_when_refused(void **state)
{
    (void)state;
    char why[160] = "";
    bool allowed = eg_probe_subprog_tail_calls(why, sizeof(why));
#if defined(__x86_64__)
    assert_true(allowed);
#endif
    if (!allowed)
        assert_true(strlen(why) > 0);
}

static void test_probe_is_repeatable(void **state)
{
    (void)state;
    char a[160] = "", b[160] = "";
    /* It creates and closes its own map and program each time: nothing left to collide. */
    assert_int_equal(eg_probe_subprog_tail_calls(a, sizeof(a)),
                     eg_probe_subprog_tail_calls(b, sizeof(b)));
    assert_string_equal(a, b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe_answers_with_a_reason_when_refused),
        cmocka_unit_test(test_probe_is_repeatable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
