/*
 * The one hash table of the agent: an open-addressing index from a 64-bit hash (collectors/hash.h)
 * to an entry number in the caller's own array. The index never sees a key: a lookup walks the
 * slots whose stored hash matches the one asked for (first/next) and the caller compares its own
 * key at each, so one table serves cgroup ids, processes, container ids, finding keys and the
 * detectors' kernel dedup keys without callbacks or key copies. A set of hashes (no entries, the
 * hash is the whole key) is the same index without entries.
 *
 * One 8-byte word a slot: for a map, the entry number above the hash's low 32 bits (the caller
 * compares its key, so 32 bits only need to make a wrong candidate rare); for a set, the whole
 * hash. A probe reads one word, and only the caller's entry array holds anything larger: the
 * process table's index is 512 KiB, where a hash array beside an entry array took 768 KiB.
 *
 * Linear probing from `hash & (slots - 1)`, at most `max_probe` slots from there (0: no bound).
 * Removal shifts the rest of the probe run back instead of leaving a tombstone: tombstones only
 * ever accumulated in the tables this replaces, until every miss probed the whole table. A
 * shifted entry only moves towards its home slot, so the probe bound keeps holding.
 *
 * Everything is allocated by eg_hash_index_init; nothing after it allocates. A zero word marks a
 * free slot, so a hash whose compared bits are 0 is stored as 1 (one more collision, never a
 * wrong answer: the caller compares its key).
 */
#ifndef ECSGUARD_COLLECTORS_HASH_INDEX_H
#define ECSGUARD_COLLECTORS_HASH_INDEX_H

#include <stdbool.h>
#include <stdint.h>

#define EG_HASH_NONE UINT32_MAX /* no (further) entry */

struct eg_hash_index_stats {
    uint64_t probes; /* slots visited to find a hash (lookups, their next steps, removals) */
    uint64_t inserts, removes;
    uint64_t full; /* inserts refused: no free slot within the probe bound */
};

struct eg_hash_index {
    uint64_t *slots;     /* 0 free; a map: entry << 32 | hash low 32 bits; a set: the hash */
    uint64_t match;      /* the bits of a slot a lookup compares: the low 32, or all for a set */
    uint32_t entry_mask; /* the entry bits above them: all for a map, none for a set */
    uint32_t mask;       /* slots - 1 */
    uint32_t max_probe;
    uint32_t count;
    struct eg_hash_index_stats stats;
};

/* Where a lookup stands: the slot it last returned and how many more the bound allows. */
struct eg_hash_iter {
    uint64_t want; /* the compared bits of a matching slot */
    uint32_t pos;
    uint32_t left;
};

/*
 * `slots`: a power of two, at least 2 (an entry table is expected to hold at most that many
 * entries). `max_probe`: the longest probe run, 0 for none. `with_entries`: false for a set of
 * hashes. 0, or -1 (bad size, out of memory; the index is then empty and safe to destroy).
 */
int eg_hash_index_init(struct eg_hash_index *ix, uint32_t slots, uint32_t max_probe,
                       bool with_entries);
/* Frees the slots; also fine on a zeroed, never initialised index. */
void eg_hash_index_destroy(struct eg_hash_index *ix);
/*
 * Fault every page of the slots in now. For an index whose every page any host soon writes
 * (the process table's: tgids spread over all of it), so the first events of new processes do
 * not each take a page fault in the agent; other indexes stay resident only as far as used.
 */
void eg_hash_index_prefault(struct eg_hash_index *ix);

/* What a slot holding `hash` compares equal to (never 0). */
static inline uint64_t eg_hash_index_want(const struct eg_hash_index *ix, uint64_t hash)
{
    uint64_t want = hash & ix->match;
    return want ? want : 1;
}

/* The entry in the slot `it` points at (0 in a set of hashes). */
static inline uint32_t eg_hash_index_at(const struct eg_hash_index *ix,
                                        const struct eg_hash_iter *it)
{
    return (uint32_t)(ix->slots[it->pos] >> 32) & ix->entry_mask;
}

