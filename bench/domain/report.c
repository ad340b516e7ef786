/*
 * report.c - tables, goals, CSV and the gnuplot PNG (report.h).
 */
#include "report.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "maglev.h"
#include "plot.h"
#include "stages.h"

typedef struct stat3 {
    double p50, p99, mean;
} stat3;

static const char *const variant_names[V_COUNT] = {
#define VARIANT_NAME_(id, name, about) name,
    VARIANT_LIST(VARIANT_NAME_)
#undef VARIANT_NAME_
};
static const char *const variant_about[V_COUNT] = {
#define VARIANT_ABOUT_(id, name, about) about,
    VARIANT_LIST(VARIANT_ABOUT_)
#undef VARIANT_ABOUT_
};
static const char *const recovery_names[R_COUNT] = {
#define RECOVERY_NAME_(id, name, about) name,
    RECOVERY_LIST(RECOVERY_NAME_)
#undef RECOVERY_NAME_
};
static const char *const recovery_about[R_COUNT] = {
#define RECOVERY_ABOUT_(id, name, about) about,
    RECOVERY_LIST(RECOVERY_ABOUT_)
#undef RECOVERY_ABOUT_
};
static const char *const part_names[P_COUNT] = {
#define PART_NAME_(id, name, about) name,
    PART_LIST(PART_NAME_)
#undef PART_NAME_
};
/* Identifiers for the CSV: the enum names, e.g. P_RREF_CALL -> rref_call. */
static const char *const recovery_ids[R_COUNT] = {
#define RECOVERY_ID_(id, name, about) #id,
    RECOVERY_LIST(RECOVERY_ID_)
#undef RECOVERY_ID_
};
static const char *const part_ids[P_COUNT] = {
#define PART_ID_(id, name, about) #id,
    PART_LIST(PART_ID_)
#undef PART_ID_
};
static const char *const part_about[P_COUNT] = {
#define PART_ABOUT_(id, name, about) about,
    PART_LIST(PART_ABOUT_)
#undef PART_ABOUT_
};

/* The protected variants and the plain ones they are compared with. */
static const variant protected_variants[2] = {V_LEND, V_MOVE};
static const variant plain_of[2] = {V_PLAIN, V_CHAIN};

static const char *met(bool ok) {
    return ok ? "met" : "NOT met";
}

/* The mean shown leaves out the slowest 0.1% of the samples: a handful of
 * interrupts of 10^5 cycles would otherwise dominate it. */
#define MEAN_OF 0.999

/* Median, p99 and mean of a series, the timer overhead subtracted. */
static stat3 stat_of(domain_results *r, hist *h) {
    return (stat3){(double)domain_cycles(r, h, 0.5), (double)domain_cycles(r, h, 0.99),
                   h->count > 0 ? hist_mean(h, MEAN_OF) - (double)r->overhead : 0.0};
}

/* The overhead of one protected call of kind i (0 lend, 1 move) at size k. */
static stat3 per_call(domain_results *r, unsigned i, unsigned k) {
    stat3 a = stat_of(r, &r->batches[protected_variants[i]][k]);
    stat3 b = stat_of(r, &r->batches[plain_of[i]][k]);
    return (stat3){(a.p50 - b.p50) / STAGES, (a.p99 - b.p99) / STAGES, (a.mean - b.mean) / STAGES};
}

/* One protected call as a percentage of Maglev's cycles for the batch. */
static stat3 share_of_maglev(domain_results *r, unsigned i, unsigned k) {
    stat3 call = per_call(r, i, k), m = stat_of(r, &r->batches[V_MAGLEV][k]);
    return (stat3){100.0 * call.p50 / m.p50, 100.0 * call.p99 / m.p99, 100.0 * call.mean / m.mean};
}

/* ---- tables ---- */

