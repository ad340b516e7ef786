/* Object-graph checkpoints (include/keel/ckpt.h), one behaviour per test. */
#include <stddef.h>
#include <string.h>

#include "graphs.h"
#include "keel_test.h"

enum { REGION = 1 << 20 };
static _Alignas(16) unsigned char heap_region[REGION];
static _Alignas(16) unsigned char buffer[REGION];
static _Alignas(16) unsigned char arena_region[REGION];

static keel_heap *fresh_heap(void) {
    keel_heap *heap = NULL;
    keel_heap_init(&heap, heap_region, sizeof heap_region);
    return heap;
}

static rule *new_rule(keel_heap *heap, uint32_t id) {
    void *object = NULL;
    if (keel_ckpt_shared_new(heap, &rule_ckpt_type, &object) != KEEL_OK) {
        return NULL;
    }
    rule *r = object;
    r->id = id;
    r->action = id * 10;
    for (int i = 0; i < 8; i++) {
        r->mask[i] = (uint8_t)(id + (uint32_t)i);
    }
    return r;
}

static node *new_node(keel_heap *heap, uint32_t key, rule *r) {
    node *n = NULL;
    if (keel_heap_alloc(heap, sizeof *n, (void **)&n) != KEEL_OK) {
        return NULL;
    }
    memset(n, 0, sizeof *n);
    n->key = key;
    n->rule = r;
    if (r != NULL) {
        keel_ckpt_retain(r);
    }
    return n;
}

/* A complete binary trie of `depth` levels whose leaves point at rules[i % count]. */
static node *build_trie(keel_heap *heap, unsigned depth, uint32_t key, rule **rules, unsigned count,
                        unsigned *leaf) {
    node *n = new_node(heap, key, NULL);
    if (depth == 0) {
        n->rule = rules[*leaf % count];
        keel_ckpt_retain(n->rule);
        (*leaf)++;
        return n;
    }
    n->child[0] = build_trie(heap, depth - 1, key * 2, rules, count, leaf);
    n->child[1] = build_trie(heap, depth - 1, key * 2 + 1, rules, count, leaf);
    return n;
}

static const node *leftmost_leaf(const node *n, unsigned path) {
    while (n->child[0] != NULL) {
        n = n->child[path & 1];
        path >>= 1;
    }
    return n;
}

KEEL_TEST(the_macro_declares_the_struct_and_a_matching_descriptor) {
    CHECK_EQ(rule_ckpt_type.size, sizeof(rule));
    CHECK_EQ(rule_ckpt_type.align, _Alignof(rule));
    unsigned count = 0;
    const keel_ckpt_field *f = node_ckpt_type.describe(&count);
    CHECK_EQ(count, 3);
    CHECK(strcmp(f[1].name, "child") == 0);
    CHECK_EQ(f[1].kind, KEEL_CKPT_OWNED);
    CHECK_EQ(f[1].layout, KEEL_CKPT_FIXED);
    CHECK_EQ(f[1].offset, offsetof(node, child));
    CHECK_EQ(f[1].count, 2);
    CHECK(f[1].target == &node_ckpt_type);
    CHECK_EQ(f[2].offset, offsetof(node, rule));
    const keel_ckpt_field *b = bag_ckpt_type.describe(&count);
    CHECK_EQ(count, 10);
    CHECK_EQ(b[5].layout, KEEL_CKPT_COUNTED);
    CHECK_EQ(b[5].count_offset, offsetof(bag, text_length));
    CHECK_EQ(b[5].count_size, sizeof(uint16_t));
    CHECK_EQ(b[5].element_size, 1);
    keel_ckpt_schema schema;
    CHECK_OK(keel_ckpt_schema_init(&schema, &bag_ckpt_type));
}

/* ---- descriptors that do not match ---- */

typedef struct plain {
    uint64_t a;
    void *p;
    uint32_t n;
} plain;

static keel_status schema_with(const keel_ckpt_field *fields, unsigned count, size_t size,
                               size_t align) {
    static keel_ckpt_type type;
    type = (keel_ckpt_type){"plain", size, align, count, fields, NULL};
    static keel_ckpt_schema schema;
    return keel_ckpt_schema_init(&schema, &type);
}

