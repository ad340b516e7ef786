/*
 * random_graph.h - random vertex graphs (graphs.h) and the reference
 * implementation the checkpoint tests compare restored graphs against: a plain
 * lockstep walk of the original and the copy, with a table indexed by vertex id
 * (every vertex of a random graph has a distinct id).
 */
#ifndef KEEL_TEST_CKPT_RANDOM_GRAPH_H
#define KEEL_TEST_CKPT_RANDOM_GRAPH_H

#include <stdbool.h>
#include <stdint.h>

#include "graphs.h"

typedef struct random_graph {
    vertex *root;
    uint32_t vertices; /* ids are 0 .. vertices - 1 */
} random_graph;

/* Builds a graph of `owned` tree vertices and `shared` shared ones in `heap`;
 * false if the heap is too small. Deterministic in *seed. */
bool random_graph_build(random_graph *g, keel_heap *heap, uint32_t owned, uint32_t shared,
                        uint64_t *seed);

typedef struct reference_counts {
    uint64_t objects; /* reachable vertices plus non-empty counted buffers */
    uint64_t shared;  /* reachable shared vertices */
} reference_counts;

/* Compares `copy` with the original structurally: values, shape, sharing
 * (equal pointers exactly where the original's are equal) and reference counts
 * (each restored shared vertex counts the pointers to it). Returns NULL if they
 * agree, else what differs. Fills *counts from the original. */
const char *random_graph_compare(const random_graph *g, const vertex *copy,
                                 reference_counts *counts);

#endif
