#include "agent/outputs/emf.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static const char *unit_for(const char *name)
{
    if (ends_with(name, "_bytes"))
        return "Bytes";
    if (ends_with(name, "_pct") || ends_with(name, "_percent"))
        return "Percent";
    if (ends_with(name, "_ms"))
        return "Milliseconds";
    return "Count";
}

static bool usable_number(json_object *v)
{
    if (json_object_is_type(v, json_type_int))
        return true;
    return json_object_is_type(v, json_type_double) && isfinite(json_object_get_double(v));
}

static json_object *new_directive(json_object *dim_set)
{
    json_object *d = json_object_new_object();
    json_object_object_add(d, "Namespace", json_object_new_string(EG_EMF_NAMESPACE));
    json_object *dims = json_object_new_array();
    json_object_array_add(dims, json_object_get(dim_set));
    json_object_object_add(d, "Dimensions", dims);
    json_object_object_add(d, "Metrics", json_object_new_array());
    return d;
}

char *eg_emf_record(json_object *counters, json_object *dimensions, uint64_t ts_ms)
{
    if (!counters || !json_object_is_type(counters, json_type_object))
        return NULL;
    json_object *root = json_object_new_object();
    json_object *dim_set = json_object_new_array();
    size_t ndims = 0;
    bool ok = true;
    if (dimensions) {
        json_object_object_foreach(dimensions, dname, dval)
        {
            if (!json_object_is_type(dval, json_type_string) || ++ndims > EG_EMF_MAX_DIMENSIONS) {
                ok = false;
                break;
            }
            json_object_array_add(dim_set, json_object_new_string(dname));
            json_object_object_add(root, dname, json_object_get(dval));
        }
    }
    json_object *directives = json_object_new_array();
    json_object *current = NULL;
    size_t in_current = 0, total = 0;
    json_object_object_foreach(counters, name, val)
    {
        if (!ok)
            break;
        /* Metric values are root members: never let one shadow a dimension or "_aws". */
        if (!usable_number(val) || strcmp(name, "_aws") == 0 ||
            json_object_object_get_ex(root, name, NULL))
            continue;
        if (!current || in_current == EG_EMF_MAX_METRICS_PER_DIRECTIVE) {
            current = new_directive(dim_set);
            json_object_array_add(directives, current);
            in_current = 0;
        }
        json_object *def = json_object_new_object();
        json_object_object_add(def, "Name", json_object_new_string(name));
        json_object_object_add(def, "Unit", json_object_new_string(unit_for(name)));
        json_object *metrics;
        json_object_object_get_ex(current, "Metrics", &metrics);
        json_object_array_add(metrics, def);
        json_object_object_add(root, name, json_object_get(val));
        in_current++;
        total++;
    }
    char *out = NULL;
    if (ok && total) {
        json_object *aws = json_object_new_object();
        json_object_object_add(aws, "Timestamp", json_object_new_int64((int64_t)ts_ms));
        json_object_object_add(aws, "CloudWatchMetrics", json_object_get(directives));
        json_object_object_add(root, "_aws", aws);
        const char *s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
                                                                 JSON_C_TO_STRING_NOSLASHESCAPE);
        out = s ? strdup(s) : NULL;
    }
    json_object_put(directives);
    json_object_put(dim_set);
    json_object_put(root);
    return out;
}
