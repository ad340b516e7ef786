/*
 * The simulated executive: one virtual processor, a virtual clock in ns, and
 * the scheduling rules of keel/rt.h applied event by event.
 *
 * Each step: apply everything due at `now` (throttle ends, releases, arrivals),
 * give the processor to the eligible job with the highest effective priority
 * (ties go to a job holding resources: SRP's "strictly above the ceiling"),
 * then advance time to the next event: a release or arrival, a job becoming
 * ready after its jitter, a throttle ending, or the running job reaching a
 * lock, an unlock, its end or its budget. Deterministic: tasks are visited in
 * index order and every draw comes from the task's own seeded generator.
 */
#include <string.h>

#include "rt/internal.h"

static uint64_t sat_add(uint64_t a, uint64_t b) {
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t sat_mul(uint64_t a, uint64_t b) {
    if (a != 0 && b > UINT64_MAX / a)
        return UINT64_MAX;
    return a * b;
}

/* splitmix64: small, fast, and good enough for execution-time draws. */
static uint64_t rng_next(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static uint64_t draw(uint64_t *state, uint64_t lo, uint64_t hi) {
    uint64_t span = hi - lo;
    uint64_t r = rng_next(state);
    if (span == UINT64_MAX)
        return r;
    return lo + r % (span + 1);
}

static uint64_t exec_time(rt_task *t) {
    switch (t->cfg.exec.kind) {
    case KEEL_RT_EXEC_FIXED:
        return t->cfg.exec.max;
    case KEEL_RT_EXEC_UNIFORM:
        return draw(&t->rng, t->cfg.exec.min, t->cfg.exec.max);
    case KEEL_RT_EXEC_WCET:
    default:
        return t->cfg.wcet;
    }
}

static keel_criticality mode_of(const keel_rt *rt) {
    return (keel_criticality)atomic_load_explicit(&rt->mode, memory_order_relaxed);
}

void rt_sim_start(keel_rt *rt) {
    rt->now = 0;
    rt->running = RT_NONE;
    for (unsigned i = 0; i < rt->task_count; i++) {
        rt_task *t = &rt->tasks[i];
        t->rng = rt->cfg.seed ^ (0x5851f42d4c957f2dull * (i + 1));
        t->next_index = 0;
        t->next_release = t->cfg.offset;
        t->next_arrival = 0;
        t->has_pending = false;
        t->has_released = false;
        t->active = false;
    }
}

/* A release at nominal time r (job number k): a new job, or skipped/dropped. */
static void release(keel_rt *rt, rt_task *t, uint64_t r, uint64_t k) {
    t->has_released = true;
    t->last_release = r;
    if (mode_of(rt) == KEEL_CRIT_HI && t->cfg.criticality == KEEL_CRIT_LO) {
        rt_count(&t->stats.dropped);
        rt_trace(rt, KEEL_RT_EV_DROP, t->index, k, RT_NONE, KEEL_OK);
        return;
    }
    if (t->active) {
        rt_count(&t->stats.skipped);
        rt_trace(rt, KEEL_RT_EV_SKIP, t->index, k, RT_NONE, KEEL_OK);
        return;
    }
    t->active = true;
    t->started = false;
    t->overran = false;
    t->throttled = false;
    t->job_index = k;
    t->release = r;
    t->abs_deadline = sat_add(r, t->deadline);
    t->ready_time = t->cfg.jitter == 0 ? r : sat_add(r, draw(&t->rng, 0, t->cfg.jitter));
    t->exec_total = exec_time(t);
    t->exec_done = 0;
    t->budget_used = 0;
    t->op_next = 0;
    t->held_count = 0;
    t->eff_priority = t->cfg.priority;
    rt_count(&t->stats.released);
    rt_trace(rt, KEEL_RT_EV_RELEASE, t->index, k, RT_NONE, KEEL_OK);
}

/* A sporadic arrival at time a: released, deferred, or merged. */
static void arrival(keel_rt *rt, rt_task *t, uint64_t a) {
    if (t->has_pending) {
        rt_count(&t->stats.coalesced);
        rt_trace(rt, KEEL_RT_EV_COALESCE, t->index, t->next_index, RT_NONE, KEEL_OK);
        return;
    }
    uint64_t earliest = t->has_released ? sat_add(t->last_release, t->cfg.period) : a;
    if (a >= earliest) {
        release(rt, t, a, t->next_index++);
        return;
    }
    t->has_pending = true;
    t->pending_time = earliest;
    rt_count(&t->stats.deferred);
    rt_trace(rt, KEEL_RT_EV_DEFER, t->index, t->next_index, RT_NONE, KEEL_OK);
}

keel_status rt_sim_trigger(keel_rt *rt, rt_task *t) {
    arrival(rt, t, rt->now);
    return KEEL_OK;
}

/* Everything due at rt->now. */
static void apply_due(keel_rt *rt) {
    for (unsigned i = 0; i < rt->task_count; i++) {
        rt_task *t = &rt->tasks[i];
        if (t->active && t->throttled && t->throttle_until <= rt->now) {
            t->throttled = false;
            t->budget_used = 0;
            rt_trace(rt, KEEL_RT_EV_UNTHROTTLE, i, t->job_index, RT_NONE, KEEL_OK);
        }
        if (t->cfg.kind == KEEL_RT_PERIODIC) {
            while (t->next_release <= rt->now && t->next_release != UINT64_MAX) {
                release(rt, t, t->next_release, t->next_index);
                t->next_index++;
                t->next_release = sat_add(t->cfg.offset, sat_mul(t->next_index, t->cfg.period));
            }
        } else {
            if (t->has_pending && t->pending_time <= rt->now) {
                t->has_pending = false;
                release(rt, t, t->pending_time, t->next_index++);
            }
            while (t->next_arrival < t->cfg.arrival_count &&
                   t->cfg.arrivals[t->next_arrival] <= rt->now)
                arrival(rt, t, t->cfg.arrivals[t->next_arrival++]);
        }
    }
}

static bool eligible(const keel_rt *rt, const rt_task *t) {
    if (!t->active || t->throttled || t->ready_time > rt->now)
        return false;
    /* In HI mode a LO job is suspended, once it holds no resource. */
    return !(mode_of(rt) == KEEL_CRIT_HI && t->cfg.criticality == KEEL_CRIT_LO &&
             t->held_count == 0);
}

static unsigned pick(const keel_rt *rt) {
    unsigned best = RT_NONE;
    uint64_t best_key = 0;
    for (unsigned i = 0; i < rt->task_count; i++) {
        const rt_task *t = &rt->tasks[i];
        if (!eligible(rt, t))
            continue;
        uint64_t key = (uint64_t)t->eff_priority * 2 + (t->held_count > 0);
        if (best == RT_NONE || key > best_key) {
            best = i;
            best_key = key;
        }
    }
    return best;
}

/* The earliest future event other than the running job's own progress. */
static uint64_t next_event(const keel_rt *rt) {
    uint64_t next = UINT64_MAX;
    for (unsigned i = 0; i < rt->task_count; i++) {
        const rt_task *t = &rt->tasks[i];
        if (t->cfg.kind == KEEL_RT_PERIODIC) {
            if (t->next_release < next)
                next = t->next_release;
        } else {
            if (t->has_pending && t->pending_time < next)
                next = t->pending_time;
            if (t->next_arrival < t->cfg.arrival_count && t->cfg.arrivals[t->next_arrival] < next)
                next = t->cfg.arrivals[t->next_arrival];
        }
        if (t->active && t->ready_time > rt->now && t->ready_time < next)
            next = t->ready_time;
        if (t->active && t->throttled && t->throttle_until < next)
            next = t->throttle_until;
    }
    return next;
}

/* The budget the running job is measured against now; UINT64_MAX: none. */
static uint64_t budget_limit(const keel_rt *rt, const rt_task *t) {
    if (t->cfg.wcet == 0)
        return UINT64_MAX;
    if (t->cfg.criticality == KEEL_CRIT_HI && mode_of(rt) == KEEL_CRIT_HI)
        return t->wcet_hi;
    return t->cfg.wcet;
}

static void end_job(keel_rt *rt, rt_task *t) {
    t->active = false;
    t->held_count = 0;
    t->eff_priority = t->cfg.priority;
    if (mode_of(rt) != KEEL_CRIT_HI)
        return;
    for (unsigned i = 0; i < rt->task_count; i++)
        if (rt->tasks[i].active && rt->tasks[i].cfg.criticality == KEEL_CRIT_HI)
            return;
    atomic_store_explicit(&rt->mode, KEEL_CRIT_LO, memory_order_relaxed);
    atomic_fetch_add_explicit(&rt->mode_switches_lo, 1, memory_order_relaxed);
    rt_trace(rt, KEEL_RT_EV_MODE_LO, t->index, t->job_index, RT_NONE, KEEL_OK);
}

static void throttle(keel_rt *rt, rt_task *t) {
    /* until the task's next release after now: release + m T, m >= 1 */
    uint64_t m = (rt->now - t->release) / t->cfg.period + 1;
    t->throttled = true;
    t->throttle_until = sat_add(t->release, sat_mul(m, t->cfg.period));
    rt_count(&t->stats.throttles);
    rt_trace(rt, KEEL_RT_EV_THROTTLE, t->index, t->job_index, RT_NONE, KEEL_OK);
}

/* Budget actions for the running job once it has used its budget. */
static void check_budget(keel_rt *rt, rt_task *t) {
    for (;;) {
        uint64_t limit = budget_limit(rt, t);
        if (limit == UINT64_MAX || t->budget_used < limit)
            return;
        if (t->cfg.criticality == KEEL_CRIT_HI) {
            if (mode_of(rt) == KEEL_CRIT_LO && t->wcet_hi > limit) {
                /* C(LO) exceeded: the mode change; C(HI) now applies. */
                atomic_store_explicit(&rt->mode, KEEL_CRIT_HI, memory_order_relaxed);
                atomic_fetch_add_explicit(&rt->mode_switches_hi, 1, memory_order_relaxed);
                rt_trace(rt, KEEL_RT_EV_MODE_HI, t->index, t->job_index, RT_NONE, KEEL_OK);
                continue;
            }
            if (mode_of(rt) == KEEL_CRIT_LO) {
                /* C(HI) = C: switch too, and this is already an overrun of C(HI). */
                atomic_store_explicit(&rt->mode, KEEL_CRIT_HI, memory_order_relaxed);
                atomic_fetch_add_explicit(&rt->mode_switches_hi, 1, memory_order_relaxed);
                rt_trace(rt, KEEL_RT_EV_MODE_HI, t->index, t->job_index, RT_NONE, KEEL_OK);
            }
            if (!t->overran) {
                t->overran = true;
                rt_count(&t->stats.budget_overruns);
                rt_trace(rt, KEEL_RT_EV_BUDGET_OVERRUN, t->index, t->job_index, RT_NONE, KEEL_OK);
            }
            return;
        }
        if (!t->overran) {
            t->overran = true;
            rt_count(&t->stats.budget_overruns);
            rt_trace(rt, KEEL_RT_EV_BUDGET_OVERRUN, t->index, t->job_index, RT_NONE, KEEL_OK);
        }
        if (t->held_count == 0)
            throttle(rt, t);
        return; /* else at the outermost unlock */
    }
}

/* Time the running job can run before its next own event. */
static uint64_t own_step(const keel_rt *rt, const rt_task *t) {
    uint64_t step = t->exec_total - t->exec_done;
    if (t->op_next < t->op_count && t->ops[t->op_next].position - t->exec_done < step)
        step = t->ops[t->op_next].position - t->exec_done;
    uint64_t limit = budget_limit(rt, t);
    if (limit != UINT64_MAX && t->budget_used < limit && limit - t->budget_used < step)
        step = limit - t->budget_used;
    return step;
}

static void set_effective_priority(keel_rt *rt, rt_task *t) {
    unsigned p = t->cfg.priority;
    for (unsigned h = 0; h < t->held_count; h++)
        if (rt->resources[t->held[h]].ceiling > p)
            p = rt->resources[t->held[h]].ceiling;
    t->eff_priority = p;
}

/* Locks, unlocks, the end and the budget, at the running job's position. */
static void job_boundary(keel_rt *rt, rt_task *t) {
    while (t->op_next < t->op_count && t->ops[t->op_next].position == t->exec_done) {
        const rt_op *op = &t->ops[t->op_next++];
        rt_resource *r = &rt->resources[op->resource];
        if (op->lock) {
            /* SRP guarantees the resource is free when a running job asks. */
            if (atomic_load_explicit(&r->holder, memory_order_relaxed) != RT_NONE)
                atomic_fetch_add_explicit(&rt->lock_waits, 1, memory_order_relaxed);
            atomic_store_explicit(&r->holder, t->index, memory_order_relaxed);
            t->held[t->held_count++] = op->resource;
            rt_trace(rt, KEEL_RT_EV_LOCK, t->index, t->job_index, op->resource, KEEL_OK);
        } else {
            atomic_store_explicit(&r->holder, RT_NONE, memory_order_relaxed);
            t->held_count--;
            rt_trace(rt, KEEL_RT_EV_UNLOCK, t->index, t->job_index, op->resource, KEEL_OK);
            if (t->held_count == 0 && t->cfg.criticality == KEEL_CRIT_LO &&
                t->budget_used >= budget_limit(rt, t) && t->exec_done < t->exec_total)
                throttle(rt, t); /* the deferred budget action */
        }
        set_effective_priority(rt, t);
    }
    if (t->exec_done == t->exec_total) {
        uint64_t response = rt->now - t->release;
        rt_count(&t->stats.completed);
        rt_record(&t->stats.response, response);
        rt_trace(rt, KEEL_RT_EV_COMPLETE, t->index, t->job_index, RT_NONE, KEEL_OK);
        if (rt->now > t->abs_deadline) {
            rt_count(&t->stats.deadline_misses);
            rt_trace(rt, KEEL_RT_EV_DEADLINE_MISS, t->index, t->job_index, RT_NONE, KEEL_OK);
        }
        end_job(rt, t);
        return;
    }
    if (!t->throttled)
        check_budget(rt, t);
}

/* Gives the processor to `next` (RT_NONE: idle). Returns false if it started
 * a job: the job function ran (it may have failed, or triggered a sporadic
 * task), so the caller must choose again at the same instant. */
static bool dispatch(keel_rt *rt, unsigned next) {
    unsigned prev = rt->running;
    if (prev != next && prev != RT_NONE) {
        rt_task *p = &rt->tasks[prev];
        if (p->active && p->started && eligible(rt, p)) {
            rt_count(&p->stats.preemptions);
            rt_trace(rt, KEEL_RT_EV_PREEMPT, prev, p->job_index, RT_NONE, KEEL_OK);
        }
    }
    rt->running = next;
    if (next == RT_NONE)
        return true;
    rt_task *t = &rt->tasks[next];
    if (t->started) {
        if (prev != next)
            rt_trace(rt, KEEL_RT_EV_RESUME, next, t->job_index, RT_NONE, KEEL_OK);
        return true;
    }
    t->started = true;
    t->start_time = rt->now;
    rt_record(&t->stats.latency, rt->now - t->release);
    rt_trace(rt, KEEL_RT_EV_START, next, t->job_index, RT_NONE, KEEL_OK);
    keel_rt_job job = {rt, next, t->job_index, t->release, t->abs_deadline, rt->now, t->cfg.arg};
    keel_status st = rt_invoke_job(rt, t, &job);
    if (st != KEEL_OK) {
        rt_count(&t->stats.failed);
        rt_trace(rt, KEEL_RT_EV_FAIL, next, t->job_index, RT_NONE, st);
        end_job(rt, t);
        rt->running = RT_NONE;
    }
    return false;
}

keel_status keel_rt_sim_run(keel_rt *rt, uint64_t until) {
    if (rt == NULL || rt->cfg.clock != KEEL_RT_SIMULATED)
        return KEEL_EINVAL;
    if (!rt->started || rt->stopped || rt->in_run)
        return KEEL_EBUSY;
    if (until < rt->now)
        return KEEL_EINVAL;
    rt->in_run = true;
    for (;;) {
        apply_due(rt);
        unsigned next = pick(rt);
        if (!dispatch(rt, next))
            continue;
        uint64_t at = next_event(rt);
        uint64_t step = 0;
        rt_task *t = next == RT_NONE ? NULL : &rt->tasks[next];
        if (t != NULL) {
            step = own_step(rt, t);
            if (sat_add(rt->now, step) < at)
                at = rt->now + step;
        }
        if (at > until || (t == NULL && at == UINT64_MAX)) {
            if (t != NULL) {
                t->exec_done += until - rt->now;
                t->budget_used += until - rt->now;
            }
            rt->now = until;
            break;
        }
        if (t != NULL) {
            t->exec_done += at - rt->now;
            t->budget_used += at - rt->now;
            rt->now = at;
            job_boundary(rt, t);
        } else {
            rt->now = at;
        }
    }
    rt->in_run = false;
    return KEEL_OK;
}