KEEL_TEST(schema_refuses_every_malformed_descriptor) {
    const keel_ckpt_type *self = &rule_ckpt_type;
    keel_ckpt_field good = {"p", KEEL_CKPT_OWNED, KEEL_CKPT_ONE, 8, 8, 1, 0, 0, 0, self};
    CHECK_OK(schema_with(&good, 1, sizeof(plain), 8));
    CHECK_STATUS(schema_with(&good, 1, 0, 8), KEEL_EDESCRIPTOR);   /* size 0 */
    CHECK_STATUS(schema_with(&good, 1, 24, 3), KEEL_EDESCRIPTOR);  /* align not 2^k */
    CHECK_STATUS(schema_with(&good, 1, 64, 32), KEEL_EDESCRIPTOR); /* align > 16 */
    CHECK_STATUS(schema_with(&good, 1, 12, 8), KEEL_EDESCRIPTOR);  /* field past the end */
    CHECK_STATUS(schema_with(NULL, 1, 24, 8), KEEL_EDESCRIPTOR);   /* no fields */
    keel_ckpt_field f = good;
    f.offset = 20; /* runs past 24 */
    CHECK_STATUS(schema_with(&f, 1, 24, 8), KEEL_EDESCRIPTOR);
    f = good;
    f.offset = SIZE_MAX - 2; /* offset + size overflows */
    CHECK_STATUS(schema_with(&f, 1, 24, 8), KEEL_EDESCRIPTOR);
    f = good;
    f.offset = 4; /* misaligned pointer */
    CHECK_STATUS(schema_with(&f, 1, 24, 8), KEEL_EDESCRIPTOR);
    f = good;
    f.size = 4; /* not pointer-sized */
    CHECK_STATUS(schema_with(&f, 1, 24, 8), KEEL_EDESCRIPTOR);
    f = good;
    f.target = NULL; /* owned pointer to nothing */
    CHECK_STATUS(schema_with(&f, 1, 24, 8), KEEL_EDESCRIPTOR);
    f = good;
    f.kind = (keel_ckpt_kind)9;
    CHECK_STATUS(schema_with(&f, 1, 24, 8), KEEL_EDESCRIPTOR);
    f = good;
    f.kind = KEEL_CKPT_INLINE; /* inline elements only in counted arrays */
    CHECK_STATUS(schema_with(&f, 1, 24, 8), KEEL_EDESCRIPTOR);
    f = good;
    f.layout = KEEL_CKPT_FIXED;
    f.count = 2; /* size says one pointer */
    CHECK_STATUS(schema_with(&f, 1, 24, 8), KEEL_EDESCRIPTOR);
    const keel_ckpt_field counted[2] = {
        {"p", KEEL_CKPT_BYTES, KEEL_CKPT_COUNTED, 8, 8, 0, 1, 16, 4, NULL},
        {"n", KEEL_CKPT_BYTES, KEEL_CKPT_ONE, 16, 4, 1, 0, 0, 0, NULL}};
    CHECK_OK(schema_with(counted, 2, 24, 8));
    keel_ckpt_field c[2] = {counted[0], counted[1]};
    c[0].count_size = 3;
    CHECK_STATUS(schema_with(c, 2, 24, 8), KEEL_EDESCRIPTOR);
    c[0] = counted[0];
    c[0].count_offset = 22; /* count runs past the struct */
    CHECK_STATUS(schema_with(c, 2, 24, 8), KEEL_EDESCRIPTOR);
    c[0] = counted[0];
    c[0].count_offset = 12; /* count inside the pointer */
    CHECK_STATUS(schema_with(c, 2, 24, 8), KEEL_EDESCRIPTOR);
    c[0] = counted[0];
    c[0].element_size = 0;
    CHECK_STATUS(schema_with(c, 2, 24, 8), KEEL_EDESCRIPTOR);
    keel_ckpt_field two[2] = {good, {"a", KEEL_CKPT_BYTES, KEEL_CKPT_ONE, 4, 8, 1, 0, 0, 0, NULL}};
    CHECK_STATUS(schema_with(two, 2, 24, 8), KEEL_EDESCRIPTOR); /* bytes overlap a pointer */
    keel_ckpt_schema schema;
    CHECK_STATUS(keel_ckpt_schema_init(&schema, NULL), KEEL_EINVAL);
    CHECK_STATUS(keel_ckpt_schema_init(NULL, &node_ckpt_type), KEEL_EINVAL);
}

/* A counted array's count must be a field of its own: exactly one plain-bytes
 * value of the declared size at the declared offset, which no pointer overlaps.
 * Otherwise the count could be read from a pointer's bits or from padding, and
 * a checkpoint would copy as many bytes as an address says. */
typedef struct counted_node {
    unsigned char *data;
    void *child;
    uint32_t n;
    uint32_t spare;
} counted_node;

