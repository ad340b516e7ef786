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
 * Lending changes no owner: the lender keeps the box and the call's frame
 * records it (call.c). The entry only counts its lenders, so that a free or a
 * move by another thread of the owner cannot pull the memory from under the
 * borrower: a lend increments `lent` and then checks the entry is not closing;
 * a free or move sets CLOSING only while `lent` is 0 (one compare-and-swap).
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

#include "domain/internal.h"
#include "ifc/internal.h"

typedef struct box_entry {
    void *data;
    size_t size;
    _Atomic uint32_t generation; /* handles with another generation are dead */
    uint32_t owner;
    uint64_t owner_epoch;
    _Atomic uint32_t lent; /* calls lending it, plus CLOSING while a free or move runs */
    /* Its data's label: rises as principals open it, lowered by relabel. */
    _Atomic keel_categories secrecy, integrity;
    uint32_t next_free; /* free-list link */
    bool live;          /* holds memory (possibly owned by a dead domain) */
} box_entry;

#define CLOSING 0x80000000u

static box_entry *entries;
static size_t entries_bytes;
static unsigned capacity; /* entry 0 is never used: KEEL_BOX_NONE is never valid */
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
    capacity = box_capacity + 1;
    entries_bytes = (size_t)capacity * sizeof(box_entry);
    entries = mmap(NULL, entries_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (entries == MAP_FAILED) {
        entries = NULL;
        return KEEL_ESYSTEM;
    }
    exchange_bytes = exchange_size + exchange_size / 32 + 16384;
    exchange_region =
        mmap(NULL, exchange_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (exchange_region == MAP_FAILED) {
        munmap(entries, entries_bytes);
        entries = NULL;
        return KEEL_ESYSTEM;
    }
    keel_status status = keel_heap_locked_init(&exchange, exchange_region, exchange_bytes);
    if (status != KEEL_OK) {
        munmap(exchange_region, exchange_bytes);
        munmap(entries, entries_bytes);
        entries = NULL;
        return status;
    }
    free_head = SLOT_NONE;
    for (uint32_t i = capacity - 1; i >= 1; i--) {
        entries[i].next_free = free_head;
        free_head = i;
    }
    reap_cursor = 1;
    return KEEL_OK;
}

keel_status keel_box_system_shutdown_(void) {
    if (entries == NULL) {
        return KEEL_EINVAL;
    }
    keel_heap_locked_destroy(&exchange);
    munmap(exchange_region, exchange_bytes);
    munmap(entries, entries_bytes);
    entries = NULL;
    return KEEL_OK;
}

static bool owner_alive(const box_entry *e) {
    return epoch_of(e->owner) == e->owner_epoch;
}

/* Dead, and no thread can still run in the incarnation that owned it. */
static bool reclaimable(const box_entry *e) {
    if (e->owner == KEEL_HOST_DOMAIN) {
        return false; /* the host never dies */
    }
    return e->owner_epoch <
           atomic_load_explicit(&keel_domains_[e->owner].reclaim_below, memory_order_acquire);
}

/* Claims the entry for a free or a move: fails while the box is lent. */
static bool close_entry(box_entry *e) {
    uint32_t open = 0;
    return atomic_compare_exchange_strong(&e->lent, &open, CLOSING);
}

static void reopen_entry(box_entry *e) {
    atomic_fetch_and(&e->lent, ~CLOSING);
}

/* Frees a closed entry's memory and the entry (box lock held). */
static void release(uint32_t index) {
    box_entry *e = &entries[index];
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
    reap_cursor = reap_cursor + 1 < capacity ? reap_cursor + 1 : 1;
    box_entry *e = &entries[i];
    if (e->live && reclaimable(e) && close_entry(e)) {
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
    for (unsigned n = 0; n < KEEL_BOX_REAP_PER_ALLOC && n < capacity - 1; n++) {
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
    for (unsigned n = 0; n < steps && n < capacity - 1; n++) {
        freed += reap_one_locked();
    }
    return freed;
}

unsigned keel_box_reap(unsigned max_steps) {
    if (entries == NULL) {
        return 0;
    }
    pthread_mutex_lock(&box_lock);
    unsigned freed = reap_locked(max_steps);
    pthread_mutex_unlock(&box_lock);
    return freed;
}

keel_status keel_box_alloc(size_t size, keel_box *out) {
    if (out == NULL || entries == NULL) {
        return KEEL_EINVAL;
    }
    *out = KEEL_BOX_NONE;
    principal owner = current_principal();
    void *data;
    keel_status status = keel_heap_locked_alloc(&exchange, size, &data);
    pthread_mutex_lock(&box_lock);
    reap_few_locked();
    if (status == KEEL_ENOMEM && reap_locked(capacity) > 0) {
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
    box_entry *e = &entries[i];
    free_head = e->next_free;
    e->data = data;
    e->size = size;
    /* Owned by the incarnation the caller runs in: a thread still running in a
     * failed incarnation allocates a box that is born dead, and reaped. */
    e->owner = owner.id;
    e->owner_epoch = owner.epoch;
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

static bool same_box(keel_box a, keel_box b) {
    return a.index == b.index && a.generation == b.generation;
}

/* The entry a live handle names, if `who` owns it, or if `frame` is not NULL
 * and the box is lent to it. */
static keel_status check(keel_box box, principal who, const call_frame *frame, box_entry **out) {
    if (entries == NULL || box.index == 0 || box.index >= capacity || box.generation == 0) {
        return KEEL_ESTALE;
    }
    box_entry *e = &entries[box.index];
    if (atomic_load_explicit(&e->generation, memory_order_acquire) != box.generation ||
        !owner_alive(e)) {
        return KEEL_ESTALE;
    }
    bool owns = e->owner == who.id && e->owner_epoch == who.epoch;
    if (!owns && (frame == NULL || !same_box(frame->lent, box))) {
        return KEEL_EACCESS;
    }
    *out = e;
    return KEEL_OK;
}

keel_status keel_box_free(keel_box box) {
    pthread_mutex_lock(&box_lock);
    box_entry *e;
    /* Only the owner frees: a borrower cannot free what it was lent. */
    keel_status status = check(box, current_principal(), NULL, &e);
    if (status == KEEL_OK && !close_entry(e)) {
        status = KEEL_EACCESS; /* lent to a call in progress on another thread */
    }
    if (status == KEEL_OK) {
        release(box.index);
    }
    pthread_mutex_unlock(&box_lock);
    return status;
}

static keel_label label_of(const box_entry *e) {
    return (keel_label){atomic_load_explicit(&e->secrecy, memory_order_relaxed),
                        atomic_load_explicit(&e->integrity, memory_order_relaxed)};
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
    keel_label box = label_of(e), self = ifc_label(who.id);
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

keel_status keel_box_data(keel_box box, void **data, size_t *size) {
    box_entry *e;
    principal who = current_principal();
    call_frame *frame = keel_thread_.frame;
    keel_status status = check(box, who, frame, &e);
    if (status != KEEL_OK) {
        return status;
    }
    if (ifc_active()) {
        return open_data(e, who, frame, data, size);
    }
    return give_data(e, data, size);
}

keel_status keel_box_peek_(keel_box box, const void **data, size_t *size, keel_label *label) {
    box_entry *e;
    keel_status status = check(box, current_principal(), keel_thread_.frame, &e);
    if (status != KEEL_OK) {
        return status;
    }
    *data = e->data;
    *size = e->size;
    *label = label_of(e);
    return KEEL_OK;
}

keel_status keel_box_label(keel_box box, keel_label *out) {
    box_entry *e;
    if (out == NULL) {
        return KEEL_EINVAL;
    }
    keel_status status = check(box, current_principal(), keel_thread_.frame, &e);
    if (status == KEEL_OK) {
        *out = label_of(e);
    }
    return status;
}

/* A box refused to `to`: reported, and refused unless auditing. */
static __attribute__((noinline, cold)) keel_status refuse_transfer(keel_label label, uint32_t to,
                                                                   const char *how) {
    uint32_t self = current_id();
    return keel_ifc_refuse_(KEEL_ECLEARANCE, self, label, ifc_clearance(to), "box %s '%s' by '%s'",
                            how, keel_ifc_principal_name_(to), keel_ifc_principal_name_(self));
}

/* May `to` receive this box? Its label must fit the receiver's clearance. */
static inline keel_status admits(const box_entry *e, uint32_t to, const char *how) {
    if (!ifc_active()) {
        return KEEL_OK;
    }
    keel_label label = label_of(e);
    if (__builtin_expect(keel_label_flows(label, ifc_clearance(to)), 1)) {
        return KEEL_OK;
    }
    return refuse_transfer(label, to, how);
}

keel_status keel_box_lend_begin_(keel_box box, principal lender, const call_frame *lender_frame,
                                 uint32_t borrower) {
    box_entry *e;
    keel_status status = check(box, lender, lender_frame, &e);
    if (status == KEEL_OK) {
        status = admits(e, borrower, "lent to");
    }
    if (status != KEEL_OK) {
        return status;
    }
    /* Count the lend, then look again: a free or move that closed the entry
     * first wins (the lend fails); one that comes later sees the count. */
    uint32_t before = atomic_fetch_add(&e->lent, 1);
    if ((before & CLOSING) != 0 ||
        atomic_load_explicit(&e->generation, memory_order_relaxed) != box.generation) {
        atomic_fetch_sub(&e->lent, 1);
        return (before & CLOSING) != 0 ? KEEL_EACCESS : KEEL_ESTALE;
    }
    return KEEL_OK;
}

void keel_box_lend_end_(keel_box box) {
    /* The box never left its owner: whatever became of the borrower, ending the
     * lend is all there is to give it back. */
    atomic_fetch_sub_explicit(&entries[box.index].lent, 1, memory_order_release);
}

keel_status keel_box_move_(keel_box box, principal sender, principal callee, keel_box *moved) {
    pthread_mutex_lock(&box_lock);
    box_entry *e;
    /* Only the owner moves: a borrower cannot give away what it was lent. */
    keel_status status = check(box, sender, NULL, &e);
    if (status == KEEL_OK && !close_entry(e)) {
        status = KEEL_EACCESS; /* lent to a call in progress on another thread */
    }
    if (status == KEEL_OK) {
        status = admits(e, callee.id, "moved to");
        if (status != KEEL_OK) {
            reopen_entry(e);
        }
    }
    if (status == KEEL_OK) {
        e->owner = callee.id;
        e->owner_epoch = callee.epoch;
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
    box_entry *e = &entries[copy.index];
    memcpy(e->data, data, size);
    label_raise(e, label); /* born with the caller's label: now the join */
    *out = copy;
    return KEEL_OK;
}

keel_status keel_box_append(keel_box dest, size_t *used, keel_box *source) {
    if (used == NULL || source == NULL || same_box(dest, *source)) {
        return KEEL_EINVAL;
    }
    principal who = current_principal();
    pthread_mutex_lock(&box_lock);
    box_entry *d, *s;
    keel_status status = check(dest, who, NULL, &d);
    if (status == KEEL_OK) {
        status = check(*source, who, NULL, &s);
    }
    if (status == KEEL_OK && !close_entry(s)) {
        status = KEEL_EACCESS; /* the source is lent to a call in progress */
    }
    if (status != KEEL_OK) {
        pthread_mutex_unlock(&box_lock);
        return status;
    }
    if (*used > d->size || s->size > d->size - *used) {
        status = KEEL_ERANGE;
    } else if (ifc_active()) {
        keel_label joined = keel_label_join(label_of(d), label_of(s));
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
    label_raise(d, label_of(s));
    release(source->index);
    pthread_mutex_unlock(&box_lock);
    *source = KEEL_BOX_NONE;
    return KEEL_OK;
}

keel_status keel_box_relabel(keel_box box, keel_label to) {
    principal who = current_principal();
    pthread_mutex_lock(&box_lock);
    box_entry *e;
    keel_status status = check(box, who, NULL, &e);
    if (status == KEEL_OK) {
        keel_label from = label_of(e);
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
    keel_box_reap(capacity);
}

void keel_exchange_get_stats(keel_exchange_stats *out) {
    memset(out, 0, sizeof *out);
    if (entries == NULL) {
        return;
    }
    keel_heap_locked_get_stats(&exchange, &out->heap);
    pthread_mutex_lock(&box_lock);
    for (uint32_t i = 1; i < capacity; i++) {
        if (entries[i].live) {
            if (owner_alive(&entries[i])) {
                out->boxes_live++;
            } else {
                out->boxes_dead++;
            }
        }
    }
    pthread_mutex_unlock(&box_lock);
}
