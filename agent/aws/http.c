#include "agent/aws/http.h"
#include "agent/aws/buf.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct sink_state {
    struct eg_buf body;
    bool too_big;
    struct eg_http_response *resp;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct sink_state *st = userdata;
    size_t n = size * nmemb;
    if (st->body.len + n > EG_HTTP_MAX_BODY) {
        st->too_big = true;
        return 0; /* aborts the transfer */
    }
    eg_buf_append(&st->body, data, n);
    return st->body.failed ? 0 : n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct sink_state *st = userdata;
    size_t n = size * nmemb;
    static const char name[] = "x-amzn-errortype:";
    if (n > sizeof(name) - 1 && strncasecmp(data, name, sizeof(name) - 1) == 0 &&
        !st->resp->error_type) {
        const char *v = data + sizeof(name) - 1;
        size_t len = n - (sizeof(name) - 1);
        while (len && (*v == ' ' || *v == '\t')) {
            v++;
            len--;
        }
        while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
            len--;
        st->resp->error_type = strndup(v, len);
    }
    return n;
}

int eg_http_do(const struct eg_http_request *req, struct eg_http_response *resp)
{
    memset(resp, 0, sizeof(*resp));
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK) {
        snprintf(resp->error, sizeof(resp->error), "libcurl init failed: %s",
                 curl_easy_strerror(curl_init_rc));
        return -1;
    }
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(resp->error, sizeof(resp->error), "libcurl handle allocation failed");
        return -1;
    }
    struct curl_slist *hdrs = NULL;
    bool ok = true;
    for (size_t i = 0; ok && i < req->n_headers; i++) {
        struct curl_slist *n = curl_slist_append(hdrs, req->headers[i]);
        ok = n != NULL;
        if (n)
            hdrs = n;
    }
    /* libcurl would otherwise add "Expect: 100-continue" to large POSTs. */
    struct curl_slist *n = ok ? curl_slist_append(hdrs, "Expect:") : NULL;
    if (n)
        hdrs = n;
    struct sink_state st = {.resp = resp};
    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : 10000L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : 10000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &st);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &st);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (req->bypass_proxy)
        curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    if (req->body || strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? req->body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    CURLcode rc = ok ? curl_easy_perform(c) : CURLE_OUT_OF_MEMORY;
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
        resp->body_len = st.body.len;
        resp->body = st.body.data;
        st.body.data = NULL;
    } else if (st.too_big) {
        snprintf(resp->error, sizeof(resp->error), "response body larger than %u bytes",
                 EG_HTTP_MAX_BODY);
    } else {
        snprintf(resp->error, sizeof(resp->error), "%s", curl_easy_strerror(rc));
    }
    eg_buf_free(&st.body);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
        /* A failed exchange has no response: not the headers that came before the failure
         * either (the error type of a body that never completed leaked on every retry). */
        free(resp->error_type);
        resp->error_type = NULL;
        resp->status = 0;
        return -1;
    }
    return 0;
}

void eg_http_response_free(struct eg_http_response *resp)
{
    free(resp->body);
    free(resp->error_type);
    memset(resp, 0, sizeof(*resp));
}
