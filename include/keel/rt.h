/*
 * keel/rt.h - the real-time executive: periodic and sporadic tasks under
 * fixed-priority preemptive scheduling, Stack Resource Policy resources,
 * mixed-criticality budgets, a deterministic simulation on a virtual clock,
 * and per-task timing measurement.
 *
 * The model. An executive holds up to `max_tasks` tasks and `max_resources`
 * resources, declared before keel_rt_start and fixed afterwards. Task i has a
 * unique priority (a larger number is more urgent), a period T (periodic) or
 * minimum inter-arrival time T (sporadic), a relative deadline D <= T, a
 * worst-case execution time C (which is also its budget), a criticality, a job
 * function, and the critical sections it may execute. A resource's ceiling is
 * the highest priority of the tasks that declare a section on it.
 *
 * Invariants the executive keeps (docs/realtime.md explains each):
 *   - at most one job of a task is pending: a release that finds the previous
 *     job still running is skipped (counted), never queued;
 *   - periodic release k of task i happens at offset_i + k T_i, computed by
 *     multiplication from the start time: releases never drift;
 *   - a sporadic task is never released less than T after its previous
 *     release: an earlier arrival is deferred to that instant (counted), and
 *     arrivals during a deferral are merged into it (counted);
 *   - immediate priority ceiling (the fixed-priority form of SRP): a job
 *     holding resources runs at the highest ceiling among them, so a job only
 *     starts when its priority exceeds every ceiling held, never blocks once
 *     started, and deadlock cannot arise: no lock order exists to get wrong;
 *   - budgets (seL4-style, per job, in the spirit of scheduling contexts): a
 *     LO task whose job has run C is throttled, not runnable, until its next
 *     release, where it gets a fresh budget C and the release it meets is
 *     skipped. A HI task whose job runs past C switches the system to HI mode:
 *     LO tasks are no longer released and their pending jobs are suspended;
 *     HI tasks run with budget C(HI) (an overrun of C(HI) is counted, not
 *     throttled). The system returns to LO mode at the first instant no HI job
 *     is pending. Budget actions are deferred while the job holds a resource,
 *     until its outermost unlock. This is the AMC model keel/analysis.h bounds.
 *
 * Two clocks, one model:
 *   KEEL_RT_SIMULATED  a virtual clock in nanoseconds, advanced by
 *                      keel_rt_sim_run. Each job's execution time is declared
 *                      (C, a fixed value, or uniform in [min, max] from a seeded
 *                      generator) and its critical sections sit at declared
 *                      offsets in its execution. The job function runs once, at
 *                      the job's first dispatch, and takes no virtual time.
 *                      Everything is deterministic for a given seed.
 *   KEEL_RT_REAL       CLOCK_MONOTONIC on Linux; one thread per task, SCHED_FIFO
 *                      when permitted, memory locked, all task threads pinned to
 *                      one CPU; budgets are CPU-time timers. Without permission
 *                      for SCHED_FIFO the executive runs in degraded mode (a
 *                      warning says so): the kernel time-shares the threads, so
 *                      priorities and the analysis's bounds do not hold, while
 *                      mutual exclusion, deadlock freedom, budgets, mode changes
 *                      and measurement still do.
 *
 * Memory. Everything lives in the region given to keel_rt_create; nothing is
 * allocated afterwards. Real mode's threads get their stacks from pthreads at
 * keel_rt_start.
 *
 * Thread safety: declare and start from one thread. Once started,
 * keel_rt_lock and _unlock are called from jobs (any task's thread);
 * keel_rt_trigger, _now and the statistics functions from any thread (job
 * functions included) in real mode, and from the simulating thread in
 * simulation; keel_rt_sim_run from one thread. Each function says its own.
 */
#ifndef KEEL_RT_H
#define KEEL_RT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "keel/analysis.h"
#include "keel/domain.h"
#include "keel/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------- */
/* Log-linear histograms                                                      */
/* ------------------------------------------------------------------------- */

