/*
 * The executive on its virtual clock: scheduling behaviour, SRP, budgets, mode
 * changes, sporadic arrivals, and the cross-check against the analysis. Every
 * check here is exact: simulated time is deterministic.
 */
#include <stdlib.h>

#include "keel/rt.h"
#include "keel_test.h"

#define US 1000ull
#define MS 1000000ull

static _Alignas(KEEL_RT_REGION_ALIGN) unsigned char region[1u << 22];

static keel_rt *sim_new(unsigned tasks, unsigned resources, uint64_t seed) {
    keel_rt_config c = {
        .clock = KEEL_RT_SIMULATED, .max_tasks = tasks, .max_resources = resources, .seed = seed};
    keel_rt *rt = NULL;
    if (keel_rt_region_size(tasks, resources) > sizeof region)
        return NULL;
    if (keel_rt_create(&c, region, sizeof region, &rt) != KEEL_OK)
        return NULL;
    return rt;
}

static keel_rt *sim_new_traced(unsigned tasks, unsigned resources,
                               void (*trace)(void *, const keel_rt_event *), void *ctx) {
    keel_rt_config c = {.clock = KEEL_RT_SIMULATED,
                        .max_tasks = tasks,
                        .max_resources = resources,
                        .trace = trace,
                        .trace_context = ctx};
    keel_rt *rt = NULL;
    if (keel_rt_create(&c, region, sizeof region, &rt) != KEEL_OK)
        return NULL;
    return rt;
}

/* A recorded trace. */
typedef struct trace_log {
    keel_rt_event ev[4096];
    unsigned n;
} trace_log;

static void record_event(void *ctx, const keel_rt_event *ev) {
    trace_log *log = ctx;
    if (log->n < sizeof log->ev / sizeof log->ev[0])
        log->ev[log->n++] = *ev;
}

static keel_rt_task_stats stats; /* big: keep it off the stack */

static keel_rt_task_stats *stats_of(keel_rt *rt, unsigned task) {
    if (keel_rt_task_stats_get(rt, task, &stats) != KEEL_OK)
        abort();
    return &stats;
}

/* ---- histograms ---- */

KEEL_TEST(hist_buckets_are_exact_below_16_and_log_linear_above) {
    for (uint64_t v = 0; v < 16; v++) {
        CHECK_EQ(keel_hist_bucket_of(v), v);
        CHECK_EQ(keel_hist_bucket_low((unsigned)v), v);
        CHECK_EQ(keel_hist_bucket_high((unsigned)v), v);
    }
    uint64_t probes[] = {16, 17, 31, 32, 33, 1000, 1023, 1024, 123456789, (1ull << 47) + 5};
    for (unsigned i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        unsigned b = keel_hist_bucket_of(probes[i]);
        CHECK(keel_hist_bucket_low(b) <= probes[i]);
        CHECK(probes[i] <= keel_hist_bucket_high(b));
        /* width at most 1/16 of the lower edge */
        CHECK((keel_hist_bucket_high(b) - keel_hist_bucket_low(b) + 1) * 16 <=
              keel_hist_bucket_low(b));
    }
    /* buckets tile the range with no gap */
    for (unsigned b = 0; b + 2 < KEEL_HIST_BUCKETS; b++)
        CHECK_EQ(keel_hist_bucket_high(b) + 1, keel_hist_bucket_low(b + 1));
    CHECK_EQ(keel_hist_bucket_of(UINT64_MAX), KEEL_HIST_BUCKETS - 1);
}

KEEL_TEST(hist_percentiles_bound_the_true_quantile_within_one_bucket) {
    static keel_hist h;
    keel_hist_clear(&h);
    CHECK_EQ(keel_hist_percentile(&h, 0.5), 0);
    for (uint64_t v = 1; v <= 1000; v++)
        keel_hist_record(&h, v * 1000);
    CHECK_EQ(h.count, 1000);
    CHECK_EQ(h.min, 1000);
    CHECK_EQ(h.max, 1000000);
    CHECK_EQ(keel_hist_percentile(&h, 1.0), 1000000);
    uint64_t p50 = keel_hist_percentile(&h, 0.5);
    CHECK(p50 >= 500000 && p50 <= 500000 + 500000 / 16);
    uint64_t p99 = keel_hist_percentile(&h, 0.99);
    CHECK(p99 >= 990000 && p99 <= 1000000);
    keel_hist_record(&h, 1ull << 50);
    CHECK_EQ(h.overflow, 1);
    static keel_hist g;
    keel_hist_clear(&g);
    keel_hist_merge(&g, &h);
    CHECK_EQ(g.count, 1001);
    CHECK_EQ(g.max, 1ull << 50);
}

/* ---- declaring ---- */

