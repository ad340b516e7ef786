/*
 * nfv.h - the packet pipeline of examples/nfv: what its stages share.
 *
 * Every period the pipeline's job takes one batch of BATCH packets through
 * five protection domains:
 *
 *   gen       the packet source (a NIC's receive ring): fills a public batch
 *             box with the frames' headers, and one payload box per tenant,
 *             labelled with that tenant's secrecy category
 *   parser    reads each frame's Ethernet, IPv4 and TCP headers into metadata
 *   firewall  a binary trie of source-prefix rules: ACCEPT or DROP; its heap
 *             is snapshotted after every rule update and rolled back on failure
 *   lb        Maglev consistent hashing: picks the backend of each flow
 *             (strict: its heap is inaccessible while no thread is inside)
 *   tx        delivers each accepted packet's payload to its tenant's sink,
 *             without opening the payload boxes
 *
 * Headers are public; payloads are secret to their tenant. The host moves
 * nothing but handles: batches are lent to each stage, and payload boxes to tx.
 */
#ifndef NFV_H
#define NFV_H

#include <stddef.h>
#include <stdint.h>

#include "keel/keel.h"
#include "packets.h" /* bench/domain: 64-byte frames and their field offsets */

#define BATCH       64u    /* packets per period */
#define TENANTS     3u     /* each with a virtual IP, a category and a sink */
#define BACKENDS    16u    /* Maglev backends */
#define MAGLEV_SIZE 65537u /* Maglev table entries (prime) */
#define LEAK_PORT   8443u  /* the flows the seeded tx bug misroutes */
#define TRIE_DEPTH  32u    /* IPv4 prefixes */

enum verdict { VERDICT_NONE = 0, VERDICT_ACCEPT = 1, VERDICT_DROP = 2 };

/* What the stages learn about a packet (public, in the batch box). */
typedef struct nfv_meta {
    uint32_t src, dst; /* host order */
    uint16_t sport, dport;
    uint8_t tenant;  /* from the destination virtual IP; TENANTS: none */
    uint8_t valid;   /* the parser accepted the headers */
    uint8_t verdict; /* enum verdict, from the firewall */
    uint8_t backend; /* from Maglev */
    uint16_t slot;   /* the packet's payload: entry `slot` of its tenant's box */
    uint16_t pad;
} nfv_meta;

/* The batch box: frames as received, and the metadata the stages add. */
typedef struct nfv_batch {
    uint32_t count;    /* packets, 1..BATCH */
    uint32_t sequence; /* the batch's number */
    uint64_t first;    /* the first packet's number */
    packet frames[BATCH];
    nfv_meta meta[BATCH];
} nfv_batch;

/* One packet's payload, in its tenant's payload box. */
typedef struct nfv_payload {
    uint64_t number; /* the packet's number since the start */
    uint32_t tenant;
    uint32_t check; /* a checksum of the bytes below, for the sink to verify */
    uint8_t bytes[48];
} nfv_payload;

typedef struct nfv_payloads {
    uint32_t count;
    uint32_t tenant;
    uint64_t pad;
    nfv_payload entry[BATCH];
} nfv_payloads;

/* ---- the traffic (traffic.c): a pure function of the packet number ---- */

/* The tenants' virtual IPs (198.51.100.1 .. 3), host order. */
extern const uint32_t nfv_tenant_vip[TENANTS];

/* Packet `number`'s frame, and its payload (tenant's entry). Deterministic. */
void nfv_make_packet(uint64_t number, packet *frame, nfv_payload *payload, unsigned *tenant);
/* The checksum of a payload's bytes (the sinks verify it). */
uint32_t nfv_payload_check(const nfv_payload *p);
/* The rule of number `i` of the rule stream: prefix, length, action. */
void nfv_rule(uint64_t i, uint32_t *prefix, unsigned *length, enum verdict *action);

/* ---- the stages (stages.c): methods and domain set-up ---- */

enum { GEN_FILL };
enum { PARSE_BATCH };
enum { FW_CLASSIFY, FW_UPDATE };
enum { LB_BALANCE };
enum { TX_PLAN, TX_DELIVER };

/* gen's result: the four boxes it gives the host. */
typedef struct gen_out {
    keel_box batch;
    keel_box payloads[TENANTS];
} gen_out;

/* gen's argument. */
typedef struct gen_arg {
    uint64_t first; /* the first packet's number */
    uint32_t sequence;
    uint32_t count;
    keel_label tenant_label[TENANTS];
} gen_arg;

/* Fault injection: what FW_CLASSIFY does half-way through a batch. */
enum fw_fault { FW_FAULT_NONE = 0, FW_FAULT_PANIC, FW_FAULT_WILD_WRITE };

typedef struct fw_arg {
    enum fw_fault fault;
    uint32_t seed; /* which trie nodes the fault scribbles on first */
} fw_arg;

typedef struct fw_rule {
    uint32_t prefix;
    unsigned length;
    enum verdict action;
} fw_rule;

/* tx: which tenant's payload box the call lends, and what came of it. */
typedef struct tx_arg {
    unsigned tenant;
} tx_arg;

typedef struct tx_result {
    uint32_t delivered, refused, failed;
} tx_result;

/* The stage domains' init functions (context: unused) and their rrefs, which
 * the inits export. */
keel_status gen_init(keel_domain *d, void *context);
keel_status parser_init(keel_domain *d, void *context);
keel_status fw_init(keel_domain *d, void *context);
keel_status lb_init(keel_domain *d, void *context);
keel_status tx_init(keel_domain *d, void *context);
extern keel_rref gen_rref, parser_rref, fw_rref, lb_rref, tx_rref;

/* The tenants' sinks (the host declares them; tx writes to them). */
extern keel_sink *tx_sinks;
/* 1: the seeded bug: tx sends LEAK_PORT flows to the next tenant's sink. */
extern int tx_seeded_leak;
/* The address the firewall's wild write hits: lb's Maglev table (lb_init). */
extern volatile uint8_t *lb_table_address;

/* The per-batch work of each stage: what keel-wcet bounds (demo.sh). Each
 * takes what its method has opened; none calls keel. */
void parse_frames(nfv_batch *b);
void fw_classify_frames(const void *trie, nfv_batch *b);
void lb_balance_frames(const uint8_t *table, nfv_batch *b);

#endif
