/*
 * Strings from the kernel and from containers are attacker-controlled: comm,
 * paths and arguments may hold any bytes. Everything that goes into a finding
 * passes through here: invalid UTF-8 becomes U+FFFD, and over-long values are
 * cut at a character boundary with an explicit marker, so every line stays
 * valid JSON (json-c escapes quotes, backslashes and control characters).
 */
#ifndef ECSGUARD_JSON_TEXT_H
#define ECSGUARD_JSON_TEXT_H

#include <stddef.h>

#include "policy/utf8.h" /* eg_utf8_seq_len */

struct json_object;

#define EG_TRUNCATION_MARKER "...[truncated]"

/*
 * Copy `in` (`inlen` bytes, may contain NULs: they end the string) into
 * `out` as valid UTF-8 of at most outlen-1 bytes. Returns bytes written.
 */
size_t eg_utf8_copy(const char *in, size_t inlen, char *out, size_t outlen);

/* A json-c string from untrusted bytes (bounded to max_bytes, marker when cut). */
struct json_object *eg_json_string(const char *s, size_t max_bytes);
struct json_object *eg_json_string_n(const char *s, size_t n, size_t max_bytes);

#endif
