/*
 * AWS Signature Version 4 (header signing) with OpenSSL libcrypto.
 * The canonical request and string to sign are exposed so tests can check
 * every step against AWS's own test suite, not only the final signature.
 */
#ifndef ECSGUARD_AWS_SIGV4_H
#define ECSGUARD_AWS_SIGV4_H

#include <stddef.h>
#include <time.h>

struct eg_sigv4_header {
    const char *name;
    const char *value;
};

struct eg_sigv4_request {
    const char *method; /* "GET", "POST", ... */
    const char *path;   /* raw, unencoded absolute path; NULL or "" means "/" */
    const char *query;  /* raw query without '?', may be percent-encoded; NULL for none */
    const struct eg_sigv4_header *headers; /* every header to sign; must include Host */
    size_t n_headers;
    const void *body;
    size_t body_len;
};

struct eg_sigv4_signer {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token; /* NULL for long-term keys; else signed as x-amz-security-token */
    const char *region;
    const char *service;
    const char *amz_date; /* YYYYMMDDTHHMMSSZ; also sent as X-Amz-Date by the caller */
};

struct eg_sigv4_result {
    char *canonical_request;
    char *string_to_sign;
    char *authorization; /* value of the Authorization header */
    char signature[65];
};

/* 0 on success; -1 on bad input or allocation failure (result left empty). */
int eg_sigv4_sign(const struct eg_sigv4_request *req, const struct eg_sigv4_signer *signer,
                  struct eg_sigv4_result *out);
void eg_sigv4_result_free(struct eg_sigv4_result *r);

/* X-Amz-Date form of `t` (UTC) into out[17]. */
void eg_sigv4_amz_date(time_t t, char out[17]);

/* Lowercase hex SHA-256 of data into out[65]. */
void eg_sha256_hex(const void *data, size_t len, char out[65]);

#endif
