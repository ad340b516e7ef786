/* The domain contract (include/keel/domain.h), one behaviour per test. */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "domain/internal.h" /* the rref memo, looked into */
#include "inject.h"
#include "keel/domain.h"
#include "keel_test.h"

/* ---- a test component: a counter living in its domain's heap ---- */

typedef struct counter {
    long value;
    keel_box kept; /* a box the component was given (moved) */
} counter;

enum {
    M_ADD,
    M_GET,
    M_PANIC,
    M_NULL_WRITE,
    M_DIVIDE,
    M_FILL_BOX,
    M_KEEP_BOX,
    M_READ_KEPT,
    M_FREE_BOX,
    M_CALL_OTHER,
    M_WAIT,
    M_READ_ARG,
    M_ADDRESS,
    M_WRITE_AT,
    M_LITTER,
    M_HEAP_STATE,
    M_LEND_ON,
    M_FAIL_LENDER_THEN_OPEN,
    M_COUNT
};

/* Addresses in the first page: never mapped. Volatile, so the compiler cannot
 * see (and warn about) the deliberate wild accesses. */
static volatile uintptr_t wild16 = 16, wild8 = 8;
static atomic_int waiting, release_waiters;

static keel_status m_add(void *object, keel_call *call) {
    counter *c = object;
    c->value += *(long *)call->arg;
    *(long *)call->result = c->value;
    return KEEL_OK;
}
static keel_status m_get(void *object, keel_call *call) {
    *(long *)call->result = ((counter *)object)->value;
    return KEEL_OK;
}
/* A negative code asks for a message keel_panic hands to vsnprintf (a flag, a
 * width, a double) after its own formatter has read part of it. */
static keel_status m_panic(void *object, keel_call *call) {
    (void)object;
    int code = *(int *)call->arg;
    if (code < 0) {
        keel_panic("asked to panic: %+05d (%s, %.1f)", code, "negative", code / 2.0);
    }
    keel_panic("asked to panic: %d", code);
}
static keel_status m_null_write(void *object, keel_call *call) {
    (void)object;
    (void)call;
    *(volatile int *)wild16 = 1;
    return KEEL_OK;
}

static keel_status m_divide(void *object, keel_call *call) {
    (void)object;
    *(int *)call->result = divide_by_zero();
    return KEEL_OK;
}
static keel_status m_fill_box(void *object, keel_call *call) {
    (void)object;
    void *data;
    size_t size;
    keel_status status = keel_box_data(call->box, &data, &size);
    if (status == KEEL_OK) {
        memset(data, *(int *)call->arg, size);
    }
    if (call->result != NULL) {
        *(int *)call->result = 1;
        keel_panic("fill then panic");
    }
    return status;
}
static keel_status m_keep_box(void *object, keel_call *call) {
    ((counter *)object)->kept = call->box;
    return KEEL_OK;
}
static keel_status m_read_kept(void *object, keel_call *call) {
    void *data;
    keel_status status = keel_box_data(((counter *)object)->kept, &data, NULL);
    if (status == KEEL_OK) {
        *(unsigned char *)call->result = *(unsigned char *)data;
    }
    return status;
}
static keel_status m_free_box(void *object, keel_call *call) {
    (void)object;
    return keel_box_free(call->box);
}
static keel_status m_call_other(void *object, keel_call *call) {
    (void)object;
    int arg = 3;
    /* Calls M_PANIC on the rref passed as the argument; reports what it got. */
    *(keel_status *)call->result = keel_rref_call(*(keel_rref *)call->arg, M_PANIC, &arg, NULL);
    return KEEL_OK;
}
/* The lender and the borrower of m_lend_on. */
typedef struct lend_pair {
    keel_rref lender, borrower;
} lend_pair;
/* Lends a box of its own to the borrower's M_FAIL_LENDER_THEN_OPEN, which
 * reports into *result. */
static keel_status m_lend_on(void *object, keel_call *call) {
    (void)object;
    lend_pair *pair = call->arg;
    keel_box box;
    keel_status status = keel_box_alloc(16, &box);
    if (status != KEEL_OK) {
        return status;
    }
    return keel_rref_call_lend(pair->borrower, M_FAIL_LENDER_THEN_OPEN, box, &pair->lender,
                               call->result);
}
/* Makes its lender (the rref in arg) panic, then opens the lent box. */
static keel_status m_fail_lender_then_open(void *object, keel_call *call) {
    (void)object;
    int code = 4;
    keel_status *seen = call->result;
    seen[0] = keel_rref_call(*(keel_rref *)call->arg, M_PANIC, &code, NULL);
    void *data;
    seen[1] = keel_box_data(call->box, &data, NULL);
    return KEEL_OK;
}
static keel_status m_wait(void *object, keel_call *call) {
    (void)object;
    (void)call;
    atomic_fetch_add(&waiting, 1);
    while (!atomic_load(&release_waiters)) {
        sched_yield();
    }
    return KEEL_OK;
}

static keel_status m_read_arg(void *object, keel_call *call) {
    (void)object;
    void *data;
    keel_status status = keel_box_data(*(keel_box *)call->arg, &data, NULL);
    if (status == KEEL_OK) {
        *(unsigned char *)call->result = *(unsigned char *)data;
    }
    return status;
}

static keel_status m_address(void *object, keel_call *call) {
    *(void **)call->result = object;
    return KEEL_OK;
}
static keel_status m_write_at(void *object, keel_call *call) {
    (void)object;
    *(volatile long *)*(void **)call->arg = 42; /* a wild write, if it points elsewhere */
    return KEEL_OK;
}

/* Fills the domain's heap with blocks, resetting it first *(int *)arg times
 * itself (keel_heap_reset: the heap's epoch runs ahead of the domain's
 * record), then panics. */
