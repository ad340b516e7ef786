/* Information-flow control (include/keel/ifc.h), one rule per behaviour. */
#include <pthread.h>

#include "keel/ifc.h"
#include "keel_test.h"
#include "probe.h"

static unsigned alice, bob, sensor;
static keel_label ALICE, BOB, BOTH, VOUCHED;
static const keel_label PUBLIC = KEEL_LABEL_PUBLIC, TOP = KEEL_LABEL_TOP;

static void setup(void) {
    if (keel_domain_system_init(1u << 20, 256) != KEEL_OK) {
        abort();
    }
    keel_ifc_set_reporter(NULL, NULL);
    if (keel_ifc_category_create("alice", &alice) != KEEL_OK ||
        keel_ifc_category_create("bob", &bob) != KEEL_OK ||
        keel_ifc_category_create("sensor", &sensor) != KEEL_OK) {
        abort();
    }
    ALICE = (keel_label){KEEL_CATEGORY(alice), 0};
    BOB = (keel_label){KEEL_CATEGORY(bob), 0};
    BOTH = keel_label_join(ALICE, BOB);
    VOUCHED = (keel_label){0, KEEL_CATEGORY(sensor)};
}

static void teardown(probe_domain *pds, unsigned n) {
    for (unsigned i = 0; i < n; i++) {
        if (pds[i].domain != NULL) {
            keel_domain_destroy(pds[i].domain);
        }
    }
    keel_ifc_set_mode(KEEL_IFC_ENFORCE);
    if (keel_domain_system_shutdown() != KEEL_OK) {
        abort();
    }
}

/* A host box of `size` bytes labelled `label` (raising a label is free). */
static keel_box labelled_box(keel_label label) {
    keel_box box;
    if (keel_box_alloc(16, &box) != KEEL_OK || keel_box_relabel(box, label) != KEEL_OK) {
        abort();
    }
    return box;
}

static bool same(keel_label a, keel_label b) {
    return keel_label_equal(a, b);
}

KEEL_TEST(labels_form_a_lattice) {
    /* Every label over three categories, secrecy and integrity: 64 labels. */
    keel_label all[64];
    for (unsigned i = 0; i < 64; i++) {
        all[i] = (keel_label){i & 7u, i >> 3};
    }
    for (unsigned a = 0; a < 64; a++) {
        CHECK(keel_label_flows(all[a], all[a]));
        CHECK(keel_label_flows(PUBLIC, (keel_label){all[a].secrecy, 0}));
        for (unsigned b = 0; b < 64; b++) {
            keel_label j = keel_label_join(all[a], all[b]), m = keel_label_meet(all[a], all[b]);
            CHECK(keel_label_flows(all[a], j) && keel_label_flows(all[b], j));
            CHECK(keel_label_flows(m, all[a]) && keel_label_flows(m, all[b]));
            if (keel_label_flows(all[a], all[b]) && keel_label_flows(all[b], all[a])) {
                CHECK(same(all[a], all[b]));
            }
            for (unsigned c = 0; c < 64; c++) {
                bool ac = keel_label_flows(all[a], all[c]), bc = keel_label_flows(all[b], all[c]);
                /* The join is the least upper bound, the meet the greatest lower. */
                CHECK((ac && bc) == keel_label_flows(j, all[c]));
                bool ca = keel_label_flows(all[c], all[a]), cb = keel_label_flows(all[c], all[b]);
                CHECK((ca && cb) == keel_label_flows(all[c], m));
                if (keel_label_flows(all[a], all[b]) && keel_label_flows(all[b], all[c])) {
                    CHECK(ac);
                }
            }
        }
    }
    /* Secrets flow up; guarantees flow down. */
    CHECK(!keel_label_flows((keel_label){1, 0}, PUBLIC));
    CHECK(!keel_label_flows(PUBLIC, (keel_label){0, 1}));
    CHECK(keel_label_flows((keel_label){0, 1}, PUBLIC));
}

