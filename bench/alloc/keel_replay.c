/*
 * keel_replay.c - the builds of keel's memory module and their untimed replay
 * (keel_replay.h).
 */
#include "keel_replay.h"

#include <dlfcn.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench_alloc_config.h"
#include "instr_count.h"

static const char *const symbols[KEEL_FN_COUNT] = {"keel_heap_alloc", "keel_heap_free",
                                                   "keel_pool_alloc", "keel_pool_free"};

const char *keel_fn_symbol(unsigned fn) {
    return fn < KEEL_FN_COUNT ? symbols[fn] : "?";
}

const void *keel_fn_entry(const keel_build *b, unsigned fn) {
    switch (fn) {
    case KEEL_FN_HEAP_ALLOC:
        return (const void *)b->heap_alloc;
    case KEEL_FN_HEAP_FREE:
        return (const void *)b->heap_free;
    case KEEL_FN_POOL_ALLOC:
        return (const void *)b->pool_alloc;
    case KEEL_FN_POOL_FREE:
        return (const void *)b->pool_free;
    default:
        return NULL;
    }
}

void keel_build_linked(keel_build *b) {
    static char object[4096];
    ssize_t n = readlink("/proc/self/exe", object, sizeof object - 1);
    object[n > 0 ? n : 0] = '\0';
    *b = (keel_build){.name = "libkeel",
                      .object = object,
                      .flags = BENCH_COMPILER ": " BENCH_LIBKEEL_FLAGS,
                      .heap_init = keel_heap_init,
                      .heap_alloc = keel_heap_alloc,
                      .heap_free = keel_heap_free,
                      .heap_check = keel_heap_check,
                      .pool_init = keel_pool_init,
                      .pool_alloc = keel_pool_alloc,
                      .pool_free = keel_pool_free};
}

/* The module next to the executable (the build tree may have moved), else
 * where CMake put it. */
static void *open_module(char *path, size_t size) {
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        snprintf(path, size, "%s/%s", dirname(exe), BENCH_O2_MODULE_NAME);
        void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (h != NULL) {
            return h;
        }
    }
    snprintf(path, size, "%s", BENCH_O2_MODULE_PATH);
    return dlopen(path, RTLD_NOW | RTLD_LOCAL);
}

int keel_build_o2(keel_build *b, char *err, size_t errlen) {
    static char object[4096];
    memset(b, 0, sizeof *b);
    void *h = open_module(object, sizeof object);
    if (h == NULL) {
        const char *why = dlerror();
        snprintf(err, errlen, "cannot load %s: %s", BENCH_O2_MODULE_NAME, why != NULL ? why : "?");
        return -1;
    }
    *b = (keel_build){
        .name = "-O2",
        .object = object,
        .flags = BENCH_COMPILER ": " BENCH_O2_FLAGS,
        .heap_init = (keel_status(*)(keel_heap **, void *, size_t))dlsym(h, "keel_heap_init"),
        .heap_alloc = (keel_status(*)(keel_heap *, size_t, void **))dlsym(h, "keel_heap_alloc"),
        .heap_free = (void (*)(keel_heap *, void *))dlsym(h, "keel_heap_free"),
        .heap_check =
            (keel_status(*)(const keel_heap *, keel_heap_fault *))dlsym(h, "keel_heap_check"),
        .pool_init =
            (keel_status(*)(keel_pool *, void *, size_t, size_t))dlsym(h, "keel_pool_init"),
        .pool_alloc = (keel_status(*)(keel_pool *, void **))dlsym(h, "keel_pool_alloc"),
        .pool_free = (keel_status(*)(keel_pool *, void *))dlsym(h, "keel_pool_free"),
        .module = h};
    if (b->heap_init == NULL || b->heap_alloc == NULL || b->heap_free == NULL ||
        b->heap_check == NULL || b->pool_init == NULL || b->pool_alloc == NULL ||
        b->pool_free == NULL) {
        snprintf(err, errlen, "%s lacks a keel_heap_* or keel_pool_* symbol", object);
        dlclose(h);
        memset(b, 0, sizeof *b);
        return -1;
    }
    return 0;
}

