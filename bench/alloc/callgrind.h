/*
 * callgrind.h - the cross-check of the ptrace instruction counts: the same
 * replay run under `valgrind --tool=callgrind`, collecting only inside the
 * counted functions (--collect-atstart=no --toggle-collect=F for each F), so
 * that the instructions callgrind attributes to F are F's inclusive cost
 * summed over every call. They must equal the ptrace counter's sums exactly.
 */
#ifndef BENCH_ALLOC_CALLGRIND_H
#define BENCH_ALLOC_CALLGRIND_H

#include <stddef.h>
#include <stdint.h>

/*
 * callgrind_count: runs `valgrind --tool=callgrind ... -- command...` and
 * stores in totals[i] the inclusive instruction count (Ir) of functions[i],
 * summed over all its calls (n at most 8). command is NULL-terminated. The
 * functions must not call each other (a nested call would be counted in both),
 * which holds for keel_heap_alloc/free and keel_pool_alloc/free.
 * Returns 0, or -1 with a reason in err (valgrind missing, the command failed,
 * the output not understood).
 */
int callgrind_count(char *const command[], const char *const functions[], size_t n,
                    uint64_t totals[], char *err, size_t errlen);

#endif /* BENCH_ALLOC_CALLGRIND_H */
