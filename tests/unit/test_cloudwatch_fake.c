/*
 * The fake CloudWatch Logs endpoint (tests/cloudwatch-fake/server.js) and the
 * helpers other tests use to drive it. Its own tests prove the fake's checks
 * can fail: a wrongly signed request is refused, and Create* follow the
 * service's exists/not-found rules. Other test files include this file with
 * EG_FAKE_HELPER_ONLY defined to reuse the helpers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "agent/aws/credentials.h"
#include "agent/aws/http.h"
#include "agent/aws/logs_client.h"

/* Helpers: not every including test uses all of them. */
#define FAKE_HELPER static __attribute__((unused))

struct fake {
    pid_t pid;
    int logs_port, meta_port;
    char dir[128];
    char logs_url[64], meta_url[64];
};

FAKE_HELPER void fake_start(struct fake *f)
{
    const char *fixtures = getenv("ECSGUARD_FIXTURES");
    assert_non_null(fixtures);
    char server[1024], modules[1100];
    snprintf(server, sizeof(server), "%s/../cloudwatch-fake/server.js", fixtures);
    snprintf(modules, sizeof(modules), "%s/../cloudwatch-fake/node_modules/@smithy/signature-v4",
             fixtures);
    struct stat st;
    if (stat(modules, &st) != 0)
        fail_msg("fake endpoint dependencies missing: run `npm ci` in tests/cloudwatch-fake");
    snprintf(f->dir, sizeof(f->dir), "/tmp/eg-cwfake-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    int out[2];
    assert_int_equal(pipe(out), 0);
    f->pid = fork();
    assert_true(f->pid >= 0);
    if (f->pid == 0) {
        /* A test that aborts must not leave the server running. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        execlp("node", "node", server, "--state-dir", f->dir, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    char line[256];
    size_t n = 0;
    while (n < sizeof(line) - 1) {
        ssize_t r = read(out[0], line + n, 1);
        if (r <= 0 || line[n] == '\n')
            break;
        n++;
    }
    line[n] = '\0';
    close(out[0]);
    if (sscanf(line, "{\"logs_port\":%d,\"meta_port\":%d}", &f->logs_port, &f->meta_port) != 2)
        fail_msg("fake endpoint did not start (output: \"%s\")", line);
    snprintf(f->logs_url, sizeof(f->logs_url), "http://127.0.0.1:%d", f->logs_port);
    snprintf(f->meta_url, sizeof(f->meta_url), "http://127.0.0.1:%d", f->meta_port);
}

FAKE_HELPER void fake_stop(struct fake *f)
{
    if (f->pid > 0) {
        kill(f->pid, SIGTERM);
        waitpid(f->pid, NULL, 0);
        f->pid = 0;
    }
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", f->dir);
}

FAKE_HELPER json_object *fake_get(struct fake *f, const char *path)
{
    char url[512];
    snprintf(url, sizeof(url), "%s%s", f->meta_url, path);
    struct eg_http_request req = {.method = "GET", .url = url, .timeout_ms = 5000};
    struct eg_http_response resp;
    if (eg_http_do(&req, &resp) != 0 || resp.status != 200)
        fail_msg("control request %s failed: %s (HTTP %ld)", path, resp.error, resp.status);
    json_object *o = json_tokener_parse(resp.body);
    eg_http_response_free(&resp);
    assert_non_null(o);
    return o;
}

FAKE_HELPER int64_t fake_stat(struct fake *f, const char *name)
{
    json_object *o = fake_get(f, "/__control/stats"), *v;
    int64_t r = json_object_object_get_ex(o, name, &v) ? json_object_get_int64(v) : -1;
    json_object_put(o);
    return r;
}

FAKE_HELPER void fake_mode(struct fake *f, const char *mode)
{
    char path[128];
    snprintf(path, sizeof(path), "/__control/mode?m=%s", mode);
    json_object_put(fake_get(f, path));
}

/* Every event the fake accepted, as parsed JSON lines (array). */
FAKE_HELPER json_object *fake_events(struct fake *f)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/events.jsonl", f->dir);
    json_object *arr = json_object_new_array();
    FILE *fp = fopen(path, "r");
    if (!fp)
        return arr;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, fp) > 0) {
        json_object *o = json_tokener_parse(line);
        assert_non_null(o);
        json_object_array_add(arr, o);
    }
    free(line);
    fclose(fp);
    return arr;
}

FAKE_HELPER void use_static_env_credentials(const char *secret)
{
    unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIDFAKESTATIC", 1);
    setenv("AWS_SECRET_ACCESS_KEY", secret, 1);
    unsetenv("AWS_SESSION_TOKEN");
}

