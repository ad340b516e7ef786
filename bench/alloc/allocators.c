/*
 * allocators.c - setting up the five allocators of allocators.h in one process.
 *
 * Why dlopen, and which entry points (checked on Debian 12, jemalloc 5.3.0,
 * mimalloc 2.0.9):
 *  - Debian's libjemalloc.so.2 is built without a symbol prefix: it exports
 *    malloc, free, ... and the non-standard mallocx/dallocx/sdallocx; there are
 *    no je_malloc/je_free. libmimalloc.so.2 exports malloc/free as aliases of
 *    mi_malloc/mi_free. Linking either would interpose malloc for the whole
 *    process. dlopen(RTLD_LOCAL) keeps their symbols out of the global scope:
 *    the program's (and libc's) malloc still binds to glibc, which is checked
 *    below with dladdr() rather than assumed.
 *  - dlsym(handle, "malloc") searches the library itself first, so it returns
 *    jemalloc's own malloc/free: the entry points a program linked with
 *    jemalloc would call (its free() has a faster path than dallocx()). That is
 *    verified (the symbols must lie in the same object as mallocx); if it ever
 *    fails, mallocx(size, 0)/dallocx(p, 0) are used instead.
 *  - jemalloc's TLS uses the initial-exec model and needs ~2.6 KB of static TLS;
 *    glibc keeps only 512 bytes spare for dlopen'ed libraries, so dlopen fails
 *    with "cannot allocate memory in static TLS block". The fix that needs no
 *    LD_PRELOAD (which would replace malloc again) is the glibc tunable
 *    glibc.rtld.optional_static_tls, read at startup: the program re-executes
 *    itself once with it set.
 */
#include "allocators.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define JEMALLOC_SONAME    "libjemalloc.so.2"
#define MIMALLOC_SONAME    "libmimalloc.so.2"
#define STATIC_TLS_TUNABLE "glibc.rtld.optional_static_tls"

static void *preloaded_jemalloc;
static char preload_error[192];

static const char *const names[ALLOC_COUNT] = {"keel heap", "keel pool", "glibc", "jemalloc",
                                               "mimalloc"};

const char *bench_alloc_name(bench_alloc_id id) {
    return id < ALLOC_COUNT ? names[id] : "?";
}

