/*
 * Homes written from userspace (struct eg_home, bpf/events.h): the task container a process
 * already in it belongs to, for processes the kernel programs could not give one themselves
 * (they were running before the agent, or their entrypoint exec'd before the agent knew the
 * cgroup was a task container's). bpf/lifecycle.bpf.c gives every other process its home.
 */
#ifndef ECSGUARD_HOMES_H
#define ECSGUARD_HOMES_H

#include <stdbool.h>
#include <stdint.h>

struct eg_homes {
    int homes_fd;          /* eg_homes (-1: none, nothing is written) */
    int setup_fd;          /* eg_setup_procs (-1: none) */
    uint64_t host_mnt_ns;  /* the host's mount namespace inode (0: unknown) */
    const char *proc_root; /* "/proc" */
    uint64_t swept;        /* entries of exited processes removed by eg_homes_sweep, in all */
};

/* host_mnt_ns from <proc_root>/<host_ns_pid>/ns/mnt (0: 1; else self), the fds given. */
void eg_homes_init(struct eg_homes *h, int homes_fd, int setup_fd, const char *proc_root,
                   uint32_t host_ns_pid);

/*
 * Give process `tgid` (leader start `start_ns`, /proc's: a clock tick coarse) the home `cgid`,
 * unless it is still in the runtime's set-up: marked in eg_setup_procs, or in the host's mount
 * namespace (runc's init before it unshares). A home the kernel gave it is kept. True when
 * written.
 */
bool eg_homes_give(const struct eg_homes *h, uint32_t tgid, uint64_t start_ns, uint64_t cgid);

/* eg_homes_give to every process in cgroup directory `dir` (its cgroup.procs). How many. */
unsigned eg_homes_give_cgroup(const struct eg_homes *h, const char *dir, uint64_t cgid);

/*
 * Remove the homes of processes that no longer run (no /proc entry, or one with a later start:
 * the tgid was reused), added to h->swept; how many. The exit program deletes a process's
 * home, but a home written after its process exited stays: a fork tracepoint that runs, in the
 * parent, after a short-lived child has already exited on the other CPU (about 3 in 1,000
 * containers, each a few short processes, in the 3,000-container churn). Left alone they fill
 * the table over days, and a process with no room for a home loses what the home gives it.
 * Cost: one /proc/<tgid>/stat read per home (a host with 5,000 contained processes: ~50 ms
 * every 30 s). A swept home flagged as moved leaves the kernel's count of moved processes one
 * too high (only the kernel changes it, atomically): that costs the hot programs a homes
 * lookup, never a missed home.
 */
unsigned eg_homes_sweep(struct eg_homes *h);

#endif
