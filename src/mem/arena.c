/*
 * arena.c - bump allocation. An arena is a region and an offset: allocation
 * aligns the offset and advances it, a mark is the offset, release restores it.
 * Every operation is a handful of arithmetic steps, overflow-checked.
 */
#include "keel/mem.h"

keel_status keel_arena_init(keel_arena *arena, void *region, size_t size) {
    if (arena == NULL || region == NULL) {
        return KEEL_EINVAL;
    }
    if (size == 0) {
        return KEEL_ETOOSMALL;
    }
    *arena = (keel_arena){.base = region, .size = size};
    return KEEL_OK;
}

keel_status keel_arena_alloc(keel_arena *arena, size_t size, size_t align, void **out) {
    if (out != NULL) {
        *out = NULL;
    }
    if (arena == NULL || out == NULL) {
        return KEEL_EINVAL;
    }
    if (size == 0) {
        arena->failed++;
        return KEEL_ERANGE;
    }
    if (align == 0 || (align & (align - 1)) != 0) {
        arena->failed++;
        return KEEL_EALIGN;
    }
    /* Padding to align the absolute address; (align - 1) - ((addr - 1) mod align)
     * never overflows, and both comparisons below stay within size. */
    uintptr_t next = (uintptr_t)arena->base + arena->used;
    size_t pad = (size_t)((align - (next & (align - 1))) & (align - 1));
    size_t left = arena->size - arena->used;
    if (pad > left || size > left - pad) {
        arena->failed++;
        return KEEL_ENOMEM;
    }
    *out = arena->base + arena->used + pad;
    arena->used += pad + size;
    if (arena->used > arena->peak) {
        arena->peak = arena->used;
    }
    return KEEL_OK;
}

keel_arena_mark keel_arena_get_mark(const keel_arena *arena) {
    return (keel_arena_mark){.offset = arena == NULL ? 0 : arena->used};
}

keel_status keel_arena_release(keel_arena *arena, keel_arena_mark mark) {
    if (arena == NULL) {
        return KEEL_EINVAL;
    }
    if (mark.offset > arena->used) {
        return KEEL_ESTALE;
    }
    arena->used = mark.offset;
    return KEEL_OK;
}

void keel_arena_reset(keel_arena *arena) {
    if (arena != NULL) {
        arena->used = 0;
    }
}

size_t keel_arena_remaining(const keel_arena *arena) {
    return arena == NULL ? 0 : arena->size - arena->used;
}

void keel_arena_get_stats(const keel_arena *arena, keel_arena_stats *out) {
    if (out == NULL) {
        return;
    }
    if (arena == NULL) {
        *out = (keel_arena_stats){0};
        return;
    }
    *out = (keel_arena_stats){
        .size = arena->size, .used = arena->used, .peak = arena->peak, .failed = arena->failed};
}
