/* Domain snapshot throughput and incremental snapshots (snapshots.h). */
#include "snapshots.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "cpu.h"
#include "keel/domain.h"

enum { BLOCK_MIN = 64, BLOCK_MAX = 4096, PAGE = 4096 };

typedef struct filler {
    size_t target; /* bytes to allocate at init */
    unsigned char **blocks;
    size_t *sizes;
    size_t count, capacity;
    keel_rref rref;
} filler;

typedef struct touch {
    uint64_t seed;
    size_t pages; /* pages to write, one byte each, at random */
} touch;

static keel_status m_touch(void *object, keel_call *call) {
    filler *f = object;
    touch *t = call->arg;
    uint64_t s = t->seed;
    for (size_t i = 0; i < t->pages; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        size_t b = (size_t)(s >> 33) % f->count;
        f->blocks[b][(s >> 13) % f->sizes[b]]++;
    }
    return KEEL_OK;
}

static keel_status m_snapshot(void *object, keel_call *call) {
    (void)object;
    (void)call;
    return keel_domain_snapshot(keel_domain_current());
}

static const keel_method methods[] = {m_touch, m_snapshot};
static const keel_interface interface = {"filler", 2, methods};

/* Fills the heap with random-sized blocks up to `target` bytes. */
static keel_status fill(keel_domain *d, void *context) {
    filler *f = context;
    uint64_t s = 7;
    size_t used = 0;
    while (used < f->target && f->count < f->capacity) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        size_t size = BLOCK_MIN + (size_t)(s >> 33) % (BLOCK_MAX - BLOCK_MIN);
        void *p;
        if (keel_domain_alloc(size, &p) != KEEL_OK) {
            break;
        }
        memset(p, (int)(s >> 50), size);
        f->blocks[f->count] = p;
        f->sizes[f->count++] = size;
        used += size;
    }
    return keel_domain_export(d, f, &interface, &f->rref);
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, unsigned n) {
    qsort(v, n, sizeof *v, compare);
    return v[n / 2];
}

static keel_domain *make(filler *f, size_t heap_bytes) {
    keel_domain_config config = {.name = "snap",
                                 .heap_size = heap_bytes,
                                 .table_capacity = 4,
                                 .init = fill,
                                 .context = f,
                                 .policy = KEEL_RECOVER_ROLLBACK};
    keel_domain *d = NULL;
    return keel_domain_create(&config, &d) == KEEL_OK ? d : NULL;
}

int snapshots_measure(size_t heap_bytes, double changed_fraction, unsigned reps,
                      snapshot_results *out) {
    memset(out, 0, sizeof *out);
    static bool system;
    if (!system) {
        if (keel_domain_system_init(1 << 20, 64) != KEEL_OK) {
            return -1;
        }
        system = true;
    }
    filler f = {.target = heap_bytes / 2, .capacity = heap_bytes / BLOCK_MIN};
    f.blocks = malloc(f.capacity * sizeof *f.blocks);
    f.sizes = malloc(f.capacity * sizeof *f.sizes);
    double *times = malloc((reps + 1) * sizeof *times);
    unsigned char *copy =
        mmap(NULL, heap_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (f.blocks == NULL || f.sizes == NULL || times == NULL || copy == MAP_FAILED) {
        return -1;
    }

    /* 1. Full snapshots (warm: the store's pages are mapped by the first). */
    keel_domain *d = make(&f, heap_bytes);
    if (d == NULL || keel_domain_snapshot_enable(d, false) != KEEL_OK ||
        keel_domain_snapshot(d) != KEEL_OK) {
        return -1;
    }
    for (unsigned i = 0; i < reps; i++) {
        double t0 = bench_now_seconds();
        keel_domain_snapshot(d);
        times[i] = bench_now_seconds() - t0;
    }
    out->full_seconds = median(times, reps);
    keel_domain_snapshot_stats stats;
    keel_domain_snapshot_get_stats(d, &stats);
    out->heap_reserved = heap_bytes;
    out->heap_in_use = stats.heap_in_use;
    out->bytes_copied = stats.last_bytes;
    /* memcpy of as many bytes, from the heap, warm. */
    const unsigned char *heap = (const unsigned char *)keel_domain_heap(d)->heap;
    memcpy(copy, heap, stats.last_bytes);
    for (unsigned i = 0; i < reps; i++) {
        double t0 = bench_now_seconds();
        memcpy(copy, heap, stats.last_bytes);
        __asm__ volatile("" ::"r"(copy) : "memory");
        times[i] = bench_now_seconds() - t0;
    }
    out->memcpy_seconds = median(times, reps);
    keel_domain_destroy(d);

    /* 2. The same domain with incremental snapshots: each interval writes a
     * few percent of the heap's pages, then snapshots. */
    f.count = 0;
    d = make(&f, heap_bytes);
    if (d == NULL || keel_domain_snapshot_enable(d, true) != KEEL_OK ||
        keel_domain_snapshot(d) != KEEL_OK) {
        return -1;
    }
    touch t = {.seed = 11, .pages = (size_t)(changed_fraction * (double)(f.target / PAGE))};
    double *tracked = malloc(reps * sizeof *tracked);
    for (unsigned i = 0; i < reps; i++) {
        t.seed += 1;
        double t0 = bench_now_seconds();
        keel_rref_call(f.rref, 0, &t, NULL);
        double t1 = bench_now_seconds();
        keel_rref_call(f.rref, 1, NULL, NULL);
        times[i] = bench_now_seconds() - t1;
        tracked[i] = t1 - t0;
    }
    out->incremental_seconds = median(times, reps);
    double tracked_writes = median(tracked, reps);
    keel_domain_snapshot_get_stats(d, &stats);
    out->incremental_bytes = stats.last_bytes;
    out->changed_fraction = (double)stats.last_bytes / (double)out->heap_in_use;
    keel_domain_destroy(d);
    /* The same writes on a domain without tracking. */
    f.count = 0;
    d = make(&f, heap_bytes);
    for (unsigned i = 0; i < reps; i++) {
        t.seed += 1;
        double t0 = bench_now_seconds();
        keel_rref_call(f.rref, 0, &t, NULL);
        tracked[i] = bench_now_seconds() - t0;
    }
    out->untracked_write_seconds = median(tracked, reps);
    out->tracking_seconds = tracked_writes - out->untracked_write_seconds;
    keel_domain_destroy(d);
    free(tracked);
    free(times);
    free(f.blocks);
    free(f.sizes);
    munmap(copy, heap_bytes);
    return 0;
}
