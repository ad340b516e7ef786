/* The rule trie (rules.h). */
#include "rules.h"

#include <string.h>

KEEL_CKPT_DESCRIPTOR(rule, RULE_FIELDS);
KEEL_CKPT_DESCRIPTOR(trie_node, TRIE_NODE_FIELDS);
KEEL_CKPT_DESCRIPTOR(rule_set, RULE_SET_FIELDS);

const char *const rule_labels[3] = {"drop", "accept", "log"};

enum action rule_set_classify(const rule_set *set, uint32_t address) {
    const trie_node *n = set->root;
    enum action best = DROP;
    for (unsigned depth = 0; n != NULL; depth++) {
        if (n->rule != NULL) {
            best = (enum action)n->rule->action;
        }
        n = depth < 32 ? n->child[(address >> (31 - depth)) & 1] : NULL;
    }
    return best;
}

static trie_node *new_node(void *(*alloc)(size_t size)) {
    trie_node *n = alloc(sizeof *n);
    if (n != NULL) {
        memset(n, 0, sizeof *n);
    }
    return n;
}

/* The rule with this id somewhere in the trie, to share it. */
static rule *find_rule(trie_node *n, uint32_t id) {
    if (n == NULL) {
        return NULL;
    }
    if (n->rule != NULL && n->rule->id == id) {
        return n->rule;
    }
    rule *r = find_rule(n->child[0], id);
    return r != NULL ? r : find_rule(n->child[1], id);
}

int rule_set_insert(rule_set *set, const rule_spec *spec, void *(*alloc)(size_t size)) {
    /* A label is checked by reading it: a wild one faults right here. */
    if (strlen(spec->label) == 0) {
        return -1;
    }
    if (set->root == NULL && (set->root = new_node(alloc)) == NULL) {
        return -1;
    }
    trie_node *n = set->root;
    for (unsigned depth = 0; depth < spec->length; depth++) {
        unsigned bit = (spec->prefix >> (31 - depth)) & 1;
        if (n->child[bit] == NULL && (n->child[bit] = new_node(alloc)) == NULL) {
            return -1;
        }
        n = n->child[bit];
    }
    rule *r = find_rule(set->root, spec->id);
    if (r == NULL) {
        void *block = alloc(KEEL_CKPT_SHARED_SIZE(&rule_ckpt_type));
        if (block == NULL) {
            return -1;
        }
        r = keel_ckpt_shared_init(block, &rule_ckpt_type);
        *r = (rule){.id = spec->id, .action = spec->action, .label = spec->label};
        set->rules++;
    } else {
        keel_ckpt_retain(r);
    }
    if (n->rule != NULL) {
        keel_ckpt_release(n->rule); /* replaced: its block stays (a heap is per domain) */
    }
    n->rule = r;
    return 0;
}

keel_status label_save(void *context, const void *pointer, uint64_t *value) {
    (void)context;
    for (uint64_t i = 0; i < 3; i++) {
        if (pointer == rule_labels[i]) {
            *value = i;
            return KEEL_OK;
        }
    }
    return KEEL_EINVAL;
}

keel_status label_load(void *context, uint64_t value, void **pointer) {
    (void)context;
    if (value >= 3) {
        return KEEL_EINVAL;
    }
    *pointer = (void *)rule_labels[value];
    return KEEL_OK;
}