static void print_batches(domain_results *r) {
    printf("\nCycles per batch, TSC cycles, median / p99 (empty-timer median of %llu cycles "
           "subtracted; %llu batches per cell):\n",
           (unsigned long long)r->overhead, (unsigned long long)r->batches[V_PLAIN][0].count);
    printf("  %5s", "batch");
    for (unsigned v = 0; v < V_COUNT; v++) {
        printf(" %15s", variant_names[v]);
    }
    printf("\n");
    for (unsigned k = 0; k < BATCH_SIZES; k++) {
        printf("  %5u", batch_size_of(k));
        for (unsigned v = 0; v < V_COUNT; v++) {
            stat3 s = stat_of(r, &r->batches[v][k]);
            char cell[32];
            snprintf(cell, sizeof cell, "%.0f / %.0f", s.p50, s.p99);
            printf(" %15s", cell);
        }
        printf("\n");
    }
    for (unsigned v = 0; v < V_COUNT; v++) {
        printf("  %-12s %s\n", variant_names[v], variant_about[v]);
    }
}

static void print_overhead(domain_results *r) {
    printf("\nOverhead of one protected call = (protected - plain) / %u, TSC cycles, beside Maglev "
           "and the paper (HotOS'17, Figure 2):\n",
           STAGES);
    printf("  %5s | %13s | %13s | %7s | %17s | %s\n", "", "lend", "move", "Maglev",
           "1 call / Maglev", "paper (averages)");
    printf("  %5s | %6s %6s | %6s %6s | %7s | %8s %8s | %6s %9s\n", "batch", "p50", "p99", "p50",
           "p99", "p50", "lend", "move", "call", "/ Maglev");
    for (unsigned k = 0; k < BATCH_SIZES; k++) {
        unsigned size = batch_size_of(k);
        stat3 lend = per_call(r, 0, k), move = per_call(r, 1, k);
        stat3 m = stat_of(r, &r->batches[V_MAGLEV][k]);
        char paper[16] = "", paper_share[16] = "";
        if (size == 1) {
            snprintf(paper, sizeof paper, "%.0f", PAPER_CALL_CYCLES_BATCH_1);
        } else if (size == 256) {
            snprintf(paper, sizeof paper, "%.0f", PAPER_CALL_CYCLES_BATCH_256);
        }
        if (size > 32) {
            snprintf(paper_share, sizeof paper_share, "< 1%%");
        }
        printf("  %5u | %6.1f %6.1f | %6.1f %6.1f | %7.0f | %7.2f%% %7.2f%% | %6s %9s\n", size,
               lend.p50, lend.p99, move.p50, move.p99, m.p50, share_of_maglev(r, 0, k).p50,
               share_of_maglev(r, 1, k).p50, paper, paper_share);
    }
    printf("  lend: against plain; move: against plain-chain. p99 column: (p99 - p99) / %u.\n",
           STAGES);
    printf(
        "  Percentages from the medians. The paper: Rust/NetBricks on a Xeon E5530 at 2.4 GHz; its "
        "Maglev parses\n  DPDK packets and keeps a flow table; \"< 1%%\" is its text: \"for "
        "batches larger than 32 packets\".\n");
    printf("  Maglev: %u backends, lookup table of %llu entries, %u..%u entries per backend;\n",
           r->maglev_backends, (unsigned long long)r->maglev_size, r->maglev_min, r->maglev_max);
    uint64_t seen = r->maglev_hits + r->maglev_misses + r->maglev_dropped;
    printf("  connection table of %u entries (%u-way lines) for %u open connections, one new per "
           "%u packets;\n  of %llu packets balanced: %.2f%% hits, %.2f%% misses (%.2f%% "
           "evicting), %llu dropped\n",
           r->maglev_flows, MAGLEV_WAYS, TRAFFIC_FLOWS, TRAFFIC_NEW_FLOW_EVERY,
           (unsigned long long)seen, 100.0 * (double)r->maglev_hits / (double)(seen ? seen : 1),
           100.0 * (double)r->maglev_misses / (double)(seen ? seen : 1),
           100.0 * (double)r->maglev_evictions / (double)(seen ? seen : 1),
           (unsigned long long)r->maglev_dropped);
}