/*
 * A fixed-size histogram of non-negative integers (nanoseconds here). Values
 * below 2^KEEL_HIST_SUB_BITS have a bucket each; above, each power of two is cut
 * into 2^KEEL_HIST_SUB_BITS equal buckets, so a bucket's width is at most
 * 1/16 (6.25%) of its lower bound. Values of 2^KEEL_HIST_TOP_BITS and more go
 * to the last bucket and are counted in `overflow`. min, max and count are exact.
 * Recording is O(1) and never allocates.
 */
#define KEEL_HIST_SUB_BITS 4u
#define KEEL_HIST_TOP_BITS 48u /* 2^48 ns is about 78 hours */
#define KEEL_HIST_BUCKETS         \
    ((1u << KEEL_HIST_SUB_BITS) + \
     (KEEL_HIST_TOP_BITS - KEEL_HIST_SUB_BITS) * (1u << KEEL_HIST_SUB_BITS))

typedef struct keel_hist {
    uint64_t count;    /* values recorded */
    uint64_t min, max; /* exact; min is UINT64_MAX while empty */
    uint64_t sum;      /* saturating sum, for the mean */
    uint64_t overflow; /* values >= 2^KEEL_HIST_TOP_BITS */
    uint64_t bucket[KEEL_HIST_BUCKETS];
} keel_hist;

/* keel_hist_clear: empties *h (nothing for NULL). O(KEEL_HIST_BUCKETS). Not
 * thread-safe for one histogram: nobody may read or record into it meanwhile. */
KEEL_API void keel_hist_clear(keel_hist *h);
/* keel_hist_record: adds one value (h must not be NULL). O(1). Not thread-safe
 * for one histogram (plain increments; the executive records its own with
 * atomics, and keel_rt_task_stats_get hands out copies). */
KEEL_API void keel_hist_record(keel_hist *h, uint64_t value);
/* keel_hist_bucket_of: the bucket a value falls in. O(1). Thread-safe (pure). */
KEEL_API unsigned keel_hist_bucket_of(uint64_t value);
/* keel_hist_bucket_low / _high: the smallest and largest value of bucket b (b
 * past the last is taken as the last). O(1). Thread-safe (pure). */
KEEL_API uint64_t keel_hist_bucket_low(unsigned b);
KEEL_API uint64_t keel_hist_bucket_high(unsigned b);
/*
 * keel_hist_percentile: an upper bound on the p-quantile (0 < p <= 1): the
 * upper edge of the bucket holding the ceil(p * count)-th smallest value,
 * clamped to max, so it overstates by less than one bucket width (p = 1 gives
 * max exactly). 0 for an empty or NULL histogram. O(KEEL_HIST_BUCKETS).
 * Thread-safe with other readers; not with a concurrent record, clear or merge
 * into h.
 */
KEEL_API uint64_t keel_hist_percentile(const keel_hist *h, double p);
/* keel_hist_merge: adds every value of `from` into `into` (nothing if either is
 * NULL). O(KEEL_HIST_BUCKETS). Not thread-safe for `into`; `from` is only read
 * (nobody may write it meanwhile). */
KEEL_API void keel_hist_merge(keel_hist *into, const keel_hist *from);

/* ------------------------------------------------------------------------- */
/* Declaring an executive                                                      */
/* ------------------------------------------------------------------------- */

#define KEEL_RT_MAX_TASKS     64u /* per executive */
#define KEEL_RT_MAX_RESOURCES 64u /* per executive */
#define KEEL_RT_MAX_SECTIONS  8u  /* critical sections declared per task */
#define KEEL_RT_REGION_ALIGN  64u /* the region's required alignment */
#define KEEL_RT_CPU_UNPINNED  (-1)

typedef struct keel_rt keel_rt;

typedef enum keel_rt_clock {
    KEEL_RT_SIMULATED = 0, /* virtual clock, declared execution times */
    KEEL_RT_REAL = 1,      /* CLOCK_MONOTONIC, one thread per task */
} keel_rt_clock;

