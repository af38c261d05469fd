/*
 * A YAML document as a small tree with the position of every node, built
 * from libyaml's event stream under hard limits so that hostile input cannot
 * exhaust memory or the stack: nesting depth, node count, one document, no
 * aliases (which is what makes "billion laughs" bombs possible) and, unless
 * the caller asks for them, no tags. JSON is YAML's flow syntax, so the same
 * reader gives JSON files line and column positions too.
 */
#ifndef ECSGUARD_POLICY_YAML_TREE_H
#define ECSGUARD_POLICY_YAML_TREE_H

#include "policy/policy.h"

#include <stdbool.h>
#include <stddef.h>

#define EG_YAML_MAX_DEPTH 32
#define EG_YAML_MAX_NODES 100000

enum eg_ynode_type { EG_YNODE_SCALAR, EG_YNODE_SEQUENCE, EG_YNODE_MAPPING };

struct eg_ynode {
    enum eg_ynode_type type;
    unsigned line, column; /* 1-based */
    /* Scalars */
    char *value; /* NUL-terminated copy; may also contain NULs ("\0" escapes) */
    size_t len;
    bool plain; /* unquoted: may be read as a number or boolean */
    /* Sequences: items; mappings: key, value, key, value, ... */
    struct eg_ynode **items;
    size_t count, cap;
    /* EG_YAML_TAGS only: a local tag without its '!' ("Ref" for `!Ref x`), else NULL. */
    char *tag;
};

/* Accept local tags such as CloudFormation's `!Ref` (kept in the node); `!!str` makes a
 * scalar a string. Without this flag any tag is an error. */
#define EG_YAML_TAGS 1u
/* Reject a mapping that repeats a key: two readers of such a file may each take a
 * different one (the first here, the last in the tool that deploys it). */
#define EG_YAML_UNIQUE_KEYS 2u

/*
 * Parse `len` bytes. Returns the document's root (NULL for an empty document
 * with *ok true), or NULL with *ok false and the problems added to `errs`.
 */
struct eg_ynode *eg_yaml_tree_parse(const char *text, size_t len, struct eg_policy_errors *errs,
                                    bool *ok);
/* The same with EG_YAML_* flags. */
struct eg_ynode *eg_yaml_tree_parse_flags(const char *text, size_t len, unsigned flags,
                                          struct eg_policy_errors *errs, bool *ok);
void eg_yaml_tree_free(struct eg_ynode *n);
/* "a mapping", "a sequence", "a string" (for messages). */
const char *eg_ynode_kind(const struct eg_ynode *n);

#endif
