/*
 * Every kernel concern the agent loads, in load order. The lifecycle object
 * comes first: it creates the maps all the others share. A new concern adds
 * its loader file (agent/bpf_<concern>.c) and one line here.
 */
#include <stddef.h>

#include "agent/kernel/bpf_loader.h"

extern const struct eg_bpf_concern eg_bpf_lifecycle_concern;
extern const struct eg_bpf_concern eg_bpf_cap_concern;
extern const struct eg_bpf_concern eg_bpf_rootfs_concern;
extern const struct eg_bpf_concern eg_bpf_hostns_concern;

const struct eg_bpf_concern *const eg_bpf_concerns[] = {
    &eg_bpf_lifecycle_concern,
    &eg_bpf_cap_concern,
    &eg_bpf_rootfs_concern,
    &eg_bpf_hostns_concern,
    NULL,
};
