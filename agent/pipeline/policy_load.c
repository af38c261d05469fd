/*
 * Policy load and reload: parse --policy (or take the built-in default), log a rejected
 * file's problems, swap a valid reload in and count reloads. What the kernel watches follows
 * the policy; setting it is the caller's (agent/commands/run.c).
 */
#include "agent/pipeline/policy_load.h"

#include <stddef.h>
#include <string.h>

#include "agent/common/log.h"
#include "policy/policy.h"

static struct eg_policy *load_policy(const char *path)
{
    if (!path)
        return eg_policy_default();
    struct eg_policy_errors errs;
    memset(&errs, 0, sizeof(errs));
    struct eg_policy *p = eg_policy_load_file(path, &errs);
    if (!p) {
        for (unsigned i = 0; i < errs.count; i++)
            eg_log_error("%s:%u:%u: %s", path, errs.items[i].line, errs.items[i].column,
                         errs.items[i].message);
        if (errs.total > errs.count)
            eg_log_error("%s: %u more problems", path, errs.total - errs.count);
    }
    return p;
}

int eg_policy_state_load(struct eg_policy_state *s, const char *file, uint64_t watched_caps)
{
    s->file = file;
    s->watched_caps = watched_caps;
    s->policy = load_policy(file);
    return s->policy ? 0 : -1;
}

uint64_t eg_policy_state_watched_caps(const struct eg_policy_state *s)
{
    return s->watched_caps ? s->watched_caps : eg_policy_watched_caps(s->policy);
}

int eg_policy_state_reload(struct eg_policy_state *s,
                           void (*installed)(void *ctx, const struct eg_policy *p), void *ctx)
{
    if (!s->file) {
        eg_log_info("SIGHUP: no --policy file; the built-in policy stays");
        return -1;
    }
    struct eg_policy *p = load_policy(s->file);
    if (!p) {
        s->reload_failures++;
        eg_log_error("policy reload rejected; the previous policy stays in force");
        return -1;
    }
    struct eg_policy *old = s->policy;
    s->policy = p;
    if (installed)
        installed(ctx, p);
    eg_policy_free(old);
    s->reloads++;
    char summary[256];
    eg_policy_summary(p, summary, sizeof(summary));
    eg_log_info("policy reloaded from %s: %s", s->file, summary);
    return 0;
}

void eg_policy_state_free(struct eg_policy_state *s)
{
    if (s->policy)
        eg_policy_free(s->policy);
    s->policy = NULL;
}
