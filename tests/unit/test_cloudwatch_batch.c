/* PutLogEvents batching at the exact limits, ordering, body encoding, UTF-8 repair. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "agent/aws/logs_batch.h"

static struct eg_logs_event *events(size_t n, size_t len, const char *msg)
{
    struct eg_logs_event *ev = calloc(n, sizeof(*ev));
    for (size_t i = 0; i < n; i++)
        ev[i] = (struct eg_logs_event){.ts_ms = 1000, .msg = msg, .len = len};
    return ev;
}

static void test_byte_limit_exact(void **state)
{
    /* 4 events whose bytes + 26 each sum to exactly 1,048,576. */
    size_t len = EG_LOGS_MAX_BATCH_BYTES / 4 - EG_LOGS_EVENT_OVERHEAD;
    char *msg = malloc(len + 1);
    memset(msg, 'm', len);
    struct eg_logs_event *ev = events(5, len, msg);
    assert_int_equal(eg_logs_batch_take(ev, 5, 0), 4);
    /* One byte more in any event and only three fit. */
    ev[3].len = len + 1;
    assert_int_equal(eg_logs_batch_take(ev, 5, 0), 3);
    free(ev);
    free(msg);
}

static void test_event_count_limit_exact(void **state)
{
    struct eg_logs_event *ev = events(10001, 1, "x");
    assert_int_equal(eg_logs_batch_take(ev, 10000, 0), 10000);
    assert_int_equal(eg_logs_batch_take(ev, 10001, 0), 10000);
    assert_int_equal(eg_logs_batch_take(ev, 10001, 20000), 10000);
    assert_int_equal(eg_logs_batch_take(ev, 10001, 7), 7);
    assert_int_equal(eg_logs_batch_take(ev, 0, 0), 0);
    free(ev);
}

static void test_span_limit_exact(void **state)
{
    struct eg_logs_event *ev = events(3, 1, "x");
    ev[0].ts_ms = 5000;
    ev[1].ts_ms = 5000 + EG_LOGS_MAX_SPAN_MS; /* exactly 24 h: allowed */
    ev[2].ts_ms = 4999;                       /* widens the span by 1 ms: next batch */
    assert_int_equal(eg_logs_batch_take(ev, 3, 0), 2);
    ev[2].ts_ms = 5001;
    assert_int_equal(eg_logs_batch_take(ev, 3, 0), 3);
    free(ev);
}

static void test_single_max_message_fits(void **state)
{
    char *msg = malloc(EG_LOGS_MAX_MESSAGE);
    memset(msg, 'z', EG_LOGS_MAX_MESSAGE);
    struct eg_logs_event *ev = events(5, EG_LOGS_MAX_MESSAGE, msg);
    /* 262,144 bytes each with overhead: exactly four per call. */
    assert_int_equal(eg_logs_batch_take(ev, 5, 0), 4);
    free(ev);
    free(msg);
}

static void test_sort_is_stable_and_body_valid(void **state)
{
    struct eg_logs_event ev[4] = {
        {3, "c", 1},
        {1, "a1", 2},
        {2, "b", 1},
        {1, "a2\"\n\x01", 5},
    };
    eg_logs_sort_events(ev, 4);
    assert_string_equal(ev[0].msg, "a1");
    assert_int_equal(ev[1].ts_ms, 1);
    assert_int_equal(ev[1].len, 5);
    assert_string_equal(ev[3].msg, "c");
    size_t len = 0;
    char *body = eg_logs_put_body("/ecs/g", "s", ev, 4, &len);
    assert_int_equal(strlen(body), len);
    json_object *o = json_tokener_parse(body), *v, *e, *m;
    assert_non_null(o);
    assert_true(json_object_object_get_ex(o, "logGroupName", &v));
    assert_string_equal(json_object_get_string(v), "/ecs/g");
    assert_true(json_object_object_get_ex(o, "logEvents", &v));
    assert_int_equal(json_object_array_length(v), 4);
    e = json_object_array_get_idx(v, 1);
    assert_true(json_object_object_get_ex(e, "message", &m));
    assert_string_equal(json_object_get_string(m), "a2\"\n\x01");
    json_object_put(o);
    free(body);
}

static void test_utf8_sanitize(void **state)
{
    size_t len;
    char *s = eg_utf8_sanitize("ok \xe2\x82\xac", 6, &len);
    assert_int_equal(len, 6);
    assert_memory_equal(s, "ok \xe2\x82\xac", 6);
    free(s);
    s = eg_utf8_sanitize("a\xff"
                         "b\xed\xa0\x80",
                         6, &len); /* stray byte, UTF-16 surrogate */
    assert_string_equal(s, "a\xef\xbf\xbd"
                           "b\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    assert_int_equal(len, strlen(s));
    free(s);
    s = eg_utf8_sanitize("\xe2\x82", 2, &len); /* truncated sequence at the end */
    assert_string_equal(s, "\xef\xbf\xbd\xef\xbf\xbd");
    free(s);
}

static void test_names(void **state)
{
    assert_true(eg_logs_valid_group("/ecs/ecsguard#1_a.b-c"));
    assert_false(eg_logs_valid_group(""));
    assert_false(eg_logs_valid_group("aws/x"));
    assert_false(eg_logs_valid_group("a b"));
    char long_name[514];
    memset(long_name, 'a', 513);
    long_name[513] = '\0';
    assert_false(eg_logs_valid_group(long_name));
    long_name[512] = '\0';
    assert_true(eg_logs_valid_group(long_name));
    assert_true(eg_logs_valid_stream("i-0123 456"));
    assert_false(eg_logs_valid_stream("a:b"));
    assert_false(eg_logs_valid_stream("a*"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_byte_limit_exact),
        cmocka_unit_test(test_event_count_limit_exact),
        cmocka_unit_test(test_span_limit_exact),
        cmocka_unit_test(test_single_max_message_fits),
        cmocka_unit_test(test_sort_is_stable_and_body_valid),
        cmocka_unit_test(test_utf8_sanitize),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
