/*
 * main.c - bench_domain: the evaluation of the HotOS'17 paper (section 3) on
 * keel's protection domains, protected and plain side by side, in one run.
 *
 *   bench_domain [--quick] [--csv FILE] [--png FILE] [options]   (--help lists them)
 *
 * What it measures, pinned to one CPU, in rounds that each do a slice of all
 * three (so that they all see the same mix of machine states):
 *   1. a pipeline of 5 null filters, plain and protected (lend and move), and
 *      Maglev, on batches of 1..256 packets: cycles per batch, interleaved
 *      (pipeline_timing.h); the overhead of one protected call follows;
 *   2. panics and faults inside a domain, the recovery, and bare signals for
 *      reference (recovery.h);
 *   3. the parts a protected call is made of, each timed alone (parts.h).
 * Then it prints the tables beside the paper's figures and the goals, and
 * writes the CSV and the PNG (report.h).
 *
 * `--loop N` runs N untimed batches through each protected path and exits: the
 * short run to profile with valgrind --tool=callgrind (see profile.sh).
 * `--panics N` does the same for N panics of the recovery victim.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cpu.h"
#include "keel/domain.h"
#include "maglev.h"
#include "parts.h"
#include "pipeline_timing.h"
#include "recovery.h"
#include "report.h"
#include "stages.h"
#include "tsc.h"

#define EXCHANGE_SIZE   ((size_t)1 << 20)
#define BOX_CAPACITY    64u
#define MAGLEV_BACKENDS 10u
#define MAGLEV_SIZE     65537u
#define MAGLEV_FLOWS    (1u << 18) /* connection table entries: 4 per open connection */

typedef struct options {
    bool quick;
    const char *csv;
    const char *png;
    size_t reps;
    int cpu;
    size_t loop;
    size_t panics;
} options;

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: bench_domain [options]\n"
        "  --quick       short run (a few seconds): fewer repetitions\n"
        "  --csv FILE    CSV output (default %s/bench_domain.csv)\n"
        "  --png FILE    PNG plot (default %s/bench_domain.png)\n"
        "  --reps N      interleaved repetitions of the pipeline timing (full 60000, quick 6000)\n"
        "  --cpu N       CPU to pin to (default: the last one allowed)\n"
        "  --loop N      no timing: N batches of 32 packets through each protected path,\n"
        "                then exit (to profile under callgrind)\n"
        "  --panics N    no timing: N panics of the recovery victim, then exit (the same)\n",
        BENCH_DOMAIN_OUT_DIR, BENCH_DOMAIN_OUT_DIR);
}

static int parse_options(int argc, char **argv, options *o) {
    enum { O_QUICK = 256, O_CSV, O_PNG, O_REPS, O_CPU, O_LOOP, O_PANICS, O_HELP };
    static const struct option longs[] = {
        {"quick", no_argument, NULL, O_QUICK},   {"csv", required_argument, NULL, O_CSV},
        {"png", required_argument, NULL, O_PNG}, {"reps", required_argument, NULL, O_REPS},
        {"cpu", required_argument, NULL, O_CPU}, {"loop", required_argument, NULL, O_LOOP},
        {"panics", required_argument, NULL, O_PANICS}, {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0}};
    long long reps = -1, loop = 0, panics = 0;
    *o = (options){.cpu = -1};
    int c;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (c) {
        case O_QUICK:
            o->quick = true;
            break;
        case O_CSV:
            o->csv = optarg;
            break;
        case O_PNG:
            o->png = optarg;
            break;
        case O_REPS:
            reps = strtoll(optarg, NULL, 0);
            break;
        case O_CPU:
            o->cpu = atoi(optarg);
            break;
        case O_LOOP:
            loop = strtoll(optarg, NULL, 0);
            break;
        case O_PANICS:
            panics = strtoll(optarg, NULL, 0);
            break;
        case O_HELP:
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind != argc || reps == 0 || loop < 0 || panics < 0 || (loop > 0 && panics > 0)) {
        usage(stderr);
        return -1;
    }
    o->reps = reps > 0 ? (size_t)reps : o->quick ? 6000 : 60000;
    o->loop = (size_t)loop;
    o->panics = (size_t)panics;
    return 0;
}