KEEL_TEST(create_and_add_refuse_bad_configurations) {
    keel_rt *rt;
    keel_rt_config c = {.clock = KEEL_RT_SIMULATED, .max_tasks = 2, .max_resources = 1};
    CHECK_STATUS(keel_rt_create(&c, region + 1, sizeof region - 1, &rt), KEEL_EALIGN);
    CHECK_STATUS(keel_rt_create(&c, region, 64, &rt), KEEL_ETOOSMALL);
    c.max_tasks = 0;
    CHECK_STATUS(keel_rt_create(&c, region, sizeof region, &rt), KEEL_EINVAL);
    c.max_tasks = KEEL_RT_MAX_TASKS + 1;
    CHECK_STATUS(keel_rt_create(&c, region, sizeof region, &rt), KEEL_EINVAL);
    c.max_tasks = 2;
    CHECK_OK(keel_rt_create(&c, region, sizeof region, &rt));
    unsigned r, id;
    CHECK_OK(keel_rt_resource_add(rt, "bus", &r));
    CHECK_STATUS(keel_rt_resource_add(rt, "more", &r), KEEL_EFULL);

    keel_rt_task_config t = {.priority = 1, .period = 10, .wcet = 2};
    keel_rt_task_config bad = t;
    bad.period = 0;
    CHECK_STATUS(keel_rt_task_add(rt, &bad, &id), KEEL_EINVAL);
    bad = t;
    bad.deadline = 11;
    CHECK_STATUS(keel_rt_task_add(rt, &bad, &id), KEEL_EINVAL);
    bad = t;
    keel_rt_section too_long = {.resource = 0, .offset = 0, .length = 3};
    bad.sections = &too_long;
    bad.section_count = 1;
    CHECK_STATUS(keel_rt_task_add(rt, &bad, &id), KEEL_EINVAL);
    keel_rt_section unknown = {.resource = 1, .offset = 0, .length = 1};
    bad.sections = &unknown;
    CHECK_STATUS(keel_rt_task_add(rt, &bad, &id), KEEL_EINVAL);
    keel_rt_section crossing[] = {{.resource = 0, .offset = 0, .length = 2}};
    bad.sections = crossing;
    bad.wcet = 2;
    bad.exec = (keel_rt_exec){KEEL_RT_EXEC_UNIFORM, 1, 3}; /* sections beyond the shortest run */
    CHECK_STATUS(keel_rt_task_add(rt, &bad, &id), KEEL_EINVAL);
    bad = t;
    uint64_t arrivals[] = {5, 3};
    bad.arrivals = arrivals;
    bad.arrival_count = 2;
    bad.kind = KEEL_RT_SPORADIC;
    CHECK_STATUS(keel_rt_task_add(rt, &bad, &id), KEEL_EINVAL);
    bad.kind = KEEL_RT_PERIODIC;
    arrivals[1] = 7;
    CHECK_STATUS(keel_rt_task_add(rt, &bad, &id), KEEL_EINVAL); /* periodic with arrivals */

    CHECK_OK(keel_rt_task_add(rt, &t, &id));
    CHECK_EQ(id, 0);
    CHECK_STATUS(keel_rt_task_add(rt, &t, &id), KEEL_EINVAL); /* priority taken */
    t.priority = 2;
    CHECK_OK(keel_rt_task_add(rt, &t, &id));
    t.priority = 3;
    CHECK_STATUS(keel_rt_task_add(rt, &t, &id), KEEL_EFULL);
    CHECK_STATUS(keel_rt_sim_run(rt, 10), KEEL_EBUSY); /* not started */
    CHECK_OK(keel_rt_start(rt));
    CHECK_STATUS(keel_rt_start(rt), KEEL_EBUSY);
    CHECK_STATUS(keel_rt_task_add(rt, &t, &id), KEEL_EBUSY);
    CHECK_STATUS(keel_rt_lock(rt, 0), KEEL_EINVAL); /* not inside a job */
    CHECK_OK(keel_rt_sim_run(rt, 100));
    CHECK_STATUS(keel_rt_sim_run(rt, 50), KEEL_EINVAL);
    CHECK_OK(keel_rt_stop(rt));
    CHECK_STATUS(keel_rt_stop(rt), KEEL_EBUSY);
    CHECK_STATUS(keel_rt_sim_run(rt, 200), KEEL_EBUSY);
}

/* ---- scheduling ---- */

KEEL_TEST(synchronous_release_reproduces_the_burns_wellings_responses) {
    keel_rt *rt = sim_new(3, 0, 1);
    CHECK(rt != NULL);
    keel_rt_task_config t[] = {
        {.name = "a", .priority = 3, .period = 7 * MS, .wcet = 3 * MS},
        {.name = "b", .priority = 2, .period = 12 * MS, .wcet = 3 * MS},
        {.name = "c", .priority = 1, .period = 20 * MS, .wcet = 5 * MS},
    };
    unsigned id;
    for (unsigned i = 0; i < 3; i++)
        CHECK_OK(keel_rt_task_add(rt, &t[i], &id));
    CHECK_OK(keel_rt_start(rt));
    CHECK_OK(keel_rt_sim_run(rt, 7 * 12 * 20 * MS)); /* one hyperperiod (420 ms) x 2 */
    uint64_t expect[] = {3 * MS, 6 * MS, 20 * MS};
    keel_analysis_result r[3];
    CHECK_OK(keel_rt_analyse(rt, r));
    for (unsigned i = 0; i < 3; i++) {
        keel_rt_task_stats *s = stats_of(rt, i);
        CHECK_EQ(s->response.max, expect[i]);
        CHECK_EQ(r[i].response, expect[i]);
        CHECK_EQ(s->deadline_misses, 0);
        CHECK(s->released - s->completed <= 1); /* the job released at the very end */
    }
    CHECK_EQ(stats_of(rt, 0)->preemptions, 0);
    CHECK(stats_of(rt, 2)->preemptions > 0);
}

KEEL_TEST(jobs_start_in_priority_order_and_higher_priority_preempts) {
    static trace_log log;
    log.n = 0;
    keel_rt *rt = sim_new_traced(3, 0, record_event, &log);
    CHECK(rt != NULL);
    /* Added in an order unrelated to priority; all released at 0. */
    keel_rt_task_config t[] = {
        {.name = "mid", .priority = 20, .period = 100, .wcet = 10},
        {.name = "low", .priority = 10, .period = 100, .wcet = 10},
        {.name = "high", .priority = 30, .period = 100, .wcet = 10, .offset = 15},
    };
    unsigned id;
    for (unsigned i = 0; i < 3; i++)
        CHECK_OK(keel_rt_task_add(rt, &t[i], &id));
    CHECK_OK(keel_rt_start(rt));
    CHECK_OK(keel_rt_sim_run(rt, 99));
    /* Starts: mid at 0, high at 15 (preempting low, which began at 10), low at 10. */
    unsigned order[3], k = 0;
    uint64_t when[3];
    bool low_preempted = false;
    for (unsigned i = 0; i < log.n; i++) {
        if (log.ev[i].kind == KEEL_RT_EV_START && k < 3) {
            order[k] = log.ev[i].task;
            when[k++] = log.ev[i].time;
        }
        if (log.ev[i].kind == KEEL_RT_EV_PREEMPT && log.ev[i].task == 1 && log.ev[i].time == 15)
            low_preempted = true;
    }
    CHECK_EQ(k, 3);
    CHECK_EQ(order[0], 0);
    CHECK_EQ(when[0], 0);
    CHECK_EQ(order[1], 1);
    CHECK_EQ(when[1], 10);
    CHECK_EQ(order[2], 2);
    CHECK_EQ(when[2], 15);
    CHECK(low_preempted);
    CHECK_EQ(stats_of(rt, 1)->response.max, 30); /* 10 of mid, 10 own, 10 of high */
    CHECK_EQ(stats_of(rt, 2)->response.max, 10);
}

