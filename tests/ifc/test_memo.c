/*
 * The call memo (src/ifc/internal.h): a check that passed is reused only
 * while no principal's label or clearance has changed, and only for the same
 * caller, callee and caller's frame bound. Each behaviour below is one way a
 * stale or misapplied memo would let a flow through; each would fail if the
 * memo missed that change or that part of its key. The last ones look inside:
 * the memo does answer repeated calls, and a check made while a label write
 * is in flight is not remembered.
 */
#include <pthread.h>

#include "ifc/internal.h"
#include "keel/ifc.h"
#include "keel_test.h"
#include "probe.h"

static unsigned alice;
static keel_label ALICE;
static const keel_label PUBLIC = KEEL_LABEL_PUBLIC, TOP = KEEL_LABEL_TOP;

static void setup(void) {
    if (keel_domain_system_init(1u << 20, 64) != KEEL_OK) {
        abort();
    }
    keel_ifc_set_reporter(NULL, NULL);
    if (keel_ifc_category_create("alice", &alice) != KEEL_OK) {
        abort();
    }
    ALICE = (keel_label){KEEL_CATEGORY(alice), 0};
}

static void teardown(probe_domain *pds, unsigned n) {
    for (unsigned i = 0; i < n; i++) {
        if (pds[i].domain != NULL) {
            keel_domain_destroy(pds[i].domain);
        }
    }
    keel_ifc_set_reporter(NULL, NULL);
    keel_ifc_set_mode(KEEL_IFC_ENFORCE);
    if (keel_domain_system_shutdown() != KEEL_OK) {
        abort();
    }
}

static uint32_t id_of(const probe_domain *pd) {
    return keel_domain_id(pd->domain);
}

/* The host calls `via`, which calls `to`'s method P_NOP. */
static keel_status call_through(const probe_domain *via, const probe_domain *to) {
    probe_call c = {.rref = to->rref, .method = P_NOP};
    return keel_rref_call(via->rref, P_CALL, &c, NULL);
}

KEEL_TEST(a_relabel_of_the_caller_is_seen_by_its_next_call) {
    setup();
    probe_domain p = {0};
    CHECK_OK(probe_create(&p, "public", PUBLIC, PUBLIC));
    CHECK_OK(keel_rref_call(p.rref, P_NOP, NULL, NULL));
    CHECK_OK(keel_rref_call(p.rref, P_NOP, NULL, NULL)); /* the same check again */
    CHECK_OK(keel_ifc_relabel_self(ALICE));
    CHECK_STATUS(keel_rref_call(p.rref, P_NOP, NULL, NULL), KEEL_ECLEARANCE);
    CHECK(strstr(keel_ifc_last_refusal()->place, "(its argument)") != NULL);
    teardown(&p, 1);
}

typedef struct waiter {
    keel_rref via;
    probe_call call;
    keel_status status;
} waiter;

static void *call_and_wait(void *arg) {
    waiter *w = arg;
    w->status = keel_rref_call(w->via, P_CALL, &w->call, NULL);
    return NULL;
}

/* The callee's label is raised by a call on another thread (a raise, not a
 * relabel: the only label write between the two calls of this thread). */
KEEL_TEST(a_raise_of_the_callee_on_another_thread_is_seen_by_the_next_call) {
    setup();
    probe_domain p = {0}, q = {0}, s = {0};
    CHECK_OK(probe_create(&p, "p", PUBLIC, PUBLIC));
    CHECK_OK(probe_create(&q, "q", PUBLIC, ALICE));
    CHECK_OK(probe_create(&s, "s", ALICE, ALICE));
    CHECK_OK(call_through(&p, &q));
    CHECK_OK(call_through(&p, &q));
    atomic_store(&probe_inside, 0);
    atomic_store(&probe_release, 0);
    /* The other thread: host -> s -> q, which raises q to alice and waits
     * inside q (so that the host's label is not raised yet). */
    waiter w = {.via = s.rref, .call = {.rref = q.rref, .method = P_WAIT}};
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, call_and_wait, &w) == 0);
    while (atomic_load(&probe_inside) == 0) {
    }
    CHECK(keel_label_equal(keel_ifc_label(id_of(&q)), ALICE));
    CHECK(keel_label_equal(keel_ifc_label(KEEL_HOST_DOMAIN), PUBLIC));
    /* p may not learn alice's secrets: q's answer is refused before q runs. */
    keel_status status = call_through(&p, &q);
    atomic_store(&probe_release, 1);
    pthread_join(thread, NULL);
    CHECK_STATUS(status, KEEL_ECLEARANCE);
    CHECK(strstr(keel_ifc_last_refusal()->place, "call into 'q' from 'p' (its result)") != NULL);
    CHECK_OK(w.status);
    probe_domain pds[3] = {p, q, s};
    teardown(pds, 3);
}

