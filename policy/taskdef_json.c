/* JSON's surrogate-pair escapes, which the YAML reader does not know (taskdef_read.c). */
#include "policy/taskdef_internal.h"

#include <stdio.h>
#include <stdlib.h>

static int hex4(const char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/*
 * JSON writes a character outside the Basic Multilingual Plane as a UTF-16 surrogate pair
 * (`\ud83d\ude00`, what Python's json module emits); YAML has no such escape and libyaml
 * refuses it. Rewrite each pair inside a double-quoted string as YAML's `\U0001f600`
 * (two characters shorter: columns after it on that line move by two). Only in JSON
 * documents (starting with '{' or '['). NULL when there is nothing to rewrite, else a new buffer
 * the caller frees.
 */
char *eg_td_rewrite_surrogates(const char *text, size_t len, size_t *out_len)
{
    size_t first = 0;
    while (first < len && (text[first] == ' ' || text[first] == '\t' || text[first] == '\r' ||
                           text[first] == '\n'))
        first++;
    if (first == len || (text[first] != '{' && text[first] != '['))
        return NULL; /* YAML: its quoting is not JSON's, and it has \U of its own */
    bool found = false;
    for (size_t i = 0; i + 1 < len && !found; i++)
        found = text[i] == '\\' && text[i + 1] == 'u';
    if (!found)
        return NULL;
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    bool in_string = false;
    for (size_t i = 0; i < len;) {
        char c = text[i];
        if (!in_string) {
            in_string = c == '"';
            out[o++] = text[i++];
            continue;
        }
        if (c == '"') {
            in_string = false;
            out[o++] = text[i++];
            continue;
        }
        if (c != '\\' || i + 1 >= len) {
            out[o++] = text[i++];
            continue;
        }
        int hi = text[i + 1] == 'u' && i + 12 <= len ? hex4(text + i + 2) : -1;
        int lo = hi >= 0xd800 && hi < 0xdc00 && text[i + 6] == '\\' && text[i + 7] == 'u'
                     ? hex4(text + i + 8)
                     : -1;
        if (lo >= 0xdc00 && lo < 0xe000) {
            unsigned long cp = 0x10000ul + (((unsigned long)hi - 0xd800) << 10) + (lo - 0xdc00);
            o += (size_t)snprintf(out + o, 11, "\\U%08lx", cp);
            i += 12;
            continue;
        }
        out[o++] = text[i++]; /* the backslash and the escaped character, verbatim */
        if (i < len)
            out[o++] = text[i++];
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}
