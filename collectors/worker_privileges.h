/*
 * Threads that only talk to the network (the ECS introspection worker, CloudWatch delivery)
 * hold no capabilities. Linux keeps capabilities per thread, so the agent's own drop after
 * start-up (agent/hardening) covers only the thread that does it: each worker gives up
 * everything itself, first thing, before it parses a byte from a socket.
 */
#ifndef ECSGUARD_WORKER_PRIVILEGES_H
#define ECSGUARD_WORKER_PRIVILEGES_H

#include <pthread.h>

/* Empties this thread's effective, permitted and inheritable sets. 0, or -1 with errno. */
int eg_worker_drop_capabilities(void);

/*
 * pthread_create for such a worker: `fn` runs without capabilities, and the drop has happened
 * before this returns. The agent installs its system-call filter on every thread once set-up is
 * done (agent/hardening), and capset is not on the list: a worker that had not yet been
 * scheduled when the filter arrived was killed by its own first call (seen on a loaded host,
 * the CloudWatch spooler). 0, or an error number as pthread_create returns it.
 */
int eg_worker_start(pthread_t *thread, void *(*fn)(void *), void *arg);

#endif
