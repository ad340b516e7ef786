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

enum {
    M_NOP,
    M_PANIC,
    M_LEND_AND_WAIT,
    M_WAIT,
    M_HOLD_BOX,
    M_RELEND,
    M_READ_LENT,
    M_LEND_OWN,
    M_CALL_OWNER,
    M_TRY_FREE,
    M_WATCH_LOAN,
    M_EXIT,
    M_CALL_EXIT,
    M_AWAIT_CANCEL,
    M_METHODS
};

static atomic_int stop, borrowed, release_loan;
static keel_rref borrower_rref; /* used by M_LEND_AND_WAIT and M_RELEND */
static atomic_int held_box_intact;   /* M_HOLD_BOX's verdict */
static atomic_int nested_box_status; /* what M_READ_LENT's second call got */

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

/* Allocates a box in its domain, fills it, waits, and checks it is untouched:
 * the memory of a box must not be reused while code still runs with it, even
 * after the incarnation that owns it has failed. */
static keel_status hold_box(void *object, keel_call *call) {
    (void)object;
    (void)call;
    keel_box box;
    unsigned char *data;
    if (keel_box_alloc(256, &box) != KEEL_OK ||
        keel_box_data(box, (void **)&data, NULL) != KEEL_OK) {
        return KEEL_ENOMEM;
    }
    memset(data, 0xA5, 256);
    atomic_store(&borrowed, 1);
    while (!atomic_load(&release_loan)) {
        sched_yield();
    }
    bool intact = true;
    for (unsigned i = 0; i < 256; i++) {
        intact = intact && data[i] == 0xA5;
    }
    atomic_store(&held_box_intact, intact ? 1 : 0);
    return KEEL_OK;
}

/* Passes the box it was lent to the borrower without lending it (which must
 * not let the borrower open it), then lends it on (which must). */
static keel_status relend(void *object, keel_call *call) {
    (void)object;
    unsigned char ignored;
    keel_box handle = call->box;
    atomic_store(&nested_box_status,
                 keel_rref_call(borrower_rref, M_READ_LENT, &handle, &ignored));
    return keel_rref_call_lend(borrower_rref, M_READ_LENT, call->box, NULL, call->result);
}

/* Reads the first byte of a box into *result: the box handle passed as the
 * argument if there is one, else the box the call carries. */
static keel_status read_lent(void *object, keel_call *call) {
    (void)object;
    unsigned char *data;
    keel_box box = call->arg != NULL ? *(keel_box *)call->arg : call->box;
    keel_status status = keel_box_data(box, (void **)&data, NULL);
    if (status != KEEL_OK) {
        return status;
    }
    *(unsigned char *)call->result = data[0];
    return KEEL_OK;
}

/* Owner and borrower of the nested-loan behaviour: the owner allocates a box
 * and lends it to the borrower (M_LEND_OWN), which calls back into the owner
 * (M_CALL_OWNER), whose inner frame tries to free and to move the box
 * (M_TRY_FREE): the loan is still open further out on the same thread. */
static keel_rref owner_rref;
static atomic_int inner_free_status, inner_move_status, outer_free_status;

static keel_status lend_own(void *object, keel_call *call) {
    (void)object;
    (void)call;
    keel_box box;
    if (keel_box_alloc(64, &box) != KEEL_OK) {
        return KEEL_ENOMEM;
    }
    keel_status status = keel_rref_call_lend(borrower_rref, M_CALL_OWNER, box, &box, NULL);
    atomic_store(&outer_free_status, keel_box_free(box)); /* the loan has ended */
    return status;
}
static keel_status call_owner(void *object, keel_call *call) {
    (void)object;
    return keel_rref_call(owner_rref, M_TRY_FREE, call->arg, NULL);
}
static keel_status try_free(void *object, keel_call *call) {
    (void)object;
    keel_box box = *(keel_box *)call->arg;
    atomic_store(&inner_free_status, keel_box_free(box));
    atomic_store(&inner_move_status, keel_rref_call_move(borrower_rref, M_NOP, &box, NULL, NULL));
    return KEEL_OK;
}

