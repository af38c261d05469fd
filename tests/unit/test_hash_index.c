/*
 * The agent's one hash table (collectors/hash_index.h): lookups by hash with the caller's key
 * compare, equal hashes, the probe bound and bounded eviction, backward-shift removal, and a
 * randomized run against a plain list of (key, entry) pairs with heavy churn; and its hash
 * functions (collectors/hash.h): every byte and the length count, and keys spread over the low
 * bits the table indexes by.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "collectors/hash.h"
#include "collectors/hash_index.h"

/* The hash bits a map's slot holds (its low 32). */
static uint32_t fp_at(const struct eg_hash_index *ix, uint32_t pos)
{
    return (uint32_t)ix->slots[pos];
}

/* Every taken slot lies within the bound of its home, and the count matches. */
static void check_invariants(const struct eg_hash_index *ix)
{
    uint32_t slots = ix->mask + 1, taken = 0;
    for (uint32_t pos = 0; pos < slots; pos++) {
        uint64_t h = ix->slots[pos];
        if (!h)
            continue;
        taken++;
        uint32_t home = (uint32_t)h & ix->mask;
        uint32_t dist = (pos - home) & ix->mask;
        assert_true(dist < ix->max_probe);
        /* No free slot between home and pos: a lookup from home reaches it. */
        for (uint32_t p = home; p != pos; p = (p + 1) & ix->mask)
            assert_int_not_equal(ix->slots[p], 0);
    }
    assert_int_equal(taken, ix->count);
}

static void init_rejects_bad_sizes(void **state)
{
    (void)state;
    struct eg_hash_index ix;
    assert_int_equal(eg_hash_index_init(&ix, 0, 0, true), -1);
    assert_int_equal(eg_hash_index_init(&ix, 1, 0, true), -1);
    assert_int_equal(eg_hash_index_init(&ix, 48, 0, true), -1);
    eg_hash_index_destroy(&ix); /* zeroed by the failed init */
    assert_int_equal(eg_hash_index_init(&ix, 64, 100, true), 0);
    assert_int_equal(ix.max_probe, 64); /* a bound past the table is no bound */
    eg_hash_index_destroy(&ix);
}

/* Entries under one hash come one after another; the caller tells them apart. */
static void equal_hashes_are_walked_in_turn(void **state)
{
    (void)state;
    struct eg_hash_index ix;
    assert_int_equal(eg_hash_index_init(&ix, 16, 0, true), 0);
    assert_true(eg_hash_index_insert(&ix, 5, 100));
    assert_true(eg_hash_index_insert(&ix, 21, 200)); /* same home slot, other hash */
    assert_true(eg_hash_index_insert(&ix, 5, 101));
    assert_true(eg_hash_index_insert(&ix, 0, 300)); /* stored as 1 */
    struct eg_hash_iter it;
    assert_int_equal(eg_hash_index_first(&ix, 5, &it), 100);
    assert_int_equal(eg_hash_index_next(&ix, &it), 101);
    assert_int_equal(eg_hash_index_next(&ix, &it), EG_HASH_NONE);
    assert_int_equal(eg_hash_index_next(&ix, &it), EG_HASH_NONE);
    assert_int_equal(eg_hash_index_first(&ix, 21, &it), 200);
    assert_int_equal(eg_hash_index_first(&ix, 0, &it), 300);
    assert_int_equal(eg_hash_index_first(&ix, 37, &it), EG_HASH_NONE);
    /* Slots read: 5 at 5; on to 7; the free 8; 21 from 5; 0 (as 1) at 1; 37 from 5 to 8. */
    assert_int_equal(ix.stats.probes, 1 + 2 + 1 + 2 + 1 + 4);

    assert_false(eg_hash_index_remove(&ix, 5, 999));
    assert_true(eg_hash_index_remove(&ix, 5, 100));
    assert_int_equal(eg_hash_index_first(&ix, 5, &it), 101);
    assert_int_equal(eg_hash_index_next(&ix, &it), EG_HASH_NONE);
    assert_int_equal(eg_hash_index_first(&ix, 21, &it), 200);
    assert_int_equal(ix.count, 3);
    check_invariants(&ix);
    /* A map keeps a hash's low 32 bits: one with other high bits is one more candidate. */
    assert_true(eg_hash_index_insert(&ix, 1ULL << 40 | 5, 102));
    assert_int_equal(eg_hash_index_first(&ix, 5, &it), 101);
    assert_int_equal(eg_hash_index_next(&ix, &it), 102);
    eg_hash_index_prefault(&ix); /* pages in, contents untouched */
    assert_int_equal(eg_hash_index_first(&ix, 1ULL << 40 | 5, &it), 101);
    assert_int_equal(ix.count, 4);
    eg_hash_index_destroy(&ix);
}

