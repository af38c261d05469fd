/*
 * Synthetic ring-buffer records for the benchmarks (bench/pipeline_bench.c in process,
 * bench/flood.c through the kernel): bpf/events.h layouts, a realistic mix. Each process
 * lives through fork, exec, ~11 capability checks (7 kinds of check, granted or denied, from
 * one of EXES executables) and, one process in four, two root-filesystem writes, then exits.
 * Header-only (static functions): each benchmark is one C file.
 */
#ifndef ECSGUARD_BENCH_SYNTH_H
#define ECSGUARD_BENCH_SYNTH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bpf/events.h"

#define REC_MAX 1024 /* every record kind used here fits */

struct rec {
    uint32_t size;
    uint32_t kind;
    _Alignas(8) unsigned char data[REC_MAX];
};

struct bench_container {
    uint64_t cgroup_id;
    char task[33];
    char id[65];
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static inline uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static inline uint64_t now_ns(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static inline void hex(char *out, size_t n, uint64_t seed)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        out[i] = d[(seed >> 60) & 15];
    }
    out[n] = '\0';
}

/* Executables per container: 50 containers x 8 x 7 checks x 2 outcomes = 5,600 dedup keys, under
 * the kernel's and the detector's 16,384. */
#define EXES 8

/* One process's life: fork, exec, some capability checks and file writes, exit. */
struct life {
    int container;
    uint32_t pid, step, n_caps, n_writes, exe;
    uint64_t start_ns;
};

/* What a capability is checked for, as the kernel would see it (cap, syscall). */
static const struct {
    uint32_t cap;
    int syscall_nr;
} checks[] = {
    {21, 165 /* mount */},   {21, 308 /* setns */}, {21, 170 /* sethostname */},
    {21, 166 /* umount2 */}, {12, 16 /* ioctl */},  {12, 54 /* setsockopt */},
    {39, 321 /* bpf */},
};
#define N_CHECKS (sizeof(checks) / sizeof(checks[0]))
static const char *const write_dirs[] = {"/tmp/", "/var/cache/app/", "/usr/local/bin/", "/etc/app/",
                                         "/root/.cache/"};

static inline void fill_header(struct eg_event_header *h, uint32_t kind, uint32_t size,
                               const struct bench_container *c, const struct life *l, uint64_t ts)
{
    h->ts_ns = ts;
    h->cgroup_id = c->cgroup_id;
    h->start_time_ns = l->start_ns;
    h->parent_start_time_ns = 1000;
    h->kind = kind;
    h->size = size;
    h->pid = h->tgid = l->pid;
    h->ppid = 1;
    h->ns_pid = l->pid % 1000 + 2;
    h->uid = h->euid = 0;
    h->pid_ns_inum = 4026532000u + (uint32_t)l->container;
    h->mnt_ns_inum = 4026533000u + (uint32_t)l->container;
    snprintf(h->comm, sizeof(h->comm), "app%u", l->exe);
}

static inline void new_life(struct life *l, int n_containers, uint32_t *next_pid, uint64_t ts)
{
    memset(l, 0, sizeof(*l));
    l->container = (int)(rnd() % (uint64_t)n_containers);
    l->pid = (*next_pid)++;
    if (*next_pid > 4000000)
        *next_pid = 1000;
    l->start_ns = ts;
    l->n_caps = 4 + (uint32_t)(rnd() % 16); /* ~11 checks per process */
    l->n_writes = rnd() % 4 == 0 ? 2 : 0;   /* one process in 4 writes its rootfs */
    l->exe = (uint32_t)(rnd() % EXES);
}

/* Next record of a life; false when the life ended with it. */
static inline bool life_step(struct life *l, const struct bench_container *cs, struct rec *r,
                             uint64_t ts)
{
    const struct bench_container *c = &cs[l->container];
    memset(r, 0, sizeof(*r));
    uint32_t s = l->step++;
    if (s == 0) {
        struct eg_fork_event *e = (void *)r->data;
        r->size = sizeof(*e);
        r->kind = EG_EVENT_FORK;
        fill_header(&e->hdr, r->kind, r->size, c, l, ts);
        return true;
    }
    if (s == 1) {
        struct eg_exec_event *e = (void *)r->data;
        r->size = sizeof(*e);
        r->kind = EG_EVENT_EXEC;
        fill_header(&e->hdr, r->kind, r->size, c, l, ts);
        e->exe_ino = 500000 + l->exe;
        e->exe_dev = 0x2b;
        snprintf(e->filename, sizeof(e->filename), "/usr/bin/app%u", l->exe);
        snprintf(e->exe_path, sizeof(e->exe_path), "/usr/bin/app%u", l->exe);
        int n = snprintf(e->args, sizeof(e->args), "/usr/bin/app%u%c--serve%c--port=%u", l->exe,
                         '\0', '\0', 8000 + l->exe);
        e->args_len = (uint32_t)n + 1;
        return true;
    }
    if (l->n_caps || l->n_writes) {
        if (l->n_writes && (!l->n_caps || rnd() % 5 == 0)) {
            l->n_writes--;
            struct eg_rootfs_write_event *e = (void *)r->data;
            r->size = sizeof(*e);
            r->kind = EG_EVENT_ROOTFS_WRITE;
            fill_header(&e->hdr, r->kind, r->size, c, l, ts);
            uint32_t f = (uint32_t)(rnd() % 64);
            e->ino = 700000 + f;
            e->dev = 0x2c;
            e->op = EG_ROOTFS_OP_OPEN;
            e->open_flags = 0101; /* O_WRONLY|O_CREAT */
            e->rootfs_flags = EG_ROOTFS_OVERLAY | EG_ROOTFS_UPPER | (f % 3 ? 0 : EG_ROOTFS_CREATED);
            snprintf(e->path, sizeof(e->path), "%sfile%u", write_dirs[f % 5], f);
            return true;
        }
        l->n_caps--;
        struct eg_cap_event *e = (void *)r->data;
        r->size = sizeof(*e);
        r->kind = EG_EVENT_CAP;
        fill_header(&e->hdr, r->kind, r->size, c, l, ts);
        e->exe_ino = 500000 + l->exe;
        e->exe_dev = 0x2b;
        unsigned k = (unsigned)(rnd() % N_CHECKS);
        e->cap = checks[k].cap;
        e->ret = rnd() % 4 == 0 ? -1 : 0;
        e->syscall_nr = checks[k].syscall_nr;
        bool host = rnd() % 2;
        e->cap_flags = host ? EG_CAP_HOST_LEVEL : 0;
        e->scope = host ? EG_CAP_SCOPE_HOST : EG_CAP_SCOPE_CREATED;
        e->userns_level = host ? 0 : 1;
        snprintf(e->exe_name, sizeof(e->exe_name), "app%u", l->exe);
        return true;
    }
    struct eg_exit_event *e = (void *)r->data;
    r->size = sizeof(*e);
    r->kind = EG_EVENT_EXIT;
    fill_header(&e->hdr, r->kind, r->size, c, l, ts);
    return false;
}

#endif