/* Flags for keel_rt_config.flags (real mode). */
#define KEEL_RT_NO_FIFO      0x1u /* do not try SCHED_FIFO: run degraded on purpose */
#define KEEL_RT_NO_MLOCK     0x2u /* do not lock memory */
#define KEEL_RT_QUIET        0x4u /* no warnings on stderr (they still reach `warn`) */
/* Budgets on the kernel's per-thread CPU-time timers: cheaper to arm (no
 * hardware timer is programmed) but enforced up to one scheduler tick (1 to
 * 10 ms) late. Default: a high-resolution timer, precise to the timer's
 * wakeup latency, which costs a timer programming per job (docs/realtime.md). */
#define KEEL_RT_TICK_BUDGETS 0x8u

typedef enum keel_rt_event_kind {
    KEEL_RT_EV_RELEASE = 0,    /* a job is released (its nominal release time) */
    KEEL_RT_EV_START,          /* a job runs for the first time */
    KEEL_RT_EV_PREEMPT,        /* a started job loses the processor (simulation) */
    KEEL_RT_EV_RESUME,         /* it gets it back (simulation) */
    KEEL_RT_EV_LOCK,           /* `resource` taken */
    KEEL_RT_EV_UNLOCK,         /* `resource` released */
    KEEL_RT_EV_COMPLETE,       /* the job finished */
    KEEL_RT_EV_DEADLINE_MISS,  /* it finished after its deadline */
    KEEL_RT_EV_BUDGET_OVERRUN, /* the job used up its budget */
    KEEL_RT_EV_THROTTLE,       /* a LO job stops until its next release */
    KEEL_RT_EV_UNTHROTTLE,     /* ... and continues with a fresh budget */
    KEEL_RT_EV_MODE_HI,        /* the system switched to HI mode */
    KEEL_RT_EV_MODE_LO,        /* ... and back */
    KEEL_RT_EV_FAIL,           /* the job function failed (status, panic or fault) */
    KEEL_RT_EV_SKIP,           /* a release skipped: the previous job still pending */
    KEEL_RT_EV_DROP,           /* a LO release dropped in HI mode */
    KEEL_RT_EV_DEFER,          /* a sporadic arrival deferred to its minimum inter-arrival */
    KEEL_RT_EV_COALESCE,       /* an arrival merged into a deferred one */
} keel_rt_event_kind;

typedef struct keel_rt_event {
    keel_rt_event_kind kind;
    unsigned task;      /* the task (for MODE_* the task that caused it, or KEEL_ANALYSIS_NONE) */
    unsigned resource;  /* LOCK/UNLOCK; else KEEL_ANALYSIS_NONE */
    uint64_t job;       /* the job's index (0 for the first release) */
    uint64_t time;      /* the executive's clock */
    keel_status status; /* FAIL: why */
} keel_rt_event;

typedef struct keel_rt_config {
    keel_rt_clock clock;
    unsigned max_tasks;     /* 1 .. KEEL_RT_MAX_TASKS; the region is sized for it */
    unsigned max_resources; /* 0 .. KEEL_RT_MAX_RESOURCES */
    uint64_t seed;          /* simulation: seeds every execution-time and jitter draw */
    /* Real mode. */
    int cpu;           /* CPU all task threads are pinned to; KEEL_RT_CPU_UNPINNED: none */
    int fifo_base;     /* SCHED_FIFO priority of the least urgent task; 0 means 10 */
    int signal;        /* the signal budgets and stop use; 0 means SIGRTMIN + 3 */
    unsigned flags;    /* KEEL_RT_NO_FIFO, KEEL_RT_NO_MLOCK, KEEL_RT_QUIET */
    size_t stack_size; /* per task thread; 0 means 256 KiB */
    /* Every event, as it happens (from the task threads in real mode: be quick
     * and thread-safe). NULL: none. */
    void (*trace)(void *context, const keel_rt_event *event);
    void *trace_context;
    /* Warnings (degraded mode, mlock refused); NULL prints them on stderr. */
    void (*warn)(void *context, const char *message);
    void *warn_context;
} keel_rt_config;