static void print_recovery(domain_results *r) {
    printf("\nRecovery, TSC cycles (victim: a null filter, 64 KiB heap, restarted and re-exported "
           "on every failure):\n");
    printf("  %-20s %8s %8s %8s %8s   %s\n", "", "samples", "p50", "p99", "mean*", "what");
    for (unsigned s = 0; s < R_COUNT; s++) {
        stat3 st = stat_of(r, &r->recovery[s]);
        printf("  %-20s %8llu %8.0f %8.0f %8.0f   %s%s\n", recovery_names[s],
               (unsigned long long)r->recovery[s].count, st.p50, st.p99, st.mean, recovery_about[s],
               s == R_PANIC_TOTAL ? " [paper: 4389 on average]" : "");
    }
    printf("  (mean*: of the fastest 99.9%%; indented rows split the row above them, from separate "
           "samples that carry\n  two more TSC reads; the victim failed %llu times and was "
           "recovered %llu times)\n",
           (unsigned long long)r->failures, (unsigned long long)r->recoveries);
}

static void print_parts(domain_results *r) {
    printf("\nWhere a protected call's cycles go: each part timed alone, cycles per operation "
           "(median of %zu brackets of 32 operations, minus an empty loop's):\n",
           r->part_reps);
    for (unsigned k = 0; k < P_COUNT; k++) {
        char cycles[16];
        snprintf(cycles, sizeof cycles,
                 isnan(r->parts[k])  ? "n/a"
                 : r->parts[k] < 1.0 ? "< 1"
                                     : "%.1f",
                 r->parts[k]);
        printf("  %-22s %7s   %s\n", part_names[k], cycles, part_about[k]);
    }
}

static bool print_goals(domain_results *r) {
    printf("\nGoals:\n");
    double worst_call = 0;
    unsigned worst_call_size = 1;
    for (unsigned k = 0; k < BATCH_SIZES; k++) {
        double c = per_call(r, 0, k).p50;
        if (c > worst_call || k == 0) {
            worst_call = c;
            worst_call_size = batch_size_of(k);
        }
    }
    bool call_ok = worst_call <= GOAL_CALL_CYCLES;
    /* The same goal for the bare call, timed alone (the parts table). */
    bool bare_ok = r->parts[P_RREF_CALL] <= GOAL_CALL_CYCLES;
    printf("  one protected call, no box (keel_rref_call alone, median) <= %.0f cycles: %.1f  %s\n",
           GOAL_CALL_CYCLES, r->parts[P_RREF_CALL], met(bare_ok));
    printf("  one protected call (lend, median, worst batch size) <= %.0f cycles: %.1f (batch %u)"
           "  %s\n",
           GOAL_CALL_CYCLES, worst_call, worst_call_size, met(call_ok));
    double worst_share = 0;
    unsigned worst_share_size = GOAL_MAGLEV_FROM_BATCH;
    for (unsigned k = 0; k < BATCH_SIZES; k++) {
        double s = share_of_maglev(r, 0, k).p50;
        if (batch_size_of(k) >= GOAL_MAGLEV_FROM_BATCH && s > worst_share) {
            worst_share = s;
            worst_share_size = batch_size_of(k);
        }
    }
    bool maglev_ok = worst_share < GOAL_MAGLEV_PERCENT;
    printf("  one protected call under %.0f%% of Maglev's batch, at %u packets or more: worst "
           "%.2f%% (batch %u)  %s\n",
           GOAL_MAGLEV_PERCENT, GOAL_MAGLEV_FROM_BATCH, worst_share, worst_share_size,
           met(maglev_ok));
    unsigned k32 = 0;
    while (batch_size_of(k32) < GOAL_MAGLEV_FROM_BATCH) {
        k32++;
    }
    double maglev32 = stat_of(r, &r->batches[V_MAGLEV][k32]).p50;
    printf("    (for scale: at %u packets, 1%% of Maglev is %.1f cycles; one plain call through "
           "a function pointer is %.2f%%)\n",
           GOAL_MAGLEV_FROM_BATCH, maglev32 / 100.0,
           100.0 * stat_of(r, &r->batches[V_PLAIN][k32]).p50 / STAGES / maglev32);
    stat3 rec = stat_of(r, &r->recovery[R_PANIC_TOTAL]);
    bool recovery_ok = rec.p50 <= GOAL_RECOVERY_CYCLES && r->recovery[R_PANIC_TOTAL].count > 0;
    printf("  keel_panic() to status, domain recovered (median) <= %.0f cycles: %.0f (p99 %.0f)"
           "  %s\n",
           GOAL_RECOVERY_CYCLES, rec.p50, rec.p99, met(recovery_ok));
    bool clean = r->errors == 0;
    printf("  every call returned what it should: %s", met(clean));
    if (!clean) {
        printf(" (%llu surprises; the first: %s)", (unsigned long long)r->errors, r->error);
    }
    printf("\n");
    return bare_ok && call_ok && maglev_ok && recovery_ok && clean;
}

