/*
 * keel/mem.h - deterministic memory: pools, arenas and an O(1) heap.
 *
 * Three allocators, each over memory the caller provides. None of them calls
 * malloc, ever; none of them takes a lock unless you ask for the locked heap.
 *
 *   keel_pool   fixed-size blocks. O(1) alloc and free. A pool can live entirely
 *               in static storage (KEEL_POOL_DEFINE) and needs no init call.
 *               Every free is checked: a pointer that is not a block of the pool,
 *               or a block that is already free, is refused with a status.
 *   keel_arena  bump allocation with any power-of-two alignment, marks and
 *               release-to-mark, O(1) reset. Individual frees do not exist.
 *   keel_heap   general-purpose allocator of the two-level segregated fit (TLSF)
 *               class: alloc, aligned alloc, realloc (in place when it can),
 *               free, usable size. Every operation is O(1): its worst case does
 *               not depend on the heap size or on the number of blocks. A block
 *               wastes at most 47 bytes (39 for requests of 9 bytes or more);
 *               good fit may refuse a request while a block up to 1/32 (3%)
 *               larger is free. The worst-case heap size a program needs is
 *               given by keel_heap_region_size_for() (proof in docs/memory.md).
 *
 * Invariants the heap keeps (keel_heap_check verifies every one of them):
 *   - the blocks tile the arena exactly, each a multiple of 16 bytes, >= 32;
 *   - no two free blocks are adjacent (free blocks coalesce immediately);
 *   - each free block is on exactly the free list of its size class, and a
 *     class's bit is set in the bitmaps if and only if its list is non-empty;
 *   - the block-start map has a bit set exactly where a block begins; only the
 *     allocator writes it, which makes foreign and double frees exactly
 *     detectable in O(1);
 *   - the accounting (bytes and blocks in use) equals the sum over the blocks.
 *
 * Statuses are values (keel/status.h). Bad input changes nothing: the allocator
 * is left exactly as it was before the failed call, except that refused
 * requests are counted in its `failed` statistic. Functions that take an
 * allocator and return no status do nothing (or report zeros) when given NULL.
 *
 * Thread safety: a pool, an arena or a heap is owned by one thread at a time;
 * concurrent calls on the same instance need external locking. Distinct
 * instances are independent. keel_heap_locked wraps a heap with a
 * priority-inheritance mutex for sharing between threads.
 */
#ifndef KEEL_MEM_H
#define KEEL_MEM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keel/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------- */
/* Pool: fixed-size blocks                                                    */
/* ------------------------------------------------------------------------- */

/* Every pool block is aligned to KEEL_POOL_ALIGN; block sizes are rounded up to
 * a multiple of it (the stride). */
#define KEEL_POOL_ALIGN 16u

/* The distance between consecutive blocks for a requested block size. */
#define KEEL_POOL_STRIDE(block_size) \
    ((block_size) == 0               \
         ? (size_t)KEEL_POOL_ALIGN   \
         : ((size_t)(block_size) + KEEL_POOL_ALIGN - 1u) / KEEL_POOL_ALIGN * KEEL_POOL_ALIGN)

/* Bytes of 64-bit words needed for the allocation map of `count` blocks. */
#define KEEL_POOL_MAP_BYTES(count) ((((size_t)(count) + 63u) / 64u) * sizeof(uint64_t))

/* Region size keel_pool_init needs to hold exactly `count` blocks. */
#define KEEL_POOL_REGION_SIZE(block_size, count) \
    ((size_t)(count)*KEEL_POOL_STRIDE(block_size) + KEEL_POOL_MAP_BYTES(count))

/* A pool's state. The fields are private: use the functions below. The struct is
 * public only so that a pool can be defined in static storage. */
typedef struct keel_pool {
    unsigned char *blocks; /* first block; aligned to KEEL_POOL_ALIGN */
    uint64_t *used_map;    /* bit i set while block i is allocated */
    size_t stride;         /* bytes between blocks */
    size_t block_size;     /* the size the caller asked for */
    size_t capacity;       /* number of blocks */
    size_t untouched;      /* blocks [untouched, capacity) were never handed out */
    void *free_list;       /* freed blocks, linked through their first word */
    size_t in_use;         /* blocks allocated now */
    size_t peak_in_use;    /* highest in_use since init */
    uint64_t failed;       /* allocation requests refused (pool empty) */
} keel_pool;