static keel_status m_litter(void *object, keel_call *call) {
    (void)object;
    keel_heap *heap = keel_domain_heap(keel_domain_current())->heap;
    for (int k = 0; k < *(const int *)call->arg; k++) {
        keel_heap_reset(heap);
    }
    void *p;
    for (size_t size = 16; keel_domain_alloc(size, &p) == KEEL_OK; size = size % 2000 + 24) {
    }
    keel_panic("littered");
}
typedef struct heap_state {
    uint32_t epoch;
    keel_status check;
    size_t live_blocks;
} heap_state;
static keel_status m_heap_state(void *object, keel_call *call) {
    (void)object;
    keel_heap_locked *heap = keel_domain_heap(keel_domain_current());
    heap_state *out = call->result;
    out->epoch = keel_heap_epoch(heap->heap);
    out->check = keel_heap_locked_check(heap, NULL);
    keel_heap_stats stats;
    keel_heap_locked_get_stats(heap, &stats);
    out->live_blocks = stats.live_blocks;
    return KEEL_OK;
}

/* Designated initializers: each method sits at its enum index whatever the order. */
static const keel_method counter_methods[M_COUNT] = {
    [M_ADD] = m_add,           [M_GET] = m_get,
    [M_PANIC] = m_panic,       [M_NULL_WRITE] = m_null_write,
    [M_DIVIDE] = m_divide,     [M_FILL_BOX] = m_fill_box,
    [M_KEEP_BOX] = m_keep_box, [M_READ_KEPT] = m_read_kept,
    [M_FREE_BOX] = m_free_box, [M_CALL_OTHER] = m_call_other,
    [M_WAIT] = m_wait,         [M_READ_ARG] = m_read_arg,
    [M_ADDRESS] = m_address,   [M_WRITE_AT] = m_write_at,
    [M_LITTER] = m_litter,     [M_HEAP_STATE] = m_heap_state,
    [M_LEND_ON] = m_lend_on,   [M_FAIL_LENDER_THEN_OPEN] = m_fail_lender_then_open};
static const keel_interface counter_interface = {"counter", M_COUNT, counter_methods};

/* The component's state: where its rref lives across recoveries. */
typedef struct component {
    keel_rref rref;
    bool reexport; /* transparent recovery on or off */
    int inits;
} component;

static keel_status counter_init(keel_domain *d, void *context) {
    component *comp = context;
    counter *c;
    keel_status status = keel_domain_alloc(sizeof *c, (void **)&c);
    if (status != KEEL_OK) {
        return status;
    }
    c->value = 0;
    c->kept = KEEL_BOX_NONE;
    comp->inits++;
    if (comp->inits == 1) {
        return keel_domain_export(d, c, &counter_interface, &comp->rref);
    }
    return comp->reexport ? keel_domain_reexport(d, comp->rref, c, &counter_interface) : KEEL_OK;
}

static void setup(void) {
    static bool done;
    if (!done) {
        if (keel_domain_system_init(1 << 20, 1024) != KEEL_OK) {
            abort();
        }
        done = true;
    }
}

static keel_domain *make_mode(component *comp, keel_recovery_policy policy, unsigned budget,
                              bool strict) {
    setup();
    keel_domain_config config = {.name = "counter",
                                 .heap_size = 64 * 1024,
                                 .table_capacity = 8,
                                 .init = counter_init,
                                 .context = comp,
                                 .policy = policy,
                                 .failure_budget = budget,
                                 .failure_window_ns = 60ull * 1000000000u,
                                 .strict = strict};
    keel_domain *d = NULL;
    if (keel_domain_create(&config, &d) != KEEL_OK) {
        return NULL;
    }
    return d;
}

static keel_domain *make(component *comp, keel_recovery_policy policy, unsigned budget) {
    return make_mode(comp, policy, budget, false);
}

KEEL_TEST(a_call_runs_the_method_inside_the_owner_and_returns_its_result) {
    component comp = {.reexport = true};
    keel_domain *d = make(&comp, KEEL_RECOVER_RESTART, 0);
    CHECK(d != NULL);
    long add = 5, result = 0;
    CHECK_OK(keel_rref_call(comp.rref, M_ADD, &add, &result));
    CHECK_OK(keel_rref_call(comp.rref, M_ADD, &add, &result));
    CHECK_EQ(result, 10);
    CHECK(keel_domain_current() == NULL); /* back in the host */
    CHECK_STATUS(keel_rref_call(comp.rref, M_COUNT, NULL, NULL), KEEL_ENOMETHOD);
    keel_domain_stats stats;
    keel_domain_get_stats(d, &stats);
    CHECK_EQ(stats.calls, 2);
    CHECK_OK(keel_domain_destroy(d));
}

KEEL_TEST(forged_and_dangling_rrefs_are_refused_as_stale) {
    component comp = {.reexport = true};
    keel_domain *d = make(&comp, KEEL_RECOVER_RESTART, 0);
    long add = 1, result;
    keel_rref forged = comp.rref;
    forged.generation += 1000;
    CHECK_STATUS(keel_rref_call(forged, M_ADD, &add, &result), KEEL_ESTALE);
    forged = comp.rref;
    forged.slot = 7; /* never exported */
    CHECK_STATUS(keel_rref_call(forged, M_ADD, &add, &result), KEEL_ESTALE);
    forged.slot = 100000;
    CHECK_STATUS(keel_rref_call(forged, M_ADD, &add, &result), KEEL_ESTALE);
    CHECK_STATUS(keel_rref_call((keel_rref){0}, M_ADD, &add, &result), KEEL_ESTALE);
    CHECK_OK(keel_domain_destroy(d));
    CHECK_STATUS(keel_rref_call(comp.rref, M_ADD, &add, &result), KEEL_ESTALE);
}

