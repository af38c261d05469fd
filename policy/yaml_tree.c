#include "policy/yaml_tree.h"
#include "policy/policy_internal.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct builder {
    struct eg_ynode *stack[EG_YAML_MAX_DEPTH];
    unsigned depth;
    struct eg_ynode *root;
    size_t nodes;
    unsigned documents;
    unsigned flags;
    struct eg_policy_errors *errs;
};

const char *eg_ynode_kind(const struct eg_ynode *n)
{
    if (!n)
        return "nothing";
    switch (n->type) {
    case EG_YNODE_SCALAR:
        return n->len == 0 && n->plain ? "an empty value" : "a string";
    case EG_YNODE_SEQUENCE:
        return "a sequence";
    case EG_YNODE_MAPPING:
        return "a mapping";
    }
    return "a value";
}

void eg_yaml_tree_free(struct eg_ynode *n)
{
    if (!n)
        return;
    /* Depth is bounded by EG_YAML_MAX_DEPTH, so recursion is too. */
    for (size_t i = 0; i < n->count; i++)
        eg_yaml_tree_free(n->items[i]);
    free(n->items);
    free(n->value);
    free(n->tag);
    free(n);
}

static bool append(struct eg_ynode *parent, struct eg_ynode *child)
{
    if (parent->count == parent->cap) {
        size_t cap = parent->cap ? parent->cap * 2 : 8;
        struct eg_ynode **items = realloc(parent->items, cap * sizeof(*items));
        if (!items)
            return false;
        parent->items = items;
        parent->cap = cap;
    }
    parent->items[parent->count++] = child;
    return true;
}

/* Attach a new node under the innermost open collection (or as the root). */
static struct eg_ynode *add_node(struct builder *b, enum eg_ynode_type type, yaml_mark_t mark)
{
    if (b->nodes >= EG_YAML_MAX_NODES) {
        eg_policy_error_add(b->errs, (unsigned)mark.line + 1, (unsigned)mark.column + 1,
                            "too many values (the limit is %d)", EG_YAML_MAX_NODES);
        return NULL;
    }
    struct eg_ynode *n = calloc(1, sizeof(*n));
    if (!n) {
        eg_policy_error_add(b->errs, (unsigned)mark.line + 1, (unsigned)mark.column + 1,
                            "out of memory");
        return NULL;
    }
    n->type = type;
    n->line = (unsigned)mark.line + 1;
    n->column = (unsigned)mark.column + 1;
    if (b->depth == 0) {
        b->root = n;
    } else if (!append(b->stack[b->depth - 1], n)) {
        eg_policy_error_add(b->errs, n->line, n->column, "out of memory");
        free(n);
        return NULL;
    }
    b->nodes++;
    return n;
}

/* Reader errors carry a byte offset, not a line: count it out of the input. */
static void offset_to_position(const char *text, size_t len, size_t offset, unsigned *line,
                               unsigned *column)
{
    *line = 1;
    *column = 1;
    for (size_t i = 0; i < offset && i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\n') {
            (*line)++;
            *column = 1;
        } else if ((c & 0xc0) != 0x80) {
            (*column)++;
        }
    }
}

static void syntax_error(const yaml_parser_t *parser, const char *text, size_t len,
                         struct eg_policy_errors *errs)
{
    unsigned line, column;
    const char *problem = parser->problem ? parser->problem : "malformed YAML";

    switch (parser->error) {
    case YAML_MEMORY_ERROR:
        eg_policy_error_add(errs, 1, 1, "out of memory while parsing");
        return;
    case YAML_READER_ERROR:
        offset_to_position(text, len, parser->problem_offset, &line, &column);
        eg_policy_error_add(errs, line, column, "invalid input: %s", problem);
        return;
    default:
        line = (unsigned)parser->problem_mark.line + 1;
        column = (unsigned)parser->problem_mark.column + 1;
        if (parser->context)
            eg_policy_error_add(errs, line, column, "syntax error: %s (%s at line %u, column %u)",
                                problem, parser->context, (unsigned)parser->context_mark.line + 1,
                                (unsigned)parser->context_mark.column + 1);
        else
            eg_policy_error_add(errs, line, column, "syntax error: %s", problem);
        return;
    }
}

#define EG_YAML_CORE_TAG "tag:yaml.org,2002:"

/*
 * A node's tag. Without EG_YAML_TAGS every tag is refused. With it, a local tag
 * (`!Ref`) is kept without its '!' for the caller to interpret, `!!str` and the
 * non-specific `!` make a scalar a string, and the other core tags are dropped.
 * Returns false (error recorded) to stop.
 */
static bool take_tag(struct builder *b, struct eg_ynode *n, const yaml_char_t *tag)
{
    if (!tag)
        return true;
    if (!(b->flags & EG_YAML_TAGS)) {
        eg_policy_error_add(b->errs, n->line, n->column, "tags are not supported");
        return false;
    }
    const char *t = (const char *)tag;
    if (strncmp(t, EG_YAML_CORE_TAG, strlen(EG_YAML_CORE_TAG)) == 0) {
        if (strcmp(t + strlen(EG_YAML_CORE_TAG), "str") == 0)
            n->plain = false;
        return true;
    }
    if (t[0] != '!' || t[1] == '\0') {
        n->plain = false;
        return true;
    }
    size_t len = strnlen(t + 1, 256);
    if (len >= 256) {
        eg_policy_error_add(b->errs, n->line, n->column, "a tag longer than 255 bytes");
        return false;
    }
    n->tag = malloc(len + 1);
    if (!n->tag) {
        eg_policy_error_add(b->errs, n->line, n->column, "out of memory");
        return false;
    }
    memcpy(n->tag, t + 1, len + 1);
    return true;
}

