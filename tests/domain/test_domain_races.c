/*
 * Regressions: races and ownership corner cases of domains, each of which once
 * broke. The stress behaviours run for a bounded number of rounds.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "keel/domain.h"
#include "keel_test.h"

enum { M_NOP, M_PANIC, M_LEND_AND_WAIT, M_WAIT, M_METHODS };

static atomic_int stop, borrowed, release_loan;
static keel_rref borrower_rref; /* used by M_LEND_AND_WAIT */

static keel_status nop(void *object, keel_call *call) {
    (void)call;
    /* Touch the incarnation's object: on a stale incarnation this would read a
     * reset heap. The object is always the one of the incarnation validated. */
    return *(int *)object == 7 ? KEEL_OK : KEEL_ECORRUPT;
}
static keel_status panic_now(void *object, keel_call *call) {
    (void)object;
    (void)call;
    keel_panic("injected");
}
static keel_status lend_and_wait(void *object, keel_call *call) {
    (void)object;
    (void)call;
    keel_box box;
    if (keel_box_alloc(100, &box) != KEEL_OK) {
        return KEEL_ENOMEM;
    }
    (void)keel_rref_call_lend(borrower_rref, M_WAIT, box, NULL, NULL);
    return KEEL_OK;
}
static keel_status wait_loan(void *object, keel_call *call) {
    (void)object;
    (void)call;
    atomic_store(&borrowed, 1);
    while (!atomic_load(&release_loan)) {
        sched_yield();
    }
    return KEEL_OK;
}

static const keel_method methods[M_METHODS] = {
    [M_NOP] = nop, [M_PANIC] = panic_now, [M_LEND_AND_WAIT] = lend_and_wait, [M_WAIT] = wait_loan};
static const keel_interface interface = {"race", M_METHODS, methods};

typedef struct component {
    keel_rref rref;
    int inits;
    bool fail_init_after_box;
} component;

static keel_status init(keel_domain *d, void *context) {
    component *c = context;
    if (c->fail_init_after_box) {
        keel_box box;
        (void)keel_box_alloc(64, &box);
        return KEEL_ENOMEM;
    }
    int *object;
    keel_status status = keel_domain_alloc(sizeof *object, (void **)&object);
    if (status != KEEL_OK) {
        return status;
    }
    *object = 7;
    if (c->inits++ == 0) {
        return keel_domain_export(d, object, &interface, &c->rref);
    }
    return keel_domain_reexport(d, c->rref, object, &interface);
}

static keel_domain *make(component *c, bool strict) {
    static bool ready;
    if (!ready) {
        if (keel_domain_system_init(1 << 20, 256) != KEEL_OK) {
            abort();
        }
        ready = true;
    }
    keel_domain_config config = {.name = "race",
                                 .heap_size = 8192,
                                 .table_capacity = 2,
                                 .init = init,
                                 .context = c,
                                 .strict = strict};
    keel_domain *d = NULL;
    return keel_domain_create(&config, &d) == KEEL_OK ? d : NULL;
}

/* The rref the hammering threads call (16 bytes: guarded by a mutex). */
static keel_rref target_rref;
static pthread_mutex_t target_lock = PTHREAD_MUTEX_INITIALIZER;

static void set_target(keel_rref r) {
    pthread_mutex_lock(&target_lock);
    target_rref = r;
    pthread_mutex_unlock(&target_lock);
}

static keel_rref get_target(void) {
    pthread_mutex_lock(&target_lock);
    keel_rref r = target_rref;
    pthread_mutex_unlock(&target_lock);
    return r;
}

static void *hammer(void *arg) {
    atomic_int *bad = arg;
    while (!atomic_load(&stop)) {
        keel_status s = keel_rref_call(get_target(), M_NOP, NULL, NULL);
        if (s == KEEL_ECORRUPT) {
            atomic_fetch_add(bad, 1); /* a method ran on a stale incarnation */
        }
    }
    return NULL;
}

KEEL_TEST(destroying_a_domain_while_threads_call_it_never_touches_freed_memory) {
    component c = {0};
    keel_domain *d = make(&c, false);
    set_target(c.rref);
    atomic_int bad = 0;
    atomic_store(&stop, 0);
    pthread_t threads[2];
    for (int i = 0; i < 2; i++) {
        CHECK(pthread_create(&threads[i], NULL, hammer, &bad) == 0);
    }
    for (int round = 0; round < 2000; round++) {
        CHECK_OK(keel_domain_destroy(d));
        c = (component){0};
        d = make(&c, false);
        CHECK(d != NULL);
        set_target(c.rref);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++) {
        pthread_join(threads[i], NULL);
    }
    CHECK_EQ(atomic_load(&bad), 0);
    CHECK_OK(keel_domain_destroy(d));
}

