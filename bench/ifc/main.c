/*
 * main.c - bench_ifc: what information-flow control costs, with and without
 * labels, side by side in one run.
 *
 *   bench_ifc [--quick] [--csv FILE] [--png FILE] [--cpu N]
 *   bench_ifc --instructions OP --labels on|off --count N
 *
 * Each round sets the domain system up twice: once with no category (every
 * label public: the checks are skipped behind one predicted branch; this is
 * keel without IFC), once labelled (a category exists, the caller, the callee
 * and the boxes carry it, so every check runs in full and passes). Rounds
 * alternate, so both see the same machine. Measured, in TSC cycles per
 * operation, median and p99 (the empty timing bracket subtracted):
 *   - a protected call to a null method (keel_rref_call), which repeats the
 *     last check and finds it in the thread's call memo;
 *   - the same call right after a label write (a relabel of the caller to
 *     the label it has, untimed), which makes every memo stale: the check in
 *     full, as the first call after any label change pays it;
 *   - a call lending a box that the callee opens (keel_box_data);
 *   - a call moving a box in;
 *   - the secure data store of tests/ifc/store.c: a client domain's PUT (a
 *     new box moved in) and GET (a copy given back), per pair, timed in
 *     batches of 32 inside one call into the client; the goal is at most 5%
 *     overhead in throughput. Each round of one mode runs beside a round of
 *     the other; the overhead is the median, over the rounds, of the ratio of
 *     the two rounds' times per pair (each round's median batch). The median
 *     per pair over all rounds and the throughput over the whole run are
 *     printed beside it.
 *
 * --instructions runs one operation `N` times (after a warm-up of 100) in one
 * mode, untimed, for a valgrind run to count: bench/ifc/instructions.sh runs
 * it under lackey at two counts and prints instructions per operation. OP is
 * call, call-after-relabel, relabel, lend, move (with the box's allocation),
 * store (one batch of 32 pairs) or none (the loop alone).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "hist.h"
#include "keel/ifc.h"
#include "plot.h"
#include "store.h"
#include "tsc.h"

enum { M_NULL, M_OPEN, M_KEEP, M_WORK, M_COUNT };
enum { OP_CALL, OP_CALL_MISS, OP_LEND, OP_MOVE, OP_STORE, OPS };
static const char *const op_names[OPS] = {"rref call, null method", "call after a label change",
                                          "call lending a box, opened", "call moving a box in",
                                          "store PUT+GET pair"};
enum { PAIRS_PER_WORK = 32, STORE_KEYS = 8 };

typedef struct bench_object {
    keel_rref store;
    keel_label item_label;
    unsigned long sink;
} bench_object;

static keel_status m_null(void *o, keel_call *c) {
    (void)o;
    (void)c;
    return KEEL_OK;
}
static keel_status m_open(void *o, keel_call *c) {
    unsigned char *data;
    keel_status status = keel_box_data(c->box, (void **)&data, NULL);
    if (status == KEEL_OK) {
        ((bench_object *)o)->sink += data[0];
    }
    return status;
}
static keel_status m_keep(void *o, keel_call *c) {
    (void)o;
    return keel_box_free(c->box);
}
/* A client's batch: PAIRS_PER_WORK times, a fresh item PUT, then GET back. */
static keel_status m_work(void *o, keel_call *c) {
    bench_object *b = o;
    unsigned base = *(unsigned *)c->arg;
    for (unsigned i = 0; i < PAIRS_PER_WORK; i++) {
        /* Unrestricted: the store's own check passes; the labels protect. */
        store_arg a = {.key = (base + i) % STORE_KEYS};
        keel_box box;
        unsigned char *data;
        keel_status status = keel_box_alloc(STORE_ITEM_SIZE, &box);
        if (status == KEEL_OK) {
            status = keel_box_data(box, (void **)&data, NULL);
        }
        if (status != KEEL_OK) {
            return status;
        }
        memset(data, (int)i, STORE_ITEM_SIZE);
        /* Classified once written: the client's own label stays public. */
        if ((status = keel_box_relabel(box, b->item_label)) != KEEL_OK ||
            (status = keel_rref_call_move(b->store, S_PUT, &box, &a, NULL)) != KEEL_OK) {
            return status;
        }
        store_result r = {0};
        if ((status = keel_rref_call(b->store, S_GET, &a.key, &r)) != KEEL_OK) {
            return status;
        }
        keel_box_free(r.box);
    }
    return KEEL_OK;
}
static const keel_method methods[M_COUNT] = {m_null, m_open, m_keep, m_work};
static const keel_interface interface = {"bench", M_COUNT, methods};

