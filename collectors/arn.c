/*
 * ECS task ARN parsing. Every part is checked against the shape AWS gives
 * it, because region and account from here end up in findings: a value that
 * is merely "some text between colons" must not pass.
 */
#include "collectors/arn.h"

#include <string.h>

#include "collectors/cgroup_path.h"

/* Longest well-formed task ARN is ~350 bytes (255-char cluster name); anything near this is junk.
 */
#define ARN_MAX_LEN 1024

/* Partitions where ECS runs. */
static const char *const known_partitions[] = {
    "aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc",
};

struct span {
    const char *s;
    size_t n;
};

static bool span_equals(struct span sp, const char *literal)
{
    return sp.n == strlen(literal) && memcmp(sp.s, literal, sp.n) == 0;
}

/* Split off the text up to the next `sep` (or the end when sep is '\0'). */
static bool take_until(const char **cursor, const char *end, char sep, struct span *out)
{
    const char *p = *cursor;
    const char *stop = sep ? memchr(p, sep, (size_t)(end - p)) : end;
    if (!stop)
        return false;
    out->s = p;
    out->n = (size_t)(stop - p);
    *cursor = (stop == end) ? end : stop + 1;
    return true;
}

static bool is_lower(char c)
{
    return c >= 'a' && c <= 'z';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool partition_valid(struct span sp)
{
    for (size_t i = 0; i < sizeof(known_partitions) / sizeof(known_partitions[0]); i++)
        if (span_equals(sp, known_partitions[i]))
            return true;
    return false;
}

/* <letters>(-<letters>)+-<digits>: us-east-1, cn-north-1, us-gov-west-1, us-isob-east-1. */
static bool region_valid(struct span sp)
{
    size_t i = 0, letter_groups = 0;
    while (i < sp.n) {
        size_t start = i;
        while (i < sp.n && is_lower(sp.s[i]))
            i++;
        if (i == start || i == sp.n || sp.s[i] != '-')
            return false;
        letter_groups++;
        i++; /* the dash */
        if (i < sp.n && is_digit(sp.s[i]))
            break;
    }
    if (letter_groups < 2 || i >= sp.n)
        return false;
    for (; i < sp.n; i++)
        if (!is_digit(sp.s[i]))
            return false;
    return true;
}

static bool account_valid(struct span sp)
{
    if (sp.n != 12)
        return false;
    for (size_t i = 0; i < sp.n; i++)
        if (!is_digit(sp.s[i]))
            return false;
    return true;
}

/* ECS cluster names: 1-255 letters, digits, hyphens and underscores. */
static bool cluster_valid(struct span sp)
{
    if (sp.n == 0 || sp.n > 255)
        return false;
    for (size_t i = 0; i < sp.n; i++) {
        char c = sp.s[i];
        if (!(is_lower(c) || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' || c == '_'))
            return false;
    }
    return true;
}

static void copy_span(char *dst, size_t dstlen, struct span sp)
{
    /* Callers validated lengths against the field sizes; this only terminates. */
    size_t n = sp.n < dstlen - 1 ? sp.n : dstlen - 1;
    if (n)
        memcpy(dst, sp.s, n);
    dst[n] = '\0';
}

bool eg_task_arn_parse(const char *arn, struct eg_task_arn *out)
{
    memset(out, 0, sizeof(*out));
    if (!arn)
        return false;
    size_t len = strnlen(arn, ARN_MAX_LEN + 1);
    if (len > ARN_MAX_LEN)
        return false;

    const char *cur = arn, *end = arn + len;
    struct span prefix, partition, service, region, account, resource;
    if (!take_until(&cur, end, ':', &prefix) || !span_equals(prefix, "arn") ||
        !take_until(&cur, end, ':', &partition) || !partition_valid(partition) ||
        !take_until(&cur, end, ':', &service) || !span_equals(service, "ecs") ||
        !take_until(&cur, end, ':', &region) || region.n >= sizeof(out->region) ||
        !region_valid(region) || !take_until(&cur, end, ':', &account) || !account_valid(account) ||
        !take_until(&cur, end, '\0', &resource))
        return false;

    /* resource = task/<cluster>/<id> | task/<id> */
    const char *rcur = resource.s, *rend = resource.s + resource.n;
    struct span type, first, second = {0};
    if (!take_until(&rcur, rend, '/', &type) || !span_equals(type, "task"))
        return false;
    const char *slash = memchr(rcur, '/', (size_t)(rend - rcur));
    if (slash) {
        first = (struct span){rcur, (size_t)(slash - rcur)};
        second = (struct span){slash + 1, (size_t)(rend - slash - 1)};
        if (memchr(second.s, '/', second.n))
            return false;
    } else {
        first = (struct span){rcur, (size_t)(rend - rcur)};
    }

    struct span cluster = {0}, task_id = first;
    if (slash) {
        cluster = first;
        task_id = second;
        if (!cluster_valid(cluster))
            return false;
    }
    if (!eg_task_id_valid(task_id.s, task_id.n))
        return false;

    copy_span(out->partition, sizeof(out->partition), partition);
    copy_span(out->region, sizeof(out->region), region);
    copy_span(out->account, sizeof(out->account), account);
    copy_span(out->cluster, sizeof(out->cluster), cluster);
    copy_span(out->task_id, sizeof(out->task_id), task_id);
    return true;
}
