#include "agent/detectors/syscall_names.h"

#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EG_SYSCALL_CACHE 1024

/* Resolved once per number; libseccomp allocates, so never on every event. */
static char *cache[EG_SYSCALL_CACHE];
static char unknown[EG_SYSCALL_CACHE][24];

const char *eg_syscall_name(int nr)
{
    if (nr < 0)
        return "none";
    if (nr >= EG_SYSCALL_CACHE) {
        static char big[32];
        snprintf(big, sizeof(big), "syscall_%d", nr);
        return big;
    }
    if (cache[nr])
        return cache[nr];
    char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
    if (name) {
        cache[nr] = name;
        return name;
    }
    snprintf(unknown[nr], sizeof(unknown[nr]), "syscall_%d", nr);
    cache[nr] = unknown[nr];
    return cache[nr];
}
