/*
 * test_domain_strict.c - strict mode in both of its mechanisms: protection keys
 * (where the processor and kernel have them) and mprotect (everywhere, and for
 * the domains beyond the keys available). Each test says which modes it ran
 * (stdout); on a machine without protection keys the key-mode halves are
 * reported as not run, and scripts/test-pku-qemu.sh runs this file where they
 * are.
 *
 * What differs between the modes, and is asserted as such: with keys, the
 * protection is per thread and per innermost domain (another thread, or a
 * domain called from the strict one, cannot reach its heap); with mprotect it
 * is process-wide while any thread is inside.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "keel/domain.h"
#include "keel/ifc.h"
#include "keel_test.h"

enum {
    M_ADD,        /* own heap: value += *arg, *result = value */
    M_ADDRESS,    /* *result = the object's address (in the heap) */
    M_READ_AT,    /* *result = *(long *)*arg: a wild read if it points elsewhere */
    M_WRITE_AT,   /* *(long *)*arg = 42: a wild write if it points elsewhere */
    M_NULL_WRITE, /* a write to the null page */
    M_PANIC,
    M_WAIT,  /* touches its heap, then blocks until released */
    M_NESTED, /* calls another domain (a `nested` in *arg), then touches its own heap */
    M_TAMPER, /* WRPKRU enabling every key, reads *(long *)*arg, then panics */
    M_COUNT
};

typedef struct object {
    long value;
} object;

typedef struct nested {
    keel_rref callee;
    unsigned method;
    void *callee_arg;
    keel_status inner;   /* what the inner call returned */
    long inner_result;
} nested;

static volatile uintptr_t wild16 = 16;
static atomic_int waiting, release_waiters;

static keel_status m_add(void *o, keel_call *call) {
    ((object *)o)->value += *(long *)call->arg;
    *(long *)call->result = ((object *)o)->value;
    return KEEL_OK;
}
static keel_status m_address(void *o, keel_call *call) {
    *(void **)call->result = o;
    return KEEL_OK;
}
static keel_status m_read_at(void *o, keel_call *call) {
    (void)o;
    *(long *)call->result = *(volatile long *)*(void **)call->arg;
    return KEEL_OK;
}
static keel_status m_write_at(void *o, keel_call *call) {
    (void)o;
    *(volatile long *)*(void **)call->arg = 42;
    return KEEL_OK;
}
static keel_status m_null_write(void *o, keel_call *call) {
    (void)o;
    (void)call;
    *(volatile int *)wild16 = 1;
    return KEEL_OK;
}
static keel_status m_panic(void *o, keel_call *call) {
    (void)o;
    (void)call;
    keel_panic("asked to");
}
static keel_status m_wait(void *o, keel_call *call) {
    (void)call;
    ((volatile object *)o)->value += 1;
    atomic_fetch_add(&waiting, 1);
    while (!atomic_load(&release_waiters)) {
        sched_yield();
    }
    ((volatile object *)o)->value += 1;
    return KEEL_OK;
}
static keel_status m_nested(void *o, keel_call *call) {
    nested *n = call->arg;
    n->inner = keel_rref_call(n->callee, n->method, n->callee_arg, &n->inner_result);
    /* The caller's own heap, after the callee returned or was unwound. */
    ((volatile object *)o)->value += 100;
    *(long *)call->result = ((object *)o)->value;
    return KEEL_OK;
}

#if defined(__x86_64__)
static uint32_t read_pkru(void) {
    uint32_t eax, edx;
    __asm__ volatile(".byte 0x0f, 0x01, 0xee" : "=a"(eax), "=d"(edx) : "c"(0));
    return eax;
}
static void write_pkru(uint32_t value) {
    __asm__ volatile(".byte 0x0f, 0x01, 0xef" : : "a"(value), "c"(0), "d"(0) : "memory");
}
#else
static uint32_t read_pkru(void) {
    return 0;
}
static void write_pkru(uint32_t value) {
    (void)value;
}
#endif

static volatile long tampered_read;

