/*
 * The pipeline's stages (nfv.h): code that runs inside the five domains.
 *
 * Each method opens what it was lent, does its per-batch work in a plain
 * function (parse_frames, fw_classify_frames, lb_balance_frames: what
 * keel-wcet bounds), and returns. Nothing here trusts the host beyond the
 * call's argument: every count read from a box is clamped to BATCH.
 */
#include <stddef.h>
#include <string.h>

#include "maglev.h"
#include "nfv.h"

keel_rref gen_rref, parser_rref, fw_rref, lb_rref, tx_rref;
keel_sink *tx_sinks;
int tx_seeded_leak;
volatile uint8_t *lb_table_address;

static unsigned clamp_count(uint32_t count) {
    return count < BATCH ? count : BATCH;
}

static uint32_t get16(const uint8_t *p) {
    return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t get32(const uint8_t *p) {
    return get16(p) << 16 | get16(p + 2);
}

/* ---- gen: the packet source ---- */

/* Frees the first `n` of gen's boxes (after a failure). */
static void gen_drop(keel_box *boxes, unsigned n) {
    for (unsigned i = 0; i < 1 + TENANTS; i++) {
        if (i < n) {
            keel_box_free(boxes[i]);
        }
    }
}

static keel_status gen_fill(void *object, keel_call *call) {
    (void)object;
    const gen_arg *a = call->arg;
    gen_out *out = call->result;
    unsigned n = clamp_count(a->count);
    keel_box boxes[1 + TENANTS];
    void *data[1 + TENANTS];
    for (unsigned i = 0; i < 1 + TENANTS; i++) {
        keel_status st =
            keel_box_alloc(i == 0 ? sizeof(nfv_batch) : sizeof(nfv_payloads), &boxes[i]);
        if (st != KEEL_OK) {
            gen_drop(boxes, i);
            return st;
        }
        if ((st = keel_box_data(boxes[i], &data[i], NULL)) != KEEL_OK) {
            gen_drop(boxes, i + 1);
            return st;
        }
    }
    nfv_batch *b = data[0];
    nfv_payloads *p[TENANTS] = {data[1], data[2], data[3]};
    b->count = n;
    b->sequence = a->sequence;
    b->first = a->first;
    for (unsigned t = 0; t < TENANTS; t++) {
        p[t]->count = 0;
        p[t]->tenant = t;
    }
    for (unsigned i = 0; i < n; i++) {
        nfv_payload payload;
        unsigned t;
        nfv_make_packet(a->first + i, &b->frames[i], &payload, &t);
        b->meta[i] = (nfv_meta){.slot = (uint16_t)p[t]->count};
        p[t]->entry[p[t]->count++] = payload;
    }
    /* From here on each payload box holds its tenant's data: label it so
     * (gen never opens them again, so its own label stays public), and give
     * all four to the caller. Giving cannot fail here (the boxes are gen's,
     * the host's clearance is everything); were it to, the boxes already
     * given would be the host's. */
    for (unsigned i = 0; i < 1 + TENANTS; i++) {
        keel_status st = i == 0 ? KEEL_OK : keel_box_relabel(boxes[i], a->tenant_label[i - 1]);
        if (st == KEEL_OK) {
            st = keel_box_give(&boxes[i]);
        }
        if (st != KEEL_OK) {
            gen_drop(boxes + i, 1 + TENANTS - i);
            return st;
        }
    }
    out->batch = boxes[0];
    for (unsigned t = 0; t < TENANTS; t++) {
        out->payloads[t] = boxes[1 + t];
    }
    return KEEL_OK;
}

static const keel_method gen_methods[] = {gen_fill};
static const keel_interface gen_interface = {"gen", 1, gen_methods};

keel_status gen_init(keel_domain *d, void *context) {
    (void)context;
    return keel_domain_export(d, NULL, &gen_interface, &gen_rref);
}

/* ---- parser ---- */

void parse_frames(nfv_batch *b) {
    unsigned n = clamp_count(b->count);
    for (unsigned i = 0; i < n; i++) {
        const uint8_t *f = b->frames[i].bytes;
        nfv_meta *m = &b->meta[i];
        m->src = get32(f + PACKET_IP_SRC);
        m->dst = get32(f + PACKET_IP_DST);
        m->sport = (uint16_t)get16(f + PACKET_TCP_SRC);
        m->dport = (uint16_t)get16(f + PACKET_TCP_DST);
        m->tenant = TENANTS;
        for (unsigned t = 0; t < TENANTS; t++) {
            if (m->dst == nfv_tenant_vip[t]) {
                m->tenant = (uint8_t)t;
            }
        }
        m->valid = get16(f + 12) == 0x0800 && f[14] == 0x45 && f[PACKET_IP_PROTO] == 6 &&
                   m->tenant < TENANTS;
    }
}

static keel_status parse_batch(void *object, keel_call *call) {
    (void)object;
    nfv_batch *b;
    keel_status st = keel_box_data(call->box, (void **)&b, NULL);
    if (st == KEEL_OK) {
        parse_frames(b);
    }
    return st;
}

static keel_status parse_nop(void *object, keel_call *call) {
    (void)object;
    (void)call;
    return KEEL_OK;
}

static const keel_method parser_methods[] = {parse_batch, parse_nop};
static const keel_interface parser_interface = {"parser", 2, parser_methods};

keel_status parser_init(keel_domain *d, void *context) {
    (void)context;
    return keel_domain_export(d, NULL, &parser_interface, &parser_rref);
}

/* ---- firewall: a binary trie of source prefixes, in the domain's heap ---- */

typedef struct fw_node {
    struct fw_node *child[2];
    uint32_t action; /* enum verdict; VERDICT_NONE: no rule ends here */
    uint32_t pad;
} fw_node;

typedef struct fw_trie {
    fw_node *root;
    uint64_t rules;
} fw_trie;

/* The action of the longest matching prefix; ACCEPT if none matches. */
static uint8_t fw_lookup(const fw_trie *trie, uint32_t address) {
    const fw_node *n = trie->root;
    uint32_t best = VERDICT_ACCEPT;
    for (unsigned depth = 0; depth < TRIE_DEPTH; depth++) {
        if (n->action != VERDICT_NONE) {
            best = n->action;
        }
        n = n->child[(address >> (31u - depth)) & 1u];
        if (n == NULL) {
            return (uint8_t)best;
        }
    }
    return (uint8_t)(n->action != VERDICT_NONE ? n->action : best);
}

static void fw_classify_range(const fw_trie *trie, nfv_batch *b, unsigned from, unsigned to) {
    for (unsigned i = from; i < to; i++) {
        nfv_meta *m = &b->meta[i];
        m->verdict = m->valid ? fw_lookup(trie, m->src) : (uint8_t)VERDICT_DROP;
    }
}

__attribute__((noinline)) void fw_classify_frames(const void *trie, nfv_batch *b) {
    fw_classify_range(trie, b, 0, clamp_count(b->count));
}

/* The injected fault: half the batch classified, then a scribble on the trie (so that carrying on
 * without a rollback would classify wrongly), then fail. */
static __attribute__((noinline)) _Noreturn void fw_fail(fw_trie *trie, nfv_batch *b,
                                                        const fw_arg *a) {
    fw_classify_range(trie, b, 0, clamp_count(b->count) / 2);
    fw_node *n = trie->root;
    uint32_t s = a->seed;
    for (unsigned depth = 0; depth < 12 && n != NULL; depth++, s >>= 1) {
        n->action = n->action == VERDICT_DROP ? VERDICT_ACCEPT : VERDICT_DROP;
        n = n->child[s & 1u] != NULL ? n->child[s & 1u] : n->child[~s & 1u];
    }
    trie->root->child[a->seed & 1u] = NULL; /* and lose half the rules */
    if (a->fault == FW_FAULT_PANIC) {
        keel_panic("firewall: injected panic after scribbling on the trie (seed %u)", a->seed);
    }
    /* A wild write: into the load balancer's table, which strict mode keeps
     * inaccessible while no thread runs inside lb. */
    lb_table_address[a->seed % MAGLEV_SIZE] = 0xff;
    keel_panic("firewall: the wild write was not trapped");
}

static keel_status fw_classify(void *object, keel_call *call) {
    fw_trie *trie = object;
    const fw_arg *a = call->arg;
    nfv_batch *b;
    keel_status st = keel_box_data(call->box, (void **)&b, NULL);
    if (st != KEEL_OK) {
        return st;
    }
    if (a != NULL && a->fault != FW_FAULT_NONE) {
        fw_fail(trie, b, a);
    }
    fw_classify_frames(trie, b);
    return KEEL_OK;
}

static keel_status fw_new_node(fw_node **out) {
    keel_status st = keel_domain_alloc(sizeof(fw_node), (void **)out);
    if (st == KEEL_OK) {
        memset(*out, 0, sizeof(fw_node));
    }
    return st;
}

/* Inserts a rule, then snapshots the domain: the new last good state. */
static keel_status fw_update(void *object, keel_call *call) {
    fw_trie *trie = object;
    const fw_rule *r = call->arg;
    if (r->length > TRIE_DEPTH || (r->action != VERDICT_ACCEPT && r->action != VERDICT_DROP)) {
        return KEEL_EINVAL;
    }
    fw_node *n = trie->root;
    for (unsigned depth = 0; depth < r->length; depth++) {
        unsigned bit = (r->prefix >> (31u - depth)) & 1u;
        if (n->child[bit] == NULL) {
            keel_status st = fw_new_node(&n->child[bit]);
            if (st != KEEL_OK) {
                return st;
            }
        }
        n = n->child[bit];
    }
    n->action = r->action;
    trie->rules++;
    return keel_domain_snapshot(keel_domain_current());
}

static const keel_method fw_methods[] = {fw_classify, fw_update};
static const keel_interface fw_interface = {"firewall", 2, fw_methods};

keel_status fw_init(keel_domain *d, void *context) {
    (void)context;
    fw_trie *trie;
    keel_status st = keel_domain_alloc(sizeof *trie, (void **)&trie);
    if (st == KEEL_OK) {
        trie->rules = 0;
        st = fw_new_node(&trie->root);
    }
    return st == KEEL_OK ? keel_domain_export(d, trie, &fw_interface, &fw_rref) : st;
}

/* ---- lb: Maglev ---- */

void lb_balance_frames(const uint8_t *table, nfv_batch *b) {
    unsigned n = clamp_count(b->count);
    for (unsigned i = 0; i < n; i++) {
        nfv_meta *m = &b->meta[i];
        if (m->verdict != VERDICT_ACCEPT) {
            continue;
        }
        packet *p = &b->frames[i];
        m->backend = table[maglev_flow_hash(p) % MAGLEV_SIZE];
        p->bytes[PACKET_ETH_DST + 4] = 1; /* to the backend's MAC, 02:00:00:00:01:<backend> */
        p->bytes[PACKET_ETH_DST + 5] = m->backend;
    }
}

static keel_status lb_balance(void *object, keel_call *call) {
    nfv_batch *b;
    keel_status st = keel_box_data(call->box, (void **)&b, NULL);
    if (st == KEEL_OK) {
        lb_balance_frames(object, b);
    }
    return st;
}

static const keel_method lb_methods[] = {lb_balance};
static const keel_interface lb_interface = {"lb", 1, lb_methods};

keel_status lb_init(keel_domain *d, void *context) {
    (void)context;
    maglev m;
    if (maglev_build(&m, BACKENDS, MAGLEV_SIZE) != 0) {
        return KEEL_ENOMEM;
    }
    uint8_t *table;
    keel_status st = keel_domain_alloc(MAGLEV_SIZE, (void **)&table);
    if (st == KEEL_OK) {
        memcpy(table, m.table, MAGLEV_SIZE);
        lb_table_address = table;
        st = keel_domain_export(d, table, &lb_interface, &lb_rref);
    }
    maglev_release(&m);
    return st;
}

/* ---- tx: delivery to the tenants' sinks ---- */

typedef struct tx_plan_entry {
    uint8_t tenant, deliver;
    uint16_t slot, dport;
} tx_plan_entry;

typedef struct tx_state {
    unsigned count;
    tx_plan_entry entry[BATCH];
} tx_state;

/* Reads the (public) batch: which packets go out, and where. */
static keel_status tx_plan(void *object, keel_call *call) {
    tx_state *s = object;
    const nfv_batch *b;
    keel_status st = keel_box_data(call->box, (void **)&b, NULL);
    if (st != KEEL_OK) {
        return st;
    }
    s->count = clamp_count(b->count);
    for (unsigned i = 0; i < s->count; i++) {
        const nfv_meta *m = &b->meta[i];
        s->entry[i] = (tx_plan_entry){.tenant = m->tenant,
                                      .deliver = m->valid && m->verdict == VERDICT_ACCEPT,
                                      .slot = m->slot,
                                      .dport = m->dport};
    }
    return KEEL_OK;
}

/* Writes the planned packets of one tenant from its payload box to its sink,
 * without opening the box: tx's own label stays public. */
static keel_status tx_deliver(void *object, keel_call *call) {
    const tx_state *s = object;
    const tx_arg *a = call->arg;
    tx_result *r = call->result;
    *r = (tx_result){0};
    if (a->tenant >= TENANTS) {
        return KEEL_EINVAL;
    }
    unsigned n = clamp_count(s->count);
    for (unsigned i = 0; i < n; i++) {
        const tx_plan_entry *e = &s->entry[i];
        if (e->tenant != a->tenant || !e->deliver || e->slot >= BATCH) {
            continue;
        }
        keel_sink *sink = &tx_sinks[a->tenant];
        if (tx_seeded_leak && e->dport == LEAK_PORT) {
            sink = &tx_sinks[(a->tenant + 1) % TENANTS]; /* the seeded bug */
        }
        keel_status st = keel_sink_write_box(
            sink, call->box, offsetof(nfv_payloads, entry) + e->slot * sizeof(nfv_payload),
            sizeof(nfv_payload));
        if (st == KEEL_OK) {
            r->delivered++;
        } else if (st == KEEL_EFLOW) {
            r->refused++;
        } else {
            r->failed++;
        }
    }
    return KEEL_OK;
}

static const keel_method tx_methods[] = {tx_plan, tx_deliver};
static const keel_interface tx_interface = {"tx", 2, tx_methods};

keel_status tx_init(keel_domain *d, void *context) {
    (void)context;
    tx_state *s;
    keel_status st = keel_domain_alloc(sizeof *s, (void **)&s);
    if (st == KEEL_OK) {
        s->count = 0;
        st = keel_domain_export(d, s, &tx_interface, &tx_rref);
    }
    return st;
}
