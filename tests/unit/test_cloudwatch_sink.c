/*
 * The CloudWatch sink end to end against the local fake endpoint, which
 * re-verifies every signature with AWS's signer and checks the API limits:
 * delivery within limits, an outage (down, then 500s, then throttling) that
 * loses nothing, kill -9 mid-outage then restart that loses nothing, a full
 * spool that drops the oldest lines and reports how many, and credentials
 * from the ECS endpoint refreshed before they expire.
 */
#define EG_FAKE_HELPER_ONLY
#include "test_cloudwatch_fake.c"

#include <time.h>

#include "agent/outputs/cloudwatch_sink.h"

static char g_spool[128];

static void make_spool_dir(void)
{
    snprintf(g_spool, sizeof(g_spool), "/tmp/eg-cwspool-XXXXXX");
    assert_non_null(mkdtemp(g_spool));
}

static void remove_spool_dir(void)
{
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_spool);
    assert_int_equal(system(cmd), 0);
}

static uint64_t wall_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static struct eg_sink *new_sink(struct fake *f, uint64_t spool_max, struct eg_cred_provider *p)
{
    struct eg_cloudwatch_config cfg = {
        .log_group = "/ecs/ecsguard",
        .log_stream = "i-0123456789abcdef0",
        .region = "us-east-1",
        .endpoint = f->logs_url,
        .spool_dir = g_spool,
        .spool_max_bytes = spool_max,
        .flush_interval_ms = 300,
        .request_timeout_ms = 2000,
        .backoff_base_ms = 50,
        .backoff_max_ms = 400,
        .shutdown_timeout_ms = 20000,
        .credentials = p,
    };
    char err[256] = "";
    struct eg_sink *s = eg_cloudwatch_sink_new(&cfg, err, sizeof(err));
    if (!s)
        fail_msg("sink: %s", err);
    return s;
}

static void write_finding(struct eg_sink *s, int id, size_t pad, uint64_t ts)
{
    char *line = malloc(pad + 128);
    int n = snprintf(line, 128, "{\"id\":\"finding-%06d\",\"pad\":\"", id);
    memset(line + n, 'a' + id % 26, pad);
    n += (int)pad;
    n += snprintf(line + n, 8, "\"}");
    assert_int_equal(eg_sink_write(s, line, (size_t)n, ts), 0);
    free(line);
}

/* Count of distinct finding ids delivered, and checks each is in [0, total). */
static int distinct_ids(struct fake *f, int total, int *min_id)
{
    json_object *ev = fake_events(f);
    char *seen = calloc((size_t)total, 1);
    int distinct = 0;
    if (min_id)
        *min_id = total;
    for (size_t i = 0; i < json_object_array_length(ev); i++) {
        json_object *e = json_object_array_get_idx(ev, i), *m;
        assert_true(json_object_object_get_ex(e, "message", &m));
        int id = -1;
        if (sscanf(json_object_get_string(m), "{\"id\":\"finding-%d", &id) != 1)
            continue; /* not a finding (e.g. an EMF record) */
        assert_true(id >= 0 && id < total);
        if (!seen[id]++)
            distinct++;
        if (min_id && id < *min_id)
            *min_id = id;
    }
    free(seen);
    json_object_put(ev);
    return distinct;
}

static void assert_clean_traffic(struct fake *f)
{
    assert_int_equal(fake_stat(f, "bad_signatures"), 0);
    assert_int_equal(fake_stat(f, "limit_violations"), 0);
    assert_true(fake_stat(f, "max_batch_bytes") <= 1048576);
    assert_true(fake_stat(f, "max_batch_events") <= 10000);
}

static void test_delivers_within_limits(void **state)
{
    struct fake f;
    fake_start(&f);
    make_spool_dir();
    use_static_env_credentials("fake/static/secret");
    struct eg_sink *s = new_sink(&f, 0, NULL);
    const int total = 3000;
    uint64_t now = wall_now_ms();
    for (int i = 0; i < total; i++) {
        /* Every 100th line is large so the byte limit, not only the count, splits batches;
         * timestamps wobble so the sink has to order each batch. */
        size_t pad = i % 100 == 0 ? 200000 : 300;
        write_finding(s, i, pad, now - (uint64_t)(i % 7) * 1000);
    }
    /* Invalid UTF-8 is repaired, an empty line and an oversized one are refused and counted. */
    const char *bad_utf8 = "{\"bad\":\"\xff\xfe\"}";
    assert_int_equal(eg_sink_write(s, bad_utf8, strlen(bad_utf8), now), 0);
    assert_int_equal(eg_sink_write(s, "", 0, now), -1);
    char *huge = malloc(300000);
    memset(huge, 'x', 300000);
    assert_int_equal(eg_sink_write(s, huge, 300000, now), -1);
    free(huge);
    /* Fifteen days old: CloudWatch accepts the call but rejects this event. */
    write_finding(s, total, 10, now - 15ull * 24 * 3600 * 1000);
    s->ops->flush(s);

    struct eg_cloudwatch_counters c;
    eg_cloudwatch_sink_counters(s, &c);
    assert_int_equal(c.accepted, total + 2);
    assert_int_equal(c.sent, total + 1);
    assert_int_equal(c.rejected, 1);
    assert_int_equal(c.dropped_invalid, 2);
    assert_int_equal(c.backlog, 0);
    assert_int_equal(distinct_ids(&f, total + 1, NULL), total);
    assert_clean_traffic(&f);
    assert_true(fake_stat(&f, "puts") >= 3);    /* 30 lines of 200 kB need several 1 MiB calls */
    assert_true(fake_stat(&f, "creates") >= 2); /* group and stream created on first use */

    json_object *st = json_object_new_object(), *v;
    s->ops->stats(s, st);
    assert_true(json_object_object_get_ex(st, "cloudwatch_sent", &v));
    assert_int_equal(json_object_get_int64(v), total + 1);
    assert_true(json_object_object_get_ex(st, "cloudwatch_rejected", &v));
    assert_int_equal(json_object_get_int64(v), 1);
    json_object_put(st);
    s->ops->destroy(s);
    remove_spool_dir();
    fake_stop(&f);
}

