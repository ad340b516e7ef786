/*
 * box.c - boxes: buffers in the exchange heap with exactly one owner.
 *
 * A box entry records its owner as (domain id, epoch). The owner is alive while
 * that domain's current epoch equals the recorded one (the host's epoch is
 * always 0), so a domain's failure or destruction kills all its boxes at once,
 * in O(1), without visiting them. Their memory is reclaimed afterwards by a
 * reaper whose cursor walks the table round-robin, one entry per step:
 * keel_box_alloc takes KEEL_BOX_REAP_PER_ALLOC steps on every call, so every
 * box_capacity / KEEL_BOX_REAP_PER_ALLOC allocations pass over the whole table
 * and reclaim every dead box that was reclaimable; when the exchange heap is
 * full, an allocation sweeps the whole table once before it gives up;
 * keel_box_reap takes as many steps as asked, and destroying a domain sweeps
 * the table (it is not O(1) anyway). A dead box is reclaimed only once no
 * thread can still run in the incarnation that owned it (reclaim_below in
 * internal.h): code still finishing in a failed domain never sees its buffers
 * reused under it. A step that finds a dead box not yet reclaimable (or lent)
 * passes it by; a later pass of the cursor takes it.
 *
 * Lending changes no owner, it only counts the lenders in the entry
 * (box_table.h, where the entry's layout, its access check and the lend are,
 * inline for the call path): a free or a move waits for no lend, it fails
 * while the box is lent (close_entry).
 *
 * Free, alloc and move take the box lock; lending and keel_box_data do not. A
 * box is used by one thread at a time, as any buffer is.
 *
 * Labels (keel/ifc.h): each entry carries the label of its data. A box is
 * born with its allocator's label; it goes only to principals whose clearance
 * admits its label (move, lend, give); opening it (keel_box_data) joins the
 * opener's label and the box's both ways. So every box a principal owns fits
 * its clearance, which makes the check on opening an owned box a formality.
 */
#include <string.h>
#include <sys/mman.h>

#include "domain/box_table.h"

box_entry *keel_box_entries_;
unsigned keel_box_capacity_;
static size_t entries_bytes;
static uint32_t free_head;
static uint32_t next_generation = 1;
static unsigned reap_cursor = 1;
static pthread_mutex_t box_lock = PTHREAD_MUTEX_INITIALIZER;
static keel_heap_locked exchange;
static void *exchange_region;
static size_t exchange_bytes;

