/*
 * The task-definition controls: Security Hub's task-definition controls with their AWS
 * Config rules' pass/fail semantics (ECS.1, 3, 4, 5, 8, 9), and the settings the agent's
 * findings point at that no control covers (EG.*). eg_lint_taskdef takes one parsed
 * definition (taskdef.h) and returns its results; reading files and printing are elsewhere
 * (taskdef_read.c, agent/commands/lint_cmd.c), so other commands can reuse the verdicts.
 * Semantics of each control, and of values the file does not make known: docs/posture.md.
 */
#ifndef ECSGUARD_POLICY_TASKDEF_LINT_H
#define ECSGUARD_POLICY_TASKDEF_LINT_H

#include "policy/taskdef.h"

enum eg_lint_control {
    EG_LINT_ECS1,      /* host network, not privileged, root user */
    EG_LINT_ECS3,      /* pidMode host (a daemon's shared) */
    EG_LINT_ECS4,      /* privileged */
    EG_LINT_ECS5,      /* root filesystem not read-only */
    EG_LINT_ECS8,      /* credentials in environment variables */
    EG_LINT_ECS9,      /* no log configuration */
    EG_LINT_CAP_ADD,   /* linuxParameters.capabilities.add */
    EG_LINT_CAP_DROP,  /* no drop ALL */
    EG_LINT_USER,      /* root or unset user */
    EG_LINT_IPC_HOST,  /* ipcMode host (a daemon's shared) */
    EG_LINT_HOST_PATH, /* a sensitive host path as a volume */
    EG_LINT_INIT,      /* initProcessEnabled not true */
    EG_LINT_CONTROL_COUNT
};

enum eg_lint_severity { EG_LINT_LOW, EG_LINT_MEDIUM, EG_LINT_HIGH };

/* How one control came out for one definition (the worst over its containers). */
enum eg_lint_verdict {
    EG_LINT_NOT_APPLICABLE, /* e.g. ECS.1 without host networking, CAP_* on a privileged container
                             */
    EG_LINT_PASS,
    EG_LINT_UNKNOWN, /* decided by a value the file does not make known (an intrinsic) */
    EG_LINT_FAIL,
};

struct eg_lint_control_info {
    const char *id; /* "ECS.4", "EG.CAP_ADD" */
    const char *title;
    const char *config_rule; /* the AWS Config rule, or NULL for EG.* */
    enum eg_lint_severity severity;
};
extern const struct eg_lint_control_info eg_lint_controls[EG_LINT_CONTROL_COUNT];
/* The control with this id (case-insensitive), or -1. */
int eg_lint_control_by_id(const char *id);
const char *eg_lint_severity_name(enum eg_lint_severity s);
const char *eg_lint_verdict_name(enum eg_lint_verdict v);

/* One failing or undecided setting. */
struct eg_lint_result {
    enum eg_lint_control control;
    enum eg_lint_verdict verdict; /* FAIL or UNKNOWN */
    enum eg_lint_severity severity;
    unsigned line, column; /* the offending key, else the definition holding it */
    int container;         /* index into the definition's containers, -1 for the task */
    char subject[72];      /* what it is about: capability, variable, host path (may be "") */
    char message[320];
    /* Set by eg_lint_apply_allow: the entry that allows it (index), else -1. */
    int allowed_by;
};

struct eg_lint_report {
    struct eg_lint_result *results;
    size_t count, cap;
    enum eg_lint_verdict verdicts[EG_LINT_CONTROL_COUNT];
};

/* 0, or -1 out of memory. The report is reset first; free it with eg_lint_report_free. */
int eg_lint_taskdef(const struct eg_taskdef *td, struct eg_lint_report *out);
void eg_lint_report_free(struct eg_lint_report *r);

/*
 * Whether a container `user` value runs as root: unset, empty, "root" or uid 0, in each of
 * the forms ECS accepts (user, uid, user:group, uid:gid; "0" and "00" alike). A named user
 * other than root passes: the image's /etc/passwd is not in the task definition.
 */
bool eg_lint_user_is_root(const char *user, size_t len);
/* Whether a host path is, holds or lies under one the lint treats as sensitive. */
bool eg_lint_host_path_sensitive(const char *path, size_t len);

/* --allow FILE: deliberate exceptions, each for one family and control, with a reason. */
struct eg_lint_allow_entry {
    char *family; /* exact family (a template resource without a literal Family: its logical id) */
    char *container; /* NULL: every container and the task itself */
    enum eg_lint_control control;
    char *reason;
    unsigned line, column;
    unsigned matched;   /* results it allowed */
    bool family_linted; /* a definition of this family was linted */
};
struct eg_lint_allow {
    struct eg_lint_allow_entry *entries;
    size_t count;
};
/* NULL on failure with every problem in `errs`. */
struct eg_lint_allow *eg_lint_allow_load_file(const char *path, struct eg_policy_errors *errs);
struct eg_lint_allow *eg_lint_allow_load_buffer(const char *yaml, size_t len,
                                                struct eg_policy_errors *errs);
void eg_lint_allow_free(struct eg_lint_allow *a);
/* Mark the results an entry allows (allowed_by) and count the entries' use. */
void eg_lint_apply_allow(struct eg_lint_allow *a, const struct eg_taskdef *td,
                         struct eg_lint_report *r);

#endif
