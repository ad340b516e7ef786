/*
 * call.c - calls into domains, panics, and recovery.
 *
 * A call counts itself into the domain (`inside`), then checks the rref against
 * the owner's table (so nothing it checked can be torn down under it), pushes a frame with an
 * unwind point on the thread's stack, runs the filter and the method, and leaves. A panic or a
 * hardware fault inside unwinds to the innermost frame, so in nested calls A -> B -> C a failure in
 * C is reported to B only.
 *
 * Failure and recovery. The first failure of an incarnation moves the domain to
 * RECOVERING and gives it a fresh epoch: from that instant every rref into it is
 * refused and every box it owned is dead, in O(1). Threads still inside finish
 * (or fail) and their calls return KEEL_EABORTED: their results came from a
 * domain that had failed. New calls are refused with KEEL_ERECOVERING. The last
 * thread to leave runs the recovery: reset the heap, apply the failure budget,
 * run the recovery function inside the domain. Nobody waits for anybody.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/text.h"
#include "domain/box_table.h"

__thread thread_state keel_thread_ __attribute__((tls_model("initial-exec")));

static keel_status refused(keel_domain *d, keel_status status) {
    atomic_fetch_add_explicit(&d->refused, 1, memory_order_relaxed);
    return status;
}

/*
 * The slow half of leaving, taken only while the domain awaits recovery: the
 * last thread out recovers it, while counted inside again, so that destroy
 * (which waits until nobody is inside) cannot tear the domain down under the
 * recovery. Each leaver has already counted itself out; after a barrier that
 * makes every thread's count visible, a leaver that sees nobody inside takes
 * the recovery (the exchange picks one). Two leavers that race both pass the
 * barrier, so at least one of them sees the other gone.
 */
static void leave_slow(thread_state *t, keel_domain *d) {
    for (;;) {
        keel_presence_barrier_();
        if (keel_presence_anyone_inside_(d->id) ||
            atomic_load(&d->state) != KEEL_DOMAIN_RECOVERING || !atomic_load(&d->live) ||
            !atomic_exchange(&d->needs_recovery, false)) {
            return; /* whoever is inside sees needs_recovery when it leaves */
        }
        presence_enter(t, d->id);
        keel_presence_barrier_(); /* a destroy that has not seen us sees live false */
        if (atomic_load(&d->live)) {
            keel_domain_recover_(d);
        }
        presence_leave(t, d->id);
        if (!atomic_load(&d->needs_recovery)) {
            return;
        }
    }
}

/* Counts the thread out of domain `id`, the index it counted itself into: a
 * domain's own `id` field is not that index until the domain has been created
 * there, and a call through a forged or stale rref may name any index. */
static inline void leave_as(thread_state *t, uint32_t id, bool careful) {
    presence_leave_as(t, id, careful);
    keel_domain *d = &keel_domains_[id];
    if (__builtin_expect(atomic_load_explicit(&d->needs_recovery, memory_order_relaxed), 0)) {
        leave_slow(t, d);
    }
}

static inline void leave(thread_state *t, uint32_t id) {
    leave_as(t, id, t->careful);
}

void keel_domain_leave_(keel_domain *d) {
    leave(&keel_thread_, d->id);
}

/* Marks the incarnation that `epoch` names as failed (once). */
static void fail_domain(keel_domain *d, uint64_t epoch) {
    atomic_fetch_add_explicit(&d->failures, 1, memory_order_relaxed);
    int running = KEEL_DOMAIN_RUNNING;
    /* The change ends before needs_recovery is set, so the last thread out
     * (leave_slow) makes it visible with its barrier: a caller that barrier
     * misses misses its memo. */
    rref_change_begin();
    if (atomic_load(&d->epoch) == epoch &&
        atomic_compare_exchange_strong(&d->state, &running, KEEL_DOMAIN_RECOVERING)) {
        atomic_store(&d->epoch, keel_fresh_number_()); /* rrefs and boxes die now */
        rref_change_end();
        atomic_store(&d->needs_recovery, true);
        return;
    }
    rref_change_end();
}

typedef enum box_mode { BOX_NONE, BOX_MOVE, BOX_LEND } box_mode;

