/*
 * The reader validates every record before a handler sees it; bad ones are counted. A
 * subscription the reader cannot take is refused, and the agent's subscribers (core tables,
 * every detector) report which kind it was, so start-up fails instead of running deaf.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <linux/bpf.h>

#include "agent/detectors/detector.h"
#include "agent/kernel/bpf_loader.h"
#include "agent/pipeline/core_handlers.h"
#include "collectors/ringbuf_reader.h"
#include "policy/policy.h"

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

/* A ring as the kernel lays it out: 8-byte headers, records 8-byte aligned, positions unbounded. */
#define RING_SIZE 4096

static uint8_t ring[RING_SIZE];
static uint64_t ring_prod;
static uint32_t seen_tgids[16];
static int n_seen;

static void on_any(void *ctx, const struct eg_event_header *h, const void *rec, size_t size)
{
    (void)ctx;
    (void)rec;
    assert_int_equal(size, h->size);
    if (n_seen < 16)
        seen_tgids[n_seen++] = h->tgid;
}

/* Append a capability record for `tgid` with header word flags; returns its position. */
static uint64_t ring_put(uint32_t tgid, uint32_t flags)
{
    struct eg_cap_event e;
    memset(&e, 0, sizeof(e));
    e.hdr.kind = EG_EVENT_CAP;
    e.hdr.size = sizeof(e);
    e.hdr.tgid = tgid;
    uint64_t pos = ring_prod;
    uint32_t hdr[2] = {(uint32_t)sizeof(e) | flags, 0};
    memcpy(ring + (pos & (RING_SIZE - 1)), hdr, sizeof(hdr));
    const uint8_t *src = (const uint8_t *)&e;
    for (size_t i = 0; i < sizeof(e); i++)
        ring[(pos + 8 + i) & (RING_SIZE - 1)] = src[i];
    ring_prod += (sizeof(e) + 8 + 7) & ~(size_t)7;
    return pos;
}

static void the_ring_is_consumed_in_order_across_the_wrap(void **state)
{
    (void)state;
    struct eg_ringbuf_reader *r = eg_ringbuf_reader_new(-1);
    eg_ringbuf_reader_on(r, EG_EVENT_CAP, on_any, NULL);
    /* Start near the end so that records wrap; positions keep growing past the size. */
    uint64_t cons = 3 * RING_SIZE - 2 * sizeof(struct eg_cap_event);
    ring_prod = cons;
    memset(ring, 0xee, sizeof(ring));
    n_seen = 0;
    ring_put(1, 0);
    ring_put(2, 0); /* wraps past the end of the data pages */
    ring_put(3, BPF_RINGBUF_DISCARD_BIT);
    ring_put(4, 0);
    uint64_t busy = ring_put(5, BPF_RINGBUF_BUSY_BIT);
    ring_put(6, 0); /* committed, but behind an uncommitted record */
    assert_int_equal(eg_ringbuf_consume(r, &cons, &ring_prod, ring, RING_SIZE), 3);
    assert_int_equal(n_seen, 3);
    assert_int_equal(seen_tgids[0], 1);
    assert_int_equal(seen_tgids[1], 2);
    assert_int_equal(seen_tgids[2], 4);
    assert_int_equal(cons, busy); /* stopped at the busy record, nothing after it taken */

    /* Once committed, the rest follows. */
    uint32_t word = (uint32_t)sizeof(struct eg_cap_event);
    memcpy(ring + (busy & (RING_SIZE - 1)), &word, sizeof(word));
    assert_int_equal(eg_ringbuf_consume(r, &cons, &ring_prod, ring, RING_SIZE), 2);
    assert_int_equal(n_seen, 5);
    assert_int_equal(seen_tgids[3], 5);
    assert_int_equal(seen_tgids[4], 6);
    assert_int_equal(cons, ring_prod);
    assert_int_equal(eg_ringbuf_consume(r, &cons, &ring_prod, ring, RING_SIZE), 0);

    struct eg_ringbuf_reader_stats st;
    eg_ringbuf_reader_get_stats(r, &st);
    assert_int_equal(st.records, 5);
    assert_int_equal(st.malformed, 0);
    eg_ringbuf_reader_free(r);
}

