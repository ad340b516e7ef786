/*
 * measure_externs.c - the cost of the C library functions libkeel's operations
 * call, measured on this machine, for the `extern` annotations of
 * tools/bounds/ops.txt (keel-wcet does not analyse libc's code: its mutexes
 * have retry loops with no static bound, see docs/bounds.md).
 *
 * Instructions: every call is counted exactly by ptrace (bench/alloc's
 * instr_count, single-stepping, so the vDSO's clock_gettime is counted too,
 * and a rep-prefixed string instruction once per iteration, as keel-wcet
 * counts it), in the situations libkeel calls them in:
 *   - an uncontended mutex, default and priority-inheritance (keel_heap_locked
 *     and the executive's gate); creating and destroying one as domain
 *     recovery does (pthread_mutex_destroy of an unlocked and of a locked
 *     mutex, since a failed thread may have left the heap's lock held);
 *   - sem_post with and without a waiter; sem_wait that takes a count at once
 *     and one that blocks until another thread posts (the executive's park);
 *   - clock_nanosleep to an absolute instant already past and to one ahead
 *     (the executive's throttle); timer_settime arming and disarming;
 *   - a condition variable broadcast with no waiter; getrusage(RUSAGE_THREAD);
 *   - syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED), as a free or
 *     a move of a box another thread lends by the plain path makes it
 *     (presence.c), alone and with another thread.
 * instr_count traces at most INSTR_TARGETS_MAX functions per run, so the
 * targets are measured in groups, one traced run each. Each target's worst
 * call is printed plus 2 for the PLT stub the call goes through (endbr64 and
 * jmp in .plt.sec), which an `extern` fact must include.
 *
 * Stack: each function runs on a thread whose stack was filled with a pattern;
 * the deepest byte changed, against the same call of an empty function, gives
 * the bytes it uses below the caller's stack pointer, return address included.
 *
 * Usage: measure_externs [--check OPS_FILE]
 *   prints `extern NAME cost N stack B` for each; with --check, exits 1 if an
 *   `extern` annotation of OPS_FILE states less than was measured, or names a
 *   function not measured here.
 */
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <linux/membarrier.h>
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
static int idle_pipe[2];
static unsigned char *page;
static long page_size;
static timer_t timer;