/* M_WATCH_LOAN: a loan open for a while, saying so in `in_loan`, and
 * watching for a free of the box it was lent that succeeded meanwhile (which
 * the free must refuse; the freer, too, looks at `in_loan` when it succeeds). */
static atomic_int watched_box_freed, freed_under_loan, in_loan;
static keel_status watch_loan(void *object, keel_call *call) {
    (void)object;
    void *data;
    if (keel_box_data(call->box, &data, NULL) != KEEL_OK) {
        return KEEL_EACCESS;
    }
    atomic_store(&in_loan, 1);
    for (int i = 0; i < 2000; i++) {
        if (atomic_load(&watched_box_freed)) {
            atomic_store(&freed_under_loan, 1);
        }
    }
    atomic_store(&in_loan, 0);
    return KEEL_OK;
}

/* M_EXIT: the calling thread ends inside the call. M_CALL_EXIT: calls
 * exit_rref's M_EXIT, so that the thread ends two calls deep. */
static keel_rref exit_rref;
static keel_status exit_thread(void *object, keel_call *call) {
    (void)object;
    (void)call;
    pthread_exit(NULL);
}
static keel_status call_exit(void *object, keel_call *call) {
    (void)object;
    (void)call;
    return keel_rref_call(exit_rref, M_EXIT, NULL, NULL);
}

/* M_AWAIT_CANCEL: says it is inside, then waits at a cancellation point. */
static atomic_int awaiting_cancel;
static keel_status await_cancel(void *object, keel_call *call) {
    (void)object;
    (void)call;
    atomic_store(&awaiting_cancel, 1);
    while (atomic_load(&awaiting_cancel)) {
        pthread_testcancel();
        sched_yield();
    }
    return KEEL_OK; /* not reached: the thread is cancelled */
}

static const keel_method methods[M_METHODS] = {
    [M_NOP] = nop,          [M_PANIC] = panic_now,   [M_LEND_AND_WAIT] = lend_and_wait,
    [M_WAIT] = wait_loan,   [M_HOLD_BOX] = hold_box, [M_RELEND] = relend,
    [M_READ_LENT] = read_lent, [M_LEND_OWN] = lend_own, [M_CALL_OWNER] = call_owner,
    [M_TRY_FREE] = try_free,   [M_WATCH_LOAN] = watch_loan, [M_EXIT] = exit_thread,
    [M_CALL_EXIT] = call_exit, [M_AWAIT_CANCEL] = await_cancel};
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

static component holder_c;

static void *hold_in_domain(void *arg) {
    (void)arg;
    (void)keel_rref_call(holder_c.rref, M_HOLD_BOX, NULL, NULL);
    return NULL;
}

KEEL_TEST(a_failed_domains_boxes_are_not_reused_while_a_thread_still_runs_in_it) {
    holder_c = (component){0};
    keel_domain *d = make(&holder_c, false);
    keel_box_reap(1000);
    keel_exchange_stats before;
    keel_exchange_get_stats(&before);
    atomic_store(&borrowed, 0);
    atomic_store(&release_loan, 0);
    atomic_store(&held_box_intact, -1);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, hold_in_domain, NULL) == 0);
    while (!atomic_load(&borrowed)) {
        sched_yield();
    }
    /* The domain fails while the thread still works with its box: the box is
     * dead (its incarnation is), but its memory stays until the thread is out. */
    CHECK_STATUS(keel_rref_call(holder_c.rref, M_PANIC, NULL, NULL), KEEL_EPANIC);
    CHECK_EQ(keel_box_reap(1000), 0);
    keel_exchange_stats during;
    keel_exchange_get_stats(&during);
    CHECK_EQ(during.boxes_dead, before.boxes_dead + 1);
    /* Whatever the host allocates now must not land on the held box. */
    keel_box mine[8];
    for (int i = 0; i < 8; i++) {
        unsigned char *data;
        CHECK_OK(keel_box_alloc(256, &mine[i]));
        CHECK_OK(keel_box_data(mine[i], (void **)&data, NULL));
        memset(data, 0x5A, 256);
    }
    atomic_store(&release_loan, 1);
    pthread_join(t, NULL);
    CHECK_EQ(atomic_load(&held_box_intact), 1);
    /* The thread left, the domain recovered: now the dead box goes. */
    CHECK_EQ(keel_box_reap(1000), 1);
    for (int i = 0; i < 8; i++) {
        CHECK_OK(keel_box_free(mine[i]));
    }
    keel_exchange_stats after;
    keel_exchange_get_stats(&after);
    CHECK_EQ(after.boxes_live, before.boxes_live);
    CHECK_EQ(after.heap.in_use, before.heap.in_use);
    CHECK_OK(keel_domain_destroy(d));
}

