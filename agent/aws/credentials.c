/*
 * AWS credentials as a value (wiped when cleared) and the JSON document the ECS container
 * credentials endpoint and IMDS return them in. Where they come from, and when they are
 * refreshed, is cred_provider.c.
 */
#include "agent/aws/credentials.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

void eg_aws_secret_free(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

void eg_aws_credentials_clear(struct eg_aws_credentials *c)
{
    free(c->access_key_id);
    eg_aws_secret_free(c->secret_access_key);
    eg_aws_secret_free(c->session_token);
    memset(c, 0, sizeof(*c));
}

int eg_aws_credentials_copy(struct eg_aws_credentials *dst, const struct eg_aws_credentials *src)
{
    memset(dst, 0, sizeof(*dst));
    dst->access_key_id = strdup(src->access_key_id);
    dst->secret_access_key = strdup(src->secret_access_key);
    dst->session_token = src->session_token ? strdup(src->session_token) : NULL;
    dst->expiration = src->expiration;
    dst->source = src->source;
    if (!dst->access_key_id || !dst->secret_access_key ||
        (src->session_token && !dst->session_token)) {
        eg_aws_credentials_clear(dst);
        return -1;
    }
    return 0;
}

static int digits(const char **p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)**p))
            return -1;
        v = v * 10 + (**p - '0');
        (*p)++;
    }
    return v;
}

int eg_iso8601_parse(const char *s, int64_t *out)
{
    if (!s)
        return -1;
    const char *p = s;
    struct tm tm = {0};
    int y = digits(&p, 4);
    if (y < 0 || *p++ != '-')
        return -1;
    int mo = digits(&p, 2);
    if (mo < 1 || mo > 12 || *p++ != '-')
        return -1;
    int d = digits(&p, 2);
    if (d < 1 || d > 31 || (*p != 'T' && *p != 't' && *p != ' '))
        return -1;
    p++;
    int h = digits(&p, 2);
    if (h < 0 || h > 23 || *p++ != ':')
        return -1;
    int mi = digits(&p, 2);
    if (mi < 0 || mi > 59 || *p++ != ':')
        return -1;
    int sec = digits(&p, 2);
    if (sec < 0 || sec > 60)
        return -1;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        while (isdigit((unsigned char)*p))
            p++;
    }
    int64_t offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1;
        int oh = digits(&p, 2);
        if (oh < 0 || *p++ != ':')
            return -1;
        int om = digits(&p, 2);
        if (om < 0)
            return -1;
        offset = sign * (oh * 3600 + om * 60);
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    *out = (int64_t)timegm(&tm) - offset;
    return 0;
}

static const char *json_str(json_object *root, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(root, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    const char *s = json_object_get_string(v);
    return s && *s && strlen(s) <= EG_AWS_CRED_FIELD_MAX ? s : NULL;
}

int eg_aws_credentials_parse(const char *json, size_t len, struct eg_aws_credentials *out,
                             char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    json_tokener *tok = json_tokener_new();
    if (!tok) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    json_object *root = json && len ? json_tokener_parse_ex(tok, json, (int)len) : NULL;
    bool complete = root && json_tokener_get_error(tok) == json_tokener_success;
    json_tokener_free(tok);
    if (!complete || !json_object_is_type(root, json_type_object)) {
        snprintf(err, errlen, "credentials response is not a JSON object");
        json_object_put(root);
        return -1;
    }
    /* IMDS says "Code":"Success"; ECS errors carry "code"/"message". */
    const char *code = json_str(root, "Code") ? json_str(root, "Code") : json_str(root, "code");
    if (code && strcmp(code, "Success") != 0) {
        const char *msg =
            json_str(root, "Message") ? json_str(root, "Message") : json_str(root, "message");
        snprintf(err, errlen, "credentials endpoint error %.64s: %.160s", code, msg ? msg : "");
        json_object_put(root);
        return -1;
    }
    const char *akid = json_str(root, "AccessKeyId");
    const char *secret = json_str(root, "SecretAccessKey");
    const char *token = json_str(root, "Token");
    const char *expiration = json_str(root, "Expiration");
    int64_t exp = 0;
    const char *missing = !akid         ? "AccessKeyId"
                          : !secret     ? "SecretAccessKey"
                          : !token      ? "Token"
                          : !expiration ? "Expiration"
                                        : NULL;
    if (missing) {
        snprintf(err, errlen, "credentials response lacks %s", missing);
    } else if (eg_iso8601_parse(expiration, &exp) != 0) {
        snprintf(err, errlen, "credentials Expiration is not an ISO-8601 time");
        missing = "Expiration";
    } else {
        out->access_key_id = strdup(akid);
        out->secret_access_key = strdup(secret);
        out->session_token = strdup(token);
        out->expiration = exp;
        if (!out->access_key_id || !out->secret_access_key || !out->session_token) {
            snprintf(err, errlen, "out of memory");
            missing = "memory";
        }
    }
    /* json-c's copies of the secrets go away with the object. */
    json_object_put(root);
    if (missing) {
        eg_aws_credentials_clear(out);
        return -1;
    }
    return 0;
}