static void test_outage_loses_nothing(void **state)
{
    struct fake f;
    fake_start(&f);
    make_spool_dir();
    use_static_env_credentials("fake/static/secret");
    struct eg_sink *s = new_sink(&f, 0, NULL);
    const char *phases[] = {"down", "500", "throttle"};
    int id = 0;
    for (int p = 0; p < 3; p++) {
        fake_mode(&f, phases[p]);
        for (int i = 0; i < 400; i++)
            write_finding(s, id++, 200, wall_now_ms());
        sleep_ms(1500);
        struct eg_cloudwatch_counters c;
        eg_cloudwatch_sink_counters(s, &c);
        assert_int_equal(c.sent, 0);
    }
    assert_true(fake_stat(&f, "faults") > 0);
    fake_mode(&f, "ok");
    s->ops->flush(s);
    struct eg_cloudwatch_counters c;
    eg_cloudwatch_sink_counters(s, &c);
    assert_int_equal(c.sent, id);
    assert_true(c.retried > 3);
    assert_int_equal(c.backlog, 0);
    assert_int_equal(distinct_ids(&f, id, NULL), id);
    assert_clean_traffic(&f);
    s->ops->destroy(s);
    remove_spool_dir();
    fake_stop(&f);
}

static void test_kill9_mid_outage_then_restart(void **state)
{
    struct fake f;
    fake_start(&f);
    make_spool_dir();
    use_static_env_credentials("fake/static/secret");
    fake_mode(&f, "down");
    const int total = 800;
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(ready[0]);
        struct eg_sink *s = new_sink(&f, 0, NULL);
        for (int i = 0; i < total; i++)
            write_finding(s, i, 200, wall_now_ms());
        /* Wait until the spooler has made every accepted line durable. */
        struct eg_cloudwatch_counters c;
        do {
            sleep_ms(20);
            eg_cloudwatch_sink_counters(s, &c);
        } while (c.queued > 0);
        if (write(ready[1], "R", 1) != 1)
            _exit(2);
        for (;;)
            pause(); /* killed here, mid-outage, by the parent */
    }
    close(ready[1]);
    char r = 0;
    assert_int_equal(read(ready[0], &r, 1), 1);
    close(ready[0]);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status));

    fake_mode(&f, "ok");
    struct eg_sink *s = new_sink(&f, 0, NULL);
    s->ops->flush(s);
    struct eg_cloudwatch_counters c;
    eg_cloudwatch_sink_counters(s, &c);
    assert_int_equal(c.sent, total);
    assert_int_equal(c.backlog, 0);
    assert_int_equal(distinct_ids(&f, total, NULL), total);
    assert_clean_traffic(&f);
    s->ops->destroy(s);
    remove_spool_dir();
    fake_stop(&f);
}