static component loan_c;
static keel_box loaned;
/* The lending thread: its loan has ended (or it could not lend), and it may
 * exit. It outlives its loan so that a free after it does not owe its
 * success to the thread's exit, which clears the thread's lend slots. */
static atomic_int loan_over, lender_may_exit;

static void end_lending_thread(void) {
    atomic_store(&loan_over, 1);
    while (!atomic_load(&lender_may_exit)) {
        sched_yield();
    }
}

static void *lend_from_host(void *arg) {
    (void)arg;
    (void)keel_rref_call_lend(loan_c.rref, M_WAIT, loaned, NULL, NULL);
    end_lending_thread();
    return NULL;
}

/* Starts `lend` on a thread of its own, which lends `loaned` (allocated here
 * first if `host_allocates`, else by that thread) to a call that waits. While
 * the loan is open the host, the box's owner, can neither free nor move it
 * from this thread; once the loan has ended, it can, the lending thread still
 * alive. Everything is undone before the checks. */
static void check_loan_on_another_thread(void *(*lend)(void *), bool host_allocates) {
    loan_c = (component){0};
    keel_domain *d = make(&loan_c, false);
    CHECK(d != NULL);
    loaned = KEEL_BOX_NONE;
    if (host_allocates) {
        CHECK_OK(keel_box_alloc(64, &loaned));
    }
    atomic_store(&borrowed, 0);
    atomic_store(&release_loan, 0);
    atomic_store(&loan_over, 0);
    atomic_store(&lender_may_exit, 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, lend, NULL) == 0);
    while (!atomic_load(&borrowed) && !atomic_load(&loan_over)) {
        sched_yield();
    }
    bool lent = atomic_load(&borrowed);
    keel_status free_lent = keel_box_free(loaned);
    keel_box moving = loaned;
    keel_status move_lent = keel_rref_call_move(loan_c.rref, M_NOP, &moving, NULL, NULL);
    void *data;
    keel_status read_lent = keel_box_data(loaned, &data, NULL);
    atomic_store(&release_loan, 1);
    while (!atomic_load(&loan_over)) {
        sched_yield();
    }
    keel_status free_after = keel_box_free(loaned); /* the loan has ended: now it goes */
    atomic_store(&lender_may_exit, 1);
    pthread_join(t, NULL);
    keel_status destroyed = keel_domain_destroy(d);
    CHECK(lent);
    CHECK_STATUS(free_lent, KEEL_EACCESS);
    CHECK_STATUS(move_lent, KEEL_EACCESS);
    CHECK(moving.generation == loaned.generation);
    CHECK_OK(read_lent); /* reading it is still the owner's right */
    CHECK_OK(free_after);
    CHECK_OK(destroyed);
}

KEEL_TEST(a_lent_box_can_be_neither_freed_nor_moved_by_another_thread_of_its_owner) {
    check_loan_on_another_thread(lend_from_host, true);
}

