/*
 * main.c - bench_ckpt: checkpoints of the paper's firewall rule database
 * (HotOS'17, section 5), keel against the conventional hash-set deep copy and
 * against memcpy of the same bytes; whole-domain snapshots against memcpy; and
 * incremental snapshots against full ones.
 *
 *   bench_ckpt [--quick] [--csv FILE] [--png FILE]
 *
 * Graph sizes run from 1 K to 10 M objects (quick: to 100 K): a binary trie
 * whose L leaves share L / 8 rules, the rules chained by shared fallbacks.
 * Each operation runs once to warm up (page faults, caches), then `reps` times;
 * the table reports medians. Times are wall clock (CLOCK_MONOTONIC).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "cpu.h"
#include "firewall.h"
#include "plot.h"
#include "snapshots.h"

enum { SHARING = 8, OPS = 6 };

static const char *const op_names[OPS] = {"keel checkpoint",     "keel restore (arena)",
                                          "keel restore (heap)", "hash-set checkpoint",
                                          "hash-set restore",    "memcpy (same bytes)"};

typedef struct row {
    size_t objects, bytes;
    double seconds[OPS];
} row;

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void *map(size_t bytes) {
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    return p;
}

/* The median of reps runs of one operation, after one to warm up. */
#define TIME_MEDIAN(reps, result, body)                 \
    do {                                                \
        double times_[64];                              \
        for (unsigned r_ = 0; r_ <= (reps); r_++) {     \
            double t0_ = bench_now_seconds();           \
            body;                                       \
            double t_ = bench_now_seconds() - t0_;      \
            if (r_ > 0) {                               \
                times_[r_ - 1] = t_;                    \
            }                                           \
        }                                               \
        qsort(times_, (reps), sizeof(double), compare); \
        (result) = times_[(reps) / 2];                  \
    } while (0)

static void fail(const char *what) {
    fprintf(stderr, "bench_ckpt: %s\n", what);
    exit(1);
}

static row measure(size_t target_objects) {
    size_t leaves = (size_t)((double)target_objects / (2.0 + 1.0 / SHARING));
    size_t rules = leaves / SHARING > 0 ? leaves / SHARING : 1;
    firewall fw;
    if (firewall_build(&fw, leaves, rules) != 0) {
        fail("cannot build the firewall");
    }
    row out = {.objects = fw.nodes + fw.rules};
    unsigned reps = out.objects <= 10000     ? 41
                    : out.objects <= 100000  ? 15
                    : out.objects <= 1000000 ? 7
                                             : 3;

    keel_ckpt_schema schema;
    if (keel_ckpt_schema_init(&schema, &fw_node_ckpt_type) != KEEL_OK) {
        fail("schema");
    }
    size_t capacity = fw.nodes * 64 + fw.rules * 112 + 4096;
    unsigned char *buffer = map(capacity);
    keel_ckpt ckpt;
    keel_status status = KEEL_OK;
    TIME_MEDIAN(reps, out.seconds[0],
                status = keel_ckpt_take(&ckpt, &schema, fw.root, buffer, capacity, NULL));
    keel_ckpt_stats stats;
    keel_ckpt_get_stats(&ckpt, &stats);
    if (status != KEEL_OK || stats.objects != out.objects || stats.shared != fw.rules) {
        fail("the checkpoint is not what it should be");
    }
    out.bytes = stats.bytes;

    unsigned char *arena_region = map(stats.restore_bytes + 64);
    keel_arena arena;
    void *root = NULL;
    TIME_MEDIAN(reps, out.seconds[1], {
        keel_arena_init(&arena, arena_region, stats.restore_bytes + 64);
        status = keel_ckpt_restore_arena(&ckpt, &schema, &arena, NULL, &root);
    });
    if (status != KEEL_OK || ((fw_node *)root)->child[0]->prefix != fw.root->child[0]->prefix) {
        fail("arena restore");
    }
    munmap(arena_region, stats.restore_bytes + 64);

    size_t heap_bytes = fw.nodes * 48 + fw.rules * 112 + out.objects * 8 + (1 << 20);
    unsigned char *heap_region = map(heap_bytes);
    keel_heap *heap;
    if (keel_heap_init(&heap, heap_region, heap_bytes) != KEEL_OK) {
        fail("heap");
    }
    TIME_MEDIAN(reps, out.seconds[2], {
        keel_heap_reset(heap);
        status = keel_ckpt_restore_heap(&ckpt, &schema, heap, NULL, &root);
    });
    if (status != KEEL_OK) {
        fail("heap restore");
    }
    munmap(heap_region, heap_bytes);

    hash_copy a, b;
    size_t copy_bytes = fw.nodes * 32 + fw.rules * 64 + 4096;
    if (hash_copy_init(&a, out.objects, copy_bytes) != 0 ||
        hash_copy_init(&b, out.objects, copy_bytes) != 0) {
        fail("hash copy");
    }
    fw_node *copy = NULL, *back = NULL;
    TIME_MEDIAN(reps, out.seconds[3], copy = hash_copy_run(&a, fw.root));
    TIME_MEDIAN(reps, out.seconds[4], back = hash_copy_run(&b, copy));
    if (copy == NULL || back == NULL || back->child[1]->prefix != fw.root->child[1]->prefix) {
        fail("hash-set copy");
    }
    hash_copy_free(&a);
    hash_copy_free(&b);

    unsigned char *target = map(out.bytes);
    TIME_MEDIAN(reps, out.seconds[5], {
        memcpy(target, buffer, out.bytes);
        __asm__ volatile("" ::"r"(target) : "memory");
    });
    munmap(target, out.bytes);
    munmap(buffer, capacity);
    firewall_free(&fw);
    return out;
}