static void test_full_spool_drops_oldest_and_reports(void **state)
{
    struct fake f;
    fake_start(&f);
    make_spool_dir();
    use_static_env_credentials("fake/static/secret");
    fake_mode(&f, "down");
    struct eg_sink *s = new_sink(&f, 64 << 10, NULL);
    const int total = 400;
    unsigned seed = 9;
    for (int i = 0; i < total; i++) {
        char line[1200];
        int n = snprintf(line, sizeof(line), "{\"id\":\"finding-%06d\",\"pad\":\"", i);
        for (int k = 0; k < 1024; k++)
            line[n++] = (char)('a' + rand_r(&seed) % 26); /* incompressible */
        n += snprintf(line + n, 8, "\"}");
        assert_int_equal(eg_sink_write(s, line, (size_t)n, wall_now_ms()), 0);
        sleep_ms(1); /* let the spooler keep up, as a real event stream would */
    }
    struct eg_cloudwatch_counters c;
    do {
        sleep_ms(20);
        eg_cloudwatch_sink_counters(s, &c);
    } while (c.queued > 0);
    assert_true(c.dropped_spool_full > 0);
    assert_true(c.spooled_bytes <= 64 << 10);
    json_object *st = json_object_new_object(), *v;
    s->ops->stats(s, st);
    assert_true(json_object_object_get_ex(st, "cloudwatch_dropped_spool_full", &v));
    assert_int_equal((uint64_t)json_object_get_int64(v), c.dropped_spool_full);
    json_object_put(st);

    fake_mode(&f, "ok");
    s->ops->flush(s);
    eg_cloudwatch_sink_counters(s, &c);
    int min_id = 0;
    int delivered = distinct_ids(&f, total, &min_id);
    /* Exactly the newest lines arrive: the dropped ones are the oldest. */
    assert_int_equal((uint64_t)delivered + c.dropped_spool_full, total);
    assert_int_equal(min_id, (int)c.dropped_spool_full);
    assert_int_equal(c.sent, delivered);
    assert_clean_traffic(&f);
    s->ops->destroy(s);
    remove_spool_dir();
    fake_stop(&f);
}

static void test_credentials_from_ecs_refreshed(void **state)
{
    struct fake f;
    fake_start(&f);
    make_spool_dir();
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/7f4c-task", 1);
    setenv("ECSGUARD_ECS_CREDENTIALS_HOST", f.meta_url, 1);
    json_object_put(fake_get(&f, "/__control/creds?ttl=4"));
    /* Refresh 2 s before a 4 s lifetime: a new set about every 2 s. */
    struct eg_cred_provider_opts po = {.refresh_margin_s = 2};
    struct eg_cred_provider *p = eg_cred_provider_new(&po);
    struct eg_sink *s = new_sink(&f, 0, p);
    const int total = 70;
    for (int i = 0; i < total; i++) {
        write_finding(s, i, 100, wall_now_ms());
        sleep_ms(100);
    }
    s->ops->flush(s);
    struct eg_cloudwatch_counters c;
    eg_cloudwatch_sink_counters(s, &c);
    assert_int_equal(c.sent, total);
    assert_int_equal(distinct_ids(&f, total, NULL), total);
    assert_true(fake_stat(&f, "creds_issued") >= 3);
    assert_int_equal(fake_stat(&f, "expired_credentials"), 0);
    assert_clean_traffic(&f);
    s->ops->destroy(s);
    eg_cred_provider_free(p);
    unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    unsetenv("ECSGUARD_ECS_CREDENTIALS_HOST");
    remove_spool_dir();
    fake_stop(&f);
}

static void test_spec_and_config_errors(void **state)
{
    struct eg_cloudwatch_spec sp;
    char err[256];
    assert_int_equal(
        eg_cloudwatch_parse_spec("cloudwatch:/ecs/ecsguard:node-1", &sp, err, sizeof(err)), 0);
    assert_string_equal(sp.log_group, "/ecs/ecsguard");
    assert_string_equal(sp.log_stream, "node-1");
    eg_cloudwatch_spec_free(&sp);
    assert_int_equal(eg_cloudwatch_parse_spec("cloudwatch:findings", &sp, err, sizeof(err)), 0);
    assert_null(sp.log_stream);
    eg_cloudwatch_spec_free(&sp);
    assert_int_equal(eg_cloudwatch_parse_spec("cloudwatch:", &sp, err, sizeof(err)), -1);
    assert_int_equal(eg_cloudwatch_parse_spec("cloudwatch:bad group", &sp, err, sizeof(err)), -1);
    assert_int_equal(eg_cloudwatch_parse_spec("cloudwatch:g:a:b", &sp, err, sizeof(err)), -1);
    assert_int_equal(eg_cloudwatch_parse_spec("cloudwatch:g:s*", &sp, err, sizeof(err)), -1);
    assert_int_equal(eg_cloudwatch_parse_spec("cloudwatch:aws/x", &sp, err, sizeof(err)), -1);
    assert_int_equal(eg_cloudwatch_parse_spec("stdout", &sp, err, sizeof(err)), -1);

    struct eg_cloudwatch_config cfg = {.log_group = "g", .log_stream = "s", .region = "us-east-1"};
    assert_null(eg_cloudwatch_sink_new(&cfg, err, sizeof(err)));
    assert_non_null(strstr(err, "spool"));
    cfg.spool_dir = "/tmp";
    cfg.region = NULL;
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    assert_null(eg_cloudwatch_sink_new(&cfg, err, sizeof(err)));
    assert_non_null(strstr(err, "region"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delivers_within_limits),
        cmocka_unit_test(test_outage_loses_nothing),
        cmocka_unit_test(test_kill9_mid_outage_then_restart),
        cmocka_unit_test(test_full_spool_drops_oldest_and_reports),
        cmocka_unit_test(test_credentials_from_ecs_refreshed),
        cmocka_unit_test(test_spec_and_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
