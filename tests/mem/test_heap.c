/* The heap's contract (include/keel/mem.h), one behaviour per test. */
#include <pthread.h>
#include <stdalign.h>
#include <stdint.h>
#include <string.h>

#include "keel/mem.h"
#include "keel_test.h"

#define REGION_SIZE (256u * 1024u)
static alignas(16) unsigned char region[REGION_SIZE];

static keel_heap *fresh_heap(size_t size) {
    keel_heap *heap = NULL;
    memset(region, 0xEE, sizeof region);
    if (keel_heap_init(&heap, region, size) != KEEL_OK) {
        return NULL;
    }
    return heap;
}

static keel_heap_stats stats_of(const keel_heap *heap) {
    keel_heap_stats stats;
    keel_heap_get_stats(heap, &stats);
    return stats;
}

static int heap_ok(const keel_heap *heap) {
    keel_heap_fault fault;
    keel_status status = keel_heap_check(heap, &fault);
    if (status != KEEL_OK) {
        fprintf(stderr, "  heap check: %s (at %p)\n", fault.invariant, fault.address);
    }
    return status == KEEL_OK;
}

KEEL_TEST(init_refuses_bad_regions) {
    keel_heap *heap = (keel_heap *)&heap;
    CHECK_STATUS(keel_heap_init(NULL, region, REGION_SIZE), KEEL_EINVAL);
    CHECK_STATUS(keel_heap_init(&heap, NULL, REGION_SIZE), KEEL_EINVAL);
    CHECK(heap == NULL);
    CHECK_STATUS(keel_heap_init(&heap, region + 8, REGION_SIZE - 8), KEEL_EALIGN);
    CHECK_STATUS(keel_heap_init(&heap, region, 0), KEEL_ETOOSMALL);
    CHECK_STATUS(keel_heap_init(&heap, region, 64), KEEL_ETOOSMALL);
}

KEEL_TEST(the_smallest_region_holds_exactly_one_minimum_block) {
    /* Find the smallest size init accepts: one byte less must be refused. */
    size_t size = 64;
    keel_heap *heap;
    while (keel_heap_init(&heap, region, size) != KEEL_OK) {
        size += 16;
    }
    CHECK_STATUS(keel_heap_init(&heap, region, size - 1), KEEL_ETOOSMALL);
    CHECK_OK(keel_heap_init(&heap, region, size));
    void *p;
    CHECK_OK(keel_heap_alloc(heap, 24, &p)); /* one 32-byte block: 24 usable */
    CHECK_STATUS(keel_heap_alloc(heap, 1, &p), KEEL_ENOMEM);
    CHECK(heap_ok(heap));
}

KEEL_TEST(allocations_are_aligned_usable_and_disjoint) {
    keel_heap *heap = fresh_heap(REGION_SIZE);
    CHECK(heap != NULL);
    unsigned char *prev = NULL;
    size_t prev_size = 0;
    for (size_t size = 1; size <= 1500; size += 7) {
        void *p;
        CHECK_OK(keel_heap_alloc(heap, size, &p));
        CHECK(((uintptr_t)p % KEEL_HEAP_ALIGN) == 0);
        CHECK(keel_heap_usable_size(heap, p) >= size);
        CHECK((unsigned char *)p >= region && (unsigned char *)p + size <= region + REGION_SIZE);
        memset(p, 0x5A, size);
        if (prev != NULL) {
            CHECK(prev + prev_size <= (unsigned char *)p || (unsigned char *)p + size <= prev);
            CHECK(prev[prev_size - 1] == 0x5A); /* writing p did not reach prev */
        }
        prev = p;
        prev_size = size;
    }
    CHECK(heap_ok(heap));
}

KEEL_TEST(per_block_waste_is_at_most_31_bytes_plus_the_8_byte_header) {
    keel_heap *heap = fresh_heap(REGION_SIZE);
    for (size_t size = 1; size <= 70000; size = size * 5 / 4 + 1) {
        void *p;
        CHECK_OK(keel_heap_alloc(heap, size, &p));
        size_t usable = keel_heap_usable_size(heap, p);
        CHECK(usable >= size);
        CHECK(usable <= (size < 24 ? 24 : size + 31));
        keel_heap_free(heap, p);
    }
    CHECK(heap_ok(heap));
}

