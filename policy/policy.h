/*
 * Policy: which findings are reported, at what severity, and which behaviour
 * each task may show (allow rules with a reason). Loaded from YAML (libyaml);
 * the shipped default lives in policy/default.yaml and is compiled in.
 */
#ifndef ECSGUARD_POLICY_H
#define ECSGUARD_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;
struct eg_glob;

/*
 * Path patterns the policy hands to the detectors (sensitive files, scratch paths), so that a
 * detector never evaluates the policy itself: policy is evaluated once per finding, with the
 * whole finding in hand (agent/pipeline/emit.c). Valid while the policy is.
 */
struct eg_glob_run {
    const struct eg_glob *globs;
    size_t n;
};
struct eg_path_patterns {
    const struct eg_glob_run *runs;
    size_t nruns;
    bool all; /* every path matches (an allow rule with no condition at all) */
};
bool eg_path_patterns_match(const struct eg_path_patterns *pp, const char *path);

/* What a finding is about; any field may be NULL when it does not apply. */
struct eg_policy_subject {
    const char *finding_type; /* "PrivilegeEscalation:Runtime/SysAdminCapabilityUsed" */
    const char *task_family;
    const char *task_revision; /* "8" */
    const char *container_name;
    const char *image;
    const char *executable_path;
    const char *capability; /* "CAP_SYS_ADMIN" */
    const char *file_path;
    const char *namespace_kind; /* "mnt", "pid", "net", ... */
    const char *target_process; /* executable path of the target process */
    /*
     * "true" when the container belongs to an ECS task (its cgroup path is a task's, or its
     * identity carries a task ARN), "false" when it belongs to none (the ecs-agent container,
     * `docker run`). A container cannot choose either: the runtime places its cgroup and the
     * ECS agent or the runtime's labels name its task. A name or image it can choose.
     */
    const char *ecs_task;
};

struct eg_policy_verdict {
    bool report;           /* false: disabled type or suppressed by an allow rule */
    double severity;       /* after overrides */
    const char *rule_name; /* the allow rule that suppressed it, else NULL; valid while the
                              policy is */
};

struct eg_policy_error {
    unsigned line, column; /* 1-based */
    char message[256];
};

struct eg_policy_errors {
    struct eg_policy_error items[64];
    unsigned count; /* stored */
    unsigned total; /* found (may exceed what is stored) */
};

struct eg_policy;

/* NULL on failure, with every problem in `errs`. */
struct eg_policy *eg_policy_load_file(const char *path, struct eg_policy_errors *errs);
struct eg_policy *eg_policy_load_buffer(const char *name, const char *yaml, size_t len,
                                        struct eg_policy_errors *errs);
/* The built-in default (policy/default.yaml compiled in). Never NULL; a new
 * instance with its own counters, freed with eg_policy_free. */
struct eg_policy *eg_policy_default(void);
void eg_policy_free(struct eg_policy *p);

void eg_policy_evaluate(struct eg_policy *p, const struct eg_policy_subject *subj,
                        double default_severity, struct eg_policy_verdict *out);

/* Watched capabilities as a bit mask (bit n = CAP number n). */
uint64_t eg_policy_watched_caps(const struct eg_policy *p);
/* Sensitive files (for rootfs detectors): NULL-terminated list of patterns. */
const char *const *eg_policy_sensitive_files(const struct eg_policy *p);
/* Whether an absolute path (inside the container) matches one of those patterns. */
bool eg_policy_is_sensitive_file(const struct eg_policy *p, const char *path);
/* The sensitive files as patterns, for the rootfs detector. */
struct eg_path_patterns eg_policy_sensitive_patterns(const struct eg_policy *p);
/*
 * Scratch paths of ContainerRootFilesystemModified: the paths of the allow rules for that type
 * that test nothing but the file path (service scratch directories). The per-container rootfs
 * finding names its first write outside them, so that such a rule cannot suppress the whole
 * finding because the container's first write happened to be a pid file.
 */
struct eg_path_patterns eg_policy_rootfs_scratch_patterns(const struct eg_policy *p);
/* Per-rule suppression counts and a summary, added to `obj`. */
void eg_policy_stats(const struct eg_policy *p, struct json_object *obj);
/* One-line summary, e.g. "12 finding types, 5 allow rules, 3 watched capabilities". */
void eg_policy_summary(const struct eg_policy *p, char *buf, size_t len);

/*
 * `ecsguard policy check FILE`: argv starts at the word after "policy"
 * (argv[0] == "check"). Exit status 0 valid (summary on stdout), 1 invalid
 * (FILE:LINE:COLUMN: message lines on stderr), 2 usage.
 */
int eg_policy_check_main(int argc, char **argv);

#endif
