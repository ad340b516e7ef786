/*
 * pipeline_timing.h - cycles per batch through the pipeline (stages.h), plain
 * and protected, and through Maglev (maglev.h), interleaved.
 *
 * One repetition visits every batch size and, for each, every variant (the
 * order of both rotates by one each repetition), timing `per_block` batches
 * back to back per (size, variant). Before each timed batch, and outside the
 * timed region, the batch is refilled with fresh packets (packets_receive), as
 * a NIC would deliver them; a moved batch also gets its fresh box then. Maglev
 * has a stream of packets of its own (packets.h), so that its connection
 * table sees every packet of every connection.
 */
#ifndef BENCH_DOMAIN_PIPELINE_TIMING_H
#define BENCH_DOMAIN_PIPELINE_TIMING_H

#include "maglev.h"
#include "results.h"
#include "stages.h"

/* pipeline_timing_warm_up: Maglev's connection table warmed (8 packets per
 * open connection: every connection seen, the miss rate settled), then one
 * untimed repetition; the table's counters are zeroed after it. */
void pipeline_timing_warm_up(domain_results *r, pipeline *p, const maglev *m, maglev_conntrack *c);

/* pipeline_timing_round: `reps` more repetitions, into r->batches and r->empty;
 * failed calls are counted in r->errors. */
void pipeline_timing_round(domain_results *r, pipeline *p, const maglev *m, maglev_conntrack *c,
                           size_t reps);

#endif /* BENCH_DOMAIN_PIPELINE_TIMING_H */
