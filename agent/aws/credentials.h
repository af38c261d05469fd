/*
 * AWS credentials for signing, resolved like the SDKs do inside an ECS task:
 * environment variables, else the ECS container credentials endpoint (when
 * AWS_CONTAINER_CREDENTIALS_* is set), else the instance role through IMDSv2.
 * Temporary credentials are refreshed before they expire. Secrets never reach
 * the log: errors name the source and the endpoint's error code only.
 */
#ifndef ECSGUARD_AWS_CREDENTIALS_H
#define ECSGUARD_AWS_CREDENTIALS_H

#include <stddef.h>
#include <stdint.h>

struct eg_aws_credentials {
    char *access_key_id;
    char *secret_access_key;
    char *session_token; /* NULL for long-term keys */
    int64_t expiration;  /* Unix seconds; 0 = does not expire */
    const char *source;  /* "env", "ecs", "imds" (static) */
};

/* Longest credential field accepted: session tokens are a few KiB, anything far larger is
 * garbage. */
#define EG_AWS_CRED_FIELD_MAX 16384

/* Wipe a string that held a secret, then free it (NULL is fine). */
void eg_aws_secret_free(char *s);

/* Wipe secrets and free. Safe on a zeroed struct. */
void eg_aws_credentials_clear(struct eg_aws_credentials *c);
int eg_aws_credentials_copy(struct eg_aws_credentials *dst, const struct eg_aws_credentials *src);

/*
 * Parse the JSON document the ECS credentials endpoint and IMDS return
 * (AccessKeyId, SecretAccessKey, Token, Expiration; IMDS adds Code). 0 on
 * success; -1 with a message in err (never containing secret values).
 */
int eg_aws_credentials_parse(const char *json, size_t len, struct eg_aws_credentials *out,
                             char *err, size_t errlen);

/* "2016-02-25T06:03:31Z", with optional fraction and ±HH:MM offset. 0 on success. */
int eg_iso8601_parse(const char *s, int64_t *out);

struct eg_cred_provider_opts {
    unsigned refresh_margin_s; /* refresh this long before expiry; 0 → 300 */
    unsigned timeout_ms;       /* per HTTP request; 0 → 2000 */
    unsigned attempts;         /* per endpoint and refresh; 0 → 3 */
    unsigned retry_delay_ms;   /* between attempts; 0 → 500 */
};

struct eg_cred_provider;

/*
 * Endpoints come from the environment at every refresh:
 *   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
 *   AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (host http://169.254.170.2, or
 *     ECSGUARD_ECS_CREDENTIALS_HOST for tests), AWS_CONTAINER_CREDENTIALS_FULL_URI,
 *   AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (wins) / AWS_CONTAINER_AUTHORIZATION_TOKEN
 *   AWS_EC2_METADATA_SERVICE_ENDPOINT (default http://169.254.169.254),
 *   AWS_EC2_METADATA_DISABLED=true to skip IMDS.
 * opts may be NULL. Thread-safe.
 */
struct eg_cred_provider *eg_cred_provider_new(const struct eg_cred_provider_opts *opts);
void eg_cred_provider_free(struct eg_cred_provider *p);

/*
 * Valid credentials into *out (caller clears them), refreshing first when they
 * are within the margin of expiry. When a refresh fails but the cached ones
 * have not expired yet, those are returned. 0 on success; -1 with err set.
 */
int eg_cred_provider_get(struct eg_cred_provider *p, struct eg_aws_credentials *out, char *err,
                         size_t errlen);

/* Drop the cache so the next get() fetches (after the service said they expired). */
void eg_cred_provider_invalidate(struct eg_cred_provider *p);

struct eg_cred_provider_stats {
    uint64_t fetches;  /* successful fetches from a remote source */
    uint64_t failures; /* refreshes that failed */
};
void eg_cred_provider_stats(struct eg_cred_provider *p, struct eg_cred_provider_stats *out);

#endif
