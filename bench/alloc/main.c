/*
 * main.c - bench_alloc: keel's O(1) heap and its pools against glibc,
 * jemalloc and mimalloc, in one run, on five deterministic traces.
 *
 *   bench_alloc [--quick] [--csv FILE] [--png FILE] [options]   (--help lists them)
 *
 * What it does, in order:
 *   1. generates the traces (traces.h) before any timing;
 *   2. replays each trace on every allocator once to warm up, then `reps` times
 *      interleaved (trace 1: A B C D E, trace 2: A B C D E, ..., repeated; the
 *      order of the allocators rotates by one each repetition), timing every
 *      single alloc and free in TSC cycles (timing.h), pinned to one CPU;
 *   3. counts the exact instructions of every keel_heap_alloc/free and
 *      keel_pool_alloc/free call on shorter traces, by ptrace (instr_count.h),
 *      for an -O2 build of keel's sources and for the linked libkeel;
 *   4. cross-checks the counter: block counting against single-stepping, and
 *      its sums against callgrind's (callgrind.h);
 *   5. prints the tables and the goals, writes the CSV and the PNG (report.h).
 *
 * `--instr-replay=-O2|libkeel` is the mode callgrind runs: only the untimed
 * replay of step 3, with the same seed and length.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "allocators.h"
#include "bench_alloc_config.h"
#include "callgrind.h"
#include "cpu.h"
#include "instr_count.h"
#include "keel_replay.h"
#include "report.h"
#include "timing.h"
#include "traces.h"

#define HEAP_REGION_SIZE ((size_t)64 << 20)
#define EMPTY_PER_REPLAY 256u
#define LARGE_PER_SERIES 16384u /* cycle samples >= 65536 kept exactly per series */

typedef struct options {
    bool quick;
    const char *csv;
    const char *png;
    size_t ops;
    size_t reps;
    size_t instr_ops;
    size_t verify_ops;
    uint64_t seed;
    int cpu;
    bool single_step;
    bool callgrind;
    bool instr;
    bool verbose;
    const char *replay_build; /* --instr-replay */
} options;

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: bench_alloc [options]\n"
        "  --quick           short run (~15 s): fewer ops and repetitions, no cross-checks\n"
        "  --csv FILE        CSV output (default %s/bench_alloc.csv)\n"
        "  --png FILE        PNG plot (default %s/bench_alloc.png)\n"
        "  --ops N           operations per trace, timed replays (full 300000, quick 50000)\n"
        "  --reps N          interleaved repetitions (full 10, quick 6)\n"
        "  --instr-ops N     operations per trace, instruction counts (full 20000, quick 4000)\n"
        "  --verify-ops N    compare block counting with single-stepping on N ops per trace\n"
        "                    (full 500, quick 0 = off)\n"
        "  --single-step     count instructions by single-stepping only (slow on a VM)\n"
        "  --callgrind, --no-callgrind   cross-check with valgrind (full: on, quick: off)\n"
        "  --no-instr        skip the instruction counts\n"
        "  --seed N          trace seed (default 0x6b65656c)\n"
        "  --cpu N           CPU to pin to (default: the last one allowed)\n"
        "  --verbose         also print the path of each worst-case call\n",
        BENCH_ALLOC_OUT_DIR, BENCH_ALLOC_OUT_DIR);
}

