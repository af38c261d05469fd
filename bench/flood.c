/*
 * End-to-end event flood for a running `ecsguard run` (benchmark only). Loads
 * bench/flood.bpf.c with the agent's own ring buffer and counter maps (found by name, among
 * the maps the agent's process holds), fills its template map with synthetic records
 * (bench/synth.h) for one container the agent knows, then calls getppid() paced so that the
 * program writes `--rate` records per second for `--seconds`. Prints one JSON line.
 *
 *   ecsguard_flood --agent-pid PID --cgroup-id ID --rate N [--seconds S] [--cpu N]
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench/synth.h"
#include "flood.skel.h"

#define FLOOD_REC_MAX 1024
#define FLOOD_TEMPLATES 4096

struct flood_tmpl {
    uint32_t size;
    uint32_t kind;
    uint8_t data[FLOOD_REC_MAX];
};

/* True when process `pid` holds BPF map `id` (its /proc/PID/fdinfo lists map_id). */
static int pid_holds_map(int pid, uint32_t id)
{
    char dir[64];
    snprintf(dir, sizeof(dir), "/proc/%d/fdinfo", pid);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *de;
    int found = 0;
    while (!found && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char path[384], line[256];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "re");
        if (!f)
            continue;
        while (fgets(line, sizeof(line), f)) {
            unsigned v;
            if (sscanf(line, "map_id:\t%u", &v) == 1 && v == id) {
                found = 1;
                break;
            }
        }
        fclose(f);
    }
    closedir(d);
    return found;
}

/* Fd of the map called `name` held by `pid` (any holder when pid is 0), or -1. */
static int find_map(const char *name, int pid)
{
    uint32_t id = 0;
    while (bpf_map_get_next_id(id, &id) == 0) {
        int fd = bpf_map_get_fd_by_id(id);
        if (fd < 0)
            continue;
        struct bpf_map_info info;
        uint32_t len = sizeof(info);
        memset(&info, 0, sizeof(info));
        if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && strcmp(info.name, name) == 0 &&
            (pid == 0 || pid_holds_map(pid, id)))
            return fd;
        close(fd);
    }
    return -1;
}

