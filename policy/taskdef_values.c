/*
 * Typed reads of task-definition settings from the YAML tree, for every input format:
 * the API's camelCase keys or CloudFormation's PascalCase ones, the API's strict JSON
 * types or CloudFormation's lenient scalars ("true" is a boolean there, 1000 a string),
 * and CloudFormation intrinsics as UNKNOWN values.
 */
#include "policy/taskdef_internal.h"
#include "policy/yaml_tree.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

bool eg_td_value_is(const struct eg_td_value *v, const char *s)
{
    return v->state == EG_TD_KNOWN && v->str && v->len == strlen(s) &&
           memcmp(v->str, s, v->len) == 0;
}

void eg_td_value_quote(const struct eg_td_value *v, char *buf, size_t len)
{
    if (v->state != EG_TD_KNOWN || !v->str) {
        if (len)
            buf[0] = '\0';
        return;
    }
    eg_policy_quote(buf, len, v->str, v->len, 64);
}

void eg_td_quote(char *dst, size_t dstlen, const char *s, size_t len, size_t max)
{
    eg_policy_quote(dst, dstlen, s, len, max);
}

static bool scalar_is(const struct eg_ynode *n, const char *s)
{
    return n && n->type == EG_YNODE_SCALAR && n->len == strlen(s) &&
           memcmp(n->value, s, n->len) == 0;
}

bool eg_td_is_null(const struct eg_ynode *n)
{
    if (!n)
        return true;
    if (n->type != EG_YNODE_SCALAR || !n->plain || n->tag)
        return false;
    return n->len == 0 || scalar_is(n, "~") || scalar_is(n, "null") || scalar_is(n, "Null") ||
           scalar_is(n, "NULL");
}

/* A plain scalar the API's JSON would not take as a string: a boolean or a number. */
static bool plain_non_string(const struct eg_ynode *n)
{
    if (!n->plain)
        return false;
    static const char *const words[] = {"true", "True", "TRUE", "false", "False", "FALSE"};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (scalar_is(n, words[i]))
            return true;
    if (n->len == 0)
        return false;
    for (size_t i = 0; i < n->len; i++) {
        char c = n->value[i];
        if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E'))
            return false;
    }
    return n->value[0] != 'e' && n->value[0] != 'E';
}

/*
 * The intrinsic function a CloudFormation value is, written as a tag (`!Ref x`) or as a
 * mapping of one key (`{"Fn::If": [...]}`), into `name`; false when it is a plain value.
 */
static bool intrinsic_of(const struct eg_td_reader *r, const struct eg_ynode *n, char *name,
                         size_t len, bool *no_value)
{
    *no_value = false;
    if (n->tag) {
        bool ref = strcmp(n->tag, "Ref") == 0 || strcmp(n->tag, "Condition") == 0;
        snprintf(name, len, "%s%s", ref ? "" : "Fn::", n->tag);
        *no_value = strcmp(n->tag, "Ref") == 0 && scalar_is(n, "AWS::NoValue");
        return true;
    }
    if (r->format != EG_TD_FORMAT_CLOUDFORMATION || n->type != EG_YNODE_MAPPING || n->count != 2)
        return false;
    const struct eg_ynode *k = n->items[0];
    if (k->type != EG_YNODE_SCALAR || memchr(k->value, '\0', k->len))
        return false;
    if (!scalar_is(k, "Ref") && !(k->len > 4 && memcmp(k->value, "Fn::", 4) == 0))
        return false;
    eg_policy_quote(name, len, k->value, k->len, len > 8 ? len - 4 : 1);
    *no_value = scalar_is(k, "Ref") && scalar_is(n->items[1], "AWS::NoValue");
    return true;
}

/* CloudFormation's property names are the API's with the first letter in upper case. */
static bool key_matches(const struct eg_td_reader *r, const struct eg_ynode *k, const char *key)
{
    size_t len = strlen(key);
    if (k->type != EG_YNODE_SCALAR || k->tag || k->len != len || len == 0)
        return false;
    if (r->format != EG_TD_FORMAT_CLOUDFORMATION)
        return memcmp(k->value, key, len) == 0;
    char first = key[0] >= 'a' && key[0] <= 'z' ? (char)(key[0] - 'a' + 'A') : key[0];
    return k->value[0] == first && memcmp(k->value + 1, key + 1, len - 1) == 0;
}

