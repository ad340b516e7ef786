/*
 * ifc.c - categories, privileges, principals' labels, refusals and reports.
 * The checks at each crossing live where the crossing is (domain/call.c,
 * domain/box.c, ifc/sink.c); this file keeps the state they read.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "domain/internal.h"
#include "ifc/internal.h"

/* The host may hold anything from the start (it sets everything up). */
ifc_principal keel_ifc_principals_[KEEL_DOMAIN_MAX] = {
    [KEEL_HOST_DOMAIN] = {.clear_secrecy = ~(keel_categories)0},
};
/* The epoch starts at 1: 0 marks an empty memo entry. */
ifc_globals keel_ifc_ = {.labels = CHANGES_INIT};
keel_ifc_mode keel_ifc_mode_ = KEEL_IFC_ENFORCE;
__thread ifc_memo keel_ifc_memo_[IFC_MEMO_ENTRIES] __attribute__((tls_model("initial-exec")));

enum { NAME_MAX_LEN = 24 };

static pthread_mutex_t category_lock = PTHREAD_MUTEX_INITIALIZER;
static char category_names[KEEL_CATEGORY_MAX][NAME_MAX_LEN];
static _Atomic unsigned category_count;

static _Atomic uint64_t refused_count, audited_count, declassified_count;

static void print_refusal(const keel_flow_refusal *refusal, void *context) {
    (void)context;
    fprintf(stderr, "keel: %s\n", refusal->text);
}

static void (*reporter)(const keel_flow_refusal *, void *) = print_refusal;
static void *reporter_context;

static __thread keel_flow_refusal last_refusal;

/* Label and clearance writes: release stores between ifc_write_begin and
 * ifc_write_end (internal.h says why). */
static void set_label(ifc_principal *p, keel_label label) {
    atomic_store_explicit(&p->secrecy, label.secrecy, memory_order_release);
    atomic_store_explicit(&p->integrity, label.integrity, memory_order_release);
}

static void set_clearance(ifc_principal *p, keel_label clearance) {
    atomic_store_explicit(&p->clear_secrecy, clearance.secrecy, memory_order_release);
    atomic_store_explicit(&p->clear_integrity, clearance.integrity, memory_order_release);
}

void keel_ifc_system_reset_(void) {
    pthread_mutex_lock(&category_lock);
    memset(category_names, 0, sizeof category_names);
    atomic_store(&category_count, 0);
    atomic_store(&keel_ifc_.active, false);
    ifc_write_begin(); /* the epoch goes on: memos from before stay stale */
    for (unsigned i = 0; i < KEEL_DOMAIN_MAX; i++) {
        set_label(&keel_ifc_principals_[i], KEEL_LABEL_PUBLIC);
        set_clearance(&keel_ifc_principals_[i], KEEL_LABEL_PUBLIC);
        atomic_store(&keel_ifc_principals_[i].privileges, 0);
    }
    /* The host sets everything up: it may hold anything, and starts public. */
    set_clearance(&keel_ifc_principals_[KEEL_HOST_DOMAIN], KEEL_LABEL_TOP);
    ifc_write_end();
    atomic_store(&refused_count, 0);
    atomic_store(&audited_count, 0);
    atomic_store(&declassified_count, 0);
    keel_ifc_mode_ = KEEL_IFC_ENFORCE;
    pthread_mutex_unlock(&category_lock);
}

void keel_ifc_domain_created_(uint32_t id, keel_label label, keel_label clearance) {
    ifc_principal *p = &keel_ifc_principals_[id];
    ifc_write_begin();
    set_label(p, label);
    set_clearance(p, clearance);
    ifc_write_end();
    atomic_store(&p->privileges, 0);
}

const char *keel_ifc_principal_name_(uint32_t id) {
    return id == KEEL_HOST_DOMAIN ? "host" : keel_domains_[id].name;
}

static bool is_principal(uint32_t id) {
    return id == KEEL_HOST_DOMAIN || (id < KEEL_DOMAIN_MAX && atomic_load(&keel_domains_[id].live));
}