/* A run that wraps past the last slot is shifted back across the wrap on removal. */
static void removal_shifts_back_across_the_wrap(void **state)
{
    (void)state;
    struct eg_hash_index ix;
    assert_int_equal(eg_hash_index_init(&ix, 8, 0, true), 0);
    /* homes 6, 6, 7, 6, 0: slots 6, 7, 0, 1, 2 */
    uint64_t h[] = {6, 14, 7, 22, 8};
    for (uint32_t i = 0; i < 5; i++)
        assert_true(eg_hash_index_insert(&ix, h[i], i));
    assert_int_equal(fp_at(&ix, 2), 8);
    assert_true(eg_hash_index_remove(&ix, 6, 0));
    check_invariants(&ix);
    struct eg_hash_iter it;
    for (uint32_t i = 1; i < 5; i++)
        assert_int_equal(eg_hash_index_first(&ix, h[i], &it), i);
    /* Every later member moved one back, across the wrap; nothing is left behind the run. */
    assert_int_equal(fp_at(&ix, 6), 14);
    assert_int_equal(fp_at(&ix, 7), 7);
    assert_int_equal(fp_at(&ix, 0), 22);
    assert_int_equal(fp_at(&ix, 1), 8);
    assert_int_equal(ix.slots[2], 0);
    for (uint32_t i = 1; i < 5; i++)
        assert_true(eg_hash_index_remove(&ix, h[i], i));
    for (uint32_t pos = 0; pos < 8; pos++)
        assert_int_equal(ix.slots[pos], 0);
    assert_int_equal(ix.count, 0);
    eg_hash_index_destroy(&ix);
}

/* With a bound, a full window refuses the insert; the caller may evict one of its slots. */
static void bound_refuses_and_window_evicts(void **state)
{
    (void)state;
    struct eg_hash_index ix;
    assert_int_equal(eg_hash_index_init(&ix, 64, 4, true), 0);
    for (uint32_t i = 0; i < 4; i++)
        assert_true(eg_hash_index_insert(&ix, 10 + 64 * i, i)); /* all at home 10 */
    assert_false(eg_hash_index_insert(&ix, 10 + 64 * 4, 4));
    assert_int_equal(ix.stats.full, 1);
    /* A lookup stops at the bound even though slot 14 is taken. */
    assert_true(eg_hash_index_insert(&ix, 14, 50));
    struct eg_hash_iter it;
    assert_int_equal(eg_hash_index_first(&ix, 10 + 64 * 4, &it), EG_HASH_NONE);
    assert_int_equal(ix.stats.probes, 4);

    /* The window of home 10 lists its four entries; replace the third. */
    uint32_t seen = 0;
    struct eg_hash_iter victim = {0};
    for (uint32_t e = eg_hash_index_window_first(&ix, 10 + 64 * 4, &it); e != EG_HASH_NONE;
         e = eg_hash_index_window_next(&ix, &it)) {
        assert_int_equal(e, seen);
        if (e == 2)
            victim = it;
        seen++;
    }
    assert_int_equal(seen, 4);
    eg_hash_index_replace_at(&ix, &victim, 4);
    assert_int_equal(eg_hash_index_first(&ix, 10 + 64 * 4, &it), 4);
    assert_int_equal(eg_hash_index_first(&ix, 10 + 64 * 2, &it), EG_HASH_NONE);
    assert_int_equal(eg_hash_index_first(&ix, 10 + 64 * 3, &it), 3);
    assert_int_equal(ix.count, 5);
    check_invariants(&ix);

    /* A window that is not full ends at its first free slot. */
    uint32_t n = 0;
    for (uint32_t e = eg_hash_index_window_first(&ix, 30, &it); e != EG_HASH_NONE;
         e = eg_hash_index_window_next(&ix, &it))
        n++;
    assert_int_equal(n, 0);
    eg_hash_index_destroy(&ix);
}

