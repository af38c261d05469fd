/*
 * Linux capability names and numbers (linux/capability.h), for the policy's
 * watched set and allow rules, and for naming capabilities in findings.
 */
#ifndef ECSGUARD_POLICY_CAPABILITIES_H
#define ECSGUARD_POLICY_CAPABILITIES_H

#include <stddef.h>

#define EG_CAP_LAST 40 /* CAP_CHECKPOINT_RESTORE, Linux 5.9 */

/* "CAP_SYS_ADMIN", or NULL when the number is unknown. */
const char *eg_capability_name(int cap);
/*
 * Number for a name: "CAP_SYS_ADMIN", "cap_sys_admin" and "SYS_ADMIN" all
 * give 21; -1 when unknown. `len` bytes of `name` are read (no NUL needed).
 */
int eg_capability_by_name(const char *name, size_t len);

#endif