/* A static initializer for a pool over `blocks` and `used_map` (zeroed). */
#define KEEL_POOL_INITIALIZER(blocks_, used_map_, block_size_, count_)                           \
    {                                                                                            \
        (blocks_), (used_map_), KEEL_POOL_STRIDE(block_size_), (block_size_), (count_), 0, NULL, \
            0, 0, 0                                                                              \
    }

/*
 * KEEL_POOL_DEFINE(name, block_size, count): defines `static keel_pool name` with
 * its blocks and allocation map in static storage, ready to use without any init
 * call. Example:
 *
 *     KEEL_POOL_DEFINE(packet_pool, sizeof(struct packet), 256);
 *     void *p;
 *     if (keel_pool_alloc(&packet_pool, &p) == KEEL_OK) { ...; keel_pool_free(&packet_pool, p); }
 */
#define KEEL_POOL_DEFINE(name, block_size, count)                                   \
    _Static_assert((count) > 0, "a pool needs at least one block");                 \
    _Static_assert((block_size) > 0, "a pool's blocks need a size");                \
    static _Alignas(KEEL_POOL_ALIGN) unsigned char                                  \
        name##_blocks_[(size_t)(count)*KEEL_POOL_STRIDE(block_size)];               \
    static uint64_t name##_used_map_[((size_t)(count) + 63u) / 64u];                \
    static keel_pool name = KEEL_POOL_INITIALIZER(name##_blocks_, name##_used_map_, \
                                                  (size_t)(block_size), (size_t)(count))

/*
 * keel_pool_init: lays a pool of `block_size`-byte blocks over `region`, using as
 * many blocks as fit beside their allocation map (KEEL_POOL_REGION_SIZE gives the
 * size for an exact count).
 * Fails with KEEL_EINVAL if pool or region is NULL, KEEL_EALIGN if region is not
 * aligned to KEEL_POOL_ALIGN, KEEL_ERANGE if block_size is 0 or absurdly large,
 * KEEL_ETOOSMALL if not even one block fits. On failure *pool is untouched.
 * O(capacity / 64): the allocation map is cleared. Not thread-safe for `pool`.
 */
KEEL_API keel_status keel_pool_init(keel_pool *pool, void *region, size_t region_size,
                                    size_t block_size);

/*
 * keel_pool_alloc: takes one block (contents unspecified) and stores it in *out.
 * Fails with KEEL_EINVAL if pool or out is NULL, KEEL_ENOMEM if every block is in
 * use (counted in the stats); *out is then NULL.
 * O(1). Not thread-safe for `pool`.
 */
KEEL_API keel_status keel_pool_alloc(keel_pool *pool, void **out);

/*
 * keel_pool_free: returns a block to the pool. Always checked:
 * KEEL_EINVAL if pool or block is NULL; KEEL_ENOTOWNED if block does not point at
 * the start of a block of this pool; KEEL_EDOUBLEFREE if the block is already
 * free. On failure the pool is unchanged.
 * O(1). Not thread-safe for `pool`.
 */
KEEL_API keel_status keel_pool_free(keel_pool *pool, void *block);

/* keel_pool_owns: true if and only if ptr is the start of a block of this pool
 * (allocated or not). O(1). Safe with concurrent readers only. */
KEEL_API bool keel_pool_owns(const keel_pool *pool, const void *ptr);

typedef struct keel_pool_stats {
    size_t block_size;  /* as requested at init */
    size_t stride;      /* bytes per block, alignment included */
    size_t capacity;    /* blocks */
    size_t in_use;      /* blocks allocated now */
    size_t peak_in_use; /* highest in_use since init */
    uint64_t failed;    /* refused allocations */
} keel_pool_stats;

/* keel_pool_get_stats: fills *out. O(1). Not thread-safe for `pool`. */
KEEL_API void keel_pool_get_stats(const keel_pool *pool, keel_pool_stats *out);

/*
 * keel_pool_check: verifies the pool's invariants (free list inside the pool,
 * block-aligned, acyclic, every listed block marked free, counts agree).
 * Returns KEEL_OK, KEEL_EINVAL (pool NULL) or KEEL_ECORRUPT. O(capacity).
 * Not thread-safe for `pool`.
 */
KEEL_API keel_status keel_pool_check(const keel_pool *pool);

