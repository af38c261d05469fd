#include "collectors/proc_table.h"
#include "collectors/hash.h"
#include "collectors/hash_index.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/*
 * tgid -> entry of procs[]: the agent's hash index, twice as many slots as entries; a tgid has
 * at most one live entry (the newest start). Removal shifts the following run back instead of
 * leaving a tombstone: tombstones only ever accumulated (a claim may take one, a release always
 * made one), so on a busy host the empty slots ran out after some hundred thousand processes and
 * every miss probed all 65,536 slots.
 */
#define EG_PROC_SLOTS (EG_PROC_CAPACITY * 2)
/* Exited entries in exit order, with the seq of the incarnation that exited (stale ones skip). */
#define EG_PROC_EXITED_RING EG_PROC_CAPACITY
/* The text the finding serializer puts where it cut a string (EG_TRUNCATION_MARKER in
 * agent/common/json_text.h, a layer above): one marker for every cut a reader may meet. */
#define EG_PROC_ARGS_CUT_MARKER "...[truncated]"

struct exited_ref {
    uint32_t idx;
    uint64_t seq;
};

struct eg_proc_table {
    uint64_t seq;
    struct eg_proc_table_stats stats;
    struct eg_hash_index index; /* hash of the tgid -> procs[] */
    struct eg_proc procs[EG_PROC_CAPACITY];
    uint32_t next_free; /* procs[] below this were handed out at least once */
    /*
     * Making room is O(1): released entries (pid reused) are on a free list; exited ones are
     * replaced longest-exited first from a ring. A scan of all 32,768 entries (3 MiB) for the
     * oldest exited one, on every new process once the table had filled, added 10-17 us of
     * agent CPU per fork+exec on the benchmark VM (13.5 -> 23-31 us).
     */
    uint32_t free_list[EG_PROC_CAPACITY];
    uint32_t n_free;
    struct exited_ref exited[EG_PROC_EXITED_RING];
    uint32_t exited_head, exited_len;
};

struct eg_proc_table *eg_proc_table_new(void)
{
    struct eg_proc_table *t = calloc(1, sizeof(*t));
    if (t && eg_hash_index_init(&t->index, EG_PROC_SLOTS, 0, true) != 0) {
        free(t);
        return NULL;
    }
    /*
     * tgids land all over the index, so the first thousand processes of any host write every
     * page of it anyway: fault its 512 KiB in here rather than one page per new process, on
     * the path of its first event (the fill of the old index with -1 did the same).
     */
    if (t)
        eg_hash_index_prefault(&t->index);
    return t;
}

static const char no_str[1] = "";

static void str_free(const char *s)
{
    if (s && s != no_str)
        free((void *)s);
}

/* Replace *dst with a copy of src[0..n) (NUL-terminated); "" when empty or out of memory. */
static void str_set(const char **dst, const char *src, size_t n)
{
    str_free(*dst);
    *dst = no_str;
    if (n == 0)
        return;
    char *s = malloc(n + 1);
    if (!s)
        return;
    memcpy(s, src, n);
    s[n] = '\0';
    *dst = s;
}

void eg_proc_table_free(struct eg_proc_table *t)
{
    if (!t)
        return;
    for (uint32_t i = 0; i < t->next_free; i++) {
        str_free(t->procs[i].exe);
        str_free(t->procs[i].args);
    }
    eg_hash_index_destroy(&t->index);
    free(t);
}

/* The entry of `tgid` (its index slot in *it), or EG_HASH_NONE. */
static inline uint32_t entry_find(struct eg_proc_table *t, uint32_t tgid, struct eg_hash_iter *it)
{
    for (uint32_t e = eg_hash_index_first(&t->index, eg_hash_u64(tgid), it); e != EG_HASH_NONE;
         e = eg_hash_index_next(&t->index, it))
        if (t->procs[e].tgid == tgid)
            return e;
    return EG_HASH_NONE;
}

static void entry_release(struct eg_proc_table *t, struct eg_proc *p)
{
    eg_hash_index_remove(&t->index, eg_hash_u64(p->tgid), (uint32_t)(p - t->procs));
    p->used = false;
    t->stats.entries--;
}