/*
 * Information flow at a call (keel/ifc.h). The call carries the caller's label
 * to the callee (its argument), and the callee's label back (its result, its
 * status, a panic's message). Both must fit their receiver's clearance, and
 * both are checked before the callee runs: the callee's label against `bound`,
 * the meet of the clearances of every caller waiting on this call, which the
 * frame keeps so that whatever the callee opens later is held to it too. The
 * caller's label then rises by what came back when the call ends.
 *
 * What a call's entry hands its leave: the frame's bound; `quiet`, the label
 * epoch at which caller and callee had equal labels that passed every check,
 * or 0; and if 0, `seen`, the callee's label as the entry saw it (raised by
 * the caller's). If the epoch still reads `quiet` when the call ends, no label
 * has changed since: the callee's label is the caller's, already checked
 * against the bound, and there is nothing to check or raise (ifc/internal.h
 * argues it).
 */
typedef struct ifc_entry {
    keel_label bound, seen;
    uint64_t quiet;
} ifc_entry;

static keel_status ifc_enter_refused(principal caller, keel_domain *d, keel_label bound) {
    keel_label from = ifc_label(caller.id), clearance = ifc_clearance(d->id);
    keel_status status = KEEL_OK;
    if (!keel_label_flows(from, clearance)) {
        status = keel_ifc_refuse_(KEEL_ECLEARANCE, caller.id, from, clearance,
                                  "call into '%s' from '%s' (its argument)", d->name,
                                  keel_ifc_principal_name_(caller.id));
    }
    keel_label to = ifc_label(d->id);
    if (status == KEEL_OK && !keel_label_flows(to, bound)) {
        status = keel_ifc_refuse_(KEEL_ECLEARANCE, caller.id, to, bound,
                                  "call into '%s' from '%s' (its result)", d->name,
                                  keel_ifc_principal_name_(caller.id));
    }
    if (status == KEEL_OK) {
        ifc_raise(d->id, from); /* audit mode: it goes ahead */
    }
    return status;
}

/* The check in full, when the memo has no answer: both checks in one branch,
 * then the callee's raise, or the memo filled when there is nothing to raise.
 * Out of line: the memo answers the common case. */
static __attribute__((noinline)) keel_status ifc_enter_check(principal caller,
                                                             keel_label frame_bound, keel_domain *d,
                                                             uint32_t callee, ifc_entry *out) {
    uint64_t epoch = ifc_snapshot_begin();
    keel_label from = ifc_label(caller.id), to = ifc_label(callee);
    keel_label clearance = ifc_clearance(callee);
    keel_label bound = keel_label_meet(ifc_clearance(caller.id), frame_bound);
    out->bound = bound;
    out->quiet = 0;
    keel_categories misfit = (from.secrecy & ~clearance.secrecy) |
                             (clearance.integrity & ~from.integrity) |
                             (to.secrecy & ~bound.secrecy) | (bound.integrity & ~to.integrity);
    if (__builtin_expect(misfit != 0, 0)) {
        out->seen = KEEL_LABEL_PUBLIC; /* audit mode: the result is checked again */
        return ifc_enter_refused(caller, d, bound);
    }
    if (!keel_label_equal(from, to)) {
        ifc_raise(callee, from);
        out->seen = keel_label_join(to, from);
        return KEEL_OK;
    }
    out->seen = to;
    if (ifc_snapshot_valid(epoch)) {
        ifc_memo *m = &keel_ifc_memo_[callee % IFC_MEMO_ENTRIES];
        *m = (ifc_memo){.epoch = epoch,
                        .caller = caller.id,
                        .callee = callee,
                        .frame_bound = frame_bound,
                        .bound = bound};
        out->quiet = epoch;
    }
    return KEEL_OK;
}

/* The memo's lookup: one compare of the epoch, four of the key. The
 * callee's id is the rref's, which call_validated has at hand. */
