/* The per-concern report of hook attempts (ecsguard probe, start-up warnings). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "agent/kernel/bpf_loader.h"

/* Lines past the report's capacity replace its last one: the last line is always the newest,
 * the attempt that decided (on arm64 6.1 the root filesystem concern's tracepoint groups came
 * after 11 lines of function groups and the fallback, and were lost). */
static void the_last_line_is_the_newest_attempt(void **state)
{
    (void)state;
    struct eg_hook_report r = {.hook = "rootfsWrites"};
    char attach[32];
    for (int i = 0; i < EG_HOOK_ATTEMPTS + 5; i++) {
        snprintf(attach, sizeof(attach), "group/%d", i);
        eg_bpf_hook_attempt(&r, attach, i == EG_HOOK_ATTEMPTS + 4 ? "ok" : "0 of 1 attached");
    }
    assert_int_equal(r.n_attempts, EG_HOOK_ATTEMPTS);
    assert_string_equal(r.attempts[0].attach, "group/0");
    snprintf(attach, sizeof(attach), "group/%d", EG_HOOK_ATTEMPTS - 2);
    assert_string_equal(r.attempts[EG_HOOK_ATTEMPTS - 2].attach, attach);
    snprintf(attach, sizeof(attach), "group/%d", EG_HOOK_ATTEMPTS + 4);
    assert_string_equal(r.attempts[EG_HOOK_ATTEMPTS - 1].attach, attach);
    assert_string_equal(r.attempts[EG_HOOK_ATTEMPTS - 1].result, "ok");
}

/* Room for the longest path the root filesystem concern reports (bpf_loader.h): arm64 6.1's
 * fallback from function programs that load but do not attach, 13 lines there. */
static void the_arm64_fallback_fits(void **state)
{
    (void)state;
    assert_true(EG_HOOK_ATTEMPTS >= 16);
    struct eg_hook_report r = {.hook = "rootfsWrites"};
    for (int i = 0; i < 13; i++)
        eg_bpf_hook_attempt(&r, "group", i == 12 ? "ok" : "0 of 1 attached");
    assert_int_equal(r.n_attempts, 13);
    assert_string_equal(r.attempts[12].result, "ok");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_last_line_is_the_newest_attempt),
        cmocka_unit_test(the_arm64_fallback_fits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
