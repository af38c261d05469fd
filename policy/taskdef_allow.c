/*
 * `ecsguard lint --allow FILE`: deliberate exceptions, as YAML:
 *
 *   allow:
 *     - family: ecsguard          # the task definition family (exact)
 *       control: ECS.4            # one control id
 *       container: ecsguard       # optional: only this container
 *       reason: loads BPF programs into the host kernel
 *
 * Every entry needs a reason. An entry that allows nothing is reported by the command
 * (a stale exception outlives the setting it excused).
 */
#include "policy/policy_schema.h"
#include "policy/taskdef_lint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EG_ALLOW_MAX_BYTES (1u << 20)
#define EG_ALLOW_MAX_ENTRIES 4096

enum { K_FAMILY, K_CONTROL, K_CONTAINER, K_REASON, K_COUNT };
static const char *const entry_keys[K_COUNT] = {"family", "control", "container", "reason"};
static const char *const top_keys[] = {"allow"};

static char *dup_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static bool load_entry(struct eg_loader *L, const struct eg_ynode *m, struct eg_lint_allow_entry *e)
{
    if (m->type != EG_YNODE_MAPPING) {
        EG_LOAD_ERROR(L, m, "an allow entry must be a mapping (family, control, reason), found %s",
                      eg_ynode_kind(m));
        return false;
    }
    e->line = m->line;
    e->column = m->column;
    e->control = EG_LINT_CONTROL_COUNT;
    uint64_t seen = 0;
    bool ok = true;
    for (size_t i = 0; i + 1 < m->count; i += 2) {
        int k = eg_read_key(L, m->items[i], entry_keys, K_COUNT, &seen, "in an allow entry");
        const struct eg_ynode *v = m->items[i + 1];
        const char *s;
        if (k < 0) {
            ok = false;
            continue;
        }
        if (!eg_read_string(L, v, entry_keys[k], &s)) {
            ok = false;
            continue;
        }
        char **slot = k == K_FAMILY ? &e->family : k == K_CONTAINER ? &e->container : &e->reason;
        if (k == K_CONTROL) {
            int c = eg_lint_control_by_id(s);
            if (c < 0) {
                char q[72];
                eg_policy_quote(q, sizeof(q), v->value, v->len, 64);
                EG_LOAD_ERROR(L, v,
                              "unknown control '%s' (ECS.1, ECS.3, ECS.4, ECS.5, ECS.8, "
                              "ECS.9, EG.CAP_ADD, EG.CAP_DROP, EG.USER, EG.IPC_HOST, "
                              "EG.HOST_PATH, EG.INIT)",
                              q);
                ok = false;
            }
            e->control = c < 0 ? EG_LINT_CONTROL_COUNT : (enum eg_lint_control)c;
            continue;
        }
        if (!(*slot = dup_string(s))) {
            EG_LOAD_ERROR(L, v, "out of memory");
            ok = false;
        }
    }
    static const char *const required[] = {"family", "control", "reason"};
    static const int bits[] = {K_FAMILY, K_CONTROL, K_REASON};
    for (size_t r = 0; r < 3; r++) {
        if (!(seen & (UINT64_C(1) << bits[r]))) {
            EG_LOAD_ERROR(L, m, "an allow entry needs '%s'%s", required[r],
                          bits[r] == K_REASON ? ": say why the exception is deliberate" : "");
            ok = false;
        }
    }
    if (e->reason && e->reason[strspn(e->reason, " \t")] == '\0') {
        EG_LOAD_ERROR(L, m, "the reason is empty: say why the exception is deliberate");
        ok = false;
    }
    return ok;
}

