#include "agent/aws/logs_batch.h"
#include "agent/common/json_text.h"
#include "agent/aws/buf.h"

#include <stdlib.h>
#include <string.h>

size_t eg_logs_batch_take(const struct eg_logs_event *ev, size_t n, size_t max_events)
{
    if (max_events == 0 || max_events > EG_LOGS_MAX_EVENTS)
        max_events = EG_LOGS_MAX_EVENTS;
    uint64_t bytes = 0, lo = UINT64_MAX, hi = 0;
    size_t i;
    for (i = 0; i < n && i < max_events; i++) {
        uint64_t b = bytes + ev[i].len + EG_LOGS_EVENT_OVERHEAD;
        uint64_t nlo = ev[i].ts_ms < lo ? ev[i].ts_ms : lo;
        uint64_t nhi = ev[i].ts_ms > hi ? ev[i].ts_ms : hi;
        if (i > 0 && (b > EG_LOGS_MAX_BATCH_BYTES || nhi - nlo > EG_LOGS_MAX_SPAN_MS))
            break;
        bytes = b;
        lo = nlo;
        hi = nhi;
    }
    return i;
}

/* Insertion-merge sort keeps equal timestamps in arrival order. */
static void merge_sort(struct eg_logs_event *ev, struct eg_logs_event *tmp, size_t n)
{
    if (n < 2)
        return;
    size_t mid = n / 2;
    merge_sort(ev, tmp, mid);
    merge_sort(ev + mid, tmp, n - mid);
    if (ev[mid - 1].ts_ms <= ev[mid].ts_ms)
        return;
    size_t a = 0, b = mid, o = 0;
    while (a < mid && b < n)
        tmp[o++] = ev[b].ts_ms < ev[a].ts_ms ? ev[b++] : ev[a++];
    while (a < mid)
        tmp[o++] = ev[a++];
    while (b < n)
        tmp[o++] = ev[b++];
    memcpy(ev, tmp, n * sizeof(*ev));
}

void eg_logs_sort_events(struct eg_logs_event *ev, size_t n)
{
    struct eg_logs_event *tmp = malloc((n ? n : 1) * sizeof(*tmp));
    if (tmp) {
        merge_sort(ev, tmp, n);
        free(tmp);
        return;
    }
    /* No memory for the merge buffer: insertion sort, also stable. */
    for (size_t i = 1; i < n; i++) {
        struct eg_logs_event x = ev[i];
        size_t j = i;
        while (j > 0 && ev[j - 1].ts_ms > x.ts_ms) {
            ev[j] = ev[j - 1];
            j--;
        }
        ev[j] = x;
    }
}

static void json_string(struct eg_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    eg_buf_putc(b, '"');
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        eg_buf_append(b, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"':
            eg_buf_puts(b, "\\\"");
            break;
        case '\\':
            eg_buf_puts(b, "\\\\");
            break;
        case '\n':
            eg_buf_puts(b, "\\n");
            break;
        case '\r':
            eg_buf_puts(b, "\\r");
            break;
        case '\t':
            eg_buf_puts(b, "\\t");
            break;
        default: {
            char esc[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
            eg_buf_puts(b, esc);
        }
        }
    }
    eg_buf_append(b, s + run, len - run);
    eg_buf_putc(b, '"');
}

char *eg_logs_put_body(const char *group, const char *stream, const struct eg_logs_event *ev,
                       size_t n, size_t *len_out)
{
    struct eg_buf b = {0};
    eg_buf_puts(&b, "{\"logGroupName\":");
    json_string(&b, group, strlen(group));
    eg_buf_puts(&b, ",\"logStreamName\":");
    json_string(&b, stream, strlen(stream));
    eg_buf_puts(&b, ",\"logEvents\":[");
    for (size_t i = 0; i < n; i++) {
        eg_buf_printf(&b, "%s{\"timestamp\":%llu,\"message\":", i ? "," : "",
                      (unsigned long long)ev[i].ts_ms);
        json_string(&b, ev[i].msg, ev[i].len);
        eg_buf_putc(&b, '}');
    }
    eg_buf_puts(&b, "]}");
    size_t len = b.len;
    char *out = eg_buf_take(&b);
    if (out && len_out)
        *len_out = len;
    return out;
}

char *eg_utf8_sanitize(const char *s, size_t len, size_t *len_out)
{
    struct eg_buf b = {0};
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, run = 0;
    while (i < len) {
        size_t k = eg_utf8_seq_len(p + i, len - i);
        if (k) {
            i += k;
            continue;
        }
        eg_buf_append(&b, s + run, i - run);
        eg_buf_puts(&b, "\xef\xbf\xbd");
        i++;
        run = i;
    }
    eg_buf_append(&b, s + run, len - run);
    size_t out_len = b.len;
    char *out = eg_buf_take(&b);
    if (out && len_out)
        *len_out = out_len;
    return out;
}

bool eg_logs_valid_group(const char *name)
{
    size_t len = name ? strlen(name) : 0;
    if (len < 1 || len > 512 || strncmp(name, "aws/", 4) == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_' || c == '/' || c == '#'))
            return false;
    }
    return true;
}

bool eg_logs_valid_stream(const char *name)
{
    size_t len = name ? strlen(name) : 0;
    return len >= 1 && len <= 512 && !strpbrk(name, ":*");
}
