/*
 * snapshots.h - whole-domain snapshots timed: a full snapshot against memcpy of
 * the same bytes, and incremental snapshots against full ones on a domain that
 * changes a few percent of its heap between snapshots.
 */
#ifndef BENCH_CKPT_SNAPSHOTS_H
#define BENCH_CKPT_SNAPSHOTS_H

#include <stddef.h>

typedef struct snapshot_results {
    size_t heap_reserved, heap_in_use, bytes_copied;
    double full_seconds, memcpy_seconds; /* medians, warm */
    double changed_fraction;             /* of the heap's pages, per interval */
    size_t incremental_bytes;            /* copied by one incremental snapshot */
    double incremental_seconds;          /* median */
    double tracking_seconds;             /* extra time the writes took, per interval */
    double untracked_write_seconds;      /* the same writes without tracking */
} snapshot_results;

/* Runs both measurements on domains with a heap of `heap_bytes`, half used,
 * `reps` times each; 0 on success. */
int snapshots_measure(size_t heap_bytes, double changed_fraction, unsigned reps,
                      snapshot_results *out);

#endif
