/*
 * src/rt/internal.h - the executive's private layout, shared by its files:
 *
 *   rt.c       declaring tasks and resources, start/stop, statistics, analysis
 *   sim.c      the virtual-clock scheduler
 *   real.c     the Linux threads, releases, budgets (CPU-time timers), stop
 *   resource.c lock and unlock (both clocks)
 *   report.c   text, CSV and gnuplot reports
 *   hist.c     log-linear histograms
 *
 * Counters that task threads write and other threads read are only touched
 * with the relaxed atomics below: one writer each, readers see each counter
 * whole.
 */
#ifndef KEEL_RT_INTERNAL_H
#define KEEL_RT_INTERNAL_H

#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>

#include "keel/rt.h"

#define RT_NONE     0xffffffffu
#define RT_NAME_LEN 32u
#define RT_MAX_OPS  (2u * KEEL_RT_MAX_SECTIONS)

/* A lock or unlock at a point of a simulated job's execution. */
typedef struct rt_op {
    uint64_t position; /* ns of execution */
    unsigned resource;
    unsigned section; /* index in the task's declaration */
    bool lock;
} rt_op;

typedef struct rt_resource {
    char name[RT_NAME_LEN];
    unsigned ceiling;        /* highest priority among its users (0: unused) */
    unsigned ceiling_rank;   /* the rank of that task (real mode's FIFO level) */
    _Atomic unsigned holder; /* task index, or RT_NONE */
} rt_resource;

typedef struct rt_task {
    keel_rt_task_config cfg; /* copied; name and sections point into this struct */
    char name[RT_NAME_LEN];
    keel_rt_section sections[KEEL_RT_MAX_SECTIONS];
    rt_op ops[RT_MAX_OPS]; /* the sections as a lock/unlock sequence (simulation) */
    unsigned op_count;
    uint64_t deadline;      /* D, with 0 resolved to T */
    uint64_t wcet_hi;       /* C(HI), with 0 resolved to C */
    uint64_t resource_mask; /* bit r: declared a section on resource r */
    unsigned rank;          /* 0 for the least urgent task */
    unsigned index;
    keel_rt *rt;

    keel_rt_task_stats stats; /* one writer: the scheduler (sim) or the task's thread */

    /* Domain binding. */
    keel_rref rref;
    bool exported;
    bool reexport_needed;

    /* The job in progress (both clocks). */
    bool active;  /* released and not finished */
    bool started; /* has run at least once */
    bool overran; /* counted its budget overrun */
    bool throttled;
    uint64_t job_index, release, abs_deadline, start_time;
    unsigned held[KEEL_RT_MAX_SECTIONS]; /* resources held, innermost last */
    unsigned held_count;
    unsigned eff_priority; /* max(priority, ceilings held) */

    /* Simulation. */
    uint64_t rng;
    uint64_t next_index, next_release; /* periodic: the next release */
    unsigned next_arrival;             /* sporadic: index into cfg.arrivals */
    bool has_pending;                  /* sporadic: a deferred release at pending_time */
    uint64_t pending_time;
    bool has_released;
    uint64_t last_release;
    uint64_t ready_time; /* release + this job's jitter */
    uint64_t exec_total, exec_done, budget_used, throttle_until;
    unsigned op_next;

    /* Real mode. */
    pthread_t thread;
    bool thread_started;
    bool sem_ok;
    timer_t timer;
    bool timer_ok;
    sem_t wake;                         /* sporadic arrivals, stop, end of a suspension */
    _Atomic bool parked;                /* suspended in HI mode (LO tasks) */
    _Atomic bool budget_out;            /* budget ran out while resources were held */
    _Atomic bool suspend_pending;       /* HI mode began while resources were held */
    volatile sig_atomic_t in_executive; /* inside lock/unlock: the handler defers */
    volatile sig_atomic_t in_handler;   /* the signal handler is acting (throttle, park) */
    volatile sig_atomic_t timer_missed; /* a budget expiry arrived meanwhile */
    _Atomic bool real_active;           /* a job is between its release and its end */
    _Atomic uint64_t arrivals_pending;  /* sporadic: triggers not yet consumed */
    _Atomic uint64_t arrival_time;      /* sporadic: executive time of the first of them */
    uint64_t prev_end;                  /* when the previous job ended (executive time) */
    uint64_t budget_cpu_start;          /* thread CPU time when the budget window opened */
    uint64_t budget_len;                /* the window's CPU budget */
} rt_task;

struct keel_rt {
    keel_rt_config cfg;
    unsigned task_count, resource_count;
    bool started, stopped;
    rt_task *tasks;
    rt_resource *resources;
    _Atomic int mode; /* keel_criticality */
    _Atomic uint64_t mode_switches_hi, mode_switches_lo, lock_waits;

    /* Simulation. */
    uint64_t now;
    unsigned running; /* the task on the virtual processor, or RT_NONE */
    bool in_run;

    /* Real mode. */
    uint64_t epoch_ns; /* CLOCK_MONOTONIC at time 0 */
    _Atomic bool stopping;
    bool fifo, memory_locked;
    int cpu;
    int signal;
    int fifo_max;               /* the FIFO priority of the most urgent task */
    _Atomic unsigned hi_active; /* HI jobs between release and end */
    pthread_mutex_t gate;       /* resource bookkeeping and start-up (real mode) */
    pthread_cond_t gate_free;
    pthread_cond_t go_cond;
    unsigned gate_waiters;
    unsigned held_at_rank[KEEL_RT_MAX_TASKS]; /* resources held, by ceiling rank */
    unsigned threads_ready;
    int go; /* 0: wait, 1: run, -1: abort start-up */
    bool setup_failed;
    bool sync_ok; /* gate and conditions initialised */
};

/* Relaxed one-writer counters. */
static inline void rt_count(uint64_t *counter) {
    __atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}

static inline void rt_add(uint64_t *counter, uint64_t n) {
    __atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

static inline uint64_t rt_load(const uint64_t *counter) {
    return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

void rt_trace(keel_rt *rt, keel_rt_event_kind kind, unsigned task, uint64_t job, unsigned resource,
              keel_status status);
void rt_warn(keel_rt *rt, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rt_record(keel_hist *h, uint64_t value); /* keel_hist_record with relaxed stores */

/* Runs the job function (inside the task's domain if it has one). */
keel_status rt_invoke_job(keel_rt *rt, rt_task *t, const keel_rt_job *job);

/* The task whose job the calling thread is running, or NULL. */
rt_task *rt_current_task(void);

/* Simulation (sim.c). */
void rt_sim_start(keel_rt *rt);
keel_status rt_sim_trigger(keel_rt *rt, rt_task *t);

/* Real mode (real.c). */
keel_status rt_real_start(keel_rt *rt);
keel_status rt_real_stop(keel_rt *rt);
keel_status rt_real_trigger(keel_rt *rt, rt_task *t);
uint64_t rt_real_now(const keel_rt *rt);
keel_status rt_real_lock(keel_rt *rt, rt_task *t, unsigned resource);
keel_status rt_real_unlock(keel_rt *rt, rt_task *t, unsigned resource);

#endif /* KEEL_RT_INTERNAL_H */
