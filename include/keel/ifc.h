/*
 * keel/ifc.h - information-flow control: labels on domains, boxes and sinks,
 * enforced where data crosses a boundary.
 *
 * The model (docs/ifc.md). Every principal (each domain, and the host) has a
 * current label, which says what it may have learned, and a clearance, the
 * most it may ever learn. Every box has a label, the label of the data it
 * holds. Data reaches a principal only through keel, and keel checks each
 * crossing against the lattice of keel/label.h:
 *
 *   - a box moved or lent into a call, or given back to the caller, must fit
 *     the receiver's clearance (KEEL_ECLEARANCE otherwise; the box stays where
 *     it was);
 *   - opening a box (keel_box_data) raises the opener's label by the box's, and
 *     the box's label by the opener's (it may write what it knows into it);
 *     holding a box and passing it on raises nothing, so a component can route
 *     data it never reads (a store, a queue) without becoming secret itself;
 *   - a call carries the caller's label to the callee (its argument) and, when
 *     it ends, the callee's label back to the caller (its result and status):
 *     both must fit the receiver's clearance, checked before the callee runs;
 *   - a sink (an output channel) accepts a write only if the writer's label,
 *     joined with the box's for a box, can flow to the sink's bound (KEEL_EFLOW);
 *   - lowering a label (declassifying a secrecy category, or vouching for data
 *     with an integrity category) needs the privilege for that category, which
 *     keel keeps per principal: never a value a handle could forge
 *     (KEEL_EPRIVILEGE).
 *
 * Every refusal is counted, recorded for the refusing thread with the label,
 * the bound and the place (keel_ifc_last_refusal), and passed to the reporter
 * (by default one line on stderr). Nothing is written or moved by a refused
 * operation.
 *
 * What it does not stop: code inside a domain is C, and a domain's memory is
 * reachable from any code in the process outside strict mode; timing and
 * termination channels; the host, which is trusted to set things up (it
 * creates categories and sinks and grants privileges). docs/ifc.md lists them.
 *
 * Thread safety: every function may be called from any thread unless its
 * comment says otherwise. Labels only rise between declassifications; a raise
 * by one thread is an atomic OR (secrecy) and AND (integrity).
 */
#ifndef KEEL_IFC_H
#define KEEL_IFC_H

#include <stddef.h>
#include <stdint.h>

#include "keel/domain.h"
#include "keel/label.h"
#include "keel/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- categories and privileges ---- */

/*
 * keel_ifc_category_create: a new category named `name` (copied, up to 23
 * bytes); the calling principal (domain or host) receives its privilege.
 * KEEL_EINVAL (NULL or empty name, or a name already in use), KEEL_EFULL (all
 * KEEL_CATEGORY_MAX exist). O(KEEL_CATEGORY_MAX) to compare names. Thread-safe.
 */
KEEL_API keel_status keel_ifc_category_create(const char *name, unsigned *out);

/* The name of category `c`, or NULL if it does not exist. Never fails. O(1). */
KEEL_API const char *keel_ifc_category_name(unsigned c);

/*
 * keel_ifc_grant: gives the principal `domain_id` the privileges `categories`,
 * which the calling principal must hold itself. KEEL_EPRIVILEGE if it does not
 * hold them all (nothing is granted), KEEL_EINVAL for an id that names no
 * live domain (or the host), or a category that does not exist. O(1).
 */
KEEL_API keel_status keel_ifc_grant(uint32_t domain_id, keel_categories categories);

/* keel_ifc_drop: the calling principal gives up privileges (those it does not
 * hold are ignored). Never fails. O(1), one atomic AND. */
KEEL_API void keel_ifc_drop(keel_categories categories);

/* A principal's current label, clearance and privileges (the host's is
 * KEEL_HOST_DOMAIN). Never fail: public zeros for an id that names no live
 * domain. O(1); the label's two sets are read separately, each only ever
 * moving one way between declassifications. */
KEEL_API keel_label keel_ifc_label(uint32_t domain_id);
KEEL_API keel_label keel_ifc_clearance(uint32_t domain_id);
KEEL_API keel_categories keel_ifc_privileges(uint32_t domain_id);

/*
 * keel_ifc_relabel_self: sets the calling principal's current label to `to`.
 * Raising (adding secrecy, dropping integrity) needs no privilege but must
 * stay within the clearance, and within the clearance of the callers waiting
 * on this call (KEEL_ECLEARANCE); removing a secrecy category or adding an
 * integrity category needs its privilege (KEEL_EPRIVILEGE). O(1).
 */
KEEL_API keel_status keel_ifc_relabel_self(keel_label to);

/* ---- boxes ---- */

/* keel_box_label: a box's label, for whoever may access it (the owner, or the
 * call it is lent to); reading a label raises nothing: labels are public.
 * KEEL_EINVAL (out NULL), KEEL_ESTALE (dead handle), KEEL_EACCESS. O(1),
 * lock-free. */
KEEL_API keel_status keel_box_label(keel_box box, keel_label *out);

/*
 * keel_box_relabel: the owner sets a box's label to `to`, under
 * keel_ifc_relabel_self's rules for privileges, and within the owner's
 * clearance. KEEL_ESTALE, KEEL_EACCESS (not the owner), KEEL_EPRIVILEGE,
 * KEEL_ECLEARANCE. O(1).
 */
KEEL_API keel_status keel_box_relabel(keel_box box, keel_label to);

/* ---- sinks: output channels with a bound ---- */

/* Writes all `size` bytes or fails; keel calls it only for accepted writes. */
typedef keel_status (*keel_sink_write_fn)(void *context, const void *data, size_t size);

