/*
 * tsc.c - the empty bracket and the TSC rate (tsc.h).
 */
#include "tsc.h"

#include "cpu.h"

void bench_timer_empty(hist *empty, unsigned n) {
    for (unsigned i = 0; i < n; i++) {
        uint64_t start = bench_tsc_begin();
        uint64_t end = bench_tsc_end();
        hist_add(empty, end - start);
    }
}

double bench_tsc_ghz(void) {
    double t0 = bench_now_seconds();
    uint64_t c0 = bench_tsc_begin();
    double t1;
    do {
        t1 = bench_now_seconds();
    } while (t1 - t0 < 0.05);
    uint64_t c1 = bench_tsc_end();
    return (double)(c1 - c0) / (t1 - t0) * 1e-9;
}

enum { MULTIPLIES = 3000, MULTIPLY_LATENCY = 3, CHAIN_SAMPLES = 101 };

static uint64_t multiply_chain(void) {
    uint64_t x = 3;
    uint64_t start = bench_tsc_begin();
    for (unsigned i = 0; i < MULTIPLIES / 10; i++) {
        __asm__ volatile("imul %0, %0\n\timul %0, %0\n\timul %0, %0\n\timul %0, %0\n\t"
                         "imul %0, %0\n\timul %0, %0\n\timul %0, %0\n\timul %0, %0\n\t"
                         "imul %0, %0\n\timul %0, %0"
                         : "+r"(x));
    }
    return bench_tsc_end() - start;
}

double bench_core_per_tsc(void) {
    uint64_t samples[CHAIN_SAMPLES];
    for (unsigned i = 0; i < CHAIN_SAMPLES; i++) {
        samples[i] = multiply_chain();
    }
    /* The median, by insertion sort: 101 values. */
    for (unsigned i = 1; i < CHAIN_SAMPLES; i++) {
        uint64_t v = samples[i];
        unsigned j = i;
        for (; j > 0 && samples[j - 1] > v; j--) {
            samples[j] = samples[j - 1];
        }
        samples[j] = v;
    }
    return (double)(MULTIPLIES * MULTIPLY_LATENCY) / (double)samples[CHAIN_SAMPLES / 2];
}
