/*
 * results.c - the results' histograms and error record (results.h).
 */
#include "results.h"

#include <stdio.h>
#include <string.h>

#include "keel/status.h"

/* Samples >= HIST_EXACT cycles (interrupts, page faults) kept exactly per series. */
enum { LARGE_PER_SERIES = 4096 };

int domain_results_init(domain_results *r) {
    if (hist_init(&r->empty, LARGE_PER_SERIES) != 0) {
        return -1;
    }
    for (unsigned v = 0; v < V_COUNT; v++) {
        for (unsigned k = 0; k < BATCH_SIZES; k++) {
            if (hist_init(&r->batches[v][k], LARGE_PER_SERIES) != 0) {
                return -1;
            }
        }
    }
    for (unsigned s = 0; s < R_COUNT; s++) {
        if (hist_init(&r->recovery[s], LARGE_PER_SERIES) != 0) {
            return -1;
        }
    }
    return 0;
}

void domain_results_release(domain_results *r) {
    hist_release(&r->empty);
    for (unsigned v = 0; v < V_COUNT; v++) {
        for (unsigned k = 0; k < BATCH_SIZES; k++) {
            hist_release(&r->batches[v][k]);
        }
    }
    for (unsigned s = 0; s < R_COUNT; s++) {
        hist_release(&r->recovery[s]);
    }
}

void domain_results_error(domain_results *r, const char *where, int status) {
    if (r->errors++ == 0) {
        snprintf(r->error, sizeof r->error, "%s: %s", where, keel_status_name((keel_status)status));
    }
}

uint64_t domain_cycles(const domain_results *r, hist *h, double p) {
    uint64_t v = hist_percentile(h, p);
    return v > r->overhead ? v - r->overhead : 0;
}
