/* `ecsguard advise --inventory FILE TASKDEF`: least-privilege advice from observed behaviour. */
#ifndef ECSGUARD_ADVISE_CMD_H
#define ECSGUARD_ADVISE_CMD_H

/* argv[0] is "advise". Exit status 0 advised, 3 too little observation, 2 bad input or usage. */
int eg_advise_main(int argc, char **argv);

#endif