KEEL_TEST(a_borrower_may_lend_a_box_on_and_the_loan_ends_with_each_call) {
    component first = {0}, second = {0};
    keel_domain *a = make(&first, false);
    keel_domain *b = make(&second, false);
    borrower_rref = second.rref;
    keel_box box;
    unsigned char *data;
    CHECK_OK(keel_box_alloc(16, &box));
    CHECK_OK(keel_box_data(box, (void **)&data, NULL));
    data[0] = 42;
    unsigned char seen = 0;
    atomic_store(&nested_box_status, KEEL_OK);
    /* host -> a (lent) -> b (lent on by a): b reads what the host wrote. */
    CHECK_OK(keel_rref_call_lend(first.rref, M_RELEND, box, NULL, &seen));
    CHECK_EQ(seen, 42);
    /* a's plain call to b carried the handle but not the loan: no access */
    CHECK_STATUS((keel_status)atomic_load(&nested_box_status), KEEL_EACCESS);
    /* the loans ended with the calls: the box is the host's alone again */
    unsigned char after = 0;
    keel_box handle = box;
    CHECK_STATUS(keel_rref_call(second.rref, M_READ_LENT, &handle, &after), KEEL_EACCESS);
    CHECK_OK(keel_box_free(box));
    CHECK_OK(keel_domain_destroy(a));
    CHECK_OK(keel_domain_destroy(b));
}

/* The thread that allocated a box lends it without a locked instruction
 * (box_table.h): a free or a move from another thread must still see the loan. */
static void *alloc_and_lend(void *arg) {
    (void)arg;
    if (keel_box_alloc(64, &loaned) == KEEL_OK) {
        (void)keel_rref_call_lend(loan_c.rref, M_WAIT, loaned, NULL, NULL);
    }
    end_lending_thread();
    return NULL;
}

KEEL_TEST(a_box_lent_by_the_thread_that_allocated_it_is_safe_from_other_threads) {
    check_loan_on_another_thread(alloc_and_lend, false);
}

KEEL_TEST(an_owner_cannot_free_or_move_a_box_its_own_thread_lends_further_out) {
    component owner = {0}, borrower = {0};
    keel_domain *o = make(&owner, false);
    keel_domain *b = make(&borrower, false);
    owner_rref = owner.rref;
    borrower_rref = borrower.rref;
    atomic_store(&inner_free_status, KEEL_OK);
    atomic_store(&inner_move_status, KEEL_OK);
    atomic_store(&outer_free_status, KEEL_EINVAL);
    /* host -> owner (allocates, lends) -> borrower -> owner again (frees?) */
    CHECK_OK(keel_rref_call(owner.rref, M_LEND_OWN, NULL, NULL));
    CHECK_STATUS((keel_status)atomic_load(&inner_free_status), KEEL_EACCESS);
    CHECK_STATUS((keel_status)atomic_load(&inner_move_status), KEEL_EACCESS);
    CHECK_OK((keel_status)atomic_load(&outer_free_status));
    CHECK_OK(keel_domain_destroy(o));
    CHECK_OK(keel_domain_destroy(b));
}

/* Round after round, one thread allocates a box and lends it again and again
 * while another tries to free it: no free may succeed while a loan is open,
 * and once it has, every later lend is refused. */
enum { LOAN_ROUNDS = 2000 };
static _Atomic keel_box race_box;
static atomic_int race_round, race_lends, race_over;

static void *lend_until_freed(void *arg) {
    (void)arg;
    for (int round = 0; round < LOAN_ROUNDS && !atomic_load(&race_over); round++) {
        keel_box box;
        if (keel_box_alloc(64, &box) != KEEL_OK) {
            atomic_store(&freed_under_loan, 1);
            break;
        }
        atomic_store(&watched_box_freed, 0);
        atomic_store(&race_box, box);
        atomic_store(&race_lends, 0);
        atomic_store(&race_round, round + 1);
        keel_status s;
        /* KEEL_EACCESS: a lend that met the free closing the entry. */
        while ((s = keel_rref_call_lend(loan_c.rref, M_WATCH_LOAN, box, NULL, NULL)) == KEEL_OK ||
               s == KEEL_EACCESS) {
            atomic_fetch_add(&race_lends, s == KEEL_OK);
        }
        if (s != KEEL_ESTALE) {
            atomic_store(&freed_under_loan, 1); /* nothing else may refuse it */
        }
        while (atomic_load(&race_round) != -(round + 1) && !atomic_load(&race_over)) {
            sched_yield(); /* the freer has seen the round end */
        }
    }
    atomic_store(&race_over, 1); /* also when it gave up: the freer stops waiting */
    return NULL;
}

