/*
 * The executive on Linux threads. These tests check behaviour only: jobs are
 * released in order at exactly offset + k T of the executive's clock, the
 * counters add up, locks exclude, budgets throttle, the mode changes and comes
 * back, stop is clean, a fault in a domain-bound job fails that job only. No
 * check compares a measured time with a threshold: waits poll for progress
 * with a generous limit and fail only if nothing happens at all.
 */
#include <signal.h>
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

static _Alignas(KEEL_RT_REGION_ALIGN) unsigned char region[1u << 21];
static keel_rt_task_stats stats;

static unsigned warnings;
static char last_warning[256];
static void on_warn(void *ctx, const char *message) {
    (void)ctx;
    warnings++;
    snprintf(last_warning, sizeof last_warning, "%s", message);
}

/* The releases the executive skipped, per task (indices below SKIP_SPAN). */
#define SKIP_SPAN 1024
static _Atomic unsigned char skipped_at[3][SKIP_SPAN];
static _Atomic unsigned skip_events[3], skips_beyond;

static void on_event(void *ctx, const keel_rt_event *ev) {
    (void)ctx;
    if (ev->kind != KEEL_RT_EV_SKIP || ev->task >= 3)
        return;
    atomic_fetch_add(&skip_events[ev->task], 1);
    if (ev->job < SKIP_SPAN)
        atomic_fetch_add(&skipped_at[ev->task][ev->job], 1);
    else
        atomic_fetch_add(&skips_beyond, 1);
}

static void skips_clear(void) {
    for (unsigned t = 0; t < 3; t++) {
        atomic_store(&skip_events[t], 0);
        for (unsigned k = 0; k < SKIP_SPAN; k++)
            atomic_store(&skipped_at[t][k], 0);
    }
    atomic_store(&skips_beyond, 0);
}

static keel_rt *real_new(unsigned tasks, unsigned resources, unsigned flags) {
    keel_rt_config c = {.clock = KEEL_RT_REAL,
                        .max_tasks = tasks,
                        .max_resources = resources,
                        .cpu = 0,
                        /* mlockall would try to lock the sanitizer's shadow memory */
                        .flags = flags | (SANITIZED ? KEEL_RT_NO_MLOCK : 0u),
                        .warn = on_warn,
                        .trace = on_event};
    keel_rt *rt = NULL;
    if (keel_rt_create(&c, region, sizeof region, &rt) != KEEL_OK)
        return NULL;
    return rt;
}

