/*
 * The `allow` section: exceptions, each with a name and a reason, matching
 * on any combination of subject fields (all must hold; a list under one field
 * means any of its values).
 */
#include "policy/capabilities.h"
#include "policy/policy_schema.h"

#include <stdlib.h>
#include <string.h>

#define EG_RULE_NAME_MAX 128

const char *const eg_cond_field_names[EG_COND_COUNT] = {
    [EG_COND_TASK_FAMILY] = "task_family",
    [EG_COND_TASK_REVISION] = "task_revision",
    [EG_COND_CONTAINER_NAME] = "container_name",
    [EG_COND_IMAGE] = "image",
    [EG_COND_EXECUTABLE_PATH] = "executable_path",
    [EG_COND_CAPABILITY] = "capability",
    [EG_COND_FILE_PATH] = "file_path",
    [EG_COND_NAMESPACE_KIND] = "namespace_kind",
    [EG_COND_TARGET_PROCESS] = "target_process",
    [EG_COND_ECS_TASK] = "ecs_task",
};

/* Rule keys: the three rule attributes, then the condition fields in enum order. */
enum {
    KEY_NAME,
    KEY_REASON,
    KEY_FINDINGS,
    KEY_FIRST_COND,
    KEY_COUNT = KEY_FIRST_COND + EG_COND_COUNT
};
static const char *const rule_keys[KEY_COUNT] = {
    "name",           "reason",         "findings",        "task_family", "task_revision",
    "container_name", "image",          "executable_path", "capability",  "file_path",
    "namespace_kind", "target_process", "ecs_task",
};

const char *const eg_ns_kind_names[EG_NS_COUNT] = {
    [EG_NS_MNT] = "mnt", [EG_NS_PID] = "pid",   [EG_NS_NET] = "net",       [EG_NS_IPC] = "ipc",
    [EG_NS_UTS] = "uts", [EG_NS_USER] = "user", [EG_NS_CGROUP] = "cgroup", [EG_NS_TIME] = "time",
};

int eg_ns_kind_by_name(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < EG_NS_COUNT; i++)
        if (strcmp(eg_ns_kind_names[i], name) == 0)
            return i;
    return -1;
}

static bool is_path_field(enum eg_cond_field f)
{
    return f == EG_COND_EXECUTABLE_PATH || f == EG_COND_FILE_PATH || f == EG_COND_TARGET_PROCESS;
}

/*
 * `array` (revisions or globs of `c`) with room for one more element of
 * `size` bytes, or NULL. Doubling keeps a long list linear to load.
 */
static void *grow(struct eg_policy_cond *c, void *array, size_t size)
{
    if (c->count < c->cap)
        return array;
    size_t cap = c->cap ? c->cap * 2 : 4;
    void *bigger = realloc(array, cap * size);
    if (bigger)
        c->cap = cap;
    return bigger;
}

struct cond_ctx {
    struct eg_policy_cond *cond;
};

