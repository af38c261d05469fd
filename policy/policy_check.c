/* `ecsguard policy check FILE`: validate a policy before deploying it. */
#include "policy/policy.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: ecsguard policy check FILE\n"
                 "\n"
                 "Validate a policy file. Prints a one-line summary and exits 0 when it is\n"
                 "valid; prints FILE:LINE:COLUMN: message for every problem and exits 1\n"
                 "when it is not. The format is described in docs/policy.md.\n");
}

int eg_policy_check_main(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
    }
    if (argc < 1 || strcmp(argv[0], "check") != 0) {
        if (argc >= 1)
            fprintf(stderr, "ecsguard policy: unknown command '%s'\n", argv[0]);
        usage(stderr);
        return 2;
    }
    if (argc != 2) {
        fprintf(stderr, "ecsguard policy check: %s\n",
                argc < 2 ? "missing the policy FILE" : "expected exactly one FILE");
        usage(stderr);
        return 2;
    }

    const char *path = argv[1];
    struct eg_policy_errors errs;
    struct eg_policy *p = eg_policy_load_file(path, &errs);
    if (!p) {
        for (unsigned i = 0; i < errs.count; i++) {
            const struct eg_policy_error *e = &errs.items[i];
            if (e->line)
                fprintf(stderr, "%s:%u:%u: %s\n", path, e->line, e->column, e->message);
            else
                fprintf(stderr, "%s: %s\n", path, e->message);
        }
        if (errs.total > errs.count)
            fprintf(stderr, "%s: %u more problems not shown\n", path, errs.total - errs.count);
        return 1;
    }
    char summary[256];
    eg_policy_summary(p, summary, sizeof(summary));
    printf("%s: valid: %s\n", path, summary);
    eg_policy_free(p);
    return 0;
}
