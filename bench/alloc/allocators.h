/*
 * allocators.h - the five allocators bench_alloc compares, side by side in
 * one process.
 *
 *   keel heap   keel_heap_alloc / keel_heap_free over one 64 MiB region
 *   keel pool   one keel_pool per power-of-two class, 16 B .. 4 KiB: a request
 *               is served by the pool of the next power of two at or above it
 *               (a segregated front end; the pools are sized to each class's
 *               peak over the traces, so they never run out)
 *   glibc       malloc / free of the C library (verified to be glibc's)
 *   jemalloc    libjemalloc.so.2, dlopen'ed RTLD_LOCAL: its own malloc/free
 *   mimalloc    libmimalloc.so.2, dlopen'ed RTLD_LOCAL: mi_malloc / mi_free
 *
 * jemalloc and mimalloc are loaded with dlopen, not linked: both libraries
 * define malloc and free, and linking either would replace glibc's allocator
 * for the whole process (so the "glibc" column would silently measure them).
 * No headers are needed. allocators.c explains the details.
 *
 * No allocator is reset between replays: every trace frees all it allocates,
 * so each one simply carries its own state (caches, free lists) from replay to
 * replay. For the keel heap that state is one free block again (free blocks
 * coalesce at once); a reset would only add a 512 KiB memset of its ownership
 * map that evicts the caches right before its replay.
 */
#ifndef BENCH_ALLOC_ALLOCATORS_H
#define BENCH_ALLOC_ALLOCATORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keel/mem.h"
#include "traces.h"

typedef enum bench_alloc_id {
    ALLOC_KEEL_HEAP,
    ALLOC_KEEL_POOL,
    ALLOC_GLIBC,
    ALLOC_JEMALLOC,
    ALLOC_MIMALLOC,
    ALLOC_COUNT
} bench_alloc_id;

typedef struct bench_allocators {
    bool available[ALLOC_COUNT];
    char detail[ALLOC_COUNT][256]; /* where each one comes from, or why it is missing */
    keel_heap *heap;
    void *heap_region;
    size_t heap_region_size;
    keel_pool pool[BENCH_POOL_CLASSES];
    void *pool_region[BENCH_POOL_CLASSES];
    size_t pool_region_size[BENCH_POOL_CLASSES];
    void *(*je_malloc)(size_t);
    void (*je_free)(void *);
    void *(*mi_malloc)(size_t);
    void (*mi_free)(void *);
    void *je_handle;
    void *mi_handle;
} bench_allocators;

/*
 * bench_allocators_preload: loads jemalloc. Call it first thing in main: when
 * glibc has too little static TLS room left for jemalloc (its TLS uses the
 * initial-exec model), it re-executes the program once with the glibc tunable
 * that reserves more (GLIBC_TUNABLES=glibc.rtld.optional_static_tls); it does
 * not return then. Otherwise jemalloc is left loaded or reported missing.
 */
void bench_allocators_preload(char **argv);

/*
 * bench_allocators_open: sets up every allocator: the keel heap over an mmap'ed
 * region of heap_region_size bytes, the pools with pool_capacity[c] blocks of
 * class c (both regions mmap'ed and pre-faulted), glibc, jemalloc (if
 * preloaded) and mimalloc. Missing libraries leave
 * available[] false with the reason in detail[]. Returns 0, or -1 if the keel
 * allocators cannot be set up (out of memory).
 */
int bench_allocators_open(bench_allocators *a, size_t heap_region_size,
                          const uint32_t pool_capacity[BENCH_POOL_CLASSES]);

/* bench_allocators_close: unmaps the keel regions and closes the libraries. */
void bench_allocators_close(bench_allocators *a);

/* bench_alloc_name: "keel heap", "keel pool", "glibc", "jemalloc", "mimalloc". */
const char *bench_alloc_name(bench_alloc_id id);

#endif /* BENCH_ALLOC_ALLOCATORS_H */