KEEL_TEST(categories_are_unique_bounded_and_privilege_their_creator) {
    setup();
    unsigned c;
    CHECK_STATUS(keel_ifc_category_create("alice", &c), KEEL_EINVAL);
    CHECK_STATUS(keel_ifc_category_create("", &c), KEEL_EINVAL);
    CHECK_STATUS(keel_ifc_category_create("a-name-much-too-long-to-keep", &c), KEEL_EINVAL);
    CHECK(strcmp(keel_ifc_category_name(bob), "bob") == 0);
    CHECK(keel_ifc_category_name(60) == NULL);
    CHECK_EQ(keel_ifc_privileges(KEEL_HOST_DOMAIN),
             KEEL_CATEGORY(alice) | KEEL_CATEGORY(bob) | KEEL_CATEGORY(sensor));
    char name[16];
    for (unsigned i = 3; i < KEEL_CATEGORY_MAX; i++) {
        snprintf(name, sizeof name, "c%u", i);
        CHECK_OK(keel_ifc_category_create(name, &c));
        CHECK_EQ(c, i);
    }
    CHECK_STATUS(keel_ifc_category_create("one-more", &c), KEEL_EFULL);
    keel_ifc_stats stats;
    keel_ifc_get_stats(&stats);
    CHECK_EQ(stats.categories, KEEL_CATEGORY_MAX);
    teardown(NULL, 0);
    /* Shutting the domain system down forgets them. */
    CHECK(keel_ifc_category_name(0) == NULL);
    CHECK_EQ(keel_ifc_privileges(KEEL_HOST_DOMAIN), 0);
}

KEEL_TEST(a_box_is_born_with_its_allocators_label) {
    setup();
    CHECK_OK(keel_ifc_relabel_self(ALICE));
    keel_box box;
    CHECK_OK(keel_box_alloc(8, &box));
    keel_label label;
    CHECK_OK(keel_box_label(box, &label));
    CHECK(same(label, ALICE));
    CHECK_OK(keel_ifc_relabel_self(PUBLIC)); /* the host holds alice's privilege */
    CHECK_OK(keel_box_free(box));
    teardown(NULL, 0);
}

KEEL_TEST(a_move_beyond_the_clearance_is_refused_and_the_box_stays) {
    setup();
    probe_domain d = {0};
    CHECK_OK(probe_create(&d, "public", PUBLIC, PUBLIC));
    keel_box box = labelled_box(ALICE), before = box;
    CHECK_STATUS(keel_rref_call_move(d.rref, P_KEEP, &box, NULL, NULL), KEEL_ECLEARANCE);
    CHECK(box.index == before.index && box.generation == before.generation);
    keel_label label;
    CHECK_OK(keel_box_label(box, &label)); /* still the host's */
    const keel_flow_refusal *r = keel_ifc_last_refusal();
    CHECK_EQ(r->status, KEEL_ECLEARANCE);
    CHECK(same(r->label, ALICE) && same(r->bound, PUBLIC));
    CHECK(strstr(r->place, "moved to 'public'") != NULL);
    CHECK(strstr(r->text, "{alice}") != NULL);
    /* A box that fits moves. */
    keel_box fits = labelled_box(PUBLIC);
    CHECK_OK(keel_rref_call_move(d.rref, P_KEEP, &fits, NULL, NULL));
    CHECK_STATUS(keel_box_data(fits, NULL, NULL), KEEL_ESTALE);
    teardown(&d, 1);
}

KEEL_TEST(a_lend_beyond_the_clearance_is_refused_before_the_callee_runs) {
    setup();
    probe_domain d = {0};
    CHECK_OK(probe_create(&d, "public", PUBLIC, PUBLIC));
    keel_box box = labelled_box(ALICE);
    unsigned char byte = 7;
    CHECK_STATUS(keel_rref_call_lend(d.rref, P_OPEN, box, &byte, NULL), KEEL_ECLEARANCE);
    CHECK_EQ(d.object->calls, 0); /* it never ran, so it wrote nothing */
    teardown(&d, 1);
}

