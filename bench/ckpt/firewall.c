/* The firewall rule database and the hash-set deep copy (firewall.h). */
#include "firewall.h"

#include <string.h>
#include <sys/mman.h>

KEEL_CKPT_DESCRIPTOR(fw_rule, FW_RULE_FIELDS);
KEEL_CKPT_DESCRIPTOR(fw_node, FW_NODE_FIELDS);

static const char *const rule_names[] = {"accept", "drop", "reject", "log"};

static void *map(size_t bytes) {
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

typedef struct builder {
    firewall *fw;
    fw_rule **rules;
    size_t next_leaf;
} builder;

static fw_node *build(builder *b, size_t leaves, uint32_t prefix, uint32_t depth) {
    fw_node *n;
    if (keel_heap_alloc(b->fw->heap, sizeof *n, (void **)&n) != KEEL_OK) {
        return NULL;
    }
    memset(n, 0, sizeof *n);
    n->prefix = prefix;
    n->depth = depth;
    b->fw->nodes++;
    if (leaves == 1) {
        n->rule = b->rules[b->next_leaf++ % b->fw->rules];
        keel_ckpt_retain(n->rule);
        return n;
    }
    size_t left = leaves / 2;
    n->child[0] = build(b, left, prefix, depth + 1);
    n->child[1] = build(b, leaves - left, prefix | (1u << (31 - depth % 32)), depth + 1);
    return n->child[0] != NULL && n->child[1] != NULL ? n : NULL;
}

int firewall_build(firewall *fw, size_t leaves, size_t rules) {
    memset(fw, 0, sizeof *fw);
    fw->rules = rules;
    fw->leaves = leaves;
    fw->region_bytes = leaves * 2 * 48 + rules * 112 + rules * sizeof(void *) + (1 << 20);
    fw->region = map(fw->region_bytes);
    if (fw->region == NULL || keel_heap_init(&fw->heap, fw->region, fw->region_bytes) != KEEL_OK) {
        return -1;
    }
    builder b = {.fw = fw};
    if (keel_heap_alloc(fw->heap, rules * sizeof(fw_rule *), (void **)&b.rules) != KEEL_OK) {
        return -1;
    }
    uint64_t seed = 1;
    for (size_t i = 0; i < rules; i++) {
        void *object;
        if (keel_ckpt_shared_new(fw->heap, &fw_rule_ckpt_type, &object) != KEEL_OK) {
            return -1;
        }
        fw_rule *r = object;
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        r->src = (uint32_t)(seed >> 32);
        r->dst = (uint32_t)seed;
        r->src_mask = 0xFFFFFF00u;
        r->dst_mask = 0xFFFF0000u;
        r->ports[0] = (uint16_t)(seed >> 16);
        r->action = (uint32_t)(i % 4);
        r->priority = (uint32_t)i;
        r->name = rule_names[i % 4];
        r->fallback = i > 0 ? b.rules[(i - 1) / 2] : NULL; /* rules share fallbacks too */
        if (r->fallback != NULL) {
            keel_ckpt_retain(r->fallback);
        }
        b.rules[i] = r;
    }
    fw->root = build(&b, leaves, 0, 0);
    keel_heap_free(fw->heap, b.rules);
    return fw->root != NULL ? 0 : -1;
}

void firewall_free(firewall *fw) {
    if (fw->region != NULL) {
        munmap(fw->region, fw->region_bytes);
    }
    memset(fw, 0, sizeof *fw);
}

int hash_copy_init(hash_copy *h, size_t objects, size_t bytes) {
    memset(h, 0, sizeof *h);
    size_t slots = 16;
    while (slots < 2 * objects) {
        slots *= 2;
    }
    h->mask = slots - 1;
    h->keys = map(slots * sizeof *h->keys);
    h->values = map(slots * sizeof *h->values);
    h->out_capacity = bytes;
    h->out = map(bytes);
    h->stack_capacity = objects + 16;
    h->stack = map(h->stack_capacity * sizeof *h->stack);
    return h->keys && h->values && h->out && h->stack ? 0 : -1;
}

void hash_copy_free(hash_copy *h) {
    munmap(h->keys, (h->mask + 1) * sizeof *h->keys);
    munmap(h->values, (h->mask + 1) * sizeof *h->values);
    munmap(h->out, h->out_capacity);
    munmap(h->stack, h->stack_capacity * sizeof *h->stack);
}

/* The copy of `object` (size bytes): found in the set, or made and pushed. */
static void *visit(hash_copy *h, const void *object, size_t size, int *pushed) {
    uintptr_t key = (uintptr_t)object;
    size_t i = (size_t)((key >> 4) * 0x9E3779B97F4A7C15ull) & h->mask;
    while (h->keys[i] != 0) {
        if (h->keys[i] == key) {
            *pushed = 0;
            return h->values[i];
        }
        i = (i + 1) & h->mask;
    }
    size_t at = (h->out_used + 15) & ~(size_t)15;
    if (at + size > h->out_capacity) {
        return NULL;
    }
    void *copy = h->out + at;
    h->out_used = at + size;
    memcpy(copy, object, size);
    h->keys[i] = key;
    h->values[i] = copy;
    *pushed = 1;
    return copy;
}

fw_node *hash_copy_run(hash_copy *h, const fw_node *root) {
    memset(h->keys, 0, (h->mask + 1) * sizeof *h->keys);
    h->out_used = 0;
    size_t depth = 0;
    int pushed;
    /* Tagged stack entries: low bit set for a rule. */
    fw_node *copy = visit(h, root, sizeof *root, &pushed);
    if (copy == NULL) {
        return NULL;
    }
    h->stack[depth++] = copy;
    while (depth > 0) {
        void *top = h->stack[--depth];
        if ((uintptr_t)top & 1) {
            fw_rule *r = (fw_rule *)((uintptr_t)top & ~(uintptr_t)1);
            if (r->fallback != NULL) {
                fw_rule *c = visit(h, r->fallback, sizeof *r, &pushed);
                if (c == NULL) {
                    return NULL;
                }
                r->fallback = c;
                if (pushed) {
                    h->stack[depth++] = (void *)((uintptr_t)c | 1);
                }
            }
            continue;
        }
        fw_node *n = top;
        for (int i = 0; i < 2; i++) {
            if (n->child[i] != NULL) {
                fw_node *c = visit(h, n->child[i], sizeof *n, &pushed);
                if (c == NULL) {
                    return NULL;
                }
                n->child[i] = c;
                if (pushed) {
                    h->stack[depth++] = c;
                }
            }
        }
        if (n->rule != NULL) {
            fw_rule *c = visit(h, n->rule, sizeof(fw_rule), &pushed);
            if (c == NULL) {
                return NULL;
            }
            n->rule = c;
            if (pushed) {
                h->stack[depth++] = (void *)((uintptr_t)c | 1);
            }
        }
    }
    return copy;
}
