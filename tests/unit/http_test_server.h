/*
 * A small HTTP/1.1 server on 127.0.0.1 (ephemeral port) for client tests.
 * Header-only (static functions) because only tests/unit/test_*.c files are
 * built as programs. One accept thread plus one thread per connection, so a
 * hanging reply never stops other replies; every wait is interruptible, so
 * hts_stop() returns promptly whatever is in progress.
 *
 * Replies are chosen per request target ("/v1/tasks?dockerid=..."), with a
 * default for unknown targets (404 + the ECS agent's error body).
 */
#ifndef ECSGUARD_HTTP_TEST_SERVER_H
#define ECSGUARD_HTTP_TEST_SERVER_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define HTS_MAX_ROUTES 64
#define HTS_MAX_CONNS 512
#define HTS_MAX_LOG 4096
#define HTS_TARGET_MAX 256
#define HTS_HUGE_BYTES (2 * 1024 * 1024)
#define HTS_ERROR_BODY                                                                             \
    "{\"Arn\":\"\",\"KnownStatus\":\"\",\"Family\":\"\",\"Version\":\"\",\"Containers\":null}"

enum hts_kind {
    HTS_REPLY,         /* `status` with `body` */
    HTS_GARBAGE,       /* bytes that are not HTTP, then close */
    HTS_TRUNCATED,     /* 200, Content-Length larger than what is sent, then close */
    HTS_HUGE,          /* 200, 2 MiB close-delimited body (no Content-Length) */
    HTS_HUGE_DECLARED, /* 200, Content-Length: 2 MiB */
    HTS_SLOW,          /* wait `delay_ms`, then `status` with `body` */
    HTS_CLOSE,         /* read the request, close without a byte */
    HTS_HANG,          /* read the request, never answer (until hts_stop) */
};

struct hts_route {
    char target[HTS_TARGET_MAX];
    enum hts_kind kind;
    int status;
    char *body;
    unsigned delay_ms;
};

struct http_test_server {
    int listen_fd;
    int stop_fd; /* eventfd: readable once stopping */
    int port;
    pthread_t acceptor;
    pthread_mutex_t mu;
    struct hts_route routes[HTS_MAX_ROUTES];
    size_t n_routes;
    pthread_t conns[HTS_MAX_CONNS];
    size_t n_conns;
    char log[HTS_MAX_LOG][HTS_TARGET_MAX];
    size_t n_log;
};

struct hts_conn {
    struct http_test_server *srv;
    int fd;
};

/* Wait until `fd` is readable or the server stops; false on stop or timeout. */
static bool hts_wait_readable(struct http_test_server *s, int fd, int timeout_ms)
{
    struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = s->stop_fd, .events = POLLIN}};
    int n = poll(p, 2, timeout_ms);
    return n > 0 && !(p[1].revents & POLLIN) && (p[0].revents & (POLLIN | POLLHUP));
}

/* Sleep up to `ms` (forever when < 0) unless the server stops first. */
static void hts_sleep(struct http_test_server *s, int ms)
{
    struct pollfd p = {.fd = s->stop_fd, .events = POLLIN};
    poll(&p, 1, ms);
}

static bool hts_send_all(int fd, const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false; /* client went away (e.g. aborted an oversized body) */
        buf += w;
        n -= (size_t)w;
    }
    return true;
}

static const char *hts_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 500:
        return "Internal Server Error";
    default:
        return "Status";
    }
}

static void hts_send_reply(int fd, int status, const char *body)
{
    char head[256];
    size_t n = strlen(body);
    int h = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                     status, hts_reason(status), n);
    if (hts_send_all(fd, head, (size_t)h))
        hts_send_all(fd, body, n);
}

static void hts_send_huge(int fd, bool declare_length)
{
    char head[256];
    int h = declare_length ? snprintf(head, sizeof(head),
                                      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                      "Content-Length: %d\r\nConnection: close\r\n\r\n",
                                      HTS_HUGE_BYTES)
                           : snprintf(head, sizeof(head),
                                      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                      "Connection: close\r\n\r\n");
    if (!hts_send_all(fd, head, (size_t)h))
        return;
    /* A syntactically valid JSON object, so only the size can be the reason to refuse it. */
    static char chunk[64 * 1024];
    memset(chunk, ' ', sizeof(chunk));
    if (!hts_send_all(fd, "{\"Arn\":\"x\"", 10))
        return;
    size_t sent = 10;
    while (sent + sizeof(chunk) < HTS_HUGE_BYTES) {
        if (!hts_send_all(fd, chunk, sizeof(chunk)))
            return;
        sent += sizeof(chunk);
    }
    memset(chunk, ' ', HTS_HUGE_BYTES - sent - 1);
    if (hts_send_all(fd, chunk, HTS_HUGE_BYTES - sent - 1))
        hts_send_all(fd, "}", 1);
}

/* Read the request head; returns the request target or false. */
static bool hts_read_request(struct http_test_server *s, int fd, char *target, size_t tlen)
{
    char buf[8192];
    size_t len = 0;
    while (len < sizeof(buf) - 1) {
        if (!hts_wait_readable(s, fd, 5000))
            return false;
        ssize_t r = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (r <= 0)
            return false;
        len += (size_t)r;
        buf[len] = '\0';
        if (strstr(buf, "\r\n\r\n"))
            break;
    }
    /* "METHOD SP target SP version": copy the target, bounded by the caller's buffer. */
    const char *sp = strchr(buf, ' ');
    if (!sp)
        return false;
    const char *start = sp + 1, *end = strpbrk(start, " \r\n");
    if (!end || (size_t)(end - start) >= tlen)
        return false;
    memcpy(target, start, (size_t)(end - start));
    target[end - start] = '\0';
    return true;
}

