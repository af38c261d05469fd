/*
 * ECS introspection: parsing of the agent's real responses (fixtures) and of
 * hostile ones, then the caching client against an in-process HTTP server.
 * (Long: one program for the whole client, so every case shares the server
 * fixture and its request log; each test is a behaviour of docs/ecs-identity.md.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collectors/ecs_introspection.h"
#include "http_test_server.h"

#define NGINX_ID "79c796ed2a7f864f485c76f83f3165488097279d296a7c05bd5201a1c69b2920"
#define NGINX_ARN                                                                                  \
    "arn:aws:ecs:us-west-2:012345678910:task/default/e01d58a8-151b-40e8-bc01-22647b9ecfec"

/* ---- helpers ------------------------------------------------------------ */

static char *read_fixture(const char *name, size_t *len)
{
    const char *dir = getenv("ECSGUARD_FIXTURES");
    char path[1024];
    snprintf(path, sizeof(path), "%s/ecs/%s", dir ? dir : "tests/fixtures", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open fixture %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return buf;
}

static int parse_task_str(const char *body, struct eg_ecs_task *t, char *err, size_t errlen)
{
    return eg_ecs_parse_task(body, strlen(body), t, err, errlen);
}

static void assert_task_rejected(const char *body, const char *expect_in_err)
{
    static struct eg_ecs_task t;
    char err[256] = "";
    if (parse_task_str(body, &t, err, sizeof(err)) == 0)
        fail_msg("accepted: %s", body);
    if (!strstr(err, expect_in_err))
        fail_msg("error \"%s\" does not mention \"%s\"", err, expect_in_err);
    assert_string_equal(t.arn, ""); /* nothing half-filled */
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* Make a distinct 64-hex docker id from a small number. */
static void make_id(char out[65], unsigned n)
{
    snprintf(out, 65, "%016x%048x", n, n * 2654435761u);
}

static const char *tasks_target(const char *id)
{
    /* Sized for any id the tests pass (the longest is an 800-byte hostile one). */
    static __thread char buf[1024];
    snprintf(buf, sizeof(buf), "/v1/tasks?dockerid=%s", id);
    return buf;
}

/* A TaskResponse whose only container is `id`, as the current agent sends it. */
static char *task_body(const char *id, const char *known_status)
{
    char *b = malloc(1024);
    snprintf(b, 1024,
             "{\"Arn\":\"arn:aws:ecs:us-east-1:012345678910:task/default/"
             "0123456789abcdef0123456789abcdef\",\"DesiredStatus\":\"RUNNING\","
             "\"KnownStatus\":\"%s\",\"Family\":\"web\",\"Version\":\"7\",\"Containers\":["
             "{\"DockerId\":\"%s\",\"DockerName\":\"ecs-web-7-app-aa00\",\"Name\":\"app\","
             "\"Image\":\"nginx:1.27\",\"ImageID\":\"sha256:00\"}]}",
             known_status, id);
    return b;
}

/* Wait until `id` reaches `want`, reading the client's eventfd between checks. */
static bool wait_state(struct eg_ecs_client *c, const char *id, enum eg_ecs_state want,
                       unsigned timeout_ms, struct eg_ecs_task *out)
{
    uint64_t deadline = mono_ms() + timeout_ms;
    for (;;) {
        if (eg_ecs_client_lookup(c, id, out) == want)
            return true;
        uint64_t now = mono_ms();
        if (now >= deadline)
            return false;
        struct pollfd p = {.fd = eg_ecs_client_notify_fd(c), .events = POLLIN};
        if (poll(&p, 1, (int)(deadline - now)) > 0) {
            uint64_t v;
            if (read(p.fd, &v, sizeof(v)) < 0)
                continue;
        }
    }
}

static bool wait_count(struct http_test_server *s, const char *target, size_t want,
                       unsigned timeout_ms)
{
    uint64_t deadline = mono_ms() + timeout_ms;
    while (hts_count(s, target) < want) {
        if (mono_ms() >= deadline)
            return false;
        sleep_ms(10);
    }
    return true;
}

/* ---- parsing: real responses ---------------------------------------------- */

static void test_parse_fixture_nginx(void **state)
{
    (void)state;
    size_t len;
    char *body =
        read_fixture("introspection-v1-task-by-short-dockerid.awsdocs-nginx-efs.json", &len);
    static struct eg_ecs_task t;
    char err[256];
    assert_int_equal(eg_ecs_parse_task(body, len, &t, err, sizeof(err)), 0);
    assert_string_equal(t.arn, NGINX_ARN);
    assert_string_equal(t.family, "nginx-efs");
    assert_string_equal(t.version, "2");
    assert_string_equal(t.known_status, "RUNNING");
    assert_string_equal(t.desired_status, "RUNNING");
    assert_int_equal(t.n_containers, 1);
    assert_false(t.containers_truncated);
    const struct eg_ecs_container *ct = eg_ecs_task_container(&t, NGINX_ID);
    assert_non_null(ct);
    assert_string_equal(ct->name, "nginx");
    assert_string_equal(ct->docker_name, "ecs-nginx-efs-2-nginx-9ac0808dd0afa495f001");
    /* Older agents send no Image/ImageID: optional, left empty. */
    assert_string_equal(ct->image, "");
    assert_string_equal(ct->image_id, "");
    assert_null(eg_ecs_task_container(&t, "79c796ed2a7f"));
    assert_null(eg_ecs_task_container(&t, ""));
    assert_null(eg_ecs_task_container(NULL, NGINX_ID));
    free(body);
}

static void test_parse_fixture_all_fields(void **state)
{
    (void)state;
    size_t len;
    char *body = read_fixture(
        "introspection-v1-task-all-container-fields.derived-from-unit-test.json", &len);
    static struct eg_ecs_task t;
    char err[256];
    assert_int_equal(eg_ecs_parse_task(body, len, &t, err, sizeof(err)), 0);
    assert_string_equal(t.arn, "t1");
    assert_string_equal(t.family, "sleep");
    assert_int_equal(t.n_containers, 1);
    assert_string_equal(t.containers[0].docker_id, "c0123456789ABC");
    assert_string_equal(t.containers[0].docker_name, "cname");
    assert_string_equal(t.containers[0].name, "sleepy");
    assert_string_equal(t.containers[0].image, "busybox");
    assert_string_equal(t.containers[0].image_id, "busyb0xID");
    free(body);
}

/* Each element of /v1/tasks is a TaskResponse: the hello-world sample parses task by task. */
static void test_parse_fixture_tasks_list(void **state)
{
    (void)state;
    size_t len;
    char *body = read_fixture("introspection-v1-tasks.awsdocs-hello-world.json", &len);
    static struct eg_ecs_task t;
    char err[256];
    /* The wrapper itself is not a TaskResponse. */
    assert_int_not_equal(eg_ecs_parse_task(body, len, &t, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "\"Arn\" is missing"));

    json_object *root = json_tokener_parse(body);
    json_object *tasks = json_object_object_get(root, "Tasks");
    assert_int_equal(json_object_array_length(tasks), 1);
    const char *one = json_object_to_json_string(json_object_array_get_idx(tasks, 0));
    assert_int_equal(parse_task_str(one, &t, err, sizeof(err)), 0);
    assert_string_equal(t.family, "hello_world");
    assert_string_equal(t.version, "8");
    assert_int_equal(t.n_containers, 2);
    assert_string_equal(t.containers[0].name, "mysql");
    assert_string_equal(t.containers[1].name, "wordpress");
    assert_non_null(eg_ecs_task_container(
        &t, "bf25c5c5b2d4dba68846c7236e75b6915e1e778d31611e3c6a06831e39814a15"));
    json_object_put(root);
    free(body);
}

static void test_parse_fixture_error_body(void **state)
{
    (void)state;
    size_t len;
    char *body = read_fixture("introspection-v1-tasks-error-body.derived.json", &len);
    static struct eg_ecs_task t;
    char err[256];
    assert_int_not_equal(eg_ecs_parse_task(body, len, &t, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "error body"));
    free(body);
}

static void test_parse_fixture_metadata(void **state)
{
    (void)state;
    size_t len;
    char *body = read_fixture("introspection-v1-metadata.awsdocs.json", &len);
    struct eg_ecs_metadata m;
    char err[256];
    assert_int_equal(eg_ecs_parse_metadata(body, len, &m, err, sizeof(err)), 0);
    assert_string_equal(m.cluster, "cluster_name");
    assert_string_equal(m.container_instance_arn,
                        "arn:aws:ecs:region:aws_account_id:container-instance/cluster_name/"
                        "container_instance_id");
    assert_string_equal(m.version, "Amazon ECS Agent - v1.30.0 (02ff320c)");
    free(body);
}

/* GET / and every unknown path answer 200 with AvailableCommands: the shape, not the status,
 * decides. */
static void test_parse_fixture_root(void **state)
{
    (void)state;
    size_t len;
    char *body = read_fixture("introspection-root-available-commands.pr4657-live.json", &len);
    static struct eg_ecs_task t;
    struct eg_ecs_metadata m;
    char err[256];
    assert_int_not_equal(eg_ecs_parse_task(body, len, &t, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "Arn"));
    assert_int_not_equal(eg_ecs_parse_metadata(body, len, &m, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "Cluster"));
    free(body);
}

/* ---- parsing: optional fields and hostile input -------------------------- */

static void test_parse_optional_fields(void **state)
{
    (void)state;
    static struct eg_ecs_task t;
    char err[256];
    /* DesiredStatus omitted (omitempty), Containers empty. */
    assert_int_equal(parse_task_str("{\"Arn\":\"a\",\"KnownStatus\":\"STOPPED\",\"Family\":\"f\","
                                    "\"Version\":\"1\",\"Containers\":[]}",
                                    &t, err, sizeof(err)),
                     0);
    assert_string_equal(t.desired_status, "");
    assert_string_equal(t.known_status, "STOPPED");
    assert_int_equal(t.n_containers, 0);
    /* null optional fields and unknown members are tolerated. */
    assert_int_equal(
        parse_task_str("{\"Arn\":\"a\",\"DesiredStatus\":null,\"KnownStatus\":\"RUNNING\","
                       "\"Family\":\"f\",\"Version\":\"1\",\"Future\":{\"x\":[1,2]},"
                       "\"Containers\":[{\"DockerId\":\"\",\"DockerName\":\"n\",\"Name\":\"c\","
                       "\"Image\":null,\"RestartCount\":0,\"Ports\":[{\"ContainerPort\":80}]}]}",
                       &t, err, sizeof(err)),
        0);
    assert_string_equal(t.containers[0].docker_id, "");
    struct eg_ecs_metadata m;
    const char *md = "{\"Cluster\":\"c\",\"ContainerInstanceArn\":null}";
    assert_int_equal(eg_ecs_parse_metadata(md, strlen(md), &m, err, sizeof(err)), 0);
    assert_string_equal(m.container_instance_arn, "");
    assert_string_equal(m.version, "");
    md = "{\"Cluster\":\"c\"}";
    assert_int_not_equal(eg_ecs_parse_metadata(md, strlen(md), &m, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "ContainerInstanceArn"));
    md = "{\"Cluster\":\"c\",\"ContainerInstanceArn\":7}";
    assert_int_not_equal(eg_ecs_parse_metadata(md, strlen(md), &m, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "not a string"));
}

static void test_parse_wrong_types(void **state)
{
    (void)state;
    assert_task_rejected("{\"Arn\":7,\"KnownStatus\":\"R\",\"Family\":\"f\",\"Version\":\"1\","
                         "\"Containers\":[]}",
                         "\"Arn\" is a int, not a string");
    assert_task_rejected("{\"Arn\":\"a\",\"KnownStatus\":null,\"Family\":\"f\",\"Version\":\"1\","
                         "\"Containers\":[]}",
                         "\"KnownStatus\" is null");
    assert_task_rejected("{\"Arn\":\"a\",\"KnownStatus\":\"R\",\"Family\":\"f\",\"Version\":1,"
                         "\"Containers\":[]}",
                         "\"Version\" is a int");
    assert_task_rejected("{\"Arn\":\"a\",\"KnownStatus\":\"R\",\"Family\":\"f\",\"Version\":\"1\","
                         "\"Containers\":{}}",
                         "\"Containers\" is a object, not an array");
    assert_task_rejected("{\"Arn\":\"a\",\"KnownStatus\":\"R\",\"Family\":\"f\",\"Version\":\"1\"}",
                         "\"Containers\" is missing");
    assert_task_rejected("{\"Arn\":\"a\",\"KnownStatus\":\"R\",\"Family\":\"f\",\"Version\":\"1\","
                         "\"Containers\":[\"x\"]}",
                         "Containers[0] is a string, not an object");
    assert_task_rejected("{\"Arn\":\"a\",\"KnownStatus\":\"R\",\"Family\":\"f\",\"Version\":\"1\","
                         "\"Containers\":[{\"DockerId\":\"x\",\"Name\":\"c\"}]}",
                         "Containers[0]: \"DockerName\" is missing");
    assert_task_rejected("{\"Arn\":\"a\",\"KnownStatus\":\"R\",\"Family\":\"f\",\"Version\":\"1\","
                         "\"Containers\":[{\"DockerId\":\"x\",\"DockerName\":\"n\",\"Name\":\"c\","
                         "\"Image\":[]}]}",
                         "\"Image\" is a array");
    assert_task_rejected("{\"Arn\":\"a\",\"KnownStatus\":\"R\",\"Family\":\"f\",\"Version\":\"1\","
                         "\"Containers\":[{\"DockerId\":\"x\\u0000y\",\"DockerName\":\"n\","
                         "\"Name\":\"c\"}]}",
                         "NUL byte");
}

static void test_parse_not_json_object(void **state)
{
    (void)state;
    assert_task_rejected("[]", "is a array, not an object");
    assert_task_rejected("\"Arn\"", "is a string, not an object");
    assert_task_rejected("42", "is a int, not an object");
    assert_task_rejected("null", "not an object");
    assert_task_rejected("garbage", "malformed JSON");
    assert_task_rejected("{\"Arn\":'a'}", "malformed JSON");
    assert_task_rejected("{\"Arn\":\"a\"} trailing", "malformed JSON at byte 12");
    assert_task_rejected("{\"Arn\":\"\xff\xfe\"}", "malformed JSON");
    static struct eg_ecs_task t;
    char err[128];
    assert_int_not_equal(eg_ecs_parse_task(NULL, 0, &t, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "empty body"));
    assert_int_not_equal(eg_ecs_parse_task("{}", 0, &t, err, sizeof(err)), 0);
    /* A NUL byte after a complete object is data, not an end marker. */
    static const char with_nul[] = "{\"Arn\":\"a\",\"KnownStatus\":\"R\",\"Family\":\"f\","
                                   "\"Version\":\"1\",\"Containers\":[]}\0junk";
    assert_int_not_equal(eg_ecs_parse_task(with_nul, sizeof(with_nul) - 1, &t, err, sizeof(err)),
                         0);
    /* ...while trailing whitespace (the fixtures' final newline) is fine. */
    assert_int_equal(eg_ecs_parse_task(with_nul, sizeof(with_nul) - 6, &t, err, sizeof(err)), 0);
    static const char spaced[] = "{\"Arn\":\"a\",\"KnownStatus\":\"R\",\"Family\":\"f\","
                                 "\"Version\":\"1\",\"Containers\":[]}\r\n \t\n";
    assert_int_equal(parse_task_str(spaced, &t, err, sizeof(err)), 0);
    /* A NULL or zero-sized error buffer is allowed. */
    assert_int_not_equal(eg_ecs_parse_task("[]", 2, &t, NULL, 0), 0);
}

static void test_parse_truncated(void **state)
{
    (void)state;
    size_t len;
    char *body =
        read_fixture("introspection-v1-task-by-short-dockerid.awsdocs-nginx-efs.json", &len);
    static struct eg_ecs_task t;
    char err[256];
    for (size_t cut = 1; cut < len - 2; cut += 7) {
        if (eg_ecs_parse_task(body, cut, &t, err, sizeof(err)) == 0)
            fail_msg("accepted a body cut at %zu of %zu bytes", cut, len);
    }
    assert_int_not_equal(eg_ecs_parse_task(body, len / 2, &t, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "truncated JSON"));
    free(body);
}

static void test_parse_deep_nesting(void **state)
{
    (void)state;
    char body[4096];
    size_t n = 0;
    n += (size_t)snprintf(body, sizeof(body), "{\"Arn\":");
    for (int i = 0; i < 1000; i++)
        body[n++] = '[';
    body[n] = '\0';
    assert_task_rejected(body, "nested deeper than");
}

static void test_parse_too_big(void **state)
{
    (void)state;
    size_t len = EG_ECS_MAX_BODY + 1;
    char *body = malloc(len);
    memset(body, ' ', len);
    const char *obj = "{\"Arn\":\"a\",\"KnownStatus\":\"R\",\"Family\":\"f\",\"Version\":\"1\","
                      "\"Containers\":[]}";
    memcpy(body, obj, strlen(obj));
    static struct eg_ecs_task t;
    char err[256];
    assert_int_not_equal(eg_ecs_parse_task(body, len, &t, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "exceeds"));
    /* The same bytes at exactly the limit are fine (trailing whitespace). */
    assert_int_equal(eg_ecs_parse_task(body, len - 1, &t, err, sizeof(err)), 0);
    free(body);
}

static void test_parse_many_containers(void **state)
{
    (void)state;
    char body[8192];
    size_t n = (size_t)snprintf(body, sizeof(body),
                                "{\"Arn\":\"a\",\"KnownStatus\":\"R\",\"Family\":\"f\","
                                "\"Version\":\"1\",\"Containers\":[");
    for (int i = 0; i < EG_ECS_MAX_CONTAINERS + 3; i++)
        n += (size_t)snprintf(body + n, sizeof(body) - n,
                              "%s{\"DockerId\":\"id%d\",\"DockerName\":\"d\",\"Name\":\"c%d\"}",
                              i ? "," : "", i, i);
    snprintf(body + n, sizeof(body) - n, "]}");
    static struct eg_ecs_task t;
    char err[256];
    assert_int_equal(parse_task_str(body, &t, err, sizeof(err)), 0);
    assert_int_equal(t.n_containers, EG_ECS_MAX_CONTAINERS);
    assert_true(t.containers_truncated);
    assert_string_equal(t.containers[EG_ECS_MAX_CONTAINERS - 1].name, "c15");
    /* A malformed container past the storage bound still fails the response. */
    snprintf(body + n, sizeof(body) - n, ",{\"DockerId\":5}]}");
    assert_int_not_equal(parse_task_str(body, &t, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "Containers[19]"));
}

static void test_parse_long_fields(void **state)
{
    (void)state;
    static char body[8192], arn[600], image[700];
    static struct eg_ecs_task t;
    char err[256];
    /* An ARN longer than the field is rejected: a cut ARN names something else. */
    memset(arn, 'a', 400);
    arn[400] = '\0';
    snprintf(body, sizeof(body),
             "{\"Arn\":\"%s\",\"KnownStatus\":\"R\",\"Family\":\"f\",\"Version\":\"1\","
             "\"Containers\":[]}",
             arn);
    assert_int_not_equal(parse_task_str(body, &t, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "\"Arn\" is 400 bytes"));
    /* An image name longer than the field is cut, never inside a UTF-8 character. */
    memset(image, 'i', sizeof(image));
    memcpy(image + 510, "\xc3\xa9", 2); /* bytes 510-511: 'é' straddles the 511-byte limit */
    image[600] = '\0';
    snprintf(body, sizeof(body),
             "{\"Arn\":\"a\",\"KnownStatus\":\"R\",\"Family\":\"f\",\"Version\":\"1\","
             "\"Containers\":[{\"DockerId\":\"x\",\"DockerName\":\"n\",\"Name\":\"c\","
             "\"Image\":\"%s\"}]}",
             image);
    assert_int_equal(parse_task_str(body, &t, err, sizeof(err)), 0);
    assert_int_equal(strlen(t.containers[0].image), 510);
    /* A 65-char DockerId cannot be one. */
    snprintf(body, sizeof(body),
             "{\"Arn\":\"a\",\"KnownStatus\":\"R\",\"Family\":\"f\",\"Version\":\"1\","
             "\"Containers\":[{\"DockerId\":\"%s0\",\"DockerName\":\"n\",\"Name\":\"c\"}]}",
             NGINX_ID);
    assert_int_not_equal(parse_task_str(body, &t, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "DockerId"));
}

/* ---- client ---------------------------------------------------------------- */

struct client_fixture {
    struct http_test_server *srv;
    struct eg_ecs_client *client;
    char base_url[64];
    char *metadata;
    char *nginx;
};

static struct eg_ecs_client_config test_config(const struct client_fixture *f)
{
    struct eg_ecs_client_config cfg = {
        .base_url = f->base_url,
        .connect_timeout_ms = 200,
        .request_timeout_ms = 300,
        .positive_ttl_s = 1,
        .negative_ttl_s = 1,
        .max_entries = 64,
        .retry_initial_ms = 100,
    };
    return cfg;
}

static int client_setup(void **state)
{
    struct client_fixture *f = calloc(1, sizeof(*f));
    f->srv = hts_start();
    assert_non_null(f->srv);
    snprintf(f->base_url, sizeof(f->base_url), "http://127.0.0.1:%d/", f->srv->port);
    f->metadata = read_fixture("introspection-v1-metadata.awsdocs.json", NULL);
    f->nginx = read_fixture("introspection-v1-task-by-short-dockerid.awsdocs-nginx-efs.json", NULL);
    hts_route(f->srv, "/v1/metadata", HTS_REPLY, 200, f->metadata, 0);
    hts_route(f->srv, tasks_target(NGINX_ID), HTS_REPLY, 200, f->nginx, 0);
    struct eg_ecs_client_config cfg = test_config(f);
    f->client = eg_ecs_client_new(&cfg);
    assert_non_null(f->client);
    *state = f;
    return 0;
}

static int client_teardown(void **state)
{
    struct client_fixture *f = *state;
    eg_ecs_client_free(f->client);
    hts_stop(f->srv);
    free(f->metadata);
    free(f->nginx);
    free(f);
    return 0;
}

static void test_client_resolves_and_caches(void **state)
{
    struct client_fixture *f = *state;
    static struct eg_ecs_task t;
    assert_int_equal(eg_ecs_client_lookup(f->client, NGINX_ID, &t), EG_ECS_UNKNOWN);
    eg_ecs_client_request(f->client, NGINX_ID);
    assert_true(wait_state(f->client, NGINX_ID, EG_ECS_RESOLVED, 3000, &t));
    assert_string_equal(t.arn, NGINX_ARN);
    assert_string_equal(t.family, "nginx-efs");
    assert_non_null(eg_ecs_task_container(&t, NGINX_ID));
    /* The request used the full id, exactly once. */
    assert_int_equal(hts_count(f->srv, tasks_target(NGINX_ID)), 1);

    struct eg_ecs_client_stats before, after;
    eg_ecs_client_get_stats(f->client, &before);
    for (int i = 0; i < 50; i++) {
        eg_ecs_client_request(f->client, NGINX_ID);
        assert_int_equal(eg_ecs_client_lookup(f->client, NGINX_ID, &t), EG_ECS_RESOLVED);
    }
    eg_ecs_client_get_stats(f->client, &after);
    assert_int_equal(after.cache_hits - before.cache_hits, 50);
    assert_int_equal(after.requests, before.requests);
    assert_int_equal(hts_count(f->srv, tasks_target(NGINX_ID)), 1);
    assert_true(after.responses_ok >= 1);

    /* Metadata was fetched at start without being asked for. */
    struct eg_ecs_metadata md;
    uint64_t deadline = mono_ms() + 3000;
    while (!eg_ecs_client_metadata(f->client, &md) && mono_ms() < deadline)
        sleep_ms(20);
    assert_true(eg_ecs_client_metadata(f->client, &md));
    assert_string_equal(md.cluster, "cluster_name");
    eg_ecs_client_get_stats(f->client, &after);
    assert_true(after.metadata_known);
    assert_int_equal(hts_count(f->srv, "/v1/metadata"), 1);
}

static void test_client_notifies_on_answer(void **state)
{
    struct client_fixture *f = *state;
    int fd = eg_ecs_client_notify_fd(f->client);
    assert_true(fd >= 0);
    /* Drain whatever the metadata answer left. */
    struct pollfd p = {.fd = fd, .events = POLLIN};
    assert_true(wait_count(f->srv, "/v1/metadata", 1, 3000));
    sleep_ms(100);
    uint64_t v;
    while (poll(&p, 1, 0) > 0 && read(fd, &v, sizeof(v)) > 0) {
    }
    eg_ecs_client_request(f->client, NGINX_ID);
    assert_int_equal(poll(&p, 1, 3000), 1);
    assert_true(read(fd, &v, sizeof(v)) == sizeof(v));
    assert_true(v >= 1);
    assert_int_equal(eg_ecs_client_lookup(f->client, NGINX_ID, NULL), EG_ECS_RESOLVED);
}

static void test_client_ignores_bad_ids(void **state)
{
    struct client_fixture *f = *state;
    char upper[] = NGINX_ID;
    upper[0] = 'A';
    eg_ecs_client_request(f->client, "79c796ed2a7f");
    eg_ecs_client_request(f->client, upper);
    eg_ecs_client_request(f->client, NULL);
    eg_ecs_client_request(f->client, NGINX_ID "00");
    assert_int_equal(eg_ecs_client_lookup(f->client, "79c796ed2a7f", NULL), EG_ECS_UNKNOWN);
    sleep_ms(200);
    /* Nothing but the metadata fetch reached the server. */
    assert_int_equal(hts_total(f->srv), hts_count(f->srv, "/v1/metadata"));
}

static void test_client_negative_cache_and_retry(void **state)
{
    struct client_fixture *f = *state;
    char id[65];
    make_id(id, 404);
    /* The default route answers 404 with the agent's error body. */
    eg_ecs_client_request(f->client, id);
    assert_true(wait_state(f->client, id, EG_ECS_NOT_FOUND, 3000, NULL));
    assert_int_equal(hts_count(f->srv, tasks_target(id)), 1);
    /* Negative hits are served from the cache... */
    assert_int_equal(eg_ecs_client_lookup(f->client, id, NULL), EG_ECS_NOT_FOUND);
    assert_int_equal(hts_count(f->srv, tasks_target(id)), 1);

    /* ...and retried with backoff 100, 200, 400, 800, 1000 ms (ceiling = negative_ttl_s). */
    uint64_t start = mono_ms();
    sleep_ms(1600);
    size_t n = hts_count(f->srv, tasks_target(id)) - 1;
    uint64_t elapsed = mono_ms() - start;
    if (n < 2 || n > 6)
        fail_msg("%zu retries in %llu ms: backoff not applied", n, (unsigned long long)elapsed);
    struct eg_ecs_client_stats st;
    eg_ecs_client_get_stats(f->client, &st);
    assert_true(st.not_found >= 3);
    assert_true(st.retries >= 2);

    /* The agent records the container late (after docker create): a retry picks it up. */
    char *body = task_body(id, "RUNNING");
    hts_route(f->srv, tasks_target(id), HTS_REPLY, 200, body, 0);
    free(body);
    static struct eg_ecs_task t;
    assert_true(wait_state(f->client, id, EG_ECS_RESOLVED, 3000, &t));
    assert_string_equal(t.family, "web");
}

static void test_client_revalidates_after_ttl(void **state)
{
    struct client_fixture *f = *state;
    char id[65];
    make_id(id, 7);
    char *body = task_body(id, "RUNNING");
    hts_route(f->srv, tasks_target(id), HTS_REPLY, 200, body, 0);
    free(body);
    static struct eg_ecs_task t;
    eg_ecs_client_request(f->client, id);
    assert_true(wait_state(f->client, id, EG_ECS_RESOLVED, 3000, &t));
    assert_string_equal(t.known_status, "RUNNING");

    body = task_body(id, "STOPPED");
    hts_route(f->srv, tasks_target(id), HTS_REPLY, 200, body, 0);
    free(body);
    /* positive_ttl_s = 1: a re-validation brings the new status; the entry stays resolved
     * meanwhile. */
    assert_true(wait_count(f->srv, tasks_target(id), 2, 3000));
    uint64_t deadline = mono_ms() + 2000;
    while (mono_ms() < deadline) {
        assert_int_equal(eg_ecs_client_lookup(f->client, id, &t), EG_ECS_RESOLVED);
        if (strcmp(t.known_status, "STOPPED") == 0)
            break;
        sleep_ms(20);
    }
    assert_string_equal(t.known_status, "STOPPED");
    struct eg_ecs_client_stats st;
    eg_ecs_client_get_stats(f->client, &st);
    assert_true(st.revalidations >= 1);

    /* Once the agent forgets the task (404), the identity is kept and no longer re-checked. */
    hts_route(f->srv, tasks_target(id), HTS_REPLY, 404, NULL, 0);
    size_t before = hts_count(f->srv, tasks_target(id));
    assert_true(wait_count(f->srv, tasks_target(id), before + 1, 3000));
    sleep_ms(100);
    assert_int_equal(eg_ecs_client_lookup(f->client, id, &t), EG_ECS_RESOLVED);
    assert_string_equal(t.family, "web");
    size_t settled = hts_count(f->srv, tasks_target(id));
    sleep_ms(1500);
    assert_int_equal(hts_count(f->srv, tasks_target(id)), settled);
}

static void test_client_forget_stops_retries(void **state)
{
    struct client_fixture *f = *state;
    char id[65];
    make_id(id, 99);
    eg_ecs_client_request(f->client, id);
    assert_true(wait_state(f->client, id, EG_ECS_NOT_FOUND, 3000, NULL));
    eg_ecs_client_forget(f->client, id);
    sleep_ms(150); /* let an already started retry land */
    size_t n = hts_count(f->srv, tasks_target(id));
    sleep_ms(1200);
    assert_int_equal(hts_count(f->srv, tasks_target(id)), n);
    /* Still cached, so a late event for the dead container is answered without a request. */
    assert_int_equal(eg_ecs_client_lookup(f->client, id, NULL), EG_ECS_NOT_FOUND);
}

static void test_client_timeout_does_not_block(void **state)
{
    struct client_fixture *f = *state;
    char slow[65], fast[65];
    make_id(slow, 1);
    make_id(fast, 2);
    char *body = task_body(slow, "RUNNING");
    hts_route(f->srv, tasks_target(slow), HTS_SLOW, 200, body, 5000);
    free(body);
    body = task_body(fast, "RUNNING");
    hts_route(f->srv, tasks_target(fast), HTS_REPLY, 200, body, 0);
    free(body);

    eg_ecs_client_request(f->client, slow);
    assert_true(wait_count(f->srv, tasks_target(slow), 1, 3000));
    /* While the slow request is in flight, lookups answer at once. */
    uint64_t t0 = mono_ms();
    for (int i = 0; i < 1000; i++)
        assert_int_equal(eg_ecs_client_lookup(f->client, slow, NULL), EG_ECS_PENDING);
    assert_true(mono_ms() - t0 < 100);
    /* Other containers still resolve meanwhile. */
    eg_ecs_client_request(f->client, fast);
    assert_true(wait_state(f->client, fast, EG_ECS_RESOLVED, 3000, NULL));

    /* request_timeout_ms = 300: counted as a timeout, the entry stays PENDING and is retried. */
    uint64_t deadline = mono_ms() + 3000;
    struct eg_ecs_client_stats st;
    do {
        sleep_ms(20);
        eg_ecs_client_get_stats(f->client, &st);
    } while (st.timeouts == 0 && mono_ms() < deadline);
    assert_true(st.timeouts >= 1);
    assert_int_equal(eg_ecs_client_lookup(f->client, slow, NULL), EG_ECS_PENDING);
    assert_true(wait_count(f->srv, tasks_target(slow), 2, 3000));
}

struct bad_answer {
    enum hts_kind kind;
    int status;
    const char *body;
};

static void test_client_survives_bad_answers(void **state)
{
    struct client_fixture *f = *state;
    static const struct bad_answer bad[] = {
        {HTS_REPLY, 400, NULL},
        {HTS_REPLY, 500, NULL},
        {HTS_REPLY, 503, "<html>busy</html>"},
        {HTS_GARBAGE, 0, NULL},
        {HTS_TRUNCATED, 200,
         "{\"Arn\":\"a\",\"KnownStatus\":\"R\",\"Family\":\"f\",\"Version\":\"1\","
         "\"Containers\":[]}"},
        {HTS_HUGE, 200, NULL},
        {HTS_HUGE_DECLARED, 200, NULL},
        {HTS_CLOSE, 0, NULL},
        {HTS_REPLY, 200, "\x01\x02garbage\xff"},
        {HTS_REPLY, 200, HTS_ERROR_BODY},
        {HTS_REPLY, 200, "{\"AvailableCommands\":[\"/v1/metadata\",\"/v1/tasks\",\"/license\"]}"},
        {HTS_REPLY, 200, ""},
    };
    const size_t n = sizeof(bad) / sizeof(bad[0]);
    char ids[sizeof(bad) / sizeof(bad[0])][65];
    for (size_t i = 0; i < n; i++) {
        make_id(ids[i], 1000 + (unsigned)i);
        hts_route(f->srv, tasks_target(ids[i]), bad[i].kind, bad[i].status, bad[i].body, 0);
        eg_ecs_client_request(f->client, ids[i]);
    }
    /* Every bad answer is seen at least twice (first try and a retry), and none resolves. */
    for (size_t i = 0; i < n; i++) {
        if (!wait_count(f->srv, tasks_target(ids[i]), 2, 5000))
            fail_msg("answer #%zu was not retried", i);
        assert_int_equal(eg_ecs_client_lookup(f->client, ids[i], NULL), EG_ECS_PENDING);
    }
    struct eg_ecs_client_stats st;
    eg_ecs_client_get_stats(f->client, &st);
    assert_true(st.http_errors >= 3);      /* 400, 500, 503 */
    assert_true(st.oversized >= 2);        /* 2 MiB with and without Content-Length */
    assert_true(st.transport_errors >= 3); /* garbage, truncated, closed */
    assert_true(st.parse_errors >= 4);     /* junk, error body, AvailableCommands, empty */
    assert_true(st.retries >= n);

    /* And the client still works. */
    eg_ecs_client_request(f->client, NGINX_ID);
    assert_true(wait_state(f->client, NGINX_ID, EG_ECS_RESOLVED, 3000, NULL));
}

static void test_client_lru_eviction(void **state)
{
    struct client_fixture *f = *state;
    struct eg_ecs_client_config cfg = test_config(f);
    cfg.max_entries = 4;
    struct eg_ecs_client *c = eg_ecs_client_new(&cfg);
    assert_non_null(c);
    char ids[6][65];
    for (unsigned i = 0; i < 6; i++)
        make_id(ids[i], 500 + i);
    for (int i = 0; i < 4; i++)
        eg_ecs_client_request(c, ids[i]);
    /* Touch the oldest: the next insertion must evict ids[1] instead. */
    assert_int_not_equal(eg_ecs_client_lookup(c, ids[0], NULL), EG_ECS_UNKNOWN);
    eg_ecs_client_request(c, ids[4]);
    assert_int_not_equal(eg_ecs_client_lookup(c, ids[0], NULL), EG_ECS_UNKNOWN);
    assert_int_equal(eg_ecs_client_lookup(c, ids[1], NULL), EG_ECS_UNKNOWN);
    eg_ecs_client_request(c, ids[5]);
    assert_int_equal(eg_ecs_client_lookup(c, ids[2], NULL), EG_ECS_UNKNOWN);
    struct eg_ecs_client_stats st;
    eg_ecs_client_get_stats(c, &st);
    assert_int_equal(st.evictions, 2);
    /* Evicted entries whose answer was in flight are dropped without harm. */
    assert_true(wait_state(c, ids[5], EG_ECS_NOT_FOUND, 3000, NULL));
    eg_ecs_client_free(c);
}

static void test_client_connection_refused(void **state)
{
    (void)state;
    /* Find a port nobody listens on: bind, note it, close. */
    struct http_test_server *tmp = hts_start();
    int port = tmp->port;
    hts_stop(tmp);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
    struct eg_ecs_client_config cfg = {.base_url = url,
                                       .connect_timeout_ms = 200,
                                       .request_timeout_ms = 300,
                                       .negative_ttl_s = 1,
                                       .retry_initial_ms = 50};
    struct eg_ecs_client *c = eg_ecs_client_new(&cfg);
    assert_non_null(c);
    eg_ecs_client_request(c, NGINX_ID);
    uint64_t deadline = mono_ms() + 3000;
    struct eg_ecs_client_stats st;
    do {
        sleep_ms(50);
        eg_ecs_client_get_stats(c, &st);
    } while (st.connect_errors < 3 && mono_ms() < deadline);
    assert_true(st.connect_errors >= 3); /* metadata and task, retried */
    assert_int_equal(eg_ecs_client_lookup(c, NGINX_ID, NULL), EG_ECS_PENDING);
    assert_false(eg_ecs_client_metadata(c, NULL));
    eg_ecs_client_free(c);
}

static void test_client_metadata_retried_until_known(void **state)
{
    struct client_fixture *f = *state;
    /* The fixture's own client shares the route: let it settle first so only `c` fetches. */
    uint64_t settle = mono_ms() + 3000;
    while (!eg_ecs_client_metadata(f->client, NULL) && mono_ms() < settle)
        sleep_ms(20);
    assert_true(eg_ecs_client_metadata(f->client, NULL));
    /* Unregistered agent first (empty instance ARN), then a 500, then the real answer. */
    hts_route(f->srv, "/v1/metadata", HTS_REPLY, 200,
              "{\"Cluster\":\"default\",\"ContainerInstanceArn\":\"\",\"Version\":\"v\"}", 0);
    struct eg_ecs_client_config cfg = test_config(f);
    struct eg_ecs_client *c = eg_ecs_client_new(&cfg);
    assert_true(wait_count(f->srv, "/v1/metadata", 2, 3000));
    assert_false(eg_ecs_client_metadata(c, NULL));
    hts_route(f->srv, "/v1/metadata", HTS_REPLY, 500, NULL, 0);
    size_t seen = hts_count(f->srv, "/v1/metadata");
    assert_true(wait_count(f->srv, "/v1/metadata", seen + 1, 3000));
    assert_false(eg_ecs_client_metadata(c, NULL));
    hts_route(f->srv, "/v1/metadata", HTS_REPLY, 200, f->metadata, 0);
    struct eg_ecs_metadata md;
    uint64_t deadline = mono_ms() + 3000;
    while (!eg_ecs_client_metadata(c, &md) && mono_ms() < deadline)
        sleep_ms(20);
    assert_true(eg_ecs_client_metadata(c, &md));
    assert_string_equal(md.cluster, "cluster_name");
    /* Known: no more fetching. */
    seen = hts_count(f->srv, "/v1/metadata");
    sleep_ms(1200);
    assert_int_equal(hts_count(f->srv, "/v1/metadata"), seen);
    eg_ecs_client_free(c);
}

static void test_client_free_is_prompt_while_server_hangs(void **state)
{
    struct client_fixture *f = *state;
    hts_route(f->srv, "/v1/metadata", HTS_HANG, 0, NULL, 0);
    char id[65];
    make_id(id, 31337);
    hts_route(f->srv, tasks_target(id), HTS_HANG, 0, NULL, 0);
    struct eg_ecs_client_config cfg = test_config(f);
    cfg.request_timeout_ms = 10000; /* free() must not wait for this */
    struct eg_ecs_client *c = eg_ecs_client_new(&cfg);
    eg_ecs_client_request(c, id);
    assert_true(wait_count(f->srv, tasks_target(id), 1, 3000));
    assert_true(wait_count(f->srv, "/v1/metadata", 1, 3000));
    uint64_t t0 = mono_ms();
    eg_ecs_client_free(c);
    uint64_t took = mono_ms() - t0;
    if (took > 100)
        fail_msg("eg_ecs_client_free took %llu ms with two requests hanging",
                 (unsigned long long)took);
}

struct hammer_arg {
    struct eg_ecs_client *client;
    unsigned seed;
    volatile int *stop;
};

static void *hammer_main(void *arg)
{
    struct hammer_arg *h = arg;
    static __thread struct eg_ecs_task t;
    char id[65];
    unsigned i = 0;
    while (!*h->stop) {
        make_id(id, h->seed * 100 + (i++ % 40));
        eg_ecs_client_request(h->client, id);
        eg_ecs_client_lookup(h->client, id, &t);
        eg_ecs_client_lookup(h->client, NGINX_ID, &t);
        if (i % 7 == 0)
            eg_ecs_client_forget(h->client, id);
    }
    return NULL;
}

static void test_client_concurrent_use(void **state)
{
    struct client_fixture *f = *state;
    struct eg_ecs_client_config cfg = test_config(f);
    cfg.max_entries = 32; /* small, so evictions race with answers */
    struct eg_ecs_client *c = eg_ecs_client_new(&cfg);
    eg_ecs_client_request(c, NGINX_ID);
    volatile int stop = 0;
    pthread_t th[4];
    struct hammer_arg args[4];
    for (unsigned i = 0; i < 4; i++) {
        args[i] = (struct hammer_arg){c, i + 1, &stop};
        assert_int_equal(pthread_create(&th[i], NULL, hammer_main, &args[i]), 0);
    }
    sleep_ms(800);
    stop = 1;
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    struct eg_ecs_client_stats st;
    eg_ecs_client_get_stats(c, &st);
    assert_true(st.evictions > 0);
    assert_true(st.requests > 0);
    eg_ecs_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_fixture_nginx),
        cmocka_unit_test(test_parse_fixture_all_fields),
        cmocka_unit_test(test_parse_fixture_tasks_list),
        cmocka_unit_test(test_parse_fixture_error_body),
        cmocka_unit_test(test_parse_fixture_metadata),
        cmocka_unit_test(test_parse_fixture_root),
        cmocka_unit_test(test_parse_optional_fields),
        cmocka_unit_test(test_parse_wrong_types),
        cmocka_unit_test(test_parse_not_json_object),
        cmocka_unit_test(test_parse_truncated),
        cmocka_unit_test(test_parse_deep_nesting),
        cmocka_unit_test(test_parse_too_big),
        cmocka_unit_test(test_parse_many_containers),
        cmocka_unit_test(test_parse_long_fields),
        cmocka_unit_test_setup_teardown(test_client_resolves_and_caches, client_setup,
                                        client_teardown),
        cmocka_unit_test_setup_teardown(test_client_notifies_on_answer, client_setup,
                                        client_teardown),
        cmocka_unit_test_setup_teardown(test_client_ignores_bad_ids, client_setup, client_teardown),
        cmocka_unit_test_setup_teardown(test_client_negative_cache_and_retry, client_setup,
                                        client_teardown),
        cmocka_unit_test_setup_teardown(test_client_revalidates_after_ttl, client_setup,
                                        client_teardown),
        cmocka_unit_test_setup_teardown(test_client_forget_stops_retries, client_setup,
                                        client_teardown),
        cmocka_unit_test_setup_teardown(test_client_timeout_does_not_block, client_setup,
                                        client_teardown),
        cmocka_unit_test_setup_teardown(test_client_survives_bad_answers, client_setup,
                                        client_teardown),
        cmocka_unit_test_setup_teardown(test_client_lru_eviction, client_setup, client_teardown),
        cmocka_unit_test(test_client_connection_refused),
        cmocka_unit_test_setup_teardown(test_client_metadata_retried_until_known, client_setup,
                                        client_teardown),
        cmocka_unit_test_setup_teardown(test_client_free_is_prompt_while_server_hangs, client_setup,
                                        client_teardown),
        cmocka_unit_test_setup_teardown(test_client_concurrent_use, client_setup, client_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
