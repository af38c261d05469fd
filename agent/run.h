/* `ecsguard run`: the agent's lifecycle (start-up, event loop, shutdown). */
#ifndef ECSGUARD_RUN_H
#define ECSGUARD_RUN_H

/* argv[0] is "run". Returns the process exit status. */
int eg_run_main(int argc, char **argv);

#endif
