/*
 * The executive's declarations: region layout, tasks and resources and their
 * validation, start and stop, statistics, and the bridge to keel/analysis.h.
 * The schedulers themselves are in sim.c and real.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rt/internal.h"

static __thread rt_task *current_task;

rt_task *rt_current_task(void) {
    return current_task;
}

static size_t align_up(size_t n) {
    return (n + KEEL_RT_REGION_ALIGN - 1) / KEEL_RT_REGION_ALIGN * KEEL_RT_REGION_ALIGN;
}

size_t keel_rt_region_size(unsigned max_tasks, unsigned max_resources) {
    if (max_tasks == 0 || max_tasks > KEEL_RT_MAX_TASKS || max_resources > KEEL_RT_MAX_RESOURCES)
        return 0;
    return align_up(sizeof(keel_rt)) + align_up(max_tasks * sizeof(rt_task)) +
           align_up(max_resources * sizeof(rt_resource));
}

keel_status keel_rt_create(const keel_rt_config *config, void *region, size_t size, keel_rt **out) {
    if (config == NULL || region == NULL || out == NULL ||
        (config->clock != KEEL_RT_SIMULATED && config->clock != KEEL_RT_REAL))
        return KEEL_EINVAL;
    size_t need = keel_rt_region_size(config->max_tasks, config->max_resources);
    if (need == 0)
        return KEEL_EINVAL;
    if ((uintptr_t)region % KEEL_RT_REGION_ALIGN != 0)
        return KEEL_EALIGN;
    if (size < need)
        return KEEL_ETOOSMALL;
    memset(region, 0, need);
    unsigned char *p = region;
    keel_rt *rt = region;
    rt->cfg = *config;
    rt->tasks = (rt_task *)(void *)(p + align_up(sizeof(keel_rt)));
    rt->resources = (rt_resource *)(void *)(p + align_up(sizeof(keel_rt)) +
                                            align_up(config->max_tasks * sizeof(rt_task)));
    atomic_init(&rt->mode, KEEL_CRIT_LO);
    rt->running = RT_NONE;
    *out = rt;
    return KEEL_OK;
}

static void copy_name(char *dst, const char *src, const char *fallback, unsigned number) {
    if (src == NULL || src[0] == '\0')
        snprintf(dst, RT_NAME_LEN, "%s%u", fallback, number);
    else
        snprintf(dst, RT_NAME_LEN, "%s", src);
}

keel_status keel_rt_resource_add(keel_rt *rt, const char *name, unsigned *id) {
    if (rt == NULL || id == NULL)
        return KEEL_EINVAL;
    if (rt->started)
        return KEEL_EBUSY;
    if (rt->resource_count >= rt->cfg.max_resources)
        return KEEL_EFULL;
    rt_resource *r = &rt->resources[rt->resource_count];
    copy_name(r->name, name, "resource", rt->resource_count);
    atomic_init(&r->holder, RT_NONE);
    *id = rt->resource_count++;
    return KEEL_OK;
}

/* Orders the sections as lock/unlock points and checks they nest. Returns false
 * for overlapping sections that do not nest. O(sections^2). */
static bool build_ops(rt_task *t) {
    unsigned n = 0;
    for (unsigned s = 0; s < t->cfg.section_count; s++) {
        const keel_rt_section *sec = &t->sections[s];
        t->ops[n++] = (rt_op){sec->offset, sec->resource, s, true};
        t->ops[n++] = (rt_op){sec->offset + sec->length, sec->resource, s, false};
    }
    /* Sort by position; at one position unlocks before locks. */
    for (unsigned i = 1; i < n; i++) {
        for (unsigned j = i; j > 0; j--) {
            rt_op *a = &t->ops[j - 1], *b = &t->ops[j];
            bool swap = false;
            if (a->position != b->position) {
                swap = a->position > b->position;
            } else if (a->lock != b->lock) {
                swap = a->lock; /* unlock first */
            } else {
                /* outer first: longer locks first, shorter unlocks first; equal
                 * sections nest in declaration order */
                uint64_t la = t->sections[a->section].length, lb = t->sections[b->section].length;
                if (la != lb)
                    swap = a->lock ? la < lb : la > lb;
                else
                    swap = a->lock ? a->section > b->section : a->section < b->section;
            }
            if (!swap)
                break;
            rt_op tmp = *a;
            *a = *b;
            *b = tmp;
        }
    }
    t->op_count = n;
    /* Proper nesting: every unlock matches the innermost lock. */
    unsigned stack[KEEL_RT_MAX_SECTIONS], depth = 0;
    for (unsigned i = 0; i < n; i++) {
        if (t->ops[i].lock) {
            stack[depth++] = t->ops[i].resource;
        } else {
            if (depth == 0 || stack[depth - 1] != t->ops[i].resource)
                return false;
            depth--;
        }
    }
    return true;
}

