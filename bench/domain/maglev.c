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

/* The finaliser of MurmurHash3: every input bit affects every output bit. */
static uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

uint64_t maglev_flow_hash(const packet *p) {
    const uint8_t *b = p->bytes;
    uint64_t addresses = (uint64_t)load32(b + PACKET_IP_SRC) << 32 | load32(b + PACKET_IP_DST);
    uint64_t ports = (uint64_t)load32(b + PACKET_TCP_SRC) << 8 | b[PACKET_IP_PROTO];
    return mix64(addresses ^ mix64(ports));
}

void maglev_balance(const maglev *m, batch *b) {
    for (uint32_t i = 0; i < b->count; i++) {
        packet *p = &b->packets[i];
        unsigned backend = m->table[maglev_flow_hash(p) % m->size];
        /* To the backend's MAC address, 02:00:00:00:01:<backend>. */
        p->bytes[PACKET_ETH_DST + 4] = 1;
        p->bytes[PACKET_ETH_DST + 5] = (uint8_t)backend;
    }
}