typedef enum keel_rt_kind {
    KEEL_RT_PERIODIC = 0,
    KEEL_RT_SPORADIC = 1, /* released by keel_rt_trigger or, simulated, by `arrivals` */
} keel_rt_kind;

/* Simulation: how long each job executes. */
typedef enum keel_rt_exec_kind {
    KEEL_RT_EXEC_WCET = 0, /* exactly C: the worst case, the default */
    KEEL_RT_EXEC_FIXED,    /* exactly `max` (may exceed C: an overrun) */
    KEEL_RT_EXEC_UNIFORM,  /* uniform in [min, max], from the seeded generator */
} keel_rt_exec_kind;

typedef struct keel_rt_exec {
    keel_rt_exec_kind kind;
    uint64_t min, max;
} keel_rt_exec;

/* A critical section: the job holds `resource` for at most `length` ns. In
 * simulation it holds it from `offset` ns of execution to offset + length.
 * Sections of one task nest properly (or are disjoint). */
typedef struct keel_rt_section {
    unsigned resource;
    uint64_t offset; /* simulation only */
    uint64_t length; /* > 0: the worst case the analysis charges as blocking */
} keel_rt_section;

/* What a job function receives. */
typedef struct keel_rt_job {
    keel_rt *rt;
    unsigned task;
    uint64_t index;    /* 0 for the task's first release, then 1, 2, ... */
    uint64_t release;  /* nominal release time (executive clock, ns) */
    uint64_t deadline; /* absolute deadline */
    uint64_t start;    /* when the job began running */
    void *arg;         /* the task's `arg` */
} keel_rt_job;

/* A job: return KEEL_OK, or any other status to fail the job (counted). */
typedef keel_status (*keel_rt_job_fn)(const keel_rt_job *job);

typedef struct keel_rt_task_config {
    const char *name; /* copied, up to 31 bytes */
    keel_rt_kind kind;
    unsigned priority; /* unique; larger is more urgent (real mode: SCHED_FIFO fifo_base + rank) */
    uint64_t period;   /* T, ns: period, or minimum inter-arrival time */
    uint64_t deadline; /* D <= T; 0 means D = T */
    uint64_t offset;   /* periodic: first release, relative to the start */
    uint64_t wcet;     /* C: worst case, and the budget per job; 0: no budget, not analysable */
    uint64_t wcet_hi;  /* HI tasks: C(HI) >= C, the budget in HI mode; 0 means C */
    uint64_t jitter;   /* J < D: simulation draws each release's delay in [0, J] */
    keel_criticality criticality;
    keel_rt_job_fn job; /* may be NULL (a pure load in simulation) */
    void *arg;
    const keel_rt_section *sections; /* copied; at most KEEL_RT_MAX_SECTIONS */
    unsigned section_count;
    keel_rt_exec exec;        /* simulation */
    const uint64_t *arrivals; /* simulation, sporadic: arrival times, ascending; not copied */
    unsigned arrival_count;
    keel_domain *domain; /* non-NULL: each job runs inside this domain */
} keel_rt_task_config;

/*
 * keel_rt_region_size: bytes keel_rt_create needs for these capacities, or 0
 * if a capacity is out of range. O(1). Thread-safe (pure).
 */
KEEL_API size_t keel_rt_region_size(unsigned max_tasks, unsigned max_resources);

/*
 * keel_rt_create: lays an executive over `region`. KEEL_EINVAL (NULL, bad
 * clock or capacities), KEEL_EALIGN (region not aligned to
 * KEEL_RT_REGION_ALIGN), KEEL_ETOOSMALL (size below keel_rt_region_size).
 * O(region size): the region is cleared. Not thread-safe for the region.
 */
