/* Typed readers for YAML values, with the error messages users see. */
#include "policy/policy_schema.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool eg_ynode_is_null(const struct eg_ynode *n)
{
    if (!n)
        return true;
    if (n->type != EG_YNODE_SCALAR || !n->plain)
        return false;
    return n->len == 0 || eg_ynode_is(n, "~") || eg_ynode_is(n, "null") || eg_ynode_is(n, "Null") ||
           eg_ynode_is(n, "NULL");
}

bool eg_ynode_is(const struct eg_ynode *n, const char *s)
{
    return n && n->type == EG_YNODE_SCALAR && n->len == strlen(s) &&
           memcmp(n->value, s, n->len) == 0;
}

bool eg_read_string(struct eg_loader *L, const struct eg_ynode *n, const char *key,
                    const char **out)
{
    if (n->type != EG_YNODE_SCALAR || eg_ynode_is_null(n)) {
        EG_LOAD_ERROR(L, n, "'%s' must be a string, found %s", key, eg_ynode_kind(n));
        return false;
    }
    if (memchr(n->value, '\0', n->len)) {
        EG_LOAD_ERROR(L, n, "'%s' contains a NUL byte", key);
        return false;
    }
    if (n->len > EG_POLICY_MAX_STRING) {
        EG_LOAD_ERROR(L, n, "'%s' is longer than %d bytes", key, EG_POLICY_MAX_STRING);
        return false;
    }
    *out = n->value;
    return true;
}

bool eg_read_bool(struct eg_loader *L, const struct eg_ynode *n, const char *key, bool *out)
{
    /* YAML 1.2 core schema booleans only: "yes"/"on" are strings, not flags. */
    static const char *const yes[] = {"true", "True", "TRUE"}, *const no[] = {"false", "False",
                                                                              "FALSE"};
    if (n->type == EG_YNODE_SCALAR && n->plain) {
        for (size_t i = 0; i < 3; i++) {
            if (eg_ynode_is(n, yes[i])) {
                *out = true;
                return true;
            }
            if (eg_ynode_is(n, no[i])) {
                *out = false;
                return true;
            }
        }
    }
    if (n->type == EG_YNODE_SCALAR) {
        char q[72];
        eg_policy_quote(q, sizeof(q), n->value, n->len, 64);
        EG_LOAD_ERROR(L, n, "'%s' must be true or false, found %s'%s'%s", key,
                      n->plain ? "" : "the string ", q, n->plain ? "" : " (remove the quotes)");
    } else {
        EG_LOAD_ERROR(L, n, "'%s' must be true or false, found %s", key, eg_ynode_kind(n));
    }
    return false;
}

/* Numbers in decimal notation only: no hex floats, inf or nan from strtod. */
static bool parse_number(const struct eg_ynode *n, double *out)
{
    if (n->len == 0 || n->len > 32)
        return false;
    for (size_t i = 0; i < n->len; i++) {
        char c = n->value[i];
        if (!((c >= '0' && c <= '9') || c == '.' || c == '+' || c == '-' || c == 'e' || c == 'E'))
            return false;
    }
    char *end;
    double v = strtod(n->value, &end);
    if (end != n->value + n->len || !isfinite(v))
        return false;
    *out = v;
    return true;
}

/* GuardDuty's own values for High, Medium and Low; Critical is the middle of its band. */
static const struct {
    const char *label;
    double value;
} severity_labels[] = {{"Low", 2.0}, {"Medium", 5.0}, {"High", 8.0}, {"Critical", 9.5}};

