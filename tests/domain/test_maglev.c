/*
 * test_maglev.c - the Maglev stage that bench_domain weighs the cost of a
 * protected call against (bench/domain/maglev.h): if it did less than it
 * claims, the benchmark's percentages would flatter keel.
 */
#include <stdbool.h>
#include <string.h>

#include "keel_test.h"
#include "maglev.h"

enum { BACKENDS = 10, SIZE = 65537 };

static uint64_t seed = 1;

/* The next frame of the traffic, as packets_receive makes it: a packet of
 * one of the open connections (these seeds draw distinct ones). */
static packet fresh_packet(traffic *t) {
    static batch b;
    packets_receive(&b, 1, t);
    return b.packets[0];
}

/* The balancer a flow test drives, and the traffic it draws frames from. */
typedef struct balancer {
    maglev m;
    maglev_conntrack c;
    traffic t;
} balancer;

/* Builds the lookup table and a connection table of `flows` entries, and
 * seeds the traffic; false, with nothing left to release, if a build fails. */
static bool balancer_open(balancer *b, uint32_t flows) {
    traffic_init(&b->t, seed++);
    if (maglev_build(&b->m, BACKENDS, SIZE) != 0) {
        return false;
    }
    if (maglev_conntrack_init(&b->c, flows) != 0) {
        maglev_release(&b->m);
        return false;
    }
    return true;
}

static void balancer_close(balancer *b) {
    maglev_conntrack_release(&b->c);
    maglev_release(&b->m);
}

/* Balances one packet; returns its backend, or -1 if it was dropped. */
static int balance_one(balancer *lb, const packet *p) {
    static batch b;
    b.count = 1;
    b.packets[0] = *p;
    maglev_balance(&lb->m, &lb->c, &b);
    const uint8_t *f = b.packets[0].bytes;
    static const uint8_t zero[6];
    if (memcmp(f + PACKET_ETH_DST, zero, 6) == 0) {
        return -1;
    }
    static const uint8_t self[6] = {0x02, 0, 0, 0, 0, 0x01};
    if (memcmp(f + PACKET_ETH_SRC, self, 6) != 0 || f[PACKET_ETH_DST + 4] != 1) {
        return -2; /* not addressed from the balancer to a backend */
    }
    return f[PACKET_ETH_DST + 5];
}

KEEL_TEST(the_lookup_table_gives_every_backend_its_share) {
    maglev m;
    CHECK(maglev_build(&m, BACKENDS, SIZE) == 0);
    /* Counted here, from the table itself. */
    unsigned shares[BACKENDS] = {0};
    for (uint32_t j = 0; j < m.size; j++) {
        CHECK(m.table[j] < BACKENDS);
        shares[m.table[j] % BACKENDS]++;
    }
    for (unsigned i = 0; i < BACKENDS; i++) {
        CHECK(shares[i] == SIZE / BACKENDS || shares[i] == SIZE / BACKENDS + 1);
    }
    CHECK_EQ(m.entries_per_backend_min, SIZE / BACKENDS);
    CHECK_EQ(m.entries_per_backend_max, SIZE / BACKENDS + 1);
    maglev_release(&m);
    CHECK(maglev_build(&m, BACKENDS, 65536) != 0); /* not prime */
    CHECK(maglev_build(&m, 0, SIZE) != 0);
}

