/* Whole-domain snapshots and rollback as a recovery policy (domain.h). */
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "keel/domain.h"
#include "keel_test.h"

/* ---- a component keeping blocks in its heap, each filled from a seed ---- */

enum { BLOCKS = 64 };

typedef struct store {
    long value;
    unsigned count;
    unsigned char *block[BLOCKS];
    size_t size[BLOCKS];
    uint64_t seed[BLOCKS];
} store;

typedef struct op {
    uint64_t random;
    unsigned writes; /* blocks to rewrite before a failure */
} op;

enum {
    M_ADD,
    M_GET,
    M_SNAPSHOT,
    M_STEP,
    M_FAIL,
    M_VERIFY,
    M_DUMP,
    M_EXPORT,
    M_WRECK,
    M_PANIC,
    M_COUNT
};

static uint64_t next(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

static void fill(unsigned char *p, size_t n, uint64_t seed) {
    for (size_t i = 0; i < n; i++) {
        p[i] = (unsigned char)(seed + i * 131);
    }
}

static keel_status m_add(void *object, keel_call *call) {
    store *s = object;
    s->value += *(long *)call->arg;
    return KEEL_OK;
}
static keel_status m_get(void *object, keel_call *call) {
    *(long *)call->result = ((store *)object)->value;
    return KEEL_OK;
}
static keel_status m_snapshot(void *object, keel_call *call) {
    (void)object;
    (void)call;
    return keel_domain_snapshot(keel_domain_current());
}
/* One random change: allocate, free or rewrite a block. */
static keel_status m_step(void *object, keel_call *call) {
    store *s = object;
    uint64_t r = ((op *)call->arg)->random;
    unsigned i = (unsigned)(r % BLOCKS);
    if (s->block[i] == NULL) {
        size_t size = 16 + (size_t)(r >> 8) % 3000;
        if (keel_domain_alloc(size, (void **)&s->block[i]) != KEEL_OK) {
            return KEEL_OK; /* full: skip */
        }
        s->size[i] = size;
        s->seed[i] = r;
        fill(s->block[i], size, r);
        s->count++;
    } else if ((r >> 20) % 2 == 0) {
        keel_domain_free(s->block[i]);
        s->block[i] = NULL;
        s->count--;
    } else {
        s->seed[i] = r >> 3;
        fill(s->block[i], s->size[i], s->seed[i]);
    }
    return KEEL_OK;
}
/* Scribbles over blocks and the store, allocates, then panics. */
static keel_status m_fail(void *object, keel_call *call) {
    store *s = object;
    const op *o = call->arg;
    uint64_t r = o->random;
    for (unsigned k = 0; k < o->writes; k++) {
        unsigned i = (unsigned)(next(&r) % BLOCKS);
        if (s->block[i] != NULL) {
            memset(s->block[i], 0xEE, s->size[i]);
        }
        void *p;
        keel_domain_alloc(100, &p);
    }
    s->value = -1;
    s->count = 999;
    keel_panic("failing on purpose");
}
/* Every block holds its seed's pattern; the heap is sound. */
static keel_status m_verify(void *object, keel_call *call) {
    store *s = object;
    (void)call;
    unsigned count = 0;
    for (unsigned i = 0; i < BLOCKS; i++) {
        if (s->block[i] == NULL) {
            continue;
        }
        count++;
        for (size_t j = 0; j < s->size[i]; j++) {
            if (s->block[i][j] != (unsigned char)(s->seed[i] + j * 131)) {
                return KEEL_ECORRUPT;
            }
        }
    }
    if (count != s->count) {
        return KEEL_ECORRUPT;
    }
    return keel_heap_locked_check(keel_domain_heap(keel_domain_current()), NULL);
}
static keel_status m_dump(void *object, keel_call *call) {
    memcpy(call->result, object, sizeof(store));
    return KEEL_OK;
}
static keel_status m_export(void *object, keel_call *call) {
    return keel_domain_export(keel_domain_current(), object, *(const keel_interface **)call->arg,
                              call->result);
}

/* A wild write over the heap's own metadata, then a crash. */
static keel_status m_wreck(void *object, keel_call *call) {
    (void)object;
    (void)call;
    memset(keel_domain_heap(keel_domain_current())->heap, 0xAB, 512);
    keel_panic("wrecked the heap");
}

/* Fails without writing anything. */
static keel_status m_panic(void *object, keel_call *call) {
    (void)object;
    (void)call;
    keel_panic("failing on purpose, having written nothing");
}

static const keel_method store_methods[M_COUNT] = {
    [M_PANIC] = m_panic,
    [M_WRECK] = m_wreck,       [M_ADD] = m_add,   [M_GET] = m_get,
    [M_SNAPSHOT] = m_snapshot, [M_STEP] = m_step, [M_FAIL] = m_fail,
    [M_VERIFY] = m_verify,     [M_DUMP] = m_dump, [M_EXPORT] = m_export};
static const keel_interface store_interface = {"store", M_COUNT, store_methods};

typedef struct component {
    keel_rref rref;
    int inits, recovers;
} component;

static keel_status store_init(keel_domain *d, void *context) {
    component *c = context;
    store *s;
    keel_status status = keel_domain_alloc(sizeof *s, (void **)&s);
    if (status != KEEL_OK) {
        return status;
    }
    memset(s, 0, sizeof *s);
    c->inits++;
    if (c->inits == 1) {
        return keel_domain_export(d, s, &store_interface, &c->rref);
    }
    return keel_domain_reexport(d, c->rref, s, &store_interface);
}

static keel_status store_recover(keel_domain *d, void *context) {
    (void)d;
    ((component *)context)->recovers++;
    return KEEL_OK;
}

static void setup(void) {
    static bool done;
    if (!done) {
        if (keel_domain_system_init(1 << 20, 256) != KEEL_OK) {
            abort();
        }
        done = true;
    }
}

static keel_domain *make(component *c, bool with_recover, size_t heap, bool strict) {
    setup();
    memset(c, 0, sizeof *c);
    keel_domain_config config = {.name = "store",
                                 .heap_size = heap,
                                 .table_capacity = 8,
                                 .init = store_init,
                                 .recover = with_recover ? store_recover : NULL,
                                 .context = c,
                                 .policy = KEEL_RECOVER_ROLLBACK,
                                 .strict = strict};
    keel_domain *d = NULL;
    return keel_domain_create(&config, &d) == KEEL_OK ? d : NULL;
}

static long get(keel_rref r) {
    long v = -99;
    keel_status st = keel_rref_call(r, M_GET, NULL, &v);
    return st == KEEL_OK ? v : -100 + st;
}

KEEL_TEST(a_failed_domain_comes_back_in_its_last_snapshot_behind_the_same_rref) {
    component c;
    keel_domain *d = make(&c, true, 256 * 1024, false);
    CHECK(d != NULL);
    CHECK_OK(keel_domain_snapshot_enable(d, false));
    long five = 5, three = 3;
    CHECK_OK(keel_rref_call(c.rref, M_ADD, &five, NULL));
    CHECK_OK(keel_rref_call(c.rref, M_SNAPSHOT, NULL, NULL));
    CHECK_OK(keel_rref_call(c.rref, M_ADD, &three, NULL));
    CHECK_EQ(get(c.rref), 8);
    op o = {1, 4};
    CHECK_STATUS(keel_rref_call(c.rref, M_FAIL, &o, NULL), KEEL_EPANIC);
    CHECK_EQ(get(c.rref), 5); /* the snapshot's value, through the same rref */
    CHECK_EQ(c.inits, 1);     /* no restart */
    CHECK_EQ(c.recovers, 1);  /* `recover` ran after the rollback */
    CHECK_OK(keel_rref_call(c.rref, M_VERIFY, NULL, NULL));
    /* Again: the same snapshot again. */
    CHECK_OK(keel_rref_call(c.rref, M_ADD, &three, NULL));
    CHECK_STATUS(keel_rref_call(c.rref, M_FAIL, &o, NULL), KEEL_EPANIC);
    CHECK_EQ(get(c.rref), 5);
    keel_domain_snapshot_stats stats;
    keel_domain_snapshot_get_stats(d, &stats);
    CHECK_EQ(stats.snapshots, 1);
    CHECK_EQ(stats.rollbacks, 2);
    keel_domain_stats ds;
    keel_domain_get_stats(d, &ds);
    CHECK_EQ(ds.recoveries, 2);
    CHECK_OK(keel_domain_destroy(d));
}

/* ---- another domain holding the store's rref ---- */

static keel_status client_get(void *object, keel_call *call) {
    /* Calls the store through the rref this client was given. */
    return keel_rref_call(*(keel_rref *)object, M_GET, NULL, call->result);
}
static const keel_method client_methods[] = {client_get};
static const keel_interface client_interface = {"client", 1, client_methods};

typedef struct client_context {
    keel_rref store;
    keel_rref self;
} client_context;

static keel_status client_init(keel_domain *d, void *context) {
    client_context *c = context;
    keel_rref *held;
    keel_status status = keel_domain_alloc(sizeof *held, (void **)&held);
    if (status == KEEL_OK) {
        *held = c->store; /* kept in the client's own heap */
        status = keel_domain_export(d, held, &client_interface, &c->self);
    }
    return status;
}

KEEL_TEST(a_domain_holding_the_rref_reaches_the_rolled_back_state_through_it) {
    component c;
    keel_domain *d = make(&c, true, 256 * 1024, false);
    CHECK(d != NULL);
    CHECK_OK(keel_domain_snapshot_enable(d, true));
    client_context cc = {.store = c.rref};
    keel_domain_config config = {.name = "client",
                                 .heap_size = 16 * 1024,
                                 .table_capacity = 2,
                                 .init = client_init,
                                 .context = &cc};
    keel_domain *client;
    CHECK_OK(keel_domain_create(&config, &client));
    long seven = 7, value = 0;
    CHECK_OK(keel_rref_call(c.rref, M_ADD, &seven, NULL));
    CHECK_OK(keel_rref_call(c.rref, M_SNAPSHOT, NULL, NULL));
    CHECK_OK(keel_rref_call(c.rref, M_ADD, &seven, NULL));
    CHECK_OK(keel_rref_call(cc.self, 0, NULL, &value));
    CHECK_EQ(value, 14);
    op o = {3, 3};
    CHECK_STATUS(keel_rref_call(c.rref, M_FAIL, &o, NULL), KEEL_EPANIC);
    CHECK_OK(keel_rref_call(cc.self, 0, NULL, &value)); /* the same rref, held by the client */
    CHECK_EQ(value, 7);
    CHECK_OK(keel_domain_destroy(client));
    CHECK_OK(keel_domain_destroy(d));
}

KEEL_TEST(without_a_snapshot_rollback_is_a_restart) {
    component c;
    keel_domain *d = make(&c, false, 64 * 1024, false);
    CHECK(d != NULL);
    CHECK_OK(keel_domain_snapshot_enable(d, false));
    long five = 5;
    CHECK_OK(keel_rref_call(c.rref, M_ADD, &five, NULL));
    op o = {1, 0};
    CHECK_STATUS(keel_rref_call(c.rref, M_FAIL, &o, NULL), KEEL_EPANIC);
    CHECK_EQ(c.inits, 2); /* init ran again and re-exported */
    CHECK_EQ(get(c.rref), 0);
    CHECK_OK(keel_domain_destroy(d));
}

KEEL_TEST(rollback_never_lifts_access_control) {
    component c;
    keel_domain *d = make(&c, true, 64 * 1024, false);
    CHECK(d != NULL);
    CHECK_OK(keel_domain_snapshot_enable(d, false));
    const keel_interface *iface = &store_interface;
    keel_rref kept, revoked, later;
    CHECK_OK(keel_rref_call(c.rref, M_EXPORT, &iface, &kept));
    CHECK_OK(keel_rref_call(c.rref, M_EXPORT, &iface, &revoked));
    CHECK_OK(keel_rref_call(c.rref, M_SNAPSHOT, NULL, NULL));
    CHECK_OK(keel_rref_revoke(revoked));
    CHECK_OK(keel_rref_call(c.rref, M_EXPORT, &iface, &later));
    CHECK_EQ(get(later), 0);
    op o = {2, 2};
    CHECK_STATUS(keel_rref_call(c.rref, M_FAIL, &o, NULL), KEEL_EPANIC);
    CHECK_EQ(get(kept), 0);                       /* restored */
    CHECK_EQ(get(revoked), -100 + KEEL_EREVOKED); /* stays revoked */
    CHECK_EQ(get(later), -100 + KEEL_EREVOKED);   /* exported after: gone */
    keel_domain_stats ds;
    keel_domain_get_stats(d, &ds);
    CHECK_EQ(ds.exported, 2); /* c.rref and kept */
    CHECK_OK(keel_domain_destroy(d));
}

KEEL_TEST(a_full_snapshot_copies_the_bytes_in_use_not_the_reserved_size) {
    component c;
    keel_domain *d = make(&c, true, 16 << 20, false);
    CHECK(d != NULL);
    CHECK_OK(keel_domain_snapshot_enable(d, false));
    uint64_t r = 3;
    for (int i = 0; i < 200; i++) {
        op o = {next(&r), 0};
        CHECK_OK(keel_rref_call(c.rref, M_STEP, &o, NULL));
    }
    CHECK_OK(keel_domain_snapshot(d)); /* from the host */
    keel_domain_snapshot_stats stats;
    keel_domain_snapshot_get_stats(d, &stats);
    CHECK(stats.heap_in_use > 0);
    CHECK(stats.last_bytes >= stats.heap_in_use);
    /* Metadata, small gaps, and the read-ahead (64 KiB) into the free rest. */
    CHECK(stats.last_bytes < stats.heap_in_use + 192 * 1024);
    CHECK(stats.last_bytes < (16u << 20) / 4);
    CHECK_OK(keel_domain_destroy(d));
}

KEEL_TEST(snapshots_refuse_misuse) {
    component c;
    keel_domain *d = make(&c, true, 64 * 1024, true);
    CHECK(d != NULL);
    CHECK_STATUS(keel_domain_snapshot(d), KEEL_EINVAL);              /* not enabled */
    CHECK_STATUS(keel_domain_snapshot_enable(d, true), KEEL_EINVAL); /* strict */
    CHECK_OK(keel_domain_snapshot_enable(d, false));
    CHECK_STATUS(keel_domain_snapshot_enable(d, false), KEEL_EBUSY);
    CHECK_STATUS(keel_domain_snapshot_enable(NULL, false), KEEL_EINVAL);
    CHECK_OK(keel_domain_snapshot(d)); /* strict, full: the heap is opened for the copy */
    op o = {5, 1};
    CHECK_STATUS(keel_rref_call(c.rref, M_FAIL, &o, NULL), KEEL_EPANIC);
    CHECK_OK(keel_rref_call(c.rref, M_VERIFY, NULL, NULL));
    CHECK_OK(keel_domain_destroy(d));
    CHECK_STATUS(keel_domain_snapshot(d), KEEL_EINVAL);
}

/* ---- host-side snapshots count themselves inside the domain ---- */

typedef struct snapshotter {
    keel_domain *domain;
    keel_status status;
} snapshotter;

static void *take_snapshot(void *arg) {
    snapshotter *s = arg;
    s->status = keel_domain_snapshot(s->domain);
    return NULL;
}

/* True once a thread is blocked in the kernel on the heap's lock (a
 * priority-inheritance mutex: the kernel sets FUTEX_WAITERS in its word). */
static bool heap_lock_has_a_waiter(keel_domain *d) {
    const int *word = &keel_domain_heap(d)->lock.__data.__lock;
    return ((unsigned)__atomic_load_n(word, __ATOMIC_ACQUIRE) & FUTEX_WAITERS) != 0;
}

/*
 * A snapshot taken from the host counts itself inside the domain before it
 * checks the state, as a call does. Here it has passed its checks and waits for
 * the heap's lock when a call fails: the recovery (which resets the heap and its
 * lock and rolls back) must not start under it. The failing caller leaves while
 * the snapshot is inside, so it does not recover; the snapshot, the last thread
 * out, recovers on its way out, into the snapshot it has just taken. Before the
 * fix the failing caller recovered at once, with the snapshot blocked on a lock
 * the recovery re-initialised (and it never woke up).
 */
KEEL_TEST(a_host_snapshot_holds_off_the_recovery_until_it_leaves) {
    component c;
    keel_domain *d = make(&c, true, 1 << 20, false);
    CHECK(d != NULL);
    CHECK_OK(keel_domain_snapshot_enable(d, false));
    long add = 42;
    CHECK_OK(keel_rref_call(c.rref, M_ADD, &add, NULL));
    pthread_mutex_t *lock = &keel_domain_heap(d)->lock;
    CHECK_EQ(pthread_mutex_lock(lock), 0);
    snapshotter s = {d, KEEL_EINVAL};
    pthread_t thread;
    CHECK_EQ(pthread_create(&thread, NULL, take_snapshot, &s), 0);
    while (!heap_lock_has_a_waiter(d)) {
        sched_yield();
    }
    /* The snapshot is past its checks. A call fails; nothing was written. */
    CHECK_STATUS(keel_rref_call(c.rref, M_PANIC, NULL, NULL), KEEL_EPANIC);
    keel_domain_stats stats;
    keel_domain_get_stats(d, &stats);
    bool held_off = stats.recoveries == 0;
    CHECK(held_off);
    CHECK_EQ(keel_domain_get_state(d), KEEL_DOMAIN_RECOVERING);
    CHECK_STATUS(keel_rref_call(c.rref, M_GET, NULL, &add), KEEL_ERECOVERING);
    pthread_mutex_unlock(lock);
    if (!held_off) {
        /* The recovery re-initialised the lock the snapshot sleeps on. */
        pthread_detach(thread);
        return;
    }
    CHECK_EQ(pthread_join(thread, NULL), 0);
    CHECK_OK(s.status);
    keel_domain_get_stats(d, &stats);
    CHECK_EQ(stats.recoveries, 1u);
    CHECK_EQ(c.recovers, 1);
    CHECK_EQ(keel_domain_get_state(d), KEEL_DOMAIN_RUNNING);
    keel_domain_snapshot_stats snapshots;
    keel_domain_snapshot_get_stats(d, &snapshots);
    CHECK_EQ(snapshots.snapshots, 1u);
    CHECK_EQ(snapshots.rollbacks, 1u);
    CHECK_EQ(get(c.rref), 42);
    CHECK_OK(keel_rref_call(c.rref, M_VERIFY, NULL, NULL));
    CHECK_OK(keel_domain_destroy(d));
}

typedef struct enabler {
    keel_domain *domain;
    atomic_int *ready;
    keel_status status;
} enabler;

static void *enable_snapshots(void *arg) {
    enabler *e = arg;
    atomic_fetch_add(e->ready, 1);
    while (atomic_load(e->ready) < 2) {
        sched_yield();
    }
    e->status = keel_domain_snapshot_enable(e->domain, false);
    return NULL;
}

/* Two enables at once: one store is installed, the other enable is refused
 * (before the fix both could see none, both install one, and both succeed). */
KEEL_TEST(of_two_enables_at_once_exactly_one_succeeds) {
    unsigned both = 0;
    for (int round = 0; round < 1000; round++) {
        component c;
        keel_domain *d = make(&c, true, 1 << 20, false);
        CHECK(d != NULL);
        atomic_int ready = 0;
        enabler e[2] = {{d, &ready, KEEL_EINVAL}, {d, &ready, KEEL_EINVAL}};
        pthread_t threads[2];
        for (int i = 0; i < 2; i++) {
            CHECK_EQ(pthread_create(&threads[i], NULL, enable_snapshots, &e[i]), 0);
        }
        for (int i = 0; i < 2; i++) {
            pthread_join(threads[i], NULL);
        }
        both += e[0].status == KEEL_OK && e[1].status == KEEL_OK;
        CHECK((e[0].status == KEEL_OK && e[1].status == KEEL_EBUSY) ||
              (e[0].status == KEEL_EBUSY && e[1].status == KEEL_OK));
        CHECK_OK(keel_domain_destroy(d));
    }
    CHECK_EQ(both, 0u);
}

/* Random steps, snapshots at random points, failures at random points: after
 * each rollback the store is exactly what it was at the last snapshot. */
static void random_rollbacks(bool incremental, bool strict, uint64_t seed) {
    component c;
    keel_domain *d = make(&c, true, 1 << 20, strict);
    CHECK(d != NULL);
    CHECK_OK(keel_domain_snapshot_enable(d, incremental));
    static store expected, now;
    bool have = false;
    unsigned failures = 0;
    for (int step = 0; step < 3000; step++) {
        uint64_t r = next(&seed);
        op o = {next(&seed), (unsigned)(r % 6)};
        if (r % 100 < 8) {
            CHECK_OK(keel_rref_call(c.rref, M_SNAPSHOT, NULL, NULL));
            CHECK_OK(keel_rref_call(c.rref, M_DUMP, NULL, &expected));
            have = true;
        } else if (r % 100 < 12 && have) {
            CHECK_STATUS(keel_rref_call(c.rref, M_FAIL, &o, NULL), KEEL_EPANIC);
            failures++;
            CHECK_OK(keel_rref_call(c.rref, M_VERIFY, NULL, NULL));
            CHECK_OK(keel_rref_call(c.rref, M_DUMP, NULL, &now));
            CHECK_EQ(memcmp(&now, &expected, sizeof now), 0);
        } else {
            CHECK_OK(keel_rref_call(c.rref, M_STEP, &o, NULL));
        }
    }
    keel_domain_snapshot_stats stats;
    keel_domain_snapshot_get_stats(d, &stats);
    CHECK_EQ(stats.rollbacks, failures);
    CHECK(failures > 20);
    if (incremental) {
        CHECK_EQ(stats.incremental, stats.snapshots - 1);
        CHECK(stats.write_faults > 0);
    }
    CHECK_OK(keel_domain_destroy(d));
}

KEEL_TEST(random_failures_roll_back_exactly_to_the_last_full_snapshot) {
    random_rollbacks(false, false, 11);
    random_rollbacks(false, true, 12);
}

KEEL_TEST(random_failures_roll_back_exactly_to_the_last_incremental_snapshot) {
    random_rollbacks(true, false, 13);
}

KEEL_TEST(a_heap_whose_metadata_was_overwritten_is_rolled_back_whole) {
    for (int incremental = 0; incremental < 2; incremental++) {
        component c;
        keel_domain *d = make(&c, true, 256 * 1024, false);
        CHECK(d != NULL);
        CHECK_OK(keel_domain_snapshot_enable(d, incremental));
        uint64_t r = 21;
        for (int i = 0; i < 100; i++) {
            op o = {next(&r), 0};
            CHECK_OK(keel_rref_call(c.rref, M_STEP, &o, NULL));
        }
        CHECK_OK(keel_rref_call(c.rref, M_SNAPSHOT, NULL, NULL));
        static store expected, now;
        CHECK_OK(keel_rref_call(c.rref, M_DUMP, NULL, &expected));
        CHECK_STATUS(keel_rref_call(c.rref, M_WRECK, NULL, NULL), KEEL_EPANIC);
        CHECK_OK(keel_rref_call(c.rref, M_VERIFY, NULL, NULL));
        CHECK_OK(keel_rref_call(c.rref, M_DUMP, NULL, &now));
        CHECK_EQ(memcmp(&now, &expected, sizeof now), 0);
        op o = {next(&r), 0};
        CHECK_OK(keel_rref_call(c.rref, M_STEP, &o, NULL)); /* the heap works */
        CHECK_OK(keel_domain_destroy(d));
    }
}

KEEL_TEST(an_incremental_snapshot_copies_only_the_pages_written) {
    component c;
    keel_domain *d = make(&c, true, 8 << 20, false);
    CHECK(d != NULL);
    CHECK_OK(keel_domain_snapshot_enable(d, true));
    uint64_t r = 9;
    for (int i = 0; i < 400; i++) {
        op o = {next(&r), 0};
        CHECK_OK(keel_rref_call(c.rref, M_STEP, &o, NULL));
    }
    CHECK_OK(keel_domain_snapshot(d));
    keel_domain_snapshot_stats full, incremental;
    keel_domain_snapshot_get_stats(d, &full);
    long one = 1;
    CHECK_OK(keel_rref_call(c.rref, M_ADD, &one, NULL)); /* one page written */
    CHECK_OK(keel_domain_snapshot(d));
    keel_domain_snapshot_get_stats(d, &incremental);
    CHECK_EQ(incremental.incremental, 1);
    CHECK_EQ(incremental.last_bytes, 4096);
    CHECK(full.last_bytes > 8 * 4096);
    CHECK_OK(keel_domain_snapshot(d)); /* nothing written since */
    keel_domain_snapshot_get_stats(d, &incremental);
    CHECK_EQ(incremental.last_bytes, 0);
    CHECK_OK(keel_domain_destroy(d));
}

KEEL_TEST_MAIN()