int main(int argc, char **argv)
{
    int agent_pid = 0, cpu = -1;
    uint64_t cgroup_id = 0;
    double rate = 100000, seconds = 10;
    static const struct option longopts[] = {
        {"agent-pid", required_argument, NULL, 'a'}, {"cgroup-id", required_argument, NULL, 'g'},
        {"rate", required_argument, NULL, 'r'},      {"seconds", required_argument, NULL, 's'},
        {"cpu", required_argument, NULL, 'p'},       {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'a':
            agent_pid = atoi(optarg);
            break;
        case 'g':
            cgroup_id = strtoull(optarg, NULL, 10);
            break;
        case 'r':
            rate = atof(optarg);
            break;
        case 's':
            seconds = atof(optarg);
            break;
        case 'p':
            cpu = atoi(optarg);
            break;
        default:
            fprintf(stderr,
                    "usage: %s --agent-pid PID --cgroup-id ID --rate N [--seconds S] "
                    "[--cpu N]\n",
                    argv[0]);
            return 2;
        }
    }
    if (!cgroup_id || rate <= 0 || seconds <= 0) {
        fprintf(stderr, "flood: --cgroup-id and a positive --rate and --seconds are required\n");
        return 2;
    }
    if (cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        if (sched_setaffinity(0, sizeof(set), &set) != 0)
            fprintf(stderr, "flood: sched_setaffinity(%d): %s\n", cpu, strerror(errno));
    }
    int events_fd = find_map("eg_events", agent_pid);
    int counters_fd = find_map("eg_counters", agent_pid);
    if (events_fd < 0 || counters_fd < 0) {
        fprintf(stderr, "flood: no eg_events/eg_counters map held by pid %d\n", agent_pid);
        return 1;
    }

    struct flood_bpf *skel = flood_bpf__open();
    if (!skel) {
        fprintf(stderr, "flood: open failed\n");
        return 1;
    }
    skel->rodata->flood_tgid = (uint32_t)getpid();
    if (bpf_map__reuse_fd(skel->maps.eg_events, events_fd) != 0 ||
        bpf_map__reuse_fd(skel->maps.eg_counters, counters_fd) != 0) {
        fprintf(stderr, "flood: cannot reuse the agent's maps\n");
        return 1;
    }
    int err = flood_bpf__load(skel);
    if (!err)
        err = flood_bpf__attach(skel);
    if (err) {
        fprintf(stderr, "flood: load/attach: %s\n", strerror(-err));
        flood_bpf__destroy(skel);
        return 1;
    }

    /* Templates: the synthetic mix for the one container, replayed in order. */
    struct bench_container c = {.cgroup_id = cgroup_id};
    struct life lives[16];
    uint32_t next_pid = 3000000;
    uint64_t ts = now_ns(CLOCK_BOOTTIME);
    for (int i = 0; i < 16; i++)
        new_life(&lives[i], 1, &next_pid, ts - 1000000);
    struct rec *r = malloc(sizeof(*r));
    struct flood_tmpl *t = calloc(1, sizeof(*t));
    if (!r || !t)
        return 1;
    uint32_t n = 0, mix[EG_KIND_SLOTS] = {0};
    int tmpl_fd = bpf_map__fd(skel->maps.eg_flood_tmpl);
    for (uint32_t i = 0; i < FLOOD_TEMPLATES; i++) {
        struct life *l = &lives[rnd() % 16];
        if (!life_step(l, &c, r, ts + i))
            new_life(l, 1, &next_pid, ts + i);
        if (r->size >= FLOOD_REC_MAX)
            continue;
        memset(t, 0, sizeof(*t));
        t->size = r->size;
        t->kind = r->kind;
        memcpy(t->data, r->data, r->size);
        if (bpf_map_update_elem(tmpl_fd, &n, t, BPF_ANY) != 0) {
            fprintf(stderr, "flood: template %u: %s\n", n, strerror(errno));
            return 1;
        }
        mix[r->kind]++;
        n++;
    }
    skel->data->n_templates = n;

    /* A call every >= 200 us (sleeping is coarse); as many records per call as the rate needs. */
    uint32_t per_call = (uint32_t)(rate * 0.0002 + 0.5);
    if (per_call < 1)
        per_call = 1;
    skel->bss->per_call = per_call;
    uint64_t period_ns = (uint64_t)(1e9 * per_call / rate);
    uint64_t t0 = now_ns(CLOCK_MONOTONIC), next = t0;
    uint64_t end = t0 + (uint64_t)(seconds * 1e9), calls = 0;
    for (;;) {
        uint64_t now = now_ns(CLOCK_MONOTONIC);
        if (now >= end)
            break;
        if (now < next) {
            struct timespec ts_next = {(time_t)(next / 1000000000ULL),
                                       (long)(next % 1000000000ULL)};
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts_next, NULL);
        }
        syscall(SYS_getppid);
        calls++;
        next += period_ns;
    }
    double elapsed = (double)(now_ns(CLOCK_MONOTONIC) - t0) / 1e9;
    uint64_t sent = skel->bss->sent, dropped = skel->bss->dropped;
    printf("{\"targetRate\":%.0f,\"seconds\":%.3f,\"perCall\":%u,\"calls\":%llu,"
           "\"records\":%llu,\"sent\":%llu,\"dropped\":%llu,\"achievedRate\":%.0f,"
           "\"templates\":%u,\"mix\":{\"capability\":%u,\"exec\":%u,\"fork\":%u,\"exit\":%u,"
           "\"rootfsWrite\":%u}}\n",
           rate, elapsed, per_call, (unsigned long long)calls, (unsigned long long)(sent + dropped),
           (unsigned long long)sent, (unsigned long long)dropped,
           (double)(sent + dropped) / elapsed, n, mix[EG_EVENT_CAP], mix[EG_EVENT_EXEC],
           mix[EG_EVENT_FORK], mix[EG_EVENT_EXIT], mix[EG_EVENT_ROOTFS_WRITE]);
    flood_bpf__destroy(skel);
    free(r);
    free(t);
    return 0;
}
