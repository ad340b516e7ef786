/*
 * test_heap_model.c - the heap against a model, over millions of random operations.
 *
 * Each sequence builds four heaps (4 KiB, 64 KiB, 1 MiB and one of a random size
 * that is not a multiple of 16) and applies random operations to them in turn:
 * alloc, alloc_aligned, realloc (shrink, grow, move), free, free_checked (also with
 * foreign, interior, stale and double-freed pointers), usable_size and reset. A
 * model records every live block (address, requested and usable size, the pattern
 * written into it) and, after every step:
 *   - keel_heap_check passes;
 *   - the statistics equal the model's: live blocks, bytes in use (a block costs
 *     usable_size + 8 bytes), the exact peak, and the allocation, free and failure
 *     counters since init or reset;
 * and on the operations themselves:
 *   - live blocks lie in the arena and never overlap (a bitmap of the 8-byte words
 *     each block owns: its size word and its payload);
 *   - payloads keep their contents across unrelated operations, and realloc keeps
 *     them up to the smaller of the two usable sizes;
 *   - alignment is honoured and usable_size >= the size requested;
 *   - an allocation fails only with KEEL_ERANGE (exactly when the size is out of
 *     range) or KEEL_ENOMEM, and only when the request cannot fit: a request no
 *     larger than stats.largest_request always succeeds;
 *   - a refused call returns the status the model predicts and changes nothing:
 *     for heaps up to 64 KiB the whole region is compared byte for byte before and
 *     after (only the failure counter may move, and only by one).
 * Every SWEEP_INTERVAL steps all payloads are verified and the free gaps between
 * the live blocks are compared with stats.largest_free_block.
 *
 * Replay: the run prints its base seed; a failure prints the sequence and step.
 *   KEEL_HEAP_MODEL_SEED=<seed>       base seed (default below)
 *   KEEL_HEAP_MODEL_SEQUENCES=<n>     number of sequences
 *   KEEL_HEAP_MODEL_STEPS=<n>         steps per sequence
 *   KEEL_HEAP_MODEL_ONLY=<i>          run only sequence i
 */
#include <assert.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keel/mem.h"
#include "keel_test.h"

/* Defaults sized for CTest: ~10-20 s in Release, under a minute with ASan+UBSan. */
#if defined(__SANITIZE_ADDRESS__)
#define MODEL_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MODEL_SANITIZED 1
#endif
#endif
#if defined(MODEL_SANITIZED)
#define DEFAULT_SEQUENCES 30u
#elif !defined(NDEBUG)
#define DEFAULT_SEQUENCES 60u
#else
#define DEFAULT_SEQUENCES 160u
#endif
#define DEFAULT_STEPS 25000u
#define DEFAULT_SEED  UINT64_C(0x6b65656c2d6d656d)

enum {
    HEAP_COUNT = 4,
    FREED_RING = 32,
    TRACE_LENGTH = 12,
    SWEEP_INTERVAL = 4096,
    SNAPSHOT_LIMIT = 64 * 1024, /* heaps up to this size are compared byte for byte */
    BLOCK_OVERHEAD = 8,         /* block size = usable size + 8 (heap_layout.h) */
    MIN_BLOCK = 32,
};

/* ---- random numbers: splitmix64, and xorshift64 for payload patterns ---- */

typedef struct rng {
    uint64_t state;
} rng;

