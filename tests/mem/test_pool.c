/* The pool's contract (include/keel/mem.h), one behaviour per test. */
#include <stdalign.h>
#include <stdint.h>
#include <string.h>

#include "keel/mem.h"
#include "keel_test.h"

KEEL_POOL_DEFINE(static_pool, 40, 100);

KEEL_TEST(a_statically_defined_pool_needs_no_init) {
    void *blocks[100];
    for (int i = 0; i < 100; i++) {
        CHECK_OK(keel_pool_alloc(&static_pool, &blocks[i]));
        CHECK(((uintptr_t)blocks[i] % KEEL_POOL_ALIGN) == 0);
        memset(blocks[i], i, 40);
    }
    void *extra = &extra;
    CHECK_STATUS(keel_pool_alloc(&static_pool, &extra), KEEL_ENOMEM);
    CHECK(extra == NULL);
    for (int i = 0; i < 100; i++) {
        unsigned char *b = blocks[i];
        CHECK(b[0] == i && b[39] == i); /* no block overlaps another */
        CHECK_OK(keel_pool_free(&static_pool, blocks[i]));
    }
    CHECK_OK(keel_pool_check(&static_pool));
}

KEEL_TEST(region_size_macro_gives_exactly_the_requested_count) {
    static alignas(16) unsigned char region[KEEL_POOL_REGION_SIZE(24, 130)];
    keel_pool pool;
    CHECK_OK(keel_pool_init(&pool, region, sizeof region, 24));
    keel_pool_stats stats;
    keel_pool_get_stats(&pool, &stats);
    CHECK_EQ(stats.capacity, 130);
    CHECK_EQ(stats.stride, 32);
    CHECK_EQ(stats.block_size, 24);
    /* One byte less cannot hold 130 blocks and their map. */
    CHECK_OK(keel_pool_init(&pool, region, sizeof region - 1, 24));
    keel_pool_get_stats(&pool, &stats);
    CHECK_EQ(stats.capacity, 129);
}

KEEL_TEST(init_refuses_bad_arguments_and_leaves_the_pool_untouched) {
    static alignas(16) unsigned char region[1024];
    keel_pool pool;
    memset(&pool, 0xAB, sizeof pool);
    keel_pool before = pool;
    CHECK_STATUS(keel_pool_init(NULL, region, sizeof region, 16), KEEL_EINVAL);
    CHECK_STATUS(keel_pool_init(&pool, NULL, sizeof region, 16), KEEL_EINVAL);
    CHECK_STATUS(keel_pool_init(&pool, region + 8, 512, 16), KEEL_EALIGN);
    CHECK_STATUS(keel_pool_init(&pool, region, sizeof region, 0), KEEL_ERANGE);
    CHECK_STATUS(keel_pool_init(&pool, region, sizeof region, SIZE_MAX), KEEL_ERANGE);
    CHECK_STATUS(keel_pool_init(&pool, region, 16, 16), KEEL_ETOOSMALL); /* no room for the map */
    CHECK_STATUS(keel_pool_init(&pool, region, sizeof region, 2048), KEEL_ETOOSMALL);
    CHECK(memcmp(&pool, &before, sizeof pool) == 0);
}

KEEL_TEST(an_empty_pool_refuses_and_counts_the_failure) {
    static alignas(16) unsigned char region[KEEL_POOL_REGION_SIZE(16, 2)];
    keel_pool pool;
    CHECK_OK(keel_pool_init(&pool, region, sizeof region, 16));
    void *a, *b, *c;
    CHECK_OK(keel_pool_alloc(&pool, &a));
    CHECK_OK(keel_pool_alloc(&pool, &b));
    CHECK(a != b);
    CHECK_STATUS(keel_pool_alloc(&pool, &c), KEEL_ENOMEM);
    CHECK_STATUS(keel_pool_alloc(&pool, &c), KEEL_ENOMEM);
    keel_pool_stats stats;
    keel_pool_get_stats(&pool, &stats);
    CHECK_EQ(stats.failed, 2);
    CHECK_EQ(stats.in_use, 2);
    CHECK_OK(keel_pool_free(&pool, a));
    CHECK_OK(keel_pool_alloc(&pool, &c));
    CHECK(c == a);
}