static void *map_region(size_t size) {
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static int replay_heap(const keel_build *b, const bench_trace *t, void *region, void **slots) {
    keel_heap *heap;
    if (b->heap_init(&heap, region, KEEL_REPLAY_REGION_SIZE) != KEEL_OK) {
        fprintf(stderr, "keel replay (%s): keel_heap_init failed\n", b->name);
        return -1;
    }
    uint64_t failures = 0;
    for (size_t i = 0; i < t->count; i++) {
        bench_op op = t->ops[i];
        if (op.size != 0) {
            void *p;
            if (b->heap_alloc(heap, op.size, &p) != KEEL_OK) {
                failures++;
                p = NULL;
            } else {
                *(uint64_t *)p = i;
            }
            slots[op.slot] = p;
        } else if (slots[op.slot] != NULL) {
            b->heap_free(heap, slots[op.slot]);
        }
    }
    keel_heap_fault fault = {0};
    if (b->heap_check(heap, &fault) != KEEL_OK) {
        fprintf(stderr, "keel replay (%s), trace %s: heap check failed: %s (at %p)\n", b->name,
                t->name, fault.invariant != NULL ? fault.invariant : "?", fault.address);
        return -1;
    }
    if (failures > 0) {
        fprintf(stderr, "keel replay (%s), trace %s: %llu allocations refused\n", b->name, t->name,
                (unsigned long long)failures);
        return -1;
    }
    return 0;
}

static int replay_pools(const keel_build *b, const bench_trace *t, void *const regions[],
                        const size_t sizes[], void **slots) {
    keel_pool pools[BENCH_POOL_CLASSES];
    for (unsigned c = 0; c < BENCH_POOL_CLASSES; c++) {
        if (b->pool_init(&pools[c], regions[c], sizes[c], bench_pool_class_size(c)) != KEEL_OK) {
            fprintf(stderr, "keel replay (%s): keel_pool_init failed\n", b->name);
            return -1;
        }
    }
    uint64_t failures = 0;
    for (size_t i = 0; i < t->count; i++) {
        bench_op op = t->ops[i];
        keel_pool *pool = &pools[t->pool_class[i]];
        if (op.size != 0) {
            void *p;
            if (b->pool_alloc(pool, &p) != KEEL_OK) {
                failures++;
                p = NULL;
            } else {
                *(uint64_t *)p = i;
            }
            slots[op.slot] = p;
        } else if (slots[op.slot] != NULL && b->pool_free(pool, slots[op.slot]) != KEEL_OK) {
            failures++;
        }
    }
    if (failures > 0) {
        fprintf(stderr, "keel replay (%s), trace %s: %llu pool operations refused\n", b->name,
                t->name, (unsigned long long)failures);
        return -1;
    }
    return 0;
}

int keel_replay_run(const keel_replay_job *job) {
    int result = -1;
    void *heap_region = map_region(KEEL_REPLAY_REGION_SIZE);
    void *pool_region[BENCH_POOL_CLASSES] = {NULL};
    size_t pool_size[BENCH_POOL_CLASSES] = {0};
    uint32_t slots_needed = 1;
    for (unsigned c = 0; c < BENCH_POOL_CLASSES; c++) {
        uint32_t blocks = 1;
        for (size_t i = 0; i < job->trace_count; i++) {
            if (job->traces[i].class_peak[c] > blocks) {
                blocks = job->traces[i].class_peak[c];
            }
        }
        pool_size[c] = KEEL_POOL_REGION_SIZE(bench_pool_class_size(c), blocks);
        pool_region[c] = map_region(pool_size[c]);
        if (pool_region[c] == NULL) {
            goto out;
        }
    }
    for (size_t i = 0; i < job->trace_count; i++) {
        if (job->traces[i].slots > slots_needed) {
            slots_needed = job->traces[i].slots;
        }
    }
    void **slots = calloc(slots_needed, sizeof *slots);
    if (heap_region == NULL || slots == NULL) {
        fprintf(stderr, "keel replay: out of memory\n");
        free(slots);
        goto out;
    }
    result = 0;
    for (size_t i = 0; i < job->trace_count && result == 0; i++) {
        instr_mark((unsigned)i);
        const bench_trace *t = &job->traces[i];
        result = replay_heap(job->build, t, heap_region, slots);
        if (result == 0) {
            result = replay_pools(job->build, t, pool_region, pool_size, slots);
        }
    }
    free(slots);
out:
    if (heap_region != NULL) {
        munmap(heap_region, KEEL_REPLAY_REGION_SIZE);
    }
    for (unsigned c = 0; c < BENCH_POOL_CLASSES; c++) {
        if (pool_region[c] != NULL) {
            munmap(pool_region[c], pool_size[c]);
        }
    }
    return result;
}

void keel_replay_body(void *arg) {
    if (keel_replay_run(arg) != 0) {
        _exit(3);
    }
}
