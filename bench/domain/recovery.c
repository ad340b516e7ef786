/*
 * recovery.c - timing panics, faults, recoveries and bare signals (recovery.h).
 */
#include "recovery.h"

#include <setjmp.h>
#include <signal.h>
#include <string.h>

#include "keel/domain.h"
#include "tsc.h"

/* The second victim's heap is 1024 times larger: recovery's cost must not
 * grow with it (the heap is renewed in O(1), docs/domains.md). */
enum { VICTIM_HEAP_SIZE = 64 * 1024, BIG_HEAP_SIZE = 64 * 1024 * 1024, SAMPLES_PER_BLOCK = 4 };
enum { M_NOP, M_PANIC, M_FAULT, M_COUNT };

/* The moments the victim records (host memory: a domain shares the address space). */
typedef struct marks {
    bool inner;             /* take the recovery function's stamps this time */
    uint64_t failure;       /* just before keel_panic() or the null write */
    uint64_t recover_start; /* the recovery function's first line */
    uint64_t recover_end;   /* its last line */
    unsigned recovered;     /* recovery functions run */
} marks;

/* A victim domain: its rref lives here across its recoveries. */
typedef struct victim {
    keel_domain *domain;
    keel_rref rref;
    bool exported;
} victim;

static marks stamps;
static victim small_victim, big_victim;
/* An address in the first page, never mapped; volatile so the compiler cannot
 * see (and warn about, or drop) the deliberate wild write. */
static volatile uintptr_t wild = 16;

static keel_status m_nop(void *object, keel_call *call) {
    (void)object;
    (void)call;
    return KEEL_OK;
}

static keel_status m_panic(void *object, keel_call *call) {
    (void)object;
    (void)call;
    stamps.failure = bench_tsc_begin();
    keel_panic("simulated panic in null filter %u", 1u);
}

static keel_status m_fault(void *object, keel_call *call) {
    (void)object;
    (void)call;
    stamps.failure = bench_tsc_begin();
    *(volatile int *)wild = 1;
    return KEEL_OK;
}

static const keel_method victim_methods[M_COUNT] = {m_nop, m_panic, m_fault};
static const keel_interface victim_interface = {"victim", M_COUNT, victim_methods};

/* Init and recovery: a fresh object on the fresh heap, behind the same rref. */
static keel_status victim_init(keel_domain *d, void *context) {
    victim *v = context;
    bool inner = stamps.inner;
    if (inner) {
        stamps.recover_start = bench_tsc_end();
    }
    void *object;
    keel_status status = keel_domain_alloc(64, &object);
    if (status == KEEL_OK) {
        if (v->exported) {
            status = keel_domain_reexport(d, v->rref, object, &victim_interface);
        } else {
            status = keel_domain_export(d, object, &victim_interface, &v->rref);
            v->exported = status == KEEL_OK;
        }
    }
    stamps.recovered++;
    if (inner) {
        stamps.recover_end = bench_tsc_end();
    }
    return status;
}

/* Segment b - a as a sample: the TSC reads at both ends cost what an empty
 * bracket costs, which the report subtracts. */
static void add(domain_results *r, bool record, recovery_series s, uint64_t a, uint64_t b) {
    if (record) {
        hist_add(&r->recovery[s], b - a);
    }
}

/* A failing call (M_PANIC or M_FAULT) and the next call. */
static void time_failure(domain_results *r, bool record, bool inner, unsigned method) {
    recovery_series base = method == M_PANIC ? R_PANIC_TOTAL : R_FAULT_TOTAL;
    keel_status expected = method == M_PANIC ? KEEL_EPANIC : KEEL_EFAULT;
    unsigned recovered = stamps.recovered;
    stamps.inner = inner;
    uint64_t start = bench_tsc_begin();
    keel_status status = keel_rref_call(small_victim.rref, method, NULL, NULL);
    uint64_t end = bench_tsc_end();
    stamps.inner = false;
    uint64_t next_start = bench_tsc_begin();
    keel_status next = keel_rref_call(small_victim.rref, M_NOP, NULL, NULL);
    uint64_t next_end = bench_tsc_end();
    if (status != expected || next != KEEL_OK || stamps.recovered != recovered + 1) {
        domain_results_error(r, "the victim's failure or recovery",
                             status != expected ? status : next);
        return;
    }
    /* Offsets from the R_*_TOTAL entry follow the order of RECOVERY_LIST. */
    if (inner) {
        add(r, record, (recovery_series)(base + 1), stamps.failure, stamps.recover_start);
        add(r, record, (recovery_series)(base + 2), stamps.recover_start, stamps.recover_end);
        add(r, record, (recovery_series)(base + 3), stamps.recover_end, end);
    } else {
        add(r, record, base, stamps.failure, end);
        add(r, record, (recovery_series)(base + 4), start, end);
        add(r, record, (recovery_series)(base + 5), next_start, next_end);
    }
}

/* A panic in the big victim: the fault to the status, as R_PANIC_TOTAL. */
static void time_big_panic(domain_results *r, bool record) {
    unsigned recovered = stamps.recovered;
    keel_status status = keel_rref_call(big_victim.rref, M_PANIC, NULL, NULL);
    uint64_t end = bench_tsc_end();
    if (status != KEEL_EPANIC || stamps.recovered != recovered + 1) {
        domain_results_error(r, "the big victim's failure or recovery", status);
        return;
    }
    add(r, record, R_PANIC_BIG, stamps.failure, end);
}

static void time_call(domain_results *r, bool record) {
    uint64_t start = bench_tsc_begin();
    keel_status status = keel_rref_call(small_victim.rref, M_NOP, NULL, NULL);
    uint64_t end = bench_tsc_end();
    if (status != KEEL_OK) {
        domain_results_error(r, "a healthy call", status);
    }
    add(r, record, R_CALL, start, end);
}