typedef struct boot {
    bench_object template;
    keel_rref rref;
} boot;

static keel_status init(keel_domain *domain, void *context) {
    boot *b = context;
    bench_object *o;
    keel_status status = keel_domain_alloc(sizeof *o, (void **)&o);
    if (status == KEEL_OK) {
        *o = b->template;
        status = keel_domain_export(domain, o, &interface, &b->rref);
    }
    return status;
}

typedef struct options {
    bool quick;
    const char *csv, *png;
    int cpu;
    const char *instructions; /* the operation to run for a count, or NULL */
    bool labelled;
    unsigned count;
} options;

static void fail(const char *what, keel_status status) {
    fprintf(stderr, "bench_ifc: %s: %s\n", what, keel_strerror(status));
    exit(1);
}

/* The system of one mode: a callee, a client and the store. */
typedef struct world {
    keel_label label; /* the tenant's label, or public with labels off */
    keel_domain *store_domain, *callee, *client;
    keel_rref target, worker;
    keel_box box; /* the host's, lent to the callee */
} world;

static void world_up(bool labelled, world *w) {
    keel_status s = keel_domain_system_init((size_t)8 << 20, 4096);
    if (s != KEEL_OK) {
        fail("system init", s);
    }
    keel_label label = KEEL_LABEL_PUBLIC, clearance = KEEL_LABEL_PUBLIC;
    if (labelled) {
        unsigned tenant;
        if ((s = keel_ifc_category_create("tenant", &tenant)) != KEEL_OK) {
            fail("category", s);
        }
        label = clearance = (keel_label){KEEL_CATEGORY(tenant), 0};
        /* The host works on the tenant's data: its calls carry the label. */
        if ((s = keel_ifc_relabel_self(label)) != KEEL_OK) {
            fail("relabel", s);
        }
    }
    w->label = label;
    keel_rref store;
    store_config sc = {0};
    if ((s = store_create(&sc, &w->store_domain, &store)) != KEEL_OK) {
        fail("store", s);
    }
    boot b = {.template = {.store = store, .item_label = label}};
    keel_domain_config dc = {.name = "callee",
                             .heap_size = 64 * 1024,
                             .table_capacity = 2,
                             .init = init,
                             .context = &b,
                             .label = KEEL_LABEL_PUBLIC,
                             .clearance = clearance};
    if ((s = keel_domain_create(&dc, &w->callee)) != KEEL_OK) {
        fail("callee", s);
    }
    w->target = b.rref;
    dc.name = "client";
    if ((s = keel_domain_create(&dc, &w->client)) != KEEL_OK) {
        fail("client", s);
    }
    w->worker = b.rref;
    if ((s = keel_box_alloc(64, &w->box)) != KEEL_OK) {
        fail("box", s);
    }
}

static void world_down(world *w) {
    keel_box_free(w->box);
    keel_domain_destroy(w->client);
    keel_domain_destroy(w->callee);
    keel_domain_destroy(w->store_domain);
    keel_status s = keel_domain_system_shutdown();
    if (s != KEEL_OK) {
        fail("shutdown", s);
    }
}

static void do_call(const world *w) {
    keel_status s = keel_rref_call(w->target, M_NULL, NULL, NULL);
    if (s != KEEL_OK) {
        fail("call", s);
    }
}

/* A label write that changes nothing, but makes every memo stale. */
static void do_relabel(const world *w) {
    keel_status s = keel_ifc_relabel_self(w->label);
    if (s != KEEL_OK) {
        fail("relabel", s);
    }
}

static void do_lend(const world *w) {
    keel_status s = keel_rref_call_lend(w->target, M_OPEN, w->box, NULL, NULL);
    if (s != KEEL_OK) {
        fail("lend call", s);
    }
}

static keel_box new_box(void) {
    keel_box box;
    keel_status s = keel_box_alloc(64, &box);
    if (s != KEEL_OK) {
        fail("box", s);
    }
    return box;
}

static void do_move(const world *w, keel_box *box) {
    keel_status s = keel_rref_call_move(w->target, M_KEEP, box, NULL, NULL);
    if (s != KEEL_OK) {
        fail("move call", s);
    }
}

