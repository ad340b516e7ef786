/*
 * pkey.c - strict mode with memory protection keys (x86-64 PKU).
 *
 * Where the processor and the kernel support protection keys, each strict
 * domain's heap gets a key of its own (pkey_alloc, pkey_mprotect). Whether a
 * thread may touch memory tagged with a key is decided by that thread's PKRU
 * register, which user code reads with RDPKRU and writes with WRPKRU: no
 * system call, no lock, nothing shared between threads. keel keeps every
 * thread's PKRU such that, of the keys keel holds, exactly the key of the
 * innermost domain the thread runs in is enabled (none in the host, none in a
 * domain without a key). The bits of keys keel does not hold are left as the
 * program set them.
 *
 * keel_pkey_open_ is the thread's key: the one its PKRU enables. A switch
 * writes PKRU from it; admission (strict.c, internal.h) switches to the
 * callee's key and returns the caller's, which departure switches back to, so
 * nested calls restore the enclosing domain's rights exactly. The saved key
 * lives in the admitting function's frame, so nothing here grows with the
 * nesting depth.
 *
 * Signals. Linux runs a signal handler with PKRU at its init value (every key
 * but 0 access-disabled: /sys/kernel/debug/x86/init_pkru), whatever the
 * interrupted code had, and restores the interrupted value from the signal
 * frame at sigreturn. keel's fault handler needs no key (its alternate stack,
 * the thread's state and the registry are untagged memory); but a contained
 * fault leaves the handler by unwinding, not by sigreturn, so it first
 * restores the interrupted PKRU from the frame's XSAVE image
 * (keel_pkey_restore_interrupted_), and the unwind then re-asserts the keel
 * keys of the frame it resumes in (keel_pkey_resume_).
 *
 * Threads. A new thread inherits its creator's PKRU. keel_pkey_open_ of a new
 * thread is 0, and its first admission or departure recomputes its PKRU from
 * that; until then a thread created inside a strict domain can reach that
 * domain's heap (docs/domains.md).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include "domain/internal.h"

enum { PKEY_COUNT = 16 };

__thread unsigned keel_pkey_open_ __attribute__((tls_model("initial-exec")));

static bool supported;
/* The access-disable bits (2k) of every key keel holds. */
static _Atomic uint32_t held_mask;
/* Which domain holds each key (NULL for none): the fault handler's lookup. */
static keel_domain *_Atomic owners[PKEY_COUNT];
/* Where PKRU sits in a standard-format XSAVE area (0: unknown). */
static uint32_t pkru_offset;

#if defined(__x86_64__)

static inline uint32_t rdpkru(void) {
    uint32_t eax, edx;
    __asm__ volatile(".byte 0x0f, 0x01, 0xee" : "=a"(eax), "=d"(edx) : "c"(0));
    return eax;
}

/* The memory clobber keeps every access to a heap on its side of the switch. */
static inline void wrpkru(uint32_t value) {
    __asm__ volatile(".byte 0x0f, 0x01, 0xef" : : "a"(value), "c"(0), "d"(0) : "memory");
}

/* CPUID.(EAX=7,ECX=0):ECX bit 4 (OSPKE): the processor has PKU and the kernel
 * has turned it on (CR4.PKE), so RDPKRU and WRPKRU do not fault. */
static bool cpu_has_ospke(void) {
    unsigned a, b, c, d;
    if (__get_cpuid_max(0, NULL) < 7) {
        return false;
    }
    __cpuid_count(7, 0, a, b, c, d);
    return (c & (1u << 4)) != 0;
}

static uint32_t find_pkru_offset(void) {
    unsigned a, b, c, d;
    if (__get_cpuid_max(0, NULL) < 0xD) {
        return 0;
    }
    __cpuid_count(0xD, 9, a, b, c, d); /* state component 9: PKRU */
    return a >= 4 ? b : 0;
}

#else

static inline uint32_t rdpkru(void) {
    return 0;
}
static inline void wrpkru(uint32_t value) {
    (void)value;
}
static bool cpu_has_ospke(void) {
    return false;
}
static uint32_t find_pkru_offset(void) {
    return 0;
}

#endif

/* PKRU with every keel key disabled but `key` (0: none); other keys' bits as
 * the thread has them. */
static inline uint32_t rights_for(unsigned key) {
    uint32_t value = rdpkru() | atomic_load_explicit(&held_mask, memory_order_relaxed);
    if (key != 0) {
        value &= ~(3u << (2 * key));
    }
    return value;
}

