/*
 * Growable byte buffer, always NUL-terminated, for building request text and
 * collecting HTTP bodies. An allocation failure is sticky (`failed`), so
 * callers check once at the end instead of after every append.
 */
#ifndef ECSGUARD_AWS_BUF_H
#define ECSGUARD_AWS_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct eg_buf {
    char *data;
    size_t len;
    size_t cap;
    bool failed;
};

void eg_buf_append(struct eg_buf *b, const void *data, size_t len);
void eg_buf_puts(struct eg_buf *b, const char *s);
void eg_buf_putc(struct eg_buf *b, char c);
void eg_buf_printf(struct eg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hand the string to the caller (NULL if any append failed) and reset the buffer. */
char *eg_buf_take(struct eg_buf *b);
void eg_buf_free(struct eg_buf *b);

#endif
