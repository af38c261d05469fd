/*
 * CloudWatch Logs JSON 1.1 calls (PutLogEvents, CreateLogGroup,
 * CreateLogStream), SigV4-signed for service "logs", with each outcome
 * classified into what the caller should do next.
 */
#ifndef ECSGUARD_AWS_LOGS_CLIENT_H
#define ECSGUARD_AWS_LOGS_CLIENT_H

#include <stddef.h>

#include "agent/aws/credentials.h"

struct json_object;

enum eg_logs_outcome {
    EG_LOGS_OK,
    EG_LOGS_RETRY,     /* 5xx, throttling, timeout, connection failure: back off and resend */
    EG_LOGS_AUTH,      /* credentials missing/expired/refused: refresh, back off, resend */
    EG_LOGS_NOT_FOUND, /* ResourceNotFoundException: create group/stream, resend */
    EG_LOGS_EXISTS,    /* ResourceAlreadyExistsException: success for Create* */
    EG_LOGS_INVALID, /* InvalidParameterException and other client errors: resending cannot help */
};

struct eg_logs_reply {
    enum eg_logs_outcome outcome;
    long http_status;         /* 0 when no response */
    char code[96];            /* AWS error code, or a transport/credential error tag */
    char message[520];        /* service message or transport error text */
    struct json_object *body; /* parsed JSON on success (may be NULL); caller puts */
};

struct eg_logs_client_opts {
    const char *region;   /* required */
    const char *endpoint; /* NULL: AWS_ENDPOINT_URL_CLOUDWATCH_LOGS, AWS_ENDPOINT_URL, or
                             https://logs.<region>.amazonaws.com(.cn) */
    struct eg_cred_provider *credentials; /* borrowed */
    long timeout_ms;                      /* per request; 0 → 10000 */
};

struct eg_logs_client;

struct eg_logs_client *eg_logs_client_new(const struct eg_logs_client_opts *opts, char *err,
                                          size_t errlen);
void eg_logs_client_free(struct eg_logs_client *c);
const char *eg_logs_client_endpoint(const struct eg_logs_client *c);

/* One call of `operation` (e.g. "PutLogEvents") with a JSON body. Always fills reply. */
void eg_logs_call(struct eg_logs_client *c, const char *operation, const char *body, size_t len,
                  struct eg_logs_reply *reply);
void eg_logs_reply_free(struct eg_logs_reply *reply);

/* Error code from a JSON 1.1 error (__type/code, "ns#Code:uri" forms) or header. */
void eg_logs_error_code(const char *body, const char *header, char *out, size_t outlen, char *msg,
                        size_t msglen);

#endif
