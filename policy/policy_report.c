/* What the policy is and what it has suppressed: health output and a one-line summary. */
#include "policy/capabilities.h"
#include "policy/policy_internal.h"

#include <json-c/json.h>
#include <stdio.h>

static unsigned popcount64(uint64_t v)
{
    unsigned n = 0;
    for (; v; v &= v - 1)
        n++;
    return n;
}

void eg_policy_stats(const struct eg_policy *p, struct json_object *obj)
{
    if (!p || !obj)
        return;
    struct json_object *pol = json_object_new_object();
    struct json_object *types = json_object_new_object();
    struct json_object *disabled = json_object_new_array();
    struct json_object *overrides = json_object_new_object();
    struct json_object *caps = json_object_new_array();
    struct json_object *rules = json_object_new_array();
    int enabled = 0;
    uint64_t total = 0;

    json_object_object_add(pol, "source", json_object_new_string(p->source));
    for (int t = 0; t < EG_FT_COUNT; t++) {
        const char *name = eg_finding_type_info((enum eg_finding_type)t)->name;
        if (p->types[t].enabled)
            enabled++;
        else
            json_object_array_add(disabled, json_object_new_string(name));
        if (p->types[t].has_severity)
            json_object_object_add(overrides, name, json_object_new_double(p->types[t].severity));
    }
    json_object_object_add(types, "enabled", json_object_new_int(enabled));
    json_object_object_add(types, "disabled", disabled);
    json_object_object_add(types, "severity_overrides", overrides);
    json_object_object_add(pol, "finding_types", types);

    for (int c = 0; c <= EG_CAP_LAST; c++)
        if (p->watched_caps & (UINT64_C(1) << c))
            json_object_array_add(caps, json_object_new_string(eg_capability_name(c)));
    json_object_object_add(pol, "watched_capabilities", caps);
    json_object_object_add(pol, "sensitive_files", json_object_new_int64((int64_t)p->nsensitive));

    for (size_t i = 0; i < p->nrules; i++) {
        uint64_t n = atomic_load_explicit(&p->rules[i].suppressed, memory_order_relaxed);
        struct json_object *r = json_object_new_object();
        json_object_object_add(r, "name", json_object_new_string(p->rules[i].name));
        json_object_object_add(r, "suppressed", json_object_new_int64((int64_t)n));
        json_object_array_add(rules, r);
        total += n;
    }
    json_object_object_add(pol, "rules", rules);
    json_object_object_add(pol, "suppressed", json_object_new_int64((int64_t)total));
    json_object_object_add(obj, "policy", pol);
}

void eg_policy_summary(const struct eg_policy *p, char *buf, size_t len)
{
    if (!buf || len == 0)
        return;
    if (!p) {
        snprintf(buf, len, "no policy");
        return;
    }
    unsigned enabled = 0, overrides = 0;
    for (int t = 0; t < EG_FT_COUNT; t++) {
        enabled += p->types[t].enabled;
        overrides += p->types[t].has_severity;
    }
    unsigned ncaps = popcount64(p->watched_caps);
    snprintf(buf, len,
             "%u of %d finding types enabled, %u severity override%s, %zu allow rule%s, %u "
             "watched capabilit%s, %zu sensitive file pattern%s",
             enabled, EG_FT_COUNT, overrides, overrides == 1 ? "" : "s", p->nrules,
             p->nrules == 1 ? "" : "s", ncaps, ncaps == 1 ? "y" : "ies", p->nsensitive,
             p->nsensitive == 1 ? "" : "s");
}
