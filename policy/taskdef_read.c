/*
 * Reading task definitions out of a file: which format it is, then the settings the lint
 * needs from each definition in it. One YAML reader serves JSON too (JSON is YAML's flow
 * syntax), so every setting keeps its line and column; duplicate keys are refused because
 * the tool that deploys a file may take the other one.
 */
#include "policy/taskdef_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EG_TASKDEF_MAX_ITEMS 10000 /* containers, variables, volumes... per list */

const char *eg_td_format_name(enum eg_td_format f)
{
    switch (f) {
    case EG_TD_FORMAT_REGISTER:
        return "register-input";
    case EG_TD_FORMAT_DESCRIBE:
        return "describe-output";
    case EG_TD_FORMAT_CLOUDFORMATION:
        return "cloudformation";
    }
    return "unknown";
}

/* Allocate `count` zeroed items for a list read from the file. */
static void *alloc_items(struct eg_td_reader *r, const struct eg_ynode *list, size_t count,
                         size_t size)
{
    if (count > EG_TASKDEF_MAX_ITEMS) {
        eg_policy_error_add(r->errs, list->line, list->column,
                            "a list of %zu items; the limit is %d", count, EG_TASKDEF_MAX_ITEMS);
        return NULL;
    }
    void *p = calloc(count ? count : 1, size);
    if (!p)
        eg_policy_error_add(r->errs, list->line, list->column, "out of memory");
    return p;
}

/*
 * The list `key` of mapping m, with room for its items in *items (`size` bytes each) and its
 * display name in name[64]. NULL when there is nothing to read: *ok then says whether that is
 * fine (absent, or an intrinsic) or an error was reported.
 */
static const struct eg_ynode *open_list(struct eg_td_reader *r, const struct eg_ynode *m,
                                        const char *key, struct eg_td_value *list_value,
                                        void **items, size_t size, char name[64], bool *ok)
{
    const struct eg_ynode *seq =
        eg_td_read_collection(r, m, key, EG_YNODE_SEQUENCE, list_value, ok);
    if (!seq)
        return NULL;
    *items = alloc_items(r, seq, seq->count, size);
    if (!*items) {
        *ok = false;
        return NULL;
    }
    eg_td_key_name(r, key, name, 64);
    return seq;
}

static bool read_string_list(struct eg_td_reader *r, const struct eg_ynode *m, const char *key,
                             struct eg_td_value *list_value, struct eg_td_value **items,
                             size_t *count)
{
    bool ok;
    char name[64];
    void *space = NULL;
    const struct eg_ynode *seq =
        open_list(r, m, key, list_value, &space, sizeof(**items), name, &ok);
    *items = space;
    if (!seq)
        return ok;
    for (size_t i = 0; i < seq->count; i++) {
        const struct eg_ynode *n = seq->items[i];
        struct eg_td_value *v = &(*items)[*count];
        switch (eg_td_item_kind(r, n, v)) {
        case EG_TD_ITEM_ABSENT:
            continue;
        case EG_TD_ITEM_BAD:
            ok = false;
            continue;
        case EG_TD_ITEM_UNKNOWN:
            (*count)++;
            continue;
        case EG_TD_ITEM_VALUE:
            break;
        }
        if (n->type != EG_YNODE_SCALAR || memchr(n->value, '\0', n->len)) {
            eg_policy_error_add(r->errs, n->line, n->column,
                                "items of '%s' must be strings, found %s", name, eg_ynode_kind(n));
            ok = false;
            continue;
        }
        v->state = EG_TD_KNOWN;
        v->line = n->line;
        v->column = n->column;
        v->str = n->value;
        v->len = n->len;
        (*count)++;
    }
    return ok;
}

/* Runs `each` on every mapping item of list `key`; intrinsic items become unknown entries. */
typedef bool (*item_fn)(struct eg_td_reader *r, const struct eg_ynode *item, void *entry,
                        bool unknown, const struct eg_td_value *where);

