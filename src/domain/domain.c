/*
 * domain.c - the domain registry and reference tables: create, destroy, export,
 * re-export, revoke, filters. Calls are in call.c.
 *
 * Mutations of a table (export, revoke) take the table's lock: they are O(1) but
 * not on the call path. The call path reads slots without a lock (see slot in
 * internal.h). Slot generations come from one global counter, so an rref can
 * never match a slot it was not made for, even after its domain is destroyed and
 * its registry index reused.
 */
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "domain/internal.h"
#include "ifc/internal.h"

/* Domain structs never move and are never unmapped (see internal.h). Entry 0
 * is the host's id and stays unused. `claimed` reserves an entry from create to
 * the end of destroy; it is owned by registry_lock. */
keel_domain keel_domains_[KEEL_DOMAIN_MAX];
static bool claimed[KEEL_DOMAIN_MAX];
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint64_t next_generation = 1;
/* The rref epoch (internal.h): one line of its own, read by every call. */
changes keel_rref_changes_ __attribute__((aligned(64))) = CHANGES_INIT;
static bool system_ready;

uint64_t keel_fresh_number_(void) {
    return atomic_fetch_add(&next_generation, 1);
}

uint64_t keel_now_ns_(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

keel_status keel_domain_system_init(size_t exchange_size, unsigned box_capacity) {
    if (exchange_size == 0 || box_capacity == 0) {
        return KEEL_EINVAL;
    }
    if (system_ready) {
        return KEEL_EBUSY;
    }
    keel_pkey_init_();
    keel_status status = keel_presence_init_();
    if (status != KEEL_OK) {
        return status;
    }
    status = keel_box_system_init_(exchange_size, box_capacity);
    if (status != KEEL_OK) {
        return status;
    }
    status = keel_fault_install_();
    if (status != KEEL_OK) {
        keel_box_system_shutdown_();
        return status;
    }
    system_ready = true;
    return KEEL_OK;
}

keel_status keel_domain_system_shutdown(void) {
    if (!system_ready) {
        return KEEL_EINVAL;
    }
    pthread_mutex_lock(&registry_lock);
    for (unsigned i = 1; i < KEEL_DOMAIN_MAX; i++) {
        if (claimed[i]) {
            pthread_mutex_unlock(&registry_lock);
            return KEEL_EBUSY;
        }
    }
    pthread_mutex_unlock(&registry_lock);
    keel_fault_restore_();
    keel_box_system_shutdown_();
    keel_ifc_system_reset_(); /* categories, privileges and labels go with it */
    system_ready = false;
    return KEEL_OK;
}

/* Links every slot into the free list, generations untouched. */
static void table_reset_free_list(keel_domain *d) {
    d->free_head = SLOT_NONE;
    for (unsigned i = d->config.table_capacity; i-- > 0;) {
        d->slots[i].next_free = d->free_head;
        d->slots[i].in_use = false;
        d->free_head = i;
    }
    d->exported = 0;
}

static void unmap_domain(keel_domain *d) {
    if (d->slots != NULL) {
        munmap(d->slots, d->slots_bytes);
        d->slots = NULL;
    }
    if (d->heap_region != NULL) {
        munmap(d->heap_region, d->heap_bytes);
        d->heap_region = NULL;
    }
    keel_pkey_detach_(d); /* after the unmap: no page carries the key any more */
}

static void unclaim(uint32_t id) {
    pthread_mutex_lock(&registry_lock);
    claimed[id] = false;
    pthread_mutex_unlock(&registry_lock);
}

/* Waits until no thread is counted inside: calls in progress finish, stale
 * callers see `live` false and leave at once. Then no thread can run in any of
 * the domain's incarnations, and all its boxes may be reclaimed. */
static void drain(keel_domain *d) {
    keel_presence_barrier_();
    while (keel_presence_anyone_inside_(d->id)) {
        sched_yield();
    }
    atomic_store(&d->reclaim_below, UINT64_MAX);
}

keel_status keel_domain_create(const keel_domain_config *config, keel_domain **out) {
    if (out != NULL) {
        *out = NULL;
    }
    if (config == NULL || out == NULL || config->table_capacity == 0 || config->init == NULL ||
        config->heap_size == 0 || !system_ready ||
        !keel_label_flows(config->label, config->clearance)) {
        return KEEL_EINVAL;
    }
    pthread_mutex_lock(&registry_lock);
    uint32_t id = 0;
    for (uint32_t i = 1; i < KEEL_DOMAIN_MAX; i++) {
        if (!claimed[i]) {
            claimed[i] = true;
            id = i;
            break;
        }
    }
    pthread_mutex_unlock(&registry_lock);
    if (id == 0) {
        return KEEL_EFULL;
    }
    /* Every field but `live`, which stale callers may be reading (they count
     * themselves in, see live false, and leave). */
    keel_domain *d = &keel_domains_[id];
    d->id = id;
    d->config = *config;
    if (d->config.failure_budget > FAILURE_HISTORY) {
        d->config.failure_budget = FAILURE_HISTORY;
    }
    memset(d->name, 0, sizeof d->name);
    if (config->name != NULL) {
        strncpy(d->name, config->name, sizeof d->name - 1);
    }
    d->config.name = d->name;
    atomic_store(&d->state, KEEL_DOMAIN_RUNNING);
    atomic_store(&d->destroying, false);
    atomic_store(&d->needs_recovery, false);
    d->admitted = 0;
    d->pkey = 0;
    memset(d->failure_times, 0, sizeof d->failure_times);
    d->failure_next = 0;
    keel_presence_reset_calls_(d);
    atomic_store(&d->failures, 0);
    atomic_store(&d->recoveries, 0);
    atomic_store(&d->refused, 0);
    /* Epochs are unique across all domains, so a box of a destroyed domain can
     * never look alive to a later domain that reuses its id. */
    atomic_store(&d->epoch, keel_fresh_number_());
    /* Boxes of earlier domains with this id (older epochs) may all be reclaimed. */
    atomic_store(&d->reclaim_below, atomic_load(&d->epoch));

    /* Everything a domain owns is mapped here, at create: nothing later allocates. */
    keel_status status = KEEL_ESYSTEM;
    d->slots_bytes = (size_t)config->table_capacity * sizeof(slot);
    d->slots =
        mmap(NULL, d->slots_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (d->slots == MAP_FAILED) {
        d->slots = NULL;
        goto err;
    }
    /* The heap's own metadata is counted on top of heap_size: the block-start
     * map (heap / 64) and the control block (under 10 KiB). */
    d->heap_bytes = config->heap_size + config->heap_size / 32 + 16384;
    d->heap_region =
        mmap(NULL, d->heap_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (d->heap_region == MAP_FAILED) {
        d->heap_region = NULL;
        goto err;
    }
    status = keel_heap_locked_init(&d->heap, d->heap_region, d->heap_bytes);
    if (status != KEEL_OK) {
        goto err;
    }
    d->heap_epoch = keel_heap_epoch(d->heap.heap);
    status = KEEL_ESYSTEM;
    if (pthread_mutex_init(&d->table_lock, NULL) != 0) {
        goto err_heap;
    }
    if (pthread_mutex_init(&d->protect_lock, NULL) != 0) {
        goto err_table;
    }
    if (config->strict && !keel_domain_protect_init_(d)) {
        goto err_protect;
    }
    table_reset_free_list(d);
    keel_ifc_domain_created_(id, config->label, config->clearance);
    rref_change_begin();
    atomic_store_explicit(&d->live, true, memory_order_seq_cst);
    rref_change_end();

    status = keel_domain_run_inside_(d, config->init, config->context);
    if (status != KEEL_OK) {
        /* Dead first, then sweep: boxes its init allocated are reclaimed. */
        rref_change_begin();
        atomic_store_explicit(&d->live, false, memory_order_seq_cst);
        rref_change_end();
        drain(d);
        atomic_store(&d->epoch, keel_fresh_number_());
        keel_box_release_domain_(id);
        goto err_protect;
    }
    *out = d;
    return KEEL_OK;

err_protect:
    pthread_mutex_destroy(&d->protect_lock);
err_table:
    pthread_mutex_destroy(&d->table_lock);
err_heap:
    keel_heap_locked_destroy(&d->heap);
err:
    unmap_domain(d);
    unclaim(id);
    return status;
}

/* True if the calling thread is inside `d` (directly or in a nested call). */
static bool thread_is_inside(const keel_domain *d) {
    for (call_frame *f = keel_thread_.frame; f != NULL; f = f->previous) {
        if (f->domain == d) {
            return true;
        }
    }
    return false;
}

keel_status keel_domain_destroy(keel_domain *d) {
    if (d == NULL || !atomic_load(&d->live)) {
        return KEEL_EINVAL;
    }
    if (thread_is_inside(d) || atomic_exchange(&d->destroying, true)) {
        return KEEL_EBUSY;
    }
    /* New calls see `live` false and are refused (the change ends before
     * drain's barrier, so a caller it misses misses its memo); calls in
     * progress finish. */
    rref_change_begin();
    atomic_store_explicit(&d->live, false, memory_order_seq_cst);
    rref_change_end();
    drain(d);
    atomic_store(&d->epoch, keel_fresh_number_()); /* its boxes are dead */
    keel_box_release_domain_(d->id);
    keel_domain_snapshot_release_(d); /* snapshot.c */
    pthread_mutex_destroy(&d->protect_lock);
    pthread_mutex_destroy(&d->table_lock);
    keel_heap_locked_destroy(&d->heap);
    unmap_domain(d);
    unclaim(d->id);
    return KEEL_OK;
}

keel_domain *keel_domain_current(void) {
    call_frame *f = keel_thread_.frame;
    return f == NULL ? NULL : f->domain;
}

uint32_t keel_domain_current_id(void) {
    return current_id();
}

uint32_t keel_domain_id(const keel_domain *d) {
    return d->id;
}

const char *keel_domain_name(const keel_domain *d) {
    return d->name;
}

keel_domain_state keel_domain_get_state(const keel_domain *d) {
    return (keel_domain_state)atomic_load(&d->state);
}

keel_heap_locked *keel_domain_heap(keel_domain *d) {
    return &d->heap;
}

keel_status keel_domain_alloc(size_t size, void **out) {
    keel_domain *d = keel_domain_current();
    if (d == NULL) {
        if (out != NULL) {
            *out = NULL;
        }
        return KEEL_EACCESS;
    }
    return keel_heap_locked_alloc(&d->heap, size, out);
}

keel_status keel_domain_free(void *ptr) {
    keel_domain *d = keel_domain_current();
    if (d == NULL) {
        return KEEL_EACCESS;
    }
    return keel_heap_locked_free(&d->heap, ptr);
}

/* Export and revoke are for the owner: code inside it, or the host. */
static bool may_administer(const keel_domain *d) {
    uint32_t caller = current_id();
    return caller == d->id || caller == KEEL_HOST_DOMAIN;
}

/* A fresh export starts without a filter; a re-export keeps the slot's filter,
 * so that crashing a domain can never lift the access control on its rrefs. */
static void fill_slot(keel_domain *d, slot *s, void *object, const keel_interface *interface,
                      bool fresh) {
    atomic_store_explicit(&s->object, object, memory_order_relaxed);
    atomic_store_explicit(&s->interface, interface, memory_order_relaxed);
    if (fresh) {
        atomic_store_explicit(&s->filter, NULL, memory_order_relaxed);
        atomic_store_explicit(&s->filter_state, NULL, memory_order_relaxed);
    }
    /* Publishing the epoch last makes the fields visible to callers at once. */
    atomic_store_explicit(&s->epoch, atomic_load(&d->epoch), memory_order_release);
}

keel_status keel_domain_export(keel_domain *d, void *object, const keel_interface *interface,
                               keel_rref *out) {
    if (d == NULL || interface == NULL || out == NULL || interface->method_count == 0 ||
        interface->methods == NULL) {
        return KEEL_EINVAL;
    }
    if (!may_administer(d)) {
        return KEEL_EACCESS;
    }
    pthread_mutex_lock(&d->table_lock);
    uint32_t i = d->free_head;
    if (i == SLOT_NONE) {
        pthread_mutex_unlock(&d->table_lock);
        return KEEL_EFULL;
    }
    slot *s = &d->slots[i];
    d->free_head = s->next_free;
    s->in_use = true;
    d->exported++;
    uint64_t generation = keel_fresh_number_();
    rref_change_begin();
    atomic_store_explicit(&s->generation, generation, memory_order_release);
    fill_slot(d, s, object, interface, true);
    rref_change_end();
    pthread_mutex_unlock(&d->table_lock);
    *out = (keel_rref){.domain = d->id, .slot = i, .generation = generation};
    return KEEL_OK;
}

/*
 * The slot an rref names, for the owner's administration: on KEEL_OK the table
 * lock is held (release it with pthread_mutex_unlock(&(*domain)->table_lock))
 * and the slot still holds the rref's generation. KEEL_ESTALE for an unknown,
 * destroyed or revoked rref, KEEL_EACCESS if the caller is not the owner.
 */
static keel_status lock_owned_slot(keel_rref rref, keel_domain **domain, slot **out) {
    if (rref.domain == KEEL_HOST_DOMAIN || rref.domain >= KEEL_DOMAIN_MAX) {
        return KEEL_ESTALE;
    }
    keel_domain *d = &keel_domains_[rref.domain];
    if (!atomic_load_explicit(&d->live, memory_order_acquire) ||
        rref.slot >= d->config.table_capacity) {
        return KEEL_ESTALE;
    }
    if (!may_administer(d)) {
        return KEEL_EACCESS;
    }
    pthread_mutex_lock(&d->table_lock);
    slot *s = &d->slots[rref.slot];
    if (!s->in_use || atomic_load(&s->generation) != rref.generation) {
        pthread_mutex_unlock(&d->table_lock);
        return KEEL_ESTALE;
    }
    *domain = d;
    *out = s;
    return KEEL_OK;
}

keel_status keel_domain_reexport(keel_domain *d, keel_rref rref, void *object,
                                 const keel_interface *interface) {
    if (d == NULL || interface == NULL || interface->method_count == 0 ||
        interface->methods == NULL) {
        return KEEL_EINVAL;
    }
    if (!may_administer(d)) {
        return KEEL_EACCESS;
    }
    if (rref.domain != d->id) {
        return KEEL_ESTALE;
    }
    slot *s;
    keel_status status = lock_owned_slot(rref, &d, &s);
    if (status == KEEL_OK) {
        rref_change_begin();
        fill_slot(d, s, object, interface, false);
        rref_change_end();
        pthread_mutex_unlock(&d->table_lock);
    }
    return status;
}

keel_status keel_rref_revoke(keel_rref rref) {
    keel_domain *d;
    slot *s;
    keel_status status = lock_owned_slot(rref, &d, &s);
    if (status == KEEL_OK) {
        /* A fresh generation: every copy of the rref now fails as revoked. */
        rref_change_begin();
        atomic_store_explicit(&s->generation, keel_fresh_number_(), memory_order_release);
        rref_change_end();
        s->in_use = false;
        s->next_free = d->free_head;
        d->free_head = rref.slot;
        d->exported--;
        pthread_mutex_unlock(&d->table_lock);
    }
    return status;
}

keel_status keel_rref_set_filter(keel_rref rref, keel_filter filter, void *state) {
    keel_domain *d;
    slot *s;
    keel_status status = lock_owned_slot(rref, &d, &s);
    if (status == KEEL_OK) {
        /* The state first: a caller that sees the filter sees its state. */
        rref_change_begin();
        atomic_store_explicit(&s->filter_state, state, memory_order_relaxed);
        atomic_store_explicit(&s->filter, filter, memory_order_release);
        rref_change_end();
        pthread_mutex_unlock(&d->table_lock);
    }
    return status;
}

void keel_domain_get_stats(const keel_domain *d, keel_domain_stats *out) {
    *out = (keel_domain_stats){
        .calls = keel_presence_calls_(d->id),
        .failures = atomic_load(&d->failures),
        .recoveries = atomic_load(&d->recoveries),
        .refused = atomic_load(&d->refused),
        .epoch = atomic_load(&d->epoch),
        .exported = d->exported,
    };
}