static void do_store(const world *w, unsigned i) {
    keel_status s = keel_rref_call(w->worker, M_WORK, &i, NULL);
    if (s != KEEL_OK) {
        fail("store work", s);
    }
}

/* The store's throughput: cycles and pairs over the batches of a round, or
 * of every round of one mode, and a round's median cycles per pair. */
typedef struct totals {
    uint64_t cycles, pairs;
    double median;
} totals;

enum { BATCHES_MAX = 256 }; /* store batches in a round: n / 8 */

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static uint64_t less_empty(uint64_t t0, uint64_t t1, uint64_t empty) {
    return t1 - t0 > empty ? t1 - t0 - empty : 0;
}

/* One round in one mode: `n` of each operation, into h[op]; returns the
 * store's totals of the round. */
static totals round_of(bool labelled, unsigned n, hist h[OPS], uint64_t empty) {
    totals store = {0, 0, 0};
    double batch[BATCHES_MAX];
    unsigned batches = 0;
    world w;
    world_up(labelled, &w);
    for (unsigned i = 0; i < n; i++) {
        uint64_t t0 = bench_tsc_begin();
        do_call(&w);
        uint64_t t1 = bench_tsc_end();
        hist_add(&h[OP_CALL], less_empty(t0, t1, empty));
        do_relabel(&w);
        t0 = bench_tsc_begin();
        do_call(&w);
        t1 = bench_tsc_end();
        hist_add(&h[OP_CALL_MISS], less_empty(t0, t1, empty));
        t0 = bench_tsc_begin();
        do_lend(&w);
        t1 = bench_tsc_end();
        hist_add(&h[OP_LEND], less_empty(t0, t1, empty));
        keel_box moving = new_box();
        t0 = bench_tsc_begin();
        do_move(&w, &moving);
        t1 = bench_tsc_end();
        hist_add(&h[OP_MOVE], less_empty(t0, t1, empty));
    }
    for (unsigned i = 0; i < n / 8 && i < BATCHES_MAX; i++) {
        uint64_t t0 = bench_tsc_begin();
        do_store(&w, i);
        uint64_t t1 = bench_tsc_end();
        hist_add(&h[OP_STORE], (t1 - t0) / PAIRS_PER_WORK);
        store.cycles += t1 - t0;
        store.pairs += PAIRS_PER_WORK;
        batch[batches++] = (double)(t1 - t0) / PAIRS_PER_WORK;
    }
    world_down(&w);
    qsort(batch, batches, sizeof batch[0], compare_doubles);
    store.median = batch[batches / 2];
    return store;
}

/* --instructions: `n` operations after a warm-up, for valgrind to count.
 * Every operation is called the same way (through the table), so that the
 * loop's cost is the same for each and "none" measures it. */
static void count_call(world *w, unsigned i) {
    (void)i;
    do_call(w);
}
static void count_call_after_relabel(world *w, unsigned i) {
    (void)i;
    do_relabel(w);
    do_call(w);
}
static void count_relabel(world *w, unsigned i) {
    (void)i;
    do_relabel(w);
}
static void count_lend(world *w, unsigned i) {
    (void)i;
    do_lend(w);
}
static void count_move(world *w, unsigned i) {
    (void)i;
    keel_box moving = new_box();
    do_move(w, &moving);
}
static void count_store(world *w, unsigned i) {
    do_store(w, i);
}
static void count_none(world *w, unsigned i) {
    (void)w;
    (void)i;
}

static int count_run(const char *op, bool labelled, unsigned n) {
    static const struct {
        const char *name;
        void (*run)(world *, unsigned);
    } ops[] = {{"call", count_call},       {"call-after-relabel", count_call_after_relabel},
               {"relabel", count_relabel}, {"lend", count_lend},
               {"move", count_move},       {"store", count_store},
               {"none", count_none}};
    unsigned k = 0;
    while (k < sizeof ops / sizeof ops[0] && strcmp(ops[k].name, op) != 0) {
        k++;
    }
    if (k == sizeof ops / sizeof ops[0]) {
        fprintf(stderr, "bench_ifc: unknown operation '%s'\n", op);
        return 2;
    }
    void (*volatile run)(world *, unsigned) = ops[k].run; /* called, never inlined */
    world w;
    world_up(labelled, &w);
    for (unsigned i = 0; i < 100 + n; i++) {
        run(&w, i);
    }
    world_down(&w);
    return 0;
}

