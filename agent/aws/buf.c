#include "agent/aws/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool reserve(struct eg_buf *b, size_t extra)
{
    if (b->failed)
        return false;
    if (b->len + extra + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->failed = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

void eg_buf_append(struct eg_buf *b, const void *data, size_t len)
{
    if (!reserve(b, len))
        return;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void eg_buf_puts(struct eg_buf *b, const char *s)
{
    eg_buf_append(b, s, strlen(s));
}

void eg_buf_putc(struct eg_buf *b, char c)
{
    eg_buf_append(b, &c, 1);
}

void eg_buf_printf(struct eg_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if (!reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *eg_buf_take(struct eg_buf *b)
{
    char *out = NULL;
    if (!b->failed) {
        out = b->data ? b->data : strdup("");
        b->data = NULL;
    }
    eg_buf_free(b);
    return out;
}

void eg_buf_free(struct eg_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}
