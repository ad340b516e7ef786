/*
 * Fixed-priority response-time analysis with SRP blocking, release jitter and
 * the AMC-rtb mixed-criticality bound. Pure computation over the caller's
 * arrays: no state, no allocation. The formulas are in keel/analysis.h.
 */
#include <stddef.h>

#include "keel/analysis.h"

/* Saturating arithmetic: a bound that overflows is "past every deadline". */
static uint64_t sat_add(uint64_t a, uint64_t b) {
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t sat_mul(uint64_t a, uint64_t b) {
    if (a != 0 && b > UINT64_MAX / a)
        return UINT64_MAX;
    return a * b;
}

/* ceil(a / b) for b > 0, without overflowing a + b - 1. */
static uint64_t ceil_div(uint64_t a, uint64_t b) {
    return a / b + (a % b != 0);
}

static uint64_t deadline_of(const keel_analysis_task *t) {
    return t->deadline == 0 ? t->period : t->deadline;
}

static uint64_t wcet_hi_of(const keel_analysis_task *t) {
    if (t->criticality != KEEL_CRIT_HI || t->wcet_hi == 0)
        return t->wcet;
    return t->wcet_hi;
}

keel_status keel_analysis_check(const keel_analysis_set *set) {
    if (set == NULL || set->tasks == NULL || set->task_count == 0 ||
        set->task_count > KEEL_ANALYSIS_MAX_TASKS ||
        set->section_count > KEEL_ANALYSIS_MAX_SECTIONS ||
        set->resource_count > KEEL_ANALYSIS_MAX_RESOURCES ||
        (set->section_count != 0 && set->sections == NULL))
        return KEEL_EINVAL;
    for (unsigned i = 0; i < set->task_count; i++) {
        const keel_analysis_task *t = &set->tasks[i];
        uint64_t d = deadline_of(t);
        if (t->period == 0 || d > t->period || t->jitter >= d)
            return KEEL_EINVAL;
        if (t->criticality != KEEL_CRIT_LO && t->criticality != KEEL_CRIT_HI)
            return KEEL_EINVAL;
        if (t->criticality == KEEL_CRIT_HI && t->wcet_hi != 0 && t->wcet_hi < t->wcet)
            return KEEL_EINVAL;
        for (unsigned j = 0; j < i; j++)
            if (set->tasks[j].priority == t->priority)
                return KEEL_EINVAL;
    }
    for (unsigned s = 0; s < set->section_count; s++) {
        const keel_analysis_section *sec = &set->sections[s];
        if (sec->task >= set->task_count || sec->resource >= set->resource_count ||
            sec->length > set->tasks[sec->task].wcet)
            return KEEL_EINVAL;
    }
    return KEEL_OK;
}

/* The ceilings, without checking the set again. */
static void compute_ceilings(const keel_analysis_set *set, unsigned *ceiling) {
    for (unsigned r = 0; r < set->resource_count; r++)
        ceiling[r] = 0;
    for (unsigned s = 0; s < set->section_count; s++) {
        const keel_analysis_section *sec = &set->sections[s];
        unsigned p = set->tasks[sec->task].priority;
        if (p > ceiling[sec->resource])
            ceiling[sec->resource] = p;
    }
}

keel_status keel_analysis_ceilings(const keel_analysis_set *set, unsigned *ceiling) {
    keel_status st = keel_analysis_check(set);
    if (st != KEEL_OK)
        return st;
    if (ceiling == NULL && set->resource_count != 0)
        return KEEL_EINVAL;
    compute_ceilings(set, ceiling);
    return KEEL_OK;
}

/* B_i and who causes it: the longest section of a lower-priority task on a
 * resource whose ceiling reaches P_i. */
static void blocking_of(const keel_analysis_set *set, const unsigned *ceiling, unsigned i,
                        keel_analysis_result *r) {
    unsigned p = set->tasks[i].priority;
    r->blocking = 0;
    r->blocking_task = KEEL_ANALYSIS_NONE;
    r->blocking_resource = KEEL_ANALYSIS_NONE;
    for (unsigned s = 0; s < set->section_count; s++) {
        const keel_analysis_section *sec = &set->sections[s];
        if (set->tasks[sec->task].priority < p && ceiling[sec->resource] >= p &&
            (sec->length > r->blocking || r->blocking_task == KEEL_ANALYSIS_NONE)) {
            r->blocking = sec->length;
            r->blocking_task = sec->task;
            r->blocking_resource = sec->resource;
        }
    }
}

/*
 * The least fixed point of w = base + sum over higher-priority tasks j (HI only
 * when `hi_only`) of ceil((w + J_j) / T_j) * cost(j), where cost is C(HI) when
 * `hi_costs`, else C. Stops once w exceeds `limit`; *converged says which.
 */
static uint64_t fixed_point(const keel_analysis_set *set, unsigned i, uint64_t base, bool hi_only,
                            bool hi_costs, uint64_t limit, bool *converged) {
    unsigned p = set->tasks[i].priority;
    uint64_t w = base;
    for (;;) {
        if (w > limit) {
            *converged = false;
            return w;
        }
        uint64_t next = base;
        for (unsigned j = 0; j < set->task_count; j++) {
            const keel_analysis_task *t = &set->tasks[j];
            if (t->priority <= p || (hi_only && t->criticality != KEEL_CRIT_HI))
                continue;
            uint64_t jobs = ceil_div(sat_add(w, t->jitter), t->period);
            next = sat_add(next, sat_mul(jobs, hi_costs ? wcet_hi_of(t) : t->wcet));
        }
        if (next == w) {
            *converged = true;
            return w;
        }
        w = next;
    }
}

keel_status keel_analysis_rta(const keel_analysis_set *set, keel_analysis_result *results) {
    keel_status st = keel_analysis_check(set);
    if (st != KEEL_OK)
        return st;
    if (results == NULL)
        return KEEL_EINVAL;
    unsigned ceiling[KEEL_ANALYSIS_MAX_RESOURCES];
    compute_ceilings(set, ceiling);
    for (unsigned i = 0; i < set->task_count; i++) {
        const keel_analysis_task *t = &set->tasks[i];
        keel_analysis_result *r = &results[i];
        uint64_t d = deadline_of(t);
        uint64_t limit = d - t->jitter; /* w may reach D - J_i; check guarantees J < D */
        blocking_of(set, ceiling, i, r);

        bool converged;
        uint64_t w =
            fixed_point(set, i, sat_add(t->wcet, r->blocking), false, false, limit, &converged);
        r->response = sat_add(w, t->jitter);
        r->converged = converged;
        r->schedulable = converged && r->response <= d;
        r->response_hi = 0;
        if (t->criticality != KEEL_CRIT_HI)
            continue;

        /* AMC-rtb: HI tasks at C(HI) throughout; LO tasks only up to R_i(LO). */
        uint64_t lo_part = 0;
        for (unsigned k = 0; k < set->task_count; k++) {
            const keel_analysis_task *o = &set->tasks[k];
            if (o->priority <= t->priority || o->criticality == KEEL_CRIT_HI)
                continue;
            uint64_t jobs = ceil_div(sat_add(w, o->jitter), o->period);
            lo_part = sat_add(lo_part, sat_mul(jobs, o->wcet));
        }
        bool hi_converged;
        uint64_t base = sat_add(sat_add(wcet_hi_of(t), r->blocking), lo_part);
        uint64_t w_hi = fixed_point(set, i, base, true, true, limit, &hi_converged);
        r->response_hi = sat_add(w_hi, t->jitter);
        r->converged = r->converged && hi_converged;
        r->schedulable = r->schedulable && hi_converged && r->response_hi <= d;
    }
    return KEEL_OK;
}

keel_status keel_analysis_assign_dm(keel_analysis_task *tasks, unsigned count) {
    if (tasks == NULL || count == 0 || count > KEEL_ANALYSIS_MAX_TASKS)
        return KEEL_EINVAL;
    for (unsigned i = 0; i < count; i++) {
        /* rank = how many tasks are more urgent than i */
        unsigned rank = 0;
        uint64_t di = deadline_of(&tasks[i]);
        for (unsigned j = 0; j < count; j++) {
            uint64_t dj = deadline_of(&tasks[j]);
            if (dj < di || (dj == di && j < i))
                rank++;
        }
        tasks[i].priority = count - rank;
    }
    return KEEL_OK;
}

/* x^(1/n) for x >= 1 by bisection: libkeel does not link libm. */
static double nth_root(double x, unsigned n) {
    double lo = 1.0, hi = x;
    for (int step = 0; step < 200; step++) {
        double mid = (lo + hi) / 2, power = 1.0;
        for (unsigned k = 0; k < n; k++)
            power *= mid;
        if (power > x)
            hi = mid;
        else
            lo = mid;
    }
    return (lo + hi) / 2;
}

keel_status keel_analysis_utilisation_bounds(const keel_analysis_set *set,
                                             keel_analysis_utilisation *out) {
    keel_status st = keel_analysis_check(set);
    if (st != KEEL_OK)
        return st;
    if (out == NULL)
        return KEEL_EINVAL;
    double total = 0, density = 0, hyperbolic = 1;
    for (unsigned i = 0; i < set->task_count; i++) {
        const keel_analysis_task *t = &set->tasks[i];
        double u = (double)t->wcet / (double)t->period;
        total += u;
        density += (double)t->wcet / (double)deadline_of(t);
        hyperbolic *= u + 1.0;
    }
    unsigned n = set->task_count;
    out->total = total;
    out->density = density;
    out->liu_layland = (double)n * (nth_root(2.0, n) - 1.0);
    out->liu_layland_ok = total <= out->liu_layland;
    out->hyperbolic = hyperbolic;
    out->hyperbolic_ok = hyperbolic <= 2.0;
    out->overloaded = total > 1.0;
    return KEEL_OK;
}