static keel_status check_task(const keel_rt *rt, const keel_rt_task_config *c) {
    uint64_t d = c->deadline == 0 ? c->period : c->deadline;
    if (c->period == 0 || d > c->period || c->jitter >= d)
        return KEEL_EINVAL;
    if (c->kind != KEEL_RT_PERIODIC && c->kind != KEEL_RT_SPORADIC)
        return KEEL_EINVAL;
    if (c->criticality != KEEL_CRIT_LO && c->criticality != KEEL_CRIT_HI)
        return KEEL_EINVAL;
    if (c->criticality == KEEL_CRIT_HI && c->wcet_hi != 0 && c->wcet_hi < c->wcet)
        return KEEL_EINVAL;
    for (unsigned i = 0; i < rt->task_count; i++)
        if (rt->tasks[i].cfg.priority == c->priority)
            return KEEL_EINVAL;
    if (c->section_count > KEEL_RT_MAX_SECTIONS || (c->section_count != 0 && c->sections == NULL))
        return KEEL_EINVAL;
    /* The shortest execution a simulated job can have: sections must fit in it. */
    uint64_t shortest;
    switch (c->exec.kind) {
    case KEEL_RT_EXEC_WCET:
        shortest = c->wcet;
        break;
    case KEEL_RT_EXEC_FIXED:
        shortest = c->exec.max;
        break;
    case KEEL_RT_EXEC_UNIFORM:
        if (c->exec.min > c->exec.max)
            return KEEL_EINVAL;
        shortest = c->exec.min;
        break;
    default:
        return KEEL_EINVAL;
    }
    for (unsigned s = 0; s < c->section_count; s++) {
        const keel_rt_section *sec = &c->sections[s];
        if (sec->resource >= rt->resource_count || sec->length == 0 ||
            (c->wcet != 0 && sec->length > c->wcet) || sec->offset > UINT64_MAX - sec->length)
            return KEEL_EINVAL;
        if (rt->cfg.clock == KEEL_RT_SIMULATED && sec->offset + sec->length > shortest)
            return KEEL_EINVAL;
        for (unsigned o = 0; o < s; o++)
            if (c->sections[o].resource == sec->resource)
                return KEEL_EINVAL; /* one section per resource and task */
    }
    if (c->arrival_count != 0) {
        if (c->kind != KEEL_RT_SPORADIC || c->arrivals == NULL)
            return KEEL_EINVAL;
        for (unsigned a = 1; a < c->arrival_count; a++)
            if (c->arrivals[a] < c->arrivals[a - 1])
                return KEEL_EINVAL;
    }
    return KEEL_OK;
}

keel_status keel_rt_task_add(keel_rt *rt, const keel_rt_task_config *config, unsigned *id) {
    if (rt == NULL || config == NULL || id == NULL)
        return KEEL_EINVAL;
    if (rt->started)
        return KEEL_EBUSY;
    keel_status st = check_task(rt, config);
    if (st != KEEL_OK)
        return st;
    if (rt->task_count >= rt->cfg.max_tasks)
        return KEEL_EFULL;
    rt_task *t = &rt->tasks[rt->task_count];
    memset(t, 0, sizeof *t);
    t->cfg = *config;
    t->index = rt->task_count;
    t->rt = rt;
    copy_name(t->name, config->name, "task", t->index);
    t->cfg.name = t->name;
    for (unsigned s = 0; s < config->section_count; s++) {
        t->sections[s] = config->sections[s];
        t->resource_mask |= (uint64_t)1 << config->sections[s].resource;
    }
    t->cfg.sections = t->sections;
    if (!build_ops(t))
        return KEEL_EINVAL;
    t->deadline = config->deadline == 0 ? config->period : config->deadline;
    t->wcet_hi = config->criticality == KEEL_CRIT_HI && config->wcet_hi != 0 ? config->wcet_hi
                                                                             : config->wcet;
    memcpy(t->stats.name, t->name, RT_NAME_LEN);
    keel_hist_clear(&t->stats.response);
    keel_hist_clear(&t->stats.latency);
    *id = rt->task_count++;
    return KEEL_OK;
}

