/*
 * Emission: one due finding (agent/pipeline/aggregator.h calls it) is given its ECS task,
 * evaluated against the policy (the only place the policy is evaluated), serialised into one
 * JSON line and written to every sink. It says what became of the finding (enum
 * eg_emit_result); the aggregator keeps the finding's emission state and the counters.
 */
#ifndef ECSGUARD_EMIT_H
#define ECSGUARD_EMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "agent/pipeline/aggregator.h"
#include "collectors/cgroup_path.h"
#include "collectors/ecs_introspection.h"

struct eg_container_table;
struct eg_outputs;
struct eg_policy;

/* ECS is asked only about full Docker ids; other containers are never ECS tasks. */
static inline bool eg_is_docker_id(const char *id)
{
    return strlen(id) == EG_CONTAINER_ID_LEN;
}

struct eg_emitter {
    /* What it reads (owned by the agent). */
    struct eg_ecs_client *ecs;
    struct eg_container_table *containers;
    struct eg_policy *const *policy;  /* the policy in force (replaced on SIGHUP) */
    const struct eg_outputs *outputs; /* the sinks every line goes to */
    const char *hostname;
    uint64_t resolve_grace_ms; /* hold a new finding this long for its ECS task */
    /* Its own. */
    struct eg_ecs_task task_scratch; /* large: kept here, not on the stack */
    char *line;                      /* one serialised finding */
    uint64_t sink_write_failures;    /* lines a sink did not accept */
};

/* Allocates the line buffer (the fields above `task_scratch` are the caller's). 0, or -1. */
int eg_emitter_init(struct eg_emitter *e);
void eg_emitter_fini(struct eg_emitter *e);

/* The aggregator's eg_emit_fn; `ctx` is the struct eg_emitter. */
enum eg_emit_result eg_emit_finding(void *ctx, struct eg_finding *f, uint64_t now_ms, bool final);

#endif