static inline keel_status ifc_enter(principal caller, const call_frame *caller_frame,
                                    uint32_t callee, keel_domain *d, ifc_entry *out) {
    keel_label frame_bound = caller_frame != NULL ? caller_frame->bound : KEEL_LABEL_TOP;
    const ifc_memo *m = &keel_ifc_memo_[callee % IFC_MEMO_ENTRIES];
    uint64_t epoch = ifc_epoch();
    if (__builtin_expect(m->epoch == epoch && m->callee == callee && m->caller == caller.id &&
                             keel_label_equal(m->frame_bound, frame_bound),
                         1)) {
        /* Equal labels that fit: the callee's is the caller's, within the bound. */
        out->bound = m->bound;
        out->quiet = epoch;
        return KEEL_OK;
    }
    return ifc_enter_check(caller, frame_bound, d, callee, out);
}

/* The result's half, when the call ends. The callee's label can have risen
 * past the bound only through another thread inside it (this thread's own
 * raises are held to the bound): then the caller gets KEEL_ECLEARANCE, and a
 * failure's message is withheld. */
static keel_status ifc_leave_refused(principal caller, keel_domain *d, const call_frame *frame,
                                     keel_status status) {
    keel_label back = ifc_label(d->id);
    keel_status refusal = keel_ifc_refuse_(KEEL_ECLEARANCE, caller.id, back, frame->bound,
                                           "result of a call into '%s' to '%s'", d->name,
                                           keel_ifc_principal_name_(caller.id));
    if (refusal != KEEL_OK) {
        if (status == KEEL_EPANIC || status == KEEL_EFAULT) {
            snprintf(keel_thread_.failure.message, sizeof keel_thread_.failure.message,
                     "(withheld: the domain's label exceeds the caller's clearance)");
        }
        return refusal;
    }
    ifc_raise(caller.id, back);
    return status;
}

static __attribute__((noinline)) keel_status ifc_leave_check(principal caller, keel_domain *d,
                                                             const call_frame *frame,
                                                             keel_label seen, keel_status status) {
    keel_label back = ifc_label(d->id);
    /* Unchanged since entry, where it was checked against the bound: only the
     * caller's rise remains, and that is a no-op when it already knows it.
     * (After a memo's answer `seen` is the bound itself: a label equal to it
     * fits it.) */
    if (__builtin_expect(keel_label_equal(back, seen), 1)) {
        ifc_raise(caller.id, back);
        return status;
    }
    if (!keel_label_flows(back, frame->bound)) {
        return ifc_leave_refused(caller, d, frame, status);
    }
    ifc_raise(caller.id, back);
    return status;
}

static inline keel_status ifc_leave(principal caller, keel_domain *d, const call_frame *frame,
                                    const ifc_entry *entry, keel_status status) {
    if (__builtin_expect(ifc_epoch() == entry->quiet, 1)) {
        return status;
    }
    /* After equal labels (quiet set), the label seen is the caller's, which
     * fits the bound: comparing with the bound itself decides the same. */
    return ifc_leave_check(caller, d, frame, entry->quiet != 0 ? frame->bound : entry->seen,
                           status);
}

/* What a validated rref leads to. */
typedef struct target {
    void *object;
    keel_method method; /* the interface's method the call names */
    const keel_interface *interface;
    keel_filter filter;
    void *filter_state;
    uint64_t epoch;
} target;

/*
 * Checks an rref against its owner's table. The caller is already counted in
 * `inside`, so the domain can be neither destroyed nor recovered while this
 * runs or afterwards until it leaves: what is validated here stays true for the
 * whole call, except that the domain may fail (the epoch changes).
 */
