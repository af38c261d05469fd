/*
 * The agent confines itself once it is running (issue: the guard must not become the weak
 * point): after every kernel program is loaded and attached and the start-up scan is done, it
 * keeps only the capabilities it still uses, sets no_new_privs, and installs a seccomp filter
 * of exactly the system calls it makes from then on, on every thread (syscall_allowlist.c).
 */
#ifndef ECSGUARD_SELF_CONFINE_H
#define ECSGUARD_SELF_CONFINE_H

#include <stdbool.h>
#include <stdint.h>

struct json_object;

enum eg_seccomp_mode {
    EG_SECCOMP_ENFORCE, /* a call outside the list kills the agent (the default) */
    EG_SECCOMP_TRAP,    /* it fails with ENOSYS, is logged and counted: to find a missing entry */
    EG_SECCOMP_OFF,     /* --no-seccomp: no filter (diagnosis only; said loudly) */
};

/* "enforce", "trap", "off": 0, or -1 for anything else. */
int eg_seccomp_mode_parse(const char *text, enum eg_seccomp_mode *mode);
const char *eg_seccomp_mode_name(enum eg_seccomp_mode mode);

/*
 * The capabilities the running agent keeps, as a bit mask of CAP_* numbers: reading other
 * processes' /proc entries (namespaces, root, executable) and the kernel programs' maps.
 * docs/hardening.md records how they were measured.
 */
uint64_t eg_confine_kept_capabilities(void);

/*
 * What a thread permitted `permitted` keeps: the three above where granted, and CAP_SYS_ADMIN
 * in place of a CAP_BPF it was not given (bpf_capable() accepts either).
 */
uint64_t eg_confine_kept_for(uint64_t permitted);

struct eg_confinement {
    enum eg_seccomp_mode mode;
    bool filter_loaded;
    bool no_new_privs;
    uint64_t capabilities; /* the main thread's effective set after the drop */
    char error[192];       /* why confinement is incomplete ("" when it is not) */
};

/*
 * Drops capabilities to eg_confine_kept_capabilities() on the calling thread (worker threads
 * drop theirs themselves: collectors/worker_privileges.h), sets no_new_privs and, unless mode
 * is off, loads the filter on every thread. Returns 0, or -1 with out->error set; the agent
 * refuses to run half-confined.
 */
int eg_confine_self(enum eg_seccomp_mode mode, struct eg_confinement *out);

/* Trap mode: how many calls were refused, and the newest one's number (-1: none). */
uint64_t eg_confine_refused_count(void);
int eg_confine_last_refused(void);

/* The health record's "confinement" member. */
void eg_confinement_report(const struct eg_confinement *c, struct json_object *health);

#endif
