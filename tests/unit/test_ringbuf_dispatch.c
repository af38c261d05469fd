/* The reader validates every record before a handler sees it; bad ones are counted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "collectors/ringbuf_reader.h"

static int calls;
static uint32_t last_tgid;

static void on_cap(void *ctx, const struct eg_event_header *h, const void *rec, size_t size)
{
    (void)ctx;
    (void)rec;
    assert_int_equal(size, sizeof(struct eg_cap_event));
    calls++;
    last_tgid = h->tgid;
}

static void valid_records_reach_their_handler(void **state)
{
    (void)state;
    struct eg_ringbuf_reader *r = eg_ringbuf_reader_new(-1);
    eg_ringbuf_reader_on(r, EG_EVENT_CAP, on_cap, NULL);
    struct eg_cap_event e;
    memset(&e, 0, sizeof(e));
    e.hdr.kind = EG_EVENT_CAP;
    e.hdr.size = sizeof(e);
    e.hdr.tgid = 77;
    calls = 0;
    eg_ringbuf_dispatch(r, &e, sizeof(e));
    assert_int_equal(calls, 1);
    assert_int_equal(last_tgid, 77);
    eg_ringbuf_reader_free(r);
}

static void malformed_and_unknown_records_are_counted(void **state)
{
    (void)state;
    struct eg_ringbuf_reader *r = eg_ringbuf_reader_new(-1);
    eg_ringbuf_reader_on(r, EG_EVENT_CAP, on_cap, NULL);
    calls = 0;
    unsigned char junk[sizeof(struct eg_cap_event)];
    memset(junk, 0xff, sizeof(junk));
    eg_ringbuf_dispatch(r, junk, 3);            /* shorter than a header */
    eg_ringbuf_dispatch(r, junk, sizeof(junk)); /* kind out of range */
    struct eg_cap_event e;
    memset(&e, 0, sizeof(e));
    e.hdr.kind = EG_EVENT_CAP;
    e.hdr.size = sizeof(e.hdr); /* claims to be a capability event but is too short */
    eg_ringbuf_dispatch(r, &e, sizeof(e));
    e.hdr.size = sizeof(e) + 100; /* claims more than the record holds */
    eg_ringbuf_dispatch(r, &e, sizeof(e));
    e.hdr.size = sizeof(e);
    e.hdr.kind = EG_EVENT_EXIT; /* valid but nobody listens */
    eg_ringbuf_dispatch(r, &e, sizeof(e));
    assert_int_equal(calls, 0);
    struct eg_ringbuf_reader_stats st;
    eg_ringbuf_reader_get_stats(r, &st);
    assert_int_equal(st.records, 5);
    assert_int_equal(st.malformed, 4);
    assert_int_equal(st.unhandled, 1);
    eg_ringbuf_reader_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_records_reach_their_handler),
        cmocka_unit_test(malformed_and_unknown_records_are_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