const struct eg_ynode *eg_td_find(const struct eg_td_reader *r, const struct eg_ynode *m,
                                  const char *key, const struct eg_ynode **key_node)
{
    if (!m || m->type != EG_YNODE_MAPPING)
        return NULL;
    for (size_t i = 0; i + 1 < m->count; i += 2) {
        if (key_matches(r, m->items[i], key)) {
            if (key_node)
                *key_node = m->items[i];
            return m->items[i + 1];
        }
    }
    return NULL;
}

void eg_td_key_name(const struct eg_td_reader *r, const char *key, char *buf, size_t len)
{
    snprintf(buf, len, "%s", key);
    if (r->format == EG_TD_FORMAT_CLOUDFORMATION && buf[0] >= 'a' && buf[0] <= 'z')
        buf[0] = (char)(buf[0] - 'a' + 'A');
}

/*
 * Common part of every read: absent, null, an intrinsic, or a tag outside a template.
 * Returns true when the value is settled (ABSENT or UNKNOWN) or wrong (error recorded,
 * *bad set); false when the caller must read `n` itself.
 */
static bool settle(struct eg_td_reader *r, const struct eg_ynode *key, const struct eg_ynode *n,
                   const char *name, struct eg_td_value *out, bool *bad)
{
    memset(out, 0, sizeof(*out));
    *bad = false;
    if (!n || eg_td_is_null(n))
        return true;
    out->line = key ? key->line : n->line;
    out->column = key ? key->column : n->column;
    bool no_value;
    if (intrinsic_of(r, n, out->intrinsic, sizeof(out->intrinsic), &no_value)) {
        if (r->format != EG_TD_FORMAT_CLOUDFORMATION) {
            eg_policy_error_add(r->errs, n->line, n->column,
                                "'%s' is tagged !%.40s; tags only mean something in a "
                                "CloudFormation template",
                                name, n->tag);
            *bad = true;
            return true;
        }
        if (no_value) {
            memset(out, 0, sizeof(*out));
            return true;
        }
        out->state = EG_TD_UNKNOWN;
        return true;
    }
    return false;
}

/* 1 true, 0 false, -1 neither: plain YAML 1.2 booleans, and in a template the strings
 * "true" and "false" in any case (CloudFormation takes them for Boolean properties). */
static int parse_bool(const struct eg_td_reader *r, const struct eg_ynode *n)
{
    if (n->type != EG_YNODE_SCALAR || n->tag)
        return -1;
    if (n->plain) {
        if (scalar_is(n, "true") || scalar_is(n, "True") || scalar_is(n, "TRUE"))
            return 1;
        if (scalar_is(n, "false") || scalar_is(n, "False") || scalar_is(n, "FALSE"))
            return 0;
        return -1;
    }
    if (r->format != EG_TD_FORMAT_CLOUDFORMATION)
        return -1;
    if (n->len == 4 && strncasecmp(n->value, "true", 4) == 0)
        return 1;
    if (n->len == 5 && strncasecmp(n->value, "false", 5) == 0)
        return 0;
    return -1;
}

/*
 * An Fn::If (`!If [cond, a, b]` or `{"Fn::If": [cond, a, b]}`) whose branches are both
 * literal scalars of the setting's type or absent: record them in `out`. Anything else
 * (a nested intrinsic, a collection, a wrong type) leaves the value plainly unknown; a
 * wrong type is CloudFormation's to refuse, not the lint's to guess.
 */
static void if_branches(const struct eg_td_reader *r, const struct eg_ynode *n, bool boolean,
                        struct eg_td_value *out)
{
    const struct eg_ynode *args = NULL;
    if (n->tag && strcmp(n->tag, "If") == 0)
        args = n;
    else if (!n->tag && n->type == EG_YNODE_MAPPING && n->count == 2 &&
             scalar_is(n->items[0], "Fn::If"))
        args = n->items[1];
    if (!args || args->type != EG_YNODE_SEQUENCE || args->count != 3 || (args != n && args->tag))
        return;
    struct eg_td_branch b[2] = {0};
    for (int k = 0; k < 2; k++) {
        const struct eg_ynode *v = args->items[k + 1];
        char name[24];
        bool no_value;
        if (eg_td_is_null(v))
            continue;
        if (intrinsic_of(r, v, name, sizeof(name), &no_value)) {
            if (!no_value)
                return;
            continue;
        }
        if (v->type != EG_YNODE_SCALAR || memchr(v->value, '\0', v->len))
            return;
        if (boolean) {
            int f = parse_bool(r, v);
            if (f < 0)
                return;
            b[k].flag = f == 1;
        }
        b[k].state = EG_TD_KNOWN;
        b[k].str = v->value;
        b[k].len = v->len;
    }
    out->nbranches = 2;
    memcpy(out->branches, b, sizeof(b));
}

