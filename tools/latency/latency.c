/* The measuring task: a keel real-mode executive with one periodic task. */
#include "latency.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "keel/rt.h"

typedef struct probe {
    uint64_t *samples;
    uint64_t want;
    _Atomic uint64_t have;
} probe;

static keel_status measure(const keel_rt_job *job) {
    probe *p = job->arg;
    uint64_t n = atomic_load_explicit(&p->have, memory_order_relaxed);
    if (n < p->want) {
        p->samples[n] = job->start - job->release;
        atomic_store_explicit(&p->have, n + 1, memory_order_release);
    }
    return KEEL_OK;
}

/* As cyclictest does by default: ask for no deep C-states while measuring
 * (PM QoS holds the request while the file stays open). -1 if not permitted. */
static int hold_dma_latency_zero(void) {
    int fd = open("/dev/cpu_dma_latency", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int32_t zero = 0;
    if (write(fd, &zero, sizeof zero) != (ssize_t)sizeof zero) {
        close(fd);
        return -1;
    }
    return fd;
}

int latency_run(const latency_params *params, latency_result *out) {
    static _Alignas(KEEL_RT_REGION_ALIGN) unsigned char region[1 << 16];
    probe p = {.want = params->loops};
    p.samples = calloc(params->loops ? params->loops : 1, sizeof *p.samples);
    if (p.samples == NULL) {
        fprintf(stderr, "keel-latency: out of memory for %llu samples\n",
                (unsigned long long)params->loops);
        return -1;
    }
    keel_rt_config c = {.clock = KEEL_RT_REAL,
                        .max_tasks = 1,
                        .cpu = params->cpu,
                        .fifo_base = params->priority,
                        .flags = (params->mlock ? 0u : KEEL_RT_NO_MLOCK) |
                                 (params->quiet ? KEEL_RT_QUIET : 0u)};
    keel_rt *rt;
    keel_status st = keel_rt_create(&c, region, sizeof region, &rt);
    unsigned id;
    keel_rt_task_config t = {
        .name = "latency", .priority = 1, .period = params->interval_ns, .job = measure, .arg = &p};
    if (st == KEEL_OK)
        st = keel_rt_task_add(rt, &t, &id);
    int qos = hold_dma_latency_zero();
    if (st == KEEL_OK)
        st = keel_rt_start(rt);
    if (st != KEEL_OK) {
        fprintf(stderr, "keel-latency: cannot start the executive: %s\n", keel_strerror(st));
        free(p.samples);
        if (qos >= 0)
            close(qos);
        return -1;
    }
    while (atomic_load_explicit(&p.have, memory_order_acquire) < p.want) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    keel_rt_stop(rt);
    if (qos >= 0)
        close(qos);
    keel_rt_system_stats sys;
    keel_rt_system_stats_get(rt, &sys);
    keel_rt_task_stats *ts = malloc(sizeof *ts);
    out->skipped = 0;
    if (ts != NULL && keel_rt_task_stats_get(rt, id, ts) == KEEL_OK)
        out->skipped = ts->skipped;
    free(ts);
    out->samples = p.samples;
    out->count = atomic_load(&p.have);
    out->fifo = sys.fifo;
    out->memory_locked = sys.memory_locked;
    return 0;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

void latency_sort(uint64_t *samples, uint64_t count) {
    qsort(samples, count, sizeof *samples, cmp_u64);
}

uint64_t latency_quantile(const uint64_t *sorted, uint64_t count, double p) {
    if (count == 0)
        return 0;
    double rank = p * (double)count;
    uint64_t k = (uint64_t)rank;
    if ((double)k < rank)
        k++;
    if (k == 0)
        k = 1;
    if (k > count)
        k = count;
    return sorted[k - 1];
}
