/*
 * internal.h - the domain module's private structures, shared by domain.c
 * (registry and reference tables), call.c (calls, panics, recovery), fault.c
 * (hardware faults) and box.c (the exchange heap). Not installed.
 */
#ifndef KEEL_DOMAIN_INTERNAL_H
#define KEEL_DOMAIN_INTERNAL_H

#include <assert.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/changes.h"
#include "keel/domain.h"

/* Nothing here is exported: references stay direct, without the GOT or PLT. */
#pragma GCC visibility push(hidden)

/* A slot of a reference table. A slot is valid for an rref when its generation
 * equals the rref's and it was exported in the domain's current epoch. Writers
 * (export, revoke) hold the table lock; callers read without it, and re-check
 * the generation after reading the fields (a seqlock read). */
typedef struct slot {
    _Atomic uint64_t generation; /* globally unique per export; changes on revoke */
    _Atomic uint64_t epoch;      /* the domain epoch it was (re)exported in */
    void *_Atomic object;
    const keel_interface *_Atomic interface;
    _Atomic keel_filter filter;
    void *_Atomic filter_state;
    uint32_t next_free; /* free-list link (UINT32_MAX ends it); owned by the lock */
    bool in_use;        /* exported and not revoked (possibly in an old epoch) */
} slot;

#define SLOT_NONE       UINT32_MAX
#define FAILURE_HISTORY 64u /* failure budgets are capped at this many */

/*
 * A domain. The structs live in static storage (keel_domains_) and are never
 * unmapped, so a caller holding a stale rref can always count itself in and
 * then see `live` false. A call enters first and validates after: the thread
 * counts itself inside (presence.c) before `live`, the state, the epoch and the
 * slot are checked, so a domain cannot be destroyed or recovered between the
 * checks and the call (destroy and recovery wait until no thread is inside).
 */
struct keel_domain {
    _Atomic bool live; /* created and not destroyed */
    uint32_t id;
    char name[32];
    keel_domain_config config;
    _Atomic uint64_t epoch; /* incarnation: a fresh number at create and at each failure */
    _Atomic int state;      /* keel_domain_state */
    _Atomic bool destroying;
    _Atomic bool needs_recovery; /* set by the failure, taken by the last thread out */
    /* Private heap: mapped at create, shared by the threads inside. */
    keel_heap_locked heap;
    void *heap_region;
    size_t heap_bytes;
    /* The heap's epoch (keel_heap_renew), kept here where the domain cannot
     * write it: set at create, by each recovery and by each rollback. */
    uint32_t heap_epoch;
    /* Strict mode, with a protection key (pkey.c): `pkey` is the heap's key,
     * enabled in a thread's PKRU while it runs inside. Without one (pkey 0):
     * the heap is PROT_NONE while no validated thread is inside (`admitted` is
     * 0). Admission and departure change the protection under this lock, so
     * the mprotect calls of two threads cannot land out of order. */
    unsigned pkey;
    pthread_mutex_t protect_lock;
    unsigned admitted; /* owned by protect_lock */
    /* Reference table. */
    slot *slots;
    size_t slots_bytes;
    uint32_t free_head;
    unsigned exported;
    pthread_mutex_t table_lock;
    /* Failures inside the window, for the budget (owned by the recovering thread). */
    uint64_t failure_times[FAILURE_HISTORY];
    unsigned failure_next;
    /* Boxes owned by an incarnation older than this may be reclaimed: no thread
     * can still run in it. Advanced at create and at the start of a recovery
     * (when the last thread has left the failed incarnation); UINT64_MAX once the
     * domain is destroyed. */
    _Atomic uint64_t reclaim_below;
    /* Statistics. Calls are counted per thread (presence.c); threads that exit
     * fold theirs into calls_retired, and calls_base is the total at create. */
    _Atomic uint64_t calls_retired, calls_base;
    _Atomic uint64_t failures, recoveries, refused;
    /* Whole-domain snapshots (snapshot.c): NULL until enabled. */
    struct domain_snapshot *_Atomic snapshot;
};

