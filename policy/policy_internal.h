/*
 * The loaded policy as the matcher sees it, shared by the loader
 * (policy_load.c), the matcher (policy_match.c) and the reports
 * (policy_report.c). Everything is compiled at load time so that evaluating a
 * finding never allocates.
 */
#ifndef ECSGUARD_POLICY_INTERNAL_H
#define ECSGUARD_POLICY_INTERNAL_H

#include "policy/finding_types.h"
#include "policy/glob.h"
#include "policy/policy.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Subject fields an allow rule can test; the YAML key is the subject field's name. */
enum eg_cond_field {
    EG_COND_TASK_FAMILY,
    EG_COND_TASK_REVISION,
    EG_COND_CONTAINER_NAME,
    EG_COND_IMAGE,
    EG_COND_EXECUTABLE_PATH,
    EG_COND_CAPABILITY,
    EG_COND_FILE_PATH,
    EG_COND_NAMESPACE_KIND,
    EG_COND_TARGET_PROCESS,
    EG_COND_ECS_TASK, /* "true" / "false": whether the container belongs to an ECS task */
    EG_COND_COUNT
};

/* Namespace kinds as the kernel names them in /proc/<pid>/ns. */
enum eg_ns_kind {
    EG_NS_MNT,
    EG_NS_PID,
    EG_NS_NET,
    EG_NS_IPC,
    EG_NS_UTS,
    EG_NS_USER,
    EG_NS_CGROUP,
    EG_NS_TIME,
    EG_NS_COUNT
};
extern const char *const eg_ns_kind_names[EG_NS_COUNT];
/* Index into eg_ns_kind_names, or -1. */
int eg_ns_kind_by_name(const char *name);

/* ecs_task condition bits. */
#define EG_ECS_TASK_NO (UINT64_C(1) << 0)
#define EG_ECS_TASK_YES (UINT64_C(1) << 1)

/* One condition of a rule: the subject's field must match any one alternative. */
struct eg_policy_cond {
    enum eg_cond_field field;
    uint64_t mask;            /* capability numbers, enum eg_ns_kind bits, or ecs_task's
                                 EG_ECS_TASK_NO / _YES bits */
    unsigned long *revisions; /* task_revision */
    struct eg_glob *globs;    /* every other field */
    size_t count, cap;        /* revisions or globs: used, allocated */
};

struct eg_policy_rule {
    char *name;
    char *reason;
    unsigned line, column;
    /* Bit t set: the rule applies to finding type t. Rules that list no type
     * apply to every type, including ones this build does not know. */
    uint32_t types;
    bool all_types;
    struct eg_policy_cond conds[EG_COND_COUNT]; /* the first ncond are in use */
    unsigned ncond;
    _Atomic uint64_t suppressed;
};

struct eg_policy_type {
    bool configured; /* named in the file's findings section */
    bool enabled;
    bool has_severity;
    double severity;
};

struct eg_policy {
    char *source; /* file name, or "built-in" */
    struct eg_policy_type types[EG_FT_COUNT];
    struct eg_policy_rule *rules;
    size_t nrules;
    uint64_t watched_caps;
    char **sensitive; /* NULL-terminated, as eg_policy_sensitive_files returns */
    struct eg_glob *sensitive_globs;
    size_t nsensitive, sensitive_cap;
    /* eg_policy_rootfs_scratch_patterns: file-path-only allow rules of RootfsModified. */
    struct eg_glob_run *rootfs_scratch;
    size_t nrootfs_scratch;
    bool rootfs_scratch_all;
    struct eg_glob_run sensitive_run; /* sensitive_globs as one run */
};

/* Index the patterns handed to detectors (sensitive files, rootfs scratch paths) once the
 * policy is loaded. 0, or -1 out of memory. */
int eg_policy_index_patterns(struct eg_policy *p);

/* Field names as written in the YAML, indexed by enum eg_cond_field. */
extern const char *const eg_cond_field_names[EG_COND_COUNT];

/* Built-in defaults used when a file leaves a section out. */
extern const char *const eg_policy_default_sensitive_files[];
uint64_t eg_policy_default_watched_caps(void);
/* policy/default.yaml, embedded at build time (policy_default_yaml.c, generated). */
extern const unsigned char eg_policy_default_yaml[];
extern const size_t eg_policy_default_yaml_len;

/* Record a problem at a 1-based line and column (line 0: not about a place in the file). */
void eg_policy_error_add(struct eg_policy_errors *errs, unsigned line, unsigned column,
                         const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Copy user text into a message safely: printable ASCII only, at most `max` bytes shown. */
void eg_policy_quote(char *dst, size_t dstlen, const char *s, size_t len, size_t max);

#endif
