/*
 * Loading a policy: read at most EG_POLICY_MAX_BYTES, parse the YAML into a
 * bounded tree, then read each section, reporting every problem with its
 * line and column. A policy with any problem is rejected as a whole, so a
 * typo can never silently weaken detection.
 */
#include "policy/capabilities.h"
#include "policy/policy_schema.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EG_POLICY_MAX_BYTES (4u << 20)

enum { TOP_VERSION, TOP_FINDINGS, TOP_ALLOW, TOP_WATCH, TOP_SENSITIVE, TOP_COUNT };
static const char *const top_keys[TOP_COUNT] = {"version", "findings", "allow", "watch",
                                                "sensitive_files"};
static const char *const type_keys[] = {"enabled", "severity"};
static const char *const watch_keys[] = {"capabilities"};

static void load_finding_type(struct eg_loader *L, const struct eg_ynode *key,
                              const struct eg_ynode *val)
{
    const char *name;
    if (!eg_read_string(L, key, "finding type", &name))
        return;
    int t = eg_read_finding_type(L, key, name);
    if (t < 0)
        return;
    struct eg_policy_type *pt = &L->policy->types[t];
    if (pt->configured) {
        EG_LOAD_ERROR(L, key, "finding type '%s' is configured twice", name);
        return;
    }
    pt->configured = true;
    if (eg_ynode_is_null(val))
        return;
    if (val->type != EG_YNODE_MAPPING) {
        EG_LOAD_ERROR(L, val, "settings for '%s' must be a mapping (enabled, severity), found %s",
                      name, eg_ynode_kind(val));
        return;
    }
    uint64_t seen = 0;
    for (size_t i = 0; i + 1 < val->count; i += 2) {
        int k = eg_read_key(L, val->items[i], type_keys, 2, &seen, "in a finding type's settings");
        if (k == 0)
            eg_read_bool(L, val->items[i + 1], "enabled", &pt->enabled);
        else if (k == 1 && eg_read_severity(L, val->items[i + 1], &pt->severity))
            pt->has_severity = true;
    }
}

static void load_findings(struct eg_loader *L, const struct eg_ynode *m)
{
    if (eg_ynode_is_null(m))
        return;
    if (m->type != EG_YNODE_MAPPING) {
        EG_LOAD_ERROR(L, m, "'findings' must be a mapping of finding type names, found %s",
                      eg_ynode_kind(m));
        return;
    }
    for (size_t i = 0; i + 1 < m->count; i += 2)
        load_finding_type(L, m->items[i], m->items[i + 1]);
}

static bool add_watched_cap(struct eg_loader *L, const struct eg_ynode *item, const char *s,
                            void *ctx)
{
    int cap = eg_capability_by_name(s, item->len);
    if (cap < 0) {
        char q[72];
        eg_policy_quote(q, sizeof(q), item->value, item->len, 64);
        EG_LOAD_ERROR(L, item, "unknown capability '%s'", q);
        return false;
    }
    L->policy->watched_caps |= UINT64_C(1) << cap;
    return true;
}

static void load_watch(struct eg_loader *L, const struct eg_ynode *m)
{
    if (eg_ynode_is_null(m))
        return;
    if (m->type != EG_YNODE_MAPPING) {
        EG_LOAD_ERROR(L, m, "'watch' must be a mapping (capabilities), found %s", eg_ynode_kind(m));
        return;
    }
    uint64_t seen = 0;
    for (size_t i = 0; i + 1 < m->count; i += 2) {
        if (eg_read_key(L, m->items[i], watch_keys, 1, &seen, "in 'watch'") != 0)
            continue;
        /* Listing the section replaces the default set, even with an empty list. */
        L->policy->watched_caps = 0;
        eg_read_string_list(L, m->items[i + 1], "capabilities", true, add_watched_cap, NULL);
    }
}

