#include "collectors/docker_api.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#define EG_DOCKER_MAX_DEPTH 32

static const char *str_member(json_object *o, const char *key)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static void copy(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src ? src : "");
}

int eg_docker_parse_container(const char *body, size_t len, const char *docker_id,
                              struct eg_ecs_task *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (!body || len == 0 || len > EG_ECS_MAX_BODY) {
        snprintf(err, errlen, "container inspect body is empty or over %d bytes", EG_ECS_MAX_BODY);
        return -1;
    }
    json_tokener *tok = json_tokener_new_ex(EG_DOCKER_MAX_DEPTH);
    if (!tok) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    json_object *root = json_tokener_parse_ex(tok, body, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    json_tokener_free(tok);
    if (!root || jerr != json_tokener_success || !json_object_is_type(root, json_type_object)) {
        snprintf(err, errlen, "container inspect body is not a JSON object (%s)",
                 json_tokener_error_desc(jerr));
        json_object_put(root);
        return -1;
    }
    const char *id = str_member(root, "Id");
    if (!id || strcmp(id, docker_id) != 0) {
        snprintf(err, errlen, "container inspect answered for another id");
        json_object_put(root);
        return -1;
    }
    json_object *config = NULL, *labels = NULL;
    json_object_object_get_ex(root, "Config", &config);
    if (config)
        json_object_object_get_ex(config, "Labels", &labels);
    const char *name = str_member(root, "Name");
    if (name && name[0] == '/')
        name++;
    const char *ecs_name = str_member(labels, "com.amazonaws.ecs.container-name");

    copy(out->arn, sizeof(out->arn), str_member(labels, "com.amazonaws.ecs.task-arn"));
    copy(out->family, sizeof(out->family),
         str_member(labels, "com.amazonaws.ecs.task-definition-family"));
    copy(out->version, sizeof(out->version),
         str_member(labels, "com.amazonaws.ecs.task-definition-version"));
    out->n_containers = 1;
    struct eg_ecs_container *c = &out->containers[0];
    copy(c->docker_id, sizeof(c->docker_id), docker_id);
    copy(c->name, sizeof(c->name), ecs_name ? ecs_name : name);
    copy(c->docker_name, sizeof(c->docker_name), name);
    copy(c->image, sizeof(c->image), str_member(config, "Image"));
    copy(c->image_id, sizeof(c->image_id), str_member(root, "Image"));
    json_object_put(root);
    return 0;
}
