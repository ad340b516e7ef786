/*
 * corpus.h - shared by the keel-wcet validation programs. Each program
 * analyses one function (ANALYSED), called once from main with the worst-case
 * input given on the command line. The input arrives at run time, so the
 * compiler cannot specialise the function for it.
 */
#ifndef WCET_CORPUS_H
#define WCET_CORPUS_H
#include <stdlib.h>

#ifdef __clang__
#define ANALYSED __attribute__((noinline, used))
#else
#define ANALYSED __attribute__((noinline, noipa, used))
#endif
#define HELPER ANALYSED

static inline long arg(int argc, char **argv, int i) {
    return i < argc ? strtol(argv[i], NULL, 0) : 0;
}
static volatile long corpus_sink;
#define SINK(x) (corpus_sink = (long)(x))
#endif
