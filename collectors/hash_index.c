#include "collectors/hash_index.h"

#include <stdlib.h>
#include <string.h>

int eg_hash_index_init(struct eg_hash_index *ix, uint32_t slots, uint32_t max_probe,
                       bool with_entries)
{
    memset(ix, 0, sizeof(*ix));
    if (slots < 2 || (slots & (slots - 1)) != 0)
        return -1;
    /* calloc: the pages of a large index become resident only as slots are used. */
    ix->slots = calloc(slots, sizeof(*ix->slots));
    if (!ix->slots)
        return -1;
    ix->match = with_entries ? UINT32_MAX : UINT64_MAX;
    ix->entry_mask = with_entries ? UINT32_MAX : 0;
    ix->mask = slots - 1;
    ix->max_probe = max_probe == 0 || max_probe > slots ? slots : max_probe;
    return 0;
}

void eg_hash_index_destroy(struct eg_hash_index *ix)
{
    free(ix->slots);
    memset(ix, 0, sizeof(*ix));
}

void eg_hash_index_prefault(struct eg_hash_index *ix)
{
    /* One write every 4 KiB (the smallest page) of what is there: contents unchanged. */
    volatile uint64_t *s = ix->slots;
    size_t n = (size_t)ix->mask + 1, step = 4096 / sizeof(*ix->slots);
    for (size_t i = 0; s && i < n; i += step)
        s[i] = s[i];
}

/* The word a slot holds for `want` and `entry`. */
static uint64_t slot_word(const struct eg_hash_index *ix, uint64_t want, uint32_t entry)
{
    return ix->match == UINT64_MAX ? want : (uint64_t)entry << 32 | want;
}

bool eg_hash_index_insert(struct eg_hash_index *ix, uint64_t hash, uint32_t entry)
{
    uint64_t want = eg_hash_index_want(ix, hash);
    uint32_t pos = (uint32_t)want & ix->mask;
    for (uint32_t i = 0; i < ix->max_probe; i++, pos = (pos + 1) & ix->mask) {
        if (ix->slots[pos] != 0)
            continue;
        ix->slots[pos] = slot_word(ix, want, entry);
        ix->count++;
        ix->stats.inserts++;
        return true;
    }
    ix->stats.full++;
    return false;
}

void eg_hash_index_remove_at(struct eg_hash_index *ix, const struct eg_hash_iter *it)
{
    uint64_t *slots = ix->slots;
    uint32_t hole = it->pos;
    slots[hole] = 0;
    /*
     * Move later members of the run into the hole unless that would put one before its home:
     * an entry at j whose home lies cyclically in (hole, j] stays. There is always a free slot
     * (the hole), so the walk ends. A slot's low bits are its hash's, so its home is known.
     */
    for (uint32_t j = (hole + 1) & ix->mask; slots[j] != 0; j = (j + 1) & ix->mask) {
        uint32_t home = (uint32_t)slots[j] & ix->mask;
        bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (stays)
            continue;
        slots[hole] = slots[j];
        slots[j] = 0;
        hole = j;
    }
    ix->count--;
    ix->stats.removes++;
}

bool eg_hash_index_remove(struct eg_hash_index *ix, uint64_t hash, uint32_t entry)
{
    struct eg_hash_iter it;
    for (uint32_t e = eg_hash_index_first(ix, hash, &it); e != EG_HASH_NONE;
         e = eg_hash_index_next(ix, &it)) {
        if (ix->match == UINT64_MAX || e == entry) {
            eg_hash_index_remove_at(ix, &it);
            return true;
        }
    }
    return false;
}

/* The slot at it->pos when taken and still within the bound, else EG_HASH_NONE. */
static uint32_t window_here(struct eg_hash_index *ix, struct eg_hash_iter *it)
{
    if (it->left == 0 || ix->slots[it->pos] == 0) {
        it->left = 0;
        return EG_HASH_NONE;
    }
    it->left--;
    return eg_hash_index_at(ix, it);
}

uint32_t eg_hash_index_window_first(struct eg_hash_index *ix, uint64_t hash,
                                    struct eg_hash_iter *it)
{
    it->want = eg_hash_index_want(ix, hash);
    it->pos = (uint32_t)it->want & ix->mask;
    it->left = ix->max_probe;
    return window_here(ix, it);
}

uint32_t eg_hash_index_window_next(struct eg_hash_index *ix, struct eg_hash_iter *it)
{
    if (it->left == 0)
        return EG_HASH_NONE;
    it->pos = (it->pos + 1) & ix->mask;
    return window_here(ix, it);
}

void eg_hash_index_replace_at(struct eg_hash_index *ix, const struct eg_hash_iter *it,
                              uint32_t entry)
{
    ix->slots[it->pos] = slot_word(ix, it->want, entry);
    ix->stats.removes++;
    ix->stats.inserts++;
}

int eg_entry_pool_init(struct eg_entry_pool *p, uint32_t capacity)
{
    memset(p, 0, sizeof(*p));
    p->free = capacity ? calloc(capacity, sizeof(*p->free)) : NULL;
    if (!p->free)
        return -1;
    p->capacity = capacity;
    return 0;
}

void eg_entry_pool_destroy(struct eg_entry_pool *p)
{
    free(p->free);
    memset(p, 0, sizeof(*p));
}

uint32_t eg_entry_pool_take(struct eg_entry_pool *p)
{
    if (p->n_free > 0)
        return p->free[--p->n_free];
    return p->high < p->capacity ? p->high++ : EG_HASH_NONE;
}

void eg_entry_pool_give(struct eg_entry_pool *p, uint32_t entry)
{
    p->free[p->n_free++] = entry;
}
