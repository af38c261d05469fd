#include "agent/aws/sigv4.h"
#include "agent/aws/buf.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

static const char HEX[] = "0123456789abcdef";

static void hex_encode(const unsigned char *in, size_t len, char *out)
{
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = HEX[in[i] >> 4];
        out[2 * i + 1] = HEX[in[i] & 15];
    }
    out[2 * len] = '\0';
}

void eg_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(data ? data : (const void *)"", len, md);
    hex_encode(md, sizeof(md), out);
}

void eg_sigv4_amz_date(time_t t, char out[17])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static bool hmac_sha256(const void *key, size_t key_len, const char *msg, unsigned char out[32])
{
    unsigned int out_len = 32;
    return HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)msg, strlen(msg), out,
                &out_len) != NULL;
}

static bool is_unreserved(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

/* RFC 3986 encoding as SigV4 wants it: unreserved bytes kept, the rest %XX. */
static void uri_encode(struct eg_buf *b, const char *s, size_t len, bool keep_slash)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            eg_buf_putc(b, (char)c);
        } else {
            char esc[4] = {'%', "0123456789ABCDEF"[c >> 4], "0123456789ABCDEF"[c & 15], 0};
            eg_buf_puts(b, esc);
        }
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Undo percent-encoding so already-encoded query parts are not encoded twice. */
static char *percent_decode(const char *s, size_t len, size_t *out_len)
{
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < len && (hi = hexval(s[i + 1])) >= 0 &&
            (lo = hexval(s[i + 2])) >= 0) {
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}

struct query_param {
    char *name;  /* encoded */
    char *value; /* encoded */
};

static int cmp_param(const void *a, const void *b)
{
    const struct query_param *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

static char *encode_component(const char *s, size_t len)
{
    size_t dlen;
    char *dec = percent_decode(s, len, &dlen);
    if (!dec)
        return NULL;
    struct eg_buf b = {0};
    uri_encode(&b, dec, dlen, false);
    free(dec);
    return eg_buf_take(&b);
}

static bool canonical_query(struct eg_buf *out, const char *query)
{
    if (!query || !*query)
        return true;
    size_t n = 1;
    for (const char *p = query; *p; p++)
        n += *p == '&';
    struct query_param *params = calloc(n, sizeof(*params));
    if (!params)
        return false;
    size_t count = 0;
    bool ok = true;
    const char *p = query;
    while (ok && *p) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > 0) {
            const char *eq = memchr(p, '=', len);
            size_t nlen = eq ? (size_t)(eq - p) : len;
            params[count].name = encode_component(p, nlen);
            params[count].value = eq ? encode_component(eq + 1, len - nlen - 1) : strdup("");
            ok = params[count].name && params[count].value;
            count++;
        }
        p += len + (end ? 1 : 0);
    }
    if (ok) {
        qsort(params, count, sizeof(*params), cmp_param);
        for (size_t i = 0; i < count; i++)
            eg_buf_printf(out, "%s%s=%s", i ? "&" : "", params[i].name, params[i].value);
    }
    for (size_t i = 0; i < count; i++) {
        free(params[i].name);
        free(params[i].value);
    }
    free(params);
    return ok;
}

struct canon_header {
    char *name;  /* lowercase */
    char *value; /* trimmed, inner space runs collapsed */
};

static int cmp_header(const void *a, const void *b)
{
    return strcmp(((const struct canon_header *)a)->name, ((const struct canon_header *)b)->name);
}

