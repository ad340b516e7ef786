/*
 * maglev.c - Maglev's lookup table and per-packet lookup (maglev.h).
 */
#include "maglev.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENTRY_FREE 0xFFFFu

/* FNV-1a, 64 bits, with a seed mixed into the offset basis: h1 and h2 of the paper. */
static uint64_t hash_name(const char *name, uint64_t seed) {
    uint64_t h = 0xcbf29ce484222325ull ^ seed;
    for (; *name != '\0'; name++) {
        h ^= (uint8_t)*name;
        h *= 0x100000001b3ull;
    }
    return h;
}

static bool is_prime(uint32_t n) {
    if (n < 2) {
        return false;
    }
    for (uint32_t d = 2; (uint64_t)d * d <= n; d++) {
        if (n % d == 0) {
            return false;
        }
    }
    return true;
}

int maglev_build(maglev *m, unsigned backends, uint32_t size) {
    memset(m, 0, sizeof *m);
    if (backends == 0 || backends > MAGLEV_BACKENDS_MAX || size <= backends || !is_prime(size)) {
        return -1;
    }
    uint16_t *entry = malloc((size_t)size * sizeof *entry);
    uint32_t *offset = malloc(backends * sizeof *offset);
    uint32_t *skip = malloc(backends * sizeof *skip);
    uint32_t *next = calloc(backends, sizeof *next);
    uint32_t *taken = calloc(backends, sizeof *taken);
    m->table = malloc(size);
    int result = -1;
    if (entry == NULL || offset == NULL || skip == NULL || next == NULL || taken == NULL ||
        m->table == NULL) {
        goto out;
    }
    for (unsigned i = 0; i < backends; i++) {
        char name[32];
        snprintf(name, sizeof name, "backend-%u", i);
        offset[i] = (uint32_t)(hash_name(name, 0x6d61676c) % size);
        skip[i] = (uint32_t)(hash_name(name, 0x65763231) % (size - 1) + 1);
    }
    for (uint32_t j = 0; j < size; j++) {
        entry[j] = ENTRY_FREE;
    }
    /* Pseudocode 1 of the paper: backends take turns; each claims its next free
     * preferred entry. next[i] < size always: a permutation of size entries
     * has a free one while the table is not full. */
    for (uint32_t filled = 0; filled < size;) {
        for (unsigned i = 0; i < backends && filled < size; i++) {
            uint32_t c = (uint32_t)((offset[i] + (uint64_t)next[i] * skip[i]) % size);
            while (entry[c] != ENTRY_FREE) {
                next[i]++;
                c = (uint32_t)((offset[i] + (uint64_t)next[i] * skip[i]) % size);
            }
            entry[c] = (uint16_t)i;
            next[i]++;
            taken[i]++;
            filled++;
        }
    }
    m->entries_per_backend_min = UINT32_MAX;
    for (unsigned i = 0; i < backends; i++) {
        m->entries_per_backend_min =
            taken[i] < m->entries_per_backend_min ? taken[i] : m->entries_per_backend_min;
        m->entries_per_backend_max =
            taken[i] > m->entries_per_backend_max ? taken[i] : m->entries_per_backend_max;
    }
    for (uint32_t j = 0; j < size; j++) {
        m->table[j] = (uint8_t)entry[j];
    }
    m->size = size;
    m->backends = backends;
    result = 0;
out:
    free(entry);
    free(offset);
    free(skip);
    free(next);
    free(taken);
    if (result != 0) {
        free(m->table);
        m->table = NULL;
    }
    return result;
}

void maglev_release(maglev *m) {
    free(m->table);
    memset(m, 0, sizeof *m);
}

