#include "agent/outputs/stdout_sink.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "agent/common/log.h"

struct stdout_sink {
    struct eg_sink base;
    int fd;
    uint64_t lines, bytes, failed;
};

static int stdout_write(struct eg_sink *s, const char *line, size_t len, uint64_t ts_ms)
{
    struct stdout_sink *so = (struct stdout_sink *)s;
    (void)ts_ms;
    struct iovec iov[2] = {{(void *)line, len}, {"\n", 1}};
    size_t total = len + 1, done = 0;
    while (done < total) {
        ssize_t n = writev(so->fd, iov, 2);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            so->failed++;
            if (so->failed == 1 || so->failed % 1000 == 0)
                eg_log_error("stdout: cannot write finding (%s); %llu lost so far", strerror(errno),
                             (unsigned long long)so->failed);
            return -1;
        }
        done += (size_t)n;
        /* Partial write: advance the vectors past what was written. */
        for (int i = 0; i < 2 && n > 0; i++) {
            size_t take = (size_t)n < iov[i].iov_len ? (size_t)n : iov[i].iov_len;
            iov[i].iov_base = (char *)iov[i].iov_base + take;
            iov[i].iov_len -= take;
            n -= (ssize_t)take;
        }
    }
    so->lines++;
    so->bytes += total;
    return 0;
}

static void stdout_stats(struct eg_sink *s, struct json_object *obj)
{
    struct stdout_sink *so = (struct stdout_sink *)s;
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "lines", json_object_new_int64((int64_t)so->lines));
    json_object_object_add(o, "bytes", json_object_new_int64((int64_t)so->bytes));
    json_object_object_add(o, "failed", json_object_new_int64((int64_t)so->failed));
    json_object_object_add(obj, "stdout", o);
}

static void stdout_destroy(struct eg_sink *s)
{
    free(s);
}

static const struct eg_sink_ops stdout_ops = {
    .write = stdout_write,
    .stats = stdout_stats,
    .destroy = stdout_destroy,
};

struct eg_sink *eg_stdout_sink_new(int fd)
{
    struct stdout_sink *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->base.ops = &stdout_ops;
    s->base.name = "stdout";
    s->fd = fd;
    return &s->base;
}