KEEL_TEST(zero_and_oversized_requests_are_refused_and_counted) {
    keel_heap *heap = fresh_heap(REGION_SIZE);
    keel_heap_stats before = stats_of(heap);
    void *p = &p;
    CHECK_STATUS(keel_heap_alloc(heap, 0, &p), KEEL_ERANGE);
    CHECK(p == NULL);
    CHECK_STATUS(keel_heap_alloc(heap, SIZE_MAX, &p), KEEL_ERANGE);
    CHECK_STATUS(keel_heap_alloc(heap, SIZE_MAX - 7, &p), KEEL_ERANGE);
    CHECK_STATUS(keel_heap_alloc(heap, before.capacity + 1, &p), KEEL_ERANGE);
    CHECK_STATUS(keel_heap_alloc_aligned(heap, SIZE_MAX - 100, 64, &p), KEEL_ERANGE);
    CHECK_STATUS(keel_heap_alloc_aligned(heap, 64, (SIZE_MAX >> 1) + 1, &p), KEEL_ERANGE);
    p = &p;
    CHECK_STATUS(keel_heap_alloc(NULL, 16, &p), KEEL_EINVAL);
    CHECK(p == NULL); /* *out is NULL on every failure, even for a NULL heap */
    p = &p;
    CHECK_STATUS(keel_heap_alloc_aligned(NULL, 16, 64, &p), KEEL_EINVAL);
    CHECK(p == NULL);
    p = &p;
    CHECK_STATUS(keel_heap_realloc(NULL, NULL, 16, &p), KEEL_EINVAL);
    CHECK(p == NULL);
    CHECK_STATUS(keel_heap_alloc(heap, 16, NULL), KEEL_EINVAL);
    keel_heap_stats after = stats_of(heap);
    CHECK_EQ(after.failed, 6);
    CHECK_EQ(after.in_use, before.in_use);
    CHECK_EQ(after.live_blocks, 0);
    CHECK_EQ(after.largest_free_block, before.largest_free_block);
    CHECK(heap_ok(heap));
}

KEEL_TEST(a_full_heap_reports_enomem_until_memory_is_freed) {
    keel_heap *heap = fresh_heap(16384);
    void *blocks[1024];
    size_t n = 0;
    void *p;
    while (keel_heap_alloc(heap, 100, &p) == KEEL_OK) {
        blocks[n++] = p;
    }
    CHECK(n > 10);
    CHECK_STATUS(keel_heap_alloc(heap, 100, &p), KEEL_ENOMEM);
    CHECK(p == NULL);
    CHECK(heap_ok(heap));
    keel_heap_free(heap, blocks[n / 2]);
    CHECK_OK(keel_heap_alloc(heap, 100, &p));
    CHECK(p == blocks[n / 2]);
    CHECK(stats_of(heap).failed >= 1);
}

KEEL_TEST(freeing_neighbours_coalesces_them_into_one_block) {
    keel_heap *heap = fresh_heap(REGION_SIZE);
    size_t whole = stats_of(heap).largest_free_block;
    void *a, *b, *c, *d;
    CHECK_OK(keel_heap_alloc(heap, 1000, &a));
    CHECK_OK(keel_heap_alloc(heap, 1000, &b));
    CHECK_OK(keel_heap_alloc(heap, 1000, &c));
    CHECK_OK(keel_heap_alloc(heap, 1000, &d));
    keel_heap_free(heap, a);
    keel_heap_free(heap, c);
    CHECK(heap_ok(heap));
    keel_heap_free(heap, b); /* merges with a on the left and c on the right */
    CHECK(heap_ok(heap));
    void *abc;
    CHECK_OK(keel_heap_alloc(heap, 3000, &abc));
    CHECK(abc == a);
    keel_heap_free(heap, abc);
    keel_heap_free(heap, d);
    keel_heap_stats stats = stats_of(heap);
    CHECK_EQ(stats.largest_free_block, whole);
    CHECK_EQ(stats.in_use, 0);
    CHECK_EQ(stats.live_blocks, 0);
    CHECK(heap_ok(heap));
}

