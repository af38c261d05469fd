/*
 * The hash functions of every userspace table of the agent, in one place: 64-bit FNV-1a for
 * byte keys (ids, small structs, paths: cheap on short keys, no alignment needs, mixes every
 * byte) and one integer finalizer for integer keys (cgroup ids, pids), where FNV's byte loop
 * would cost more than the lookup. The tables probe linearly from `hash & (slots - 1)`.
 */
#ifndef ECSGUARD_COLLECTORS_HASH_H
#define ECSGUARD_COLLECTORS_HASH_H

#include <stddef.h>
#include <stdint.h>

#define EG_HASH_SEED 1469598103934665603ULL

/* Continue hash `h` over `n` bytes at `p` (start with EG_HASH_SEED). */
static inline uint64_t eg_hash_more(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

static inline uint64_t eg_hash_bytes(const void *p, size_t n)
{
    return eg_hash_more(EG_HASH_SEED, p, n);
}

/* An integer key (MurmurHash3's 64-bit finalizer: every input bit moves every output bit). */
static inline uint64_t eg_hash_u64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

/* A NUL-terminated string. */
static inline uint64_t eg_hash_str(const char *s)
{
    uint64_t h = EG_HASH_SEED;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

#endif