static inline __attribute__((always_inline)) keel_status validate(keel_domain *d, keel_rref rref,
                                                                  unsigned method, target *t) {
    if (!atomic_load(&d->live) || rref.slot >= d->config.table_capacity) {
        return KEEL_ESTALE;
    }
    slot *s = &d->slots[rref.slot];
    uint64_t generation = atomic_load_explicit(&s->generation, memory_order_acquire);
    if (generation != rref.generation) {
        /* Generations only grow: an older rref was revoked, a newer one never existed. */
        return generation > rref.generation ? refused(d, KEEL_EREVOKED) : KEEL_ESTALE;
    }
    int state = atomic_load(&d->state);
    if (state != KEEL_DOMAIN_RUNNING) {
        return refused(d, state == KEEL_DOMAIN_STOPPED ? KEEL_ESTOPPED : KEEL_ERECOVERING);
    }
    t->epoch = atomic_load(&d->epoch);
    if (atomic_load_explicit(&s->epoch, memory_order_acquire) != t->epoch) {
        return refused(d, KEEL_ERECOVERING); /* not (yet) re-exported since a failure */
    }
    t->object = atomic_load_explicit(&s->object, memory_order_relaxed);
    const keel_interface *interface = atomic_load_explicit(&s->interface, memory_order_relaxed);
    t->interface = interface;
    t->filter = atomic_load_explicit(&s->filter, memory_order_acquire);
    t->filter_state = atomic_load_explicit(&s->filter_state, memory_order_relaxed);
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&s->generation, memory_order_relaxed) != generation) {
        return refused(d, KEEL_EREVOKED); /* revoked while we read the slot */
    }
    if (method >= interface->method_count) {
        return KEEL_ENOMETHOD;
    }
    t->method = interface->methods[method]; /* interfaces are static: never changes */
    return KEEL_OK;
}

/* validate; then the memo filled, if the slot has no filter and no change to
 * what validate read overlapped it. */
static keel_status validate_memoized(thread_state *t, keel_domain *d, keel_rref rref,
                                     unsigned method, target *to) {
    uint64_t tag = changes_snapshot(&keel_rref_changes_);
    keel_status status = validate(d, rref, method, to);
    if (status != KEEL_OK || to->filter != NULL || t->careful ||
        !changes_valid(&keel_rref_changes_, tag)) {
        return status;
    }
    rref_memo *m = rref_memo_entry(t, rref);
    *m = (rref_memo){.tag = tag,
                     .key = rref_memo_key(rref),
                     .generation = rref.generation,
                     .object = to->object,
                     .methods = to->interface->methods,
                     .epoch = to->epoch,
                     .method_count = to->interface->method_count};
    return KEEL_OK;
}

#ifndef KEEL_FAST_UNWIND
/* unwind_x86_64.S's keel_unwind_call_, in C: the setjmp stays in here, and
 * the caller sees an ordinary return. */
static __attribute__((noinline)) keel_status keel_unwind_call_(void *object, keel_call *call,
                                                               keel_method fn, call_frame *frame) {
    if (sigsetjmp(frame->env, 0) != 0) {
        return frame->failure;
    }
    return fn(object, call);
}
#endif

/* Moves `box` (the caller's handle) to the callee, whose frame is pushed,
 * then runs the method: the call's handle becomes the callee's. */
static inline keel_status move_and_run(call_frame *frame, keel_box box, keel_method method,
                                       void *object, keel_call *call) {
    principal sender = principal_of(frame->previous);
    principal callee = {frame->domain->id, frame->epoch};
    keel_status status = keel_box_move_(box, sender, callee, &call->box);
    return status != KEEL_OK ? status : method(object, call);
}

/*
 * The entries that run more than the method inside the callee, after its
 * unwind point: the move of a box (enter_moved), and a filter first
 * (enter_filtered, and enter_filtered_moved, which moves the box after it). Out of
 * line, each with an unwind point of its own, so that their caller sees an
 * ordinary return as it does from keel_unwind_call_.
 */
static __attribute__((noinline)) keel_status enter_moved(call_frame *frame, keel_method method,
                                                         void *object, keel_call *call) {
    if (UNWIND_SAVE(frame->env) != 0) {
        return frame->failure;
    }
    return move_and_run(frame, call->box, method, object, call);
}

static __attribute__((noinline)) keel_status enter_filtered(call_frame *frame, target to,
                                                            keel_call *call) {
    if (UNWIND_SAVE(frame->env) != 0) {
        return frame->failure;
    }
    if (to.filter(to.filter_state, call) != KEEL_OK) {
        return refused(frame->domain, KEEL_EFILTERED);
    }
    return to.method(to.object, call);
}

/* The same with a box to move after the filter: a function of its own, so
 * that the bounds of the calls that move nothing (docs/bounds.md) do not
 * carry a move's. */