static void revoke_jobs(keel_rt *rt);
static keel_status export_jobs(keel_rt *rt);

/* Ranks (0 = least urgent) and ceilings. O(tasks^2 + sections). */
static void compute_ranks_and_ceilings(keel_rt *rt) {
    for (unsigned i = 0; i < rt->task_count; i++) {
        unsigned rank = 0;
        for (unsigned j = 0; j < rt->task_count; j++)
            rank += rt->tasks[j].cfg.priority < rt->tasks[i].cfg.priority;
        rt->tasks[i].rank = rank;
        rt->tasks[i].eff_priority = rt->tasks[i].cfg.priority;
    }
    for (unsigned r = 0; r < rt->resource_count; r++) {
        rt->resources[r].ceiling = 0;
        rt->resources[r].ceiling_rank = 0;
    }
    for (unsigned i = 0; i < rt->task_count; i++) {
        const rt_task *t = &rt->tasks[i];
        for (unsigned s = 0; s < t->cfg.section_count; s++) {
            rt_resource *r = &rt->resources[t->sections[s].resource];
            if (t->cfg.priority >= r->ceiling) {
                r->ceiling = t->cfg.priority;
                r->ceiling_rank = t->rank;
            }
        }
    }
}

keel_status keel_rt_start(keel_rt *rt) {
    if (rt == NULL || rt->task_count == 0)
        return KEEL_EINVAL;
    if (rt->started)
        return KEEL_EBUSY;
    compute_ranks_and_ceilings(rt);
    keel_status st = export_jobs(rt);
    if (st != KEEL_OK)
        return st;
    if (rt->cfg.clock == KEEL_RT_SIMULATED) {
        rt_sim_start(rt);
        rt->started = true;
        return KEEL_OK;
    }
    rt->started = true; /* before the threads run: their first jobs may lock at once */
    st = rt_real_start(rt);
    if (st != KEEL_OK) {
        rt->started = false;
        revoke_jobs(rt);
        return st;
    }
    return KEEL_OK;
}

keel_status keel_rt_stop(keel_rt *rt) {
    if (rt == NULL)
        return KEEL_EINVAL;
    if (!rt->started || rt->stopped)
        return KEEL_EBUSY;
    if (rt->cfg.clock == KEEL_RT_REAL) {
        keel_status st = rt_real_stop(rt);
        if (st != KEEL_OK)
            return st;
    }
    revoke_jobs(rt);
    rt->stopped = true;
    return KEEL_OK;
}

keel_status keel_rt_trigger(keel_rt *rt, unsigned task) {
    if (rt == NULL || task >= rt->task_count || rt->tasks[task].cfg.kind != KEEL_RT_SPORADIC)
        return KEEL_EINVAL;
    if (!rt->started || rt->stopped)
        return KEEL_EBUSY;
    if (rt->cfg.clock == KEEL_RT_SIMULATED)
        return rt_sim_trigger(rt, &rt->tasks[task]);
    return rt_real_trigger(rt, &rt->tasks[task]);
}

uint64_t keel_rt_now(const keel_rt *rt) {
    if (rt == NULL || !rt->started)
        return 0;
    if (rt->cfg.clock == KEEL_RT_SIMULATED)
        return rt->now;
    return rt_real_now(rt);
}

keel_status keel_rt_ceiling(const keel_rt *rt, unsigned resource, unsigned *ceiling) {
    if (rt == NULL || ceiling == NULL || resource >= rt->resource_count)
        return KEEL_EINVAL;
    if (!rt->started)
        return KEEL_EBUSY;
    *ceiling = rt->resources[resource].ceiling;
    return KEEL_OK;
}

