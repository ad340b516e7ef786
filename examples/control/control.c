/*
 * examples/control: a motor speed loop at HI criticality beside LO telemetry
 * and logging tasks that overrun their budgets tenfold. The budgets throttle
 * the LO tasks, so the control loop keeps every deadline; the analysis says
 * so before the run and the response-time histogram shows it after.
 *
 *   control [--real] [--seconds N] [--png FILE] [--csv FILE]
 *
 * By default everything runs on keel's simulated clock (deterministic: the
 * same output every time). --real runs the same tasks on Linux threads, with
 * the LO jobs burning real CPU time.
 *
 * The plant is a DC motor: J dw/dt = K i - b w, driven by a PI controller
 * towards a speed set-point that steps from 100 to 150 rad/s half-way.
 * The controller hands each sample to the logger through a ring buffer
 * guarded by an SRP resource.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keel/keel.h"

#define US 1000ull
#define MS 1000000ull

/* ---- the plant and the controller (the HI task's state) ---- */

typedef struct motor {
    double w;        /* speed, rad/s */
    double integral; /* PI integrator */
    double target;   /* set-point */
    double worst_error_settled;
    uint64_t steps;
} motor;

static motor plant = {.target = 100.0};
static uint64_t control_period = 1 * MS;
static uint64_t total_steps;

/* The ring the controller fills and the logger drains (resource "ring"). */
static struct {
    double sample[256];
    unsigned head, tail;
    uint64_t dropped, logged;
} ring;
static unsigned ring_resource;

static keel_status control_job(const keel_rt_job *job) {
    const double J = 0.01, K = 0.5, b = 0.02, kp = 0.8, ki = 12.0;
    double dt = (double)control_period / 1e9;
    if (plant.steps == total_steps / 2)
        plant.target = 150.0;
    double error = plant.target - plant.w;
    plant.integral += error * dt;
    double current = kp * error + ki * plant.integral;
    if (current > 40)
        current = 40;
    if (current < -40)
        current = -40;
    for (int k = 0; k < 10; k++) /* the plant, integrated finely */
        plant.w += (K * current - b * plant.w) / J * (dt / 10);
    plant.steps++;
    /* settled: more than 0.3 s after each set-point change */
    uint64_t since = plant.steps % (total_steps / 2 ? total_steps / 2 : 1);
    if (since * control_period > 300 * MS && fabs(error) > plant.worst_error_settled)
        plant.worst_error_settled = fabs(error);
    if (keel_rt_lock(job->rt, ring_resource) == KEEL_OK) {
        unsigned next = (ring.head + 1) % 256;
        if (next == ring.tail)
            ring.dropped++;
        else {
            ring.sample[ring.head] = plant.w;
            ring.head = next;
        }
        keel_rt_unlock(job->rt, ring_resource);
    }
    return KEEL_OK;
}

/* ---- the LO tasks ---- */

static bool real_mode;

/* In real mode a LO job really runs this long; the simulation declares it. */
static void burn(uint64_t ns) {
    if (!real_mode)
        return;
    struct timespec a, b;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
    do {
        for (volatile int i = 0; i < 1000; i++)
            ;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
    } while ((uint64_t)(b.tv_sec - a.tv_sec) * 1000000000ull + (uint64_t)b.tv_nsec -
                 (uint64_t)a.tv_nsec <
             ns);
}

static keel_status logging_job(const keel_rt_job *job) {
    if (keel_rt_lock(job->rt, ring_resource) == KEEL_OK) {
        while (ring.tail != ring.head) {
            ring.tail = (ring.tail + 1) % 256;
            ring.logged++;
        }
        keel_rt_unlock(job->rt, ring_resource);
    }
    burn(10 * MS); /* formatting and writing: ten times its 1 ms budget */
    return KEEL_OK;
}

static keel_status telemetry_job(const keel_rt_job *job) {
    (void)job;
    burn(3 * MS); /* compression gone wrong: ten times its 300 us budget */
    return KEEL_OK;
}

/* ---- main ---- */

static _Alignas(KEEL_RT_REGION_ALIGN) unsigned char region[1 << 18];

static void print_histogram(const keel_hist *h, uint64_t deadline) {
    uint64_t peak = 0;
    for (unsigned b = 0; b < KEEL_HIST_BUCKETS; b++)
        if (h->bucket[b] > peak)
            peak = h->bucket[b];
    for (unsigned b = 0; b < KEEL_HIST_BUCKETS; b++) {
        if (h->bucket[b] == 0)
            continue;
        int bar = (int)(50 * h->bucket[b] / (peak ? peak : 1));
        printf("  %8.1f - %8.1f us %8" PRIu64 " |%.*s\n", (double)keel_hist_bucket_low(b) / 1e3,
               (double)(keel_hist_bucket_high(b) < h->max ? keel_hist_bucket_high(b) : h->max) /
                   1e3,
               h->bucket[b], bar, "##################################################");
    }
    printf("  deadline %.1f us\n", (double)deadline / 1e3);
}

