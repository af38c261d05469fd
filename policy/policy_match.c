/*
 * Deciding what happens to one finding. Runs for every candidate finding on
 * the agent's event thread, so it only walks precompiled data: no allocation,
 * no locks, one relaxed atomic increment when a rule suppresses.
 */
#include "policy/capabilities.h"
#include "policy/policy_internal.h"

#include <stdlib.h>
#include <string.h>

/* The agent passes the registry's own name pointers, so compare pointers first. */
static int type_index(const char *name)
{
    if (!name)
        return -1;
    for (int t = 0; t < EG_FT_COUNT; t++)
        if (eg_finding_type_info((enum eg_finding_type)t)->name == name)
            return t;
    const struct eg_finding_type_info *info = eg_finding_type_by_name(name);
    return info ? (int)info->id : -1;
}

static const char *subject_field(const struct eg_policy_subject *s, enum eg_cond_field f)
{
    switch (f) {
    case EG_COND_TASK_FAMILY:
        return s->task_family;
    case EG_COND_TASK_REVISION:
        return s->task_revision;
    case EG_COND_CONTAINER_NAME:
        return s->container_name;
    case EG_COND_IMAGE:
        return s->image;
    case EG_COND_EXECUTABLE_PATH:
        return s->executable_path;
    case EG_COND_CAPABILITY:
        return s->capability;
    case EG_COND_FILE_PATH:
        return s->file_path;
    case EG_COND_NAMESPACE_KIND:
        return s->namespace_kind;
    case EG_COND_TARGET_PROCESS:
        return s->target_process;
    case EG_COND_ECS_TASK:
        return s->ecs_task;
    case EG_COND_COUNT:
        break;
    }
    return NULL;
}

/* A field the finding does not have (NULL) never satisfies a condition on it. */
static bool cond_holds(const struct eg_policy_cond *c, const char *value)
{
    if (!value)
        return false;
    switch (c->field) {
    case EG_COND_CAPABILITY: {
        int cap = eg_capability_by_name(value, strlen(value));
        return cap >= 0 && (c->mask & (UINT64_C(1) << cap));
    }
    case EG_COND_NAMESPACE_KIND: {
        int ns = eg_ns_kind_by_name(value);
        return ns >= 0 && (c->mask & (UINT64_C(1) << ns));
    }
    case EG_COND_ECS_TASK:
        return c->mask & (strcmp(value, "true") == 0 ? EG_ECS_TASK_YES : EG_ECS_TASK_NO);
    case EG_COND_TASK_REVISION: {
        char *end;
        if (value[0] < '0' || value[0] > '9')
            return false;
        unsigned long rev = strtoul(value, &end, 10);
        if (*end)
            return false;
        for (size_t i = 0; i < c->count; i++)
            if (c->revisions[i] == rev)
                return true;
        return false;
    }
    default:
        for (size_t i = 0; i < c->count; i++)
            if (eg_glob_match(&c->globs[i], value))
                return true;
        return false;
    }
}

static bool rule_matches(const struct eg_policy_rule *r, int type,
                         const struct eg_policy_subject *s)
{
    if (!r->all_types && (type < 0 || !(r->types & (UINT32_C(1) << type))))
        return false;
    for (unsigned i = 0; i < r->ncond; i++)
        if (!cond_holds(&r->conds[i], subject_field(s, r->conds[i].field)))
            return false;
    return true;
}

void eg_policy_evaluate(struct eg_policy *p, const struct eg_policy_subject *subj,
                        double default_severity, struct eg_policy_verdict *out)
{
    out->report = true;
    out->severity = default_severity;
    out->rule_name = NULL;
    if (!p || !subj)
        return;

    int type = type_index(subj->finding_type);
    if (type >= 0) {
        const struct eg_policy_type *pt = &p->types[type];
        if (pt->has_severity)
            out->severity = pt->severity;
        if (!pt->enabled) {
            out->report = false;
            return;
        }
    }
    for (size_t i = 0; i < p->nrules; i++) {
        struct eg_policy_rule *r = &p->rules[i];
        if (rule_matches(r, type, subj)) {
            atomic_fetch_add_explicit(&r->suppressed, 1, memory_order_relaxed);
            out->report = false;
            out->rule_name = r->name;
            return;
        }
    }
}

uint64_t eg_policy_watched_caps(const struct eg_policy *p)
{
    return p ? p->watched_caps : eg_policy_default_watched_caps();
}

const char *const *eg_policy_sensitive_files(const struct eg_policy *p)
{
    static const char *const none[] = {NULL};
    return p && p->sensitive ? (const char *const *)p->sensitive : none;
}

bool eg_policy_is_sensitive_file(const struct eg_policy *p, const char *path)
{
    if (!p || !path)
        return false;
    for (size_t i = 0; i < p->nsensitive; i++)
        if (eg_glob_match(&p->sensitive_globs[i], path))
            return true;
    return false;
}

bool eg_path_patterns_match(const struct eg_path_patterns *pp, const char *path)
{
    if (!pp || !path)
        return false;
    if (pp->all)
        return true;
    for (size_t r = 0; r < pp->nruns; r++)
        for (size_t i = 0; i < pp->runs[r].n; i++)
            if (eg_glob_match(&pp->runs[r].globs[i], path))
                return true;
    return false;
}

struct eg_path_patterns eg_policy_sensitive_patterns(const struct eg_policy *p)
{
    struct eg_path_patterns pp = {0};
    if (p && p->nsensitive) {
        /* One run: the loader keeps the sensitive patterns in one array. */
        pp.runs = &p->sensitive_run;
        pp.nruns = 1;
    }
    return pp;
}

struct eg_path_patterns eg_policy_rootfs_scratch_patterns(const struct eg_policy *p)
{
    struct eg_path_patterns pp = {0};
    if (p) {
        pp.runs = p->rootfs_scratch;
        pp.nruns = p->nrootfs_scratch;
        pp.all = p->rootfs_scratch_all;
    }
    return pp;
}

int eg_policy_index_patterns(struct eg_policy *p)
{
    const uint32_t bit = UINT32_C(1) << EG_FT_ROOTFS_MODIFIED;
    p->sensitive_run = (struct eg_glob_run){.globs = p->sensitive_globs, .n = p->nsensitive};
    /* A disabled type suppresses every path, as evaluating it would. */
    if (!p->types[EG_FT_ROOTFS_MODIFIED].enabled)
        p->rootfs_scratch_all = true;
    size_t n = 0;
    for (size_t i = 0; i < p->nrules; i++) {
        const struct eg_policy_rule *r = &p->rules[i];
        if (!r->all_types && !(r->types & bit))
            continue;
        if (r->ncond == 0)
            p->rootfs_scratch_all = true;
        else if (r->ncond == 1 && r->conds[0].field == EG_COND_FILE_PATH)
            n++;
    }
    if (!n)
        return 0;
    p->rootfs_scratch = calloc(n, sizeof(*p->rootfs_scratch));
    if (!p->rootfs_scratch)
        return -1;
    for (size_t i = 0; i < p->nrules; i++) {
        const struct eg_policy_rule *r = &p->rules[i];
        if ((r->all_types || (r->types & bit)) && r->ncond == 1 &&
            r->conds[0].field == EG_COND_FILE_PATH)
            p->rootfs_scratch[p->nrootfs_scratch++] =
                (struct eg_glob_run){.globs = r->conds[0].globs, .n = r->conds[0].count};
    }
    return 0;
}
