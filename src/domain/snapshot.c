/*
 * snapshot.c - whole-domain snapshots, rollback as a recovery policy, and the
 * write tracking of incremental snapshots.
 *
 * The store is one anonymous mapping, made by keel_domain_snapshot_enable:
 *
 *   [struct domain_snapshot][extents][saved slots][dirty bitmap][mirror of the heap region]
 *
 * The mirror has the heap region's layout, page for page, so a byte at offset
 * o of the heap is saved at offset o of the mirror. A full snapshot copies the
 * ranges keel_heap_extents reports (the heap's bytes in use) and records them;
 * the rest of the mirror is never touched, so the mapping costs only what it
 * holds. Rollback copies the same ranges back.
 *
 * Incremental snapshots keep the heap read-only between snapshots. The first
 * write to a page faults; keel's SIGSEGV handler asks keel_domain_track_write_,
 * which sets the page's bit in the dirty bitmap and makes the page writable, and
 * the write goes ahead. The next snapshot copies the dirty pages to the mirror
 * and protects the heap again; a rollback copies them from the mirror. Both
 * cost the pages written, not the heap.
 *
 * Why this is in the domain module and not in ckpt: it reads the domain's
 * private state (its heap region, its table, its epoch), and the rollback runs
 * inside the recovery path; the domain module cannot call up into ckpt, and a
 * function pointer registered by ckpt would need the same private state
 * anyway. docs/architecture.md records the choice.
 */
#define _GNU_SOURCE /* REG_ERR: the page-fault error code in the signal context */
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "domain/internal.h"

/* Free payloads above EXTENT_GAP are not copied; the walk reads EXTENT_AHEAD
 * bytes behind the copy (keel_heap_extents), so memory is read once. */
enum { EXTENT_GAP = 256, EXTENT_AHEAD = 64 * 1024 };

typedef struct extent {
    size_t offset;
    size_t length;
    bool zero;
} extent;

typedef struct saved_slot {
    uint64_t generation;
    void *object;
    const keel_interface *interface;
    bool in_use;
} saved_slot;

struct domain_snapshot {
    unsigned char *mapping;
    size_t mapping_bytes;
    unsigned char *mirror;
    unsigned char *region; /* the heap's */
    size_t region_bytes;
    size_t page;
    size_t pages;
    extent *extents;
    size_t extent_count, extent_capacity;
    saved_slot *slots;
    _Atomic uint64_t *dirty; /* bit per heap page written since the last snapshot */
    size_t dirty_words;
    bool incremental;
    _Atomic bool armed; /* incremental, and a snapshot exists: writes are tracked */
    bool taken;
    _Atomic uint64_t snapshots, incrementals, rollbacks, write_faults;
    _Atomic size_t last_bytes, heap_in_use;
};

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Copies into the mirror with non-temporal stores: a snapshot is written now
 * and read only at a rollback, so it should not evict the domain's working set,
 * and streaming stores spare the read of each destination line. */
static void copy_to_mirror(unsigned char *to, const unsigned char *from, size_t n) {
#if defined(__SSE2__)
    if (n >= 256) {
        size_t head = (16 - ((uintptr_t)to & 15)) & 15;
        memcpy(to, from, head);
        to += head;
        from += head;
        n -= head;
        for (; n >= 64; n -= 64, to += 64, from += 64) {
            __m128i a = _mm_loadu_si128((const __m128i *)from);
            __m128i b = _mm_loadu_si128((const __m128i *)(from + 16));
            __m128i c = _mm_loadu_si128((const __m128i *)(from + 32));
            __m128i d = _mm_loadu_si128((const __m128i *)(from + 48));
            _mm_stream_si128((__m128i *)to, a);
            _mm_stream_si128((__m128i *)(to + 16), b);
            _mm_stream_si128((__m128i *)(to + 32), c);
            _mm_stream_si128((__m128i *)(to + 48), d);
        }
    }
#endif
    memcpy(to, from, n);
}

/* Orders the streaming stores before what follows (the snapshot is complete). */
static void mirror_fence(void) {
#if defined(__SSE2__)
    _mm_sfence();
#endif
}

static size_t round_up(size_t n, size_t to) {
    return (n + to - 1) / to * to;
}

/*
 * Host-side entries into a domain's private state (enable, snapshot, stats)
 * count themselves inside it first, exactly as a call does (call.c), and only
 * then check `live` and the state: a recovery (which resets the heap and its
 * lock and rolls back) and a destroy (which unmaps the snapshot store) wait
 * until nobody is inside, so neither can start under them. They leave through
 * keel_domain_leave_, so that if the domain failed meanwhile, the last thread
 * out (possibly this one) recovers it.
 */
