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
 * Per packet, as Maglev's forwarder does it (section 3.3): parse the frame
 * (Ethernet, IPv4, TCP or UDP; anything else is dropped), hash its 5-tuple,
 * look the flow up in the connection-tracking table, and on a miss take
 * backend table[hash mod M] and remember it there; then send the packet to
 * the backend (here: write the backend's MAC address as its destination and
 * the balancer's as its source). The connection table keeps established
 * connections on their backend when the backend set changes; it is what
 * makes the forwarder touch memory that depends on the flow.
 *
 * The connection table is set-associative: lines of MAGLEV_WAYS entries, one
 * 64-byte cache line each; a flow lives in the line its hash names. A miss
 * takes a free entry of the line, or evicts the one seen least recently (usually a
 * connection that closed: ages count in steps of 256 packets): an evicted flow that comes back
 * misses, and gets the same backend from the lookup table unless the backend set changed. So a
 * packet costs one line of the connection table and, on a miss, one byte of the lookup table: O(1).
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

#define MAGLEV_WAYS 4u

/* A remembered flow: its 5-tuple as the frame carries it, its backend, and
 * when it was last seen. */
typedef struct maglev_flow {
    uint64_t addresses; /* source and destination address */
    uint32_t ports;     /* source and destination port */
    uint8_t protocol;   /* 0: the entry is free */
    uint8_t backend;
    uint16_t seen; /* the connection table's clock / 256 at the flow's last packet */
} maglev_flow;

static_assert(sizeof(maglev_flow) * MAGLEV_WAYS == 64, "a line of the table is a cache line");

typedef struct maglev_conntrack {
    maglev_flow *flows; /* lines * MAGLEV_WAYS entries, 64-byte aligned */
    uint32_t lines;     /* a power of two */
    uint32_t clock;     /* packets looked up, for the entries' `seen` */
    /* what the packets met */
    uint64_t hits, misses, evictions, dropped;
} maglev_conntrack;

/*
 * maglev_conntrack_init: an empty connection table of `flows` entries, a
 * power of two of at least MAGLEV_WAYS. Returns 0, or -1 if `flows` is not
 * one or memory runs out. O(flows).
 */
int maglev_conntrack_init(maglev_conntrack *c, uint32_t flows);

/* maglev_conntrack_release: frees the table. */
void maglev_conntrack_release(maglev_conntrack *c);

/* maglev_flow_hash: the hash of the 5-tuple of an IPv4 frame without IP
 * options (what packets_receive makes); maglev_balance hashes the same for
 * such frames. O(1). */
uint64_t maglev_flow_hash(const packet *p);

/* maglev_balance: sends each packet of the batch to its backend, through the
 * connection table; a packet that is not IPv4 TCP or UDP, or is truncated, is
 * dropped: counted, and its destination MAC address zeroed. O(b->count).
 * Not thread-safe on one table: as in Maglev, each forwarding thread keeps a
 * connection table of its own (the lookup table may be shared, read only). */
void maglev_balance(const maglev *m, maglev_conntrack *c, batch *b);

#endif /* BENCH_DOMAIN_MAGLEV_H */
