/*
 * cpu.c - pinning and wall time (cpu.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sched_setaffinity */
#endif
#include "cpu.h"

#include <sched.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int bench_pin_cpu(int cpu, int *cpus) {
    cpu_set_t set;
    *cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (cpu < 0 && sched_getaffinity(0, sizeof set, &set) == 0) {
        for (int i = 0; i < CPU_SETSIZE; i++) {
            if (CPU_ISSET((size_t)i, &set)) {
                cpu = i;
            }
        }
    }
    CPU_ZERO(&set);
    CPU_SET((size_t)(cpu < 0 ? 0 : cpu), &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) {
        printf("  (could not pin to CPU %d: timings may migrate between CPUs)\n", cpu);
        return -1;
    }
    return cpu;
}

double bench_now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
