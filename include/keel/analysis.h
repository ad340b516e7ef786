/*
 * keel/analysis.h - schedulability analysis for fixed-priority preemptive
 * scheduling on one processor, with Stack Resource Policy blocking, release
 * jitter and two criticality levels.
 *
 * The model. A task set is n sporadic tasks; task i has a unique priority P_i
 * (a larger number is more urgent), a period or minimum inter-arrival time T_i,
 * a relative deadline D_i <= T_i, a worst-case execution time C_i, a release
 * jitter J_i, and a criticality (LO or HI; a HI task also has C_i(HI) >= C_i).
 * Tasks hold resources in critical sections; a resource's ceiling is the
 * highest priority of the tasks that use it. Times are plain integers in any
 * one unit (keel uses nanoseconds); results are exact in that unit.
 *
 * What is computed (docs/realtime.md gives the derivations and the sources):
 *
 *   blocking      B_i = max { length of a critical section of a task j with
 *                 P_j < P_i on a resource whose ceiling is >= P_i }; 0 if none.
 *                 Under SRP / immediate priority ceiling a job is blocked at
 *                 most once, before it starts, for at most B_i.
 *   response      R_i = J_i + w_i, with w_i the least fixed point of
 *                   w = C_i + B_i + sum_{j in hp(i)} ceil((w + J_j) / T_j) C_j
 *                 (Joseph and Pandya; Audsley, Burns, Richardson, Tindell and
 *                 Wellings, with jitter). The iteration stops as soon as
 *                 J_i + w exceeds D_i: the task is then unschedulable and the
 *                 value reported is that first w past the deadline.
 *   response_hi   HI tasks: the AMC-rtb bound across a mode change (Baruah,
 *                 Burns and Davis, 2011):
 *                   w = C_i(HI) + B_i + sum_{j in hpH(i)} ceil((w + J_j)/T_j) C_j(HI)
 *                                     + sum_{k in hpL(i)} ceil((w_i + J_k)/T_k) C_k
 *                 where hpH and hpL are the higher-priority HI and LO tasks:
 *                 LO tasks stop being released at the switch (keel's mode
 *                 change, docs/realtime.md).
 *   schedulable   R_i <= D_i, and for HI tasks also response_hi <= D_i.
 *
 * Nothing here keeps state between calls, allocates or blocks: every function
 * is pure computation over the caller's arrays, and thread-safe.
 */
#ifndef KEEL_ANALYSIS_H
#define KEEL_ANALYSIS_H

#include <stdbool.h>
#include <stdint.h>

#include "keel/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The most tasks, resources and critical sections one analysis takes. */
#define KEEL_ANALYSIS_MAX_TASKS     256u
#define KEEL_ANALYSIS_MAX_RESOURCES 256u
#define KEEL_ANALYSIS_MAX_SECTIONS  4096u

/* "none", where an index is reported. */
#define KEEL_ANALYSIS_NONE 0xffffffffu

typedef enum keel_criticality {
    KEEL_CRIT_LO = 0, /* may be throttled and dropped to protect HI tasks */
    KEEL_CRIT_HI = 1, /* keeps its deadline across a mode change */
} keel_criticality;

typedef struct keel_analysis_task {
    const char *name;             /* for reports; may be NULL */
    unsigned priority;            /* larger is more urgent; unique in the set */
    uint64_t period;              /* T: period or minimum inter-arrival time, > 0 */
    uint64_t deadline;            /* D <= T; 0 means D = T */
    uint64_t wcet;                /* C: worst case in LO mode (the only mode for LO tasks) */
    uint64_t wcet_hi;             /* HI tasks: C(HI) >= C; 0 means C(HI) = C. LO tasks: ignored */
    uint64_t jitter;              /* J: release jitter, J < D */
    keel_criticality criticality; /* LO or HI */
} keel_analysis_task;

/* One critical section: task `task` holds resource `resource` for at most
 * `length` at a time (its outermost section on that resource). */
typedef struct keel_analysis_section {
    unsigned task;     /* index into the task array */
    unsigned resource; /* 0 .. resource_count-1 */
    uint64_t length;   /* <= the task's C */
} keel_analysis_section;

typedef struct keel_analysis_set {
    const keel_analysis_task *tasks;
    unsigned task_count; /* 1 .. KEEL_ANALYSIS_MAX_TASKS */
    const keel_analysis_section *sections;
    unsigned section_count; /* 0 .. KEEL_ANALYSIS_MAX_SECTIONS */
    unsigned resource_count;
} keel_analysis_set;

