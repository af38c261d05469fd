/*
 * Reading the YAML tree into a policy: the loader's context and the typed
 * value readers shared by the section parsers (policy_load.c, policy_rules.c).
 * Every reader reports a wrong value at the value's own line and column and
 * returns false; parsing then continues so one run shows every problem.
 */
#ifndef ECSGUARD_POLICY_SCHEMA_H
#define ECSGUARD_POLICY_SCHEMA_H

#include "policy/policy_internal.h"
#include "policy/yaml_tree.h"

#define EG_POLICY_MAX_STRING 4096 /* longest name, reason or pattern */

struct eg_loader {
    struct eg_policy *policy;
    struct eg_policy_errors *errs;
};

#define EG_LOAD_ERROR(L, node, ...)                                                                \
    eg_policy_error_add((L)->errs, (node)->line, (node)->column, __VA_ARGS__)

/* A plain ~, null or empty value. */
bool eg_ynode_is_null(const struct eg_ynode *n);
/* Whether a scalar's text equals `s`. */
bool eg_ynode_is(const struct eg_ynode *n, const char *s);

/* A string (any scalar) without NUL bytes, at most EG_POLICY_MAX_STRING long. */
bool eg_read_string(struct eg_loader *L, const struct eg_ynode *n, const char *key,
                    const char **out);
/* true or false, unquoted. */
bool eg_read_bool(struct eg_loader *L, const struct eg_ynode *n, const char *key, bool *out);
/* 1.0-10.0, or Low / Medium / High / Critical. */
bool eg_read_severity(struct eg_loader *L, const struct eg_ynode *n, double *out);

/*
 * A single string or a sequence of strings. `each` is called for every one
 * that passes eg_read_string; returns false if any item was wrong.
 */
typedef bool (*eg_string_fn)(struct eg_loader *L, const struct eg_ynode *item, const char *s,
                             void *ctx);
bool eg_read_string_list(struct eg_loader *L, const struct eg_ynode *n, const char *key,
                         bool allow_empty, eg_string_fn each, void *ctx);

/*
 * Index of a mapping key in `names` (at most 64). Reports an unknown key
 * (listing `names`), a repeated key or a key that is not a string, at the
 * key's position, and returns -1 for them.
 */
int eg_read_key(struct eg_loader *L, const struct eg_ynode *key, const char *const *names,
                size_t count, uint64_t *seen, const char *where);

/* The finding type for a name, or an "unknown finding type" error (with a hint) and -1. */
int eg_read_finding_type(struct eg_loader *L, const struct eg_ynode *n, const char *s);

/* Sections */
bool eg_load_allow_rules(struct eg_loader *L, const struct eg_ynode *seq);
void eg_policy_rule_free(struct eg_policy_rule *r);

#endif