/* A small deterministic generator for the random task sets. */
static uint64_t gen_state;
static uint64_t gen(uint64_t lo, uint64_t hi) {
    gen_state ^= gen_state << 13;
    gen_state ^= gen_state >> 7;
    gen_state ^= gen_state << 17;
    return lo + gen_state % (hi - lo + 1);
}

typedef struct random_set {
    keel_rt_task_config tasks[8];
    keel_rt_section sections[8][2];
    unsigned n, resources;
} random_set;

/* n tasks with periods in [1, 100] ms (a few harmonic choices so the
 * hyperperiod stays short), total utilisation around `load`, DM priorities. */
static void make_set(random_set *s, unsigned n, double load, bool with_sections) {
    static const uint64_t periods[] = {5, 10, 20, 25, 40, 50, 100};
    keel_analysis_task at[8];
    s->n = n;
    s->resources = with_sections ? 2 : 0;
    for (unsigned i = 0; i < n; i++) {
        uint64_t T = periods[gen(0, 6)] * MS;
        uint64_t C = (uint64_t)((double)T * load / n * (double)gen(50, 150) / 100.0);
        if (C == 0)
            C = 1;
        uint64_t D = gen(0, 1) ? T : T - gen(0, T / 4);
        if (D < C)
            D = C;
        s->tasks[i] = (keel_rt_task_config){.period = T, .deadline = D, .wcet = C};
        at[i] = (keel_analysis_task){.period = T, .deadline = D, .wcet = C};
        s->tasks[i].section_count = 0;
        if (with_sections && gen(0, 2) != 0) {
            unsigned r = (unsigned)gen(0, 1);
            uint64_t len = gen(1, C / 3 + 1);
            if (len > C)
                len = C;
            uint64_t off = gen(0, C - len);
            s->sections[i][0] = (keel_rt_section){.resource = r, .offset = off, .length = len};
            s->tasks[i].section_count = 1;
            if (gen(0, 1) && len >= 3) { /* a nested section on the other resource */
                uint64_t inner = gen(1, len - 2);
                s->sections[i][1] =
                    (keel_rt_section){.resource = 1 - r, .offset = off + 1, .length = inner};
                s->tasks[i].section_count = 2;
            }
        }
        s->tasks[i].sections = s->sections[i];
    }
    keel_analysis_assign_dm(at, n);
    for (unsigned i = 0; i < n; i++)
        s->tasks[i].priority = at[i].priority;
}

static keel_rt *sim_of(const random_set *s, uint64_t seed) {
    keel_rt *rt = sim_new(s->n, s->resources, seed);
    if (rt == NULL)
        return NULL;
    unsigned id;
    for (unsigned r = 0; r < s->resources; r++)
        if (keel_rt_resource_add(rt, NULL, &id) != KEEL_OK)
            return NULL;
    for (unsigned i = 0; i < s->n; i++)
        if (keel_rt_task_add(rt, &s->tasks[i], &id) != KEEL_OK)
            return NULL;
    if (keel_rt_start(rt) != KEEL_OK)
        return NULL;
    return rt;
}

KEEL_TEST(critical_instant_simulation_equals_the_analysis_on_random_sets) {
    gen_state = 0x9e3779b97f4a7c15ull;
    unsigned compared = 0;
    for (unsigned trial = 0; trial < 300; trial++) {
        random_set s;
        make_set(&s, (unsigned)gen(2, 8), (double)gen(40, 95) / 100.0, false);
        keel_rt *rt = sim_of(&s, trial);
        CHECK(rt != NULL);
        keel_analysis_result r[8];
        CHECK_OK(keel_rt_analyse(rt, r));
        CHECK_OK(keel_rt_sim_run(rt, 200 * MS)); /* two 100 ms hyperperiods */
        for (unsigned i = 0; i < s.n; i++) {
            /* Compare where every task at or above i's priority is schedulable:
             * then the first job, released at the critical instant with every
             * job at its WCET, has exactly the analysed response. */
            bool all_ok = true;
            for (unsigned j = 0; j < s.n; j++)
                if (s.tasks[j].priority >= s.tasks[i].priority && !r[j].schedulable)
                    all_ok = false;
            if (!all_ok)
                continue;
            keel_rt_task_stats *st = stats_of(rt, i);
            if (st->response.max != r[i].response)
                fprintf(stderr, "  trial %u task %u: simulated %" PRIu64 ", analysed %" PRIu64 "\n",
                        trial, i, st->response.max, r[i].response);
            CHECK_EQ(st->response.max, r[i].response);
            CHECK_EQ(st->deadline_misses, 0);
            compared++;
        }
    }
    CHECK(compared > 500);
}

