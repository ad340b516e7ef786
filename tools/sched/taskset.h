/*
 * taskset.h - reading a task-set file (JSON) for keel-sched.
 *
 * The format is documented in docs/realtime.md ("Task-set files"). Every time
 * is a number in the file's unit ("ns", "us", "ms" or "s"; default "ns"),
 * converted to integer nanoseconds: execution times, jitters and section
 * lengths round up, periods and deadlines round down, so conversion never
 * makes a set look better than it is. An execution time may instead reference
 * keel-wcet's JSON output:
 *
 *     "wcet": {"file": "filter.wcet.json", "function": "filter_step", "ns_per_unit": 0.5}
 *
 * `file` is relative to the task-set file. keel-sched reads the document's
 * "functions" array, finds the entry whose "name" is `function`, requires its
 * "status" to be "bounded", and reads the bound from the field named by the
 * document's "cost_model" ("instructions" when absent). The bound is in that
 * cost model's unit; `ns_per_unit` converts it to nanoseconds and is required
 * unless the cost model is "ns" (keel-sched will not guess a clock rate).
 */
#ifndef KEEL_SCHED_TASKSET_H
#define KEEL_SCHED_TASKSET_H

#include <stdbool.h>
#include <stddef.h>

#include "keel/analysis.h"

typedef struct taskset {
    keel_analysis_task tasks[KEEL_ANALYSIS_MAX_TASKS];
    char *names[KEEL_ANALYSIS_MAX_TASKS];
    char *wcet_source[KEEL_ANALYSIS_MAX_TASKS]; /* "file:function" or NULL for a number */
    bool sporadic[KEEL_ANALYSIS_MAX_TASKS];
    unsigned task_count;
    keel_analysis_section sections[KEEL_ANALYSIS_MAX_SECTIONS];
    unsigned section_count;
    char *resources[KEEL_ANALYSIS_MAX_RESOURCES];
    unsigned resource_count;
    bool priorities_assigned; /* deadline-monotonic by keel-sched */
    char unit[4];             /* "ns", "us", "ms" or "s" */
    double ns_per_unit;       /* of the file's unit */
} taskset;

/*
 * taskset_load: parses `path` into *ts. Returns 0, or -1 with a one-line
 * message in err (naming the file, and the JSON path or line and column of
 * the problem). Free with taskset_free either way.
 */
int taskset_load(const char *path, taskset *ts, char *err, size_t errlen);
void taskset_free(taskset *ts);

#endif /* KEEL_SCHED_TASKSET_H */
