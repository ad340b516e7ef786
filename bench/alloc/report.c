/*
 * report.c - tables, goals, CSV and the gnuplot PNG (report.h).
 */
#include "report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "plot.h"

static const char *const op_names[OP_COUNT] = {"alloc", "free"};
static const double percentiles[] = {0.5, 0.99, 0.9999, 1.0};

uint64_t report_cycles(const bench_results *r, hist *h, double p) {
    uint64_t v = hist_percentile(h, p);
    return v > r->overhead ? v - r->overhead : 0;
}

static const char *met(bool ok) {
    return ok ? "met" : "NOT met";
}

/* ---- latency ---- */

static void print_latency(bench_results *r) {
    printf("\nLatency per call, TSC cycles (empty-timer median of %llu cycles subtracted), all "
           "traces:\n",
           (unsigned long long)r->overhead);
    printf("  %-10s %-5s %10s %7s %7s %8s %9s %8s\n", "allocator", "op", "samples", "p50", "p99",
           "p99.99", "max", "failed");
    for (unsigned a = 0; a < ALLOC_COUNT; a++) {
        if (!r->allocators->available[a]) {
            printf("  %-10s (not available: see above)\n", bench_alloc_name(a));
            continue;
        }
        for (unsigned op = 0; op < OP_COUNT; op++) {
            hist *h = &r->cycles_all[a][op];
            printf("  %-10s %-5s %10llu %7llu %7llu %8llu %9llu",
                   op == 0 ? bench_alloc_name(a) : "", op_names[op], (unsigned long long)h->count,
                   (unsigned long long)report_cycles(r, h, 0.5),
                   (unsigned long long)report_cycles(r, h, 0.99),
                   (unsigned long long)report_cycles(r, h, 0.9999),
                   (unsigned long long)report_cycles(r, h, 1.0));
            if (op == OP_ALLOC) {
                printf(" %8llu", (unsigned long long)r->failures[a]);
            }
            printf("%s\n", hist_percentile_exact(h, 0.9999) ? "" : "  (p99.99 a lower bound)");
        }
    }
    printf("  timer      empty %10llu %7llu %7llu %8llu %9llu   (raw, not subtracted)\n",
           (unsigned long long)r->empty.count, (unsigned long long)hist_percentile(&r->empty, 0.5),
           (unsigned long long)hist_percentile(&r->empty, 0.99),
           (unsigned long long)hist_percentile(&r->empty, 0.9999),
           (unsigned long long)r->empty.max);

    printf("\np50 / p99.99 / max cycles per trace:\n  %-10s %-5s", "allocator", "op");
    for (unsigned t = 0; t < TRACE_COUNT; t++) {
        printf(" %20s", bench_trace_name(t));
    }
    printf("\n");
    for (unsigned a = 0; a < ALLOC_COUNT; a++) {
        if (!r->allocators->available[a]) {
            continue;
        }
        for (unsigned op = 0; op < OP_COUNT; op++) {
            printf("  %-10s %-5s", op == 0 ? bench_alloc_name(a) : "", op_names[op]);
            for (unsigned t = 0; t < TRACE_COUNT; t++) {
                hist *h = &r->cycles[a][op][t];
                char cell[64];
                snprintf(cell, sizeof cell, "%llu/%llu/%llu",
                         (unsigned long long)report_cycles(r, h, 0.5),
                         (unsigned long long)report_cycles(r, h, 0.9999),
                         (unsigned long long)report_cycles(r, h, 1.0));
                printf(" %20s", cell);
            }
            printf("\n");
        }
    }
    if (r->keel_check[0] != '\0') {
        printf("  keel heap: %s\n", r->keel_check);
    }
}

/* ---- instruction counts ---- */

/* The counts of function fn over every phase merged into *all. */
static int merged(bench_results *r, unsigned b, unsigned fn, hist *all) {
    if (hist_init(all, 0) != 0) {
        return -1;
    }
    for (unsigned t = 0; t < TRACE_COUNT; t++) {
        if (hist_merge(all, &r->instr[b].per_call[t][fn]) != 0) {
            hist_release(all);
            return -1;
        }
    }
    return 0;
}

/* The largest count of fn in build b, with the phase it came from. */
static uint64_t worst_of(const bench_results *r, unsigned b, unsigned fn, unsigned *phase) {
    uint64_t worst = 0;
    for (unsigned t = 0; t < TRACE_COUNT; t++) {
        if (r->instr[b].worst[t][fn].instructions > worst) {
            worst = r->instr[b].worst[t][fn].instructions;
            *phase = t;
        }
    }
    return worst;
}