KEEL_TEST(simulated_responses_never_exceed_the_analysis_with_blocking_jitter_and_variation) {
    gen_state = 0x2545f4914f6cdd1dull;
    unsigned compared = 0, with_blocking = 0;
    for (unsigned trial = 0; trial < 300; trial++) {
        random_set s;
        make_set(&s, (unsigned)gen(2, 8), (double)gen(30, 90) / 100.0, true);
        for (unsigned i = 0; i < s.n; i++) {
            keel_rt_task_config *t = &s.tasks[i];
            t->offset = gen(0, 1) ? 0 : gen(0, t->period);
            t->jitter = gen(0, 2) == 0 ? gen(0, (t->deadline - 1) / 5) : 0;
            /* sections must fit the shortest run: keep min >= the last section end */
            uint64_t min = t->wcet / 2;
            for (unsigned k = 0; k < t->section_count; k++)
                if (t->sections[k].offset + t->sections[k].length > min)
                    min = t->sections[k].offset + t->sections[k].length;
            t->exec = (keel_rt_exec){KEEL_RT_EXEC_UNIFORM, min, t->wcet};
        }
        keel_rt *rt = sim_of(&s, trial * 7919u);
        CHECK(rt != NULL);
        keel_analysis_result r[8];
        CHECK_OK(keel_rt_analyse(rt, r));
        CHECK_OK(keel_rt_sim_run(rt, 1000 * MS));
        keel_rt_system_stats sys;
        CHECK_OK(keel_rt_system_stats_get(rt, &sys));
        CHECK_EQ(sys.lock_waits, 0); /* SRP: a running job never finds its resource taken */
        for (unsigned i = 0; i < s.n; i++) {
            bool all_ok = true;
            for (unsigned j = 0; j < s.n; j++)
                if (s.tasks[j].priority >= s.tasks[i].priority && !r[j].schedulable)
                    all_ok = false;
            if (!all_ok)
                continue;
            keel_rt_task_stats *st = stats_of(rt, i);
            CHECK(st->response.max <= r[i].response);
            CHECK_EQ(st->deadline_misses, 0);
            compared++;
            with_blocking += r[i].blocking > 0;
        }
    }
    CHECK(compared > 500);
    CHECK(with_blocking > 50);
}

KEEL_TEST(same_seed_same_schedule_different_seed_different_draws) {
    random_set s;
    gen_state = 12345;
    make_set(&s, 5, 0.8, true);
    for (unsigned i = 0; i < s.n; i++) {
        uint64_t min = 0;
        for (unsigned k = 0; k < s.tasks[i].section_count; k++)
            if (s.sections[i][k].offset + s.sections[i][k].length > min)
                min = s.sections[i][k].offset + s.sections[i][k].length;
        s.tasks[i].exec = (keel_rt_exec){KEEL_RT_EXEC_UNIFORM, min, s.tasks[i].wcet};
    }
    uint64_t sums[3][5];
    uint64_t seeds[3] = {42, 42, 43};
    for (unsigned k = 0; k < 3; k++) {
        keel_rt *rt = sim_of(&s, seeds[k]);
        CHECK(rt != NULL);
        CHECK_OK(keel_rt_sim_run(rt, 500 * MS));
        for (unsigned i = 0; i < s.n; i++)
            sums[k][i] = stats_of(rt, i)->response.sum;
    }
    bool differs = false;
    for (unsigned i = 0; i < s.n; i++) {
        CHECK_EQ(sums[0][i], sums[1][i]);
        differs |= sums[0][i] != sums[2][i];
    }
    CHECK(differs);
}

/* ---- SRP ---- */

/*
 * The textbook deadlock: L takes R1 then (nested) R2; H takes R2 then R1. With
 * plain mutexes, H released while L holds R1 takes R2 and waits for R1, L then
 * waits for R2: neither runs again (naive_mutex_model below shows it). With
 * keel both ceilings are H's priority: H cannot start while L holds R1, so L
 * finishes its sections and H runs after, blocked once, for at most B.
 */
typedef struct naive_job {
    unsigned prio;
    uint64_t release, done;
    unsigned op;            /* next lock/unlock */
    const int *ops;         /* +r: lock r, -r-1: unlock r, positions in ops_at */
    const uint64_t *ops_at; /* execution positions */
    unsigned op_count;
    uint64_t exec;
    bool blocked;
} naive_job;

/* Plain mutexes, priority scheduling, no protocol: returns true if it
 * deadlocked (every released job blocked on a held mutex). */
static bool naive_mutex_model(naive_job *jobs, unsigned n, uint64_t until) {
    int holder[2] = {-1, -1};
    for (uint64_t now = 0; now < until; now++) {
        int run = -1;
        for (unsigned i = 0; i < n; i++) {
            naive_job *j = &jobs[i];
            if (now < j->release || j->done >= j->exec)
                continue;
            j->blocked = false;
            if (j->op < j->op_count && j->ops_at[j->op] == j->done && j->ops[j->op] >= 0 &&
                holder[j->ops[j->op]] >= 0 && holder[j->ops[j->op]] != (int)i)
                j->blocked = true;
            if (!j->blocked && (run < 0 || j->prio > jobs[run].prio))
                run = (int)i;
        }
        bool any_pending = false;
        for (unsigned i = 0; i < n; i++)
            any_pending |= now >= jobs[i].release && jobs[i].done < jobs[i].exec;
        if (run < 0)
            return any_pending; /* pending work, nobody can run: deadlock */
        naive_job *j = &jobs[run];
        while (j->op < j->op_count && j->ops_at[j->op] == j->done) {
            int o = j->ops[j->op];
            if (o >= 0) {
                if (holder[o] >= 0)
                    break;
                holder[o] = run;
            } else {
                holder[-o - 1] = -1;
            }
            j->op++;
        }
        j->done++;
        while (j->op < j->op_count && j->ops_at[j->op] == j->done && j->ops[j->op] < 0) {
            holder[-j->ops[j->op] - 1] = -1;
            j->op++;
        }
    }
    return false;
}

