/*
 * Least-privilege advice: the tightest task definition that still allows what the behaviour
 * inventory (policy/inventory.h) observed its containers doing. Per container: capabilities
 * `drop: ["ALL"]` plus only those used, `privileged` removed, a read-only root filesystem with a
 * tmpfs or a volume for each directory written; per task: `pidMode` host removed when nothing
 * used it. Each change carries its evidence and a confidence; the result is a JSON patch
 * (RFC 6902) against the file as read and the whole rewritten document. Rules and their reasons:
 * docs/posture.md.
 */
#ifndef ECSGUARD_POLICY_TASKDEF_ADVISE_H
#define ECSGUARD_POLICY_TASKDEF_ADVISE_H

#include <stdint.h>

#include "policy/inventory.h"
#include "policy/taskdef.h"

struct json_object;

struct eg_advise_options {
    uint64_t min_observation_ms; /* less observation than this: no advice */
    uint64_t now_ms;
};

enum eg_advise_status {
    EG_ADVISE_OK = 0,         /* advice made (possibly: nothing to change) */
    EG_ADVISE_TOO_LITTLE = 3, /* not observed long enough, or not at all */
    EG_ADVISE_ERROR = 2,      /* the definition cannot be rewritten (message in `err`) */
};

/*
 * Advice for definition `def` of file `f` from `inv`. On EG_ADVISE_OK and EG_ADVISE_TOO_LITTLE
 * *out is the advice document: the definition, the observation, the changes with evidence and
 * confidence, notes, and (OK only) "patch" and "advisedDocument". On EG_ADVISE_ERROR, `err`.
 */
enum eg_advise_status eg_advise_taskdef(const struct eg_taskdef_file *f, size_t def,
                                        const struct eg_inventory *inv,
                                        const struct eg_advise_options *opt,
                                        struct json_object **out, char *err, size_t errlen);

/*
 * The same against `doc` (eg_taskdef_document_json of `f`; the caller's, rewritten in place and
 * not put in *out): the definitions of one file advised one after the other into one document.
 * A definition's lintOfAdvised is of the document as it stands after its own changes.
 */
enum eg_advise_status eg_advise_taskdef_in(const struct eg_taskdef_file *f, size_t def,
                                           const struct eg_inventory *inv,
                                           const struct eg_advise_options *opt,
                                           struct json_object *doc, struct json_object **out,
                                           char *err, size_t errlen);

/* The parsed document as JSON (YAML scalars typed as YAML reads them; CloudFormation tags as
 * their JSON intrinsic forms). NULL out of memory. */
struct json_object *eg_taskdef_document_json(const struct eg_taskdef_file *f);

/* "1h", "30m", "2d", "45s", "500ms", or plain seconds; -1 when not a duration. */
int64_t eg_parse_duration_ms(const char *s);

#endif
