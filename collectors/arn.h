/*
 * ECS task ARN parsing: arn:<partition>:ecs:<region>:<account>:task/<cluster>/<id>
 * (new format) and arn:<partition>:ecs:<region>:<account>:task/<id> (old).
 */
#ifndef ECSGUARD_ARN_H
#define ECSGUARD_ARN_H

#include <stdbool.h>

struct eg_task_arn {
    char partition[16];
    char region[32];
    char account[16];
    char cluster[256]; /* "" for the old format */
    char task_id[64];
};

/* Returns true and fills `out` for a well-formed ECS task ARN; false otherwise (out zeroed). */
bool eg_task_arn_parse(const char *arn, struct eg_task_arn *out);

#endif