static void print_instructions(bench_results *r, bool verbose) {
    for (unsigned b = 0; b < BUILD_COUNT; b++) {
        const keel_build *build = &r->builds[b];
        if (!r->counted[b]) {
            printf("\nInstructions per call, keel build %s: not counted (%s)\n",
                   b == BUILD_O2 ? "-O2" : "libkeel", r->instr_error[b]);
            continue;
        }
        instr_result *ir = &r->instr[b];
        printf("\nInstructions per call, exact (ptrace, %s), keel build %s, %zu ops per trace:\n",
               ir->blocks ? "one stop per basic block" : "single-step", build->name, r->instr_ops);
        printf("  code: %s\n  compiled: %s\n", build->object, build->flags);
        printf("  %-16s", "p50/max");
        for (unsigned t = 0; t < TRACE_COUNT; t++) {
            printf(" %10s", bench_trace_name(t));
        }
        printf(" %9s %5s %5s %12s\n", "all calls", "p50", "max", "sum");
        for (unsigned fn = 0; fn < KEEL_FN_COUNT; fn++) {
            printf("  %-16s", keel_fn_symbol(fn));
            for (unsigned t = 0; t < TRACE_COUNT; t++) {
                char cell[32];
                hist *h = &ir->per_call[t][fn];
                snprintf(cell, sizeof cell, "%llu/%llu",
                         (unsigned long long)hist_percentile(h, 0.5), (unsigned long long)h->max);
                printf(" %10s", cell);
            }
            hist all;
            if (merged(r, b, fn, &all) == 0) {
                printf(" %9llu %5llu %5llu %12llu\n", (unsigned long long)all.count,
                       (unsigned long long)hist_percentile(&all, 0.5), (unsigned long long)all.max,
                       (unsigned long long)ir->total[fn]);
                hist_release(&all);
            }
        }
        for (unsigned fn = 0; fn < KEEL_FN_COUNT; fn++) {
            unsigned phase = 0;
            uint64_t worst = worst_of(r, b, fn, &phase);
            const instr_worst *w = &ir->worst[phase][fn];
            printf("  worst %-16s %3llu instructions: trace %s, call #%llu", keel_fn_symbol(fn),
                   (unsigned long long)worst, bench_trace_name(phase), (unsigned long long)w->call);
            if (fn == KEEL_FN_HEAP_ALLOC) {
                printf(" (size %llu)", (unsigned long long)w->arguments[1]);
            }
            printf(", %zu %s\n", ir->worst_path_length[fn], ir->blocks ? "blocks" : "steps");
            if (verbose) {
                printf("    path (offsets from entry):");
                for (size_t i = 0; i < ir->worst_path_length[fn]; i++) {
                    int32_t offset = (int32_t)ir->worst_path[fn][i]; /* < 0: a function before */
                    printf(" %c%#x", offset < 0 ? '-' : '+',
                           offset < 0 ? (unsigned)-(int64_t)offset : (unsigned)offset);
                }
                printf("\n");
            }
        }
        printf("  counting took %.1f s, %llu stops (%s)\n", ir->seconds,
               (unsigned long long)ir->stops, ir->how);
    }
}

static void print_checks(bench_results *r) {
    printf("\nCross-checks of the instruction counter:\n");
    switch (r->verify) {
    case CHECK_NOT_RUN:
        printf("  blocks vs single-step: not run (--verify-ops N)\n");
        break;
    case CHECK_EQUAL:
    case CHECK_DIFFERENT:
        printf("  blocks vs single-step (-O2, %zu ops per trace): %zu calls, %zu differ -> %s "
               "(%.1f s vs %.1f s)\n",
               r->verify_ops, r->verify_calls, r->verify_differences,
               r->verify == CHECK_EQUAL ? "identical" : "DIFFERENT", r->verify_seconds[0],
               r->verify_seconds[1]);
        break;
    case CHECK_FAILED:
        printf("  blocks vs single-step: failed: %s\n", r->verify_error);
        break;
    }
    for (unsigned b = 0; b < BUILD_COUNT; b++) {
        const char *name = b == BUILD_O2 ? "-O2" : "libkeel";
        if (r->callgrind[b] == CHECK_NOT_RUN) {
            printf("  callgrind, build %s: not run (--callgrind)\n", name);
            continue;
        }
        if (r->callgrind[b] == CHECK_FAILED) {
            printf("  callgrind, build %s: failed: %s\n", name, r->callgrind_error[b]);
            continue;
        }
        printf(
            "  callgrind --toggle-collect, build %s (sum over all calls, ptrace = callgrind?):\n",
            name);
        for (unsigned fn = 0; fn < KEEL_FN_COUNT; fn++) {
            uint64_t mine = r->instr[b].total[fn], theirs = r->callgrind_totals[b][fn];
            printf("    %-16s ptrace %12llu  callgrind %12llu  %s\n", keel_fn_symbol(fn),
                   (unsigned long long)mine, (unsigned long long)theirs,
                   mine == theirs ? "equal" : "DIFFERENT");
        }
    }
}

