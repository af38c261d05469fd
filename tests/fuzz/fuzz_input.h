/*
 * Splitting one libFuzzer input into the fields a target needs (lengths, numbers, strings),
 * and the checks several targets share. Header-only: each target (and its corpus replay,
 * tests/fuzz/replay.c) is one translation unit.
 *
 * Taking past the end yields zeros and empty strings, never an error: every input decodes,
 * so the fuzzer spends no time on inputs a target rejects before reaching the code.
 */
#ifndef ECSGUARD_FUZZ_INPUT_H
#define ECSGUARD_FUZZ_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

struct fuzz_input {
    const uint8_t *p;
    size_t left;
};

static inline uint8_t fuzz_u8(struct fuzz_input *in)
{
    if (!in->left)
        return 0;
    in->left--;
    return *in->p++;
}

static inline uint32_t fuzz_u32(struct fuzz_input *in)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)fuzz_u8(in) << (8 * i);
    return v;
}

static inline uint64_t fuzz_u64(struct fuzz_input *in)
{
    return (uint64_t)fuzz_u32(in) | (uint64_t)fuzz_u32(in) << 32;
}

/* Up to `n` bytes (fewer at the end of the input); returns how many, *out points into it. */
static inline size_t fuzz_bytes(struct fuzz_input *in, size_t n, const uint8_t **out)
{
    if (n > in->left)
        n = in->left;
    *out = in->p;
    in->p += n;
    in->left -= n;
    return n;
}

/*
 * A string field: one length byte (255: the field's whole capacity, so the bounds are met
 * often), then that many bytes copied into dst (capacity cap, always NUL-terminated unless
 * `unterminated`: then exactly cap bytes with no room kept for a NUL, as the kernel's
 * fixed-size fields come).
 */
static inline void fuzz_field(struct fuzz_input *in, char *dst, size_t cap, bool unterminated)
{
    size_t room = unterminated ? cap : cap - 1;
    uint8_t l = fuzz_u8(in);
    size_t want = l == 255 ? room : l;
    if (want > room)
        want = room;
    const uint8_t *src;
    size_t n = fuzz_bytes(in, want, &src);
    memset(dst, 0, cap);
    memcpy(dst, src, n);
}

/* The rest of the input. */
static inline size_t fuzz_rest(struct fuzz_input *in, const uint8_t **out)
{
    return fuzz_bytes(in, in->left, out);
}

/* Violated contracts abort with a message: libFuzzer saves the input that did it. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: contract broken: %s\n", __FILE__, __LINE__, #cond);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* A fixed-size char field holds a NUL within its size. */
#define FUZZ_TERMINATED(field) FUZZ_CHECK(memchr((field), '\0', sizeof(field)) != NULL)

/* Whether s[0..n) is valid UTF-8 (RFC 3629: no overlong forms, no surrogates). */
static inline bool fuzz_valid_utf8(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t len;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

/*
 * Whether s[0..n) is made of whole UTF-8 sequences: each lead byte followed by as many
 * continuation bytes as it announces, no stray continuation byte. This is what json-c's
 * JSON_TOKENER_VALIDATE_UTF8 checks (it admits code points past U+10FFFF, surrogates and
 * overlong forms), so it is what a parser relying on it can promise, and it is what a cut
 * "at a character boundary" must keep.
 */
static inline bool fuzz_whole_utf8_sequences(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    for (size_t i = 0; i < n;) {
        size_t len = s[i] < 0x80   ? 1
                     : s[i] < 0xc0 ? 0
                     : s[i] < 0xe0 ? 2
                     : s[i] < 0xf0 ? 3
                     : s[i] < 0xf8 ? 4
                                   : 0;
        if (len == 0 || n - i < len)
            return false;
        for (size_t k = 1; k < len; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
        i += len;
    }
    return true;
}

/*
 * `line` (length n) is one JSON line as a consumer reads it: valid UTF-8, no raw control
 * character (so no newline splits it), exactly one JSON object and nothing after it. Returns
 * the object (caller puts it).
 */
static inline struct json_object *fuzz_check_json_line(const char *line, size_t n)
{
    FUZZ_CHECK(strlen(line) == n);
    FUZZ_CHECK(fuzz_valid_utf8(line, n));
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK((unsigned char)line[i] >= 0x20);
    json_tokener *tok = json_tokener_new();
    FUZZ_CHECK(tok != NULL);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    struct json_object *root = json_tokener_parse_ex(tok, line, (int)n);
    FUZZ_CHECK(root != NULL && json_tokener_get_error(tok) == json_tokener_success);
    FUZZ_CHECK(json_tokener_get_parse_end(tok) == n);
    FUZZ_CHECK(json_object_is_type(root, json_type_object));
    json_tokener_free(tok);
    return root;
}

#endif
