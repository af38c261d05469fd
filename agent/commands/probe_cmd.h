/* `ecsguard probe`: what this kernel offers and which attach point each hook gets. */
#ifndef ECSGUARD_PROBE_CMD_H
#define ECSGUARD_PROBE_CMD_H

int eg_probe_main(int argc, char **argv);

#endif
