/*
 * The few facts about GuardDuty's API model the serializer needs at run time: which members of
 * service.runtimeDetails.context (RuntimeContext) the model has. Every other context member a
 * detector writes is an ecsguard extension, which typed consumers (the AWS SDKs) drop, so the
 * line also copies it into service.additionalInfo.value (docs/findings.md). The schema check
 * (tests/finding-schema) proves this list against the SDK's own model on every line.
 */
#ifndef ECSGUARD_GUARDDUTY_MODEL_H
#define ECSGUARD_GUARDDUTY_MODEL_H

#include <stdbool.h>

/* Is `wire_name` a member of the model's RuntimeContext? */
bool eg_gd_runtime_context_member(const char *wire_name);

#endif