KEEL_TEST(a_counted_arrays_count_must_be_a_plain_field_of_its_size) {
    const keel_ckpt_type *leaf = &rule_ckpt_type;
    const keel_ckpt_field good[4] = {
        {"data", KEEL_CKPT_BYTES, KEEL_CKPT_COUNTED, 0, 8, 0, 1, 16, 4, NULL},
        {"child", KEEL_CKPT_OWNED, KEEL_CKPT_ONE, 8, 8, 1, 0, 0, 0, leaf},
        {"n", KEEL_CKPT_BYTES, KEEL_CKPT_ONE, 16, 4, 1, 0, 0, 0, NULL},
        {"spare", KEEL_CKPT_BYTES, KEEL_CKPT_ONE, 20, 4, 1, 0, 0, 0, NULL}};
    size_t size = sizeof(counted_node);
    CHECK_OK(schema_with(good, 4, size, 8));
    keel_ckpt_field f[4];
    memcpy(f, good, sizeof f);
    f[0].count_offset = 8; /* the low byte of the pointer `child` */
    f[0].count_size = 1;
    CHECK_STATUS(schema_with(f, 4, size, 8), KEEL_EDESCRIPTOR);
    CHECK_STATUS(schema_with(f, 2, size, 8), KEEL_EDESCRIPTOR); /* likewise, n undescribed */
    memcpy(f, good, sizeof f);
    CHECK_STATUS(schema_with(f, 2, size, 8), KEEL_EDESCRIPTOR); /* n in no field (padding) */
    f[0].count_size = 2; /* half of the 4-byte n */
    CHECK_STATUS(schema_with(f, 4, size, 8), KEEL_EDESCRIPTOR);
    memcpy(f, good, sizeof f);
    f[0].count_size = 8; /* n and spare together: no one field */
    CHECK_STATUS(schema_with(f, 4, size, 8), KEEL_EDESCRIPTOR);
    memcpy(f, good, sizeof f);
    f[2].layout = KEEL_CKPT_FIXED; /* n as an array of one: not a single value */
    CHECK_STATUS(schema_with(f, 4, size, 8), KEEL_EDESCRIPTOR);
    memcpy(f, good, sizeof f);
    f[0].count_size = 8;
    f[2].kind = KEEL_CKPT_EXTERNAL; /* not plain bytes: a pointer's bits */
    f[2].size = 8;
    f[3].offset = 24;
    CHECK_STATUS(schema_with(f, 4, size + 8, 8), KEEL_EDESCRIPTOR);
    memcpy(f, good, sizeof f);
    f[0].count_offset = 20; /* spare is a field of the right size: accepted */
    CHECK_OK(schema_with(f, 4, size, 8));
}

KEEL_TEST(schema_refuses_more_types_than_it_holds) {
    static keel_ckpt_type chain[KEEL_CKPT_MAX_TYPES + 1];
    static keel_ckpt_field links[KEEL_CKPT_MAX_TYPES + 1];
    for (unsigned i = 0; i <= KEEL_CKPT_MAX_TYPES; i++) {
        links[i] = (keel_ckpt_field){"next", KEEL_CKPT_OWNED, KEEL_CKPT_ONE, 0, 8, 1, 0, 0,
                                     0,      &chain[i + 1]};
        chain[i] =
            (keel_ckpt_type){"link", 8, 8, i < KEEL_CKPT_MAX_TYPES ? 1u : 0u, &links[i], NULL};
    }
    keel_ckpt_schema schema;
    CHECK_STATUS(keel_ckpt_schema_init(&schema, &chain[0]), KEEL_EFULL);
    CHECK_OK(keel_ckpt_schema_init(&schema, &chain[1]));
}

/* ---- sharing ---- */

KEEL_TEST(each_shared_rule_is_copied_once_and_sharing_comes_back) {
    keel_heap *heap = fresh_heap();
    rule *rules[5];
    for (uint32_t i = 0; i < 5; i++) {
        rules[i] = new_rule(heap, i);
    }
    unsigned leaves = 0;
    node *root = build_trie(heap, 6, 1, rules, 5, &leaves); /* 127 nodes, 64 leaves */
    keel_ckpt_schema schema;
    CHECK_OK(keel_ckpt_schema_init(&schema, &node_ckpt_type));
    keel_ckpt ckpt;
    CHECK_OK(keel_ckpt_take(&ckpt, &schema, root, buffer, sizeof buffer, NULL));
    keel_ckpt_stats stats;
    keel_ckpt_get_stats(&ckpt, &stats);
    CHECK_EQ(stats.objects, 127 + 5);
    CHECK_EQ(stats.shared, 5);
    CHECK_EQ(stats.edges_followed, 126 + 64);

    keel_arena arena;
    keel_arena_init(&arena, arena_region, sizeof arena_region);
    node *copy;
    CHECK_OK(keel_ckpt_restore_arena(&ckpt, &schema, &arena, NULL, (void **)&copy));
    CHECK(copy != root);
    /* Leaf i points at rule i % 5: equal pointers exactly where the original's are. */
    for (unsigned i = 0; i < 64; i++) {
        const node *a = leftmost_leaf(copy, i), *b = leftmost_leaf(root, i);
        CHECK_EQ(a->key, b->key);
        CHECK_EQ(a->rule->id, b->rule->id);
        CHECK(a->rule != b->rule);
        for (unsigned j = 0; j < 64; j++) {
            bool same = leftmost_leaf(root, j)->rule == b->rule;
            CHECK_EQ(leftmost_leaf(copy, j)->rule == a->rule, same);
        }
    }
    /* 64 leaves over 5 rules: 13, 13, 13, 13, 12 references. */
    for (unsigned i = 0; i < 5; i++) {
        const rule *r = leftmost_leaf(copy, i)->rule;
        CHECK_EQ(keel_ckpt_refs(r), r->id < 4 ? 13 : 12);
        CHECK_EQ(memcmp(r->mask, rules[r->id]->mask, 8), 0);
    }
    CHECK_OK(keel_heap_check(heap, NULL));
}

