/* ECS task ARN parsing: both formats, every partition, and the malformed ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "collectors/arn.h"

static void assert_arn(const char *arn, const char *partition, const char *region,
                       const char *account, const char *cluster, const char *task_id)
{
    struct eg_task_arn a;
    memset(&a, 0xAB, sizeof(a));
    if (!eg_task_arn_parse(arn, &a))
        fail_msg("expected a valid task ARN: %s", arn);
    assert_string_equal(a.partition, partition);
    assert_string_equal(a.region, region);
    assert_string_equal(a.account, account);
    assert_string_equal(a.cluster, cluster);
    assert_string_equal(a.task_id, task_id);
}

static void assert_bad_arn(const char *arn)
{
    struct eg_task_arn a, zero;
    memset(&a, 0xAB, sizeof(a));
    memset(&zero, 0, sizeof(zero));
    if (eg_task_arn_parse(arn, &a))
        fail_msg("expected rejection: %s", arn ? arn : "(null)");
    assert_memory_equal(&a, &zero, sizeof(a));
}

static void test_new_format(void **state)
{
    (void)state;
    assert_arn("arn:aws:ecs:us-east-1:012345678910:task/default/5f0b1a9c0d8e4f7a9b6c3d2e1f0a9b8c",
               "aws", "us-east-1", "012345678910", "default", "5f0b1a9c0d8e4f7a9b6c3d2e1f0a9b8c");
    /* From tmds-v4-task.awsdocs-curltest-awsvpc.json. */
    assert_arn("arn:aws:ecs:us-west-2:111122223333:task/default/158d1c8083dd49d6b527399fd6414f5c",
               "aws", "us-west-2", "111122223333", "default", "158d1c8083dd49d6b527399fd6414f5c");
    /* From introspection-v1-task-by-short-dockerid: new format with a UUID id. */
    assert_arn(
        "arn:aws:ecs:us-west-2:012345678910:task/default/e01d58a8-151b-40e8-bc01-22647b9ecfec",
        "aws", "us-west-2", "012345678910", "default", "e01d58a8-151b-40e8-bc01-22647b9ecfec");
    assert_arn("arn:aws:ecs:eu-west-1:210987654321:task/My_Cluster-2/"
               "0123456789abcdef0123456789abcdef",
               "aws", "eu-west-1", "210987654321", "My_Cluster-2",
               "0123456789abcdef0123456789abcdef");
}

static void test_old_format(void **state)
{
    (void)state;
    assert_arn("arn:aws:ecs:us-east-1:012345678910:task/e01d58a8-151b-40e8-bc01-22647b9ecfec",
               "aws", "us-east-1", "012345678910", "", "e01d58a8-151b-40e8-bc01-22647b9ecfec");
}

static void test_partitions(void **state)
{
    (void)state;
    assert_arn("arn:aws-cn:ecs:cn-north-1:012345678910:task/prod/0123456789abcdef0123456789abcdef",
               "aws-cn", "cn-north-1", "012345678910", "prod", "0123456789abcdef0123456789abcdef");
    assert_arn("arn:aws-us-gov:ecs:us-gov-west-1:012345678910:task/prod/"
               "0123456789abcdef0123456789abcdef",
               "aws-us-gov", "us-gov-west-1", "012345678910", "prod",
               "0123456789abcdef0123456789abcdef");
    assert_bad_arn("arn:aws-moon:ecs:us-east-1:012345678910:task/prod/"
                   "0123456789abcdef0123456789abcdef");
    assert_bad_arn("arn:AWS:ecs:us-east-1:012345678910:task/prod/0123456789abcdef0123456789abcdef");
}

static void test_longest_cluster_name(void **state)
{
    (void)state;
    char cluster[256], arn[512];
    memset(cluster, 'c', 255);
    cluster[255] = '\0';
    snprintf(arn, sizeof(arn),
             "arn:aws-us-gov:ecs:us-gov-west-1:012345678910:task/%s/"
             "0123456789abcdef0123456789abcdef",
             cluster);
    assert_arn(arn, "aws-us-gov", "us-gov-west-1", "012345678910", cluster,
               "0123456789abcdef0123456789abcdef");
    /* 256 characters is one too many for an ECS cluster name. */
    snprintf(arn, sizeof(arn),
             "arn:aws:ecs:us-east-1:012345678910:task/%sc/0123456789abcdef0123456789abcdef",
             cluster);
    assert_bad_arn(arn);
}

