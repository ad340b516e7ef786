/* The traffic and the rule stream (nfv.h): pure functions of a number, so the
 * generator domain and the host's reference pipeline see the same packets. */
#include <string.h>

#include "nfv.h"

const uint32_t nfv_tenant_vip[TENANTS] = {0xC6336401u, 0xC6336402u, 0xC6336403u};

/* splitmix64: a good 64-bit mix of a counter. */
static uint64_t mix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static void put16(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v) {
    put16(p, v >> 16);
    put16(p + 2, v & 0xffffu);
}

uint32_t nfv_payload_check(const nfv_payload *p) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (unsigned i = 0; i < sizeof p->bytes; i++) {
        h = (h ^ p->bytes[i]) * 16777619u;
    }
    return h ^ (uint32_t)p->number ^ p->tenant;
}

void nfv_make_packet(uint64_t number, packet *frame, nfv_payload *payload, unsigned *tenant) {
    uint64_t h = mix(number), g = mix(h);
    unsigned t = (unsigned)(h % TENANTS);
    uint8_t *f = frame->bytes;
    memset(f, 0, PACKET_SIZE);
    f[0] = 0x02; /* destination MAC: the load balancer rewrites it */
    f[6] = 0x02; /* source MAC */
    f[11] = (uint8_t)(g >> 56);
    put16(f + 12, 0x0800);  /* IPv4 */
    f[14] = 0x45;           /* version 4, 20-byte header */
    put16(f + 16, 50);      /* total length: 20 + 20 + 10 */
    f[22] = 64;             /* TTL */
    f[PACKET_IP_PROTO] = 6; /* TCP */
    put32(f + PACKET_IP_SRC, (uint32_t)(g >> 32));
    put32(f + PACKET_IP_DST, nfv_tenant_vip[t]);
    put16(f + PACKET_TCP_SRC, 1024u + (uint32_t)(g % 60000u));
    /* One packet in 500 goes to port 8443: the flows the seeded bug misroutes. */
    put16(f + PACKET_TCP_DST, (h >> 20) % 500u == 0 ? LEAK_PORT : 443u);
    /* One in 1000 is malformed (a wrong IP version): the parser drops it. */
    if ((h >> 40) % 1000u == 7) {
        f[14] = 0x65;
    }
    payload->number = number;
    payload->tenant = t;
    uint64_t s = g;
    for (unsigned i = 0; i < sizeof payload->bytes; i += 8) {
        s = mix(s);
        memcpy(payload->bytes + i, &s, 8);
    }
    payload->check = nfv_payload_check(payload);
    *tenant = t;
}

void nfv_rule(uint64_t i, uint32_t *prefix, unsigned *length, enum verdict *action) {
    uint64_t h = mix(i ^ 0x5eed5eedull);
    *length = 10u + (unsigned)(h % 11u); /* /10 .. /20 */
    uint32_t mask = ~0u << (32u - *length);
    *prefix = (uint32_t)(h >> 32) & mask;
    *action = (h >> 16) % 2u == 0 ? VERDICT_DROP : VERDICT_ACCEPT;
}