KEEL_TEST(cycles_through_shared_pointers_terminate_and_come_back) {
    keel_heap *heap = fresh_heap();
    rule *a = new_rule(heap, 1), *b = new_rule(heap, 2), *c = new_rule(heap, 3);
    a->next = b;
    b->next = c;
    c->next = a; /* a 3-cycle */
    node *root = new_node(heap, 7, a);
    root->child[0] = new_node(heap, 8, c);
    keel_ckpt_schema schema;
    CHECK_OK(keel_ckpt_schema_init(&schema, &node_ckpt_type));
    for (int round = 0; round < 3; round++) { /* marks of an earlier checkpoint mislead none */
        keel_ckpt ckpt;
        CHECK_OK(keel_ckpt_take(&ckpt, &schema, root, buffer, sizeof buffer, NULL));
        keel_ckpt_stats stats;
        keel_ckpt_get_stats(&ckpt, &stats);
        CHECK_EQ(stats.objects, 5);
        CHECK_EQ(stats.shared, 3);
        keel_arena arena;
        keel_arena_init(&arena, arena_region, sizeof arena_region);
        node *copy;
        CHECK_OK(keel_ckpt_restore_arena(&ckpt, &schema, &arena, NULL, (void **)&copy));
        rule *x = copy->rule;
        CHECK_EQ(x->id, 1);
        CHECK_EQ(x->next->id, 2);
        CHECK_EQ(x->next->next->id, 3);
        CHECK(x->next->next->next == x);
        CHECK(copy->child[0]->rule == x->next->next);
        CHECK(copy->child[1] == NULL);
        CHECK_EQ(keel_ckpt_refs(x), 2); /* from root and from c */
        CHECK_EQ(keel_ckpt_refs(x->next), 1);
        CHECK_EQ(keel_ckpt_refs(x->next->next), 2);
    }
}

static const char *const labels[] = {"accept", "drop", "log"};

static keel_status label_to_index(void *context, const void *pointer, uint64_t *value) {
    (void)context;
    for (uint64_t i = 0; i < 3; i++) {
        if (pointer == labels[i]) {
            *value = i + 100;
            return KEEL_OK;
        }
    }
    if (pointer == NULL) {
        *value = 0;
        return KEEL_OK;
    }
    return KEEL_ERANGE;
}

static keel_status index_to_label(void *context, uint64_t value, void **pointer) {
    int *calls = context;
    if (calls != NULL && --*calls < 0) {
        return KEEL_ESTALE; /* a refusal, to test the clean-up */
    }
    if (value == 0) {
        *pointer = NULL;
        return KEEL_OK;
    }
    if (value < 100 || value > 102) {
        return KEEL_ERANGE;
    }
    *pointer = (void *)labels[value - 100];
    return KEEL_OK;
}

KEEL_TEST(external_pointers_are_kept_or_mapped_by_the_callbacks) {
    keel_heap *heap = fresh_heap();
    rule *a = new_rule(heap, 1), *b = new_rule(heap, 2);
    a->label = labels[2];
    b->label = labels[0];
    a->next = b;
    node *root = new_node(heap, 1, a);
    keel_ckpt_schema schema;
    CHECK_OK(keel_ckpt_schema_init(&schema, &node_ckpt_type));
    keel_ckpt ckpt;
    keel_arena arena;
    node *copy;
    /* Kept: the same addresses come back. */
    CHECK_OK(keel_ckpt_take(&ckpt, &schema, root, buffer, sizeof buffer, NULL));
    keel_arena_init(&arena, arena_region, sizeof arena_region);
    CHECK_OK(keel_ckpt_restore_arena(&ckpt, &schema, &arena, NULL, (void **)&copy));
    CHECK(copy->rule->label == labels[2]);
    /* Mapped: indices in the checkpoint, pointers again on restore. */
    keel_ckpt_options options = {label_to_index, index_to_label, NULL};
    CHECK_OK(keel_ckpt_take(&ckpt, &schema, root, buffer, sizeof buffer, &options));
    keel_arena_init(&arena, arena_region, sizeof arena_region);
    CHECK_OK(keel_ckpt_restore_arena(&ckpt, &schema, &arena, &options, (void **)&copy));
    CHECK(copy->rule->label == labels[2]);
    CHECK(copy->rule->next->label == labels[0]);
    /* A refusal from the save callback fails the checkpoint with its status. */
    a->label = "not a label";
    CHECK_STATUS(keel_ckpt_take(&ckpt, &schema, root, buffer, sizeof buffer, &options),
                 KEEL_ERANGE);
    keel_ckpt_stats stats;
    keel_ckpt_get_stats(&ckpt, &stats);
    CHECK_EQ(stats.objects, 0);
}

