/*
 * keel/domain.h - protection domains, remote references, boxes, contained
 * faults and recovery.
 *
 * The model. A domain is a component with a private heap and a reference table.
 * Code runs "inside" a domain only during a call into it. Other code holds
 * rrefs: small copyable handles (domain, slot, generation) that name an entry in
 * the owner's reference table; a call through an rref goes through that entry,
 * so the owner can revoke it, filter calls on it, or re-point it after recovery.
 * Data crosses domains in boxes: buffers in the shared exchange heap with exactly
 * one owning domain, moved into a call (the sender's handle dies) or lent for its
 * duration (it returns to the lender however the call ends). Nothing is copied.
 *
 * A keel_panic(), or a SIGSEGV, SIGBUS, SIGFPE or SIGILL raised while a thread
 * runs inside a domain, unwinds that thread to the entry of its call into the
 * domain; the caller gets KEEL_EPANIC or KEEL_EFAULT and keel_last_failure()
 * says why. The domain is then recovered: its incarnation number (epoch) is
 * incremented, which in one step invalidates every rref into it and frees every
 * box it owned; its heap is renewed, in O(1); its recovery function runs inside it and may
 * re-export objects into the same slots, so existing rrefs work again. Faults
 * outside every domain go to the handlers the host installed before keel, or to
 * the default action: keel never swallows a host crash.
 *
 * Invariants:
 *   - an rref is valid iff its slot's generation equals the rref's and the slot
 *     was exported in the domain's current epoch;
 *   - a box has exactly one owner: a live domain incarnation or the host; only
 *     code running in the owner reaches its bytes;
 *   - a lent box stays its owner's; the call it is lent to (filter and method)
 *     may access it while the call is in progress, and nobody may free or move
 *     it meanwhile.
 *
 * What plain C cannot stop, and what keel therefore does not claim: code inside
 * a domain shares the process's address space, so a wild write can reach any
 * memory that is mapped writable. Strict mode (per domain) keeps a domain's heap
 * inaccessible to code not running inside it (with protection keys, per thread;
 * else by mprotect, while no thread is inside), which turns such writes into
 * contained faults; see docs/domains.md for what each mode guarantees. Keys are
 * not a security boundary: WRPKRU is unprivileged, any code can re-enable them.
 *
 * Thread safety: every function here may be called from any thread, except
 * where a comment says otherwise. Several threads may be inside one domain.
 */
#ifndef KEEL_DOMAIN_H
#define KEEL_DOMAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keel/label.h"
#include "keel/mem.h"
#include "keel/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How many domains can exist at once, and the host's domain id. */
#define KEEL_DOMAIN_MAX  256u
#define KEEL_HOST_DOMAIN 0u

typedef struct keel_domain keel_domain;

/* A remote reference: copy it freely; it is checked on every use. */
typedef struct keel_rref {
    uint32_t domain;     /* index in the domain registry */
    uint32_t slot;       /* index in the owner's reference table */
    uint64_t generation; /* the slot's generation when this rref was made */
} keel_rref;

/* A box handle: copy it freely; only the owner's code can use it. */
typedef struct keel_box {
    uint32_t index;      /* entry in the box table */
    uint32_t generation; /* changes when the box moves or is freed */
} keel_box;

#define KEEL_BOX_NONE ((keel_box){0, 0})

/* What a method receives. */
typedef struct keel_call {
    unsigned method; /* index into the interface's method table */
    void *arg;       /* the caller's argument: valid for the duration of the call */
    void *result;    /* where the method may write its result */
    keel_box box;    /* a box moved or lent with the call, else KEEL_BOX_NONE */
    uint32_t caller; /* the calling domain's id (KEEL_HOST_DOMAIN for the host) */
} keel_call;

/* A method runs inside the object's domain; its status is returned to the caller. */
typedef keel_status (*keel_method)(void *object, keel_call *call);

