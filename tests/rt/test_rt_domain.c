/*
 * Tasks bound to protection domains: a job that panics or faults fails that
 * job only (counted, reported as a FAIL event with the status), the domain
 * recovers, and the task's next job runs inside it again.
 */
#include <stdatomic.h>
#include <time.h>

#include "../domain/inject.h"
#include "keel/rt.h"
#include "keel_test.h"

#define MS 1000000ull

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static _Alignas(KEEL_RT_REGION_ALIGN) unsigned char region[1u << 20];
static keel_rt_task_stats stats;

static keel_status plugin_init(keel_domain *domain, void *context) {
    (void)domain;
    (void)context;
    return KEEL_OK;
}

static keel_domain *make_domain(const char *name) {
    static bool system_ready;
    if (!system_ready) {
        if (keel_domain_system_init(1 << 16, 64) != KEEL_OK)
            return NULL;
        system_ready = true;
    }
    keel_domain_config c = {
        .name = name, .heap_size = 64 * 1024, .table_capacity = 4, .init = plugin_init};
    keel_domain *d;
    return keel_domain_create(&c, &d) == KEEL_OK ? d : NULL;
}

/* Job 2 panics, job 5 divides by zero (a real SIGFPE), job 8 returns an error. */
static _Atomic unsigned ran_inside;
static keel_status faulty_job(const keel_rt_job *job) {
    if (keel_domain_current() == NULL)
        return KEEL_ECORRUPT; /* must run inside the domain */
    atomic_fetch_add(&ran_inside, 1);
    switch (job->index % 9) {
    case 2:
        keel_panic("job %u failed on purpose", (unsigned)job->index);
    case 5:
        return divide_by_zero() == 0 ? KEEL_OK : KEEL_OK;
    case 8:
        return KEEL_EINVAL;
    default:
        return KEEL_OK;
    }
}

typedef struct fail_log {
    keel_status status[16];
    uint64_t job[16];
    unsigned n;
    unsigned wrong_completions; /* jobs that should have failed but completed */
} fail_log;

static void on_event(void *ctx, const keel_rt_event *ev) {
    fail_log *log = ctx;
    if (ev->kind == KEEL_RT_EV_FAIL && log->n < 16) {
        log->status[log->n] = ev->status;
        log->job[log->n++] = ev->job;
    }
    if (ev->kind == KEEL_RT_EV_COMPLETE && ev->job % 3 == 2)
        log->wrong_completions++;
}

KEEL_TEST(simulated_domain_bound_job_fails_alone_and_the_domain_recovers) {
    keel_domain *d = make_domain("sim-plugin");
    CHECK(d != NULL);
    static fail_log log;
    log.n = 0;
    keel_rt_config c = {
        .clock = KEEL_RT_SIMULATED, .max_tasks = 2, .trace = on_event, .trace_context = &log};
    keel_rt *rt;
    CHECK_OK(keel_rt_create(&c, region, sizeof region, &rt));
    unsigned bound, plain;
    keel_rt_task_config t = {.name = "plugin",
                             .priority = 1,
                             .period = 10 * MS,
                             .wcet = 1 * MS,
                             .job = faulty_job,
                             .domain = d};
    keel_rt_task_config other = {.name = "other", .priority = 2, .period = 5 * MS, .wcet = 1 * MS};
    CHECK_OK(keel_rt_task_add(rt, &t, &bound));
    CHECK_OK(keel_rt_task_add(rt, &other, &plain));
    atomic_store(&ran_inside, 0);
    CHECK_OK(keel_rt_start(rt));
    CHECK_OK(keel_rt_sim_run(rt, 180 * MS - 1)); /* jobs 0..17 */
    CHECK_OK(keel_rt_stop(rt));
    keel_rt_task_stats_get(rt, bound, &stats);
    CHECK_EQ(stats.released, 18);
    CHECK_EQ(stats.failed, 6);
    CHECK_EQ(stats.completed, 12);
    CHECK_EQ(atomic_load(&ran_inside), 18); /* every job ran, inside the domain */
    CHECK_EQ(log.n, 6);
    keel_status expect[3] = {KEEL_EPANIC, KEEL_EFAULT, KEEL_EINVAL};
    for (unsigned i = 0; i < log.n; i++) {
        CHECK_STATUS(log.status[i], expect[i % 3]);
        CHECK_EQ(log.job[i], (i / 3) * 9 + 2 + (i % 3) * 3);
    }
    keel_domain_stats ds;
    keel_domain_get_stats(d, &ds);
    CHECK_EQ(ds.failures, 4);
    CHECK_EQ(ds.recoveries, 4);
    CHECK_EQ(keel_domain_get_state(d), KEEL_DOMAIN_RUNNING);
    keel_rt_task_stats_get(rt, plain, &stats);
    CHECK_EQ(stats.failed, 0); /* the other task never noticed */
    CHECK_EQ(stats.deadline_misses, 0);
    CHECK_OK(keel_domain_destroy(d));
}

static void nap(void) {
    struct timespec ts = {0, 2 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

KEEL_TEST(real_domain_bound_job_fails_alone_and_the_next_job_runs) {
    keel_domain *d = make_domain("real-plugin");
    CHECK(d != NULL);
    static fail_log log;
    log = (fail_log){0};
    keel_rt_config c = {.clock = KEEL_RT_REAL,
                        .max_tasks = 1,
                        .cpu = 0,
                        .flags = KEEL_RT_QUIET | (SANITIZED ? KEEL_RT_NO_MLOCK : 0u),
                        .trace = on_event,
                        .trace_context = &log};
    keel_rt *rt;
    CHECK_OK(keel_rt_create(&c, region, sizeof region, &rt));
    unsigned id;
    keel_rt_task_config t = {.name = "plugin",
                             .priority = 1,
                             .period = 1 * MS,
                             .wcet = 500000,
                             .job = faulty_job,
                             .domain = d};
    CHECK_OK(keel_rt_task_add(rt, &t, &id));
    atomic_store(&ran_inside, 0);
    CHECK_OK(keel_rt_start(rt));
    /* Wait for failures, not for releases: on a loaded machine a late job's
     * successors are skipped, and a skipped index never runs (nor fails). */
    bool done = false;
    for (unsigned spin = 0; spin < 30000 && !done; spin++) {
        keel_rt_task_stats_get(rt, id, &stats);
        done = stats.failed >= 9 && stats.completed >= 18;
        if (!done)
            nap();
    }
    CHECK(done);
    CHECK_OK(keel_rt_stop(rt));
    keel_rt_task_stats_get(rt, id, &stats);
    CHECK_EQ(stats.released, stats.completed + stats.failed);
    CHECK_EQ(atomic_load(&ran_inside), stats.released); /* every job ran inside */
    CHECK_EQ(log.wrong_completions, 0);
    CHECK(stats.failed >= 9);
    CHECK(log.n >= 9 && log.n <= 16);
    if (log.n < 16)
        CHECK_EQ(log.n, stats.failed);
    for (unsigned i = 0; i < log.n; i++) {
        uint64_t phase = log.job[i] % 9;
        CHECK(phase == 2 || phase == 5 || phase == 8);
        CHECK_STATUS(log.status[i], phase == 2   ? KEEL_EPANIC
                                    : phase == 5 ? KEEL_EFAULT
                                                 : KEEL_EINVAL);
    }
    CHECK_EQ(keel_domain_get_state(d), KEEL_DOMAIN_RUNNING);
    CHECK_OK(keel_domain_destroy(d));
}

KEEL_TEST_MAIN()
