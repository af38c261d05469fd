/*
 * libFuzzer target: HTTP responses as the agent's own code receives them. A loopback server
 * thread answers each connection with the next raw response of the input (status line,
 * headers, chunked or not, truncated or not: libcurl does the protocol, this is about what our
 * callbacks and consumers do with what it hands them). The first byte chooses the client:
 *   0  agent/aws/http.c eg_http_do (CloudWatch Logs, credential endpoints) and the error-code
 *      reader of a CloudWatch reply (eg_logs_error_code)
 *   1  the ECS client's transfer (collectors/ecs_transfer.c) of /v1/tasks, then its parser
 *   2  the same for /v1/metadata
 *   3  the credential provider through IMDSv2 (token PUT, role name, credentials document)
 *   4  the credential provider through the ECS container credentials endpoint
 * Then up to three responses, each a 16-bit length and its bytes.
 *
 * Contracts: a body is NUL-terminated at its length and within the cap, a transport failure
 * leaves no status and no body, an oversized answer is classified as such, the error code
 * taken from a reply has no namespace or URI part, and credentials returned are complete and
 * come from the endpoint asked.
 */
#include "agent/aws/credentials.h"
#include "agent/aws/http.h"
#include "agent/aws/logs_client.h"
#include "agent/common/log.h"
#include "collectors/ecs_internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "tests/fuzz/fuzz_input.h"

#define MAX_RESPONSES 3

static int listen_fd = -1;
static int port;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static const uint8_t *responses[MAX_RESPONSES];
static size_t response_len[MAX_RESPONSES];
static int n_responses, served;
static char base_url[64];

/* Read the request's head (up to the blank line); the agent's requests here carry no body. */
static void read_request(int fd)
{
    char buf[4096];
    size_t have = 0;
    while (have < sizeof(buf)) {
        ssize_t r = recv(fd, buf + have, sizeof(buf) - have, 0);
        if (r <= 0)
            return;
        have += (size_t)r;
        for (size_t i = 3; i < have; i++)
            if (memcmp(buf + i - 3, "\r\n\r\n", 4) == 0)
                return;
    }
}