KEEL_TEST(srp_runs_the_scenario_that_deadlocks_with_plain_mutexes) {
    /* Plain mutexes first: the model deadlocks. */
    static const int l_ops[] = {0, 1, -2, -1}; /* lock R1, lock R2, unlock R2, unlock R1 */
    static const uint64_t l_at[] = {0, 2, 4, 6};
    static const int h_ops[] = {1, 0, -1, -2}; /* lock R2, lock R1, unlock R1, unlock R2 */
    static const uint64_t h_at[] = {0, 1, 3, 4};
    naive_job naive[2] = {
        {.prio = 1, .release = 0, .ops = l_ops, .ops_at = l_at, .op_count = 4, .exec = 8},
        {.prio = 2, .release = 1, .ops = h_ops, .ops_at = h_at, .op_count = 4, .exec = 5},
    };
    CHECK(naive_mutex_model(naive, 2, 100));

    /* The same jobs under keel. */
    static trace_log log;
    log.n = 0;
    keel_rt *rt = sim_new_traced(2, 2, record_event, &log);
    CHECK(rt != NULL);
    unsigned r1, r2, id;
    CHECK_OK(keel_rt_resource_add(rt, "R1", &r1));
    CHECK_OK(keel_rt_resource_add(rt, "R2", &r2));
    keel_rt_section l_sec[] = {{.resource = r1, .offset = 0, .length = 6},
                               {.resource = r2, .offset = 2, .length = 2}};
    keel_rt_section h_sec[] = {{.resource = r2, .offset = 0, .length = 4},
                               {.resource = r1, .offset = 1, .length = 2}};
    keel_rt_task_config l = {.name = "L",
                             .priority = 1,
                             .period = 100,
                             .wcet = 8,
                             .sections = l_sec,
                             .section_count = 2};
    keel_rt_task_config h = {.name = "H",
                             .priority = 2,
                             .period = 100,
                             .offset = 1,
                             .wcet = 5,
                             .sections = h_sec,
                             .section_count = 2};
    CHECK_OK(keel_rt_task_add(rt, &l, &id));
    CHECK_OK(keel_rt_task_add(rt, &h, &id));
    CHECK_OK(keel_rt_start(rt));
    unsigned ceiling;
    CHECK_OK(keel_rt_ceiling(rt, r1, &ceiling));
    CHECK_EQ(ceiling, 2);
    CHECK_OK(keel_rt_ceiling(rt, r2, &ceiling));
    CHECK_EQ(ceiling, 2);
    CHECK_OK(keel_rt_sim_run(rt, 1000));
    keel_rt_system_stats sys;
    CHECK_OK(keel_rt_system_stats_get(rt, &sys));
    CHECK_EQ(sys.lock_waits, 0);
    CHECK_EQ(stats_of(rt, 0)->completed, 10);
    CHECK_EQ(stats_of(rt, 1)->completed, 10);
    /* H waits for L's outer section (until 6), then runs 5: response 10. */
    CHECK_EQ(stats_of(rt, 1)->response.max, 10);
    keel_analysis_result r[2];
    CHECK_OK(keel_rt_analyse(rt, r));
    CHECK_EQ(r[1].blocking, 6);
    CHECK_EQ(r[1].response, 11); /* C + B = 5 + 6; the simulation's 10 is below */
    CHECK(stats_of(rt, 1)->response.max <= r[1].response);
    /* H never started while L held anything: no START of H between L's first LOCK and last UNLOCK.
     */
    int depth = 0;
    for (unsigned i = 0; i < log.n; i++) {
        const keel_rt_event *e = &log.ev[i];
        if (e->task == 0 && e->kind == KEEL_RT_EV_LOCK)
            depth++;
        if (e->task == 0 && e->kind == KEEL_RT_EV_UNLOCK)
            depth--;
        if (e->task == 1 && e->kind == KEEL_RT_EV_START)
            CHECK_EQ(depth, 0);
    }
}

KEEL_TEST(srp_bounds_priority_inversion_by_one_critical_section) {
    /* Mars Pathfinder's shape: L holds the bus, H needs it, a long M arrives.
     * Without a protocol H would wait for all of M; with SRP H waits at most for
     * L's section and M cannot run in between. */
    keel_rt *rt = sim_new(3, 1, 1);
    CHECK(rt != NULL);
    unsigned bus, id;
    CHECK_OK(keel_rt_resource_add(rt, "bus", &bus));
    keel_rt_section l_sec = {.resource = bus, .offset = 0, .length = 3 * MS};
    keel_rt_section h_sec = {.resource = bus, .offset = 0, .length = 1 * MS};
    keel_rt_task_config tasks[] = {
        {.name = "L",
         .priority = 1,
         .period = 100 * MS,
         .wcet = 5 * MS,
         .sections = &l_sec,
         .section_count = 1},
        {.name = "M", .priority = 2, .period = 100 * MS, .offset = 2 * MS, .wcet = 50 * MS},
        {.name = "H",
         .priority = 3,
         .period = 100 * MS,
         .offset = 1 * MS,
         .wcet = 2 * MS,
         .sections = &h_sec,
         .section_count = 1},
    };
    for (unsigned i = 0; i < 3; i++)
        CHECK_OK(keel_rt_task_add(rt, &tasks[i], &id));
    CHECK_OK(keel_rt_start(rt));
    CHECK_OK(keel_rt_sim_run(rt, 1000 * MS));
    keel_analysis_result r[3];
    CHECK_OK(keel_rt_analyse(rt, r));
    CHECK_EQ(r[2].blocking, 3 * MS);
    /* H released at 1 ms waits until L unlocks at 3 ms, runs 3..5 ms: 4 ms. */
    CHECK_EQ(stats_of(rt, 2)->response.max, 4 * MS);
    CHECK(stats_of(rt, 2)->response.max <= r[2].response);
    CHECK(stats_of(rt, 2)->response.max < 50 * MS); /* never behind M */
    CHECK_EQ(stats_of(rt, 2)->deadline_misses, 0);
}

/* ---- budgets and mixed criticality ---- */