KEEL_TEST(a_call_naming_an_unused_domain_id_leaves_no_trace_on_that_id) {
    setup();
    /* An id no domain has had in this process yet: the tests keep few alive. */
    enum { UNUSED = 40 };
    keel_rref forged = {.domain = UNUSED, .slot = 0, .generation = 1};
    CHECK_STATUS(keel_rref_call(forged, M_GET, NULL, NULL), KEEL_ESTALE);
    /* Ids are given lowest first: create domains until one gets that id. */
    static component comps[UNUSED];
    keel_domain *made[UNUSED];
    unsigned n = 0;
    do {
        comps[n] = (component){.reexport = true};
        made[n] = make(&comps[n], KEEL_RECOVER_RESTART, 0);
    } while (made[n] != NULL && keel_domain_id(made[n++]) < UNUSED && n < UNUSED);
    /* Its failure is recovered by the last thread out, this one: nobody is
     * counted inside it. */
    bool reached = n > 0 && keel_domain_id(made[n - 1]) == UNUSED;
    int arg = 1;
    keel_status panicked =
        reached ? keel_rref_call(comps[n - 1].rref, M_PANIC, &arg, NULL) : KEEL_OK;
    keel_domain_state state = reached ? keel_domain_get_state(made[n - 1]) : KEEL_DOMAIN_STOPPED;
    bool destroyed = true;
    while (n > 0) {
        destroyed = keel_domain_destroy(made[--n]) == KEEL_OK && destroyed;
    }
    CHECK(reached);
    CHECK_STATUS(panicked, KEEL_EPANIC);
    CHECK_EQ(state, KEEL_DOMAIN_RUNNING);
    CHECK(destroyed);
}

KEEL_TEST(a_revoked_rref_fails_in_every_copy) {
    component comp = {.reexport = true};
    keel_domain *d = make(&comp, KEEL_RECOVER_RESTART, 0);
    keel_rref copy = comp.rref;
    long add = 1, result;
    CHECK_OK(keel_rref_revoke(comp.rref));
    CHECK_STATUS(keel_rref_call(copy, M_ADD, &add, &result), KEEL_EREVOKED);
    CHECK_STATUS(keel_rref_call(comp.rref, M_GET, NULL, &result), KEEL_EREVOKED);
    CHECK_STATUS(keel_rref_revoke(copy), KEEL_ESTALE);
    /* The slot is reused with a new generation: the old rref stays revoked. */
    counter local = {0};
    keel_rref fresh;
    CHECK_OK(keel_domain_export(d, &local, &counter_interface, &fresh));
    CHECK_EQ(fresh.slot, copy.slot);
    CHECK_STATUS(keel_rref_call(copy, M_ADD, &add, &result), KEEL_EREVOKED);
    CHECK_OK(keel_rref_call(fresh, M_ADD, &add, &result));
    CHECK_OK(keel_domain_destroy(d));
}

/*
 * The rref memo (src/domain/internal.h): a thread's second call through an
 * rref is answered from its memo, without validation. Each test makes such a
 * call (memo_answers checks that the memo does answer it), changes what
 * validation reads, and checks that the next call sees the change. Each ends
 * its domain before it checks what it saw, so that a failure leaves nothing
 * behind for the next test.
 */

/* Calls `rref`, then again once this thread's memo answers for it: false if
 * either call fails or the memo does not answer. */
static bool memo_answers(keel_rref rref, unsigned method, void *arg, void *result) {
    return keel_rref_call(rref, method, arg, result) == KEEL_OK &&
           rref_memo_find(&keel_thread_, rref, method) != NULL &&
           keel_rref_call(rref, method, arg, result) == KEEL_OK;
}

KEEL_TEST(an_rref_the_memo_answers_is_refused_once_revoked) {
    component comp = {.reexport = true};
    keel_domain *d = make(&comp, KEEL_RECOVER_RESTART, 0);
    long add = 1, result = 0;
    bool answered = memo_answers(comp.rref, M_ADD, &add, &result);
    keel_status revoke = keel_rref_revoke(comp.rref);
    keel_status after = keel_rref_call(comp.rref, M_ADD, &add, &result);
    /* The slot exported again: the memo answers for the fresh rref, and the
     * old one, whose key differs from it by its generation alone, is not. */
    counter local = {0};
    keel_rref fresh = {0};
    keel_status exported = keel_domain_export(d, &local, &counter_interface, &fresh);
    bool answered_fresh = memo_answers(fresh, M_ADD, &add, &result);
    keel_status old = keel_rref_call(comp.rref, M_ADD, &add, &result);
    CHECK_OK(keel_domain_destroy(d));
    CHECK(answered);
    CHECK_OK(revoke);
    CHECK_STATUS(after, KEEL_EREVOKED);
    CHECK_OK(exported);
    CHECK_EQ(fresh.slot, comp.rref.slot);
    CHECK(answered_fresh);
    CHECK_STATUS(old, KEEL_EREVOKED);
    CHECK_EQ(local.value, 2);
}

KEEL_TEST(an_rref_the_memo_answers_reaches_the_object_reexported_under_it) {
    component comp = {.reexport = true};
    keel_domain *d = make(&comp, KEEL_RECOVER_RESTART, 0);
    long before = -1, after = -1;
    bool answered = memo_answers(comp.rref, M_GET, NULL, &before);
    counter other = {.value = 42, .kept = KEEL_BOX_NONE};
    keel_status reexported = keel_domain_reexport(d, comp.rref, &other, &counter_interface);
    keel_status status = keel_rref_call(comp.rref, M_GET, NULL, &after);
    CHECK_OK(keel_domain_destroy(d));
    CHECK(answered);
    CHECK_EQ(before, 0);
    CHECK_OK(reexported);
    CHECK_OK(status);
    CHECK_EQ(after, 42);
}

KEEL_TEST(an_rref_the_memo_answers_is_stale_once_its_domain_is_destroyed) {
    component comp = {.reexport = true};
    keel_domain *d = make(&comp, KEEL_RECOVER_RESTART, 0);
    long result;
    bool answered = memo_answers(comp.rref, M_GET, NULL, &result);
    CHECK_OK(keel_domain_destroy(d));
    CHECK(answered);
    CHECK_STATUS(keel_rref_call(comp.rref, M_GET, NULL, &result), KEEL_ESTALE);
}

/* An init that exports, calls its own export until the memo answers, and
 * fails: the create fails, and the rref dies with the domain. */