KEEL_TEST(opening_raises_the_opener_and_the_box_holding_raises_nothing) {
    setup();
    probe_domain d = {0};
    CHECK_OK(probe_create(&d, "reader", PUBLIC, ALICE));
    keel_box secret = labelled_box(ALICE);
    /* Holding it raises nothing. */
    CHECK_OK(keel_rref_call_move(d.rref, P_KEEP, &secret, NULL, NULL));
    CHECK(same(keel_ifc_label(keel_domain_id(d.domain)), PUBLIC));
    /* Opening it does. */
    CHECK_OK(keel_rref_call(d.rref, P_OPEN_KEPT, NULL, NULL));
    CHECK(same(keel_ifc_label(keel_domain_id(d.domain)), ALICE));
    /* Whatever it opens next may now carry alice's secrets. */
    keel_box mine = labelled_box(PUBLIC);
    unsigned char byte = 1;
    CHECK_OK(keel_rref_call_lend(d.rref, P_OPEN, mine, &byte, NULL));
    keel_label label;
    CHECK_OK(keel_box_label(mine, &label));
    CHECK(same(label, ALICE));
    /* And so does the host, which called it and got its answer. */
    CHECK(same(keel_ifc_label(KEEL_HOST_DOMAIN), ALICE));
    teardown(&d, 1);
}

KEEL_TEST(a_call_carries_the_callers_label_within_the_callees_clearance) {
    setup();
    probe_domain open = {0}, closed = {0};
    CHECK_OK(probe_create(&open, "cleared", PUBLIC, ALICE));
    CHECK_OK(probe_create(&closed, "public", PUBLIC, PUBLIC));
    CHECK_OK(keel_ifc_relabel_self(ALICE));
    CHECK_OK(keel_rref_call(open.rref, P_NOP, NULL, NULL));
    CHECK(same(keel_ifc_label(keel_domain_id(open.domain)), ALICE));
    CHECK_STATUS(keel_rref_call(closed.rref, P_NOP, NULL, NULL), KEEL_ECLEARANCE);
    CHECK_EQ(closed.object->calls, 0);
    CHECK(strstr(keel_ifc_last_refusal()->place, "(its argument)") != NULL);
    CHECK(same(keel_ifc_label(keel_domain_id(closed.domain)), PUBLIC));
    CHECK_OK(keel_ifc_relabel_self(PUBLIC));
    CHECK_OK(keel_rref_call(closed.rref, P_NOP, NULL, NULL));
    probe_domain pds[2] = {open, closed};
    teardown(pds, 2);
}

KEEL_TEST(a_callee_that_knows_more_than_its_caller_may_hold_is_not_called) {
    setup();
    probe_domain secret = {0}, client = {0};
    CHECK_OK(probe_create(&secret, "secret", ALICE, ALICE));
    CHECK_OK(probe_create(&client, "client", PUBLIC, PUBLIC));
    probe_call c = {.rref = secret.rref, .method = P_NOP};
    CHECK_STATUS(keel_rref_call(client.rref, P_CALL, &c, NULL), KEEL_ECLEARANCE);
    CHECK_EQ(secret.object->calls, 0);
    CHECK(strstr(keel_ifc_last_refusal()->place, "(its result)") != NULL);
    /* The host may hold anything: its call goes through, and its label rises. */
    CHECK_OK(keel_rref_call(secret.rref, P_NOP, NULL, NULL));
    CHECK_EQ(secret.object->calls, 1);
    CHECK(same(keel_ifc_label(KEEL_HOST_DOMAIN), ALICE));
    probe_domain pds[2] = {secret, client};
    teardown(pds, 2);
}

KEEL_TEST(a_box_given_to_a_caller_must_fit_its_clearance) {
    setup();
    probe_domain store = {0}, client = {0};
    CHECK_OK(probe_create(&store, "store", PUBLIC, TOP));
    CHECK_OK(probe_create(&client, "client", PUBLIC, PUBLIC));
    keel_box secret = labelled_box(ALICE);
    CHECK_OK(keel_rref_call_move(store.rref, P_KEEP, &secret, NULL, NULL));
    keel_box got = KEEL_BOX_NONE;
    probe_call c = {.rref = store.rref, .method = P_GIVE_KEPT, .result = &got};
    CHECK_STATUS(keel_rref_call(client.rref, P_CALL, &c, NULL), KEEL_ECLEARANCE);
    CHECK_EQ(got.index, 0);
    CHECK(strstr(keel_ifc_last_refusal()->place, "moved to 'client'") != NULL);
    /* Still the store's: the host, cleared for it, gets it. */
    CHECK_OK(keel_rref_call(store.rref, P_GIVE_KEPT, NULL, &got));
    CHECK_OK(keel_box_data(got, NULL, NULL));
    probe_domain pds[2] = {store, client};
    teardown(pds, 2);
}