void keel_pkey_init_(void) {
    supported = false;
    const char *off = getenv("KEEL_NO_PKEYS");
    if ((off != NULL && off[0] != '\0' && off[0] != '0') || !cpu_has_ospke()) {
        return;
    }
    /* The kernel must hand out keys too (it may be built without them). */
    int probe = pkey_alloc(0, PKEY_DISABLE_ACCESS);
    if (probe < 0) {
        return;
    }
    pkey_free(probe);
    pkru_offset = find_pkru_offset();
    supported = true;
}

bool keel_pkey_supported_(void) {
    return supported;
}

unsigned keel_pkey_switch_(unsigned key) {
    unsigned previous = keel_pkey_open_;
    keel_pkey_open_ = key;
    wrpkru(rights_for(key));
    return previous;
}

void keel_pkey_resume_(void) {
    if (supported) {
        wrpkru(rights_for(keel_pkey_open_));
    }
}

bool keel_pkey_attach_(keel_domain *d) {
    d->pkey = 0;
    if (!supported) {
        return false;
    }
    /* Disabled in the calling thread from the start; other threads have it
     * disabled already (the kernel's init value, or keel's own switches). */
    int key = pkey_alloc(0, PKEY_DISABLE_ACCESS);
    if (key <= 0 || key >= PKEY_COUNT) {
        if (key > 0) {
            pkey_free(key);
        }
        return false; /* out of keys: this domain uses mprotect */
    }
    atomic_fetch_or(&held_mask, 1u << (2 * (unsigned)key));
    if (pkey_mprotect(d->heap_region, d->heap_bytes, PROT_READ | PROT_WRITE, key) != 0) {
        atomic_fetch_and(&held_mask, ~(1u << (2 * (unsigned)key)));
        pkey_free(key);
        return false;
    }
    atomic_store(&owners[key], d);
    d->pkey = (unsigned)key;
    return true;
}

void keel_pkey_detach_(keel_domain *d) {
    if (d->pkey == 0) {
        return;
    }
    /* The heap is unmapped by now: nothing carries the key any more. */
    unsigned key = d->pkey;
    d->pkey = 0;
    atomic_store(&owners[key], NULL);
    atomic_fetch_and(&held_mask, ~(1u << (2 * key)));
    pkey_free((int)key);
}

keel_domain *keel_pkey_owner_(int key) {
    if (key <= 0 || key >= PKEY_COUNT) {
        return NULL;
    }
    return atomic_load_explicit(&owners[key], memory_order_acquire);
}

unsigned keel_pkey_held_(void) {
    return (unsigned)__builtin_popcount(atomic_load(&held_mask));
}

/*
 * The PKRU the interrupted code ran with, from the signal frame: the
 * fxsave area's software-reserved bytes say whether an XSAVE image follows and
 * with which features; the image's XSTATE_BV says whether PKRU was in its init
 * state (0) or stored at its CPUID-given offset. Async-signal-safe.
 */
void keel_pkey_restore_interrupted_(const void *ucontext) {
    if (!supported) {
        return;
    }
#if defined(__x86_64__)
    const ucontext_t *uc = ucontext;
    if (uc == NULL || uc->uc_mcontext.fpregs == NULL || pkru_offset == 0) {
        return;
    }
    const unsigned char *area = (const unsigned char *)uc->uc_mcontext.fpregs;
    enum { SW_BYTES = 464, XSAVE_HEADER = 512, PKRU_FEATURE = 9 };
    const uint32_t magic1 = 0x46505853u; /* FP_XSTATE_MAGIC1 */
    uint32_t magic, xstate_size;
    uint64_t xfeatures, xstate_bv;
    memcpy(&magic, area + SW_BYTES, sizeof magic);
    memcpy(&xfeatures, area + SW_BYTES + 8, sizeof xfeatures);
    memcpy(&xstate_size, area + SW_BYTES + 16, sizeof xstate_size);
    if (magic != magic1 || (xfeatures & (1u << PKRU_FEATURE)) == 0 ||
        pkru_offset + 4 > xstate_size) {
        return;
    }
    memcpy(&xstate_bv, area + XSAVE_HEADER, sizeof xstate_bv);
    uint32_t value = 0; /* PKRU's init state */
    if ((xstate_bv & (1u << PKRU_FEATURE)) != 0) {
        memcpy(&value, area + pkru_offset, sizeof value);
    }
    wrpkru(value);
#else
    (void)ucontext;
#endif
}
