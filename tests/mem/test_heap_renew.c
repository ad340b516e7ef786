/*
 * keel_heap_renew and keel_heap_reset retire the block-start map by an epoch
 * instead of clearing it. These tests look at the map itself (src/ on the
 * include path): that renew really leaves it in place, that no word of an
 * earlier epoch ever reads as set, and that the sweep rewrites every word
 * before the 32-bit epoch can come round to it again.
 */
#include <stdint.h>
#include <string.h>

#include "keel/mem.h"
#include "keel_test.h"
#include "mem/heap_layout.h"

enum { REGION = 256 * 1024, SMALL = 4096, BLOCKS = 400 };
static _Alignas(16) unsigned char region[REGION];

static uint64_t next(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

/* Allocates blocks of random sizes until the heap refuses or `count` are live. */
static size_t fill(keel_heap *heap, void **blocks, size_t count, uint64_t seed) {
    size_t n = 0;
    while (n < count && keel_heap_alloc(heap, 1 + next(&seed) % 700, &blocks[n]) == KEEL_OK) {
        n++;
    }
    return n;
}

/* A heap as fresh as after init: checked, empty, every old block refused. */
static void check_fresh(keel_heap *heap, void *const *old, size_t old_count) {
    CHECK_OK(keel_heap_check(heap, NULL));
    keel_heap_stats stats;
    keel_heap_get_stats(heap, &stats);
    CHECK_EQ(stats.in_use, 0);
    CHECK_EQ(stats.live_blocks, 0);
    CHECK_EQ(stats.largest_free_block, stats.capacity - ALLOC_OVERHEAD);
    for (size_t i = 1; i < old_count; i++) { /* the first block starts the free arena */
        CHECK_STATUS(keel_heap_free_checked(heap, old[i]), KEEL_ENOTOWNED);
    }
}

KEEL_TEST(renew_gives_a_fresh_heap_and_advances_the_epoch) {
    keel_heap *heap;
    CHECK_OK(keel_heap_init(&heap, region, REGION));
    uint32_t epoch = keel_heap_epoch(heap);
    CHECK_EQ(epoch, 0);
    static void *blocks[BLOCKS];
    for (uint32_t round = 1; round <= 5; round++) {
        size_t n = fill(heap, blocks, BLOCKS, round);
        CHECK(n > 100);
        keel_heap *again;
        CHECK_OK(keel_heap_renew(&again, region, REGION, &epoch));
        CHECK(again == heap);
        CHECK_EQ(epoch, round);
        CHECK_EQ(keel_heap_epoch(heap), round);
        check_fresh(heap, blocks, n);
    }
}

KEEL_TEST(renew_refuses_what_init_refuses) {
    keel_heap *heap = (keel_heap *)region;
    uint32_t epoch = 0;
    CHECK_STATUS(keel_heap_renew(NULL, region, REGION, &epoch), KEEL_EINVAL);
    CHECK_STATUS(keel_heap_renew(&heap, NULL, REGION, &epoch), KEEL_EINVAL);
    CHECK(heap == NULL);
    CHECK_STATUS(keel_heap_renew(&heap, region, REGION, NULL), KEEL_EINVAL);
    CHECK_STATUS(keel_heap_renew(&heap, region + 8, REGION - 16, &epoch), KEEL_EALIGN);
    CHECK_STATUS(keel_heap_renew(&heap, region, 64, &epoch), KEEL_ETOOSMALL);
    CHECK_EQ(epoch, 0);
    keel_heap_locked locked;
    CHECK_STATUS(keel_heap_locked_renew(NULL, region, REGION, &epoch), KEEL_EINVAL);
    CHECK_OK(keel_heap_locked_init(&locked, region, REGION));
    epoch = keel_heap_epoch(locked.heap);
    pthread_mutex_destroy(&locked.lock);
    CHECK_OK(keel_heap_locked_renew(&locked, region, REGION, &epoch));
    void *p;
    CHECK_OK(keel_heap_locked_alloc(&locked, 100, &p));
    CHECK_OK(keel_heap_locked_check(&locked, NULL));
    keel_heap_locked_destroy(&locked);
}

/*
 * The failed owner wrote garbage over the control block and the arena but not
 * the epoch word: renew rebuilds everything from (region, size), and leaves the
 * map's words where they were (O(1): not cleared), reading them as clear.
 */
KEEL_TEST(renew_trusts_nothing_but_the_epoch_and_leaves_the_map_in_place) {
    keel_heap *heap;
    CHECK_OK(keel_heap_init(&heap, region, REGION));
    uint32_t epoch = keel_heap_epoch(heap);
    static void *blocks[BLOCKS];
    size_t n = fill(heap, blocks, BLOCKS, 7);
    size_t words = map_words(heap);
    uint64_t *map = heap->start_map;
    /* Every bit of every word set, in the epoch about to end: renew must
     * retire them all without touching them. */
    for (size_t w = 0; w < words; w++) {
        map[w] |= UINT32_MAX;
    }
    static uint64_t before[REGION / 512];
    CHECK(words <= sizeof before / sizeof before[0]);
    memcpy(before, map, words * sizeof(uint64_t));
    /* Garbage everywhere but the epoch word and the map. */
    size_t tag_at = offsetof(keel_heap, map_tag);
    memset(region, 0xA5, tag_at);
    memset(region + tag_at + sizeof(uint64_t), 0x5A,
           (size_t)((unsigned char *)map - region) - tag_at - sizeof(uint64_t));
    memset((unsigned char *)map + words * sizeof(uint64_t), 0xC3,
           REGION - (size_t)((unsigned char *)map - region) - words * sizeof(uint64_t));
    CHECK_OK(keel_heap_renew(&heap, region, REGION, &epoch));
    check_fresh(heap, blocks, n);
    /* The sweep rewrote one word and the arena's first block set a bit in word
     * 0; every other word is byte for byte what it was. */
    size_t kept = 0;
    for (size_t w = 1; w < words; w++) {
        kept += map[w] == before[w];
    }
    CHECK_EQ(kept, words - 2 + (epoch % words == 0));
    /* The heads of the lists are garbage too, and stay so until first used:
     * small blocks come and go through them, and their merges file large ones. */
    static void *again[BLOCKS];
    size_t m = fill(heap, again, BLOCKS, 8);
    CHECK(m > 100);
    for (size_t i = 0; i < m; i += 2) {
        keel_heap_free(heap, again[i]);
    }
    CHECK_OK(keel_heap_check(heap, NULL));
    for (size_t i = 1; i < m; i += 2) {
        keel_heap_free(heap, again[i]);
    }
    check_fresh(heap, NULL, 0);
}

/*
 * The epoch word itself was overwritten, or the heap was reset since the
 * caller's record: the map may then hold words of the very epoch renew moves
 * to, so it is cleared. Without that, the words written after two resets
 * (epoch 1) would read as set after a renew from epoch 0 to 1.
 */
KEEL_TEST(renew_clears_the_map_when_the_epoch_is_not_the_recorded_one) {
    static void *blocks[BLOCKS];
    for (int how = 0; how < 2; how++) {
        keel_heap *heap;
        CHECK_OK(keel_heap_init(&heap, region, REGION));
        uint32_t epoch = keel_heap_epoch(heap);
        keel_heap_reset(heap);
        size_t n = fill(heap, blocks, BLOCKS, 11); /* words of epoch 1 */
        CHECK(n > 100);
        if (how == 0) {
            keel_heap_reset(heap); /* the heap runs in epoch 2, the record says 0 */
        } else {
            heap->map_tag = (uint64_t)0xDEADBEEF << MAP_BITS; /* a wild write */
        }
        CHECK_OK(keel_heap_renew(&heap, region, REGION, &epoch));
        CHECK_EQ(epoch, 1);
        check_fresh(heap, blocks, n);
    }
}

/* Sets every map word but the arena's first to `stale` and resets the heap
 * `resets` times, allocating and checking each time; *left: how many words
 * still hold `stale`. */
static void sweep(keel_heap *heap, uint32_t start, size_t resets, size_t *left) {
    size_t words = map_words(heap);
    keel_heap_reset(heap); /* one free block: only the arena's first bit set */
    heap->map_tag = (uint64_t)start << MAP_BITS;
    /* Words of epoch start - 1, all bits set: they must never read as set. */
    uint64_t stale = ((uint64_t)(start - 1) << MAP_BITS) | UINT32_MAX;
    for (size_t w = 0; w < words; w++) {
        heap->start_map[w] = stale;
    }
    heap->start_map[0] = heap->map_tag | 1; /* the arena's first block */
    CHECK_OK(keel_heap_check(heap, NULL));
    for (size_t k = 0; k < resets; k++) {
        keel_heap_reset(heap);
        void *p, *q;
        CHECK_OK(keel_heap_alloc(heap, 40, &p));
        CHECK_OK(keel_heap_alloc(heap, 100, &q));
        CHECK_OK(keel_heap_check(heap, NULL));
        CHECK_OK(keel_heap_free_checked(heap, q));
        CHECK_STATUS(keel_heap_free_checked(heap, q), KEEL_EDOUBLEFREE);
    }
    CHECK_EQ(keel_heap_epoch(heap), start + (uint32_t)resets);
    *left = 0;
    for (size_t w = 0; w < words; w++) {
        *left += heap->start_map[w] == stale;
    }
}

/*
 * The sweep: whatever epochs the map's words hold, as many consecutive resets
 * as the map has words rewrite every one of them (when the epoch does not wrap
 * in between), so a word cannot keep an epoch until the 32-bit counter comes
 * round to it. Across the wrap from 2^32 - 1 to 0 the heap works as anywhere.
 */
KEEL_TEST(every_map_word_is_rewritten_within_as_many_resets_as_it_has_words) {
    static _Alignas(16) unsigned char small[SMALL];
    keel_heap *heap;
    CHECK_OK(keel_heap_init(&heap, small, SMALL));
    size_t words = map_words(heap);
    CHECK(words >= 4);
    size_t left = SIZE_MAX;
    sweep(heap, 1000, words, &left);
    CHECK_EQ(left, 0);
    sweep(heap, 1000, words - 1, &left);
    CHECK_EQ(left, 1); /* one reset fewer leaves one */
    sweep(heap, UINT32_MAX - (uint32_t)words / 2, words, &left); /* checks inside */
}

/* Renew and reset in any order, with blocks live in between: every epoch's
 * heap checks, and frees of the previous epochs' blocks are refused. */
KEEL_TEST(random_renews_and_resets_keep_the_heap_exact) {
    keel_heap *heap;
    CHECK_OK(keel_heap_init(&heap, region, REGION));
    uint32_t epoch = keel_heap_epoch(heap);
    static void *blocks[BLOCKS];
    uint64_t seed = 5;
    for (int round = 0; round < 300; round++) {
        size_t n = fill(heap, blocks, 1 + next(&seed) % BLOCKS, seed);
        for (size_t i = 0; i < n; i += 2) {
            CHECK_OK(keel_heap_free_checked(heap, blocks[i]));
        }
        CHECK_OK(keel_heap_check(heap, NULL));
        if (next(&seed) % 4 == 0) {
            keel_heap_reset(heap);
            epoch = keel_heap_epoch(heap); /* the owner keeps its record true */
        } else {
            CHECK_OK(keel_heap_renew(&heap, region, REGION, &epoch));
        }
        check_fresh(heap, blocks, n);
    }
}

KEEL_TEST_MAIN()