/* Round `round`'s share of `total` samples spread over `rounds` rounds. */
static size_t share(size_t total, size_t rounds, size_t round) {
    return total * (round + 1) / rounds - total * round / rounds;
}

/* The --loop mode: the protected paths, untimed, for a profiler. */
static int loop_only(pipeline *p, size_t n) {
    traffic rng;
    traffic_init(&rng, 1);
    keel_status status = KEEL_OK;
    for (size_t i = 0; i < n && status == KEEL_OK; i++) {
        packets_receive(p->data, 32, &rng);
        status = pipeline_run_lend(p);
        batch *b;
        if (status == KEEL_OK) {
            status = pipeline_prepare_move(p, &b);
        }
        if (status == KEEL_OK) {
            packets_receive(b, 32, &rng);
            status = pipeline_run_move(p);
        }
        if (status == KEEL_OK) {
            status = keel_rref_call(p->rrefs[0], STAGE_NOP, NULL, NULL);
        }
    }
    if (status != KEEL_OK) {
        fprintf(stderr, "bench_domain --loop: %s\n", keel_status_name(status));
        return 1;
    }
    return 0;
}

static void print_setup(const domain_results *r, const options *o) {
    printf("bench_domain: keel protection domains, the HotOS'17 evaluation (%s mode)\n",
           o->quick ? "quick" : "full");
    printf("  %s, %s build; pinned to CPU %d of %d; TSC %.3f GHz; the core runs %.2f cycles "
           "per TSC cycle\n  (all figures are TSC cycles)\n",
           BENCH_DOMAIN_COMPILER, BENCH_DOMAIN_BUILD_TYPE, r->cpu, r->cpus, r->tsc_ghz,
           r->core_per_tsc);
    printf("  pipeline: %u null filters, batches of 1..%u packets of %u bytes in a box of %zu "
           "bytes;\n  %zu interleaved repetitions x %zu batches per (size, variant), after a "
           "warm-up\n",
           STAGES, BATCH_MAX, PACKET_SIZE, BATCH_BYTES, r->reps, r->per_block);
    printf("  recovery: %zu samples per series; parts: %zu samples each; in %zu rounds\n",
           r->recovery_reps, r->part_reps, r->rounds);
    fflush(stdout);
}

