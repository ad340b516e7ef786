/*
 * tsc.h - timing with the time-stamp counter, shared by the benchmarks.
 *
 * A timed region is bracketed by
 *     lfence; rdtsc; lfence   ...region...   rdtscp; lfence
 * (the fences keep the region's instructions between the two reads; cpuid, the
 * textbook serialiser, traps to the hypervisor in a VM). The bracket itself
 * costs a few dozen cycles: measure it with bench_timer_empty in the same run
 * and subtract its median when reporting. x86-64 only.
 */
#ifndef BENCH_COMMON_TSC_H
#define BENCH_COMMON_TSC_H

#include <stdint.h>

#include "hist.h"

/* bench_tsc_begin: the TSC at the start of a timed region. */
static inline __attribute__((always_inline)) uint64_t bench_tsc_begin(void) {
    uint32_t lo, hi;
    __asm__ volatile("lfence\n\trdtsc\n\tlfence" : "=a"(lo), "=d"(hi)::"memory");
    return ((uint64_t)hi << 32) | lo;
}

/* bench_tsc_end: the TSC at the end of a timed region. */
static inline __attribute__((always_inline)) uint64_t bench_tsc_end(void) {
    uint32_t lo, hi, aux;
    __asm__ volatile("rdtscp\n\tlfence" : "=a"(lo), "=d"(hi), "=c"(aux)::"memory");
    (void)aux;
    return ((uint64_t)hi << 32) | lo;
}

/* bench_timer_empty: records `n` empty brackets into *empty. */
void bench_timer_empty(hist *empty, unsigned n);

/* bench_tsc_ghz: the TSC rate, measured against CLOCK_MONOTONIC for ~50 ms. */
double bench_tsc_ghz(void);

/* bench_core_per_tsc: core clock cycles per TSC cycle (the TSC ticks at a fixed
 * rate; the core may run faster or slower), from the median time of a chain
 * of dependent 64-bit multiplies (3 cycles each on every x86-64 since Nehalem,
 * Zen included). Takes ~5 ms. */
double bench_core_per_tsc(void);

#endif /* BENCH_COMMON_TSC_H */
