/*
 * parts.h - the parts a protected call is made of, each timed alone: the calls
 * themselves (null methods, with and without a lent box) and the primitives
 * they are built from (a locked RMW, a mutex, sigsetjmp, TLS), a call into a
 * strict domain, keel_box_free of a box this thread allocated and of one a
 * live helper thread allocated (the membarrier), and the pieces of a recovery
 * (clock, message formatting by glibc and by keel_panic, heap renew).
 *
 * Each sample is one timer bracket around PART_OPS back-to-back operations;
 * the figure per operation is (median bracket - median bracket around an
 * empty loop) / PART_OPS: throughput cost, which for serialising instructions
 * such as a locked RMW is also their cost inside a call.
 */
#ifndef BENCH_DOMAIN_PARTS_H
#define BENCH_DOMAIN_PARTS_H

#include "results.h"
#include "stages.h"

#define PART_OPS 32u

/* parts_open: prepares (the pipeline's stage 1 and its box are used, and a
 * strict domain is created) and warms up. Returns 0, or -1 (said in r if a
 * domain failed; else out of memory). */
int parts_open(domain_results *r, pipeline *p);

/* parts_round: `samples` more samples per part, interleaved. */
void parts_round(domain_results *r, size_t samples);

/* parts_close: fills r->parts from the samples, and frees what open took. */
void parts_close(domain_results *r);

#endif /* BENCH_DOMAIN_PARTS_H */