void bench_allocators_preload(char **argv) {
    preloaded_jemalloc = dlopen(JEMALLOC_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (preloaded_jemalloc != NULL) {
        return;
    }
    const char *error = dlerror();
    snprintf(preload_error, sizeof preload_error, "%s", error != NULL ? error : "dlopen failed");
    const char *tunables = getenv("GLIBC_TUNABLES");
    if (strstr(preload_error, "static TLS") == NULL ||
        (tunables != NULL && strstr(tunables, STATIC_TLS_TUNABLE) != NULL)) {
        return; /* not the TLS problem, or the re-exec did not help */
    }
    char value[1024];
    int n = snprintf(value, sizeof value, "%s%s" STATIC_TLS_TUNABLE "=65536",
                     tunables != NULL ? tunables : "", tunables != NULL ? ":" : "");
    if (n < 0 || (size_t)n >= sizeof value || setenv("GLIBC_TUNABLES", value, 1) != 0) {
        return;
    }
    execv("/proc/self/exe", argv);
    snprintf(preload_error, sizeof preload_error, "re-exec with %s failed", STATIC_TLS_TUNABLE);
}

/* The object (shared library or executable) that contains address p. */
static const char *object_of(const void *p, void **base) {
    Dl_info info;
    if (p == NULL || dladdr(p, &info) == 0 || info.dli_fname == NULL) {
        *base = NULL;
        return "?";
    }
    *base = info.dli_fbase;
    return info.dli_fname;
}

/* glibc: malloc must be libc's, and must not have been interposed since. */
static void check_glibc(bench_allocators *a) {
    void *base;
    const char *where = object_of((void *)malloc, &base);
    void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
    void *libc_malloc = libc != NULL ? dlsym(libc, "malloc") : NULL;
    void *global_malloc = dlsym(RTLD_DEFAULT, "malloc");
    if (libc_malloc != NULL && libc_malloc == (void *)malloc && global_malloc == libc_malloc) {
        snprintf(a->detail[ALLOC_GLIBC], sizeof a->detail[ALLOC_GLIBC],
                 "malloc/free of %s (verified: the global malloc is libc's)", where);
    } else {
        snprintf(a->detail[ALLOC_GLIBC], sizeof a->detail[ALLOC_GLIBC],
                 "WARNING: malloc resolves to %s, not to libc.so.6 (interposed, e.g. by a "
                 "sanitizer or LD_PRELOAD): this column does not measure glibc",
                 where);
    }
    if (libc != NULL) {
        dlclose(libc);
    }
    a->available[ALLOC_GLIBC] = true;
}

/* mallocx/dallocx with flags 0, if jemalloc's malloc/free cannot be verified. */
static void *(*je_mallocx)(size_t, int);
static void (*je_dallocx)(void *, int);
static void *je_mallocx_wrapper(size_t size) {
    return je_mallocx(size, 0);
}
static void je_dallocx_wrapper(void *p) {
    je_dallocx(p, 0);
}

static void open_jemalloc(bench_allocators *a) {
    char *detail = a->detail[ALLOC_JEMALLOC];
    size_t room = sizeof a->detail[ALLOC_JEMALLOC];
    void *h = preloaded_jemalloc;
    if (h == NULL) {
        snprintf(detail, room, "not available: %s", preload_error);
        return;
    }
    void *m = dlsym(h, "malloc"), *f = dlsym(h, "free"), *mx = dlsym(h, "mallocx");
    je_mallocx = (void *(*)(size_t, int))mx;
    je_dallocx = (void (*)(void *, int))dlsym(h, "dallocx");
    void *base_m, *base_f, *base_mx, *base_libc;
    const char *where = object_of(mx, &base_mx);
    object_of(m, &base_m);
    object_of(f, &base_f);
    object_of((void *)malloc, &base_libc);
    const char *entry;
    if (m != NULL && f != NULL && mx != NULL && base_m == base_mx && base_f == base_mx &&
        base_mx != base_libc) {
        a->je_malloc = (void *(*)(size_t))m;
        a->je_free = (void (*)(void *))f;
        entry = "its malloc/free";
    } else if (je_mallocx != NULL && je_dallocx != NULL) {
        a->je_malloc = je_mallocx_wrapper;
        a->je_free = je_dallocx_wrapper;
        entry = "mallocx/dallocx (flags 0)";
    } else {
        snprintf(detail, room, "not available: no malloc/free or mallocx/dallocx in %s", where);
        return;
    }
    const char *version = "?";
    size_t length = sizeof version;
    int (*mallctl)(const char *, void *, size_t *, void *, size_t) =
        (int (*)(const char *, void *, size_t *, void *, size_t))dlsym(h, "mallctl");
    if (mallctl != NULL && mallctl("version", (void *)&version, &length, NULL, 0) != 0) {
        version = "?";
    }
    const char *tunables = getenv("GLIBC_TUNABLES");
    snprintf(detail, room, "%s %.24s, dlopen(RTLD_LOCAL), %s%s", where, version, entry,
             tunables != NULL && strstr(tunables, STATIC_TLS_TUNABLE) != NULL
                 ? " (re-executed with " STATIC_TLS_TUNABLE ")"
                 : "");
    a->je_handle = h;
    preloaded_jemalloc = NULL;
    a->available[ALLOC_JEMALLOC] = true;
}

static void open_mimalloc(bench_allocators *a) {
    char *detail = a->detail[ALLOC_MIMALLOC];
    size_t room = sizeof a->detail[ALLOC_MIMALLOC];
    void *h = dlopen(MIMALLOC_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        const char *error = dlerror();
        snprintf(detail, room, "not available: %s", error != NULL ? error : "dlopen failed");
        return;
    }
    void *m = dlsym(h, "mi_malloc"), *f = dlsym(h, "mi_free");
    int (*mi_version)(void) = (int (*)(void))dlsym(h, "mi_version");
    if (m == NULL || f == NULL) {
        snprintf(detail, room, "not available: no mi_malloc/mi_free in " MIMALLOC_SONAME);
        dlclose(h);
        return;
    }
    void *base;
    const char *where = object_of(m, &base);
    int version = mi_version != NULL ? mi_version() : 0;
    snprintf(detail, room, "%s %d.%d.%d, dlopen(RTLD_LOCAL), mi_malloc/mi_free", where,
             version / 100, version / 10 % 10, version % 10);
    a->mi_malloc = (void *(*)(size_t))m;
    a->mi_free = (void (*)(void *))f;
    a->mi_handle = h;
    a->available[ALLOC_MIMALLOC] = true;
}

static void *map_region(size_t size) {
    void *p =
        mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

int bench_allocators_open(bench_allocators *a, size_t heap_region_size,
                          const uint32_t pool_capacity[BENCH_POOL_CLASSES]) {
    memset(a, 0, sizeof *a);
    a->heap_region_size = heap_region_size;
    a->heap_region = map_region(heap_region_size);
    if (a->heap_region == NULL ||
        keel_heap_init(&a->heap, a->heap_region, heap_region_size) != KEEL_OK) {
        goto err;
    }
    keel_heap_stats stats;
    keel_heap_get_stats(a->heap, &stats);
    snprintf(a->detail[ALLOC_KEEL_HEAP], sizeof a->detail[ALLOC_KEEL_HEAP],
             "libkeel (linked), keel_heap_alloc/keel_heap_free, %zu MiB region (%zu B arena)",
             heap_region_size >> 20, stats.capacity);
    a->available[ALLOC_KEEL_HEAP] = true;

    size_t pool_bytes = 0;
    for (unsigned c = 0; c < BENCH_POOL_CLASSES; c++) {
        uint32_t blocks = pool_capacity[c] > 0 ? pool_capacity[c] : 1;
        a->pool_region_size[c] = KEEL_POOL_REGION_SIZE(bench_pool_class_size(c), blocks);
        a->pool_region[c] = map_region(a->pool_region_size[c]);
        if (a->pool_region[c] == NULL ||
            keel_pool_init(&a->pool[c], a->pool_region[c], a->pool_region_size[c],
                           bench_pool_class_size(c)) != KEEL_OK) {
            goto err;
        }
        pool_bytes += a->pool_region_size[c];
    }
    snprintf(a->detail[ALLOC_KEEL_POOL], sizeof a->detail[ALLOC_KEEL_POOL],
             "libkeel (linked), keel_pool_alloc/keel_pool_free, 9 pools 16 B..4 KiB "
             "(next power of two), %zu KiB in all",
             pool_bytes >> 10);
    a->available[ALLOC_KEEL_POOL] = true;

    check_glibc(a);
    open_jemalloc(a);
    open_mimalloc(a);
    return 0;
err:
    bench_allocators_close(a);
    return -1;
}

void bench_allocators_close(bench_allocators *a) {
    if (a->heap_region != NULL) {
        munmap(a->heap_region, a->heap_region_size);
    }
    for (unsigned c = 0; c < BENCH_POOL_CLASSES; c++) {
        if (a->pool_region[c] != NULL) {
            munmap(a->pool_region[c], a->pool_region_size[c]);
        }
    }
    /* jemalloc and mimalloc stay loaded: unloading an allocator is asking for
     * trouble (its destructors, its TLS), and the process ends soon after. */
    memset(a, 0, sizeof *a);
}