static const char usage[] = "usage: bench_ifc [--quick] [--csv FILE] [--png FILE] [--cpu N]\n"
                            "       bench_ifc --instructions OP --labels on|off --count N\n";

static int parse(int argc, char **argv, options *o) {
    static const struct option longs[] = {{"quick", no_argument, NULL, 'q'},
                                          {"csv", required_argument, NULL, 'c'},
                                          {"png", required_argument, NULL, 'p'},
                                          {"cpu", required_argument, NULL, 'u'},
                                          {"help", no_argument, NULL, 'h'},
                                          {"instructions", required_argument, NULL, 'i'},
                                          {"labels", required_argument, NULL, 'l'},
                                          {"count", required_argument, NULL, 'n'},
                                          {NULL, 0, NULL, 0}};
    *o = (options){.cpu = -1, .count = 1000};
    int c;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (c) {
        case 'q':
            o->quick = true;
            break;
        case 'c':
            o->csv = optarg;
            break;
        case 'p':
            o->png = optarg;
            break;
        case 'u':
            o->cpu = atoi(optarg);
            break;
        case 'i':
            o->instructions = optarg;
            break;
        case 'l':
            if (strcmp(optarg, "on") != 0 && strcmp(optarg, "off") != 0) {
                return -1;
            }
            o->labelled = strcmp(optarg, "on") == 0;
            break;
        case 'n':
            o->count = (unsigned)atoi(optarg);
            break;
        case 'h':
            printf("%s", usage);
            exit(0);
        default:
            return -1;
        }
    }
    return optind == argc ? 0 : -1;
}

