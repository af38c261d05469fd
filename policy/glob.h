/*
 * Shell-style patterns for policy matching, validated once when the policy is
 * loaded and matched without allocating.
 *
 * Syntax (fnmatch(3) without FNM_PATHNAME or FNM_PERIOD): `*` matches any run
 * of characters, `/` included; `?` one character; `[abc]`, `[a-z]`,
 * `[!abc]` / `[^abc]` and POSIX classes such as `[[:digit:]]` one character of
 * a set; `\` makes the next character literal. Matching is byte-wise (the C
 * locale), so it behaves the same whatever the agent's locale is.
 *
 * With EG_GLOB_DIR_PREFIX a pattern ending in `/` names a directory: it matches
 * the directory itself and everything beneath it.
 */
#ifndef ECSGUARD_POLICY_GLOB_H
#define ECSGUARD_POLICY_GLOB_H

#include <stdbool.h>
#include <stddef.h>

#define EG_GLOB_DIR_PREFIX 1u

enum eg_glob_kind {
    EG_GLOB_EXACT,  /* no special characters: string equality */
    EG_GLOB_PREFIX, /* literal directory ending in '/': prefix test */
    EG_GLOB_WILD,   /* anything else: the matcher */
};

struct eg_glob {
    enum eg_glob_kind kind;
    char *text; /* the pattern as matched (a directory pattern with wildcards gets a '*') */
    size_t len;
};

/* 0, or -1 with the reason in `err` (e.g. "unterminated '['"). */
int eg_glob_compile(struct eg_glob *g, const char *pattern, size_t len, unsigned flags, char *err,
                    size_t errlen);
bool eg_glob_match(const struct eg_glob *g, const char *s);
void eg_glob_free(struct eg_glob *g);

#endif
