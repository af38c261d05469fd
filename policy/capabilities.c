#include "policy/capabilities.h"

#include <strings.h>

static const char *const names[EG_CAP_LAST + 1] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

const char *eg_capability_name(int cap)
{
    if (cap < 0 || cap > EG_CAP_LAST)
        return NULL;
    return names[cap];
}

int eg_capability_by_name(const char *name, size_t len)
{
    if (!name)
        return -1;
    /* The "CAP_" prefix is optional, as in capsh and docker's --cap-add. */
    if (len >= 4 && strncasecmp(name, "CAP_", 4) == 0) {
        name += 4;
        len -= 4;
    }
    for (int i = 0; i <= EG_CAP_LAST; i++) {
        const char *bare = names[i] + 4;
        size_t n = 0;
        while (bare[n])
            n++;
        if (n == len && strncasecmp(bare, name, len) == 0)
            return i;
    }
    return -1;
}