static __attribute__((noinline)) keel_status
enter_filtered_moved(call_frame *frame, target to, keel_call *call, keel_box moved) {
    if (UNWIND_SAVE(frame->env) != 0) {
        return frame->failure;
    }
    if (to.filter(to.filter_state, call) != KEEL_OK) {
        return refused(frame->domain, KEEL_EFILTERED);
    }
    return move_and_run(frame, moved, to.method, to.object, call);
}

/*
 * A thread that ends inside a call: pthread_exit, or a cancellation, in the
 * method or in anything it calls. The thread's stack is unwound through the
 * call, which never returns. call.c is built with -fexceptions, so that the
 * unwinding runs the guard of each call it passes (innermost first, while
 * their frames still exist): the callee fails as if it had panicked (its
 * method stopped half way, perhaps holding a lock of its own), the lend ends,
 * and the thread counts itself out, recovering the domain if it is the last
 * one out, before the unwinding goes on to the enclosing call. A call that
 * returns pays only for keeping the caller's key in the frame: its guard is
 * disarmed by a store the compiler folds away, and the cleanup runs only
 * from the unwinder's landing pad.
 */
#ifndef __EXCEPTIONS
#error "call.c must be built with -fexceptions: a thread that exits inside a call is cleaned up by the unwinder"
#endif

/* A call's cleanup, run only by an unwinding that passes the call: the
 * frame holds what it needs. The callee is the frame's domain, validated (its
 * id is the rref's); the lent box and the caller's key (0 on the plain path,
 * which admits nobody) are the frame's. */
static __attribute__((noinline, cold)) void call_abandoned(call_frame *frame) {
    thread_state *t = &keel_thread_;
    keel_domain *d = frame->domain;
    fail_domain(d, frame->epoch);
    t->frame = frame->previous;
    t->depth--;
    if (frame->lent.index != 0) {
        /* Recorded in the slot of the depth it was made at, if by the plain
         * path: only this call's lend can be open there (box_table.h). */
        bool plain = t->lender != 0 &&
                     atomic_load_explicit(&t->record->lending[t->depth], memory_order_relaxed) ==
                         frame->lent.index;
        keel_box_lend_end_(t, frame->lent, plain);
    }
    keel_domain_depart_(d, frame->rights);
    leave(t, d->id);
}

/* The guard: the frame while the call runs, NULL once it has returned. */
static inline __attribute__((always_inline)) void call_guard_check(call_frame **guard) {
    if (__builtin_expect(*guard != NULL, 0)) {
        call_abandoned(*guard);
    }
}

/*
 * The rest of a call, once the caller is counted inside and the rref is
 * valid: the flow check, the lend, the frame, the filter and the method, and
 * the way back out. There are two copies of it per entry point: a plain one
 * (`general` false), for a call the rref memo answered that meets no label,
 * no strict domain and no protection key (call_into checks each), in which
 * those cases and careful counting fold away and the compiler keeps the
 * call's values in registers; and a general one (call_unanswered) that
 * handles them all.
 */
static inline __attribute__((always_inline)) keel_status
call_validated(thread_state *t, uint32_t id, unsigned method, void *arg, void *result,
               keel_box *box, box_mode mode, target to, bool general, bool answered) {
    keel_domain *d = &keel_domains_[id];
    call_frame frame;
    frame.previous = t->frame;
    frame.domain = d;
    frame.epoch = to.epoch;
    frame.failure = KEEL_OK;
    frame.lent = mode == BOX_LEND ? *box : KEEL_BOX_NONE;
    frame.bound = KEEL_LABEL_TOP;
    principal caller = principal_of(frame.previous);
    keel_status status = KEEL_OK;
    ifc_entry flow;
    bool labelled = general && ifc_active();
    bool careful = !answered && t->careful; /* careful threads have no memo */
    if (labelled) {
        status = ifc_enter(caller, frame.previous, id, d, &flow);
        frame.bound = flow.bound;
    }
    bool lent_plain = false;
    if (status == KEEL_OK && mode == BOX_LEND) {
        /* Before the frame is pushed, so that an unwind finds the lend recorded. */
        status = keel_box_lend_begin_(t, *box, caller, frame.previous, id, general, answered,
                                      &lent_plain);
    }
    if (status != KEEL_OK) {
        leave_as(t, id, careful);
        return status;
    }
    /* The caller's key, for the departure (none in the plain case). */
    unsigned rights = general ? keel_domain_admit_(d) : 0;
    frame.rights = rights; /* for call_abandoned */
    keel_call call = {.method = method,
                      .arg = arg,
                      .result = result,
                      /* the filter sees the handle the caller passed */
                      .box = mode != BOX_NONE ? *box : KEEL_BOX_NONE,
                      .caller = caller.id};
    t->frame = &frame;
    t->depth++;
    presence_count_call(t, id, careful);

    {
        call_frame *guard __attribute__((cleanup(call_guard_check))) = &frame;
        if (general && to.filter != NULL) {
            status = mode == BOX_MOVE ? enter_filtered_moved(&frame, to, &call, *box)
                                      : enter_filtered(&frame, to, &call);
        } else if (mode == BOX_MOVE) {
            status = enter_moved(&frame, to.method, to.object, &call);
        } else {
            status = keel_unwind_call_(to.object, &call, to.method, &frame);
        }
        guard = NULL; /* returned */
    }
    if ((status == KEEL_EPANIC || status == KEEL_EFAULT) && frame.failure != KEEL_OK) {
        fail_domain(d, frame.epoch); /* unwound */
    }

    /* ---- leave ---- */
    t->frame = frame.previous;
    t->depth--;
    if (mode == BOX_LEND) {
        keel_box_lend_end_(t, frame.lent, lent_plain);
    }
    if (status != KEEL_EPANIC && status != KEEL_EFAULT &&
        atomic_load_explicit(&d->epoch, memory_order_acquire) != frame.epoch) {
        status = KEEL_EABORTED; /* the domain failed while this call was inside it */
    }
    if (labelled) {
        status = ifc_leave(caller, d, &frame, &flow, status);
    }
    if (general) {
        keel_domain_depart_(d, rights);
    }
    leave_as(t, id, careful);
    return status;
}

/*
 * A call the rref memo has no entry for (the caller is counted inside): it is
 * validated here, memoized if it may be, and takes the general path. Out of
 * line, one copy per way of passing a box (below), so that call_into's paths
 * are compiled without it; six arguments or fewer, all in registers, so that
 * call_into reaches it by a jump.
 */
static inline __attribute__((always_inline)) keel_status
call_unanswered(keel_rref rref, unsigned method, void *arg, void *result, keel_box *box,
                box_mode mode) {
    thread_state *t = &keel_thread_;
    uint32_t id = rref.domain;
    target to;
    keel_status status = validate_memoized(t, &keel_domains_[id], rref, method, &to);
    if (status != KEEL_OK) {
        leave(t, id);
        return status;
    }
    return call_validated(t, id, method, arg, result, box, mode, to, true, false);
}

static __attribute__((noinline)) keel_status unanswered_call(keel_rref rref, unsigned method,
                                                             void *arg, void *result) {
    return call_unanswered(rref, method, arg, result, NULL, BOX_NONE);
}

static __attribute__((noinline)) keel_status
unanswered_move(keel_rref rref, unsigned method, keel_box *box, void *arg, void *result) {
    return call_unanswered(rref, method, arg, result, box, BOX_MOVE);
}

static __attribute__((noinline)) keel_status
unanswered_lend(keel_rref rref, unsigned method, keel_box box, void *arg, void *result) {
    return call_unanswered(rref, method, arg, result, &box, BOX_LEND);
}

/* call_into's entry for a thread without a memo: its first call (it gets a
 * record here) or a careful thread (presence.c). It takes the general path. */
static __attribute__((noinline, cold)) void enter_unremembered(uint32_t id) {
    thread_state *t = &keel_thread_;
    if (t->record == NULL) {
        keel_thread_prepare_(t);
    }
    presence_enter(t, id);
}

/*
 * A call. Inlined into each entry point below, where `mode` is a constant, so
 * that each way of passing a box gets code of its own. Three paths: the memo
 * answers and nothing else needs a look (the plain path); the memo answers
 * but a label, a strict domain or a protection key does (the general path);
 * the memo has no answer (call_unanswered).
 */