static void init_objects(void) {
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setprotocol(&attr, PTHREAD_PRIO_INHERIT);
    pthread_mutex_init(&pi_mutex, &attr);
    pthread_mutexattr_destroy(&attr);
    sem_init(&sem, 0, 0);
    /* As keel_presence_init_ does; where membarrier is missing the call fails
     * at once, which is measured then (and libkeel makes none). */
    (void)syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0);
    page_size = sysconf(_SC_PAGESIZE);
    page = mmap(NULL, (size_t)page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_NONE;
    if (pipe(idle_pipe) != 0 || page == MAP_FAILED || timer_create(CLOCK_MONOTONIC, &sev, &timer) != 0) {
        perror("measure_externs: setup");
        exit(2);
    }
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct timespec at_ns(uint64_t ns) {
    return (struct timespec){.tv_sec = (time_t)(ns / 1000000000u), .tv_nsec = (long)(ns % 1000000000u)};
}

/* Creates and destroys a priority-inheritance mutex, as keel_heap_locked_init
 * and domain recovery do; `held`: destroyed while locked. */
static void mutex_life(bool held) {
    pthread_mutexattr_t attr;
    pthread_mutex_t m;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setprotocol(&attr, PTHREAD_PRIO_INHERIT);
    pthread_mutex_init(&m, &attr);
    pthread_mutexattr_destroy(&attr);
    if (held) {
        pthread_mutex_lock(&m);
    }
    pthread_mutex_destroy(&m);
    if (held) {
        pthread_mutex_unlock(&m); /* destroy refused (EBUSY): undo the lock */
        pthread_mutex_destroy(&m);
    }
}

static void timer_arm(uint64_t ns) {
    struct itimerspec its = {.it_value = at_ns(ns)};
    timer_settime(timer, 0, &its, NULL);
}

/* A helper thread that posts `sem` after 20 ms: the measured thread's
 * sem_wait or sem_post meets a waiter. Helper threads are traced too (their
 * calls of a target are stepped over, never counted: instr_count.c). */
static void *poster(void *arg) {
    (void)arg;
    usleep(20000);
    sem_post(&sem);
    return NULL;
}

static void *waiter(void *arg) {
    (void)arg;
    sem_wait(&sem);
    return NULL;
}

static void with_thread(void *(*fn)(void *), void (*meanwhile)(void)) {
    pthread_t th;
    if (pthread_create(&th, NULL, fn, NULL) == 0) {
        meanwhile();
        pthread_join(th, NULL);
    }
}

static void sleep_then_post(void) {
    usleep(20000);
    sem_post(&sem);
}

static void wait_sem(void) {
    sem_wait(&sem);
}

/* A helper thread that idles until released: glibc takes other paths in
 * a multi-threaded process (cancellation points enable asynchronous
 * cancellation around the system call only then), and the executive and
 * domains always run with several threads. Each group runs its round once
 * without and once with it. Only the first thread's calls are counted; the
 * tracer follows every thread, so a helper may call a target too. */

static void *idle(void *arg) {
    (void)arg;
    char c;
    (void)!read(idle_pipe[0], &c, 1);
    return NULL;
}

static void twice(void (*round)(void)) {
    round();
    pthread_t th;
    if (pthread_create(&th, NULL, idle, NULL) != 0) {
        exit(3);
    }
    round();
    (void)!write(idle_pipe[1], "x", 1);
    pthread_join(th, NULL);
}

/* Group 1: the O(1) operations' calls. */
static void round_locks(void) {
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

static void body_locks(void *arg) {
    (void)arg;
    twice(round_locks);
    /* sem_post with a waiter (the waiter's own calls are not counted) */
    with_thread(waiter, sleep_then_post);
}

/* Group 2: the executive's suspensions and domain recovery's mutex. */
static void round_suspend(void) {
    for (int i = 0; i < 4; i++) {
        sem_post(&sem);
        sem_wait(&sem); /* a count is there: no wait */
        struct timespec past = at_ns(now_ns() - 1000000u), ahead = at_ns(now_ns() + 2000000u);
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &past, NULL);
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ahead, NULL);
        timer_arm(50000000u);
        timer_arm(0); /* disarm */
        mutex_life(false);
        mutex_life(true);
    }
}

static void body_suspend(void *arg) {
    (void)arg;
    twice(round_suspend);
    /* sem_wait that blocks until a helper thread posts */
    with_thread(poster, wait_sem);
}

/* Group 3: getrusage as the executive calls it around each job. */
static void rusage(void) {
    struct rusage usage;
    (void)getrusage(RUSAGE_THREAD, &usage);
}

/* Single-threaded only: getrusage is no cancellation point and takes no
 * other path with threads. */
static void body_rusage(void *arg) {
    (void)arg;
    rusage();
}

/* Group 4 (index 3): the membarrier a free or a move may make (presence.c). */
static void round_membarrier(void) {
    for (int i = 0; i < 4; i++) {
        (void)syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
    }
}

static void body_membarrier(void *arg) {
    (void)arg;
    twice(round_membarrier);
}

/* ---- stack ---- */

static void stack_lock(void) {
    pthread_mutex_lock(&pi_mutex);
    pthread_mutex_unlock(&pi_mutex);
    pthread_mutex_lock(&plain_mutex);
}
static void stack_unlock(void) {
    pthread_mutex_unlock(&plain_mutex);
    pthread_mutex_lock(&pi_mutex);
    pthread_mutex_unlock(&pi_mutex);
}
static void stack_sem_post(void) {
    sem_post(&sem);
}
static void stack_clock_gettime(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
}
static void stack_mprotect(void) {
    mprotect(page, (size_t)page_size, PROT_READ | PROT_WRITE);
}
static void stack_pthread_self(void) {
    (void)pthread_self();
}
static void stack_setschedprio(void) {
    (void)pthread_setschedprio(pthread_self(), 1);
}
static void stack_broadcast(void) {
    pthread_cond_broadcast(&cond);
}
static void stack_sem_wait(void) {
    sem_post(&sem);
    sem_wait(&sem);
    sem_wait(&sem); /* blocks: stack_depth's caller posts after 20 ms */
}
static void stack_clock_nanosleep(void) {
    struct timespec ahead = at_ns(now_ns() + 1000000u);
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ahead, NULL);
}
static void stack_timer_settime(void) {
    timer_arm(50000000u);
    timer_arm(0);
}
static void stack_membarrier(void) {
    (void)syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
}
static void stack_mutex_life(void) {
    mutex_life(false);
    mutex_life(true);
}

