/* The lint's controls: ids, titles, AWS Config rules, severities; and their names. */
#include "policy/taskdef_lint.h"

#include <strings.h>

const struct eg_lint_control_info eg_lint_controls[EG_LINT_CONTROL_COUNT] = {
    [EG_LINT_ECS1] = {"ECS.1", "host network mode needs privileged or a non-root user",
                      "ecs-task-definition-user-for-host-mode-check", EG_LINT_HIGH},
    [EG_LINT_ECS3] = {"ECS.3", "no host PID namespace", "ecs-task-definition-pid-mode-check",
                      EG_LINT_HIGH},
    [EG_LINT_ECS4] = {"ECS.4", "containers run non-privileged", "ecs-containers-nonprivileged",
                      EG_LINT_HIGH},
    [EG_LINT_ECS5] = {"ECS.5", "read-only root filesystems", "ecs-containers-readonly-access",
                      EG_LINT_HIGH},
    [EG_LINT_ECS8] = {"ECS.8", "no secrets in environment variables", "ecs-no-environment-secrets",
                      EG_LINT_HIGH},
    [EG_LINT_ECS9] = {"ECS.9", "a log configuration for every container",
                      "ecs-task-definition-log-configuration", EG_LINT_HIGH},
    [EG_LINT_CAP_ADD] = {"EG.CAP_ADD", "no capabilities added", NULL, EG_LINT_MEDIUM},
    [EG_LINT_CAP_DROP] = {"EG.CAP_DROP", "capabilities dropped (drop ALL)", NULL, EG_LINT_MEDIUM},
    [EG_LINT_USER] = {"EG.USER", "a non-root user", NULL, EG_LINT_MEDIUM},
    [EG_LINT_IPC_HOST] = {"EG.IPC_HOST", "no host IPC namespace", NULL, EG_LINT_HIGH},
    [EG_LINT_HOST_PATH] = {"EG.HOST_PATH", "no sensitive host paths as volumes", NULL,
                           EG_LINT_HIGH},
    [EG_LINT_INIT] = {"EG.INIT", "an init process (initProcessEnabled)", NULL, EG_LINT_LOW},
};

int eg_lint_control_by_id(const char *id)
{
    for (int i = 0; i < EG_LINT_CONTROL_COUNT; i++)
        if (strcasecmp(id, eg_lint_controls[i].id) == 0)
            return i;
    return -1;
}

const char *eg_lint_severity_name(enum eg_lint_severity s)
{
    return s == EG_LINT_HIGH ? "high" : s == EG_LINT_MEDIUM ? "medium" : "low";
}

const char *eg_lint_verdict_name(enum eg_lint_verdict v)
{
    switch (v) {
    case EG_LINT_NOT_APPLICABLE:
        return "not-applicable";
    case EG_LINT_PASS:
        return "pass";
    case EG_LINT_UNKNOWN:
        return "unknown";
    case EG_LINT_FAIL:
        return "fail";
    }
    return "?";
}
