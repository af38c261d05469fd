#include "agent/common/json_text.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* As eg_utf8_copy; *consumed tells how many input bytes were represented. */
static size_t sanitize(const char *in, size_t inlen, char *out, size_t outlen, size_t *consumed)
{
    static const char replacement[] = "\xef\xbf\xbd";
    *consumed = 0;
    if (outlen == 0)
        return 0;
    const unsigned char *s = (const unsigned char *)in;
    size_t o = 0;
    for (size_t i = 0; i < inlen && s[i];) {
        /* A run of ASCII (paths, ids, ARNs: nearly everything) is copied in one go; the
         * byte-by-byte check was ~13 % of the instructions per finding line. */
        size_t run = 0;
        while (i + run < inlen && s[i + run] && s[i + run] < 0x80)
            run++;
        if (run) {
            size_t room = outlen - 1 - o; /* o < outlen always: the NUL's byte stays free */
            size_t take = run < room ? run : room;
            memcpy(out + o, s + i, take);
            o += take;
            i += take;
            *consumed = i;
            if (take < run)
                break;
            continue;
        }
        size_t n = eg_utf8_seq_len(s + i, inlen - i);
        const char *src = n ? (const char *)s + i : replacement;
        size_t len = n ? n : 3;
        if (o + len >= outlen)
            break;
        memcpy(out + o, src, len);
        o += len;
        i += n ? n : 1;
        *consumed = i;
    }
    out[o] = '\0';
    return o;
}

size_t eg_utf8_copy(const char *in, size_t inlen, char *out, size_t outlen)
{
    size_t consumed;
    return sanitize(in, inlen, out, outlen, &consumed);
}

struct json_object *eg_json_string_n(const char *s, size_t n, size_t max_bytes)
{
    if (!s)
        return NULL;
    /* Not zeroed: sanitize writes it up to its NUL, and zeroing 1 KiB took 126 stores for
     * every string of every finding line. */
    char stackbuf[1024];
    stackbuf[0] = '\0';
    size_t inlen = strnlen(s, n), consumed;
    /* Sanitizing at most triples a string (U+FFFD for an invalid byte): a short one fits the
     * stack buffer whatever max_bytes allows, and is never cut. A malloc of max_bytes for
     * every string was a seventh of a finding line's instructions. */
    size_t cap = max_bytes + 1;
    if (cap > sizeof(stackbuf) && inlen < sizeof(stackbuf) / 3)
        cap = sizeof(stackbuf);
    char *buf = cap <= sizeof(stackbuf) ? stackbuf : malloc(cap);
    if (!buf)
        return NULL;
    size_t w = sanitize(s, inlen, buf, cap, &consumed);
    if (consumed < inlen) {
        /* Cut: make room for the marker, still on a character boundary. */
        size_t mlen = sizeof(EG_TRUNCATION_MARKER) - 1;
        size_t keep = max_bytes > mlen ? max_bytes - mlen : 0;
        w = sanitize(s, inlen, buf, keep + 1, &consumed);
        memcpy(buf + w, EG_TRUNCATION_MARKER, mlen + 1);
        w += mlen;
    }
    struct json_object *o = json_object_new_string_len(buf, (int)w);
    if (buf != stackbuf)
        free(buf);
    return o;
}

struct json_object *eg_json_string(const char *s, size_t max_bytes)
{
    return s ? eg_json_string_n(s, strlen(s), max_bytes) : NULL;
}
