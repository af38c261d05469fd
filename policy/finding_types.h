/*
 * Every finding type ecsguard can emit, with its default severity, title and
 * description. GuardDuty's own names where the behaviour matches; new ones in
 * the same Tactic:Runtime/Name form (docs/findings.md).
 */
#ifndef ECSGUARD_FINDING_TYPES_H
#define ECSGUARD_FINDING_TYPES_H

#include <stddef.h>

enum eg_finding_type {
    EG_FT_SYS_ADMIN_CAP_USED = 0,
    EG_FT_NET_ADMIN_CAP_USED,
    EG_FT_BPF_CAP_USED,
    EG_FT_OTHER_CAP_USED,
    EG_FT_NAMESPACED_CAP_USED,
    EG_FT_CAP_DENIED,
    EG_FT_HOST_PID_NS,
    EG_FT_HOST_NS_ENTERED,
    EG_FT_PTRACE,
    EG_FT_VM_WRITE,
    EG_FT_PROC_MEM,
    EG_FT_HOST_PROCESS_SIGNALED,
    EG_FT_ROOTFS_MODIFIED,
    EG_FT_NEW_BINARY,
    EG_FT_NEW_LIBRARY,
    EG_FT_SENSITIVE_FILE,
    EG_FT_CGROUP_ESCAPED,
    EG_FT_FILELESS_EXEC,
    EG_FT_ELEVATION_TO_ROOT,
    EG_FT_RUNC_ESCAPE,
    EG_FT_RELEASE_AGENT_MODIFIED,
    EG_FT_HOST_FILE_MODIFIED,
    EG_FT_USERFAULTFD,
    EG_FT_DOCKER_SOCKET,
    EG_FT_KERNEL_MODULE_LOADED,
    EG_FT_MOUNTS_HOST_DIRECTORY,
    EG_FT_COMPAT_SYSCALL,
    EG_FT_COUNT
};

struct eg_finding_type_info {
    enum eg_finding_type id;
    const char *name; /* "PrivilegeEscalation:Runtime/SysAdminCapabilityUsed" */
    double severity;  /* default */
    const char *title;
    const char *description;
};

const struct eg_finding_type_info *eg_finding_type_info(enum eg_finding_type t);
/* Lookup by name; NULL when unknown. */
const struct eg_finding_type_info *eg_finding_type_by_name(const char *name);
/* "Low", "Medium", "High", "Critical" (GuardDuty bands). */
const char *eg_severity_label(double severity);

#endif
