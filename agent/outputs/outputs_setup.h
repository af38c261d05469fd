/*
 * The agent's sinks, opened from the --output specs: stdout (and anything that is not
 * CloudWatch) before anything can be found, CloudWatch Logs once the ECS client runs (the
 * default stream and region come from the container instance's metadata).
 */
#ifndef ECSGUARD_OUTPUTS_SETUP_H
#define ECSGUARD_OUTPUTS_SETUP_H

#include <stdbool.h>

#include "agent/outputs/sink.h"

#define EG_MAX_SINKS 8

struct eg_ecs_client;

struct eg_outputs {
    struct eg_sink *sinks[EG_MAX_SINKS];
    int n;
};

struct eg_outputs_config {
    const char *const *specs; /* --output: "stdout", "cloudwatch:GROUP[:STREAM]", in order */
    int n_specs;
    const char *spool_dir;     /* NULL: /var/lib/ecsguard/spool */
    const char *hostname;      /* the default stream when the instance's id is not known */
    struct eg_ecs_client *ecs; /* instance metadata; needed only for CloudWatch */
};

/* Open the specs that are CloudWatch (`cloudwatch`) or the others. 0, or -1 (logged). */
int eg_outputs_open(struct eg_outputs *o, const struct eg_outputs_config *c, bool cloudwatch);
/* Add a sink opened elsewhere (owned from here on). 0, or -1 when the set is full. */
int eg_outputs_add(struct eg_outputs *o, struct eg_sink *s);
/* Destroy every sink. */
void eg_outputs_close(struct eg_outputs *o);

#endif
