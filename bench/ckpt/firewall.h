/*
 * firewall.h - the paper's firewall rule database (HotOS'17, figure 3): a
 * binary trie over destination prefixes whose leaves point at shared rules,
 * and the conventional deep copy it is measured against.
 */
#ifndef BENCH_CKPT_FIREWALL_H
#define BENCH_CKPT_FIREWALL_H

#include <stddef.h>
#include <stdint.h>

#include "keel/ckpt.h"

KEEL_CKPT_DECLARE(fw_rule);
KEEL_CKPT_DECLARE(fw_node);

#define FW_RULE_FIELDS(F)              \
    F(BYTES, uint32_t, src)            \
    F(BYTES, uint32_t, dst)            \
    F(BYTES, uint32_t, src_mask)       \
    F(BYTES, uint32_t, dst_mask)       \
    F(BYTES_ARRAY, uint16_t, ports, 4) \
    F(BYTES, uint32_t, action)         \
    F(BYTES, uint32_t, priority)       \
    F(SHARED, fw_rule, fallback)       \
    F(EXTERNAL, const char *, name)
KEEL_CKPT_STRUCT(fw_rule, FW_RULE_FIELDS);

#define FW_NODE_FIELDS(F)             \
    F(BYTES, uint32_t, prefix)        \
    F(BYTES, uint32_t, depth)         \
    F(OWNED_ARRAY, fw_node, child, 2) \
    F(SHARED, fw_rule, rule)
KEEL_CKPT_STRUCT(fw_node, FW_NODE_FIELDS);

typedef struct firewall {
    fw_node *root;
    size_t rules, leaves, nodes; /* objects = nodes + rules */
    keel_heap *heap;
    void *region;
    size_t region_bytes;
} firewall;

/* Builds a trie with `leaves` leaves over `rules` shared rules (leaf i uses rule
 * i % rules) in a heap of its own; 0 on success. */
int firewall_build(firewall *fw, size_t leaves, size_t rules);
void firewall_free(firewall *fw);

/* The conventional deep copy: every object reached is looked up in an open
 * addressing hash set of addresses (a conventional language cannot tell which
 * objects are shared, so it must track them all) and copied once into `out`. */
typedef struct hash_copy {
    uintptr_t *keys; /* original addresses; 0 is empty */
    void **values;   /* their copies */
    size_t mask;
    unsigned char *out;
    size_t out_capacity, out_used;
    void **stack; /* objects copied but not yet scanned */
    size_t stack_capacity;
} hash_copy;

int hash_copy_init(hash_copy *h, size_t objects, size_t bytes);
void hash_copy_free(hash_copy *h);
/* Copies the graph at root; the copy's root, or NULL if out of room. */
fw_node *hash_copy_run(hash_copy *h, const fw_node *root);

#endif
