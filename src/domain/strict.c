/*
 * strict.c - strict mode: a domain's heap is accessible only while a validated
 * thread is inside it.
 *
 * In strict mode the heap is mapped PROT_NONE whenever no admitted thread is
 * inside, so a wild access from the host or from another domain faults, and is
 * contained and attributed to the domain that made it (or, from the host,
 * crashes the host as it should). The first thread admitted maps the heap
 * read-write, the last one to depart maps it back to PROT_NONE, both under the
 * domain's protect lock so that the mprotect calls cannot interleave. Recovery
 * is admitted like a call while it resets the heap. The protection is
 * process-wide: while any thread is inside a strict domain, every thread can
 * reach its heap (docs/domains.md).
 */
#include <sys/mman.h>

#include "domain/internal.h"

static void protect(keel_domain *d, int prot) {
    /* The region was mapped by keel_domain_create and stays mapped: mprotect
     * can only fail here for lack of kernel memory, and then the heap stays as
     * accessible as it was, which weakens strict mode but breaks nothing. */
    (void)mprotect(d->heap_region, d->heap_bytes, prot);
}

void keel_domain_protect_admit_(keel_domain *d) {
    pthread_mutex_lock(&d->protect_lock);
    if (d->admitted++ == 0) {
        protect(d, PROT_READ | PROT_WRITE);
    }
    pthread_mutex_unlock(&d->protect_lock);
}

void keel_domain_protect_depart_(keel_domain *d) {
    pthread_mutex_lock(&d->protect_lock);
    if (--d->admitted == 0) {
        protect(d, PROT_NONE);
    }
    pthread_mutex_unlock(&d->protect_lock);
}

keel_domain *keel_domain_owning_(const void *address) {
    uintptr_t a = (uintptr_t)address;
    for (unsigned i = 1; i < KEEL_DOMAIN_MAX; i++) {
        keel_domain *d = &keel_domains_[i];
        if (atomic_load_explicit(&d->live, memory_order_acquire) &&
            a - (uintptr_t)d->heap_region < d->heap_bytes) {
            return d;
        }
    }
    return NULL;
}