static keel_status m_tamper(void *o, keel_call *call) {
    (void)o;
    write_pkru(0); /* unprivileged: any code may do this */
    tampered_read = *(volatile long *)*(void **)call->arg;
    keel_panic("tampered");
}

static const keel_method methods[M_COUNT] = {
    [M_ADD] = m_add,         [M_ADDRESS] = m_address,       [M_READ_AT] = m_read_at,
    [M_WRITE_AT] = m_write_at, [M_NULL_WRITE] = m_null_write, [M_PANIC] = m_panic,
    [M_WAIT] = m_wait,       [M_NESTED] = m_nested,           [M_TAMPER] = m_tamper};
static const keel_interface interface = {"strict-test", M_COUNT, methods};

typedef struct component {
    keel_rref rref;
    int inits;
} component;

static keel_status init(keel_domain *d, void *context) {
    component *comp = context;
    object *o;
    keel_status status = keel_domain_alloc(sizeof *o, (void **)&o);
    if (status != KEEL_OK) {
        return status;
    }
    o->value = 0;
    if (comp->inits++ == 0) {
        return keel_domain_export(d, o, &interface, &comp->rref);
    }
    return keel_domain_reexport(d, comp->rref, o, &interface);
}

static void setup(void) {
    static bool done;
    if (!done) {
        if (keel_domain_system_init(1 << 20, 1024) != KEEL_OK) {
            abort();
        }
        printf("strict mode here: protection keys %s\n",
               keel_domain_pkeys_supported() ? "supported (pkey mode available)"
                                             : "unavailable (mprotect mode only)");
        done = true;
    }
}

/* The label and clearance make() gives (public and nothing secret, unless a
 * test sets them). */
static keel_label make_label, make_clearance;

static keel_domain *make(const char *name, component *comp, bool strict) {
    setup();
    memset(comp, 0, sizeof *comp);
    keel_domain_config config = {.name = name,
                                 .heap_size = 16 * 1024,
                                 .table_capacity = 4,
                                 .init = init,
                                 .context = comp,
                                 .strict = strict,
                                 .label = make_label,
                                 .clearance = make_clearance};
    keel_domain *d = NULL;
    return keel_domain_create(&config, &d) == KEEL_OK ? d : NULL;
}

/* Strict domains that hold keys, so that the next strict domain gets mprotect. */
enum { FILLERS_MAX = 16 };
typedef struct fillers {
    keel_domain *domains[FILLERS_MAX]; /* never fail, so their context may be reused */
    unsigned count;
} fillers;

/*
 * A strict domain in `mode`, or NULL if this machine cannot give one (a key
 * without protection keys). For mprotect on a machine with keys, the keys are
 * used up by fillers first (release them with drop_fillers).
 */
static keel_domain *make_in_mode(const char *name, component *comp, keel_strict_mode mode,
                                 fillers *f) {
    f->count = 0;
    if (mode == KEEL_STRICT_PKEY && !keel_domain_pkeys_supported()) {
        return NULL;
    }
    for (;;) {
        keel_domain *d = make(name, comp, true);
        if (d == NULL || keel_domain_strict_mode(d) == mode) {
            return d;
        }
        if (mode == KEEL_STRICT_PKEY || f->count == FILLERS_MAX) {
            keel_domain_destroy(d);
            return NULL;
        }
        /* A key it holds: keep it, and try again. */
        f->domains[f->count++] = d;
    }
}

static void drop_fillers(fillers *f) {
    while (f->count > 0) {
        keel_domain_destroy(f->domains[--f->count]);
    }
}

/* In a forked child about to touch what it must not: the default action for
 * SIGSEGV, without a core file. */
static void die_on_fault(void) {
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(SIGSEGV, &dfl, NULL);
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
}

static const keel_strict_mode modes[] = {KEEL_STRICT_MPROTECT, KEEL_STRICT_PKEY};

static void report(const char *test, keel_strict_mode mode, bool ran) {
    printf("  %s: %s mode %s\n", test, keel_strict_mode_name(mode), ran ? "ran" : "NOT RUN (no pku)");
}