/* An interface: a named table of methods. Keep it in static storage. */
typedef struct keel_interface {
    const char *name;
    unsigned method_count;
    const keel_method *methods;
} keel_interface;

/* A filter sees every call through a slot before the method does; it returns
 * KEEL_OK to let the call through, anything else refuses it (the caller gets
 * KEEL_EFILTERED). It runs inside the owner's domain, before any box changes
 * hands: call->box is the handle the caller passed (the filter cannot open it). */
typedef keel_status (*keel_filter)(void *filter_state, const keel_call *call);

typedef enum keel_recovery_policy {
    KEEL_RECOVER_RESTART = 0, /* reset the heap, run `recover`, accept calls again */
    KEEL_RECOVER_FAIL_STOP,   /* stop for good at the first failure */
    /* Come back in the state of the last keel_domain_snapshot (heap and
     * reference table), so holders of its rrefs carry on; run `recover` only if
     * set (never `init`). Without a snapshot yet, as KEEL_RECOVER_RESTART. */
    KEEL_RECOVER_ROLLBACK,
} keel_recovery_policy;

typedef struct keel_domain_config {
    const char *name;        /* for reports; copied (up to 31 bytes) */
    size_t heap_size;        /* bytes of private heap (mapped at create) */
    unsigned table_capacity; /* slots in the reference table */
    /* Runs inside the domain at create, and (if `recover` is NULL) at recovery. */
    keel_status (*init)(keel_domain *domain, void *context);
    /* Runs inside the domain after a failure, on a fresh heap; may re-export. */
    keel_status (*recover)(keel_domain *domain, void *context);
    void *context;
    keel_recovery_policy policy;
    /* Stop for good at the `failure_budget`-th failure within
     * `failure_window_ns` (0: never stop for this reason; at most 64). */
    unsigned failure_budget;
    uint64_t failure_window_ns;
    /* Heap inaccessible to code not running inside the domain: per thread with
     * a protection key where the CPU has them and one is free, else process-wide
     * by mprotect (keel_domain_strict_mode; docs/domains.md). */
    bool strict;
    /* Information flow (keel/ifc.h): the label the domain starts with, and the
     * most it may learn. Zero for both: public, and allowed nothing secret.
     * The label must fit the clearance. */
    keel_label label;
    keel_label clearance;
} keel_domain_config;

typedef enum keel_domain_state {
    KEEL_DOMAIN_RUNNING = 0,
    KEEL_DOMAIN_RECOVERING, /* failed; refusing new calls until recovery completes */
    KEEL_DOMAIN_STOPPED,    /* fail-stop policy, or failure budget exhausted */
} keel_domain_state;

/* Why the last call of this thread failed. */
typedef enum keel_failure_kind {
    KEEL_FAILURE_NONE = 0,
    KEEL_FAILURE_PANIC,  /* keel_panic() */
    KEEL_FAILURE_SIGNAL, /* a hardware fault: see signal and address */
} keel_failure_kind;

typedef struct keel_failure {
    keel_failure_kind kind;
    uint32_t domain;     /* the domain that failed */
    int signal;          /* SIGSEGV, SIGBUS, SIGFPE or SIGILL */
    const void *address; /* the faulting address, for SIGSEGV and SIGBUS */
    char message[128];   /* the panic message, or a description of the signal */
} keel_failure;

/*
 * keel_domain_system_init: sets up the exchange heap (`exchange_size` bytes,
 * mapped now) with room for `box_capacity` boxes, and installs keel's fault
 * handlers (remembering the host's, to chain to). Call once, before any domain
 * exists. KEEL_EINVAL for a zero size or capacity, KEEL_EBUSY if already done,
 * KEEL_ESYSTEM if a mapping or sigaction fails (nothing is left half set up).
 * O(exchange_size / 1024 + box_capacity). Not thread-safe: call it first.
 */