KEEL_TEST(a_flow_goes_to_the_backend_of_its_hash_and_stays_there) {
    balancer b;
    CHECK(balancer_open(&b, MAGLEV_WAYS)); /* one line: all flows meet in it */
    packet p = fresh_packet(&b.t);
    unsigned expected = b.m.table[maglev_flow_hash(&p) % b.m.size];
    CHECK_EQ(balance_one(&b, &p), expected);
    CHECK_EQ(b.c.misses, 1);
    /* The backend set changes under an established connection: the
     * connection table keeps it where it was. */
    memset(b.m.table, (int)(expected + 1) % BACKENDS, b.m.size);
    CHECK_EQ(balance_one(&b, &p), expected);
    CHECK_EQ(b.c.hits, 1);
    /* Another port, protocol or client is another flow. */
    packet other = p;
    other.bytes[PACKET_TCP_SRC + 1] ^= 1;
    CHECK_EQ(balance_one(&b, &other), (expected + 1) % BACKENDS);
    other = p;
    other.bytes[PACKET_IP_PROTO] = 17;
    CHECK_EQ(balance_one(&b, &other), (expected + 1) % BACKENDS);
    other = p;
    other.bytes[PACKET_IP_SRC + 3] ^= 1; /* another client, the same port */
    CHECK_EQ(balance_one(&b, &other), (expected + 1) % BACKENDS);
    CHECK_EQ(b.c.misses, 4);
    balancer_close(&b);
}

KEEL_TEST(what_is_not_ipv4_tcp_or_udp_or_is_cut_short_is_dropped) {
    balancer b;
    CHECK(balancer_open(&b, 64));
    packet good = fresh_packet(&b.t);
    packet p = good;
    p.bytes[PACKET_ETH_TYPE + 1] = 0xdd; /* 0x08dd: not IPv4 */
    CHECK_EQ(balance_one(&b, &p), -1);
    p = good;
    p.bytes[PACKET_IP] = 0x65; /* IPv6's version */
    CHECK_EQ(balance_one(&b, &p), -1);
    p = good;
    p.bytes[PACKET_IP] = 0x44; /* IHL 4: shorter than a header */
    CHECK_EQ(balance_one(&b, &p), -1);
    p = good;
    p.bytes[PACKET_IP_PROTO] = 1; /* ICMP */
    CHECK_EQ(balance_one(&b, &p), -1);
    p = good;
    p.bytes[PACKET_IP_LENGTH + 1] = 51; /* longer than the frame holds */
    CHECK_EQ(balance_one(&b, &p), -1);
    p = good;
    p.bytes[PACKET_IP_LENGTH + 1] = 22; /* the ports cut off */
    CHECK_EQ(balance_one(&b, &p), -1);
    CHECK_EQ(b.c.dropped, 6);
    CHECK_EQ(b.c.hits + b.c.misses, 0);
    p = good;
    p.bytes[PACKET_IP_PROTO] = 17; /* UDP goes through */
    CHECK(balance_one(&b, &p) >= 0);
    /* IP options move the ports: the parser follows the IHL. The same flow
     * with 4 bytes of options (the ports moved, other bytes where they were)
     * is found in the table. */
    int backend = balance_one(&b, &good);
    CHECK(backend >= 0);
    CHECK_EQ(b.c.misses, 2);
    p = good;
    p.bytes[PACKET_IP] = 0x46;
    p.bytes[PACKET_IP_LENGTH + 1] = 50;
    memmove(p.bytes + PACKET_TCP_SRC + 4, good.bytes + PACKET_TCP_SRC, 4);
    memset(p.bytes + PACKET_TCP_SRC, 0xa5, 4);
    CHECK_EQ(balance_one(&b, &p), backend);
    CHECK_EQ(b.c.misses, 2);
    CHECK_EQ(b.c.hits, 1);
    balancer_close(&b);
}

KEEL_TEST(every_fragment_of_a_datagram_goes_to_one_backend) {
    balancer b;
    CHECK(balancer_open(&b, 64));
    packet first = fresh_packet(&b.t);
    first.bytes[PACKET_IP_FRAGMENT] = 0x20; /* more fragments, offset 0 */
    int backend = balance_one(&b, &first);
    CHECK(backend >= 0);
    /* A later fragment: offset 185 (1480 bytes), no ports, other payload. */
    packet later = first;
    later.bytes[PACKET_IP_FRAGMENT] = 0x00;
    later.bytes[PACKET_IP_FRAGMENT + 1] = 185;
    memset(later.bytes + PACKET_TCP_SRC, 0x5a, 4);
    CHECK_EQ(balance_one(&b, &later), backend);
    CHECK_EQ(b.c.misses, 1);
    CHECK_EQ(b.c.hits, 1);
    balancer_close(&b);
}