KEEL_TEST(free_refuses_pointers_that_are_not_blocks_of_this_pool) {
    static alignas(16) unsigned char region[KEEL_POOL_REGION_SIZE(48, 8)];
    static alignas(16) unsigned char other[KEEL_POOL_REGION_SIZE(48, 8)];
    keel_pool pool, pool2;
    CHECK_OK(keel_pool_init(&pool, region, sizeof region, 48));
    CHECK_OK(keel_pool_init(&pool2, other, sizeof other, 48));
    void *a, *foreign;
    CHECK_OK(keel_pool_alloc(&pool, &a));
    CHECK_OK(keel_pool_alloc(&pool2, &foreign));
    int local;
    CHECK_STATUS(keel_pool_free(&pool, NULL), KEEL_EINVAL);
    CHECK_STATUS(keel_pool_free(&pool, &local), KEEL_ENOTOWNED);
    CHECK_STATUS(keel_pool_free(&pool, foreign), KEEL_ENOTOWNED);
    CHECK_STATUS(keel_pool_free(&pool, (unsigned char *)a + 16), KEEL_ENOTOWNED); /* interior */
    CHECK_STATUS(keel_pool_free(&pool, (unsigned char *)a + 1), KEEL_ENOTOWNED);
    /* The allocation map, just past the last block, is not a block either. */
    CHECK_STATUS(keel_pool_free(&pool, region + 8 * 48), KEEL_ENOTOWNED);
    CHECK(keel_pool_owns(&pool, a));
    CHECK(!keel_pool_owns(&pool, foreign));
    CHECK(!keel_pool_owns(&pool, (unsigned char *)a + 8));
    keel_pool_stats stats;
    keel_pool_get_stats(&pool, &stats);
    CHECK_EQ(stats.in_use, 1);
    CHECK_OK(keel_pool_check(&pool));
}

KEEL_TEST(free_refuses_a_double_free_and_changes_nothing) {
    static alignas(16) unsigned char region[KEEL_POOL_REGION_SIZE(16, 4)];
    keel_pool pool;
    CHECK_OK(keel_pool_init(&pool, region, sizeof region, 16));
    void *a, *b;
    CHECK_OK(keel_pool_alloc(&pool, &a));
    CHECK_OK(keel_pool_alloc(&pool, &b));
    CHECK_OK(keel_pool_free(&pool, a));
    keel_pool before = pool;
    CHECK_STATUS(keel_pool_free(&pool, a), KEEL_EDOUBLEFREE);
    CHECK(memcmp(&pool, &before, sizeof pool) == 0);
    /* A block never handed out is free too. */
    CHECK_STATUS(keel_pool_free(&pool, region + 3 * 16), KEEL_EDOUBLEFREE);
    CHECK_OK(keel_pool_check(&pool));
    /* Had the double free been accepted, the block would come out twice. */
    void *x, *y;
    CHECK_OK(keel_pool_alloc(&pool, &x));
    CHECK_OK(keel_pool_alloc(&pool, &y));
    CHECK(x != y);
}

KEEL_TEST(freed_blocks_are_reused_most_recent_first) {
    static alignas(16) unsigned char region[KEEL_POOL_REGION_SIZE(16, 8)];
    keel_pool pool;
    CHECK_OK(keel_pool_init(&pool, region, sizeof region, 16));
    void *a, *b, *c;
    CHECK_OK(keel_pool_alloc(&pool, &a));
    CHECK_OK(keel_pool_alloc(&pool, &b));
    CHECK_OK(keel_pool_free(&pool, a));
    CHECK_OK(keel_pool_free(&pool, b));
    CHECK_OK(keel_pool_alloc(&pool, &c));
    CHECK(c == b);
    CHECK_OK(keel_pool_alloc(&pool, &c));
    CHECK(c == a);
}

KEEL_TEST(check_detects_a_corrupted_free_list) {
    static alignas(16) unsigned char region[KEEL_POOL_REGION_SIZE(32, 8)];
    keel_pool pool;
    CHECK_OK(keel_pool_init(&pool, region, sizeof region, 32));
    void *a, *b;
    CHECK_OK(keel_pool_alloc(&pool, &a));
    CHECK_OK(keel_pool_alloc(&pool, &b));
    CHECK_OK(keel_pool_free(&pool, a));
    CHECK_OK(keel_pool_check(&pool));
    /* A use-after-free writes over the link of the freed block. */
    *(void **)a = (unsigned char *)b + 8;
    CHECK_STATUS(keel_pool_check(&pool), KEEL_ECORRUPT);
    *(void **)a = a; /* a cycle */
    CHECK_STATUS(keel_pool_check(&pool), KEEL_ECORRUPT);
    *(void **)a = NULL;
    CHECK_OK(keel_pool_check(&pool));
}

KEEL_TEST(stats_track_use_and_peak) {
    static alignas(16) unsigned char region[KEEL_POOL_REGION_SIZE(8, 10)];
    keel_pool pool;
    CHECK_OK(keel_pool_init(&pool, region, sizeof region, 8));
    void *p[10];
    for (int i = 0; i < 7; i++) {
        CHECK_OK(keel_pool_alloc(&pool, &p[i]));
    }
    for (int i = 0; i < 5; i++) {
        CHECK_OK(keel_pool_free(&pool, p[i]));
    }
    keel_pool_stats stats;
    keel_pool_get_stats(&pool, &stats);
    CHECK_EQ(stats.in_use, 2);
    CHECK_EQ(stats.peak_in_use, 7);
    CHECK_EQ(stats.failed, 0);
    CHECK_EQ(stats.stride, 16);
}

KEEL_TEST_MAIN()
