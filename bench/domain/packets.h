/*
 * packets.h - the synthetic traffic: 64-byte packets in batches of up to 256.
 *
 * A packet is a minimum-size Ethernet frame as a NIC would deliver it:
 * Ethernet (14 bytes), IPv4 (20), TCP (20) and 10 bytes of payload, with no
 * alignment beyond a byte (so the bytes can live anywhere in a box). A batch
 * is a 64-byte header followed by the packets, the unit every pipeline stage
 * receives: BATCH_BYTES bytes, the size of the box it lives in.
 *
 * The flows, what a load balancer sees: TRAFFIC_FLOWS client connections
 * 10.x.y.z:port -> the virtual IP 192.0.2.1:80 are open at any time, and each
 * packet belongs to one of them, drawn uniformly. One packet in
 * TRAFFIC_NEW_FLOW_EVERY opens a new connection, and the oldest one closes.
 * The generator is deterministic: every run sees the same packets.
 */
#ifndef BENCH_DOMAIN_PACKETS_H
#define BENCH_DOMAIN_PACKETS_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#define PACKET_SIZE 64u
#define BATCH_MAX   256u

#define TRAFFIC_FLOWS          65536u /* connections open at once */
#define TRAFFIC_NEW_FLOW_EVERY 32u    /* one packet in this many opens a connection */

/* Offsets of the fields a load balancer reads and writes (IPv4 without
 * options: a parser finds the ports after the IHL the frame gives). */
enum {
    PACKET_ETH_DST = 0,      /* 6 bytes: rewritten to the chosen backend */
    PACKET_ETH_SRC = 6,      /* 6 bytes */
    PACKET_ETH_TYPE = 12,    /* 2 bytes, 0x0800 for IPv4 */
    PACKET_IP = 14,          /* version and IHL */
    PACKET_IP_LENGTH = 16,   /* 2 bytes: the datagram's length */
    PACKET_IP_FRAGMENT = 20, /* 2 bytes: flags and fragment offset */
    PACKET_IP_PROTO = 23,    /* 1 byte */
    PACKET_IP_SRC = 26,      /* 4 bytes, network order */
    PACKET_IP_DST = 30,      /* 4 bytes */
    PACKET_TCP_SRC = 34,     /* 2 bytes */
    PACKET_TCP_DST = 36,     /* 2 bytes */
};

typedef struct packet {
    uint8_t bytes[PACKET_SIZE];
} packet;

typedef struct batch {
    uint32_t count;    /* packets in use, 1..BATCH_MAX */
    uint32_t sequence; /* batches received so far */
    uint8_t reserved[56];
    packet packets[BATCH_MAX];
} batch;

static_assert(sizeof(packet) == PACKET_SIZE, "a packet is a minimum Ethernet frame");
static_assert(offsetof(batch, packets) == 64, "the header fills one cache line");

#define BATCH_BYTES sizeof(batch)

/* The generator's state: its random numbers, and the open connections, which
 * are the flows numbered oldest .. oldest + TRAFFIC_FLOWS - 1. */
typedef struct traffic {
    uint64_t random;
    uint64_t oldest;
} traffic;

/* traffic_init: a generator; equal seeds give equal packets. */
void traffic_init(traffic *t, uint64_t seed);

/* packets_receive: fills the first `count` packets of *b (and its header) with
 * fresh frames, as a NIC's receive would. */
void packets_receive(batch *b, unsigned count, traffic *t);

#endif /* BENCH_DOMAIN_PACKETS_H */
