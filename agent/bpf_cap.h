/* The capability concern's maps, for its detector. */
#ifndef ECSGUARD_BPF_CAP_H
#define ECSGUARD_BPF_CAP_H

#include "agent/bpf_loader.h"

/* The kernel's capability dedup map (repeat counts), or -1 when not loaded. */
int eg_bpf_cap_dedup_fd(const struct eg_bpf *b);

#endif