static uint64_t rng_next(rng *r) {
    uint64_t z = (r->state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Uniform in [0, n); 0 when n is 0. */
static size_t rng_below(rng *r, size_t n) {
    return n == 0 ? 0 : (size_t)(rng_next(r) % n);
}

/* Uniform in [lo, hi]. */
static size_t rng_range(rng *r, size_t lo, size_t hi) {
    return hi <= lo ? lo : lo + rng_below(r, hi - lo + 1);
}

/* True with probability per_mille / 1000. */
static bool rng_chance(rng *r, unsigned per_mille) {
    return rng_below(r, 1000) < per_mille;
}

static uint64_t pattern_step(uint64_t *x) {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* The pattern for `seed` over len bytes; a shorter pattern is a prefix of a longer. */
static void pattern_fill(unsigned char *p, size_t len, uint64_t seed) {
    uint64_t x = seed | 1u;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w = pattern_step(&x);
        memcpy(p + i, &w, 8);
    }
    if (i < len) {
        uint64_t w = pattern_step(&x);
        memcpy(p + i, &w, len - i);
    }
}

/* Offset of the first byte that differs from the pattern, or SIZE_MAX. */
static size_t pattern_mismatch(const unsigned char *p, size_t len, uint64_t seed) {
    uint64_t x = seed | 1u;
    size_t i = 0;
    for (; i < len; i += 8) {
        uint64_t w = pattern_step(&x);
        size_t n = len - i < 8 ? len - i : 8;
        if (memcmp(p + i, &w, n) != 0) {
            const unsigned char *wb = (const unsigned char *)&w;
            size_t j = 0;
            while (p[i + j] == wb[j]) {
                j++;
            }
            return i + j;
        }
    }
    return SIZE_MAX;
}

/* ---- bit ranges ---- */

static bool bit_test(const uint64_t *map, size_t i) {
    return ((map[i >> 6] >> (i & 63)) & 1u) != 0;
}

static uint64_t bits_mask(size_t lo, size_t hi) { /* bits [lo, hi) of one word, hi <= 64 */
    uint64_t upper = hi == 64 ? ~UINT64_C(0) : (UINT64_C(1) << hi) - 1;
    return upper & ~((UINT64_C(1) << lo) - 1);
}

/* Applies op to bits [lo, hi): 0 tests (returns true if any is set), 1 sets, 2 clears. */
static bool bits_range(uint64_t *map, size_t lo, size_t hi, int op) {
    while (lo < hi) {
        size_t w = lo >> 6, end = (w + 1) << 6;
        uint64_t mask = bits_mask(lo & 63, (hi < end ? hi : end) - (w << 6));
        if (op == 0 && (map[w] & mask) != 0) {
            return true;
        }
        if (op == 1) {
            map[w] |= mask;
        } else if (op == 2) {
            map[w] &= ~mask;
        }
        lo = end;
    }
    return false;
}

/* ---- the model ---- */

typedef struct live_block {
    unsigned char *payload;
    size_t requested;
    size_t usable;
    size_t filled; /* bytes of the pattern written: requested or usable */
    uint64_t seed;
} live_block;

typedef struct model_heap {
    char name[40];
    unsigned char *region; /* buffer of region_room bytes; the heap uses region_size */
    size_t region_room;
    size_t region_size;
    keel_heap *heap;
    uintptr_t arena, arena_end; /* derived from the layout: the arena ends 16 bytes
                                   (the sentinel) before the 16-aligned region end */
    size_t capacity;
    live_block *blocks;
    size_t count, max_blocks;
    uint32_t *slot_of; /* per 16-byte granule: index + 1 of the live block starting there */
    uint64_t *claimed; /* per 8-byte unit: owned by a live block (size word or payload) */
    size_t in_use, peak;
    uint64_t allocations, frees, failed; /* since init or reset */
    keel_heap_stats base;                /* counters at init or reset */
    unsigned char *freed[FREED_RING];
    unsigned freed_next;
    unsigned char *snapshot;
} model_heap;

typedef struct trace_entry {
    uint64_t step;
    int heap;
    const char *op;
    size_t size, align;
    intptr_t offset; /* of the pointer argument from the arena start */
    keel_status status;
} trace_entry;

/* What a failure prints, to replay it. */
static struct {
    uint64_t base_seed;
    unsigned sequence;
    uint64_t step;
    trace_entry trace[TRACE_LENGTH];
    unsigned trace_next;
    uint64_t enomem_seen, refusals_seen, moves_seen, total_steps;
} run;

static model_heap heaps[HEAP_COUNT];
static int static_object; /* an address that is no heap's */

static void trace(int heap, const char *op, size_t size, size_t align, const void *ptr,
                  keel_status status) {
    trace_entry *t = &run.trace[run.trace_next++ % TRACE_LENGTH];
    t->step = run.step;
    t->heap = heap;
    t->op = op;
    t->size = size;
    t->align = align;
    t->offset = ptr == NULL ? 0 : (intptr_t)((uintptr_t)ptr - heaps[heap].arena);
    t->status = status;
}

static void print_replay(void) {
    fprintf(stderr,
            "  replay: KEEL_HEAP_MODEL_SEED=0x%016" PRIx64 " KEEL_HEAP_MODEL_ONLY=%u "
            "(failed at step %" PRIu64 ")\n  last operations (pointer offsets from the arena):\n",
            run.base_seed, run.sequence, run.step);
    for (unsigned i = 0; i < TRACE_LENGTH; i++) {
        const trace_entry *t = &run.trace[(run.trace_next + i) % TRACE_LENGTH];
        if (t->op == NULL) {
            continue;
        }
        fprintf(stderr, "    step %" PRIu64 " %s %s size=%zu align=%zu ptr=%+" PRIdPTR " -> %s\n",
                t->step, heaps[t->heap].name, t->op, t->size, t->align, t->offset,
                keel_status_name(t->status));
    }
}

static size_t unit_of(const model_heap *h, uintptr_t address) {
    return (size_t)(address - h->arena) / 8;
}

/* Words a live block owns: its size word and its payload, [payload - 8, payload + usable). */
static size_t claim_lo(const model_heap *h, const live_block *b) {
    return unit_of(h, (uintptr_t)b->payload - 8);
}

static size_t claim_hi(const model_heap *h, const live_block *b) {
    return unit_of(h, (uintptr_t)b->payload + b->usable);
}

static size_t granule_of(const model_heap *h, uintptr_t payload) {
    return (size_t)(payload - 16 - h->arena) / 16;
}

static size_t room_granules(const model_heap *h) {
    return h->region_room / 16 + 1;
}

static size_t room_units(const model_heap *h) {
    return h->region_room / 8 + 2;
}

static void model_clear(model_heap *h) {
    h->count = 0;
    memset(h->slot_of, 0, room_granules(h) * sizeof(uint32_t));
    memset(h->claimed, 0, (room_units(h) + 63) / 64 * sizeof(uint64_t));
    h->in_use = 0;
    h->peak = 0;
    h->allocations = h->frees = h->failed = 0;
    keel_heap_get_stats(h->heap, &h->base);
}

/* Builds the heap over region[0, size) and an empty model for it. */
static void model_init(model_heap *h, size_t size) {
    CHECK(size <= h->region_room);
    h->region_size = size;
    CHECK_OK(keel_heap_init(&h->heap, h->region, size));
    keel_heap_stats stats;
    keel_heap_get_stats(h->heap, &stats);
    h->capacity = stats.capacity;
    h->arena_end = ((uintptr_t)h->region + size - 16) & ~(uintptr_t)15;
    h->arena = h->arena_end - h->capacity;
    CHECK(h->arena > (uintptr_t)h->region);
    h->max_blocks = h->capacity / MIN_BLOCK;
    h->freed_next = 0;
    memset(h->freed, 0, sizeof h->freed);
    model_clear(h);
    CHECK_EQ(stats.in_use, 0);
    CHECK_EQ(stats.largest_free_block, h->capacity - BLOCK_OVERHEAD);
}

/* Records a block the heap just handed out and writes its pattern; the caller
 * accounts its size (usable + 8) once the test has not failed. */
static void model_add(model_heap *h, rng *r, unsigned char *p, size_t requested) {
    CHECK(p != NULL);
    CHECK_EQ((uintptr_t)p % KEEL_HEAP_ALIGN, 0);
    size_t usable = keel_heap_usable_size(h->heap, p);
    CHECK(usable >= requested);
    CHECK_EQ((usable + BLOCK_OVERHEAD) % 16, 0);
    CHECK(usable + BLOCK_OVERHEAD >= MIN_BLOCK);
    /* The block [p - 16, p + usable - 8) lies in the arena. */
    CHECK((uintptr_t)p - 16 >= h->arena);
    CHECK((uintptr_t)p + usable - 8 <= h->arena_end);
    CHECK(h->count < h->max_blocks);
    live_block *b = &h->blocks[h->count];
    b->payload = p;
    b->requested = requested;
    b->usable = usable;
    b->filled = rng_chance(r, 500) ? usable : requested;
    b->seed = rng_next(r);
    /* It overlaps no other live block. */
    CHECK(!bits_range(h->claimed, claim_lo(h, b), claim_hi(h, b), 0));
    bits_range(h->claimed, claim_lo(h, b), claim_hi(h, b), 1);
    CHECK_EQ(h->slot_of[granule_of(h, (uintptr_t)p)], 0);
    h->slot_of[granule_of(h, (uintptr_t)p)] = (uint32_t)(h->count + 1);
    h->count++;
    pattern_fill(p, b->filled, b->seed);
}

/* Index of the live block at payload p, or SIZE_MAX. */
static size_t model_find(const model_heap *h, const void *p) {
    uintptr_t c = (uintptr_t)p;
    if (c % 16 != 0 || c < h->arena + 16 || c >= h->arena_end) {
        return SIZE_MAX;
    }
    uint32_t slot = h->slot_of[granule_of(h, c)];
    return slot == 0 ? SIZE_MAX : slot - 1;
}

static void check_pattern(const model_heap *h, const live_block *b, size_t len) {
    size_t at = pattern_mismatch(b->payload, len, b->seed);
    if (at != SIZE_MAX) {
        fprintf(stderr, "  %s: block at arena%+" PRIdPTR " (usable %zu) damaged at byte %zu\n",
                h->name, (intptr_t)((uintptr_t)b->payload - h->arena), b->usable, at);
    }
    CHECK(at == SIZE_MAX);
}

/* Forgets block i (after its contents were checked); the slot of the last moves in. */
static void model_remove(model_heap *h, size_t i) {
    live_block *b = &h->blocks[i];
    bits_range(h->claimed, claim_lo(h, b), claim_hi(h, b), 2);
    h->slot_of[granule_of(h, (uintptr_t)b->payload)] = 0;
    h->freed[h->freed_next++ % FREED_RING] = b->payload;
    h->in_use -= b->usable + BLOCK_OVERHEAD;
    h->count--;
    if (i != h->count) {
        h->blocks[i] = h->blocks[h->count];
        h->slot_of[granule_of(h, (uintptr_t)h->blocks[i].payload)] = (uint32_t)(i + 1);
    }
}

static void model_grow(model_heap *h, size_t bytes) {
    h->in_use += bytes;
    if (h->in_use > h->peak) {
        h->peak = h->in_use;
    }
}

/* What the heap must answer for a pointer that may or may not be a live block. */
typedef enum pointer_kind { POINTER_LIVE, POINTER_FREE_START, POINTER_NOT_A_BLOCK } pointer_kind;

/*
 * The model knows the tiling: the free blocks are exactly the gaps between live
 * blocks (they coalesce). A 16-aligned c in the arena names the block start
 * G = c - 16; G starts a free block if its size word is not owned by a live block
 * and G is the arena start or the end of a live block (whose payload tail is G's
 * first word).
 */
static pointer_kind classify(const model_heap *h, const void *p) {
    uintptr_t c = (uintptr_t)p;
    if (c % 16 != 0 || c < h->arena + 16 || c >= h->arena_end) {
        return POINTER_NOT_A_BLOCK;
    }
    if (model_find(h, p) != SIZE_MAX) {
        return POINTER_LIVE;
    }
    uintptr_t g = c - 16;
    if (bit_test(h->claimed, unit_of(h, g + 8))) {
        return POINTER_NOT_A_BLOCK; /* inside a live block */
    }
    if (g == h->arena || bit_test(h->claimed, unit_of(h, g))) {
        return POINTER_FREE_START;
    }
    return POINTER_NOT_A_BLOCK; /* inside a free block */
}

static keel_status expected_refusal(pointer_kind kind) {
    return kind == POINTER_FREE_START ? KEEL_EDOUBLEFREE : KEEL_ENOTOWNED;
}

/* A refusal of a non-live pointer: exactly the predicted status. */
static bool refusal_matches(const model_heap *h, const void *p, pointer_kind kind,
                            keel_status got) {
    keel_status want = expected_refusal(kind);
    if (got == want) {
        return true;
    }
    fprintf(stderr, "  %s: pointer at arena%+" PRIdPTR ": got %s, the model says %s\n", h->name,
            (intptr_t)((uintptr_t)p - h->arena), keel_status_name(got), keel_status_name(want));
    return false;
}

/* ---- snapshots: a refused call changes nothing but (maybe) the failure count ---- */

static bool snapshot_take(model_heap *h, rng *r) {
    if (h->region_size > SNAPSHOT_LIMIT && !rng_chance(r, 16)) {
        return false;
    }
    memcpy(h->snapshot, h->region, h->region_size);
    return true;
}

/* The region equals the snapshot, except that the failure counter (a 64-bit word
 * holding failed_before) may have become failed_before + 1 if counted. */
static void snapshot_compare(const model_heap *h, bool counted, uint64_t failed_before) {
    size_t words = h->region_size / 8, changed = 0;
    for (size_t w = 0; w < words; w++) {
        uint64_t before, after;
        memcpy(&before, h->snapshot + 8 * w, 8);
        memcpy(&after, h->region + 8 * w, 8);
        if (before == after) {
            continue;
        }
        changed++;
        if (!counted || before != failed_before || after != failed_before + 1) {
            fprintf(stderr, "  %s: refused call changed region byte %zu\n", h->name, 8 * w);
            CHECK(false);
        }
    }
    CHECK(memcmp(h->snapshot + 8 * words, h->region + 8 * words, h->region_size % 8) == 0);
    CHECK_EQ(changed, counted ? 1 : 0);
}

/* ---- after every step ---- */

static void check_stats(const model_heap *h) {
    keel_heap_fault fault;
    keel_status status = keel_heap_check(h->heap, &fault);
    if (status != KEEL_OK) {
        fprintf(stderr, "  %s: keel_heap_check: %s at arena%+" PRIdPTR "\n", h->name,
                fault.invariant ? fault.invariant : "?",
                fault.address ? (intptr_t)((uintptr_t)fault.address - h->arena) : 0);
    }
    CHECK_OK(status);
    keel_heap_stats s;
    keel_heap_get_stats(h->heap, &s);
    CHECK_EQ(s.capacity, h->capacity);
    CHECK_EQ(s.live_blocks, h->count);
    CHECK_EQ(s.in_use, h->in_use);
    CHECK_EQ(s.peak_in_use, h->peak);
    CHECK(s.peak_in_use >= s.in_use);
    CHECK_EQ(s.allocations - h->base.allocations, h->allocations);
    CHECK_EQ(s.frees - h->base.frees, h->frees);
    CHECK_EQ(s.failed - h->base.failed, h->failed);
    CHECK(s.in_use + s.largest_free_block + BLOCK_OVERHEAD <= h->capacity ||
          s.largest_free_block == 0);
    CHECK(s.largest_request <= s.largest_free_block);
}

static int compare_payloads(const void *a, const void *b) {
    uintptr_t x = (uintptr_t)((const live_block *)a)->payload;
    uintptr_t y = (uintptr_t)((const live_block *)b)->payload;
    return x < y ? -1 : x > y;
}

/* Every payload, every usable size, and the free gaps against the statistics. */
static void sweep(model_heap *h, live_block *sorted) {
    for (size_t i = 0; i < h->count; i++) {
        const live_block *b = &h->blocks[i];
        CHECK_EQ(keel_heap_usable_size(h->heap, b->payload), b->usable);
        check_pattern(h, b, b->filled);
        if (keel_test_failed_) {
            return;
        }
    }
    memcpy(sorted, h->blocks, h->count * sizeof *sorted);
    qsort(sorted, h->count, sizeof *sorted, compare_payloads);
    uintptr_t at = h->arena;
    size_t largest_gap = 0, bytes = 0;
    for (size_t i = 0; i <= h->count; i++) {
        uintptr_t start = i < h->count ? (uintptr_t)sorted[i].payload - 16 : h->arena_end;
        CHECK(start >= at);
        size_t gap = (size_t)(start - at);
        CHECK(gap == 0 || gap >= MIN_BLOCK); /* a gap is one free block */
        if (gap > largest_gap) {
            largest_gap = gap;
        }
        if (i < h->count) {
            bytes += sorted[i].usable + BLOCK_OVERHEAD;
            at = start + sorted[i].usable + BLOCK_OVERHEAD;
        }
    }
    CHECK_EQ(bytes, h->in_use);
    keel_heap_stats s;
    keel_heap_get_stats(h->heap, &s);
    CHECK_EQ(s.largest_free_block, largest_gap == 0 ? 0 : largest_gap - BLOCK_OVERHEAD);
}

/* ---- operations ---- */

/* A request size: mostly small, sometimes large, now and then at or past the edges. */
static size_t pick_size(const model_heap *h, rng *r, const keel_heap_stats *pre) {
    size_t c = h->capacity;
    size_t roll = rng_below(r, 1000);
    if (roll < 300) {
        return rng_range(r, 1, 32);
    }
    if (roll < 600) {
        return rng_range(r, 33, 256);
    }
    if (roll < 800) {
        return rng_range(r, 257, 2048);
    }
    if (roll < 930) {
        return rng_range(r, 2049, c / 16 > 2049 ? c / 16 : 2049);
    }
    if (roll < 975) { /* log-uniform up to half the arena */
        unsigned bits = 1;
        while (((size_t)1 << bits) < c / 2) {
            bits++;
        }
        return rng_range(r, 1, (size_t)1 << rng_range(r, 1, bits));
    }
    if (roll < 990) { /* the edge of what is sure to succeed */
        size_t edge = pre->largest_request;
        return edge + rng_range(r, 0, 2) - 1 + (size_t)(edge == 0);
    }
    switch (rng_below(r, 5)) { /* near or past the capacity */
    case 0:
        return 0;
    case 1:
        return c;
    case 2:
        return c + rng_range(r, 1, 100);
    case 3:
        return SIZE_MAX - rng_below(r, 16);
    default:
        return c - rng_below(r, 64);
    }
}

static bool out_of_range(const model_heap *h, size_t size) {
    return size == 0 || size > h->capacity;
}

static void op_alloc(model_heap *h, int hi, rng *r) {
    keel_heap_stats pre;
    keel_heap_get_stats(h->heap, &pre);
    size_t size = pick_size(h, r, &pre);
    bool may_fail = out_of_range(h, size) || size > pre.largest_request;
    bool snap = may_fail && snapshot_take(h, r);
    void *p = (void *)&static_object;
    keel_status status = keel_heap_alloc(h->heap, size, &p);
    trace(hi, "alloc", size, 0, p, status);
    if (out_of_range(h, size)) {
        CHECK_STATUS(status, KEEL_ERANGE);
    } else if (size <= pre.largest_request) {
        CHECK_OK(status); /* what largest_request promises */
    } else if (status != KEEL_OK) {
        CHECK_STATUS(status, KEEL_ENOMEM);
        run.enomem_seen++;
    }
    if (status != KEEL_OK) {
        CHECK(p == NULL);
        h->failed++;
        if (snap) {
            snapshot_compare(h, true, pre.failed);
        }
        return;
    }
    h->allocations++;
    model_add(h, r, p, size);
    if (!keel_test_failed_) {
        model_grow(h, h->blocks[h->count - 1].usable + BLOCK_OVERHEAD);
    }
}

static size_t pick_align(rng *r, size_t capacity) {
    size_t roll = rng_below(r, 100);
    if (roll < 85) {
        return (size_t)1 << rng_range(r, 0, 12);
    }
    if (roll < 92) {
        size_t a = 1;
        while (a <= capacity) {
            a <<= 1;
        }
        return a >> rng_below(r, 3); /* about the capacity */
    }
    static const size_t bad[] = {0, 3, 24, 48, 100, 4097, SIZE_MAX};
    return bad[rng_below(r, sizeof bad / sizeof bad[0])];
}

/* An aligned request needs at most this much of largest_request: a block for
 * max(size, 9) bytes (blocks are >= 32), plus the alignment gap, plus a block. */
static size_t aligned_demand(size_t size, size_t align) {
    return (size < 9 ? 9 : size) + align + 32;
}

static void op_alloc_aligned(model_heap *h, int hi, rng *r) {
    keel_heap_stats pre;
    keel_heap_get_stats(h->heap, &pre);
    size_t size = pick_size(h, r, &pre);
    if (rng_chance(r, 700) && size > 512) {
        size = rng_range(r, 1, 512);
    }
    size_t align = pick_align(r, h->capacity);
    bool valid_align = align != 0 && (align & (align - 1)) == 0;
    bool range = out_of_range(h, size) ||
                 (valid_align && align > KEEL_HEAP_ALIGN && align > h->capacity - size);
    bool may_fail =
        !valid_align || range ||
        (align <= KEEL_HEAP_ALIGN ? size : aligned_demand(size, align) - 1) > pre.largest_request;
    bool snap = may_fail && snapshot_take(h, r);
    void *p = (void *)&static_object;
    keel_status status = keel_heap_alloc_aligned(h->heap, size, align, &p);
    trace(hi, "alloc_aligned", size, align, p, status);
    if (!valid_align) {
        CHECK_STATUS(status, KEEL_EALIGN);
    } else if (range) {
        CHECK_STATUS(status, KEEL_ERANGE);
    } else if (align <= KEEL_HEAP_ALIGN && size <= pre.largest_request) {
        CHECK_OK(status);
    } else if (status != KEEL_OK) {
        CHECK_STATUS(status, KEEL_ENOMEM);
        /* Refused only if the request (a block holds at least 9 bytes), its
         * worst-case alignment padding and a block's overhead did not fit. */
        if (align <= KEEL_HEAP_ALIGN) {
            CHECK(pre.largest_request < size);
        } else {
            CHECK(pre.largest_request < aligned_demand(size, align));
        }
        run.enomem_seen++;
    }
    if (status != KEEL_OK) {
        CHECK(p == NULL);
        bool counted = status != KEEL_EALIGN;
        h->failed += counted;
        if (snap) {
            snapshot_compare(h, counted, pre.failed);
        }
        return;
    }
    CHECK_EQ((uintptr_t)p % align, 0);
    h->allocations++;
    model_add(h, r, p, size);
    if (!keel_test_failed_) {
        model_grow(h, h->blocks[h->count - 1].usable + BLOCK_OVERHEAD);
    }
}

/* A pointer this heap did not hand out (or no longer owns). */
static void *pick_bogus(const model_heap *h, rng *r) {
    for (int attempt = 0; attempt < 8; attempt++) {
        uintptr_t c = 0;
        switch (rng_below(r, 10)) {
        case 0:
        case 1:
        case 2: /* freed earlier: a double free, or a stale pointer */
            c = (uintptr_t)h->freed[rng_below(r, FREED_RING)];
            break;
        case 3:
        case 4: { /* inside a live block */
            if (h->count == 0) {
                continue;
            }
            const live_block *b = &h->blocks[rng_below(r, h->count)];
            c = (uintptr_t)b->payload + (rng_chance(r, 700)
                                             ? 16 * rng_range(r, 1, b->usable / 16 + 1)
                                             : rng_range(r, 1, 15));
            break;
        }
        case 5: /* anywhere in the arena */
            c = h->arena + 16 * rng_below(r, h->capacity / 16 + 1);
            break;
        case 6: { /* a live block of another heap */
            const model_heap *o = &heaps[rng_below(r, HEAP_COUNT)];
            if (o == h || o->count == 0) {
                continue;
            }
            c = (uintptr_t)o->blocks[rng_below(r, o->count)].payload;
            break;
        }
        case 7: /* the heap's own metadata */
            c = (uintptr_t)h->region +
                16 * rng_below(r, (h->arena - (uintptr_t)h->region) / 16 + 1);
            break;
        case 8: { /* just outside the arena, or nowhere near it */
            uintptr_t outside[] = {h->arena_end,
                                   h->arena_end + 16,
                                   h->arena,
                                   h->arena + 8,
                                   (uintptr_t)h->region - 16,
                                   (uintptr_t)&static_object,
                                   (uintptr_t)&c,
                                   16};
            c = outside[rng_below(r, sizeof outside / sizeof outside[0])];
            break;
        }
        default: /* near a freed pointer */
            c = (uintptr_t)h->freed[rng_below(r, FREED_RING)];
            c += 16 * rng_range(r, 1, 4);
            break;
        }
        if (c != 0 && classify(h, (const void *)c) != POINTER_LIVE) {
            return (void *)c;
        }
    }
    return (void *)&static_object;
}

/* free_checked, realloc or usable_size with a pointer the heap must refuse. */
static void op_bogus(model_heap *h, int hi, rng *r) {
    void *c = pick_bogus(h, r);
    pointer_kind kind = classify(h, c);
    keel_heap_stats pre;
    keel_heap_get_stats(h->heap, &pre);
    bool snap = snapshot_take(h, r);
    size_t which = rng_below(r, 10);
    if (which < 6) {
        keel_status status = keel_heap_free_checked(h->heap, c);
        trace(hi, "free_checked(bogus)", 0, 0, c, status);
        CHECK(refusal_matches(h, c, kind, status));
    } else if (which < 9) {
        void *out = (void *)&static_object;
        size_t size = rng_range(r, 0, 4096);
        keel_status status = keel_heap_realloc(h->heap, c, size, &out);
        trace(hi, "realloc(bogus)", size, 0, c, status);
        CHECK(refusal_matches(h, c, kind, status));
        CHECK(out == NULL);
    } else {
        CHECK_EQ(keel_heap_usable_size(h->heap, c), 0);
        trace(hi, "usable_size(bogus)", 0, 0, c, KEEL_OK);
    }
    run.refusals_seen++;
    if (snap) {
        snapshot_compare(h, false, pre.failed);
    }
}

static void op_free(model_heap *h, int hi, rng *r) {
    if (h->count == 0) {
        keel_heap_free(h->heap, NULL); /* a no-op */
        trace(hi, "free(NULL)", 0, 0, NULL, KEEL_OK);
        return;
    }
    size_t i = rng_below(r, h->count);
    live_block *b = &h->blocks[i];
    check_pattern(h, b, b->filled);
    if (keel_test_failed_) {
        return;
    }
    unsigned char *p = b->payload;
    if (rng_chance(r, 500)) {
        keel_heap_free(h->heap, p);
        trace(hi, "free", 0, 0, p, KEEL_OK);
    } else {
        keel_status status = keel_heap_free_checked(h->heap, p);
        trace(hi, "free_checked", 0, 0, p, status);
        CHECK_OK(status);
    }
    h->frees++;
    model_remove(h, i);
}

/* Bytes of the free block that starts at `address` (0 if a live block or the
 * sentinel starts there): up to the next live block's size word, or the arena end. */
static size_t free_block_at(const model_heap *h, uintptr_t address) {
    if (address >= h->arena_end || bit_test(h->claimed, unit_of(h, address + 8))) {
        return 0;
    }
    size_t end = unit_of(h, h->arena_end) + 1;
    for (size_t u = unit_of(h, address + 8); u < end; u++) {
        if ((u & 63) == 0 && u + 64 <= end && h->claimed[u >> 6] == 0) {
            u += 63; /* a whole empty word */
            continue;
        }
        if (bit_test(h->claimed, u)) {
            return (size_t)(h->arena + 8 * u - 8 - address);
        }
    }
    return (size_t)(h->arena_end - address);
}

/* The block a request takes: the size word, rounded to 16, at least 32. */
static size_t block_for(size_t request) {
    size_t b = (request + BLOCK_OVERHEAD + 15) & ~(size_t)15;
    return b < MIN_BLOCK ? MIN_BLOCK : b;
}

static void op_realloc(model_heap *h, int hi, rng *r) {
    keel_heap_stats pre;
    keel_heap_get_stats(h->heap, &pre);
    if (h->count == 0 || rng_chance(r, 40)) { /* realloc(NULL) is alloc */
        size_t size = pick_size(h, r, &pre);
        void *p = (void *)&static_object;
        keel_status status = keel_heap_realloc(h->heap, NULL, size, &p);
        trace(hi, "realloc(NULL)", size, 0, NULL, status);
        if (status != KEEL_OK) {
            CHECK_STATUS(status, out_of_range(h, size) ? KEEL_ERANGE : KEEL_ENOMEM);
            CHECK(out_of_range(h, size) || size > pre.largest_request);
            CHECK(p == NULL);
            h->failed++;
            return;
        }
        CHECK(!out_of_range(h, size));
        h->allocations++;
        model_add(h, r, p, size);
        if (!keel_test_failed_) {
            model_grow(h, h->blocks[h->count - 1].usable + BLOCK_OVERHEAD);
        }
        return;
    }
    size_t i = rng_below(r, h->count);
    live_block old = h->blocks[i];
    size_t size;
    switch (rng_below(r, 8)) {
    case 0:
    case 1:
        size = rng_range(r, 1, old.requested); /* shrink */
        break;
    case 2:
        size = old.usable + rng_range(r, 1, 48); /* grow just past the block */
        break;
    case 3:
        size = old.requested;
        break;
    default:
        size = pick_size(h, r, &pre);
        break;
    }
    bool may_fail = out_of_range(h, size) || size > old.usable;
    /* It must stay in place if it shrinks or the free block after it is enough. */
    size_t old_block = old.usable + BLOCK_OVERHEAD;
    bool in_place =
        !out_of_range(h, size) &&
        block_for(size) <= old_block + free_block_at(h, (uintptr_t)old.payload - 16 + old_block);
    bool snap = may_fail && snapshot_take(h, r);
    void *q = (void *)&static_object;
    keel_status status = keel_heap_realloc(h->heap, old.payload, size, &q);
    trace(hi, "realloc", size, 0, old.payload, status);
    if (out_of_range(h, size)) {
        CHECK_STATUS(status, KEEL_ERANGE);
    } else if (status != KEEL_OK) {
        CHECK_STATUS(status, KEEL_ENOMEM);
        CHECK(!in_place);                  /* it had to move */
        CHECK(size > pre.largest_request); /* and could not move */
        run.enomem_seen++;
    }
    if (status != KEEL_OK) {
        CHECK(q == NULL);
        h->failed++;
        /* The original block is untouched and still owned. */
        CHECK_EQ(keel_heap_usable_size(h->heap, old.payload), old.usable);
        check_pattern(h, &old, old.filled);
        if (snap) {
            snapshot_compare(h, true, pre.failed);
        }
        return;
    }
    CHECK(q != NULL);
    CHECK(q == old.payload || !in_place);
    CHECK_EQ((uintptr_t)q % KEEL_HEAP_ALIGN, 0);
    /* Forget the old block, then record the new one (it may overlap the old place). */
    model_remove(h, i);
    if (q != old.payload) {
        h->allocations++; /* a moving realloc counts an allocation and a free */
        h->frees++;
        run.moves_seen++;
    } else {
        h->freed_next--; /* it was not freed */
    }
    size_t in_use_before = h->in_use + old.usable + BLOCK_OVERHEAD;
    size_t usable = keel_heap_usable_size(h->heap, q);
    if (q != old.payload) { /* the new block was taken while the old one was live */
        CHECK((uintptr_t)q + usable <= (uintptr_t)old.payload - 8 ||
              (uintptr_t)old.payload + old.usable <= (uintptr_t)q - 8);
    }
    size_t keep = old.filled < usable ? old.filled : usable;
    size_t at = pattern_mismatch(q, keep, old.seed);
    if (at != SIZE_MAX) {
        fprintf(stderr, "  %s: realloc %zu -> %zu (%s) lost byte %zu of %zu\n", h->name, old.usable,
                usable, q == old.payload ? "in place" : "moved", at, keep);
    }
    CHECK(at == SIZE_MAX);
    model_add(h, r, q, size);
    if (keel_test_failed_) {
        return;
    }
    if (q != old.payload) {
        /* Both blocks were allocated for a moment: that is the peak. */
        model_grow(h, in_use_before + usable + BLOCK_OVERHEAD - h->in_use);
        h->in_use = in_use_before - old.usable - BLOCK_OVERHEAD + usable + BLOCK_OVERHEAD;
    } else {
        model_grow(h, usable + BLOCK_OVERHEAD);
    }
}

static void op_usable(model_heap *h, int hi, rng *r) {
    if (h->count == 0) {
        CHECK_EQ(keel_heap_usable_size(h->heap, NULL), 0);
        return;
    }
    const live_block *b = &h->blocks[rng_below(r, h->count)];
    CHECK_EQ(keel_heap_usable_size(h->heap, b->payload), b->usable);
    trace(hi, "usable_size", 0, 0, b->payload, KEEL_OK);
}

static void op_reset(model_heap *h, int hi) {
    keel_heap_reset(h->heap);
    trace(hi, "reset", 0, 0, NULL, KEEL_OK);
    model_clear(h);
    keel_heap_stats s;
    keel_heap_get_stats(h->heap, &s);
    CHECK_EQ(s.in_use, 0);
    CHECK_EQ(s.live_blocks, 0);
    CHECK_EQ(s.peak_in_use, 0);
    CHECK_EQ(s.largest_free_block, h->capacity - BLOCK_OVERHEAD);
}

/* Calls with a NULL heap or output: EINVAL (or 0), nothing changes. */
static void op_null_arguments(model_heap *h, int hi) {
    void *p = (void *)&static_object;
    CHECK_STATUS(keel_heap_alloc(NULL, 16, &p), KEEL_EINVAL);
    CHECK_STATUS(keel_heap_alloc(h->heap, 16, NULL), KEEL_EINVAL);
    CHECK_STATUS(keel_heap_alloc_aligned(h->heap, 16, 64, NULL), KEEL_EINVAL);
    CHECK_STATUS(keel_heap_realloc(h->heap, NULL, 16, NULL), KEEL_EINVAL);
    CHECK_STATUS(keel_heap_free_checked(h->heap, NULL), KEEL_EINVAL);
    CHECK_STATUS(keel_heap_free_checked(NULL, p), KEEL_EINVAL);
    CHECK_STATUS(keel_heap_check(NULL, NULL), KEEL_EINVAL);
    CHECK_EQ(keel_heap_usable_size(NULL, p), 0);
    CHECK_EQ(keel_heap_usable_size(h->heap, NULL), 0);
    trace(hi, "null arguments", 0, 0, NULL, KEEL_EINVAL);
}

/* How a heap leans for a while: filling up, draining, or churning. */
typedef enum mood { MOOD_FILL, MOOD_DRAIN, MOOD_CHURN } mood;

static void step(model_heap *h, int hi, rng *r, mood m) {
    unsigned alloc_share = m == MOOD_FILL ? 700 : m == MOOD_DRAIN ? 300 : 500;
    size_t roll = rng_below(r, 1000);
    if (roll < 60) {
        op_bogus(h, hi, r);
    } else if (roll < 80) {
        op_usable(h, hi, r);
    } else if (roll < 83) {
        op_null_arguments(h, hi);
    } else if (roll == 83 && rng_chance(r, 100)) {
        op_reset(h, hi);
    } else if (rng_chance(r, alloc_share)) {
        size_t kind = rng_below(r, 10);
        if (kind < 6) {
            op_alloc(h, hi, r);
        } else if (kind < 8) {
            op_alloc_aligned(h, hi, r);
        } else {
            op_realloc(h, hi, r);
        }
    } else if (rng_chance(r, 850)) {
        op_free(h, hi, r);
    } else {
        op_realloc(h, hi, r);
    }
}

static uint64_t env_u64(const char *name, uint64_t fallback) {
    const char *v = getenv(name);
    return v != NULL && *v != '\0' ? strtoull(v, NULL, 0) : fallback;
}

static uint64_t sequence_seed(uint64_t base, unsigned sequence) {
    rng r = {base ^ (UINT64_C(0xA24BAED4963EE407) * (sequence + 1u))};
    return rng_next(&r);
}

static const size_t heap_sizes[HEAP_COUNT] = {4096, 64 * 1024, 1024 * 1024, 0 /* random */};
enum { RANDOM_HEAP_MAX = 200 * 1000 };

static bool heaps_allocate(void) {
    for (int i = 0; i < HEAP_COUNT; i++) {
        model_heap *h = &heaps[i];
        size_t room = heap_sizes[i] != 0 ? heap_sizes[i] : RANDOM_HEAP_MAX;
        h->region_room = room;
        h->region = aligned_alloc(16, (room + 15) & ~(size_t)15);
        h->snapshot = malloc(room);
        size_t granules = room / 16 + 1, units = room / 8 + 2;
        h->blocks = malloc((room / MIN_BLOCK + 1) * sizeof(live_block));
        h->slot_of = calloc(granules, sizeof(uint32_t));
        h->claimed = calloc((units + 63) / 64, sizeof(uint64_t));
        if (h->region == NULL || h->snapshot == NULL || h->blocks == NULL || h->slot_of == NULL ||
            h->claimed == NULL) {
            return false;
        }
    }
    return true;
}

static void heaps_release(void) {
    for (int i = 0; i < HEAP_COUNT; i++) {
        model_heap *h = &heaps[i];
        free(h->region);
        free(h->snapshot);
        free(h->blocks);
        free(h->slot_of);
        free(h->claimed);
        memset(h, 0, sizeof *h);
    }
}

/* One sequence: four fresh heaps, `steps` random operations spread over them,
 * then every block freed and the heaps found empty. */
static void run_sequence(unsigned sequence, uint64_t steps, live_block *sorted) {
    rng r = {sequence_seed(run.base_seed, sequence)};
    run.sequence = sequence;
    mood moods[HEAP_COUNT];
    uint64_t mood_until[HEAP_COUNT];
    for (int i = 0; i < HEAP_COUNT; i++) {
        model_heap *h = &heaps[i];
        size_t size = heap_sizes[i];
        if (size == 0) { /* not a multiple of 16, and different each time */
            size = rng_range(&r, 3000, RANDOM_HEAP_MAX) | 1u;
        }
        snprintf(h->name, sizeof h->name, "heap%d(%zu)", i, size);
        model_init(h, size);
        if (keel_test_failed_) {
            return;
        }
        moods[i] = MOOD_FILL;
        mood_until[i] = 0;
    }
    for (run.step = 0; run.step < steps; run.step++) {
        int hi = (int)rng_below(&r, HEAP_COUNT);
        model_heap *h = &heaps[hi];
        if (run.step >= mood_until[hi]) {
            moods[hi] = (mood)rng_below(&r, 3);
            mood_until[hi] = run.step + rng_range(&r, 200, 4000);
        }
        step(h, hi, &r, moods[hi]);
        if (!keel_test_failed_) {
            check_stats(h);
        }
        if (!keel_test_failed_ && run.step % SWEEP_INTERVAL == SWEEP_INTERVAL - 1) {
            for (int j = 0; j < HEAP_COUNT && !keel_test_failed_; j++) {
                sweep(&heaps[j], sorted);
            }
        }
        if (keel_test_failed_) {
            fprintf(stderr, "  on %s\n", h->name);
            print_replay();
            return;
        }
    }
    run.total_steps += steps;
    for (int i = 0; i < HEAP_COUNT; i++) {
        model_heap *h = &heaps[i];
        sweep(h, sorted);
        while (!keel_test_failed_ && h->count > 0) {
            unsigned char *p = h->blocks[h->count - 1].payload;
            CHECK_OK(keel_heap_free_checked(h->heap, p));
            h->frees++;
            model_remove(h, h->count - 1);
        }
        check_stats(h);
        keel_heap_stats s;
        keel_heap_get_stats(h->heap, &s);
        CHECK_EQ(s.in_use, 0);
        CHECK_EQ(s.largest_free_block, h->capacity - BLOCK_OVERHEAD);
        if (keel_test_failed_) {
            fprintf(stderr, "  draining %s\n", h->name);
            print_replay();
            return;
        }
    }
}

KEEL_TEST(heap_random_operation_sequences_agree_with_the_model) {
    run.base_seed = env_u64("KEEL_HEAP_MODEL_SEED", DEFAULT_SEED);
    uint64_t sequences = env_u64("KEEL_HEAP_MODEL_SEQUENCES", DEFAULT_SEQUENCES);
    uint64_t steps = env_u64("KEEL_HEAP_MODEL_STEPS", DEFAULT_STEPS);
    uint64_t only = env_u64("KEEL_HEAP_MODEL_ONLY", UINT64_MAX);
    printf("heap model: seed 0x%016" PRIx64 ", %" PRIu64 " sequences of %" PRIu64 " steps\n",
           run.base_seed, only == UINT64_MAX ? sequences : 1, steps);
    CHECK(heaps_allocate());
    live_block *sorted = malloc((RANDOM_HEAP_MAX > 1024 * 1024 ? RANDOM_HEAP_MAX : 1024 * 1024) /
                                MIN_BLOCK * sizeof(live_block));
    CHECK(sorted != NULL);
    clock_t start = clock();
    for (uint64_t s = 0; s < sequences && !keel_test_failed_; s++) {
        if (only != UINT64_MAX && s != only) {
            continue;
        }
        run_sequence((unsigned)s, steps, sorted);
    }
    free(sorted);
    heaps_release();
    printf("heap model: %" PRIu64 " steps in %.1f s; %" PRIu64 " ENOMEM, %" PRIu64
           " refused pointers, %" PRIu64 " moving reallocs\n",
           run.total_steps, (double)(clock() - start) / CLOCKS_PER_SEC, run.enomem_seen,
           run.refusals_seen, run.moves_seen);
    if (!keel_test_failed_) { /* the run exercised what it claims to */
        CHECK(run.enomem_seen > 0 && run.refusals_seen > 0 && run.moves_seen > 0);
    }
}

/* ---- regressions: stale free-block headers are not block starts ---- */

/*
 * A freed 32-byte block between two live ones is swallowed whole when its
 * predecessor grows in place (the 16 spare bytes stay in the grown block); its
 * stale free header and its successor's stale back pointer survive in memory.
 * A second free of the old pointer - now inside a live block - is "not a block",
 * not a double free: the heap once trusted the stale header.
 */
KEEL_TEST(heap_free_checked_calls_a_stale_pointer_inside_a_grown_block_not_owned) {
    static _Alignas(16) unsigned char region[4096];
    keel_heap *heap;
    CHECK_OK(keel_heap_init(&heap, region, sizeof region));
    void *a, *f, *c, *grown;
    CHECK_OK(keel_heap_alloc(heap, 40, &a));
    CHECK_OK(keel_heap_alloc(heap, 24, &f)); /* a 32-byte block */
    CHECK_OK(keel_heap_alloc(heap, 40, &c));
    keel_heap_free(heap, f);
    size_t usable = keel_heap_usable_size(heap, a);
    CHECK_OK(keel_heap_realloc(heap, a, usable + 1, &grown));
    CHECK(grown == a); /* grew in place over f */
    CHECK(keel_heap_usable_size(heap, a) > (size_t)((unsigned char *)f - (unsigned char *)a));
    CHECK_STATUS(keel_heap_free_checked(heap, f), KEEL_ENOTOWNED);
    CHECK_OK(keel_heap_check(heap, NULL));
}

/* After a reset the arena still holds the headers of the blocks that were free
 * before it; a pointer to one of them is no block start at all. */
KEEL_TEST(heap_free_checked_calls_a_pointer_freed_before_reset_not_owned) {
    static _Alignas(16) unsigned char region[4096];
    keel_heap *heap;
    CHECK_OK(keel_heap_init(&heap, region, sizeof region));
    void *a, *f, *c;
    CHECK_OK(keel_heap_alloc(heap, 40, &a));
    CHECK_OK(keel_heap_alloc(heap, 40, &f));
    CHECK_OK(keel_heap_alloc(heap, 40, &c));
    keel_heap_free(heap, f);
    keel_heap_reset(heap); /* one free block from the arena start: f is inside it */
    CHECK_STATUS(keel_heap_free_checked(heap, f), KEEL_ENOTOWNED);
    CHECK_OK(keel_heap_check(heap, NULL));
}

KEEL_TEST_MAIN()