KEEL_API keel_status keel_domain_system_init(size_t exchange_size, unsigned box_capacity);

/*
 * keel_domain_system_shutdown: restores the host's fault handlers and unmaps the
 * exchange heap. KEEL_EBUSY if any domain still exists, KEEL_EINVAL if the
 * system was not initialised. Not thread-safe.
 */
KEEL_API keel_status keel_domain_system_shutdown(void);

/*
 * keel_domain_create: maps the domain's heap and table, registers it, and runs
 * `init` inside it. Fails with KEEL_EINVAL (NULL, zero capacity, no init),
 * KEEL_EFULL (KEEL_DOMAIN_MAX domains exist), KEEL_ESYSTEM (mapping), or
 * whatever `init` returned (KEEL_EPANIC/KEEL_EFAULT if it failed); on failure
 * nothing is left behind. O(heap_size / 512 + table_capacity) plus `init`.
 */
KEEL_API keel_status keel_domain_create(const keel_domain_config *config, keel_domain **out);

/*
 * keel_domain_destroy: refuses new calls into the domain at once (rrefs into it
 * fail with KEEL_ESTALE), waits for the calls in progress to return, then frees
 * its boxes and unmaps everything it owns. KEEL_EINVAL if it is not a live
 * domain, KEEL_EBUSY if the calling thread is itself inside it (or another
 * destroy is under way). O(box_capacity) to sweep the boxes, plus the wait.
 */
KEEL_API keel_status keel_domain_destroy(keel_domain *domain);

/* The domain the calling thread runs in, or NULL for the host. O(1). */
KEEL_API keel_domain *keel_domain_current(void);
/* Its id (KEEL_HOST_DOMAIN for the host). O(1). */
KEEL_API uint32_t keel_domain_current_id(void);
/* A domain's id, name and state. O(1). */
KEEL_API uint32_t keel_domain_id(const keel_domain *domain);
KEEL_API const char *keel_domain_name(const keel_domain *domain);
KEEL_API keel_domain_state keel_domain_get_state(const keel_domain *domain);

/*
 * The domain's private heap, shared by the threads inside it (so it is the
 * locked heap). Use it only from inside the domain: in strict mode it is
 * inaccessible anywhere else. It is reset when the domain recovers.
 */
KEEL_API keel_heap_locked *keel_domain_heap(keel_domain *domain);

/* keel_domain_alloc / keel_domain_free: the calling domain's heap, as
 * keel_heap_locked_alloc / _free; KEEL_EACCESS when called from the host. O(1). */
KEEL_API keel_status keel_domain_alloc(size_t size, void **out);
KEEL_API keel_status keel_domain_free(void *ptr);

/*
 * keel_domain_export: puts (object, interface) into a free slot of the domain's
 * table and returns an rref to it, with no filter. Must run inside `domain` (its
 * init, recover or a method) or in the host. Fails with
 * KEEL_EINVAL (NULL arguments, empty interface), KEEL_EACCESS (called from
 * another domain), KEEL_EFULL (no free slot). O(1).
 */
KEEL_API keel_status keel_domain_export(keel_domain *domain, void *object,
                                        const keel_interface *interface, keel_rref *out);

/*
 * keel_domain_reexport: after recovery, puts a (new) object back into the slot
 * an existing rref names, so holders of that rref reach it again: the
 * transparent recovery of the paper. The rref's generation and the slot's
 * filter are kept (crashing a domain never lifts its access control). Same
 * failures as export, plus KEEL_ESTALE if the rref's slot was revoked or never
 * belonged to this domain. O(1). Slots of an earlier incarnation that are not
 * re-exported keep their place in the table (their rrefs answer
 * KEEL_ERECOVERING) until the owner revokes them: a recovery function that
 * exports afresh instead of re-exporting fills the table.
 */
KEEL_API keel_status keel_domain_reexport(keel_domain *domain, keel_rref rref, void *object,
                                          const keel_interface *interface);

