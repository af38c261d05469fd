/*
 * libFuzzer target: /proc/kallsyms (agent/kernel/kallsyms.c), read at start-up to tell the
 * kernel's own capability checks by their caller. The input is the file's text, served from
 * a memfd through /proc/self/fd so the real reader (fopen, fgets into its line buffer) runs.
 *
 * Contracts: the count returned is the number of ranges resolved; a resolved range is a
 * non-empty [start, end) with start the first non-zero address the name had; an unresolved
 * one is [0, 0); and the answer is the same whichever order the names are asked in.
 */
#include "agent/kernel/kallsyms.h"

#include <sys/mman.h>
#include <unistd.h>

#include "tests/fuzz/fuzz_input.h"

static const char *const names[] = {"security_vm_enough_memory_mm", "cap_vm_enough_memory",
                                    "__vm_enough_memory", "a", "T"};
#define N_NAMES (int)(sizeof(names) / sizeof(names[0]))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("kallsyms", MFD_CLOEXEC);
    FUZZ_CHECK(fd >= 0);
    size_t done = 0;
    while (done < size) {
        ssize_t w = write(fd, data + done, size - done);
        FUZZ_CHECK(w > 0);
        done += (size_t)w;
    }
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);

    struct eg_ksym_range fwd[N_NAMES], rev[N_NAMES];
    for (int i = 0; i < N_NAMES; i++) {
        fwd[i].name = names[i];
        rev[i].name = names[N_NAMES - 1 - i];
    }
    int n = eg_kallsyms_resolve(path, fwd, N_NAMES);
    int m = eg_kallsyms_resolve(path, rev, N_NAMES);
    close(fd);
    int resolved = 0;
    for (int i = 0; i < N_NAMES; i++) {
        const struct eg_ksym_range *r = &fwd[i];
        if (r->start) {
            FUZZ_CHECK(r->end > r->start);
            resolved++;
        } else {
            FUZZ_CHECK(r->end == 0);
        }
        const struct eg_ksym_range *o = &rev[N_NAMES - 1 - i];
        FUZZ_CHECK(o->start == r->start && o->end == r->end);
    }
    FUZZ_CHECK(n == resolved && m == resolved);
    return 0;
}
