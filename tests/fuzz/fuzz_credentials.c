/*
 * libFuzzer target: the credentials document the ECS container credentials endpoint and IMDS
 * return (agent/aws/credentials.c), and its Expiration time parser. First byte: 0 (even)
 * parses the rest as the document, 1 (odd) as an ISO-8601 time.
 *
 * Contracts: accepted credentials have all three values, non-empty and within
 * EG_AWS_CRED_FIELD_MAX, and survive a copy unchanged; a refused document leaves nothing
 * allocated (LeakSanitizer) and says why. A time parsed with "Z" is the same instant as with
 * "+00:00", and an offset moves it by exactly that much.
 */
#include "agent/aws/credentials.h"

#include "tests/fuzz/fuzz_input.h"

static void fuzz_document(const char *doc, size_t len)
{
    struct eg_aws_credentials c;
    memset(&c, 0xa5, sizeof(c));
    char err[256] = "";
    if (eg_aws_credentials_parse(doc, len, &c, err, sizeof(err)) != 0) {
        FUZZ_CHECK(err[0] != '\0');
        FUZZ_CHECK(!c.access_key_id && !c.secret_access_key && !c.session_token);
        return;
    }
    FUZZ_CHECK(c.access_key_id && c.secret_access_key && c.session_token);
    size_t a = strlen(c.access_key_id), s = strlen(c.secret_access_key),
           t = strlen(c.session_token);
    FUZZ_CHECK(a && s && t);
    FUZZ_CHECK(a <= EG_AWS_CRED_FIELD_MAX && s <= EG_AWS_CRED_FIELD_MAX &&
               t <= EG_AWS_CRED_FIELD_MAX);
    struct eg_aws_credentials copy;
    FUZZ_CHECK(eg_aws_credentials_copy(&copy, &c) == 0);
    FUZZ_CHECK(strcmp(copy.access_key_id, c.access_key_id) == 0);
    FUZZ_CHECK(strcmp(copy.secret_access_key, c.secret_access_key) == 0);
    FUZZ_CHECK(strcmp(copy.session_token, c.session_token) == 0);
    FUZZ_CHECK(copy.expiration == c.expiration);
    eg_aws_credentials_clear(&copy);
    eg_aws_credentials_clear(&c);
    FUZZ_CHECK(!c.access_key_id && !c.secret_access_key && !c.session_token);
}

static void fuzz_time(const char *s)
{
    int64_t t;
    if (eg_iso8601_parse(s, &t) != 0)
        return;
    size_t n = strlen(s);
    if (n < 1 || (s[n - 1] != 'Z' && s[n - 1] != 'z') || n > 64)
        return;
    char alt[80];
    int64_t u;
    snprintf(alt, sizeof(alt), "%.*s+00:00", (int)(n - 1), s);
    FUZZ_CHECK(eg_iso8601_parse(alt, &u) == 0 && u == t);
    snprintf(alt, sizeof(alt), "%.*s-01:30", (int)(n - 1), s);
    FUZZ_CHECK(eg_iso8601_parse(alt, &u) == 0 && u == t + 5400);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = {data, size};
    uint8_t which = fuzz_u8(&in);
    const uint8_t *rest;
    size_t len = fuzz_rest(&in, &rest);
    char *buf = malloc(len + 1);
    FUZZ_CHECK(buf != NULL);
    if (len)
        memcpy(buf, rest, len);
    buf[len] = '\0';
    if (which & 1)
        fuzz_time(buf);
    else
        fuzz_document(buf, len);
    free(buf);
    return 0;
}
