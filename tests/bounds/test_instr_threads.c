/*
 * test_instr_threads.c - the ptrace instruction counter (bench/alloc's
 * instr_count, which tools/bounds/measure_externs measures libc with) in a
 * child with several threads: only the first thread's calls are counted, each
 * exactly, however the other threads run through the same functions, and a
 * counted call may wait for another thread. Before every thread was traced, a
 * helper thread that ran into a breakpoint died of SIGTRAP and took the replay
 * with it (measure_externs failed about half its runs).
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#include "instr_count.h"
#include "keel_test.h"

enum { FIRST_CALLS = 200, HELPER_CALLS = 200000 };

static volatile unsigned sink;

/* A fixed amount of work: the same instructions on every call. */
__attribute__((noinline)) void counted_work(unsigned n);
__attribute__((noinline)) void counted_work(unsigned n) {
    for (unsigned i = 0; i < n; i++) {
        sink += i;
    }
}

/* Called through these, so that the compiler makes no specialised copy. */
static void (*volatile work)(unsigned) = counted_work;

static sem_t posted;
static atomic_int stop_helper;

/* Blocks until the helper posts: the counted call can finish only if the
 * helper thread keeps running meanwhile. */
__attribute__((noinline)) void counted_wait(void);
__attribute__((noinline)) void counted_wait(void) {
    sem_wait(&posted);
}
static void (*volatile wait_helper)(void) = counted_wait;

static void *helper(void *arg) {
    (void)arg;
    for (unsigned i = 0; i < HELPER_CALLS && !atomic_load(&stop_helper); i++) {
        work(8);
        if (i % 1000 == 0) {
            sem_post(&posted);
        }
    }
    return NULL;
}

static void body_alone(void *arg) {
    (void)arg;
    for (unsigned i = 0; i < FIRST_CALLS; i++) {
        work(8);
    }
}

static void body_threads(void *arg) {
    (void)arg;
    sem_init(&posted, 0, 0);
    atomic_store(&stop_helper, 0);
    pthread_t th;
    if (pthread_create(&th, NULL, helper, NULL) != 0) {
        _exit(3);
    }
    for (unsigned i = 0; i < FIRST_CALLS; i++) {
        work(8);
        if (i % 50 == 0) {
            wait_helper();
        }
    }
    atomic_store(&stop_helper, 1);
    sem_post(&posted);
    pthread_join(th, NULL);
}

/* Counts counted_work (and counted_wait) in `body`; returns 0 and the calls
 * seen and the instructions of the worst and the total. */
static int run(void (*body)(void *), bool single_step, uint64_t *calls, uint64_t *worst,
               uint64_t *total, uint64_t *waits) {
    instr_target t[2] = {{.symbol = "counted_work", .entry = (const void *)counted_work},
                         {.symbol = "counted_wait", .entry = (const void *)counted_wait}};
    instr_options io = {.single_step = single_step, .sequence_cap = 0, .cpu = -1};
    instr_result r;
    char err[512];
    int rc = instr_count(t, 2, body, NULL, &io, &r, err, sizeof err);
    if (rc != 0) {
        printf("  instr_count: %s\n", err);
    } else {
        *calls = r.per_call[0][0].count;
        *worst = r.worst[0][0].instructions;
        *total = r.total[0];
        *waits = r.per_call[0][1].count;
    }
    instr_result_release(&r);
    return rc;
}

static void check_mode(bool single_step) {
    uint64_t calls, worst, total, waits;
    CHECK_EQ(run(body_alone, single_step, &calls, &worst, &total, &waits), 0);
    CHECK_EQ(calls, (uint64_t)FIRST_CALLS);
    uint64_t per_call = worst;
    CHECK(per_call > 8); /* the loop's 8 passes at least */
    CHECK_EQ(total, FIRST_CALLS * per_call);
    /* With a helper thread hammering the same function (and posting what the
     * first thread's counted_wait waits for): the first thread's calls alone,
     * the same count each. Run several times: the threads' timing varies. */
    for (int round = 0; round < 5; round++) {
        CHECK_EQ(run(body_threads, single_step, &calls, &worst, &total, &waits), 0);
        CHECK_EQ(calls, (uint64_t)FIRST_CALLS);
        CHECK_EQ(worst, per_call);
        CHECK_EQ(total, FIRST_CALLS * per_call);
        CHECK_EQ(waits, (uint64_t)(FIRST_CALLS / 50));
    }
    printf("  %s: %llu instructions per call, %d calls of the first thread counted in each run\n",
           single_step ? "single-step" : "blocks", (unsigned long long)per_call, FIRST_CALLS);
}

KEEL_TEST(single_stepping_counts_the_first_thread_only_and_exactly_beside_a_busy_helper) {
    check_mode(true);
}

KEEL_TEST(counting_by_blocks_counts_the_first_thread_only_and_exactly_beside_a_busy_helper) {
    check_mode(false);
}

KEEL_TEST_MAIN()
