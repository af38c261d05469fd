/*
 * Whether the kernel lets a BPF program that calls subprograms also make a tail call. The
 * root filesystem concern's open exits have subprograms (bpf_loop callbacks, the home lookup)
 * and hand contained opens on to the host-namespace concern by a tail call (bpf/rootfs.bpf.c,
 * eg_open_tails). The verifier allows the mix only where the JIT supports it: x86_64 since
 * 5.10, arm64 since 6.0 (Graviton hosts on 5.10 and 5.15 refuse it: "tail_calls are not
 * allowed in non-JITed programs with bpf-to-bpf calls").
 */
#ifndef ECSGUARD_TAIL_CALL_PROBE_H
#define ECSGUARD_TAIL_CALL_PROBE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Loads an eleven-instruction tracepoint program with one subprogram and one tail call (never
 * attached, closed at once). True when the kernel accepts it; false with the kernel's answer
 * in `why`.
 */
bool eg_probe_subprog_tail_calls(char *why, size_t whylen);

#endif