KEEL_TEST(a_domain_created_again_under_the_same_id_is_checked_afresh) {
    setup();
    probe_domain p = {0};
    CHECK_OK(probe_create(&p, "public", PUBLIC, PUBLIC));
    uint32_t id = id_of(&p);
    CHECK_OK(keel_rref_call(p.rref, P_NOP, NULL, NULL));
    CHECK_OK(keel_rref_call(p.rref, P_NOP, NULL, NULL));
    CHECK_OK(keel_domain_destroy(p.domain));
    /* Its successor takes the lowest free id, its own: and knows alice's data. */
    CHECK_OK(probe_create(&p, "secret", ALICE, ALICE));
    CHECK_EQ(id_of(&p), id);
    CHECK_OK(keel_rref_call(p.rref, P_NOP, NULL, NULL));
    /* Its answer carried alice's label back to the host. */
    CHECK(keel_label_equal(keel_ifc_label(KEEL_HOST_DOMAIN), ALICE));
    teardown(&p, 1);
}

KEEL_TEST(a_memo_is_for_one_caller) {
    setup();
    probe_domain p = {0}, q = {0}, r = {0};
    CHECK_OK(probe_create(&p, "p", PUBLIC, PUBLIC));
    CHECK_OK(probe_create(&q, "q", PUBLIC, PUBLIC));
    CHECK_OK(probe_create(&r, "r", ALICE, ALICE));
    CHECK_OK(call_through(&p, &q));
    CHECK_OK(call_through(&p, &q));
    /* r knows alice's secrets, which q may not learn. */
    CHECK_STATUS(call_through(&r, &q), KEEL_ECLEARANCE);
    CHECK(strstr(keel_ifc_last_refusal()->place, "call into 'q' from 'r' (its argument)") != NULL);
    probe_domain pds[3] = {p, q, r};
    teardown(pds, 3);
}

KEEL_TEST(a_memo_is_for_one_callee) {
    setup();
    /* Ids 1 to 5: the first and the last share a memo entry. */
    probe_domain pds[5] = {{0}};
    CHECK_OK(probe_create(&pds[0], "first", PUBLIC, PUBLIC));
    CHECK_OK(probe_create(&pds[1], "caller", PUBLIC, PUBLIC));
    CHECK_OK(probe_create(&pds[2], "two", PUBLIC, PUBLIC));
    CHECK_OK(probe_create(&pds[3], "three", PUBLIC, PUBLIC));
    CHECK_OK(probe_create(&pds[4], "fifth", ALICE, ALICE));
    CHECK_EQ(id_of(&pds[0]) % IFC_MEMO_ENTRIES, id_of(&pds[4]) % IFC_MEMO_ENTRIES);
    CHECK_OK(call_through(&pds[1], &pds[0]));
    CHECK_OK(call_through(&pds[1], &pds[0]));
    CHECK_STATUS(call_through(&pds[1], &pds[4]), KEEL_ECLEARANCE);
    CHECK(strstr(keel_ifc_last_refusal()->place, "call into 'fifth' from 'caller' (its result)") !=
          NULL);
    teardown(pds, 5);
}

static unsigned x_to_y_reports;

static void count_x_to_y(const keel_flow_refusal *refusal, void *context) {
    (void)context;
    if (strstr(refusal->place, "call into 'y' from 'x'") != NULL) {
        x_to_y_reports++;
    }
}

/* In audit mode a domain can hold more than its clearance, and a frame can
 * then be bounded below its domain's label: the same caller and callee,
 * reached through a frame with a lower bound, must be checked again. */