static void exited_push(struct eg_proc_table *t, const struct eg_proc *p)
{
    if (t->exited_len == EG_PROC_EXITED_RING) {
        /* Only when stale references pile up (entries recycled through pid reuse): the oldest
         * goes; if it was still valid its entry is found by the fallback scan instead. */
        t->exited_head = (t->exited_head + 1) % EG_PROC_EXITED_RING;
        t->exited_len--;
    }
    uint32_t tail = (t->exited_head + t->exited_len) % EG_PROC_EXITED_RING;
    t->exited[tail] = (struct exited_ref){(uint32_t)(p - t->procs), p->seq};
    t->exited_len++;
}

/* The longest-exited entry still holding the incarnation that exited, or NULL. */
static struct eg_proc *exited_pop(struct eg_proc_table *t)
{
    while (t->exited_len > 0) {
        struct exited_ref r = t->exited[t->exited_head];
        t->exited_head = (t->exited_head + 1) % EG_PROC_EXITED_RING;
        t->exited_len--;
        struct eg_proc *p = &t->procs[r.idx];
        if (p->used && p->exited && p->seq == r.seq)
            return p;
    }
    return NULL;
}

/* A free entry: never used, else released, else the longest exited, else the oldest of all. */
static struct eg_proc *entry_alloc(struct eg_proc_table *t)
{
    if (t->next_free < EG_PROC_CAPACITY)
        return &t->procs[t->next_free++];
    while (t->n_free > 0) {
        struct eg_proc *p = &t->procs[t->free_list[--t->n_free]];
        if (!p->used)
            return p;
    }
    struct eg_proc *victim = exited_pop(t);
    if (!victim) {
        /* Every entry is a live process (or its exit fell out of the ring): the oldest goes. */
        for (uint32_t i = 0; i < EG_PROC_CAPACITY; i++) {
            struct eg_proc *p = &t->procs[i];
            if (!victim || p->seq < victim->seq)
                victim = p;
        }
    }
    if (!victim->exited)
        t->stats.evicted_live++;
    entry_release(t, victim);
    return victim;
}

static bool start_matches(const struct eg_proc *p, uint64_t start_ns)
{
    if (p->start_ns == start_ns)
        return true;
    /* /proc reports start time in clock ticks: allow one tick either way. */
    if (p->approx_start) {
        uint64_t d = p->start_ns > start_ns ? p->start_ns - start_ns : start_ns - p->start_ns;
        return d <= 20 * 1000 * 1000ULL;
    }
    return false;
}

struct eg_proc *eg_proc_table_find(struct eg_proc_table *t, uint32_t tgid, uint64_t start_ns)
{
    t->stats.lookups++;
    struct eg_hash_iter it;
    uint32_t e = entry_find(t, tgid, &it);
    if (e != EG_HASH_NONE && start_matches(&t->procs[e], start_ns))
        return &t->procs[e];
    t->stats.misses++;
    return NULL;
}

static struct eg_proc *insert(struct eg_proc_table *t, uint32_t tgid, uint64_t start_ns)
{
    struct eg_hash_iter it;
    uint32_t e = entry_find(t, tgid, &it);
    if (e != EG_HASH_NONE) {
        struct eg_proc *p = &t->procs[e];
        if (start_matches(p, start_ns))
            return p;
        /* pid reused: the old process is gone */
        eg_hash_index_remove_at(&t->index, &it);
        p->used = false;
        t->stats.entries--;
        t->free_list[t->n_free++] = e;
    }
    struct eg_proc *p = entry_alloc(t);
    str_free(p->exe);
    str_free(p->args);
    memset(p, 0, sizeof(*p));
    p->exe = p->args = no_str;
    p->used = true;
    p->tgid = tgid;
    p->start_ns = start_ns;
    p->seq = ++t->seq;
    /* Cannot be refused: twice as many slots as entries, no probe bound. */
    eg_hash_index_insert(&t->index, eg_hash_u64(tgid), (uint32_t)(p - t->procs));
    t->stats.entries++;
    t->stats.inserted++;
    return p;
}

static void fill_from_header(struct eg_proc *p, const struct eg_event_header *h)
{
    if (p->approx_start) {
        p->start_ns = h->start_time_ns; /* now known exactly */
        p->approx_start = false;
    }
    p->ppid = h->ppid;
    p->parent_start_ns = h->parent_start_time_ns;
    p->ns_pid = h->ns_pid;
    p->uid = h->uid;
    p->euid = h->euid;
    p->cgroup_id = h->cgroup_id;
    memcpy(p->comm, h->comm, sizeof(p->comm));
    p->comm[sizeof(p->comm) - 1] = '\0';
}