keel_status keel_ifc_category_create(const char *name, unsigned *out) {
    if (name == NULL || name[0] == '\0' || out == NULL || strlen(name) >= NAME_MAX_LEN) {
        return KEEL_EINVAL;
    }
    pthread_mutex_lock(&category_lock);
    unsigned n = atomic_load(&category_count);
    for (unsigned c = 0; c < n; c++) {
        if (strcmp(category_names[c], name) == 0) {
            pthread_mutex_unlock(&category_lock);
            return KEEL_EINVAL;
        }
    }
    if (n == KEEL_CATEGORY_MAX) {
        pthread_mutex_unlock(&category_lock);
        return KEEL_EFULL;
    }
    strcpy(category_names[n], name);
    atomic_fetch_or(&keel_ifc_principals_[current_id()].privileges, KEEL_CATEGORY(n));
    atomic_store(&category_count, n + 1);
    atomic_store(&keel_ifc_.active, true);
    pthread_mutex_unlock(&category_lock);
    *out = n;
    return KEEL_OK;
}

const char *keel_ifc_category_name(unsigned c) {
    return c < atomic_load(&category_count) ? category_names[c] : NULL;
}

static keel_categories existing(void) {
    unsigned n = atomic_load(&category_count);
    return n == KEEL_CATEGORY_MAX ? ~(keel_categories)0 : KEEL_CATEGORY(n) - 1;
}

keel_status keel_ifc_grant(uint32_t domain_id, keel_categories categories) {
    if (!is_principal(domain_id) || (categories & ~existing()) != 0) {
        return KEEL_EINVAL;
    }
    uint32_t self = current_id();
    keel_categories held = atomic_load(&keel_ifc_principals_[self].privileges);
    if ((categories & ~held) != 0) {
        keel_status status =
            keel_ifc_refuse_(KEEL_EPRIVILEGE, self, (keel_label){categories & ~held, 0},
                             (keel_label){held, 0}, "grant to '%s' by '%s'",
                             keel_ifc_principal_name_(domain_id), keel_ifc_principal_name_(self));
        if (status != KEEL_OK) {
            return status;
        }
    }
    atomic_fetch_or(&keel_ifc_principals_[domain_id].privileges, categories);
    return KEEL_OK;
}

void keel_ifc_drop(keel_categories categories) {
    atomic_fetch_and(&keel_ifc_principals_[current_id()].privileges, ~categories);
}

keel_label keel_ifc_label(uint32_t id) {
    return is_principal(id) ? ifc_label(id) : KEEL_LABEL_PUBLIC;
}

keel_label keel_ifc_clearance(uint32_t id) {
    return is_principal(id) ? ifc_clearance(id) : KEEL_LABEL_PUBLIC;
}

keel_categories keel_ifc_privileges(uint32_t id) {
    return is_principal(id) ? atomic_load(&keel_ifc_principals_[id].privileges) : 0;
}

keel_status keel_ifc_relabel_self(keel_label to) {
    uint32_t self = current_id();
    ifc_principal *p = &keel_ifc_principals_[self];
    keel_label from = ifc_label(self);
    keel_categories needed = ifc_needs_privilege(from, to);
    keel_categories held = atomic_load(&p->privileges);
    if ((needed & ~held) != 0) {
        keel_status status = keel_ifc_refuse_(
            KEEL_EPRIVILEGE, self, from, to, "relabel of '%s' (lacks the privilege of %#llx)",
            keel_ifc_principal_name_(self), (unsigned long long)(needed & ~held));
        if (status != KEEL_OK) {
            return status;
        }
    }
    /* What this principal may hold, and what its waiting callers may receive. */
    call_frame *frame = keel_thread_.frame;
    keel_label bound = ifc_clearance(self);
    if (frame != NULL) {
        bound = keel_label_meet(bound, frame->bound);
    }
    if (!keel_label_flows(to, bound)) {
        keel_status status = keel_ifc_refuse_(KEEL_ECLEARANCE, self, to, bound, "relabel of '%s'",
                                              keel_ifc_principal_name_(self));
        if (status != KEEL_OK) {
            return status;
        }
    }
    if (needed != 0) {
        keel_ifc_count_declassified_();
    }
    ifc_write_begin();
    set_label(p, to);
    ifc_write_end();
    return KEEL_OK;
}