static void set_of_hashes(void **state)
{
    (void)state;
    struct eg_hash_index ix;
    assert_int_equal(eg_hash_index_init(&ix, 32, 8, false), 0);
    assert_true(ix.match == UINT64_MAX);
    struct eg_hash_iter it;
    uint64_t h = eg_hash_str("/etc/passwd");
    assert_int_equal(eg_hash_index_first(&ix, h, &it), EG_HASH_NONE);
    assert_true(eg_hash_index_insert(&ix, h, 0));
    assert_int_equal(eg_hash_index_first(&ix, h, &it), 0);
    /* A set keeps whole hashes: equal low bits are not a match. */
    assert_int_equal(eg_hash_index_first(&ix, h ^ (1ULL << 40), &it), EG_HASH_NONE);
    assert_true(eg_hash_index_remove(&ix, h, 12345)); /* a set has no entries to match */
    assert_int_equal(eg_hash_index_first(&ix, h, &it), EG_HASH_NONE);
    assert_int_equal(ix.count, 0);
    eg_hash_index_destroy(&ix);
}

/* ---- randomized, against a plain list ---------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/*
 * The caller's side: keys in an entry array, hashed with few bits so that different keys share
 * hashes (the index must hand every one to the compare) and home slots pile up.
 */
#define MODEL_KEYS 4096
struct model {
    uint64_t key[MODEL_KEYS]; /* by entry number; 0 free */
    uint32_t n_live;
};

static uint64_t weak_hash(uint64_t key, unsigned bits)
{
    uint64_t h = eg_hash_u64(key);
    return bits >= 64 ? h : h & ((1ULL << bits) - 1);
}

static uint32_t index_find(struct eg_hash_index *ix, const struct model *m, uint64_t key,
                           unsigned bits)
{
    struct eg_hash_iter it;
    for (uint32_t e = eg_hash_index_first(ix, weak_hash(key, bits), &it); e != EG_HASH_NONE;
         e = eg_hash_index_next(ix, &it))
        if (m->key[e] == key)
            return e;
    return EG_HASH_NONE;
}

static uint32_t model_find(const struct model *m, uint64_t key)
{
    for (uint32_t e = 0; e < MODEL_KEYS; e++)
        if (m->key[e] == key)
            return e;
    return EG_HASH_NONE;
}

/*
 * Random inserts, removals and lookups over a small key space (so keys come back after being
 * removed), with the table kept near `fill` of its slots: every answer equals the list's, and
 * the table's invariants hold throughout.
 */
static void random_run(uint32_t slots, uint32_t max_probe, unsigned hash_bits, uint32_t ops,
                       double fill, uint64_t seed)
{
    struct eg_hash_index ix;
    assert_int_equal(eg_hash_index_init(&ix, slots, max_probe, true), 0);
    struct model *m = calloc(1, sizeof(*m));
    assert_non_null(m);
    rng_state = seed;
    uint32_t target = (uint32_t)(slots * fill);
    uint64_t refused = 0;
    for (uint32_t op = 0; op < ops; op++) {
        uint64_t key = 1 + rnd() % (slots * 2);
        uint32_t want = model_find(m, key);
        assert_int_equal(index_find(&ix, m, key, hash_bits), want);
        bool grow = m->n_live < target ? rnd() % 4 != 0 : rnd() % 4 == 0;
        if (want == EG_HASH_NONE && grow) {
            uint32_t e = model_find(m, 0);
            if (e == EG_HASH_NONE || e >= slots)
                continue;
            if (!eg_hash_index_insert(&ix, weak_hash(key, hash_bits), e)) {
                refused++;
                continue;
            }
            m->key[e] = key;
            m->n_live++;
        } else if (want != EG_HASH_NONE && !grow) {
            assert_true(eg_hash_index_remove(&ix, weak_hash(key, hash_bits), want));
            m->key[want] = 0;
            m->n_live--;
        }
        if (op % 997 == 0)
            check_invariants(&ix);
    }
    check_invariants(&ix);
    assert_int_equal(ix.count, m->n_live);
    assert_int_equal(ix.stats.full, refused);
    if (max_probe == 0)
        assert_int_equal(refused, 0);
    /* Everything still in the list is found; emptying it empties the table. */
    for (uint32_t e = 0; e < MODEL_KEYS; e++) {
        if (!m->key[e])
            continue;
        assert_int_equal(index_find(&ix, m, m->key[e], hash_bits), e);
        assert_true(eg_hash_index_remove(&ix, weak_hash(m->key[e], hash_bits), e));
    }
    for (uint32_t pos = 0; pos <= ix.mask; pos++)
        assert_int_equal(ix.slots[pos], 0);
    free(m);
    eg_hash_index_destroy(&ix);
}

