/*
 * heap_extents.c - keel_heap_extents: the ranges of a heap's region that hold
 * its state, for copying a heap by the bytes it uses (domain snapshots). Reads
 * only; one walk over the blocks.
 */
#include "mem/heap_layout.h"

typedef struct run {
    keel_heap_extent_fn fn;
    void *context;
    uintptr_t base; /* the heap handle: offsets are from here */
    uintptr_t start, end;
    size_t count;
} run;

/* Extends the current range to cover [a, b), or reports it and starts anew. */
static void cover(run *r, uintptr_t a, uintptr_t b) {
    if (r->end == a) {
        r->end = b;
        return;
    }
    if (r->end != r->start) {
        r->fn(r->context, r->start - r->base, r->end - r->start, false);
        r->count++;
    }
    r->start = a;
    r->end = b;
}

/* With read-ahead: reports [from, to) at once, so the caller copies it before
 * the walk reads the headers inside. */
static void emit(run *r, uintptr_t from, uintptr_t to) {
    if (to > from) {
        r->fn(r->context, from - r->base, to - from, false);
        r->count++;
    }
}

size_t keel_heap_extents(const keel_heap *heap, size_t gap, size_t ahead, keel_heap_extent_fn fn,
                         void *context) {
    if (heap == NULL || fn == NULL) {
        return 0;
    }
    run r = {fn, context, (uintptr_t)heap, (uintptr_t)heap, (uintptr_t)heap, 0};
    uintptr_t end = (uintptr_t)heap->arena_end;
    const block *last = NULL;
    if (ahead == 0) {
        cover(&r, (uintptr_t)heap, (uintptr_t)heap->start_map); /* control block and heads */
        for (const block *b = (const block *)heap->arena; (uintptr_t)b != end; b = block_next(b)) {
            uintptr_t a = (uintptr_t)b, size = block_size(b);
            if (block_is_free(b) && size - MIN_BLOCK > gap) {
                cover(&r, a, a + MIN_BLOCK); /* the header; the payload is free */
            } else {
                cover(&r, a, a + size);
            }
            last = b;
        }
        cover(&r, end, end + GRANULE); /* sentinel */
    } else {
        if (ahead < MIN_BLOCK) {
            ahead = MIN_BLOCK;
        }
        emit(&r, (uintptr_t)heap, (uintptr_t)heap->start_map);
        uintptr_t done = (uintptr_t)heap->arena; /* reported up to here */
        for (const block *b = (const block *)heap->arena; (uintptr_t)b != end; b = block_next(b)) {
            uintptr_t a = (uintptr_t)b;
            if (a + MIN_BLOCK > done) {
                /* The bytes ahead first: the walk then reads what the copy just read. */
                uintptr_t from = a > done ? a : done;
                done = end - a > ahead ? a + ahead : end;
                emit(&r, from, done);
            }
            uintptr_t size = block_size(b);
            uintptr_t need = block_is_free(b) && size - MIN_BLOCK > gap ? a + MIN_BLOCK : a + size;
            if (need > done) {
                emit(&r, done, need);
                done = need;
            }
            last = b;
        }
        emit(&r, end, end + GRANULE); /* sentinel */
    }
    /* The block-start map up to the word of the last block start; after it,
     * nothing reads as set, and zeros put back read as clear in any epoch. */
    size_t words = last == NULL ? 0 : (start_index(heap, last) >> MAP_BITS_LOG2) + 1;
    uintptr_t map = (uintptr_t)heap->start_map;
    cover(&r, map, map + words * sizeof(uint64_t));
    cover(&r, 0, 0); /* flush */
    if (words < map_words(heap)) {
        fn(context, map + words * sizeof(uint64_t) - r.base,
           (map_words(heap) - words) * sizeof(uint64_t), true);
        r.count++;
    }
    return r.count;
}