typedef struct keel_analysis_result {
    bool schedulable;           /* response (and response_hi) within the deadline */
    bool converged;             /* false: the iteration passed the deadline and stopped */
    uint64_t response;          /* R: worst-case response time from the nominal release */
    uint64_t response_hi;       /* HI tasks: AMC-rtb bound; LO tasks: 0 */
    uint64_t blocking;          /* B: the SRP blocking term */
    unsigned blocking_task;     /* the task whose section gives B, or KEEL_ANALYSIS_NONE */
    unsigned blocking_resource; /* its resource, or KEEL_ANALYSIS_NONE */
} keel_analysis_result;

typedef struct keel_analysis_utilisation {
    double total;        /* sum C_i / T_i */
    double density;      /* sum C_i / D_i */
    double liu_layland;  /* n (2^(1/n) - 1) */
    bool liu_layland_ok; /* total <= liu_layland: schedulable under RM (D = T, no blocking) */
    double hyperbolic;   /* prod (C_i / T_i + 1) */
    bool hyperbolic_ok;  /* hyperbolic <= 2: the same, tighter (Bini and Buttazzo) */
    bool overloaded;     /* total > 1: unschedulable by any policy */
} keel_analysis_utilisation;

/*
 * keel_analysis_check: validates a set without analysing it. KEEL_EINVAL if
 * `set` or its arrays are NULL where counts are non-zero, a count is 0 or over
 * its maximum, a period is 0, a deadline exceeds its period, a jitter is not
 * below the deadline, a criticality is neither KEEL_CRIT_LO nor KEEL_CRIT_HI,
 * priorities repeat, a HI task has C(HI) < C, a section names a task or
 * resource out of range, or a section is longer than its task's C.
 * O(n^2 + sections). Thread-safe.
 */
KEEL_API keel_status keel_analysis_check(const keel_analysis_set *set);

/*
 * keel_analysis_ceilings: ceiling[r] = the highest priority of the tasks with a
 * section on resource r, or 0 if no task uses it. `ceiling` has
 * set->resource_count entries. Fails as keel_analysis_check, or with
 * KEEL_EINVAL if `ceiling` is NULL while set->resource_count is not 0.
 * O(n^2 + sections). Thread-safe.
 */
KEEL_API keel_status keel_analysis_ceilings(const keel_analysis_set *set, unsigned *ceiling);

/*
 * keel_analysis_rta: response-time analysis; fills results[i] for every task i
 * (results has set->task_count entries). Returns KEEL_OK whether or not the set
 * is schedulable (see each result), or fails as keel_analysis_check, or with
 * KEEL_EINVAL if `results` is NULL, with *results untouched. Arithmetic saturates at UINT64_MAX, so huge values never
 * wrap. Cost: O(n^2 + sections) plus, per task, one pass over hp(i) per
 * iteration; each iteration adds at least one higher-priority job inside the
 * deadline, so there are at most sum_{j in hp(i)} ceil(D_i / T_j) + 1.
 * Thread-safe.
 */
KEEL_API keel_status keel_analysis_rta(const keel_analysis_set *set, keel_analysis_result *results);

/*
 * keel_analysis_assign_dm: deadline-monotonic priorities (optimal for
 * constrained deadlines without blocking, Leung and Whitehead): the task with
 * the shortest deadline gets priority `count`, the longest 1; equal deadlines
 * are ordered by index (the earlier index is more urgent). Rewrites
 * tasks[i].priority. KEEL_EINVAL for NULL, count 0 or over
 * KEEL_ANALYSIS_MAX_TASKS. O(n^2). Thread-safe for distinct task arrays (it
 * writes `tasks`).
 */
KEEL_API keel_status keel_analysis_assign_dm(keel_analysis_task *tasks, unsigned count);

/*
 * keel_analysis_utilisation_bounds: the quick pre-checks. Sufficient only
 * (a set may fail them and still be schedulable: use keel_analysis_rta), and
 * only for D = T without blocking; `overloaded` is necessary for any policy.
 * Fails as keel_analysis_check, or with KEEL_EINVAL if `out` is NULL.
 * O(n^2 + sections) (the check), O(n) beyond it. Thread-safe.
 */
KEEL_API keel_status keel_analysis_utilisation_bounds(const keel_analysis_set *set,
                                                      keel_analysis_utilisation *out);

#ifdef __cplusplus
}
#endif

#endif /* KEEL_ANALYSIS_H */