KEEL_TEST(each_domain_reports_its_mode_and_keys_run_out_into_mprotect) {
    setup();
    component plain_comp;
    keel_domain *plain = make("plain", &plain_comp, false);
    CHECK(plain != NULL);
    CHECK_EQ(keel_domain_strict_mode(plain), KEEL_STRICT_OFF);
    enum { N = 20 };
    keel_domain *d[N];
    component comps[N];
    unsigned keyed = 0, mprotected = 0;
    for (unsigned i = 0; i < N; i++) {
        d[i] = make("many", &comps[i], true);
        CHECK(d[i] != NULL);
        keel_strict_mode m = keel_domain_strict_mode(d[i]);
        CHECK(m == KEEL_STRICT_PKEY || m == KEEL_STRICT_MPROTECT);
        keyed += m == KEEL_STRICT_PKEY;
        mprotected += m == KEEL_STRICT_MPROTECT;
        if (i > 0 && m == KEEL_STRICT_PKEY) {
            /* Keys go first: no keyed domain after an mprotect one. */
            CHECK_EQ(keel_domain_strict_mode(d[i - 1]), KEEL_STRICT_PKEY);
        }
    }
    printf("  20 strict domains: %u with a protection key, %u with mprotect\n", keyed,
           mprotected);
    if (keel_domain_pkeys_supported()) {
        CHECK(keyed >= 1 && keyed <= 15);
        CHECK(mprotected >= N - 15);
    } else {
        CHECK_EQ(keyed, 0);
        CHECK_EQ(mprotected, N);
    }
    /* Every one of them works from inside, whichever mode it got. */
    for (unsigned i = 0; i < N; i++) {
        long add = (long)i + 1, result = 0;
        CHECK_OK(keel_rref_call(comps[i].rref, M_ADD, &add, &result));
        CHECK_EQ(result, (long)i + 1);
    }
    for (unsigned i = 0; i < N; i++) {
        CHECK_OK(keel_domain_destroy(d[i]));
    }
    /* Destroying gives the keys back. */
    component again_comp;
    keel_domain *again = make("again", &again_comp, true);
    CHECK(again != NULL);
    CHECK_EQ(keel_domain_strict_mode(again),
             keel_domain_pkeys_supported() ? KEEL_STRICT_PKEY : KEEL_STRICT_MPROTECT);
    CHECK_OK(keel_domain_destroy(again));
    CHECK_OK(keel_domain_destroy(plain));
}

KEEL_TEST(a_wild_write_into_a_strict_heap_is_contained_and_blamed_on_the_writer) {
    for (unsigned m = 0; m < 2; m++) {
        fillers f;
        component vc, cc;
        keel_domain *victim = make_in_mode("victim", &vc, modes[m], &f);
        report("wild write", modes[m], victim != NULL);
        if (victim == NULL) {
            continue;
        }
        keel_domain *culprit = make("culprit", &cc, false);
        CHECK(culprit != NULL);
        long add = 5, result = 0;
        CHECK_OK(keel_rref_call(vc.rref, M_ADD, &add, &result));
        void *inside = NULL;
        CHECK_OK(keel_rref_call(vc.rref, M_ADDRESS, NULL, &inside));
        for (int i = 0; i < 100; i++) {
            CHECK_STATUS(keel_rref_call(cc.rref, M_WRITE_AT, &inside, NULL), KEEL_EFAULT);
            const keel_failure *fl = keel_last_failure();
            CHECK_EQ(fl->domain, keel_domain_id(culprit));
            CHECK(fl->address == inside);
            CHECK(strstr(fl->message, "heap of domain 'victim'") != NULL);
            if (modes[m] == KEEL_STRICT_PKEY) {
                CHECK(strstr(fl->message, "protection key fault") != NULL);
            }
            CHECK_STATUS(keel_rref_call(cc.rref, M_READ_AT, &inside, &result), KEEL_EFAULT);
        }
        CHECK_OK(keel_rref_call(vc.rref, M_ADD, &add, &result));
        CHECK_EQ(result, 10); /* intact */
        keel_domain_stats stats;
        keel_domain_get_stats(victim, &stats);
        CHECK_EQ(stats.failures, 0);
        CHECK_OK(keel_domain_destroy(culprit));
        CHECK_OK(keel_domain_destroy(victim));
        drop_fillers(&f);
    }
}