/*
 * Unwinding. On x86-64 keel saves and restores only what a call into a domain
 * needs (the callee-saved registers, the stack pointer and the resume address:
 * unwind_x86_64.S), a third of glibc's sigsetjmp, which also mangles pointers
 * and calls out to decide about the signal mask. Elsewhere, and when
 * KEEL_PORTABLE_UNWIND is defined (or where the compiler enables a CET shadow
 * stack, which glibc maintains), it is sigsetjmp(env, 0) and siglongjmp.
 * Neither saves the signal mask: the fault handler runs with SA_NODEFER and an
 * empty sa_mask, so the mask at the fault is the mask to resume with.
 *
 * Two ways to make an unwind point:
 * - keel_unwind_call_(object, call, fn, frame) returns fn(object, call), or, if
 *   the call is unwound, the failure status (KEEL_EPANIC or KEEL_EFAULT): an
 *   ordinary function call to its caller, which needs no returns_twice and so
 *   keeps its values in registers across it. The call path uses it.
 * - UNWIND_SAVE(env) returns 0, and a second time the failure status (never
 *   0) when unwound, as setjmp does: its caller is returns_twice, and keeps
 *   across it only what setjmp would let it keep.
 */
#if defined(__x86_64__) && !defined(KEEL_PORTABLE_UNWIND) && !(defined(__CET__) && (__CET__ & 2))
#define KEEL_FAST_UNWIND 1
typedef uintptr_t unwind_buf[8];
__attribute__((returns_twice)) int keel_unwind_save_(unwind_buf env);
_Noreturn void keel_unwind_jump_(unwind_buf env, keel_status failure);
#define UNWIND_SAVE(env) keel_unwind_save_(env)
#else
typedef sigjmp_buf unwind_buf;
#define UNWIND_SAVE(env) sigsetjmp(env, 0)
#endif

/* One call into a domain, on the calling thread's stack. */
typedef struct call_frame {
    unwind_buf env;              /* where a failure inside the call unwinds to */
    struct call_frame *previous; /* the frame of the enclosing call, if any */
    keel_domain *domain;         /* the callee */
    uint64_t epoch;              /* the callee's incarnation this call runs in */
    keel_status failure;         /* KEEL_EPANIC or KEEL_EFAULT once unwound */
    keel_box lent;               /* the box lent to this call, or KEEL_BOX_NONE */
    /* The caller's protection key, to restore when the call ends, for a
     * thread that ends inside the call (call.c's call_abandoned). */
    unsigned rights;
    /* The most the callee may learn and still answer: the meet of the
     * clearances of every caller waiting on this call (ifc/internal.h). */
    keel_label bound;
} call_frame;

#ifdef KEEL_FAST_UNWIND
/* keel_unwind_call_ (above), given the frame as its env (the frame's first
 * bytes). Where sigsetjmp unwinds, call.c has it. */
static_assert(offsetof(call_frame, env) == 0, "keel_unwind_call_ is given the frame as its env");
keel_status keel_unwind_call_(void *object, keel_call *call, keel_method fn, call_frame *frame);
#endif
/* Resumes at the unwind point of `frame`, which then returns frame->failure
 * (call.c). */
_Noreturn void keel_unwind_(call_frame *frame);

/*
 * Which threads are inside which domain (presence.c). Each thread that calls
 * into a domain gets a record of its own and counts itself in and out with
 * plain stores: no locked instruction on the call path. The rare paths that
 * must know whether anyone is inside (failure, recovery, destroy) first make
 * every other thread execute a memory barrier (membarrier(2)), then read all
 * records. Threads beyond the records share one more, counted with atomic
 * read-modify-writes.
 */
#define KEEL_CALL_DEPTH_MAX 64u

/*
 * The rref memo. Most calls repeat a validation that passed a moment ago: the
 * same rref, into a domain that has neither failed nor changed its table
 * since. Each thread's record remembers a few such validations, tagged with
 * the rref epoch: the count of changes to anything validate (call.c) reads,
 * keel_rref_changes_. Every such change is bracketed by rref_change_begin and
 * rref_change_end: a domain going live or dead, a failure, a recovery's state,
 * an export, a re-export, a revoke, a filter, a rollback of the table. A memo
 * whose tag still equals the epoch is validate's verdict on the domain and the
 * slot as they stand (core/changes.h argues it under concurrent writers), so
 * a call that finds one pays a compare of the tag and two of the key instead
 * of validate's dozen loads. Only slots without a filter are memoized, and
 * only by threads with a record of their own (not careful ones, which share
 * one). The rule has no exceptions, though some changes could not leave a
 * memo stale alone: an export's generation is new to every memo, and a
 * recovery's states and rollback follow the failure's change, before which
 * no call into the recovering domain validates. A domain's failure, its
 * destruction or failed creation, a revoke, a re-export and a filter each
 * could, and tests/domain/test_domain.c has a test for each.
 */