static bool add_sensitive(struct eg_policy *p, const char *pattern, size_t len, char *err,
                          size_t errlen)
{
    struct eg_glob g;
    if (eg_glob_compile(&g, pattern, len, EG_GLOB_DIR_PREFIX, err, errlen) < 0)
        return false;
    /* Doubling keeps a long list linear to load; +1 for the NULL terminator. */
    bool room = p->nsensitive < p->sensitive_cap;
    if (!room) {
        size_t cap = p->sensitive_cap ? p->sensitive_cap * 2 : 64;
        char **names = realloc(p->sensitive, (cap + 1) * sizeof(*names));
        if (names)
            p->sensitive = names;
        struct eg_glob *globs = realloc(p->sensitive_globs, cap * sizeof(*globs));
        if (globs)
            p->sensitive_globs = globs;
        room = names && globs;
        if (room)
            p->sensitive_cap = cap;
    }
    char *copy = room ? strndup(pattern, len) : NULL;
    if (!copy) {
        eg_glob_free(&g);
        snprintf(err, errlen, "out of memory");
        return false;
    }
    p->sensitive[p->nsensitive] = copy;
    p->sensitive[p->nsensitive + 1] = NULL;
    p->sensitive_globs[p->nsensitive++] = g;
    return true;
}

static bool add_sensitive_item(struct eg_loader *L, const struct eg_ynode *item, const char *s,
                               void *ctx)
{
    char q[72], err[96];
    eg_policy_quote(q, sizeof(q), item->value, item->len, 64);
    if (s[0] != '/') {
        EG_LOAD_ERROR(L, item, "sensitive file '%s' must be an absolute path", q);
        return false;
    }
    if (!add_sensitive(L->policy, s, item->len, err, sizeof(err))) {
        EG_LOAD_ERROR(L, item, "invalid pattern '%s' in 'sensitive_files': %s", q, err);
        return false;
    }
    return true;
}

static void load_version(struct eg_loader *L, const struct eg_ynode *v)
{
    if (!eg_ynode_is(v, "1")) {
        char q[40];
        eg_policy_quote(q, sizeof(q), v->value ? v->value : "", v->value ? v->len : 0, 32);
        if (v->type == EG_YNODE_SCALAR)
            EG_LOAD_ERROR(L, v, "unsupported policy version '%s' (this agent reads version 1)", q);
        else
            EG_LOAD_ERROR(L, v, "'version' must be the number 1, found %s", eg_ynode_kind(v));
    }
}

static void load_root(struct eg_loader *L, const struct eg_ynode *root, bool *has_sensitive)
{
    if (eg_ynode_is_null(root))
        return;
    if (root->type != EG_YNODE_MAPPING) {
        EG_LOAD_ERROR(L, root,
                      "a policy must be a mapping of sections (version, findings, allow, watch, "
                      "sensitive_files), found %s",
                      eg_ynode_kind(root));
        return;
    }
    uint64_t seen = 0;
    for (size_t i = 0; i + 1 < root->count; i += 2) {
        const struct eg_ynode *val = root->items[i + 1];
        switch (eg_read_key(L, root->items[i], top_keys, TOP_COUNT, &seen, "at the top level")) {
        case TOP_VERSION:
            load_version(L, val);
            break;
        case TOP_FINDINGS:
            load_findings(L, val);
            break;
        case TOP_ALLOW:
            eg_load_allow_rules(L, val);
            break;
        case TOP_WATCH:
            load_watch(L, val);
            break;
        case TOP_SENSITIVE:
            *has_sensitive = true;
            eg_read_string_list(L, val, "sensitive_files", true, add_sensitive_item, NULL);
            break;
        default:
            break;
        }
    }
}

static int compare_errors(const void *a, const void *b)
{
    const struct eg_policy_error *x = a, *y = b;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return x->column < y->column ? -1 : x->column > y->column;
}

struct eg_policy *eg_policy_load_buffer(const char *name, const char *yaml, size_t len,
                                        struct eg_policy_errors *errs)
{
    struct eg_policy_errors local;
    if (!errs)
        errs = &local;
    memset(errs, 0, sizeof(*errs));
    if (len > EG_POLICY_MAX_BYTES) {
        eg_policy_error_add(errs, 1, 1, "policy is larger than %u bytes", EG_POLICY_MAX_BYTES);
        return NULL;
    }
    if (!yaml && len) {
        eg_policy_error_add(errs, 0, 0, "no policy text");
        return NULL;
    }

