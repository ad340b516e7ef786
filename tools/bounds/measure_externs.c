/*
 * measure_externs.c - the cost of the C library functions libkeel's O(1)
 * operations call, measured on this machine, for the `extern` annotations of
 * tools/bounds/ops.txt (keel-wcet does not analyse libc's code: its mutexes
 * have retry loops with no static bound, see docs/bounds.md).
 *
 * Instructions: every call is counted exactly by ptrace (bench/alloc's
 * instr_count, single-stepping, so the vDSO's clock_gettime is counted too),
 * in the situations libkeel calls them in: an uncontended mutex, default and
 * priority-inheritance (keel_heap_locked and the executive's gate); sem_post
 * with and without a waiter; a condition variable broadcast with no waiter.
 * Each target's worst call is printed plus 2 for the PLT stub the call goes
 * through (endbr64 and jmp in .plt.sec), which an `extern` fact must include.
 *
 * Stack: each function runs on a thread whose stack was filled with a pattern;
 * the deepest byte changed, against the same call of an empty function, gives
 * the bytes it uses below the caller's stack pointer, return address included.
 *
 * Usage: measure_externs [--check OPS_FILE]
 *   prints `extern NAME cost N stack B` for each; with --check, exits 1 if an
 *   `extern` annotation of OPS_FILE states less than was measured.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "instr_count.h"

#define PLT_STUB   2u
#define STACK_SIZE (256u * 1024u)

/* ---- what is measured ---- */

static pthread_mutex_t plain_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t pi_mutex;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static sem_t sem;
static unsigned char *page;
static long page_size;

