/*
 * strict.c - entering and leaving a domain, and strict mode.
 *
 * Every call counts itself in the domain's `inside`. In strict mode the domain's
 * heap is mapped PROT_NONE whenever that count is 0, so a wild access from the
 * host or from another domain faults, and is contained and attributed to the
 * domain that made it (or, from the host, crashes the host as it should). The
 * first thread in maps the heap read-write, the last one out maps it back to
 * PROT_NONE; the transitions take the domain's protect lock so that they cannot
 * interleave. The protection is process-wide: while any thread is inside a
 * strict domain, every thread can reach its heap (docs/domains.md).
 */
#include <sys/mman.h>

#include "domain/internal.h"

static void protect(keel_domain *d, int prot) {
    /* The region was mapped by keel_domain_create and stays mapped: mprotect
     * can only fail here for lack of kernel memory, and then the heap stays as
     * accessible as it was, which weakens strict mode but breaks nothing. */
    (void)mprotect(d->heap_region, d->heap_bytes, prot);
}

void keel_domain_enter_(keel_domain *d) {
    if (!d->config.strict) {
        atomic_fetch_add(&d->inside, 1);
        return;
    }
    pthread_mutex_lock(&d->protect_lock);
    if (atomic_fetch_add(&d->inside, 1) == 0) {
        protect(d, PROT_READ | PROT_WRITE);
    }
    pthread_mutex_unlock(&d->protect_lock);
}

uint32_t keel_domain_exit_(keel_domain *d) {
    if (!d->config.strict) {
        return atomic_fetch_sub(&d->inside, 1) - 1;
    }
    pthread_mutex_lock(&d->protect_lock);
    uint32_t left = atomic_fetch_sub(&d->inside, 1) - 1;
    if (left == 0) {
        protect(d, PROT_NONE);
    }
    pthread_mutex_unlock(&d->protect_lock);
    return left;
}

void keel_domain_unprotect_(keel_domain *d) {
    if (d->config.strict) {
        pthread_mutex_lock(&d->protect_lock);
        protect(d, PROT_READ | PROT_WRITE);
        pthread_mutex_unlock(&d->protect_lock);
    }
}

keel_domain *keel_domain_owning_(const void *address) {
    uintptr_t a = (uintptr_t)address;
    for (unsigned i = 1; i < KEEL_DOMAIN_MAX; i++) {
        keel_domain *d = atomic_load_explicit(&keel_registry_[i], memory_order_acquire);
        if (d != NULL && a - (uintptr_t)d->heap_region < d->heap_bytes) {
            return d;
        }
    }
    return NULL;
}
