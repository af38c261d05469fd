/*
 * ECS agent introspection API: response parsing (json-c) and the caching
 * client (libcurl multi interface driven by one worker thread).
 *
 * Threading: every field of struct eg_ecs_client below `mu` is guarded by
 * it. The worker owns the curl handles and only takes the lock to pick work
 * and to publish answers; parsing and I/O happen outside the lock, so a
 * lookup never waits for the network. docs/ecs-identity.md describes the
 * cache states and retry schedule.
 */
#include "collectors/ecs_introspection.h"
#include "collectors/docker_api.h"
#include "collectors/cgroup_path.h"

#include <curl/curl.h>
#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------------------
 * Response parsing
 * ------------------------------------------------------------------------- */

/* A TaskResponse is 6 levels deep (Containers/Networks/IPv4Addresses); allow slack, refuse bombs.
 */
#define EG_ECS_JSON_MAX_DEPTH 16

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static bool only_json_whitespace(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            return false;
    return true;
}

/* Parse `body` as exactly one JSON object (trailing whitespace allowed). Caller puts the result. */
static json_object *parse_object(const char *body, size_t len, const char *what, char *err,
                                 size_t errlen)
{
    if (!body || len == 0) {
        set_err(err, errlen, "%s: empty body", what);
        return NULL;
    }
    if (len > EG_ECS_MAX_BODY) {
        set_err(err, errlen, "%s: body of %zu bytes exceeds the %d-byte limit", what, len,
                EG_ECS_MAX_BODY);
        return NULL;
    }
    json_tokener *tok = json_tokener_new_ex(EG_ECS_JSON_MAX_DEPTH);
    if (!tok) {
        set_err(err, errlen, "%s: out of memory", what);
        return NULL;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *root = json_tokener_parse_ex(tok, body, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    bool incomplete = !root && jerr == json_tokener_continue;
    if (incomplete) {
        /*
         * All input consumed and the value still open. A top-level number
         * ("42") is only complete once the input ends: a NUL byte tells the
         * tokener so. Anything else still open was truncated.
         */
        root = json_tokener_parse_ex(tok, "", 1);
        jerr = json_tokener_get_error(tok);
        end = len;
    }
    json_tokener_free(tok);

    if (!root) {
        /* json-c returns NULL with success for a JSON `null`. */
        if (jerr == json_tokener_success)
            set_err(err, errlen, "%s: top-level JSON value is null, not an object", what);
        else if (incomplete)
            set_err(err, errlen, "%s: truncated JSON (%zu bytes, value incomplete)", what, len);
        else if (jerr == json_tokener_error_depth)
            set_err(err, errlen, "%s: JSON nested deeper than %d levels", what,
                    EG_ECS_JSON_MAX_DEPTH);
        else
            set_err(err, errlen, "%s: malformed JSON at byte %zu: %s", what, end,
                    json_tokener_error_desc(jerr));
        return NULL;
    }
    if (end < len && !only_json_whitespace(body + end, len - end)) {
        set_err(err, errlen, "%s: unexpected data after the JSON value at byte %zu", what, end);
        json_object_put(root);
        return NULL;
    }
    if (!json_object_is_type(root, json_type_object)) {
        set_err(err, errlen, "%s: top-level JSON value is a %s, not an object", what,
                json_type_to_name(json_object_get_type(root)));
        json_object_put(root);
        return NULL;
    }
    return root;
}

/*
 * Fetch string member `key`. Absent or null: *val = NULL, an error only when
 * `required`. Any other type, or a string holding a NUL byte, is an error.
 */
static int get_string(json_object *obj, const char *key, bool required, const char *where,
                      const char **val, size_t *vlen, char *err, size_t errlen)
{
    json_object *m = NULL;
    *val = NULL;
    *vlen = 0;
    bool present = json_object_object_get_ex(obj, key, &m);
    if (!present || m == NULL) {
        if (required) {
            set_err(err, errlen, "%s: \"%s\" is %s", where, key, present ? "null" : "missing");
            return -1;
        }
        return 0;
    }
    if (!json_object_is_type(m, json_type_string)) {
        set_err(err, errlen, "%s: \"%s\" is a %s, not a string", where, key,
                json_type_to_name(json_object_get_type(m)));
        return -1;
    }
    const char *s = json_object_get_string(m);
    size_t n = (size_t)json_object_get_string_len(m);
    if (memchr(s, '\0', n)) {
        set_err(err, errlen, "%s: \"%s\" contains a NUL byte", where, key);
        return -1;
    }
    *val = s;
    *vlen = n;
    return 0;
}

/*
 * Identifiers (ARNs, ids, statuses) must fit whole: a cut ARN would name a
 * different resource, so an over-long one rejects the response.
 */
static int copy_exact(char *dst, size_t dstlen, const char *src, size_t n, const char *where,
                      const char *key, char *err, size_t errlen)
{
    if (!src) {
        dst[0] = '\0';
        return 0;
    }
    if (n >= dstlen) {
        set_err(err, errlen, "%s: \"%s\" is %zu bytes, longer than the %zu allowed", where, key, n,
                dstlen - 1);
        return -1;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
    return 0;
}

/*
 * Descriptive text (image, docker name) is cut to fit, at a UTF-8 character
 * boundary: losing the tail of an image name beats losing the whole task.
 */
static void copy_truncated(char *dst, size_t dstlen, const char *src, size_t n)
{
    if (!src) {
        dst[0] = '\0';
        return;
    }
    if (n >= dstlen) {
        n = dstlen - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static int parse_container(json_object *jc, size_t index, struct eg_ecs_container *out, bool store,
                           char *err, size_t errlen)
{
    char where[48];
    snprintf(where, sizeof(where), "TaskResponse.Containers[%zu]", index);
    if (!json_object_is_type(jc, json_type_object)) {
        set_err(err, errlen, "%s is a %s, not an object", where,
                json_type_to_name(json_object_get_type(jc)));
        return -1;
    }
    const char *docker_id, *docker_name, *name, *image, *image_id;
    size_t docker_id_n, docker_name_n, name_n, image_n, image_id_n;
    if (get_string(jc, "DockerId", true, where, &docker_id, &docker_id_n, err, errlen) ||
        get_string(jc, "DockerName", true, where, &docker_name, &docker_name_n, err, errlen) ||
        get_string(jc, "Name", true, where, &name, &name_n, err, errlen) ||
        get_string(jc, "Image", false, where, &image, &image_n, err, errlen) ||
        get_string(jc, "ImageID", false, where, &image_id, &image_id_n, err, errlen))
        return -1;
    /* Validate even the containers past the storage bound, so a bad tail still fails. */
    struct eg_ecs_container scratch;
    struct eg_ecs_container *dst = store ? out : &scratch;
    if (copy_exact(dst->docker_id, sizeof(dst->docker_id), docker_id, docker_id_n, where,
                   "DockerId", err, errlen) ||
        copy_exact(dst->name, sizeof(dst->name), name, name_n, where, "Name", err, errlen))
        return -1;
    copy_truncated(dst->docker_name, sizeof(dst->docker_name), docker_name, docker_name_n);
    copy_truncated(dst->image, sizeof(dst->image), image, image_n);
    copy_truncated(dst->image_id, sizeof(dst->image_id), image_id, image_id_n);
    return 0;
}

int eg_ecs_parse_task(const char *body, size_t len, struct eg_ecs_task *out, char *err,
                      size_t errlen)
{
    const char *where = "TaskResponse";
    memset(out, 0, offsetof(struct eg_ecs_task, containers));
    json_object *root = parse_object(body, len, where, err, errlen);
    if (!root)
        return -1;

    int rc = -1;
    const char *arn, *known, *desired, *family, *version;
    size_t arn_n, known_n, desired_n, family_n, version_n;
    if (get_string(root, "Arn", true, where, &arn, &arn_n, err, errlen))
        goto out;
    if (arn_n == 0) {
        /* What the agent sends with every 404/400/500: json.Marshal(TaskResponse{}). */
        set_err(err, errlen, "%s: agent error body (empty Arn): no task for this request", where);
        goto out;
    }
    if (get_string(root, "KnownStatus", true, where, &known, &known_n, err, errlen) ||
        get_string(root, "DesiredStatus", false, where, &desired, &desired_n, err, errlen) ||
        get_string(root, "Family", true, where, &family, &family_n, err, errlen) ||
        get_string(root, "Version", true, where, &version, &version_n, err, errlen))
        goto out;
    if (copy_exact(out->arn, sizeof(out->arn), arn, arn_n, where, "Arn", err, errlen) ||
        copy_exact(out->known_status, sizeof(out->known_status), known, known_n, where,
                   "KnownStatus", err, errlen) ||
        copy_exact(out->desired_status, sizeof(out->desired_status), desired, desired_n, where,
                   "DesiredStatus", err, errlen) ||
        copy_exact(out->family, sizeof(out->family), family, family_n, where, "Family", err,
                   errlen) ||
        copy_exact(out->version, sizeof(out->version), version, version_n, where, "Version", err,
                   errlen))
        goto out;

    json_object *containers = NULL;
    bool present = json_object_object_get_ex(root, "Containers", &containers);
    if (!present || !containers) {
        set_err(err, errlen, "%s: \"Containers\" is %s", where, present ? "null" : "missing");
        goto out;
    }
    if (!json_object_is_type(containers, json_type_array)) {
        set_err(err, errlen, "%s: \"Containers\" is a %s, not an array", where,
                json_type_to_name(json_object_get_type(containers)));
        goto out;
    }
    size_t n = json_object_array_length(containers);
    for (size_t i = 0; i < n; i++) {
        bool store = i < EG_ECS_MAX_CONTAINERS;
        struct eg_ecs_container *dst = store ? &out->containers[i] : NULL;
        if (parse_container(json_object_array_get_idx(containers, i), i, dst, store, err, errlen))
            goto out;
    }
    out->n_containers = n < EG_ECS_MAX_CONTAINERS ? (int)n : EG_ECS_MAX_CONTAINERS;
    out->containers_truncated = n > EG_ECS_MAX_CONTAINERS;
    rc = 0;
out:
    json_object_put(root);
    if (rc != 0)
        memset(out, 0, offsetof(struct eg_ecs_task, containers));
    return rc;
}

int eg_ecs_parse_metadata(const char *body, size_t len, struct eg_ecs_metadata *out, char *err,
                          size_t errlen)
{
    const char *where = "AgentMetadataResponse";
    memset(out, 0, sizeof(*out));
    json_object *root = parse_object(body, len, where, err, errlen);
    if (!root)
        return -1;
    int rc = -1;
    const char *cluster, *instance_arn, *version;
    size_t cluster_n, instance_arn_n, version_n;
    json_object *arn_member = NULL;
    if (get_string(root, "Cluster", true, where, &cluster, &cluster_n, err, errlen))
        goto out;
    /* ContainerInstanceArn is a Go *string: present always, null or "" until registration. */
    if (!json_object_object_get_ex(root, "ContainerInstanceArn", &arn_member)) {
        set_err(err, errlen, "%s: \"ContainerInstanceArn\" is missing", where);
        goto out;
    }
    /* Version is left out by agents built with HideAgentVersion. */
    if (get_string(root, "ContainerInstanceArn", false, where, &instance_arn, &instance_arn_n, err,
                   errlen) ||
        get_string(root, "Version", false, where, &version, &version_n, err, errlen))
        goto out;
    if (copy_exact(out->cluster, sizeof(out->cluster), cluster, cluster_n, where, "Cluster", err,
                   errlen) ||
        copy_exact(out->container_instance_arn, sizeof(out->container_instance_arn), instance_arn,
                   instance_arn_n, where, "ContainerInstanceArn", err, errlen))
        goto out;
    copy_truncated(out->version, sizeof(out->version), version, version_n);
    rc = 0;
out:
    json_object_put(root);
    if (rc != 0)
        memset(out, 0, sizeof(*out));
    return rc;
}

const struct eg_ecs_container *eg_ecs_task_container(const struct eg_ecs_task *task,
                                                     const char *docker_id)
{
    if (!task || !docker_id || !docker_id[0])
        return NULL;
    for (int i = 0; i < task->n_containers && i < EG_ECS_MAX_CONTAINERS; i++)
        if (strcmp(task->containers[i].docker_id, docker_id) == 0)
            return &task->containers[i];
    return NULL;
}

/* ---------------------------------------------------------------------------
 * Client: cache
 * ------------------------------------------------------------------------- */

#define EG_ECS_MAX_PARALLEL 4 /* task requests in flight at once (plus /v1/metadata) */
#define EG_ECS_MAX_ENTRIES_LIMIT (1u << 20)
#define EG_ECS_IDLE_POLL_MS 1000 /* longest sleep of the worker when nothing is due */
#define NS_PER_MS 1000000ull
#define EG_CONTAINER_ID_BUF (EG_CONTAINER_ID_LEN + 1)

struct cache_entry {
    char id[EG_CONTAINER_ID_BUF];
    enum eg_ecs_state state;
    struct eg_ecs_task *task; /* RESOLVED: heap copy holding only n_containers containers */
    size_t task_size;
    uint64_t due_ns; /* when `scheduled`: next request (retry or re-validation) */
    bool scheduled;
    bool in_flight;
    bool forgotten;     /* container gone: no more retries or re-validation */
    bool last_failed;   /* the previous answer was a 404 or an error: the next request is a retry */
    bool runtime_asked; /* the Docker API fallback was asked once */
    unsigned backoff_ms; /* delay before the next retry after a 404 or an error */
    struct cache_entry *lru_prev, *lru_next; /* most recently used first */
    struct cache_entry *hash_next;
};

enum transfer_kind { XFER_TASK, XFER_METADATA, XFER_RUNTIME };

struct transfer {
    CURL *easy;
    enum transfer_kind kind;
    char id[EG_CONTAINER_ID_BUF];
    char *url;
    char *body;
    size_t len, cap;
    bool oversized;
};

struct eg_ecs_client {
    /* Immutable after eg_ecs_client_new. */
    char *base_url;
    char *docker_socket; /* NULL: no runtime fallback */
    long connect_timeout_ms, request_timeout_ms;
    uint64_t positive_ttl_ns;
    unsigned retry_initial_ms, retry_max_ms;
    unsigned max_entries;
    int notify_fd;
    CURLM *multi; /* used by the worker; other threads only call curl_multi_wakeup */
    pthread_t worker;

    /* Worker-only. */
    struct transfer *active[EG_ECS_MAX_PARALLEL + 1];
    struct eg_ecs_task scratch_task;

    pthread_mutex_t mu;
    bool stopping;
    bool work_pending;    /* something changed: the worker must rescan the cache */
    uint64_t next_due_ns; /* earliest scheduled request not yet started */
    struct cache_entry **buckets;
    size_t bucket_mask;
    unsigned n_entries;
    struct cache_entry *lru_head, *lru_tail;
    unsigned task_in_flight;
    bool metadata_known, metadata_in_flight;
    uint64_t metadata_due_ns;
    unsigned metadata_backoff_ms;
    struct eg_ecs_metadata metadata;
    struct eg_ecs_client_stats stats;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool docker_id_valid(const char *id)
{
    if (!id)
        return false;
    size_t n = strnlen(id, EG_CONTAINER_ID_BUF);
    if (n != EG_CONTAINER_ID_BUF - 1)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return false;
    return true;
}

/* FNV-1a: ids are attacker-neutral hex, a simple spread is enough. */
static size_t id_hash(const char *id)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *p = id; *p; p++) {
        h ^= (unsigned char)*p;
        h *= 1099511628211ull;
    }
    return (size_t)h;
}

static struct cache_entry *find_locked(struct eg_ecs_client *c, const char *id)
{
    for (struct cache_entry *e = c->buckets[id_hash(id) & c->bucket_mask]; e; e = e->hash_next)
        if (strcmp(e->id, id) == 0)
            return e;
    return NULL;
}

static void lru_unlink(struct eg_ecs_client *c, struct cache_entry *e)
{
    if (e->lru_prev)
        e->lru_prev->lru_next = e->lru_next;
    else
        c->lru_head = e->lru_next;
    if (e->lru_next)
        e->lru_next->lru_prev = e->lru_prev;
    else
        c->lru_tail = e->lru_prev;
    e->lru_prev = e->lru_next = NULL;
}

static void lru_push_front(struct eg_ecs_client *c, struct cache_entry *e)
{
    e->lru_prev = NULL;
    e->lru_next = c->lru_head;
    if (c->lru_head)
        c->lru_head->lru_prev = e;
    c->lru_head = e;
    if (!c->lru_tail)
        c->lru_tail = e;
}

static void lru_touch(struct eg_ecs_client *c, struct cache_entry *e)
{
    if (c->lru_head == e)
        return;
    lru_unlink(c, e);
    lru_push_front(c, e);
}

static void entry_remove_locked(struct eg_ecs_client *c, struct cache_entry *e)
{
    struct cache_entry **pp = &c->buckets[id_hash(e->id) & c->bucket_mask];
    while (*pp != e)
        pp = &(*pp)->hash_next;
    *pp = e->hash_next;
    lru_unlink(c, e);
    c->n_entries--;
    free(e->task);
    free(e);
}

/* New PENDING entry, due now. Evicts the least recently used entry when full. */
static struct cache_entry *entry_insert_locked(struct eg_ecs_client *c, const char *id)
{
    if (c->n_entries >= c->max_entries && c->lru_tail) {
        /* An in-flight victim is fine: its answer finds no entry and is dropped. */
        entry_remove_locked(c, c->lru_tail);
        c->stats.evictions++;
    }
    struct cache_entry *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    memcpy(e->id, id, EG_CONTAINER_ID_BUF);
    e->state = EG_ECS_PENDING;
    e->scheduled = true;
    e->due_ns = now_ns();
    e->backoff_ms = c->retry_initial_ms;
    size_t b = id_hash(id) & c->bucket_mask;
    e->hash_next = c->buckets[b];
    c->buckets[b] = e;
    lru_push_front(c, e);
    c->n_entries++;
    return e;
}

static unsigned next_backoff(const struct eg_ecs_client *c, unsigned current)
{
    unsigned doubled = current > c->retry_max_ms / 2 ? c->retry_max_ms : current * 2;
    return doubled < c->retry_max_ms ? doubled : c->retry_max_ms;
}

/* ---------------------------------------------------------------------------
 * Client: transfers (worker thread only)
 * ------------------------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct transfer *t = userp;
    size_t n = size * nmemb;
    /* Stop receiving as soon as the cap is crossed, whatever Content-Length promised. */
    if (n > EG_ECS_MAX_BODY - t->len) {
        t->oversized = true;
        return 0;
    }
    if (t->len + n > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (cap < t->len + n)
            cap *= 2;
        if (cap > EG_ECS_MAX_BODY)
            cap = EG_ECS_MAX_BODY;
        char *grown = realloc(t->body, cap);
        if (!grown)
            return 0;
        t->body = grown;
        t->cap = cap;
    }
    memcpy(t->body + t->len, data, n);
    t->len += n;
    return n;
}

static void transfer_free(struct transfer *t)
{
    if (!t)
        return;
    if (t->easy)
        curl_easy_cleanup(t->easy);
    free(t->url);
    free(t->body);
    free(t);
}

static struct transfer *transfer_new(struct eg_ecs_client *c, enum transfer_kind kind,
                                     const char *id)
{
    struct transfer *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->kind = kind;
    size_t url_len = strlen(c->base_url) + 64 + EG_CONTAINER_ID_BUF;
    t->url = malloc(url_len);
    t->easy = curl_easy_init();
    if (!t->url || !t->easy) {
        transfer_free(t);
        return NULL;
    }
    if (kind == XFER_TASK) {
        memcpy(t->id, id, EG_CONTAINER_ID_BUF);
        /* Always the full id: a 13-63 char prefix is a 404 and a short one can be a 400. */
        snprintf(t->url, url_len, "%s/v1/tasks?dockerid=%s", c->base_url, id);
    } else if (kind == XFER_RUNTIME) {
        memcpy(t->id, id, EG_CONTAINER_ID_BUF);
        snprintf(t->url, url_len, "http://localhost/containers/%s/json", id);
        curl_easy_setopt(t->easy, CURLOPT_UNIX_SOCKET_PATH, c->docker_socket);
    } else {
        snprintf(t->url, url_len, "%s/v1/metadata", c->base_url);
    }
    CURL *h = t->easy;
    curl_easy_setopt(h, CURLOPT_URL, t->url);
    curl_easy_setopt(h, CURLOPT_PRIVATE, t);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->request_timeout_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)EG_ECS_MAX_BODY);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    /* The agent is local: an http_proxy in the environment must not capture these requests. */
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "ecsguard/" ECSGUARD_VERSION);
    return t;
}