static void a_corrupt_header_is_skipped_and_counted_not_a_stall(void **state)
{
    (void)state;
    struct eg_ringbuf_reader *r = eg_ringbuf_reader_new(-1);
    eg_ringbuf_reader_on(r, EG_EVENT_CAP, on_any, NULL);
    uint64_t cons = 0;
    ring_prod = 0;
    memset(ring, 0, sizeof(ring));
    n_seen = 0;
    ring_put(1, 0);
    uint64_t bad = ring_put(2, 0);
    ring_put(3, 0);
    /* A length no record can have: larger than the ring. */
    uint32_t word = RING_SIZE;
    memcpy(ring + (bad & (RING_SIZE - 1)), &word, sizeof(word));
    uint64_t written = ring_prod;
    assert_int_equal(eg_ringbuf_consume(r, &cons, &ring_prod, ring, RING_SIZE), 1);
    assert_int_equal(cons, written); /* not stuck on the bad header */
    struct eg_ringbuf_reader_stats st;
    eg_ringbuf_reader_get_stats(r, &st);
    assert_int_equal(st.corrupt_headers, 1);
    assert_int_equal(st.corrupt_bytes_skipped, written - bad);

    /* Records written after it are read again. */
    ring_put(4, 0);
    assert_int_equal(eg_ringbuf_consume(r, &cons, &ring_prod, ring, RING_SIZE), 1);
    assert_int_equal(n_seen, 2);
    assert_int_equal(seen_tgids[0], 1);
    assert_int_equal(seen_tgids[1], 4);
    eg_ringbuf_reader_free(r);
}

/* A header whose length fits the ring but ends past the producer (no kernel writes one). */
static void a_length_past_the_producer_is_corrupt_not_followed(void **state)
{
    (void)state;
    struct eg_ringbuf_reader *r = eg_ringbuf_reader_new(-1);
    eg_ringbuf_reader_on(r, EG_EVENT_CAP, on_any, NULL);
    uint64_t cons = 0;
    ring_prod = 0;
    memset(ring, 0, sizeof(ring));
    n_seen = 0;
    ring_put(1, 0);
    uint64_t bad = ring_put(2, 0);
    uint32_t word = 1024; /* less than the ring, more than was written */
    memcpy(ring + (bad & (RING_SIZE - 1)), &word, sizeof(word));
    uint64_t written = ring_prod;
    assert_int_equal(eg_ringbuf_consume(r, &cons, &ring_prod, ring, RING_SIZE), 1);
    /* Following it would put the consumer ahead of the producer: the kernel then sees a full
     * ring and refuses every record from then on. */
    assert_int_equal(cons, written);
    struct eg_ringbuf_reader_stats st;
    eg_ringbuf_reader_get_stats(r, &st);
    assert_int_equal(st.corrupt_headers, 1);
    assert_int_equal(st.corrupt_bytes_skipped, written - bad);
    eg_ringbuf_reader_free(r);
}

static void on_nothing(void *ctx, const struct eg_event_header *h, const void *rec, size_t size)
{
    (void)ctx;
    (void)h;
    (void)rec;
    (void)size;
}

/* Take every handler slot of `kind`. */
static void fill_kind(struct eg_ringbuf_reader *r, uint32_t kind)
{
    for (int i = 0; i < EG_HANDLERS_PER_KIND; i++)
        assert_int_equal(eg_ringbuf_reader_on(r, kind, on_nothing, NULL), 0);
}