static bool read_mapping_list(struct eg_td_reader *r, const struct eg_ynode *m, const char *key,
                              struct eg_td_value *list_value, void **items, size_t *count,
                              size_t size, item_fn each)
{
    bool ok;
    char name[64];
    const struct eg_ynode *seq = open_list(r, m, key, list_value, items, size, name, &ok);
    if (!seq)
        return ok;
    for (size_t i = 0; i < seq->count; i++) {
        const struct eg_ynode *n = seq->items[i];
        void *entry = (char *)*items + *count * size;
        struct eg_td_value where;
        switch (eg_td_item_kind(r, n, &where)) {
        case EG_TD_ITEM_ABSENT:
            continue;
        case EG_TD_ITEM_BAD:
            ok = false;
            continue;
        case EG_TD_ITEM_UNKNOWN:
            ok = each(r, n, entry, true, &where) && ok;
            (*count)++;
            continue;
        case EG_TD_ITEM_VALUE:
            break;
        }
        if (n->type != EG_YNODE_MAPPING) {
            eg_policy_error_add(r->errs, n->line, n->column,
                                "items of '%s' must be mappings, found %s", name, eg_ynode_kind(n));
            ok = false;
            continue;
        }
        ok = each(r, n, entry, false, NULL) && ok;
        (*count)++;
    }
    return ok;
}

static bool read_env(struct eg_td_reader *r, const struct eg_ynode *item, void *entry, bool unknown,
                     const struct eg_td_value *where)
{
    struct eg_td_env *e = entry;
    if (unknown) {
        e->name = *where;
        return true;
    }
    bool ok = eg_td_read_string(r, item, "name", &e->name);
    if (ok && e->name.state == EG_TD_ABSENT) {
        e->name.line = item->line;
        e->name.column = item->column;
    }
    return ok;
}

static bool read_mount(struct eg_td_reader *r, const struct eg_ynode *item, void *entry,
                       bool unknown, const struct eg_td_value *where)
{
    struct eg_td_mount *mp = entry;
    if (unknown) {
        mp->source_volume = *where;
        return true;
    }
    bool ok = eg_td_read_string(r, item, "sourceVolume", &mp->source_volume);
    ok = eg_td_read_string(r, item, "containerPath", &mp->container_path) && ok;
    return eg_td_read_bool(r, item, "readOnly", &mp->read_only) && ok;
}

static bool read_volume(struct eg_td_reader *r, const struct eg_ynode *item, void *entry,
                        bool unknown, const struct eg_td_value *where)
{
    struct eg_td_volume *v = entry;
    v->line = unknown ? where->line : item->line;
    v->column = unknown ? where->column : item->column;
    if (unknown) {
        v->unknown = true;
        v->host_source_path = *where;
        return true;
    }
    bool ok = eg_td_read_string(r, item, "name", &v->name);
    struct eg_td_value host;
    bool hok;
    const struct eg_ynode *h =
        eg_td_read_collection(r, item, "host", EG_YNODE_MAPPING, &host, &hok);
    if (h)
        return eg_td_read_string(r, h, "sourcePath", &v->host_source_path) && ok;
    if (host.state == EG_TD_UNKNOWN)
        v->host_source_path = host;
    return ok && hok;
}