KEEL_API keel_status keel_rt_create(const keel_rt_config *config, void *region, size_t size,
                                    keel_rt **out);

/*
 * keel_rt_resource_add: declares a resource; *id is its number (0, 1, ...).
 * KEEL_EINVAL (NULL rt or id; name may be NULL), KEEL_EBUSY (already
 * started), KEEL_EFULL (max_resources declared). O(1). Not thread-safe for rt:
 * declare from one thread, before keel_rt_start.
 */
KEEL_API keel_status keel_rt_resource_add(keel_rt *rt, const char *name, unsigned *id);

/*
 * keel_rt_task_add: declares a task; *id is its number (0, 1, ...). KEEL_EINVAL
 * for a NULL rt, config or id, or a bad configuration: period 0, D > T,
 * J >= D, an unknown kind or criticality (neither LO nor HI), a HI task with
 * a non-zero C(HI) < C, a priority already taken, more than
 * KEEL_RT_MAX_SECTIONS sections or sections NULL with a non-zero
 * section_count, an unknown execution model or a uniform one with min > max,
 * a section on an unknown resource, of length 0, longer than C (when C is not
 * 0), whose offset + length overflows, or (simulated) ending beyond the
 * shortest declared execution (C, max or min by the model), two sections on
 * one resource, sections not nested properly, arrivals for a periodic task,
 * arrivals NULL with a non-zero arrival_count, or arrivals not ascending.
 * KEEL_EBUSY (started), KEEL_EFULL (max_tasks declared; checked after the
 * configuration). O(tasks + sections^2 + arrivals). Not thread-safe for rt:
 * declare from one thread, before keel_rt_start.
 */
KEEL_API keel_status keel_rt_task_add(keel_rt *rt, const keel_rt_task_config *config, unsigned *id);

/*
 * keel_rt_start: computes the ceilings and starts time. Simulated: the virtual
 * clock is 0. Real: locks memory (unless KEEL_RT_NO_MLOCK), then creates one
 * thread per task, SCHED_FIFO at fifo_base + rank if permitted (else degraded
 * mode, with a warning), pinned to `cpu`; time 0 is a CLOCK_MONOTONIC instant
 * shortly after the threads exist. KEEL_EINVAL (NULL, no task; real mode: `cpu`
 * neither KEEL_RT_CPU_UNPINNED nor an online CPU, fifo_base < 1 (0 means 10),
 * or fifo_base + tasks - 1 above SCHED_FIFO's maximum),
 * KEEL_EBUSY (already started), KEEL_ESYSTEM (a thread, timer or signal
 * handler could not be set up: nothing is left running), or the status of
 * keel_domain_export for a domain-bound task (its table is full: KEEL_EFULL).
 * O(tasks^2 + sections) plus thread creation (real mode also waits until every
 * thread is ready). Not thread-safe for rt: call it once, from the thread that
 * declared the tasks and resources.
 */
KEEL_API keel_status keel_rt_start(keel_rt *rt);

/*
 * keel_rt_sim_run: advances the virtual clock to `until`, scheduling
 * everything due before it. KEEL_EINVAL for NULL, a real executive or `until`
 * in the past, KEEL_EBUSY if not started, already stopped, or reentered (a
 * call from a job, or a trace callback, while a run is in progress). Cost:
 * O(tasks) per scheduling event, plus the job functions and trace callbacks
 * it calls. Not thread-safe for rt: one thread runs the simulation (jobs run
 * on it); the reentry check is a plain flag, not a lock against other threads.
 */
KEEL_API keel_status keel_rt_sim_run(keel_rt *rt, uint64_t until);

/*
 * keel_rt_stop: no further releases; real mode waits for each task's job in
 * progress to finish, then joins the threads. Statistics stay readable.
 * KEEL_EINVAL for NULL, KEEL_EBUSY if not started or already stopped.
 * Simulated: O(tasks). Real: waits for each task's job in progress to finish,
 * joining each thread and signalling it every 10 ms until it exits: bounded by
 * the jobs' own lengths, not by the executive. Not thread-safe
 * for rt: call it from one thread, not from a job, and not concurrently with
 * keel_rt_start, keel_rt_sim_run, keel_rt_trigger or another stop (it destroys
 * the semaphores triggers post to).
 */