int main(int argc, char **argv) {
    options o;
    if (parse_options(argc, argv, &o) != 0) {
        return 2;
    }
    double start = bench_now_seconds();
    static domain_results r;
    static maglev m;
    static maglev_conntrack conntrack;
    static pipeline p;
    r.quick = o.quick;
    r.reps = o.reps;
    r.per_block = 8;
    r.recovery_reps = o.quick ? 10000 : 100000;
    r.part_reps = o.quick ? 2000 : 20000;
    r.rounds = o.quick ? 20 : 100;
    r.cpu = bench_pin_cpu(o.cpu, &r.cpus);
    char csv[4096], png[4096];
    snprintf(csv, sizeof csv, "%s",
             o.csv != NULL ? o.csv : BENCH_DOMAIN_OUT_DIR "/bench_domain.csv");
    snprintf(png, sizeof png, "%s",
             o.png != NULL ? o.png : BENCH_DOMAIN_OUT_DIR "/bench_domain.png");

    keel_status status = keel_domain_system_init(EXCHANGE_SIZE, BOX_CAPACITY);
    if (status != KEEL_OK) {
        fprintf(stderr, "bench_domain: keel_domain_system_init: %s\n", keel_status_name(status));
        return 1;
    }
    int code = 1;
    if (maglev_build(&m, MAGLEV_BACKENDS, MAGLEV_SIZE) != 0 ||
        maglev_conntrack_init(&conntrack, MAGLEV_FLOWS) != 0 || domain_results_init(&r) != 0) {
        fprintf(stderr, "bench_domain: out of memory\n");
        goto out;
    }
    r.maglev_size = m.size;
    r.maglev_backends = m.backends;
    r.maglev_min = m.entries_per_backend_min;
    r.maglev_max = m.entries_per_backend_max;
    r.maglev_flows = MAGLEV_FLOWS;
    status = pipeline_create(&p);
    if (status != KEEL_OK) {
        fprintf(stderr, "bench_domain: creating the pipeline: %s\n", keel_status_name(status));
        goto out;
    }
    if (o.loop > 0) {
        code = loop_only(&p, o.loop);
        goto out;
    }
    if (o.panics > 0) {
        code = recovery_panics(o.panics) == 0 ? 0 : 1;
        if (code != 0) {
            fprintf(stderr, "bench_domain --panics: no victim, or a panic not recovered\n");
        }
        goto out;
    }
    r.tsc_ghz = bench_tsc_ghz();
    r.core_per_tsc = bench_core_per_tsc();
    print_setup(&r, &o);

    if (recovery_open(&r) != 0) {
        fprintf(stderr, "bench_domain: %s\n", r.error);
        goto out;
    }
    if (parts_open(&r, &p) != 0) {
        fprintf(stderr, "bench_domain: %s\n", r.errors > 0 ? r.error : "out of memory");
        recovery_close(&r);
        goto out;
    }
    pipeline_timing_warm_up(&r, &p, &m, &conntrack);
    /* Rounds: each does a slice of every measurement, so that all of them see
     * the same mix of machine states (a VM's noise comes in bursts). */
    printf("timing %zu rounds of: pipeline and Maglev, failures and recoveries, parts ...\n",
           r.rounds);
    fflush(stdout);
    double phase[3] = {0, 0, 0};
    for (size_t round = 0; round < r.rounds; round++) {
        double t0 = bench_now_seconds();
        pipeline_timing_round(&r, &p, &m, &conntrack, share(r.reps, r.rounds, round));
        double t1 = bench_now_seconds();
        recovery_round(&r, share(r.recovery_reps, r.rounds, round));
        double t2 = bench_now_seconds();
        parts_round(&r, share(r.part_reps, r.rounds, round));
        double t3 = bench_now_seconds();
        phase[0] += t1 - t0;
        phase[1] += t2 - t1;
        phase[2] += t3 - t2;
    }
    recovery_close(&r);
    parts_close(&r);
    printf("  took %.1f s: pipeline %.1f s, recovery %.1f s, parts %.1f s\n",
           phase[0] + phase[1] + phase[2], phase[0], phase[1], phase[2]);
    r.overhead = hist_percentile(&r.empty, 0.5);
    r.maglev_hits = conntrack.hits;
    r.maglev_misses = conntrack.misses;
    r.maglev_evictions = conntrack.evictions;
    r.maglev_dropped = conntrack.dropped;
    report_print(&r);
    code = r.errors > 0 ? 1 : 0;
    if (report_csv(&r, csv) != 0) {
        fprintf(stderr, "cannot write %s\n", csv);
        code = 1;
    } else {
        printf("\nCSV: %s\n", csv);
    }
    int png_status = report_png(&r, png);
    if (png_status == 0) {
        printf("PNG: %s\n", png);
    } else if (png_status < 0) {
        code = 1;
    }
    r.seconds = bench_now_seconds() - start;
    printf("total wall time %.1f s\n", r.seconds);
out:
    pipeline_destroy(&p);
    maglev_release(&m);
    maglev_conntrack_release(&conntrack);
    domain_results_release(&r);
    keel_domain_system_shutdown();
    return code;
}
