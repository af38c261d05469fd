/*
 * The one hash function of the agent's userspace tables: 64-bit FNV-1a. Keys are short (ids,
 * small structs, paths); FNV-1a is cheap on those, has no alignment needs and mixes every
 * byte, and the tables probe linearly from `hash & (slots - 1)`.
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

static inline uint64_t eg_hash_u64(uint64_t v)
{
    return eg_hash_bytes(&v, sizeof(v));
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
