/*
 * timing.h - per-call latency in TSC cycles.
 *
 * Each single allocation and each single free is bracketed by the TSC reads of
 * bench/common/tsc.h. The raw difference is recorded; the cost of an empty
 * bracket is measured in the same run, into its own histogram, and subtracted
 * when reporting.
 */
#ifndef BENCH_ALLOC_TIMING_H
#define BENCH_ALLOC_TIMING_H

#include <stdint.h>

#include "allocators.h"
#include "hist.h"
#include "traces.h"
#include "tsc.h" /* bench_timer_empty, bench_tsc_ghz */

/*
 * bench_replay_timed: replays trace t on allocator id (which must be
 * available), recording the raw cycles of every allocation in
 * *alloc_cycles and of every free in *free_cycles. slots must hold t->slots
 * pointers. A refused allocation is counted in *failures, and its free skipped.
 * Records nothing when alloc_cycles and free_cycles are NULL (warm-up).
 */
void bench_replay_timed(bench_allocators *a, bench_alloc_id id, const bench_trace *t, void **slots,
                        hist *alloc_cycles, hist *free_cycles, uint64_t *failures);

#endif /* BENCH_ALLOC_TIMING_H */