static void print_rows(const row *rows, size_t n) {
    printf("\nObject-graph checkpoints: the firewall trie, %d leaves per shared rule\n", SHARING);
    printf("%-10s %-22s %12s %14s %10s %12s\n", "objects", "operation", "time (ms)", "M objects/s",
           "GB/s", "vs hash-set");
    for (size_t i = 0; i < n; i++) {
        for (int op = 0; op < OPS; op++) {
            double s = rows[i].seconds[op];
            const char *versus = "";
            char ratio[32] = "";
            if (op <= 2) {
                snprintf(ratio, sizeof ratio, "%.1fx", rows[i].seconds[op == 0 ? 3 : 4] / s);
                versus = ratio;
            }
            printf("%-10zu %-22s %12.3f %14.1f %10.2f %12s\n", rows[i].objects, op_names[op],
                   s * 1e3, (double)rows[i].objects / s / 1e6, (double)rows[i].bytes / s / 1e9,
                   versus);
        }
    }
}

static int write_csv(const char *path, const row *rows, size_t n, const snapshot_results *snap) {
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    fprintf(f, "kind,objects,bytes,operation,seconds,objects_per_second,gb_per_second\n");
    for (size_t i = 0; i < n; i++) {
        for (int op = 0; op < OPS; op++) {
            double s = rows[i].seconds[op];
            fprintf(f, "graph,%zu,%zu,%s,%.9f,%.0f,%.3f\n", rows[i].objects, rows[i].bytes,
                    op_names[op], s, (double)rows[i].objects / s, (double)rows[i].bytes / s / 1e9);
        }
    }
    fprintf(f, "domain,,%zu,full snapshot,%.9f,,%.3f\n", snap->bytes_copied, snap->full_seconds,
            (double)snap->bytes_copied / snap->full_seconds / 1e9);
    fprintf(f, "domain,,%zu,memcpy (same bytes),%.9f,,%.3f\n", snap->bytes_copied,
            snap->memcpy_seconds, (double)snap->bytes_copied / snap->memcpy_seconds / 1e9);
    fprintf(f, "domain,,%zu,incremental snapshot,%.9f,,%.3f\n", snap->incremental_bytes,
            snap->incremental_seconds,
            (double)snap->incremental_bytes / snap->incremental_seconds / 1e9);
    fprintf(f, "domain,,,write tracking per interval,%.9f,,\n", snap->tracking_seconds);
    fclose(f);
    return 0;
}

