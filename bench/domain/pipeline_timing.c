/*
 * pipeline_timing.c - the interleaved timing of the pipeline and Maglev
 * (pipeline_timing.h).
 */
#include "pipeline_timing.h"

#include "tsc.h"

/* Packets per open connection before timing starts: enough for every
 * connection open at the start to have been seen and the miss rate to have
 * settled (about 1 packet in 28). The table has not filled yet: evictions
 * keep rising, slowly, for some 11 million packets more. */
enum { WARM_UP_FLOWS = 8 };

/* The packets: Maglev's stream is its own, so that its connection table sees
 * every packet of every connection, as a balancer would. */
static traffic pipeline_traffic, maglev_traffic;

/* Called through a volatile pointer: the compiler cannot inline Maglev into
 * the timed region, as it could not inline a stage of a real pipeline. */
static void (*volatile balance)(const maglev *, maglev_conntrack *, batch *) = maglev_balance;

/* Times one batch of 2^k packets through variant v; records it unless warming up. */
static void time_batch(domain_results *r, bool record, pipeline *p, const maglev *m,
                       maglev_conntrack *c, variant v, unsigned k) {
    unsigned count = batch_size_of(k);
    batch *b = p->data;
    keel_status status = KEEL_OK;
    if (v == V_MOVE) {
        status = pipeline_prepare_move(p, &b);
        if (status != KEEL_OK) {
            domain_results_error(r, "preparing a moved batch", status);
            return;
        }
    }
    packets_receive(b, count, v == V_MAGLEV ? &maglev_traffic : &pipeline_traffic);
    uint64_t start = bench_tsc_begin();
    switch (v) {
    case V_PLAIN:
        status = pipeline_run_plain(p, b);
        break;
    case V_LEND:
        status = pipeline_run_lend(p);
        break;
    case V_CHAIN:
        status = pipeline_run_plain_chain(p, b);
        break;
    case V_MOVE:
        status = pipeline_run_move(p);
        break;
    case V_MAGLEV:
        balance(m, c, b);
        break;
    case V_COUNT:
        break;
    }
    uint64_t end = bench_tsc_end();
    if (status != KEEL_OK) {
        domain_results_error(r, "a pipeline stage", status);
    }
    if (record) {
        hist_add(&r->batches[v][k], end - start);
    }
}

static void repetition(domain_results *r, bool record, pipeline *p, const maglev *m,
                       maglev_conntrack *c, size_t rep) {
    for (unsigned i = 0; i < BATCH_SIZES; i++) {
        unsigned k = (unsigned)((i + rep) % BATCH_SIZES);
        for (unsigned j = 0; j < V_COUNT; j++) {
            variant v = (variant)((j + rep) % V_COUNT);
            if (record) {
                bench_timer_empty(&r->empty, 2);
            }
            for (size_t n = 0; n < r->per_block; n++) {
                time_batch(r, record, p, m, c, v, k);
            }
        }
    }
}

/* The generator of the packets, and the repetitions done, across rounds. */
static size_t done;

void pipeline_timing_warm_up(domain_results *r, pipeline *p, const maglev *m, maglev_conntrack *c) {
    traffic_init(&pipeline_traffic, 0x6b65656c);
    traffic_init(&maglev_traffic, 0x6d61676c);
    for (size_t n = 0; n < (size_t)WARM_UP_FLOWS * TRAFFIC_FLOWS; n += BATCH_MAX) {
        packets_receive(p->data, BATCH_MAX, &maglev_traffic);
        maglev_balance(m, c, p->data);
    }
    repetition(r, false, p, m, c, 0);
    /* The report's hit rate is the timed packets': the warm-up's first
     * packets of each connection all missed. */
    c->hits = c->misses = c->evictions = c->dropped = 0;
}

void pipeline_timing_round(domain_results *r, pipeline *p, const maglev *m, maglev_conntrack *c,
                           size_t reps) {
    for (size_t i = 0; i < reps; i++, done++) {
        repetition(r, true, p, m, c, done);
    }
}
