/*
 * The credentials provider: the SDKs' chain inside an ECS task (environment, the ECS container
 * credentials endpoint, IMDSv2), each remote source tried with retries, and a cache refreshed
 * before expiry that keeps serving valid credentials while a refresh fails.
 */
#include "agent/aws/credentials.h"
#include "agent/aws/buf.h"
#include "agent/aws/http.h"
#include "agent/common/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define ECS_DEFAULT_HOST "http://169.254.170.2"
#define IMDS_DEFAULT_ENDPOINT "http://169.254.169.254"

struct eg_cred_provider {
    pthread_mutex_t mu;
    struct eg_cred_provider_opts opts;
    struct eg_aws_credentials cached;
    bool have_cached;
    int64_t next_attempt; /* after a failed refresh, keep using valid cached ones until then */
    struct eg_cred_provider_stats stats;
};

struct eg_cred_provider *eg_cred_provider_new(const struct eg_cred_provider_opts *opts)
{
    struct eg_cred_provider *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    pthread_mutex_init(&p->mu, NULL);
    if (opts)
        p->opts = *opts;
    if (!p->opts.refresh_margin_s)
        p->opts.refresh_margin_s = 300;
    if (!p->opts.timeout_ms)
        p->opts.timeout_ms = 2000;
    if (!p->opts.attempts)
        p->opts.attempts = 3;
    if (!p->opts.retry_delay_ms)
        p->opts.retry_delay_ms = 500;
    return p;
}

