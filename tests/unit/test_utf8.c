/* policy/utf8.c: strictly well-formed UTF-8 (RFC 3629). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "policy/utf8.h"

static bool valid(const char *s)
{
    return eg_utf8_valid(s, strlen(s));
}

static void test_well_formed(void **state)
{
    (void)state;
    assert_true(valid(""));
    assert_true(valid("/etc/app.conf"));
    assert_true(valid("caf\xc3\xa9"));      /* U+00E9 */
    assert_true(valid("\xe2\x82\xac"));     /* U+20AC */
    assert_true(valid("\xef\xbf\xbd"));     /* U+FFFD */
    assert_true(valid("\xf0\x9f\x98\x80")); /* U+1F600 */
    assert_true(valid("\xf4\x8f\xbf\xbf")); /* U+10FFFF, the last */
    assert_true(eg_utf8_valid("a\0b", 3));  /* NUL is the caller's business */
}

static void test_ill_formed(void **state)
{
    (void)state;
    assert_false(valid("\xc1\xae"));                /* overlong '.' */
    assert_false(valid("\xc0\xaf"));                /* overlong '/' */
    assert_false(valid("\xe0\x80\xaf"));            /* overlong, three bytes */
    assert_false(valid("\xf0\x80\x80\xaf"));        /* overlong, four bytes */
    assert_false(valid("\xed\xa0\x80"));            /* U+D800, a surrogate */
    assert_false(valid("\xf4\x90\x80\x80"));        /* above U+10FFFF */
    assert_false(valid("\xf5\x80\x80\x80"));        /* no such lead byte */
    assert_false(valid("\x80"));                    /* a continuation first */
    assert_false(valid("\xc3"));                    /* cut short */
    assert_false(eg_utf8_valid("\xe2\x82\xac", 2)); /* cut by the length */
    assert_false(valid("\xc3\x28"));                /* a non-continuation second byte */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_well_formed),
        cmocka_unit_test(test_ill_formed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