static void test_malformed(void **state)
{
    (void)state;
    const char *id = "0123456789abcdef0123456789abcdef";
    char arn[256];
    assert_bad_arn(NULL);
    assert_bad_arn("");
    assert_bad_arn("t1"); /* the agent's own unit-test placeholder */
    /* The awsdocs hello-world sample's placeholder id is not hex. */
    assert_bad_arn("arn:aws:ecs:us-west-2:012345678910:task/default/"
                   "example5-58ff-46c9-ae05-543f8example");
    snprintf(arn, sizeof(arn), "arn:aws:ec2:us-east-1:012345678910:task/default/%s", id);
    assert_bad_arn(arn);
    snprintf(arn, sizeof(arn), "arn:aws:ecs:us-east-1:012345678910:container/default/%s", id);
    assert_bad_arn(arn);
    snprintf(arn, sizeof(arn), "arn:aws:ecs:region:012345678910:task/default/%s", id);
    assert_bad_arn(arn);
    snprintf(arn, sizeof(arn), "arn:aws:ecs:us-east-1:aws_account_id:task/default/%s", id);
    assert_bad_arn(arn);
    snprintf(arn, sizeof(arn), "arn:aws:ecs:us-east-1:01234567891:task/default/%s", id);
    assert_bad_arn(arn);
    snprintf(arn, sizeof(arn), "arn:aws:ecs:us-east-:012345678910:task/default/%s", id);
    assert_bad_arn(arn);
    snprintf(arn, sizeof(arn), "arn:aws:ecs:us-east-1a:012345678910:task/default/%s", id);
    assert_bad_arn(arn);
    snprintf(arn, sizeof(arn), "arn:aws:ecs::012345678910:task/default/%s", id);
    assert_bad_arn(arn);
    snprintf(arn, sizeof(arn), "arn:aws:ecs:us-east-1:012345678910:task/default/extra/%s", id);
    assert_bad_arn(arn);
    snprintf(arn, sizeof(arn), "arn:aws:ecs:us-east-1:012345678910:task//%s", id);
    assert_bad_arn(arn);
    snprintf(arn, sizeof(arn), "arn:aws:ecs:us-east-1:012345678910:task/def ault/%s", id);
    assert_bad_arn(arn);
    snprintf(arn, sizeof(arn), "arn:aws:ecs:us-east-1:012345678910:task/default/%s/", id);
    assert_bad_arn(arn);
    snprintf(arn, sizeof(arn), "ARN:aws:ecs:us-east-1:012345678910:task/default/%s", id);
    assert_bad_arn(arn);
    assert_bad_arn("arn:aws:ecs:us-east-1:012345678910:task/default/");
    assert_bad_arn("arn:aws:ecs:us-east-1:012345678910:task/");
    assert_bad_arn("arn:aws:ecs:us-east-1:012345678910:task");
    assert_bad_arn("arn:aws:ecs:us-east-1:012345678910");
    /* Upper-case and truncated task ids. */
    assert_bad_arn("arn:aws:ecs:us-east-1:012345678910:task/default/"
                   "0123456789ABCDEF0123456789ABCDEF");
    assert_bad_arn("arn:aws:ecs:us-east-1:012345678910:task/default/"
                   "0123456789abcdef0123456789abcde");
}

static void test_huge_input(void **state)
{
    (void)state;
    static char big[1 << 16];
    const char *head = "arn:aws:ecs:us-east-1:012345678910:task/";
    memset(big, 'a', sizeof(big) - 1);
    memcpy(big, head, strlen(head));
    assert_bad_arn(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_format), cmocka_unit_test(test_old_format),
        cmocka_unit_test(test_partitions), cmocka_unit_test(test_longest_cluster_name),
        cmocka_unit_test(test_malformed),  cmocka_unit_test(test_huge_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