static bag *build_bag(keel_heap *heap) {
    bag *g;
    keel_heap_alloc(heap, sizeof *g, (void **)&g);
    memset(g, 0, sizeof *g);
    static rule *rules[4];
    for (uint32_t i = 0; i < 4; i++) {
        rules[i] = new_rule(heap, 50 + i);
    }
    g->rule_count = 6;
    keel_heap_alloc(heap, 6 * sizeof(rule *), (void **)&g->rules);
    for (uint32_t i = 0; i < 6; i++) {
        g->rules[i] = rules[i % 4];
    }
    g->text_length = 13;
    keel_heap_alloc(heap, 13, (void **)&g->text);
    memcpy(g->text, "hello, world", 13);
    g->pair_count = 3;
    keel_heap_alloc(heap, 3 * sizeof(pair), (void **)&g->pairs);
    for (uint32_t i = 0; i < 3; i++) {
        g->pairs[i].tag = 1000 + i;
        g->pairs[i].subtree = new_node(heap, 70 + i, rules[i]);
        g->pairs[i].rule = rules[3 - i];
    }
    g->node_count = 2;
    keel_heap_alloc(heap, 2 * sizeof(node *), (void **)&g->nodes);
    g->nodes[0] = new_node(heap, 90, rules[0]);
    g->nodes[1] = NULL;
    g->trie = new_node(heap, 91, NULL);
    g->trie->child[1] = new_node(heap, 92, rules[1]);
    g->handles[0] = (void *)&labels;
    g->handles[1] = NULL;
    return g;
}

/* Compares a restored bag with the original: values, shape and sharing. */
static void check_bag(const bag *o, const bag *c) {
    CHECK(o != c);
    CHECK_EQ(c->rule_count, 6);
    CHECK_EQ(c->text_length, 13);
    CHECK(strcmp(c->text, "hello, world") == 0);
    CHECK(c->text != o->text);
    for (unsigned i = 0; i < 6; i++) {
        CHECK_EQ(c->rules[i]->id, o->rules[i]->id);
        for (unsigned j = 0; j < 6; j++) {
            CHECK_EQ(c->rules[i] == c->rules[j], o->rules[i] == o->rules[j]);
        }
    }
    for (unsigned i = 0; i < 3; i++) {
        CHECK_EQ(c->pairs[i].tag, 1000 + i);
        CHECK_EQ(c->pairs[i].subtree->key, 70 + i);
        CHECK(c->pairs[i].subtree->rule == c->rules[i]);
        CHECK(c->pairs[i].rule == c->rules[3 - i]);
    }
    CHECK_EQ(c->nodes[0]->key, 90);
    CHECK(c->nodes[0]->rule == c->rules[0]);
    CHECK(c->nodes[1] == NULL);
    CHECK(c->trie->child[0] == NULL);
    CHECK_EQ(c->trie->child[1]->key, 92);
    CHECK(c->handles[0] == (void *)&labels);
    CHECK(c->handles[1] == NULL);
    /* rules[0]: 2 in the array, pairs[0].subtree, nodes[0]; rules[3]: 1 + pairs[0].rule. */
    CHECK_EQ(keel_ckpt_refs(c->rules[0]), 4);
    CHECK_EQ(keel_ckpt_refs(c->rules[3]), 2);
}

