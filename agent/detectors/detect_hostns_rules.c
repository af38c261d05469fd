/*
 * The host-namespace detector's decisions and names, with no state and no I/O: where a target
 * process is relative to the caller, which finding an action is, and the names findings use for
 * namespace kinds, syscalls and ptrace requests (unit-tested directly, tests/unit/test_hostns.c).
 */
#include "agent/detectors/detect_hostns_internal.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#define CLONE_NEWNS_ 0x00020000u
#define CLONE_NEWCGROUP_ 0x02000000u
#define CLONE_NEWUTS_ 0x04000000u
#define CLONE_NEWIPC_ 0x08000000u
#define CLONE_NEWPID_ 0x20000000u
#define CLONE_NEWNET_ 0x40000000u

enum eg_target_relation eg_hostns_relation(uint64_t caller_cgroup,
                                           const struct eg_container *caller,
                                           uint32_t caller_pid_ns, uint64_t target_cgroup,
                                           const struct eg_container *target,
                                           uint32_t target_pid_ns, uint32_t host_pid_ns)
{
    if (target_cgroup == caller_cgroup || (caller && target && caller == target))
        return EG_REL_SAME_TASK;
    if (!target)
        return EG_REL_HOST;
    if (caller && caller->id.task_id[0] && target->id.task_id[0])
        return strcmp(caller->id.task_id, target->id.task_id) == 0 ? EG_REL_SAME_TASK
                                                                   : EG_REL_OTHER_TASK;
    /* No task id in the layout: only a task's containers share a non-host pid ns. */
    if (caller_pid_ns && caller_pid_ns == target_pid_ns && caller_pid_ns != host_pid_ns)
        return EG_REL_SAME_TASK;
    return EG_REL_OTHER_TASK;
}

enum eg_finding_type eg_hostns_access_type(uint32_t action)
{
    switch (action) {
    case EG_ACT_PTRACE:
        return EG_FT_PTRACE;
    case EG_ACT_VM_WRITE:
        return EG_FT_VM_WRITE;
    case EG_ACT_PROC_MEM:
        return EG_FT_PROC_MEM;
    case EG_ACT_KILL:
    case EG_ACT_TKILL:
    case EG_ACT_PIDFD_SIGNAL:
        return EG_FT_HOST_PROCESS_SIGNALED;
    case EG_ACT_SETNS:
        return EG_FT_HOST_NS_ENTERED;
    default:
        return EG_FT_COUNT;
    }
}

static const struct {
    uint32_t flag;
    const char *name;
} ns_kind_names[] = {
    {CLONE_NEWNS_, "mnt"},  {CLONE_NEWPID_, "pid"}, {CLONE_NEWNET_, "net"},
    {CLONE_NEWUTS_, "uts"}, {CLONE_NEWIPC_, "ipc"}, {CLONE_NEWCGROUP_, "cgroup"},
};
#define NS_KINDS (sizeof(ns_kind_names) / sizeof(ns_kind_names[0]))

int eg_hostns_ns_kinds(uint32_t mask, char *out, size_t outlen)
{
    int n = 0;
    size_t used = 0;
    bool full = outlen == 0;
    if (outlen)
        out[0] = '\0';
    for (size_t i = 0; i < NS_KINDS; i++) {
        if (!(mask & ns_kind_names[i].flag))
            continue;
        n++;
        if (full)
            continue;
        int w =
            snprintf(out + used, outlen - used, "%s%s", n > 1 ? "," : "", ns_kind_names[i].name);
        if (w < 0 || used + (size_t)w >= outlen) {
            out[used] = '\0'; /* whole names only */
            full = true;
            continue;
        }
        used += (size_t)w;
    }
    return n;
}

struct json_object *eg_hostns_ns_kind_array(uint32_t mask)
{
    struct json_object *a = json_object_new_array();
    for (size_t i = 0; i < NS_KINDS; i++)
        if (mask & ns_kind_names[i].flag)
            json_object_array_add(a, json_object_new_string(ns_kind_names[i].name));
    return a;
}

const char *eg_hostns_action_syscall(const struct eg_hostns_event *e)
{
    switch (e->action) {
    case EG_ACT_SETNS:
        return "setns";
    case EG_ACT_PTRACE:
        return "ptrace";
    case EG_ACT_VM_WRITE:
        return "process_vm_writev";
    case EG_ACT_PROC_MEM:
        return "openat";
    case EG_ACT_KILL:
        return "kill";
    case EG_ACT_TKILL:
        return "tgkill";
    case EG_ACT_PIDFD_SIGNAL:
        return "pidfd_send_signal";
    default:
        return "unknown";
    }
}

const char *eg_hostns_ptrace_request_name(uint32_t req)
{
    switch (req) {
    case 4:
        return "PTRACE_POKETEXT";
    case 5:
        return "PTRACE_POKEDATA";
    case 6:
        return "PTRACE_POKEUSER";
    case 13:
        return "PTRACE_SETREGS";
    case 15:
        return "PTRACE_SETFPREGS";
    case 16:
        return "PTRACE_ATTACH";
    case 0x4205:
        return "PTRACE_SETREGSET";
    case 0x4206:
        return "PTRACE_SEIZE";
    default:
        return NULL;
    }
}
