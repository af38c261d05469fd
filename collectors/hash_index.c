#include "collectors/hash_index.h"

#include <stdlib.h>
#include <string.h>

int eg_hash_index_init(struct eg_hash_index *ix, uint32_t slots, uint32_t max_probe,
                       bool with_entries)
{
    memset(ix, 0, sizeof(*ix));
    if (slots < 2 || (slots & (slots - 1)) != 0)
        return -1;
    /* calloc: the pages of a large table become resident only as slots are used. */
    ix->hashes = calloc(slots, sizeof(*ix->hashes));
    ix->entries = with_entries ? calloc(slots, sizeof(*ix->entries)) : NULL;
    if (!ix->hashes || (with_entries && !ix->entries)) {
        eg_hash_index_destroy(ix);
        return -1;
    }
    ix->mask = slots - 1;
    ix->max_probe = max_probe == 0 || max_probe > slots ? slots : max_probe;
    return 0;
}

void eg_hash_index_destroy(struct eg_hash_index *ix)
{
    free(ix->hashes);
    free(ix->entries);
    memset(ix, 0, sizeof(*ix));
}

bool eg_hash_index_insert(struct eg_hash_index *ix, uint64_t hash, uint32_t entry)
{
    uint64_t h = eg_hash_index_stored(hash);
    uint32_t pos = (uint32_t)h & ix->mask;
    for (uint32_t i = 0; i < ix->max_probe; i++, pos = (pos + 1) & ix->mask) {
        if (ix->hashes[pos] != 0)
            continue;
        ix->hashes[pos] = h;
        if (ix->entries)
            ix->entries[pos] = entry;
        ix->count++;
        ix->stats.inserts++;
        return true;
    }
    ix->stats.full++;
    return false;
}

void eg_hash_index_remove_at(struct eg_hash_index *ix, const struct eg_hash_iter *it)
{
    uint32_t hole = it->pos;
    ix->hashes[hole] = 0;
    /*
     * Move later members of the run into the hole unless that would put one before its home:
     * an entry at j whose home lies cyclically in (hole, j] stays. There is always a free slot
     * (the hole), so the walk ends.
     */
    for (uint32_t j = (hole + 1) & ix->mask; ix->hashes[j] != 0; j = (j + 1) & ix->mask) {
        uint32_t home = (uint32_t)ix->hashes[j] & ix->mask;
        bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (stays)
            continue;
        ix->hashes[hole] = ix->hashes[j];
        if (ix->entries)
            ix->entries[hole] = ix->entries[j];
        ix->hashes[j] = 0;
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
        if (!ix->entries || e == entry) {
            eg_hash_index_remove_at(ix, &it);
            return true;
        }
    }
    return false;
}

/* The slot at it->pos when taken and still within the bound, else EG_HASH_NONE. */
static uint32_t window_here(struct eg_hash_index *ix, struct eg_hash_iter *it)
{
    if (it->left == 0 || ix->hashes[it->pos] == 0) {
        it->left = 0;
        return EG_HASH_NONE;
    }
    it->left--;
    return eg_hash_index_at(ix, it);
}

uint32_t eg_hash_index_window_first(struct eg_hash_index *ix, uint64_t hash,
                                    struct eg_hash_iter *it)
{
    it->hash = eg_hash_index_stored(hash);
    it->pos = (uint32_t)it->hash & ix->mask;
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
    ix->hashes[it->pos] = it->hash;
    if (ix->entries)
        ix->entries[it->pos] = entry;
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
