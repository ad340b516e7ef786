/*
 * The secure data store (store.h) and noninterference, in the spirit of
 * "Testing Noninterference, Quickly": random operation sequences by random
 * clients, each run twice with the secret inputs varied; whatever the
 * uncleared clients observe (their statuses, what reaches their sinks and the
 * public debug sink) must be identical.
 *
 * With keel enforcing, this holds for the correct store and for every seeded
 * bug, and each bug's leak shows up as refusals. With keel only auditing, the
 * same test finds a counterexample for every bug: the test can see the leaks
 * keel stops.
 */
#include <stdio.h>

#include "keel/ifc.h"
#include "keel_test.h"
#include "store.h"

enum { CLIENTS = 4, CLEARED = 2, KEYS = 6, OPS = 40, TRACE_BYTES = 8192 };

typedef struct trace {
    unsigned char bytes[TRACE_BYTES];
    size_t used;
    bool overflow;
} trace;

static void trace_put(trace *t, const void *data, size_t size) {
    if (t->used + size > TRACE_BYTES) {
        t->overflow = true;
        return;
    }
    memcpy(t->bytes + t->used, data, size);
    t->used += size;
}

static keel_status capture(void *context, const void *data, size_t size) {
    trace_put(context, data, size);
    return KEEL_OK;
}

static keel_status discard(void *context, const void *data, size_t size) {
    (void)context;
    (void)data;
    (void)size;
    return KEEL_OK;
}

/* ---- a client: a domain that asks the store and writes what it gets ---- */

enum { C_PUT, C_GET, C_DELETE, C_LEN, C_WATCH, C_COUNT };

typedef struct client_arg {
    keel_rref store;
    uint32_t key;
    bool restricted;
    keel_rref self_notify;
} client_arg;

typedef struct client {
    keel_sink *sink;
} client;

static keel_status c_put(void *o, keel_call *call) {
    (void)o;
    const client_arg *a = call->arg;
    store_arg s = {.key = a->key, .restricted = a->restricted};
    keel_box box = call->box;
    return keel_rref_call_move(a->store, S_PUT, &box, &s, NULL);
}

static keel_status c_get(void *o, keel_call *call) {
    client *c = o;
    const client_arg *a = call->arg;
    store_result r = {0};
    keel_status status = keel_rref_call(a->store, S_GET, (void *)&a->key, &r);
    if (status != KEEL_OK) {
        return status;
    }
    if (r.inline_data) {
        return keel_sink_write(c->sink, r.data, sizeof r.data);
    }
    status = keel_sink_write_box(c->sink, r.box, 0, STORE_ITEM_SIZE);
    keel_box_free(r.box);
    return status;
}

static keel_status c_delete(void *o, keel_call *call) {
    (void)o;
    const client_arg *a = call->arg;
    return keel_rref_call(a->store, S_DELETE, (void *)&a->key, NULL);
}

static keel_status c_len(void *o, keel_call *call) {
    client *c = o;
    const client_arg *a = call->arg;
    store_result r = {0};
    keel_status status = keel_rref_call(a->store, S_LEN, (void *)&a->key, &r);
    if (status == KEEL_OK) {
        status = keel_sink_write(c->sink, &r.length, sizeof r.length);
    }
    return status;
}

static keel_status c_watch(void *o, keel_call *call) {
    (void)o;
    const client_arg *a = call->arg;
    store_arg s = {.watcher = a->self_notify};
    return keel_rref_call(a->store, S_WATCH, &s, NULL);
}

static keel_status c_notify(void *o, keel_call *call) {
    client *c = o;
    return keel_sink_write_box(c->sink, call->box, 0, STORE_ITEM_SIZE);
}

static const keel_method client_methods[C_COUNT] = {c_put, c_get, c_delete, c_len, c_watch};
static const keel_interface client_interface = {"client", C_COUNT, client_methods};
static const keel_method notify_methods[1] = {c_notify};
static const keel_interface notify_interface = {"notify", 1, notify_methods};

typedef struct client_boot {
    keel_sink *sink;
    keel_rref rref, notify;
} client_boot;

static keel_status client_init(keel_domain *domain, void *context) {
    client_boot *boot = context;
    client *c;
    keel_status status = keel_domain_alloc(sizeof *c, (void **)&c);
    if (status != KEEL_OK) {
        return status;
    }
    c->sink = boot->sink;
    status = keel_domain_export(domain, c, &client_interface, &boot->rref);
    if (status == KEEL_OK) {
        status = keel_domain_export(domain, c, &notify_interface, &boot->notify);
    }
    return status;
}

/* ---- one run of an operation sequence ---- */

typedef struct op {
    unsigned kind; /* C_PUT .. C_WATCH */
    unsigned client;
    uint32_t key;
    unsigned char value[STORE_ITEM_SIZE]; /* for C_PUT: secret if the client is cleared */
} op;