KEEL_TEST(checked_free_refuses_foreign_interior_and_misaligned_pointers) {
    keel_heap *heap = fresh_heap(REGION_SIZE);
    void *a, *b;
    CHECK_OK(keel_heap_alloc(heap, 200, &a));
    CHECK_OK(keel_heap_alloc(heap, 200, &b));
    memset(a, 0, 200); /* zeroed payload must not pass for a header */
    keel_heap_stats before = stats_of(heap);
    int local;
    static alignas(16) unsigned char elsewhere[64];
    CHECK_STATUS(keel_heap_free_checked(heap, NULL), KEEL_EINVAL);
    CHECK_STATUS(keel_heap_free_checked(NULL, a), KEEL_EINVAL);
    CHECK_STATUS(keel_heap_free_checked(heap, &local), KEEL_ENOTOWNED);
    CHECK_STATUS(keel_heap_free_checked(heap, elsewhere), KEEL_ENOTOWNED);
    CHECK_STATUS(keel_heap_free_checked(heap, (unsigned char *)a + 16), KEEL_ENOTOWNED);
    CHECK_STATUS(keel_heap_free_checked(heap, (unsigned char *)a + 32), KEEL_ENOTOWNED);
    CHECK_STATUS(keel_heap_free_checked(heap, (unsigned char *)a + 1), KEEL_ENOTOWNED);
    CHECK_STATUS(keel_heap_free_checked(heap, region), KEEL_ENOTOWNED); /* the control block */
    CHECK_STATUS(keel_heap_free_checked(heap, region + REGION_SIZE - 16), KEEL_ENOTOWNED);
    keel_heap_stats after = stats_of(heap);
    CHECK_EQ(after.in_use, before.in_use);
    CHECK_EQ(after.live_blocks, 2);
    CHECK(heap_ok(heap));
    CHECK_OK(keel_heap_free_checked(heap, a));
    CHECK_OK(keel_heap_free_checked(heap, b));
    CHECK(heap_ok(heap));
}

KEEL_TEST(checked_free_refuses_a_double_free_and_changes_nothing) {
    keel_heap *heap = fresh_heap(REGION_SIZE);
    void *a, *b, *c;
    CHECK_OK(keel_heap_alloc(heap, 64, &a));
    CHECK_OK(keel_heap_alloc(heap, 64, &b));
    CHECK_OK(keel_heap_alloc(heap, 64, &c));
    CHECK_OK(keel_heap_free_checked(heap, b)); /* b's neighbours are live: b stays a block */
    keel_heap_stats before = stats_of(heap);
    CHECK_STATUS(keel_heap_free_checked(heap, b), KEEL_EDOUBLEFREE);
    CHECK_EQ(stats_of(heap).frees, before.frees);
    CHECK(heap_ok(heap));
    /* Once c merges into b's free block, c is no longer a block start at all. */
    CHECK_OK(keel_heap_free_checked(heap, c));
    CHECK_STATUS(keel_heap_free_checked(heap, c), KEEL_ENOTOWNED);
    CHECK_STATUS(keel_heap_realloc(heap, c, 10, &b), KEEL_ENOTOWNED);
    CHECK_EQ(keel_heap_usable_size(heap, c), 0);
    CHECK(heap_ok(heap));
    keel_heap_free(heap, a);
    CHECK_EQ(stats_of(heap).live_blocks, 0);
}

KEEL_TEST(freeing_null_is_a_no_op) {
    keel_heap *heap = fresh_heap(REGION_SIZE);
    keel_heap_free(heap, NULL);
    CHECK_EQ(stats_of(heap).frees, 0);
    CHECK(heap_ok(heap));
}

KEEL_TEST(aligned_allocations_honour_every_power_of_two) {
    keel_heap *heap = fresh_heap(REGION_SIZE);
    void *keep[16];
    int n = 0;
    for (size_t align = 1; align <= 8192; align <<= 1) {
        void *p;
        CHECK_OK(keel_heap_alloc_aligned(heap, 40, align, &p));
        CHECK(((uintptr_t)p & (align - 1)) == 0);
        CHECK(keel_heap_usable_size(heap, p) >= 40);
        memset(p, 0x11, 40);
        CHECK(heap_ok(heap));
        keep[n++] = p;
        /* A small block in between shifts the next candidate's address. */
        void *filler;
        CHECK_OK(keel_heap_alloc(heap, 16 * (size_t)n, &filler));
    }
    for (int i = 0; i < n; i++) {
        CHECK_OK(keel_heap_free_checked(heap, keep[i]));
    }
    CHECK(heap_ok(heap));
    void *p;
    CHECK_STATUS(keel_heap_alloc_aligned(heap, 40, 0, &p), KEEL_EALIGN);
    CHECK_STATUS(keel_heap_alloc_aligned(heap, 40, 48, &p), KEEL_EALIGN);
    CHECK(p == NULL);
    CHECK_STATUS(keel_heap_alloc_aligned(heap, 40, (size_t)1 << 30, &p), KEEL_ERANGE);
}

