/*
 * One HTTP request of the ECS client, as the worker thread hands it to the
 * curl multi handle: the three endpoints (the ECS agent's /v1/tasks?dockerid=
 * and /v1/metadata, the Docker Engine API's /containers/<id>/json on its unix
 * socket), the options every request gets (timeouts, no proxy, http only, no
 * redirects), the body captured under EG_ECS_MAX_BODY, and the classification
 * of how the request ended.
 *
 * Owns no shared state; the scheduling of requests and what an answer does
 * are ecs_client.c's and ecs_cache.c's.
 */
#include "collectors/ecs_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct eg_ecs_transfer *t = userp;
    size_t n = size * nmemb;
    /* Stop receiving as soon as the cap is crossed, whatever Content-Length promised. */
    if (n > EG_ECS_MAX_BODY - t->len) {
        t->oversized = true;
        return 0;
    }
    if (t->len + n > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (cap < t->len + n)
            cap *= 2;
        if (cap > EG_ECS_MAX_BODY)
            cap = EG_ECS_MAX_BODY;
        char *grown = realloc(t->body, cap);
        if (!grown)
            return 0;
        t->body = grown;
        t->cap = cap;
    }
    memcpy(t->body + t->len, data, n);
    t->len += n;
    return n;
}

void eg_ecs_transfer_free(struct eg_ecs_transfer *t)
{
    if (!t)
        return;
    if (t->easy)
        curl_easy_cleanup(t->easy);
    free(t->url);
    free(t->body);
    free(t);
}

struct eg_ecs_transfer *eg_ecs_transfer_new(const struct eg_ecs_http_config *http,
                                            enum eg_ecs_transfer_kind kind, const char *id)
{
    struct eg_ecs_transfer *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->kind = kind;
    size_t url_len = strlen(http->base_url) + 64 + EG_ECS_ID_BUF;
    t->url = malloc(url_len);
    t->easy = curl_easy_init();
    if (!t->url || !t->easy) {
        eg_ecs_transfer_free(t);
        return NULL;
    }
    if (kind == EG_ECS_XFER_TASK) {
        memcpy(t->id, id, EG_ECS_ID_BUF);
        /* Always the full id: a 13-63 char prefix is a 404 and a short one can be a 400. */
        snprintf(t->url, url_len, "%s/v1/tasks?dockerid=%s", http->base_url, id);
    } else if (kind == EG_ECS_XFER_RUNTIME) {
        memcpy(t->id, id, EG_ECS_ID_BUF);
        snprintf(t->url, url_len, "http://localhost/containers/%s/json", id);
        curl_easy_setopt(t->easy, CURLOPT_UNIX_SOCKET_PATH, http->docker_socket);
    } else {
        snprintf(t->url, url_len, "%s/v1/metadata", http->base_url);
    }
    CURL *h = t->easy;
    curl_easy_setopt(h, CURLOPT_URL, t->url);
    curl_easy_setopt(h, CURLOPT_PRIVATE, t);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, http->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, http->request_timeout_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)EG_ECS_MAX_BODY);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    /* The agent is local: an http_proxy in the environment must not capture these requests. */
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "ecsguard/" ECSGUARD_VERSION);
    return t;
}

enum eg_ecs_outcome eg_ecs_transfer_outcome(const struct eg_ecs_transfer *t, CURLcode rc,
                                            long *status)
{
    *status = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, status);
    if (t->oversized || rc == CURLE_FILESIZE_EXCEEDED)
        return EG_ECS_OUT_OVERSIZED;
    switch (rc) {
    case CURLE_OK:
        break;
    case CURLE_OPERATION_TIMEDOUT:
        return EG_ECS_OUT_TIMEOUT;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return EG_ECS_OUT_CONNECT;
    default:
        return EG_ECS_OUT_TRANSPORT;
    }
    if (*status == 200)
        return EG_ECS_OUT_OK; /* still subject to parsing */
    if (*status == 404)
        return EG_ECS_OUT_NOT_FOUND;
    return EG_ECS_OUT_HTTP_ERROR;
}
