/*
 * maglev.h - the Maglev load balancer's consistent hashing (Eisenbud et al.,
 * NSDI'16, section 3.4), as a realistic pipeline stage to weigh the cost of
 * isolation against.
 *
 * The lookup table has M entries (M prime, larger than the number of backends
 * N). Backend i prefers the entries offset_i, offset_i + skip_i, ... (mod M),
 * with offset_i = h1(name_i) mod M and skip_i = h2(name_i) mod (M - 1) + 1, a
 * permutation of 0..M-1 because M is prime. The backends take turns claiming
 * their next preferred entry that is still free until every entry is taken, so
 * each backend gets M/N entries, give or take one.
 *
 * Per packet: read the 5-tuple, hash it, and send the packet to backend
 * table[hash mod M] (here: write the backend's MAC address into the frame).
 * Maglev's connection-tracking table is left out: this is the stateless part.
 */
#ifndef BENCH_DOMAIN_MAGLEV_H
#define BENCH_DOMAIN_MAGLEV_H

#include <stdint.h>

#include "packets.h"

#define MAGLEV_BACKENDS_MAX 256u

typedef struct maglev {
    uint32_t size;                                             /* M: entries in the table, prime */
    unsigned backends;                                         /* N */
    uint8_t *table;                                            /* M backend indices */
    uint32_t entries_per_backend_min, entries_per_backend_max; /* the balance achieved */
} maglev;

/*
 * maglev_build: the table for backends "backend-0" .. "backend-(N-1)".
 * Returns 0, or -1 if N is 0 or above MAGLEV_BACKENDS_MAX, M is not a prime
 * larger than N, or memory runs out. O(M log M) steps expected (the paper's
 * bound), O(M^2) at worst.
 */
int maglev_build(maglev *m, unsigned backends, uint32_t size);

/* maglev_release: frees the table. */
void maglev_release(maglev *m);

/* maglev_flow_hash: the hash of a packet's 5-tuple. O(1). */
uint64_t maglev_flow_hash(const packet *p);

/* maglev_balance: sends each packet of the batch to its backend. O(b->count). */
void maglev_balance(const maglev *m, batch *b);

#endif /* BENCH_DOMAIN_MAGLEV_H */