static void print_goals(bench_results *r) {
    printf("\nGoals:\n");
    if (r->counted[BUILD_O2]) {
        unsigned phase = 0;
        uint64_t a = worst_of(r, BUILD_O2, KEEL_FN_HEAP_ALLOC, &phase);
        uint64_t f = worst_of(r, BUILD_O2, KEEL_FN_HEAP_FREE, &phase);
        printf("  keel_heap_alloc worst case <= %u instructions (-O2): %3llu  %s  (published TLSF "
               "figure: %u)\n",
               GOAL_HEAP_ALLOC_INSTRUCTIONS, (unsigned long long)a,
               met(a <= GOAL_HEAP_ALLOC_INSTRUCTIONS), PUBLISHED_TLSF_INSTRUCTIONS);
        printf("  keel_heap_free  worst case <= %u instructions (-O2): %3llu  %s\n",
               GOAL_HEAP_FREE_INSTRUCTIONS, (unsigned long long)f,
               met(f <= GOAL_HEAP_FREE_INSTRUCTIONS));
        printf("    (worst over the replayed traces: a measured lower bound of the true worst "
               "case; a static bound comes with keel-wcet)\n");
    } else {
        printf("  instruction goals: not checked (no counts)\n");
    }
    for (unsigned op = 0; op < OP_COUNT; op++) {
        uint64_t keel = report_cycles(r, &r->cycles_all[ALLOC_KEEL_HEAP][op], 0.9999);
        bool ok = true;
        printf("  keel heap %-5s p99.99 <= glibc and mimalloc: keel %llu", op_names[op],
               (unsigned long long)keel);
        for (unsigned a = ALLOC_GLIBC; a < ALLOC_COUNT; a++) {
            if (a == ALLOC_JEMALLOC || !r->allocators->available[a]) {
                continue;
            }
            uint64_t other = report_cycles(r, &r->cycles_all[a][op], 0.9999);
            printf(", %s %llu", bench_alloc_name(a), (unsigned long long)other);
            ok = ok && keel <= other;
        }
        printf(" cycles  %s\n", met(ok));
    }
    bool any_failure = false;
    for (unsigned a = 0; a < ALLOC_COUNT; a++) {
        any_failure = any_failure || r->failures[a] > 0;
    }
    printf("  no allocation refused: %s\n", met(!any_failure));
}

void report_print(bench_results *r, bool verbose) {
    print_latency(r);
    print_instructions(r, verbose);
    print_checks(r);
    print_goals(r);
}

/* ---- CSV ---- */

static void csv_row(FILE *f, const char *metric, const char *subject, const char *trace,
                    const char *op, uint64_t samples, const uint64_t v[4], const char *failures,
                    const char *total, const char *callgrind) {
    fprintf(f, "%s,%s,%s,%s,%llu,%llu,%llu,%llu,%llu,%s,%s,%s\n", metric, subject, trace, op,
            (unsigned long long)samples, (unsigned long long)v[0], (unsigned long long)v[1],
            (unsigned long long)v[2], (unsigned long long)v[3], failures, total, callgrind);
}