/* A sink lives in the caller's storage (keel allocates nothing); its fields
 * are keel's. */
typedef struct keel_sink {
    char name[32];
    keel_label bound;
    keel_sink_write_fn write;
    void *context;
    int fd;                          /* for keel_sink_init_fd */
    uint64_t writes, bytes, refused; /* updated atomically */
} keel_sink;

typedef struct keel_sink_config {
    const char *name;         /* for reports; copied (up to 31 bytes) */
    keel_label bound;         /* the most secret data it may receive, the least vouched */
    keel_sink_write_fn write; /* where accepted bytes go */
    void *context;
} keel_sink_config;

/*
 * keel_sink_init: declares an output channel in *sink. Its bound's secrecy
 * categories are declassified to whoever reads the channel, so the calling
 * principal must hold their privileges (KEEL_EPRIVILEGE). KEEL_EINVAL (NULL
 * sink, config or write). O(1). Thread-safe (distinct sinks).
 */
KEEL_API keel_status keel_sink_init(keel_sink *sink, const keel_sink_config *config);

/* keel_sink_init_fd: a sink writing to a file descriptor (write(2), retried
 * on short writes and EINTR; KEEL_ESYSTEM if it fails). The fd stays the
 * caller's. As keel_sink_init, and KEEL_EINVAL for a negative fd. */
KEEL_API keel_status keel_sink_init_fd(keel_sink *sink, const char *name, int fd, keel_label bound);

/*
 * keel_sink_write: writes `size` bytes from the caller's memory; their label is
 * the calling principal's current label. KEEL_EFLOW (nothing written) if it
 * cannot flow to the sink's bound; KEEL_EINVAL; otherwise the write function's
 * status. O(1) plus the write. Thread-safe if the write function is.
 */
KEEL_API keel_status keel_sink_write(keel_sink *sink, const void *data, size_t size);

/*
 * keel_sink_write_box: writes bytes [offset, offset + size) of a box the caller
 * may access, without opening it (the caller's label does not rise); their
 * label is the box's joined with the caller's. KEEL_EINVAL (sink NULL),
 * KEEL_ESTALE or KEEL_EACCESS (as keel_box_data), KEEL_ERANGE if the range is
 * outside the box, KEEL_EFLOW as keel_sink_write. O(1) plus the write.
 */
KEEL_API keel_status keel_sink_write_box(keel_sink *sink, keel_box box, size_t offset, size_t size);

typedef struct keel_sink_stats {
    uint64_t writes;  /* accepted */
    uint64_t bytes;   /* accepted */
    uint64_t refused; /* refused by the label check */
} keel_sink_stats;

/* A sink's counters (each read atomically; the set is not one snapshot) and
 * its bound. Never fail. O(1). */
KEEL_API void keel_sink_get_stats(const keel_sink *sink, keel_sink_stats *out);
KEEL_API keel_label keel_sink_bound(const keel_sink *sink);

/* ---- refusals, reports and the enforcement mode ---- */

typedef struct keel_flow_refusal {
    keel_status status; /* KEEL_ECLEARANCE, KEEL_EFLOW or KEEL_EPRIVILEGE */
    keel_label label;   /* of the data, or the label asked for */
    keel_label bound;   /* what it had to fit */
    uint32_t domain;    /* the principal whose operation was refused */
    char place[96];     /* e.g. "box moved into 'store'", "sink 'public'" */
    char text[384];     /* the whole report, with category names */
} keel_flow_refusal;

/* The calling thread's last refusal (status KEEL_OK if none yet). O(1). */
KEEL_API const keel_flow_refusal *keel_ifc_last_refusal(void);

/* keel_ifc_set_reporter: called with every refusal, on the refusing thread.
 * Keep it short and keep it away from keel: it may run inside a domain, and a
 * refused move or relabel reports with the box table's lock held, so a
 * reporter that calls keel's box functions deadlocks. NULL silences reports.
 * The default prints refusal->text on stderr. Never fails. O(1). Not
 * thread-safe: call at setup. */
KEEL_API void keel_ifc_set_reporter(void (*reporter)(const keel_flow_refusal *, void *),
                                    void *context);

typedef enum keel_ifc_mode {
    KEEL_IFC_ENFORCE = 0, /* refuse flows that break the rules */
    /* Report and count them but let them happen (labels may then exceed
     * clearances): to find what a system would refuse before enforcing, and
     * for tests that check a test can see a leak. */
    KEEL_IFC_AUDIT,
} keel_ifc_mode;

/* keel_ifc_set_mode: for the whole process. Never fails. O(1). Not
 * thread-safe: call at setup. */
KEEL_API void keel_ifc_set_mode(keel_ifc_mode mode);

typedef struct keel_ifc_stats {
    uint64_t refused;      /* refused (enforce mode) */
    uint64_t audited;      /* would have been refused (audit mode) */
    uint64_t declassified; /* relabels that used a privilege */
    unsigned categories;   /* categories created */
} keel_ifc_stats;

/* The process's counters (each read atomically; the set is not one snapshot).
 * Never fails. O(1). */
KEEL_API void keel_ifc_get_stats(keel_ifc_stats *out);

/*
 * keel_ifc_label_format: writes `label` with category names, e.g.
 * "{alice, bob}" or "{alice | vouched: sensor}", into buf (always
 * terminated unless size is 0). Returns the length it needed, as snprintf;
 * never fails. O(KEEL_CATEGORY_MAX).
 */
KEEL_API size_t keel_ifc_label_format(keel_label label, char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* KEEL_IFC_H */
