/*
 * The shipped default policy (policy/default.yaml, compiled in): it loads,
 * it allows ECS's own machinery and ecsguard itself, and the same behaviour
 * from an ordinary task is still reported. Quiet on ordinary workloads, loud
 * on attacks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/policy_internal.h"

#define SYS_ADMIN "PrivilegeEscalation:Runtime/SysAdminCapabilityUsed"
#define NET_ADMIN "PrivilegeEscalation:Runtime/NetAdminCapabilityUsed"
#define HOST_NS "PrivilegeEscalation:Runtime/HostNamespaceEntered"
#define HOST_PID "PrivilegeEscalation:Runtime/ContainerSharesHostPidNamespace"
#define BPF_USED "PrivilegeEscalation:Runtime/BpfCapabilityUsed"
#define ROOTFS "Persistence:Runtime/ContainerRootFilesystemModified"
#define SENSITIVE "Persistence:Runtime/SensitiveFileModified"
#define NEW_BINARY "Execution:Runtime/NewBinaryExecuted"
#define PTRACE "DefenseEvasion:Runtime/ProcessInjection.Ptrace"
#define SIGNALED "Impact:Runtime/HostProcessSignaled"

static struct eg_policy *policy;

static int setup(void **state)
{
    policy = eg_policy_default();
    return policy ? 0 : -1;
}

static int teardown(void **state)
{
    eg_policy_free(policy);
    return 0;
}

static struct eg_policy_verdict eval(struct eg_policy_subject s)
{
    struct eg_policy_verdict v;
    eg_policy_evaluate(policy, &s, 5.0, &v);
    return v;
}

static void allowed(struct eg_policy_subject s, const char *rule)
{
    struct eg_policy_verdict v = eval(s);
    if (v.report || !v.rule_name || strcmp(v.rule_name, rule) != 0)
        fprintf(stderr, "%s: report %d rule %s, wanted rule %s\n", s.finding_type, v.report,
                v.rule_name ? v.rule_name : "(none)", rule);
    assert_false(v.report);
    assert_string_equal(v.rule_name, rule);
}

static void reported(struct eg_policy_subject s)
{
    struct eg_policy_verdict v = eval(s);
    if (!v.report)
        fprintf(stderr, "%s: suppressed by %s\n", s.finding_type,
                v.rule_name ? v.rule_name : "(disabled)");
    assert_true(v.report);
    assert_true(v.severity == 5.0); /* the default policy overrides no severity */
}

static void test_compiled_in_matches_file(void **state)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/../../policy/default.yaml", getenv("ECSGUARD_FIXTURES"));
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    assert_int_equal(n, eg_policy_default_yaml_len);
    assert_memory_equal(buf, eg_policy_default_yaml, n);

    /* And the file itself passes the same loader the agent uses for --policy. */
    struct eg_policy_errors errs;
    struct eg_policy *p = eg_policy_load_file(path, &errs);
    assert_non_null(p);
    eg_policy_free(p);
}