int main(int argc, char **argv) {
    options o;
    if (parse(argc, argv, &o) != 0) {
        fprintf(stderr, "%s", usage);
        return 2;
    }
    keel_ifc_set_reporter(NULL, NULL);
    if (o.instructions != NULL) {
        return count_run(o.instructions, o.labelled, o.count);
    }
    int cpus;
    int cpu = bench_pin_cpu(o.cpu, &cpus);
    hist h[2][OPS], empty_h;
    for (unsigned m = 0; m < 2; m++) {
        for (unsigned k = 0; k < OPS; k++) {
            if (hist_init(&h[m][k], 1u << 16) != 0) {
                return 1;
            }
        }
    }
    hist_init(&empty_h, 1024);
    bench_timer_empty(&empty_h, 10000);
    uint64_t empty = hist_percentile(&empty_h, 0.5);
    unsigned rounds = o.quick ? 30 : 300, n = o.quick ? 400 : 1000;
    totals store[2] = {{0, 0, 0}, {0, 0, 0}};
    double *ratio = calloc(rounds, sizeof *ratio); /* per round: on's time per pair / off's */
    if (ratio == NULL) {
        return 1;
    }
    for (unsigned r = 0; r < rounds; r++) {
        /* Alternate which mode goes first: off, on, on, off, off, on, ... */
        totals round[2];
        round[r % 2] = round_of(r % 2 == 1, n, h[r % 2], empty);
        round[(r + 1) % 2] = round_of(r % 2 == 0, n, h[(r + 1) % 2], empty);
        for (unsigned m = 0; m < 2; m++) {
            store[m].cycles += round[m].cycles;
            store[m].pairs += round[m].pairs;
        }
        ratio[r] = round[1].median / round[0].median;
    }
    printf("bench_ifc: information-flow control, labels off and on, side by side\n");
    printf("CPU %d, %u rounds each way, TSC cycles per operation (empty bracket %llu "
           "subtracted)\n\n",
           cpu, rounds, (unsigned long long)empty);
    printf("%-30s %10s %10s %10s %10s %10s %9s\n", "operation", "off p50", "off p99", "on p50",
           "on p99", "on-off p50", "overhead");
    FILE *csv = fopen(o.csv != NULL ? o.csv : BENCH_IFC_OUT_DIR "/bench_ifc.csv", "w");
    if (csv != NULL) {
        fprintf(csv, "operation,off_p50,off_p99,on_p50,on_p99,overhead_percent\n");
    }
    double medians[OPS][2];
    for (unsigned k = 0; k < OPS; k++) {
        uint64_t off50 = hist_percentile(&h[0][k], 0.5), off99 = hist_percentile(&h[0][k], 0.99);
        uint64_t on50 = hist_percentile(&h[1][k], 0.5), on99 = hist_percentile(&h[1][k], 0.99);
        double overhead = off50 > 0 ? 100.0 * ((double)on50 - (double)off50) / (double)off50 : 0;
        medians[k][0] = (double)off50;
        medians[k][1] = (double)on50;
        printf("%-30s %10llu %10llu %10llu %10llu %10lld %8.1f%%\n", op_names[k],
               (unsigned long long)off50, (unsigned long long)off99, (unsigned long long)on50,
               (unsigned long long)on99, (long long)on50 - (long long)off50, overhead);
        if (csv != NULL) {
            fprintf(csv, "%s,%llu,%llu,%llu,%llu,%.2f\n", op_names[k], (unsigned long long)off50,
                    (unsigned long long)off99, (unsigned long long)on50, (unsigned long long)on99,
                    overhead);
        }
    }
    double store_overhead =
        100.0 * (medians[OP_STORE][1] - medians[OP_STORE][0]) / medians[OP_STORE][0];
    /* Throughput, side by side: each round of one mode runs right beside a
     * round of the other, so the ratio of their times per pair (each round's
     * median batch: a preempted batch says nothing about labels) is free of
     * the drift a shared machine adds between rounds; the median ratio over
     * the rounds is the overhead. The throughput over every batch of the run,
     * preemptions included, is printed too. */
    qsort(ratio, rounds, sizeof *ratio, compare_doubles);
    double paired = 100.0 * (ratio[rounds / 2] - 1.0);
    double paired_low = 100.0 * (ratio[rounds / 4] - 1.0);
    double paired_high = 100.0 * (ratio[3 * rounds / 4] - 1.0);
    double ghz = bench_tsc_ghz();
    double whole[2];
    for (unsigned m = 0; m < 2; m++) {
        whole[m] = (double)store[m].pairs / ((double)store[m].cycles / (ghz * 1e9));
    }
    double whole_cost = 100.0 * (whole[0] / whole[1] - 1.0);
    printf("\nstore throughput (TSC %.2f GHz, %llu pairs each way):\n"
           "  round beside round:   overhead %.1f%% (median of %u rounds; quartiles %.1f%% and "
           "%.1f%%)\n"
           "  over the whole run:   off %.3f M pairs/s, on %.3f: overhead %.1f%%\n",
           ghz, (unsigned long long)store[0].pairs, paired, rounds, paired_low, paired_high,
           whole[0] / 1e6, whole[1] / 1e6, whole_cost);
    printf("goal: the data store's throughput overhead at most 5%% (Flume 34-43%%, Laminar "
           "1-56%%): %.1f%%, %s (median per pair: %.1f%%)\n",
           paired, paired <= 5.0 ? "met" : "NOT met", store_overhead);
    if (csv != NULL) {
        fprintf(csv, "store throughput overhead (median of paired rounds),,,,,%.2f\n", paired);
        fprintf(csv, "store throughput pairs/s (whole run),%.0f,,%.0f,,%.2f\n", whole[0], whole[1],
                whole_cost);
        fclose(csv);
    }
    free(ratio);
    int status;
    const char *png = o.png != NULL ? o.png : BENCH_IFC_OUT_DIR "/bench_ifc.png";
    FILE *g = bench_gnuplot_open(png, &status);
    if (g != NULL) {
        fprintf(g, "$d << EOD\n");
        for (unsigned k = 0; k < OPS; k++) {
            fprintf(g, "\"%s\" %.0f %.0f\n", op_names[k], medians[k][0], medians[k][1]);
        }
        fprintf(g,
                "EOD\n"
                "set terminal pngcairo size 900,480 font ',10'\n"
                "set output '%s'\n"
                "set title 'bench\\_ifc: median TSC cycles per operation, labels off and on'\n"
                "set style data histograms\nset style fill solid 0.8\nset boxwidth 0.9\n"
                "set ylabel 'cycles'\nset yrange [0:*]\nset xtics rotate by -15\nset key top left\n"
                "plot $d using 2:xtic(1) title 'no labels', '' using 3 title 'labelled'\n",
                png);
        status = bench_gnuplot_close(g);
    }
    for (unsigned m = 0; m < 2; m++) {
        for (unsigned k = 0; k < OPS; k++) {
            hist_release(&h[m][k]);
        }
    }
    hist_release(&empty_h);
    return status < 0 ? 1 : 0;
}
