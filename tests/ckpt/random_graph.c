/* Random graphs and the reference comparison (random_graph.h). Test code: it
 * may call malloc. */
#include "random_graph.h"

#include <stdlib.h>
#include <string.h>

static uint64_t next(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

static bool alloc(keel_heap *heap, size_t size, void **out) {
    return keel_heap_alloc(heap, size, out) == KEEL_OK;
}

bool random_graph_build(random_graph *g, keel_heap *heap, uint32_t owned, uint32_t shared,
                        uint64_t *seed) {
    uint32_t n = owned + shared;
    vertex **all = calloc(n, sizeof *all);
    uint32_t *parent = calloc(n, sizeof *parent);
    bool ok = all != NULL && parent != NULL && owned > 0;
    for (uint32_t i = 0; i < n && ok; i++) {
        void *v;
        ok = i < owned ? alloc(heap, sizeof(vertex), &v)
                       : keel_ckpt_shared_new(heap, &vertex_ckpt_type, &v) == KEEL_OK;
        if (ok) {
            all[i] = v;
            memset(all[i], 0, sizeof(vertex));
            all[i]->id = i;
        }
    }
    /* Owned vertex i > 0 hangs under an owned vertex before it or a shared one. */
    for (uint32_t i = 1; i < owned && ok; i++) {
        uint32_t p = (shared > 0 && next(seed) % 4 == 0) ? owned + (uint32_t)(next(seed) % shared)
                                                         : (uint32_t)(next(seed) % i);
        parent[i] = p;
        all[p]->child_count++;
    }
    for (uint32_t i = 0; i < n && ok; i++) {
        vertex *v = all[i];
        if (v->child_count > 0) {
            ok = alloc(heap, v->child_count * sizeof(vertex *), (void **)&v->children);
            v->child_count = 0;
        }
        v->blob_length = (uint8_t)(next(seed) % 4 == 0 ? next(seed) % 40 : 0);
        if (ok && v->blob_length > 0) {
            ok = alloc(heap, v->blob_length, (void **)&v->blob);
            for (unsigned b = 0; ok && b < v->blob_length; b++) {
                v->blob[b] = (uint8_t)next(seed);
            }
        }
        for (int j = 0; j < 2 && shared > 0; j++) {
            v->links[j] = next(seed) % 3 == 0 ? NULL : all[owned + next(seed) % shared];
        }
    }
    for (uint32_t i = 1; i < owned && ok; i++) {
        vertex *p = all[parent[i]];
        p->children[p->child_count++] = all[i];
    }
    if (ok) {
        g->root = all[0];
        g->vertices = n;
    }
    free(all);
    free(parent);
    return ok;
}

const char *random_graph_compare(const random_graph *g, const vertex *copy,
                                 reference_counts *counts) {
    const vertex **seen = calloc(g->vertices, sizeof *seen); /* id -> its copy */
    uint32_t *refs = calloc(g->vertices, sizeof *refs);      /* pointers to each shared one */
    const vertex **stack = malloc(2 * (size_t)g->vertices * sizeof *stack);
    const vertex **copies = malloc((size_t)g->vertices * sizeof *copies);
    const char *error = NULL;
    memset(counts, 0, sizeof *counts);
    size_t depth = 0, copied = 0;
    if (seen == NULL || refs == NULL || stack == NULL || copies == NULL) {
        error = "out of memory";
        goto done;
    }
    stack[depth++] = g->root;
    stack[depth++] = copy;
    seen[g->root->id] = copy;
    while (depth > 0 && error == NULL) {
        const vertex *c = stack[--depth], *o = stack[--depth];
        copies[copied++] = c;
        counts->objects += 1u + (o->child_count > 0 ? 1u : 0u) + (o->blob_length > 0 ? 1u : 0u);
        if (c == o) {
            error = "a copy is the original";
        } else if (c->id != o->id || c->child_count != o->child_count ||
                   c->blob_length != o->blob_length) {
            error = "values differ";
        } else if (o->blob_length > 0 && memcmp(c->blob, o->blob, o->blob_length) != 0) {
            error = "a blob differs";
        }
        for (uint32_t i = 0; i < o->child_count && error == NULL; i++) {
            if (c->children[i] == NULL || seen[o->children[i]->id] != NULL) {
                error = "an owned child is missing or reached twice";
                break;
            }
            seen[o->children[i]->id] = c->children[i];
            stack[depth++] = o->children[i];
            stack[depth++] = c->children[i];
        }
        for (int j = 0; j < 2 && error == NULL; j++) {
            const vertex *ol = o->links[j], *cl = c->links[j];
            if ((ol == NULL) != (cl == NULL)) {
                error = "a link is NULL on one side only";
            } else if (ol != NULL) {
                refs[ol->id]++;
                if (seen[ol->id] == NULL) {
                    seen[ol->id] = cl;
                    counts->shared++;
                    stack[depth++] = ol;
                    stack[depth++] = cl;
                } else if (seen[ol->id] != cl) {
                    error = "sharing differs: equal pointers in the original are not in the copy";
                }
            }
        }
    }
    /* Every copy is a distinct object: no two ids share one. */
    for (size_t i = 0; i < copied && error == NULL; i++) {
        if (seen[copies[i]->id] != copies[i]) {
            error = "two vertices were restored into one object";
        }
    }
    for (uint32_t id = 0; id < g->vertices && error == NULL; id++) {
        if (refs[id] > 0 && keel_ckpt_refs(seen[id]) != refs[id]) {
            error = "a shared vertex's reference count is not its in-graph references";
        }
    }
done:
    free(seen);
    free(refs);
    free(stack);
    free(copies);
    return error;
}