#ifndef EG_FAKE_HELPER_ONLY

static struct eg_logs_client *client_for(struct fake *f, struct eg_cred_provider *p)
{
    char err[256];
    struct eg_logs_client_opts o = {
        .region = "us-east-1", .endpoint = f->logs_url, .credentials = p, .timeout_ms = 5000};
    struct eg_logs_client *c = eg_logs_client_new(&o, err, sizeof(err));
    if (!c)
        fail_msg("%s", err);
    return c;
}

static void test_fake_refuses_a_bad_signature(void **state)
{
    struct fake f;
    fake_start(&f);
    use_static_env_credentials("not-the-secret");
    struct eg_cred_provider *p = eg_cred_provider_new(NULL);
    struct eg_logs_client *c = client_for(&f, p);
    struct eg_logs_reply r;
    const char *body = "{\"logGroupName\":\"g\"}";
    eg_logs_call(c, "CreateLogGroup", body, strlen(body), &r);
    assert_int_equal(r.outcome, EG_LOGS_AUTH);
    assert_string_equal(r.code, "InvalidSignatureException");
    eg_logs_reply_free(&r);
    assert_int_equal(fake_stat(&f, "bad_signatures"), 1);
    eg_logs_client_free(c);
    eg_cred_provider_free(p);
    fake_stop(&f);
}

static void test_fake_create_semantics(void **state)
{
    struct fake f;
    fake_start(&f);
    use_static_env_credentials("fake/static/secret");
    struct eg_cred_provider *p = eg_cred_provider_new(NULL);
    struct eg_logs_client *c = client_for(&f, p);
    struct eg_logs_reply r;
    const char *stream = "{\"logGroupName\":\"g\",\"logStreamName\":\"s\"}";
    const char *group = "{\"logGroupName\":\"g\"}";
    eg_logs_call(c, "CreateLogStream", stream, strlen(stream), &r);
    assert_int_equal(r.outcome, EG_LOGS_NOT_FOUND);
    eg_logs_call(c, "CreateLogGroup", group, strlen(group), &r);
    assert_int_equal(r.outcome, EG_LOGS_OK);
    eg_logs_call(c, "CreateLogGroup", group, strlen(group), &r);
    assert_int_equal(r.outcome, EG_LOGS_EXISTS);
    eg_logs_call(c, "CreateLogStream", stream, strlen(stream), &r);
    assert_int_equal(r.outcome, EG_LOGS_OK);
    /* Out of order events break the API's rule: the fake must say so. */
    const char *bad = "{\"logGroupName\":\"g\",\"logStreamName\":\"s\",\"logEvents\":["
                      "{\"timestamp\":2,\"message\":\"b\"},{\"timestamp\":1,\"message\":\"a\"}]}";
    eg_logs_call(c, "PutLogEvents", bad, strlen(bad), &r);
    assert_int_equal(r.outcome, EG_LOGS_INVALID);
    assert_string_equal(r.code, "InvalidParameterException");
    assert_int_equal(fake_stat(&f, "limit_violations"), 1);
    fake_mode(&f, "throttle");
    eg_logs_call(c, "PutLogEvents", bad, strlen(bad), &r);
    assert_int_equal(r.outcome, EG_LOGS_RETRY);
    assert_string_equal(r.code, "ThrottlingException");
    fake_mode(&f, "down");
    eg_logs_call(c, "PutLogEvents", bad, strlen(bad), &r);
    assert_int_equal(r.outcome, EG_LOGS_RETRY);
    assert_string_equal(r.code, "ConnectionError");
    eg_logs_client_free(c);
    eg_cred_provider_free(p);
    fake_stop(&f);
}

static void test_error_code_forms(void **state)
{
    char code[96], msg[128];
    eg_logs_error_code("{\"__type\":\"aws.logs#ThrottlingException:http://internal\","
                       "\"message\":\"slow down\"}",
                       NULL, code, sizeof(code), msg, sizeof(msg));
    assert_string_equal(code, "ThrottlingException");
    assert_string_equal(msg, "slow down");
    eg_logs_error_code("not json", "ResourceNotFoundException:http://x", code, sizeof(code), msg,
                       sizeof(msg));
    assert_string_equal(code, "ResourceNotFoundException");
    eg_logs_error_code(NULL, NULL, code, sizeof(code), msg, sizeof(msg));
    assert_string_equal(code, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fake_refuses_a_bad_signature),
        cmocka_unit_test(test_fake_create_semantics),
        cmocka_unit_test(test_error_code_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif
