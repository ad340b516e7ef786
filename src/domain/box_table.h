/*
 * box_table.h - the box table's entries, and the part of box.c that every lent
 * call runs: the access check and the lend's count in and out. Inline here so
 * that keel_rref_call_lend (call.c) makes no call for them; box.c owns the
 * table and does everything else. Not installed.
 *
 * Lending changes no owner: the lender keeps the box and the call's frame
 * records it (call.c). What the entry keeps is who lends it, so that a free or
 * a move by another thread of the owner cannot pull the memory from under the
 * borrower. A free or a move first closes the entry: it sets BOX_CLOSING in
 * `lent` only while `lent` is 0 (one compare-and-swap), then asks whether the
 * entry's `lender` thread lends it; if anybody does, it reopens the entry and
 * fails. A lend records itself, then checks that the entry is not closing.
 *
 * Two ways to record a lend, so that the common one takes no locked
 * instruction:
 * - The plain path, for the thread the entry names as its `lender` (the thread
 *   that allocated the box, or moved it last): a plain store of the box's index
 *   into its own record's slot for the call's depth (presence.c), ended by a
 *   plain store of 0. This is presence.c's Dekker pattern again: the lend
 *   stores its slot then loads `lent`; the closer stores BOX_CLOSING then loads
 *   the slot, after membarrier(2) if the lender is another thread
 *   (keel_presence_lending_), so one of them sees the other. A closer that is
 *   the lender itself reads its own slots in program order: no barrier.
 * - Any other thread (and every thread where membarrier is unavailable, or
 *   beyond presence.c's records) counts itself into `lent` with a locked
 *   read-modify-write, which the closer's compare-and-swap sees.
 * So a free or a move costs a membarrier only for a box that another thread
 * allocated or moved last, and only while other threads exist.
 */
#ifndef KEEL_DOMAIN_BOX_TABLE_H
#define KEEL_DOMAIN_BOX_TABLE_H

#include <string.h>

#include "domain/internal.h"
#include "ifc/internal.h"

#pragma GCC visibility push(hidden)

typedef struct box_entry {
    void *data;
    size_t size;
    _Atomic uint32_t generation; /* handles with another generation are dead */
    uint32_t owner;
    uint64_t owner_epoch;
    _Atomic uint32_t lent; /* calls lending it, plus BOX_CLOSING while a free or move runs */
    /* The thread that lends it by the plain path (thread_state.lender), or 0.
     * Set by an allocation and by a move, before the generation they publish. */
    _Atomic uint32_t lender;
    /* Its data's label: rises as principals open it, lowered by relabel. */
    _Atomic keel_categories secrecy, integrity;
    uint32_t next_free; /* free-list link */
    bool live;          /* holds memory (possibly owned by a dead domain) */
} box_entry;

#define BOX_CLOSING 0x80000000u

/* The table, mapped by keel_box_system_init_ (NULL before it and after the
 * shutdown), and its number of entries: box_capacity + 1, as entry 0 is never
 * used (KEEL_BOX_NONE is never valid); 0 while the table is not mapped. */
extern box_entry *keel_box_entries_;
extern unsigned keel_box_capacity_;

static inline bool box_owner_alive(const box_entry *e) {
    return epoch_of(e->owner) == e->owner_epoch;
}

/* One 64-bit compare: a handle is two 32-bit words and no padding. */
static_assert(sizeof(keel_box) == sizeof(uint64_t), "a keel_box is index and generation");
static inline bool box_same(keel_box a, keel_box b) {
    uint64_t x, y;
    memcpy(&x, &a, sizeof x);
    memcpy(&y, &b, sizeof y);
    return x == y;
}

/* The entry a live handle names, if `who` owns it, or if `frame` is not NULL
 * and the box is lent to it. */
static inline keel_status box_check(keel_box box, principal who, const call_frame *frame,
                                    box_entry **out) {
    /* No table: no index is below the capacity. Entry 0 is never allocated,
     * so its generation stays 0, which no handle's may be. */
    if (box.index >= keel_box_capacity_ || box.generation == 0) {
        return KEEL_ESTALE;
    }
    box_entry *e = &keel_box_entries_[box.index];
    if (atomic_load_explicit(&e->generation, memory_order_acquire) != box.generation ||
        !box_owner_alive(e)) {
        return KEEL_ESTALE;
    }
    bool owns = e->owner == who.id && e->owner_epoch == who.epoch;
    if (!owns && (frame == NULL || !box_same(frame->lent, box))) {
        return KEEL_EACCESS;
    }
    *out = e;
    return KEEL_OK;
}

