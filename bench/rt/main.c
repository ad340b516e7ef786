/*
 * bench_rt: the executive's timing costs, each beside its baseline.
 *
 *   1. Timer wakeup latency: keel's periodic release path (keel-latency's
 *      measurement) and cyclictest (clock_nanosleep, Debian's rt-tests), same
 *      interval, priority, CPU and sample count, alternating in rounds within
 *      one run. Both record every sample in ns; p50, p99, p99.9 and max.
 *   2. Context switch between two keel tasks: a LO-priority job triggers a
 *      higher-priority sporadic task on the same CPU; the time from the
 *      trigger to the sporadic job running. Baseline: the same hand-off between
 *      two raw SCHED_FIFO pthreads through a semaphore.
 *   3. Job release overhead: from the task's wakeup to its job function's
 *      first instruction, without a budget, with the default high-resolution
 *      budget timer, and with KEEL_RT_TICK_BUDGETS.
 *
 * Usage: bench_rt [--quick] [--csv FILE] [--png FILE]
 * Prints the table; CSV and PNG (the two latency distributions) on request.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "keel/rt.h"
#include "latency.h"
#include "plot.h"

#define PRIORITY 80
#define CPU      0

static uint64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

typedef struct series {
    const char *name;
    uint64_t *v;
    uint64_t n, cap;
} series;

static void push(series *s, uint64_t x) {
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4096;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (s->v == NULL) {
            fprintf(stderr, "bench_rt: out of memory\n");
            exit(1);
        }
    }
    s->v[s->n++] = x;
}

/* ---- 1. wakeup latency ---- */

static int run_cyclictest(uint64_t loops, series *out) {
    char cmd[256];
    snprintf(cmd, sizeof cmd,
             "cyclictest -N -v -q -m -d 0 -i 1000 -p %d -a %d -l %" PRIu64 " 2>/dev/null", PRIORITY,
             CPU, loops);
    FILE *p = popen(cmd, "r");
    if (p == NULL)
        return -1;
    char line[256];
    uint64_t got = 0;
    while (fgets(line, sizeof line, p) != NULL) {
        unsigned thread;
        unsigned long long cycle, value;
        if (sscanf(line, " %u: %llu: %llu", &thread, &cycle, &value) == 3) {
            push(out, value);
            got++;
        }
    }
    int st = pclose(p);
    return got == loops && st == 0 ? 0 : -1;
}

static int run_keel(uint64_t loops, series *out, bool *fifo) {
    latency_params p = {.interval_ns = 1000000,
                        .loops = loops,
                        .priority = PRIORITY,
                        .cpu = CPU,
                        .mlock = true,
                        .quiet = true};
    latency_result r;
    if (latency_run(&p, &r) != 0)
        return -1;
    for (uint64_t i = 0; i < r.count; i++)
        push(out, r.samples[i]);
    *fifo = r.fifo;
    free(r.samples);
    return 0;
}

/* ---- 2. context switch ---- */

typedef struct handoff {
    keel_rt *rt;
    unsigned target;
    series *samples;
    uint64_t want;
} handoff;

static handoff hand;

static keel_status trigger_job(const keel_rt_job *job) {
    (void)job;
    return keel_rt_trigger(hand.rt, hand.target);
}

static keel_status sporadic_job(const keel_rt_job *job) {
    /* release = the trigger's instant; start = this thread running */
    if (hand.samples->n < hand.want)
        push(hand.samples, job->start - job->release);
    return KEEL_OK;
}

