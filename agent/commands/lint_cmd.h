/* `ecsguard lint FILE...`: the task-definition controls, offline (docs/posture.md). */
#ifndef ECSGUARD_LINT_CMD_H
#define ECSGUARD_LINT_CMD_H

/* argv[0] is "lint". Exit status 0 pass, 1 failures, 2 unreadable input or usage. */
int eg_lint_main(int argc, char **argv);

#endif