KEEL_TEST(a_memo_is_for_one_frame_bound) {
    setup();
    probe_domain w = {0}, x = {0}, y = {0};
    CHECK_OK(probe_create(&w, "w", PUBLIC, PUBLIC));
    CHECK_OK(probe_create(&x, "x", ALICE, ALICE));
    CHECK_OK(probe_create(&y, "y", ALICE, ALICE));
    keel_ifc_set_mode(KEEL_IFC_AUDIT);
    CHECK_OK(keel_ifc_relabel_self(ALICE));
    CHECK_OK(keel_rref_call(w.rref, P_NOP, NULL, NULL)); /* w now holds alice */
    CHECK(keel_label_equal(keel_ifc_label(id_of(&w)), ALICE));
    keel_ifc_set_reporter(count_x_to_y, NULL);
    x_to_y_reports = 0;
    /* host -> x -> y: every label is alice, every bound admits it. */
    CHECK_OK(call_through(&x, &y));
    CHECK_OK(call_through(&x, &y));
    CHECK_EQ(x_to_y_reports, 0);
    /* host -> w -> x -> y: x's frame is bounded by w's clearance, public. */
    probe_call to_y = {.rref = y.rref, .method = P_NOP};
    probe_call to_x = {.rref = x.rref, .method = P_CALL, .arg = &to_y};
    CHECK_OK(keel_rref_call(w.rref, P_CALL, &to_x, NULL));
    CHECK_EQ(x_to_y_reports, 1); /* y's answer exceeds x's frame's bound */
    probe_domain pds[3] = {w, x, y};
    teardown(pds, 3);
}

/* ---- inside the memo ---- */

KEEL_TEST(repeated_calls_with_equal_labels_write_nothing_and_are_remembered) {
    setup();
    probe_domain p = {0};
    CHECK_OK(probe_create(&p, "p", PUBLIC, PUBLIC));
    CHECK_OK(keel_rref_call(p.rref, P_NOP, NULL, NULL));
    uint64_t epoch = ifc_epoch();
    const ifc_memo *m = &keel_ifc_memo_[id_of(&p) % IFC_MEMO_ENTRIES];
    CHECK_EQ(m->epoch, epoch);
    CHECK_EQ(m->caller, KEEL_HOST_DOMAIN);
    CHECK_EQ(m->callee, id_of(&p));
    CHECK(keel_label_equal(m->frame_bound, TOP));
    CHECK(keel_label_equal(m->bound, TOP)); /* the host's clearance */
    for (int i = 0; i < 10; i++) {
        CHECK_OK(keel_rref_call(p.rref, P_NOP, NULL, NULL));
    }
    CHECK_EQ(ifc_epoch(), epoch);
    /* Any label write moves the epoch, even one that changes nothing. */
    CHECK_OK(keel_ifc_relabel_self(PUBLIC));
    CHECK(ifc_epoch() > epoch);
    teardown(&p, 1);
}

KEEL_TEST(a_check_made_while_a_label_write_is_in_flight_is_not_remembered) {
    setup();
    probe_domain p = {0};
    CHECK_OK(probe_create(&p, "p", PUBLIC, PUBLIC));
    const ifc_memo *m = &keel_ifc_memo_[id_of(&p) % IFC_MEMO_ENTRIES];
    ifc_write_begin(); /* a writer between its two counts */
    CHECK_OK(keel_rref_call(p.rref, P_NOP, NULL, NULL));
    CHECK(m->epoch != ifc_epoch());
    ifc_write_end();
    CHECK_OK(keel_rref_call(p.rref, P_NOP, NULL, NULL));
    CHECK_EQ(m->epoch, ifc_epoch());
    teardown(&p, 1);
}

KEEL_TEST(the_epoch_never_goes_back_across_a_restart) {
    setup();
    probe_domain p = {0};
    CHECK_OK(probe_create(&p, "p", PUBLIC, PUBLIC));
    CHECK_OK(keel_rref_call(p.rref, P_NOP, NULL, NULL));
    uint64_t before = ifc_epoch();
    teardown(&p, 1);
    setup();
    CHECK(ifc_epoch() > before);
    CHECK_OK(probe_create(&p, "p", ALICE, ALICE));
    CHECK_OK(keel_rref_call(p.rref, P_NOP, NULL, NULL));
    CHECK(keel_label_equal(keel_ifc_label(KEEL_HOST_DOMAIN), ALICE));
    teardown(&p, 1);
}

KEEL_TEST_MAIN()