static int compare_keys(const void *a, const void *b)
{
    const struct eg_ynode *x = *(const struct eg_ynode *const *)a;
    const struct eg_ynode *y = *(const struct eg_ynode *const *)b;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    int c = memcmp(x->value, y->value, x->len);
    if (c)
        return c;
    /* Equal keys in file order, so the later one is reported. */
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return x->column < y->column ? -1 : (x->column > y->column);
}

/* Sorting the keys keeps a hostile mapping of 50,000 keys from costing n^2 compares. */
static bool check_unique_keys(struct builder *b, const struct eg_ynode *m)
{
    size_t nkeys = m->count / 2;
    if (nkeys < 2)
        return true;
    const struct eg_ynode **keys = malloc(nkeys * sizeof(*keys));
    if (!keys) {
        eg_policy_error_add(b->errs, m->line, m->column, "out of memory");
        return false;
    }
    size_t n = 0;
    for (size_t i = 0; i < nkeys; i++)
        if (m->items[2 * i]->type == EG_YNODE_SCALAR && !m->items[2 * i]->tag)
            keys[n++] = m->items[2 * i];
    qsort(keys, n, sizeof(*keys), compare_keys);
    bool ok = true;
    for (size_t i = 1; i < n && ok; i++) {
        if (keys[i]->len == keys[i - 1]->len &&
            memcmp(keys[i]->value, keys[i - 1]->value, keys[i]->len) == 0) {
            char q[72];
            eg_policy_quote(q, sizeof(q), keys[i]->value, keys[i]->len, 64);
            eg_policy_error_add(b->errs, keys[i]->line, keys[i]->column,
                                "key '%s' repeats the one at line %u, column %u; a reader may take "
                                "either, so the file is ambiguous",
                                q, keys[i - 1]->line, keys[i - 1]->column);
            ok = false;
        }
    }
    free(keys);
    return ok;
}

/* Returns false to stop (an error was recorded). */
static bool handle_event(struct builder *b, const yaml_event_t *ev)
{
    yaml_mark_t mark = ev->start_mark;
    unsigned line = (unsigned)mark.line + 1, column = (unsigned)mark.column + 1;
    struct eg_ynode *n;

    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++b->documents > 1) {
            eg_policy_error_add(b->errs, line, column,
                                "a second YAML document; a policy is a single document");
            return false;
        }
        return true;
    case YAML_ALIAS_EVENT: {
        const char *anchor = (const char *)ev->data.alias.anchor;
        char quoted[48];
        eg_policy_quote(quoted, sizeof(quoted), anchor ? anchor : "", anchor ? strlen(anchor) : 0,
                        32);
        eg_policy_error_add(b->errs, line, column,
                            "aliases (*%s) are not supported; write the value out", quoted);
        return false;
    }
    case YAML_SCALAR_EVENT:
        n = add_node(b, EG_YNODE_SCALAR, mark);
        if (!n)
            return false;
        n->value = malloc(ev->data.scalar.length + 1);
        if (!n->value) {
            eg_policy_error_add(b->errs, line, column, "out of memory");
            return false;
        }
        memcpy(n->value, ev->data.scalar.value, ev->data.scalar.length);
        n->value[ev->data.scalar.length] = '\0';
        n->len = ev->data.scalar.length;
        n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        return take_tag(b, n, ev->data.scalar.tag);
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        const yaml_char_t *tag = ev->type == YAML_SEQUENCE_START_EVENT ? ev->data.sequence_start.tag
                                                                       : ev->data.mapping_start.tag;
        if (tag && !(b->flags & EG_YAML_TAGS)) {
            eg_policy_error_add(b->errs, line, column, "tags are not supported");
            return false;
        }
        if (b->depth >= EG_YAML_MAX_DEPTH) {
            eg_policy_error_add(b->errs, line, column, "nested deeper than %d levels",
                                EG_YAML_MAX_DEPTH);
            return false;
        }
        n = add_node(
            b, ev->type == YAML_SEQUENCE_START_EVENT ? EG_YNODE_SEQUENCE : EG_YNODE_MAPPING, mark);
        if (!n || !take_tag(b, n, tag))
            return false;
        b->stack[b->depth++] = n;
        return true;
    }
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        if (b->depth == 0)
            return true;
        n = b->stack[--b->depth];
        if (ev->type == YAML_MAPPING_END_EVENT && (b->flags & EG_YAML_UNIQUE_KEYS))
            return check_unique_keys(b, n);
        return true;
    default:
        return true;
    }
}

struct eg_ynode *eg_yaml_tree_parse(const char *text, size_t len, struct eg_policy_errors *errs,
                                    bool *ok)
{
    return eg_yaml_tree_parse_flags(text, len, 0, errs, ok);
}

struct eg_ynode *eg_yaml_tree_parse_flags(const char *text, size_t len, unsigned flags,
                                          struct eg_policy_errors *errs, bool *ok)
{
    yaml_parser_t parser;
    struct builder b = {.errs = errs, .flags = flags};
    bool done = false, failed = false;

    *ok = false;
    if (!yaml_parser_initialize(&parser)) {
        eg_policy_error_add(errs, 1, 1, "out of memory while parsing");
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    while (!done && !failed) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            syntax_error(&parser, text, len, errs);
            failed = true;
            break;
        }
        if (ev.type == YAML_STREAM_END_EVENT)
            done = true;
        else if (!handle_event(&b, &ev))
            failed = true;
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    if (failed) {
        eg_yaml_tree_free(b.root);
        return NULL;
    }
    *ok = true;
    return b.root;
}
