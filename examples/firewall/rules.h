/*
 * rules.h - the firewall's rule set: a binary trie over IPv4 destination
 * prefixes whose nodes point at shared rules (several prefixes may share one
 * rule), declared with KEEL_CKPT_DEFINE so it can be checkpointed.
 */
#ifndef FIREWALL_RULES_H
#define FIREWALL_RULES_H

#include <stdint.h>

#include "keel/ckpt.h"

enum action { DROP = 0, ACCEPT = 1, LOG = 2 };

KEEL_CKPT_DECLARE(rule);
KEEL_CKPT_DECLARE(trie_node);

#define RULE_FIELDS(F)          \
    F(BYTES, uint32_t, id)      \
    F(BYTES, uint32_t, action)  \
    F(BYTES, uint64_t, matches) \
    F(EXTERNAL, const char *, label)
KEEL_CKPT_STRUCT(rule, RULE_FIELDS);

#define TRIE_NODE_FIELDS(F)             \
    F(OWNED_ARRAY, trie_node, child, 2) \
    F(SHARED, rule, rule)
KEEL_CKPT_STRUCT(trie_node, TRIE_NODE_FIELDS);

/* The root object: what a checkpoint of the rule set starts from. */
#define RULE_SET_FIELDS(F)      \
    F(BYTES, uint32_t, rules)   \
    F(BYTES, uint32_t, version) \
    F(OWNED, trie_node, root)
KEEL_CKPT_STRUCT(rule_set, RULE_SET_FIELDS);

/* A rule as configured: prefix/length -> action, with a label. */
typedef struct rule_spec {
    uint32_t prefix;
    unsigned length;
    uint32_t id;
    enum action action;
    const char *label; /* one of the labels below, or garbage in a faulty update */
} rule_spec;

extern const char *const rule_labels[3];

/* The action of the longest prefix matching `address` (DROP if none). */
enum action rule_set_classify(const rule_set *set, uint32_t address);

/* Inserts one rule into the trie, allocating nodes and rules through alloc
 * (the domain's heap). Returns 0, or -1 if out of memory. A rule that points
 * at a rule with the same id already in the set shares it. */
int rule_set_insert(rule_set *set, const rule_spec *spec, void *(*alloc)(size_t size));

/* Checkpoint callbacks: labels travel as their index in rule_labels. */
keel_status label_save(void *context, const void *pointer, uint64_t *value);
keel_status label_load(void *context, uint64_t value, void **pointer);

#endif