static char *lower_dup(const char *s)
{
    char *d = strdup(s);
    for (char *p = d; p && *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return d;
}

static char *trim_collapse(const char *s)
{
    struct eg_buf b = {0};
    while (*s == ' ' || *s == '\t')
        s++;
    bool pending_space = false;
    for (; *s; s++) {
        if (*s == ' ' || *s == '\t') {
            pending_space = true;
            continue;
        }
        if (pending_space)
            eg_buf_putc(&b, ' ');
        pending_space = false;
        eg_buf_putc(&b, *s);
    }
    return eg_buf_take(&b);
}

/* Lowercased, trimmed, sorted headers; duplicates merged with ','. */
static struct canon_header *canonical_headers(const struct eg_sigv4_request *req,
                                              const char *session_token, size_t *n_out)
{
    size_t n = req->n_headers + 1;
    struct canon_header *h = calloc(n, sizeof(*h));
    if (!h)
        return NULL;
    size_t count = 0;
    bool have_token = false, ok = true;
    for (size_t i = 0; ok && i < req->n_headers; i++) {
        char *name = lower_dup(req->headers[i].name);
        char *value = trim_collapse(req->headers[i].value ? req->headers[i].value : "");
        ok = name && value;
        if (ok && strcmp(name, "x-amz-security-token") == 0)
            have_token = true;
        size_t j;
        for (j = 0; ok && j < count; j++)
            if (strcmp(h[j].name, name) == 0)
                break;
        if (ok && j < count) {
            struct eg_buf b = {0};
            eg_buf_printf(&b, "%s,%s", h[j].value, value);
            free(h[j].value);
            h[j].value = eg_buf_take(&b);
            ok = h[j].value != NULL;
            free(name);
            free(value);
        } else {
            h[count].name = name;
            h[count].value = value;
            count++;
        }
    }
    if (ok && session_token && *session_token && !have_token) {
        h[count].name = strdup("x-amz-security-token");
        h[count].value = trim_collapse(session_token);
        ok = h[count].name && h[count].value;
        count++;
    }
    if (!ok) {
        for (size_t i = 0; i < count; i++) {
            free(h[i].name);
            free(h[i].value);
        }
        free(h);
        return NULL;
    }
    qsort(h, count, sizeof(*h), cmp_header);
    *n_out = count;
    return h;
}

static bool valid_signer(const struct eg_sigv4_signer *s)
{
    return s && s->access_key_id && *s->access_key_id && s->secret_access_key && s->region &&
           *s->region && s->service && *s->service && s->amz_date && strlen(s->amz_date) == 16;
}

int eg_sigv4_sign(const struct eg_sigv4_request *req, const struct eg_sigv4_signer *signer,
                  struct eg_sigv4_result *out)
{
    memset(out, 0, sizeof(*out));
    if (!req || !req->method || !valid_signer(signer))
        return -1;

    size_t n_headers = 0;
    struct canon_header *headers = canonical_headers(req, signer->session_token, &n_headers);
    if (!headers)
        return -1;

    struct eg_buf creq = {0}, signed_names = {0};
    eg_buf_printf(&creq, "%s\n", req->method);
    const char *path = req->path && *req->path ? req->path : "/";
    uri_encode(&creq, path, strlen(path), true);
    eg_buf_putc(&creq, '\n');
    bool ok = canonical_query(&creq, req->query);
    eg_buf_putc(&creq, '\n');
    for (size_t i = 0; i < n_headers; i++) {
        eg_buf_printf(&creq, "%s:%s\n", headers[i].name, headers[i].value);
        eg_buf_printf(&signed_names, "%s%s", i ? ";" : "", headers[i].name);
        free(headers[i].name);
        free(headers[i].value);
    }
    free(headers);
    char payload_hash[65];
    eg_sha256_hex(req->body, req->body_len, payload_hash);
    eg_buf_printf(&creq, "\n%s\n%s", signed_names.data ? signed_names.data : "", payload_hash);

    out->canonical_request = eg_buf_take(&creq);
    char *signed_list = eg_buf_take(&signed_names);
    if (!ok || !out->canonical_request || !signed_list) {
        free(signed_list);
        eg_sigv4_result_free(out);
        return -1;
    }

    char date[9];
    memcpy(date, signer->amz_date, 8);
    date[8] = '\0';
    char creq_hash[65];
    eg_sha256_hex(out->canonical_request, strlen(out->canonical_request), creq_hash);
    struct eg_buf sts = {0};
    eg_buf_printf(&sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s", signer->amz_date, date,
                  signer->region, signer->service, creq_hash);
    out->string_to_sign = eg_buf_take(&sts);

    /* Signing key: HMAC chain over date, region, service and the fixed terminator. */
    struct eg_buf k = {0};
    eg_buf_printf(&k, "AWS4%s", signer->secret_access_key);
    unsigned char k_date[32], k_region[32], k_service[32], k_signing[32], sig[32];
    ok = out->string_to_sign && !k.failed && hmac_sha256(k.data, k.len, date, k_date) &&
         hmac_sha256(k_date, 32, signer->region, k_region) &&
         hmac_sha256(k_region, 32, signer->service, k_service) &&
         hmac_sha256(k_service, 32, "aws4_request", k_signing) &&
         hmac_sha256(k_signing, 32, out->string_to_sign, sig);
    /* The secret must not linger in freed heap memory. */
    if (k.data)
        OPENSSL_cleanse(k.data, k.len);
    eg_buf_free(&k);
    OPENSSL_cleanse(k_date, sizeof(k_date));
    OPENSSL_cleanse(k_region, sizeof(k_region));
    OPENSSL_cleanse(k_service, sizeof(k_service));
    OPENSSL_cleanse(k_signing, sizeof(k_signing));
    if (!ok) {
        free(signed_list);
        eg_sigv4_result_free(out);
        return -1;
    }
    hex_encode(sig, sizeof(sig), out->signature);

    struct eg_buf authz = {0};
    eg_buf_printf(&authz,
                  "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, "
                  "Signature=%s",
                  signer->access_key_id, date, signer->region, signer->service, signed_list,
                  out->signature);
    free(signed_list);
    out->authorization = eg_buf_take(&authz);
    if (!out->authorization) {
        eg_sigv4_result_free(out);
        return -1;
    }
    return 0;
}

void eg_sigv4_result_free(struct eg_sigv4_result *r)
{
    free(r->canonical_request);
    free(r->string_to_sign);
    free(r->authorization);
    memset(r, 0, sizeof(*r));
}
