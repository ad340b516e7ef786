/*
 * strict.c - strict mode: a domain's heap is accessible only while a validated
 * thread is inside it.
 *
 * Two mechanisms, chosen per domain at create (keel_domain_strict_mode says
 * which one a domain got):
 *
 * Protection keys (pkey.c), where the processor and kernel have them and a key
 * is left (15 at most per process): the heap carries the domain's key, and a
 * thread's own PKRU enables it while that thread runs inside the domain, and
 * only then. Admission and departure are one WRPKRU each: no system call, no
 * lock, nothing shared, and the protection is per thread.
 *
 * mprotect, everywhere else: the heap is mapped PROT_NONE whenever no admitted
 * thread is inside, so a wild access from the host or from another domain
 * faults, and is contained and attributed to the domain that made it (or, from
 * the host, crashes the host as it should). The first thread admitted maps the
 * heap read-write, the last one to depart maps it back to PROT_NONE, both under
 * the domain's protect lock so that the mprotect calls cannot interleave. The
 * protection is process-wide: while any thread is inside a strict domain, every
 * thread can reach its heap (docs/domains.md).
 *
 * Recovery is admitted like a call while it resets the heap, and so is a
 * snapshot while it copies it.
 */
#include <sys/mman.h>

#include "domain/internal.h"

static void protect(keel_domain *d, int prot) {
    /* The region was mapped by keel_domain_create and stays mapped: mprotect
     * can only fail here for lack of kernel memory, and then the heap stays as
     * accessible as it was, which weakens strict mode but breaks nothing. */
    (void)mprotect(d->heap_region, d->heap_bytes, prot);
}

unsigned keel_domain_protect_admit_(keel_domain *d) {
    if (d->pkey != 0) {
        return keel_pkey_switch_(d->pkey);
    }
    /* A caller's key is not the callee's to use. */
    unsigned saved = keel_pkey_open_ != 0 ? keel_pkey_switch_(0) : 0;
    pthread_mutex_lock(&d->protect_lock);
    if (d->admitted++ == 0) {
        protect(d, PROT_READ | PROT_WRITE);
    }
    pthread_mutex_unlock(&d->protect_lock);
    return saved;
}

void keel_domain_protect_depart_(keel_domain *d, unsigned saved) {
    if (d->pkey != 0) {
        keel_pkey_switch_(saved);
        return;
    }
    pthread_mutex_lock(&d->protect_lock);
    if (--d->admitted == 0) {
        protect(d, PROT_NONE);
    }
    pthread_mutex_unlock(&d->protect_lock);
    if (saved != 0) {
        keel_pkey_switch_(saved);
    }
}

/* Chosen at create: a key if one was free, else mprotect. */
bool keel_domain_protect_init_(keel_domain *d) {
    if (keel_pkey_attach_(d)) {
        return true;
    }
    return mprotect(d->heap_region, d->heap_bytes, PROT_NONE) == 0;
}

keel_strict_mode keel_domain_strict_mode(const keel_domain *d) {
    if (d == NULL || !d->config.strict) {
        return KEEL_STRICT_OFF;
    }
    return d->pkey != 0 ? KEEL_STRICT_PKEY : KEEL_STRICT_MPROTECT;
}

bool keel_domain_pkeys_supported(void) {
    return keel_pkey_supported_();
}

const char *keel_strict_mode_name(keel_strict_mode mode) {
    switch (mode) {
    case KEEL_STRICT_OFF:
        return "off";
    case KEEL_STRICT_MPROTECT:
        return "mprotect";
    case KEEL_STRICT_PKEY:
        return "protection key";
    }
    return "unknown";
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