typedef struct waiter_args {
    keel_rref rref;
    keel_status status;
} waiter_args;

static void *waiter(void *p) {
    waiter_args *a = p;
    a->status = keel_rref_call(a->rref, M_WAIT, NULL, NULL);
    return NULL;
}

KEEL_TEST(with_keys_another_thread_cannot_reach_a_heap_a_thread_is_inside) {
    for (unsigned m = 0; m < 2; m++) {
        fillers f;
        component vc, cc;
        keel_domain *victim = make_in_mode("victim", &vc, modes[m], &f);
        report("other thread", modes[m], victim != NULL);
        if (victim == NULL) {
            continue;
        }
        keel_domain *culprit = make("culprit", &cc, false);
        CHECK(culprit != NULL);
        void *inside = NULL;
        CHECK_OK(keel_rref_call(vc.rref, M_ADDRESS, NULL, &inside));
        atomic_store(&waiting, 0);
        atomic_store(&release_waiters, 0);
        waiter_args a = {.rref = vc.rref};
        pthread_t thread;
        CHECK(pthread_create(&thread, NULL, waiter, &a) == 0);
        while (atomic_load(&waiting) == 0) {
            sched_yield();
        }
        long result = -1;
        keel_status status = keel_rref_call(cc.rref, M_READ_AT, &inside, &result);
        atomic_store(&release_waiters, 1);
        pthread_join(thread, NULL);
        CHECK_OK(a.status);
        if (modes[m] == KEEL_STRICT_PKEY) {
            /* Per thread: the waiter's rights are not this thread's. */
            CHECK_STATUS(status, KEEL_EFAULT);
        } else {
            /* Process-wide, as documented: open while anyone is inside. */
            CHECK_OK(status);
            CHECK_EQ(result, 1);
        }
        CHECK_OK(keel_domain_destroy(culprit));
        CHECK_OK(keel_domain_destroy(victim));
        drop_fillers(&f);
    }
}

KEEL_TEST(with_keys_a_callee_cannot_reach_its_strict_callers_heap_and_the_caller_can_after) {
    for (unsigned m = 0; m < 2; m++) {
        fillers f;
        component ac, bc, sc;
        keel_domain *a = make_in_mode("caller", &ac, modes[m], &f);
        report("callee reaching caller", modes[m], a != NULL);
        if (a == NULL) {
            continue;
        }
        /* Callees of every kind: plain, and strict in the other mode if possible. */
        keel_domain *plain = make("plain", &bc, false);
        keel_domain *strict = make("strict", &sc, true);
        CHECK(plain != NULL && strict != NULL);
        void *inside = NULL;
        CHECK_OK(keel_rref_call(ac.rref, M_ADDRESS, NULL, &inside));
        keel_rref callees[2] = {bc.rref, sc.rref};
        long expected = 0;
        for (unsigned c = 0; c < 2; c++) {
            for (unsigned method = M_READ_AT; method <= M_WRITE_AT; method++) {
                nested n = {.callee = callees[c], .method = method, .callee_arg = &inside};
                long result = 0;
                CHECK_OK(keel_rref_call(ac.rref, M_NESTED, &n, &result));
                expected += 100;
                if (modes[m] == KEEL_STRICT_PKEY) {
                    CHECK_STATUS(n.inner, KEEL_EFAULT);
                    CHECK_EQ(keel_last_failure()->domain, c == 0 ? keel_domain_id(plain)
                                                                 : keel_domain_id(strict));
                } else {
                    /* mprotect: the caller's heap is open to its callees. */
                    CHECK_OK(n.inner);
                    if (method == M_WRITE_AT) {
                        expected = 42 + 100; /* the callee's write landed */
                    }
                }
                CHECK_EQ(result, expected);
            }
        }
        keel_domain_stats stats;
        keel_domain_get_stats(a, &stats);
        CHECK_EQ(stats.failures, 0);
        CHECK_OK(keel_domain_destroy(strict));
        CHECK_OK(keel_domain_destroy(plain));
        CHECK_OK(keel_domain_destroy(a));
        drop_fillers(&f);
    }
}