bool eg_td_read_string(struct eg_td_reader *r, const struct eg_ynode *m, const char *key,
                       struct eg_td_value *out)
{
    const struct eg_ynode *k = NULL, *n = eg_td_find(r, m, key, &k);
    char name[64];
    bool bad;
    eg_td_key_name(r, key, name, sizeof(name));
    if (settle(r, k, n, name, out, &bad)) {
        if (out->state == EG_TD_UNKNOWN)
            if_branches(r, n, false, out);
        return !bad;
    }
    if (n->type != EG_YNODE_SCALAR ||
        (r->format != EG_TD_FORMAT_CLOUDFORMATION && plain_non_string(n))) {
        char q[72] = "";
        if (n->type == EG_YNODE_SCALAR)
            eg_policy_quote(q, sizeof(q), n->value, n->len, 64);
        eg_policy_error_add(r->errs, n->line, n->column, "'%s' must be a string, found %s%s%s",
                            name, n->type == EG_YNODE_SCALAR ? "the value " : eg_ynode_kind(n), q,
                            n->type == EG_YNODE_SCALAR ? " (quote it)" : "");
        return false;
    }
    if (memchr(n->value, '\0', n->len)) {
        eg_policy_error_add(r->errs, n->line, n->column, "'%s' contains a NUL byte", name);
        return false;
    }
    out->state = EG_TD_KNOWN;
    out->str = n->value;
    out->len = n->len;
    return true;
}

bool eg_td_read_bool(struct eg_td_reader *r, const struct eg_ynode *m, const char *key,
                     struct eg_td_value *out)
{
    const struct eg_ynode *k = NULL, *n = eg_td_find(r, m, key, &k);
    char name[64];
    bool bad;
    eg_td_key_name(r, key, name, sizeof(name));
    if (settle(r, k, n, name, out, &bad)) {
        if (out->state == EG_TD_UNKNOWN)
            if_branches(r, n, true, out);
        return !bad;
    }
    int f = parse_bool(r, n);
    if (f >= 0) {
        out->state = EG_TD_KNOWN;
        out->flag = f == 1;
        return true;
    }
    char q[72] = "";
    if (n->type == EG_YNODE_SCALAR)
        eg_policy_quote(q, sizeof(q), n->value, n->len, 64);
    eg_policy_error_add(r->errs, n->line, n->column, "'%s' must be true or false, found %s%s%s%s",
                        name,
                        n->type != EG_YNODE_SCALAR ? eg_ynode_kind(n)
                        : n->plain                 ? "'"
                                                   : "the string '",
                        q, n->type == EG_YNODE_SCALAR ? "'" : "",
                        n->type == EG_YNODE_SCALAR && !n->plain ? " (remove the quotes)" : "");
    return false;
}

const struct eg_ynode *eg_td_read_collection(struct eg_td_reader *r, const struct eg_ynode *m,
                                             const char *key, enum eg_ynode_type type,
                                             struct eg_td_value *out, bool *ok)
{
    const struct eg_ynode *k = NULL, *n = eg_td_find(r, m, key, &k);
    char name[64];
    bool bad;
    *ok = true;
    eg_td_key_name(r, key, name, sizeof(name));
    if (settle(r, k, n, name, out, &bad)) {
        *ok = !bad;
        return NULL;
    }
    if (n->type != type) {
        eg_policy_error_add(r->errs, n->line, n->column, "'%s' must be %s, found %s", name,
                            type == EG_YNODE_MAPPING ? "a mapping" : "a list", eg_ynode_kind(n));
        *ok = false;
        return NULL;
    }
    out->state = EG_TD_KNOWN;
    return n;
}

enum eg_td_item eg_td_item_kind(struct eg_td_reader *r, const struct eg_ynode *n,
                                struct eg_td_value *out)
{
    bool bad;
    if (!settle(r, NULL, n, "a list item", out, &bad))
        return EG_TD_ITEM_VALUE;
    if (bad)
        return EG_TD_ITEM_BAD;
    return out->state == EG_TD_UNKNOWN ? EG_TD_ITEM_UNKNOWN : EG_TD_ITEM_ABSENT;
}
