#include "agent/aws/logs_client.h"
#include "agent/aws/buf.h"
#include "agent/aws/http.h"
#include "agent/aws/sigv4.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>

struct eg_logs_client {
    char *region;
    char *endpoint; /* scheme://authority, no trailing slash */
    char *host;     /* Host header value as curl sends it */
    struct eg_cred_provider *creds;
    long timeout_ms;
};

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* Host header for url: authority without userinfo, default port dropped. */
static char *host_of(const char *url)
{
    const char *p = strstr(url, "://");
    if (!p)
        return NULL;
    bool https = strncasecmp(url, "https", 5) == 0;
    p += 3;
    size_t n = strcspn(p, "/?#");
    const char *at = memchr(p, '@', n);
    if (at) {
        n -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    if (n == 0)
        return NULL;
    char *h = strndup(p, n);
    const char *def = https ? ":443" : ":80";
    size_t hl = strlen(h), dl = strlen(def);
    if (h && hl > dl && strcmp(h + hl - dl, def) == 0 && h[hl - dl - 1] != ':')
        h[hl - dl] = '\0';
    return h;
}

struct eg_logs_client *eg_logs_client_new(const struct eg_logs_client_opts *opts, char *err,
                                          size_t errlen)
{
    if (!opts->region || !*opts->region) {
        snprintf(err, errlen, "cloudwatch: no AWS region (set AWS_REGION)");
        return NULL;
    }
    if (!opts->credentials) {
        snprintf(err, errlen, "cloudwatch: no credential provider");
        return NULL;
    }
    struct eg_logs_client *c = calloc(1, sizeof(*c));
    if (!c)
        goto oom;
    const char *ep = opts->endpoint;
    if (!ep)
        ep = env_nonempty("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS");
    if (!ep)
        ep = env_nonempty("AWS_ENDPOINT_URL");
    struct eg_buf b = {0};
    if (ep) {
        eg_buf_puts(&b, ep);
        while (b.len && b.data[b.len - 1] == '/')
            b.data[--b.len] = '\0';
    } else {
        eg_buf_printf(&b, "https://logs.%s.amazonaws.com%s", opts->region,
                      strncmp(opts->region, "cn-", 3) == 0 ? ".cn" : "");
    }
    c->endpoint = eg_buf_take(&b);
    c->region = strdup(opts->region);
    if (!c->endpoint || !c->region)
        goto oom;
    if (strncasecmp(c->endpoint, "http://", 7) != 0 && strncasecmp(c->endpoint, "https://", 8)) {
        snprintf(err, errlen, "cloudwatch: endpoint %s is not an http(s) URL", c->endpoint);
        eg_logs_client_free(c);
        return NULL;
    }
    c->host = host_of(c->endpoint);
    if (!c->host) {
        snprintf(err, errlen, "cloudwatch: endpoint %s has no host", c->endpoint);
        eg_logs_client_free(c);
        return NULL;
    }
    c->creds = opts->credentials;
    c->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 10000;
    return c;
oom:
    eg_logs_client_free(c);
    snprintf(err, errlen, "cloudwatch: out of memory");
    return NULL;
}

void eg_logs_client_free(struct eg_logs_client *c)
{
    if (!c)
        return;
    free(c->region);
    free(c->endpoint);
    free(c->host);
    free(c);
}

const char *eg_logs_client_endpoint(const struct eg_logs_client *c)
{
    return c->endpoint;
}

void eg_logs_error_code(const char *body, const char *header, char *out, size_t outlen, char *msg,
                        size_t msglen)
{
    out[0] = '\0';
    msg[0] = '\0';
    const char *code = NULL;
    json_object *root = body ? json_tokener_parse(body) : NULL;
    if (root && json_object_is_type(root, json_type_object)) {
        json_object *v;
        if (json_object_object_get_ex(root, "__type", &v) ||
            json_object_object_get_ex(root, "code", &v) ||
            json_object_object_get_ex(root, "Code", &v))
            code = json_object_get_string(v);
        if (json_object_object_get_ex(root, "message", &v) ||
            json_object_object_get_ex(root, "Message", &v))
            snprintf(msg, msglen, "%s", json_object_get_string(v));
    }
    if (!code || !*code)
        code = header;
    if (code) {
        /* "aws.protocoltests#FooError:http://..." → "FooError" */
        const char *hash = strrchr(code, '#');
        if (hash)
            code = hash + 1;
        size_t n = strcspn(code, ":");
        snprintf(out, outlen, "%.*s", (int)n, code);
    }
    json_object_put(root);
}

static bool is_throttle(const char *code)
{
    static const char *const codes[] = {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
        "RequestTimeout",
        "RequestTimeoutException",
        "ServiceUnavailableException",
        "OperationAbortedException",
    };
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (strcmp(code, codes[i]) == 0)
            return true;
    return false;
}

static bool is_auth(const char *code)
{
    static const char *const codes[] = {
        "ExpiredTokenException",        "ExpiredToken",
        "UnrecognizedClientException",  "InvalidSignatureException",
        "IncompleteSignatureException", "InvalidClientTokenId",
        "AccessDeniedException",        "AccessDenied",
        "SignatureDoesNotMatch",
    };
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (strcmp(code, codes[i]) == 0)
            return true;
    return false;
}

static enum eg_logs_outcome classify(long status, const char *code)
{
    if (status >= 200 && status < 300)
        return EG_LOGS_OK;
    if (strcmp(code, "ResourceNotFoundException") == 0)
        return EG_LOGS_NOT_FOUND;
    if (strcmp(code, "ResourceAlreadyExistsException") == 0)
        return EG_LOGS_EXISTS;
    if (status >= 500 || status == 429 || is_throttle(code))
        return EG_LOGS_RETRY;
    if (status == 401 || status == 403 || is_auth(code))
        return EG_LOGS_AUTH;
    return EG_LOGS_INVALID;
}

void eg_logs_call(struct eg_logs_client *c, const char *operation, const char *body, size_t len,
                  struct eg_logs_reply *reply)
{
    memset(reply, 0, sizeof(*reply));
    struct eg_aws_credentials cred;
    char err[512];
    if (eg_cred_provider_get(c->creds, &cred, err, sizeof(err)) != 0) {
        reply->outcome = EG_LOGS_AUTH;
        snprintf(reply->code, sizeof(reply->code), "NoCredentials");
        snprintf(reply->message, sizeof(reply->message), "%s", err);
        return;
    }
    char amz_date[17];
    eg_sigv4_amz_date(time(NULL), amz_date);
    char target[128];
    snprintf(target, sizeof(target), "Logs_20140328.%s", operation);
    struct eg_sigv4_header sh[] = {
        {"Content-Type", "application/x-amz-json-1.1"},
        {"Host", c->host},
        {"X-Amz-Date", amz_date},
        {"X-Amz-Target", target},
        {"x-amzn-logs-format", "json/emf"}, /* lets EMF records in the stream become metrics */
    };
    struct eg_sigv4_request sreq = {.method = "POST",
                                    .path = "/",
                                    .headers = sh,
                                    .n_headers = sizeof(sh) / sizeof(sh[0]),
                                    .body = body,
                                    .body_len = len};
    struct eg_sigv4_signer signer = {.access_key_id = cred.access_key_id,
                                     .secret_access_key = cred.secret_access_key,
                                     .session_token = cred.session_token,
                                     .region = c->region,
                                     .service = "logs",
                                     .amz_date = amz_date};
    struct eg_sigv4_result sig;
    if (eg_sigv4_sign(&sreq, &signer, &sig) != 0) {
        eg_aws_credentials_clear(&cred);
        reply->outcome = EG_LOGS_RETRY;
        snprintf(reply->code, sizeof(reply->code), "SigningFailed");
        snprintf(reply->message, sizeof(reply->message), "could not sign the request");
        return;
    }
    struct eg_buf h[7] = {{0}};
    eg_buf_printf(&h[0], "Content-Type: %s", sh[0].value);
    eg_buf_printf(&h[1], "Host: %s", c->host);
    eg_buf_printf(&h[2], "X-Amz-Date: %s", amz_date);
    eg_buf_printf(&h[3], "X-Amz-Target: %s", target);
    eg_buf_printf(&h[4], "x-amzn-logs-format: %s", sh[4].value);
    eg_buf_printf(&h[5], "Authorization: %s", sig.authorization);
    size_t nh = 6;
    if (cred.session_token)
        eg_buf_printf(&h[nh++], "X-Amz-Security-Token: %s", cred.session_token);
    const char *lines[7];
    bool ok = true;
    for (size_t i = 0; i < nh; i++) {
        lines[i] = h[i].data;
        ok = ok && !h[i].failed && h[i].data;
    }
    struct eg_http_request req = {.method = "POST",
                                  .url = c->endpoint,
                                  .headers = lines,
                                  .n_headers = nh,
                                  .body = body,
                                  .body_len = len,
                                  .timeout_ms = c->timeout_ms};
    struct eg_http_response resp;
    int rc = ok ? eg_http_do(&req, &resp) : -1;
    for (size_t i = 0; i < nh; i++)
        eg_buf_free(&h[i]);
    eg_sigv4_result_free(&sig);
    eg_aws_credentials_clear(&cred);
    if (!ok) {
        reply->outcome = EG_LOGS_RETRY;
        snprintf(reply->code, sizeof(reply->code), "OutOfMemory");
        return;
    }
    if (rc != 0) {
        reply->outcome = EG_LOGS_RETRY;
        snprintf(reply->code, sizeof(reply->code), "ConnectionError");
        snprintf(reply->message, sizeof(reply->message), "%s", resp.error);
        return;
    }
    reply->http_status = resp.status;
    if (resp.status >= 200 && resp.status < 300) {
        reply->outcome = EG_LOGS_OK;
        reply->body = resp.body_len ? json_tokener_parse(resp.body) : NULL;
    } else {
        eg_logs_error_code(resp.body, resp.error_type, reply->code, sizeof(reply->code),
                           reply->message, sizeof(reply->message));
        if (!reply->code[0])
            snprintf(reply->code, sizeof(reply->code), "HTTP%ld", resp.status);
        reply->outcome = classify(resp.status, reply->code);
    }
    eg_http_response_free(&resp);
}

void eg_logs_reply_free(struct eg_logs_reply *reply)
{
    json_object_put(reply->body);
    reply->body = NULL;
}