static bool read_container(struct eg_td_reader *r, const struct eg_ynode *item, void *entry,
                           bool unknown, const struct eg_td_value *where)
{
    struct eg_td_container *c = entry;
    c->line = unknown ? where->line : item->line;
    c->column = unknown ? where->column : item->column;
    if (unknown) {
        c->unknown = true;
        c->name = *where;
        return true;
    }
    bool ok = eg_td_read_string(r, item, "name", &c->name);
    ok = eg_td_read_bool(r, item, "privileged", &c->privileged) && ok;
    ok = eg_td_read_string(r, item, "user", &c->user) && ok;
    ok = eg_td_read_bool(r, item, "readonlyRootFilesystem", &c->readonly_root) && ok;
    ok = read_mapping_list(r, item, "environment", &c->environment, (void **)&c->env, &c->nenv,
                           sizeof(*c->env), read_env) &&
         ok;
    bool cok;
    const struct eg_ynode *log = eg_td_read_collection(
        r, item, "logConfiguration", EG_YNODE_MAPPING, &c->log_configuration, &cok);
    ok = cok && ok;
    if (log)
        ok = eg_td_read_string(r, log, "logDriver", &c->log_driver) && ok;
    const struct eg_ynode *lp = eg_td_read_collection(r, item, "linuxParameters", EG_YNODE_MAPPING,
                                                      &c->linux_parameters, &cok);
    ok = cok && ok;
    if (lp) {
        ok = eg_td_read_bool(r, lp, "initProcessEnabled", &c->init_process) && ok;
        const struct eg_ynode *caps =
            eg_td_read_collection(r, lp, "capabilities", EG_YNODE_MAPPING, &c->capabilities, &cok);
        ok = cok && ok;
        if (caps) {
            ok =
                read_string_list(r, caps, "add", &c->cap_add_list, &c->cap_add, &c->ncap_add) && ok;
            ok =
                read_string_list(r, caps, "drop", &c->cap_drop_list, &c->cap_drop, &c->ncap_drop) &&
                ok;
        }
    }
    ok = read_mapping_list(r, item, "mountPoints", &c->mount_points, (void **)&c->mounts,
                           &c->nmounts, sizeof(*c->mounts), read_mount) &&
         ok;
    return ok;
}

/* One definition's settings from its mapping (`m` NULL: a resource without Properties). */
static bool read_definition(struct eg_td_reader *r, const struct eg_ynode *m, struct eg_taskdef *td)
{
    bool ok = eg_td_read_string(r, m, "family", &td->family_value);
    if (r->format == EG_TD_FORMAT_DESCRIBE) {
        const struct eg_ynode *k, *rev = eg_td_find(r, m, "revision", &k);
        if (rev && rev->type == EG_YNODE_SCALAR) {
            td->revision.state = EG_TD_KNOWN;
            td->revision.str = rev->value;
            td->revision.len = rev->len;
            td->revision.line = k->line;
            td->revision.column = k->column;
        }
    }
    ok = eg_td_read_string(r, m, "networkMode", &td->network_mode) && ok;
    ok = eg_td_read_string(r, m, "pidMode", &td->pid_mode) && ok;
    ok = eg_td_read_string(r, m, "ipcMode", &td->ipc_mode) && ok;
    ok = read_mapping_list(r, m, "containerDefinitions", &td->container_definitions,
                           (void **)&td->containers, &td->ncontainers, sizeof(*td->containers),
                           read_container) &&
         ok;
    ok = read_mapping_list(r, m, "volumes", &td->volumes_value, (void **)&td->volumes,
                           &td->nvolumes, sizeof(*td->volumes), read_volume) &&
         ok;
    /* Daemon task definitions share the host's namespaces with "shared", not "host". */
    if (eg_td_value_is(&td->pid_mode, "shared") || eg_td_value_is(&td->ipc_mode, "shared"))
        td->kind = EG_TD_DAEMON;
    if (td->family_value.state == EG_TD_KNOWN && td->family_value.len > 0)
        td->family = td->family_value.str;
    return ok;
}

static struct eg_taskdef *add_def(struct eg_taskdef_file *f, struct eg_td_reader *r,
                                  const struct eg_ynode *at)
{
    struct eg_taskdef *defs = realloc(f->defs, (f->ndefs + 1) * sizeof(*defs));
    if (!defs) {
        eg_policy_error_add(r->errs, at->line, at->column, "out of memory");
        return NULL;
    }
    f->defs = defs;
    struct eg_taskdef *td = &defs[f->ndefs++];
    memset(td, 0, sizeof(*td));
    td->format = r->format;
    td->line = at->line;
    td->column = at->column;
    return td;
}