    struct eg_policy *p = calloc(1, sizeof(*p));
    if (!p || !(p->source = strdup(name ? name : "policy"))) {
        free(p);
        eg_policy_error_add(errs, 0, 0, "out of memory");
        return NULL;
    }
    for (int t = 0; t < EG_FT_COUNT; t++)
        p->types[t].enabled = true;
    p->watched_caps = eg_policy_default_watched_caps();

    bool parsed = false, has_sensitive = false;
    struct eg_ynode *root = eg_yaml_tree_parse(yaml ? yaml : "", len, errs, &parsed);
    struct eg_loader L = {.policy = p, .errs = errs};
    if (parsed)
        load_root(&L, root, &has_sensitive);
    eg_yaml_tree_free(root);

    /* Sections left out keep the built-in lists. */
    char err[96];
    for (size_t i = 0; !has_sensitive && errs->total == 0 && eg_policy_default_sensitive_files[i];
         i++) {
        const char *f = eg_policy_default_sensitive_files[i];
        if (!add_sensitive(p, f, strlen(f), err, sizeof(err)))
            eg_policy_error_add(errs, 0, 0, "built-in sensitive file '%s': %s", f, err);
    }
    /* An empty list still needs its NULL terminator for eg_policy_sensitive_files. */
    if (errs->total == 0 && !p->sensitive && !(p->sensitive = calloc(1, sizeof(char *))))
        eg_policy_error_add(errs, 0, 0, "out of memory");

    if (errs->total == 0 && eg_policy_index_patterns(p) != 0)
        eg_policy_error_add(errs, 0, 0, "out of memory");

    if (errs->total > 0) {
        /* Sections are read in file order, but duplicates are found at the end. */
        qsort(errs->items, errs->count, sizeof(errs->items[0]), compare_errors);
        eg_policy_free(p);
        return NULL;
    }
    return p;
}

struct eg_policy *eg_policy_load_file(const char *path, struct eg_policy_errors *errs)
{
    struct eg_policy_errors local;
    if (!errs)
        errs = &local;
    memset(errs, 0, sizeof(*errs));

    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f) {
        eg_policy_error_add(errs, 0, 0, "cannot open: %s", strerror(path ? errno : EINVAL));
        return NULL;
    }
    /* One byte past the limit tells "too large" from "exactly at the limit". */
    size_t cap = EG_POLICY_MAX_BYTES + 1, len = 0;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        eg_policy_error_add(errs, 0, 0, "out of memory");
        return NULL;
    }
    while (len < cap) {
        size_t n = fread(buf + len, 1, cap - len, f);
        if (n == 0)
            break;
        len += n;
    }
    int read_errno = ferror(f) ? errno : 0;
    fclose(f);
    if (read_errno) {
        free(buf);
        eg_policy_error_add(errs, 0, 0, "cannot read: %s", strerror(read_errno));
        return NULL;
    }
    struct eg_policy *p = eg_policy_load_buffer(path, buf, len, errs);
    free(buf);
    return p;
}

struct eg_policy *eg_policy_default(void)
{
    struct eg_policy_errors errs;
    struct eg_policy *p = eg_policy_load_buffer("built-in", (const char *)eg_policy_default_yaml,
                                                eg_policy_default_yaml_len, &errs);
    if (p)
        return p;
    /*
     * Unreachable unless policy/default.yaml was broken at build time (the unit
     * tests load it). Fall back to no allow rules: louder, never blind.
     */
    for (unsigned i = 0; i < errs.count; i++)
        fprintf(stderr, "built-in policy:%u:%u: %s\n", errs.items[i].line, errs.items[i].column,
                errs.items[i].message);
    p = eg_policy_load_buffer("built-in (fallback)", "", 0, &errs);
    if (!p)
        abort(); /* out of memory at start-up */
    return p;
}

void eg_policy_free(struct eg_policy *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nrules; i++)
        eg_policy_rule_free(&p->rules[i]);
    free(p->rules);
    for (size_t i = 0; i < p->nsensitive; i++) {
        free(p->sensitive[i]);
        eg_glob_free(&p->sensitive_globs[i]);
    }
    free(p->sensitive);
    free(p->sensitive_globs);
    free(p->rootfs_scratch);
    free(p->source);
    free(p);
}