static bool may_enter(const keel_domain *d) {
    return d != NULL && d->id != KEEL_HOST_DOMAIN && d->id < KEEL_DOMAIN_MAX &&
           d == &keel_domains_[d->id];
}

static void enter(keel_domain *d) {
    thread_state *t = &keel_thread_;
    if (t->record == NULL) {
        keel_thread_prepare_(t);
    }
    presence_enter(t, d->id);
}

/* Maps and lays out the store of a live domain (the caller is counted inside). */
static keel_status make_store(keel_domain *d, bool incremental, struct domain_snapshot **out) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t region = round_up(d->heap_bytes, page);
    size_t pages = region / page;
    /* Each extent but a few ends at a free block above EXTENT_GAP or at a
     * read-ahead window, and each may be followed by one that finishes a block. */
    size_t extent_capacity =
        2 * (d->heap_bytes / EXTENT_GAP) + 2 * (d->heap_bytes / EXTENT_AHEAD) + 16;
    size_t dirty_words = (pages + 63) / 64;
    size_t at = round_up(sizeof(struct domain_snapshot), 64);
    size_t extents_at = at;
    at = round_up(at + extent_capacity * sizeof(extent), 64);
    size_t slots_at = at;
    at = round_up(at + (size_t)d->config.table_capacity * sizeof(saved_slot), 64);
    size_t dirty_at = at;
    at = round_up(at + dirty_words * sizeof(uint64_t), page);
    size_t mirror_at = at;
    size_t bytes = at + region;
    unsigned char *mapping = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mapping == MAP_FAILED) {
        return KEEL_ESYSTEM;
    }
    struct domain_snapshot *s = (struct domain_snapshot *)mapping;
    s->mapping = mapping;
    s->mapping_bytes = bytes;
    s->mirror = mapping + mirror_at;
    s->region = d->heap_region;
    s->region_bytes = d->heap_bytes;
    s->page = page;
    s->pages = pages;
    s->extents = (extent *)(mapping + extents_at);
    s->extent_capacity = extent_capacity;
    s->slots = (saved_slot *)(mapping + slots_at);
    s->dirty = (_Atomic uint64_t *)(mapping + dirty_at);
    s->dirty_words = dirty_words;
    s->incremental = incremental;
    *out = s;
    return KEEL_OK;
}

keel_status keel_domain_snapshot_enable(keel_domain *d, bool incremental) {
    if (!may_enter(d)) {
        return KEEL_EINVAL;
    }
    enter(d);
    keel_status status = KEEL_OK;
    struct domain_snapshot *s = NULL;
    if (!atomic_load(&d->live) || (incremental && d->config.strict)) {
        status = KEEL_EINVAL;
    } else if (current_id() != KEEL_HOST_DOMAIN) {
        status = KEEL_EACCESS;
    } else if (atomic_load(&d->snapshot) != NULL) {
        status = KEEL_EBUSY;
    } else {
        status = make_store(d, incremental, &s);
    }
    /* Of two enables at once, one installs its store; the other unmaps its own. */
    struct domain_snapshot *none = NULL;
    if (status == KEEL_OK && !atomic_compare_exchange_strong(&d->snapshot, &none, s)) {
        munmap(s->mapping, s->mapping_bytes);
        status = KEEL_EBUSY;
    }
    keel_domain_leave_(d);
    return status;
}

void keel_domain_snapshot_release_(keel_domain *d) {
    struct domain_snapshot *s = atomic_exchange(&d->snapshot, NULL);
    if (s != NULL) {
        if (atomic_load(&s->armed)) {
            mprotect(s->region, s->region_bytes, PROT_READ | PROT_WRITE);
        }
        munmap(s->mapping, s->mapping_bytes);
    }
}

static void protect(struct domain_snapshot *s, int prot) {
    /* The region stays mapped while the domain lives: mprotect can only fail
     * for lack of kernel memory, and then tracking would miss writes; a
     * snapshot taken then is still right if it is full, so fall back to one. */
    if (mprotect(s->region, s->region_bytes, prot) != 0) {
        atomic_store(&s->armed, false);
    }
}

/* ---- full snapshots: the bytes in use ---- */

typedef struct copier {
    struct domain_snapshot *s;
    size_t bytes;
    bool overflow;
} copier;

static void save_extent(void *context, size_t offset, size_t length, bool zero) {
    copier *c = context;
    struct domain_snapshot *s = c->s;
    if (s->extent_count == s->extent_capacity) {
        c->overflow = true; /* cannot happen: see extent_capacity */
        return;
    }
    s->extents[s->extent_count++] = (extent){offset, length, zero};
    if (zero && s->incremental) {
        /* Incremental rollback copies whole pages from the mirror: these must
         * be zeros there too, whatever an earlier full snapshot left. */
        memset(s->mirror + offset, 0, length);
    } else if (!zero) {
        copy_to_mirror(s->mirror + offset, s->region + offset, length);
        c->bytes += length;
    }
}