static bool read_template(struct eg_td_reader *r, const struct eg_ynode *root,
                          struct eg_taskdef_file *f)
{
    const struct eg_ynode *k = NULL, *res = eg_td_find(r, root, "Resources", &k);
    if (!res || res->type != EG_YNODE_MAPPING) {
        eg_policy_error_add(r->errs, res ? res->line : 1, res ? res->column : 1,
                            "a CloudFormation template's 'Resources' must be a mapping, found %s",
                            eg_ynode_kind(res));
        return false;
    }
    bool ok = true;
    for (size_t i = 0; i + 1 < res->count; i += 2) {
        const struct eg_ynode *id = res->items[i], *body = res->items[i + 1];
        if (body->type != EG_YNODE_MAPPING || id->type != EG_YNODE_SCALAR)
            continue; /* Fn::ForEach and the like: not a resource this lint reads */
        const struct eg_ynode *type = eg_td_find(r, body, "Type", NULL);
        bool daemon = type && type->type == EG_YNODE_SCALAR && !type->tag &&
                      strcmp(type->value, "AWS::ECS::DaemonTaskDefinition") == 0;
        if (!daemon && !(type && type->type == EG_YNODE_SCALAR && !type->tag &&
                         strcmp(type->value, "AWS::ECS::TaskDefinition") == 0))
            continue;
        struct eg_taskdef *td = add_def(f, r, id);
        if (!td)
            return false;
        td->kind = daemon ? EG_TD_DAEMON : EG_TD_TASK;
        td->resource = id->value;
        struct eg_td_value props;
        bool pok;
        const struct eg_ynode *p =
            eg_td_read_collection(r, body, "Properties", EG_YNODE_MAPPING, &props, &pok);
        ok = pok && ok;
        ok = read_definition(r, p, td) && ok;
        if (props.state == EG_TD_UNKNOWN) {
            /* Nothing in it can be read: every setting is unknown. */
            td->container_definitions = props;
            td->network_mode = props;
            td->pid_mode = props;
            td->ipc_mode = props;
            td->volumes_value = props;
        }
        if (daemon)
            td->kind = EG_TD_DAEMON;
        if (!td->family)
            td->family = td->resource;
    }
    return ok;
}

static int parse_tree(struct eg_taskdef_file *f, struct eg_policy_errors *errs)
{
    const struct eg_ynode *root = f->root;
    struct eg_td_reader r = {.format = EG_TD_FORMAT_REGISTER, .errs = errs};
    if (!root || root->type != EG_YNODE_MAPPING) {
        eg_policy_error_add(errs, root ? root->line : 1, root ? root->column : 1,
                            "expected a task definition (a mapping), found %s",
                            eg_ynode_kind(root));
        return -1;
    }
    struct eg_td_reader cfn = {.format = EG_TD_FORMAT_CLOUDFORMATION, .errs = errs};
    const struct eg_ynode *described = NULL;
    bool ok;
    if (eg_td_find(&cfn, root, "Resources", NULL) ||
        eg_td_find(&cfn, root, "AWSTemplateFormatVersion", NULL)) {
        f->format = EG_TD_FORMAT_CLOUDFORMATION;
        r.format = f->format;
        ok = read_template(&r, root, f);
    } else if ((described = eg_td_find(&r, root, "taskDefinition", NULL)) ||
               (described = eg_td_find(&r, root, "daemonTaskDefinition", NULL))) {
        f->format = r.format = EG_TD_FORMAT_DESCRIBE;
        if (described->type != EG_YNODE_MAPPING) {
            eg_policy_error_add(errs, described->line, described->column,
                                "'taskDefinition' must be a mapping, found %s",
                                eg_ynode_kind(described));
            return -1;
        }
        struct eg_taskdef *td = add_def(f, &r, described);
        ok = td && read_definition(&r, described, td);
        if (td && eg_td_find(&r, root, "daemonTaskDefinition", NULL))
            td->kind = EG_TD_DAEMON;
    } else if (eg_td_find(&r, root, "containerDefinitions", NULL)) {
        f->format = r.format = EG_TD_FORMAT_REGISTER;
        struct eg_taskdef *td = add_def(f, &r, root);
        ok = td && read_definition(&r, root, td);
    } else {
        eg_policy_error_add(errs, root->line, root->column,
                            "not a task definition: expected 'containerDefinitions' "
                            "(RegisterTaskDefinition input), 'taskDefinition' "
                            "(describe-task-definition output) or a CloudFormation template "
                            "('Resources')");
        return -1;
    }
    for (size_t i = 0; ok && i < f->ndefs; i++) {
        if (!f->defs[i].family) {
            eg_policy_error_add(errs, f->defs[i].line, f->defs[i].column,
                                "the task definition has no 'family'");
            ok = false;
        }
    }
    return ok ? 0 : -1;
}

