/*
 * report.h - bench_domain's results shown three ways: the tables beside the
 * HotOS'17 paper's figures and the goals (stdout), a CSV file, and a PNG plot
 * (gnuplot).
 *
 * Overhead of one protected call = (protected pipeline - plain pipeline) /
 * STAGES, per batch size, from the medians (and, separately, from the p99s and
 * the means) of the cycles per batch: lend against 5 plain calls in turn, move
 * against 5 nested plain calls.
 */
#ifndef BENCH_DOMAIN_REPORT_H
#define BENCH_DOMAIN_REPORT_H

#include "results.h"

/* The paper's figures (HotOS'17, section 3) and keel's goals. */
#define PAPER_CALL_CYCLES_BATCH_1   90.0
#define PAPER_CALL_CYCLES_BATCH_256 122.0
#define PAPER_RECOVERY_CYCLES       4389.0 /* an average */
#define GOAL_CALL_CYCLES            30.0
#define GOAL_MAGLEV_PERCENT         1.0
#define GOAL_MAGLEV_FROM_BATCH      32u
#define GOAL_RECOVERY_CYCLES        1000.0

/* report_print: the tables and the goals. Returns true if every goal is met. */
bool report_print(domain_results *r);

/* report_csv: one row per (metric, subject, batch). Returns 0 or -1. */
int report_csv(domain_results *r, const char *path);

/* report_png: overhead per call and Maglev's cycles per batch against batch
 * size, and the overhead as a share of Maglev. Returns 0, 1 if gnuplot is
 * missing (a message says so, nothing is written), -1 if gnuplot failed. */
int report_png(domain_results *r, const char *path);

#endif /* BENCH_DOMAIN_REPORT_H */
