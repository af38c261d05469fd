/* Syscall numbers to names for the running architecture (libseccomp), cached. */
#ifndef ECSGUARD_SYSCALL_NAMES_H
#define ECSGUARD_SYSCALL_NAMES_H

/* "mount", or "syscall_<nr>" for an unknown number, "none" for -1. Never NULL. */
const char *eg_syscall_name(int nr);

#endif
