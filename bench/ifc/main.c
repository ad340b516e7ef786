/*
 * main.c - bench_ifc: what information-flow control costs, with and without
 * labels, side by side in one run.
 *
 *   bench_ifc [--quick] [--csv FILE] [--png FILE] [--cpu N]
 *
 * Each round sets the domain system up twice: once with no category (every
 * label public: the checks are skipped behind one predicted branch; this is
 * keel without IFC), once labelled (a category exists, the caller, the callee
 * and the boxes carry it, so every check runs in full and passes). Rounds
 * alternate, so both see the same machine. Measured, in TSC cycles per
 * operation, median and p99 (the empty timing bracket subtracted):
 *   - a protected call to a null method (keel_rref_call);
 *   - a call lending a box that the callee opens (keel_box_data);
 *   - a call moving a box in;
 *   - the secure data store of tests/ifc/store.c: a client domain's PUT (a
 *     new box moved in) and GET (a copy given back), per pair; the goal is at
 *     most 5% overhead.
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
enum { OP_CALL, OP_LEND, OP_MOVE, OP_STORE, OPS };
static const char *const op_names[OPS] = {"rref call, null method", "call lending a box, opened",
                                          "call moving a box in", "store PUT+GET pair"};
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
} options;

static void fail(const char *what, keel_status status) {
    fprintf(stderr, "bench_ifc: %s: %s\n", what, keel_strerror(status));
    exit(1);
}

/* One round in one mode: `n` of each operation, into h[labelled][op]. */
static void round_of(bool labelled, unsigned n, hist h[OPS], uint64_t empty) {
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
    keel_domain *store_domain, *callee, *client;
    keel_rref store;
    store_config sc = {0};
    if ((s = store_create(&sc, &store_domain, &store)) != KEEL_OK) {
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
    if ((s = keel_domain_create(&dc, &callee)) != KEEL_OK) {
        fail("callee", s);
    }
    keel_rref target = b.rref;
    dc.name = "client";
    if ((s = keel_domain_create(&dc, &client)) != KEEL_OK) {
        fail("client", s);
    }
    keel_rref worker = b.rref;
    keel_box box;
    if ((s = keel_box_alloc(64, &box)) != KEEL_OK) {
        fail("box", s);
    }
    for (unsigned i = 0; i < n; i++) {
        uint64_t t0 = bench_tsc_begin();
        s = keel_rref_call(target, M_NULL, NULL, NULL);
        uint64_t t1 = bench_tsc_end();
        hist_add(&h[OP_CALL], t1 - t0 > empty ? t1 - t0 - empty : 0);
        t0 = bench_tsc_begin();
        if (s != KEEL_OK) {
            fail("timed call", s);
        }
        s = keel_rref_call_lend(target, M_OPEN, box, NULL, NULL);
        t1 = bench_tsc_end();
        hist_add(&h[OP_LEND], t1 - t0 > empty ? t1 - t0 - empty : 0);
        keel_box moving;
        if (s != KEEL_OK || (s = keel_box_alloc(64, &moving)) != KEEL_OK) {
            fail("lend call or box", s);
        }
        t0 = bench_tsc_begin();
        s = keel_rref_call_move(target, M_KEEP, &moving, NULL, NULL);
        t1 = bench_tsc_end();
        hist_add(&h[OP_MOVE], t1 - t0 > empty ? t1 - t0 - empty : 0);
        if (s != KEEL_OK) {
            fail("timed call", s);
        }
    }
    for (unsigned i = 0; i < n / 8; i++) {
        uint64_t t0 = bench_tsc_begin();
        s = keel_rref_call(worker, M_WORK, &i, NULL);
        uint64_t t1 = bench_tsc_end();
        if (s != KEEL_OK) {
            fail("store work", s);
        }
        hist_add(&h[OP_STORE], (t1 - t0) / PAIRS_PER_WORK);
    }
    keel_box_free(box);
    keel_domain_destroy(client);
    keel_domain_destroy(callee);
    keel_domain_destroy(store_domain);
    if ((s = keel_domain_system_shutdown()) != KEEL_OK) {
        fail("shutdown", s);
    }
}

static int parse(int argc, char **argv, options *o) {
    static const struct option longs[] = {
        {"quick", no_argument, NULL, 'q'},     {"csv", required_argument, NULL, 'c'},
        {"png", required_argument, NULL, 'p'}, {"cpu", required_argument, NULL, 'u'},
        {"help", no_argument, NULL, 'h'},      {NULL, 0, NULL, 0}};
    *o = (options){.cpu = -1};
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
        case 'h':
            printf("usage: bench_ifc [--quick] [--csv FILE] [--png FILE] [--cpu N]\n");
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
        fprintf(stderr, "usage: bench_ifc [--quick] [--csv FILE] [--png FILE] [--cpu N]\n");
        return 2;
    }
    int cpus;
    int cpu = bench_pin_cpu(o.cpu, &cpus);
    keel_ifc_set_reporter(NULL, NULL);
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
    for (unsigned r = 0; r < rounds; r++) {
        round_of(r % 2 == 1, n, h[r % 2], empty); /* alternate: off, on, off, on */
        round_of(r % 2 == 0, n, h[(r + 1) % 2], empty);
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
    printf("\ngoal: the data store's overhead at most 5%% (Flume 34-43%%, Laminar 1-56%%): "
           "%.1f%%, %s\n",
           store_overhead, store_overhead <= 5.0 ? "met" : "NOT met");
    if (csv != NULL) {
        fclose(csv);
    }
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
                "set ylabel 'cycles'\nset yrange [0:*]\nset xtics rotate by -15\n"
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
