/*
 * heap_check.c - keel_heap_check: verifies every heap invariant and names the
 * first one broken. Reads only; every walk is bounded by the number of blocks the
 * arena can hold, so a corrupted (even cyclic) list cannot make it loop forever.
 */
#include "mem/heap_layout.h"

static keel_status fail(keel_heap_fault *fault, const char *invariant, const void *address) {
    if (fault != NULL) {
        fault->invariant = invariant;
        fault->address = address;
    }
    return KEEL_ECORRUPT;
}

static int in_arena(const keel_heap *heap, const block *b) {
    /* Integer comparison: b may point anywhere, even outside any object. */
    uintptr_t c = (uintptr_t)b;
    return c >= (uintptr_t)heap->arena && c < (uintptr_t)heap->arena_end &&
           (c & (GRANULE - 1)) == 0;
}

/* The physical walk: tiling, flags, coalescing, block-start bits, accounting. */
static keel_status check_blocks(const keel_heap *heap, keel_heap_fault *fault, size_t *free_count) {
    const block *prev = NULL;
    int prev_free = 0;
    size_t in_use = 0, live = 0, frees = 0;
    const block *b = (const block *)heap->arena;
    while ((const unsigned char *)b != heap->arena_end) {
        size_t size = block_size(b);
        if (size < MIN_BLOCK || size > (size_t)(heap->arena_end - (const unsigned char *)b)) {
            return fail(fault, "block size is below the minimum or runs past the arena", b);
        }
        if (((b->size_flags & FLAG_PREV_FREE) != 0) != prev_free) {
            return fail(fault, "PREV_FREE flag disagrees with the previous block", b);
        }
        if (prev_free && b->prev_phys != prev) {
            return fail(fault, "prev_phys does not point at the free previous block", b);
        }
        if (!start_test(heap, b)) {
            return fail(fault, "block is not marked in the block-start map", b);
        }
        if (block_is_free(b)) {
            if (prev_free) {
                return fail(fault, "two adjacent free blocks (missed coalescing)", b);
            }
            frees++;
        } else {
            in_use += size;
            live++;
        }
        prev = b;
        prev_free = block_is_free(b);
        b = block_next(b);
    }
    if (block_size(b) != 0 || block_is_free(b)) {
        return fail(fault, "sentinel block is damaged", b);
    }
    if (((b->size_flags & FLAG_PREV_FREE) != 0) != prev_free ||
        (prev_free && b->prev_phys != prev)) {
        return fail(fault, "sentinel's PREV_FREE flag or prev_phys is wrong", b);
    }
    size_t marked = 0;
    for (size_t w = 0; w < map_words(heap); w++) {
        marked += (size_t)__builtin_popcount(map_bits(heap, w));
    }
    if (marked != live + frees) {
        return fail(fault, "block-start map marks a position where no block starts", NULL);
    }
    if (heap->frees > heap->allocations || in_use != heap->in_use ||
        live != heap->allocations - heap->frees) {
        return fail(fault, "accounting (bytes or blocks in use) disagrees with the blocks", NULL);
    }
    if (heap->peak_in_use < heap->in_use) {
        return fail(fault, "peak in use is below current use", NULL);
    }
    *free_count = frees;
    return KEEL_OK;
}

/* The free lists: classes, links, bitmaps; each listed block is a real free block. */
static keel_status check_lists(const keel_heap *heap, keel_heap_fault *fault, size_t free_count) {
    size_t listed = 0;
    size_t max_blocks = heap->capacity / MIN_BLOCK + 1;
    for (unsigned f = 0; f < FL_ROWS_MAX; f++) {
        int row_bit = (int)((heap->fl_bitmap >> f) & 1u);
        if (row_bit != (heap->sl_bitmap[f] != 0)) {
            return fail(fault, "first-level bit disagrees with its second-level row", NULL);
        }
        if (f >= heap->fl_count) {
            if (heap->sl_bitmap[f] != 0) {
                return fail(fault, "a class bit is set beyond the heap's rows", NULL);
            }
            continue;
        }
        for (unsigned s = 0; s < SL_COUNT; s++) {
            if (((heap->sl_bitmap[f] >> s) & 1u) == 0) {
                continue; /* an empty list: its head is stale (heap_layout.h) */
            }
            const block *head = heap->heads[f * SL_COUNT + s];
            if (head == &heap->null_block) {
                return fail(fault, "class bit set for an empty free list", NULL);
            }
            block *const *expected_pprev = &heap->heads[f * SL_COUNT + s];
            for (const block *b = head; b != &heap->null_block; b = b->next_free) {
                if (++listed > max_blocks) {
                    return fail(fault, "free lists hold more blocks than fit (a cycle)", b);
                }
                if (!in_arena(heap, b) || !start_test(heap, b) || !block_is_free(b)) {
                    return fail(fault, "free list links to something that is not a free block", b);
                }
                unsigned fl, sl;
                size_class(block_size(b), &fl, &sl);
                if (fl != f || sl != s) {
                    return fail(fault, "free block is on the list of another size class", b);
                }
                if (b->pprev != expected_pprev) {
                    return fail(fault, "free list's back link is broken", b);
                }
                if (block_size(b) > (size_t)(heap->arena_end - (const unsigned char *)b) ||
                    block_next(b)->prev_phys != b) {
                    return fail(fault, "listed block is not a block start", b);
                }
                expected_pprev = &b->next_free;
            }
        }
    }
    if (listed != free_count) {
        return fail(fault, "free lists and the free blocks in the arena differ in number", NULL);
    }
    return KEEL_OK;
}

keel_status keel_heap_check(const keel_heap *heap, keel_heap_fault *fault) {
    if (heap == NULL) {
        return KEEL_EINVAL;
    }
    if (fault != NULL) {
        fault->invariant = NULL;
        fault->address = NULL;
    }
    if (heap->capacity != (size_t)(heap->arena_end - heap->arena) || heap->capacity < MIN_BLOCK) {
        return fail(fault, "control block's arena bounds are damaged", heap);
    }
    size_t free_count = 0;
    keel_status status = check_blocks(heap, fault, &free_count);
    if (status != KEEL_OK) {
        return status;
    }
    return check_lists(heap, fault, free_count);
}