typedef struct rref_memo {
    uint64_t tag;        /* the rref epoch it was filled at; 0: empty */
    uint64_t key;        /* the rref's domain and slot (rref_memo_key) */
    uint64_t generation; /* and its generation */
    void *object;
    const keel_method *methods; /* the interface's (interfaces never change) */
    uint64_t epoch;             /* the domain's incarnation it validated in */
    unsigned method_count;
} __attribute__((aligned(64))) rref_memo;

#define RREF_MEMO_ENTRIES 8u

/* The rref's domain and slot as they lie in memory, its first 8 bytes: the
 * register an rref arrives in, compared as it is. */
static_assert(offsetof(keel_rref, domain) == 0 && offsetof(keel_rref, slot) == 4,
              "an rref begins with its domain and its slot");
static inline uint64_t rref_memo_key(keel_rref rref) {
    uint64_t key;
    memcpy(&key, &rref, sizeof key);
    return key;
}

extern changes keel_rref_changes_;

static inline void rref_change_begin(void) {
    changes_begin(&keel_rref_changes_);
}

static inline void rref_change_end(void) {
    changes_end(&keel_rref_changes_);
}

typedef struct thread_record {
    _Atomic uint32_t inside[KEEL_DOMAIN_MAX]; /* nesting count per domain id */
    _Atomic uint64_t calls[KEEL_DOMAIN_MAX];  /* validated calls per domain id */
    /* The box (table index) each open call of this thread lends through the
     * plain path (box_table.h), by call depth; 0 where none. Written only by
     * the record's thread; read by a free or a move of such a box. */
    _Atomic uint32_t lending[KEEL_CALL_DEPTH_MAX];
    /* Validations of rrefs (above), by (domain + slot) % entries. Read and
     * written only by the record's thread, and only if it is not careful. */
    rref_memo memo[RREF_MEMO_ENTRIES];
} thread_record;

/* Per-thread state. */
typedef struct thread_state {
    call_frame *frame; /* innermost call into a domain, NULL in the host */
    unsigned depth;
    thread_record *record; /* NULL until the thread's first call */
    /* Count with atomic read-modify-writes: the record is the shared one, or
     * membarrier(2) is unavailable and every entry must be a full barrier. */
    bool careful;
    /* The thread's name in a box entry's `lender` (box_table.h): its record's
     * index + 1; 0 for a careful thread, which lends with read-modify-writes,
     * and for a thread without a record yet. So nonzero means: a record of
     * its own, plain counting, a memo (call.c tests just this). */
    uint32_t lender;
    /* How many of its record's `lending` slots are set: a free or a move by
     * this thread of a box it lends reads them only if some are. */
    unsigned lends_open;
    keel_failure failure; /* why the last failed call failed */
} thread_state;

/* The memo entry `rref` may be remembered in: its thread's record's. */
static inline rref_memo *rref_memo_entry(const thread_state *t, keel_rref rref) {
    return &t->record->memo[(rref.domain + rref.slot) % RREF_MEMO_ENTRIES];
}

/* The memo entry that answers for `rref` and `method` (above), or NULL:
 * an rref valid as validate would find it, into a slot without a filter.
 * Only for a thread with a memo: t->lender != 0 (careful threads have none,
 * their record being shared). */
static inline const rref_memo *rref_memo_find(const thread_state *t, keel_rref rref,
                                              unsigned method) {
    const rref_memo *m = rref_memo_entry(t, rref);
    if (m->tag != changes_epoch(&keel_rref_changes_) || m->key != rref_memo_key(rref) ||
        m->generation != rref.generation || method >= m->method_count) {
        return NULL;
    }
    return m;
}

/* Initial-exec: one %fs-relative access even from libkeel.so, instead of a
 * __tls_get_addr call per access (and safe in the fault handler). It costs a
 * few hundred bytes of the static TLS block, which a dlopen of libkeel.so
 * draws from the surplus glibc reserves for that. */
