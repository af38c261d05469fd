/* Container inspect bodies from the Docker Engine API: ECS labels, plain containers, bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "collectors/docker_api.h"

#define ID "5b1b2fd4fd2a0c1d2a7f3e0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d"

static void ecs_labels_make_a_task(void **state)
{
    (void)state;
    const char *body =
        "{\"Id\":\"" ID "\",\"Name\":\"/ecs-web-3-app-c6a1f2d3e4b5a6978800\","
        "\"Image\":\"sha256:1111\",\"Config\":{\"Image\":\"nginx:1.27\",\"Labels\":{"
        "\"com.amazonaws.ecs.task-arn\":\"arn:aws:ecs:us-west-2:123456789012:task/prod/"
        "0123456789abcdef0123456789abcdef\",\"com.amazonaws.ecs.container-name\":\"app\","
        "\"com.amazonaws.ecs.task-definition-family\":\"web\","
        "\"com.amazonaws.ecs.task-definition-version\":\"3\"}}}";
    struct eg_ecs_task t;
    char err[128];
    assert_int_equal(eg_docker_parse_container(body, strlen(body), ID, &t, err, sizeof(err)), 0);
    assert_string_equal(t.family, "web");
    assert_string_equal(t.version, "3");
    assert_non_null(strstr(t.arn, ":task/prod/"));
    assert_int_equal(t.n_containers, 1);
    assert_string_equal(t.containers[0].name, "app");
    assert_string_equal(t.containers[0].docker_name, "ecs-web-3-app-c6a1f2d3e4b5a6978800");
    assert_string_equal(t.containers[0].image, "nginx:1.27");
    assert_string_equal(t.containers[0].docker_id, ID);
}

static void plain_container_has_its_docker_name(void **state)
{
    (void)state;
    const char *body = "{\"Id\":\"" ID "\",\"Name\":\"/ecs-agent\","
                       "\"Config\":{\"Image\":\"amazon/amazon-ecs-agent:latest\",\"Labels\":null}}";
    struct eg_ecs_task t;
    char err[128];
    assert_int_equal(eg_docker_parse_container(body, strlen(body), ID, &t, err, sizeof(err)), 0);
    assert_string_equal(t.arn, "");
    assert_string_equal(t.family, "");
    assert_string_equal(t.containers[0].name, "ecs-agent");
    assert_string_equal(t.containers[0].image, "amazon/amazon-ecs-agent:latest");
}

static void bad_bodies_are_rejected(void **state)
{
    (void)state;
    struct eg_ecs_task t;
    char err[128];
    const char *bodies[] = {
        "{\"message\":\"No such container\"}",  /* no Id */
        "{\"Id\":\"" ID "0\",\"Name\":\"/x\"}", /* another id */
        "[1,2,3]",                              /* not an object */
        "{\"Id\":\"" ID "\",\"Name\":",         /* truncated */
        "\xff\xfe garbage",                     /* not JSON */
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        err[0] = '\0';
        assert_int_equal(
            eg_docker_parse_container(bodies[i], strlen(bodies[i]), ID, &t, err, sizeof(err)), -1);
        assert_true(err[0] != '\0');
    }
    assert_int_equal(eg_docker_parse_container("", 0, ID, &t, err, sizeof(err)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ecs_labels_make_a_task),
        cmocka_unit_test(plain_container_has_its_docker_name),
        cmocka_unit_test(bad_bodies_are_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