static void test_shape(void **state)
{
    /* Every finding type is listed, enabled, with the registry's severity. */
    for (int t = 0; t < EG_FT_COUNT; t++) {
        assert_true(policy->types[t].configured);
        assert_true(policy->types[t].enabled);
        assert_false(policy->types[t].has_severity);
    }
    assert_int_equal(eg_policy_watched_caps(policy), eg_policy_default_watched_caps());
    assert_int_equal(eg_policy_watched_caps(policy), (1ull << 21) | (1ull << 12) | (1ull << 39));

    /* The file spells out the same sensitive files the code falls back to. */
    const char *const *files = eg_policy_sensitive_files(policy);
    size_t i = 0;
    for (; eg_policy_default_sensitive_files[i]; i++) {
        assert_non_null(files[i]);
        assert_string_equal(files[i], eg_policy_default_sensitive_files[i]);
    }
    assert_null(files[i]);

    static const char *const must[] = {"/etc/passwd",
                                       "/etc/shadow",
                                       "/etc/group",
                                       "/etc/sudoers",
                                       "/etc/sudoers.d/90-cloud",
                                       "/etc/ld.so.preload",
                                       "/etc/crontab",
                                       "/etc/cron.d/job",
                                       "/var/spool/cron/crontabs/root",
                                       "/root/.ssh/authorized_keys",
                                       "/home/ec2-user/.ssh/authorized_keys",
                                       "/root/.bashrc",
                                       "/root/.profile",
                                       "/etc/profile.d/evil.sh",
                                       "/home/app/.bashrc"};
    for (size_t k = 0; k < sizeof(must) / sizeof(must[0]); k++) {
        if (!eg_policy_is_sensitive_file(policy, must[k]))
            fprintf(stderr, "not sensitive: %s\n", must[k]);
        assert_true(eg_policy_is_sensitive_file(policy, must[k]));
    }
    assert_false(eg_policy_is_sensitive_file(policy, "/etc/hostname"));
    assert_false(eg_policy_is_sensitive_file(policy, "/root/.ssh/known_hosts"));
    assert_false(eg_policy_is_sensitive_file(policy, "/var/www/html/index.html"));

    for (size_t r = 0; r < policy->nrules; r++)
        assert_true(strlen(policy->rules[r].reason) > 40);
}

static void test_ecs_agent(void **state)
{
    struct eg_policy_subject s = {.finding_type = SYS_ADMIN,
                                  .container_name = "ecs-agent",
                                  .image = "amazon/amazon-ecs-agent:latest",
                                  .executable_path = "/agent",
                                  .capability = "CAP_SYS_ADMIN",
                                  .ecs_task = "false"};
    allowed(s, "ecs-container-agent");
    s.finding_type = HOST_NS;
    s.namespace_kind = "net";
    allowed(s, "ecs-container-agent");
    s.image = "public.ecr.aws/ecs/amazon-ecs-agent:v1.89.0";
    allowed(s, "ecs-container-agent");

    /* The name alone is not enough, nor the image under another name. */
    struct eg_policy_subject x = s;
    x.image = "docker.io/someone/ecs-agent:latest";
    reported(x);
    x = s;
    x.container_name = "app";
    x.task_family = "web";
    reported(x);
    /* A task container can take the name and run the real image (any task definition can say
     * "name": "ecs-agent", "image": "amazon/amazon-ecs-agent:latest"): it is in a task. */
    x = s;
    x.task_family = "web";
    x.ecs_task = "true";
    reported(x);
    /* Not known to be outside a task: not the ECS agent either. */
    x = s;
    x.ecs_task = NULL;
    reported(x);
}

static void test_pause_container(void **state)
{
    struct eg_policy_subject s = {.finding_type = NET_ADMIN,
                                  .task_family = "web",
                                  .task_revision = "3",
                                  .container_name = "~internal~ecs~pause",
                                  .image = "amazon/amazon-ecs-pause:0.1.0",
                                  .executable_path = "/pause",
                                  .capability = "CAP_NET_ADMIN"};
    allowed(s, "ecs-awsvpc-pause-container");
    struct eg_policy_subject x = s;
    x.container_name = "app";
    x.image = "nginx:1.27";
    x.executable_path = "/usr/sbin/nginx";
    reported(x);
    x = s;
    x.container_name = "pause"; /* a user container that calls itself pause */
    x.image = "amazon/amazon-ecs-pause:0.1.0";
    reported(x);
    /* the agent names the unlisted pause container; the API gives no image for it */
    x = s;
    x.image = NULL;
    allowed(x, "ecs-awsvpc-pause-container");
}