KEEL_TEST(lo_budget_exhaustion_throttles_until_the_next_release) {
    static trace_log log;
    log.n = 0;
    keel_rt *rt = sim_new_traced(1, 0, record_event, &log);
    CHECK(rt != NULL);
    unsigned id;
    /* C = 2, the job needs 5: runs 0-2, throttled to 10 (release 1 skipped),
     * runs 10-12, throttled to 20 (release 2 skipped), finishes at 21. */
    keel_rt_task_config t = {.name = "greedy",
                             .priority = 1,
                             .period = 10,
                             .wcet = 2,
                             .exec = {KEEL_RT_EXEC_FIXED, 0, 5}};
    CHECK_OK(keel_rt_task_add(rt, &t, &id));
    CHECK_OK(keel_rt_start(rt));
    CHECK_OK(keel_rt_sim_run(rt, 29));
    keel_rt_task_stats *s = stats_of(rt, 0);
    CHECK_EQ(s->released, 1);
    CHECK_EQ(s->completed, 1);
    CHECK_EQ(s->response.max, 21);
    CHECK_EQ(s->throttles, 2);
    CHECK_EQ(s->skipped, 2);
    CHECK_EQ(s->budget_overruns, 1);
    CHECK_EQ(s->deadline_misses, 1);
    uint64_t throttled_at[2], resumed_at[2];
    unsigned nt = 0, nr = 0;
    for (unsigned i = 0; i < log.n; i++) {
        if (log.ev[i].kind == KEEL_RT_EV_THROTTLE && nt < 2)
            throttled_at[nt++] = log.ev[i].time;
        if (log.ev[i].kind == KEEL_RT_EV_UNTHROTTLE && nr < 2)
            resumed_at[nr++] = log.ev[i].time;
    }
    CHECK_EQ(nt, 2);
    CHECK_EQ(nr, 2);
    CHECK_EQ(throttled_at[0], 2);
    CHECK_EQ(resumed_at[0], 10);
    CHECK_EQ(throttled_at[1], 12);
    CHECK_EQ(resumed_at[1], 20);
    CHECK_OK(keel_rt_sim_run(rt, 31)); /* the next job: released at 30 */
    CHECK_EQ(stats_of(rt, 0)->released, 2);
}

KEEL_TEST(budgets_keep_every_hi_deadline_while_lo_tasks_overrun_tenfold) {
    keel_rt *rt = sim_new(5, 0, 7);
    CHECK(rt != NULL);
    unsigned id;
    /* LO tasks above the HI ones in priority (rate monotonic), each job asking
     * for ten times its budget. */
    keel_rt_task_config tasks[] = {
        {.name = "lo-fast",
         .priority = 5,
         .period = 5 * MS,
         .wcet = 1 * MS,
         .exec = {KEEL_RT_EXEC_FIXED, 0, 10 * MS}},
        {.name = "hi-ctl",
         .priority = 4,
         .period = 10 * MS,
         .wcet = 2 * MS,
         .criticality = KEEL_CRIT_HI},
        {.name = "lo-log",
         .priority = 3,
         .period = 20 * MS,
         .wcet = 3 * MS,
         .exec = {KEEL_RT_EXEC_FIXED, 0, 30 * MS}},
        {.name = "hi-nav",
         .priority = 2,
         .period = 40 * MS,
         .wcet = 6 * MS,
         .criticality = KEEL_CRIT_HI,
         .exec = {KEEL_RT_EXEC_UNIFORM, 3 * MS, 6 * MS}},
        {.name = "lo-tm",
         .priority = 1,
         .period = 50 * MS,
         .wcet = 5 * MS,
         .exec = {KEEL_RT_EXEC_FIXED, 0, 50 * MS}},
    };
    for (unsigned i = 0; i < 5; i++)
        CHECK_OK(keel_rt_task_add(rt, &tasks[i], &id));
    CHECK_OK(keel_rt_start(rt));
    keel_analysis_result r[5];
    CHECK_OK(keel_rt_analyse(rt, r));
    for (unsigned i = 0; i < 5; i++)
        CHECK(r[i].schedulable);
    CHECK_OK(keel_rt_sim_run(rt, 10000 * MS));
    for (unsigned i = 0; i < 5; i++) {
        keel_rt_task_stats *s = stats_of(rt, i);
        if (tasks[i].criticality == KEEL_CRIT_HI) {
            CHECK_EQ(s->deadline_misses, 0);
            CHECK_EQ(s->budget_overruns, 0);
            CHECK(s->completed >= 10000 / (tasks[i].period / MS) - 1);
            CHECK(s->response.max <= r[i].response);
        } else {
            CHECK(s->throttles >= 9 * s->completed);
            CHECK(s->budget_overruns >= s->completed && s->budget_overruns <= s->released);
            CHECK(s->skipped > 0);
        }
    }
    keel_rt_system_stats sys;
    CHECK_OK(keel_rt_system_stats_get(rt, &sys));
    CHECK_EQ(sys.mode_switches_hi, 0); /* HI tasks kept within C: no mode change */
}