void eg_cred_provider_free(struct eg_cred_provider *p)
{
    if (!p)
        return;
    eg_aws_credentials_clear(&p->cached);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static int from_env(struct eg_aws_credentials *out)
{
    const char *akid = env_nonempty("AWS_ACCESS_KEY_ID");
    const char *secret = env_nonempty("AWS_SECRET_ACCESS_KEY");
    if (!akid || !secret)
        return 1; /* not configured */
    const char *token = env_nonempty("AWS_SESSION_TOKEN");
    struct eg_aws_credentials c = {.access_key_id = (char *)akid,
                                   .secret_access_key = (char *)secret,
                                   .session_token = (char *)token,
                                   .source = "env"};
    return eg_aws_credentials_copy(out, &c);
}

/* GET with retries; 0 and a 200 response, or -1 with err describing the last failure. */
static int fetch(const struct eg_cred_provider *p, const char *method, const char *url,
                 const char *const *headers, size_t n_headers, struct eg_http_response *resp,
                 char *err, size_t errlen)
{
    for (unsigned attempt = 0; attempt < p->opts.attempts; attempt++) {
        if (attempt)
            usleep(p->opts.retry_delay_ms * 1000u);
        struct eg_http_request req = {.method = method,
                                      .url = url,
                                      .headers = headers,
                                      .n_headers = n_headers,
                                      .timeout_ms = p->opts.timeout_ms,
                                      .bypass_proxy = true};
        if (eg_http_do(&req, resp) != 0) {
            snprintf(err, errlen, "%s %s: %s", method, url, resp->error);
            continue;
        }
        if (resp->status == 200)
            return 0;
        snprintf(err, errlen, "%s %s: HTTP %ld", method, url, resp->status);
        bool retryable = resp->status >= 500 || resp->status == 429;
        eg_http_response_free(resp);
        if (!retryable)
            return -1;
    }
    return -1;
}

/* FULL_URI must be https or point at a loopback or container-credentials address. */
/*
 * GET the credentials document at `url` (with retries) into *out, from `source`. An error names
 * the document as "<what> <whose>: <reason>", never a secret.
 */
static int fetch_credentials(const struct eg_cred_provider *p, const char *url,
                             const char *const *headers, size_t n_headers, const char *source,
                             const char *what, const char *whose, struct eg_aws_credentials *out,
                             char *err, size_t errlen)
{
    struct eg_http_response resp;
    int rc = fetch(p, "GET", url, headers, n_headers, &resp, err, errlen);
    if (rc != 0)
        return rc;
    char perr[200];
    rc = eg_aws_credentials_parse(resp.body, resp.body_len, out, perr, sizeof(perr));
    if (rc != 0)
        snprintf(err, errlen, "%s %s: %s", what, whose, perr);
    else
        out->source = source;
    eg_http_response_free(&resp);
    return rc;
}

static bool full_uri_allowed(const char *uri)
{
    if (strncasecmp(uri, "https://", 8) == 0)
        return true;
    if (strncasecmp(uri, "http://", 7) != 0)
        return false;
    const char *host = uri + 7;
    const char *at = strpbrk(host, "@/");
    if (at && *at == '@')
        host = at + 1;
    char h[128];
    size_t n = strcspn(host, "/?#");
    if (n >= sizeof(h))
        return false;
    memcpy(h, host, n);
    h[n] = '\0';
    if (h[0] == '[') {
        char *close = strchr(h, ']');
        if (!close)
            return false;
        close[1] = '\0';
        return strcmp(h, "[::1]") == 0 || strcasecmp(h, "[fd00:ec2::23]") == 0;
    }
    char *colon = strchr(h, ':');
    if (colon)
        *colon = '\0';
    return strcasecmp(h, "localhost") == 0 || strncmp(h, "127.", 4) == 0 ||
           strcmp(h, "169.254.170.2") == 0 || strcmp(h, "169.254.170.23") == 0;
}

/* Token file wins over the variable; re-read on every refresh because it rotates. */
static int container_auth_header(char **header, char *err, size_t errlen)
{
    *header = NULL;
    const char *file = env_nonempty("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    char *token = NULL;
    if (file) {
        FILE *f = fopen(file, "r");
        if (!f) {
            snprintf(err, errlen, "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s: %s", file,
                     strerror(errno));
            return -1;
        }
        struct eg_buf b = {0};
        char chunk[1024];
        size_t n;
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && b.len < EG_AWS_CRED_FIELD_MAX)
            eg_buf_append(&b, chunk, n);
        fclose(f);
        token = eg_buf_take(&b);
        if (!token) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        size_t len = strlen(token);
        while (len && (token[len - 1] == '\n' || token[len - 1] == '\r'))
            token[--len] = '\0';
    } else if (env_nonempty("AWS_CONTAINER_AUTHORIZATION_TOKEN")) {
        token = strdup(getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN"));
    } else {
        return 0;
    }
    if (!token || strpbrk(token, "\r\n") || !*token) {
        snprintf(err, errlen, "container authorization token is empty or contains a line break");
        eg_aws_secret_free(token);
        return -1;
    }
    struct eg_buf h = {0};
    eg_buf_printf(&h, "Authorization: %s", token);
    eg_aws_secret_free(token);
    *header = eg_buf_take(&h);
    return *header ? 0 : -1;
}

static int from_container(const struct eg_cred_provider *p, struct eg_aws_credentials *out,
                          char *err, size_t errlen)
{
    const char *rel = env_nonempty("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = env_nonempty("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    if (!rel && !full)
        return 1;
    struct eg_buf url = {0};
    if (rel) {
        const char *host = env_nonempty("ECSGUARD_ECS_CREDENTIALS_HOST");
        eg_buf_printf(&url, "%s%s%s", host ? host : ECS_DEFAULT_HOST, rel[0] == '/' ? "" : "/",
                      rel);
    } else {
        if (!full_uri_allowed(full)) {
            snprintf(err, errlen,
                     "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https or a loopback/ECS address");
            return -1;
        }
        eg_buf_puts(&url, full);
    }
    char *u = eg_buf_take(&url);
    char *auth = NULL;
    if (!u || (!rel && container_auth_header(&auth, err, errlen) != 0)) {
        if (!u)
            snprintf(err, errlen, "out of memory");
        free(u);
        return -1;
    }
    const char *headers[] = {"Accept: application/json", auth};
    int rc = fetch_credentials(p, u, headers, auth ? 2 : 1, "ecs", "ECS credentials from", u, out,
                               err, errlen);
    eg_aws_secret_free(auth);
    free(u);
    return rc;
}

static int from_imds(const struct eg_cred_provider *p, struct eg_aws_credentials *out, char *err,
                     size_t errlen)
{
    const char *disabled = getenv("AWS_EC2_METADATA_DISABLED");
    if (disabled && strcasecmp(disabled, "true") == 0)
        return 1;
    const char *base = env_nonempty("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    if (!base)
        base = IMDS_DEFAULT_ENDPOINT;
    size_t blen = strlen(base);
    while (blen && base[blen - 1] == '/')
        blen--;
    char url[1024];
    struct eg_http_response resp;

    snprintf(url, sizeof(url), "%.*s/latest/api/token", (int)blen, base);
    const char *ttl[] = {"X-aws-ec2-metadata-token-ttl-seconds: 21600"};
    if (fetch(p, "PUT", url, ttl, 1, &resp, err, errlen) != 0)
        return -1;
    struct eg_buf th = {0};
    eg_buf_printf(&th, "X-aws-ec2-metadata-token: %s", resp.body ? resp.body : "");
    eg_http_response_free(&resp);
    char *token_header = eg_buf_take(&th);
    if (!token_header || strpbrk(token_header, "\r\n") || strlen(token_header) < 27) {
        snprintf(err, errlen, "IMDS returned an empty or malformed session token");
        eg_aws_secret_free(token_header);
        return -1;
    }
    const char *hdr[] = {token_header};

    snprintf(url, sizeof(url), "%.*s/latest/meta-data/iam/security-credentials/", (int)blen, base);
    int rc = fetch(p, "GET", url, hdr, 1, &resp, err, errlen);
    char role[256] = "";
    if (rc == 0) {
        size_t n = resp.body ? strcspn(resp.body, "\r\n") : 0;
        if (n == 0 || n >= sizeof(role) || strchr(resp.body, '/')) {
            snprintf(err, errlen, "IMDS has no usable instance role name");
            rc = -1;
        } else {
            memcpy(role, resp.body, n);
            role[n] = '\0';
        }
        eg_http_response_free(&resp);
    }
    if (rc == 0) {
        snprintf(url, sizeof(url), "%.*s/latest/meta-data/iam/security-credentials/%s", (int)blen,
                 base, role);
        rc = fetch_credentials(p, url, hdr, 1, "imds", "IMDS credentials for role", role, out, err,
                               errlen);
    }
    eg_aws_secret_free(token_header);
    return rc;
}

static int resolve(const struct eg_cred_provider *p, struct eg_aws_credentials *out, char *err,
                   size_t errlen)
{
    int rc = from_env(out);
    if (rc <= 0) {
        if (rc < 0)
            snprintf(err, errlen, "out of memory");
        return rc;
    }
    /* Configured container credentials are the task role: falling back to the
     * instance role on failure would silently change identity, so do not. */
    rc = from_container(p, out, err, errlen);
    if (rc <= 0)
        return rc;
    rc = from_imds(p, out, err, errlen);
    if (rc > 0) {
        snprintf(err, errlen,
                 "no AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
                 "a task role, or enable IMDS");
        return -1;
    }
    return rc;
}

static bool fresh(const struct eg_cred_provider *p, int64_t now)
{
    return p->have_cached && (p->cached.expiration == 0 ||
                              now + (int64_t)p->opts.refresh_margin_s < p->cached.expiration);
}

int eg_cred_provider_get(struct eg_cred_provider *p, struct eg_aws_credentials *out, char *err,
                         size_t errlen)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&p->mu);
    int64_t now = (int64_t)time(NULL);
    bool usable = p->have_cached && (p->cached.expiration == 0 || now < p->cached.expiration);
    if (!fresh(p, now) && !(usable && now < p->next_attempt)) {
        struct eg_aws_credentials c;
        char rerr[512] = "";
        if (resolve(p, &c, rerr, sizeof(rerr)) == 0) {
            eg_aws_credentials_clear(&p->cached);
            p->cached = c;
            p->have_cached = true;
            p->next_attempt = 0;
            if (strcmp(c.source, "env") != 0)
                p->stats.fetches++;
            eg_log_debug("aws credentials from %s, access key %.4s..., expire %lld", c.source,
                         c.access_key_id, (long long)c.expiration);
        } else {
            p->stats.failures++;
            p->next_attempt = now + 10;
            if (!usable) {
                snprintf(err, errlen, "%s", rerr);
                pthread_mutex_unlock(&p->mu);
                return -1;
            }
            eg_log_warn("aws credentials refresh failed (keeping current ones until they "
                        "expire): %s",
                        rerr);
        }
    }
    int rc = eg_aws_credentials_copy(out, &p->cached);
    pthread_mutex_unlock(&p->mu);
    if (rc != 0)
        snprintf(err, errlen, "out of memory");
    return rc;
}

void eg_cred_provider_invalidate(struct eg_cred_provider *p)
{
    pthread_mutex_lock(&p->mu);
    eg_aws_credentials_clear(&p->cached);
    p->have_cached = false;
    p->next_attempt = 0;
    pthread_mutex_unlock(&p->mu);
}

void eg_cred_provider_stats(struct eg_cred_provider *p, struct eg_cred_provider_stats *out)
{
    pthread_mutex_lock(&p->mu);
    *out = p->stats;
    pthread_mutex_unlock(&p->mu);
}