extern __thread thread_state keel_thread_ __attribute__((tls_model("initial-exec")));
extern keel_domain keel_domains_[KEEL_DOMAIN_MAX];

/* Who the calling thread runs as: a domain id and the incarnation (epoch) its
 * call entered, or (KEEL_HOST_DOMAIN, 0) for the host. A thread still running in
 * a failed incarnation keeps that incarnation's identity. */
typedef struct principal {
    uint32_t id;
    uint64_t epoch;
} principal;

static inline principal principal_of(const call_frame *f) {
    return f == NULL ? (principal){KEEL_HOST_DOMAIN, 0} : (principal){f->domain->id, f->epoch};
}

static inline principal current_principal(void) {
    return principal_of(keel_thread_.frame);
}

static inline uint32_t current_id(void) {
    return current_principal().id;
}

/* A domain id's current epoch (the host's is always 0); UINT64_MAX if none. */
static inline uint64_t epoch_of(uint32_t id) {
    if (id == KEEL_HOST_DOMAIN) {
        return 0;
    }
    keel_domain *d = &keel_domains_[id];
    return atomic_load_explicit(&d->live, memory_order_acquire)
               ? atomic_load_explicit(&d->epoch, memory_order_acquire)
               : UINT64_MAX;
}

/* presence.c */
keel_status keel_presence_init_(void);
/* Gives the calling thread its record and alternate signal stack. */
void keel_thread_prepare_(thread_state *t);
/* Makes every thread's earlier stores visible to the caller's later loads. */
void keel_presence_barrier_(void);
/* True if any thread is counted inside `id` (call keel_presence_barrier_ first). */
bool keel_presence_anyone_inside_(uint32_t id);
uint64_t keel_presence_calls_(uint32_t id);
/* True if the thread named `lender` (thread_state.lender) lends box `index`
 * through the plain path in one of its open calls. For a free or a move that
 * has closed the box's entry: another thread's record is read after a
 * keel_presence_barrier_, the caller's own without one. O(KEEL_CALL_DEPTH_MAX). */
bool keel_presence_lending_(uint32_t lender, uint32_t index);
void keel_presence_reset_calls_(keel_domain *domain);

