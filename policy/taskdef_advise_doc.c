/*
 * A parsed task-definition document (the YAML tree every format is read into) as json-c, so
 * advice can rewrite it and print it: JSON input comes back as it was; YAML scalars get the
 * types YAML gives them; CloudFormation's short tags become their JSON intrinsic forms (`!Ref x`
 * is {"Ref": "x"}, `!GetAtt a.b` is {"Fn::GetAtt": ["a", "b"]}, `!Sub s` is {"Fn::Sub": "s"}).
 */
#include "policy/taskdef_advise.h"
#include "policy/yaml_tree.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_int(const char *s)
{
    if (*s == '-' || *s == '+')
        s++;
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

static bool is_float(const char *s, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (end == s || *end || errno || !strpbrk(s, ".eE") || strpbrk(s, "xXnN"))
        return false;
    *out = d;
    return true;
}

static struct json_object *scalar_json(const struct eg_ynode *n)
{
    const char *v = n->value ? n->value : "";
    if (n->plain && !n->tag) {
        if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE"))
            return json_object_new_boolean(1);
        if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "FALSE"))
            return json_object_new_boolean(0);
        if (!*v || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL") ||
            !strcmp(v, "~"))
            return NULL;
        if (is_int(v) && strlen(v) < 19)
            return json_object_new_int64(strtoll(v, NULL, 10));
        double d;
        if (is_float(v, &d))
            return json_object_new_double(d);
    }
    return json_object_new_string_len(v, (int)n->len);
}

static struct json_object *node_json(const struct eg_ynode *n);

/* `!Tag value` as CloudFormation's JSON form of that function. */
static struct json_object *tagged(const struct eg_ynode *n, struct json_object *inner)
{
    struct json_object *o = json_object_new_object();
    if (!strcmp(n->tag, "Ref") || !strcmp(n->tag, "Condition")) {
        json_object_object_add(o, n->tag, inner);
        return o;
    }
    char key[64];
    snprintf(key, sizeof(key), "Fn::%s", n->tag);
    if (!strcmp(n->tag, "GetAtt") && n->type == EG_YNODE_SCALAR && n->value) {
        /* The short form's "Resource.Attribute" is the long form's two-item list. */
        const char *dot = strchr(n->value, '.');
        struct json_object *arr = json_object_new_array();
        if (dot) {
            json_object_array_add(arr, json_object_new_string_len(n->value, (int)(dot - n->value)));
            json_object_array_add(arr, json_object_new_string(dot + 1));
            json_object_put(inner);
            inner = arr;
        } else {
            json_object_put(arr);
        }
    }
    json_object_object_add(o, key, inner);
    return o;
}

static struct json_object *node_json(const struct eg_ynode *n)
{
    if (!n)
        return NULL;
    struct json_object *out = NULL;
    switch (n->type) {
    case EG_YNODE_SCALAR:
        out = n->tag ? json_object_new_string_len(n->value ? n->value : "", (int)n->len)
                     : scalar_json(n);
        break;
    case EG_YNODE_SEQUENCE:
        out = json_object_new_array();
        for (size_t i = 0; i < n->count; i++)
            json_object_array_add(out, node_json(n->items[i]));
        break;
    case EG_YNODE_MAPPING:
        out = json_object_new_object();
        for (size_t i = 0; i + 1 < n->count; i += 2) {
            const struct eg_ynode *k = n->items[i];
            const char *key = k && k->type == EG_YNODE_SCALAR && k->value ? k->value : "";
            json_object_object_add(out, key, node_json(n->items[i + 1]));
        }
        break;
    }
    return n->tag ? tagged(n, out) : out;
}

struct json_object *eg_taskdef_document_json(const struct eg_taskdef_file *f)
{
    return node_json(f->root);
}

int64_t eg_parse_duration_ms(const char *s)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || v < 0 || v > 1e12)
        return -1;
    double unit;
    if (!*end || !strcmp(end, "s"))
        unit = 1000;
    else if (!strcmp(end, "ms"))
        unit = 1;
    else if (!strcmp(end, "m"))
        unit = 60e3;
    else if (!strcmp(end, "h"))
        unit = 3600e3;
    else if (!strcmp(end, "d"))
        unit = 86400e3;
    else
        return -1;
    return (int64_t)(v * unit);
}
