/* Aggregation: one finding per behaviour and window, updates rate-limited, bounded memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdlib.h>
#include <unistd.h>

#include "agent/pipeline/aggregator.h"
#include "agent/pipeline/finding_state.h"

struct emitted {
    int calls;
    uint64_t last_count;
    bool hold;                  /* answer "not yet" (task still resolving) */
    enum eg_emit_result answer; /* when not held (EG_EMIT_EMITTED unless set) */
};

static enum eg_emit_result emit(void *ctx, struct eg_finding *f, uint64_t now_ms, bool final)
{
    struct emitted *e = ctx;
    (void)now_ms;
    if (e->hold && !final)
        return EG_EMIT_DEFERRED;
    e->calls++;
    e->last_count = f->count;
    return e->answer;
}

static struct eg_aggregator *new_agg(uint32_t max)
{
    struct eg_aggregator_config cfg = {
        .window_ms = 60000, .interval_ms = 5000, .max_findings = max};
    return eg_aggregator_new(&cfg);
}

static void repeats_update_one_finding(void **state)
{
    (void)state;
    struct eg_aggregator *a = new_agg(16);
    bool created;
    struct eg_finding *f =
        eg_aggregator_record(a, "k1", EG_FT_SYS_ADMIN_CAP_USED, 1000, 1, 1000, &created);
    assert_true(created);
    char id[33];
    memcpy(id, f->id, sizeof(id));
    for (int i = 0; i < 199; i++) {
        struct eg_finding *g = eg_aggregator_record(a, "k1", EG_FT_SYS_ADMIN_CAP_USED, 1001 + i, 1,
                                                    1001 + i, &created);
        assert_ptr_equal(g, f);
        assert_false(created);
    }
    assert_int_equal(f->count, 200);
    assert_int_equal(f->first_seen_ms, 1000);
    assert_int_equal(f->last_seen_ms, 1199);
    assert_string_equal(f->id, id);
    assert_int_equal(strlen(id), 32);
    eg_aggregator_free(a);
}

static void new_findings_at_once_updates_once_per_interval(void **state)
{
    (void)state;
    struct eg_aggregator *a = new_agg(16);
    struct emitted e = {0};
    bool created;
    eg_aggregator_record(a, "k", EG_FT_CAP_DENIED, 0, 1, 0, &created);
    eg_aggregator_flush(a, 0, false, emit, &e);
    assert_int_equal(e.calls, 1);
    eg_aggregator_record(a, "k", EG_FT_CAP_DENIED, 10, 5, 10, &created);
    eg_aggregator_flush(a, 100, false, emit, &e);
    assert_int_equal(e.calls, 1); /* inside the interval */
    eg_aggregator_flush(a, 5000, false, emit, &e);
    assert_int_equal(e.calls, 2);
    assert_int_equal(e.last_count, 6);
    eg_aggregator_flush(a, 20000, false, emit, &e);
    assert_int_equal(e.calls, 2); /* nothing changed, nothing emitted */
    /* shutdown flushes a pending change regardless of the interval */
    eg_aggregator_record(a, "k", EG_FT_CAP_DENIED, 20001, 1, 20001, &created);
    eg_aggregator_flush(a, 20002, true, emit, &e);
    assert_int_equal(e.calls, 3);
    assert_int_equal(e.last_count, 7);
    eg_aggregator_free(a);
}

/* A detail learnt after the emission is an update of its own, once per interval like a count. */
static void learnt_details_are_emitted_as_updates(void **state)
{
    (void)state;
    struct eg_aggregator *a = new_agg(16);
    struct emitted e = {0};
    bool created;
    struct eg_finding *f =
        eg_aggregator_record(a, "k", EG_FT_MOUNTS_HOST_DIRECTORY, 0, 1, 0, &created);
    eg_aggregator_flush(a, 0, false, emit, &e);
    assert_int_equal(e.calls, 1);
    eg_aggregator_record(a, "k", EG_FT_MOUNTS_HOST_DIRECTORY, 10, 0, 10, &created);
    f->details_changed = true;
    eg_aggregator_flush(a, 100, false, emit, &e);
    assert_int_equal(e.calls, 1); /* inside the interval */
    eg_aggregator_flush(a, 5000, false, emit, &e);
    assert_int_equal(e.calls, 2);
    assert_int_equal(e.last_count, 1);
    assert_false(f->details_changed);
    eg_aggregator_flush(a, 20000, false, emit, &e);
    assert_int_equal(e.calls, 2);
    eg_aggregator_free(a);
}