KEEL_TEST(counted_and_inline_arrays_round_trip_through_arena_and_heap) {
    keel_heap *heap = fresh_heap();
    bag *g = build_bag(heap);
    keel_ckpt_schema schema;
    CHECK_OK(keel_ckpt_schema_init(&schema, &bag_ckpt_type));
    keel_ckpt ckpt;
    CHECK_OK(keel_ckpt_take(&ckpt, &schema, g, buffer, sizeof buffer, NULL));
    keel_ckpt_stats stats;
    keel_ckpt_get_stats(&ckpt, &stats);
    /* bag, rules[], text, pairs[], 3 subtrees, nodes[], nodes[0], trie, its child, 4 rules */
    CHECK_EQ(stats.objects, 15);
    CHECK_EQ(stats.shared, 4);
    keel_arena arena;
    keel_arena_init(&arena, arena_region, sizeof arena_region);
    bag *copy;
    CHECK_OK(keel_ckpt_restore_arena(&ckpt, &schema, &arena, NULL, (void **)&copy));
    check_bag(g, copy);
    CHECK_OK(keel_ckpt_restore_heap(&ckpt, &schema, heap, NULL, (void **)&copy));
    check_bag(g, copy);
    CHECK_OK(keel_heap_check(heap, NULL));
}

KEEL_TEST(a_heap_restore_gives_one_freeable_block_per_object) {
    keel_heap *heap = fresh_heap();
    rule *rules[3] = {new_rule(heap, 1), new_rule(heap, 2), new_rule(heap, 3)};
    unsigned leaves = 0;
    node *root = build_trie(heap, 3, 1, rules, 3, &leaves); /* 15 nodes */
    keel_ckpt_schema schema;
    CHECK_OK(keel_ckpt_schema_init(&schema, &node_ckpt_type));
    keel_ckpt ckpt;
    CHECK_OK(keel_ckpt_take(&ckpt, &schema, root, buffer, sizeof buffer, NULL));
    keel_heap_stats before, after;
    keel_heap_get_stats(heap, &before);
    node *copy;
    CHECK_OK(keel_ckpt_restore_heap(&ckpt, &schema, heap, NULL, (void **)&copy));
    keel_heap_get_stats(heap, &after);
    CHECK_EQ(after.live_blocks - before.live_blocks, 15 + 3); /* the table was freed */
    /* Free the copy object by object: every block is a live block of the heap. */
    node *stack[32];
    unsigned depth = 0;
    stack[depth++] = copy;
    rule *seen[3] = {0};
    while (depth > 0) {
        node *n = stack[--depth];
        for (int i = 0; i < 2; i++) {
            if (n->child[i] != NULL) {
                stack[depth++] = n->child[i];
            }
        }
        if (n->rule != NULL && keel_ckpt_release(n->rule) == 0) {
            seen[n->rule->id - 1] = n->rule;
            CHECK_OK(keel_heap_free_checked(heap, keel_ckpt_shared_block(n->rule)));
        }
        CHECK_OK(keel_heap_free_checked(heap, n));
    }
    CHECK(seen[0] != NULL && seen[1] != NULL && seen[2] != NULL);
    keel_heap_get_stats(heap, &after);
    CHECK_EQ(after.in_use, before.in_use);
    CHECK_OK(keel_heap_check(heap, NULL));
}

/* ---- bad input: clear statuses, nothing half-built ---- */

KEEL_TEST(a_buffer_too_small_at_any_size_fails_cleanly) {
    keel_heap *heap = fresh_heap();
    bag *g = build_bag(heap);
    keel_ckpt_schema schema;
    CHECK_OK(keel_ckpt_schema_init(&schema, &bag_ckpt_type));
    keel_ckpt ckpt;
    CHECK_OK(keel_ckpt_take(&ckpt, &schema, g, buffer, sizeof buffer, NULL));
    keel_ckpt_stats stats;
    keel_ckpt_get_stats(&ckpt, &stats);
    for (size_t size = 0; size < stats.bytes; size += 8) {
        CHECK_STATUS(keel_ckpt_take(&ckpt, &schema, g, buffer, size, NULL), KEEL_ENOMEM);
        keel_ckpt_stats none;
        keel_ckpt_get_stats(&ckpt, &none);
        CHECK_EQ(none.objects, 0);
        keel_arena arena;
        void *root = &arena;
        keel_arena_init(&arena, arena_region, sizeof arena_region);
        CHECK_STATUS(keel_ckpt_restore_arena(&ckpt, &schema, &arena, NULL, &root), KEEL_EINVAL);
        CHECK(root == NULL);
    }
    CHECK_OK(keel_ckpt_take(&ckpt, &schema, g, buffer, stats.bytes, NULL));
    bag *copy;
    keel_arena arena;
    keel_arena_init(&arena, arena_region, sizeof arena_region);
    CHECK_OK(keel_ckpt_restore_arena(&ckpt, &schema, &arena, NULL, (void **)&copy));
    check_bag(g, copy);
}