static int parse_options(int argc, char **argv, options *o) {
    enum {
        O_CSV = 256,
        O_PNG,
        O_OPS,
        O_REPS,
        O_INSTR_OPS,
        O_VERIFY,
        O_SEED,
        O_CPU,
        O_STEP,
        O_CG,
        O_NO_CG,
        O_NO_INSTR,
        O_VERBOSE,
        O_REPLAY,
        O_HELP,
        O_QUICK
    };
    static const struct option longs[] = {{"quick", no_argument, NULL, O_QUICK},
                                          {"csv", required_argument, NULL, O_CSV},
                                          {"png", required_argument, NULL, O_PNG},
                                          {"ops", required_argument, NULL, O_OPS},
                                          {"reps", required_argument, NULL, O_REPS},
                                          {"instr-ops", required_argument, NULL, O_INSTR_OPS},
                                          {"verify-ops", required_argument, NULL, O_VERIFY},
                                          {"seed", required_argument, NULL, O_SEED},
                                          {"cpu", required_argument, NULL, O_CPU},
                                          {"single-step", no_argument, NULL, O_STEP},
                                          {"callgrind", no_argument, NULL, O_CG},
                                          {"no-callgrind", no_argument, NULL, O_NO_CG},
                                          {"no-instr", no_argument, NULL, O_NO_INSTR},
                                          {"verbose", no_argument, NULL, O_VERBOSE},
                                          {"instr-replay", required_argument, NULL, O_REPLAY},
                                          {"help", no_argument, NULL, O_HELP},
                                          {NULL, 0, NULL, 0}};
    long long ops = -1, reps = -1, instr_ops = -1, verify = -1;
    int callgrind = -1;
    *o = (options){.seed = 0x6b65656c, .cpu = -1, .instr = true};
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
        case O_OPS:
            ops = strtoll(optarg, NULL, 0);
            break;
        case O_REPS:
            reps = strtoll(optarg, NULL, 0);
            break;
        case O_INSTR_OPS:
            instr_ops = strtoll(optarg, NULL, 0);
            break;
        case O_VERIFY:
            verify = strtoll(optarg, NULL, 0);
            break;
        case O_SEED:
            o->seed = strtoull(optarg, NULL, 0);
            break;
        case O_CPU:
            o->cpu = atoi(optarg);
            break;
        case O_STEP:
            o->single_step = true;
            break;
        case O_CG:
            callgrind = 1;
            break;
        case O_NO_CG:
            callgrind = 0;
            break;
        case O_NO_INSTR:
            o->instr = false;
            break;
        case O_VERBOSE:
            o->verbose = true;
            break;
        case O_REPLAY:
            o->replay_build = optarg;
            break;
        case O_HELP:
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind != argc || ops == 0 || reps == 0 || instr_ops == 0) {
        usage(stderr);
        return -1;
    }
    o->ops = ops > 0 ? (size_t)ops : o->quick ? 50000 : 300000;
    o->reps = reps > 0 ? (size_t)reps : o->quick ? 6 : 10;
    o->instr_ops = instr_ops > 0 ? (size_t)instr_ops : o->quick ? 4000 : 20000;
    o->verify_ops = verify >= 0 ? (size_t)verify : o->quick ? 0 : 500;
    o->callgrind = callgrind >= 0 ? callgrind == 1 : !o->quick;
    return 0;
}

static int generate(bench_trace traces[TRACE_COUNT], size_t ops, uint64_t seed) {
    for (unsigned t = 0; t < TRACE_COUNT; t++) {
        if (bench_trace_generate(&traces[t], (bench_trace_id)t, ops, seed) != 0) {
            fprintf(stderr, "out of memory generating trace %s\n", bench_trace_name(t));
            return -1;
        }
    }
    return 0;
}

static void release_traces(bench_trace traces[TRACE_COUNT]) {
    for (unsigned t = 0; t < TRACE_COUNT; t++) {
        bench_trace_release(&traces[t]);
    }
}

/* The --instr-replay mode: exactly the replay the counter traces. */
static int replay_only(const options *o) {
    keel_build build;
    char err[512];
    if (strcmp(o->replay_build, "libkeel") == 0) {
        keel_build_linked(&build);
    } else if (strcmp(o->replay_build, "-O2") != 0 || keel_build_o2(&build, err, sizeof err) != 0) {
        fprintf(stderr, "--instr-replay: %s\n",
                strcmp(o->replay_build, "-O2") != 0 ? "build must be -O2 or libkeel" : err);
        return 2;
    }
    bench_trace traces[TRACE_COUNT];
    if (generate(traces, o->instr_ops, o->seed) != 0) {
        return 2;
    }
    keel_replay_job job = {.build = &build, .traces = traces, .trace_count = TRACE_COUNT};
    int r = keel_replay_run(&job);
    release_traces(traces);
    return r == 0 ? 0 : 3;
}