KEEL_TEST(a_free_racing_a_plain_loan_from_another_thread_never_wins_while_it_is_open) {
    loan_c = (component){0};
    keel_domain *d = make(&loan_c, false);
    atomic_store(&freed_under_loan, 0);
    atomic_store(&race_round, 0);
    atomic_store(&race_lends, 0);
    atomic_store(&race_over, 0);
    atomic_store(&in_loan, 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, lend_until_freed, NULL) == 0);
    long refused = 0;
    keel_status failed = KEEL_OK;
    for (int round = 1; round <= LOAN_ROUNDS && failed == KEEL_OK; round++) {
        while (atomic_load(&race_round) != round && !atomic_load(&race_over)) {
            sched_yield();
        }
        while (atomic_load(&race_lends) < 2 && !atomic_load(&race_over)) {
            sched_yield(); /* the lender is lending, most of the time inside a loan */
        }
        if (atomic_load(&race_over)) {
            break; /* the lender gave up: freed_under_loan says why */
        }
        keel_box box = atomic_load(&race_box);
        keel_status s;
        while ((s = keel_box_free(box)) == KEEL_EACCESS) {
            refused++;
        }
        if (s == KEEL_OK && atomic_load(&in_loan)) {
            atomic_store(&freed_under_loan, 1); /* freed under an open loan */
        }
        failed = s;
        atomic_store(&watched_box_freed, 1);
        atomic_store(&race_round, -round);
    }
    atomic_store(&race_over, 1);
    pthread_join(t, NULL);
    CHECK_OK(keel_domain_destroy(d));
    CHECK_OK(failed);
    CHECK_EQ(atomic_load(&freed_under_loan), 0);
    /* The race ran: loans were open when frees came (not a proof, a sign). */
    CHECK(refused > 0);
}

/* More threads than presence records: the ones beyond share a record. Every
 * call that entered is counted once, before and after the threads exit. */
enum { MANY_THREADS = 80, MANY_CALLS = 300 };
static pthread_barrier_t many_barrier;
static component many_c;
static atomic_long many_entered, many_corrupt;

static void *many_caller(void *arg) {
    int index = (int)(intptr_t)arg;
    long entered = 0;
    for (int i = 0; i < MANY_CALLS; i++) {
        if (i == 1) {
            pthread_barrier_wait(&many_barrier); /* all threads hold a record now */
        }
        unsigned method = index == 0 && i == MANY_CALLS / 2 ? M_PANIC : M_NOP;
        keel_status s = keel_rref_call(many_c.rref, method, NULL, NULL);
        if (s == KEEL_ECORRUPT) {
            atomic_fetch_add(&many_corrupt, 1);
        }
        /* OK, EPANIC and EABORTED calls entered the domain; refused ones did not. */
        entered += s == KEEL_OK || s == KEEL_EPANIC || s == KEEL_EABORTED || s == KEEL_ECORRUPT;
    }
    atomic_fetch_add(&many_entered, entered);
    pthread_barrier_wait(&many_barrier);
    return NULL;
}