KEEL_TEST(a_full_line_evicts_the_flow_seen_least_recently) {
    maglev_conntrack refused;
    CHECK(maglev_conntrack_init(&refused, MAGLEV_WAYS + 1) != 0); /* not a power of two */
    CHECK(maglev_conntrack_init(&refused, MAGLEV_WAYS / 2) != 0); /* less than a line */
    balancer b;
    CHECK(balancer_open(&b, MAGLEV_WAYS)); /* one line: every flow shares it */
    packet flows[MAGLEV_WAYS + 1];
    for (unsigned i = 0; i <= MAGLEV_WAYS; i++) {
        flows[i] = fresh_packet(&b.t);
    }
    for (unsigned i = 0; i < MAGLEV_WAYS; i++) {
        CHECK(balance_one(&b, &flows[i]) >= 0);
    }
    CHECK_EQ(b.c.misses, MAGLEV_WAYS);
    CHECK_EQ(b.c.evictions, 0);
    /* Ages count in units of 256 packets: the other flows are seen for longer
     * than that, the stale one (in the line's third entry) is not. */
    const unsigned stale = 2, fresh[] = {0, 1, 3};
    for (unsigned n = 0; n < 300; n++) {
        CHECK(balance_one(&b, &flows[fresh[n % 3]]) >= 0);
    }
    CHECK_EQ(b.c.misses, MAGLEV_WAYS);
    CHECK(balance_one(&b, &flows[MAGLEV_WAYS]) >= 0);
    CHECK_EQ(b.c.evictions, 1);
    uint64_t misses = b.c.misses;
    for (unsigned i = 0; i <= MAGLEV_WAYS; i++) {
        if (i != stale) {
            CHECK(balance_one(&b, &flows[i]) >= 0);
        }
    }
    CHECK_EQ(b.c.misses, misses); /* the stale flow went, the others stayed */
    CHECK(balance_one(&b, &flows[stale]) >= 0);
    CHECK_EQ(b.c.misses, misses + 1);
    balancer_close(&b);
}

KEEL_TEST(the_traffic_keeps_its_connections_open_and_renews_them) {
    balancer b;
    CHECK(balancer_open(&b, 4 * TRAFFIC_FLOWS));
    static batch frames;
    for (unsigned n = 0; n < 16 * TRAFFIC_FLOWS / BATCH_MAX; n++) {
        packets_receive(&frames, BATCH_MAX, &b.t);
        maglev_balance(&b.m, &b.c, &frames);
    }
    uint64_t packets = b.c.hits + b.c.misses;
    CHECK_EQ(packets, 16ull * TRAFFIC_FLOWS);
    CHECK_EQ(b.c.dropped, 0);
    /* Once every connection open at the start has been seen, new ones miss
     * their first packet, 1 in TRAFFIC_NEW_FLOW_EVERY, plus the few the table
     * evicted. Without renewal nothing would miss; a table that remembered
     * nothing would miss every packet. */
    b.c.hits = b.c.misses = 0;
    for (unsigned n = 0; n < 4 * TRAFFIC_FLOWS / BATCH_MAX; n++) {
        packets_receive(&frames, BATCH_MAX, &b.t);
        maglev_balance(&b.m, &b.c, &frames);
    }
    packets = b.c.hits + b.c.misses;
    CHECK(b.c.misses * TRAFFIC_NEW_FLOW_EVERY >= packets);
    CHECK(b.c.misses * TRAFFIC_NEW_FLOW_EVERY < 2 * packets);
    balancer_close(&b);
}

KEEL_TEST_MAIN()