typedef struct counting_sink {
    unsigned writes;
    size_t bytes;
} counting_sink;

static keel_status count_write(void *context, const void *data, size_t size) {
    (void)data;
    counting_sink *c = context;
    c->writes++;
    c->bytes += size;
    return KEEL_OK;
}

KEEL_TEST(a_sink_refuses_writes_above_its_bound_and_writes_nothing) {
    setup();
    counting_sink out = {0};
    keel_sink sink;
    keel_sink_config config = {
        .name = "public", .bound = PUBLIC, .write = count_write, .context = &out};
    CHECK_OK(keel_sink_init(&sink, &config));
    CHECK_OK(keel_sink_write(&sink, "abc", 3));
    CHECK_OK(keel_ifc_relabel_self(ALICE));
    CHECK_STATUS(keel_sink_write(&sink, "abc", 3), KEEL_EFLOW);
    CHECK_EQ(out.writes, 1);
    CHECK_EQ(out.bytes, 3);
    keel_sink_stats stats;
    keel_sink_get_stats(&sink, &stats);
    CHECK_EQ(stats.writes, 1);
    CHECK_EQ(stats.refused, 1);
    const keel_flow_refusal *r = keel_ifc_last_refusal();
    CHECK_EQ(r->status, KEEL_EFLOW);
    CHECK(strstr(r->text, "{alice} cannot flow to the bound {}") != NULL);
    CHECK(strstr(r->text, "sink 'public' written by 'host'") != NULL);
    keel_ifc_stats ifc;
    keel_ifc_get_stats(&ifc);
    CHECK_EQ(ifc.refused, 1);
    teardown(NULL, 0);
}

KEEL_TEST(writing_a_box_to_a_sink_does_not_open_it) {
    setup();
    counting_sink pub = {0}, priv = {0};
    keel_sink public_sink, alice_sink;
    keel_sink_config config = {.name = "public", .write = count_write, .context = &pub};
    CHECK_OK(keel_sink_init(&public_sink, &config));
    config =
        (keel_sink_config){.name = "alice", .bound = ALICE, .write = count_write, .context = &priv};
    CHECK_OK(keel_sink_init(&alice_sink, &config));
    keel_box secret = labelled_box(ALICE);
    CHECK_OK(keel_sink_write_box(&alice_sink, secret, 0, 16));
    CHECK(same(keel_ifc_label(KEEL_HOST_DOMAIN), PUBLIC));
    CHECK_STATUS(keel_sink_write_box(&public_sink, secret, 0, 16), KEEL_EFLOW);
    CHECK_STATUS(keel_sink_write_box(&alice_sink, secret, 8, 9), KEEL_ERANGE);
    CHECK_EQ(pub.writes, 0);
    CHECK_EQ(priv.bytes, 16);
    teardown(NULL, 0);
}

KEEL_TEST(declaring_a_sink_declassifies_and_needs_the_privilege) {
    setup();
    counting_sink out = {0};
    keel_sink sink;
    keel_sink_config config = {
        .name = "alice", .bound = ALICE, .write = count_write, .context = &out};
    keel_ifc_drop(KEEL_CATEGORY(alice));
    CHECK_STATUS(keel_sink_init(&sink, &config), KEEL_EPRIVILEGE);
    config.bound = BOB;
    CHECK_OK(keel_sink_init(&sink, &config));
    teardown(NULL, 0);
}