keel_status keel_box_system_init_(size_t exchange_size, unsigned box_capacity) {
    if (box_capacity >= UINT32_MAX - 1) {
        return KEEL_EINVAL;
    }
    unsigned capacity = box_capacity + 1;
    entries_bytes = (size_t)capacity * sizeof(box_entry);
    keel_box_entries_ =
        mmap(NULL, entries_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (keel_box_entries_ == MAP_FAILED) {
        keel_box_entries_ = NULL;
        return KEEL_ESYSTEM;
    }
    exchange_bytes = exchange_size + exchange_size / 32 + 16384;
    exchange_region =
        mmap(NULL, exchange_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (exchange_region == MAP_FAILED) {
        munmap(keel_box_entries_, entries_bytes);
        keel_box_entries_ = NULL;
        return KEEL_ESYSTEM;
    }
    keel_status status = keel_heap_locked_init(&exchange, exchange_region, exchange_bytes);
    if (status != KEEL_OK) {
        munmap(exchange_region, exchange_bytes);
        munmap(keel_box_entries_, entries_bytes);
        keel_box_entries_ = NULL;
        return status;
    }
    free_head = SLOT_NONE;
    for (uint32_t i = capacity - 1; i >= 1; i--) {
        keel_box_entries_[i].next_free = free_head;
        free_head = i;
    }
    reap_cursor = 1;
    keel_box_capacity_ = capacity; /* handles pass box_check from now on */
    return KEEL_OK;
}

keel_status keel_box_system_shutdown_(void) {
    if (keel_box_entries_ == NULL) {
        return KEEL_EINVAL;
    }
    keel_box_capacity_ = 0;
    keel_heap_locked_destroy(&exchange);
    munmap(exchange_region, exchange_bytes);
    munmap(keel_box_entries_, entries_bytes);
    keel_box_entries_ = NULL;
    return KEEL_OK;
}

/* Dead, and no thread can still run in the incarnation that owned it. */
static bool reclaimable(const box_entry *e) {
    if (e->owner == KEEL_HOST_DOMAIN) {
        return false; /* the host never dies */
    }
    return e->owner_epoch <
           atomic_load_explicit(&keel_domains_[e->owner].reclaim_below, memory_order_acquire);
}

static void reopen_entry(box_entry *e) {
    atomic_fetch_and(&e->lent, ~BOX_CLOSING);
}

/* Sets BOX_CLOSING if no counted lend is open: the first half of closing
 * the entry, all of it for the reaper (reap_one_locked). */
static bool close_counted(box_entry *e) {
    uint32_t open = 0;
    return atomic_compare_exchange_strong(&e->lent, &open, BOX_CLOSING);
}

/* Claims the entry for a free or a move: fails while the box is lent, by a
 * counted lend or by its lender thread's plain one (box_table.h). */
static bool close_entry(box_entry *e, uint32_t index) {
    if (!close_counted(e)) {
        return false;
    }
    uint32_t lender = atomic_load_explicit(&e->lender, memory_order_relaxed);
    if (lender == 0 || (lender == keel_thread_.lender && keel_thread_.lends_open == 0)) {
        return true; /* no plain lender, or it is this thread, lending nothing */
    }
    if (keel_presence_lending_(lender, index)) {
        reopen_entry(e);
        return false;
    }
    return true;
}

/* Frees a closed entry's memory and the entry (box lock held). */
static void release(uint32_t index) {
    box_entry *e = &keel_box_entries_[index];
    keel_heap_locked_free(&exchange, e->data);
    atomic_store_explicit(&e->generation, 0, memory_order_release);
    e->live = false;
    e->data = NULL;
    e->next_free = free_head;
    free_head = index;
    reopen_entry(e);
}

/* One step of the reaper (box lock held): the entry under the cursor is
 * reclaimed if it is dead and reclaimable, and the cursor moves on, wrapping
 * past the last entry. O(1). Returns 1 if it freed a box, else 0. */
static unsigned reap_one_locked(void) {
    uint32_t i = reap_cursor;
    reap_cursor = reap_cursor + 1 < keel_box_capacity_ ? reap_cursor + 1 : 1;
    box_entry *e = &keel_box_entries_[i];
    /* A reclaimable box has no lend in progress, and no plain one to look
     * for: a lend runs in a frame of its owner's incarnation or in a frame
     * nested in one on the same thread (a borrower's), so its thread is
     * counted inside the owner, and reclaim_below passes that incarnation
     * only once every thread has left it. So the reaper, which runs in every
     * allocation, makes no membarrier. It closes the entry as a free does,
     * for release() to reopen. */
    if (e->live && reclaimable(e) && close_counted(e)) {
        release(i);
        return 1;
    }
    return 0;
}

/* Every allocation's share: KEEL_BOX_REAP_PER_ALLOC steps (fewer in a smaller
 * table). A loop of its own with a constant limit, so that its bound is in
 * the compiled code (docs/bounds.md). */
static unsigned reap_few_locked(void) {
    unsigned freed = 0;
    for (unsigned n = 0; n < KEEL_BOX_REAP_PER_ALLOC && n < keel_box_capacity_ - 1; n++) {
        freed += reap_one_locked();
    }
    return freed;
}

/* `steps` steps, at most one pass over the table (no entry visited twice):
 * keel_box_reap, and the sweeps. O(min(steps, box_capacity)). Out of line, so
 * that keel_box_alloc's sweep stays a call, which docs/bounds.md charges as a
 * term of its own (keel_box_reap's row), apart from the allocation's O(1). */
__attribute__((noinline)) static unsigned reap_locked(unsigned steps) {
    unsigned freed = 0;
    for (unsigned n = 0; n < steps && n < keel_box_capacity_ - 1; n++) {
        freed += reap_one_locked();
    }
    return freed;
}

unsigned keel_box_reap(unsigned max_steps) {
    if (keel_box_entries_ == NULL) {
        return 0;
    }
    pthread_mutex_lock(&box_lock);
    unsigned freed = reap_locked(max_steps);
    pthread_mutex_unlock(&box_lock);
    return freed;
}

keel_status keel_box_alloc(size_t size, keel_box *out) {
    if (out == NULL || keel_box_entries_ == NULL) {
        return KEEL_EINVAL;
    }
    *out = KEEL_BOX_NONE;
    thread_state *t = &keel_thread_;
    if (t->record == NULL) {
        keel_thread_prepare_(t); /* for its name as the box's lender */
    }
    principal owner = current_principal();
    void *data;
    keel_status status = keel_heap_locked_alloc(&exchange, size, &data);
    pthread_mutex_lock(&box_lock);
    reap_few_locked();
    if (status == KEEL_ENOMEM && reap_locked(keel_box_capacity_) > 0) {
        status = keel_heap_locked_alloc(&exchange, size, &data); /* dead boxes made room */
    }
    if (status != KEEL_OK) {
        pthread_mutex_unlock(&box_lock);
        return status;
    }
    uint32_t i = free_head;
    if (i == SLOT_NONE) {
        pthread_mutex_unlock(&box_lock);
        keel_heap_locked_free(&exchange, data);
        return KEEL_EFULL;
    }
    box_entry *e = &keel_box_entries_[i];
    free_head = e->next_free;
    e->data = data;
    e->size = size;
    /* Owned by the incarnation the caller runs in: a thread still running in a
     * failed incarnation allocates a box that is born dead, and reaped. */
    e->owner = owner.id;
    e->owner_epoch = owner.epoch;
    /* Its allocator lends it by the plain path (box_table.h). */
    atomic_store_explicit(&e->lender, t->lender, memory_order_relaxed);
    keel_label label = ifc_label(owner.id);
    atomic_store_explicit(&e->secrecy, label.secrecy, memory_order_relaxed);
    atomic_store_explicit(&e->integrity, label.integrity, memory_order_relaxed);
    e->live = true;
    uint32_t generation = next_generation++;
    if (next_generation == 0) {
        next_generation = 1;
    }
    atomic_store_explicit(&e->generation, generation, memory_order_release);
    pthread_mutex_unlock(&box_lock);
    *out = (keel_box){.index = i, .generation = generation};
    return KEEL_OK;
}

keel_status keel_box_free(keel_box box) {
    pthread_mutex_lock(&box_lock);
    box_entry *e;
    /* Only the owner frees: a borrower cannot free what it was lent. */
    keel_status status = box_check(box, current_principal(), NULL, &e);
    if (status == KEEL_OK && !close_entry(e, box.index)) {
        status = KEEL_EACCESS; /* lent to a call in progress */
    }
    if (status == KEEL_OK) {
        release(box.index);
    }
    pthread_mutex_unlock(&box_lock);
    return status;
}

static void label_raise(box_entry *e, keel_label by) {
    atomic_fetch_or_explicit(&e->secrecy, by.secrecy, memory_order_relaxed);
    atomic_fetch_and_explicit(&e->integrity, by.integrity, memory_order_relaxed);
}

/*
 * Opening: whoever opens a box may learn its data and write what it knows into
 * it. The opener's label rises by the box's, within its clearance and the
 * bound of the callers waiting on it; the box's rises by the opener's, within
 * its owner's clearance (a borrower cannot make its lender's box unreadable
 * to the lender).
 */
static keel_status open_box(box_entry *e, principal who, const call_frame *frame) {
    keel_label box = box_label(e), self = ifc_label(who.id);
    if (keel_label_equal(box, self)) {
        return KEEL_OK;
    }
    keel_label bound = ifc_clearance(who.id);
    if (frame != NULL) {
        bound = keel_label_meet(bound, frame->bound);
    }
    if (!keel_label_flows(box, bound)) {
        keel_status status =
            keel_ifc_refuse_(KEEL_ECLEARANCE, who.id, box, bound, "box opened by '%s'",
                             keel_ifc_principal_name_(who.id));
        if (status != KEEL_OK) {
            return status;
        }
    }
    keel_label joined = keel_label_join(box, self);
    if (e->owner != who.id && !keel_label_flows(joined, ifc_clearance(e->owner))) {
        keel_status status =
            keel_ifc_refuse_(KEEL_ECLEARANCE, who.id, joined, ifc_clearance(e->owner),
                             "box of '%s' opened by its borrower '%s'",
                             keel_ifc_principal_name_(e->owner), keel_ifc_principal_name_(who.id));
        if (status != KEEL_OK) {
            return status;
        }
    }
    ifc_raise(who.id, box);
    label_raise(e, self);
    return KEEL_OK;
}

/* The bytes and size of an entry the caller may access. */
static inline keel_status give_data(const box_entry *e, void **data, size_t *size) {
    if (data != NULL) {
        *data = e->data;
    }
    if (size != NULL) {
        *size = e->size;
    }
    return KEEL_OK;
}

/* keel_box_data once labels are in use: the box is opened first. Out of line,
 * so that keel_box_data's common case keeps its values in scratch registers. */
static __attribute__((noinline)) keel_status
open_data(box_entry *e, principal who, const call_frame *frame, void **data, size_t *size) {
    keel_status status = open_box(e, who, frame);
    return status != KEEL_OK ? status : give_data(e, data, size);
}

/* keel_box_data for any box but the one lent to the current call: the full
 * check, as owner or as borrower. */
static __attribute__((noinline)) keel_status box_data_checked(keel_box box, call_frame *frame,
                                                              void **data, size_t *size) {
    box_entry *e;
    principal who = principal_of(frame);
    keel_status status = box_check(box, who, frame, &e);
    if (status != KEEL_OK) {
        return status;
    }
    if (ifc_active()) {
        return open_data(e, who, frame, data, size);
    }
    return give_data(e, data, size);
}

keel_status keel_box_data(keel_box box, void **data, size_t *size) {
    call_frame *frame = keel_thread_.frame;
    if (frame != NULL && box_same(frame->lent, box) && !ifc_active()) {
        /* The box lent to this very call (a stage's common case): its lend
         * checked the handle, and while lent it can be neither freed nor
         * moved, so its generation stands. Only its owner can have died. */
        const box_entry *e = &keel_box_entries_[box.index];
        return box_owner_alive(e) ? give_data(e, data, size) : KEEL_ESTALE;
    }
    return box_data_checked(box, frame, data, size);
}

keel_status keel_box_peek_(keel_box box, const void **data, size_t *size, keel_label *label) {
    box_entry *e;
    keel_status status = box_check(box, current_principal(), keel_thread_.frame, &e);
    if (status != KEEL_OK) {
        return status;
    }
    *data = e->data;
    *size = e->size;
    *label = box_label(e);
    return KEEL_OK;
}

keel_status keel_box_label(keel_box box, keel_label *out) {
    box_entry *e;
    if (out == NULL) {
        return KEEL_EINVAL;
    }
    keel_status status = box_check(box, current_principal(), keel_thread_.frame, &e);
    if (status == KEEL_OK) {
        *out = box_label(e);
    }
    return status;
}

__attribute__((noinline, cold)) keel_status keel_box_refuse_transfer_(keel_label label, uint32_t to,
                                                                      const char *how) {
    uint32_t self = current_id();
    return keel_ifc_refuse_(KEEL_ECLEARANCE, self, label, ifc_clearance(to), "box %s '%s' by '%s'",
                            how, keel_ifc_principal_name_(to), keel_ifc_principal_name_(self));
}

keel_status keel_box_move_(keel_box box, principal sender, principal callee, keel_box *moved) {
    pthread_mutex_lock(&box_lock);
    box_entry *e;
    /* Only the owner moves: a borrower cannot give away what it was lent. */
    keel_status status = box_check(box, sender, NULL, &e);
    if (status == KEEL_OK && !close_entry(e, box.index)) {
        status = KEEL_EACCESS; /* lent to a call in progress */
    }
    if (status == KEEL_OK) {
        status = box_admits(e, callee.id, "moved to");
        if (status != KEEL_OK) {
            reopen_entry(e);
        }
    }
    if (status == KEEL_OK) {
        e->owner = callee.id;
        e->owner_epoch = callee.epoch;
        /* The mover lends it by the plain path from now on: a box that
         * passes to another thread costs that thread one membarrier, at its
         * first move, and none after. */
        atomic_store_explicit(&e->lender, keel_thread_.lender, memory_order_relaxed);
        uint32_t generation = next_generation++;
        if (next_generation == 0) {
            next_generation = 1;
        }
        atomic_store_explicit(&e->generation, generation, memory_order_release);
        *moved = (keel_box){.index = box.index, .generation = generation};
        reopen_entry(e);
    }
    pthread_mutex_unlock(&box_lock);
    return status;
}

keel_status keel_box_give(keel_box *box) {
    call_frame *frame = keel_thread_.frame;
    if (box == NULL || frame == NULL) {
        return KEEL_EINVAL;
    }
    return keel_box_move_(*box, principal_of(frame), principal_of(frame->previous), box);
}

keel_status keel_box_copy(keel_box source, keel_box *out) {
    if (out == NULL) {
        return KEEL_EINVAL;
    }
    *out = KEEL_BOX_NONE;
    const void *data;
    size_t size;
    keel_label label;
    keel_status status = keel_box_peek_(source, &data, &size, &label);
    if (status != KEEL_OK) {
        return status;
    }
    keel_box copy;
    status = keel_box_alloc(size, &copy);
    if (status != KEEL_OK) {
        return status;
    }
    box_entry *e = &keel_box_entries_[copy.index];
    memcpy(e->data, data, size);
    label_raise(e, label); /* born with the caller's label: now the join */
    *out = copy;
    return KEEL_OK;
}

keel_status keel_box_append(keel_box dest, size_t *used, keel_box *source) {
    if (used == NULL || source == NULL || box_same(dest, *source)) {
        return KEEL_EINVAL;
    }
    principal who = current_principal();
    pthread_mutex_lock(&box_lock);
    box_entry *d, *s;
    keel_status status = box_check(dest, who, NULL, &d);
    if (status == KEEL_OK) {
        status = box_check(*source, who, NULL, &s);
    }
    if (status == KEEL_OK && !close_entry(s, source->index)) {
        status = KEEL_EACCESS; /* the source is lent to a call in progress */
    }
    if (status != KEEL_OK) {
        pthread_mutex_unlock(&box_lock);
        return status;
    }
    if (*used > d->size || s->size > d->size - *used) {
        status = KEEL_ERANGE;
    } else if (ifc_active()) {
        keel_label joined = keel_label_join(box_label(d), box_label(s));
        if (!keel_label_flows(joined, ifc_clearance(who.id))) {
            status = keel_ifc_refuse_(KEEL_ECLEARANCE, who.id, joined, ifc_clearance(who.id),
                                      "append by '%s'", keel_ifc_principal_name_(who.id));
        }
    }
    if (status != KEEL_OK) {
        reopen_entry(s);
        pthread_mutex_unlock(&box_lock);
        return status;
    }
    memcpy((char *)d->data + *used, s->data, s->size);
    *used += s->size;
    label_raise(d, box_label(s));
    release(source->index);
    pthread_mutex_unlock(&box_lock);
    *source = KEEL_BOX_NONE;
    return KEEL_OK;
}

keel_status keel_box_relabel(keel_box box, keel_label to) {
    principal who = current_principal();
    pthread_mutex_lock(&box_lock);
    box_entry *e;
    keel_status status = box_check(box, who, NULL, &e);
    if (status == KEEL_OK) {
        keel_label from = box_label(e);
        keel_categories needed = ifc_needs_privilege(from, to);
        keel_categories held = atomic_load(&keel_ifc_principals_[who.id].privileges);
        if ((needed & ~held) != 0) {
            status = keel_ifc_refuse_(KEEL_EPRIVILEGE, who.id, from, to, "relabel of a box by '%s'",
                                      keel_ifc_principal_name_(who.id));
        } else if (!keel_label_flows(to, ifc_clearance(who.id))) {
            status = keel_ifc_refuse_(KEEL_ECLEARANCE, who.id, to, ifc_clearance(who.id),
                                      "relabel of a box by '%s'", keel_ifc_principal_name_(who.id));
        }
        if (status == KEEL_OK) {
            if (needed != 0) {
                keel_ifc_count_declassified_();
            }
            atomic_store_explicit(&e->secrecy, to.secrecy, memory_order_relaxed);
            atomic_store_explicit(&e->integrity, to.integrity, memory_order_relaxed);
        }
    }
    pthread_mutex_unlock(&box_lock);
    return status;
}

void keel_box_release_domain_(uint32_t id) {
    (void)id; /* its epoch is dead: a full sweep reclaims everything it owned */
    keel_box_reap(keel_box_capacity_);
}

void keel_exchange_get_stats(keel_exchange_stats *out) {
    memset(out, 0, sizeof *out);
    if (keel_box_entries_ == NULL) {
        return;
    }
    keel_heap_locked_get_stats(&exchange, &out->heap);
    pthread_mutex_lock(&box_lock);
    for (uint32_t i = 1; i < keel_box_capacity_; i++) {
        if (keel_box_entries_[i].live) {
            if (box_owner_alive(&keel_box_entries_[i])) {
                out->boxes_live++;
            } else {
                out->boxes_dead++;
            }
        }
    }
    pthread_mutex_unlock(&box_lock);
}