static bool add_cond_value(struct eg_loader *L, const struct eg_ynode *item, const char *s,
                           void *vctx)
{
    struct eg_policy_cond *c = ((struct cond_ctx *)vctx)->cond;
    const char *key = eg_cond_field_names[c->field];
    char q[72], err[96];

    eg_policy_quote(q, sizeof(q), item->value, item->len, 64);
    switch (c->field) {
    case EG_COND_CAPABILITY: {
        int cap = eg_capability_by_name(s, item->len);
        if (cap < 0) {
            EG_LOAD_ERROR(L, item, "unknown capability '%s'", q);
            return false;
        }
        c->mask |= UINT64_C(1) << cap;
        return true;
    }
    case EG_COND_NAMESPACE_KIND: {
        int ns = eg_ns_kind_by_name(s);
        if (ns < 0) {
            EG_LOAD_ERROR(L, item,
                          "unknown namespace kind '%s' (mnt, pid, net, ipc, uts, user, cgroup, "
                          "time)",
                          q);
            return false;
        }
        c->mask |= UINT64_C(1) << ns;
        return true;
    }
    case EG_COND_ECS_TASK:
        if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0) {
            c->mask |= s[0] == 't' ? EG_ECS_TASK_YES : EG_ECS_TASK_NO;
            return true;
        }
        EG_LOAD_ERROR(L, item, "'ecs_task' must be true or false, found '%s'", q);
        return false;
    case EG_COND_TASK_REVISION: {
        unsigned long rev = 0;
        bool digits = item->len > 0 && item->len <= 9;
        for (size_t i = 0; digits && i < item->len; i++) {
            if (s[i] < '0' || s[i] > '9')
                digits = false;
            else
                rev = rev * 10 + (unsigned long)(s[i] - '0');
        }
        if (!digits || rev == 0) {
            EG_LOAD_ERROR(L, item, "'task_revision' must be a positive whole number, found '%s'",
                          q);
            return false;
        }
        unsigned long *revs = grow(c, c->revisions, sizeof(*revs));
        if (!revs) {
            EG_LOAD_ERROR(L, item, "out of memory");
            return false;
        }
        c->revisions = revs;
        c->revisions[c->count++] = rev;
        return true;
    }
    default:
        break;
    }
    /* Executables, files and targets are absolute paths: "nginx" would never match. */
    if (is_path_field(c->field) && s[0] != '/' && s[0] != '*' && s[0] != '?' && s[0] != '[') {
        EG_LOAD_ERROR(L, item,
                      "'%s' pattern '%s' must start with '/' (an absolute path) or a "
                      "wildcard",
                      key, q);
        return false;
    }
    struct eg_glob g;
    if (eg_glob_compile(&g, s, item->len, is_path_field(c->field) ? EG_GLOB_DIR_PREFIX : 0, err,
                        sizeof(err)) < 0) {
        EG_LOAD_ERROR(L, item, "invalid pattern '%s' in '%s': %s", q, key, err);
        return false;
    }
    struct eg_glob *globs = grow(c, c->globs, sizeof(*globs));
    if (!globs) {
        eg_glob_free(&g);
        EG_LOAD_ERROR(L, item, "out of memory");
        return false;
    }
    c->globs = globs;
    c->globs[c->count++] = g;
    return true;
}

static bool add_rule_type(struct eg_loader *L, const struct eg_ynode *item, const char *s,
                          void *vctx)
{
    struct eg_policy_rule *r = vctx;
    int t = eg_read_finding_type(L, item, s);
    if (t < 0)
        return false;
    r->types |= UINT32_C(1) << t;
    return true;
}

static void cond_free(struct eg_policy_cond *c)
{
    for (size_t i = 0; c->globs && i < c->count; i++)
        eg_glob_free(&c->globs[i]);
    free(c->globs);
    free(c->revisions);
    memset(c, 0, sizeof(*c));
}

void eg_policy_rule_free(struct eg_policy_rule *r)
{
    for (unsigned i = 0; i < r->ncond; i++)
        cond_free(&r->conds[i]);
    free(r->name);
    free(r->reason);
    memset(r, 0, sizeof(*r));
}

static bool reason_is_blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return false;
    return true;
}

/* Where a rule's name was written, for duplicate reports. */
struct rule_name_pos {
    const char *name;
    size_t index;
    unsigned line, column;
};

static bool parse_rule(struct eg_loader *L, const struct eg_ynode *m, struct eg_policy_rule *r,
                       struct rule_name_pos *pos)
{
    uint64_t seen = 0;
    bool ok = true;
    const struct eg_ynode *revision_key = NULL;
    const char *s;

    r->line = m->line;
    r->column = m->column;
    r->all_types = true;
    if (m->type != EG_YNODE_MAPPING) {
        EG_LOAD_ERROR(L, m, "an allow rule must be a mapping (name, reason, conditions), found %s",
                      eg_ynode_kind(m));
        return false;
    }
    for (size_t i = 0; i + 1 < m->count; i += 2) {
        const struct eg_ynode *key = m->items[i], *val = m->items[i + 1];
        int k = eg_read_key(L, key, rule_keys, KEY_COUNT, &seen, "in an allow rule");
        if (k < 0) {
            ok = false;
            continue;
        }
        if (k == KEY_NAME || k == KEY_REASON) {
            if (!eg_read_string(L, val, rule_keys[k], &s)) {
                ok = false;
                continue;
            }
            if (k == KEY_NAME) {
                bool printable = true;
                for (size_t j = 0; j < val->len; j++)
                    if ((unsigned char)s[j] < 0x20 || s[j] == 0x7f)
                        printable = false;
                if (!printable || val->len > EG_RULE_NAME_MAX) {
                    EG_LOAD_ERROR(L, val,
                                  "a rule name must be at most %d printable characters on one "
                                  "line",
                                  EG_RULE_NAME_MAX);
                    ok = false;
                    continue;
                }
                pos->line = val->line;
                pos->column = val->column;
            } else if (reason_is_blank(s)) {
                EG_LOAD_ERROR(L, val, "'reason' is empty; say why this behaviour is expected");
                ok = false;
                continue;
            }
            char *copy = strdup(s);
            if (!copy) {
                EG_LOAD_ERROR(L, val, "out of memory");
                ok = false;
                continue;
            }
            *(k == KEY_NAME ? &r->name : &r->reason) = copy;
            continue;
        }
        if (k == KEY_FINDINGS) {
            r->all_types = false;
            if (!eg_read_string_list(L, val, "findings", false, add_rule_type, r))
                ok = false;
            continue;
        }
        struct eg_policy_cond *c = &r->conds[r->ncond++];
        c->field = (enum eg_cond_field)(k - KEY_FIRST_COND);
        if (c->field == EG_COND_TASK_REVISION)
            revision_key = key;
        struct cond_ctx ctx = {c};
        if (!eg_read_string_list(L, val, rule_keys[k], false, add_cond_value, &ctx))
            ok = false;
    }

