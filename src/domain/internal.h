/*
 * internal.h - the domain module's private structures, shared by domain.c
 * (registry and reference tables), call.c (calls, panics, recovery), fault.c
 * (hardware faults) and box.c (the exchange heap). Not installed.
 */
#ifndef KEEL_DOMAIN_INTERNAL_H
#define KEEL_DOMAIN_INTERNAL_H

#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>

#include "keel/domain.h"

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
 * unmapped, so a caller holding a stale rref can always count itself in
 * `inside` and then see `live` false. A call enters first and validates after:
 * `inside` is incremented before `live`, the state, the epoch and the slot are
 * checked, so a domain cannot be destroyed or recovered between the checks and
 * the call (destroy and recovery wait for `inside` to drain).
 */
struct keel_domain {
    _Atomic bool live;       /* created and not destroyed */
    _Atomic uint32_t inside; /* threads counted in: callers, validated or not */
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
    /* Strict mode: the heap is PROT_NONE while no validated thread is inside
     * (`admitted` is 0). Admission and departure change the protection under
     * this lock, so the mprotect calls of two threads cannot land out of order. */
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
    /* Statistics. */
    _Atomic uint64_t calls, failures, recoveries, refused;
    /* Whole-domain snapshots (snapshot.c): NULL until enabled. */
    struct domain_snapshot *_Atomic snapshot;
};

/* One call into a domain, on the calling thread's stack. */
typedef struct call_frame {
    sigjmp_buf env;              /* where a failure inside the call unwinds to */
    struct call_frame *previous; /* the frame of the enclosing call, if any */
    keel_domain *domain;         /* the callee */
    uint64_t epoch;              /* the callee's incarnation this call runs in */
    keel_status failure;         /* KEEL_EPANIC or KEEL_EFAULT once unwound */
} call_frame;

/* Per-thread state. */
typedef struct thread_state {
    call_frame *frame; /* innermost call into a domain, NULL in the host */
    unsigned depth;
    bool altstack_ready;
    keel_failure failure; /* why the last failed call failed */
} thread_state;

#define KEEL_CALL_DEPTH_MAX 64u

extern __thread thread_state keel_thread_;
extern keel_domain keel_domains_[KEEL_DOMAIN_MAX];

/* Who the calling thread runs as: a domain id and the incarnation (epoch) its
 * call entered, or (KEEL_HOST_DOMAIN, 0) for the host. A thread still running in
 * a failed incarnation keeps that incarnation's identity. */
typedef struct principal {
    uint32_t id;
    uint64_t epoch;
} principal;

static inline principal current_principal(void) {
    call_frame *f = keel_thread_.frame;
    return f == NULL ? (principal){KEEL_HOST_DOMAIN, 0} : (principal){f->domain->id, f->epoch};
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

/* fault.c */
keel_status keel_fault_install_(void);
void keel_fault_restore_(void);
void keel_fault_prepare_thread_(void);
/* Records a failure in the thread's state: used by keel_panic and the handler. */
void keel_failure_record_(keel_failure_kind kind, uint32_t domain, int signal, const void *address,
                          const char *message);

/* box.c */
keel_status keel_box_system_init_(size_t exchange_size, unsigned capacity);
keel_status keel_box_system_shutdown_(void);
/* Lending: make the callee's incarnation the owner for a call; afterwards the box
 * is the lender's incarnation's again (dead, if that incarnation has failed). */
keel_status keel_box_lend_begin_(keel_box box, principal lender, principal callee);
void keel_box_lend_end_(keel_box box, principal lender);
/* Moving: make `callee` the owner; the returned handle replaces the old one. */
keel_status keel_box_move_(keel_box box, principal sender, principal callee, keel_box *moved);
void keel_box_release_domain_(uint32_t id);

/* strict.c: strict mode's protection follows the validated threads inside. */
void keel_domain_admit_(keel_domain *domain);
void keel_domain_depart_(keel_domain *domain);
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
keel_status keel_domain_run_inside_(keel_domain *domain, keel_status (*fn)(keel_domain *, void *),
                                    void *context);

uint64_t keel_now_ns_(void);
/* A number never handed out before: slot generations and domain epochs. */
uint64_t keel_fresh_number_(void);

#endif /* KEEL_DOMAIN_INTERNAL_H */
