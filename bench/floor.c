/*
 * The benchmark floor (benchmark only): loads bench/floor.bpf.c, counter-only programs at
 * the hooks the agent attaches, attaches every one of them, prints
 *
 *   floor: attached N programs
 *
 * on stdout once they are all live (bench/bench.py waits for that line), then waits for
 * SIGTERM or SIGINT, detaches everything and prints the total count:
 *
 *   floor: counted N hook runs
 *
 * A syscall tracepoint this kernel does not have (the legacy x86_64 syscalls on arm64,
 * fchmodat2 before 6.6) is skipped with a message on stderr, as the agent skips it; any other
 * load or attach failure is fatal, because a floor missing a hook the agent has would
 * understate the kernel's share of the agent's cost.
 *
 *   ecsguard_floor
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "floor.skel.h"

#define FLOOR_MAX_LINKS 64

static const char *const tracefs_roots[] = {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"};

/* True when tracefs has events/<category>/<event>, i.e. a "tracepoint/<category>/<event>"
 * program can be attached. */
static int tracepoint_exists(const char *category_event)
{
    for (size_t i = 0; i < sizeof(tracefs_roots) / sizeof(tracefs_roots[0]); i++) {
        char path[512];
        struct stat st;
        snprintf(path, sizeof(path), "%s/events/%s", tracefs_roots[i], category_event);
        if (stat(path, &st) == 0)
            return 1;
    }
    return 0;
}

/* Turns off the programs whose hook this kernel lacks; returns how many stay on. */
static int select_programs(struct floor_bpf *skel)
{
    int n = 0;
    struct bpf_program *prog;
    bpf_object__for_each_program(prog, skel->obj)
    {
        const char *sec = bpf_program__section_name(prog);
        int present = 1;
        if (strncmp(sec, "tracepoint/", 11) == 0) {
            present = tracepoint_exists(sec + 11);
        } else if (strncmp(sec, "tp_btf/", 7) == 0) {
            /* Only cap_capable can be missing (before 6.14); the agent then falls back to
             * fexit or kprobes, which the floor does not model: say so rather than fail. */
            present = libbpf_find_vmlinux_btf_id(sec + 7, BPF_TRACE_RAW_TP) >= 0;
        }
        if (!present) {
            fprintf(stderr, "floor: %s: not on this kernel, skipped\n", sec);
            bpf_program__set_autoload(prog, false);
            continue;
        }
        n++;
    }
    return n;
}

/* Sum of the per-CPU counter over every possible CPU. */
static unsigned long long read_count(struct floor_bpf *skel)
{
    int ncpu = libbpf_num_possible_cpus();
    if (ncpu <= 0)
        return 0;
    uint64_t *vals = calloc((size_t)ncpu, sizeof(*vals));
    if (!vals)
        return 0;
    uint32_t zero = 0;
    unsigned long long total = 0;
    if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.floor_count), &zero, vals) == 0)
        for (int i = 0; i < ncpu; i++)
            total += vals[i];
    free(vals);
    return total;
}

int main(int argc, char **argv)
{
    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "usage: ecsguard_floor (stop it with SIGTERM or SIGINT)\n");
        return 2;
    }
    /* Blocked before anything is attached, and taken with sigwait below: a signal that
     * arrives while attaching still ends in the detach path instead of killing the process
     * between two attaches. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &stop, NULL) != 0) {
        fprintf(stderr, "floor: sigprocmask: %s\n", strerror(errno));
        return 1;
    }
    /* If the benchmark driver dies without stopping us, stop anyway: a leftover floor would
     * slow every later measurement on the machine. The ppid check covers a parent that died
     * before the prctl. */
    pid_t parent = getppid();
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent) {
        fprintf(stderr, "floor: parent gone or PR_SET_PDEATHSIG failed\n");
        return 1;
    }

    struct floor_bpf *skel = floor_bpf__open();
    if (!skel) {
        fprintf(stderr, "floor: open: %s\n", strerror(errno));
        return 1;
    }
    int wanted = select_programs(skel);
    int err = floor_bpf__load(skel);
    if (err) {
        fprintf(stderr, "floor: load: %s\n", strerror(-err));
        floor_bpf__destroy(skel);
        return 1;
    }
    /* Attached one by one (not floor_bpf__attach) so the failing hook can be named. */
    struct bpf_link *links[FLOOR_MAX_LINKS];
    int n_links = 0, rc = 0;
    struct bpf_program *prog;
    bpf_object__for_each_program(prog, skel->obj)
    {
        if (!bpf_program__autoload(prog))
            continue;
        struct bpf_link *link = n_links < FLOOR_MAX_LINKS ? bpf_program__attach(prog) : NULL;
        if (!link) {
            fprintf(stderr, "floor: attach %s: %s\n", bpf_program__section_name(prog),
                    n_links < FLOOR_MAX_LINKS ? strerror(errno) : "too many programs");
            rc = 1;
            break;
        }
        links[n_links++] = link;
    }
    if (rc == 0 && n_links == wanted) {
        printf("floor: attached %d programs\n", n_links);
        fflush(stdout);
        int sig;
        sigwait(&stop, &sig);
    }
    for (int i = 0; i < n_links; i++)
        bpf_link__destroy(links[i]);
    /* Read after detaching, so the total is final. */
    printf("floor: counted %llu hook runs\n", read_count(skel));
    fflush(stdout);
    floor_bpf__destroy(skel);
    return rc;
}
