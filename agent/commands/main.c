/* ecsguard: node-level runtime guard for Amazon ECS container instances. */
#include <stdio.h>
#include <string.h>

#include "agent/commands/advise_cmd.h"
#include "agent/commands/lint_cmd.h"
#include "agent/commands/probe_cmd.h"
#include "agent/commands/run.h"
#include "policy/policy.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: ecsguard <command> [options]\n"
                 "\n"
                 "commands:\n"
                 "  run             watch ECS task containers and emit findings (JSON lines)\n"
                 "  probe           report kernel features and the hooks this host supports\n"
                 "  policy check F  validate a policy file\n"
                 "  lint FILE...    check task definitions against the ECS controls\n"
                 "  advise --inventory F TASKDEF   least-privilege task definition from\n"
                 "                  what its containers were observed doing\n"
                 "  version         print the version\n"
                 "\n"
                 "'ecsguard <command> --help' describes each command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "run") == 0)
        return eg_run_main(argc - 1, argv + 1);
    if (strcmp(cmd, "probe") == 0)
        return eg_probe_main(argc - 1, argv + 1);
    if (strcmp(cmd, "policy") == 0) {
        if (argc < 3 || strcmp(argv[2], "--help") == 0) {
            printf("usage: ecsguard policy check FILE\n");
            return argc < 3 ? 2 : 0;
        }
        return eg_policy_check_main(argc - 2, argv + 2);
    }
    if (strcmp(cmd, "lint") == 0)
        return eg_lint_main(argc - 1, argv + 1);
    if (strcmp(cmd, "advise") == 0)
        return eg_advise_main(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0) {
        if (argc > 2 && strcmp(argv[2], "--help") == 0) {
            printf("usage: ecsguard version\n");
            return 0;
        }
        printf("ecsguard %s\n", ECSGUARD_VERSION);
        return 0;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "ecsguard: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
