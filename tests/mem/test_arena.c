/* The arena's contract (include/keel/mem.h), one behaviour per test. */
#include <stdalign.h>
#include <stdint.h>
#include <string.h>

#include "keel/mem.h"
#include "keel_test.h"

KEEL_ARENA_DEFINE(static_arena, 256);

KEEL_TEST(a_statically_defined_arena_needs_no_init) {
    void *p;
    CHECK_OK(keel_arena_alloc(&static_arena, 200, 8, &p));
    CHECK_STATUS(keel_arena_alloc(&static_arena, 100, 8, &p), KEEL_ENOMEM);
    keel_arena_reset(&static_arena);
    CHECK_OK(keel_arena_alloc(&static_arena, 256, 1, &p));
}

KEEL_TEST(allocations_are_aligned_whatever_the_region_alignment) {
    static alignas(64) unsigned char region[8192];
    keel_arena arena;
    CHECK_OK(keel_arena_init(&arena, region + 3, sizeof region - 3));
    for (size_t align = 1; align <= 1024; align <<= 1) {
        void *p;
        CHECK_OK(keel_arena_alloc(&arena, 3, align, &p));
        CHECK(((uintptr_t)p & (align - 1)) == 0);
        CHECK((unsigned char *)p >= region + 3 && (unsigned char *)p + 3 <= region + sizeof region);
    }
}

KEEL_TEST(consecutive_allocations_do_not_overlap) {
    static alignas(16) unsigned char region[1024];
    keel_arena arena;
    CHECK_OK(keel_arena_init(&arena, region, sizeof region));
    unsigned char *a, *b;
    CHECK_OK(keel_arena_alloc(&arena, 10, 1, (void **)&a));
    CHECK_OK(keel_arena_alloc(&arena, 10, 16, (void **)&b));
    CHECK(b >= a + 10);
    CHECK_EQ(keel_arena_remaining(&arena), sizeof region - (size_t)(b + 10 - region));
}

KEEL_TEST(bad_requests_get_a_status_and_change_nothing) {
    static alignas(16) unsigned char region[512];
    keel_arena arena;
    CHECK_STATUS(keel_arena_init(NULL, region, 512), KEEL_EINVAL);
    CHECK_STATUS(keel_arena_init(&arena, NULL, 512), KEEL_EINVAL);
    CHECK_STATUS(keel_arena_init(&arena, region, 0), KEEL_ETOOSMALL);
    CHECK_OK(keel_arena_init(&arena, region, sizeof region));
    void *p = &p;
    CHECK_OK(keel_arena_alloc(&arena, 1, 1, &p));
    keel_arena_mark mark = keel_arena_get_mark(&arena);
    CHECK_STATUS(keel_arena_alloc(&arena, 0, 8, &p), KEEL_ERANGE);
    CHECK(p == NULL);
    CHECK_STATUS(keel_arena_alloc(&arena, 8, 0, &p), KEEL_EALIGN);
    CHECK_STATUS(keel_arena_alloc(&arena, 8, 24, &p), KEEL_EALIGN);
    CHECK_STATUS(keel_arena_alloc(NULL, 8, 8, &p), KEEL_EINVAL);
    CHECK_STATUS(keel_arena_alloc(&arena, 8, 8, NULL), KEEL_EINVAL);
    /* Sizes and alignments near SIZE_MAX must not wrap around. */
    CHECK_STATUS(keel_arena_alloc(&arena, SIZE_MAX, 1, &p), KEEL_ENOMEM);
    CHECK_STATUS(keel_arena_alloc(&arena, SIZE_MAX - 7, 16, &p), KEEL_ENOMEM);
    CHECK_STATUS(keel_arena_alloc(&arena, 1, (SIZE_MAX >> 1) + 1, &p), KEEL_ENOMEM);
    CHECK_STATUS(keel_arena_alloc(&arena, 512, 1, &p), KEEL_ENOMEM);
    CHECK_EQ(keel_arena_get_mark(&arena).offset, mark.offset);
    keel_arena_stats stats;
    keel_arena_get_stats(&arena, &stats);
    CHECK_EQ(stats.failed, 7); /* calls refused for a NULL argument are not requests */
    CHECK_EQ(stats.used, 1);
    /* Exactly the rest still fits. */
    CHECK_OK(keel_arena_alloc(&arena, 511, 1, &p));
    CHECK_EQ(keel_arena_remaining(&arena), 0);
}

KEEL_TEST(release_to_a_mark_frees_what_came_after_it) {
    static alignas(16) unsigned char region[1024];
    keel_arena arena;
    CHECK_OK(keel_arena_init(&arena, region, sizeof region));
    void *a, *b, *c;
    CHECK_OK(keel_arena_alloc(&arena, 100, 16, &a));
    keel_arena_mark outer = keel_arena_get_mark(&arena);
    CHECK_OK(keel_arena_alloc(&arena, 100, 16, &b));
    keel_arena_mark inner = keel_arena_get_mark(&arena);
    CHECK_OK(keel_arena_alloc(&arena, 100, 16, &c));
    CHECK_OK(keel_arena_release(&arena, inner));
    void *c2;
    CHECK_OK(keel_arena_alloc(&arena, 100, 16, &c2));
    CHECK(c2 == c);
    CHECK_OK(keel_arena_release(&arena, outer));
    void *b2;
    CHECK_OK(keel_arena_alloc(&arena, 1, 16, &b2));
    CHECK(b2 == b);
    /* inner lies beyond the current position now: it is stale. */
    CHECK_STATUS(keel_arena_release(&arena, inner), KEEL_ESTALE);
    CHECK_STATUS(keel_arena_release(NULL, outer), KEEL_EINVAL);
}

KEEL_TEST(reset_frees_everything_and_peak_remembers) {
    static alignas(16) unsigned char region[300];
    keel_arena arena;
    CHECK_OK(keel_arena_init(&arena, region, sizeof region));
    void *p;
    CHECK_OK(keel_arena_alloc(&arena, 250, 1, &p));
    keel_arena_reset(&arena);
    CHECK_EQ(keel_arena_remaining(&arena), 300);
    CHECK_OK(keel_arena_alloc(&arena, 10, 1, &p));
    CHECK(p == region);
    keel_arena_stats stats;
    keel_arena_get_stats(&arena, &stats);
    CHECK_EQ(stats.peak, 250);
    CHECK_EQ(stats.used, 10);
    CHECK_EQ(stats.size, 300);
}

KEEL_TEST_MAIN()
