/*
 * keel_replay.h - the untimed replay of the traces on one build of keel's
 * heap and pools: what the instruction counter traces (instr_count.h) and what
 * callgrind runs for the cross-check (callgrind.h). Both must execute exactly
 * the same calls, so they share this one function.
 *
 * Two builds of the same sources can be replayed:
 *   "-O2"      a copy of libkeel's sources compiled at -O2 into the module
 *              libkeel_mem_o2.so next to bench_alloc, loaded with dlopen
 *              (its symbols would clash with the linked libkeel otherwise);
 *   "libkeel"  the libkeel bench_alloc is linked with, as the project builds it
 *              (-O3 in a CMake Release build).
 */
#ifndef BENCH_ALLOC_KEEL_REPLAY_H
#define BENCH_ALLOC_KEEL_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "keel/mem.h"
#include "traces.h"

typedef struct keel_build {
    const char *name;   /* "-O2" or "libkeel" */
    const char *object; /* the file the code comes from */
    const char *flags;  /* the compiler and flags it was built with */
    keel_status (*heap_init)(keel_heap **, void *, size_t);
    keel_status (*heap_alloc)(keel_heap *, size_t, void **);
    void (*heap_free)(keel_heap *, void *);
    keel_status (*heap_check)(const keel_heap *, keel_heap_fault *);
    keel_status (*pool_init)(keel_pool *, void *, size_t, size_t);
    keel_status (*pool_alloc)(keel_pool *, void **);
    keel_status (*pool_free)(keel_pool *, void *);
    void *module; /* dlopen handle of the -O2 module */
} keel_build;

/* The counted functions, in the order instr_count's targets are given. */
enum {
    KEEL_FN_HEAP_ALLOC,
    KEEL_FN_HEAP_FREE,
    KEEL_FN_POOL_ALLOC,
    KEEL_FN_POOL_FREE,
    KEEL_FN_COUNT
};

/* keel_fn_symbol: "keel_heap_alloc", "keel_heap_free", ... */
const char *keel_fn_symbol(unsigned fn);

/* keel_fn_entry: the entry address of function fn in build b. */
const void *keel_fn_entry(const keel_build *b, unsigned fn);

/* keel_build_linked: the linked libkeel. Always succeeds. */
void keel_build_linked(keel_build *b);

/* keel_build_o2: loads the -O2 module. Returns 0, or -1 with the reason in err. */
int keel_build_o2(keel_build *b, char *err, size_t errlen);

/* The replay's inputs: the traces, and where to report problems. */
typedef struct keel_replay_job {
    const keel_build *build;
    const bench_trace *traces;
    size_t trace_count;
} keel_replay_job;

/*
 * keel_replay_run: for each trace i, calls instr_mark(i), then replays the
 * trace on a fresh heap of the build (64 MiB region), then on fresh pools,
 * checking the heap's invariants (keel_heap_check) after each trace.
 * Returns 0, or -1 after printing the problem to stderr (an allocation
 * refused, a broken invariant, no memory for the regions).
 */
int keel_replay_run(const keel_replay_job *job);

/* keel_replay_body: keel_replay_run as an instr_count body; exits with status
 * 3 if the replay fails. arg is a keel_replay_job. */
void keel_replay_body(void *arg);

#define KEEL_REPLAY_REGION_SIZE ((size_t)64 << 20)

#endif /* BENCH_ALLOC_KEEL_REPLAY_H */
