/*
 * fault.c - hardware faults inside domains.
 *
 * keel installs one handler for SIGSEGV, SIGBUS, SIGFPE and SIGILL, on an
 * alternate stack (so a stack overflow inside a domain is contained too) and
 * with SA_NODEFER (so leaving the handler by siglongjmp leaves the signal
 * unblocked, and the same thread can fault again and again). If the thread is
 * inside a domain, the fault is recorded and the thread unwinds to the entry of
 * its innermost call. Otherwise the fault is the host's: it goes to the handler
 * the host had installed before keel, or to the default action.
 */
#include <signal.h>
#include <string.h>

#include "core/text.h"
#include "domain/internal.h"

enum { ALTSTACK_SIZE = 32 * 1024 };

static const int contained[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL};
enum { CONTAINED = sizeof contained / sizeof contained[0] };
static struct sigaction previous[CONTAINED];
static __thread unsigned char altstack[ALTSTACK_SIZE] __attribute__((aligned(16)));

static const char *describe(int signal, int code) {
    switch (signal) {
    case SIGSEGV:
        return code == SEGV_PKUERR ? "SIGSEGV (protection key fault)"
                                   : "SIGSEGV (invalid memory access)";
    case SIGBUS:
        return "SIGBUS (bus error)";
    case SIGFPE:
        return "SIGFPE (arithmetic fault)";
    case SIGILL:
        return "SIGILL (illegal instruction)";
    default:
        return "signal";
    }
}

/* Records a contained hardware fault in the thread's failure record
 * (async-signal-safe: no stdio, no allocation). */
static void record_fault(uint32_t domain, const siginfo_t *info) {
    int signal = info->si_signo;
    const void *address = info->si_addr;
    keel_failure *f = &keel_thread_.failure;
    f->kind = KEEL_FAILURE_SIGNAL;
    f->domain = domain;
    f->signal = signal;
    f->address = address;
    char *m = f->message;
    size_t cap = sizeof f->message;
    size_t at = keel_text_append_(m, 0, cap, describe(signal, info->si_code));
    if (signal == SIGSEGV || signal == SIGBUS) {
        at = keel_text_append_(m, at, cap, " at ");
        at = keel_text_append_hex_(m, at, cap, (uintptr_t)address);
        /* A protection-key fault names the key: its holder is the victim. */
        keel_domain *victim = signal == SIGSEGV && info->si_code == SEGV_PKUERR
                                  ? keel_pkey_owner_((int)info->si_pkey)
                                  : NULL;
        if (victim == NULL) {
            victim = keel_domain_owning_(address);
        }
        if (victim != NULL) { /* a wild access into a strict domain's heap */
            at = keel_text_append_(m, at, cap, " (heap of domain '");
            at = keel_text_append_(m, at, cap, victim->name);
            keel_text_append_(m, at, cap, "')");
        }
    }
}

static int slot_of(int signal) {
    for (int i = 0; i < CONTAINED; i++) {
        if (contained[i] == signal) {
            return i;
        }
    }
    return -1;
}

/* A fault outside every domain: exactly what would happen without keel. */
static void chain(int signal, siginfo_t *info, void *context) {
    int i = slot_of(signal);
    const struct sigaction *p = &previous[i];
    if ((p->sa_flags & SA_SIGINFO) != 0 && p->sa_sigaction != NULL) {
        p->sa_sigaction(signal, info, context);
        return;
    }
    if ((p->sa_flags & SA_SIGINFO) == 0 && p->sa_handler != SIG_DFL && p->sa_handler != SIG_IGN) {
        p->sa_handler(signal);
        return;
    }
    /* Default action: reinstate it and return; the faulting instruction runs
     * again and the kernel applies it (a core dump, as without keel). */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(signal, &dfl, NULL);
    if (info->si_code <= 0) { /* sent by kill/raise, not by a faulting instruction */
        raise(signal);
    }
}

static void on_fault(int signal, siginfo_t *info, void *context) {
    /* Incremental snapshots (snapshot.c): a first write to a tracked page is
     * recorded and let through; it is no failure. */
    if (signal == SIGSEGV && info->si_code == SEGV_ACCERR &&
        keel_domain_track_write_(info->si_addr, context)) {
        return;
    }
    call_frame *frame = keel_thread_.frame;
    if (frame == NULL) {
        chain(signal, info, context);
        return;
    }
    record_fault(frame->domain->id, info);
    frame->failure = KEEL_EFAULT;
    /* The handler runs with the kernel's init PKRU; leaving it by an unwind
     * rather than sigreturn, put back what the interrupted code had (the
     * unwind then re-asserts the keel key of the frame it resumes in). */
    keel_pkey_restore_interrupted_(context);
    keel_unwind_(frame);
}

keel_status keel_fault_install_(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_fault;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    for (int i = 0; i < CONTAINED; i++) {
        if (sigaction(contained[i], &action, &previous[i]) != 0) {
            while (i-- > 0) {
                sigaction(contained[i], &previous[i], NULL);
            }
            return KEEL_ESYSTEM;
        }
    }
    return KEEL_OK;
}

void keel_fault_restore_(void) {
    for (int i = 0; i < CONTAINED; i++) {
        sigaction(contained[i], &previous[i], NULL);
    }
}

/* Gives the thread an alternate signal stack, unless the host gave it one. */
void keel_fault_prepare_thread_(void) {
    stack_t current;
    if (sigaltstack(NULL, &current) == 0 && (current.ss_flags & SS_DISABLE) != 0) {
        stack_t stack = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
        sigaltstack(&stack, NULL);
    }
}