static void random_against_a_list(void **state)
{
    (void)state;
    random_run(1024, 0, 64, 200000, 0.5, 0x9e3779b97f4a7c15ULL);
    /* 8-bit hashes over 1024 slots: every hash shared by several keys, homes in the low 256 */
    random_run(1024, 0, 8, 100000, 0.5, 12345);
    /* nearly full, unbounded: long runs wrapping around the end */
    random_run(256, 0, 64, 100000, 0.97, 777);
    /* bounded: refusals counted, never a lost or phantom entry */
    random_run(512, 8, 64, 200000, 0.9, 4242);
    random_run(512, 4, 10, 100000, 0.8, 99);
}

/*
 * Delete-heavy churn: a table kept three quarters full through many times its size in
 * lifetimes. With tombstones every slot would end up marked and every miss would probe the
 * whole table; with backward shifting lookups stay short for good.
 */
static void churn_keeps_lookups_short(void **state)
{
    (void)state;
    enum { SLOTS = 4096, LIVE = SLOTS * 3 / 4, ROUNDS = SLOTS * 200 };
    struct eg_hash_index ix;
    assert_int_equal(eg_hash_index_init(&ix, SLOTS, 0, true), 0);
    uint64_t *keys = calloc(LIVE, sizeof(*keys));
    assert_non_null(keys);
    uint64_t next_key = 1;
    for (uint32_t e = 0; e < LIVE; e++) {
        keys[e] = next_key++;
        assert_true(eg_hash_index_insert(&ix, eg_hash_u64(keys[e]), e));
    }
    rng_state = 2024;
    for (uint32_t r = 0; r < ROUNDS; r++) {
        uint32_t e = (uint32_t)(rnd() % LIVE);
        assert_true(eg_hash_index_remove(&ix, eg_hash_u64(keys[e]), e));
        keys[e] = next_key++;
        assert_true(eg_hash_index_insert(&ix, eg_hash_u64(keys[e]), e));
    }
    check_invariants(&ix);
    /* Hits and misses now: linear probing at 3/4 load averages ~2.5 and ~8.5 slots. */
    struct eg_hash_iter it;
    uint64_t probes0 = ix.stats.probes;
    for (uint32_t e = 0; e < LIVE; e++) {
        uint32_t got = eg_hash_index_first(&ix, eg_hash_u64(keys[e]), &it);
        while (got != e && got != EG_HASH_NONE)
            got = eg_hash_index_next(&ix, &it);
        assert_int_equal(got, e);
    }
    double hit = (double)(ix.stats.probes - probes0) / LIVE;
    probes0 = ix.stats.probes;
    for (uint32_t i = 0; i < LIVE; i++)
        assert_int_equal(eg_hash_index_first(&ix, eg_hash_u64(next_key + i), &it), EG_HASH_NONE);
    double miss = (double)(ix.stats.probes - probes0) / LIVE;
    assert_true(hit < 4.0);
    assert_true(miss < 16.0);
    free(keys);
    eg_hash_index_destroy(&ix);
}

