/*
 * pool.c - fixed-size blocks. A pool hands out never-used blocks in address
 * order (so a zero-initialised pool needs no init), and reuses freed blocks
 * through a free list threaded through their first word, most recent first.
 * The allocation map (one bit per block) makes every free exactly checked.
 */
#include "keel/mem.h"

static inline size_t block_index(const keel_pool *pool, const void *ptr, bool *exact) {
    size_t offset = (size_t)((const unsigned char *)ptr - pool->blocks);
    *exact = offset % pool->stride == 0;
    return offset / pool->stride;
}

static inline bool in_pool(const keel_pool *pool, const void *ptr) {
    /* Integer comparison: ptr may point anywhere, even outside any object. */
    uintptr_t c = (uintptr_t)ptr, first = (uintptr_t)pool->blocks;
    return c >= first && c - first < pool->capacity * pool->stride;
}

static inline bool is_used(const keel_pool *pool, size_t i) {
    return (pool->used_map[i / 64] >> (i % 64)) & 1u;
}

keel_status keel_pool_init(keel_pool *pool, void *region, size_t region_size, size_t block_size) {
    if (pool == NULL || region == NULL) {
        return KEEL_EINVAL;
    }
    if (((uintptr_t)region & (KEEL_POOL_ALIGN - 1)) != 0) {
        return KEEL_EALIGN;
    }
    if (block_size == 0 || block_size > SIZE_MAX / 256) {
        return KEEL_ERANGE;
    }
    size_t stride = KEEL_POOL_STRIDE(block_size);
    /* Each group of 64 blocks needs 64 strides and one map word. */
    size_t group = 64 * stride + sizeof(uint64_t);
    size_t count = region_size / group * 64;
    size_t rest = region_size % group;
    if (rest >= sizeof(uint64_t) + stride) {
        count += (rest - sizeof(uint64_t)) / stride;
    }
    if (count == 0) {
        return KEEL_ETOOSMALL;
    }
    uint64_t *map = (uint64_t *)((unsigned char *)region + count * stride);
    for (size_t w = 0; w < (count + 63) / 64; w++) {
        map[w] = 0;
    }
    *pool = (keel_pool)KEEL_POOL_INITIALIZER((unsigned char *)region, map, block_size, count);
    return KEEL_OK;
}

keel_status keel_pool_alloc(keel_pool *pool, void **out) {
    if (pool == NULL || out == NULL) {
        return KEEL_EINVAL;
    }
    void *block = pool->free_list;
    if (block != NULL) {
        pool->free_list = *(void **)block;
    } else if (pool->untouched < pool->capacity) {
        block = pool->blocks + pool->untouched * pool->stride;
        pool->untouched++;
    } else {
        *out = NULL;
        pool->failed++;
        return KEEL_ENOMEM;
    }
    bool exact;
    size_t i = block_index(pool, block, &exact);
    pool->used_map[i / 64] |= (uint64_t)1 << (i % 64);
    if (++pool->in_use > pool->peak_in_use) {
        pool->peak_in_use = pool->in_use;
    }
    *out = block;
    return KEEL_OK;
}

keel_status keel_pool_free(keel_pool *pool, void *block) {
    if (pool == NULL || block == NULL) {
        return KEEL_EINVAL;
    }
    if (!in_pool(pool, block)) {
        return KEEL_ENOTOWNED;
    }
    bool exact;
    size_t i = block_index(pool, block, &exact);
    if (!exact) {
        return KEEL_ENOTOWNED;
    }
    if (!is_used(pool, i)) {
        return KEEL_EDOUBLEFREE;
    }
    pool->used_map[i / 64] &= ~((uint64_t)1 << (i % 64));
    *(void **)block = pool->free_list;
    pool->free_list = block;
    pool->in_use--;
    return KEEL_OK;
}

bool keel_pool_owns(const keel_pool *pool, const void *ptr) {
    if (pool == NULL || ptr == NULL || !in_pool(pool, ptr)) {
        return false;
    }
    bool exact;
    (void)block_index(pool, ptr, &exact);
    return exact;
}

void keel_pool_get_stats(const keel_pool *pool, keel_pool_stats *out) {
    if (out == NULL) {
        return;
    }
    if (pool == NULL) {
        *out = (keel_pool_stats){0};
        return;
    }
    *out = (keel_pool_stats){.block_size = pool->block_size,
                             .stride = pool->stride,
                             .capacity = pool->capacity,
                             .in_use = pool->in_use,
                             .peak_in_use = pool->peak_in_use,
                             .failed = pool->failed};
}

keel_status keel_pool_check(const keel_pool *pool) {
    if (pool == NULL) {
        return KEEL_EINVAL;
    }
    if (pool->untouched > pool->capacity || pool->in_use > pool->untouched ||
        pool->peak_in_use < pool->in_use || pool->stride < pool->block_size ||
        pool->stride % KEEL_POOL_ALIGN != 0) {
        return KEEL_ECORRUPT;
    }
    /* Every listed block lies among the touched blocks, is block-aligned and is
     * marked free; the list is acyclic (bounded by the number of touched blocks). */
    size_t listed = 0;
    for (const void *b = pool->free_list; b != NULL; b = *(void *const *)b) {
        bool exact;
        if (!in_pool(pool, b) || ++listed > pool->untouched) {
            return KEEL_ECORRUPT;
        }
        size_t i = block_index(pool, b, &exact);
        if (!exact || i >= pool->untouched || is_used(pool, i)) {
            return KEEL_ECORRUPT;
        }
    }
    size_t marked = 0;
    for (size_t w = 0; w < (pool->capacity + 63) / 64; w++) {
        marked += (size_t)__builtin_popcountll(pool->used_map[w]);
    }
    if (marked != pool->in_use || listed + pool->in_use != pool->untouched) {
        return KEEL_ECORRUPT;
    }
    return KEEL_OK;
}