struct eg_proc *eg_proc_table_upsert(struct eg_proc_table *t, const struct eg_event_header *h)
{
    struct eg_proc *p = insert(t, h->tgid, h->start_time_ns);
    fill_from_header(p, h);
    return p;
}

struct eg_proc *eg_proc_table_exec(struct eg_proc_table *t, const struct eg_exec_event *e)
{
    struct eg_proc *p = eg_proc_table_upsert(t, &e->hdr);
    /* The resolved path when the kernel could build it, else what execve was given. */
    const char *path = e->exe_path[0] ? e->exe_path : e->filename;
    size_t n = strnlen(path, sizeof(e->filename));
    str_set(&p->exe, path, n < EG_PATH_LEN ? n : EG_PATH_LEN - 1);
    char args[EG_ARGS_LEN];
    uint32_t captured = e->args_len & ~EG_EXEC_ARGS_CUT;
    uint32_t len = captured < EG_ARGS_LEN ? captured : EG_ARGS_LEN - 1;
    for (uint32_t i = 0; i < len; i++)
        args[i] = e->args[i] ? e->args[i] : ' ';
    while (len > 0 && args[len - 1] == ' ')
        len--;
    /* The kernel kept the first bytes of a longer command line: say so, as the serializer
     * does for what it cuts (an argument bomb must not read as a short command line). The
     * marker takes the place of the last bytes kept: a finding holds EG_ARGS_LEN - 1 bytes. */
    const size_t marker = sizeof(EG_PROC_ARGS_CUT_MARKER) - 1;
    if (e->args_len & EG_EXEC_ARGS_CUT) {
        if (len > EG_ARGS_LEN - 1 - marker)
            len = EG_ARGS_LEN - 1 - marker;
        memcpy(args + len, EG_PROC_ARGS_CUT_MARKER, marker);
        len += (uint32_t)marker;
    }
    str_set(&p->args, args, len);
    return p;
}

void eg_proc_table_exit(struct eg_proc_table *t, uint32_t tgid, uint64_t start_ns)
{
    struct eg_proc *p = eg_proc_table_find(t, tgid, start_ns);
    if (p && !p->exited) {
        p->exited = true;
        exited_push(t, p);
    }
}

uint64_t eg_proc_tick_ns(void)
{
    long hz = sysconf(_SC_CLK_TCK);
    return 1000000000ULL / (uint64_t)(hz > 0 ? hz : 100);
}

static uint64_t ticks_to_ns(unsigned long long ticks)
{
    return (uint64_t)ticks * eg_proc_tick_ns();
}

uint64_t eg_proc_start_ns(const char *proc_root, uint32_t tgid)
{
    char path[320], buf[1024];
    snprintf(path, sizeof(path), "%s/%u/stat", proc_root, tgid);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* comm may hold spaces and parentheses: fields resume after the last ')'. */
    char *rp = strrchr(buf, ')');
    unsigned long long ticks;
    if (!rp || sscanf(rp + 2,
                      "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
                      "%*d %*d %llu",
                      &ticks) != 1)
        return 0;
    return ticks_to_ns(ticks);
}