KEEL_TEST(realloc_shrinks_in_place_and_returns_the_tail) {
    keel_heap *heap = fresh_heap(REGION_SIZE);
    void *a, *guard, *r;
    CHECK_OK(keel_heap_alloc(heap, 4000, &a));
    CHECK_OK(keel_heap_alloc(heap, 16, &guard)); /* a's successor stays allocated */
    memset(a, 0x33, 4000);
    size_t in_use = stats_of(heap).in_use;
    CHECK_OK(keel_heap_realloc(heap, a, 100, &r));
    CHECK(r == a);
    CHECK(stats_of(heap).in_use < in_use - 3800);
    unsigned char *c = r;
    CHECK(c[0] == 0x33 && c[99] == 0x33);
    CHECK(heap_ok(heap));
    /* The freed tail is usable at once, right after a. */
    void *t;
    CHECK_OK(keel_heap_alloc(heap, 3000, &t));
    CHECK((unsigned char *)t > (unsigned char *)a && (unsigned char *)t < (unsigned char *)guard);
}

KEEL_TEST(realloc_grows_in_place_into_a_free_successor) {
    keel_heap *heap = fresh_heap(REGION_SIZE);
    void *a, *b, *guard, *r;
    CHECK_OK(keel_heap_alloc(heap, 100, &a));
    CHECK_OK(keel_heap_alloc(heap, 1000, &b));
    CHECK_OK(keel_heap_alloc(heap, 16, &guard));
    memset(a, 0x44, 100);
    keel_heap_free(heap, b);
    uint64_t allocations = stats_of(heap).allocations;
    CHECK_OK(keel_heap_realloc(heap, a, 900, &r));
    CHECK(r == a);
    CHECK_EQ(stats_of(heap).allocations, allocations); /* nothing moved */
    unsigned char *c = r;
    CHECK(c[0] == 0x44 && c[99] == 0x44);
    CHECK(heap_ok(heap));
    /* Exactly the whole successor, with no tail left over. */
    CHECK_OK(keel_heap_realloc(heap, a, keel_heap_usable_size(heap, a) + 100, &r));
    CHECK(r == a);
    CHECK(heap_ok(heap));
}

KEEL_TEST(realloc_moves_when_it_must_and_keeps_the_contents) {
    keel_heap *heap = fresh_heap(REGION_SIZE);
    void *a, *guard, *r;
    CHECK_OK(keel_heap_alloc(heap, 300, &a));
    CHECK_OK(keel_heap_alloc(heap, 16, &guard));
    for (int i = 0; i < 300; i++) {
        ((unsigned char *)a)[i] = (unsigned char)i;
    }
    CHECK_OK(keel_heap_realloc(heap, a, 5000, &r));
    CHECK(r != a);
    for (int i = 0; i < 300; i++) {
        CHECK(((unsigned char *)r)[i] == (unsigned char)i);
    }
    CHECK_EQ(keel_heap_usable_size(heap, a), 0); /* the old block is gone */
    CHECK_EQ(stats_of(heap).live_blocks, 2);
    CHECK(heap_ok(heap));
}

KEEL_TEST(realloc_of_null_allocates) {
    keel_heap *heap = fresh_heap(REGION_SIZE);
    void *p;
    CHECK_OK(keel_heap_realloc(heap, NULL, 77, &p));
    CHECK(keel_heap_usable_size(heap, p) >= 77);
}

