/* Shared by the controls (taskdef_lint.c) and the host-path control (taskdef_host_paths.c). */
#ifndef ECSGUARD_POLICY_TASKDEF_LINT_INTERNAL_H
#define ECSGUARD_POLICY_TASKDEF_LINT_INTERNAL_H

#include "policy/taskdef_lint.h"

/* What the checks share while they run over one definition. */
struct eg_lint_ctx {
    const struct eg_taskdef *td;
    struct eg_lint_report *out;
    bool failed_alloc;
};

/* Raise the control's verdict for the definition to at least `v`. */
void eg_lint_verdict(struct eg_lint_ctx *L, enum eg_lint_control c, enum eg_lint_verdict v);
/* Add a result (and raise the verdict); line 0 means the definition's own position. */
void eg_lint_add(struct eg_lint_ctx *L, enum eg_lint_control c, enum eg_lint_verdict v,
                 enum eg_lint_severity sev, unsigned line, unsigned column, int container,
                 const char *fmt, ...) __attribute__((format(printf, 8, 9)));
/* The last result's subject, from a KNOWN value. */
void eg_lint_set_subject(struct eg_lint_ctx *L, const struct eg_td_value *v);
/* "container 'app'", or "container #2" when its name is not known. */
void eg_lint_who(const struct eg_td_container *c, size_t i, char *buf, size_t len);
/* An UNKNOWN result: `setting` at `v` is an intrinsic (container c, or the task when NULL). */
void eg_lint_unknown_at(struct eg_lint_ctx *L, enum eg_lint_control ctl,
                        const struct eg_td_value *v, const struct eg_td_container *c, size_t i,
                        const char *setting);
void eg_lint_check_host_paths(struct eg_lint_ctx *L);

/* Whether a value fails a control (one control's test of one setting). */
typedef bool (*eg_lint_fails_fn)(const struct eg_td_value *v);
/*
 * `v` itself, or, for an Fn::If whose two branches both fail or both pass the test, the
 * first branch as a known (or absent) value in `tmp`: what the template does not decide,
 * the control may not need decided.
 */
const struct eg_td_value *eg_lint_decide(const struct eg_td_value *v, eg_lint_fails_fn fails,
                                         struct eg_td_value *tmp);

#endif