struct eg_lint_allow *eg_lint_allow_load_buffer(const char *yaml, size_t len,
                                                struct eg_policy_errors *errs)
{
    memset(errs, 0, sizeof(*errs));
    bool parsed;
    struct eg_ynode *root =
        eg_yaml_tree_parse_flags(yaml ? yaml : "", len, EG_YAML_UNIQUE_KEYS, errs, &parsed);
    if (!parsed)
        return NULL;
    struct eg_loader L = {.policy = NULL, .errs = errs};
    struct eg_lint_allow *a = calloc(1, sizeof(*a));
    bool ok = a != NULL;
    if (!a)
        eg_policy_error_add(errs, 0, 0, "out of memory");
    const struct eg_ynode *list = NULL;
    if (ok && root && root->type != EG_YNODE_MAPPING) {
        EG_LOAD_ERROR(&L, root, "an allow file is a mapping with an 'allow' list, found %s",
                      eg_ynode_kind(root));
        ok = false;
    } else if (ok && root) {
        uint64_t seen = 0;
        for (size_t i = 0; i + 1 < root->count; i += 2) {
            if (eg_read_key(&L, root->items[i], top_keys, 1, &seen, "at the top level") == 0)
                list = root->items[i + 1];
            else
                ok = false;
        }
    }
    if (ok && list && !eg_ynode_is_null(list)) {
        if (list->type != EG_YNODE_SEQUENCE) {
            EG_LOAD_ERROR(&L, list, "'allow' must be a list of entries, found %s",
                          eg_ynode_kind(list));
            ok = false;
        } else if (list->count > EG_ALLOW_MAX_ENTRIES) {
            EG_LOAD_ERROR(&L, list, "more than %d allow entries", EG_ALLOW_MAX_ENTRIES);
            ok = false;
        } else if (list->count) {
            a->entries = calloc(list->count, sizeof(*a->entries));
            if (!a->entries) {
                EG_LOAD_ERROR(&L, list, "out of memory");
                ok = false;
            }
            for (size_t i = 0; ok && i < list->count; i++)
                a->count++, ok = load_entry(&L, list->items[i], &a->entries[i]) && ok;
            for (size_t i = a->count; !ok && i < list->count; i++) {
                struct eg_lint_allow_entry scratch = {0};
                load_entry(&L, list->items[i], &scratch); /* report every problem */
                free(scratch.family), free(scratch.container), free(scratch.reason);
            }
        }
    }
    eg_yaml_tree_free(root);
    if (!ok) {
        eg_lint_allow_free(a);
        return NULL;
    }
    return a;
}

struct eg_lint_allow *eg_lint_allow_load_file(const char *path, struct eg_policy_errors *errs)
{
    memset(errs, 0, sizeof(*errs));
    FILE *f = fopen(path, "rb");
    if (!f) {
        eg_policy_error_add(errs, 0, 0, "cannot open: %s", strerror(errno));
        return NULL;
    }
    char *buf = malloc(EG_ALLOW_MAX_BYTES + 1);
    size_t n = buf ? fread(buf, 1, EG_ALLOW_MAX_BYTES + 1, f) : 0;
    bool failed = !buf || ferror(f);
    fclose(f);
    struct eg_lint_allow *a = NULL;
    if (failed)
        eg_policy_error_add(errs, 0, 0, "cannot read the file");
    else if (n > EG_ALLOW_MAX_BYTES)
        eg_policy_error_add(errs, 0, 0, "larger than %u bytes", EG_ALLOW_MAX_BYTES);
    else
        a = eg_lint_allow_load_buffer(buf, n, errs);
    free(buf);
    return a;
}

void eg_lint_allow_free(struct eg_lint_allow *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->count; i++) {
        free(a->entries[i].family);
        free(a->entries[i].container);
        free(a->entries[i].reason);
    }
    free(a->entries);
    free(a);
}

void eg_lint_apply_allow(struct eg_lint_allow *a, const struct eg_taskdef *td,
                         struct eg_lint_report *r)
{
    if (!a || !td->family)
        return;
    for (size_t e = 0; e < a->count; e++)
        if (strcmp(a->entries[e].family, td->family) == 0)
            a->entries[e].family_linted = true;
    for (size_t i = 0; i < r->count; i++) {
        struct eg_lint_result *res = &r->results[i];
        const struct eg_td_value *cname =
            res->container >= 0 ? &td->containers[res->container].name : NULL;
        for (size_t e = 0; e < a->count; e++) {
            struct eg_lint_allow_entry *en = &a->entries[e];
            if (en->control != res->control || strcmp(en->family, td->family) != 0)
                continue;
            if (en->container && !(cname && eg_td_value_is(cname, en->container)))
                continue;
            res->allowed_by = (int)e;
            en->matched++;
            break;
        }
    }
}