static void init_objects(void) {
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setprotocol(&attr, PTHREAD_PRIO_INHERIT);
    pthread_mutex_init(&pi_mutex, &attr);
    pthread_mutexattr_destroy(&attr);
    sem_init(&sem, 0, 0);
    page_size = sysconf(_SC_PAGESIZE);
    page = mmap(NULL, (size_t)page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
}

typedef struct target {
    const char *name;
    void *entry;
} target;

static target targets[] = {
    {"pthread_mutex_lock", (void *)pthread_mutex_lock},
    {"pthread_mutex_unlock", (void *)pthread_mutex_unlock},
    {"sem_post", (void *)sem_post},
    {"clock_gettime", (void *)clock_gettime},
    {"mprotect", (void *)mprotect},
    {"pthread_self", (void *)pthread_self},
    {"pthread_setschedprio", (void *)pthread_setschedprio},
    {"pthread_cond_broadcast", (void *)pthread_cond_broadcast},
};
#define TARGET_COUNT (sizeof targets / sizeof targets[0])

static void *waiter(void *arg) {
    (void)arg;
    sem_wait(&sem);
    return NULL;
}

/* One round of every call, in the situations libkeel meets them. */
static void exercise(void) {
    struct timespec ts;
    for (int i = 0; i < 4; i++) {
        pthread_mutex_lock(&plain_mutex);
        pthread_mutex_unlock(&plain_mutex);
        pthread_mutex_lock(&pi_mutex);
        pthread_mutex_unlock(&pi_mutex);
        sem_post(&sem); /* no waiter */
        clock_gettime(CLOCK_MONOTONIC, &ts);
        mprotect(page, (size_t)page_size, PROT_READ);
        mprotect(page, (size_t)page_size, PROT_READ | PROT_WRITE);
        (void)pthread_self();
        /* without SCHED_FIFO this fails (EINVAL/EPERM): both paths are counted */
        (void)pthread_setschedprio(pthread_self(), 1);
        pthread_cond_broadcast(&cond);
    }
    while (sem_trywait(&sem) == 0) {
    }
}

static void body(void *arg) {
    (void)arg;
    exercise();
    /* sem_post with a waiter: the waiter thread is not traced and calls no target */
    pthread_t th;
    if (pthread_create(&th, NULL, waiter, NULL) == 0) {
        usleep(20000);
        sem_post(&sem);
        pthread_join(th, NULL);
    }
}

/* ---- stack ---- */

static int stack_which;

static __attribute__((noinline)) void call_nothing(void) {
    __asm__ volatile("" ::: "memory");
}

static void *stack_thread(void *arg) {
    (void)arg;
    struct timespec ts;
    switch (stack_which) {
    case -1: call_nothing(); break;
    case 0: pthread_mutex_lock(&pi_mutex); pthread_mutex_unlock(&pi_mutex);
            pthread_mutex_lock(&plain_mutex); break;
    case 1: pthread_mutex_unlock(&plain_mutex); pthread_mutex_lock(&pi_mutex);
            pthread_mutex_unlock(&pi_mutex); break;
    case 2: sem_post(&sem); break;
    case 3: clock_gettime(CLOCK_MONOTONIC, &ts); break;
    case 4: mprotect(page, (size_t)page_size, PROT_READ | PROT_WRITE); break;
    case 5: (void)pthread_self(); break;
    case 6: (void)pthread_setschedprio(pthread_self(), 1); break;
    case 7: pthread_cond_broadcast(&cond); break;
    default: break;
    }
    return NULL;
}

/* The lowest byte written on a painted thread stack, as a depth from its top. */
static size_t stack_depth(int which) {
    unsigned char *stack = aligned_alloc(4096, STACK_SIZE);
    if (stack == NULL) {
        exit(2);
    }
    memset(stack, 0xa5, STACK_SIZE);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstack(&attr, stack, STACK_SIZE);
    stack_which = which;
    pthread_t th;
    if (pthread_create(&th, &attr, stack_thread, NULL) != 0) {
        exit(2);
    }
    pthread_join(th, NULL);
    pthread_attr_destroy(&attr);
    size_t low = 0;
    while (low < STACK_SIZE && stack[low] == 0xa5) {
        low++;
    }
    free(stack);
    return STACK_SIZE - low;
}

int main(int argc, char **argv) {
    const char *check = NULL;
    if (argc == 3 && strcmp(argv[1], "--check") == 0) {
        check = argv[2];
    } else if (argc != 1) {
        fprintf(stderr, "usage: measure_externs [--check OPS_FILE]\n");
        return 2;
    }
    init_objects();
    instr_result r;
    instr_target t[TARGET_COUNT];
    for (size_t k = 0; k < TARGET_COUNT; k++) {
        t[k] = (instr_target){.symbol = targets[k].name, .entry = targets[k].entry};
    }
    instr_options io = {.single_step = true, .sequence_cap = 0, .cpu = -1};
    char err[512];
    if (instr_count(t, TARGET_COUNT, body, NULL, &io, &r, err, sizeof err) != 0) {
        fprintf(stderr, "measure_externs: %s\n", err);
        instr_result_release(&r);
        return 2;
    }
    exercise(); /* resolve every PLT slot first: lazy binding is not what is measured */
    size_t base = stack_depth(-1);
    uint64_t cost[TARGET_COUNT], stack[TARGET_COUNT];
    for (size_t k = 0; k < TARGET_COUNT; k++) {
        uint64_t worst = 0;
        for (unsigned p = 0; p < INSTR_PHASES_MAX; p++) {
            if (r.worst[p][k].instructions > worst) {
                worst = r.worst[p][k].instructions;
            }
        }
        cost[k] = worst + PLT_STUB;
        size_t d = stack_depth((int)k);
        /* the empty function's frame is its return address: 8 bytes */
        stack[k] = d > base ? d - base + 8 : 8;
        printf("extern %-24s cost %4llu stack %5llu   # measured: worst of the calls %llu + %u (PLT)\n",
               targets[k].name, (unsigned long long)cost[k], (unsigned long long)stack[k],
               (unsigned long long)worst, PLT_STUB);
    }
    instr_result_release(&r);
    if (check == NULL) {
        return 0;
    }
    /* Every `extern` annotation of the ops file must state at least the measurement. */
    FILE *f = fopen(check, "r");
    if (f == NULL) {
        perror(check);
        return 2;
    }
    char line[1024];
    int bad = 0, seen = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        char name[128];
        unsigned long long c, s;
        if (sscanf(line, "extern %127s cost %llu stack %llu", name, &c, &s) != 3) {
            continue;
        }
        for (size_t k = 0; k < TARGET_COUNT; k++) {
            if (strcmp(name, targets[k].name) != 0) {
                continue;
            }
            seen++;
            if (c < cost[k] || s < stack[k]) {
                printf("FAIL %s: annotated cost %llu stack %llu, measured %llu and %llu\n", name, c, s,
                       (unsigned long long)cost[k], (unsigned long long)stack[k]);
                bad++;
            }
        }
    }
    fclose(f);
    printf("%d extern annotations checked against the measurement, %d below it\n", seen, bad);
    return bad == 0 && seen > 0 ? 0 : 1;
}