static keel_rref exported_then_failed;
static keel_status init_calls_itself_then_fails(keel_domain *d, void *context) {
    static counter c;
    (void)context;
    long result;
    if (keel_domain_export(d, &c, &counter_interface, &exported_then_failed) != KEEL_OK ||
        !memo_answers(exported_then_failed, M_GET, NULL, &result)) {
        return KEEL_OK; /* the test sees the create succeed, and fails */
    }
    return KEEL_EINVAL;
}

KEEL_TEST(an_rref_the_memo_answered_during_a_failed_init_is_stale) {
    setup();
    keel_domain_config config = {.name = "fails",
                                 .heap_size = 64 * 1024,
                                 .table_capacity = 8,
                                 .init = init_calls_itself_then_fails};
    keel_domain *d = NULL;
    keel_status created = keel_domain_create(&config, &d);
    if (created == KEEL_OK) {
        keel_domain_destroy(d);
    }
    CHECK_STATUS(created, KEEL_EINVAL);
    long result;
    CHECK_STATUS(keel_rref_call(exported_then_failed, M_GET, NULL, &result), KEEL_ESTALE);
}

static keel_rref memo_rref;
static atomic_int memo_phase;
static atomic_bool memo_answered;
static atomic_int memo_status;

/* Fills its memo, waits for the revoke, calls again. */
static void *call_around_a_revoke(void *arg) {
    (void)arg;
    long add = 1, result;
    atomic_store(&memo_answered, memo_answers(memo_rref, M_ADD, &add, &result));
    atomic_store(&memo_phase, 1);
    while (atomic_load(&memo_phase) != 2) {
        sched_yield();
    }
    atomic_store(&memo_status, keel_rref_call(memo_rref, M_ADD, &add, &result));
    return NULL;
}

KEEL_TEST(a_revoke_by_one_thread_reaches_the_memo_of_another) {
    component comp = {.reexport = true};
    keel_domain *d = make(&comp, KEEL_RECOVER_RESTART, 0);
    memo_rref = comp.rref;
    atomic_store(&memo_phase, 0);
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, call_around_a_revoke, NULL) == 0);
    while (atomic_load(&memo_phase) != 1) {
        sched_yield();
    }
    keel_status revoke = keel_rref_revoke(comp.rref);
    atomic_store(&memo_phase, 2);
    pthread_join(thread, NULL);
    CHECK_OK(keel_domain_destroy(d));
    CHECK(atomic_load(&memo_answered));
    CHECK_OK(revoke);
    CHECK_STATUS(atomic_load(&memo_status), KEEL_EREVOKED);
}

static keel_status only_reads(void *state, const keel_call *call) {
    ++*(int *)state;
    return call->method == M_GET ? KEEL_OK : KEEL_EACCESS;
}

KEEL_TEST(a_filter_sees_every_call_and_can_refuse_it) {
    component comp = {.reexport = true};
    keel_domain *d = make(&comp, KEEL_RECOVER_RESTART, 0);
    int seen = 0;
    CHECK_OK(keel_rref_set_filter(comp.rref, only_reads, &seen));
    long add = 1, result = -1;
    CHECK_STATUS(keel_rref_call(comp.rref, M_ADD, &add, &result), KEEL_EFILTERED);
    CHECK_OK(keel_rref_call(comp.rref, M_GET, NULL, &result));
    CHECK_EQ(result, 0); /* the refused add never ran */
    CHECK_EQ(seen, 2);
    CHECK_OK(keel_rref_set_filter(comp.rref, NULL, NULL));
    CHECK_OK(keel_rref_call(comp.rref, M_ADD, &add, &result));
    keel_domain_stats stats;
    keel_domain_get_stats(d, &stats);
    CHECK_EQ(stats.refused, 1);
    CHECK_OK(keel_domain_destroy(d));
}

KEEL_TEST(a_filter_installed_under_the_memo_sees_the_next_call) {
    component comp = {.reexport = true};
    keel_domain *d = make(&comp, KEEL_RECOVER_RESTART, 0);
    long add = 1, result = -1;
    bool answered = memo_answers(comp.rref, M_ADD, &add, &result);
    int seen = 0;
    keel_status filtered = keel_rref_set_filter(comp.rref, only_reads, &seen);
    keel_status status = keel_rref_call(comp.rref, M_ADD, &add, &result);
    CHECK_OK(keel_domain_destroy(d));
    CHECK(answered);
    CHECK_OK(filtered);
    CHECK_STATUS(status, KEEL_EFILTERED);
    CHECK_EQ(seen, 1);
}

static keel_status record_box(void *state, const keel_call *call) {
    *(keel_box *)state = call->box;
    return KEEL_OK;
}

KEEL_TEST(a_filter_sees_the_box_a_call_lends_or_moves) {
    component comp = {.reexport = true};
    keel_domain *d = make(&comp, KEEL_RECOVER_RESTART, 0);
    keel_box seen = KEEL_BOX_NONE, box;
    CHECK_OK(keel_rref_set_filter(comp.rref, record_box, &seen));
    CHECK_OK(keel_box_alloc(16, &box));
    int fill = 1;
    CHECK_OK(keel_rref_call_lend(comp.rref, M_FILL_BOX, box, &fill, NULL));
    CHECK(seen.index == box.index && seen.generation == box.generation);
    keel_box sent = box;
    CHECK_OK(keel_rref_call_move(comp.rref, M_KEEP_BOX, &box, NULL, NULL));
    CHECK(seen.index == sent.index && seen.generation == sent.generation);
    CHECK_OK(keel_domain_destroy(d));
}

