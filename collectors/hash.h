/*
 * The hash functions of every userspace table of the agent, in one place (the table itself is
 * collectors/hash_index.h, which probes linearly from `hash & (slots - 1)`).
 *
 * Byte keys (ids, paths, finding keys, kernel dedup keys) are read eight bytes at a time, each
 * word folded in with one multiply and one shift, and the result goes through the integer
 * finalizer: about one instruction a byte. FNV-1a's byte loop cost six to seven, which made
 * hashing a finding key most of a capability event's lookups (callgrind, bench/pipeline_bench).
 * Integer keys (cgroup ids, pids) take the finalizer alone.
 *
 * Table hashes never leave the process and may change between versions. A value derived from a
 * hash that does leave it, the process UUID's boot-id seed (collectors/proc_table.c), keeps
 * 64-bit FNV-1a (eg_fnv1a_more), so a process keeps its UUID across an agent upgrade.
 */
#ifndef ECSGUARD_COLLECTORS_HASH_H
#define ECSGUARD_COLLECTORS_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define EG_HASH_SEED 1469598103934665603ULL
#define EG_HASH_MUL 0x9e3779b97f4a7c15ULL /* 2^64 / golden ratio, odd */

/* An integer key (MurmurHash3's 64-bit finalizer: every input bit moves every output bit). */
static inline uint64_t eg_hash_u64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

/* Fold one 8-byte word into `h`: the multiply carries it up, the shift brings it back down. */
static inline uint64_t eg_hash_word(uint64_t h, uint64_t w)
{
    h = (h ^ w) * EG_HASH_MUL;
    return h ^ (h >> 32);
}

/*
 * Continue hash `h` over `n` bytes at `p` (start with EG_HASH_SEED; any alignment). The last
 * word is the last eight bytes, overlapping the one before when `n` is not a multiple of eight;
 * the length is folded in so that keys differing only in trailing zero bytes differ.
 */
static inline uint64_t eg_hash_more(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t w = 0;
    size_t left = n;
    for (; left > 8; b += 8, left -= 8) {
        memcpy(&w, b, 8);
        h = eg_hash_word(h, w);
    }
    if (n >= 8) {
        memcpy(&w, (const unsigned char *)p + n - 8, 8);
    } else {
        w = 0;
        for (size_t i = 0; i < n; i++)
            w |= (uint64_t)b[i] << (8 * i);
    }
    return eg_hash_u64(eg_hash_word(h, w) ^ n);
}

static inline uint64_t eg_hash_bytes(const void *p, size_t n)
{
    return eg_hash_more(EG_HASH_SEED, p, n);
}

/* A NUL-terminated string. */
static inline uint64_t eg_hash_str(const char *s)
{
    return eg_hash_bytes(s, strlen(s));
}

#define EG_FNV1A_SEED 1469598103934665603ULL

/* 64-bit FNV-1a over `n` bytes: only for values that leave the agent (see the top). */
static inline uint64_t eg_fnv1a_more(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

#endif