static void failures_under_load(bool strict) {
    component c = {0};
    keel_domain *d = make(&c, strict);
    set_target(c.rref);
    atomic_int bad = 0;
    atomic_store(&stop, 0);
    pthread_t threads[3];
    for (int i = 0; i < 3; i++) {
        if (pthread_create(&threads[i], NULL, hammer, &bad) != 0) {
            abort();
        }
    }
    /* Fail the domain again and again while three threads call it. */
    unsigned failed = 0;
    for (int round = 0; round < 3000; round++) {
        failed += keel_rref_call(c.rref, M_PANIC, NULL, NULL) == KEEL_EPANIC;
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 3; i++) {
        pthread_join(threads[i], NULL);
    }
    CHECK(failed > 0);
    CHECK_EQ(atomic_load(&bad), 0); /* no method ever ran on a reset incarnation */
    /* Every failure led to exactly one recovery, and the domain serves again. */
    keel_domain_stats stats;
    keel_domain_get_stats(d, &stats);
    CHECK_EQ(stats.recoveries, c.inits - 1);
    CHECK_OK(keel_rref_call(c.rref, M_NOP, NULL, NULL));
    CHECK_OK(keel_domain_destroy(d));
}

KEEL_TEST(a_domain_failing_under_concurrent_calls_recovers_once_per_failure) {
    failures_under_load(false);
}

KEEL_TEST(a_strict_domain_failing_under_concurrent_calls_never_faults_the_host) {
    failures_under_load(true);
}

static component lender_c;

static void *lend_from_domain(void *arg) {
    (void)arg;
    (void)keel_rref_call(lender_c.rref, M_LEND_AND_WAIT, NULL, NULL);
    return NULL;
}

KEEL_TEST(a_box_lent_by_a_domain_that_fails_during_the_loan_dies_with_that_incarnation) {
    lender_c = (component){0};
    component borrower = {0};
    keel_domain *l = make(&lender_c, false);
    keel_domain *b = make(&borrower, false);
    borrower_rref = borrower.rref;
    keel_box_reap(1000);
    keel_exchange_stats before;
    keel_exchange_get_stats(&before);
    atomic_store(&borrowed, 0);
    atomic_store(&release_loan, 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, lend_from_domain, NULL) == 0);
    while (!atomic_load(&borrowed)) {
        sched_yield();
    }
    /* The lender fails while its box is on loan. */
    CHECK_STATUS(keel_rref_call(lender_c.rref, M_PANIC, NULL, NULL), KEEL_EPANIC);
    atomic_store(&release_loan, 1);
    pthread_join(t, NULL);
    keel_box_reap(1000);
    keel_exchange_stats after;
    keel_exchange_get_stats(&after);
    CHECK_EQ(after.boxes_live, before.boxes_live);
    CHECK_EQ(after.heap.in_use, before.heap.in_use);
    CHECK_OK(keel_domain_destroy(l));
    CHECK_OK(keel_domain_destroy(b));
}

static keel_status refuse_nop(void *state, const keel_call *call) {
    (void)state;
    return call->method == M_NOP ? KEEL_EACCESS : KEEL_OK;
}

KEEL_TEST(a_filter_survives_the_recovery_of_its_domain) {
    component c = {0};
    keel_domain *d = make(&c, false);
    CHECK_OK(keel_rref_set_filter(c.rref, refuse_nop, NULL));
    CHECK_STATUS(keel_rref_call(c.rref, M_NOP, NULL, NULL), KEEL_EFILTERED);
    /* A caller crashes the domain through a method the filter lets through... */
    CHECK_STATUS(keel_rref_call(c.rref, M_PANIC, NULL, NULL), KEEL_EPANIC);
    CHECK_EQ(c.inits, 2);
    /* ...and the re-exported slot still refuses what it refused. */
    CHECK_STATUS(keel_rref_call(c.rref, M_NOP, NULL, NULL), KEEL_EFILTERED);
    CHECK_OK(keel_domain_destroy(d));
}

KEEL_TEST(a_failed_create_leaves_no_box_behind) {
    component ok = {0};
    keel_domain *warm = make(&ok, false); /* initialises the system */
    keel_box_reap(1000);
    keel_exchange_stats before;
    keel_exchange_get_stats(&before);
    component failing = {.fail_init_after_box = true};
    CHECK(make(&failing, false) == NULL);
    keel_exchange_stats after;
    keel_exchange_get_stats(&after);
    CHECK_EQ(after.boxes_live + after.boxes_dead, before.boxes_live + before.boxes_dead);
    CHECK_EQ(after.heap.in_use, before.heap.in_use);
    CHECK_OK(keel_domain_destroy(warm));
}

KEEL_TEST_MAIN()
