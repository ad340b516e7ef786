/*
 * hist.h - exact histograms of small integers (cycles, instruction counts),
 * cheap enough to update between two timed calls.
 *
 * Values below HIST_EXACT are counted in one bin each; larger values are kept
 * one by one in a buffer fixed at init (no allocation while recording). If that
 * buffer fills up, further large values are counted in `lost` and only the
 * maximum is still exact; percentiles falling among them are then reported as
 * HIST_EXACT (a lower bound), which hist_percentile_exact() tells.
 */
#ifndef BENCH_COMMON_HIST_H
#define BENCH_COMMON_HIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HIST_EXACT (1u << 16)

typedef struct hist {
    uint64_t count;  /* values recorded */
    uint64_t max;    /* largest value recorded */
    uint64_t lost;   /* large values not kept (buffer full) */
    uint32_t *bins;  /* HIST_EXACT counters */
    uint64_t *large; /* values >= HIST_EXACT, unsorted until a percentile is asked */
    size_t large_count;
    size_t large_cap;
} hist;

/* hist_init: an empty histogram keeping up to `large_cap` values >= HIST_EXACT.
 * Returns 0, or -1 if out of memory. */
int hist_init(hist *h, size_t large_cap);

/* hist_release: frees the histogram's memory. */
void hist_release(hist *h);

/* hist_clear: forgets every value. O(HIST_EXACT). */
void hist_clear(hist *h);

/* hist_add: records v. O(1), no allocation. */
static inline void hist_add(hist *h, uint64_t v) {
    h->count++;
    if (v > h->max) {
        h->max = v;
    }
    if (v < HIST_EXACT) {
        h->bins[v]++;
    } else if (h->large_count < h->large_cap) {
        h->large[h->large_count++] = v;
    } else {
        h->lost++;
    }
}

/* hist_merge: adds every value of `from` to `into`, growing into's buffer of
 * large values as needed. Returns 0, or -1 if out of memory. */
int hist_merge(hist *into, const hist *from);

/* hist_percentile: the smallest recorded value v such that at least a fraction
 * p (0 < p <= 1) of all values are <= v; 0 for an empty histogram. */
uint64_t hist_percentile(hist *h, double p);

/* hist_mean: the mean of the smallest fraction p (0 < p <= 1) of the values, so
 * that p < 1 leaves out rare outliers (interrupts); lost values are never
 * counted. 0 for an empty histogram. O(HIST_EXACT + large values). */
double hist_mean(hist *h, double p);

/* hist_percentile_exact: false if hist_percentile(h, p) fell among lost values. */
bool hist_percentile_exact(const hist *h, double p);

#endif /* BENCH_COMMON_HIST_H */