static void *serve(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = accept(listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        struct timeval tv = {.tv_sec = 2};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        read_request(fd);
        /* Held while sending: the input's responses are freed under the same lock. */
        pthread_mutex_lock(&mu);
        const uint8_t *r = served < n_responses ? responses[served] : NULL;
        size_t len = served < n_responses ? response_len[served] : 0;
        served++;
        size_t done = 0;
        while (done < len) {
            ssize_t w = send(fd, r + done, len - done, MSG_NOSIGNAL);
            if (w <= 0)
                break;
            done += (size_t)w;
        }
        pthread_mutex_unlock(&mu);
        shutdown(fd, SHUT_WR);
        /* Wait for the client to close, so our close sends no reset over unread bytes. */
        char sink[512];
        while (recv(fd, sink, sizeof(sink), 0) > 0)
            ;
        close(fd);
    }
    return NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    FUZZ_CHECK(listen_fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    FUZZ_CHECK(bind(listen_fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    FUZZ_CHECK(listen(listen_fd, 16) == 0);
    FUZZ_CHECK(getsockname(listen_fd, (struct sockaddr *)&a, &alen) == 0);
    port = ntohs(a.sin_port);
    snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%d", port);
    pthread_t t;
    FUZZ_CHECK(pthread_create(&t, NULL, serve, NULL) == 0);
    pthread_detach(t);
    eg_log_set_level(EG_LOG_ERROR);
    /* Only the endpoints this target names: nothing from the environment it runs in. */
    static const char *const unset[] = {"AWS_ACCESS_KEY_ID",
                                        "AWS_SECRET_ACCESS_KEY",
                                        "AWS_SESSION_TOKEN",
                                        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                                        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                                        "AWS_EC2_METADATA_DISABLED",
                                        "http_proxy",
                                        "HTTP_PROXY",
                                        "all_proxy",
                                        "ALL_PROXY"};
    for (size_t i = 0; i < sizeof(unset) / sizeof(unset[0]); i++)
        unsetenv(unset[i]);
    return 0;
}

static void fuzz_http_do(void)
{
    struct eg_http_request req = {
        .method = "GET", .url = base_url, .timeout_ms = 3000, .bypass_proxy = true};
    struct eg_http_response resp;
    int rc = eg_http_do(&req, &resp);
    if (rc != 0) {
        FUZZ_CHECK(rc == -1 && resp.status == 0 && !resp.body && !resp.error_type && resp.error[0]);
    } else {
        FUZZ_CHECK(resp.body_len <= EG_HTTP_MAX_BODY);
        FUZZ_CHECK((resp.body == NULL) == (resp.body_len == 0));
        if (resp.body)
            FUZZ_CHECK(resp.body[resp.body_len] == '\0');
        if (resp.error_type) {
            size_t n = strlen(resp.error_type);
            FUZZ_CHECK(n == 0 ||
                       (resp.error_type[n - 1] != '\r' && resp.error_type[n - 1] != '\n'));
        }
        char code[128], msg[256];
        eg_logs_error_code(resp.body, resp.error_type, code, sizeof(code), msg, sizeof(msg));
        FUZZ_TERMINATED(code);
        FUZZ_TERMINATED(msg);
        FUZZ_CHECK(strchr(code, ':') == NULL && strchr(code, '#') == NULL);
    }
    eg_http_response_free(&resp);
}

static void fuzz_ecs(enum eg_ecs_transfer_kind kind)
{
    struct eg_ecs_http_config http = {
        .base_url = base_url, .connect_timeout_ms = 2000, .request_timeout_ms = 3000};
    static const char id[] = "4d8c1a2e5b7f90e3a6c2d1b0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29180";
    struct eg_ecs_transfer *t = eg_ecs_transfer_new(&http, kind, id);
    FUZZ_CHECK(t != NULL);
    CURLcode rc = curl_easy_perform(t->easy);
    long status = -1;
    enum eg_ecs_outcome o = eg_ecs_transfer_outcome(t, rc, &status);
    FUZZ_CHECK(t->len <= EG_ECS_MAX_BODY && t->len <= t->cap);
    if (t->oversized)
        FUZZ_CHECK(o == EG_ECS_OUT_OVERSIZED);
    if (o == EG_ECS_OUT_OK) {
        FUZZ_CHECK(rc == CURLE_OK && status == 200);
        char err[256];
        if (kind == EG_ECS_XFER_TASK) {
            struct eg_ecs_task *task = malloc(sizeof(*task));
            FUZZ_CHECK(task != NULL);
            if (eg_ecs_parse_task(t->body, t->len, task, err, sizeof(err)) == 0)
                FUZZ_CHECK(task->arn[0] && task->n_containers <= EG_ECS_MAX_CONTAINERS);
            free(task);
        } else {
            struct eg_ecs_metadata m;
            if (eg_ecs_parse_metadata(t->body, t->len, &m, err, sizeof(err)) == 0)
                FUZZ_TERMINATED(m.cluster);
        }
    }
    eg_ecs_transfer_free(t);
}

static void fuzz_credentials(bool imds)
{
    char url[96];
    if (imds) {
        unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
        unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
        setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", base_url, 1);
    } else {
        snprintf(url, sizeof(url), "%s/v2/credentials/fuzz", base_url);
        setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
        setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "fuzz-authorization", 1);
    }
    struct eg_cred_provider_opts opts = {.timeout_ms = 3000, .attempts = 1, .retry_delay_ms = 1};
    struct eg_cred_provider *p = eg_cred_provider_new(&opts);
    FUZZ_CHECK(p != NULL);
    struct eg_aws_credentials c;
    char err[512] = "";
    if (eg_cred_provider_get(p, &c, err, sizeof(err)) == 0) {
        FUZZ_CHECK(c.access_key_id && c.secret_access_key && c.session_token);
        FUZZ_CHECK(c.access_key_id[0] && c.secret_access_key[0]);
        FUZZ_CHECK(strcmp(c.source, imds ? "imds" : "ecs") == 0);
        eg_aws_credentials_clear(&c);
    } else {
        FUZZ_CHECK(err[0] != '\0');
    }
    eg_cred_provider_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = {data, size};
    uint8_t mode = fuzz_u8(&in) % 5;
    uint8_t *copies[MAX_RESPONSES] = {0};
    pthread_mutex_lock(&mu);
    n_responses = 0;
    served = 0;
    for (int i = 0; i < MAX_RESPONSES && in.left; i++) {
        const uint8_t *r;
        size_t len = fuzz_bytes(&in, fuzz_u8(&in) | (size_t)fuzz_u8(&in) << 8, &r);
        copies[i] = malloc(len ? len : 1);
        FUZZ_CHECK(copies[i] != NULL);
        memcpy(copies[i], r, len);
        responses[i] = copies[i];
        response_len[i] = len;
        n_responses++;
    }
    pthread_mutex_unlock(&mu);
    switch (mode) {
    case 0:
        fuzz_http_do();
        break;
    case 1:
        fuzz_ecs(EG_ECS_XFER_TASK);
        break;
    case 2:
        fuzz_ecs(EG_ECS_XFER_METADATA);
        break;
    default:
        fuzz_credentials(mode == 3);
        break;
    }
    /* The server is done with this input's responses once the client has its answers. */
    pthread_mutex_lock(&mu);
    n_responses = 0;
    for (int i = 0; i < MAX_RESPONSES; i++)
        free(copies[i]);
    pthread_mutex_unlock(&mu);
    return 0;
}