typedef struct target {
    const char *name;
    void *entry;
    unsigned group;            /* the traced run (body) that measures it */
    void (*stack_call)(void);  /* a call of it, on the painted stack */
    /* A seqlock read (the vDSO's clock_gettime): it retries when the kernel
     * updates the time during the read. Single-stepped, a read takes about a
     * thousand times longer than it does when it runs, so the measurement meets
     * updates that a real call does not, a few retries more each time. Its
     * figure is therefore its typical call (the largest of the phases'
     * medians: most calls do not retry even single-stepped), times
     * 1 + SEQLOCK_RETRIES: the retries its annotation allows. */
    bool seqlock;
} target;

#define SEQLOCK_RETRIES 2u

static target targets[] = {
    {"pthread_mutex_lock", (void *)pthread_mutex_lock, 0, stack_lock, false},
    {"pthread_mutex_unlock", (void *)pthread_mutex_unlock, 0, stack_unlock, false},
    {"sem_post", (void *)sem_post, 0, stack_sem_post, false},
    {"clock_gettime", (void *)clock_gettime, 0, stack_clock_gettime, true},
    {"mprotect", (void *)mprotect, 0, stack_mprotect, false},
    {"pthread_self", (void *)pthread_self, 0, stack_pthread_self, false},
    {"pthread_setschedprio", (void *)pthread_setschedprio, 0, stack_setschedprio, false},
    {"pthread_cond_broadcast", (void *)pthread_cond_broadcast, 0, stack_broadcast, false},
    {"sem_wait", (void *)sem_wait, 1, stack_sem_wait, false},
    {"clock_nanosleep", (void *)clock_nanosleep, 1, stack_clock_nanosleep, false},
    {"timer_settime", (void *)timer_settime, 1, stack_timer_settime, false},
    {"pthread_mutexattr_init", (void *)pthread_mutexattr_init, 1, stack_mutex_life, false},
    {"pthread_mutexattr_setprotocol", (void *)pthread_mutexattr_setprotocol, 1, stack_mutex_life, false},
    {"pthread_mutex_init", (void *)pthread_mutex_init, 1, stack_mutex_life, false},
    {"pthread_mutexattr_destroy", (void *)pthread_mutexattr_destroy, 1, stack_mutex_life, false},
    {"pthread_mutex_destroy", (void *)pthread_mutex_destroy, 1, stack_mutex_life, false},
    {"getrusage", (void *)getrusage, 2, rusage, false},
    {"syscall", (void *)syscall, 3, stack_membarrier, false},
};
#define TARGET_COUNT (sizeof targets / sizeof targets[0])

static void (*const bodies[])(void *) = {body_locks, body_suspend, body_rusage, body_membarrier};
#define GROUP_COUNT (sizeof bodies / sizeof bodies[0])

static void (*stack_which)(void);

static __attribute__((noinline)) void call_nothing(void) {
    __asm__ volatile("" ::: "memory");
}

static void *stack_thread(void *arg) {
    (void)arg;
    stack_which();
    return NULL;
}

/* The lowest byte written on a painted thread stack by fn, as a depth from
 * its top; sem_wait's thread blocks until this thread posts. */
