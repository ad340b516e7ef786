/* keel_heap_extents: the ranges it reports are the whole state of a heap. */
#include <string.h>

#include "keel/mem.h"
#include "keel_test.h"

enum { REGION = 1 << 20, BLOCKS = 512 };
static _Alignas(16) unsigned char region[REGION];
static _Alignas(16) unsigned char mirror[REGION];

typedef struct saved {
    size_t offset[8192], length[8192];
    bool zero[8192];
    size_t count, bytes;
} saved;

static void save(void *context, size_t offset, size_t length, bool zero) {
    saved *s = context;
    if (s->count < 8192) {
        s->offset[s->count] = offset;
        s->length[s->count] = length;
        s->zero[s->count++] = zero;
    }
    if (!zero) {
        memcpy(mirror + offset, region + offset, length);
        s->bytes += length;
    }
}

static uint64_t next(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

/* Random heaps: save the ranges, wipe the region, put them back; the heap
 * passes its check and every live block holds its bytes. */
static void round_trip(size_t ahead, uint64_t seed) {
    static unsigned char *block[BLOCKS];
    static size_t size[BLOCKS];
    for (int round = 0; round < 40; round++) {
        keel_heap *heap;
        CHECK_OK(keel_heap_init(&heap, region, REGION));
        /* Some rounds in a later epoch, the map holding words of earlier ones
         * (past the last block start too: the `zero` range must still read
         * as clear once zeroed). */
        for (int reset = 0; reset < round % 3; reset++) {
            void *p;
            while (keel_heap_alloc(heap, 1 + next(&seed) % 4000, &p) == KEEL_OK) {
            }
            keel_heap_reset(heap);
        }
        memset(block, 0, sizeof block);
        for (int step = 0; step < 3000; step++) {
            unsigned i = (unsigned)(next(&seed) % BLOCKS);
            if (block[i] == NULL) {
                size[i] = 1 + next(&seed) % (next(&seed) % 8 == 0 ? 20000 : 300);
                if (keel_heap_alloc(heap, size[i], (void **)&block[i]) == KEEL_OK) {
                    memset(block[i], (int)i, size[i]);
                }
            } else {
                keel_heap_free(heap, block[i]);
                block[i] = NULL;
            }
        }
        keel_heap_stats before, after;
        keel_heap_get_stats(heap, &before);
        static saved s;
        memset(&s, 0, sizeof s);
        size_t count = keel_heap_extents(heap, 256, ahead, save, &s);
        CHECK_EQ(count, s.count);
        CHECK(s.bytes >= before.in_use);
        for (size_t e = 1; e < s.count; e++) { /* no range reported twice */
            for (size_t f = 0; f < e; f++) {
                CHECK(s.offset[e] + s.length[e] <= s.offset[f] ||
                      s.offset[f] + s.length[f] <= s.offset[e]);
            }
        }
        memset(region, 0xA5, REGION);
        for (size_t e = 0; e < s.count; e++) {
            if (s.zero[e]) {
                memset(region + s.offset[e], 0, s.length[e]);
            } else {
                memcpy(region + s.offset[e], mirror + s.offset[e], s.length[e]);
            }
        }
        CHECK_OK(keel_heap_check(heap, NULL));
        keel_heap_get_stats(heap, &after);
        CHECK_EQ(after.in_use, before.in_use);
        CHECK_EQ(after.live_blocks, before.live_blocks);
        for (unsigned i = 0; i < BLOCKS; i++) {
            for (size_t j = 0; block[i] != NULL && j < size[i]; j++) {
                if (block[i][j] != (unsigned char)i) {
                    KEEL_TEST_FAIL_("block %u byte %zu lost", i, j);
                }
            }
        }
        void *p;
        CHECK_OK(keel_heap_alloc(heap, 100, &p)); /* and it works */
    }
}

KEEL_TEST(the_extents_of_a_heap_are_its_whole_state) {
    round_trip(0, 1);
}

KEEL_TEST(the_extents_with_read_ahead_are_its_whole_state_too) {
    round_trip(4096, 2);
    round_trip(32, 3);
}

KEEL_TEST(a_free_heap_reports_little_more_than_its_metadata) {
    keel_heap *heap;
    CHECK_OK(keel_heap_init(&heap, region, REGION));
    static saved s;
    memset(&s, 0, sizeof s);
    keel_heap_extents(heap, 256, 0, save, &s);
    CHECK(s.bytes < 8192); /* control block, map prefix, a header, the sentinel */
    CHECK(s.zero[s.count - 1]);
}

KEEL_TEST_MAIN()
