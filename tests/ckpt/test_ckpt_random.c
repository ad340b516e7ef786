/* Random graphs (random shapes, sharing and cycles) checkpointed and restored,
 * compared structurally with the original by the reference walk. */
#include <stdlib.h>

#include "keel_test.h"
#include "random_graph.h"

enum { HEAP = 32 << 20, BUFFER = 32 << 20, GRAPHS = 300 };
static _Alignas(16) unsigned char heap_region[HEAP];
static _Alignas(16) unsigned char restore_region[HEAP];
static _Alignas(16) unsigned char buffer[BUFFER];

KEEL_TEST(random_graphs_come_back_with_the_same_shape_and_sharing) {
    keel_ckpt_schema schema;
    CHECK_OK(keel_ckpt_schema_init(&schema, &vertex_ckpt_type));
    uint64_t seed = 42;
    for (int round = 0; round < GRAPHS; round++) {
        keel_heap *heap;
        CHECK_OK(keel_heap_init(&heap, heap_region, sizeof heap_region));
        uint32_t owned = 1 + (uint32_t)((seed >> 7) % (round < 250 ? 300 : 20000));
        uint32_t shared = (uint32_t)((seed >> 21) % (round % 3 == 0 ? 3 : owned + 1));
        random_graph g;
        CHECK(random_graph_build(&g, heap, owned, shared, &seed));
        keel_ckpt ckpt;
        CHECK_OK(keel_ckpt_take(&ckpt, &schema, g.root, buffer, sizeof buffer, NULL));
        keel_ckpt_stats stats;
        keel_ckpt_get_stats(&ckpt, &stats);

        keel_arena arena;
        keel_arena_init(&arena, restore_region, sizeof restore_region);
        vertex *copy;
        CHECK_OK(keel_ckpt_restore_arena(&ckpt, &schema, &arena, NULL, (void **)&copy));
        reference_counts counts;
        const char *error = random_graph_compare(&g, copy, &counts);
        if (error != NULL) {
            KEEL_TEST_FAIL_("graph %d (arena): %s", round, error);
        }
        CHECK_EQ(stats.objects, counts.objects);
        CHECK_EQ(stats.shared, counts.shared);

        keel_heap *into;
        CHECK_OK(keel_heap_init(&into, restore_region, sizeof restore_region));
        CHECK_OK(keel_ckpt_restore_heap(&ckpt, &schema, into, NULL, (void **)&copy));
        error = random_graph_compare(&g, copy, &counts);
        if (error != NULL) {
            KEEL_TEST_FAIL_("graph %d (heap): %s", round, error);
        }
        keel_heap_stats hs;
        keel_heap_get_stats(into, &hs);
        CHECK_EQ(hs.live_blocks, counts.objects);
        CHECK_OK(keel_heap_check(into, NULL));

        /* A second checkpoint of the same graph sees the same graph. */
        keel_ckpt again;
        CHECK_OK(keel_ckpt_take(&again, &schema, g.root, buffer, sizeof buffer, NULL));
        keel_ckpt_stats stats2;
        keel_ckpt_get_stats(&again, &stats2);
        CHECK_EQ(stats2.objects, stats.objects);
        CHECK_EQ(stats2.bytes, stats.bytes);
    }
}

KEEL_TEST_MAIN()