enum outcome {
    OUT_OK,
    OUT_NOT_FOUND,
    OUT_HTTP_ERROR,
    OUT_TIMEOUT,
    OUT_CONNECT,
    OUT_OVERSIZED,
    OUT_TRANSPORT,
    OUT_PARSE
};

static enum outcome classify(const struct transfer *t, CURLcode rc, long *status)
{
    *status = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, status);
    if (t->oversized || rc == CURLE_FILESIZE_EXCEEDED)
        return OUT_OVERSIZED;
    switch (rc) {
    case CURLE_OK:
        break;
    case CURLE_OPERATION_TIMEDOUT:
        return OUT_TIMEOUT;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return OUT_CONNECT;
    default:
        return OUT_TRANSPORT;
    }
    if (*status == 200)
        return OUT_OK; /* still subject to parsing */
    if (*status == 404)
        return OUT_NOT_FOUND;
    return OUT_HTTP_ERROR;
}

static void count_outcome(struct eg_ecs_client *c, enum outcome o)
{
    switch (o) {
    case OUT_OK:
        c->stats.responses_ok++;
        break;
    case OUT_NOT_FOUND:
        c->stats.not_found++;
        break;
    case OUT_HTTP_ERROR:
        c->stats.http_errors++;
        break;
    case OUT_TIMEOUT:
        c->stats.timeouts++;
        break;
    case OUT_CONNECT:
        c->stats.connect_errors++;
        break;
    case OUT_OVERSIZED:
        c->stats.oversized++;
        break;
    case OUT_TRANSPORT:
        c->stats.transport_errors++;
        break;
    case OUT_PARSE:
        c->stats.parse_errors++;
        break;
    }
}

