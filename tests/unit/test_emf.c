/* Health counters as an Embedded Metric Format record, shaped like the spec's example. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "agent/outputs/emf.h"

static json_object *get(json_object *o, const char *k)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, k, &v))
        fail_msg("missing member %s", k);
    return v;
}

static void test_record_matches_example_shape(void **state)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/cloudwatch/emf-example.json", getenv("ECSGUARD_FIXTURES"));
    json_object *example = json_object_from_file(path);
    assert_non_null(example);

    json_object *c = json_object_new_object();
    json_object_object_add(c, "findings_emitted", json_object_new_int64(12));
    json_object_object_add(c, "ringbuf_fill_pct", json_object_new_double(3.5));
    json_object_object_add(c, "cloudwatch_spooled_bytes", json_object_new_int64(4096));
    json_object_object_add(c, "version", json_object_new_string("0.1.0")); /* not a number */
    json_object_object_add(c, "nan", json_object_new_double(NAN));
    json_object *d = json_object_new_object();
    json_object_object_add(d, "ClusterName", json_object_new_string("prod"));
    char *line = eg_emf_record(c, d, 1574109732004ull);
    assert_non_null(line);
    assert_null(strchr(line, '\n'));
    json_object *r = json_tokener_parse(line);
    assert_non_null(r);

    /* Same members and types as AWS's example document. */
    json_object *aws = get(r, "_aws"), *ex_aws = get(example, "_aws");
    assert_int_equal(json_object_get_int64(get(aws, "Timestamp")), 1574109732004ll);
    assert_int_equal(json_object_get_type(get(aws, "Timestamp")),
                     json_object_get_type(get(ex_aws, "Timestamp")));
    json_object *dirs = get(aws, "CloudWatchMetrics");
    assert_int_equal(json_object_array_length(dirs), 1);
    json_object *dir = json_object_array_get_idx(dirs, 0);
    assert_string_equal(json_object_get_string(get(dir, "Namespace")), "ecsguard");
    json_object *dims = get(dir, "Dimensions");
    assert_string_equal(
        json_object_get_string(json_object_array_get_idx(json_object_array_get_idx(dims, 0), 0)),
        "ClusterName");
    assert_string_equal(json_object_get_string(get(r, "ClusterName")), "prod");
    json_object *metrics = get(dir, "Metrics");
    assert_int_equal(json_object_array_length(metrics), 3);
    const char *want_units[][2] = {{"findings_emitted", "Count"},
                                   {"ringbuf_fill_pct", "Percent"},
                                   {"cloudwatch_spooled_bytes", "Bytes"}};
    for (size_t i = 0; i < 3; i++) {
        json_object *m = json_object_array_get_idx(metrics, i);
        assert_string_equal(json_object_get_string(get(m, "Name")), want_units[i][0]);
        assert_string_equal(json_object_get_string(get(m, "Unit")), want_units[i][1]);
        get(r, want_units[i][0]); /* every metric is a root member */
    }
    assert_false(json_object_object_get_ex(r, "version", NULL));
    assert_false(json_object_object_get_ex(r, "nan", NULL));
    json_object_put(r);
    json_object_put(example);
    json_object_put(c);
    json_object_put(d);
    free(line);
}

static void test_more_than_100_metrics_split_directives(void **state)
{
    json_object *c = json_object_new_object();
    for (int i = 0; i < 150; i++) {
        char name[32];
        snprintf(name, sizeof(name), "m%03d", i);
        json_object_object_add(c, name, json_object_new_int(i));
    }
    char *line = eg_emf_record(c, NULL, 1);
    json_object *r = json_tokener_parse(line);
    json_object *dirs = get(get(r, "_aws"), "CloudWatchMetrics");
    assert_int_equal(json_object_array_length(dirs), 2);
    assert_int_equal(json_object_array_length(get(json_object_array_get_idx(dirs, 0), "Metrics")),
                     100);
    assert_int_equal(json_object_array_length(get(json_object_array_get_idx(dirs, 1), "Metrics")),
                     50);
    json_object_put(r);
    json_object_put(c);
    free(line);
}

static void test_nothing_to_report(void **state)
{
    json_object *c = json_object_new_object();
    assert_null(eg_emf_record(c, NULL, 1));
    json_object_object_add(c, "x", json_object_new_int(1));
    json_object *d = json_object_new_object();
    for (int i = 0; i < 10; i++) { /* more dimensions than EMF allows */
        char k[8];
        snprintf(k, sizeof(k), "d%d", i);
        json_object_object_add(d, k, json_object_new_string("v"));
    }
    assert_null(eg_emf_record(c, d, 1));
    assert_null(eg_emf_record(NULL, NULL, 1));
    json_object_put(c);
    json_object_put(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_matches_example_shape),
        cmocka_unit_test(test_more_than_100_metrics_split_directives),
        cmocka_unit_test(test_nothing_to_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