static void test_ecs_exec(void **state)
{
    struct eg_policy_subject s = {.finding_type = ROOTFS,
                                  .task_family = "web",
                                  .container_name = "app",
                                  .image = "nginx:1.27",
                                  .executable_path =
                                      "/managed-agents/execute-command/amazon-ssm-agent",
                                  .file_path = "/var/lib/amazon/ssm/ipc/health"};
    allowed(s, "ecs-exec-ssm-agent");
    s.executable_path = "/managed-agents/execute-command/ssm-session-worker";
    allowed(s, "ecs-exec-ssm-agent");
    s.finding_type = SYS_ADMIN;
    s.capability = "CAP_SYS_ADMIN";
    allowed(s, "ecs-exec-ssm-agent");

    /* What a session then does is reported: the shell, and attacks by the worker itself. */
    struct eg_policy_subject x = s;
    x.executable_path = "/bin/bash";
    reported(x);
    x = s;
    x.finding_type = PTRACE;
    x.target_process = "/usr/sbin/sshd";
    reported(x);
    x = s;
    x.finding_type = SENSITIVE;
    x.file_path = "/etc/passwd";
    reported(x);
    x = s;
    x.executable_path = "/tmp/managed-agents/execute-command/x";
    reported(x);
}

static void test_ecsguard_itself(void **state)
{
    struct eg_policy_subject s = {.finding_type = BPF_USED,
                                  .task_family = "ecsguard",
                                  .container_name = "ecsguard",
                                  .capability = "CAP_BPF"};
    allowed(s, "ecsguard-agent");
    s.finding_type = HOST_PID;
    allowed(s, "ecsguard-agent");
    s.task_family = "ecsguard-dev";
    reported(s);
    s.task_family = "web";
    reported(s);
}

static void test_quiet_on_ordinary_workloads(void **state)
{
    /* A web server writes its pid file, cache and logs into its root filesystem. */
    static const char *const scratch[] = {
        "/run/nginx.pid",  "/var/run/nginx.pid",        "/var/cache/nginx/client_temp/1",
        "/tmp/upload.123", "/var/log/nginx/access.log", "/var/tmp/sess"};
    for (size_t i = 0; i < sizeof(scratch) / sizeof(scratch[0]); i++)
        allowed((struct eg_policy_subject){.finding_type = ROOTFS,
                                           .task_family = "web",
                                           .container_name = "nginx",
                                           .image = "nginx:1.27",
                                           .executable_path = "/usr/sbin/nginx",
                                           .file_path = scratch[i]},
                "service-scratch-files");
}

static void test_loud_on_attacks(void **state)
{
    struct eg_policy_subject base = {.task_family = "web",
                                     .task_revision = "12",
                                     .container_name = "app",
                                     .image = "nginx:1.27"};
    struct eg_policy_subject s;

    s = base; /* mount / unshare from a compromised container */
    s.finding_type = SYS_ADMIN;
    s.executable_path = "/usr/bin/mount";
    s.capability = "CAP_SYS_ADMIN";
    reported(s);
    s = base; /* nsenter -t 1 */
    s.finding_type = HOST_NS;
    s.executable_path = "/usr/bin/nsenter";
    s.namespace_kind = "mnt";
    reported(s);
    s = base; /* dropping a tool into /tmp and running it */
    s.finding_type = NEW_BINARY;
    s.executable_path = "/tmp/xmrig";
    s.file_path = "/tmp/xmrig";
    reported(s);
    s = base; /* replacing a system binary */
    s.finding_type = ROOTFS;
    s.executable_path = "/bin/sh";
    s.file_path = "/usr/bin/ls";
    reported(s);
    s = base; /* adding an account, and an authorized key */
    s.finding_type = SENSITIVE;
    s.file_path = "/etc/passwd";
    reported(s);
    s.file_path = "/root/.ssh/authorized_keys";
    reported(s);
    s = base; /* injecting into or killing host processes */
    s.finding_type = PTRACE;
    s.executable_path = "/usr/bin/gdb";
    s.target_process = "/usr/bin/dockerd";
    reported(s);
    s.finding_type = SIGNALED;
    reported(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compiled_in_matches_file),
        cmocka_unit_test(test_shape),
        cmocka_unit_test(test_ecs_agent),
        cmocka_unit_test(test_pause_container),
        cmocka_unit_test(test_ecs_exec),
        cmocka_unit_test(test_ecsguard_itself),
        cmocka_unit_test(test_quiet_on_ordinary_workloads),
        cmocka_unit_test(test_loud_on_attacks),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
