/*
 * Credential chain against the local fake ECS credentials endpoint and
 * IMDSv2: each source, expiry-driven refresh, keeping still-valid
 * credentials when a refresh fails, and clear errors for malformed or
 * refused responses.
 */
#define EG_FAKE_HELPER_ONLY
#include "test_cloudwatch_fake.c"

#include <time.h>

static void clear_env(void)
{
    const char *vars[] = {"AWS_ACCESS_KEY_ID",
                          "AWS_SECRET_ACCESS_KEY",
                          "AWS_SESSION_TOKEN",
                          "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                          "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                          "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                          "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                          "ECSGUARD_ECS_CREDENTIALS_HOST",
                          "AWS_EC2_METADATA_SERVICE_ENDPOINT",
                          "AWS_EC2_METADATA_DISABLED"};
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        unsetenv(vars[i]);
}

static struct eg_cred_provider *fast_provider(unsigned margin)
{
    struct eg_cred_provider_opts o = {
        .refresh_margin_s = margin, .timeout_ms = 1000, .attempts = 2, .retry_delay_ms = 50};
    return eg_cred_provider_new(&o);
}

static void test_env_wins(void **state)
{
    clear_env();
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
    setenv("AWS_SESSION_TOKEN", "tok", 1);
    setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/x", 1);
    struct eg_cred_provider *p = fast_provider(0);
    struct eg_aws_credentials c;
    char err[512];
    assert_int_equal(eg_cred_provider_get(p, &c, err, sizeof(err)), 0);
    assert_string_equal(c.access_key_id, "AKIDENV");
    assert_string_equal(c.session_token, "tok");
    assert_string_equal(c.source, "env");
    assert_int_equal(c.expiration, 0);
    eg_aws_credentials_clear(&c);
    eg_cred_provider_free(p);
}

static void test_ecs_relative_and_refresh(void **state)
{
    struct fake f;
    fake_start(&f);
    clear_env();
    setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc", 1);
    setenv("ECSGUARD_ECS_CREDENTIALS_HOST", f.meta_url, 1);
    json_object_put(fake_get(&f, "/__control/creds?ttl=3"));
    struct eg_cred_provider *p = fast_provider(2); /* refresh within 2 s of a 3 s lifetime */
    struct eg_aws_credentials a, b, c;
    char err[512];
    assert_int_equal(eg_cred_provider_get(p, &a, err, sizeof(err)), 0);
    assert_string_equal(a.source, "ecs");
    assert_non_null(a.session_token);
    assert_true(a.expiration > time(NULL));
    assert_int_equal(eg_cred_provider_get(p, &b, err, sizeof(err)), 0);
    assert_string_equal(a.access_key_id, b.access_key_id); /* still fresh: cached */
    sleep(2);
    assert_int_equal(eg_cred_provider_get(p, &c, err, sizeof(err)), 0);
    assert_string_not_equal(a.access_key_id, c.access_key_id); /* refreshed before expiry */
    assert_int_equal(fake_stat(&f, "creds_issued"), 2);

    /* The endpoint fails now: the cached set (not expired yet) keeps working. */
    json_object_put(fake_get(&f, "/__control/creds?mode=500&ttl=3600"));
    eg_cred_provider_invalidate(p);
    struct eg_aws_credentials d;
    assert_int_equal(eg_cred_provider_get(p, &d, err, sizeof(err)), -1);
    if (!strstr(err, "HTTP 500"))
        fail_msg("unexpected error: %s", err);
    struct eg_cred_provider_stats st;
    eg_cred_provider_stats(p, &st);
    assert_int_equal(st.fetches, 2);
    assert_int_equal(st.failures, 1);
    eg_aws_credentials_clear(&a);
    eg_aws_credentials_clear(&b);
    eg_aws_credentials_clear(&c);
    eg_cred_provider_free(p);
    fake_stop(&f);
}

static void test_stale_refresh_failure_keeps_valid_credentials(void **state)
{
    struct fake f;
    fake_start(&f);
    clear_env();
    setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc", 1);
    setenv("ECSGUARD_ECS_CREDENTIALS_HOST", f.meta_url, 1);
    json_object_put(fake_get(&f, "/__control/creds?ttl=60"));
    struct eg_cred_provider *p = fast_provider(120); /* always due for refresh */
    struct eg_aws_credentials a, b;
    char err[512];
    assert_int_equal(eg_cred_provider_get(p, &a, err, sizeof(err)), 0);
    json_object_put(fake_get(&f, "/__control/creds?mode=garbage"));
    assert_int_equal(eg_cred_provider_get(p, &b, err, sizeof(err)), 0);
    assert_string_equal(a.access_key_id, b.access_key_id);
    eg_aws_credentials_clear(&a);
    eg_aws_credentials_clear(&b);
    eg_cred_provider_free(p);
    fake_stop(&f);
}