/* ------------------------------------------------------------------------- */
/* Arena: bump allocation with marks                                          */
/* ------------------------------------------------------------------------- */

typedef struct keel_arena {
    unsigned char *base; /* private: use the functions below */
    size_t size;
    size_t used;
    size_t peak;
    uint64_t failed;
} keel_arena;

/* KEEL_ARENA_DEFINE(name, size): `static keel_arena name` over static storage,
 * ready to use without an init call. */
#define KEEL_ARENA_DEFINE(name, size_)                          \
    _Static_assert((size_) > 0, "an arena needs a size");       \
    static _Alignas(16) unsigned char name##_storage_[(size_)]; \
    static keel_arena name = {name##_storage_, (size_), 0, 0, 0}

/* A position in an arena, to release back to. */
typedef struct keel_arena_mark {
    size_t offset;
} keel_arena_mark;

/*
 * keel_arena_init: an arena over region[0, size).
 * Fails with KEEL_EINVAL if arena or region is NULL, KEEL_ETOOSMALL if size is 0.
 * O(1). Not thread-safe for `arena`.
 */
KEEL_API keel_status keel_arena_init(keel_arena *arena, void *region, size_t size);

/*
 * keel_arena_alloc: `size` bytes aligned to `align` (a power of two; the address
 * itself is aligned, whatever the region's alignment), stored in *out.
 * Fails with KEEL_EINVAL if arena or out is NULL, KEEL_ERANGE if size is 0,
 * KEEL_EALIGN if align is not a power of two, KEEL_ENOMEM if the rest of the
 * arena is too small (no arithmetic overflows, whatever size and align are).
 * On failure *out is NULL and the arena is unchanged.
 * O(1). Not thread-safe for `arena`.
 */
KEEL_API keel_status keel_arena_alloc(keel_arena *arena, size_t size, size_t align, void **out);

/* keel_arena_get_mark: the current position. O(1). Not thread-safe for `arena`. */
KEEL_API keel_arena_mark keel_arena_get_mark(const keel_arena *arena);

/*
 * keel_arena_release: frees everything allocated after `mark` was taken.
 * Marks nest like a stack: releasing to an earlier mark invalidates later ones.
 * Fails with KEEL_EINVAL if arena is NULL, KEEL_ESTALE if the mark lies beyond the
 * current position. That detection is partial: a stale mark that happens to lie
 * within the current position, or a mark of another arena, is accepted; keep
 * marks in the scope that took them. O(1). Not thread-safe for `arena`.
 */
KEEL_API keel_status keel_arena_release(keel_arena *arena, keel_arena_mark mark);

/* keel_arena_reset: frees everything. O(1). Not thread-safe for `arena`. */
KEEL_API void keel_arena_reset(keel_arena *arena);

/* keel_arena_remaining: bytes left before any alignment padding. O(1).
 * Not thread-safe for `arena`. */
KEEL_API size_t keel_arena_remaining(const keel_arena *arena);

typedef struct keel_arena_stats {
    size_t size;     /* bytes in the arena */
    size_t used;     /* bytes consumed, alignment padding included */
    size_t peak;     /* highest `used` since init */
    uint64_t failed; /* refused allocations */
} keel_arena_stats;

/* keel_arena_get_stats: fills *out. O(1). Not thread-safe for `arena`. */
KEEL_API void keel_arena_get_stats(const keel_arena *arena, keel_arena_stats *out);

/* ------------------------------------------------------------------------- */
/* Heap: O(1) two-level segregated fit                                        */
/* ------------------------------------------------------------------------- */

/* Every heap allocation is aligned to KEEL_HEAP_ALIGN (alignof(max_align_t)). */
#define KEEL_HEAP_ALIGN        16u
/* The region given to keel_heap_init must be aligned to this. */
#define KEEL_HEAP_REGION_ALIGN 16u

/* The heap lives inside the region it manages; the handle points into it. */
typedef struct keel_heap keel_heap;

/*
 * keel_heap_init: builds a heap over region[0, size) and stores its handle in *out
 * (NULL on any failure).
 * The heap's control block and its block-start map (1 bit per 16 bytes, 32 to
 * a 64-bit word whose other half is the word's epoch: size / 64 bytes) are
 * taken from the start of the region; keel_heap_get_stats reports the capacity left.
 * Fails with KEEL_EINVAL if out or region is NULL, KEEL_EALIGN if region is not
 * aligned to KEEL_HEAP_REGION_ALIGN, KEEL_ETOOSMALL if the metadata and one
 * minimum block do not fit. Regions larger than 2^44 bytes are used up to 2^44.
 * O(size / 512): the block-start map (size / 512 words) is cleared.
 * Not thread-safe for `region`.
 */
KEEL_API keel_status keel_heap_init(keel_heap **out, void *region, size_t size);

/*
 * keel_heap_renew: builds a fresh heap over a region that held one, without
 * trusting a byte of it: for a heap whose owner failed and may have written
 * anything anywhere in the region (a domain's, at recovery). region and size
 * must be those keel_heap_init was given for this region; everything is laid out
 * again from them. Same statuses as keel_heap_init.
 * *epoch is the caller's record of the heap's epoch, kept outside the region:
 * keel_heap_epoch(heap) after keel_heap_init, then as each renew leaves it.
 * The block-start map is not cleared but retired: the epoch advances and words
 * of earlier epochs read as clear. O(1): the control block (at most 37 * 32
 * list heads, for any size) and at most 17 map words (1 below 2^40 bytes).
 * One word is read from the region, the epoch the heap last ran in: if it is
 * not *epoch (the heap was reset with keel_heap_reset since, or that word was
 * overwritten), the map's words may hold any epoch and are cleared, O(size /
 * 512). What is not checked: a map word a wild write forged with a future epoch
 * reads as set once the counter reaches that epoch, until the sweep rewrites it.
 * Not thread-safe for `region`.
 */
KEEL_API keel_status keel_heap_renew(keel_heap **out, void *region, size_t size, uint32_t *epoch);

/* keel_heap_epoch: the epoch the heap runs in: 0 after keel_heap_init, one more
 * at each keel_heap_reset and keel_heap_renew (wrapping at 2^32); 0 for NULL.
 * O(1). Not thread-safe for `heap`. */
KEEL_API uint32_t keel_heap_epoch(const keel_heap *heap);

/*
 * keel_heap_alloc: at least `size` bytes aligned to KEEL_HEAP_ALIGN in *out.
 * Fails with KEEL_EINVAL if heap or out is NULL, KEEL_ERANGE if size is 0 or
 * larger than the heap's capacity, KEEL_ENOMEM if size > largest_request (see
 * keel_heap_stats): good fit takes a block from a class above the request's own,
 * so a request can be refused while a block up to 1/32 larger sits in its class. On failure *out is
 * NULL, the heap is unchanged but for its failure count. O(1) (bounded by a constant number of bit
 * scans and list operations). Not thread-safe for `heap`.
 */
KEEL_API keel_status keel_heap_alloc(keel_heap *heap, size_t size, void **out);

/*
 * keel_heap_alloc_aligned: as keel_heap_alloc, aligned to `align` (a power of
 * two; values up to KEEL_HEAP_ALIGN behave exactly like keel_heap_alloc).
 * Also fails with KEEL_EALIGN if align is not a power of two, KEEL_ERANGE if
 * size + align exceeds the capacity.
 * O(1). Not thread-safe for `heap`.
 */
KEEL_API keel_status keel_heap_alloc_aligned(keel_heap *heap, size_t size, size_t align,
                                             void **out);

/*
 * keel_heap_realloc: resizes the block at ptr to `size` bytes, keeping its
 * contents up to the smaller of the two sizes; the result is in *out.
 * ptr == NULL behaves as keel_heap_alloc. The block stays where it is when it
 * shrinks, or when it can grow into the free block that follows it; otherwise a
 * new block is allocated, the contents copied and the old block freed.
 * Fails with KEEL_EINVAL if heap or out is NULL, KEEL_ERANGE if size is 0 (use
 * keel_heap_free) or too large, KEEL_ENOTOWNED/KEEL_EDOUBLEFREE if ptr is not a
 * live block of this heap, KEEL_ENOMEM if it must move and no block is free. On
 * failure *out is NULL and the original block is untouched and still owned.
 * A block that moves is aligned to KEEL_HEAP_ALIGN only, whatever alignment it
 * was allocated with. O(1), plus a copy of min(old, new) bytes when it moves.
 * Not thread-safe for `heap`.
 */
KEEL_API keel_status keel_heap_realloc(keel_heap *heap, void *ptr, size_t size, void **out);

/*
 * keel_heap_free: the fast path. Returns the block at ptr to the heap; NULL is a
 * no-op. It ASSUMES ptr is NULL or a live block of this heap: anything else is
 * undefined behaviour in a release build (debug builds assert). Use
 * keel_heap_free_checked where that is not known.
 * O(1). Not thread-safe for `heap`.
 */
KEEL_API void keel_heap_free(keel_heap *heap, void *ptr);

/*
 * keel_heap_free_checked: as keel_heap_free, but verifies ptr exactly first
 * (the block-start map has one bit per possible block start):
 * KEEL_EINVAL if heap or ptr is NULL; KEEL_ENOTOWNED if ptr is outside this heap
 * or not the start of a live block; KEEL_EDOUBLEFREE if it is the start of a free
 * block. A block that was freed and has since merged with a free neighbour is no
 * longer a block start, so a second free of it reports KEEL_ENOTOWNED: either way
 * the call is refused and the heap is unchanged. O(1). Not thread-safe for `heap`.
 */
KEEL_API keel_status keel_heap_free_checked(keel_heap *heap, void *ptr);

/*
 * keel_heap_usable_size: bytes usable at ptr (>= the size requested); 0 if ptr is
 * NULL or not a live block of this heap. O(1). Not thread-safe for `heap`.
 */
KEEL_API size_t keel_heap_usable_size(const keel_heap *heap, const void *ptr);

/*
 * keel_heap_reset: frees every block at once; the heap is as after init, except
 * that the cumulative counters (allocations, frees, failed) keep counting.
 * O(1): the heads of the non-empty lists (at most 37 * 32) are cleared and the
 * block-start map is retired by advancing the epoch (keel_heap_renew), not
 * cleared. Trusts the control block. Not thread-safe for `heap`.
 */
KEEL_API void keel_heap_reset(keel_heap *heap);

typedef struct keel_heap_stats {
    size_t capacity;           /* bytes of the arena (region minus metadata) */
    size_t in_use;             /* bytes of allocated blocks, per-block overhead included */
    size_t peak_in_use;        /* highest in_use since init or reset */
    size_t largest_free_block; /* usable bytes of the largest free block (0 if none) */
    size_t largest_request;    /* the largest size keel_heap_alloc is sure to satisfy now */
    size_t live_blocks;        /* allocated blocks */
    uint64_t allocations;      /* successful alloc, alloc_aligned and moving realloc calls */
    uint64_t frees;            /* blocks freed */
    uint64_t failed;           /* requests refused for lack of memory or out of range */
} keel_heap_stats;

/*
 * keel_heap_get_stats: fills *out.
 * O(length of the top non-empty free list), walked to find largest_free_block;
 * everything else is O(1). largest_request is exact: keel_heap_alloc succeeds for
 * every size up to it and fails for every larger size, until the heap changes. Not thread-safe for
 * `heap`.
 */
KEEL_API void keel_heap_get_stats(const keel_heap *heap, keel_heap_stats *out);

/* Where keel_heap_check found the first broken invariant. */
typedef struct keel_heap_fault {
    const char *invariant; /* a sentence naming the invariant */
    const void *address;   /* the block at fault, or NULL */
} keel_heap_fault;

/*
 * keel_heap_check: verifies every invariant listed at the top of this header and
 * reports the first broken one in *fault (fault may be NULL).
 * Returns KEEL_OK, KEEL_EINVAL if heap is NULL, or KEEL_ECORRUPT.
 * O(blocks + size classes + capacity / 512) (the block-start map is counted),
 * and terminates on any corruption of the arena (every walk is bounded by the
 * number of blocks the arena can hold); the control block's own bounds are
 * trusted. Not thread-safe for `heap`.
 */
KEEL_API keel_status keel_heap_check(const keel_heap *heap, keel_heap_fault *fault);

/* A byte range of a heap's region, reported by keel_heap_extents. `zero`
 * ranges hold nothing the heap reads as set (the end of the block-start map,
 * past its last block start; zero words read as clear in every epoch): a copy
 * of the heap need not save them, only clear them when it is put back. */
typedef void (*keel_heap_extent_fn)(void *context, size_t offset, size_t length, bool zero);

/*
 * keel_heap_extents: reports to fn every range of the heap's region whose bytes
 * are the heap's state, as (offset from the heap handle, length): the control
 * block, the block-start map up to its last block start, each allocated block,
 * the header (32 bytes) of each free block, and the sentinel; then the rest of
 * the block-start map as a `zero` range. A free block's payload is left out
 * when it exceeds `gap` bytes, otherwise it is reported with its neighbours so
 * that ranges merge. Writing these ranges back to the same region (and zeros
 * over the `zero` range) gives back exactly this heap: this is how a domain
 * snapshot copies the bytes in use and not the reserved size.
 * With `ahead` > 0, each block header is preceded by a report of the `ahead`
 * bytes from it (at least 32), so that a caller copying the ranges as they come
 * has read them before the walk does: the walk and the copy then read memory
 * once instead of twice (a walk alone takes a cache miss per block). The price
 * is up to `ahead` bytes of free payload reported after each free block
 * skipped; ranges are then not merged.
 * Returns the number of ranges reported. O(blocks) plus the reported bytes'
 * worth of map; reads only. Not thread-safe for `heap`.
 */
KEEL_API size_t keel_heap_extents(const keel_heap *heap, size_t gap, size_t ahead,
                                  keel_heap_extent_fn fn, void *context);

/*
 * keel_heap_region_size_for: the region size that guarantees no allocation ever
 * fails with KEEL_ENOMEM for a program whose live requested bytes never exceed
 * `max_live` (the request being made included), whose requests are never larger
 * than `max_request` and never smaller than `min_request`. Counts the metadata.
 * For keel_heap_alloc_aligned with alignment a > 16, pass max_request + a + 47.
 * Any region at least this large gives the same guarantee. Returns 0 if the
 * arguments are inconsistent (0 sizes, min > max, max > live) or the arena would
 * reach 2^43 bytes. The formula and its proof are in docs/memory.md. O(1).
 * Thread-safe.
 */
KEEL_API size_t keel_heap_region_size_for(size_t max_live, size_t max_request, size_t min_request);

/* ------------------------------------------------------------------------- */
/* Locked heap: a heap shared between threads                                 */
/* ------------------------------------------------------------------------- */

/* A heap plus a mutex with the priority-inheritance protocol (where the system
 * supports it), so a low-priority holder cannot stall a high-priority waiter
 * indefinitely. Each function takes the lock, calls the heap function of the same
 * name and releases it: the bounds are the heap's plus the lock's. */
typedef struct keel_heap_locked {
    pthread_mutex_t lock;
    keel_heap *heap;
} keel_heap_locked;

/* keel_heap_locked_init: as keel_heap_init, plus KEEL_ESYSTEM if the mutex cannot
 * be created. Not thread-safe for `locked` (call it before sharing). */
KEEL_API keel_status keel_heap_locked_init(keel_heap_locked *locked, void *region, size_t size);
/* keel_heap_locked_renew: as keel_heap_renew, with a new mutex; the old one,
 * which a failed thread may have left held, must have been destroyed (or never
 * created). Statuses as keel_heap_renew, KEEL_EINVAL if locked is NULL, plus
 * KEEL_ESYSTEM if the mutex cannot be created. O(1): keel_heap_renew's bound
 * plus the mutex's creation. Not thread-safe for `locked`. */
KEEL_API keel_status keel_heap_locked_renew(keel_heap_locked *locked, void *region, size_t size,
                                            uint32_t *epoch);
/* keel_heap_locked_destroy: releases the mutex; the region is the caller's again.
 * Not thread-safe: no other thread may be using the heap. */
KEEL_API void keel_heap_locked_destroy(keel_heap_locked *locked);
/* Thread-safe versions of the heap operations; same statuses. */
KEEL_API keel_status keel_heap_locked_alloc(keel_heap_locked *locked, size_t size, void **out);
KEEL_API keel_status keel_heap_locked_alloc_aligned(keel_heap_locked *locked, size_t size,
                                                    size_t align, void **out);
KEEL_API keel_status keel_heap_locked_realloc(keel_heap_locked *locked, void *ptr, size_t size,
                                              void **out);
KEEL_API keel_status keel_heap_locked_free(keel_heap_locked *locked, void *ptr);
KEEL_API void keel_heap_locked_get_stats(keel_heap_locked *locked, keel_heap_stats *out);
KEEL_API keel_status keel_heap_locked_check(keel_heap_locked *locked, keel_heap_fault *fault);

#ifdef __cplusplus
}
#endif

#endif /* KEEL_MEM_H */