static inline __attribute__((always_inline)) keel_status
call_into(keel_rref rref, unsigned method, void *arg, void *result, keel_box *box, box_mode mode) {
    uint32_t id = rref.domain;
    if (id == KEEL_HOST_DOMAIN || id >= KEEL_DOMAIN_MAX) {
        return KEEL_ESTALE;
    }
    thread_state *t = &keel_thread_;
    if (t->depth >= KEEL_CALL_DEPTH_MAX) {
        return KEEL_EDEPTH;
    }
    const rref_memo *m = NULL;
    if (__builtin_expect(t->lender != 0, 1)) {
        /* A record of its own, counted into by plain stores, and a memo. */
        presence_enter_as(t, id, false);
        m = rref_memo_find(t, rref, method);
    } else {
        enter_unremembered(id);
    }
    if (__builtin_expect(m != NULL, 1)) {
        target to = {.object = m->object, .method = m->methods[method], .epoch = m->epoch};
        if (__builtin_expect(
                !ifc_active() && !keel_domains_[id].config.strict && keel_pkey_open_ == 0, 1)) {
            return call_validated(t, id, method, arg, result, box, mode, to, false, true);
        }
        return call_validated(t, id, method, arg, result, box, mode, to, true, true);
    }
    switch (mode) {
    case BOX_MOVE:
        return unanswered_move(rref, method, box, arg, result);
    case BOX_LEND:
        return unanswered_lend(rref, method, *box, arg, result);
    default:
        return unanswered_call(rref, method, arg, result);
    }
}

keel_status keel_rref_call(keel_rref rref, unsigned method, void *arg, void *result) {
    return call_into(rref, method, arg, result, NULL, BOX_NONE);
}

keel_status keel_rref_call_move(keel_rref rref, unsigned method, keel_box *box, void *arg,
                                void *result) {
    if (box == NULL) {
        return KEEL_EINVAL;
    }
    return call_into(rref, method, arg, result, box, BOX_MOVE);
}

keel_status keel_rref_call_lend(keel_rref rref, unsigned method, keel_box box, void *arg,
                                void *result) {
    return call_into(rref, method, arg, result, &box, BOX_LEND);
}

/* Runs fn inside the domain, as init and recovery do: a failure returns
 * KEEL_EPANIC or KEEL_EFAULT but triggers no recovery of its own. */
keel_status keel_domain_run_inside_(keel_domain *d, keel_status (*fn)(keel_domain *, void *),
                                    void *context) {
    thread_state *t = &keel_thread_;
    if (t->depth >= KEEL_CALL_DEPTH_MAX) {
        return KEEL_EDEPTH;
    }
    if (t->record == NULL) {
        keel_thread_prepare_(t);
    }
    presence_enter(t, d->id);
    unsigned rights = keel_domain_admit_(d);
    call_frame frame;
    frame.previous = t->frame;
    frame.domain = d;
    frame.epoch = atomic_load(&d->epoch);
    frame.failure = KEEL_OK;
    frame.lent = KEEL_BOX_NONE;
    /* init and recover answer the host (or whoever created the domain). */
    frame.bound = frame.previous != NULL ? frame.previous->bound : KEEL_LABEL_TOP;
    t->frame = &frame;
    t->depth++;
    keel_status status;
    if (UNWIND_SAVE(frame.env) == 0) {
        status = fn(d, context);
    } else {
        status = frame.failure;
        atomic_fetch_add_explicit(&d->failures, 1, memory_order_relaxed);
    }
    t->frame = frame.previous;
    t->depth--;
    keel_domain_depart_(d, rights);
    presence_leave(t, d->id);
    return status;
}

/* A recovery's verdict on the domain's state: a change to what calls
 * validate. */
static void set_state(keel_domain *d, keel_domain_state state) {
    rref_change_begin();
    atomic_store(&d->state, state);
    rref_change_end();
}

/*
 * True if this failure exhausts the budget: it is the budget-th failure within
 * the window. The ring keeps the previous budget - 1 failure times; the entry
 * about to be overwritten is the oldest of them (0 until the ring has filled).
 */