KEEL_TEST(a_fault_or_panic_in_a_callee_unwinds_to_a_caller_with_its_own_rights) {
    for (unsigned m = 0; m < 2; m++) {
        fillers f;
        component ac, bc, sc;
        keel_domain *a = make_in_mode("caller", &ac, modes[m], &f);
        report("unwind restores the caller's rights", modes[m], a != NULL);
        if (a == NULL) {
            continue;
        }
        keel_domain *plain = make("plain", &bc, false);
        keel_domain *strict = make("strict", &sc, true);
        CHECK(plain != NULL && strict != NULL);
        uint32_t before = keel_domain_pkeys_supported() ? read_pkru() : 0;
        keel_rref callees[2] = {bc.rref, sc.rref};
        long expected = 0;
        for (int round = 0; round < 200; round++) {
            nested n = {.callee = callees[round % 2],
                        .method = round % 4 < 2 ? M_NULL_WRITE : M_PANIC};
            long result = 0;
            /* If the unwind left the handler's PKRU (or the callee's), the
             * caller's own heap access after it would fault. */
            CHECK_OK(keel_rref_call(ac.rref, M_NESTED, &n, &result));
            CHECK_STATUS(n.inner, n.method == M_PANIC ? KEEL_EPANIC : KEEL_EFAULT);
            expected += 100;
            CHECK_EQ(result, expected);
        }
        /* And the host's own rights are back exactly as they were. */
        if (keel_domain_pkeys_supported()) {
            CHECK_EQ(read_pkru(), before);
        }
        CHECK_OK(keel_domain_destroy(strict));
        CHECK_OK(keel_domain_destroy(plain));
        CHECK_OK(keel_domain_destroy(a));
        drop_fillers(&f);
    }
}

KEEL_TEST(the_host_cannot_reach_a_strict_heap_even_after_a_contained_fault) {
    for (unsigned m = 0; m < 2; m++) {
        fillers f;
        component vc;
        keel_domain *victim = make_in_mode("victim", &vc, modes[m], &f);
        report("host access after a fault", modes[m], victim != NULL);
        if (victim == NULL) {
            continue;
        }
        void *inside = NULL;
        CHECK_OK(keel_rref_call(vc.rref, M_ADDRESS, NULL, &inside));
        CHECK_STATUS(keel_rref_call(vc.rref, M_NULL_WRITE, NULL, NULL), KEEL_EFAULT);
        CHECK_STATUS(keel_rref_call(vc.rref, M_PANIC, NULL, NULL), KEEL_EPANIC);
        fflush(stdout);
        pid_t child = fork();
        if (child == 0) {
            /* A host fault kills the child (the default action, set here so
             * that a sanitizer's handler, which keel would chain to, does not
             * turn the signal into an exit status). */
            die_on_fault();
            long v = *(volatile long *)inside;
            _exit(v == 12345 ? 3 : 0);
        }
        int status;
        CHECK(waitpid(child, &status, 0) == child);
        CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
        CHECK_OK(keel_domain_destroy(victim));
        drop_fillers(&f);
    }
}