KEEL_TEST(threads_beyond_the_presence_records_call_safely_and_every_call_is_counted) {
    many_c = (component){0};
    keel_domain *d = make(&many_c, false);
    atomic_store(&many_entered, 0);
    atomic_store(&many_corrupt, 0);
    CHECK(pthread_barrier_init(&many_barrier, NULL, MANY_THREADS + 1) == 0);
    pthread_t threads[MANY_THREADS];
    for (int i = 0; i < MANY_THREADS; i++) {
        CHECK(pthread_create(&threads[i], NULL, many_caller, (void *)(intptr_t)i) == 0);
    }
    pthread_barrier_wait(&many_barrier);
    pthread_barrier_wait(&many_barrier); /* every thread has finished calling */
    keel_domain_stats stats;
    keel_domain_get_stats(d, &stats);
    CHECK_EQ(stats.calls, (uint64_t)atomic_load(&many_entered));
    CHECK_EQ(stats.failures, 1);
    for (int i = 0; i < MANY_THREADS; i++) {
        pthread_join(threads[i], NULL);
    }
    keel_domain_get_stats(d, &stats); /* their counts survive their exit */
    CHECK_EQ(stats.calls, (uint64_t)atomic_load(&many_entered));
    CHECK_EQ(stats.recoveries, 1);
    CHECK_EQ(atomic_load(&many_corrupt), 0);
    CHECK_OK(keel_rref_call(many_c.rref, M_NOP, NULL, NULL));
    pthread_barrier_destroy(&many_barrier);
    CHECK_OK(keel_domain_destroy(d));
}

/* A thread that ends inside calls (pthread_exit in a method, or a
 * cancellation): each domain it was inside fails and is recovered, the box
 * it lent is free again, and the domains can be destroyed. */
static keel_box exit_lent;   /* the host's, lent by a thread that did not allocate it */
static keel_rref exit_entry; /* where the exiting thread calls in */
static unsigned exit_method;
static void *call_and_exit(void *arg) {
    (void)arg;
    (void)keel_rref_call_lend(exit_entry, exit_method, exit_lent, NULL, NULL);
    return NULL; /* never reached */
}

typedef enum { EXIT_INSIDE, EXIT_NESTED, CANCELLED_INSIDE } exit_way;

static void exit_inside(exit_way way) {
    bool nested = way == EXIT_NESTED;
    component outer = {0}, inner = {0};
    keel_domain *o = make(&outer, false);
    keel_domain *i = make(&inner, false);
    CHECK(o != NULL && i != NULL);
    exit_rref = inner.rref;
    exit_entry = nested ? outer.rref : inner.rref;
    exit_method = way == EXIT_NESTED ? M_CALL_EXIT : way == EXIT_INSIDE ? M_EXIT : M_AWAIT_CANCEL;
    CHECK_OK(keel_box_alloc(32, &exit_lent));
    atomic_store(&awaiting_cancel, 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, call_and_exit, NULL) == 0);
    if (way == CANCELLED_INSIDE) {
        while (!atomic_load(&awaiting_cancel)) {
            sched_yield();
        }
        CHECK(pthread_cancel(t) == 0);
    }
    CHECK(pthread_join(t, NULL) == 0);
    /* Each domain the thread was inside failed once and is back. */
    keel_domain_stats stats;
    keel_domain_get_stats(i, &stats);
    CHECK_EQ(stats.failures, 1);
    CHECK_EQ(stats.recoveries, 1);
    CHECK_EQ(keel_domain_get_state(i), KEEL_DOMAIN_RUNNING);
    keel_domain_get_stats(o, &stats);
    CHECK_EQ(stats.failures, nested ? 1 : 0);
    CHECK_EQ(stats.recoveries, nested ? 1 : 0);
    CHECK_OK(keel_rref_call(inner.rref, M_NOP, NULL, NULL));
    CHECK_OK(keel_rref_call(outer.rref, M_NOP, NULL, NULL));
    /* The loan of the host's box ended with the thread. */
    CHECK_OK(keel_box_free(exit_lent));
    /* Nobody is counted inside any more: destroy does not wait for ever. */
    CHECK_OK(keel_domain_destroy(o));
    CHECK_OK(keel_domain_destroy(i));
}

KEEL_TEST(a_thread_that_exits_inside_a_call_fails_the_domain_and_it_recovers) {
    exit_inside(EXIT_INSIDE);
}

KEEL_TEST(a_thread_that_exits_two_calls_deep_fails_both_domains_and_ends_its_loans) {
    exit_inside(EXIT_NESTED);
}

KEEL_TEST(a_thread_cancelled_inside_a_call_fails_the_domain_and_it_recovers) {
    exit_inside(CANCELLED_INSIDE);
}

KEEL_TEST_MAIN()