int eg_taskdef_parse(const char *text, size_t len, struct eg_taskdef_file *out,
                     struct eg_policy_errors *errs)
{
    memset(out, 0, sizeof(*out));
    memset(errs, 0, sizeof(*errs));
    if (len > EG_TASKDEF_MAX_BYTES) {
        eg_policy_error_add(errs, 0, 0, "larger than %u bytes", EG_TASKDEF_MAX_BYTES);
        return -1;
    }
    bool parsed;
    size_t rlen = 0;
    char *rewritten = text ? eg_td_rewrite_surrogates(text, len, &rlen) : NULL;
    out->root = eg_yaml_tree_parse_flags(rewritten ? rewritten
                                         : text    ? text
                                                   : "",
                                         rewritten ? rlen : len, EG_YAML_TAGS | EG_YAML_UNIQUE_KEYS,
                                         errs, &parsed);
    free(rewritten);
    if (!parsed)
        return -1;
    if (!out->root) {
        eg_policy_error_add(errs, 0, 0, "the file is empty");
        return -1;
    }
    if (parse_tree(out, errs) != 0) {
        eg_taskdef_file_free(out);
        return -1;
    }
    return 0;
}

int eg_taskdef_load_file(const char *path, struct eg_taskdef_file *out,
                         struct eg_policy_errors *errs)
{
    memset(out, 0, sizeof(*out));
    memset(errs, 0, sizeof(*errs));
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        eg_policy_error_add(errs, 0, 0, "cannot open: %s", strerror(errno));
        return -1;
    }
    char *buf = malloc(EG_TASKDEF_MAX_BYTES + 1);
    if (!buf) {
        fclose(fp);
        eg_policy_error_add(errs, 0, 0, "out of memory");
        return -1;
    }
    size_t n = fread(buf, 1, EG_TASKDEF_MAX_BYTES + 1, fp);
    bool failed = ferror(fp);
    int saved = errno;
    fclose(fp);
    int rc = -1;
    if (failed)
        eg_policy_error_add(errs, 0, 0, "cannot read: %s", strerror(saved));
    else
        rc = eg_taskdef_parse(buf, n, out, errs);
    free(buf);
    return rc;
}

static void free_container(struct eg_td_container *c)
{
    free(c->env);
    free(c->cap_add);
    free(c->cap_drop);
    free(c->mounts);
}

void eg_taskdef_file_free(struct eg_taskdef_file *f)
{
    for (size_t i = 0; i < f->ndefs; i++) {
        for (size_t k = 0; k < f->defs[i].ncontainers; k++)
            free_container(&f->defs[i].containers[k]);
        free(f->defs[i].containers);
        free(f->defs[i].volumes);
    }
    free(f->defs);
    eg_yaml_tree_free(f->root);
    memset(f, 0, sizeof(*f));
}
