/*
 * presence.c - which threads are inside which domain, counted without a shared
 * counter on the call path.
 *
 * A call must count itself into the callee before it validates the rref, so
 * that recovery and destroy (which need the domain empty) cannot start between
 * the checks and the call. A shared counter makes that two locked
 * read-modify-writes per call. Instead every thread owns a record and counts
 * itself in and out of each domain with plain stores; the question "is anyone
 * inside?" is asked only on rare paths (a failed domain's last thread leaving,
 * destroy), which pay for the answer.
 *
 * The two sides form a Dekker pattern. A caller stores its count, then loads
 * the domain's state; a failing or destroying thread stores the state, then
 * loads every count. Each needs its store ordered before its load. The rare
 * side calls membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED), which makes every
 * running thread of the process execute a full memory barrier, so the caller
 * needs only a compiler barrier: either the scan sees the caller's count, or
 * the caller's later loads see the new state. Where membarrier is unavailable
 * every thread counts with atomic read-modify-writes, full barriers themselves
 * (thread_state.careful).
 *
 * Threads get a record at their first call and give it back when they exit
 * (a pthread key destructor), folding their call counts into the domains.
 * Threads beyond RECORDS share one last record and count with atomic
 * read-modify-writes, which are full barriers themselves: slower, never wrong.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#if defined(__linux__)
#include <linux/membarrier.h>
#include <sys/syscall.h>
#endif

#include "domain/internal.h"

enum { RECORDS = 64 };

/* records[RECORDS] is the shared record. Records live in static storage: a
 * scan may read a record while its thread exits, and sees zeros or its counts. */
static thread_record records[RECORDS + 1];
static bool record_used[RECORDS]; /* owned by records_lock */
static _Atomic unsigned records_high; /* records below this index may be in use */
static _Atomic unsigned threads;      /* threads holding a record (the shared one included) */
static pthread_mutex_t records_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;
static bool membarrier_ready;

keel_status keel_presence_init_(void) {
    /* KEEL_NO_MEMBARRIER=1 forces the fallback (docs/domains.md): to measure it,
     * to test it, or where a sandbox lets registration pass but not the call. */
    const char *off = getenv("KEEL_NO_MEMBARRIER");
    if (off != NULL && off[0] == '1') {
        return KEEL_OK;
    }
#if defined(__linux__) && defined(SYS_membarrier)
    if (!membarrier_ready) {
        long commands = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
        if (commands > 0 && (commands & MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0 &&
            syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0) {
            membarrier_ready = true;
        }
    }
#endif
    return KEEL_OK;
}

/* A thread's exit: its counts join the domains', its record is free again. */
static void thread_exit(void *record) {
    thread_record *r = record;
    pthread_mutex_lock(&records_lock);
    for (uint32_t id = 1; id < KEEL_DOMAIN_MAX; id++) {
        /* An exchange: threads sharing the last record may count into it
         * meanwhile, and a load then a store of 0 would lose their counts. */
        if (atomic_load_explicit(&r->calls[id], memory_order_relaxed) != 0) {
            uint64_t calls = atomic_exchange(&r->calls[id], 0);
            atomic_fetch_add(&keel_domains_[id].calls_retired, calls);
        }
    }
    if (r != &records[RECORDS]) {
        /* A thread that ended inside a call (pthread_exit from a method) had
         * its calls cleaned up by the unwinding (call.c's call_abandoned),
         * lends included; in case anything was left (an init or a recovery
         * function, which have no such cleanup), the record's next thread
         * starts with no lend. */
        for (unsigned depth = 0; depth < KEEL_CALL_DEPTH_MAX; depth++) {
            atomic_store_explicit(&r->lending[depth], 0, memory_order_release);
        }
        record_used[r - records] = false;
    }
    atomic_fetch_sub(&threads, 1);
    pthread_mutex_unlock(&records_lock);
}

static void make_exit_key(void) {
    /* Without the key a thread's record is never given back: the thread then
     * keeps it until the process ends, which wastes a record, nothing more. */
    (void)pthread_key_create(&exit_key, thread_exit);
}

void keel_thread_prepare_(thread_state *t) {
    keel_fault_prepare_thread_();
    pthread_once(&exit_key_once, make_exit_key);
    pthread_mutex_lock(&records_lock);
    unsigned i = 0;
    while (i < RECORDS && record_used[i]) {
        i++;
    }
    if (i < RECORDS) {
        record_used[i] = true;
        if (atomic_load(&records_high) <= i) {
            atomic_store(&records_high, i + 1);
        }
    }
    /* Counted before the thread's first entry, by a read-modify-write: a
     * barrier that reads `threads` too low (and skips membarrier) is ordered
     * before this, so the thread's first loads see what that barrier's caller
     * stored. */
    atomic_fetch_add(&threads, 1);
    pthread_mutex_unlock(&records_lock);
    /* System init (and with it keel_presence_init_) precedes every call. */
    t->careful = i == RECORDS || !membarrier_ready;
    t->lender = t->careful ? 0 : i + 1;
    t->record = &records[i];
    (void)pthread_setspecific(exit_key, t->record);
}

void keel_presence_barrier_(void) {
    atomic_thread_fence(memory_order_seq_cst);
    if (!membarrier_ready) {
        return; /* every thread counts with full barriers */
    }
    /* With no other thread counted, there is nobody to order. */
    unsigned others = atomic_load(&threads) - (keel_thread_.record != NULL ? 1u : 0u);
    if (others == 0) {
        return;
    }
#if defined(__linux__) && defined(SYS_membarrier)
    if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0) {
        /* Registered at init, so this cannot fail short of a kernel bug, and
         * continuing unordered could tear a domain down under a caller. */
        abort();
    }
#endif
}