KEEL_TEST(declassifying_needs_a_privilege_that_only_a_holder_can_grant) {
    setup();
    probe_domain a = {0}, b = {0};
    CHECK_OK(probe_create(&a, "a", ALICE, ALICE));
    CHECK_OK(probe_create(&b, "b", PUBLIC, ALICE));
    keel_label down = PUBLIC;
    CHECK_STATUS(keel_rref_call(a.rref, P_RAISE, &down, NULL), KEEL_EPRIVILEGE);
    CHECK(same(keel_ifc_label(keel_domain_id(a.domain)), ALICE));
    /* a cannot grant what it does not hold, whatever handle it names. */
    keel_categories what = KEEL_CATEGORY(alice);
    uint32_t to = keel_domain_id(a.domain);
    CHECK_STATUS(keel_rref_call(a.rref, P_GRANT, &what, &to), KEEL_EPRIVILEGE);
    CHECK_EQ(keel_ifc_privileges(to), 0);
    /* The host created alice: it grants, and a may then declassify itself. */
    CHECK_OK(keel_ifc_grant(to, KEEL_CATEGORY(alice)));
    CHECK_OK(keel_rref_call(a.rref, P_RAISE, &down, NULL));
    CHECK(same(keel_ifc_label(to), PUBLIC));
    /* And pass it on. */
    uint32_t to_b = keel_domain_id(b.domain);
    CHECK_OK(keel_rref_call(a.rref, P_GRANT, &what, &to_b));
    CHECK_EQ(keel_ifc_privileges(to_b), KEEL_CATEGORY(alice));
    /* A box too: lowering its label needs the privilege. */
    keel_box box = labelled_box(ALICE);
    keel_ifc_drop(KEEL_CATEGORY(alice));
    CHECK_STATUS(keel_box_relabel(box, PUBLIC), KEEL_EPRIVILEGE);
    CHECK_STATUS(keel_ifc_grant(to, KEEL_CATEGORY(alice)), KEEL_EPRIVILEGE);
    keel_ifc_stats stats;
    keel_ifc_get_stats(&stats);
    CHECK_EQ(stats.declassified, 1);
    probe_domain pds[2] = {a, b};
    teardown(pds, 2);
}

KEEL_TEST(a_nested_callee_is_held_to_every_waiting_callers_clearance) {
    setup();
    probe_domain store = {0}, client = {0};
    CHECK_OK(probe_create(&store, "store", PUBLIC, TOP));
    CHECK_OK(probe_create(&client, "client", PUBLIC, PUBLIC));
    keel_box secret = labelled_box(ALICE);
    CHECK_OK(keel_rref_call_move(store.rref, P_KEEP, &secret, NULL, NULL));
    /* The store may open it, but not while answering the public client. */
    probe_call c = {.rref = store.rref, .method = P_OPEN_KEPT};
    CHECK_STATUS(keel_rref_call(client.rref, P_CALL, &c, NULL), KEEL_ECLEARANCE);
    CHECK(strstr(keel_ifc_last_refusal()->place, "box opened by 'store'") != NULL);
    CHECK(same(keel_ifc_label(keel_domain_id(store.domain)), PUBLIC));
    CHECK_OK(keel_rref_call(store.rref, P_OPEN_KEPT, NULL, NULL));
    CHECK(same(keel_ifc_label(keel_domain_id(store.domain)), ALICE));
    /* From now on the public client cannot call it at all. */
    c.method = P_NOP;
    CHECK_STATUS(keel_rref_call(client.rref, P_CALL, &c, NULL), KEEL_ECLEARANCE);
    probe_domain pds[2] = {store, client};
    teardown(pds, 2);
}

typedef struct waiter {
    keel_rref client;
    probe_call call;
    keel_status status;
    keel_failure failure;
} waiter;

static void *wait_in_store(void *arg) {
    waiter *w = arg;
    w->status = keel_rref_call(w->client, P_CALL, &w->call, NULL);
    w->failure = *keel_last_failure();
    return NULL;
}

/* A public client is inside the store when another thread raises the store's
 * label: the client's call ends with KEEL_ECLEARANCE, and a panic's message
 * (which might carry the secret) is withheld. */
