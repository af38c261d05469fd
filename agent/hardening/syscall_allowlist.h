/*
 * The system calls the agent makes once it is running: after its kernel programs are loaded and
 * attached and the start-up scan is done. Everything else is refused (agent/hardening/README.md
 * says how the list was measured and how to find a missing entry).
 */
#ifndef ECSGUARD_SYSCALL_ALLOWLIST_H
#define ECSGUARD_SYSCALL_ALLOWLIST_H

#include <stdint.h>

#include <seccomp.h>

/*
 * Adds the allowlist's rules for every architecture of ctx. Names that do not exist on an
 * architecture (open, poll, epoll_wait... on arm64) are skipped there: its C library uses the
 * *at and p* forms. Returns 0, or a negative errno from libseccomp naming nothing (the caller
 * reports the failing name through *failed_name).
 */
int eg_syscall_allowlist_add(scmp_filter_ctx ctx, const char **failed_name);

/* How many unconditional names the list holds (for the health record and tests). */
int eg_syscall_allowlist_size(void);

#endif