/* From it->pos (included) on: the next slot holding it->want, within the bound. */
static inline uint32_t eg_hash_index_scan(struct eg_hash_index *ix, struct eg_hash_iter *it)
{
    const uint64_t *slots = ix->slots;
    uint64_t match = ix->match, want = it->want;
    uint32_t mask = ix->mask, pos = it->pos, left = it->left;
    for (; left > 0; left--, pos = (pos + 1) & mask) {
        uint64_t slot = slots[pos];
        if ((slot & match) == want) {
            ix->stats.probes += it->left - left + 1;
            it->pos = pos;
            it->left = left - 1;
            return (uint32_t)(slot >> 32) & ix->entry_mask;
        }
        if (slot == 0)
            break;
    }
    /* Slots read: up to the bound, or up to and including the free one. */
    ix->stats.probes += it->left - left + (left > 0);
    it->left = 0;
    return EG_HASH_NONE;
}

/*
 * The first entry stored under `hash`, or EG_HASH_NONE. Entries under one hash come in insertion
 * order unless a removal moved them; the caller compares its key and asks for the next.
 */
static inline uint32_t eg_hash_index_first(struct eg_hash_index *ix, uint64_t hash,
                                           struct eg_hash_iter *it)
{
    it->want = eg_hash_index_want(ix, hash);
    it->pos = (uint32_t)it->want & ix->mask;
    it->left = ix->max_probe;
    return eg_hash_index_scan(ix, it);
}

/* The next entry stored under the same hash as the last one `it` returned, or EG_HASH_NONE. */
static inline uint32_t eg_hash_index_next(struct eg_hash_index *ix, struct eg_hash_iter *it)
{
    if (it->left == 0)
        return EG_HASH_NONE;
    it->pos = (it->pos + 1) & ix->mask;
    return eg_hash_index_scan(ix, it);
}

/*
 * Add `entry` under `hash` (entries are not checked for duplicates: look up first). False when
 * no slot within the probe bound is free (counted in stats.full).
 */
bool eg_hash_index_insert(struct eg_hash_index *ix, uint64_t hash, uint32_t entry);

/* Remove the slot `it` last returned (first/next/window); `it` is spent. */
void eg_hash_index_remove_at(struct eg_hash_index *ix, const struct eg_hash_iter *it);

/* Remove `entry` stored under `hash` (in a set: the hash). False when it is not there. */
bool eg_hash_index_remove(struct eg_hash_index *ix, uint64_t hash, uint32_t entry);

/*
 * Bounded eviction: when an insert was refused, every slot of `hash`'s probe window is taken.
 * window_first/next return the entries in those slots (whatever their hash), nearest first, up
 * to the bound or a free slot; eg_hash_index_replace_at puts `entry` under that hash into the
 * slot `it` stands at, in place of the victim the caller chose there. Every slot before it in
 * the window is taken, so the new entry is found by lookups like any other.
 */
uint32_t eg_hash_index_window_first(struct eg_hash_index *ix, uint64_t hash,
                                    struct eg_hash_iter *it);
uint32_t eg_hash_index_window_next(struct eg_hash_index *ix, struct eg_hash_iter *it);
void eg_hash_index_replace_at(struct eg_hash_index *ix, const struct eg_hash_iter *it,
                              uint32_t entry);

/*
 * The entry numbers of a table whose entries come and go: a number given back is reused first
 * (the most recent first), else the lowest never used, so the used part of the caller's array
 * stays at the front and walks over it stop at `high`. Allocated by init; nothing after.
 */
struct eg_entry_pool {
    uint32_t *free; /* numbers given back */
    uint32_t n_free;
    uint32_t high; /* numbers at and above this were never taken */
    uint32_t capacity;
};

/* 0, or -1 (capacity 0, out of memory; the pool is then empty and safe to destroy). */
int eg_entry_pool_init(struct eg_entry_pool *p, uint32_t capacity);
/* Also fine on a zeroed, never initialised pool. */
void eg_entry_pool_destroy(struct eg_entry_pool *p);

/* The number eg_entry_pool_take would return, or EG_HASH_NONE when every one is taken. */
static inline uint32_t eg_entry_pool_peek(const struct eg_entry_pool *p)
{
    if (p->n_free > 0)
        return p->free[p->n_free - 1];
    return p->high < p->capacity ? p->high : EG_HASH_NONE;
}

/* A free number, now taken, or EG_HASH_NONE. */
uint32_t eg_entry_pool_take(struct eg_entry_pool *p);
/* Give back a taken number. */
void eg_entry_pool_give(struct eg_entry_pool *p, uint32_t entry);

#endif