/*
 * keel_rref_revoke: the owner withdraws an rref; every copy of it fails with
 * KEEL_EREVOKED from now on, and the slot is free for reuse (with a new
 * generation). KEEL_ESTALE if it is already invalid, KEEL_EACCESS if not called
 * from the owner (or the host). O(1).
 */
KEEL_API keel_status keel_rref_revoke(keel_rref rref);

/*
 * keel_rref_set_filter: installs (or with NULL removes) a filter on the rref's
 * slot. Same failures as revoke. O(1).
 */
KEEL_API keel_status keel_rref_set_filter(keel_rref rref, keel_filter filter, void *state);

/*
 * keel_rref_call: calls method `method` of the object behind `rref`, inside its
 * domain, with `arg` and `result` passed through. Returns the method's status,
 * or, when the method never ran: KEEL_ESTALE (rref never valid, or its domain
 * destroyed), KEEL_EREVOKED, KEEL_ERECOVERING (the domain failed and has not yet
 * recovered or re-exported this slot), KEEL_ESTOPPED, KEEL_ENOMETHOD,
 * KEEL_EFILTERED, KEEL_EDEPTH (calls nested too deeply); or, when it ran and
 * did not finish normally: KEEL_EPANIC or KEEL_EFAULT (it failed: see
 * keel_last_failure), KEEL_EABORTED (it ran while another thread made the
 * domain fail: whatever it wrote to *result is unreliable).
 * O(1) apart from the method, plus: in strict mode two WRPKRU with a
 * protection key, or else a lock and at most two mprotect calls; and if this
 * thread is the last to leave a failed domain, the
 * recovery (O(1) plus the recovery function: docs/domains.md). Thread-safe.
 * A thread that ends inside the call (pthread_exit, cancellation) does not
 * return: the domain fails as on a panic, and is recovered (docs/domains.md).
 */
KEEL_API keel_status keel_rref_call(keel_rref rref, unsigned method, void *arg, void *result);

/*
 * keel_rref_call_move: as keel_rref_call, moving `*box` to the callee: on entry
 * the callee owns it (call->box is its handle) and *box is dead, whatever the
 * call returns. If the call is refused before entry (stale rref, filter, ...),
 * the box stays with the caller and *box is unchanged. Fails as
 * keel_rref_call, and with KEEL_EINVAL (box NULL), KEEL_ESTALE (a dead box
 * handle), KEEL_EACCESS (the caller does not own the box, or it is lent to a
 * call in progress). Bound: keel_rref_call's, plus the box table's lock, and
 * keel_box_free's system call when another thread allocated or last moved the
 * box. Thread-safe.
 */
KEEL_API keel_status keel_rref_call_move(keel_rref rref, unsigned method, keel_box *box, void *arg,
                                         void *result);

/*
 * keel_rref_call_lend: as keel_rref_call, lending `box` to the callee for the
 * call: the call's filter and method may access it (keel_box_data) until the
 * call ends, and may lend it on; the box never stops being the caller's, and
 * nobody can free or move it while it is lent, whether the method returns,
 * fails or the domain is recovered. KEEL_EACCESS if the caller neither owns
 * the box nor has it lent to its own call, or if the box is being freed or
 * moved by another thread; KEEL_ESTALE for a dead handle; otherwise fails as
 * keel_rref_call. Bound: keel_rref_call's (lock-free outside strict mode and
 * recovery), plus recording the lend and ending it: two plain stores if this
 * thread allocated or last moved the box, else two atomic read-modify-writes.
 * Thread-safe.
 */
KEEL_API keel_status keel_rref_call_lend(keel_rref rref, unsigned method, keel_box box, void *arg,
                                         void *result);

/*
 * keel_panic: fails the current call into a domain: unwinds to its entry, and the
 * caller gets KEEL_EPANIC with this message, formatted as snprintf would into
 * keel_failure.message (cut off at 127 characters). Never returns. Outside any
 * domain it prints the message and aborts, as a panic in the host is a host crash.
 */