/* Appends to buf as snprintf would, counting what did not fit in *n. */
static void put(char *buf, size_t size, size_t *n, const char *text) {
    size_t len = strlen(text);
    if (*n < size) {
        size_t room = size - *n - 1;
        memcpy(buf + *n, text, len < room ? len : room);
        buf[*n + (len < room ? len : room)] = '\0';
    }
    *n += len;
}

/* The names of `set`, separated by ", " ("#c" for one that does not exist). */
static void put_set(char *buf, size_t size, size_t *n, keel_categories set) {
    const char *sep = "";
    for (unsigned c = 0; c < KEEL_CATEGORY_MAX; c++) {
        if (set & KEEL_CATEGORY(c)) {
            char unnamed[8];
            const char *name = keel_ifc_category_name(c);
            if (name == NULL) {
                snprintf(unnamed, sizeof unnamed, "#%u", c);
                name = unnamed;
            }
            put(buf, size, n, sep);
            put(buf, size, n, name);
            sep = ", ";
        }
    }
}

size_t keel_ifc_label_format(keel_label label, char *buf, size_t size) {
    size_t n = 0;
    if (size > 0) {
        buf[0] = '\0';
    }
    put(buf, size, &n, "{");
    put_set(buf, size, &n, label.secrecy);
    if (label.integrity != 0) {
        put(buf, size, &n, label.secrecy != 0 ? " | vouched: " : "vouched: ");
        put_set(buf, size, &n, label.integrity);
    }
    put(buf, size, &n, "}");
    return n;
}

keel_status keel_ifc_refuse_(keel_status status, uint32_t who, keel_label label, keel_label bound,
                             const char *format, ...) {
    keel_flow_refusal *r = &last_refusal;
    r->status = status;
    r->label = label;
    r->bound = bound;
    r->domain = who;
    va_list args;
    va_start(args, format);
    vsnprintf(r->place, sizeof r->place, format, args);
    va_end(args);
    char l[96], b[96];
    keel_ifc_label_format(label, l, sizeof l);
    keel_ifc_label_format(bound, b, sizeof b);
    bool audit = keel_ifc_mode_ == KEEL_IFC_AUDIT;
    const char *verdict = audit ? "flow audited" : "flow refused";
    if (status == KEEL_EPRIVILEGE) {
        snprintf(r->text, sizeof r->text, "%s: %.95s -> %.95s needs privileges not held, at %.95s",
                 verdict, l, b, r->place);
    } else {
        snprintf(r->text, sizeof r->text, "%s: %.95s %s %.95s, at %.95s", verdict, l,
                 status == KEEL_EFLOW ? "cannot flow to the bound" : "does not fit the clearance",
                 b, r->place);
    }
    atomic_fetch_add(audit ? &audited_count : &refused_count, 1);
    if (reporter != NULL) {
        reporter(r, reporter_context);
    }
    return audit ? KEEL_OK : status;
}

void keel_ifc_count_declassified_(void) {
    atomic_fetch_add(&declassified_count, 1);
}

const keel_flow_refusal *keel_ifc_last_refusal(void) {
    return &last_refusal;
}

void keel_ifc_set_reporter(void (*fn)(const keel_flow_refusal *, void *), void *context) {
    reporter = fn;
    reporter_context = context;
}

void keel_ifc_set_mode(keel_ifc_mode mode) {
    keel_ifc_mode_ = mode;
}

void keel_ifc_get_stats(keel_ifc_stats *out) {
    out->refused = atomic_load(&refused_count);
    out->audited = atomic_load(&audited_count);
    out->declassified = atomic_load(&declassified_count);
    out->categories = atomic_load(&category_count);
}