static uint32_t load32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static uint16_t load16_be(const uint8_t *p) {
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* The finaliser of MurmurHash3: every input bit affects every output bit. */
static uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

/* A flow's 5-tuple, as the frame carries it. */
typedef struct flow_key {
    uint64_t addresses; /* source << 32 | destination, each as loaded */
    uint32_t ports;     /* source and destination, as loaded */
    uint8_t protocol;
} flow_key;

static uint64_t key_hash(const flow_key *k) {
    return mix64(k->addresses ^ mix64((uint64_t)k->ports << 8 | k->protocol));
}

enum { ETHERTYPE_IPV4 = 0x0800, PROTOCOL_TCP = 6, PROTOCOL_UDP = 17 };

/* Reads the 5-tuple of an IPv4 TCP or UDP frame; false for anything else,
 * or a datagram that does not fit the frame. A fragment (more fragments
 * follow, or its offset is not 0) is keyed on its addresses and protocol
 * alone, the first fragment too: the later ones carry no ports, and every
 * fragment of a datagram must reach the same backend. */
static bool parse(const uint8_t *f, flow_key *k) {
    unsigned header = (f[PACKET_IP] & 0x0fu) * 4u;
    unsigned length = load16_be(f + PACKET_IP_LENGTH);
    uint8_t protocol = f[PACKET_IP_PROTO];
    if (load16_be(f + PACKET_ETH_TYPE) != ETHERTYPE_IPV4 || f[PACKET_IP] >> 4 != 4 || header < 20 ||
        length < header || length > PACKET_SIZE - PACKET_IP ||
        (protocol != PROTOCOL_TCP && protocol != PROTOCOL_UDP)) {
        return false;
    }
    /* The "more fragments" flag (0x2000) or a fragment offset. */
    bool fragment = (load16_be(f + PACKET_IP_FRAGMENT) & 0x3fffu) != 0;
    if (!fragment && length < header + 4) {
        return false; /* the ports are cut off */
    }
    k->addresses = (uint64_t)load32(f + PACKET_IP_SRC) << 32 | load32(f + PACKET_IP_DST);
    k->ports = fragment ? 0 : load32(f + PACKET_IP + header);
    k->protocol = protocol;
    return true;
}

uint64_t maglev_flow_hash(const packet *p) {
    const uint8_t *b = p->bytes;
    flow_key k = {(uint64_t)load32(b + PACKET_IP_SRC) << 32 | load32(b + PACKET_IP_DST),
                  load32(b + PACKET_TCP_SRC), b[PACKET_IP_PROTO]};
    return key_hash(&k);
}

int maglev_conntrack_init(maglev_conntrack *c, uint32_t flows) {
    memset(c, 0, sizeof *c);
    if (flows < MAGLEV_WAYS || (flows & (flows - 1)) != 0) {
        return -1;
    }
    size_t bytes = (size_t)flows * sizeof(maglev_flow);
    c->flows = aligned_alloc(64, bytes);
    if (c->flows == NULL) {
        return -1;
    }
    memset(c->flows, 0, bytes);
    c->lines = flows / MAGLEV_WAYS;
    return 0;
}

void maglev_conntrack_release(maglev_conntrack *c) {
    free(c->flows);
    memset(c, 0, sizeof *c);
}

static bool same_flow(const maglev_flow *e, const flow_key *k) {
    return e->addresses == k->addresses && e->ports == k->ports && e->protocol == k->protocol;
}

/* The flow's backend: remembered, or looked up and remembered in the line's
 * free entry or in place of its least recently seen. Ages are counted in
 * units of 256 packets, in 16 bits: an entry unseen for 2^24 packets can look
 * young again, which makes a poorer choice of victim, never a wrong backend. */
static unsigned backend_of(const maglev *m, maglev_conntrack *c, const flow_key *k) {
    uint64_t hash = key_hash(k);
    maglev_flow *line = &c->flows[(size_t)((hash >> 32) & (c->lines - 1)) * MAGLEV_WAYS];
    uint16_t now = (uint16_t)(c->clock++ >> 8);
    maglev_flow *victim = &line[0];
    for (unsigned w = 0; w < MAGLEV_WAYS; w++) {
        if (same_flow(&line[w], k)) { /* a free entry's protocol, 0, matches no flow */
            c->hits++;
            line[w].seen = now;
            return line[w].backend;
        }
        if (victim->protocol != 0 &&
            (line[w].protocol == 0 ||
             (uint16_t)(now - line[w].seen) > (uint16_t)(now - victim->seen))) {
            victim = &line[w];
        }
    }
    c->misses++;
    if (victim->protocol != 0) {
        c->evictions++;
    }
    unsigned backend = m->table[hash % m->size];
    *victim = (maglev_flow){.addresses = k->addresses,
                            .ports = k->ports,
                            .protocol = k->protocol,
                            .backend = (uint8_t)backend,
                            .seen = now};
    return backend;
}

void maglev_balance(const maglev *m, maglev_conntrack *c, batch *b) {
    for (uint32_t i = 0; i < b->count; i++) {
        uint8_t *f = b->packets[i].bytes;
        flow_key k;
        if (!parse(f, &k)) {
            c->dropped++;
            memset(f + PACKET_ETH_DST, 0, 6);
            continue;
        }
        unsigned backend = backend_of(m, c, &k);
        /* From the balancer, 02:00:00:00:00:01, to the backend, 02:00:00:00:01:<backend>. */
        static const uint8_t self[6] = {0x02, 0, 0, 0, 0, 0x01};
        const uint8_t to[6] = {0x02, 0, 0, 0, 0x01, (uint8_t)backend};
        memcpy(f + PACKET_ETH_DST, to, sizeof to);
        memcpy(f + PACKET_ETH_SRC, self, sizeof self);
    }
}