KEEL_API keel_status keel_rt_stop(keel_rt *rt);

/*
 * keel_rt_lock / keel_rt_unlock: from a job of a task that declared a section
 * on `resource`; unlocks in the reverse order of locks. Real mode: the thread
 * runs at the resource's ceiling until the matching unlock; on one CPU with
 * SCHED_FIFO the resource is always free when lock is called (SRP), so lock
 * never waits; otherwise (degraded, unpinned) it waits until the resource is
 * free and no other task holds a ceiling at or above the caller's priority,
 * which keeps deadlock impossible (counted in lock_waits). Simulated: the
 * declared sections model the timing; these calls only check. KEEL_EINVAL (NULL,
 * not in a job of this thread, a resource out of range or not declared by the
 * task; real mode also: lock of a resource the job already holds, lock while
 * KEEL_RT_MAX_SECTIONS are held, unlock of a resource that is not the
 * innermost held), KEEL_EBUSY (not started, or stopped). Thread-safe across
 * tasks: each call acts for the calling thread's current job (the executive
 * knows it per thread), so call them only from the job itself. Cost, real mode: one priority change each way and a mutex held
 * while scanning the ceiling levels at or above the caller's (at most
 * KEEL_RT_MAX_TASKS; in practice the few it holds itself), plus, only when not
 * on one CPU with SCHED_FIFO, the wait. Simulated: O(1).
 */
KEEL_API keel_status keel_rt_lock(keel_rt *rt, unsigned resource);
KEEL_API keel_status keel_rt_unlock(keel_rt *rt, unsigned resource);

/*
 * keel_rt_trigger: an arrival for sporadic task `task`, now. It is released at
 * once if T has passed since its previous release, else deferred to that
 * instant; an arrival while one is deferred merges into it. KEEL_EINVAL (not a
 * sporadic task), KEEL_EBUSY (not running). O(1). Real mode: thread-safe and
 * async-signal-safe, but not concurrently with keel_rt_stop. Simulated: from
 * the thread that runs keel_rt_sim_run or its jobs, not concurrently with a
 * run from another thread.
 */
KEEL_API keel_status keel_rt_trigger(keel_rt *rt, unsigned task);

/* keel_rt_now: the executive's clock in ns since start (0 before, or for NULL).
 * O(1). Real mode: thread-safe (a CLOCK_MONOTONIC read). Simulated: from the
 * thread that runs keel_rt_sim_run or its jobs; from another thread only while
 * no run is in progress. */
KEEL_API uint64_t keel_rt_now(const keel_rt *rt);

/* keel_rt_ceiling: the ceiling of a resource, computed by keel_rt_start.
 * KEEL_EINVAL (NULL rt or ceiling, a resource not declared), KEEL_EBUSY (not
 * started yet; after keel_rt_stop it still answers). O(1). Thread-safe once
 * started (ceilings do not change afterwards). */
KEEL_API keel_status keel_rt_ceiling(const keel_rt *rt, unsigned resource, unsigned *ceiling);

/* ------------------------------------------------------------------------- */
/* Measurement and reports                                                     */
/* ------------------------------------------------------------------------- */

typedef struct keel_rt_task_stats {
    char name[32];
    uint64_t released;        /* jobs released */
    uint64_t completed;       /* jobs that ran to completion */
    uint64_t failed;          /* jobs whose function failed (status, panic, fault) */
    uint64_t deadline_misses; /* completed after their deadline */
    uint64_t budget_overruns; /* jobs that used up their budget (C, or C(HI) in HI mode) */
    uint64_t throttles;       /* times a LO job was stopped until its next release */
    uint64_t skipped;         /* releases that met the previous job still pending */
    uint64_t dropped;         /* LO releases dropped in HI mode */
    uint64_t preemptions;     /* times a started job lost the processor (real mode: the
                               * kernel's involuntary context switches during the job) */
    uint64_t deferred;        /* sporadic arrivals deferred to the minimum inter-arrival */
    uint64_t coalesced;       /* sporadic arrivals merged into a deferred one */
    keel_hist response;       /* completion - nominal release */
    keel_hist latency;        /* start of the job's first instruction - nominal release */
} keel_rt_task_stats;

