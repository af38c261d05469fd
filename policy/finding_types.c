#include "policy/finding_types.h"

#include <string.h>

static const struct eg_finding_type_info types[EG_FT_COUNT] = {
    {EG_FT_SYS_ADMIN_CAP_USED, "PrivilegeEscalation:Runtime/SysAdminCapabilityUsed", 5.0,
     "A container used CAP_SYS_ADMIN.",
     "A process in an ECS task container used the CAP_SYS_ADMIN capability, which allows "
     "mounting file systems, entering namespaces and many other host-level operations."},
    {EG_FT_NET_ADMIN_CAP_USED, "PrivilegeEscalation:Runtime/NetAdminCapabilityUsed", 5.0,
     "A container used CAP_NET_ADMIN.",
     "A process in an ECS task container used the CAP_NET_ADMIN capability to change network "
     "configuration."},
    {EG_FT_BPF_CAP_USED, "PrivilegeEscalation:Runtime/BpfCapabilityUsed", 7.0,
     "A container used CAP_BPF.",
     "A process in an ECS task container used the CAP_BPF capability, which allows loading "
     "programs into the kernel."},
    {EG_FT_OTHER_CAP_USED, "PrivilegeEscalation:Runtime/CapabilityUsed", 4.0,
     "A container used a watched capability.",
     "A process in an ECS task container used a capability that the policy watches."},
    {EG_FT_NAMESPACED_CAP_USED, "PrivilegeEscalation:Runtime/NamespacedCapabilityUsed", 3.0,
     "A container used a capability inside a user namespace.",
     "A process in an ECS task container used a watched capability that was checked against a "
     "user namespace other than the host's (one created inside the container, or the "
     "container's own): it gives power over that namespace's resources only, not the host's."},
    {EG_FT_CAP_DENIED, "Discovery:Runtime/CapabilityDenied", 2.0,
     "A container was denied a watched capability.",
     "A process in an ECS task container attempted an operation that needs a watched "
     "capability and was refused."},
    {EG_FT_HOST_PID_NS, "PrivilegeEscalation:Runtime/ContainerSharesHostPidNamespace", 5.0,
     "A container shares the host PID namespace.",
     "A process in an ECS task container runs in the host's PID namespace and can see and "
     "signal every process on the host."},
    {EG_FT_HOST_NS_ENTERED, "PrivilegeEscalation:Runtime/HostNamespaceEntered", 7.5,
     "A container entered a host namespace.",
     "A process in an ECS task container joined a namespace of the host with setns."},
    {EG_FT_PTRACE, "DefenseEvasion:Runtime/ProcessInjection.Ptrace", 5.0,
     "A container traced a process outside its task.",
     "A process in an ECS task container used ptrace on a process outside its task."},
    {EG_FT_VM_WRITE, "DefenseEvasion:Runtime/ProcessInjection.VirtualMemoryWrite", 8.0,
     "A container wrote another process's memory.",
     "A process in an ECS task container wrote into the memory of a process outside its task."},
    {EG_FT_PROC_MEM, "DefenseEvasion:Runtime/ProcessInjection.Proc", 8.0,
     "A container opened another process's memory for writing.",
     "A process in an ECS task container opened /proc/<pid>/mem of a process outside its task "
     "for writing."},
    {EG_FT_HOST_PROCESS_SIGNALED, "Impact:Runtime/HostProcessSignaled", 5.0,
     "A container signaled a process outside its task.",
     "A process in an ECS task container sent a signal to a process outside its task."},
    {EG_FT_ROOTFS_MODIFIED, "Persistence:Runtime/ContainerRootFilesystemModified", 2.0,
     "A container modified its root filesystem.",
     "Processes in an ECS task container wrote to the container's root filesystem."},
    {EG_FT_NEW_BINARY, "Execution:Runtime/NewBinaryExecuted", 5.0,
     "A container executed a binary created after it started.",
     "A process in an ECS task container executed a file that was created or modified in the "
     "container's root filesystem after the container started."},
    {EG_FT_NEW_LIBRARY, "Execution:Runtime/NewLibraryLoaded", 5.0,
     "A container loaded a library created after it started.",
     "A process in an ECS task container mapped as executable a file that was created or "
     "modified in the container's root filesystem after the container started."},
    {EG_FT_SENSITIVE_FILE, "Persistence:Runtime/SensitiveFileModified", 5.0,
     "A container modified a sensitive file.",
     "A process in an ECS task container modified an account, privilege or persistence file "
     "in its root filesystem."},
    {EG_FT_CGROUP_ESCAPED, "DefenseEvasion:Runtime/ContainerCgroupEscaped", 8.0,
     "A container process left its task container's cgroup.",
     "A process that started in an ECS task container was moved out of the container's "
     "control group, into the host's or another task's, which hides it from cgroup-based "
     "monitoring and resource limits. It stays attributed to its container."},
    {EG_FT_FILELESS_EXEC, "DefenseEvasion:Runtime/FilelessExecution", 5.0,
     "A container executed a file that has no name.",
     "A process in an ECS task container executed a file with no link in any directory: a "
     "memfd (code held only in memory) or a deleted or never-linked file, which leaves nothing "
     "on disk to scan."},
    {EG_FT_ELEVATION_TO_ROOT, "PrivilegeEscalation:Runtime/ElevationToRoot", 5.0,
     "A container process became root.",
     "A process in an ECS task container running as a non-root user executed a set-user-id "
     "file and now runs with effective user id 0."},
    {EG_FT_RUNC_ESCAPE, "PrivilegeEscalation:Runtime/RuncContainerEscape", 8.0,
     "A container escape attempt through the container runtime was detected.",
     "A process in an ECS task container executed a program from a working directory on a "
     "mount of another mount namespace (a directory of the host reached through a leaked "
     "descriptor, as in CVE-2024-21626), which gives it the host's file system."},
    {EG_FT_RELEASE_AGENT_MODIFIED, "PrivilegeEscalation:Runtime/CGroupsReleaseAgentModified", 8.0,
     "A container escape attempt through a cgroup release agent was detected.",
     "A process in an ECS task container opened the release_agent file of a cgroup v1 "
     "hierarchy for writing. The kernel runs the program named there as root on the host when "
     "a cgroup of that hierarchy empties."},
    {EG_FT_HOST_FILE_MODIFIED, "PrivilegeEscalation:Runtime/HostFileModified", 7.5,
     "A container modified a file outside its mount namespace.",
     "A process in an ECS task container opened for writing a file on a mount of another mount "
     "namespace, such as the host's file system reached through /proc/<pid>/root of a host "
     "process or a leaked host descriptor."},
    {EG_FT_USERFAULTFD, "PrivilegeEscalation:Runtime/UserfaultfdUsage", 5.0,
     "A container process used userfaultfd.",
     "A process in an ECS task container made a userfaultfd object (the userfaultfd system call "
     "or /dev/userfaultfd), which lets it handle page faults in user space: a common way to "
     "widen the race windows of kernel exploits."},
    {EG_FT_DOCKER_SOCKET, "PrivilegeEscalation:Runtime/DockerSocketAccessed", 5.0,
     "A container connected to the host's container runtime socket.",
     "A process in an ECS task container connected to a container runtime's API socket that a "
     "host process listens on (Docker's docker.sock, containerd's containerd.sock...), reached "
     "through a bind mount. Whoever talks to that API can start a privileged container on the "
     "host."},
    {EG_FT_KERNEL_MODULE_LOADED, "DefenseEvasion:Runtime/KernelModuleLoaded", 8.0,
     "A container loaded a kernel module.",
     "A process in an ECS task container loaded a kernel module (init_module or finit_module): "
     "code that runs in the host's kernel, outside every container boundary."},
    {EG_FT_MOUNTS_HOST_DIRECTORY, "PrivilegeEscalation:Runtime/ContainerMountsHostDirectory", 5.0,
     "A container mounted a block device's file system.",
     "A process in an ECS task container mounted a file system that lives on a block device, "
     "such as the host's own disk, which gives it the host's files outside its root file "
     "system and volumes."},
    {EG_FT_COMPAT_SYSCALL, "DefenseEvasion:Runtime/CompatSyscallUsed", 7.0,
     "A container made a 32-bit syscall that ecsguard's other hooks do not see.",
     "A process in an ECS task container made a 32-bit compat syscall (int 0x80, or a 32-bit "
     "binary) that writes files or acts on other processes' namespaces, memory or signals: the "
     "native form of the same call is decoded by ecsguard's root filesystem or host-namespace "
     "hooks, which the 32-bit entry goes around. The call is reported whether it then succeeded "
     "or not."},
};

const struct eg_finding_type_info *eg_finding_type_info(enum eg_finding_type t)
{
    if ((unsigned)t >= EG_FT_COUNT)
        return NULL;
    return &types[t];
}

const struct eg_finding_type_info *eg_finding_type_by_name(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < EG_FT_COUNT; i++)
        if (strcmp(types[i].name, name) == 0)
            return &types[i];
    return NULL;
}

const char *eg_severity_label(double severity)
{
    if (severity >= 9.0)
        return "Critical";
    if (severity >= 7.0)
        return "High";
    if (severity >= 4.0)
        return "Medium";
    return "Low";
}
