/*
 * internal.h - information-flow control's state and the checks the domain
 * module makes at every crossing (call.c, box.c). Not installed.
 *
 * A principal's label, clearance and privileges are one record per domain id
 * (the host is id 0), a cache line each. Labels rise by atomic OR (secrecy)
 * and AND (integrity), so concurrent raises never lose a category; a check
 * reads the two words separately, which is safe because each only ever moves
 * one way between declassifications.
 *
 * Until the first category exists every label is public and every check
 * passes, so the checks are skipped behind one flag (`keel_ifc_.active`).
 *
 * The label epoch and the call memo. Most calls repeat a check that passed a
 * moment ago: the same caller, from the same frame, calls the same callee,
 * whose labels are equal, and nothing has been relabelled since. Each thread
 * remembers such checks (keel_ifc_memo_), tagged with the label epoch: the
 * count of label and clearance writes begun (`keel_ifc_.labels`). Every write
 * to any principal's label or clearance goes through ifc_write_begin and
 * ifc_write_end (each raise, relabel, domain creation and system reset), so a
 * tag that still equals that count means no principal's label or clearance has
 * changed since the memo was filled; a call that finds its memo pays one
 * compare of the epoch and four of the key instead of the check. The argument
 * that this is sound, under concurrent writers, is core/changes.h's.
 * Privileges are not part of any memoized check and do not move the epoch.
 */
#ifndef KEEL_IFC_INTERNAL_H
#define KEEL_IFC_INTERNAL_H

#include <assert.h>
#include <stdatomic.h>

#include "core/changes.h"
#include "keel/ifc.h"

#pragma GCC visibility push(hidden)

typedef struct ifc_principal {
    _Atomic keel_categories secrecy, integrity;             /* current label */
    _Atomic keel_categories clear_secrecy, clear_integrity; /* clearance */
    _Atomic keel_categories privileges;
} __attribute__((aligned(64))) ifc_principal;

/* One cache line each: a raise of one domain's label never invalidates the
 * line another domain's checks read, and an id indexes with a shift. */
static_assert(sizeof(ifc_principal) == 64, "a principal is one cache line");

/* Read on every labelled call: one line, written only by label writes. */
typedef struct ifc_globals {
    _Atomic bool active; /* a category exists: labels may differ from public */
    changes labels;      /* label and clearance writes: its epoch is the label epoch */
} __attribute__((aligned(64))) ifc_globals;

extern ifc_principal keel_ifc_principals_[KEEL_DOMAIN_MAX];
extern ifc_globals keel_ifc_;
extern keel_ifc_mode keel_ifc_mode_;

static inline bool ifc_active(void) {
    return __builtin_expect(atomic_load_explicit(&keel_ifc_.active, memory_order_relaxed), 0);
}

/*
 * Label and clearance reads are acquire loads (plain loads on x86-64): a
 * thread that has seen a label written then also sees the epoch advanced by
 * its writer (ifc_write_begin precedes the release store of the label), so it
 * can never use a memo older than what it has seen.
 */
static inline keel_label ifc_label(uint32_t id) {
    const ifc_principal *p = &keel_ifc_principals_[id];
    return (keel_label){atomic_load_explicit(&p->secrecy, memory_order_acquire),
                        atomic_load_explicit(&p->integrity, memory_order_acquire)};
}

static inline keel_label ifc_clearance(uint32_t id) {
    const ifc_principal *p = &keel_ifc_principals_[id];
    return (keel_label){atomic_load_explicit(&p->clear_secrecy, memory_order_acquire),
                        atomic_load_explicit(&p->clear_integrity, memory_order_acquire)};
}

/* Brackets every write of a principal's label or clearance. The counters are
 * never reset (not even by a system shutdown), so an epoch never repeats. */
static inline void ifc_write_begin(void) {
    changes_begin(&keel_ifc_.labels);
}

static inline void ifc_write_end(void) {
    changes_end(&keel_ifc_.labels);
}

/* Raises principal `id`'s label to include `by` (no check); the common case,
 * nothing to add, writes nothing and leaves the epoch alone. */
static inline void ifc_raise(uint32_t id, keel_label by) {
    ifc_principal *p = &keel_ifc_principals_[id];
    keel_categories secrecy = atomic_load_explicit(&p->secrecy, memory_order_acquire);
    keel_categories integrity = atomic_load_explicit(&p->integrity, memory_order_acquire);
    if (__builtin_expect(((by.secrecy & ~secrecy) | (integrity & ~by.integrity)) != 0, 0)) {
        ifc_write_begin();
        atomic_fetch_or_explicit(&p->secrecy, by.secrecy, memory_order_release);
        atomic_fetch_and_explicit(&p->integrity, by.integrity, memory_order_release);
        ifc_write_end();
    }
}

/*
 * The call memo: per thread, a few entries indexed by the callee's id. An
 * entry says that at label epoch `epoch`, a call by `caller` from a frame
 * bounded by `frame_bound` (KEEL_LABEL_TOP for the host outside any call) into
 * `callee` passed every check with nothing to raise (caller and callee labels
 * equal), and that the callee's frame gets `bound`. An entry with epoch 0 is
 * empty (the epoch starts at 1).
 */
typedef struct ifc_memo {
    uint64_t epoch;
    uint32_t caller, callee;
    keel_label frame_bound;
    keel_label bound;
} __attribute__((aligned(64))) ifc_memo;

#define IFC_MEMO_ENTRIES 4u

extern __thread ifc_memo keel_ifc_memo_[IFC_MEMO_ENTRIES]
    __attribute__((tls_model("initial-exec")));

/* The label epoch at which a check may be memoized, read before its labels,
 * and whether it still holds after them (core/changes.h). */
static inline uint64_t ifc_snapshot_begin(void) {
    return changes_snapshot(&keel_ifc_.labels);
}

static inline bool ifc_snapshot_valid(uint64_t epoch) {
    return changes_valid(&keel_ifc_.labels, epoch);
}

/* The current label epoch, for a memo's lookup. */
static inline uint64_t ifc_epoch(void) {
    return changes_epoch(&keel_ifc_.labels);
}

/*
 * Records, counts and reports a refusal: `status` with the data's `label`, the
 * `bound` it had to fit, and the place (printf format). Returns `status` in
 * enforce mode, KEEL_OK in audit mode (the operation goes ahead).
 */
keel_status keel_ifc_refuse_(keel_status status, uint32_t who, keel_label label, keel_label bound,
                             const char *format, ...) __attribute__((format(printf, 5, 6)));

/* Counts a relabel that used a privilege. */
void keel_ifc_count_declassified_(void);

/* The name of principal `id` for reports ("host" for the host). */
const char *keel_ifc_principal_name_(uint32_t id);

/* Domain lifecycle (domain.c): a domain's record at create; the host's and the
 * categories at system init and shutdown. */
void keel_ifc_domain_created_(uint32_t id, keel_label label, keel_label clearance);
void keel_ifc_system_reset_(void);

/* Privilege rule for changing a label from `from` to `to`: every secrecy
 * category removed and every integrity category added must be privileged. */
static inline keel_categories ifc_needs_privilege(keel_label from, keel_label to) {
    return (from.secrecy & ~to.secrecy) | (to.integrity & ~from.integrity);
}

#pragma GCC visibility pop

#endif /* KEEL_IFC_INTERNAL_H */