static void held_findings_are_retried(void **state)
{
    (void)state;
    struct eg_aggregator *a = new_agg(16);
    struct emitted e = {.hold = true};
    bool created;
    eg_aggregator_record(a, "k", EG_FT_CAP_DENIED, 0, 1, 0, &created);
    eg_aggregator_flush(a, 0, false, emit, &e);
    eg_aggregator_flush(a, 10, false, emit, &e);
    assert_int_equal(e.calls, 0);
    e.hold = false;
    eg_aggregator_flush(a, 20, false, emit, &e);
    assert_int_equal(e.calls, 1);
    eg_aggregator_free(a);
}

static void window_end_starts_a_new_finding(void **state)
{
    (void)state;
    struct eg_aggregator *a = new_agg(16);
    struct emitted e = {0};
    bool created;
    struct eg_finding *f = eg_aggregator_record(a, "k", EG_FT_CAP_DENIED, 0, 1, 0, &created);
    char first[33];
    memcpy(first, f->id, sizeof(first));
    eg_aggregator_flush(a, 0, false, emit, &e);
    eg_aggregator_flush(a, 60000, false, emit, &e); /* window over, nothing pending: retired */
    f = eg_aggregator_record(a, "k", EG_FT_CAP_DENIED, 60001, 1, 60001, &created);
    assert_true(created);
    assert_string_not_equal(f->id, first);
    eg_aggregator_free(a);
}

static void full_table_retires_emitted_then_counts_drops(void **state)
{
    (void)state;
    struct eg_aggregator *a = new_agg(2);
    struct emitted e = {.hold = true};
    bool created;
    assert_non_null(eg_aggregator_record(a, "a", EG_FT_CAP_DENIED, 0, 1, 0, &created));
    assert_non_null(eg_aggregator_record(a, "b", EG_FT_CAP_DENIED, 0, 1, 0, &created));
    /* both still pending emission: nothing may be retired, the third is dropped and counted */
    assert_null(eg_aggregator_record(a, "c", EG_FT_CAP_DENIED, 0, 3, 0, &created));
    struct eg_aggregator_stats st;
    eg_aggregator_get_stats(a, &st);
    assert_int_equal(st.dropped, 3);
    e.hold = false;
    eg_aggregator_flush(a, 1, false, emit, &e);
    assert_non_null(eg_aggregator_record(a, "c", EG_FT_CAP_DENIED, 2, 1, 2, &created));
    eg_aggregator_get_stats(a, &st);
    assert_int_equal(st.open, 2);
    assert_int_equal(st.retired, 1);
    eg_aggregator_free(a);
}

/* A finding recorded after the flusher read its clock is new, not ancient. */
static void finding_from_after_the_clock_is_not_retired(void **state)
{
    (void)state;
    struct eg_aggregator *a = new_agg(16);
    struct emitted e = {0};
    bool created;
    struct eg_finding *f = eg_aggregator_record(a, "k", EG_FT_CAP_DENIED, 0, 1, 1000, &created);
    char id[33];
    memcpy(id, f->id, sizeof(id));
    eg_aggregator_flush(a, 999, false, emit, &e); /* clock read before the record */
    assert_int_equal(e.calls, 1);
    f = eg_aggregator_record(a, "k", EG_FT_CAP_DENIED, 1001, 1, 1001, &created);
    assert_false(created);
    assert_string_equal(f->id, id);
    eg_aggregator_free(a);
}

static enum eg_emit_result emit_then_refresh(void *ctx, struct eg_finding *f, uint64_t now_ms,
                                             bool final)
{
    enum eg_emit_result r = emit(ctx, f, now_ms, final);
    struct emitted *e = ctx;
    f->refresh = e->calls < 3; /* the first two emissions ask for a refresh (task pending) */
    return r;
}

/* Flushes with nothing recorded skip the table walk: every deadline must still be kept. */
static void quiet_flushes_keep_every_deadline(void **state)
{
    (void)state;
    struct eg_aggregator *a = new_agg(16);
    struct emitted e = {0};
    bool created;
    eg_aggregator_record(a, "k", EG_FT_CAP_DENIED, 0, 1, 0, &created);
    eg_aggregator_flush(a, 0, false, emit_then_refresh, &e);
    assert_int_equal(e.calls, 1);
    for (uint64_t t = 10; t < 1000; t += 10)
        eg_aggregator_flush(a, t, false, emit_then_refresh, &e);
    assert_int_equal(e.calls, 1);
    eg_aggregator_flush(a, 1000, false, emit_then_refresh, &e); /* refresh due */
    assert_int_equal(e.calls, 2);
    eg_aggregator_record(a, "k", EG_FT_CAP_DENIED, 1500, 4, 1500, &created);
    for (uint64_t t = 1510; t < 5000; t += 10)
        eg_aggregator_flush(a, t, false, emit_then_refresh, &e);
    assert_int_equal(e.calls, 3); /* the refresh at 2000 carried the new count */
    assert_int_equal(e.last_count, 5);
    eg_aggregator_record(a, "k", EG_FT_CAP_DENIED, 5000, 1, 5000, &created);
    for (uint64_t t = 5000; t < 7000; t += 10)
        eg_aggregator_flush(a, t, false, emit_then_refresh, &e);
    assert_int_equal(e.calls, 3); /* the update waits for its interval after 2000 */
    eg_aggregator_flush(a, 7000, false, emit_then_refresh, &e);
    assert_int_equal(e.calls, 4);
    assert_int_equal(e.last_count, 6);
    struct eg_aggregator_stats st;
    eg_aggregator_get_stats(a, &st);
    assert_int_equal(st.retired, 0);
    for (uint64_t t = 7010; t <= 60000; t += 10)
        eg_aggregator_flush(a, t, false, emit_then_refresh, &e);
    eg_aggregator_get_stats(a, &st);
    assert_int_equal(st.retired, 1); /* its window ended with nothing pending */
    assert_int_equal(st.open, 0);
    assert_int_equal(e.calls, 4);
    eg_aggregator_free(a);
}

