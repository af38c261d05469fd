#include "policy/glob.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct char_class {
    const char *name;
    int (*test)(unsigned char c);
};

/* Byte-wise (C locale) versions, so a pattern means the same in any locale. */
static int is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}
static int is_alnum(unsigned char c)
{
    return is_alpha(c) || is_digit(c);
}
static int is_upper(unsigned char c)
{
    return c >= 'A' && c <= 'Z';
}
static int is_lower(unsigned char c)
{
    return c >= 'a' && c <= 'z';
}
static int is_space(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}
static int is_xdigit(unsigned char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
static int is_punct(unsigned char c)
{
    return c > ' ' && c < 0x7f && !is_alnum(c);
}

static const struct char_class classes[] = {
    {"alpha", is_alpha}, {"digit", is_digit}, {"alnum", is_alnum},   {"upper", is_upper},
    {"lower", is_lower}, {"space", is_space}, {"xdigit", is_xdigit}, {"punct", is_punct},
};

/*
 * Walk one bracket expression starting at p (just after '['). Used both to
 * validate (c < 0) and to match one byte c. Returns the number of pattern
 * bytes consumed after '[' including the closing ']', or 0 when the expression
 * is malformed (reason in err when given).
 */
static size_t bracket(const char *p, const char *pe, int c, bool *matched, char *err, size_t errlen)
{
    const char *start = p;
    bool negate = false, hit = false;

    if (p < pe && (*p == '!' || *p == '^')) {
        negate = true;
        p++;
    }
    bool first = true;
    for (;;) {
        if (p >= pe) {
            if (err)
                snprintf(err, errlen, "unterminated '['");
            return 0;
        }
        if (*p == ']' && !first)
            break;
        first = false;
        if (*p == '[' && p + 1 < pe && p[1] == ':') {
            const char *name = p + 2, *end = name;
            while (end + 1 < pe && !(end[0] == ':' && end[1] == ']'))
                end++;
            if (end + 1 >= pe) {
                if (err)
                    snprintf(err, errlen, "unterminated '[:' character class");
                return 0;
            }
            const struct char_class *cls = NULL;
            for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
                if (strlen(classes[i].name) == (size_t)(end - name) &&
                    memcmp(classes[i].name, name, (size_t)(end - name)) == 0)
                    cls = &classes[i];
            if (!cls) {
                if (err) {
                    /* The name comes from the policy file: show printable bytes only. */
                    char shown[24];
                    size_t n = 0;
                    for (const char *q = name; q < end && n < 20; q++)
                        shown[n++] = (*q >= 0x20 && *q < 0x7f) ? *q : '?';
                    shown[n] = '\0';
                    snprintf(err, errlen, "unknown character class '[:%s%s:]'", shown,
                             end - name > 20 ? "..." : "");
                }
                return 0;
            }
            if (c >= 0 && cls->test((unsigned char)c))
                hit = true;
            p = end + 2;
            continue;
        }
        unsigned char lo = (unsigned char)*p;
        if (lo == '\\') {
            if (p + 1 >= pe) {
                if (err)
                    snprintf(err, errlen, "trailing '\\' in pattern");
                return 0;
            }
            lo = (unsigned char)*++p;
        }
        p++;
        unsigned char hi = lo;
        if (p + 1 < pe && *p == '-' && p[1] != ']') {
            p++;
            hi = (unsigned char)*p;
            if (hi == '\\') {
                if (p + 1 >= pe) {
                    if (err)
                        snprintf(err, errlen, "trailing '\\' in pattern");
                    return 0;
                }
                hi = (unsigned char)*++p;
            }
            p++;
            if (hi < lo) {
                if (err)
                    snprintf(err, errlen, "empty range '%c-%c'", lo >= ' ' && lo < 0x7f ? lo : '?',
                             hi >= ' ' && hi < 0x7f ? hi : '?');
                return 0;
            }
        }
        if (c >= 0 && (unsigned char)c >= lo && (unsigned char)c <= hi)
            hit = true;
    }
    if (matched)
        *matched = hit != negate;
    return (size_t)(p + 1 - start);
}

/*
 * Iterative matcher: on a mismatch, retry from the last '*' one byte further
 * into the subject. Worst case O(pattern x subject), no recursion, no memory.
 */
static bool wild_match(const char *p, const char *pe, const char *s)
{
    const char *star_p = NULL, *star_s = NULL;

    while (*s) {
        if (p < pe) {
            unsigned char c = (unsigned char)*p;
            if (c == '*') {
                while (p < pe && *p == '*')
                    p++;
                if (p == pe)
                    return true;
                star_p = p;
                star_s = s;
                continue;
            }
            if (c == '?') {
                p++;
                s++;
                continue;
            }
            if (c == '[') {
                bool hit = false;
                size_t n = bracket(p + 1, pe, (unsigned char)*s, &hit, NULL, 0);
                if (n && hit) {
                    p += 1 + n;
                    s++;
                    continue;
                }
            } else {
                if (c == '\\' && p + 1 < pe)
                    c = (unsigned char)*++p;
                if (c == (unsigned char)*s) {
                    p++;
                    s++;
                    continue;
                }
            }
        }
        if (!star_p)
            return false;
        p = star_p;
        s = ++star_s;
    }
    while (p < pe && *p == '*')
        p++;
    return p == pe;
}

int eg_glob_compile(struct eg_glob *g, const char *pattern, size_t len, unsigned flags, char *err,
                    size_t errlen)
{
    memset(g, 0, sizeof(*g));
    if (len == 0) {
        snprintf(err, errlen, "empty pattern");
        return -1;
    }
    bool wild = false;
    for (size_t i = 0; i < len; i++) {
        char c = pattern[i];
        if (c == '\0') {
            snprintf(err, errlen, "pattern contains a NUL byte");
            return -1;
        }
        if (c == '*' || c == '?')
            wild = true;
        else if (c == '\\') {
            if (i + 1 >= len) {
                snprintf(err, errlen, "trailing '\\' in pattern");
                return -1;
            }
            wild = true;
            i++;
        } else if (c == '[') {
            size_t n = bracket(pattern + i + 1, pattern + len, -1, NULL, err, errlen);
            if (n == 0)
                return -1;
            wild = true;
            i += n;
        } else if (c == ']') {
            snprintf(err, errlen, "unbalanced ']'");
            return -1;
        }
    }
    bool dir = (flags & EG_GLOB_DIR_PREFIX) && pattern[len - 1] == '/';
    /* A directory pattern with wildcards ("/home/<star>/.ssh/") gets a trailing star. */
    size_t extra = dir && wild ? 1 : 0;
    g->text = malloc(len + extra + 1);
    if (!g->text) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(g->text, pattern, len);
    if (extra)
        g->text[len] = '*';
    g->text[len + extra] = '\0';
    g->len = len + extra;
    g->kind = wild ? EG_GLOB_WILD : dir ? EG_GLOB_PREFIX : EG_GLOB_EXACT;
    return 0;
}

bool eg_glob_match(const struct eg_glob *g, const char *s)
{
    if (!s || !g->text)
        return false;
    switch (g->kind) {
    case EG_GLOB_EXACT:
        return strcmp(g->text, s) == 0;
    case EG_GLOB_PREFIX:
        /* "/etc/sudoers.d/" covers the directory itself and all beneath it. */
        if (strncmp(g->text, s, g->len) == 0)
            return true;
        return strncmp(g->text, s, g->len - 1) == 0 && s[g->len - 1] == '\0';
    case EG_GLOB_WILD:
        return wild_match(g->text, g->text + g->len, s);
    }
    return false;
}

void eg_glob_free(struct eg_glob *g)
{
    free(g->text);
    g->text = NULL;
    g->len = 0;
}