static void test_full_uri_with_token_file(void **state)
{
    struct fake f;
    fake_start(&f);
    clear_env();
    char uri[128], tokfile[] = "/tmp/eg-token-XXXXXX";
    snprintf(uri, sizeof(uri), "%s/full/credentials", f.meta_url);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri, 1);
    int fd = mkstemp(tokfile);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "fake-container-token\n", 21), 21);
    close(fd);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong-token", 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tokfile, 1); /* file wins */
    struct eg_cred_provider *p = fast_provider(0);
    struct eg_aws_credentials c;
    char err[512];
    assert_int_equal(eg_cred_provider_get(p, &c, err, sizeof(err)), 0);
    assert_string_equal(c.source, "ecs");
    eg_aws_credentials_clear(&c);
    eg_cred_provider_free(p);

    unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    p = fast_provider(0);
    assert_int_equal(eg_cred_provider_get(p, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "HTTP 401"));
    assert_null(strstr(err, "wrong-token")); /* secrets never in messages */
    eg_cred_provider_free(p);
    assert_int_equal(fake_stat(&f, "unauthorized_creds"), 1);

    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://example.com/creds", 1);
    p = fast_provider(0);
    assert_int_equal(eg_cred_provider_get(p, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "FULL_URI"));
    eg_cred_provider_free(p);
    unlink(tokfile);
    fake_stop(&f);
}

static void test_imdsv2(void **state)
{
    struct fake f;
    fake_start(&f);
    clear_env();
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", f.meta_url, 1);
    struct eg_cred_provider *p = fast_provider(0);
    struct eg_aws_credentials c;
    char err[512];
    assert_int_equal(eg_cred_provider_get(p, &c, err, sizeof(err)), 0);
    assert_string_equal(c.source, "imds");
    assert_non_null(c.session_token);
    assert_int_equal(fake_stat(&f, "imds_tokens"), 1);
    eg_aws_credentials_clear(&c);
    eg_cred_provider_free(p);

    json_object_put(fake_get(&f, "/__control/creds?mode=error"));
    p = fast_provider(0);
    assert_int_equal(eg_cred_provider_get(p, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "AccessDenied"));
    eg_cred_provider_free(p);
    fake_stop(&f);
}

static void test_dead_endpoint_is_an_error(void **state)
{
    clear_env();
    setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc", 1);
    setenv("ECSGUARD_ECS_CREDENTIALS_HOST", "http://127.0.0.1:9", 1);
    struct eg_cred_provider *p = fast_provider(0);
    struct eg_aws_credentials c;
    char err[512];
    assert_int_equal(eg_cred_provider_get(p, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "127.0.0.1:9"));
    eg_cred_provider_free(p);
    clear_env();
}

static void test_parse_documents(void **state)
{
    struct eg_aws_credentials c;
    char err[256];
    const char *ok = "{\n\"Code\" : \"Success\",\n\"AccessKeyId\" : \"ASIAX\",\n"
                     "\"SecretAccessKey\" : \"s\",\n\"Token\" : \"t\",\n"
                     "\"Expiration\" : \"2020-11-05T02:02:26Z\"\n}";
    assert_int_equal(eg_aws_credentials_parse(ok, strlen(ok), &c, err, sizeof(err)), 0);
    assert_int_equal(c.expiration, 1604541746);
    eg_aws_credentials_clear(&c);
    const char *missing = "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\",\"Token\":\"t\"}";
    assert_int_equal(eg_aws_credentials_parse(missing, strlen(missing), &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "Expiration"));
    const char *trunc = "{\"AccessKeyId\":\"A\"";
    assert_int_equal(eg_aws_credentials_parse(trunc, strlen(trunc), &c, err, sizeof(err)), -1);
    assert_int_equal(eg_aws_credentials_parse("[]", 2, &c, err, sizeof(err)), -1);
    int64_t t;
    assert_int_equal(eg_iso8601_parse("2016-02-25T06:03:31.123+01:00", &t), 0);
    assert_int_equal(t, 1456376611);
    assert_int_equal(eg_iso8601_parse("2016-02-25 06:03", &t), -1);
    assert_int_equal(eg_iso8601_parse("2016-13-25T06:03:31Z", &t), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_env_wins),
        cmocka_unit_test(test_ecs_relative_and_refresh),
        cmocka_unit_test(test_stale_refresh_failure_keeps_valid_credentials),
        cmocka_unit_test(test_full_uri_with_token_file),
        cmocka_unit_test(test_imdsv2),
        cmocka_unit_test(test_dead_endpoint_is_an_error),
        cmocka_unit_test(test_parse_documents),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
