/*
 * Reports of the executive's statistics: a text table, CSV, and a gnuplot
 * script (data inline) for the response-time histograms. libkeel does not run
 * gnuplot itself: the caller pipes the script to it.
 */
#include <inttypes.h>
#include <string.h>

#include "rt/internal.h"

/* Large structures: one task's statistics at a time, kept off small stacks. */
typedef struct report_state {
    keel_rt_task_stats stats;
    keel_analysis_result results[KEEL_RT_MAX_TASKS];
    bool analysed;
} report_state;

static void analyse(const keel_rt *rt, report_state *st) {
    st->analysed = keel_rt_analyse(rt, st->results) == KEEL_OK;
}

static double us(uint64_t ns) {
    return (double)ns / 1000.0;
}

static const char *clock_name(keel_rt_clock c) {
    return c == KEEL_RT_SIMULATED ? "simulated" : "real";
}

keel_status keel_rt_report_text(const keel_rt *rt, FILE *out) {
    if (rt == NULL || out == NULL)
        return KEEL_EINVAL;
    report_state st;
    keel_rt_system_stats sys;
    keel_rt_system_stats_get(rt, &sys);
    analyse(rt, &st);
    fprintf(out,
            "keel rt: %s clock, %.3f ms elapsed, mode %s (to HI %" PRIu64 ", to LO %" PRIu64
            "), lock waits %" PRIu64,
            clock_name(sys.clock), (double)sys.now / 1e6, sys.mode == KEEL_CRIT_HI ? "HI" : "LO",
            sys.mode_switches_hi, sys.mode_switches_lo, sys.lock_waits);
    if (sys.clock == KEEL_RT_REAL)
        fprintf(out, ", %s, memory %s, cpu %d",
                sys.fifo ? "SCHED_FIFO" : "DEGRADED (no SCHED_FIFO)",
                sys.memory_locked ? "locked" : "not locked", sys.cpu);
    fprintf(out,
            "\n%-14s %-4s %5s %10s %10s %8s %8s %6s %6s %6s %6s %6s %6s %7s %10s %10s %10s "
            "%10s %10s %10s\n",
            "task", "crit", "prio", "period_us", "dline_us", "released", "done", "failed", "missed",
            "overrn", "thrott", "skip", "drop", "preempt", "resp_p50", "resp_p99", "resp_max",
            "bound_us", "jitter_us", "lat_max");
    for (unsigned i = 0; i < rt->task_count; i++) {
        const rt_task *t = &rt->tasks[i];
        keel_rt_task_stats_get(rt, i, &st.stats);
        const keel_rt_task_stats *s = &st.stats;
        uint64_t jitter = s->response.count ? s->response.max - s->response.min : 0;
        char bound[32] = "-";
        if (st.analysed) {
            uint64_t b = st.results[i].response_hi > st.results[i].response
                             ? st.results[i].response_hi
                             : st.results[i].response;
            snprintf(bound, sizeof bound, "%.3f%s", us(b), st.results[i].schedulable ? "" : "!");
        }
        fprintf(out,
                "%-14s %-4s %5u %10.3f %10.3f %8" PRIu64 " %8" PRIu64 " %6" PRIu64 " %6" PRIu64
                " %6" PRIu64 " %6" PRIu64 " %6" PRIu64 " %6" PRIu64 " %7" PRIu64
                " %10.3f %10.3f %10.3f %10s %10.3f %10.3f\n",
                s->name, t->cfg.criticality == KEEL_CRIT_HI ? "HI" : "LO", t->cfg.priority,
                us(t->cfg.period), us(t->deadline), s->released, s->completed, s->failed,
                s->deadline_misses, s->budget_overruns, s->throttles, s->skipped, s->dropped,
                s->preemptions, us(keel_hist_percentile(&s->response, 0.5)),
                us(keel_hist_percentile(&s->response, 0.99)), us(s->response.max), bound,
                us(jitter), us(s->latency.count ? s->latency.max : 0));
    }
    if (st.analysed)
        fprintf(out, "bound: response-time analysis (AMC-rtb for HI tasks); '!' marks a task the "
                     "analysis cannot guarantee\n");
    return ferror(out) ? KEEL_ESYSTEM : KEEL_OK;
}