KEEL_TEST(a_failed_realloc_leaves_the_original_block_intact) {
    keel_heap *heap = fresh_heap(16384);
    void *a, *guard, *r = &r;
    CHECK_OK(keel_heap_alloc(heap, 100, &a));
    CHECK_OK(keel_heap_alloc(heap, 16, &guard));
    memset(a, 0x77, 100);
    size_t too_big = stats_of(heap).capacity - 40; /* in range, but no block is that large */
    CHECK_STATUS(keel_heap_realloc(heap, a, too_big, &r), KEEL_ENOMEM);
    CHECK(r == NULL);
    CHECK_STATUS(keel_heap_realloc(heap, a, 0, &r), KEEL_ERANGE);
    CHECK_STATUS(keel_heap_realloc(heap, a, SIZE_MAX, &r), KEEL_ERANGE);
    CHECK_STATUS(keel_heap_realloc(heap, (unsigned char *)a + 16, 10, &r), KEEL_ENOTOWNED);
    CHECK(keel_heap_usable_size(heap, a) >= 100);
    CHECK(((unsigned char *)a)[99] == 0x77);
    CHECK_EQ(stats_of(heap).live_blocks, 2);
    CHECK(heap_ok(heap));
    CHECK_OK(keel_heap_free_checked(heap, a));
}

KEEL_TEST(usable_size_is_zero_for_anything_but_a_live_block) {
    keel_heap *heap = fresh_heap(REGION_SIZE);
    void *a;
    CHECK_OK(keel_heap_alloc(heap, 50, &a));
    CHECK_EQ(keel_heap_usable_size(heap, a), 56); /* 50 + 8 rounds to a 64-byte block */
    CHECK_EQ(keel_heap_usable_size(heap, NULL), 0);
    CHECK_EQ(keel_heap_usable_size(NULL, a), 0);
    CHECK_EQ(keel_heap_usable_size(heap, (unsigned char *)a + 16), 0);
    keel_heap_free(heap, a);
    CHECK_EQ(keel_heap_usable_size(heap, a), 0);
}

KEEL_TEST(reset_frees_every_block_at_once) {
    keel_heap *heap = fresh_heap(REGION_SIZE);
    keel_heap_stats empty = stats_of(heap);
    void *p;
    for (int i = 0; i < 200; i++) {
        CHECK_OK(keel_heap_alloc(heap, (size_t)(i * 7 + 1), &p));
    }
    keel_heap_reset(heap);
    CHECK(heap_ok(heap));
    keel_heap_stats stats = stats_of(heap);
    CHECK_EQ(stats.in_use, 0);
    CHECK_EQ(stats.live_blocks, 0);
    CHECK_EQ(stats.peak_in_use, 0);
    CHECK_EQ(stats.largest_free_block, empty.largest_free_block);
    CHECK_STATUS(keel_heap_free_checked(heap, p), KEEL_ENOTOWNED);
}

KEEL_TEST(stats_report_use_peak_and_the_largest_free_block) {
    keel_heap *heap = fresh_heap(REGION_SIZE);
    keel_heap_stats s0 = stats_of(heap);
    CHECK_EQ(s0.largest_free_block, s0.capacity - 8);
    CHECK(s0.largest_request <= s0.largest_free_block);
    CHECK(s0.largest_request >= s0.largest_free_block - s0.largest_free_block / 32 - 16);
    void *a, *b;
    CHECK_OK(keel_heap_alloc(heap, 1000, &a));
    CHECK_OK(keel_heap_alloc(heap, 2000, &b));
    keel_heap_stats s1 = stats_of(heap);
    CHECK_EQ(s1.in_use,
             (keel_heap_usable_size(heap, a) + 8) + (keel_heap_usable_size(heap, b) + 8));
    CHECK_EQ(s1.live_blocks, 2);
    CHECK_EQ(s1.allocations, 2);
    keel_heap_free(heap, a);
    keel_heap_stats s2 = stats_of(heap);
    CHECK_EQ(s2.peak_in_use, s1.in_use);
    CHECK_EQ(s2.frees, 1);
    /* The largest request reported really succeeds. */
    void *big;
    CHECK_OK(keel_heap_alloc(heap, s2.largest_request, &big));
}

KEEL_TEST(check_names_the_invariant_a_heap_overflow_breaks) {
    keel_heap *heap = fresh_heap(REGION_SIZE);
    void *a, *b, *c;
    CHECK_OK(keel_heap_alloc(heap, 24, &a));
    CHECK_OK(keel_heap_alloc(heap, 24, &b));
    CHECK_OK(keel_heap_alloc(heap, 24, &c));
    keel_heap_free(heap, b);
    CHECK(heap_ok(heap));
    /* Write 16 bytes past a's usable 24: over b's header. */
    memset((unsigned char *)a + 24, 0xFF, 16);
    keel_heap_fault fault = {0};
    CHECK_STATUS(keel_heap_check(heap, &fault), KEEL_ECORRUPT);
    CHECK(fault.invariant != NULL);
    CHECK(fault.address != NULL);
    CHECK_STATUS(keel_heap_check(NULL, &fault), KEEL_EINVAL);
}