bool report_print(domain_results *r) {
    print_batches(r);
    print_overhead(r);
    print_recovery(r);
    print_parts(r);
    return print_goals(r);
}

/* ---- CSV ---- */

/* An enum name as a CSV subject: without its prefix, in lower case. */
static const char *csv_id(const char *id, char *out, size_t size) {
    const char *from = strchr(id, '_') != NULL ? strchr(id, '_') + 1 : id;
    size_t n = 0;
    for (; from[n] != '\0' && n + 1 < size; n++) {
        out[n] = (char)tolower((unsigned char)from[n]);
    }
    out[n] = '\0';
    return out;
}

/* A value, or nothing for NaN (not measured). */
static void csv_value(FILE *f, double v) {
    if (isnan(v)) {
        fprintf(f, ",");
    } else {
        fprintf(f, ",%.2f", v);
    }
}

static void csv_row(FILE *f, const char *metric, const char *subject, unsigned batch_size,
                    uint64_t samples, stat3 s) {
    fprintf(f, "%s,%s,", metric, subject);
    if (batch_size > 0) {
        fprintf(f, "%u", batch_size);
    }
    fprintf(f, ",");
    if (samples > 0) {
        fprintf(f, "%llu", (unsigned long long)samples);
    }
    csv_value(f, s.p50);
    csv_value(f, s.p99);
    csv_value(f, s.mean);
    fprintf(f, "\n");
}

int report_csv(domain_results *r, const char *path) {
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        return -1;
    }
    fprintf(f, "metric,subject,batch,samples,p50,p99,mean_of_fastest_99.9%%\n");
    for (unsigned v = 0; v < V_COUNT; v++) {
        for (unsigned k = 0; k < BATCH_SIZES; k++) {
            csv_row(f, "batch_cycles", variant_names[v], batch_size_of(k), r->batches[v][k].count,
                    stat_of(r, &r->batches[v][k]));
        }
    }
    for (unsigned i = 0; i < 2; i++) {
        for (unsigned k = 0; k < BATCH_SIZES; k++) {
            csv_row(f, "call_overhead_cycles", variant_names[protected_variants[i]],
                    batch_size_of(k), 0, per_call(r, i, k));
            csv_row(f, "call_percent_of_maglev", variant_names[protected_variants[i]],
                    batch_size_of(k), 0, share_of_maglev(r, i, k));
        }
    }
    char id[64];
    for (unsigned s = 0; s < R_COUNT; s++) {
        csv_row(f, "recovery_cycles", csv_id(recovery_ids[s], id, sizeof id), 0,
                r->recovery[s].count, stat_of(r, &r->recovery[s]));
    }
    for (unsigned k = 0; k < P_COUNT; k++) {
        csv_row(f, "part_cycles_per_op", csv_id(part_ids[k], id, sizeof id), 0, r->part_reps,
                (stat3){r->parts[k], NAN, NAN});
    }
    stat3 empty = {(double)hist_percentile(&r->empty, 0.5),
                   (double)hist_percentile(&r->empty, 0.99), hist_mean(&r->empty, MEAN_OF)};
    csv_row(f, "timer_raw_cycles", "empty", 0, r->empty.count, empty);
    csv_row(f, "paper_call_overhead_cycles", "hotos17", 1, 0,
            (stat3){NAN, NAN, PAPER_CALL_CYCLES_BATCH_1});
    csv_row(f, "paper_call_overhead_cycles", "hotos17", 256, 0,
            (stat3){NAN, NAN, PAPER_CALL_CYCLES_BATCH_256});
    csv_row(f, "paper_recovery_cycles", "hotos17", 0, 0, (stat3){NAN, NAN, PAPER_RECOVERY_CYCLES});
    return fclose(f) == 0 ? 0 : -1;
}