KEEL_API _Noreturn void keel_panic(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* KEEL_CHECK(cond): keel_panic with the condition's text if cond is false. */
#define KEEL_CHECK(cond) \
    ((cond) ? (void)0 : keel_panic("check failed: %s (%s:%d)", #cond, __FILE__, __LINE__))

/* keel_last_failure: why this thread's last failed call failed. O(1). */
KEEL_API const keel_failure *keel_last_failure(void);

/* ---- boxes ---- */

/* How many box entries each keel_box_alloc examines for dead boxes to reclaim. */
#define KEEL_BOX_REAP_PER_ALLOC 4u

/*
 * keel_box_alloc: `size` bytes in the exchange heap, owned by the calling domain
 * (or the host). KEEL_ERANGE for size 0 or too large, KEEL_ENOMEM, KEEL_EFULL (no
 * box entry free). O(1): on the way it examines the next KEEL_BOX_REAP_PER_ALLOC
 * entries of the box table (round-robin) and reclaims the dead boxes among them,
 * so every box_capacity / KEEL_BOX_REAP_PER_ALLOC allocations reclaim every box
 * whose owner died; only when the exchange heap is full does it sweep the whole
 * box table for dead boxes once (O(box_capacity)) before answering KEEL_ENOMEM.
 */
KEEL_API keel_status keel_box_alloc(size_t size, keel_box *out);

/* keel_box_free: frees a box the caller owns. KEEL_ESTALE (dead handle),
 * KEEL_EACCESS (owned by someone else, or lent to a call in progress). O(1);
 * takes the box table's lock; if another thread allocated or last moved the
 * box, and other threads exist, also one membarrier(2) system call and a look
 * at that thread's 64 lend slots (docs/domains.md, "Threads"). Thread-safe. */
KEEL_API keel_status keel_box_free(keel_box box);

/*
 * keel_box_data: the box's bytes and size, for the owner and for the call it is
 * lent to. KEEL_ESTALE for a dead handle (moved away, freed, or its owner
 * recovered), KEEL_EACCESS if the calling domain neither owns it nor has it
 * lent to the current call. O(1), lock-free. Thread-safe; the bytes are the
 * caller's to synchronise, as any buffer's.
 */
KEEL_API keel_status keel_box_data(keel_box box, void **data, size_t *size);

/*
 * keel_box_give: inside a call, moves a box the current domain owns to the
 * caller of that call (a domain, or the host), and replaces *box by the
 * caller's handle (pass it back, e.g. in the call's result): results travel
 * without a copy. KEEL_EINVAL (NULL, or not inside a call), KEEL_ESTALE,
 * KEEL_EACCESS (not the owner, or lent), KEEL_ECLEARANCE (the box's label does
 * not fit the caller's clearance: it stays here). O(1); takes the box lock,
 * plus keel_box_free's system call when another thread allocated or last
 * moved the box.
 */
KEEL_API keel_status keel_box_give(keel_box *box);

/*
 * keel_box_copy: a new box owned by the caller with a copy of `source`'s bytes
 * (which the caller may access), labelled with the source's label joined with
 * the caller's. keel copies: the caller does not open the source, and its label
 * does not rise. Fails as keel_box_alloc and keel_box_data. O(size).
 */
KEEL_API keel_status keel_box_copy(keel_box source, keel_box *out);

/*
 * keel_box_append: appends all of box *source to box `dest` at offset *used,
 * advances *used, and frees the source (its handle dies): the buffer append
 * of the paper. dest's label becomes the join of both. Both must be the
 * caller's. KEEL_ERANGE if it does not fit (nothing changes), KEEL_EINVAL,
 * KEEL_ESTALE, KEEL_EACCESS; KEEL_ECLEARANCE if the joined label does not fit
 * the owner's clearance. O(source size).
 */
KEEL_API keel_status keel_box_append(keel_box dest, size_t *used, keel_box *source);

typedef struct keel_domain_stats {
    uint64_t calls;      /* calls that entered the domain */
    uint64_t failures;   /* panics and faults inside it */
    uint64_t recoveries; /* completed recoveries */
    uint64_t refused;    /* calls refused: filtered, revoked, recovering, stopped */
    uint64_t epoch;      /* incarnation number */
    unsigned exported;   /* slots in use in the current epoch */
} keel_domain_stats;

/* keel_domain_get_stats: fills *out. `calls` is summed over the threads'
 * records (exact once the calling threads are quiet; exiting threads' counts are
 * kept); the set is not a single snapshot. O(threads that have called into
 * domains, at most 65). Thread-safe. */
KEEL_API void keel_domain_get_stats(const keel_domain *domain, keel_domain_stats *out);

/* How a domain's heap is kept from code outside it (docs/domains.md). */
typedef enum keel_strict_mode {
    KEEL_STRICT_OFF = 0,  /* not strict: the heap is reachable from anywhere */
    KEEL_STRICT_MPROTECT, /* PROT_NONE while no thread is inside; process-wide */
    KEEL_STRICT_PKEY,     /* its own protection key, enabled per thread inside it */
} keel_strict_mode;

/*
 * keel_domain_strict_mode: which mechanism the domain got at create. A strict
 * domain gets a protection key if the processor and kernel support them (see
 * keel_domain_pkeys_supported) and one of the process's keys (at most 15) is
 * free, else mprotect. Never fails: KEEL_STRICT_OFF for a domain that is not
 * strict, or for NULL (pass a live domain otherwise). O(1). Thread-safe (the
 * mechanism is fixed at create).
 */
KEEL_API keel_strict_mode keel_domain_strict_mode(const keel_domain *domain);

/*
 * keel_domain_pkeys_supported: true if keel_domain_system_init found memory
 * protection keys usable (CPUID OSPKE and the kernel hands out keys) and the
 * environment did not forbid them (KEEL_NO_PKEYS=1 does). O(1). Thread-safe.
 */
KEEL_API bool keel_domain_pkeys_supported(void);

/* keel_strict_mode_name: "off", "mprotect" or "protection key"; "unknown"
 * for any other value. Never fails. O(1). Thread-safe (static strings). */
KEEL_API const char *keel_strict_mode_name(keel_strict_mode mode);

typedef struct keel_exchange_stats {
    keel_heap_stats heap; /* the exchange heap */
    unsigned boxes_live;  /* boxes allocated and not yet reclaimed */
    unsigned boxes_dead;  /* boxes whose owner died, not yet reclaimed */
} keel_exchange_stats;

/* keel_exchange_get_stats: fills *out. O(box_capacity) to count the boxes. */
KEEL_API void keel_exchange_get_stats(keel_exchange_stats *out);

/*
 * keel_box_reap: reclaims up to `max_steps` box entries whose owner died (each
 * O(1)); returns how many it freed. keel_box_alloc takes
 * KEEL_BOX_REAP_PER_ALLOC such steps; call this with more where latency does not
 * matter (box_capacity steps visit every entry once).
 */
KEEL_API unsigned keel_box_reap(unsigned max_steps);

/* ---- whole-domain snapshots (src/domain/snapshot.c, docs/checkpoint.md) ---- */

/*
 * A snapshot is a copy of a domain's heap and reference table, kept in memory
 * mapped for it, to which the domain rolls back when it fails under
 * KEEL_RECOVER_ROLLBACK. A full snapshot copies the heap's bytes in use (its
 * allocated blocks and metadata: keel_heap_extents, reading 64 KiB ahead of its
 * walk, so at most that much of each free stretch it skips), not its reserved
 * size, with streaming stores that leave the domain's cache alone. An
 * incremental one copies only the pages written since the last snapshot: the
 * heap is kept read-only between snapshots and the first write to each page is
 * recorded by keel's SIGSEGV handler (one fault per page per interval), so
 * rollback too restores only those pages.
 *
 * Rollback restores the heap byte for byte and each slot that still holds the
 * rref generation it had at the snapshot, re-exported in the new epoch: those
 * rrefs work again. It never lifts access control: a slot revoked since the
 * snapshot stays revoked, a slot exported since is revoked (its object is gone
 * with the heap it lived in), and every slot keeps its current filter.
 *
 * What the caller promises: no thread writes the domain's heap while a snapshot
 * is taken (threads that only read may run on); a domain with incremental
 * snapshots is not strict, and its code does not hand its heap to system calls
 * that write it (read(2) into a write-protected page fails with EFAULT instead
 * of faulting).
 */

/*
 * keel_domain_snapshot_enable: maps the snapshot store (as large as the heap's
 * region, but only the pages a snapshot writes are ever touched) and, if
 * `incremental`, turns on write tracking from the first snapshot on. Call it
 * once, from the host, after create. Fails with KEEL_EINVAL (not a live domain;
 * incremental on a strict domain), KEEL_EACCESS (called from a domain),
 * KEEL_EBUSY (already enabled), KEEL_ESYSTEM (mapping failed). O(1) plus the
 * mapping, plus, if the domain failed meanwhile and this is the last thread to
 * leave it, the recovery (as for keel_rref_call). Thread-safe: it counts itself inside the domain as a call does, so a
 * concurrent destroy either refuses it or waits for it, and of two enables at
 * once one installs the store and the other fails with KEEL_EBUSY.
 */
KEEL_API keel_status keel_domain_snapshot_enable(keel_domain *domain, bool incremental);

/*
 * keel_domain_snapshot: replaces the domain's snapshot with its current state.
 * Call it from inside the domain (a method, between updates) or from the host.
 * Fails with KEEL_EINVAL (not enabled, or not a live domain), KEEL_EACCESS
 * (called from another domain), KEEL_ERECOVERING or KEEL_ESTOPPED (the domain is
 * not running). Full: O(blocks + bytes in use + table_capacity). Incremental:
 * O(pages written since the last snapshot + heap pages / 64 + table_capacity),
 * plus one mprotect of the heap. Takes the domain's heap and table locks.
 * From the host it counts itself inside the domain before it checks the state,
 * exactly as a call does: a recovery (which resets the heap and rolls back) or
 * a destroy cannot start until it returns. If the domain fails while it runs,
 * the snapshot completes (what it copied is consistent as long as no thread
 * wrote the heap, see above) and, like a call, the last thread to leave the
 * domain recovers it: that may be the snapshot's caller, on its way out.
 */
KEEL_API keel_status keel_domain_snapshot(keel_domain *domain);

typedef struct keel_domain_snapshot_stats {
    uint64_t snapshots;    /* taken, full or incremental */
    uint64_t incremental;  /* of which incremental */
    uint64_t rollbacks;    /* recoveries that rolled back */
    uint64_t write_faults; /* first writes to a page, recorded (incremental only) */
    size_t last_bytes;     /* heap bytes the last snapshot copied */
    size_t heap_in_use;    /* the heap's bytes in use at the last snapshot */
} keel_domain_snapshot_stats;

/* keel_domain_snapshot_get_stats: fills *out (zeros if snapshots are not
 * enabled, or the domain is not live). O(1), plus a recovery if the domain
 * failed meanwhile and this is the last thread to leave it. Thread-safe, also with a destroy
 * (it counts itself inside the domain while it reads the store, as a call
 * does); the set is not one atomic snapshot. */
KEEL_API void keel_domain_snapshot_get_stats(const keel_domain *domain,
                                             keel_domain_snapshot_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* KEEL_DOMAIN_H */