int report_csv(bench_results *r, const char *path) {
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        return -1;
    }
    fprintf(f,
            "metric,subject,trace,op,samples,p50,p99,p99_99,max,failures,total,callgrind_total\n");
    uint64_t v[4];
    for (unsigned a = 0; a < ALLOC_COUNT; a++) {
        if (!r->allocators->available[a]) {
            continue;
        }
        for (unsigned op = 0; op < OP_COUNT; op++) {
            char failures[32];
            snprintf(failures, sizeof failures, "%llu", (unsigned long long)r->failures[a]);
            for (unsigned t = 0; t <= TRACE_COUNT; t++) {
                hist *h = t < TRACE_COUNT ? &r->cycles[a][op][t] : &r->cycles_all[a][op];
                for (unsigned i = 0; i < 4; i++) {
                    v[i] = report_cycles(r, h, percentiles[i]);
                }
                csv_row(f, "cycles", bench_alloc_name(a),
                        t < TRACE_COUNT ? bench_trace_name(t) : "all", op_names[op], h->count, v,
                        t == TRACE_COUNT ? failures : "", "", "");
            }
        }
    }
    for (unsigned i = 0; i < 4; i++) {
        v[i] = hist_percentile(&r->empty, percentiles[i]);
    }
    csv_row(f, "cycles_raw", "timer", "all", "empty", r->empty.count, v, "", "", "");
    for (unsigned b = 0; b < BUILD_COUNT; b++) {
        if (!r->counted[b]) {
            continue;
        }
        char subject[32];
        snprintf(subject, sizeof subject, "keel %s", r->builds[b].name);
        for (unsigned fn = 0; fn < KEEL_FN_COUNT; fn++) {
            for (unsigned t = 0; t <= TRACE_COUNT; t++) {
                hist all, *h = &all;
                if (t < TRACE_COUNT) {
                    h = &r->instr[b].per_call[t][fn];
                } else if (merged(r, b, fn, &all) != 0) {
                    continue;
                }
                for (unsigned i = 0; i < 4; i++) {
                    v[i] = hist_percentile(h, percentiles[i]);
                }
                char total[32] = "", theirs[32] = "";
                if (t == TRACE_COUNT) {
                    snprintf(total, sizeof total, "%llu",
                             (unsigned long long)r->instr[b].total[fn]);
                    if (r->callgrind[b] == CHECK_EQUAL || r->callgrind[b] == CHECK_DIFFERENT) {
                        snprintf(theirs, sizeof theirs, "%llu",
                                 (unsigned long long)r->callgrind_totals[b][fn]);
                    }
                }
                csv_row(f, "instructions", subject, t < TRACE_COUNT ? bench_trace_name(t) : "all",
                        keel_fn_symbol(fn), h->count, v, "", total, theirs);
                if (h == &all) {
                    hist_release(&all);
                }
            }
        }
    }
    return fclose(f) == 0 ? 0 : -1;
}

/* ---- PNG ---- */

int report_png(bench_results *r, const char *path) {
    int status;
    FILE *g = bench_gnuplot_open(path, &status);
    if (g == NULL) {
        return status;
    }
    /* One data block per (op, allocator): x = -log10(1 - p), the "nines". */
    double right = 1.0;
    for (unsigned op = 0; op < OP_COUNT; op++) {
        for (unsigned a = 0; a < ALLOC_COUNT; a++) {
            fprintf(g, "$d%u%u << EOD\n", op, a);
            hist *h = &r->cycles_all[a][op];
            if (r->allocators->available[a] && h->count > 0) {
                double top = log10((double)h->count);
                right = top > right ? top : right;
                for (double x = 0.0; x < top; x += 0.02) {
                    uint64_t c = report_cycles(r, h, 1.0 - pow(10.0, -x));
                    fprintf(g, "%.3f %llu\n", x, (unsigned long long)(c > 0 ? c : 1));
                }
                uint64_t c = report_cycles(r, h, 1.0);
                fprintf(g, "%.3f %llu\n", top, (unsigned long long)(c > 0 ? c : 1));
            }
            fprintf(g, "EOD\n");
        }
    }
    fprintf(g,
            "set terminal pngcairo size 1400,560 font ',10'\n"
            "set output '%s'\n"
            "set multiplot layout 1,2 title 'bench\\_alloc: cycles per call, all traces "
            "(timer overhead subtracted; %zu interleaved repetitions, CPU %d)'\n"
            "set logscale y\n"
            "set grid xtics ytics mytics\n"
            "set key top left\n"
            "set xrange [0:%.0f]\n"
            /* tic labels are gnuplot formats: %%%% prints one percent sign */
            "set xtics ('0%%%%' 0, '90%%%%' 1, '99%%%%' 2, '99.9%%%%' 3, '99.99%%%%' 4, "
            "'99.999%%%%' 5, '99.9999%%%%' 6, '99.99999%%%%' 7)\n"
            "set xlabel 'percentile'\n"
            "set ylabel 'TSC cycles (log)'\n",
            path, r->reps, r->cpu, ceil(right));
    for (unsigned op = 0; op < OP_COUNT; op++) {
        fprintf(g, "set title '%s'\nplot ", op_names[op]);
        bool first = true;
        for (unsigned a = 0; a < ALLOC_COUNT; a++) {
            if (!r->allocators->available[a]) {
                continue;
            }
            fprintf(g, "%s$d%u%u using 1:2 with lines linewidth 2 title '%s'", first ? "" : ", ",
                    op, a, bench_alloc_name(a));
            first = false;
        }
        fprintf(g, "\n");
    }
    fprintf(g, "unset multiplot\n");
    return bench_gnuplot_close(g);
}