/* The aggregator alone counts what became of emissions, from what the callback answers. */
static void emission_results_are_counted_by_the_aggregator(void **state)
{
    (void)state;
    struct eg_aggregator *a = new_agg(16);
    struct emitted e = {.hold = true};
    bool created;
    struct eg_finding *f = eg_aggregator_record(a, "k", EG_FT_CAP_DENIED, 0, 1, 0, &created);
    eg_aggregator_flush(a, 0, false, emit, &e);
    eg_aggregator_flush(a, 10, false, emit, &e);
    struct eg_aggregator_stats st;
    eg_aggregator_get_stats(a, &st);
    assert_int_equal(st.deferred, 2);
    assert_int_equal(st.emitted + st.suppressed + st.failed, 0);
    assert_false(f->emitted); /* deferred: the finding is untouched */

    e.hold = false;
    e.answer = EG_EMIT_SUPPRESSED;
    eg_aggregator_flush(a, 20, false, emit, &e);
    assert_true(f->emitted);
    assert_true(f->suppressed);
    eg_aggregator_record(a, "k", EG_FT_CAP_DENIED, 30, 1, 30, &created);
    eg_aggregator_flush(a, 5020, false, emit, &e); /* still turned down: counted once */
    eg_aggregator_get_stats(a, &st);
    assert_int_equal(st.suppressed, 1);
    assert_int_equal(st.emitted, 0);

    e.answer = EG_EMIT_EMITTED; /* the policy changed: reported */
    eg_aggregator_record(a, "k", EG_FT_CAP_DENIED, 5030, 1, 5030, &created);
    eg_aggregator_flush(a, 10020, false, emit, &e);
    assert_false(f->suppressed);
    e.answer = EG_EMIT_SUPPRESSED; /* and turned down again: counted again */
    eg_aggregator_record(a, "k", EG_FT_CAP_DENIED, 10030, 1, 10030, &created);
    eg_aggregator_flush(a, 15020, false, emit, &e);
    eg_aggregator_get_stats(a, &st);
    assert_int_equal(st.emitted, 1);
    assert_int_equal(st.suppressed, 2);

    /* A finding that cannot be written is given up, counted apart, and not retried. */
    struct eg_finding *g =
        eg_aggregator_record(a, "g", EG_FT_CAP_DENIED, 15030, 1, 15030, &created);
    e.answer = EG_EMIT_FAILED;
    int calls = e.calls;
    eg_aggregator_flush(a, 15040, false, emit, &e);
    eg_aggregator_flush(a, 25040, false, emit, &e);
    assert_int_equal(e.calls, calls + 1);
    assert_true(g->emitted);
    assert_false(g->suppressed);
    eg_aggregator_get_stats(a, &st);
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.emitted, 1);
    assert_int_equal(st.suppressed, 2);
    assert_int_equal(st.deferred, 2);
    eg_aggregator_free(a);
}

/*
 * The state file carries open findings into a new aggregator (a restart): same id, counts and
 * emission state, details intact; a recorded repeat continues the finding and only a change is
 * emitted. Past the window a finding is not taken back.
 */
