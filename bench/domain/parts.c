/*
 * parts.c - microbenchmarks of the parts of a protected call (parts.h).
 */
#include "parts.h"

#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/text.h"
#include "tsc.h"

#define NOINLINE __attribute__((noinline))

/* As a domain's heap region is sized (src/domain/domain.c): heap + heap/32 + 16 KiB. */
enum { HEAP_BYTES = 64 * 1024 + 64 * 1024 / 32 + 16384 };

typedef struct part_context {
    pipeline *p;
    keel_domain *strict; /* a domain in strict mode (mprotect), with one null method */
    keel_rref strict_rref;
    keel_domain *keyed; /* the same with a protection key, or NULL (no pku) */
    keel_rref keyed_rref;
    keel_domain *fillers[16]; /* strict domains holding the keys, if any */
    unsigned filler_count;
    _Atomic uint64_t counter;
    pthread_mutex_t mutex;
    sigjmp_buf env;
    void *builtin_env[5];
    keel_heap_locked heap;
    void *heap_region;
    uint32_t heap_epoch; /* the heap's epoch, as the domain keeps it */
    char message[128];
    int status; /* the calls' statuses or'ed together: checked after each sample */
} part_context;

/* The brackets all start and end alike; the loop bodies differ. TIMED_CALLS
 * or's the statuses together in a register, checked after the bracket. */
#define TIMED_LOOP(body)                      \
    uint64_t start = bench_tsc_begin();       \
    for (unsigned i = 0; i < PART_OPS; i++) { \
        body;                                 \
    }                                         \
    return bench_tsc_end() - start

#define TIMED_CALLS(call)                     \
    int status = 0;                           \
    uint64_t start = bench_tsc_begin();       \
    for (unsigned i = 0; i < PART_OPS; i++) { \
        status |= (int)(call);                \
    }                                         \
    uint64_t end = bench_tsc_end();           \
    c->status |= status;                      \
    return end - start

static NOINLINE uint64_t empty_loop(part_context *c) {
    (void)c;
    TIMED_LOOP(__asm__ volatile("" ::: "memory"));
}

static NOINLINE uint64_t plain_call(part_context *c) {
    plain_stage *s = &c->p->plain[0];
    TIMED_CALLS(s->forward(s, c->p->data));
}

static NOINLINE uint64_t rref_call(part_context *c) {
    TIMED_CALLS(keel_rref_call(c->p->rrefs[0], STAGE_NOP, NULL, NULL));
}

static NOINLINE uint64_t rref_call_strict(part_context *c) {
    TIMED_CALLS(keel_rref_call(c->strict_rref, 0, NULL, NULL));
}

static NOINLINE uint64_t rref_call_pkey(part_context *c) {
    if (c->keyed == NULL) {
        return 0;
    }
    TIMED_CALLS(keel_rref_call(c->keyed_rref, 0, NULL, NULL));
}

static NOINLINE uint64_t rref_lend(part_context *c) {
    TIMED_CALLS(keel_rref_call_lend(c->p->rrefs[0], STAGE_NOP, c->p->box, NULL, NULL));
}

static NOINLINE uint64_t rref_lend_data(part_context *c) {
    TIMED_CALLS(keel_rref_call_lend(c->p->rrefs[0], STAGE_FORWARD_LENT, c->p->box, NULL, NULL));
}

static NOINLINE uint64_t box_data(part_context *c) {
    void *data;
    TIMED_CALLS(keel_box_data(c->p->box, &data, NULL));
}

/* Frees PART_OPS boxes allocated beforehand (untimed): by this thread, the
 * boxes' lender, or by a helper thread that stays alive meanwhile, so that
 * each free makes the membarrier of a box another thread lends
 * (docs/domains.md, "Threads"). The helper exits before the next part: the
 * other parts, and the recovery series, run with one thread, as before. */
typedef struct box_maker {
    keel_box boxes[PART_OPS];
    int status;
    sem_t made, release;
} box_maker;

static void make_boxes(box_maker *m) {
    for (unsigned i = 0; i < PART_OPS; i++) {
        m->status |= (int)keel_box_alloc(64, &m->boxes[i]);
    }
}

static void *make_boxes_and_wait(void *arg) {
    box_maker *m = arg;
    make_boxes(m);
    sem_post(&m->made);
    sem_wait(&m->release);
    return NULL;
}

static uint64_t time_frees(part_context *c, box_maker *m) {
    c->status |= m->status;
    TIMED_CALLS(keel_box_free(m->boxes[i]));
}

static NOINLINE uint64_t free_own(part_context *c) {
    box_maker m = {.status = 0};
    make_boxes(&m);
    return time_frees(c, &m);
}

