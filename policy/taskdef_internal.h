/*
 * Shared by the task-definition readers (taskdef_read.c: formats and structure;
 * taskdef_values.c: typed values).
 */
#ifndef ECSGUARD_POLICY_TASKDEF_INTERNAL_H
#define ECSGUARD_POLICY_TASKDEF_INTERNAL_H

#include "policy/policy_internal.h"
#include "policy/taskdef.h"
#include "policy/yaml_tree.h"

struct eg_td_reader {
    enum eg_td_format format; /* decides key spelling, strictness and intrinsics */
    struct eg_policy_errors *errs;
};

/* A null, ~ or empty value. */
bool eg_td_is_null(const struct eg_ynode *n);
/* The value of `key` (camelCase; PascalCase in a template) in mapping `m`, or NULL. */
const struct eg_ynode *eg_td_find(const struct eg_td_reader *r, const struct eg_ynode *m,
                                  const char *key, const struct eg_ynode **key_node);
/* `key` as the input format spells it, for messages. */
void eg_td_key_name(const struct eg_td_reader *r, const char *key, char *buf, size_t len);

/* Each returns false after recording a wrong value; absent, null and intrinsic values are
 * not wrong (ABSENT and UNKNOWN). */
bool eg_td_read_string(struct eg_td_reader *r, const struct eg_ynode *m, const char *key,
                       struct eg_td_value *out);
bool eg_td_read_bool(struct eg_td_reader *r, const struct eg_ynode *m, const char *key,
                     struct eg_td_value *out);
/* A mapping or list value (NULL when absent, unknown or wrong: see out->state and *ok). */
const struct eg_ynode *eg_td_read_collection(struct eg_td_reader *r, const struct eg_ynode *m,
                                             const char *key, enum eg_ynode_type type,
                                             struct eg_td_value *out, bool *ok);

/* What a list item is before the caller reads it. */
enum eg_td_item {
    EG_TD_ITEM_VALUE,   /* read it */
    EG_TD_ITEM_ABSENT,  /* null or !Ref AWS::NoValue: not there */
    EG_TD_ITEM_UNKNOWN, /* an intrinsic; `out` has its position and name */
    EG_TD_ITEM_BAD,     /* a tag outside a template (error recorded) */
};
enum eg_td_item eg_td_item_kind(struct eg_td_reader *r, const struct eg_ynode *n,
                                struct eg_td_value *out);

/*
 * A JSON document with its surrogate-pair escapes (`\ud83d\ude00`) rewritten as YAML's
 * `\U0001f600`, in a new buffer the caller frees; NULL when there is nothing to rewrite.
 */
char *eg_td_rewrite_surrogates(const char *text, size_t len, size_t *out_len);

#endif