static int init_series(bench_results *r) {
    if (hist_init(&r->empty, LARGE_PER_SERIES) != 0) {
        return -1;
    }
    for (unsigned a = 0; a < ALLOC_COUNT; a++) {
        for (unsigned op = 0; op < OP_COUNT; op++) {
            if (hist_init(&r->cycles_all[a][op], 0) != 0) {
                return -1;
            }
            for (unsigned t = 0; t < TRACE_COUNT; t++) {
                if (hist_init(&r->cycles[a][op][t], LARGE_PER_SERIES) != 0) {
                    return -1;
                }
            }
        }
    }
    return 0;
}

/* Step 2: warm-up, then the interleaved timed repetitions. */
static int measure(bench_results *r, bench_allocators *a, const bench_trace traces[],
                   void **slots) {
    for (unsigned t = 0; t < TRACE_COUNT; t++) {
        for (unsigned id = 0; id < ALLOC_COUNT; id++) {
            uint64_t ignored = 0;
            bench_replay_timed(a, id, &traces[t], slots, NULL, NULL, &ignored);
        }
    }
    for (size_t rep = 0; rep < r->reps; rep++) {
        for (unsigned t = 0; t < TRACE_COUNT; t++) {
            for (unsigned k = 0; k < ALLOC_COUNT; k++) {
                bench_alloc_id id = (bench_alloc_id)((k + rep) % ALLOC_COUNT);
                bench_timer_empty(&r->empty, EMPTY_PER_REPLAY);
                bench_replay_timed(a, id, &traces[t], slots, &r->cycles[id][OP_ALLOC][t],
                                   &r->cycles[id][OP_FREE][t], &r->failures[id]);
                keel_heap_fault fault = {0};
                keel_heap_stats stats;
                if (id == ALLOC_KEEL_HEAP && r->keel_check[0] == '\0') {
                    keel_heap_get_stats(a->heap, &stats);
                    if (keel_heap_check(a->heap, &fault) != KEEL_OK || stats.live_blocks != 0) {
                        snprintf(r->keel_check, sizeof r->keel_check,
                                 "after trace %s: keel_heap_check: %s, %zu blocks still live",
                                 traces[t].name, fault.invariant != NULL ? fault.invariant : "ok",
                                 stats.live_blocks);
                    }
                }
            }
        }
    }
    for (unsigned id = 0; id < ALLOC_COUNT; id++) {
        for (unsigned op = 0; op < OP_COUNT; op++) {
            for (unsigned t = 0; t < TRACE_COUNT; t++) {
                if (hist_merge(&r->cycles_all[id][op], &r->cycles[id][op][t]) != 0) {
                    return -1;
                }
            }
        }
    }
    r->overhead = hist_percentile(&r->empty, 0.5);
    return 0;
}

static int count_build(const keel_build *build, const bench_trace traces[], bool single_step,
                       size_t sequence_cap, int cpu, instr_result *out, char *err, size_t errlen) {
    instr_target targets[KEEL_FN_COUNT];
    for (unsigned fn = 0; fn < KEEL_FN_COUNT; fn++) {
        targets[fn] =
            (instr_target){.symbol = keel_fn_symbol(fn), .entry = keel_fn_entry(build, fn)};
    }
    keel_replay_job job = {.build = build, .traces = traces, .trace_count = TRACE_COUNT};
    instr_options io = {.single_step = single_step, .sequence_cap = sequence_cap, .cpu = cpu};
    return instr_count(targets, KEEL_FN_COUNT, keel_replay_body, &job, &io, out, err, errlen);
}