KEEL_TEST(with_keys_a_fault_keeps_the_hosts_own_protection_keys) {
    setup();
    bool ran = keel_domain_pkeys_supported();
    report("host key kept across a fault", KEEL_STRICT_PKEY, ran);
    if (!ran) {
        return;
    }
    /* The host uses a key of its own, enabled for writes only. */
    int key = pkey_alloc(0, PKEY_DISABLE_WRITE);
    CHECK(key > 0);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    volatile long *mine = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(mine != MAP_FAILED);
    CHECK(pkey_mprotect((void *)mine, page, PROT_READ | PROT_WRITE, key) == 0);
    CHECK(pkey_set(key, 0) == 0);
    mine[0] = 7;
    uint32_t before = read_pkru();
    fillers f;
    component vc, pc;
    keel_domain *keyed = make_in_mode("keyed", &vc, KEEL_STRICT_PKEY, &f);
    keel_domain *plain = make("plain", &pc, false);
    CHECK(keyed != NULL && plain != NULL);
    CHECK_STATUS(keel_rref_call(vc.rref, M_NULL_WRITE, NULL, NULL), KEEL_EFAULT);
    CHECK_STATUS(keel_rref_call(pc.rref, M_NULL_WRITE, NULL, NULL), KEEL_EFAULT);
    CHECK_EQ(read_pkru(), before);
    mine[0] = 8; /* would fault if the handler's PKRU had stayed */
    CHECK_EQ(mine[0], 8);
    CHECK_OK(keel_domain_destroy(plain));
    CHECK_OK(keel_domain_destroy(keyed));
    munmap((void *)mine, page);
    pkey_free(key);
}

KEEL_TEST(with_keys_a_domain_can_re_enable_keys_but_an_unwind_takes_them_back) {
    setup();
    bool ran = keel_domain_pkeys_supported();
    report("WRPKRU inside a domain", KEEL_STRICT_PKEY, ran);
    if (!ran) {
        return;
    }
    fillers f;
    component vc, pc;
    keel_domain *victim = make_in_mode("victim", &vc, KEEL_STRICT_PKEY, &f);
    keel_domain *plain = make("plain", &pc, false);
    CHECK(victim != NULL && plain != NULL);
    long add = 77, result = 0;
    CHECK_OK(keel_rref_call(vc.rref, M_ADD, &add, &result));
    void *inside = NULL;
    CHECK_OK(keel_rref_call(vc.rref, M_ADDRESS, NULL, &inside));
    /* What protection keys cannot stop: the plain domain enables every key
     * itself and reads the victim's heap without a fault. */
    tampered_read = 0;
    CHECK_STATUS(keel_rref_call(pc.rref, M_TAMPER, &inside, NULL), KEEL_EPANIC);
    CHECK_EQ(tampered_read, 77);
    /* The unwind put keel's keys back as the host had them: the victim's heap
     * is out of the host's reach again (the other keys' bits are the
     * program's, and stay as the domain left them). */
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        die_on_fault();
        long v = *(volatile long *)inside;
        _exit(v == 77 ? 3 : 0);
    }
    int status;
    CHECK(waitpid(child, &status, 0) == child);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
    CHECK_OK(keel_domain_destroy(plain));
    CHECK_OK(keel_domain_destroy(victim));
    drop_fillers(&f);
}

typedef struct worker_args {
    keel_rref own, culprit;
    void *other_heap; /* another worker's heap, likely in use by its thread */
    int failures, wild_reads_let_through;
} worker_args;

static void *worker(void *p) {
    worker_args *w = p;
    for (int i = 0; i < 2000; i++) {
        long add = 1, result = 0;
        if (keel_rref_call(w->own, M_ADD, &add, &result) != KEEL_OK || result != i + 1) {
            w->failures++;
        }
        if (i % 50 == 0) {
            long r;
            keel_status status = keel_rref_call(w->culprit, M_READ_AT, &w->other_heap, &r);
            /* With keys never let through (the culprit faults, or is
             * recovering from another thread's fault). With mprotect it may be
             * let through, and then aborted if the culprit failed meanwhile. */
            if (status == KEEL_OK || status == KEEL_EABORTED) {
                w->wild_reads_let_through++;
            } else if (status != KEEL_EFAULT && status != KEEL_ERECOVERING) {
                w->failures++;
            }
        }
    }
    return NULL;
}