struct eg_proc *eg_proc_table_scan_pid(struct eg_proc_table *t, const char *proc_root,
                                       uint32_t tgid, uint64_t cgroup_id)
{
    char path[256], buf[1024];
    snprintf(path, sizeof(path), "%s/%u/stat", proc_root, tgid);
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* comm may hold spaces and parentheses: fields resume after the last ')'. */
    char *lp = strchr(buf, '('), *rp = strrchr(buf, ')');
    if (!lp || !rp || rp < lp)
        return NULL;
    unsigned ppid;
    unsigned long long start_ticks;
    if (sscanf(rp + 2,
               "%*c %u %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
               "%*d %*d %llu",
               &ppid, &start_ticks) != 2)
        return NULL;
    struct eg_proc *p = insert(t, tgid, ticks_to_ns(start_ticks));
    p->approx_start = true;
    p->ppid = ppid;
    p->cgroup_id = cgroup_id;
    size_t clen = (size_t)(rp - lp - 1);
    if (clen >= sizeof(p->comm))
        clen = sizeof(p->comm) - 1;
    memcpy(p->comm, lp + 1, clen);
    p->comm[clen] = '\0';

    snprintf(path, sizeof(path), "%s/%u/exe", proc_root, tgid);
    char text[EG_PATH_LEN > EG_ARGS_LEN ? EG_PATH_LEN : EG_ARGS_LEN];
    ssize_t l = readlink(path, text, EG_PATH_LEN - 1);
    str_set(&p->exe, text, l > 0 ? (size_t)l : 0);

    snprintf(path, sizeof(path), "%s/%u/status", proc_root, tgid);
    f = fopen(path, "re");
    if (f) {
        while (fgets(buf, sizeof(buf), f)) {
            unsigned ruid, euid;
            if (sscanf(buf, "Uid: %u %u", &ruid, &euid) == 2) {
                p->uid = ruid;
                p->euid = euid;
            } else if (strncmp(buf, "NSpid:", 6) == 0) {
                /* The last number is the pid in the process's own namespace. */
                char *last = strrchr(buf, '\t');
                p->ns_pid = (uint32_t)strtoul(last ? last + 1 : buf + 6, NULL, 10);
            }
        }
        fclose(f);
    }
    snprintf(path, sizeof(path), "%s/%u/cmdline", proc_root, tgid);
    f = fopen(path, "re");
    if (f) {
        size_t an = fread(text, 1, EG_ARGS_LEN - 1, f);
        fclose(f);
        for (size_t i = 0; i < an; i++)
            if (!text[i])
                text[i] = ' ';
        while (an > 0 && text[an - 1] == ' ')
            an--;
        str_set(&p->args, text, an);
    }
    return p;
}

int eg_proc_table_lineage(struct eg_proc_table *t, const struct eg_proc *p,
                          const struct eg_proc **out, int max)
{
    int n = 0;
    const struct eg_proc *cur = p;
    while (n < max && cur && cur->ppid > 1) {
        struct eg_proc *parent = eg_proc_table_find(t, cur->ppid, cur->parent_start_ns);
        if (!parent || parent == cur)
            break;
        out[n++] = parent;
        cur = parent;
    }
    return n;
}

void eg_proc_table_get_stats(struct eg_proc_table *t, struct eg_proc_table_stats *out)
{
    *out = t->stats;
    out->probes = t->index.stats.probes;
}

static uint64_t boot_id_hash(void)
{
    static uint64_t cached;
    if (cached)
        return cached;
    /* FNV-1a, not a table hash: the UUIDs built on it leave the agent and must not change. */
    uint64_t h = EG_FNV1A_SEED;
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
    if (f) {
        int c;
        while ((c = fgetc(f)) != EOF) {
            unsigned char b = (unsigned char)c;
            h = eg_fnv1a_more(h, &b, 1);
        }
        fclose(f);
    }
    cached = h ? h : 1;
    return cached;
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void eg_proc_uuid(uint32_t tgid, uint64_t start_ns, char out[37])
{
    /* /proc start times are tick-granular: round so scanned and traced entries agree. */
    uint64_t seed = boot_id_hash() ^ ((uint64_t)tgid << 32) ^ (start_ns / 10000000ULL);
    uint64_t a = splitmix64(&seed), b = splitmix64(&seed);
    a = (a & ~0xf000ULL) | 0x4000ULL; /* version 4 layout */
    b = (b & ~(3ULL << 62)) | (2ULL << 62);
    snprintf(out, 37, "%08x-%04x-%04x-%04x-%012llx", (unsigned)(a >> 32),
             (unsigned)((a >> 16) & 0xffff), (unsigned)(a & 0xffff), (unsigned)(b >> 48),
             (unsigned long long)(b & 0xffffffffffffULL));
}

double eg_boot_ns_to_epoch(uint64_t boot_ns)
{
    struct timespec rt, bt;
    clock_gettime(CLOCK_REALTIME, &rt);
    clock_gettime(CLOCK_BOOTTIME, &bt);
    double boot_epoch = (double)rt.tv_sec + rt.tv_nsec / 1e9 - (double)bt.tv_sec - bt.tv_nsec / 1e9;
    return boot_epoch + (double)boot_ns / 1e9;
}