static NOINLINE uint64_t free_other(part_context *c) {
    box_maker m = {.status = 0};
    pthread_t helper;
    if (sem_init(&m.made, 0, 0) != 0) {
        c->status |= (int)KEEL_ESYSTEM;
        return 0;
    }
    if (sem_init(&m.release, 0, 0) != 0) {
        sem_destroy(&m.made);
        c->status |= (int)KEEL_ESYSTEM;
        return 0;
    }
    if (pthread_create(&helper, NULL, make_boxes_and_wait, &m) != 0) {
        sem_destroy(&m.made);
        sem_destroy(&m.release);
        c->status |= (int)KEEL_ESYSTEM;
        return 0;
    }
    sem_wait(&m.made);
    uint64_t cycles = time_frees(c, &m);
    sem_post(&m.release);
    pthread_join(helper, NULL);
    sem_destroy(&m.made);
    sem_destroy(&m.release);
    return cycles;
}

static NOINLINE uint64_t atomic_rmw(part_context *c) {
    TIMED_LOOP(atomic_fetch_add_explicit(&c->counter, 1, memory_order_relaxed));
}

static NOINLINE uint64_t mutex_pair(part_context *c) {
    TIMED_LOOP(pthread_mutex_lock(&c->mutex); pthread_mutex_unlock(&c->mutex));
}

/* The setjmp loops are unrolled: a loop counter live across a setjmp would have
 * to live in memory (-Wclobbered), which would add its own cost. */
#define TIMES_4(s)  s s s s
#define TIMES_32(s) TIMES_4(TIMES_4(s s))
static_assert(PART_OPS == 32, "the unrolled loops do PART_OPS operations");

static NOINLINE uint64_t glibc_sigsetjmp(part_context *c) {
    uint64_t start = bench_tsc_begin();
    TIMES_32(if (sigsetjmp(c->env, 0) != 0) { c->status = KEEL_ECORRUPT; })
    return bench_tsc_end() - start;
}

static NOINLINE uint64_t builtin_setjmp(part_context *c) {
    uint64_t start = bench_tsc_begin();
    TIMES_32(if (__builtin_setjmp(c->builtin_env) != 0) { c->status = KEEL_ECORRUPT; })
    return bench_tsc_end() - start;
}

static NOINLINE uint64_t current_id(part_context *c) {
    TIMED_CALLS(keel_domain_current_id());
}

static NOINLINE uint64_t clock_read(part_context *c) {
    (void)c;
    struct timespec ts;
    TIMED_LOOP(clock_gettime(CLOCK_MONOTONIC, &ts));
}

static NOINLINE uint64_t message(part_context *c) {
    TIMED_LOOP(snprintf(c->message, sizeof c->message, "simulated panic in null filter %u", i));
}

/* keel_panic's own formatter (src/core/text.h), reached as keel_panic does. */
static __attribute__((format(printf, 3, 4))) void panic_format(char *out, size_t cap,
                                                              const char *format, ...) {
    va_list args;
    va_start(args, format);
    if (!keel_text_format_(out, cap, format, args)) {
        vsnprintf(out, cap, format, args);
    }
    va_end(args);
}

static NOINLINE uint64_t panic_message(part_context *c) {
    TIMED_LOOP(panic_format(c->message, sizeof c->message, "simulated panic in null filter %u", i));
}

static NOINLINE uint64_t heap_renew(part_context *c) {
    TIMED_CALLS((keel_heap_locked_destroy(&c->heap),
                 keel_heap_locked_renew(&c->heap, c->heap_region, HEAP_BYTES, &c->heap_epoch)));
}

static uint64_t (*const part_loops[P_COUNT])(part_context *) = {
    [P_PLAIN_CALL] = plain_call,
    [P_RREF_CALL] = rref_call,
    [P_RREF_CALL_STRICT] = rref_call_strict,
    [P_RREF_CALL_PKEY] = rref_call_pkey,
    [P_RREF_LEND] = rref_lend,
    [P_RREF_LEND_DATA] = rref_lend_data,
    [P_BOX_DATA] = box_data,
    [P_FREE_OWN] = free_own,
    [P_FREE_OTHER] = free_other,
    [P_ATOMIC_RMW] = atomic_rmw,
    [P_MUTEX] = mutex_pair,
    [P_SIGSETJMP] = glibc_sigsetjmp,
    [P_BUILTIN_SETJMP] = builtin_setjmp,
    [P_CURRENT_ID] = current_id,
    [P_CLOCK] = clock_read,
    [P_SNPRINTF] = message,
    [P_PANIC_FORMAT] = panic_message,
    [P_HEAP_RENEW] = heap_renew,
};

static keel_status null_method(void *object, keel_call *call) {
    (void)object;
    (void)call;
    return KEEL_OK;
}