static void notify(struct eg_ecs_client *c)
{
    uint64_t one = 1;
    /* EAGAIN means the counter is saturated: the reader is already woken. */
    if (write(c->notify_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        return;
}

static void apply_task_answer_locked(struct eg_ecs_client *c, const char *id, enum outcome o,
                                     const struct eg_ecs_task *task, uint64_t now)
{
    struct cache_entry *e = find_locked(c, id);
    if (!e)
        return; /* evicted while in flight */
    e->in_flight = false;
    e->scheduled = false;
    if (o == OUT_OK) {
        size_t size = offsetof(struct eg_ecs_task, containers) +
                      (size_t)task->n_containers * sizeof(struct eg_ecs_container);
        struct eg_ecs_task *copy = malloc(size);
        if (copy) {
            memcpy(copy, task, size);
            free(e->task);
            e->task = copy;
            e->task_size = size;
            e->state = EG_ECS_RESOLVED;
            e->last_failed = false;
            e->backoff_ms = c->retry_initial_ms;
            if (!e->forgotten) {
                e->scheduled = true;
                e->due_ns = now + c->positive_ttl_ns;
            }
            return;
        }
        /* No memory for the copy: keep what we had and retry like any failure. */
    }
    if (o == OUT_NOT_FOUND && e->state == EG_ECS_RESOLVED) {
        /*
         * The agent dropped the task (cleaned up ~3 h after it stopped). A
         * container never changes task, so the cached identity stays right;
         * there is nothing left to re-validate against.
         */
        return;
    }
    if (o == OUT_NOT_FOUND && e->state != EG_ECS_RUNTIME_ONLY)
        e->state = EG_ECS_NOT_FOUND;
    e->last_failed = true;
    if (!e->forgotten) {
        e->scheduled = true;
        e->due_ns = now + (uint64_t)e->backoff_ms * NS_PER_MS;
    }
    e->backoff_ms = next_backoff(c, e->backoff_ms);
}

static void apply_metadata_answer_locked(struct eg_ecs_client *c, enum outcome o,
                                         const struct eg_ecs_metadata *md, uint64_t now)
{
    c->metadata_in_flight = false;
    if (o == OUT_OK) {
        c->metadata = *md;
        /* Before registration the agent answers with an empty instance ARN: not known yet. */
        if (md->container_instance_arn[0]) {
            c->metadata_known = true;
            c->stats.metadata_known = true;
            return;
        }
    }
    c->metadata_due_ns = now + (uint64_t)c->metadata_backoff_ms * NS_PER_MS;
    c->metadata_backoff_ms = next_backoff(c, c->metadata_backoff_ms);
}

static bool start_transfer(struct eg_ecs_client *c, enum transfer_kind kind, const char *id);

/* Whether to ask the Docker API about `id` now (marks it asked). */
static bool runtime_wanted_locked(struct eg_ecs_client *c, const char *id)
{
    struct cache_entry *e = find_locked(c, id);
    if (!c->docker_socket || !e || e->runtime_asked || e->state == EG_ECS_RESOLVED)
        return false;
    e->runtime_asked = true;
    c->stats.runtime_lookups++;
    return true;
}

static void apply_runtime_answer_locked(struct eg_ecs_client *c, const char *id, enum outcome o,
                                        const struct eg_ecs_task *task)
{
    struct cache_entry *e = find_locked(c, id);
    /* The ECS agent's answer, when it came meanwhile, is the better one. */
    if (!e || o != OUT_OK || e->state == EG_ECS_RESOLVED)
        return;
    size_t size = offsetof(struct eg_ecs_task, containers) + sizeof(struct eg_ecs_container);
    struct eg_ecs_task *copy = malloc(size);
    if (!copy)
        return;
    memcpy(copy, task, size);
    free(e->task);
    e->task = copy;
    e->task_size = size;
    e->state = EG_ECS_RUNTIME_ONLY;
    c->stats.runtime_answers++;
}

static void finish_transfer(struct eg_ecs_client *c, struct transfer *t, CURLcode rc)
{
    long status;
    enum outcome o = classify(t, rc, &status);
    struct eg_ecs_metadata md = {0};
    char err[256];
    if (o == OUT_OK) {
        int prc;
        if (t->kind == XFER_TASK)
            prc = eg_ecs_parse_task(t->body, t->len, &c->scratch_task, err, sizeof(err));
        else if (t->kind == XFER_RUNTIME)
            prc = eg_docker_parse_container(t->body, t->len, t->id, &c->scratch_task, err,
                                            sizeof(err));
        else
            prc = eg_ecs_parse_metadata(t->body, t->len, &md, err, sizeof(err));
        if (prc != 0)
            o = OUT_PARSE;
    }
    uint64_t now = now_ns();
    bool ask_runtime = false;
    pthread_mutex_lock(&c->mu);
    if (t->kind == XFER_RUNTIME) {
        apply_runtime_answer_locked(c, t->id, o, &c->scratch_task);
    } else {
        count_outcome(c, o);
        if (t->kind == XFER_TASK) {
            c->task_in_flight--;
            apply_task_answer_locked(c, t->id, o, &c->scratch_task, now);
            ask_runtime = o != OUT_OK && runtime_wanted_locked(c, t->id);
        } else {
            apply_metadata_answer_locked(c, o, &md, now);
        }
    }
    c->work_pending = true;
    pthread_mutex_unlock(&c->mu);
    /* The ECS agent could not say: ask the container runtime, once per container. */
    if (ask_runtime && !start_transfer(c, XFER_RUNTIME, t->id)) {
        pthread_mutex_lock(&c->mu);
        struct cache_entry *e = find_locked(c, t->id);
        if (e)
            e->runtime_asked = false; /* no free slot now: try after the next failure */
        pthread_mutex_unlock(&c->mu);
    }
    notify(c);
}

static bool start_transfer(struct eg_ecs_client *c, enum transfer_kind kind, const char *id)
{
    struct transfer *t = transfer_new(c, kind, id);
    if (t) {
        for (size_t i = 0; i < EG_ECS_MAX_PARALLEL + 1; i++) {
            if (!c->active[i]) {
                if (curl_multi_add_handle(c->multi, t->easy) != CURLM_OK)
                    break;
                c->active[i] = t;
                return true;
            }
        }
        transfer_free(t);
    }
    return false;
}

/* Undo the bookkeeping of a request that could not even be started; retried with backoff. */
static void start_failed_locked(struct eg_ecs_client *c, enum transfer_kind kind, const char *id,
                                uint64_t now)
{
    c->stats.transport_errors++;
    if (kind == XFER_TASK) {
        c->task_in_flight--;
        apply_task_answer_locked(c, id, OUT_TRANSPORT, NULL, now);
    } else {
        apply_metadata_answer_locked(c, OUT_TRANSPORT, NULL, now);
    }
}

struct start_list {
    size_t n;
    bool metadata;
    char ids[EG_ECS_MAX_PARALLEL][EG_CONTAINER_ID_BUF];
};

/*
 * Pick what is due, most recently used first, up to the parallelism bound,
 * and mark it in flight. Returns with c->next_due_ns set to the earliest
 * future request; entries held back only by the bound are picked up again
 * when a slot frees (work_pending).
 */
static void pick_due_locked(struct eg_ecs_client *c, uint64_t now, struct start_list *out)
{
    out->n = 0;
    out->metadata = false;
    uint64_t next = UINT64_MAX;
    if (!c->metadata_known && !c->metadata_in_flight) {
        if (c->metadata_due_ns <= now) {
            c->metadata_in_flight = true;
            out->metadata = true;
            c->stats.requests++;
        } else if (c->metadata_due_ns < next) {
            next = c->metadata_due_ns;
        }
    }
    for (struct cache_entry *e = c->lru_head; e; e = e->lru_next) {
        if (!e->scheduled || e->in_flight)
            continue;
        if (e->due_ns > now) {
            if (e->due_ns < next)
                next = e->due_ns;
            continue;
        }
        if (c->task_in_flight >= EG_ECS_MAX_PARALLEL)
            continue;
        e->in_flight = true;
        c->task_in_flight++;
        c->stats.requests++;
        if (e->state == EG_ECS_RESOLVED && !e->last_failed)
            c->stats.revalidations++;
        else if (e->last_failed)
            c->stats.retries++;
        memcpy(out->ids[out->n++], e->id, EG_CONTAINER_ID_BUF);
    }
    c->next_due_ns = next;
    c->work_pending = false;
}

static void *worker_main(void *arg)
{
    struct eg_ecs_client *c = arg;
    for (;;) {
        struct start_list todo = {0};
        uint64_t now = now_ns();
        pthread_mutex_lock(&c->mu);
        if (c->stopping) {
            pthread_mutex_unlock(&c->mu);
            break;
        }
        if (c->work_pending || now >= c->next_due_ns)
            pick_due_locked(c, now, &todo);
        uint64_t next_due = c->next_due_ns;
        pthread_mutex_unlock(&c->mu);

        bool failed[EG_ECS_MAX_PARALLEL] = {false};
        bool metadata_failed = todo.metadata && !start_transfer(c, XFER_METADATA, NULL);
        for (size_t i = 0; i < todo.n; i++)
            failed[i] = !start_transfer(c, XFER_TASK, todo.ids[i]);
        if (metadata_failed || todo.n) {
            pthread_mutex_lock(&c->mu);
            if (metadata_failed)
                start_failed_locked(c, XFER_METADATA, NULL, now);
            for (size_t i = 0; i < todo.n; i++)
                if (failed[i])
                    start_failed_locked(c, XFER_TASK, todo.ids[i], now);
            pthread_mutex_unlock(&c->mu);
        }

        int running = 0;
        curl_multi_perform(c->multi, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(c->multi, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            CURL *easy = msg->easy_handle;
            CURLcode rc = msg->data.result;
            struct transfer *t = NULL;
            curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
            curl_multi_remove_handle(c->multi, easy);
            for (size_t i = 0; i < EG_ECS_MAX_PARALLEL + 1; i++)
                if (c->active[i] == t)
                    c->active[i] = NULL;
            finish_transfer(c, t, rc);
            transfer_free(t);
        }

        /* curl_multi_poll also returns early for curl's own timers and for curl_multi_wakeup. */
        uint64_t after = now_ns();
        long wait_ms = EG_ECS_IDLE_POLL_MS;
        if (next_due != UINT64_MAX) {
            uint64_t until = next_due > after ? (next_due - after + NS_PER_MS - 1) / NS_PER_MS : 0;
            if (until < (uint64_t)wait_ms)
                wait_ms = (long)until;
        }
        pthread_mutex_lock(&c->mu);
        if (c->work_pending)
            wait_ms = 0;
        pthread_mutex_unlock(&c->mu);
        curl_multi_poll(c->multi, NULL, 0, (int)wait_ms, NULL);
    }
    /* Abandon whatever is in flight: a hanging agent must not hold up shutdown. */
    for (size_t i = 0; i < EG_ECS_MAX_PARALLEL + 1; i++) {
        if (c->active[i]) {
            curl_multi_remove_handle(c->multi, c->active[i]->easy);
            transfer_free(c->active[i]);
            c->active[i] = NULL;
        }
    }
    return NULL;
}

/* ---------------------------------------------------------------------------
 * Client: public interface
 * ------------------------------------------------------------------------- */

static char *normalised_base_url(const char *base)
{
    if (!base || !base[0])
        base = "http://localhost:51678";
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, base, n);
        s[n] = '\0';
    }
    return s;
}

struct eg_ecs_client *eg_ecs_client_new(const struct eg_ecs_client_config *cfg)
{
    struct eg_ecs_client_config zero = {0};
    if (!cfg)
        cfg = &zero;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return NULL;
    struct eg_ecs_client *c = calloc(1, sizeof(*c));
    if (!c) {
        curl_global_cleanup();
        return NULL;
    }
    c->notify_fd = -1;
    c->connect_timeout_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 500;
    c->request_timeout_ms = cfg->request_timeout_ms > 0 ? cfg->request_timeout_ms : 2000;
    c->positive_ttl_ns =
        (uint64_t)(cfg->positive_ttl_s ? cfg->positive_ttl_s : 300) * 1000 * NS_PER_MS;
    unsigned negative_ttl_s = cfg->negative_ttl_s ? cfg->negative_ttl_s : 30;
    c->retry_max_ms = negative_ttl_s > UINT32_MAX / 1000 ? UINT32_MAX : negative_ttl_s * 1000;
    c->retry_initial_ms = cfg->retry_initial_ms ? cfg->retry_initial_ms : 1000;
    if (c->retry_initial_ms > c->retry_max_ms)
        c->retry_initial_ms = c->retry_max_ms;
    c->max_entries = cfg->max_entries ? cfg->max_entries : 4096;
    if (c->max_entries > EG_ECS_MAX_ENTRIES_LIMIT)
        c->max_entries = EG_ECS_MAX_ENTRIES_LIMIT;
    size_t nbuckets = 16;
    while (nbuckets < c->max_entries)
        nbuckets *= 2;
    c->bucket_mask = nbuckets - 1;
    c->metadata_backoff_ms = c->retry_initial_ms;
    c->next_due_ns = 0;
    c->work_pending = true;

    c->base_url = normalised_base_url(cfg->base_url);
    /* The Docker API fallback only where the daemon's socket exists (not on every host). */
    const char *sock = cfg->docker_socket ? cfg->docker_socket : EG_DOCKER_DEFAULT_SOCKET;
    if (sock[0] && access(sock, F_OK) == 0)
        c->docker_socket = strdup(sock);
    c->buckets = calloc(nbuckets, sizeof(*c->buckets));
    c->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    c->multi = curl_multi_init();
    if (!c->base_url || !c->buckets || c->notify_fd < 0 || !c->multi ||
        pthread_mutex_init(&c->mu, NULL) != 0)
        goto fail;
    if (pthread_create(&c->worker, NULL, worker_main, c) != 0) {
        pthread_mutex_destroy(&c->mu);
        goto fail;
    }
    return c;
fail:
    if (c->multi)
        curl_multi_cleanup(c->multi);
    if (c->notify_fd >= 0)
        close(c->notify_fd);
    free(c->buckets);
    free(c->base_url);
    free(c->docker_socket);
    free(c);
    curl_global_cleanup();
    return NULL;
}

void eg_ecs_client_free(struct eg_ecs_client *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->stopping = true;
    pthread_mutex_unlock(&c->mu);
    curl_multi_wakeup(c->multi);
    pthread_join(c->worker, NULL);

    while (c->lru_head)
        entry_remove_locked(c, c->lru_head);
    curl_multi_cleanup(c->multi);
    close(c->notify_fd);
    pthread_mutex_destroy(&c->mu);
    free(c->buckets);
    free(c->base_url);
    free(c->docker_socket);
    free(c);
    curl_global_cleanup();
}

void eg_ecs_client_request(struct eg_ecs_client *c, const char *docker_id)
{
    if (!c || !docker_id_valid(docker_id))
        return;
    bool wake = false;
    pthread_mutex_lock(&c->mu);
    if (!find_locked(c, docker_id) && entry_insert_locked(c, docker_id)) {
        c->work_pending = true;
        wake = true;
    }
    pthread_mutex_unlock(&c->mu);
    if (wake)
        curl_multi_wakeup(c->multi);
}

enum eg_ecs_state eg_ecs_client_lookup(struct eg_ecs_client *c, const char *docker_id,
                                       struct eg_ecs_task *out)
{
    if (!c || !docker_id_valid(docker_id))
        return EG_ECS_UNKNOWN;
    pthread_mutex_lock(&c->mu);
    struct cache_entry *e = find_locked(c, docker_id);
    enum eg_ecs_state state = e ? e->state : EG_ECS_UNKNOWN;
    if (e) {
        lru_touch(c, e);
        if ((state == EG_ECS_RESOLVED || state == EG_ECS_RUNTIME_ONLY) && out)
            memcpy(out, e->task, e->task_size);
    }
    if (state == EG_ECS_RESOLVED || state == EG_ECS_NOT_FOUND || state == EG_ECS_RUNTIME_ONLY)
        c->stats.cache_hits++;
    else
        c->stats.cache_misses++;
    pthread_mutex_unlock(&c->mu);
    return state;
}

bool eg_ecs_client_metadata(struct eg_ecs_client *c, struct eg_ecs_metadata *out)
{
    if (!c)
        return false;
    pthread_mutex_lock(&c->mu);
    bool known = c->metadata_known;
    if (known && out)
        *out = c->metadata;
    pthread_mutex_unlock(&c->mu);
    return known;
}

int eg_ecs_client_notify_fd(struct eg_ecs_client *c)
{
    return c ? c->notify_fd : -1;
}

void eg_ecs_client_forget(struct eg_ecs_client *c, const char *docker_id)
{
    if (!c || !docker_id_valid(docker_id))
        return;
    pthread_mutex_lock(&c->mu);
    struct cache_entry *e = find_locked(c, docker_id);
    if (e) {
        e->forgotten = true;
        e->scheduled = false;
    }
    pthread_mutex_unlock(&c->mu);
}

void eg_ecs_client_get_stats(struct eg_ecs_client *c, struct eg_ecs_client_stats *out)
{
    if (!c) {
        memset(out, 0, sizeof(*out));
        return;
    }
    pthread_mutex_lock(&c->mu);
    *out = c->stats;
    pthread_mutex_unlock(&c->mu);
}