keel_status keel_rt_lock(keel_rt *rt, unsigned resource) {
    rt_task *t = rt_current_task();
    if (rt == NULL || t == NULL || resource >= rt->resource_count ||
        !(t->resource_mask & ((uint64_t)1 << resource)))
        return KEEL_EINVAL;
    if (!rt->started || rt->stopped)
        return KEEL_EBUSY;
    if (rt->cfg.clock == KEEL_RT_SIMULATED)
        return KEEL_OK; /* the declared sections carry the timing */
    return rt_real_lock(rt, t, resource);
}

keel_status keel_rt_unlock(keel_rt *rt, unsigned resource) {
    rt_task *t = rt_current_task();
    if (rt == NULL || t == NULL || resource >= rt->resource_count ||
        !(t->resource_mask & ((uint64_t)1 << resource)))
        return KEEL_EINVAL;
    if (!rt->started || rt->stopped)
        return KEEL_EBUSY;
    if (rt->cfg.clock == KEEL_RT_SIMULATED)
        return KEEL_OK;
    return rt_real_unlock(rt, t, resource);
}

/* ---- jobs and domains ---- */

static void revoke_jobs(keel_rt *rt) {
    for (unsigned i = 0; i < rt->task_count; i++) {
        rt_task *t = &rt->tasks[i];
        if (t->exported)
            (void)keel_rref_revoke(t->rref);
        t->exported = false;
    }
}

static keel_status job_method(void *object, keel_call *call) {
    rt_task *t = object;
    return t->cfg.job((const keel_rt_job *)call->arg);
}

static const keel_method job_methods[] = {job_method};
static const keel_interface job_interface = {"keel_rt_job", 1, job_methods};

/* Called from the host at start: exports each domain-bound task's job. */
static keel_status export_jobs(keel_rt *rt) {
    for (unsigned i = 0; i < rt->task_count; i++) {
        rt_task *t = &rt->tasks[i];
        if (t->cfg.domain == NULL || t->cfg.job == NULL)
            continue;
        keel_status st = keel_domain_export(t->cfg.domain, t, &job_interface, &t->rref);
        if (st != KEEL_OK) {
            revoke_jobs(rt);
            return st;
        }
        t->exported = true;
    }
    return KEEL_OK;
}

keel_status rt_invoke_job(keel_rt *rt, rt_task *t, const keel_rt_job *job) {
    (void)rt;
    if (t->cfg.job == NULL)
        return KEEL_OK;
    rt_task *outer = current_task;
    current_task = t;
    keel_status st;
    if (!t->exported) {
        st = t->cfg.job(job);
    } else {
        /* After a failure the domain recovers; our slot must be re-exported
         * (from the host, which this thread is) before the next job. */
        if (t->reexport_needed) {
            st = keel_domain_reexport(t->cfg.domain, t->rref, t, &job_interface);
            if (st == KEEL_OK)
                t->reexport_needed = false;
        }
        st = t->reexport_needed ? KEEL_ERECOVERING
                                : keel_rref_call(t->rref, 0, (void *)(uintptr_t)job, NULL);
        if (st == KEEL_EPANIC || st == KEEL_EFAULT || st == KEEL_EABORTED ||
            st == KEEL_ERECOVERING) {
            t->reexport_needed = true;
            if (keel_domain_reexport(t->cfg.domain, t->rref, t, &job_interface) == KEEL_OK)
                t->reexport_needed = false;
        }
    }
    current_task = outer;
    return st;
}

/* ---- statistics ---- */

void rt_record(keel_hist *h, uint64_t value) {
    rt_count(&h->count);
    if (value < rt_load(&h->min))
        __atomic_store_n(&h->min, value, __ATOMIC_RELAXED);
    if (value > rt_load(&h->max))
        __atomic_store_n(&h->max, value, __ATOMIC_RELAXED);
    uint64_t sum = rt_load(&h->sum);
    __atomic_store_n(&h->sum, sum > UINT64_MAX - value ? UINT64_MAX : sum + value,
                     __ATOMIC_RELAXED);
    if (value >= ((uint64_t)1 << KEEL_HIST_TOP_BITS))
        rt_count(&h->overflow);
    rt_count(&h->bucket[keel_hist_bucket_of(value)]);
}

