/*
 * report.h - what bench_alloc measured, and the three ways it is shown: the
 * tables and goals on stdout, a CSV file, and a PNG percentile plot (gnuplot).
 */
#ifndef BENCH_ALLOC_REPORT_H
#define BENCH_ALLOC_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allocators.h"
#include "hist.h"
#include "instr_count.h"
#include "keel_replay.h"
#include "traces.h"

/* The builds instruction counts are taken on: the goal is stated for -O2. */
enum { BUILD_O2, BUILD_LIBKEEL, BUILD_COUNT };

/* The goals the tables are checked against. */
#define GOAL_HEAP_ALLOC_INSTRUCTIONS 120u
#define GOAL_HEAP_FREE_INSTRUCTIONS  100u
#define PUBLISHED_TLSF_INSTRUCTIONS  168u

enum { OP_ALLOC, OP_FREE, OP_COUNT };

typedef enum check_state { CHECK_NOT_RUN, CHECK_EQUAL, CHECK_DIFFERENT, CHECK_FAILED } check_state;

typedef struct bench_results {
    /* how it was run */
    bool quick;
    size_t ops;  /* per trace, timed replays */
    size_t reps; /* interleaved repetitions */
    size_t instr_ops;
    uint64_t seed;
    int cpu;
    int cpus;
    double tsc_ghz;
    double seconds;                  /* wall time so far */
    const bench_trace *traces;       /* TRACE_COUNT, the timed ones */
    const bench_trace *instr_traces; /* TRACE_COUNT, the counted ones */
    const bench_allocators *allocators;

    /* latency: raw cycles; the median empty bracket is subtracted when shown */
    hist cycles[ALLOC_COUNT][OP_COUNT][TRACE_COUNT];
    hist cycles_all[ALLOC_COUNT][OP_COUNT];
    hist empty;
    uint64_t overhead;
    uint64_t failures[ALLOC_COUNT];
    char keel_check[256]; /* keel_heap_check after the timed replays: "" if all passed */

    /* instruction counts, per build */
    keel_build builds[BUILD_COUNT];
    bool counted[BUILD_COUNT];
    instr_result instr[BUILD_COUNT];
    char instr_error[BUILD_COUNT][512];

    /* blocks versus single-step, on a shorter replay (-O2 build) */
    check_state verify;
    size_t verify_ops;
    size_t verify_calls;
    size_t verify_differences;
    double verify_seconds[2]; /* blocks, single-step */
    char verify_error[512];

    /* callgrind's sums versus the counter's, per build and function */
    check_state callgrind[BUILD_COUNT];
    uint64_t callgrind_totals[BUILD_COUNT][KEEL_FN_COUNT];
    char callgrind_error[BUILD_COUNT][512];
} bench_results;

/* report_print: every table and the goals, on stdout. */
void report_print(bench_results *r, bool verbose);

/* report_csv: one row per (metric, subject, trace, op). Returns 0 or -1. */
int report_csv(bench_results *r, const char *path);

/* report_png: percentile curves per allocator (alloc and free side by side,
 * log cycles against log "nines"). Returns 0, 1 if gnuplot is missing (a
 * message says so, nothing is written), -1 if gnuplot failed. */
int report_png(bench_results *r, const char *path);

/* report_cycles: percentile p of h with the timer overhead subtracted. */
uint64_t report_cycles(const bench_results *r, hist *h, double p);

#endif /* BENCH_ALLOC_REPORT_H */
