/*
 * Detaching many BPF links at once. Removing the last program from a tracepoint waits for an
 * RCU grace period (the kernel must know no CPU still runs the old probe list), about 70 ms on
 * the development VM and more under emulation. Detached one after another, the rootfs concern's
 * forty syscall tracepoints alone kept a stopping agent busy for three seconds; detached from
 * several threads, the waits overlap and share grace periods.
 */
#ifndef ECSGUARD_LINK_DETACH_H
#define ECSGUARD_LINK_DETACH_H

struct bpf_link;
struct bpf_object_skeleton;

/*
 * Destroys *slots[i] for every i (NULL entries are skipped) and sets each slot to NULL, so a
 * later skeleton destroy finds nothing left to detach. Falls back to destroying in this thread
 * when a thread cannot be started.
 */
void eg_links_destroy_parallel(struct bpf_link **slots[], int n);

/* Every attached link of a skeleton, through eg_links_destroy_parallel. */
void eg_skeleton_detach_parallel(struct bpf_object_skeleton *skeleton);

#endif
