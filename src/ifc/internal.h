/*
 * internal.h - information-flow control's state and the checks the domain
 * module makes at every crossing (call.c, box.c). Not installed.
 *
 * A principal's label, clearance and privileges are one record per domain id
 * (the host is id 0). Labels rise by atomic OR (secrecy) and AND (integrity),
 * so concurrent raises never lose a category; a check reads the two words
 * separately, which is safe because each only ever moves one way between
 * declassifications.
 *
 * Until the first category exists every label is public and every check
 * passes, so the checks are skipped behind one flag (`keel_ifc_active_`).
 */
#ifndef KEEL_IFC_INTERNAL_H
#define KEEL_IFC_INTERNAL_H

#include <stdatomic.h>

#include "keel/ifc.h"

#pragma GCC visibility push(hidden)

typedef struct ifc_principal {
    _Atomic keel_categories secrecy, integrity;             /* current label */
    _Atomic keel_categories clear_secrecy, clear_integrity; /* clearance */
    _Atomic keel_categories privileges;
} ifc_principal;

extern ifc_principal keel_ifc_principals_[KEEL_DOMAIN_MAX];
extern _Atomic bool keel_ifc_active_;
extern keel_ifc_mode keel_ifc_mode_;

static inline bool ifc_active(void) {
    return __builtin_expect(atomic_load_explicit(&keel_ifc_active_, memory_order_relaxed), 0);
}

static inline keel_label ifc_label(uint32_t id) {
    const ifc_principal *p = &keel_ifc_principals_[id];
    return (keel_label){atomic_load_explicit(&p->secrecy, memory_order_relaxed),
                        atomic_load_explicit(&p->integrity, memory_order_relaxed)};
}

static inline keel_label ifc_clearance(uint32_t id) {
    const ifc_principal *p = &keel_ifc_principals_[id];
    return (keel_label){atomic_load_explicit(&p->clear_secrecy, memory_order_relaxed),
                        atomic_load_explicit(&p->clear_integrity, memory_order_relaxed)};
}

/* Raises principal `id`'s label to include `by` (no check). */
static inline void ifc_raise(uint32_t id, keel_label by) {
    ifc_principal *p = &keel_ifc_principals_[id];
    if ((by.secrecy & ~atomic_load_explicit(&p->secrecy, memory_order_relaxed)) != 0) {
        atomic_fetch_or_explicit(&p->secrecy, by.secrecy, memory_order_relaxed);
    }
    if ((atomic_load_explicit(&p->integrity, memory_order_relaxed) & ~by.integrity) != 0) {
        atomic_fetch_and_explicit(&p->integrity, by.integrity, memory_order_relaxed);
    }
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
