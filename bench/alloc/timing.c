/*
 * timing.c - the timed replay loop (timing.h).
 *
 * One loop body serves all allocators: replay() is force-inlined into one
 * function per allocator with the allocator a constant, so the switch in
 * op_alloc/op_free folds away and the timed region holds only the call itself
 * (a direct call for keel and glibc, an indirect one through the dlsym'ed
 * pointer for jemalloc and mimalloc).
 */
#include "timing.h"

#include <stdlib.h>

#define ALWAYS_INLINE inline __attribute__((always_inline))

static ALWAYS_INLINE void *op_alloc(bench_allocators *a, bench_alloc_id id, uint32_t size,
                                    unsigned cls) {
    void *p = NULL;
    switch (id) {
    case ALLOC_KEEL_HEAP:
        (void)keel_heap_alloc(a->heap, size, &p); /* p is NULL on failure */
        break;
    case ALLOC_KEEL_POOL:
        (void)keel_pool_alloc(&a->pool[cls], &p);
        break;
    case ALLOC_GLIBC:
        p = malloc(size);
        break;
    case ALLOC_JEMALLOC:
        p = a->je_malloc(size);
        break;
    case ALLOC_MIMALLOC:
        p = a->mi_malloc(size);
        break;
    default:
        break;
    }
    return p;
}

static ALWAYS_INLINE void op_free(bench_allocators *a, bench_alloc_id id, void *p, unsigned cls) {
    switch (id) {
    case ALLOC_KEEL_HEAP:
        keel_heap_free(a->heap, p);
        break;
    case ALLOC_KEEL_POOL:
        (void)keel_pool_free(&a->pool[cls], p);
        break;
    case ALLOC_GLIBC:
        free(p);
        break;
    case ALLOC_JEMALLOC:
        a->je_free(p);
        break;
    case ALLOC_MIMALLOC:
        a->mi_free(p);
        break;
    default:
        break;
    }
}

static ALWAYS_INLINE void replay(bench_allocators *a, bench_alloc_id id, const bench_trace *t,
                                 void **slots, hist *alloc_cycles, hist *free_cycles,
                                 uint64_t *failures) {
    const bench_op *ops = t->ops;
    const uint8_t *classes = t->pool_class;
    for (size_t i = 0; i < t->count; i++) {
        bench_op op = ops[i];
        if (op.size != 0) {
            uint64_t start = bench_tsc_begin();
            void *p = op_alloc(a, id, op.size, classes[i]);
            uint64_t end = bench_tsc_end();
            if (alloc_cycles != NULL) {
                hist_add(alloc_cycles, end - start);
            }
            if (p == NULL) {
                ++*failures;
            } else {
                *(uint64_t *)p = i; /* touch the block, as its user would */
            }
            slots[op.slot] = p;
        } else {
            void *p = slots[op.slot];
            if (p == NULL) {
                continue;
            }
            uint64_t start = bench_tsc_begin();
            op_free(a, id, p, classes[i]);
            uint64_t end = bench_tsc_end();
            if (free_cycles != NULL) {
                hist_add(free_cycles, end - start);
            }
        }
    }
}

#define REPLAY_FOR(name, id)                                                                      \
    static void name(bench_allocators *a, const bench_trace *t, void **slots, hist *ac, hist *fc, \
                     uint64_t *failures) {                                                        \
        replay(a, id, t, slots, ac, fc, failures);                                                \
    }
REPLAY_FOR(replay_keel_heap, ALLOC_KEEL_HEAP)
REPLAY_FOR(replay_keel_pool, ALLOC_KEEL_POOL)
REPLAY_FOR(replay_glibc, ALLOC_GLIBC)
REPLAY_FOR(replay_jemalloc, ALLOC_JEMALLOC)
REPLAY_FOR(replay_mimalloc, ALLOC_MIMALLOC)

void bench_replay_timed(bench_allocators *a, bench_alloc_id id, const bench_trace *t, void **slots,
                        hist *alloc_cycles, hist *free_cycles, uint64_t *failures) {
    static void (*const loops[ALLOC_COUNT])(bench_allocators *, const bench_trace *, void **,
                                            hist *, hist *, uint64_t *) = {
        replay_keel_heap, replay_keel_pool, replay_glibc, replay_jemalloc, replay_mimalloc};
    if (id < ALLOC_COUNT && a->available[id]) {
        loops[id](a, t, slots, alloc_cycles, free_cycles, failures);
    }
}
