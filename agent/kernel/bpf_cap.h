/* The capability concern's maps, for its detector. */
#ifndef ECSGUARD_BPF_CAP_H
#define ECSGUARD_BPF_CAP_H

#include <stdint.h>

#include "agent/kernel/bpf_loader.h"

/* The kernel's capability dedup map (repeat counts), or -1 when not loaded. */
int eg_bpf_cap_dedup_fd(const struct eg_bpf *b);
/*
 * Move the repeat counts each CPU holds for its last key into the dedup map (bpf/cap.bpf.c,
 * eg_cap_flush): call before reading it. Returns -1 when the concern is not loaded;
 * *failed_cpus counts online CPUs the flush could not run on.
 */
int eg_bpf_cap_flush(const struct eg_bpf *b, uint32_t *failed_cpus);

#endif