bool eg_read_severity(struct eg_loader *L, const struct eg_ynode *n, double *out)
{
    char q[72];
    double v;

    if (n->type != EG_YNODE_SCALAR || eg_ynode_is_null(n)) {
        EG_LOAD_ERROR(L, n,
                      "'severity' must be a number from 1.0 to 10.0 or Low, Medium, High, "
                      "Critical, found %s",
                      eg_ynode_kind(n));
        return false;
    }
    eg_policy_quote(q, sizeof(q), n->value, n->len, 64);
    if (parse_number(n, &v)) {
        if (v < 1.0 || v > 10.0) {
            EG_LOAD_ERROR(L, n, "severity %s is out of range (1.0 to 10.0)", q);
            return false;
        }
        *out = v;
        return true;
    }
    for (size_t i = 0; i < sizeof(severity_labels) / sizeof(severity_labels[0]); i++) {
        if (n->len == strlen(severity_labels[i].label) &&
            strncasecmp(n->value, severity_labels[i].label, n->len) == 0) {
            *out = severity_labels[i].value;
            return true;
        }
    }
    EG_LOAD_ERROR(L, n,
                  "invalid severity '%s' (a number from 1.0 to 10.0, or Low, Medium, High, "
                  "Critical)",
                  q);
    return false;
}

bool eg_read_string_list(struct eg_loader *L, const struct eg_ynode *n, const char *key,
                         bool allow_empty, eg_string_fn each, void *ctx)
{
    const char *s;
    bool ok = true;

    if (n->type == EG_YNODE_SCALAR && !eg_ynode_is_null(n)) {
        if (!eg_read_string(L, n, key, &s))
            return false;
        return each(L, n, s, ctx);
    }
    if (n->type != EG_YNODE_SEQUENCE && !(allow_empty && eg_ynode_is_null(n))) {
        EG_LOAD_ERROR(L, n, "'%s' must be a string or a list of strings, found %s", key,
                      eg_ynode_kind(n));
        return false;
    }
    if (n->type == EG_YNODE_SEQUENCE && n->count == 0 && !allow_empty) {
        EG_LOAD_ERROR(L, n, "'%s' is an empty list, which would match nothing", key);
        return false;
    }
    for (size_t i = 0; n->type == EG_YNODE_SEQUENCE && i < n->count; i++) {
        const struct eg_ynode *item = n->items[i];
        if (!eg_read_string(L, item, key, &s) || !each(L, item, s, ctx))
            ok = false;
    }
    return ok;
}

int eg_read_finding_type(struct eg_loader *L, const struct eg_ynode *n, const char *s)
{
    const struct eg_finding_type_info *info = eg_finding_type_by_name(s);
    char q[112];

    if (info)
        return (int)info->id;
    eg_policy_quote(q, sizeof(q), n->value, n->len, 100);
    /* A hint for the usual slips: the short name alone, or the wrong case. */
    for (int t = 0; t < EG_FT_COUNT; t++) {
        const char *full = eg_finding_type_info((enum eg_finding_type)t)->name;
        const char *slash = strrchr(full, '/');
        if (strcasecmp(full, s) == 0 || (slash && strcasecmp(slash + 1, s) == 0)) {
            EG_LOAD_ERROR(L, n, "unknown finding type '%s'; did you mean '%s'?", q, full);
            return -1;
        }
    }
    EG_LOAD_ERROR(L, n, "unknown finding type '%s'", q);
    return -1;
}

int eg_read_key(struct eg_loader *L, const struct eg_ynode *key, const char *const *names,
                size_t count, uint64_t *seen, const char *where)
{
    char q[72], expected[200];
    size_t o = 0;

    if (key->type != EG_YNODE_SCALAR) {
        EG_LOAD_ERROR(L, key, "keys %s must be strings, found %s", where, eg_ynode_kind(key));
        return -1;
    }
    eg_policy_quote(q, sizeof(q), key->value, key->len, 64);
    for (size_t i = 0; i < count; i++) {
        if (!eg_ynode_is(key, names[i]))
            continue;
        if (*seen & (UINT64_C(1) << i)) {
            EG_LOAD_ERROR(L, key, "duplicate key '%s' %s", q, where);
            return -1;
        }
        *seen |= UINT64_C(1) << i;
        return (int)i;
    }
    expected[0] = '\0';
    for (size_t i = 0; i < count && o < sizeof(expected); i++) {
        int w = snprintf(expected + o, sizeof(expected) - o, "%s%s", i ? ", " : "", names[i]);
        if (w < 0)
            break;
        o += (size_t)w;
    }
    EG_LOAD_ERROR(L, key, "unknown key '%s' %s (expected %s)", q, where, expected);
    return -1;
}