KEEL_TEST(four_threads_in_four_strict_domains_keep_their_own_heaps) {
    setup();
    enum { T = 4 };
    component comps[T], cc;
    keel_domain *d[T];
    void *heaps[T];
    for (int i = 0; i < T; i++) {
        d[i] = make("worker", &comps[i], true);
        CHECK(d[i] != NULL);
        CHECK_OK(keel_rref_call(comps[i].rref, M_ADDRESS, NULL, &heaps[i]));
    }
    keel_domain *culprit = make("culprit", &cc, false);
    CHECK(culprit != NULL);
    bool keyed = keel_domain_strict_mode(d[0]) == KEEL_STRICT_PKEY;
    report("four threads", keel_domain_strict_mode(d[0]), true);
    worker_args args[T];
    pthread_t threads[T];
    for (int i = 0; i < T; i++) {
        args[i] = (worker_args){
            .own = comps[i].rref, .culprit = cc.rref, .other_heap = heaps[(i + 1) % T]};
        CHECK(pthread_create(&threads[i], NULL, worker, &args[i]) == 0);
    }
    for (int i = 0; i < T; i++) {
        pthread_join(threads[i], NULL);
        CHECK_EQ(args[i].failures, 0);
        if (keyed) {
            CHECK_EQ(args[i].wild_reads_let_through, 0);
        }
    }
    CHECK_OK(keel_domain_destroy(culprit));
    for (int i = 0; i < T; i++) {
        CHECK_OK(keel_domain_destroy(d[i]));
    }
}

/* Information-flow checks (keel/ifc.h) sit around the admission into a
 * domain: a refused call never enters the callee, and the caller keeps its
 * own rights in either mechanism. Last in this file: once a category exists,
 * every call is checked. */
KEEL_TEST(a_flow_refused_or_allowed_from_inside_a_strict_domain_leaves_it_its_rights) {
    unsigned secret;
    CHECK_OK(keel_ifc_category_create("strict-secret", &secret));
    keel_label labelled = {KEEL_CATEGORY(secret), 0};
    for (unsigned m = 0; m < 2; m++) {
        fillers f;
        component ac, pc, sc, cc;
        make_label = make_clearance = labelled;
        keel_domain *a = make_in_mode("secret-caller", &ac, modes[m], &f);
        report("label checks around the admission", modes[m], a != NULL);
        if (a == NULL) {
            make_label = make_clearance = KEEL_LABEL_PUBLIC;
            continue;
        }
        keel_domain *cleared = make("cleared", &cc, true); /* may learn the secret */
        make_label = make_clearance = KEEL_LABEL_PUBLIC;
        keel_domain *plain = make("public-plain", &pc, false);
        keel_domain *strict = make("public-strict", &sc, true);
        CHECK(plain != NULL && strict != NULL && cleared != NULL);
        uint32_t before = keel_domain_pkeys_supported() ? read_pkru() : 0;
        long add = 1, expected = 0;
        for (int round = 0; round < 30; round++) {
            keel_rref refused[2] = {pc.rref, sc.rref};
            nested n = {.callee = round % 3 == 2 ? cc.rref : refused[round % 3],
                        .method = M_ADD,
                        .callee_arg = &add};
            long result = 0;
            /* The caller's own heap after the inner call: a fault there if
             * the refusal (or the allowed call) left it the wrong rights. */
            CHECK_OK(keel_rref_call(ac.rref, M_NESTED, &n, &result));
            CHECK_STATUS(n.inner, round % 3 == 2 ? KEEL_OK : KEEL_ECLEARANCE);
            expected += 100;
            CHECK_EQ(result, expected);
        }
        CHECK(keel_ifc_last_refusal() != NULL);
        if (keel_domain_pkeys_supported()) {
            CHECK_EQ(read_pkru(), before);
        }
        CHECK_OK(keel_domain_destroy(strict));
        CHECK_OK(keel_domain_destroy(plain));
        CHECK_OK(keel_domain_destroy(cleared));
        CHECK_OK(keel_domain_destroy(a));
        drop_fillers(&f);
    }
}

KEEL_TEST_MAIN()
