/*
 * hist.c - exact histograms (hist.h): one bin per small value, a sorted list
 * of the rare large ones.
 */
#include "hist.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int hist_init(hist *h, size_t large_cap) {
    memset(h, 0, sizeof *h);
    h->bins = calloc(HIST_EXACT, sizeof *h->bins);
    h->large = large_cap > 0 ? malloc(large_cap * sizeof *h->large) : NULL;
    if (h->bins == NULL || (large_cap > 0 && h->large == NULL)) {
        hist_release(h);
        return -1;
    }
    h->large_cap = large_cap;
    return 0;
}

void hist_release(hist *h) {
    free(h->bins);
    free(h->large);
    memset(h, 0, sizeof *h);
}

void hist_clear(hist *h) {
    memset(h->bins, 0, HIST_EXACT * sizeof *h->bins);
    h->count = 0;
    h->max = 0;
    h->lost = 0;
    h->large_count = 0;
}

int hist_merge(hist *into, const hist *from) {
    if (into->large_count + from->large_count > into->large_cap) {
        size_t cap = into->large_count + from->large_count;
        uint64_t *large = realloc(into->large, cap * sizeof *large);
        if (large == NULL) {
            return -1;
        }
        into->large = large;
        into->large_cap = cap;
    }
    for (size_t i = 0; i < HIST_EXACT; i++) {
        into->bins[i] += from->bins[i];
    }
    if (from->large_count > 0) {
        memcpy(into->large + into->large_count, from->large,
               from->large_count * sizeof *from->large);
        into->large_count += from->large_count;
    }
    into->count += from->count;
    into->lost += from->lost;
    if (from->max > into->max) {
        into->max = from->max;
    }
    return 0;
}

static int compare_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The 1-based rank of percentile p among n values. */
static uint64_t rank_of(uint64_t n, double p) {
    double r = ceil(p * (double)n);
    if (r < 1) {
        return 1;
    }
    return r > (double)n ? n : (uint64_t)r;
}

uint64_t hist_percentile(hist *h, double p) {
    if (h->count == 0) {
        return 0;
    }
    uint64_t rank = rank_of(h->count, p);
    if (rank == h->count) {
        return h->max;
    }
    uint64_t seen = 0;
    for (uint32_t v = 0; v < HIST_EXACT; v++) {
        seen += h->bins[v];
        if (seen >= rank) {
            return v;
        }
    }
    qsort(h->large, h->large_count, sizeof *h->large, compare_u64);
    if (rank - seen <= h->large_count) {
        return h->large[rank - seen - 1];
    }
    return HIST_EXACT; /* among the lost values: a lower bound */
}

double hist_mean(hist *h, double p) {
    if (h->count == 0) {
        return 0.0;
    }
    uint64_t want = rank_of(h->count, p), n = 0;
    double sum = 0;
    for (uint32_t v = 0; v < HIST_EXACT && n < want; v++) {
        uint64_t take = h->bins[v] < want - n ? h->bins[v] : want - n;
        sum += (double)v * (double)take;
        n += take;
    }
    qsort(h->large, h->large_count, sizeof *h->large, compare_u64);
    for (size_t i = 0; i < h->large_count && n < want; i++, n++) {
        sum += (double)h->large[i];
    }
    return n == 0 ? 0.0 : sum / (double)n;
}

bool hist_percentile_exact(const hist *h, double p) {
    if (h->lost == 0 || h->count == 0) {
        return true;
    }
    /* Ranks within the exact bins, and the maximum, are always exact. */
    uint64_t rank = rank_of(h->count, p);
    return rank == h->count || rank <= h->count - h->large_count - h->lost;
}