static int keel_switch(uint64_t count, series *out) {
    static _Alignas(KEEL_RT_REGION_ALIGN) unsigned char region[1 << 17];
    keel_rt_config c = {.clock = KEEL_RT_REAL,
                        .max_tasks = 2,
                        .cpu = CPU,
                        .fifo_base = PRIORITY - 1,
                        .flags = KEEL_RT_QUIET};
    keel_rt *rt;
    unsigned low;
    if (keel_rt_create(&c, region, sizeof region, &rt) != KEEL_OK)
        return -1;
    keel_rt_task_config lo = {.name = "low", .priority = 1, .period = 200000, .job = trigger_job};
    keel_rt_task_config hi = {.name = "high",
                              .kind = KEEL_RT_SPORADIC,
                              .priority = 2,
                              .period = 100000,
                              .job = sporadic_job};
    hand = (handoff){rt, 0, out, count};
    if (keel_rt_task_add(rt, &lo, &low) != KEEL_OK ||
        keel_rt_task_add(rt, &hi, &hand.target) != KEEL_OK || keel_rt_start(rt) != KEEL_OK)
        return -1;
    while (__atomic_load_n(&out->n, __ATOMIC_RELAXED) < count) {
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    keel_rt_stop(rt);
    out->n = count < out->n ? count : out->n;
    return 0;
}

/* The baseline: two raw FIFO threads on one CPU, a semaphore between them. */
static sem_t go_high;
static _Atomic uint64_t posted_at;
static _Atomic bool raw_done;
static series *raw_out;
static uint64_t raw_want;

static void *raw_high(void *arg) {
    (void)arg;
    while (!atomic_load(&raw_done)) {
        sem_wait(&go_high);
        uint64_t now = mono_ns();
        if (raw_out->n < raw_want)
            push(raw_out, now - atomic_load(&posted_at));
        else
            atomic_store(&raw_done, true);
    }
    return NULL;
}

static void *raw_low(void *arg) {
    (void)arg;
    uint64_t next = mono_ns();
    while (!atomic_load(&raw_done)) {
        next += 200000;
        struct timespec ts = {(time_t)(next / 1000000000ull), (long)(next % 1000000000ull)};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        atomic_store(&posted_at, mono_ns());
        sem_post(&go_high);
    }
    sem_post(&go_high);
    return NULL;
}

static int start_fifo_thread(pthread_t *t, void *(*fn)(void *), int prio) {
    pthread_attr_t a;
    pthread_attr_init(&a);
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(CPU, &set);
    pthread_attr_setaffinity_np(&a, sizeof set, &set);
    struct sched_param sp = {.sched_priority = prio};
    pthread_attr_setinheritsched(&a, PTHREAD_EXPLICIT_SCHED);
    pthread_attr_setschedpolicy(&a, SCHED_FIFO);
    pthread_attr_setschedparam(&a, &sp);
    int err = pthread_create(t, &a, fn, NULL);
    if (err == EPERM) {
        pthread_attr_setinheritsched(&a, PTHREAD_INHERIT_SCHED);
        err = pthread_create(t, &a, fn, NULL);
    }
    pthread_attr_destroy(&a);
    return err;
}

static int raw_switch(uint64_t count, series *out) {
    raw_out = out;
    raw_want = count;
    atomic_store(&raw_done, false);
    sem_init(&go_high, 0, 0);
    pthread_t h, l;
    if (start_fifo_thread(&h, raw_high, PRIORITY) != 0 ||
        start_fifo_thread(&l, raw_low, PRIORITY - 1) != 0)
        return -1;
    pthread_join(l, NULL);
    pthread_join(h, NULL);
    sem_destroy(&go_high);
    return 0;
}

/* ---- 3. release overhead ---- */

static series *overhead_out;
static uint64_t overhead_want;

static keel_status overhead_job(const keel_rt_job *job) {
    uint64_t now = keel_rt_now(job->rt);
    if (overhead_out->n < overhead_want)
        push(overhead_out, now - job->start);
    return KEEL_OK;
}

static int release_overhead(uint64_t count, bool budget, unsigned flags, series *out) {
    static _Alignas(KEEL_RT_REGION_ALIGN) unsigned char region[1 << 17];
    keel_rt_config c = {.clock = KEEL_RT_REAL,
                        .max_tasks = 1,
                        .cpu = CPU,
                        .fifo_base = PRIORITY,
                        .flags = KEEL_RT_QUIET | flags};
    keel_rt *rt;
    unsigned id;
    overhead_out = out;
    overhead_want = count;
    keel_rt_task_config t = {.name = "job",
                             .priority = 1,
                             .period = 200000,
                             .wcet = budget ? 100000 : 0,
                             .job = overhead_job};
    if (keel_rt_create(&c, region, sizeof region, &rt) != KEEL_OK ||
        keel_rt_task_add(rt, &t, &id) != KEEL_OK || keel_rt_start(rt) != KEEL_OK)
        return -1;
    while (__atomic_load_n(&out->n, __ATOMIC_RELAXED) < count) {
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    keel_rt_stop(rt);
    return 0;
}

/* ---- report ---- */

typedef struct row {
    const char *what;
    series *s;
} row;

static uint64_t q(series *s, double p) {
    return latency_quantile(s->v, s->n, p);
}

int main(int argc, char **argv) {
    bool quick = false;
    const char *csv = NULL, *png = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = true;
        else if (strcmp(argv[i], "--csv") == 0 && i + 1 < argc)
            csv = argv[++i];
        else if (strcmp(argv[i], "--png") == 0 && i + 1 < argc)
            png = argv[++i];
        else {
            fprintf(stderr, "usage: bench_rt [--quick] [--csv FILE] [--png FILE]\n");
            return 2;
        }
    }
    uint64_t per_round = quick ? 1000 : 5000, rounds = quick ? 4 : 8, count = quick ? 2000 : 20000;
    struct utsname u;
    uname(&u);
    char cpu_model[300] = "unknown CPU";
    FILE *ci = fopen("/proc/cpuinfo", "r");
    if (ci != NULL) {
        char line[256];
        while (fgets(line, sizeof line, ci) != NULL)
            if (strncmp(line, "model name", 10) == 0) {
                char *colon = strchr(line, ':');
                snprintf(cpu_model, sizeof cpu_model, "%s", colon ? colon + 2 : line);
                cpu_model[strcspn(cpu_model, "\n")] = '\0';
                break;
            }
        fclose(ci);
    }
    printf("bench_rt: Linux %s (%s), %s, %ld CPUs; SCHED_FIFO %d on CPU %d, interval 1 ms\n",
           u.release, u.machine, cpu_model, sysconf(_SC_NPROCESSORS_ONLN), PRIORITY, CPU);

    static series keel_lat = {.name = "keel wakeup latency"},
                  cyc_lat = {.name = "cyclictest wakeup latency"};
    bool fifo = false;
    if (!bench_on_path("cyclictest")) {
        fprintf(stderr, "bench_rt: cyclictest not found (install rt-tests)\n");
        return 1;
    }
    for (uint64_t r = 0; r < rounds; r++) {
        printf("round %" PRIu64 "/%" PRIu64 ": keel %" PRIu64 " wakeups, cyclictest %" PRIu64
               " wakeups...\n",
               r + 1, rounds, per_round, per_round);
        fflush(stdout);
        if (run_keel(per_round, &keel_lat, &fifo) != 0 ||
            run_cyclictest(per_round, &cyc_lat) != 0) {
            fprintf(stderr, "bench_rt: a latency run failed\n");
            return 1;
        }
    }
    static series keel_sw = {.name = "keel task switch (trigger to sporadic job)"},
                  raw_sw = {.name = "raw FIFO threads (sem_post to wakeup)"},
                  rel = {.name = "job release, no budget (wakeup to job)"},
                  rel_b = {.name = "job release, with budget (wakeup to job)"},
                  rel_t = {.name = "job release, tick budget (wakeup to job)"};
    if (keel_switch(count, &keel_sw) != 0 || raw_switch(count, &raw_sw) != 0 ||
        release_overhead(count, false, 0, &rel) != 0 ||
        release_overhead(count, true, 0, &rel_b) != 0 ||
        release_overhead(count, true, KEEL_RT_TICK_BUDGETS, &rel_t) != 0) {
        fprintf(stderr, "bench_rt: a measurement failed to start\n");
        return 1;
    }
    row rows[] = {{"wakeup latency: keel", &keel_lat}, {"wakeup latency: cyclictest", &cyc_lat},
                  {"task switch: keel", &keel_sw},     {"task switch: raw pthreads", &raw_sw},
                  {"job release: no budget", &rel},    {"job release: hrtimer budget", &rel_b},
                  {"job release: tick budget", &rel_t}};
    unsigned nrows = sizeof rows / sizeof rows[0];
    for (unsigned i = 0; i < nrows; i++)
        latency_sort(rows[i].s->v, rows[i].s->n);
    printf("%s\n", fifo ? "keel ran with SCHED_FIFO" : "keel ran DEGRADED (no SCHED_FIFO)");
    printf("%-30s %8s %10s %10s %10s %10s  (us)\n", "measurement", "samples", "p50", "p99", "p99.9",
           "max");
    for (unsigned i = 0; i < nrows; i++) {
        series *s = rows[i].s;
        printf("%-30s %8" PRIu64 " %10.3f %10.3f %10.3f %10.3f\n", rows[i].what, s->n,
               (double)q(s, 0.5) / 1e3, (double)q(s, 0.99) / 1e3, (double)q(s, 0.999) / 1e3,
               (double)s->v[s->n - 1] / 1e3);
    }
    double d50 = ((double)q(&keel_lat, 0.5) - (double)q(&cyc_lat, 0.5)) / 1e3;
    double d99 = ((double)q(&keel_lat, 0.99) - (double)q(&cyc_lat, 0.99)) / 1e3;
    printf("keel - cyclictest: p50 %+.3f us, p99 %+.3f us (goal: within 1 us): %s\n", d50, d99,
           d50 <= 1.0 && d99 <= 1.0 ? "met" : "NOT met in this run");
    if (csv != NULL) {
        FILE *f = fopen(csv, "w");
        if (f == NULL) {
            fprintf(stderr, "bench_rt: %s: %s\n", csv, strerror(errno));
            return 1;
        }
        fprintf(f, "measurement,samples,p50_ns,p99_ns,p999_ns,max_ns,kernel\n");
        for (unsigned i = 0; i < nrows; i++) {
            series *s = rows[i].s;
            fprintf(f, "%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%s\n",
                    rows[i].what, s->n, q(s, 0.5), q(s, 0.99), q(s, 0.999), s->v[s->n - 1],
                    u.release);
        }
        fclose(f);
    }
    if (png != NULL) {
        int status;
        FILE *g = bench_gnuplot_open(png, &status);
        if (g != NULL) {
            fprintf(g, "set terminal pngcairo size 1000,520 font 'sans,10'\nset output '%s'\n",
                    png);
            fprintf(g,
                    "set title 'Timer wakeup latency, SCHED_FIFO %d, 1 ms interval: keel vs "
                    "cyclictest (Linux %s)'\n",
                    PRIORITY, u.release);
            fprintf(g, "set termoption noenhanced\nset xlabel 'latency (us)'\nset ylabel "
                       "'fraction of wakeups above (1 - CDF)'\nset logscale xy\nset grid\n"
                       "set key top right\n");
            fprintf(g, "plot '-' using 1:2 with lines lw 2 title 'keel', '-' using 1:2 with "
                       "lines lw 2 dt 2 title 'cyclictest'\n");
            series *both[2] = {&keel_lat, &cyc_lat};
            for (unsigned k = 0; k < 2; k++) {
                series *s = both[k];
                /* every sample of the top 1%, a sample of the rest */
                for (uint64_t i = 0; i < s->n; i += i < s->n - s->n / 100 ? s->n / 2000 + 1 : 1)
                    fprintf(g, "%.3f %.6g\n", (double)s->v[i] / 1e3,
                            1.0 - (double)i / (double)s->n);
                fprintf(g, "%.3f %.6g\ne\n", (double)s->v[s->n - 1] / 1e3, 1.0 / (double)s->n);
            }
            bench_gnuplot_close(g);
        }
    }
    return 0;
}
