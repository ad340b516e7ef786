/*
 * plot.h - talking to gnuplot, which draws the benchmarks' PNG files.
 */
#ifndef BENCH_COMMON_PLOT_H
#define BENCH_COMMON_PLOT_H

#include <stdbool.h>
#include <stdio.h>

/* bench_on_path: true if `program` is an executable file in a $PATH directory. */
bool bench_on_path(const char *program);

/*
 * bench_gnuplot_open: a pipe to a fresh gnuplot, to write a script into.
 * Returns NULL with *status 1 if gnuplot is missing (after printing that the
 * PNG is skipped), NULL with *status -1 if `png_path` contains a quote (it is
 * pasted into the script) or the pipe fails; else the pipe and *status 0.
 */
FILE *bench_gnuplot_open(const char *png_path, int *status);

/* bench_gnuplot_close: waits for gnuplot. Returns 0, or -1 if it failed (said on stderr). */
int bench_gnuplot_close(FILE *gnuplot);

#endif /* BENCH_COMMON_PLOT_H */