    char q[72];
    eg_policy_quote(q, sizeof(q), r->name ? r->name : "", r->name ? strlen(r->name) : 0, 64);
    if (!(seen & (UINT64_C(1) << KEY_NAME)))
        EG_LOAD_ERROR(L, m, "allow rule has no 'name'");
    if (!(seen & (UINT64_C(1) << KEY_REASON)))
        EG_LOAD_ERROR(L, m, "allow rule %s%s%shas no 'reason'; say why this behaviour is expected",
                      r->name ? "'" : "", q, r->name ? "' " : "");
    if (!(seen & (UINT64_C(1) << KEY_NAME)) || !(seen & (UINT64_C(1) << KEY_REASON)))
        ok = false;
    if (revision_key && !(seen & (UINT64_C(1) << (KEY_FIRST_COND + EG_COND_TASK_FAMILY)))) {
        EG_LOAD_ERROR(L, revision_key, "'task_revision' needs 'task_family' in the same rule");
        ok = false;
    }
    if (r->ncond == 0 && (seen & (UINT64_C(1) << KEY_NAME))) {
        EG_LOAD_ERROR(L, m,
                      "allow rule '%s' has no conditions and would suppress everything; to turn "
                      "a finding type off, set enabled: false under findings",
                      q);
        ok = false;
    }
    pos->name = r->name;
    return ok;
}

static int compare_names(const void *a, const void *b)
{
    const struct rule_name_pos *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Sorting keeps this O(n log n) however many rules a hostile file holds. */
static bool check_duplicate_names(struct eg_loader *L, struct rule_name_pos *pos, size_t n)
{
    size_t named = 0;
    bool ok = true;

    for (size_t i = 0; i < n; i++)
        if (pos[i].name)
            pos[named++] = pos[i];
    qsort(pos, named, sizeof(*pos), compare_names);
    for (size_t i = 1, first = 0; i < named; i++) {
        if (strcmp(pos[i].name, pos[first].name) != 0) {
            first = i;
            continue;
        }
        char q[72];
        eg_policy_quote(q, sizeof(q), pos[i].name, strlen(pos[i].name), 64);
        eg_policy_error_add(L->errs, pos[i].line, pos[i].column,
                            "duplicate allow rule name '%s' (first used at line %u)", q,
                            pos[first].line);
        ok = false;
    }
    return ok;
}

bool eg_load_allow_rules(struct eg_loader *L, const struct eg_ynode *seq)
{
    struct eg_policy *p = L->policy;
    bool ok = true;

    if (eg_ynode_is_null(seq))
        return true;
    if (seq->type != EG_YNODE_SEQUENCE) {
        EG_LOAD_ERROR(L, seq, "'allow' must be a list of rules, found %s", eg_ynode_kind(seq));
        return false;
    }
    if (seq->count == 0)
        return true;
    p->rules = calloc(seq->count, sizeof(*p->rules));
    struct rule_name_pos *pos = calloc(seq->count, sizeof(*pos));
    if (!p->rules || !pos) {
        free(pos);
        EG_LOAD_ERROR(L, seq, "out of memory");
        return false;
    }
    p->nrules = seq->count;
    for (size_t i = 0; i < seq->count; i++) {
        pos[i].index = i;
        if (!parse_rule(L, seq->items[i], &p->rules[i], &pos[i]))
            ok = false;
    }
    if (!check_duplicate_names(L, pos, seq->count))
        ok = false;
    free(pos);
    return ok;
}
