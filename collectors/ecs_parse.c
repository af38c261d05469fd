/*
 * ECS agent introspection API: parsing of its response bodies (json-c) into
 * struct eg_ecs_task / struct eg_ecs_metadata, declared in
 * collectors/ecs_introspection.h.
 *
 * Owns only the JSON: no I/O, no state, no threads. Kept apart from the
 * client so the rules for what the agent may send (docs/ecs-identity.md §3)
 * can be read and tested on their own, and so the worker thread calls a pure
 * function outside its lock.
 */
#include "collectors/ecs_introspection.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