bool keel_presence_anyone_inside_(uint32_t id) {
    unsigned high = atomic_load(&records_high);
    for (unsigned i = 0; i < high; i++) {
        if (atomic_load_explicit(&records[i].inside[id], memory_order_acquire) != 0) {
            return true;
        }
    }
    return atomic_load_explicit(&records[RECORDS].inside[id], memory_order_acquire) != 0;
}

bool keel_presence_lending_(uint32_t lender, uint32_t index) {
    const thread_state *t = &keel_thread_;
    const thread_record *r = &records[lender - 1];
    /* The caller's own lends are those of its open calls, in program order. */
    unsigned depth = t->depth;
    if (lender != t->lender) {
        /* Another thread's: it stores its slot, then loads the entry's
         * state; we have stored BOX_CLOSING and now load its slots. The
         * barrier orders its side (presence.c's header): either we see its
         * slot, or its load sees the entry closing. */
        keel_presence_barrier_();
        depth = KEEL_CALL_DEPTH_MAX;
    }
    for (unsigned i = 0; i < KEEL_CALL_DEPTH_MAX && i < depth; i++) {
        /* Acquire: a 0 stored as a lend ended orders the borrower's accesses
         * before whatever the free or the move does next. */
        if (atomic_load_explicit(&r->lending[i], memory_order_acquire) == index) {
            return true;
        }
    }
    return false;
}

static uint64_t sum_calls(uint32_t id) {
    uint64_t sum = atomic_load(&keel_domains_[id].calls_retired);
    unsigned high = atomic_load(&records_high);
    for (unsigned i = 0; i < high; i++) {
        sum += atomic_load_explicit(&records[i].calls[id], memory_order_relaxed);
    }
    return sum + atomic_load_explicit(&records[RECORDS].calls[id], memory_order_relaxed);
}

uint64_t keel_presence_calls_(uint32_t id) {
    /* Under the lock: an exiting thread moves its counts from its record to
     * calls_retired, and a sum that read calls_retired before the move and
     * the record after it would miss them. */
    pthread_mutex_lock(&records_lock);
    uint64_t calls = sum_calls(id) - atomic_load(&keel_domains_[id].calls_base);
    pthread_mutex_unlock(&records_lock);
    return calls;
}

void keel_presence_reset_calls_(keel_domain *d) {
    /* Under the lock, so that no exiting thread moves counts while we add them. */
    pthread_mutex_lock(&records_lock);
    atomic_store(&d->calls_base, sum_calls(d->id));
    pthread_mutex_unlock(&records_lock);
}