/* Numbers given back are reused first, newest first; then the lowest never taken. */
static void entry_pool_reuses_before_growing(void **state)
{
    (void)state;
    struct eg_entry_pool p;
    assert_int_equal(eg_entry_pool_init(&p, 0), -1);
    eg_entry_pool_destroy(&p);
    assert_int_equal(eg_entry_pool_init(&p, 3), 0);
    assert_int_equal(eg_entry_pool_peek(&p), 0);
    assert_int_equal(eg_entry_pool_take(&p), 0);
    assert_int_equal(eg_entry_pool_take(&p), 1);
    eg_entry_pool_give(&p, 0);
    eg_entry_pool_give(&p, 1);
    assert_int_equal(eg_entry_pool_peek(&p), 1);
    assert_int_equal(eg_entry_pool_take(&p), 1);
    assert_int_equal(eg_entry_pool_take(&p), 0);
    assert_int_equal(eg_entry_pool_take(&p), 2);
    assert_int_equal(p.high, 3);
    assert_int_equal(eg_entry_pool_peek(&p), EG_HASH_NONE);
    assert_int_equal(eg_entry_pool_take(&p), EG_HASH_NONE);
    eg_entry_pool_give(&p, 2);
    assert_int_equal(eg_entry_pool_take(&p), 2);
    eg_entry_pool_destroy(&p);
}

/* Every byte of a key, and its length, moves the hash; unaligned input reads the same. */
static void byte_hash_sees_every_byte_and_the_length(void **state)
{
    (void)state;
    unsigned char buf[40] = {0}, shifted[41] = {0};
    uint64_t zeros[25];
    for (size_t n = 0; n <= 24; n++) {
        zeros[n] = eg_hash_bytes(buf, n);
        for (size_t m = 0; m < n; m++)
            assert_int_not_equal(zeros[n], zeros[m]);
    }
    for (size_t n = 1; n <= 33; n++) {
        for (size_t i = 0; i < n; i++) {
            memset(buf, 'a', n);
            uint64_t before = eg_hash_bytes(buf, n);
            buf[i] ^= 1;
            assert_int_not_equal(eg_hash_bytes(buf, n), before);
            memcpy(shifted + 1, buf, n);
            assert_int_equal(eg_hash_bytes(shifted + 1, n), eg_hash_bytes(buf, n));
        }
    }
    assert_int_equal(eg_hash_str("ecs/task"), eg_hash_bytes("ecs/task", 8));
}

/*
 * Keys that differ little (consecutive numbers in text, one path component) fill the low bits
 * evenly: over 1,024 buckets, no bucket holds more than three times its share.
 */
static void hashes_spread_over_the_low_bits(void **state)
{
    (void)state;
    enum { BUCKETS = 1024, KEYS = BUCKETS * 16 };
    static uint32_t count[3][BUCKETS];
    memset(count, 0, sizeof(count));
    char key[128];
    for (uint32_t i = 0; i < KEYS; i++) {
        snprintf(key, sizeof(key), "%u|%064u|/ecs/task/%u", 21, i, i % 7);
        count[0][eg_hash_str(key) & (BUCKETS - 1)]++;
        snprintf(key, sizeof(key), "/usr/lib/libfile-%u.so", i);
        count[1][eg_hash_str(key) & (BUCKETS - 1)]++;
        uint64_t words[4] = {100000 + i / 64, i % 64, 21, 0};
        count[2][eg_hash_bytes(words, sizeof(words)) & (BUCKETS - 1)]++;
    }
    for (int k = 0; k < 3; k++)
        for (uint32_t b = 0; b < BUCKETS; b++)
            assert_true(count[k][b] <= 3 * KEYS / BUCKETS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(init_rejects_bad_sizes),
        cmocka_unit_test(equal_hashes_are_walked_in_turn),
        cmocka_unit_test(removal_shifts_back_across_the_wrap),
        cmocka_unit_test(bound_refuses_and_window_evicts),
        cmocka_unit_test(set_of_hashes),
        cmocka_unit_test(random_against_a_list),
        cmocka_unit_test(churn_keeps_lookups_short),
        cmocka_unit_test(entry_pool_reuses_before_growing),
        cmocka_unit_test(byte_hash_sees_every_byte_and_the_length),
        cmocka_unit_test(hashes_spread_over_the_low_bits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