KEEL_TEST(a_destination_too_small_leaves_it_as_it_was) {
    keel_heap *heap = fresh_heap();
    bag *g = build_bag(heap);
    keel_ckpt_schema schema;
    CHECK_OK(keel_ckpt_schema_init(&schema, &bag_ckpt_type));
    keel_ckpt ckpt;
    CHECK_OK(keel_ckpt_take(&ckpt, &schema, g, buffer, sizeof buffer, NULL));
    keel_ckpt_stats stats;
    keel_ckpt_get_stats(&ckpt, &stats);
    /* Arenas of every size up to enough. */
    for (size_t size = 16; size < stats.restore_bytes; size += 16) {
        keel_arena arena;
        keel_arena_init(&arena, arena_region, size);
        void *root = &arena;
        CHECK_STATUS(keel_ckpt_restore_arena(&ckpt, &schema, &arena, NULL, &root), KEEL_ENOMEM);
        CHECK(root == NULL);
        CHECK_EQ(arena.used, 0);
    }
    /* Heaps of every size: allocation fails at every point of the restore in turn. */
    static _Alignas(16) unsigned char small[16384];
    unsigned failures = 0;
    for (size_t size = 512; size <= sizeof small; size += 16) {
        keel_heap *h;
        if (keel_heap_init(&h, small, size) != KEEL_OK) {
            continue;
        }
        keel_heap_stats before, after;
        keel_heap_get_stats(h, &before);
        void *root;
        keel_status status = keel_ckpt_restore_heap(&ckpt, &schema, h, NULL, &root);
        keel_heap_get_stats(h, &after);
        if (status == KEEL_OK) {
            check_bag(g, root);
            break;
        }
        failures++;
        CHECK(status == KEEL_ENOMEM || status == KEEL_ERANGE);
        CHECK(root == NULL);
        CHECK_EQ(after.in_use, before.in_use);
        CHECK_EQ(after.live_blocks, 0);
        CHECK_OK(keel_heap_check(h, NULL));
    }
    CHECK(failures > 10);
}

KEEL_TEST(a_refusal_mid_restore_frees_everything_already_built) {
    keel_heap *heap = fresh_heap();
    rule *a = new_rule(heap, 1), *b = new_rule(heap, 2);
    a->label = labels[1];
    b->label = labels[2];
    a->next = b;
    node *root = new_node(heap, 1, a);
    root->child[0] = new_node(heap, 2, b);
    keel_ckpt_schema schema;
    CHECK_OK(keel_ckpt_schema_init(&schema, &node_ckpt_type));
    int calls = 0;
    keel_ckpt_options options = {label_to_index, index_to_label, &calls};
    keel_ckpt ckpt;
    CHECK_OK(keel_ckpt_take(&ckpt, &schema, root, buffer, sizeof buffer, &options));
    for (int allowed = 0; allowed < 2; allowed++) {
        keel_heap_stats before, after;
        keel_heap_get_stats(heap, &before);
        calls = allowed;
        void *copy;
        CHECK_STATUS(keel_ckpt_restore_heap(&ckpt, &schema, heap, &options, &copy), KEEL_ESTALE);
        keel_heap_get_stats(heap, &after);
        CHECK_EQ(after.in_use, before.in_use);
        CHECK_EQ(after.live_blocks, before.live_blocks);
        keel_arena arena;
        keel_arena_init(&arena, arena_region, sizeof arena_region);
        calls = allowed;
        CHECK_STATUS(keel_ckpt_restore_arena(&ckpt, &schema, &arena, &options, &copy), KEEL_ESTALE);
        CHECK_EQ(arena.used, 0);
    }
}

