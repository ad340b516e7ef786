/*
 * latency.h - timer wakeup latency through keel's executive, in the style of
 * cyclictest: one periodic keel task at a SCHED_FIFO priority; each job's
 * latency is the time from its nominal release (an absolute CLOCK_MONOTONIC
 * instant) to the moment its thread runs again, exactly as cyclictest measures
 * clock_nanosleep wakeups. Like cyclictest it holds /dev/cpu_dma_latency at 0
 * (no deep C-states) while measuring, where permitted. Shared by keel-latency
 * and bench/rt.
 */
#ifndef KEEL_LATENCY_H
#define KEEL_LATENCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct latency_params {
    uint64_t interval_ns; /* period of the measuring task */
    uint64_t loops;       /* wakeups to measure */
    int priority;         /* SCHED_FIFO priority (1..98) */
    int cpu;              /* CPU to pin to, or -1 */
    bool mlock;           /* lock memory, as cyclictest -m */
    bool quiet;           /* no warnings on stderr */
} latency_params;

typedef struct latency_result {
    uint64_t *samples; /* ns, in order; `count` of them (malloc'd: free it) */
    uint64_t count;
    bool fifo; /* SCHED_FIFO was in force */
    bool memory_locked;
    uint64_t skipped; /* releases missed entirely (overruns) */
} latency_result;

/* latency_run: measures; returns 0, or -1 with a message on stderr. */
int latency_run(const latency_params *p, latency_result *out);

/* Sorts samples (ascending) and returns the p-quantile (nearest rank). */
void latency_sort(uint64_t *samples, uint64_t count);
uint64_t latency_quantile(const uint64_t *sorted, uint64_t count, double p);

#endif /* KEEL_LATENCY_H */