static void copy_hist(keel_hist *dst, const keel_hist *src) {
    dst->count = rt_load(&src->count);
    dst->min = rt_load(&src->min);
    dst->max = rt_load(&src->max);
    dst->sum = rt_load(&src->sum);
    dst->overflow = rt_load(&src->overflow);
    for (unsigned b = 0; b < KEEL_HIST_BUCKETS; b++)
        dst->bucket[b] = rt_load(&src->bucket[b]);
}

keel_status keel_rt_task_stats_get(const keel_rt *rt, unsigned task, keel_rt_task_stats *out) {
    if (rt == NULL || out == NULL || task >= rt->task_count)
        return KEEL_EINVAL;
    const keel_rt_task_stats *s = &rt->tasks[task].stats;
    memcpy(out->name, s->name, sizeof out->name);
    out->released = rt_load(&s->released);
    out->completed = rt_load(&s->completed);
    out->failed = rt_load(&s->failed);
    out->deadline_misses = rt_load(&s->deadline_misses);
    out->budget_overruns = rt_load(&s->budget_overruns);
    out->throttles = rt_load(&s->throttles);
    out->skipped = rt_load(&s->skipped);
    out->dropped = rt_load(&s->dropped);
    out->preemptions = rt_load(&s->preemptions);
    out->deferred = rt_load(&s->deferred);
    out->coalesced = rt_load(&s->coalesced);
    copy_hist(&out->response, &s->response);
    copy_hist(&out->latency, &s->latency);
    return KEEL_OK;
}

keel_status keel_rt_system_stats_get(const keel_rt *rt, keel_rt_system_stats *out) {
    if (rt == NULL || out == NULL)
        return KEEL_EINVAL;
    out->clock = rt->cfg.clock;
    out->fifo = rt->fifo;
    out->memory_locked = rt->memory_locked;
    out->cpu = rt->cpu;
    out->mode = (keel_criticality)atomic_load_explicit(&rt->mode, memory_order_relaxed);
    out->mode_switches_hi = atomic_load_explicit(&rt->mode_switches_hi, memory_order_relaxed);
    out->mode_switches_lo = atomic_load_explicit(&rt->mode_switches_lo, memory_order_relaxed);
    out->lock_waits = atomic_load_explicit(&rt->lock_waits, memory_order_relaxed);
    out->now = keel_rt_now(rt);
    return KEEL_OK;
}

keel_status keel_rt_analyse(const keel_rt *rt, keel_analysis_result *results) {
    if (rt == NULL || results == NULL || rt->task_count == 0)
        return KEEL_EINVAL;
    keel_analysis_task tasks[KEEL_RT_MAX_TASKS];
    keel_analysis_section sections[KEEL_RT_MAX_TASKS * KEEL_RT_MAX_SECTIONS];
    unsigned section_count = 0;
    for (unsigned i = 0; i < rt->task_count; i++) {
        const rt_task *t = &rt->tasks[i];
        if (t->cfg.wcet == 0)
            return KEEL_EINVAL;
        tasks[i] = (keel_analysis_task){
            .name = t->name,
            .priority = t->cfg.priority,
            .period = t->cfg.period,
            .deadline = t->deadline,
            .wcet = t->cfg.wcet,
            .wcet_hi = t->wcet_hi,
            .jitter = t->cfg.jitter,
            .criticality = t->cfg.criticality,
        };
        for (unsigned s = 0; s < t->cfg.section_count; s++)
            sections[section_count++] = (keel_analysis_section){
                .task = i, .resource = t->sections[s].resource, .length = t->sections[s].length};
    }
    keel_analysis_set set = {tasks, rt->task_count, sections, section_count, rt->resource_count};
    return keel_analysis_rta(&set, results);
}

/* ---- events and warnings ---- */

void rt_trace(keel_rt *rt, keel_rt_event_kind kind, unsigned task, uint64_t job, unsigned resource,
              keel_status status) {
    if (rt->cfg.trace == NULL)
        return;
    keel_rt_event ev = {kind, task, resource, job, keel_rt_now(rt), status};
    rt->cfg.trace(rt->cfg.trace_context, &ev);
}

void rt_warn(keel_rt *rt, const char *fmt, ...) {
    char message[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    if (rt->cfg.warn != NULL)
        rt->cfg.warn(rt->cfg.warn_context, message);
    else if (!(rt->cfg.flags & KEEL_RT_QUIET))
        fprintf(stderr, "keel rt: warning: %s\n", message);
}
