/*
 * Every kernel concern the agent loads, in load order. The lifecycle object
 * comes first: it creates the maps all the others share. A new concern adds
 * its loader file (agent/bpf_<concern>.c) and one line here.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "agent/kernel/bpf_loader.h"

extern const struct eg_bpf_concern eg_bpf_lifecycle_concern;
extern const struct eg_bpf_concern eg_bpf_cap_concern;
extern const struct eg_bpf_concern eg_bpf_rootfs_concern;
extern const struct eg_bpf_concern eg_bpf_hostns_concern;
extern const struct eg_bpf_concern eg_bpf_compat_concern;

const struct eg_bpf_concern *const eg_bpf_concerns[] = {
    &eg_bpf_lifecycle_concern, &eg_bpf_cap_concern,    &eg_bpf_rootfs_concern,
    &eg_bpf_hostns_concern,    &eg_bpf_compat_concern, NULL,
};

const char *eg_bpf_forced(const struct eg_bpf_options *opt, const char *hook)
{
    for (int i = 0; opt && i < opt->n_force; i++)
        if (strcmp(opt->force[i].hook, hook) == 0)
            return opt->force[i].variant;
    return NULL;
}

static const struct eg_bpf_concern *concern_named(const char *name, size_t len)
{
    for (int i = 0; eg_bpf_concerns[i]; i++)
        if (strlen(eg_bpf_concerns[i]->hook) == len &&
            strncmp(eg_bpf_concerns[i]->hook, name, len) == 0)
            return eg_bpf_concerns[i];
    return NULL;
}

/* "a|b|c" into buf: the names a usage error lists. */
static void list_names(char *buf, size_t len, const char *const *names, size_t n_names)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n_names && names[i] && used < len; i++) {
        int w = snprintf(buf + used, len - used, "%s%s", i ? "|" : "", names[i]);
        used += w > 0 ? (size_t)w : 0;
    }
}

int eg_bpf_force_parse(const char *arg, struct eg_bpf_options *opt, char *err, size_t errlen)
{
    const char *eq = strchr(arg, '=');
    const struct eg_bpf_concern *c = eq ? concern_named(arg, (size_t)(eq - arg)) : NULL;
    if (!c) {
        const char *hooks[8];
        size_t n = 0;
        for (int i = 0; eg_bpf_concerns[i] && n < 8; i++)
            hooks[n++] = eg_bpf_concerns[i]->hook;
        char names[160];
        list_names(names, sizeof(names), hooks, n);
        snprintf(err, errlen, "expected CONCERN=VARIANT, CONCERN one of %s", names);
        return -1;
    }
    const char *variant = eq + 1;
    /* "off": a concern the agent can run without is not loaded at all (diagnosis, tests). */
    bool off = strcmp(variant, EG_HOOK_OFF) == 0;
    if (off && c->essential) {
        snprintf(err, errlen, "%s cannot be turned off: the agent needs it", c->hook);
        return -1;
    }
    for (int i = 0; off || (c->variants && c->variants[i]); i++) {
        if (!off && strcmp(c->variants[i], variant) != 0)
            continue;
        if (eg_bpf_forced(opt, c->hook)) {
            snprintf(err, errlen, "%s is forced twice", c->hook);
            return -1;
        }
        if (opt->n_force >= EG_HOOK_FORCE_MAX) {
            snprintf(err, errlen, "too many --hook options");
            return -1;
        }
        opt->force[opt->n_force++] = (struct eg_hook_force){.hook = c->hook, .variant = variant};
        return 0;
    }
    char names[160];
    list_names(names, sizeof(names), c->variants, 8);
    snprintf(err, errlen, "%s has the variants %s%s", c->hook, names,
             c->essential ? "" : " (or off)");
    return -1;
}
