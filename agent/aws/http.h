/*
 * One blocking HTTP exchange over libcurl, for the delivery thread and the
 * credential providers (never for the agent's event loop). Response bodies are
 * capped so a misbehaving endpoint cannot exhaust memory.
 */
#ifndef ECSGUARD_AWS_HTTP_H
#define ECSGUARD_AWS_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#define EG_HTTP_MAX_BODY (4u << 20)

struct eg_http_request {
    const char *method; /* "GET", "PUT", "POST" */
    const char *url;
    const char *const *headers; /* "Name: value" lines */
    size_t n_headers;
    const void *body;
    size_t body_len;
    long timeout_ms;   /* whole exchange */
    bool bypass_proxy; /* link-local metadata endpoints are never reached through a proxy */
};

struct eg_http_response {
    long status; /* HTTP status; 0 when no response arrived */
    char *body;  /* NUL-terminated; NULL when empty */
    size_t body_len;
    char *error_type; /* X-Amzn-Errortype header, if sent */
    char error[256];  /* transport error text when eg_http_do() returns -1 */
};

/* 0 when a response arrived (any status; free it with eg_http_response_free); -1 on a
 * transport failure (error set, nothing else: no status, body or error type to free). */
int eg_http_do(const struct eg_http_request *req, struct eg_http_response *resp);
void eg_http_response_free(struct eg_http_response *resp);

#endif