/* `careful` is t->careful, or false where the caller knows it is. */
static inline void presence_enter_as(thread_state *t, uint32_t id, bool careful) {
    _Atomic uint32_t *n = &t->record->inside[id];
    if (careful) {
        atomic_fetch_add(n, 1); /* a full barrier */
        return;
    }
    atomic_store_explicit(n, atomic_load_explicit(n, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    /* The loads that validate the call must not move above the store: the
     * compiler is held by this fence, the processor by the other side's
     * membarrier. */
    atomic_signal_fence(memory_order_seq_cst);
}

static inline void presence_enter(thread_state *t, uint32_t id) {
    presence_enter_as(t, id, t->careful);
}

/* `careful` is t->careful, or false where the caller knows it is (a call
 * the rref memo answered: careful threads have no memo). */
static inline void presence_leave_as(thread_state *t, uint32_t id, bool careful) {
    _Atomic uint32_t *n = &t->record->inside[id];
    if (careful) {
        atomic_fetch_sub(n, 1);
        return;
    }
    /* Release: everything done inside happens before a recovery that sees 0. */
    atomic_store_explicit(n, atomic_load_explicit(n, memory_order_relaxed) - 1,
                          memory_order_release);
    atomic_signal_fence(memory_order_seq_cst);
}

static inline void presence_leave(thread_state *t, uint32_t id) {
    presence_leave_as(t, id, t->careful);
}

static inline void presence_count_call(thread_state *t, uint32_t id, bool careful) {
    _Atomic uint64_t *n = &t->record->calls[id];
    if (careful) {
        atomic_fetch_add_explicit(n, 1, memory_order_relaxed);
        return;
    }
    atomic_store_explicit(n, atomic_load_explicit(n, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

/* fault.c */
keel_status keel_fault_install_(void);
void keel_fault_restore_(void);
void keel_fault_prepare_thread_(void);

/* box.c */
keel_status keel_box_system_init_(size_t exchange_size, unsigned capacity);
keel_status keel_box_system_shutdown_(void);
/* Lending: box_table.h. */
/* Moving: make `callee` the owner; the returned handle replaces the old one.
 * The box's label must fit the receiver's clearance. */
keel_status keel_box_move_(keel_box box, principal sender, principal callee, keel_box *moved);
/* The bytes, size and label of a box the caller may access, without opening
 * it (the caller's label does not rise): for sinks. */
keel_status keel_box_peek_(keel_box box, const void **data, size_t *size, keel_label *label);
void keel_box_release_domain_(uint32_t id);

/* pkey.c: strict mode with protection keys. */
/* The key the calling thread's PKRU enables (0: none of keel's). */
extern __thread unsigned keel_pkey_open_ __attribute__((tls_model("initial-exec")));
/* Detects protection keys (CPUID OSPKE, a key from the kernel), unless
 * KEEL_NO_PKEYS is set; at system init. */
void keel_pkey_init_(void);
bool keel_pkey_supported_(void);
/* Gives the domain's heap a key of its own; false if there is none to give. */
bool keel_pkey_attach_(keel_domain *domain);
/* Frees the key of a domain whose heap is unmapped. */
void keel_pkey_detach_(keel_domain *domain);
/* Makes `key` the thread's key (0: none), writes PKRU, returns the previous key. */
unsigned keel_pkey_switch_(unsigned key);
/* Re-asserts the thread's key in PKRU (after an unwind). */
void keel_pkey_resume_(void);
/* Restores the PKRU of the code a signal interrupted, from its frame
 * (async-signal-safe). */
void keel_pkey_restore_interrupted_(const void *ucontext);
/* The domain holding a key, or NULL (async-signal-safe). */
keel_domain *keel_pkey_owner_(int key);
/* How many keys keel holds. */
unsigned keel_pkey_held_(void);

/*
 * strict.c: strict mode's protection follows the validated threads inside.
 * Admission returns what departure must restore (the caller's protection key,
 * 0 for none): keep it in the admitting frame and pass it to the departure.
 * Every domain is admitted, strict or not, so that a thread running in a
 * domain holds no other domain's key.
 */
unsigned keel_domain_protect_admit_(keel_domain *domain);
void keel_domain_protect_depart_(keel_domain *domain, unsigned saved);
/* At create: a key for the heap if one is free, else PROT_NONE; false if
 * neither could be set up. */
bool keel_domain_protect_init_(keel_domain *domain);

static inline unsigned keel_domain_admit_(keel_domain *domain) {
    if (domain->config.strict) {
        return keel_domain_protect_admit_(domain);
    }
    /* Called from a domain with a key: the callee does not get it. */
    return __builtin_expect(keel_pkey_open_ != 0, 0) ? keel_pkey_switch_(0) : 0;
}

static inline void keel_domain_depart_(keel_domain *domain, unsigned saved) {
    if (domain->config.strict) {
        keel_domain_protect_depart_(domain, saved);
    } else if (__builtin_expect(saved != 0, 0)) {
        keel_pkey_switch_(saved);
    }
}
/* The domain whose heap holds `address`, if any (async-signal-safe). */
keel_domain *keel_domain_owning_(const void *address);

/* snapshot.c: whole-domain snapshots and rollback. */
/* Restores the last snapshot into the failed domain (its heap lock freshly
 * initialised by the caller); false if it has none. Runs in the recovery. */
bool keel_domain_rollback_(keel_domain *domain);
/* Unmaps the snapshot store (destroy). */
void keel_domain_snapshot_release_(keel_domain *domain);
/* The fault handler's question: is this the first write to a tracked page?
 * If so it is recorded and the page made writable (async-signal-safe). */
bool keel_domain_track_write_(const void *address, void *ucontext);

/* call.c */
void keel_domain_recover_(keel_domain *domain);
/* Leaves `domain` as a call does: counts the calling thread out and, if the
 * domain failed meanwhile and nobody else is inside, runs its recovery. For
 * host-side entries into a domain's private state (snapshot.c), which count
 * themselves in with presence_enter before they check `live` and the state. */
void keel_domain_leave_(keel_domain *domain);
keel_status keel_domain_run_inside_(keel_domain *domain, keel_status (*fn)(keel_domain *, void *),
                                    void *context);

uint64_t keel_now_ns_(void);
/* A number never handed out before: slot generations and domain epochs. */
uint64_t keel_fresh_number_(void);

#pragma GCC visibility pop

#endif /* KEEL_DOMAIN_INTERNAL_H */