static void nap(void) {
    struct timespec ts = {0, 2 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

/* Polls until cond() holds; false after ~60 s of no success (a hung executive). */
#define WAIT_FOR(cond)                                     \
    ({                                                     \
        bool ok_ = false;                                  \
        for (unsigned spin_ = 0; spin_ < 30000; spin_++) { \
            if (cond) {                                    \
                ok_ = true;                                \
                break;                                     \
            }                                              \
            nap();                                         \
        }                                                  \
        ok_;                                               \
    })

static uint64_t completed_of(keel_rt *rt, unsigned task) {
    keel_rt_task_stats_get(rt, task, &stats);
    return stats.completed + stats.failed;
}

/* Per task: the releases its jobs saw, in order. */
typedef struct release_log {
    uint64_t release[256];
    uint64_t index[256];
    _Atomic unsigned n;
    uint64_t period, offset;
    uint64_t stall_job, stall_ns; /* job stall_job runs stall_ns (0: none) */
    bool bad;
} release_log;

static uint64_t monotonic_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static keel_status log_release(const keel_rt_job *job) {
    release_log *log = job->arg;
    if (log->stall_ns != 0 && job->index == log->stall_job) {
        uint64_t until = monotonic_now() + log->stall_ns;
        while (monotonic_now() < until) {
        }
    }
    unsigned n = atomic_load(&log->n);
    if (job->release != log->offset + job->index * log->period)
        log->bad = true;
    if (job->start < job->release)
        log->bad = true;
    if (n < 256) {
        log->release[n] = job->release;
        log->index[n] = job->index;
        atomic_store(&log->n, n + 1);
    }
    return KEEL_OK;
}

KEEL_TEST(real_jobs_are_released_in_order_at_exact_multiples_of_the_period) {
    warnings = 0;
    skips_clear();
    keel_rt *rt = real_new(3, 0, 0);
    CHECK(rt != NULL);
    static release_log logs[3];
    uint64_t periods[3] = {1 * MS, 2 * MS, 5 * MS}, offsets[3] = {0, 3 * MS / 2, 7 * MS};
    unsigned id;
    for (unsigned i = 0; i < 3; i++) {
        logs[i] = (release_log){.period = periods[i], .offset = offsets[i]};
    }
    /* Job 5 of the 1 ms task runs 3.5 ms: the releases it meets (6, 7, 8) are
     * skipped on any machine, so the accounting of skips below is exercised. */
    logs[0].stall_job = 5;
    logs[0].stall_ns = 3500000;
    for (unsigned i = 0; i < 3; i++) {
        keel_rt_task_config t = {.priority = 3 - i,
                                 .period = periods[i],
                                 .offset = offsets[i],
                                 .wcet = periods[i] / 2,
                                 .job = log_release,
                                 .arg = &logs[i]};
        CHECK_OK(keel_rt_task_add(rt, &t, &id));
    }
    CHECK_OK(keel_rt_start(rt));
    CHECK(WAIT_FOR(atomic_load(&logs[2].n) >= 20));
    CHECK_OK(keel_rt_stop(rt));
    for (unsigned i = 0; i < 3; i++) {
        CHECK(!logs[i].bad);
        unsigned n = atomic_load(&logs[i].n);
        for (unsigned k = 1; k < n; k++)
            CHECK(logs[i].index[k] > logs[i].index[k - 1]); /* in order, never twice */
        keel_rt_task_stats_get(rt, i, &stats);
        /* Every release ran or was accounted for; nothing runs after stop. */
        CHECK_EQ(stats.released, stats.completed + stats.failed);
        CHECK_EQ(stats.response.count, stats.completed);
        CHECK_EQ(stats.latency.count, stats.released);
        CHECK_EQ(stats.skipped, atomic_load(&skip_events[i]));
        if (i == 0)
            CHECK(stats.skipped >= 3); /* job 5's stall */
        if (n < 256) {                 /* the log holds every job */
            CHECK_EQ(stats.released, n);
            /* Every index up to the last one used was run once or skipped once,
             * never both. Skips after the last job (it ended past the next
             * releases, on a loaded machine) come last. */
            uint64_t end = stats.released + stats.skipped;
            CHECK(end <= SKIP_SPAN);
            unsigned k = 0;
            for (uint64_t j = 0; j < end && j < SKIP_SPAN; j++) {
                bool ran = k < n && logs[i].index[k] == j;
                CHECK_EQ(ran + atomic_load(&skipped_at[i][j]), 1);
                k += ran;
            }
            CHECK_EQ(k, n);
        }
    }
    CHECK_EQ(atomic_load(&skips_beyond), 0);
    keel_rt_system_stats sys;
    CHECK_OK(keel_rt_system_stats_get(rt, &sys));
    CHECK_EQ(sys.clock, KEEL_RT_REAL);
    CHECK_EQ(sys.cpu, 0);
    if (!sys.fifo)
        CHECK(warnings > 0); /* degraded mode is never silent */
    /* After stop, the counts stay put. */
    uint64_t before = completed_of(rt, 0);
    for (unsigned k = 0; k < 5; k++)
        nap();
    CHECK_EQ(completed_of(rt, 0), before);
}

KEEL_TEST(degraded_mode_is_announced_and_still_runs_every_task) {
    warnings = 0;
    keel_rt *rt = real_new(2, 0, KEEL_RT_NO_FIFO);
    CHECK(rt != NULL);
    static release_log logs[2];
    unsigned id;
    for (unsigned i = 0; i < 2; i++) {
        logs[i] = (release_log){.period = 2 * MS};
        keel_rt_task_config t = {.priority = 1 + i,
                                 .period = 2 * MS,
                                 .wcet = 1 * MS,
                                 .job = log_release,
                                 .arg = &logs[i]};
        CHECK_OK(keel_rt_task_add(rt, &t, &id));
    }
    CHECK_OK(keel_rt_start(rt));
    CHECK(warnings > 0);
    CHECK(strstr(last_warning, "DEGRADED") != NULL);
    CHECK(WAIT_FOR(atomic_load(&logs[0].n) >= 10 && atomic_load(&logs[1].n) >= 10));
    CHECK_OK(keel_rt_stop(rt));
    keel_rt_system_stats sys;
    CHECK_OK(keel_rt_system_stats_get(rt, &sys));
    CHECK(!sys.fifo);
    CHECK(!logs[0].bad && !logs[1].bad);
}

/* Two tasks take the same two resources in opposite nested orders; a third
 * only one. Inside each section a counter checks nobody else is inside. */
static _Atomic int inside[2];
static _Atomic bool overlap;
static unsigned res_a, res_b;

static void spin_a_little(void) {
    for (volatile unsigned i = 0; i < 2000; i++)
        ;
}

static keel_status take(keel_rt *rt, unsigned r) {
    keel_status st = keel_rt_lock(rt, r);
    if (st != KEEL_OK)
        return st;
    if (atomic_fetch_add(&inside[r == res_a ? 0 : 1], 1) != 0)
        atomic_store(&overlap, true);
    return KEEL_OK;
}

static keel_status give(keel_rt *rt, unsigned r) {
    atomic_fetch_sub(&inside[r == res_a ? 0 : 1], 1);
    return keel_rt_unlock(rt, r);
}

static keel_status ab_job(const keel_rt_job *job) {
    keel_rt *rt = job->rt;
    if (take(rt, res_a) != KEEL_OK || take(rt, res_b) != KEEL_OK)
        return KEEL_EINVAL;
    spin_a_little();
    if (give(rt, res_b) != KEEL_OK || give(rt, res_a) != KEEL_OK)
        return KEEL_EINVAL;
    return KEEL_OK;
}

static keel_status ba_job(const keel_rt_job *job) {
    keel_rt *rt = job->rt;
    if (take(rt, res_b) != KEEL_OK)
        return KEEL_EINVAL;
    spin_a_little();
    if (take(rt, res_a) != KEEL_OK)
        return KEEL_EINVAL;
    if (keel_rt_unlock(rt, res_b) != KEEL_EINVAL) /* out of order: refused */
        return KEEL_ECORRUPT;
    if (give(rt, res_a) != KEEL_OK || give(rt, res_b) != KEEL_OK)
        return KEEL_EINVAL;
    return KEEL_OK;
}

static keel_status undeclared_job(const keel_rt_job *job) {
    /* res_b is not declared by this task: refused */
    return keel_rt_lock(job->rt, res_b) == KEEL_EINVAL
               ? take(job->rt, res_a) == KEEL_OK ? give(job->rt, res_a) : KEEL_EINVAL
               : KEEL_ECORRUPT;
}

static void run_opposite_orders(unsigned flags, int cpu, bool expect_no_waits) {
    keel_rt_config c = {.clock = KEEL_RT_REAL,
                        .max_tasks = 3,
                        .max_resources = 2,
                        .cpu = cpu,
                        .flags = flags | KEEL_RT_QUIET | (SANITIZED ? KEEL_RT_NO_MLOCK : 0u)};
    keel_rt *rt;
    CHECK_OK(keel_rt_create(&c, region, sizeof region, &rt));
    atomic_store(&overlap, false);
    CHECK_OK(keel_rt_resource_add(rt, "a", &res_a));
    CHECK_OK(keel_rt_resource_add(rt, "b", &res_b));
    keel_rt_section ab[] = {{.resource = res_a, .length = 100000},
                            {.resource = res_b, .length = 100000}};
    keel_rt_section a_only[] = {{.resource = res_a, .length = 100000}};
    keel_rt_task_config tasks[] = {
        {.name = "ab",
         .priority = 1,
         .period = 1 * MS,
         .job = ab_job,
         .sections = ab,
         .section_count = 2},
        {.name = "ba",
         .priority = 2,
         .period = 1 * MS,
         .offset = 1000,
         .job = ba_job,
         .sections = ab,
         .section_count = 2},
        {.name = "a",
         .priority = 3,
         .period = 2 * MS,
         .job = undeclared_job,
         .sections = a_only,
         .section_count = 1},
    };
    unsigned id;
    for (unsigned i = 0; i < 3; i++)
        CHECK_OK(keel_rt_task_add(rt, &tasks[i], &id));
    CHECK_OK(keel_rt_start(rt));
    CHECK(WAIT_FOR(completed_of(rt, 0) >= 200 && completed_of(rt, 1) >= 200 &&
                   completed_of(rt, 2) >= 100));
    CHECK_OK(keel_rt_stop(rt));
    CHECK(!atomic_load(&overlap));
    for (unsigned i = 0; i < 3; i++) {
        keel_rt_task_stats_get(rt, i, &stats);
        CHECK_EQ(stats.failed, 0);
    }
    keel_rt_system_stats sys;
    CHECK_OK(keel_rt_system_stats_get(rt, &sys));
    if (expect_no_waits && sys.fifo)
        CHECK_EQ(sys.lock_waits, 0); /* SRP on one CPU: a lock never waits */
}

KEEL_TEST(real_srp_locks_exclude_and_never_wait_on_one_cpu) {
    run_opposite_orders(0, 0, true);
}

KEEL_TEST(real_locks_stay_deadlock_free_when_degraded_and_unpinned) {
    /* Time-shared on two CPUs: the opposite nested orders would deadlock with
     * plain mutexes; keel's lock rule waits instead. Finishing is the check. */
    run_opposite_orders(KEEL_RT_NO_FIFO, KEEL_RT_CPU_UNPINNED, false);
}

/* Burns CPU time of the calling thread (budgets count CPU time, not wall time). */
static void burn_cpu(uint64_t ns) {
    struct timespec a, b;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
    do {
        spin_a_little();
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
    } while ((uint64_t)(b.tv_sec - a.tv_sec) * 1000000000ull + (uint64_t)b.tv_nsec -
                 (uint64_t)a.tv_nsec <
             ns);
}

static uint64_t greedy_need;
static keel_status greedy_job(const keel_rt_job *job) {
    (void)job;
    burn_cpu(greedy_need);
    return KEEL_OK;
}

static void check_lo_throttle(unsigned flags, uint64_t need) {
    keel_rt *rt = real_new(1, 0, KEEL_RT_QUIET | flags);
    CHECK(rt != NULL);
    unsigned id;
    greedy_need = need;
    keel_rt_task_config t = {
        .name = "greedy", .priority = 1, .period = 4 * MS, .wcet = 1 * MS, .job = greedy_job};
    CHECK_OK(keel_rt_task_add(rt, &t, &id));
    CHECK_OK(keel_rt_start(rt));
    CHECK(WAIT_FOR(completed_of(rt, 0) >= 3));
    CHECK_OK(keel_rt_stop(rt));
    keel_rt_task_stats_get(rt, 0, &stats);
    /* Each job needs several budgets' worth of CPU: it is throttled (how many
     * times depends on the timer's lateness) and skips the releases it meets. */
    if (stats.budget_overruns < stats.completed)
        fprintf(stderr,
                "  flags %u: completed %" PRIu64 " overruns %" PRIu64 " throttles %" PRIu64
                " skipped %" PRIu64 "\n",
                flags, stats.completed, stats.budget_overruns, stats.throttles, stats.skipped);
    CHECK(stats.completed >= 3);
    CHECK(stats.budget_overruns >= stats.completed);
    CHECK(stats.throttles >= stats.completed);
    CHECK(stats.skipped >= stats.completed);
}

KEEL_TEST(real_lo_budget_overrun_is_throttled_and_counted) {
    check_lo_throttle(0, 6 * MS); /* six budgets */
}

KEEL_TEST(real_tick_budgets_throttle_too) {
    /* CPU-time timers fire up to a tick (<= 10 ms) late: ask for 30 budgets. */
    check_lo_throttle(KEEL_RT_TICK_BUDGETS, 30 * MS);
}

static keel_status hi_overrunning_job(const keel_rt_job *job) {
    burn_cpu(job->index % 2 == 0 ? 3 * MS : 100000); /* past C = 1 ms on even jobs */
    return KEEL_OK;
}

static keel_status lo_job(const keel_rt_job *job) {
    (void)job;
    burn_cpu(100000);
    return KEEL_OK;
}

KEEL_TEST(real_hi_overrun_switches_mode_and_returns_to_lo) {
    keel_rt *rt = real_new(2, 0, KEEL_RT_QUIET);
    CHECK(rt != NULL);
    unsigned id;
    keel_rt_task_config hi = {.name = "hi",
                              .priority = 1,
                              .period = 20 * MS,
                              .wcet = 1 * MS,
                              .wcet_hi = 10 * MS,
                              .criticality = KEEL_CRIT_HI,
                              .job = hi_overrunning_job};
    keel_rt_task_config lo = {
        .name = "lo", .priority = 2, .period = 1 * MS, .wcet = 500000, .job = lo_job};
    CHECK_OK(keel_rt_task_add(rt, &hi, &id));
    CHECK_OK(keel_rt_task_add(rt, &lo, &id));
    CHECK_OK(keel_rt_start(rt));
    keel_rt_system_stats sys;
    CHECK(WAIT_FOR(keel_rt_system_stats_get(rt, &sys) == KEEL_OK && sys.mode_switches_lo >= 3));
    CHECK_OK(keel_rt_stop(rt));
    CHECK_OK(keel_rt_system_stats_get(rt, &sys));
    CHECK(sys.mode_switches_hi >= sys.mode_switches_lo);
    CHECK(sys.mode_switches_hi <= sys.mode_switches_lo + 1);
    keel_rt_task_stats_get(rt, 0, &stats);
    CHECK_EQ(stats.budget_overruns, 0); /* 3 ms < C(HI) = 10 ms */
    CHECK(stats.completed >= 3);
}

static keel_status hi_always_overrunning_job(const keel_rt_job *job) {
    (void)job;
    burn_cpu(200000); /* past C = 50 us on every job: HI mode each time */
    return KEEL_OK;
}

static keel_status lo_greedy_job(const keel_rt_job *job) {
    (void)job;
    burn_cpu(2 * MS); /* twenty budgets: throttled again and again */
    return KEEL_OK;
}

KEEL_TEST(real_throttled_lo_job_survives_many_mode_changes) {
    /* The LO task is always over budget; the HI task enters HI mode on every
     * job. While the LO job sleeps out a throttle, each HI job parks it,
     * unparks it, finds it out of budget and throttles it again. When the
     * signal handler nested that work, each round left two signal frames on
     * the task's stack until the throttle ended (200 rounds here), and the
     * stack overflowed. */
    keel_rt *rt = real_new(2, 0, KEEL_RT_QUIET);
    CHECK(rt != NULL);
    unsigned id;
    /* A long LO period: every HI job (1 ms) meets the LO job throttled. */
    keel_rt_task_config lo = {
        .name = "lo", .priority = 2, .period = 200 * MS, .wcet = 100000, .job = lo_greedy_job};
    keel_rt_task_config hi = {.name = "hi",
                              .priority = 1,
                              .period = 1 * MS,
                              .wcet = 50000,
                              .wcet_hi = 800000,
                              .criticality = KEEL_CRIT_HI,
                              .job = hi_always_overrunning_job};
    CHECK_OK(keel_rt_task_add(rt, &lo, &id));
    CHECK_OK(keel_rt_task_add(rt, &hi, &id));
    CHECK_OK(keel_rt_start(rt));
    keel_rt_system_stats sys;
    CHECK(WAIT_FOR(keel_rt_system_stats_get(rt, &sys) == KEEL_OK && sys.mode_switches_lo >= 400));
    CHECK_OK(keel_rt_stop(rt));
    keel_rt_task_stats_get(rt, 0, &stats);
    CHECK(stats.throttles > 0);
    CHECK_EQ(stats.released, stats.completed + stats.failed);
    CHECK(stats.budget_overruns >= stats.completed);
}

static uint64_t sporadic_releases[64];
static _Atomic unsigned sporadic_n;

static keel_status note_sporadic(const keel_rt_job *job) {
    unsigned n = atomic_load(&sporadic_n);
    if (n < 64) {
        sporadic_releases[n] = job->release;
        atomic_store(&sporadic_n, n + 1);
    }
    return KEEL_OK;
}

KEEL_TEST(real_sporadic_releases_are_at_least_the_minimum_inter_arrival_apart) {
    keel_rt *rt = real_new(1, 0, KEEL_RT_QUIET);
    CHECK(rt != NULL);
    unsigned id;
    atomic_store(&sporadic_n, 0);
    keel_rt_task_config t = {.name = "irq",
                             .kind = KEEL_RT_SPORADIC,
                             .priority = 1,
                             .period = 3 * MS,
                             .wcet = 1 * MS,
                             .job = note_sporadic};
    CHECK_OK(keel_rt_task_add(rt, &t, &id));
    CHECK_STATUS(keel_rt_trigger(rt, id), KEEL_EBUSY); /* not started */
    CHECK_OK(keel_rt_start(rt));
    /* 30 arrivals: bursts of three, then a pause of about one T. */
    for (unsigned i = 0; i < 30; i++) {
        CHECK_OK(keel_rt_trigger(rt, id));
        if (i % 3 == 2)
            nap();
    }
    CHECK(WAIT_FOR(keel_rt_task_stats_get(rt, id, &stats) == KEEL_OK &&
                   stats.released + stats.coalesced + stats.skipped == 30));
    CHECK_OK(keel_rt_stop(rt));
    keel_rt_task_stats_get(rt, id, &stats);
    unsigned n = atomic_load(&sporadic_n);
    CHECK_EQ(n, stats.completed);
    CHECK(n >= 1);
    for (unsigned k = 1; k < n; k++)
        CHECK(sporadic_releases[k] - sporadic_releases[k - 1] >= 3 * MS);
    CHECK(stats.coalesced + stats.deferred > 0); /* bursts cannot all be released at once */
}

KEEL_TEST_MAIN()