KEEL_TEST(hi_overrun_switches_mode_drops_lo_and_keeps_hi_deadlines) {
    static trace_log log;
    log.n = 0;
    keel_rt *rt = sim_new_traced(3, 0, record_event, &log);
    CHECK(rt != NULL);
    unsigned id;
    /* The AMC example of test_analysis: every HI job of H1 may run to C(HI). */
    keel_rt_task_config tasks[] = {
        {.name = "L", .priority = 3, .period = 10 * MS, .wcet = 2 * MS},
        {.name = "H1",
         .priority = 2,
         .period = 20 * MS,
         .wcet = 4 * MS,
         .wcet_hi = 8 * MS,
         .criticality = KEEL_CRIT_HI,
         .exec = {KEEL_RT_EXEC_UNIFORM, 2 * MS, 8 * MS}},
        {.name = "H2",
         .priority = 1,
         .period = 50 * MS,
         .wcet = 5 * MS,
         .wcet_hi = 10 * MS,
         .criticality = KEEL_CRIT_HI,
         .exec = {KEEL_RT_EXEC_UNIFORM, 3 * MS, 10 * MS}},
    };
    for (unsigned i = 0; i < 3; i++)
        CHECK_OK(keel_rt_task_add(rt, &tasks[i], &id));
    CHECK_OK(keel_rt_start(rt));
    keel_analysis_result r[3];
    CHECK_OK(keel_rt_analyse(rt, r));
    CHECK(r[1].schedulable && r[2].schedulable);
    CHECK_OK(keel_rt_sim_run(rt, 2000 * MS));
    keel_rt_system_stats sys;
    CHECK_OK(keel_rt_system_stats_get(rt, &sys));
    CHECK(sys.mode_switches_hi > 0);
    CHECK(sys.mode_switches_lo + 1 >= sys.mode_switches_hi);
    CHECK(sys.mode_switches_lo <= sys.mode_switches_hi);
    CHECK(stats_of(rt, 0)->dropped > 0);
    for (unsigned i = 1; i < 3; i++) {
        keel_rt_task_stats *s = stats_of(rt, i);
        CHECK_EQ(s->deadline_misses, 0);
        CHECK_EQ(s->budget_overruns, 0);
        CHECK(s->response.max <= r[i].response_hi);
    }
    /* No LO job ever started while the system was in HI mode. */
    bool hi = false;
    for (unsigned i = 0; i < log.n; i++) {
        const keel_rt_event *e = &log.ev[i];
        if (e->kind == KEEL_RT_EV_MODE_HI)
            hi = true;
        if (e->kind == KEEL_RT_EV_MODE_LO)
            hi = false;
        if (hi && e->task == 0)
            CHECK(e->kind == KEEL_RT_EV_DROP || e->kind == KEEL_RT_EV_PREEMPT);
    }
}

KEEL_TEST(hi_task_past_its_hi_budget_is_counted_not_throttled) {
    keel_rt *rt = sim_new(1, 0, 1);
    CHECK(rt != NULL);
    unsigned id;
    keel_rt_task_config t = {.name = "H",
                             .priority = 1,
                             .period = 100,
                             .wcet = 10,
                             .wcet_hi = 20,
                             .criticality = KEEL_CRIT_HI,
                             .exec = {KEEL_RT_EXEC_FIXED, 0, 30}};
    CHECK_OK(keel_rt_task_add(rt, &t, &id));
    CHECK_OK(keel_rt_start(rt));
    CHECK_OK(keel_rt_sim_run(rt, 250));
    keel_rt_task_stats *s = stats_of(rt, 0);
    CHECK_EQ(s->completed, 3);
    CHECK_EQ(s->response.max, 30);
    CHECK_EQ(s->budget_overruns, 3);
    CHECK_EQ(s->throttles, 0);
    keel_rt_system_stats sys;
    CHECK_OK(keel_rt_system_stats_get(rt, &sys));
    CHECK_EQ(sys.mode_switches_hi, 3);
    CHECK_EQ(sys.mode_switches_lo, 3);
}

KEEL_TEST(lo_throttle_waits_for_the_outermost_unlock) {
    keel_rt *rt = sim_new(1, 1, 1);
    CHECK(rt != NULL);
    unsigned res, id;
    CHECK_OK(keel_rt_resource_add(rt, "R", &res));
    /* Budget 4, section [2, 7): the budget runs out at 4 inside the section;
     * the throttle waits for the unlock at 7. Needs 9: 0-7, throttled to 20, 20-22. */
    keel_rt_section sec = {.resource = res, .offset = 2, .length = 4};
    keel_rt_task_config t = {.name = "L",
                             .priority = 1,
                             .period = 20,
                             .wcet = 4,
                             .sections = &sec,
                             .section_count = 1,
                             .exec = {KEEL_RT_EXEC_FIXED, 0, 9}};
    CHECK_OK(keel_rt_task_add(rt, &t, &id));
    CHECK_OK(keel_rt_start(rt));
    CHECK_OK(keel_rt_sim_run(rt, 39));
    keel_rt_task_stats *s = stats_of(rt, 0);
    CHECK_EQ(s->throttles, 1);
    CHECK_EQ(s->completed, 1);
    /* 0-6 runs (6 = unlock point), throttled until 20, needs 3 more: ends at 23 */
    CHECK_EQ(s->response.max, 23);
}

/* ---- sporadic tasks ---- */

KEEL_TEST(sporadic_releases_keep_the_minimum_inter_arrival_time) {
    static trace_log log;
    log.n = 0;
    keel_rt *rt = sim_new_traced(1, 0, record_event, &log);
    CHECK(rt != NULL);
    unsigned id;
    /* T = 10. Arrivals at 0, 3 (deferred to 10), 5 (merged into it), 25, 31
     * (deferred to 35), 60. */
    static const uint64_t arrivals[] = {0, 3, 5, 25, 31, 60};
    keel_rt_task_config t = {.name = "irq",
                             .kind = KEEL_RT_SPORADIC,
                             .priority = 1,
                             .period = 10,
                             .wcet = 2,
                             .arrivals = arrivals,
                             .arrival_count = 6};
    CHECK_OK(keel_rt_task_add(rt, &t, &id));
    CHECK_OK(keel_rt_start(rt));
    CHECK_OK(keel_rt_sim_run(rt, 100));
    keel_rt_task_stats *s = stats_of(rt, 0);
    CHECK_EQ(s->released, 5);
    CHECK_EQ(s->deferred, 2);
    CHECK_EQ(s->coalesced, 1);
    uint64_t expect[] = {0, 10, 25, 35, 60}, last = 0;
    unsigned k = 0;
    for (unsigned i = 0; i < log.n; i++) {
        if (log.ev[i].kind != KEEL_RT_EV_RELEASE)
            continue;
        CHECK(k < 5);
        CHECK_EQ(log.ev[i].time, expect[k]);
        if (k > 0)
            CHECK(log.ev[i].time - last >= 10);
        last = log.ev[i].time;
        k++;
    }
    CHECK_EQ(k, 5);
}