static void state_file_continues_findings_in_a_new_aggregator(void **state)
{
    (void)state;
    char dir[] = "/tmp/eg-state-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct eg_aggregator *a = new_agg(16);
    bool created;
    struct eg_finding *f =
        eg_aggregator_record(a, "k1", EG_FT_SYS_ADMIN_CAP_USED, 1000, 3, 1000, &created);
    snprintf(f->where.container_id, sizeof(f->where.container_id), "%s", "abc\"\n\xff");
    snprintf(f->process.exe, sizeof(f->process.exe), "%s", "/bin/egprobe");
    f->context = json_object_new_object();
    json_object_object_add(f->context, "syscalls", json_object_new_string("sethostname"));
    struct eg_finding *old = eg_aggregator_record(a, "old", EG_FT_HOST_PID_NS, 10, 1, 10, &created);
    old->created_ms = 10;
    struct emitted e = {.answer = EG_EMIT_EMITTED};
    eg_aggregator_flush(a, 1000, false, emit, &e);
    assert_int_equal(e.calls, 2);
    assert_int_equal(eg_aggregator_unsaved(a) & EG_UNSAVED_NEW_IDS, EG_UNSAVED_NEW_IDS);
    char id[33];
    memcpy(id, f->id, sizeof(id));

    struct eg_finding_state st;
    assert_int_equal(eg_finding_state_open(&st, dir), 0);
    eg_finding_state_tick(&st, a, 1500, false); /* a new id is out: written at once */
    assert_int_equal(st.st.saves, 1);
    eg_aggregator_record(a, "k1", EG_FT_SYS_ADMIN_CAP_USED, 1600, 1, 1600, &created);
    eg_finding_state_tick(&st, a, 2000, false); /* a count: within five seconds */
    assert_int_equal(st.st.saves, 1);
    eg_finding_state_tick(&st, a, 6500, false);
    assert_int_equal(st.st.saves, 2);
    eg_aggregator_flush(a, 6500, true, emit, &e); /* the count is reported, then saved */
    eg_finding_state_tick(&st, a, 6600, true);
    assert_int_equal(st.st.saves, 3);
    assert_int_equal(eg_aggregator_unsaved(a), EG_UNSAVED_NONE);
    eg_aggregator_free(a);

    struct eg_aggregator *b = new_agg(16);
    struct eg_finding_state st2;
    assert_int_equal(eg_finding_state_open(&st2, dir), 0);
    eg_finding_state_load(&st2, b, 60500, 60000); /* "old" is past its window by then */
    assert_int_equal(st2.st.loaded, 1);
    assert_int_equal(st2.st.load_skipped, 1);
    struct eg_finding *g = eg_aggregator_find(b, "k1", 60500);
    assert_non_null(g);
    assert_string_equal(g->id, id);
    assert_int_equal(g->count, 4);
    assert_int_equal(g->emitted_count, 4);
    assert_true(g->emitted);
    assert_string_equal(g->where.container_id, "abc\"\n\xff");
    assert_string_equal(g->process.exe, "/bin/egprobe");
    assert_string_equal(json_object_get_string(json_object_object_get(g->context, "syscalls")),
                        "sethostname");
    struct emitted e2 = {.answer = EG_EMIT_EMITTED};
    eg_aggregator_flush(b, 60510, false, emit, &e2);
    assert_int_equal(e2.calls, 0); /* unchanged: not emitted again */
    struct eg_finding *h =
        eg_aggregator_record(b, "k1", EG_FT_SYS_ADMIN_CAP_USED, 60520, 1, 60520, &created);
    assert_ptr_equal(h, g);
    assert_false(created);
    eg_aggregator_flush(b, 60530, false, emit, &e2);
    assert_int_equal(e2.calls, 1);
    assert_int_equal(e2.last_count, 5);
    eg_aggregator_free(b);

    /* A file of something else: moved aside, a fresh start. */
    char path[128], bad[160];
    snprintf(path, sizeof(path), "%s/findings.state", dir);
    snprintf(bad, sizeof(bad), "%s/findings.state.bad", dir);
    FILE *fp = fopen(path, "w");
    fputs("garbage\n", fp);
    fclose(fp);
    struct eg_aggregator *c = new_agg(16);
    struct eg_finding_state st3;
    assert_int_equal(eg_finding_state_open(&st3, dir), 0);
    eg_finding_state_load(&st3, c, 60005, 60000);
    assert_int_equal(st3.st.loaded, 0);
    assert_int_equal(access(bad, F_OK), 0);
    eg_aggregator_free(c);
    unlink(bad);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(repeats_update_one_finding),
        cmocka_unit_test(new_findings_at_once_updates_once_per_interval),
        cmocka_unit_test(learnt_details_are_emitted_as_updates),
        cmocka_unit_test(held_findings_are_retried),
        cmocka_unit_test(window_end_starts_a_new_finding),
        cmocka_unit_test(full_table_retires_emitted_then_counts_drops),
        cmocka_unit_test(finding_from_after_the_clock_is_not_retired),
        cmocka_unit_test(quiet_flushes_keep_every_deadline),
        cmocka_unit_test(emission_results_are_counted_by_the_aggregator),
        cmocka_unit_test(state_file_continues_findings_in_a_new_aggregator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