keel_status keel_rt_report_csv(const keel_rt *rt, FILE *out) {
    if (rt == NULL || out == NULL)
        return KEEL_EINVAL;
    report_state st;
    analyse(rt, &st);
    fprintf(out, "task,criticality,priority,period_ns,deadline_ns,wcet_ns,released,completed,"
                 "failed,deadline_misses,budget_overruns,throttles,skipped,dropped,preemptions,"
                 "deferred,coalesced,response_min_ns,response_p50_ns,response_p99_ns,"
                 "response_p999_ns,response_max_ns,response_jitter_ns,latency_min_ns,"
                 "latency_p50_ns,latency_p99_ns,latency_p999_ns,latency_max_ns,bound_ns,"
                 "bound_hi_ns,schedulable\n");
    for (unsigned i = 0; i < rt->task_count; i++) {
        const rt_task *t = &rt->tasks[i];
        keel_rt_task_stats_get(rt, i, &st.stats);
        const keel_rt_task_stats *s = &st.stats;
        const keel_hist *r = &s->response, *l = &s->latency;
        fprintf(out,
                "%s,%s,%u,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
                ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
                ",%" PRIu64 ",",
                s->name, t->cfg.criticality == KEEL_CRIT_HI ? "HI" : "LO", t->cfg.priority,
                t->cfg.period, t->deadline, t->cfg.wcet, s->released, s->completed, s->failed,
                s->deadline_misses, s->budget_overruns, s->throttles, s->skipped, s->dropped,
                s->preemptions, s->deferred, s->coalesced);
        const keel_hist *hs[2] = {r, l};
        for (unsigned h = 0; h < 2; h++) {
            const keel_hist *x = hs[h];
            fprintf(out, "%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",",
                    x->count ? x->min : 0, keel_hist_percentile(x, 0.5),
                    keel_hist_percentile(x, 0.99), keel_hist_percentile(x, 0.999), x->max);
            if (h == 0)
                fprintf(out, "%" PRIu64 ",", x->count ? x->max - x->min : 0);
        }
        if (st.analysed)
            fprintf(out, "%" PRIu64 ",%" PRIu64 ",%s\n", st.results[i].response,
                    st.results[i].response_hi, st.results[i].schedulable ? "yes" : "no");
        else
            fprintf(out, ",,\n");
    }
    return ferror(out) ? KEEL_ESYSTEM : KEEL_OK;
}

keel_status keel_rt_report_plot(const keel_rt *rt, FILE *out, const char *png_path,
                                const char *title) {
    if (rt == NULL || out == NULL || png_path == NULL || strchr(png_path, '"') != NULL)
        return KEEL_EINVAL;
    report_state st;
    analyse(rt, &st);
    unsigned n = rt->task_count, cols = n > 1 ? 2 : 1, rows = (n + cols - 1) / cols;
    fprintf(out, "set terminal pngcairo noenhanced size %u,%u font 'sans,9'\n", 560 * cols,
            60 + 260 * rows);
    fprintf(out, "set output \"%s\"\n", png_path);
    fprintf(out, "set multiplot layout %u,%u title \"%s\"\n", rows, cols,
            title != NULL && strchr(title, '"') == NULL ? title : "keel rt: response times");
    fprintf(out, "set style fill solid 0.6\nset logscale y\nset yrange [0.8:*]\n"
                 "set xlabel 'response time (us)'\nset ylabel 'jobs'\nset key top right\n");
    for (unsigned i = 0; i < n; i++) {
        const rt_task *t = &rt->tasks[i];
        keel_rt_task_stats_get(rt, i, &st.stats);
        const keel_hist *h = &st.stats.response;
        fprintf(out, "$task%u << EOD\n", i);
        unsigned rows_written = 0;
        for (unsigned b = 0; b < KEEL_HIST_BUCKETS; b++) {
            if (h->bucket[b] == 0)
                continue;
            uint64_t lo = keel_hist_bucket_low(b), hi = keel_hist_bucket_high(b);
            if (hi > h->max)
                hi = h->max;
            fprintf(out, "%.3f %.3f %" PRIu64 "\n", us(lo + (hi - lo) / 2), us(hi - lo + 1),
                    h->bucket[b]);
            rows_written++;
        }
        if (rows_written == 0)
            fprintf(out, "0 0 0\n");
        fprintf(out, "EOD\n");
        uint64_t bound = 0;
        if (st.analysed)
            bound = st.results[i].response_hi > st.results[i].response ? st.results[i].response_hi
                                                                       : st.results[i].response;
        uint64_t xmax = t->deadline > bound ? t->deadline : bound;
        if (h->max > xmax)
            xmax = h->max;
        fprintf(out, "set title \"%s (%s, prio %u): %" PRIu64 " jobs, %" PRIu64 " missed\"\n",
                t->name, t->cfg.criticality == KEEL_CRIT_HI ? "HI" : "LO", t->cfg.priority,
                h->count, st.stats.deadline_misses);
        fprintf(out, "set xrange [0:%.3f]\nunset arrow\n", us(xmax) * 1.08);
        fprintf(out, "set arrow 1 from %.3f, graph 0 to %.3f, graph 1 nohead lc rgb 'red' lw 2\n",
                us(t->deadline), us(t->deadline));
        if (bound)
            fprintf(out,
                    "set arrow 2 from %.3f, graph 0 to %.3f, graph 1 nohead lc rgb 'blue' dt 2 "
                    "lw 2\n",
                    us(bound), us(bound));
        fprintf(out,
                "plot $task%u using 1:3:2 with boxes lc rgb '#4477aa' title 'jobs', "
                "NaN lc rgb 'red' lw 2 title 'deadline', NaN lc rgb 'blue' dt 2 lw 2 "
                "title 'analysed bound'\n",
                i);
    }
    fprintf(out, "unset multiplot\n");
    return ferror(out) ? KEEL_ESYSTEM : KEEL_OK;
}