KEEL_TEST(a_panic_is_contained_reported_and_the_domain_recovers_transparently) {
    component comp = {.reexport = true};
    keel_domain *d = make(&comp, KEEL_RECOVER_RESTART, 0);
    long add = 41, result;
    CHECK_OK(keel_rref_call(comp.rref, M_ADD, &add, &result));
    int code = 7;
    CHECK_STATUS(keel_rref_call(comp.rref, M_PANIC, &code, NULL), KEEL_EPANIC);
    const keel_failure *f = keel_last_failure();
    CHECK_EQ(f->kind, KEEL_FAILURE_PANIC);
    CHECK_EQ(f->domain, keel_domain_id(d));
    CHECK(strcmp(f->message, "asked to panic: 7") == 0);
    /* The same rref works again, on a fresh incarnation: the state was reset. */
    CHECK_OK(keel_rref_call(comp.rref, M_GET, NULL, &result));
    CHECK_EQ(result, 0);
    CHECK_EQ(comp.inits, 2);
    code = -3;
    CHECK_STATUS(keel_rref_call(comp.rref, M_PANIC, &code, NULL), KEEL_EPANIC);
    CHECK(strcmp(f->message, "asked to panic: -0003 (negative, -1.5)") == 0);
    keel_domain_stats stats;
    keel_domain_get_stats(d, &stats);
    CHECK_EQ(stats.failures, 2);
    CHECK_EQ(stats.recoveries, 2);
    CHECK_OK(keel_domain_destroy(d));
}

/*
 * Recovery renews the heap (keel_heap_renew): its epoch advances by one per
 * recovery, which is how the block-start map is retired without clearing it.
 * A domain that reset its own heap meanwhile (its epoch no longer the domain's
 * record) gets its map cleared instead; either way the heap is exact after.
 */
KEEL_TEST(recovery_renews_the_heap_by_advancing_its_epoch) {
    component comp = {.reexport = true};
    keel_domain *d = make(&comp, KEEL_RECOVER_RESTART, 0);
    heap_state state;
    CHECK_OK(keel_rref_call(comp.rref, M_HEAP_STATE, NULL, &state));
    CHECK_EQ(state.epoch, 0);
    int resets[] = {0, 0, 3, 0, 1, 0};
    for (unsigned i = 0; i < sizeof resets / sizeof resets[0]; i++) {
        CHECK_STATUS(keel_rref_call(comp.rref, M_LITTER, &resets[i], NULL), KEEL_EPANIC);
        CHECK_OK(keel_rref_call(comp.rref, M_HEAP_STATE, NULL, &state));
        CHECK_EQ(state.epoch, i + 1);
        CHECK_OK(state.check);
        CHECK_EQ(state.live_blocks, 1); /* the counter counter_init allocated */
    }
    CHECK_OK(keel_domain_destroy(d));
}

KEEL_TEST(without_reexport_rrefs_fail_as_recovering_after_a_failure) {
    component comp = {.reexport = false};
    keel_domain *d = make(&comp, KEEL_RECOVER_RESTART, 0);
    int code = 1;
    long result;
    CHECK_STATUS(keel_rref_call(comp.rref, M_PANIC, &code, NULL), KEEL_EPANIC);
    CHECK_STATUS(keel_rref_call(comp.rref, M_GET, NULL, &result), KEEL_ERECOVERING);
    CHECK_EQ(keel_domain_get_state(d), KEEL_DOMAIN_RUNNING);
    CHECK_OK(keel_domain_destroy(d));
}

KEEL_TEST(hardware_faults_are_contained_thousands_of_times_on_one_thread) {
    component comp = {.reexport = true};
    keel_domain *d = make(&comp, KEEL_RECOVER_RESTART, 0);
    int out;
    for (int i = 0; i < 3000; i++) {
        CHECK_STATUS(keel_rref_call(comp.rref, i % 2 ? M_NULL_WRITE : M_DIVIDE, NULL, &out),
                     KEEL_EFAULT);
        const keel_failure *f = keel_last_failure();
        CHECK_EQ(f->kind, KEEL_FAILURE_SIGNAL);
        CHECK_EQ(f->signal, i % 2 ? SIGSEGV : SIGFPE);
        if (i % 2) {
            CHECK((uintptr_t)f->address == 16);
            CHECK(strstr(f->message, "SIGSEGV") != NULL && strstr(f->message, "0x10") != NULL);
        }
    }
    long result;
    CHECK_OK(keel_rref_call(comp.rref, M_GET, NULL, &result));
    keel_domain_stats stats;
    keel_domain_get_stats(d, &stats);
    CHECK_EQ(stats.failures, 3000);
    CHECK_EQ(stats.recoveries, 3000);
    CHECK_OK(keel_domain_destroy(d));
}

KEEL_TEST(in_nested_calls_a_failure_is_reported_to_the_direct_caller_only) {
    component outer = {.reexport = true}, inner = {.reexport = true};
    keel_domain *a = make(&outer, KEEL_RECOVER_RESTART, 0);
    keel_domain *b = make(&inner, KEEL_RECOVER_RESTART, 0);
    keel_status seen_by_a = KEEL_OK;
    /* host -> a.M_CALL_OTHER -> b.M_PANIC: a sees the panic, the host sees success. */
    CHECK_OK(keel_rref_call(outer.rref, M_CALL_OTHER, &inner.rref, &seen_by_a));
    CHECK_STATUS(seen_by_a, KEEL_EPANIC);
    keel_domain_stats sa, sb;
    keel_domain_get_stats(a, &sa);
    keel_domain_get_stats(b, &sb);
    CHECK_EQ(sa.failures, 0);
    CHECK_EQ(sb.failures, 1);
    CHECK_OK(keel_domain_destroy(a));
    CHECK_OK(keel_domain_destroy(b));
}

KEEL_TEST(the_failure_budget_stops_a_domain_for_good) {
    component comp = {.reexport = true};
    keel_domain *d = make(&comp, KEEL_RECOVER_RESTART, 3);
    int code = 0;
    long result;
    for (int i = 0; i < 2; i++) {
        CHECK_STATUS(keel_rref_call(comp.rref, M_PANIC, &code, NULL), KEEL_EPANIC);
        CHECK_OK(keel_rref_call(comp.rref, M_GET, NULL, &result));
    }
    CHECK_STATUS(keel_rref_call(comp.rref, M_PANIC, &code, NULL), KEEL_EPANIC);
    CHECK_EQ(keel_domain_get_state(d), KEEL_DOMAIN_STOPPED);
    CHECK_STATUS(keel_rref_call(comp.rref, M_GET, NULL, &result), KEEL_ESTOPPED);
    CHECK_OK(keel_domain_destroy(d));
}