static size_t stack_depth(void (*fn)(void)) {
    unsigned char *stack = aligned_alloc(4096, STACK_SIZE);
    if (stack == NULL) {
        exit(2);
    }
    memset(stack, 0xa5, STACK_SIZE);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstack(&attr, stack, STACK_SIZE);
    stack_which = fn;
    pthread_t th;
    if (pthread_create(&th, &attr, stack_thread, NULL) != 0) {
        exit(2);
    }
    if (fn == stack_sem_wait) {
        sleep_then_post();
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
    uint64_t worst[TARGET_COUNT] = {0}, typical[TARGET_COUNT] = {0};
    for (unsigned g = 0; g < GROUP_COUNT; g++) {
        instr_target t[INSTR_TARGETS_MAX];
        size_t index[INSTR_TARGETS_MAX], n = 0;
        for (size_t k = 0; k < TARGET_COUNT; k++) {
            if (targets[k].group != g) {
                continue;
            }
            if (n == INSTR_TARGETS_MAX) {
                fprintf(stderr, "measure_externs: group %u has more than %d targets\n", g, INSTR_TARGETS_MAX);
                return 2;
            }
            t[n] = (instr_target){.symbol = targets[k].name, .entry = targets[k].entry};
            index[n++] = k;
        }
        instr_result r;
        instr_options io = {.single_step = true, .sequence_cap = 0, .cpu = -1};
        char err[512];
        if (instr_count(t, n, bodies[g], NULL, &io, &r, err, sizeof err) != 0) {
            fprintf(stderr, "measure_externs: %s\n", err);
            instr_result_release(&r);
            return 2;
        }
        for (size_t j = 0; j < n; j++) {
            for (unsigned p = 0; p < INSTR_PHASES_MAX; p++) {
                if (r.worst[p][j].instructions > worst[index[j]]) {
                    worst[index[j]] = r.worst[p][j].instructions;
                }
                hist *h = &r.per_call[p][j];
                if (h->count > 0 && hist_percentile(h, 0.5) > typical[index[j]]) {
                    typical[index[j]] = hist_percentile(h, 0.5);
                }
            }
        }
        instr_result_release(&r);
    }
    /* resolve every PLT slot first: lazy binding is not what is measured */
    for (unsigned g = 0; g < GROUP_COUNT; g++) {
        bodies[g](NULL);
    }
    size_t base = stack_depth(call_nothing);
    uint64_t cost[TARGET_COUNT], stack[TARGET_COUNT];
    for (size_t k = 0; k < TARGET_COUNT; k++) {
        if (worst[k] == 0) {
            fprintf(stderr, "measure_externs: no call of %s was counted\n", targets[k].name);
            return 2;
        }
        size_t d = stack_depth(targets[k].stack_call);
        /* the empty function's frame is its return address: 8 bytes */
        stack[k] = d > base ? d - base + 8 : 8;
        if (targets[k].seqlock) {
            cost[k] = typical[k] * (1 + SEQLOCK_RETRIES) + PLT_STUB;
            printf("extern %-30s cost %5llu stack %5llu   # measured: the typical call %llu x %u "
                   "+ %u (PLT); the worst single-stepped %llu\n",
                   targets[k].name, (unsigned long long)cost[k], (unsigned long long)stack[k],
                   (unsigned long long)typical[k], 1 + SEQLOCK_RETRIES, PLT_STUB,
                   (unsigned long long)worst[k]);
            continue;
        }
        cost[k] = worst[k] + PLT_STUB;
        printf("extern %-30s cost %5llu stack %5llu   # measured: worst of the calls %llu + %u (PLT)\n",
               targets[k].name, (unsigned long long)cost[k], (unsigned long long)stack[k],
               (unsigned long long)worst[k], PLT_STUB);
    }
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
        if (sscanf(line, " extern %127s cost %llu stack %llu", name, &c, &s) != 3) {
            continue;
        }
        seen++;
        bool known = false;
        for (size_t k = 0; k < TARGET_COUNT; k++) {
            if (strcmp(name, targets[k].name) != 0) {
                continue;
            }
            known = true;
            if (c < cost[k] || s < stack[k]) {
                printf("FAIL %s: annotated cost %llu stack %llu, measured %llu and %llu\n", name, c, s,
                       (unsigned long long)cost[k], (unsigned long long)stack[k]);
                bad++;
            }
        }
        if (!known) {
            printf("FAIL %s: annotated, not measured by measure_externs\n", name);
            bad++;
        }
    }
    fclose(f);
    printf("%d extern annotations checked against the measurement, %d below it\n", seen, bad);
    return bad == 0 && seen > 0 ? 0 : 1;
}
