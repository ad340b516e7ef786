/*
 * box.c - boxes: buffers in the exchange heap with exactly one owner.
 *
 * A box entry records its owner as (domain id, epoch). The owner is alive while
 * that domain's current epoch equals the recorded one (the host's epoch is
 * always 0), so a domain's failure or destruction kills all its boxes at once,
 * in O(1), without visiting them. Their memory is reclaimed afterwards by
 * keel_box_reap, a bounded number of entries per step: keel_box_alloc reaps a
 * few on every call, so dead boxes never accumulate beyond the table.
 *
 * Mutations (alloc, free, move, lend) take the box lock; keel_box_data reads
 * without it. A box is used by one thread at a time, as any buffer is.
 */
#include <string.h>
#include <sys/mman.h>

#include "domain/internal.h"

typedef struct box_entry {
    void *data;
    size_t size;
    _Atomic uint32_t generation; /* handles with another generation are dead */
    uint32_t owner;
    uint64_t owner_epoch;
    uint32_t lenders;   /* calls that lent it and have not ended; never reaped while > 0 */
    uint32_t next_free; /* free-list link */
    bool live;          /* holds memory (possibly owned by a dead domain) */
} box_entry;

enum { REAP_PER_ALLOC = 4 };

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
    exchange_bytes = exchange_size + exchange_size / 64 + 16384;
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

/* Frees an entry's memory and the entry (box lock held). */
static void release(uint32_t index) {
    box_entry *e = &entries[index];
    keel_heap_locked_free(&exchange, e->data);
    atomic_store_explicit(&e->generation, 0, memory_order_release);
    e->live = false;
    e->data = NULL;
    e->next_free = free_head;
    free_head = index;
}

static unsigned reap_locked(unsigned steps) {
    unsigned freed = 0;
    for (unsigned n = 0; n < steps && n < capacity - 1; n++) {
        uint32_t i = reap_cursor;
        reap_cursor = reap_cursor + 1 < capacity ? reap_cursor + 1 : 1;
        box_entry *e = &entries[i];
        if (e->live && e->lenders == 0 && !owner_alive(e)) {
            release(i);
            freed++;
        }
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
    reap_locked(REAP_PER_ALLOC);
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
    e->lenders = 0;
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

/* The entry a live handle names, owned by `who` (box lock held, or a read). */
static keel_status check(keel_box box, principal who, box_entry **out) {
    if (entries == NULL || box.index == 0 || box.index >= capacity || box.generation == 0) {
        return KEEL_ESTALE;
    }
    box_entry *e = &entries[box.index];
    if (atomic_load_explicit(&e->generation, memory_order_acquire) != box.generation ||
        !owner_alive(e)) {
        return KEEL_ESTALE;
    }
    if (e->owner != who.id || e->owner_epoch != who.epoch) {
        return KEEL_EACCESS;
    }
    *out = e;
    return KEEL_OK;
}

keel_status keel_box_free(keel_box box) {
    pthread_mutex_lock(&box_lock);
    box_entry *e;
    keel_status status = check(box, current_principal(), &e);
    if (status == KEEL_OK && e->lenders != 0) {
        status = KEEL_EACCESS; /* a borrower cannot free what it was lent */
    }
    if (status == KEEL_OK) {
        release(box.index);
    }
    pthread_mutex_unlock(&box_lock);
    return status;
}

keel_status keel_box_data(keel_box box, void **data, size_t *size) {
    box_entry *e;
    keel_status status = check(box, current_principal(), &e);
    if (status != KEEL_OK) {
        return status;
    }
    if (data != NULL) {
        *data = e->data;
    }
    if (size != NULL) {
        *size = e->size;
    }
    return KEEL_OK;
}

keel_status keel_box_lend_begin_(keel_box box, principal lender, principal callee) {
    pthread_mutex_lock(&box_lock);
    box_entry *e;
    keel_status status = check(box, lender, &e);
    if (status == KEEL_OK) {
        e->owner = callee.id;
        e->owner_epoch = callee.epoch;
        e->lenders++;
    }
    pthread_mutex_unlock(&box_lock);
    return status;
}

void keel_box_lend_end_(keel_box box, principal lender) {
    pthread_mutex_lock(&box_lock);
    box_entry *e = &entries[box.index];
    /* Whatever became of the borrower, the box is the lender's incarnation's
     * again; if that incarnation has failed meanwhile, the box dies with it. */
    e->owner = lender.id;
    e->owner_epoch = lender.epoch;
    e->lenders--;
    pthread_mutex_unlock(&box_lock);
}

keel_status keel_box_move_(keel_box box, principal sender, principal callee, keel_box *moved) {
    pthread_mutex_lock(&box_lock);
    box_entry *e;
    keel_status status = check(box, sender, &e);
    if (status == KEEL_OK && e->lenders != 0) {
        status = KEEL_EACCESS; /* a borrower cannot give away what it was lent */
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
            if (owner_alive(&entries[i]) || entries[i].lenders != 0) {
                out->boxes_live++;
            } else {
                out->boxes_dead++;
            }
        }
    }
    pthread_mutex_unlock(&box_lock);
}
