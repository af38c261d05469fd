/* Detaching many fentry/fexit links at once (agent stop). */
#ifndef ECSGUARD_LINK_TEARDOWN_H
#define ECSGUARD_LINK_TEARDOWN_H

struct bpf_link;

/*
 * Destroy `n` links, each set to NULL, concurrently. Detaching an fentry/fexit program waits
 * for an RCU-tasks grace period (ftrace_shutdown of the trampoline's ftrace_ops on preemptible
 * kernels); one after another, the agent's ~40 function hooks made its stop take seconds.
 * Waits that overlap share grace periods. Falls back to one after another when no thread can
 * be started.
 */
void eg_bpf_links_destroy(struct bpf_link **links, int n);

#endif