static void concurrent_raise(bool panic) {
    setup();
    probe_domain store = {0}, client = {0};
    CHECK_OK(probe_create(&store, "store", PUBLIC, TOP));
    CHECK_OK(probe_create(&client, "client", PUBLIC, PUBLIC));
    atomic_store(&probe_inside, 0);
    atomic_store(&probe_release, 0);
    static int yes = 1;
    waiter w = {.client = client.rref,
                .call = {.rref = store.rref, .method = P_WAIT, .arg = panic ? &yes : NULL}};
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, wait_in_store, &w) == 0);
    while (atomic_load(&probe_inside) == 0) {
    }
    CHECK_OK(keel_ifc_relabel_self(ALICE));
    CHECK_OK(keel_rref_call(store.rref, P_NOP, NULL, NULL)); /* carries alice in */
    CHECK(same(keel_ifc_label(keel_domain_id(store.domain)), ALICE));
    atomic_store(&probe_release, 1);
    pthread_join(thread, NULL);
    CHECK_STATUS(w.status, KEEL_ECLEARANCE);
    if (panic) {
        CHECK(strstr(w.failure.message, "42") == NULL);
        CHECK(strstr(w.failure.message, "withheld") != NULL);
    }
    CHECK(same(keel_ifc_label(keel_domain_id(client.domain)), PUBLIC));
    probe_domain pds[2] = {store, client};
    teardown(pds, 2);
}

KEEL_TEST(a_raise_by_another_thread_fails_the_result_check) {
    concurrent_raise(false);
}

KEEL_TEST(a_failures_message_is_withheld_beyond_the_clearance) {
    concurrent_raise(true);
}

KEEL_TEST(integrity_lost_by_reading_unvouched_data_closes_a_vouched_sink) {
    setup();
    probe_domain d = {0};
    CHECK_OK(probe_create(&d, "controller", VOUCHED, TOP));
    counting_sink out = {0};
    keel_sink actuator;
    keel_sink_config config = {
        .name = "actuator", .bound = VOUCHED, .write = count_write, .context = &out};
    CHECK_OK(keel_sink_init(&actuator, &config));
    /* A call carries the caller's label: an unvouched caller would cost d its
     * guarantee by calling it. The host vouches for itself (it holds sensor). */
    CHECK_OK(keel_ifc_relabel_self(VOUCHED));
    CHECK_OK(keel_rref_call(d.rref, P_WRITE, &actuator, NULL));
    /* Data vouched for by nobody: reading it costs d its guarantee. */
    keel_box rumour = labelled_box(PUBLIC);
    CHECK_OK(keel_rref_call_lend(d.rref, P_OPEN, rumour, NULL, NULL));
    CHECK(same(keel_ifc_label(keel_domain_id(d.domain)), PUBLIC));
    CHECK_STATUS(keel_rref_call(d.rref, P_WRITE, &actuator, NULL), KEEL_EFLOW);
    CHECK_EQ(out.writes, 1);
    /* Vouching for data (adding integrity) needs the privilege. */
    keel_box vouched = labelled_box(PUBLIC);
    CHECK_OK(keel_box_relabel(vouched, VOUCHED)); /* the host holds sensor */
    keel_ifc_drop(KEEL_CATEGORY(sensor));
    keel_box other = labelled_box(PUBLIC);
    CHECK_STATUS(keel_box_relabel(other, VOUCHED), KEEL_EPRIVILEGE);
    teardown(&d, 1);
}

KEEL_TEST(audit_mode_reports_and_counts_but_lets_flows_through) {
    setup();
    probe_domain d = {0};
    CHECK_OK(probe_create(&d, "public", PUBLIC, PUBLIC));
    keel_ifc_set_mode(KEEL_IFC_AUDIT);
    keel_box box = labelled_box(ALICE);
    CHECK_OK(keel_rref_call_move(d.rref, P_KEEP, &box, NULL, NULL));
    keel_ifc_stats stats;
    keel_ifc_get_stats(&stats);
    CHECK_EQ(stats.audited, 1);
    CHECK_EQ(stats.refused, 0);
    CHECK(strstr(keel_ifc_last_refusal()->text, "flow audited") != NULL);
    teardown(&d, 1);
}