/* Step 3 and 4. */
static void count_instructions(bench_results *r, const options *o, const bench_trace traces[]) {
    char err[512];
    if (keel_build_o2(&r->builds[BUILD_O2], err, sizeof err) != 0) {
        snprintf(r->instr_error[BUILD_O2], sizeof r->instr_error[BUILD_O2], "%s", err);
    }
    keel_build_linked(&r->builds[BUILD_LIBKEEL]);
    for (unsigned b = 0; b < BUILD_COUNT; b++) {
        if (r->builds[b].heap_alloc == NULL) {
            continue;
        }
        printf("counting instructions, keel build %s ...\n", r->builds[b].name);
        fflush(stdout);
        r->counted[b] = count_build(&r->builds[b], traces, o->single_step, 0, r->cpu, &r->instr[b],
                                    r->instr_error[b], sizeof r->instr_error[b]) == 0;
    }
    if (o->verify_ops > 0 && r->counted[BUILD_O2]) {
        printf("verifying block counting against single-stepping (%zu ops per trace) ...\n",
               o->verify_ops);
        fflush(stdout);
        bench_trace small[TRACE_COUNT];
        instr_result by_blocks, by_steps;
        size_t cap = 4 * (o->verify_ops + BENCH_LIVE_BLOCKS_MAX) * TRACE_COUNT;
        r->verify_ops = o->verify_ops;
        r->verify = CHECK_FAILED;
        if (generate(small, o->verify_ops, o->seed) == 0 &&
            count_build(&r->builds[BUILD_O2], small, false, cap, r->cpu, &by_blocks,
                        r->verify_error, sizeof r->verify_error) == 0 &&
            count_build(&r->builds[BUILD_O2], small, true, cap, r->cpu, &by_steps, r->verify_error,
                        sizeof r->verify_error) == 0) {
            r->verify_calls = by_steps.sequence_length;
            r->verify_differences = by_blocks.sequence_length != by_steps.sequence_length;
            for (size_t i = 0; i < by_steps.sequence_length && i < by_blocks.sequence_length; i++) {
                r->verify_differences += by_blocks.sequence[i] != by_steps.sequence[i];
            }
            r->verify =
                r->verify_differences == 0 && by_blocks.blocks ? CHECK_EQUAL : CHECK_DIFFERENT;
            if (!by_blocks.blocks) {
                snprintf(r->verify_error, sizeof r->verify_error, "%s", by_blocks.how);
            }
            r->verify_seconds[0] = by_blocks.seconds;
            r->verify_seconds[1] = by_steps.seconds;
        }
        instr_result_release(&by_blocks);
        instr_result_release(&by_steps);
        release_traces(small);
    }
    if (!o->callgrind) {
        return;
    }
    char self[4096], ops[64], seed[64];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n > 0 ? n : 0] = '\0';
    snprintf(ops, sizeof ops, "--instr-ops=%zu", o->instr_ops);
    snprintf(seed, sizeof seed, "--seed=%llu", (unsigned long long)o->seed);
    const char *functions[KEEL_FN_COUNT];
    for (unsigned fn = 0; fn < KEEL_FN_COUNT; fn++) {
        functions[fn] = keel_fn_symbol(fn);
    }
    for (unsigned b = 0; b < BUILD_COUNT; b++) {
        if (!r->counted[b]) {
            continue;
        }
        printf("callgrind cross-check, keel build %s ...\n", r->builds[b].name);
        fflush(stdout);
        char build[64];
        snprintf(build, sizeof build, "--instr-replay=%s", r->builds[b].name);
        char *command[] = {self, build, ops, seed, NULL};
        if (callgrind_count(command, functions, KEEL_FN_COUNT, r->callgrind_totals[b],
                            r->callgrind_error[b], sizeof r->callgrind_error[b]) != 0) {
            r->callgrind[b] = CHECK_FAILED;
            continue;
        }
        r->callgrind[b] = CHECK_EQUAL;
        for (unsigned fn = 0; fn < KEEL_FN_COUNT; fn++) {
            if (r->callgrind_totals[b][fn] != r->instr[b].total[fn]) {
                r->callgrind[b] = CHECK_DIFFERENT;
            }
        }
    }
}

static void print_setup(const bench_results *r, const bench_allocators *a, const options *o) {
    printf("bench_alloc: keel heap and pool against glibc, jemalloc and mimalloc (%s mode)\n",
           o->quick ? "quick" : "full");
    printf("  %zu traces of ~%zu ops (seed %#llx); %zu interleaved repetitions after a warm-up;\n"
           "  pinned to CPU %d of %d; TSC %.3f GHz\n",
           (size_t)TRACE_COUNT, o->ops, (unsigned long long)o->seed, o->reps, r->cpu, r->cpus,
           r->tsc_ghz);
    for (unsigned id = 0; id < ALLOC_COUNT; id++) {
        printf("  %-10s %s\n", bench_alloc_name(id), a->detail[id]);
    }
    size_t sizing = keel_heap_region_size_for(BENCH_LIVE_BYTES_MAX, BENCH_SIZE_MAX, BENCH_SIZE_MIN);
    printf("  (keel_heap_region_size_for(4 MiB live, 16..4096 B) = %zu MiB: the proven bound "
           "for any trace; these use %zu MiB)\n",
           sizing >> 20, HEAP_REGION_SIZE >> 20);
    for (unsigned t = 0; t < TRACE_COUNT; t++) {
        const bench_trace *tr = &r->traces[t];
        printf("  trace %-8s %7zu ops, peak %4u blocks / %4zu KiB live: %s\n", tr->name, tr->count,
               tr->peak_live_blocks, tr->peak_live_bytes >> 10, bench_trace_about(tr->id));
    }
    fflush(stdout);
}