static void a_full_kind_or_an_unknown_kind_refuses_a_handler(void **state)
{
    (void)state;
    struct eg_ringbuf_reader *r = eg_ringbuf_reader_new(-1);
    for (int i = 0; i < EG_HANDLERS_PER_KIND - 1; i++)
        assert_int_equal(eg_ringbuf_reader_on(r, EG_EVENT_CAP, on_nothing, NULL), 0);
    assert_int_equal(eg_ringbuf_reader_on(r, EG_EVENT_CAP, on_cap, NULL), 0);
    assert_int_equal(eg_ringbuf_reader_on(r, EG_EVENT_CAP, on_cap, NULL), -1);
    assert_int_equal(eg_ringbuf_reader_on(r, EG_KIND_SLOTS, on_cap, NULL), -1);
    /* The refused handler is not called; the ones taken still are. */
    struct eg_cap_event e;
    memset(&e, 0, sizeof(e));
    e.hdr.kind = EG_EVENT_CAP;
    e.hdr.size = sizeof(e);
    calls = 0;
    eg_ringbuf_dispatch(r, &e, sizeof(e));
    assert_int_equal(calls, 1);
    eg_ringbuf_reader_free(r);
}

static void the_core_tables_report_the_kind_they_could_not_subscribe(void **state)
{
    (void)state;
    struct eg_core_tables t = {0}; /* no record is dispatched: the tables are never touched */
    struct eg_ringbuf_reader *r = eg_ringbuf_reader_new(-1);
    assert_int_equal(eg_core_subscribe(&t, r), 0);
    eg_ringbuf_reader_free(r);

    uint32_t kinds[] = {EG_EVENT_CGROUP_MKDIR, EG_EVENT_CGROUP_RMDIR, EG_EVENT_EXEC, EG_EVENT_FORK,
                        EG_EVENT_EXIT};
    for (unsigned i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        r = eg_ringbuf_reader_new(-1);
        fill_kind(r, kinds[i]);
        assert_int_equal(eg_core_subscribe(&t, r), (int)kinds[i]);
        eg_ringbuf_reader_free(r);
    }
}

/* Every detector, built as the agent builds it without kernel programs (the benchmark's way). */
static void every_detector_reports_the_kind_it_could_not_subscribe(void **state)
{
    (void)state;
    struct eg_container_table *containers = eg_container_table_new(-1);
    struct eg_proc_table *procs = eg_proc_table_new();
    struct eg_aggregator_config ac = {.window_ms = 60000, .interval_ms = 1000, .max_findings = 64};
    struct eg_aggregator *findings = eg_aggregator_new(&ac);
    struct eg_policy *policy = eg_policy_default();
    /* No kernel maps: a zeroed eg_detector_kernel has none. */
    struct eg_detector_env env = {.findings = findings, .procs = procs, .containers = containers};
    int n = 0;
    for (int i = 0; eg_detectors[i]; i++, n++) {
        const struct eg_detector_ops *ops = eg_detectors[i];
        void *d = ops->create(&env);
        assert_non_null(d);
        struct eg_ringbuf_reader *r = eg_ringbuf_reader_new(-1);
        assert_int_equal(ops->subscribe(d, r), 0);
        eg_ringbuf_reader_free(r);
        /* With every kind full, the first kind it asks for is refused and named. */
        r = eg_ringbuf_reader_new(-1);
        for (uint32_t k = 1; k < EG_KIND_SLOTS; k++)
            fill_kind(r, k);
        int kind = ops->subscribe(d, r);
        assert_in_range(kind, 1, EG_EVENT_KIND_COUNT - 1);
        eg_ringbuf_reader_free(r);
        ops->destroy(d);
    }
    assert_true(n > 0);
    eg_policy_free(policy);
    eg_aggregator_free(findings);
    eg_proc_table_free(procs);
    eg_container_table_free(containers);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_records_reach_their_handler),
        cmocka_unit_test(malformed_and_unknown_records_are_counted),
        cmocka_unit_test(the_ring_is_consumed_in_order_across_the_wrap),
        cmocka_unit_test(a_corrupt_header_is_skipped_and_counted_not_a_stall),
        cmocka_unit_test(a_length_past_the_producer_is_corrupt_not_followed),
        cmocka_unit_test(a_full_kind_or_an_unknown_kind_refuses_a_handler),
        cmocka_unit_test(the_core_tables_report_the_kind_they_could_not_subscribe),
        cmocka_unit_test(every_detector_reports_the_kind_it_could_not_subscribe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
