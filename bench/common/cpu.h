/*
 * cpu.h - where and when a benchmark runs: pinning to one CPU, wall time.
 */
#ifndef BENCH_COMMON_CPU_H
#define BENCH_COMMON_CPU_H

/*
 * bench_pin_cpu: pins the calling process to CPU `cpu`, or, if `cpu` < 0, to
 * the last CPU it may run on. Stores the number of online CPUs in *cpus.
 * Returns the CPU pinned to, or -1 after printing that it could not pin.
 */
int bench_pin_cpu(int cpu, int *cpus);

/* bench_now_seconds: CLOCK_MONOTONIC, in seconds. */
double bench_now_seconds(void);

#endif /* BENCH_COMMON_CPU_H */