KEEL_TEST(fail_stop_stops_at_the_first_failure) {
    component comp = {.reexport = true};
    keel_domain *d = make(&comp, KEEL_RECOVER_FAIL_STOP, 0);
    long result;
    CHECK_STATUS(keel_rref_call(comp.rref, M_NULL_WRITE, NULL, NULL), KEEL_EFAULT);
    CHECK_STATUS(keel_rref_call(comp.rref, M_GET, NULL, &result), KEEL_ESTOPPED);
    CHECK_EQ(comp.inits, 1);
    CHECK_OK(keel_domain_destroy(d));
}

KEEL_TEST(a_moved_box_belongs_to_the_callee_and_the_senders_handle_is_dead) {
    component comp = {.reexport = true};
    keel_domain *d = make(&comp, KEEL_RECOVER_RESTART, 0);
    keel_box box, before;
    CHECK_OK(keel_box_alloc(64, &box));
    unsigned char *data;
    CHECK_OK(keel_box_data(box, (void **)&data, NULL));
    data[0] = 0xAB;
    before = box;
    CHECK_OK(keel_rref_call_move(comp.rref, M_KEEP_BOX, &box, NULL, NULL));
    CHECK_STATUS(keel_box_data(before, (void **)&data, NULL), KEEL_ESTALE);
    CHECK_STATUS(keel_box_free(before), KEEL_ESTALE);
    unsigned char first = 0;
    CHECK_OK(keel_rref_call(comp.rref, M_READ_KEPT, NULL, &first));
    CHECK_EQ(first, 0xAB); /* zero copies: the callee sees the same bytes */
    CHECK_OK(keel_domain_destroy(d));
}

KEEL_TEST(a_lent_box_comes_back_whether_the_callee_returns_or_fails) {
    component comp = {.reexport = true};
    keel_domain *d = make(&comp, KEEL_RECOVER_RESTART, 0);
    keel_box box;
    CHECK_OK(keel_box_alloc(32, &box));
    int fill = 0x5C;
    CHECK_OK(keel_rref_call_lend(comp.rref, M_FILL_BOX, box, &fill, NULL));
    unsigned char *data;
    size_t size;
    CHECK_OK(keel_box_data(box, (void **)&data, &size));
    CHECK(size == 32 && data[0] == 0x5C && data[31] == 0x5C);
    /* The callee fills, then panics: the box is still ours, with its bytes. */
    fill = 0x11;
    int flag = 0;
    CHECK_STATUS(keel_rref_call_lend(comp.rref, M_FILL_BOX, box, &fill, &flag), KEEL_EPANIC);
    CHECK_OK(keel_box_data(box, (void **)&data, &size));
    CHECK(data[0] == 0x11);
    /* A borrower cannot free what it was lent, and a stashed handle dies with the call. */
    CHECK_STATUS(keel_rref_call_lend(comp.rref, M_FREE_BOX, box, NULL, NULL), KEEL_EACCESS);
    CHECK_OK(keel_rref_call_lend(comp.rref, M_KEEP_BOX, box, NULL, NULL));
    unsigned char first;
    CHECK_STATUS(keel_rref_call(comp.rref, M_READ_KEPT, NULL, &first), KEEL_EACCESS);
    CHECK_OK(keel_box_free(box));
    CHECK_OK(keel_domain_destroy(d));
}

KEEL_TEST(a_lent_box_dies_under_its_borrower_when_its_owner_fails) {
    component lender_comp = {.reexport = true}, borrower_comp = {.reexport = true};
    keel_domain *lender = make(&lender_comp, KEEL_RECOVER_RESTART, 0);
    keel_domain *borrower = make(&borrower_comp, KEEL_RECOVER_RESTART, 0);
    lend_pair pair = {lender_comp.rref, borrower_comp.rref};
    keel_status seen[2] = {KEEL_OK, KEEL_OK};
    /* host -> lender (lends its box) -> borrower -> lender (panics): the
     * lender's incarnation, and with it its box, is dead when the borrower
     * opens the box it was lent. The lender's own call then reports it. */
    CHECK_STATUS(keel_rref_call(lender_comp.rref, M_LEND_ON, &pair, seen), KEEL_EABORTED);
    CHECK_STATUS(seen[0], KEEL_EPANIC);
    CHECK_STATUS(seen[1], KEEL_ESTALE);
    CHECK_OK(keel_domain_destroy(borrower));
    CHECK_OK(keel_domain_destroy(lender));
}

KEEL_TEST(boxes_are_for_their_owner_only) {
    component comp = {.reexport = true};
    keel_domain *d = make(&comp, KEEL_RECOVER_RESTART, 0);
    keel_box mine;
    CHECK_OK(keel_box_alloc(16, &mine));
    /* The domain learns the host's handle (not the box): it still cannot use it. */
    unsigned char out;
    CHECK_STATUS(keel_rref_call(comp.rref, M_READ_ARG, &mine, &out), KEEL_EACCESS);
    CHECK_STATUS(keel_box_data(KEEL_BOX_NONE, NULL, NULL), KEEL_ESTALE);
    /* Moved to the domain, the host's own copy of the handle is dead. */
    keel_box moved = mine;
    CHECK_OK(keel_rref_call_move(comp.rref, M_KEEP_BOX, &moved, NULL, NULL));
    CHECK_STATUS(keel_box_data(mine, NULL, NULL), KEEL_ESTALE);
    CHECK_STATUS(keel_box_alloc(0, &mine), KEEL_ERANGE);
    CHECK_OK(keel_domain_destroy(d));
}