int main(int argc, char **argv) {
    options o;
    if (parse_options(argc, argv, &o) != 0) {
        return 2;
    }
    if (o.replay_build != NULL) {
        return replay_only(&o);
    }
    bench_allocators_preload(argv); /* may re-execute the program once */
    double start = bench_now_seconds();
    static bench_results r;
    static bench_allocators a;
    bench_trace traces[TRACE_COUNT], counted[TRACE_COUNT];
    int status = 1;
    r.quick = o.quick;
    r.ops = o.ops;
    r.reps = o.reps;
    r.instr_ops = o.instr_ops;
    r.seed = o.seed;
    r.cpu = bench_pin_cpu(o.cpu, &r.cpus);
    r.traces = traces;
    r.instr_traces = counted;
    r.allocators = &a;
    char csv[4096], png[4096];
    snprintf(csv, sizeof csv, "%s", o.csv != NULL ? o.csv : BENCH_ALLOC_OUT_DIR "/bench_alloc.csv");
    snprintf(png, sizeof png, "%s", o.png != NULL ? o.png : BENCH_ALLOC_OUT_DIR "/bench_alloc.png");

    if (generate(traces, o.ops, o.seed) != 0 || generate(counted, o.instr_ops, o.seed) != 0) {
        return 1;
    }
    uint32_t capacity[BENCH_POOL_CLASSES] = {0};
    uint32_t slots_needed = 1;
    for (unsigned t = 0; t < TRACE_COUNT; t++) {
        for (unsigned c = 0; c < BENCH_POOL_CLASSES; c++) {
            if (traces[t].class_peak[c] > capacity[c]) {
                capacity[c] = traces[t].class_peak[c];
            }
        }
        if (traces[t].slots > slots_needed) {
            slots_needed = traces[t].slots;
        }
    }
    void **slots = calloc(slots_needed, sizeof *slots);
    if (slots == NULL || bench_allocators_open(&a, HEAP_REGION_SIZE, capacity) != 0 ||
        init_series(&r) != 0) {
        fprintf(stderr, "bench_alloc: out of memory\n");
        return 1;
    }
    r.tsc_ghz = bench_tsc_ghz();
    print_setup(&r, &a, &o);

    printf("timing ...\n");
    fflush(stdout);
    double timing_start = bench_now_seconds();
    if (measure(&r, &a, traces, slots) != 0) {
        fprintf(stderr, "bench_alloc: out of memory\n");
        goto out;
    }
    printf("timing took %.1f s\n", bench_now_seconds() - timing_start);
    if (o.instr) {
        count_instructions(&r, &o, counted);
    } else {
        snprintf(r.instr_error[BUILD_O2], sizeof r.instr_error[BUILD_O2], "--no-instr");
        snprintf(r.instr_error[BUILD_LIBKEEL], sizeof r.instr_error[BUILD_LIBKEEL], "--no-instr");
    }
    report_print(&r, o.verbose);
    status = 0;
    if (report_csv(&r, csv) != 0) {
        fprintf(stderr, "cannot write %s\n", csv);
        status = 1;
    } else {
        printf("\nCSV: %s\n", csv);
    }
    int png_status = report_png(&r, png);
    if (png_status == 0) {
        printf("PNG: %s\n", png);
    } else if (png_status < 0) {
        status = 1;
    }
    r.seconds = bench_now_seconds() - start;
    printf("total wall time %.1f s\n", r.seconds);
out:
    free(slots);
    release_traces(traces);
    release_traces(counted);
    return status;
}