KEEL_TEST(data_that_does_not_match_its_descriptor_is_refused) {
    keel_heap *heap = fresh_heap();
    keel_ckpt_schema schema;
    CHECK_OK(keel_ckpt_schema_init(&schema, &node_ckpt_type));
    keel_ckpt ckpt;
    /* A shared pointer to an object with no shared header. */
    static _Alignas(16) unsigned char fake[64];
    node *root = new_node(heap, 1, NULL);
    root->rule = (rule *)(fake + 32);
    CHECK_STATUS(keel_ckpt_take(&ckpt, &schema, root, buffer, sizeof buffer, NULL),
                 KEEL_EDESCRIPTOR);
    /* A shared object of another type. */
    void *other;
    CHECK_OK(keel_ckpt_shared_new(heap, &node_ckpt_type, &other));
    root->rule = other;
    CHECK_STATUS(keel_ckpt_take(&ckpt, &schema, root, buffer, sizeof buffer, NULL),
                 KEEL_EDESCRIPTOR);
    /* A counted array with a count and no buffer. */
    keel_ckpt_schema bags;
    CHECK_OK(keel_ckpt_schema_init(&bags, &bag_ckpt_type));
    bag *g = build_bag(heap);
    g->text = NULL;
    CHECK_STATUS(keel_ckpt_take(&ckpt, &bags, g, buffer, sizeof buffer, NULL), KEEL_EDESCRIPTOR);
    /* A checkpoint restored with another schema. */
    g->text_length = 0;
    CHECK_OK(keel_ckpt_take(&ckpt, &bags, g, buffer, sizeof buffer, NULL));
    keel_arena arena;
    keel_arena_init(&arena, arena_region, sizeof arena_region);
    void *copy;
    CHECK_STATUS(keel_ckpt_restore_arena(&ckpt, &schema, &arena, NULL, &copy), KEEL_EDESCRIPTOR);
    CHECK_STATUS(keel_ckpt_restore_heap(&ckpt, &schema, heap, NULL, &copy), KEEL_EDESCRIPTOR);
    CHECK_OK(keel_ckpt_restore_arena(&ckpt, &bags, &arena, NULL, &copy));
    CHECK(((bag *)copy)->text == NULL);
    /* NULL arguments. */
    CHECK_STATUS(keel_ckpt_take(NULL, &schema, root, buffer, sizeof buffer, NULL), KEEL_EINVAL);
    CHECK_STATUS(keel_ckpt_take(&ckpt, NULL, root, buffer, sizeof buffer, NULL), KEEL_EINVAL);
    CHECK_STATUS(keel_ckpt_take(&ckpt, &schema, NULL, buffer, sizeof buffer, NULL), KEEL_EINVAL);
    CHECK_STATUS(keel_ckpt_take(&ckpt, &schema, root, buffer + 8, 1024, NULL), KEEL_EINVAL);
}

/* One shared object reached through fields of two different target types:
 * every visit checks the header's type, the first and every later one (the
 * mark alone once let the second field through, and the file that take wrote
 * was then refused by the loader). */
#define TA_FIELDS(F) F(BYTES, uint64_t, a)
KEEL_CKPT_DEFINE(ta, TA_FIELDS);
#define TB_FIELDS(F) F(BYTES, uint64_t, b)
KEEL_CKPT_DEFINE(tb, TB_FIELDS);
#define TWO_WAYS_FIELDS(F) F(SHARED, ta, pa) F(SHARED, tb, pb)
KEEL_CKPT_DEFINE(two_ways, TWO_WAYS_FIELDS);

KEEL_TEST(a_shared_object_reached_as_two_types_is_refused_at_every_visit) {
    keel_heap *heap = fresh_heap();
    keel_ckpt_schema schema;
    CHECK_OK(keel_ckpt_schema_init(&schema, &two_ways_ckpt_type));
    void *object;
    CHECK_OK(keel_ckpt_shared_new(heap, &ta_ckpt_type, &object));
    keel_ckpt ckpt;
    two_ways first_right = {.pa = object, .pb = (tb *)object}; /* as ta, then as tb */
    CHECK_STATUS(keel_ckpt_take(&ckpt, &schema, &first_right, buffer, sizeof buffer, NULL),
                 KEEL_EDESCRIPTOR);
    CHECK(ckpt.magic != KEEL_CKPT_MAGIC);
    two_ways only_wrong = {.pb = (tb *)object};
    CHECK_STATUS(keel_ckpt_take(&ckpt, &schema, &only_wrong, buffer, sizeof buffer, NULL),
                 KEEL_EDESCRIPTOR);
    two_ways twice_right = {.pa = object};
    CHECK_OK(keel_ckpt_take(&ckpt, &schema, &twice_right, buffer, sizeof buffer, NULL));
    void *other;
    CHECK_OK(keel_ckpt_shared_new(heap, &tb_ckpt_type, &other));
    two_ways both_right = {.pa = object, .pb = other};
    CHECK_OK(keel_ckpt_take(&ckpt, &schema, &both_right, buffer, sizeof buffer, NULL));
    keel_ckpt_stats stats;
    keel_ckpt_get_stats(&ckpt, &stats);
    CHECK_EQ(stats.shared, 2u);
}

KEEL_TEST(shared_headers_count_references_atomically) {
    static _Alignas(16) unsigned char block[sizeof(keel_ckpt_shared) + sizeof(rule)];
    rule *r = keel_ckpt_shared_init(block, &rule_ckpt_type);
    CHECK(r != NULL);
    CHECK(keel_ckpt_shared_block(r) == block);
    CHECK_EQ(keel_ckpt_refs(r), 1);
    CHECK_EQ(keel_ckpt_retain(r), 2);
    CHECK_EQ(keel_ckpt_release(r), 1);
    CHECK_EQ(keel_ckpt_release(r), 0);
    CHECK(keel_ckpt_shared_init(block + 8, &rule_ckpt_type) == NULL);
    CHECK(keel_ckpt_shared_init(NULL, &rule_ckpt_type) == NULL);
}

KEEL_TEST_MAIN()
