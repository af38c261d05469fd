/*
 * A finding as one JSON line in GuardDuty's finding shape (camelCase, as
 * EventBridge and S3 exports carry it): docs/findings.md.
 */
#ifndef ECSGUARD_FINDING_JSON_H
#define ECSGUARD_FINDING_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "policy/finding.h"
#include "collectors/ecs_introspection.h"

#define EG_FINDING_LINE_MAX (256 * 1024 - 26) /* CloudWatch's per-event limit, portable */

struct eg_finding_view {
    double severity;                     /* after policy */
    uint64_t now_ms;                     /* updatedAt */
    const struct eg_ecs_task *task;      /* NULL when not (yet) resolved */
    const struct eg_ecs_metadata *agent; /* NULL when /v1/metadata is unknown */
    const char *hostname;
    const char *task_resolution; /* "introspection", "containerRuntime", "cgroupPath", "notEcs" */
};

/*
 * Serialize into `out` (NUL-terminated, no newline). Returns the length, or
 * -1 when even the reduced form does not fit (never a partial JSON line).
 */
int eg_finding_to_json(const struct eg_finding *f, const struct eg_finding_view *v, char *out,
                       size_t outlen);

/*
 * A member the model types "timestamp" (process.startTime, context.modifiedAt...): REST-JSON
 * carries it as epoch seconds, a number (here with milliseconds); an ISO string there makes the
 * AWS SDKs reject the whole GetFindings response.
 */
struct json_object *eg_json_epoch_seconds(double epoch_seconds);

/* ISO-8601 UTC with milliseconds, as GuardDuty writes createdAt (a string in the model). */
void eg_format_iso_ms(uint64_t epoch_ms, char out[32]);

#endif
