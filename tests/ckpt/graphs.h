/*
 * graphs.h - the types the checkpoint tests build graphs of, declared with
 * KEEL_CKPT_DEFINE: a rule trie (the paper's firewall) and a "bag" that has
 * one field of every other layout.
 */
#ifndef KEEL_TEST_CKPT_GRAPHS_H
#define KEEL_TEST_CKPT_GRAPHS_H

#include <stdint.h>

#include "keel/ckpt.h"

KEEL_CKPT_DECLARE(rule);
KEEL_CKPT_DECLARE(node);

/* A rule; `next` chains rules (shared, so chains may form cycles). */
#define RULE_FIELDS(F)               \
    F(BYTES, uint32_t, id)           \
    F(BYTES, uint32_t, action)       \
    F(SHARED, rule, next)            \
    F(EXTERNAL, const char *, label) \
    F(BYTES_ARRAY, uint8_t, mask, 8)
KEEL_CKPT_STRUCT(rule, RULE_FIELDS);

/* A trie node: two owned children and a shared rule. */
#define NODE_FIELDS(F)             \
    F(BYTES, uint32_t, key)        \
    F(OWNED_ARRAY, node, child, 2) \
    F(SHARED, rule, rule)
KEEL_CKPT_STRUCT(node, NODE_FIELDS);

/* One element of a bag's inline array. */
#define PAIR_FIELDS(F)      \
    F(BYTES, uint64_t, tag) \
    F(OWNED, node, subtree) \
    F(SHARED, rule, rule)
KEEL_CKPT_STRUCT(pair, PAIR_FIELDS);

#define BAG_FIELDS(F)                          \
    F(BYTES, uint32_t, rule_count)             \
    F(BYTES, uint16_t, text_length)            \
    F(BYTES, uint8_t, pair_count)              \
    F(BYTES, uint64_t, node_count)             \
    F(SHARED_COUNTED, rule, rules, rule_count) \
    F(BYTES_COUNTED, char, text, text_length)  \
    F(INLINE_COUNTED, pair, pairs, pair_count) \
    F(OWNED_COUNTED, node, nodes, node_count)  \
    F(OWNED, node, trie)                       \
    F(EXTERNAL_ARRAY, void *, handles, 2)
KEEL_CKPT_STRUCT(bag, BAG_FIELDS);

/* A vertex of a random graph: owned children (a tree), shared links (any
 * shape, cycles included) and a blob of bytes. */
KEEL_CKPT_DECLARE(vertex);
#define VERTEX_FIELDS(F)                            \
    F(BYTES, uint32_t, id)                          \
    F(BYTES, uint32_t, child_count)                 \
    F(BYTES, uint8_t, blob_length)                  \
    F(OWNED_COUNTED, vertex, children, child_count) \
    F(SHARED_ARRAY, vertex, links, 2)               \
    F(BYTES_COUNTED, uint8_t, blob, blob_length)
KEEL_CKPT_STRUCT(vertex, VERTEX_FIELDS);

#endif