KEEL_TEST(check_detects_a_use_after_free_that_breaks_a_free_list) {
    keel_heap *heap = fresh_heap(REGION_SIZE);
    void *a, *guard1, *b, *guard2;
    CHECK_OK(keel_heap_alloc(heap, 64, &a));
    CHECK_OK(keel_heap_alloc(heap, 64, &guard1));
    CHECK_OK(keel_heap_alloc(heap, 64, &b));
    CHECK_OK(keel_heap_alloc(heap, 64, &guard2));
    keel_heap_free(heap, a);
    keel_heap_free(heap, b); /* same class: b -> a on one list */
    CHECK(heap_ok(heap));
    void **links = b; /* next_free, prev_free live in the freed payload */
    void *saved = links[0];
    links[0] = b; /* a cycle */
    keel_heap_fault fault;
    CHECK_STATUS(keel_heap_check(heap, &fault), KEEL_ECORRUPT);
    links[0] = saved;
    CHECK(heap_ok(heap));
}

/* A use-after-free forges a free-block header inside a live block and links it
 * into a free list: the forgery is no block start, and the checker says so. */
KEEL_TEST(check_refuses_a_free_list_entry_that_is_no_block_start) {
    keel_heap *heap = fresh_heap(REGION_SIZE);
    void *x, *a, *fence1, *b, *fence2;
    CHECK_OK(keel_heap_alloc(heap, 256, &x));
    CHECK_OK(keel_heap_alloc(heap, 64, &a));
    CHECK_OK(keel_heap_alloc(heap, 16, &fence1));
    CHECK_OK(keel_heap_alloc(heap, 64, &b));
    CHECK_OK(keel_heap_alloc(heap, 16, &fence2));
    keel_heap_free(heap, a);
    keel_heap_free(heap, b);
    CHECK(heap_ok(heap));
    /* b's block: [prev_phys][size][next_free][pprev]. Forge a block of a's size
     * inside x that claims to be free and to come after b on the same list. */
    void **b_links = b;
    size_t *forged = (size_t *)((unsigned char *)x + 16); /* a 16-aligned "block" */
    size_t a_size_word = ((size_t *)a)[-1];
    forged[1] = a_size_word; /* size | FREE, as a's */
    /* next_free: the list's end, so the forgery replaces a on the list and the
     * number of listed blocks still equals the number of free blocks. */
    forged[2] = (size_t)((void **)a)[0];
    forged[3] = (size_t)&b_links[0]; /* pprev: b's next_free */
    *(size_t *)((unsigned char *)forged + (a_size_word & ~(size_t)15)) = (size_t)forged;
    void *saved = b_links[0];
    b_links[0] = forged;
    keel_heap_fault fault;
    CHECK_STATUS(keel_heap_check(heap, &fault), KEEL_ECORRUPT);
    b_links[0] = saved;
}

KEEL_TEST(check_names_a_broken_prev_phys_link) {
    keel_heap *heap = fresh_heap(REGION_SIZE);
    void *a, *b, *c;
    CHECK_OK(keel_heap_alloc(heap, 64, &a));
    CHECK_OK(keel_heap_alloc(heap, 64, &b));
    CHECK_OK(keel_heap_alloc(heap, 64, &c));
    keel_heap_free(heap, a); /* b's prev_phys now names a's free block */
    CHECK(heap_ok(heap));
    void **b_header = (void **)((unsigned char *)b - 16);
    void *saved = b_header[0];
    b_header[0] = c;
    keel_heap_fault fault;
    CHECK_STATUS(keel_heap_check(heap, &fault), KEEL_ECORRUPT);
    CHECK(strstr(fault.invariant, "prev_phys") != NULL);
    b_header[0] = saved;
    CHECK(heap_ok(heap));
}