/* ---- bare signals, without keel ---- */

static volatile sig_atomic_t usr1_seen;
static sigjmp_buf segv_escape;

static void on_usr1(int signal) {
    (void)signal;
    usr1_seen = 1;
}

static void on_segv(int signal, siginfo_t *info, void *context) {
    (void)signal;
    (void)info;
    (void)context;
    siglongjmp(segv_escape, 1);
}

static void time_raise(domain_results *r, bool record) {
    usr1_seen = 0;
    uint64_t start = bench_tsc_begin();
    raise(SIGUSR1);
    uint64_t end = bench_tsc_end();
    if (!usr1_seen) {
        domain_results_error(r, "raise(SIGUSR1)", KEEL_ESYSTEM);
    }
    add(r, record, R_SIGNAL_RAISE, start, end);
}

/* Swaps our SIGSEGV handler in (flags as keel's: on the alternate stack, not
 * deferred), takes `n` samples, and puts keel's back. */
static void time_bare_segv(domain_results *r, bool record, unsigned n) {
    struct sigaction ours, keels;
    memset(&ours, 0, sizeof ours);
    ours.sa_sigaction = on_segv;
    ours.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&ours.sa_mask);
    if (sigaction(SIGSEGV, &ours, &keels) != 0) {
        domain_results_error(r, "sigaction(SIGSEGV)", KEEL_ESYSTEM);
        return;
    }
    for (unsigned i = 0; i < n; i++) {
        static volatile uint64_t start; /* read after the siglongjmp: in memory */
        if (sigsetjmp(segv_escape, 0) == 0) {
            start = bench_tsc_begin();
            *(volatile int *)wild = 1;
        }
        uint64_t end = bench_tsc_end();
        add(r, record, R_SIGNAL_SEGV, start, end);
    }
    sigaction(SIGSEGV, &keels, NULL);
}

static void block(domain_results *r, bool record, unsigned kind) {
    for (unsigned i = 0; i < SAMPLES_PER_BLOCK; i++) {
        switch (kind) {
        case 0:
            time_failure(r, record, i % 2 == 1, M_PANIC);
            break;
        case 1:
            time_failure(r, record, i % 2 == 1, M_FAULT);
            break;
        case 2:
            time_call(r, record);
            break;
        case 3:
            time_raise(r, record);
            break;
        case 5:
            time_big_panic(r, record);
            break;
        default:
            break;
        }
    }
    if (kind == 4) {
        time_bare_segv(r, record, SAMPLES_PER_BLOCK);
    }
}

static struct sigaction previous_usr1;

enum { KINDS = 6 }; /* panic, fault, healthy call, raise, bare SIGSEGV, big panic */

static keel_status create_victim(victim *v, size_t heap_size) {
    keel_domain_config config = {.name = "victim",
                                 .heap_size = heap_size,
                                 .table_capacity = 4,
                                 .init = victim_init,
                                 .context = v,
                                 .policy = KEEL_RECOVER_RESTART};
    return keel_domain_create(&config, &v->domain);
}

int recovery_open(domain_results *r) {
    struct sigaction usr1;
    memset(&usr1, 0, sizeof usr1);
    usr1.sa_handler = on_usr1;
    sigemptyset(&usr1.sa_mask);
    sigaction(SIGUSR1, &usr1, &previous_usr1);
    keel_status status = create_victim(&small_victim, VICTIM_HEAP_SIZE);
    if (status == KEEL_OK) {
        status = create_victim(&big_victim, BIG_HEAP_SIZE);
        if (status != KEEL_OK) {
            keel_domain_destroy(small_victim.domain);
        }
    }
    if (status != KEEL_OK) {
        domain_results_error(r, "creating the victim domains", status);
        sigaction(SIGUSR1, &previous_usr1, NULL);
        return -1;
    }
    for (unsigned kind = 0; kind < KINDS; kind++) {
        block(r, false, kind);
    }
    return 0;
}

void recovery_round(domain_results *r, size_t samples) {
    static size_t done;
    /* Half the failing calls carry the inner stamps: twice the samples. */
    size_t blocks = (samples * 2 + SAMPLES_PER_BLOCK - 1) / SAMPLES_PER_BLOCK;
    for (size_t b = 0; b < blocks; b++, done++) {
        bench_timer_empty(&r->empty, 2);
        for (unsigned k = 0; k < KINDS; k++) {
            block(r, true, (unsigned)((k + done) % KINDS));
        }
    }
}

/* One panic of the small victim: the function profile.sh collects inside. */
static __attribute__((noinline)) keel_status panic_once(void) {
    return keel_rref_call(small_victim.rref, M_PANIC, NULL, NULL);
}

int recovery_panics(size_t n) {
    if (create_victim(&small_victim, VICTIM_HEAP_SIZE) != KEEL_OK) {
        return -1;
    }
    int code = 0;
    for (size_t i = 0; i < n && code == 0; i++) {
        unsigned recovered = stamps.recovered;
        if (panic_once() != KEEL_EPANIC || stamps.recovered != recovered + 1) {
            code = -1;
        }
    }
    keel_domain_destroy(small_victim.domain);
    small_victim = (victim){0};
    return code;
}

void recovery_close(domain_results *r) {
    r->recoveries = r->failures = 0;
    victim *victims[] = {&small_victim, &big_victim};
    for (unsigned i = 0; i < 2; i++) {
        keel_domain_stats stats;
        keel_domain_get_stats(victims[i]->domain, &stats);
        r->recoveries += stats.recoveries;
        r->failures += stats.failures;
        keel_domain_destroy(victims[i]->domain);
        *victims[i] = (victim){0};
    }
    sigaction(SIGUSR1, &previous_usr1, NULL);
}