static const keel_method strict_methods[1] = {null_method};
static const keel_interface strict_interface = {"null", 1, strict_methods};

/* The strict domain's init: a null object (no heap use) behind one rref. */
static keel_status strict_init(keel_domain *d, void *context) {
    static char object;
    return keel_domain_export(d, &object, &strict_interface, context);
}

static void close_strict(part_context *c) {
    if (c->strict != NULL) {
        keel_domain_destroy(c->strict);
    }
    if (c->keyed != NULL) {
        keel_domain_destroy(c->keyed);
    }
    while (c->filler_count > 0) {
        keel_domain_destroy(c->fillers[--c->filler_count]);
    }
}

static part_context context;
static hist loops[P_COUNT + 1]; /* the last: the empty loop */

/* One sample of every part, in an order rotated by `rotation`. */
static void sample_all(domain_results *r, bool record, size_t rotation) {
    part_context *c = &context;
    for (unsigned j = 0; j <= P_COUNT; j++) {
        unsigned which = (unsigned)((j + rotation) % (P_COUNT + 1));
        uint64_t cycles = which == P_COUNT ? empty_loop(c) : part_loops[which](c);
        if (c->status != 0) {
            domain_results_error(r, "a part's call", c->status);
            c->status = 0;
        }
        if (record) {
            hist_add(&loops[which], cycles);
        }
    }
}

int parts_open(domain_results *r, pipeline *p) {
    part_context *c = &context;
    c->p = p;
    c->p->data->count = 1;
    c->heap_region = aligned_alloc(64, HEAP_BYTES);
    if (c->heap_region == NULL || pthread_mutex_init(&c->mutex, NULL) != 0) {
        goto err;
    }
    if (keel_heap_locked_init(&c->heap, c->heap_region, HEAP_BYTES) != KEEL_OK) {
        goto err_mutex;
    }
    c->heap_epoch = keel_heap_epoch(c->heap.heap);
    /* Strict domains take protection keys while there are some: the first is
     * the keyed one (if the machine has keys), the next ones hold the rest of
     * the keys, and the first without a key is the mprotect one. */
    keel_domain_config strict = {.name = "strict",
                                 .heap_size = 64 * 1024,
                                 .table_capacity = 1,
                                 .init = strict_init,
                                 .context = &c->strict_rref,
                                 .strict = true};
    keel_status status = KEEL_OK;
    c->keyed = NULL;
    c->strict = NULL;
    c->filler_count = 0;
    while (c->strict == NULL && c->filler_count < 16) {
        keel_domain *d;
        keel_rref rref;
        strict.context = &rref;
        status = keel_domain_create(&strict, &d);
        if (status != KEEL_OK) {
            break;
        }
        if (keel_domain_strict_mode(d) == KEEL_STRICT_MPROTECT) {
            c->strict = d;
            c->strict_rref = rref;
        } else if (c->keyed == NULL) {
            c->keyed = d;
            c->keyed_rref = rref;
        } else {
            c->fillers[c->filler_count++] = d;
        }
    }
    if (c->strict == NULL) {
        domain_results_error(r, "creating a strict domain", status);
        goto err_domain;
    }
    for (unsigned k = 0; k <= P_COUNT; k++) {
        /* Every sample of a slow part (a strict call) may be >= HIST_EXACT. */
        if (hist_init(&loops[k], r->part_reps + 1) != 0) {
            while (k-- > 0) {
                hist_release(&loops[k]);
            }
            goto err_domain;
        }
    }
    sample_all(r, false, 0);
    return 0;
err_domain:
    close_strict(c);
    keel_heap_locked_destroy(&c->heap);
err_mutex:
    pthread_mutex_destroy(&c->mutex);
err:
    free(c->heap_region);
    c->heap_region = NULL;
    return -1;
}

void parts_round(domain_results *r, size_t samples) {
    static size_t done;
    for (size_t i = 0; i < samples; i++, done++) {
        sample_all(r, true, done);
    }
}

void parts_close(domain_results *r) {
    part_context *c = &context;
    double empty = (double)hist_percentile(&loops[P_COUNT], 0.5);
    for (unsigned k = 0; k < P_COUNT; k++) {
        double per_op = ((double)hist_percentile(&loops[k], 0.5) - empty) / PART_OPS;
        r->parts[k] = per_op > 0 ? per_op : 0;
    }
    if (c->keyed == NULL) {
        r->parts[P_RREF_CALL_PKEY] = NAN; /* not measured: no protection keys here */
    }
    for (unsigned k = 0; k <= P_COUNT; k++) {
        hist_release(&loops[k]);
    }
    close_strict(c);
    keel_heap_locked_destroy(&c->heap);
    pthread_mutex_destroy(&c->mutex);
    free(c->heap_region);
    c->heap_region = NULL;
}
