/* Address ranges of kernel functions, from /proc/kallsyms (for in-kernel caller checks). */
#ifndef ECSGUARD_KALLSYMS_H
#define ECSGUARD_KALLSYMS_H

#include <stdint.h>

struct eg_ksym_range {
    const char *name; /* in: function name */
    uint64_t start;   /* out: 0 when not found (or hidden by kptr_restrict) */
    uint64_t end;     /* out: address of the next symbol */
};

/* Resolve every range in `ranges` from `path` (normally /proc/kallsyms). Returns how many resolved.
 */
int eg_kallsyms_resolve(const char *path, struct eg_ksym_range *ranges, int n);

#endif