static uint64_t next_random(uint64_t *state) {
    *state += 0x9e3779b97f4a7c15ull;
    uint64_t z = *state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The sequence for `seed`; the values cleared clients put come from
 * `secret_seed`, everything else from `seed`. */
static void generate(uint64_t seed, uint64_t secret_seed, op ops[OPS]) {
    uint64_t r = seed, s = secret_seed;
    for (unsigned i = 0; i < OPS; i++) {
        op *o = &ops[i];
        uint64_t x = next_random(&r);
        o->kind = (unsigned)(x % 10);
        o->kind = o->kind < 4   ? C_PUT
                  : o->kind < 7 ? C_GET
                  : o->kind < 8 ? C_LEN
                  : o->kind < 9 ? C_DELETE
                                : C_WATCH;
        o->client = (unsigned)((x >> 8) % CLIENTS);
        o->key = (uint32_t)((x >> 16) % KEYS);
        bool secret = o->client < CLEARED;
        for (unsigned b = 0; b < STORE_ITEM_SIZE; b++) {
            /* Secret values vary in every byte, zeros included. */
            uint64_t v = secret ? next_random(&s) : next_random(&r);
            o->value[b] = (unsigned char)(v % 3 == 0 ? 0 : v >> 8);
        }
    }
}

typedef struct outcome {
    trace low;         /* what uncleared clients and the public debug sink saw */
    uint64_t refusals; /* refused or audited flows */
} outcome;

static unsigned secret_category;

/* Runs `ops` against a fresh store; returns false if set-up failed. */
static bool run(store_bug bug, keel_ifc_mode mode, const op ops[OPS], outcome *out) {
    memset(out, 0, sizeof *out);
    if (keel_domain_system_init(1u << 20, 512) != KEEL_OK) {
        return false;
    }
    keel_ifc_set_reporter(NULL, NULL);
    if (keel_ifc_category_create("secret", &secret_category) != KEEL_OK) {
        return false;
    }
    keel_label secret = {KEEL_CATEGORY(secret_category), 0};
    keel_sink sinks[CLIENTS], debug;
    trace client_traces[CLIENTS];
    memset(client_traces, 0, sizeof client_traces);
    keel_sink_config sc = {.name = "debug", .write = capture, .context = &out->low};
    bool ok = keel_sink_init(&debug, &sc) == KEEL_OK;
    keel_domain *domains[CLIENTS + 1] = {0};
    client_boot boots[CLIENTS];
    store_config config = {.bug = bug, .debug = &debug};
    for (unsigned i = 0; ok && i < CLIENTS; i++) {
        bool cleared = i < CLEARED;
        sc = (keel_sink_config){.name = cleared ? "cleared" : "public",
                                .bound = cleared ? secret : KEEL_LABEL_PUBLIC,
                                .write = cleared ? discard : capture,
                                .context = &client_traces[i]};
        ok = keel_sink_init(&sinks[i], &sc) == KEEL_OK;
        boots[i] = (client_boot){.sink = &sinks[i]};
        char name[16];
        snprintf(name, sizeof name, "client%u", i);
        keel_domain_config dc = {.name = name,
                                 .heap_size = 16 * 1024,
                                 .table_capacity = 2,
                                 .init = client_init,
                                 .context = &boots[i],
                                 .clearance = cleared ? secret : KEEL_LABEL_PUBLIC};
        ok = ok && keel_domain_create(&dc, &domains[i]) == KEEL_OK;
        if (ok && cleared) {
            config.cleared[config.cleared_count++] = keel_domain_id(domains[i]);
        }
    }
    keel_rref store;
    ok = ok && store_create(&config, &domains[CLIENTS], &store) == KEEL_OK;
    keel_ifc_set_mode(mode);
    for (unsigned i = 0; ok && i < OPS; i++) {
        const op *o = &ops[i];
        bool cleared = o->client < CLEARED;
        client_arg a = {.store = store,
                        .key = o->key,
                        .restricted = cleared,
                        .self_notify = boots[o->client].notify};
        keel_status status;
        size_t before[CLIENTS];
        for (unsigned c = 0; c < CLIENTS; c++) {
            before[c] = client_traces[c].used;
        }
        if (o->kind == C_PUT) {
            keel_box box;
            void *data;
            ok = keel_box_alloc(STORE_ITEM_SIZE, &box) == KEEL_OK &&
                 keel_box_data(box, &data, NULL) == KEEL_OK;
            if (!ok) {
                break;
            }
            memcpy(data, o->value, STORE_ITEM_SIZE);
            if (cleared) {
                ok = keel_box_relabel(box, secret) == KEEL_OK;
            }
            status = keel_rref_call_move(boots[o->client].rref, C_PUT, &box, &a, NULL);
            if (status != KEEL_OK && box.index != 0) {
                keel_box_free(box); /* refused before it moved */
            }
        } else {
            status = keel_rref_call(boots[o->client].rref, o->kind, &a, NULL);
        }
        /* The harness forwards nothing it learns: it starts each step public. */
        keel_ifc_set_mode(KEEL_IFC_ENFORCE);
        ok = ok && keel_ifc_relabel_self(KEEL_LABEL_PUBLIC) == KEEL_OK;
        keel_ifc_set_mode(mode);
        if (!cleared) {
            uint32_t record[2] = {i, (uint32_t)status};
            trace_put(&out->low, record, sizeof record);
        }
        /* Whatever reached an uncleared client's sink during this step (a
         * watcher is told of other clients' operations). */
        for (unsigned c = CLEARED; c < CLIENTS; c++) {
            uint32_t record[2] = {c, (uint32_t)(client_traces[c].used - before[c])};
            trace_put(&out->low, record, sizeof record);
            trace_put(&out->low, client_traces[c].bytes + before[c], record[1]);
        }
    }
    keel_ifc_stats stats;
    keel_ifc_get_stats(&stats);
    out->refusals = stats.refused + stats.audited;
    keel_ifc_set_mode(KEEL_IFC_ENFORCE);
    for (unsigned i = 0; i <= CLIENTS; i++) {
        if (domains[i] != NULL) {
            keel_domain_destroy(domains[i]);
        }
    }
    return keel_domain_system_shutdown() == KEEL_OK && ok && !out->low.overflow;
}

typedef struct verdict {
    unsigned runs;
    unsigned differing; /* sequences whose low observations differed */
    uint64_t refusals;
    bool setup_failed;
} verdict;

static verdict property(store_bug bug, keel_ifc_mode mode, unsigned sequences) {
    verdict v = {0};
    static outcome a, b;
    op ops_a[OPS], ops_b[OPS];
    for (unsigned n = 0; n < sequences; n++) {
        uint64_t seed = 1000 + n;
        generate(seed, seed * 7919, ops_a);
        generate(seed, seed * 7919 + 1, ops_b);
        if (!run(bug, mode, ops_a, &a) || !run(bug, mode, ops_b, &b)) {
            v.setup_failed = true;
            return v;
        }
        v.runs++;
        v.refusals += a.refusals + b.refusals;
        if (a.low.used != b.low.used || memcmp(a.low.bytes, b.low.bytes, a.low.used) != 0) {
            v.differing++;
        }
    }
    return v;
}

enum { SEQUENCES = 60 };

KEEL_TEST(the_generator_varies_only_the_secrets) {
    op a[OPS], b[OPS];
    generate(1, 2, a);
    generate(1, 3, b);
    unsigned secret_puts = 0, differing = 0;
    for (unsigned i = 0; i < OPS; i++) {
        CHECK(a[i].kind == b[i].kind && a[i].client == b[i].client && a[i].key == b[i].key);
        bool differ = memcmp(a[i].value, b[i].value, STORE_ITEM_SIZE) != 0;
        if (a[i].client < CLEARED) {
            secret_puts += a[i].kind == C_PUT;
            differing += differ;
        } else {
            CHECK(!differ);
        }
    }
    CHECK(secret_puts > 0 && differing > 0);
}

KEEL_TEST(the_correct_store_is_noninterferent_and_never_refused) {
    for (int m = 0; m < 2; m++) {
        verdict v = property(STORE_CORRECT, m == 0 ? KEEL_IFC_ENFORCE : KEEL_IFC_AUDIT, SEQUENCES);
        CHECK(!v.setup_failed);
        CHECK_EQ(v.differing, 0);
        CHECK_EQ(v.refusals, 0);
    }
}

KEEL_TEST(keel_stops_every_seeded_bug_and_the_test_sees_each_without_it) {
    for (unsigned bug = 1; bug < STORE_BUG_COUNT; bug++) {
        verdict enforced = property((store_bug)bug, KEEL_IFC_ENFORCE, SEQUENCES);
        verdict audited = property((store_bug)bug, KEEL_IFC_AUDIT, SEQUENCES);
        printf("  %-18s enforced: %2u/%u sequences differ, %5llu refusals;"
               "  audited: %2u/%u differ\n",
               store_bug_names[bug], enforced.differing, enforced.runs,
               (unsigned long long)enforced.refusals, audited.differing, audited.runs);
        CHECK(!enforced.setup_failed && !audited.setup_failed);
        /* Enforced: no leak, and the bug was exercised and refused. */
        CHECK_EQ(enforced.differing, 0);
        CHECK(enforced.refusals > 0);
        /* Audited: the leak happens, and noninterference testing catches it. */
        CHECK(audited.differing > 0);
    }
}

KEEL_TEST_MAIN()
