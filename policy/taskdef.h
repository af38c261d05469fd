/*
 * An ECS task definition as the lint (and anything else that reasons about one) sees it:
 * only the settings that decide what a container may do to its host, each with where it
 * was written and whether its value is known. Read from RegisterTaskDefinition or
 * RegisterDaemonTaskDefinition input, `describe-task-definition` output, or the
 * AWS::ECS::TaskDefinition / AWS::ECS::DaemonTaskDefinition resources of a CloudFormation
 * template (JSON or YAML), all through one YAML reader so that every value has a line and
 * column (taskdef_read.c).
 *
 * A CloudFormation value written as an intrinsic function (`!Ref`, `Fn::If`, ...) is
 * UNKNOWN: the template alone does not say what it will be. `!Ref AWS::NoValue` is ABSENT.
 */
#ifndef ECSGUARD_POLICY_TASKDEF_H
#define ECSGUARD_POLICY_TASKDEF_H

#include "policy/policy.h"

#include <stdbool.h>
#include <stddef.h>

struct eg_ynode;

enum eg_td_state { EG_TD_ABSENT, EG_TD_KNOWN, EG_TD_UNKNOWN };

/* One branch of an Fn::If (ABSENT or KNOWN). */
struct eg_td_branch {
    enum eg_td_state state;
    const char *str;
    size_t len;
    bool flag;
};

/* One setting. Strings point into the parsed document (valid while it is). */
struct eg_td_value {
    enum eg_td_state state;
    unsigned line, column; /* of the key; 0 when absent */
    const char *str;       /* KNOWN strings */
    size_t len;
    bool flag;          /* KNOWN booleans */
    char intrinsic[24]; /* UNKNOWN: the function ("Ref", "Fn::If", ...) */
    /* UNKNOWN from an Fn::If whose two branches are literal scalars or absent (null,
     * !Ref AWS::NoValue): what each branch makes the setting, so a control both branches
     * agree on is decided anyway. 0 otherwise. */
    unsigned nbranches;
    struct eg_td_branch branches[2];
};

struct eg_td_env {
    struct eg_td_value name;
};

struct eg_td_mount {
    struct eg_td_value source_volume, container_path, read_only;
};

struct eg_td_container {
    unsigned line, column; /* the definition itself */
    bool unknown;          /* the whole definition is an intrinsic */
    struct eg_td_value name, privileged, user, readonly_root, init_process;
    /* environment: the list itself (UNKNOWN when it is an intrinsic) and its names */
    struct eg_td_value environment;
    struct eg_td_env *env;
    size_t nenv;
    /* logConfiguration (a mapping; its own state) and its logDriver */
    struct eg_td_value log_configuration, log_driver;
    /* linuxParameters.capabilities: the mapping, then add and drop lists */
    struct eg_td_value linux_parameters, capabilities, cap_add_list, cap_drop_list;
    struct eg_td_value *cap_add, *cap_drop;
    size_t ncap_add, ncap_drop;
    struct eg_td_value mount_points;
    struct eg_td_mount *mounts;
    size_t nmounts;
};

struct eg_td_volume {
    unsigned line, column;
    bool unknown;
    struct eg_td_value name, host_source_path;
};

enum eg_td_kind { EG_TD_TASK, EG_TD_DAEMON };
enum eg_td_format {
    EG_TD_FORMAT_REGISTER, /* RegisterTaskDefinition / RegisterDaemonTaskDefinition input */
    EG_TD_FORMAT_DESCRIBE, /* describe-task-definition output: {"taskDefinition": {...}} */
    EG_TD_FORMAT_CLOUDFORMATION,
};

struct eg_taskdef {
    enum eg_td_kind kind;
    enum eg_td_format format;
    unsigned line, column; /* the definition (a template's resource: its logical id) */
    const char *resource;  /* CloudFormation logical id, else NULL */
    /* The family allow lists match: the family, or a template resource's logical id when
     * its Family is not a literal (CloudFormation then generates one). */
    const char *family;
    struct eg_td_value family_value, revision, network_mode, pid_mode, ipc_mode;
    struct eg_td_value container_definitions; /* UNKNOWN: an intrinsic list */
    struct eg_td_container *containers;
    size_t ncontainers;
    struct eg_td_value volumes_value;
    struct eg_td_volume *volumes;
    size_t nvolumes;
};

/* Every task definition of one file, and the document they point into. */
struct eg_taskdef_file {
    struct eg_ynode *root;
    struct eg_taskdef *defs;
    size_t ndefs;
    enum eg_td_format format;
};

#define EG_TASKDEF_MAX_BYTES (4u << 20) /* CloudFormation's own template limit is 1 MB */

/*
 * Parse one file's bytes (`errs` is reset first). 0 with `out` filled (possibly no definitions: a
 * template without ECS task definitions), or -1 with every problem in `errs` (syntax, duplicate
 * keys, wrong types of the settings read, a document that is none of the formats).
 */
int eg_taskdef_parse(const char *text, size_t len, struct eg_taskdef_file *out,
                     struct eg_policy_errors *errs);
/* Read at most EG_TASKDEF_MAX_BYTES from `path` and parse them. */
int eg_taskdef_load_file(const char *path, struct eg_taskdef_file *out,
                         struct eg_policy_errors *errs);
void eg_taskdef_file_free(struct eg_taskdef_file *f);

const char *eg_td_format_name(enum eg_td_format f);
/* The value's text for messages: printable ASCII, at most 64 bytes, "" when not KNOWN. */
void eg_td_value_quote(const struct eg_td_value *v, char *buf, size_t len);
bool eg_td_value_is(const struct eg_td_value *v, const char *s);
/* Any text from a file, for output: printable ASCII only, at most `max` bytes shown. */
void eg_td_quote(char *dst, size_t dstlen, const char *s, size_t len, size_t max);

#endif