static size_t save_full(struct domain_snapshot *s, keel_heap *heap) {
    copier c = {.s = s};
    s->extent_count = 0;
    keel_heap_extents(heap, EXTENT_GAP, EXTENT_AHEAD, save_extent, &c);
    if (c.overflow) { /* not expected (see extent_capacity); if so, the whole region */
        s->extents[0] = (extent){0, s->region_bytes, false};
        s->extent_count = 1;
        copy_to_mirror(s->mirror, s->region, s->region_bytes);
        return s->region_bytes;
    }
    return c.bytes;
}

/* ---- incremental snapshots: the pages written ---- */

/* Rollback writes the heap the domain is about to use: ordinary stores. */
static void copy_back(unsigned char *to, const unsigned char *from, size_t n) {
    memcpy(to, from, n);
}

/* Copies each page whose dirty bit is set from `from` to `to` and clears it. */
static size_t copy_dirty(struct domain_snapshot *s, unsigned char *to, const unsigned char *from,
                         void (*copy)(unsigned char *, const unsigned char *, size_t)) {
    size_t bytes = 0;
    for (size_t w = 0; w < s->dirty_words; w++) {
        uint64_t bits = atomic_exchange_explicit(&s->dirty[w], 0, memory_order_acq_rel);
        while (bits != 0) {
            size_t page = w * 64 + (size_t)__builtin_ctzll(bits);
            bits &= bits - 1;
            size_t offset = page * s->page;
            size_t length =
                offset + s->page <= s->region_bytes ? s->page : s->region_bytes - offset;
            copy(to + offset, from + offset, length);
            bytes += length;
        }
    }
    return bytes;
}

bool keel_domain_track_write_(const void *address, void *ucontext) {
#if defined(__x86_64__)
    /* The page-fault error code: bit 1 is set for a write. */
    const ucontext_t *uc = ucontext;
    if (uc != NULL && (uc->uc_mcontext.gregs[REG_ERR] & 2) == 0) {
        return false;
    }
#else
    (void)ucontext;
#endif
    keel_domain *d = keel_domain_owning_(address);
    struct domain_snapshot *s = d == NULL ? NULL : atomic_load(&d->snapshot);
    if (s == NULL || !atomic_load(&s->armed)) {
        return false;
    }
    size_t offset = (size_t)((uintptr_t)address - (uintptr_t)s->region);
    if (offset >= s->region_bytes) {
        return false;
    }
    size_t page = offset / s->page;
    atomic_fetch_or(&s->dirty[page / 64], (uint64_t)1 << (page % 64));
    atomic_fetch_add_explicit(&s->write_faults, 1, memory_order_relaxed);
    /* Two threads may fault on the same page at once: both make it writable. */
    return mprotect(s->region + page * s->page, s->page, PROT_READ | PROT_WRITE) == 0;
}

/* ---- the reference table ---- */

static void save_table(keel_domain *d, struct domain_snapshot *s) {
    for (unsigned i = 0; i < d->config.table_capacity; i++) {
        slot *t = &d->slots[i];
        s->slots[i] = (saved_slot){.generation = atomic_load(&t->generation),
                                   .object = atomic_load(&t->object),
                                   .interface = atomic_load(&t->interface),
                                   .in_use = t->in_use};
    }
}

/* Slots holding the generation they had at the snapshot come back, in the
 * current epoch, with their current filter; slots exported since are revoked. */
static void restore_table(keel_domain *d, const struct domain_snapshot *s) {
    pthread_mutex_lock(&d->table_lock);
    rref_change_begin();
    uint64_t epoch = atomic_load(&d->epoch);
    d->free_head = SLOT_NONE;
    d->exported = 0;
    for (unsigned i = d->config.table_capacity; i-- > 0;) {
        slot *t = &d->slots[i];
        const saved_slot *saved = &s->slots[i];
        if (t->in_use && saved->in_use && atomic_load(&t->generation) == saved->generation) {
            atomic_store_explicit(&t->object, saved->object, memory_order_relaxed);
            atomic_store_explicit(&t->interface, saved->interface, memory_order_relaxed);
            atomic_store_explicit(&t->epoch, epoch, memory_order_release);
            d->exported++;
            continue;
        }
        if (t->in_use) {
            atomic_store_explicit(&t->generation, keel_fresh_number_(), memory_order_release);
            t->in_use = false;
        }
        t->next_free = d->free_head;
        d->free_head = i;
    }
    rref_change_end();
    pthread_mutex_unlock(&d->table_lock);
}