static unsigned sporadic_task;
static keel_status trigger_sporadic(const keel_rt_job *job) {
    return keel_rt_trigger(job->rt, sporadic_task);
}

KEEL_TEST(a_job_can_trigger_a_higher_priority_sporadic_task_which_preempts_it) {
    keel_rt *rt = sim_new(2, 0, 1);
    CHECK(rt != NULL);
    unsigned id;
    keel_rt_task_config src = {
        .name = "src", .priority = 1, .period = 10, .wcet = 4, .job = trigger_sporadic};
    keel_rt_task_config dst = {
        .name = "dst", .kind = KEEL_RT_SPORADIC, .priority = 2, .period = 10, .wcet = 1};
    CHECK_OK(keel_rt_task_add(rt, &src, &id));
    CHECK_OK(keel_rt_task_add(rt, &dst, &sporadic_task));
    CHECK_OK(keel_rt_start(rt));
    CHECK_OK(keel_rt_sim_run(rt, 95));
    CHECK_EQ(stats_of(rt, 1)->released, 10);
    CHECK_EQ(stats_of(rt, 1)->response.max, 1);
    CHECK_EQ(stats_of(rt, 0)->response.max, 5);
    CHECK_EQ(stats_of(rt, 0)->preemptions, 10);
    CHECK_STATUS(keel_rt_trigger(rt, 0), KEEL_EINVAL); /* periodic */
}

/* ---- jobs ---- */

static keel_status fail_every_third(const keel_rt_job *job) {
    return job->index % 3 == 2 ? KEEL_EINVAL : KEEL_OK;
}

KEEL_TEST(a_failing_job_is_counted_and_the_next_one_runs) {
    static trace_log log;
    log.n = 0;
    keel_rt *rt = sim_new_traced(1, 0, record_event, &log);
    CHECK(rt != NULL);
    unsigned id;
    keel_rt_task_config t = {
        .name = "flaky", .priority = 1, .period = 10, .wcet = 3, .job = fail_every_third};
    CHECK_OK(keel_rt_task_add(rt, &t, &id));
    CHECK_OK(keel_rt_start(rt));
    CHECK_OK(keel_rt_sim_run(rt, 89));
    keel_rt_task_stats *s = stats_of(rt, 0);
    CHECK_EQ(s->released, 9);
    CHECK_EQ(s->failed, 3);
    CHECK_EQ(s->completed, 6);
    unsigned fails = 0;
    for (unsigned i = 0; i < log.n; i++)
        if (log.ev[i].kind == KEEL_RT_EV_FAIL) {
            CHECK_STATUS(log.ev[i].status, KEEL_EINVAL);
            CHECK_EQ(log.ev[i].job % 3, 2);
            fails++;
        }
    CHECK_EQ(fails, 3);
}

static uint64_t seen_release[16], seen_deadline[16];
static unsigned seen;
static keel_status note_release(const keel_rt_job *job) {
    if (seen < 16) {
        seen_release[seen] = job->release;
        seen_deadline[seen++] = job->deadline;
    }
    return KEEL_OK;
}

KEEL_TEST(periodic_releases_are_offset_plus_k_periods) {
    keel_rt *rt = sim_new(1, 0, 1);
    CHECK(rt != NULL);
    unsigned id;
    seen = 0;
    keel_rt_task_config t = {.name = "p",
                             .priority = 1,
                             .period = 7,
                             .deadline = 5,
                             .offset = 3,
                             .wcet = 1,
                             .job = note_release};
    CHECK_OK(keel_rt_task_add(rt, &t, &id));
    CHECK_OK(keel_rt_start(rt));
    CHECK_OK(keel_rt_sim_run(rt, 3 + 7 * 15));
    CHECK_EQ(seen, 16);
    for (unsigned k = 0; k < 16; k++) {
        CHECK_EQ(seen_release[k], 3 + 7 * k);
        CHECK_EQ(seen_deadline[k], 3 + 7 * k + 5);
    }
}

KEEL_TEST(reports_are_written_as_text_csv_and_gnuplot) {
    keel_rt *rt = sim_new(2, 0, 1);
    CHECK(rt != NULL);
    unsigned id;
    keel_rt_task_config a = {.name = "a", .priority = 2, .period = 10 * MS, .wcet = 2 * MS};
    keel_rt_task_config b = {
        .name = "b", .priority = 1, .period = 20 * MS, .wcet = 5 * MS, .criticality = KEEL_CRIT_HI};
    CHECK_OK(keel_rt_task_add(rt, &a, &id));
    CHECK_OK(keel_rt_task_add(rt, &b, &id));
    CHECK_OK(keel_rt_start(rt));
    CHECK_OK(keel_rt_sim_run(rt, 100 * MS));
    char buf[16384];
    FILE *f = fmemopen(buf, sizeof buf, "w");
    CHECK(f != NULL);
    CHECK_OK(keel_rt_report_text(rt, f));
    fclose(f);
    CHECK(strstr(buf, "simulated clock") != NULL);
    CHECK(strstr(buf, "resp_p99") != NULL);
    f = fmemopen(buf, sizeof buf, "w");
    CHECK_OK(keel_rt_report_csv(rt, f));
    fclose(f);
    CHECK(strncmp(buf, "task,criticality,priority,", 26) == 0);
    CHECK(strstr(buf, "\nb,HI,1,20000000,20000000,5000000,6,5,") != NULL);
    f = fmemopen(buf, sizeof buf, "w");
    CHECK_OK(keel_rt_report_plot(rt, f, "x.png", "t"));
    fclose(f);
    CHECK(strstr(buf, "set output \"x.png\"") != NULL);
    CHECK_STATUS(keel_rt_report_plot(rt, stdout, "bad\".png", NULL), KEEL_EINVAL);
}

KEEL_TEST_MAIN()