KEEL_TEST(check_names_a_free_block_filed_in_the_wrong_class) {
    keel_heap *heap = fresh_heap(REGION_SIZE);
    void *a, *fence;
    CHECK_OK(keel_heap_alloc(heap, 64, &a));
    CHECK_OK(keel_heap_alloc(heap, 16, &fence));
    keel_heap_free(heap, a);
    CHECK(heap_ok(heap));
    /* Grow a's free block by 16 bytes in place of the fence's header: its size
     * no longer matches the list it is on (and the tiling breaks). */
    size_t *size_word = (size_t *)((unsigned char *)a - 8);
    size_t saved = *size_word;
    *size_word = saved + 16;
    keel_heap_fault fault;
    CHECK_STATUS(keel_heap_check(heap, &fault), KEEL_ECORRUPT);
    *size_word = saved;
    CHECK(heap_ok(heap));
}

KEEL_TEST(many_independent_heaps_keep_separate_accounts) {
    enum { HEAPS = 8, EACH = REGION_SIZE / HEAPS };
    keel_heap *heaps[HEAPS];
    for (int h = 0; h < HEAPS; h++) {
        CHECK_OK(keel_heap_init(&heaps[h], region + (size_t)h * EACH, EACH));
    }
    void *last[HEAPS];
    for (int round = 0; round < 50; round++) {
        for (int h = 0; h < HEAPS; h++) {
            CHECK_OK(keel_heap_alloc(heaps[h], (size_t)(h + 1) * 8, &last[h]));
        }
    }
    for (int h = 0; h < HEAPS; h++) {
        CHECK_EQ(stats_of(heaps[h]).live_blocks, 50);
        CHECK(heap_ok(heaps[h]));
        /* A block of one heap is foreign to every other. */
        CHECK_STATUS(keel_heap_free_checked(heaps[(h + 1) % HEAPS], last[h]), KEEL_ENOTOWNED);
    }
}

/* The locked heap under contention: 4 threads allocate, write, verify, free. */
enum { THREADS = 4, ROUNDS = 20000 };
static keel_heap_locked shared;
static int thread_errors;

static void *hammer(void *arg) {
    unsigned seed = (unsigned)(uintptr_t)arg;
    void *mine[32] = {0};
    for (int i = 0; i < ROUNDS; i++) {
        seed = seed * 1103515245u + 12345u;
        unsigned slot = (seed >> 8) % 32;
        if (mine[slot] != NULL) {
            if (((unsigned char *)mine[slot])[0] != (unsigned char)slot ||
                keel_heap_locked_free(&shared, mine[slot]) != KEEL_OK) {
                __atomic_add_fetch(&thread_errors, 1, __ATOMIC_RELAXED);
            }
            mine[slot] = NULL;
        } else if (keel_heap_locked_alloc(&shared, 16 + (seed >> 20) % 500, &mine[slot]) ==
                   KEEL_OK) {
            ((unsigned char *)mine[slot])[0] = (unsigned char)slot;
        }
    }
    for (int s = 0; s < 32; s++) {
        if (mine[s] != NULL && keel_heap_locked_free(&shared, mine[s]) != KEEL_OK) {
            __atomic_add_fetch(&thread_errors, 1, __ATOMIC_RELAXED);
        }
    }
    return NULL;
}

KEEL_TEST(the_locked_heap_is_safe_under_four_threads) {
    CHECK_OK(keel_heap_locked_init(&shared, region, REGION_SIZE));
    pthread_t threads[THREADS];
    for (uintptr_t t = 0; t < THREADS; t++) {
        CHECK(pthread_create(&threads[t], NULL, hammer, (void *)(t + 1)) == 0);
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(threads[t], NULL);
    }
    CHECK_EQ(thread_errors, 0);
    keel_heap_stats stats;
    keel_heap_locked_get_stats(&shared, &stats);
    CHECK_EQ(stats.live_blocks, 0);
    CHECK_EQ(stats.allocations, stats.frees);
    CHECK(stats.allocations > THREADS * ROUNDS / 4);
    CHECK_OK(keel_heap_locked_check(&shared, NULL));
    void *p;
    CHECK_OK(keel_heap_locked_alloc_aligned(&shared, 10, 256, &p));
    CHECK(((uintptr_t)p & 255) == 0);
    CHECK_OK(keel_heap_locked_realloc(&shared, p, 1000, &p));
    CHECK_STATUS(keel_heap_locked_free(&shared, (unsigned char *)p + 16), KEEL_ENOTOWNED);
    CHECK_OK(keel_heap_locked_free(&shared, p));
    keel_heap_locked_destroy(&shared);
    CHECK_STATUS(keel_heap_locked_alloc(NULL, 10, &p), KEEL_EINVAL);
}

KEEL_TEST_MAIN()
