/*
 * Log-linear histograms: exact below 16, then 16 buckets per power of two.
 * Bucket b >= 16 covers [(16 + s) << o, ((17 + s) << o) - 1] with o = (b - 16) / 16
 * and s = (b - 16) % 16; the top bucket also takes every larger value.
 */
#include <string.h>

#include "keel/rt.h"

#define SUB   (1u << KEEL_HIST_SUB_BITS)
#define LIMIT ((uint64_t)1 << KEEL_HIST_TOP_BITS)

_Static_assert(KEEL_HIST_BUCKETS == SUB + (KEEL_HIST_TOP_BITS - KEEL_HIST_SUB_BITS) * SUB,
               "bucket count");

void keel_hist_clear(keel_hist *h) {
    if (h == NULL)
        return;
    memset(h, 0, sizeof *h);
    h->min = UINT64_MAX;
}

unsigned keel_hist_bucket_of(uint64_t value) {
    if (value < SUB)
        return (unsigned)value;
    if (value >= LIMIT)
        return KEEL_HIST_BUCKETS - 1;
    unsigned msb = 63u - (unsigned)__builtin_clzll(value); /* >= KEEL_HIST_SUB_BITS */
    unsigned octave = msb - KEEL_HIST_SUB_BITS;
    unsigned sub = (unsigned)(value >> octave) & (SUB - 1);
    return SUB + octave * SUB + sub;
}

uint64_t keel_hist_bucket_low(unsigned b) {
    if (b < SUB)
        return b;
    if (b >= KEEL_HIST_BUCKETS)
        b = KEEL_HIST_BUCKETS - 1;
    unsigned octave = (b - SUB) / SUB, sub = (b - SUB) % SUB;
    return (uint64_t)(SUB + sub) << octave;
}

uint64_t keel_hist_bucket_high(unsigned b) {
    if (b < SUB)
        return b;
    if (b >= KEEL_HIST_BUCKETS - 1)
        return UINT64_MAX;
    return keel_hist_bucket_low(b + 1) - 1;
}

void keel_hist_record(keel_hist *h, uint64_t value) {
    h->count++;
    if (value < h->min)
        h->min = value;
    if (value > h->max)
        h->max = value;
    h->sum = h->sum > UINT64_MAX - value ? UINT64_MAX : h->sum + value;
    if (value >= LIMIT)
        h->overflow++;
    h->bucket[keel_hist_bucket_of(value)]++;
}

uint64_t keel_hist_percentile(const keel_hist *h, double p) {
    if (h == NULL || h->count == 0)
        return 0;
    if (p >= 1.0)
        return h->max;
    double want_d = p * (double)h->count;
    uint64_t want = (uint64_t)want_d;
    if ((double)want < want_d)
        want++;
    if (want == 0)
        want = 1;
    uint64_t seen = 0;
    for (unsigned b = 0; b < KEEL_HIST_BUCKETS; b++) {
        seen += h->bucket[b];
        if (seen >= want) {
            uint64_t high = keel_hist_bucket_high(b);
            return high < h->max ? high : h->max;
        }
    }
    return h->max;
}

void keel_hist_merge(keel_hist *into, const keel_hist *from) {
    if (into == NULL || from == NULL || from->count == 0)
        return;
    into->count += from->count;
    if (from->min < into->min)
        into->min = from->min;
    if (from->max > into->max)
        into->max = from->max;
    into->sum = into->sum > UINT64_MAX - from->sum ? UINT64_MAX : into->sum + from->sum;
    into->overflow += from->overflow;
    for (unsigned b = 0; b < KEEL_HIST_BUCKETS; b++)
        into->bucket[b] += from->bucket[b];
}
