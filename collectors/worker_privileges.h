/*
 * Threads that only talk to the network (the ECS introspection worker, CloudWatch delivery)
 * hold no capabilities. Linux keeps capabilities per thread, so the agent's own drop after
 * start-up (agent/hardening) covers only the thread that does it: each worker gives up
 * everything itself, first thing, before it parses a byte from a socket.
 */
#ifndef ECSGUARD_WORKER_PRIVILEGES_H
#define ECSGUARD_WORKER_PRIVILEGES_H

/* Empties this thread's effective, permitted and inheritable sets. 0, or -1 with errno. */
int eg_worker_drop_capabilities(void);

#endif