/* ---- PNG ---- */

int report_png(domain_results *r, const char *path) {
    int status;
    FILE *g = bench_gnuplot_open(path, &status);
    if (g == NULL) {
        return status;
    }
    /* $calls: batch, lend p50, lend p99, move p50, move p99, Maglev p50, plain p50. */
    fprintf(g, "$calls << EOD\n");
    for (unsigned k = 0; k < BATCH_SIZES; k++) {
        stat3 lend = per_call(r, 0, k), move = per_call(r, 1, k);
        fprintf(g, "%u %.2f %.2f %.2f %.2f %.0f %.0f\n", batch_size_of(k), lend.p50, lend.p99,
                move.p50, move.p99, stat_of(r, &r->batches[V_MAGLEV][k]).p50,
                stat_of(r, &r->batches[V_PLAIN][k]).p50);
    }
    fprintf(g, "EOD\n$paper << EOD\n1 %.0f\n256 %.0f\nEOD\n$share << EOD\n",
            PAPER_CALL_CYCLES_BATCH_1, PAPER_CALL_CYCLES_BATCH_256);
    for (unsigned k = 0; k < BATCH_SIZES; k++) {
        fprintf(g, "%u %.4f %.4f\n", batch_size_of(k), share_of_maglev(r, 0, k).p50,
                share_of_maglev(r, 1, k).p50);
    }
    fprintf(g, "EOD\n");
    fprintf(g,
            "set terminal pngcairo size 1400,560 font ',10'\n"
            "set output '%s'\n"
            "set multiplot layout 1,2 title 'bench\\_domain: protected calls through rrefs "
            "against plain calls (%zu x %zu batches per point, CPU %d)'\n"
            "set logscale xy 2\n"
            "set logscale y 10\n"
            "set grid xtics ytics\n"
            "set key top left\n"
            "set xrange [0.8:320]\n"
            "set xlabel 'packets per batch'\n",
            path, r->reps, r->per_block, r->cpu);
    fprintf(g,
            "set title 'overhead of one protected call, and Maglev per batch (medians)'\n"
            "set ylabel 'TSC cycles'\n"
            "plot $calls using 1:2 with linespoints linewidth 2 title 'lend: 1 call (p50)', "
            "$calls using 1:3 with lines dashtype 2 title 'lend: 1 call (p99)', "
            "$calls using 1:4 with linespoints linewidth 2 title 'move: 1 call (p50)', "
            "$calls using 1:6 with linespoints linewidth 2 title 'Maglev: 1 batch (p50)', "
            "$calls using 1:7 with linespoints title 'plain pipeline: 1 batch (p50)', "
            "$paper using 1:2 with points pointtype 7 pointsize 2 title 'paper: 1 call', "
            "%.0f with lines dashtype 3 title 'goal: %.0f cycles per call'\n",
            GOAL_CALL_CYCLES, GOAL_CALL_CYCLES);
    fprintf(g,
            "set title 'one protected call as a share of Maglev''s batch (medians)'\n"
            "set ylabel 'percent (log)'\n"
            "set yrange [0.1:*]\n"
            "plot $share using 1:2 with linespoints linewidth 2 title 'lend', "
            "$share using 1:3 with linespoints linewidth 2 title 'move', "
            "%.0f with lines dashtype 3 title 'goal: under %.0f%% from %u packets'\n",
            GOAL_MAGLEV_PERCENT, GOAL_MAGLEV_PERCENT, GOAL_MAGLEV_FROM_BATCH);
    fprintf(g, "unset multiplot\n");
    return bench_gnuplot_close(g);
}