KEEL_TEST(labels_survive_recovery) {
    setup();
    probe_domain d = {0};
    CHECK_OK(probe_create(&d, "reader", PUBLIC, ALICE));
    keel_box secret = labelled_box(ALICE);
    CHECK_OK(keel_rref_call_lend(d.rref, P_OPEN, secret, NULL, NULL));
    CHECK_STATUS(keel_rref_call(d.rref, P_PANIC, NULL, NULL), KEEL_EPANIC);
    CHECK_OK(keel_rref_call(d.rref, P_NOP, NULL, NULL)); /* recovered */
    CHECK(same(keel_ifc_label(keel_domain_id(d.domain)), ALICE));
    teardown(&d, 1);
}

KEEL_TEST(a_domain_cannot_start_above_its_clearance) {
    setup();
    probe_domain d = {0};
    CHECK_STATUS(probe_create(&d, "bad", ALICE, PUBLIC), KEEL_EINVAL);
    CHECK(d.domain == NULL);
    teardown(NULL, 0);
}

KEEL_TEST(labels_are_printed_with_category_names) {
    setup();
    char buf[64];
    keel_ifc_label_format(keel_label_join(BOTH, PUBLIC), buf, sizeof buf);
    CHECK(strcmp(buf, "{alice, bob}") == 0);
    keel_ifc_label_format((keel_label){KEEL_CATEGORY(alice), KEEL_CATEGORY(sensor)}, buf,
                          sizeof buf);
    CHECK(strcmp(buf, "{alice | vouched: sensor}") == 0);
    keel_ifc_label_format(PUBLIC, buf, sizeof buf);
    CHECK(strcmp(buf, "{}") == 0);
    size_t need = keel_ifc_label_format(BOTH, buf, 4);
    CHECK_EQ(need, strlen("{alice, bob}"));
    CHECK_EQ(strlen(buf), 3);
    teardown(NULL, 0);
}

/* The paper's example: a buffer gets a public vector, then a secret one,
 * each moved in; writing the buffer to a public channel is refused, and the
 * first vector's handle, kept by the caller, is dead. */
KEEL_TEST(the_papers_buffer_example) {
    setup();
    counting_sink out = {0};
    keel_sink console;
    keel_sink_config config = {.name = "console", .write = count_write, .context = &out};
    CHECK_OK(keel_sink_init(&console, &config));
    keel_box buffer, big;
    CHECK_OK(keel_box_alloc(32, &buffer));
    CHECK_OK(keel_box_alloc(64, &big));
    keel_box v1 = labelled_box(PUBLIC), v2 = labelled_box(ALICE);
    keel_box kept = v1; /* the alias a C program can keep */
    size_t used = 0;
    CHECK_OK(keel_box_append(buffer, &used, &v1));
    CHECK_EQ(used, 16);
    CHECK_EQ(v1.index, 0);
    keel_label after_v1;
    CHECK_OK(keel_box_label(buffer, &after_v1));
    CHECK(same(after_v1, PUBLIC));
    CHECK_STATUS(keel_box_append(buffer, &used, &big), KEEL_ERANGE); /* does not fit */
    CHECK_OK(keel_box_data(big, NULL, NULL));                        /* and is intact */
    CHECK_OK(keel_box_append(buffer, &used, &v2));
    CHECK_EQ(used, 32);
    keel_label label;
    CHECK_OK(keel_box_label(buffer, &label));
    CHECK(same(label, ALICE));
    CHECK_STATUS(keel_sink_write_box(&console, buffer, 0, used), KEEL_EFLOW);
    CHECK_STATUS(keel_sink_write_box(&console, buffer, 0, 16),
                 KEEL_EFLOW); /* even the public half */
    CHECK_EQ(out.writes, 0);
    /* The moved-from handle is dead, whatever it is used for. */
    CHECK_STATUS(keel_box_data(kept, NULL, NULL), KEEL_ESTALE);
    CHECK_STATUS(keel_sink_write_box(&console, kept, 0, 16), KEEL_ESTALE);
    CHECK_STATUS(keel_box_append(buffer, &used, &kept), KEEL_ESTALE);
    CHECK(same(keel_ifc_label(KEEL_HOST_DOMAIN), PUBLIC)); /* nothing was opened */
    teardown(NULL, 0);
}

KEEL_TEST_MAIN()