static inline keel_label box_label(const box_entry *e) {
    return (keel_label){atomic_load_explicit(&e->secrecy, memory_order_relaxed),
                        atomic_load_explicit(&e->integrity, memory_order_relaxed)};
}

/* A box refused to `to`: reported, and refused unless auditing (box.c). */
__attribute__((cold)) keel_status keel_box_refuse_transfer_(keel_label label, uint32_t to,
                                                            const char *how);

/* May `to` receive this box? Its label must fit the receiver's clearance. */
static inline keel_status box_admits(const box_entry *e, uint32_t to, const char *how) {
    if (!ifc_active()) {
        return KEEL_OK;
    }
    keel_label label = box_label(e);
    if (__builtin_expect(keel_label_flows(label, ifc_clearance(to)), 1)) {
        return KEEL_OK;
    }
    return keel_box_refuse_transfer_(label, to, how);
}

/* Lending: the box stays its owner's; the call's frame records it, and code
 * running in that frame may access it. The lender must own the box or have it
 * lent to its own frame (`lender_frame`, NULL for the host). While lent, the box
 * can be neither freed nor moved. The lend is recorded at the thread's current
 * depth, where keel_box_lend_end_ finds it; `*plain` says which way it was
 * recorded (above). What the caller knows (call.c): `labelled` false, that
 * labels are off, so the box's label is not checked; `quick`, that the
 * thread has a lender name (t->lender != 0). */
static inline keel_status keel_box_lend_begin_(thread_state *t, keel_box box, principal lender,
                                               const call_frame *lender_frame, uint32_t borrower,
                                               bool labelled, bool quick, bool *plain) {
    box_entry *e;
    keel_status status = box_check(box, lender, lender_frame, &e);
    if (status == KEEL_OK && labelled) {
        status = box_admits(e, borrower, "lent to");
    }
    if (status != KEEL_OK) {
        return status;
    }
    /* Record the lend, then look again: a free or move that closed the entry
     * first wins (the lend fails); one that comes later sees the lend. */
    uint32_t state;
    *plain = (quick || t->lender != 0) &&
             atomic_load_explicit(&e->lender, memory_order_relaxed) == t->lender;
    if (__builtin_expect(*plain, 1)) {
        _Atomic uint32_t *mine = &t->record->lending[t->depth];
        atomic_store_explicit(mine, box.index, memory_order_relaxed);
        /* The compiler keeps the load below the store; the processor is held
         * by the closer's barrier (keel_presence_lending_). */
        atomic_signal_fence(memory_order_seq_cst);
        state = atomic_load_explicit(&e->lent, memory_order_acquire);
        if ((state & BOX_CLOSING) == 0 &&
            atomic_load_explicit(&e->generation, memory_order_relaxed) == box.generation) {
            t->lends_open++;
            return KEEL_OK;
        }
        atomic_store_explicit(mine, 0, memory_order_relaxed);
    } else {
        state = atomic_fetch_add(&e->lent, 1);
        if ((state & BOX_CLOSING) == 0 &&
            atomic_load_explicit(&e->generation, memory_order_relaxed) == box.generation) {
            return KEEL_OK;
        }
        atomic_fetch_sub(&e->lent, 1);
    }
    return (state & BOX_CLOSING) != 0 ? KEEL_EACCESS : KEEL_ESTALE;
}

/* Ends the lend that keel_box_lend_begin_ recorded at the thread's current
 * depth. The box never left its owner: whatever became of the borrower,
 * ending the lend is all there is to give it back. Release: the borrower's
 * accesses come before a free or a move that sees the lend gone. */
static inline void keel_box_lend_end_(thread_state *t, keel_box box, bool plain) {
    if (plain) {
        atomic_store_explicit(&t->record->lending[t->depth], 0, memory_order_release);
        t->lends_open--;
    } else {
        atomic_fetch_sub_explicit(&keel_box_entries_[box.index].lent, 1, memory_order_release);
    }
}

#pragma GCC visibility pop

#endif /* KEEL_DOMAIN_BOX_TABLE_H */
