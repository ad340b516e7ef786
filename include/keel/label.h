/*
 * keel/label.h - information-flow labels: the lattice, in O(1).
 *
 * A label is a pair of category sets. Secrecy lists who may learn the data
 * (every category in it restricts the readers further); integrity lists who
 * vouches for it (every category in it is a guarantee the data carries). Data
 * labelled `from` may flow to a holder or sink labelled `to` when `to` keeps
 * at least its secrets and asks for no guarantee the data lacks:
 *
 *   from can flow to to  <=>  from.secrecy   is a subset of to.secrecy
 *                        and  from.integrity is a superset of to.integrity
 *
 * Combining data joins labels: secrets add up, guarantees shrink to those both
 * carry. Categories are numbered 0..63 and created with keel_ifc_category_create
 * (keel/ifc.h); a set is one bit per category, so every operation here is a few
 * instructions. The all-zero label is public data that guarantees nothing: a
 * program that creates no category never sees a check fail.
 */
#ifndef KEEL_LABEL_H
#define KEEL_LABEL_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A set of categories: bit c is category c. */
typedef uint64_t keel_categories;

/* How many categories can exist, and the set of one. */
#define KEEL_CATEGORY_MAX 64u
#define KEEL_CATEGORY(c)  ((keel_categories)1 << (c))

typedef struct keel_label {
    keel_categories secrecy;   /* categories whose secrets the data may carry */
    keel_categories integrity; /* categories that vouch for the data */
} keel_label;

/* Public data vouched for by nobody: the label of everything by default. */
#define KEEL_LABEL_PUBLIC ((keel_label){0, 0})
/* As a clearance: may learn every secret, needs no guarantee. */
#define KEEL_LABEL_TOP    ((keel_label){~(keel_categories)0, 0})

/* keel_label_flows: may data labelled `from` reach a holder labelled `to`? O(1). */
static inline bool keel_label_flows(keel_label from, keel_label to) {
    return (from.secrecy & ~to.secrecy) == 0 && (to.integrity & ~from.integrity) == 0;
}

/* keel_label_join: the label of data combined from both. O(1). */
static inline keel_label keel_label_join(keel_label a, keel_label b) {
    return (keel_label){a.secrecy | b.secrecy, a.integrity & b.integrity};
}

/* keel_label_meet: the most either may receive, as a bound for both. O(1). */
static inline keel_label keel_label_meet(keel_label a, keel_label b) {
    return (keel_label){a.secrecy & b.secrecy, a.integrity | b.integrity};
}

static inline bool keel_label_equal(keel_label a, keel_label b) {
    return a.secrecy == b.secrecy && a.integrity == b.integrity;
}

#ifdef __cplusplus
}
#endif

#endif /* KEEL_LABEL_H */