static int write_png(const char *path, const row *rows, size_t n) {
    int status;
    FILE *g = bench_gnuplot_open(path, &status);
    if (g == NULL) {
        return status > 0 ? 0 : -1;
    }
    fprintf(g, "set terminal pngcairo size 1000,620\nset output '%s'\n", path);
    /* One data block per operation: (objects, million objects per second). */
    for (int op = 0; op < OPS; op++) {
        fprintf(g, "$op%d << EOD\n", op);
        for (size_t i = 0; i < n; i++) {
            fprintf(g, "%zu %.3f\n", rows[i].objects,
                    (double)rows[i].objects / rows[i].seconds[op] / 1e6);
        }
        fprintf(g, "EOD\n");
    }
    fprintf(g,
            "set logscale xy\nset grid\nset key outside right\n"
            "set xlabel 'objects in the graph'\n"
            "set ylabel 'million objects per second (higher is better)'\n"
            "set title 'Checkpointing the firewall rule trie: keel vs hash-set copy vs memcpy'\n");
    fprintf(g, "plot ");
    for (int op = 0; op < OPS; op++) {
        fprintf(g, "%s$op%d using 1:2 with linespoints lw 2 title '%s'", op == 0 ? "" : ", ", op,
                op_names[op]);
    }
    fprintf(g, "\n");
    return bench_gnuplot_close(g);
}

int main(int argc, char **argv) {
    bool quick = false, snapshots_only = false;
    const char *csv = "bench_ckpt.csv", *png = "bench_ckpt.png";
    enum { O_QUICK = 256, O_CSV, O_PNG, O_SNAPSHOTS };
    static const struct option longs[] = {{"quick", no_argument, NULL, O_QUICK},
                                          {"snapshots-only", no_argument, NULL, O_SNAPSHOTS},
                                          {"csv", required_argument, NULL, O_CSV},
                                          {"png", required_argument, NULL, O_PNG},
                                          {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (c) {
        case O_QUICK:
            quick = true;
            break;
        case O_SNAPSHOTS:
            snapshots_only = true;
            break;
        case O_CSV:
            csv = optarg;
            break;
        case O_PNG:
            png = optarg;
            break;
        default:
            fprintf(stderr,
                    "usage: bench_ckpt [--quick] [--snapshots-only] [--csv FILE] [--png FILE]\n");
            return 2;
        }
    }
    int cpus;
    bench_pin_cpu(-1, &cpus);
    static const size_t sizes[] = {1000, 10000, 100000, 1000000, 10000000};
    size_t n = snapshots_only ? 0 : quick ? 3 : sizeof sizes / sizeof sizes[0];
    row rows[sizeof sizes / sizeof sizes[0]];
    for (size_t i = 0; i < n; i++) {
        rows[i] = measure(sizes[i]);
        fprintf(stderr, "  %zu objects done\n", rows[i].objects);
    }
    print_rows(rows, n);

    snapshot_results snap;
    size_t heap = quick ? (size_t)32 << 20 : (size_t)256 << 20;
    if (snapshots_measure(heap, 0.02, quick ? 5 : 9, &snap) != 0) {
        fail("domain snapshots");
    }
    printf("\nWhole-domain snapshots: heap of %zu MiB, %zu MiB in use\n", snap.heap_reserved >> 20,
           snap.heap_in_use >> 20);
    printf("  full snapshot      %8.2f ms  %6.2f GB/s  (%zu bytes copied)\n",
           snap.full_seconds * 1e3, (double)snap.bytes_copied / snap.full_seconds / 1e9,
           snap.bytes_copied);
    printf("  memcpy, same bytes %8.2f ms  %6.2f GB/s  -> snapshot at %.0f%% of memcpy\n",
           snap.memcpy_seconds * 1e3, (double)snap.bytes_copied / snap.memcpy_seconds / 1e9,
           100.0 * snap.memcpy_seconds / snap.full_seconds);
    printf("  incremental        %8.2f ms  (%.1f%% of the pages in use written since the last)"
           "  -> %.1fx faster than full\n",
           snap.incremental_seconds * 1e3, 100.0 * snap.changed_fraction,
           snap.full_seconds / snap.incremental_seconds);
    printf("  write tracking     %8.2f ms per interval (first writes to %zu pages; the same writes"
           " untracked: %.2f ms)\n",
           snap.tracking_seconds * 1e3, snap.incremental_bytes / 4096,
           snap.untracked_write_seconds * 1e3);
    printf("  incremental + tracking vs full: %.1fx\n",
           snap.full_seconds / (snap.incremental_seconds + snap.tracking_seconds));
    if (write_csv(csv, rows, n, &snap) != 0 || write_png(png, rows, n) != 0) {
        return 1;
    }
    printf("\nCSV: %s\nPNG: %s\n", csv, png);
    return 0;
}
