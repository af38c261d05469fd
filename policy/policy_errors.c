/* Collecting load problems: the first 64 are kept, all are counted. */
#include "policy/policy_internal.h"

#include <stdarg.h>
#include <stdio.h>

void eg_policy_error_add(struct eg_policy_errors *errs, unsigned line, unsigned column,
                         const char *fmt, ...)
{
    errs->total++;
    if (errs->count >= sizeof(errs->items) / sizeof(errs->items[0]))
        return;
    struct eg_policy_error *e = &errs->items[errs->count++];
    e->line = line;
    e->column = column;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
}

/*
 * Policy text ends up in terminal output and logs: never echo control bytes
 * or half a UTF-8 sequence from a hostile file.
 */
void eg_policy_quote(char *dst, size_t dstlen, const char *s, size_t len, size_t max)
{
    size_t o = 0;
    if (dstlen == 0)
        return;
    for (size_t i = 0; i < len && o + 1 < dstlen; i++) {
        if (i == max) {
            for (int k = 0; k < 3 && o + 1 < dstlen; k++)
                dst[o++] = '.';
            break;
        }
        unsigned char c = (unsigned char)s[i];
        dst[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    dst[o] = '\0';
}
