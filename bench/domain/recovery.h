/*
 * recovery.h - what a failure inside a domain costs, in TSC cycles.
 *
 * A "victim" domain (a null filter with a 64 KiB heap, restarted on every
 * failure, its rref re-exported by its recovery function) is made to fail:
 *   - panic: its method calls keel_panic();
 *   - fault: its method writes through a null pointer (SIGSEGV).
 * keel recovers a domain in the failing call itself (the last thread out runs
 * the recovery), so when the caller holds the status the domain is already
 * recovered; the next call, timed separately, must succeed. Timestamps taken
 * inside the method and at the first and last line of the recovery function
 * split the failing call into unwind (plus heap renewal), recovery function and
 * return. Those inner stamps cost a TSC read each, so they are taken on every
 * other sample only, and the totals come from the samples without them.
 *
 * A second victim, its heap 64 MiB rather than 64 KiB, panics too: recovery
 * renews the heap in O(1), so the two should cost the same.
 *
 * For reference, without keel: raise(SIGUSR1) to a handler that returns, and a
 * null write to a SIGSEGV handler that siglongjmps out (the handler is swapped
 * in for those samples and keel's put back). All series are interleaved.
 */
#ifndef BENCH_DOMAIN_RECOVERY_H
#define BENCH_DOMAIN_RECOVERY_H

#include "results.h"

/* recovery_open: creates the victim domain, installs the SIGUSR1 handler and
 * warms up. Returns 0, or -1 if the victim cannot be created (said in r). */
int recovery_open(domain_results *r);

/* recovery_round: about `samples` more samples per series, into r->recovery;
 * surprises are counted in r->errors. */
void recovery_round(domain_results *r, size_t samples);

/* recovery_panics: creates the small victim alone (no signals: callgrind's
 * toggle does not survive them), makes it panic n times, each in the noinline
 * panic_once, untimed (for a profiler: profile.sh), and destroys it. 0, or -1
 * if it could not be created or a panic did not return KEEL_EPANIC with the
 * victim recovered. Instead of recovery_open, not with it. */
int recovery_panics(size_t n);

/* recovery_close: r->recoveries and r->failures; destroys the victim. */
void recovery_close(domain_results *r);

#endif /* BENCH_DOMAIN_RECOVERY_H */
