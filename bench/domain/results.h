/*
 * results.h - everything bench_domain measures, filled by pipeline_timing.c,
 * recovery.c and parts.c and shown by report.c.
 *
 * All cycle samples are raw TSC differences; the median of an empty timer
 * bracket (`overhead`, measured in the same run) is subtracted when shown.
 */
#ifndef BENCH_DOMAIN_RESULTS_H
#define BENCH_DOMAIN_RESULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hist.h"

/* Batch sizes 1, 2, 4, ..., 256. */
#define BATCH_SIZES      9u
#define batch_size_of(k) (1u << (k))

/* What is timed per batch. */
#define VARIANT_LIST(X)                                                                \
    X(V_PLAIN, "plain", "5 plain calls in turn, through function pointers")            \
    X(V_LEND, "lend", "5 protected calls in turn, the box lent to each")               \
    X(V_CHAIN, "plain-chain", "5 nested plain calls, each calling the next")           \
    X(V_MOVE, "move", "5 nested protected calls, the box moved from each to the next") \
    X(V_MAGLEV, "maglev", "Maglev: parse, connection table, lookup table, rewrite")

typedef enum variant {
#define VARIANT_ENUM_(id, name, about) id,
    VARIANT_LIST(VARIANT_ENUM_)
#undef VARIANT_ENUM_
        V_COUNT
} variant;

/* Recovery: points in time along a failing call, and references. */
#define RECOVERY_LIST(X)                                                                           \
    X(R_PANIC_TOTAL, "panic->status", "keel_panic() to the caller holding KEEL_EPANIC, recovered") \
    X(R_PANIC_UNWIND, "  unwind+reset", "keel_panic() to the recovery function's first line")      \
    X(R_PANIC_RECOVER, "  recover fn", "the recovery function (allocate, re-export)")              \
    X(R_PANIC_RETURN, "  return", "the recovery function's last line to the caller")               \
    X(R_PANIC_CALL, "failing call", "the whole call that panics, as its caller sees it")           \
    X(R_PANIC_NEXT, "next call", "the next call, on the recovered domain (succeeds)")              \
    X(R_FAULT_TOTAL, "fault->status", "a null write to the caller holding KEEL_EFAULT, recovered") \
    X(R_FAULT_UNWIND, "  unwind+reset", "the null write to the recovery function's first line")    \
    X(R_FAULT_RECOVER, "  recover fn", "the recovery function (allocate, re-export)")              \
    X(R_FAULT_RETURN, "  return", "the recovery function's last line to the caller")               \
    X(R_FAULT_CALL, "failing call", "the whole call that faults, as its caller sees it")           \
    X(R_FAULT_NEXT, "next call", "the next call, on the recovered domain (succeeds)")              \
    X(R_PANIC_BIG, "panic, 64 MiB", "panic->status again, the victim's heap 1024 times larger")    \
    X(R_CALL, "healthy call", "a call that does not fail, for reference")                          \
    X(R_SIGNAL_RAISE, "raise(SIGUSR1)", "no keel: raise() to a handler that returns")              \
    X(R_SIGNAL_SEGV, "SIGSEGV+siglongjmp", "no keel: a null write to a handler that siglongjmps")

typedef enum recovery_series {
#define RECOVERY_ENUM_(id, name, about) id,
    RECOVERY_LIST(RECOVERY_ENUM_)
#undef RECOVERY_ENUM_
        R_COUNT
} recovery_series;

/* The parts of a protected call, each timed alone. */
#define PART_LIST(X)                                                                            \
    X(P_PLAIN_CALL, "plain call", "a null filter through a function pointer")                   \
    X(P_RREF_CALL, "keel_rref_call", "a null method, no box")                                   \
    X(P_RREF_CALL_STRICT, "  strict, mprotect", "the same into a strict domain (2 mprotect)")   \
    X(P_RREF_CALL_PKEY, "  strict, pkey", "the same, the domain keyed (2 WRPKRU; n/a: no pku)") \
    X(P_RREF_LEND, "keel_rref_call_lend", "a null method, a box lent")                          \
    X(P_RREF_LEND_DATA, "  + keel_box_data", "a lend whose method opens the box (a stage)")     \
    X(P_BOX_DATA, "keel_box_data", "the owner's access check, from the host")                   \
    X(P_FREE_OWN, "keel_box_free", "a box this thread allocated (it is the box's lender)")     \
    X(P_FREE_OTHER, "  another's box", "the lender a live thread: membarrier, its 64 slots")     \
    X(P_ATOMIC_RMW, "locked RMW", "atomic_fetch_add on an uncontended line (any order)")        \
    X(P_MUTEX, "mutex lock+unlock", "an uncontended pthread mutex")                             \
    X(P_SIGSETJMP, "sigsetjmp(env, 0)", "glibc, no signal mask saved")                          \
    X(P_BUILTIN_SETJMP, "__builtin_setjmp", "the compiler's: frame, stack and label only")      \
    X(P_CURRENT_ID, "keel_domain_current_id", "a call that reads libkeel's TLS (%fs-relative)") \
    X(P_CLOCK, "clock_gettime", "CLOCK_MONOTONIC (vDSO), as recovery reads it")                 \
    X(P_SNPRINTF, "snprintf message", "glibc formatting a panic message of ~40 bytes")          \
    X(P_PANIC_FORMAT, "  keel's formatter", "the same message as keel_panic formats it")        \
    X(P_HEAP_RENEW, "heap renew 64 KiB", "keel_heap_locked destroy + renew, as recovery does")

typedef enum part {
#define PART_ENUM_(id, name, about) id,
    PART_LIST(PART_ENUM_)
#undef PART_ENUM_
        P_COUNT
} part;

typedef struct domain_results {
    /* how it was run */
    bool quick;
    size_t reps;          /* interleaved repetitions of the pipeline timing */
    size_t per_block;     /* batches timed back to back per (variant, size) block */
    size_t recovery_reps; /* samples per recovery series */
    size_t part_reps;     /* samples per part */
    size_t rounds;        /* each does a slice of every measurement */
    int cpu;
    int cpus;
    double tsc_ghz;
    double core_per_tsc; /* core clock cycles per TSC cycle */
    double seconds;

    hist empty;        /* empty timer brackets */
    uint64_t overhead; /* their median, subtracted from every figure shown */

    /* pipeline and Maglev: cycles per batch */
    hist batches[V_COUNT][BATCH_SIZES];
    uint64_t maglev_size;
    unsigned maglev_backends;
    uint32_t maglev_min, maglev_max; /* entries per backend */
    uint32_t maglev_flows;           /* connection table entries */
    uint64_t maglev_hits, maglev_misses, maglev_evictions, maglev_dropped; /* its packets */

    /* recovery */
    hist recovery[R_COUNT];
    uint64_t recoveries; /* the victim domain's count after the run */
    uint64_t failures;

    /* parts: cycles per operation, medians over loops of PART_OPS */
    double parts[P_COUNT];

    /* anything that went wrong (a call failed that should not have) */
    uint64_t errors;
    char error[256];
} domain_results;

/* domain_results_init: empty histograms. Returns 0, or -1 if out of memory. */
int domain_results_init(domain_results *r);

/* domain_results_release: frees the histograms. */
void domain_results_release(domain_results *r);

/* domain_results_error: counts an unexpected status, remembering the first. */
void domain_results_error(domain_results *r, const char *where, int status);

/* domain_cycles: percentile p of h with the timer overhead subtracted. */
uint64_t domain_cycles(const domain_results *r, hist *h, double p);

#endif /* BENCH_DOMAIN_RESULTS_H */