static void *hts_conn_main(void *arg)
{
    struct hts_conn *conn = arg;
    struct http_test_server *s = conn->srv;
    int fd = conn->fd;
    free(conn);

    char target[HTS_TARGET_MAX];
    if (!hts_read_request(s, fd, target, sizeof(target))) {
        close(fd);
        return NULL;
    }
    struct hts_route r = {.kind = HTS_REPLY, .status = 404, .body = NULL};
    char *body = NULL;
    pthread_mutex_lock(&s->mu);
    if (s->n_log < HTS_MAX_LOG)
        snprintf(s->log[s->n_log++], HTS_TARGET_MAX, "%s", target);
    for (size_t i = 0; i < s->n_routes; i++) {
        if (strcmp(s->routes[i].target, target) == 0) {
            r = s->routes[i];
            break;
        }
    }
    body = strdup(r.body ? r.body : HTS_ERROR_BODY);
    pthread_mutex_unlock(&s->mu);

    switch (r.kind) {
    case HTS_REPLY:
        hts_send_reply(fd, r.status, body);
        break;
    case HTS_GARBAGE: {
        static const char junk[] =
            "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n";
        hts_send_all(fd, junk, sizeof(junk) - 1);
        break;
    }
    case HTS_TRUNCATED: {
        char head[160];
        size_t half = strlen(body) / 2;
        int h = snprintf(head, sizeof(head),
                         "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         "Content-Length: %zu\r\n\r\n",
                         strlen(body));
        if (hts_send_all(fd, head, (size_t)h))
            hts_send_all(fd, body, half);
        break;
    }
    case HTS_HUGE:
    case HTS_HUGE_DECLARED:
        hts_send_huge(fd, r.kind == HTS_HUGE_DECLARED);
        break;
    case HTS_SLOW:
        hts_sleep(s, (int)r.delay_ms);
        hts_send_reply(fd, r.status, body);
        break;
    case HTS_CLOSE:
        break;
    case HTS_HANG:
        hts_sleep(s, -1);
        break;
    }
    free(body);
    close(fd);
    return NULL;
}

static void *hts_accept_main(void *arg)
{
    struct http_test_server *s = arg;
    for (;;) {
        if (!hts_wait_readable(s, s->listen_fd, -1))
            return NULL;
        int fd = accept(s->listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        struct hts_conn *conn = malloc(sizeof(*conn));
        pthread_mutex_lock(&s->mu);
        bool room = conn && s->n_conns < HTS_MAX_CONNS;
        if (room) {
            conn->srv = s;
            conn->fd = fd;
            if (pthread_create(&s->conns[s->n_conns], NULL, hts_conn_main, conn) == 0)
                s->n_conns++;
            else
                room = false;
        }
        pthread_mutex_unlock(&s->mu);
        if (!room) {
            free(conn);
            close(fd);
        }
    }
}

static struct http_test_server *hts_start(void)
{
    struct http_test_server *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    pthread_mutex_init(&s->mu, NULL);
    s->stop_fd = eventfd(0, EFD_CLOEXEC);
    s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof(a);
    if (s->stop_fd < 0 || s->listen_fd < 0 || bind(s->listen_fd, (struct sockaddr *)&a, alen) ||
        listen(s->listen_fd, 128) || getsockname(s->listen_fd, (struct sockaddr *)&a, &alen) ||
        pthread_create(&s->acceptor, NULL, hts_accept_main, s)) {
        if (s->listen_fd >= 0)
            close(s->listen_fd);
        if (s->stop_fd >= 0)
            close(s->stop_fd);
        free(s);
        return NULL;
    }
    s->port = ntohs(a.sin_port);
    return s;
}

/* Set (or replace) what `target` answers. `body` is copied; NULL means the agent's error body. */
static void hts_route(struct http_test_server *s, const char *target, enum hts_kind kind,
                      int status, const char *body, unsigned delay_ms)
{
    pthread_mutex_lock(&s->mu);
    struct hts_route *r = NULL;
    for (size_t i = 0; i < s->n_routes; i++)
        if (strcmp(s->routes[i].target, target) == 0)
            r = &s->routes[i];
    if (!r && s->n_routes < HTS_MAX_ROUTES)
        r = &s->routes[s->n_routes++];
    if (r) {
        /* A truncated target would silently never match: refuse it loudly. */
        size_t len = strlen(target);
        if (len >= sizeof(r->target)) {
            fprintf(stderr, "hts_route: target longer than %zu bytes: %s\n", sizeof(r->target) - 1,
                    target);
            abort();
        }
        free(r->body);
        memcpy(r->target, target, len + 1);
        r->kind = kind;
        r->status = status;
        r->body = body ? strdup(body) : NULL;
        r->delay_ms = delay_ms;
    }
    pthread_mutex_unlock(&s->mu);
}

/* How many requests for exactly `target` arrived so far. */
static size_t hts_count(struct http_test_server *s, const char *target)
{
    size_t n = 0;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n_log; i++)
        if (strcmp(s->log[i], target) == 0)
            n++;
    pthread_mutex_unlock(&s->mu);
    return n;
}

static size_t hts_total(struct http_test_server *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->n_log;
    pthread_mutex_unlock(&s->mu);
    return n;
}

static void hts_stop(struct http_test_server *s)
{
    if (!s)
        return;
    uint64_t one = 1;
    if (write(s->stop_fd, &one, sizeof(one)) != sizeof(one))
        abort();
    pthread_join(s->acceptor, NULL);
    /* No new connection threads can appear now that the acceptor is gone. */
    for (size_t i = 0; i < s->n_conns; i++)
        pthread_join(s->conns[i], NULL);
    for (size_t i = 0; i < s->n_routes; i++)
        free(s->routes[i].body);
    close(s->listen_fd);
    close(s->stop_fd);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

#endif
