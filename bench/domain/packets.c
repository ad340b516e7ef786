/*
 * packets.c - synthetic receive (packets.h).
 */
#include "packets.h"

#include <string.h>

/* The frame every packet starts from: IPv4 / TCP, 50 bytes of IP datagram. */
static const uint8_t template_frame[PACKET_SIZE] = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01,       /* destination MAC: the balancer */
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02,       /* source MAC: the router */
    0x08, 0x00,                               /* EtherType IPv4 */
    0x45, 0x00, 0x00, 0x32,                   /* version 4, IHL 5, total length 50 */
    0x00, 0x00, 0x40, 0x00,                   /* id, don't fragment */
    0x40, 0x06, 0x00, 0x00,                   /* TTL 64, TCP, checksum (not computed) */
    10,   0,    0,    1,                      /* source IP (replaced) */
    192,  0,    2,    1,                      /* destination: the virtual IP */
    0x00, 0x00, 0x00, 0x50,                   /* source port (replaced), port 80 */
    0,    0,    0,    0,    0,    0,    0, 0, /* sequence, acknowledgement */
    0x50, 0x10, 0xff, 0xff,                   /* data offset 5, ACK, window */
    0,    0,    0,    0,                      /* checksum, urgent pointer */
};

/* xorshift64*: small, fast, deterministic. */
static uint64_t next_random(uint64_t *state) {
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* splitmix64's finaliser: a flow's number to its client address and port,
 * scattered so that consecutive flows share nothing. */
static uint64_t scatter(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

void traffic_init(traffic *t, uint64_t seed) {
    *t = (traffic){.random = seed != 0 ? seed : 1, .oldest = 0};
}

void packets_receive(batch *b, unsigned count, traffic *t) {
    b->count = count;
    b->sequence++;
    for (unsigned i = 0; i < count; i++) {
        uint8_t *p = b->packets[i].bytes;
        memcpy(p, template_frame, PACKET_SIZE);
        uint64_t r = next_random(&t->random);
        uint64_t flow;
        if (r % TRAFFIC_NEW_FLOW_EVERY == 0) {
            t->oldest++; /* the oldest connection closes, a new one opens */
            flow = t->oldest + TRAFFIC_FLOWS - 1;
        } else {
            flow = t->oldest + (r >> 32) % TRAFFIC_FLOWS;
        }
        uint64_t client = scatter(flow);
        p[PACKET_IP_SRC + 1] = (uint8_t)client; /* 10.x.y.z */
        p[PACKET_IP_SRC + 2] = (uint8_t)(client >> 8);
        p[PACKET_IP_SRC + 3] = (uint8_t)(client >> 16);
        p[PACKET_TCP_SRC] = (uint8_t)(client >> 24) | 0x80; /* ephemeral: 32768..65535 */
        p[PACKET_TCP_SRC + 1] = (uint8_t)(client >> 32);
    }
}