static bool budget_exhausted(keel_domain *d) {
    unsigned budget = d->config.failure_budget;
    if (budget <= 1) {
        return budget == 1;
    }
    uint64_t now = keel_now_ns_(); /* only budgets over a window need the time */
    uint64_t oldest = d->failure_times[d->failure_next];
    d->failure_times[d->failure_next] = now;
    d->failure_next = (d->failure_next + 1) % (budget - 1);
    return oldest != 0 && now - oldest <= d->config.failure_window_ns;
}

/*
 * Recovery, run by the last thread out of a failed domain while it is still
 * counted inside: O(1) apart from the user's recovery function. The heap is
 * renewed in O(1) (keel_heap_renew: its block-start map is retired by an epoch,
 * not cleared; O(heap / 512) only if the domain reset its heap or overwrote the
 * heap's epoch). It is admitted like a call, so that strict mode keeps the heap
 * accessible while it is renewed.
 */
void keel_domain_recover_(keel_domain *d) {
    /* No thread runs in the failed incarnation any more: its boxes may go. */
    atomic_store(&d->reclaim_below, atomic_load(&d->epoch));
    if (d->config.policy == KEEL_RECOVER_FAIL_STOP || budget_exhausted(d)) {
        set_state(d, KEEL_DOMAIN_STOPPED);
        return;
    }
    unsigned rights = keel_domain_admit_(d);
    /* A thread that failed inside the heap may have left its lock held. */
    pthread_mutex_destroy(&d->heap.lock);
    keel_heap_locked_renew(&d->heap, d->heap_region, d->heap_bytes, &d->heap_epoch);
    keel_status (*fn)(keel_domain *, void *) =
        d->config.recover != NULL ? d->config.recover : d->config.init;
    /* Rollback policy (snapshot.c): the heap and the table come back as the
     * last snapshot left them, and only `recover` runs, if set. */
    if (d->config.policy == KEEL_RECOVER_ROLLBACK && keel_domain_rollback_(d)) {
        fn = d->config.recover;
    }
    keel_status status = fn == NULL ? KEEL_OK : keel_domain_run_inside_(d, fn, d->config.context);
    keel_domain_depart_(d, rights);
    if (status != KEEL_OK) {
        set_state(d, KEEL_DOMAIN_STOPPED);
        return;
    }
    atomic_fetch_add(&d->recoveries, 1);
    set_state(d, KEEL_DOMAIN_RUNNING);
}

_Noreturn void keel_panic(const char *format, ...) {
    call_frame *frame = keel_thread_.frame;
    keel_failure *f = &keel_thread_.failure;
    /* Formatted straight into the thread's failure record: nothing else reads
     * it until this thread's call returns. Plain conversions without stdio
     * (core/text.h), anything else by vsnprintf. */
    va_list args;
    va_start(args, format);
    if (!keel_text_format_(f->message, sizeof f->message, format, args)) {
        vsnprintf(f->message, sizeof f->message, format, args);
    }
    va_end(args);
    if (frame == NULL) {
        fprintf(stderr, "keel: panic outside any domain: %s\n", f->message);
        abort();
    }
    f->kind = KEEL_FAILURE_PANIC;
    f->domain = frame->domain->id;
    f->signal = 0;
    f->address = NULL;
    frame->failure = KEEL_EPANIC;
    keel_unwind_(frame);
}

#if defined(__SANITIZE_ADDRESS__)
#define KEEL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KEEL_ASAN 1
#endif
#endif
#ifdef KEEL_ASAN
void __asan_handle_no_return(void);
#endif

_Noreturn void keel_unwind_(call_frame *frame) {
#ifdef KEEL_ASAN
    /* The frames skipped over keep their poisoning unless told. */
    __asan_handle_no_return();
#endif
    /* The frame resumed in runs with its domain's protection key (strict.c). */
    keel_pkey_resume_();
#ifdef KEEL_FAST_UNWIND
    keel_unwind_jump_(frame->env, frame->failure);
#else
    siglongjmp(frame->env, frame->failure);
#endif
}

const keel_failure *keel_last_failure(void) {
    return &keel_thread_.failure;
}