typedef struct keel_rt_system_stats {
    keel_rt_clock clock;
    bool fifo;                 /* real: SCHED_FIFO in force (false: degraded mode) */
    bool memory_locked;        /* real: mlockall succeeded */
    int cpu;                   /* real: the CPU the tasks are pinned to, or unpinned */
    keel_criticality mode;     /* the current criticality mode */
    uint64_t mode_switches_hi; /* LO -> HI */
    uint64_t mode_switches_lo; /* HI -> LO */
    uint64_t lock_waits;       /* locks that had to wait (0 under SRP on one CPU) */
    uint64_t now;              /* the executive's clock */
} keel_rt_system_stats;

/* keel_rt_task_stats_get: a copy of one task's statistics. KEEL_EINVAL for an
 * unknown task. O(KEEL_HIST_BUCKETS). Thread-safe (each counter is read on its
 * own; the set is not one snapshot while tasks run). */
KEEL_API keel_status keel_rt_task_stats_get(const keel_rt *rt, unsigned task,
                                            keel_rt_task_stats *out);
/* keel_rt_system_stats_get: the executive's state. O(1). Thread-safe. */
KEEL_API keel_status keel_rt_system_stats_get(const keel_rt *rt, keel_rt_system_stats *out);

/*
 * keel_rt_analyse: keel/analysis.h's response-time analysis of the declared
 * task set (C, C(HI), T, D, J, priorities, sections); results[i] for task i
 * (results has one entry per declared task).
 * KEEL_EINVAL for NULL rt or results, no task declared, or a task with no wcet;
 * otherwise as keel_analysis_rta (whose checks a declared set passes). Cost:
 * O(tasks + sections) to gather the set plus keel_analysis_rta's. Uses about
 * 13 KiB of stack. Thread-safe once the tasks are declared (it only reads
 * the declarations), not concurrently with keel_rt_task_add.
 */
KEEL_API keel_status keel_rt_analyse(const keel_rt *rt, keel_analysis_result *results);

/*
 * Reports, for people (text), spreadsheets (CSV) and pictures: keel_rt_report_plot
 * writes a gnuplot script (data inline) that draws each task's response-time
 * histogram with its deadline and analysed bound into `png_path`; pipe it to
 * gnuplot. They read the statistics as keel_rt_task_stats_get does and include
 * the bounds of keel_rt_analyse when it succeeds ("-" or empty otherwise).
 * KEEL_EINVAL for NULL rt or out (report_plot: or png_path, or a png_path
 * containing '"'; a title that is NULL or contains '"' is replaced by a
 * default); KEEL_ESYSTEM if the stream's error indicator is set at the end
 * (ferror: also an error from before the call); what was written stays
 * written. Cost: keel_rt_analyse's, plus O(tasks * KEEL_HIST_BUCKETS) and the
 * stream's writes. Thread-safe as keel_rt_task_stats_get (once started, while
 * tasks run; each task's figures are not one snapshot); the stream is the
 * caller's: output of two calls on one FILE may interleave.
 */
KEEL_API keel_status keel_rt_report_text(const keel_rt *rt, FILE *out);
KEEL_API keel_status keel_rt_report_csv(const keel_rt *rt, FILE *out);
KEEL_API keel_status keel_rt_report_plot(const keel_rt *rt, FILE *out, const char *png_path,
                                         const char *title);

#ifdef __cplusplus
}
#endif

#endif /* KEEL_RT_H */