int main(int argc, char **argv) {
    uint64_t seconds = 10;
    const char *png = NULL, *csv = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--real") == 0)
            real_mode = true;
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--png") == 0 && i + 1 < argc)
            png = argv[++i];
        else if (strcmp(argv[i], "--csv") == 0 && i + 1 < argc)
            csv = argv[++i];
        else {
            fprintf(stderr, "usage: control [--real] [--seconds N] [--png FILE] [--csv FILE]\n");
            return 2;
        }
    }
    if (seconds == 0)
        seconds = 1;
    total_steps = seconds * 1000000000ull / control_period;

    keel_rt_config config = {.clock = real_mode ? KEEL_RT_REAL : KEEL_RT_SIMULATED,
                             .max_tasks = 3,
                             .max_resources = 1,
                             .seed = 2024};
    keel_rt *rt;
    keel_status st = keel_rt_create(&config, region, sizeof region, &rt);
    if (st == KEEL_OK)
        st = keel_rt_resource_add(rt, "ring", &ring_resource);
    /* The ring is held for at most 20 us by either task. */
    keel_rt_section ring_section = {.resource = ring_resource, .offset = 0, .length = 20 * US};
    keel_rt_task_config tasks[] = {
        /* LO, but the most urgent: without budgets it would starve the loop. */
        {.name = "telemetry",
         .priority = 3,
         .period = 2 * MS,
         .wcet = 300 * US,
         .criticality = KEEL_CRIT_LO,
         .job = telemetry_job,
         .exec = {KEEL_RT_EXEC_FIXED, 0, 3 * MS}},
        {.name = "control",
         .priority = 2,
         .period = control_period,
         .deadline = 900 * US,
         .wcet = 200 * US,
         .wcet_hi = 300 * US,
         .criticality = KEEL_CRIT_HI,
         .job = control_job,
         .sections = &ring_section,
         .section_count = 1,
         .exec = {KEEL_RT_EXEC_UNIFORM, 120 * US, 200 * US}},
        {.name = "logging",
         .priority = 1,
         .period = 10 * MS,
         .wcet = 1 * MS,
         .criticality = KEEL_CRIT_LO,
         .job = logging_job,
         .sections = &ring_section,
         .section_count = 1,
         .exec = {KEEL_RT_EXEC_FIXED, 0, 10 * MS}},
    };
    unsigned ids[3];
    for (unsigned i = 0; i < 3 && st == KEEL_OK; i++)
        st = keel_rt_task_add(rt, &tasks[i], &ids[i]);
    if (st != KEEL_OK) {
        fprintf(stderr, "control: declaring the tasks failed: %s\n", keel_strerror(st));
        return 1;
    }

    keel_analysis_result bound[3];
    keel_rt_analyse(rt, bound);
    printf("analysis (budgets as execution times):\n");
    for (unsigned i = 0; i < 3; i++)
        printf("  %-10s %s  R = %7.1f us  deadline %7.1f us  %s\n", tasks[i].name,
               tasks[i].criticality == KEEL_CRIT_HI ? "HI" : "LO", (double)bound[i].response / 1e3,
               (double)(tasks[i].deadline ? tasks[i].deadline : tasks[i].period) / 1e3,
               bound[i].schedulable ? "schedulable" : "NOT schedulable");

    if ((st = keel_rt_start(rt)) != KEEL_OK) {
        fprintf(stderr, "control: start failed: %s\n", keel_strerror(st));
        return 1;
    }
    printf("running %" PRIu64 " s on the %s clock; the LO tasks overrun their budgets tenfold\n",
           seconds, real_mode ? "real" : "simulated");
    fflush(stdout);
    if (real_mode) {
        struct timespec ts = {(time_t)seconds, 0};
        nanosleep(&ts, NULL);
    } else {
        keel_rt_sim_run(rt, seconds * 1000000000ull - 1);
    }
    keel_rt_stop(rt);

    keel_rt_report_text(rt, stdout);
    static keel_rt_task_stats s;
    keel_rt_task_stats_get(rt, ids[1], &s);
    printf("\ncontrol loop response times (%" PRIu64 " jobs):\n", s.response.count);
    print_histogram(&s.response, tasks[1].deadline);
    uint64_t lo_throttles = 0, lo_overruns = 0;
    for (unsigned i = 0; i < 3; i += 2) {
        static keel_rt_task_stats lo;
        keel_rt_task_stats_get(rt, ids[i], &lo);
        lo_throttles += lo.throttles;
        lo_overruns += lo.budget_overruns;
    }
    printf("motor: set-point %.0f rad/s, speed %.2f rad/s, worst settled error %.3f rad/s; "
           "%" PRIu64 " samples logged, %" PRIu64 " dropped\n",
           plant.target, plant.w, plant.worst_error_settled, ring.logged, ring.dropped);
    printf("HI deadlines held: %" PRIu64 " missed of %" PRIu64 " (worst response %.1f us, "
           "bound %.1f us); LO budget overruns %" PRIu64 ", throttles %" PRIu64 "\n",
           s.deadline_misses, s.completed, (double)s.response.max / 1e3,
           (double)bound[1].response / 1e3, lo_overruns, lo_throttles);
    if (csv != NULL) {
        FILE *f = fopen(csv, "w");
        if (f != NULL) {
            keel_rt_report_csv(rt, f);
            fclose(f);
        }
    }
    if (png != NULL) {
        FILE *g = popen("gnuplot", "w");
        if (g == NULL || keel_rt_report_plot(rt, g, png,
                                             "examples/control: response times "
                                             "(LO tasks overrunning tenfold)") != KEEL_OK)
            fprintf(stderr, "control: PNG skipped\n");
        if (g != NULL && pclose(g) != 0)
            fprintf(stderr, "control: gnuplot failed (is gnuplot installed?)\n");
    }
    return s.deadline_misses == 0 ? 0 : 1;
}
