/*
 * keel-sched TASKSET.json: fixed-priority schedulability of a task set, with
 * SRP blocking, release jitter and the AMC mixed-criticality bound.
 *
 * Prints the utilisation pre-checks, then per task its priority, blocking,
 * response-time bound and verdict. Exit status: 0 if every task meets its
 * deadline, 1 if not, 2 for a usage error or a malformed file (one line on
 * stderr says what and where).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/analysis.h"
#include "taskset.h"

static void usage(FILE *out) {
    fprintf(out, "usage: keel-sched [--csv] TASKSET.json\n"
                 "  Response-time analysis of a fixed-priority task set (SRP blocking, release\n"
                 "  jitter, AMC for HI tasks). The file format is in docs/realtime.md.\n"
                 "  --csv   one line per task instead of the table\n"
                 "exit status: 0 schedulable, 1 not schedulable, 2 error\n");
}

/* A time in the file's unit, as short as it can be written. */
static const char *fmt_time(char *buf, size_t n, uint64_t ns, double ns_per_unit) {
    double v = (double)ns / ns_per_unit;
    snprintf(buf, n, "%.3f", v);
    char *dot = strchr(buf, '.');
    if (dot != NULL) {
        char *end = buf + strlen(buf) - 1;
        while (end > dot && *end == '0')
            *end-- = '\0';
        if (end == dot)
            *end = '\0';
    }
    return buf;
}

int main(int argc, char **argv) {
    bool csv = false;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--csv") == 0) {
            csv = true;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "keel-sched: unknown option %s\n", argv[i]);
            usage(stderr);
            return 2;
        } else if (path == NULL) {
            path = argv[i];
        } else {
            fprintf(stderr, "keel-sched: one task-set file at a time\n");
            return 2;
        }
    }
    if (path == NULL) {
        usage(stderr);
        return 2;
    }
    static taskset ts;
    char err[1024];
    if (taskset_load(path, &ts, err, sizeof err) != 0) {
        fprintf(stderr, "keel-sched: %s\n", err);
        taskset_free(&ts);
        return 2;
    }
    keel_analysis_set set = {ts.tasks, ts.task_count, ts.sections, ts.section_count,
                             ts.resource_count};
    static keel_analysis_result res[KEEL_ANALYSIS_MAX_TASKS];
    keel_analysis_utilisation u;
    if (keel_analysis_rta(&set, res) != KEEL_OK ||
        keel_analysis_utilisation_bounds(&set, &u) != KEEL_OK) {
        fprintf(stderr, "keel-sched: %s: the task set is not valid for the analysis\n", path);
        taskset_free(&ts);
        return 2;
    }
    bool all = true;
    for (unsigned i = 0; i < ts.task_count; i++)
        all &= res[i].schedulable;

    char b[8][32];
    const double s = ts.ns_per_unit;
    if (csv) {
        printf("task,priority,criticality,period,deadline,wcet,wcet_hi,jitter,blocking,"
               "response,response_hi,schedulable,unit\n");
        for (unsigned i = 0; i < ts.task_count; i++) {
            const keel_analysis_task *t = &ts.tasks[i];
            const keel_analysis_result *r = &res[i];
            printf("%s,%u,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n", t->name, t->priority,
                   t->criticality == KEEL_CRIT_HI ? "HI" : "LO", fmt_time(b[0], 32, t->period, s),
                   fmt_time(b[1], 32, t->deadline ? t->deadline : t->period, s),
                   fmt_time(b[2], 32, t->wcet, s),
                   t->criticality == KEEL_CRIT_HI
                       ? fmt_time(b[3], 32, t->wcet_hi ? t->wcet_hi : t->wcet, s)
                       : "",
                   fmt_time(b[4], 32, t->jitter, s), fmt_time(b[5], 32, r->blocking, s),
                   r->converged ? fmt_time(b[6], 32, r->response, s) : "unbounded",
                   t->criticality == KEEL_CRIT_HI && r->converged
                       ? fmt_time(b[7], 32, r->response_hi, s)
                       : "",
                   r->schedulable ? "yes" : "no", ts.unit);
        }
        taskset_free(&ts);
        return all ? 0 : 1;
    }

    printf("keel-sched: %s: %u tasks, %u resources, %s priorities, times in %s\n", path,
           ts.task_count, ts.resource_count,
           ts.priorities_assigned ? "deadline-monotonic" : "given", ts.unit);
    printf("utilisation %.3f: Liu-Layland bound %.3f %s, hyperbolic bound %.3f %s%s\n", u.total,
           u.liu_layland, u.liu_layland_ok ? "(met)" : "(not met)", u.hyperbolic,
           u.hyperbolic_ok ? "(met)" : "(not met)",
           u.overloaded ? "; OVERLOADED: no policy can schedule it" : "");
    printf("%-16s %5s %4s %10s %10s %10s %10s %10s %12s %12s  %s\n", "task", "prio", "crit",
           "period", "deadline", "wcet", "jitter", "blocking", "response", "response_hi",
           "verdict");
    for (unsigned i = 0; i < ts.task_count; i++) {
        const keel_analysis_task *t = &ts.tasks[i];
        const keel_analysis_result *r = &res[i];
        char resp[40], resp_hi[40];
        if (r->converged)
            fmt_time(resp, sizeof resp, r->response, s);
        else
            snprintf(resp, sizeof resp, ">%s",
                     fmt_time(b[6], 32, t->deadline ? t->deadline : t->period, s));
        if (t->criticality != KEEL_CRIT_HI)
            strcpy(resp_hi, "-");
        else if (r->converged)
            fmt_time(resp_hi, sizeof resp_hi, r->response_hi, s);
        else
            strcpy(resp_hi, "-");
        printf("%-16s %5u %4s %10s %10s %10s %10s %10s %12s %12s  %s\n", t->name, t->priority,
               t->criticality == KEEL_CRIT_HI ? "HI" : "LO", fmt_time(b[0], 32, t->period, s),
               fmt_time(b[1], 32, t->deadline ? t->deadline : t->period, s),
               fmt_time(b[2], 32, t->wcet, s), fmt_time(b[3], 32, t->jitter, s),
               fmt_time(b[4], 32, r->blocking, s), resp, resp_hi,
               r->schedulable ? "ok" : "MISSES ITS DEADLINE");
        if (r->blocking_task != KEEL_ANALYSIS_NONE)
            printf("%16s blocking: %s's section on %s\n", "", ts.names[r->blocking_task],
                   ts.resources[r->blocking_resource]);
        if (ts.wcet_source[i] != NULL)
            printf("%16s wcet from keel-wcet: %s\n", "", ts.wcet_source[i]);
    }
    printf("verdict: %s\n", all ? "SCHEDULABLE: every task meets its deadline"
                                : "NOT SCHEDULABLE: see the tasks marked above");
    taskset_free(&ts);
    return all ? 0 : 1;
}