KEEL_TEST(a_failed_domain_loses_its_boxes_and_nothing_leaks) {
    component comp = {.reexport = true};
    keel_domain *d = make(&comp, KEEL_RECOVER_RESTART, 0);
    keel_exchange_stats before;
    keel_box_reap(100000);
    keel_exchange_get_stats(&before);
    keel_box box;
    CHECK_OK(keel_box_alloc(1000, &box));
    CHECK_OK(keel_rref_call_move(comp.rref, M_KEEP_BOX, &box, NULL, NULL));
    CHECK_STATUS(keel_rref_call(comp.rref, M_NULL_WRITE, NULL, NULL), KEEL_EFAULT);
    keel_exchange_stats after;
    keel_exchange_get_stats(&after);
    CHECK_EQ(after.boxes_dead, before.boxes_dead + 1);
    CHECK_EQ(keel_box_reap(100000), 1);
    keel_exchange_get_stats(&after);
    CHECK_EQ(after.boxes_live, before.boxes_live);
    CHECK_EQ(after.heap.in_use, before.heap.in_use);
    CHECK_OK(keel_domain_destroy(d));
}

/* Moves `count` boxes of `size` bytes into the domain behind `rref`, then makes
 * it fail: they all die at once, and are reclaimable after its recovery. */
static void kill_boxes_in(keel_rref rref, unsigned count, size_t size) {
    for (unsigned i = 0; i < count; i++) {
        keel_box box;
        CHECK_OK(keel_box_alloc(size, &box));
        CHECK_OK(keel_rref_call_move(rref, M_KEEP_BOX, &box, NULL, NULL));
    }
    CHECK_STATUS(keel_rref_call(rref, M_NULL_WRITE, NULL, NULL), KEEL_EFAULT);
}

KEEL_TEST(each_alloc_reclaims_at_most_a_constant_share_of_dead_boxes_and_in_time_all) {
    component comp = {.reexport = true};
    keel_domain *d = make(&comp, KEEL_RECOVER_RESTART, 0);
    keel_box_reap(100000);
    keel_exchange_stats before, now;
    keel_exchange_get_stats(&before);
    enum { DEAD = 100, CAPACITY = 1024 }; /* setup()'s box_capacity */
    kill_boxes_in(comp.rref, DEAD, 64);
    keel_exchange_get_stats(&now);
    CHECK_EQ(now.boxes_dead, before.boxes_dead + DEAD);
    /* Allocations (each box freed again at once): every one reclaims at most
     * KEEL_BOX_REAP_PER_ALLOC dead boxes, however many there are, and one pass
     * of the cursor over the table, CAPACITY / KEEL_BOX_REAP_PER_ALLOC
     * allocations, reclaims them all. */
    unsigned allocs = 0, most = 0, dead = now.boxes_dead;
    while (dead > before.boxes_dead && allocs <= CAPACITY / KEEL_BOX_REAP_PER_ALLOC) {
        keel_box box;
        CHECK_OK(keel_box_alloc(16, &box));
        CHECK_OK(keel_box_free(box));
        allocs++;
        keel_exchange_get_stats(&now);
        CHECK(now.boxes_dead <= dead);
        unsigned reclaimed = dead - now.boxes_dead;
        CHECK(reclaimed <= KEEL_BOX_REAP_PER_ALLOC);
        most = reclaimed > most ? reclaimed : most;
        dead = now.boxes_dead;
    }
    CHECK_EQ(dead, before.boxes_dead);
    CHECK(allocs >= DEAD / KEEL_BOX_REAP_PER_ALLOC);
    CHECK_EQ(most, KEEL_BOX_REAP_PER_ALLOC); /* 100 dead side by side: some step takes 4 */
    /* Nothing leaked: the memory and the entries are back. */
    CHECK_EQ(now.boxes_live, before.boxes_live);
    CHECK_EQ(now.heap.in_use, before.heap.in_use);
    CHECK_OK(keel_domain_destroy(d));
}

KEEL_TEST(an_alloc_into_a_full_exchange_heap_sweeps_the_dead_boxes_first) {
    component comp = {.reexport = true};
    keel_domain *d = make(&comp, KEEL_RECOVER_RESTART, 0);
    keel_box_reap(100000);
    keel_exchange_stats before, now;
    keel_exchange_get_stats(&before);
    /* Dead boxes fill the 1 MiB exchange heap (setup()); far more memory than
     * KEEL_BOX_REAP_PER_ALLOC of them hold is asked next. */
    enum { DEAD = 15, SIZE = 64 * 1024 };
    kill_boxes_in(comp.rref, DEAD, SIZE);
    keel_box big;
    CHECK_OK(keel_box_alloc(8 * SIZE, &big));
    keel_exchange_get_stats(&now);
    CHECK_EQ(now.boxes_dead, before.boxes_dead); /* the sweep took every one */
    CHECK_OK(keel_box_free(big));
    keel_exchange_get_stats(&now);
    CHECK_EQ(now.heap.in_use, before.heap.in_use);
    CHECK_OK(keel_domain_destroy(d));
}

/* Four threads: three wait inside the domain while a fourth makes it fail. */
static component shared_comp = {.reexport = true};
static atomic_int statuses[4];

static void *waiter(void *arg) {
    int i = (int)(intptr_t)arg;
    atomic_store(&statuses[i], keel_rref_call(shared_comp.rref, M_WAIT, NULL, NULL));
    return NULL;
}