/* ---- the public operations ---- */

/* The snapshot proper; the caller is counted inside `d`. */
static keel_status snapshot_inside(keel_domain *d) {
    if (!atomic_load(&d->live)) {
        return KEEL_EINVAL;
    }
    struct domain_snapshot *s = atomic_load(&d->snapshot);
    if (s == NULL) {
        return KEEL_EINVAL;
    }
    uint32_t caller = current_id();
    if (caller != d->id && caller != KEEL_HOST_DOMAIN) {
        return KEEL_EACCESS;
    }
    int state = atomic_load(&d->state);
    if (state != KEEL_DOMAIN_RUNNING) {
        return state == KEEL_DOMAIN_STOPPED ? KEEL_ESTOPPED : KEEL_ERECOVERING;
    }
    unsigned rights = keel_domain_admit_(d);
    pthread_mutex_lock(&d->heap.lock);
    pthread_mutex_lock(&d->table_lock);
    size_t bytes;
    bool incremental = s->incremental && s->taken && atomic_load(&s->armed);
    if (incremental) {
        /* Protect first, then collect: a page written after this faults again. */
        protect(s, PROT_READ);
        bytes = copy_dirty(s, s->mirror, s->region, copy_to_mirror);
    } else {
        bytes = save_full(s, d->heap.heap);
        if (s->incremental) {
            for (size_t w = 0; w < s->dirty_words; w++) {
                atomic_store(&s->dirty[w], 0);
            }
            atomic_store(&s->armed, true);
            protect(s, PROT_READ);
        }
    }
    mirror_fence();
    save_table(d, s);
    keel_heap_stats stats;
    keel_heap_get_stats(d->heap.heap, &stats);
    s->taken = true;
    pthread_mutex_unlock(&d->table_lock);
    pthread_mutex_unlock(&d->heap.lock);
    keel_domain_depart_(d, rights);
    atomic_fetch_add(&s->snapshots, 1);
    atomic_fetch_add(&s->incrementals, incremental ? 1u : 0u);
    atomic_store(&s->last_bytes, bytes);
    atomic_store(&s->heap_in_use, stats.in_use);
    return KEEL_OK;
}

keel_status keel_domain_snapshot(keel_domain *d) {
    if (!may_enter(d)) {
        return KEEL_EINVAL;
    }
    enter(d);
    keel_status status = snapshot_inside(d);
    keel_domain_leave_(d);
    return status;
}

bool keel_domain_rollback_(keel_domain *d) {
    struct domain_snapshot *s = atomic_load(&d->snapshot);
    if (s == NULL || !s->taken) {
        return false;
    }
    if (s->incremental && atomic_load(&s->armed)) {
        /* Writable while the written pages are copied back, then tracked again. */
        protect(s, PROT_READ | PROT_WRITE);
        copy_dirty(s, s->region, s->mirror, copy_back);
        atomic_store(&s->armed, true);
        protect(s, PROT_READ);
    } else {
        for (size_t i = 0; i < s->extent_count; i++) {
            const extent *e = &s->extents[i];
            if (e->zero) {
                memset(s->region + e->offset, 0, e->length);
            } else {
                memcpy(s->region + e->offset, s->mirror + e->offset, e->length);
            }
        }
    }
    /* The heap runs in the epoch it had at the snapshot, and so does every map
     * word put back: the next renew must start from that epoch. */
    d->heap_epoch = keel_heap_epoch(d->heap.heap);
    restore_table(d, s);
    atomic_fetch_add(&s->rollbacks, 1);
    return true;
}

void keel_domain_snapshot_get_stats(const keel_domain *domain, keel_domain_snapshot_stats *out) {
    memset(out, 0, sizeof *out);
    if (!may_enter(domain)) {
        return;
    }
    keel_domain *d = &keel_domains_[domain->id];
    enter(d); /* the store stays mapped until we leave */
    struct domain_snapshot *s = atomic_load(&d->live) ? atomic_load(&d->snapshot) : NULL;
    if (s == NULL) {
        keel_domain_leave_(d);
        return;
    }
    out->snapshots = atomic_load(&s->snapshots);
    out->incremental = atomic_load(&s->incrementals);
    out->rollbacks = atomic_load(&s->rollbacks);
    out->write_faults = atomic_load(&s->write_faults);
    out->last_bytes = atomic_load(&s->last_bytes);
    out->heap_in_use = atomic_load(&s->heap_in_use);
    keel_domain_leave_(d);
}