KEEL_TEST(a_failure_while_other_threads_are_inside_fails_their_calls_and_recovers_once) {
    keel_domain *d = make(&shared_comp, KEEL_RECOVER_RESTART, 0);
    atomic_store(&waiting, 0);
    atomic_store(&release_waiters, 0);
    pthread_t threads[3];
    for (int i = 0; i < 3; i++) {
        CHECK(pthread_create(&threads[i], NULL, waiter, (void *)(intptr_t)i) == 0);
    }
    while (atomic_load(&waiting) < 3) {
        sched_yield();
    }
    int code = 9;
    CHECK_STATUS(keel_rref_call(shared_comp.rref, M_PANIC, &code, NULL), KEEL_EPANIC);
    long result;
    /* Three threads still inside: new calls are refused until they drain. */
    CHECK_STATUS(keel_rref_call(shared_comp.rref, M_GET, NULL, &result), KEEL_ERECOVERING);
    atomic_store(&release_waiters, 1);
    for (int i = 0; i < 3; i++) {
        pthread_join(threads[i], NULL);
        CHECK_STATUS((keel_status)atomic_load(&statuses[i]), KEEL_EABORTED);
    }
    /* The last one out recovered it, exactly once. */
    CHECK_OK(keel_rref_call(shared_comp.rref, M_GET, NULL, &result));
    keel_domain_stats stats;
    keel_domain_get_stats(d, &stats);
    CHECK_EQ(stats.recoveries, 1);
    CHECK_EQ(shared_comp.inits, 2);
    CHECK_OK(keel_domain_destroy(d));
}

/* ---- strict mode ---- */

KEEL_TEST(a_strict_domain_works_from_inside_and_recovers) {
    component comp = {.reexport = true};
    keel_domain *d = make_mode(&comp, KEEL_RECOVER_RESTART, 0, true);
    CHECK(d != NULL);
    long add = 3, result;
    CHECK_OK(keel_rref_call(comp.rref, M_ADD, &add, &result));
    CHECK_OK(keel_rref_call(comp.rref, M_ADD, &add, &result));
    CHECK_EQ(result, 6);
    int code = 1;
    CHECK_STATUS(keel_rref_call(comp.rref, M_PANIC, &code, NULL), KEEL_EPANIC);
    CHECK_OK(keel_rref_call(comp.rref, M_ADD, &add, &result));
    CHECK_EQ(result, 3);
    CHECK_OK(keel_domain_destroy(d));
}

KEEL_TEST(a_wild_write_into_a_strict_domain_faults_and_is_blamed_on_the_writer) {
    component victim = {.reexport = true}, culprit = {.reexport = true};
    keel_domain *v = make_mode(&victim, KEEL_RECOVER_RESTART, 0, true);
    keel_domain *c = make(&culprit, KEEL_RECOVER_RESTART, 0);
    long add = 5, result;
    CHECK_OK(keel_rref_call(victim.rref, M_ADD, &add, &result));
    void *inside_victim = NULL;
    CHECK_OK(keel_rref_call(victim.rref, M_ADDRESS, NULL, &inside_victim));
    /* The culprit writes into the victim's heap while nobody is inside it. */
    CHECK_STATUS(keel_rref_call(culprit.rref, M_WRITE_AT, &inside_victim, NULL), KEEL_EFAULT);
    const keel_failure *f = keel_last_failure();
    CHECK_EQ(f->domain, keel_domain_id(c));
    CHECK(f->address == inside_victim);
    CHECK(strstr(f->message, "heap of domain 'counter'") != NULL);
    /* The victim's state is intact; only the culprit failed. */
    CHECK_OK(keel_rref_call(victim.rref, M_GET, NULL, &result));
    CHECK_EQ(result, 5);
    keel_domain_stats stats;
    keel_domain_get_stats(v, &stats);
    CHECK_EQ(stats.failures, 0);
    CHECK_OK(keel_domain_destroy(c));
    CHECK_OK(keel_domain_destroy(v));
}

/* ---- faults outside domains belong to the host ---- */

static sigjmp_buf host_escape;
static volatile int host_handler_ran;

static void host_handler(int signal) {
    (void)signal;
    host_handler_ran = 1;
    siglongjmp(host_escape, 1);
}

KEEL_TEST(a_fault_outside_domains_reaches_the_host_handler_installed_before_keel) {
    /* A child process: install a host handler, then keel, then fault in the host.
     * The child inherits this process's keel (up even when this test runs
     * alone): shut it down first. */
    setup();
    pid_t child = fork();
    if (child == 0) {
        if (keel_domain_system_shutdown() != KEEL_OK) {
            _exit(2);
        }
        struct sigaction host = {0};
        host.sa_handler = host_handler;
        sigemptyset(&host.sa_mask);
        sigaction(SIGSEGV, &host, NULL);
        if (keel_domain_system_init(1 << 16, 16) != KEEL_OK) {
            _exit(3);
        }
        if (sigsetjmp(host_escape, 1) == 0) {
            *(volatile int *)wild8 = 1;
            _exit(4);
        }
        _exit(host_handler_ran ? 0 : 5);
    }
    int status;
    CHECK(waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

KEEL_TEST(a_fault_outside_domains_without_a_host_handler_kills_as_usual) {
    setup(); /* as above: the child shuts down the keel it inherits */
    pid_t child = fork();
    if (child == 0) {
        if (keel_domain_system_shutdown() != KEEL_OK) {
            _exit(2);
        }
        struct sigaction dfl = {0};
        dfl.sa_handler = SIG_DFL;
        sigaction(SIGSEGV, &dfl, NULL);
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        if (keel_domain_system_init(1 << 16, 16) != KEEL_OK) {
            _exit(3);
        }
        *(volatile int *)wild8 = 1;
        _exit(4);
    }
    int status;
    CHECK(waitpid(child, &status, 0) == child);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
}

KEEL_TEST(bad_arguments_get_a_status) {
    setup();
    keel_domain *d = (keel_domain *)&d;
    keel_domain_config config = {.heap_size = 4096, .table_capacity = 1};
    CHECK_STATUS(keel_domain_create(&config, &d), KEEL_EINVAL); /* no init */
    CHECK(d == NULL);
    CHECK_STATUS(keel_domain_create(NULL, &d), KEEL_EINVAL);
    CHECK_STATUS(keel_domain_system_init(1 << 16, 16), KEEL_EBUSY);
    CHECK_STATUS(keel_rref_call_move((keel_rref){1, 0, 1}, 0, NULL, NULL, NULL), KEEL_EINVAL);
    CHECK_STATUS(keel_domain_destroy(NULL), KEEL_EINVAL);
}

KEEL_TEST_MAIN()
