/*
 * probe.h - a test component for information-flow tests: one object per
 * domain whose methods exercise each crossing (open, keep, give, call on,
 * write to a sink, raise its own label, panic, wait).
 */
#ifndef KEEL_TEST_IFC_PROBE_H
#define KEEL_TEST_IFC_PROBE_H

#include <stdatomic.h>
#include <string.h>

#include "keel/ifc.h"

enum {
    P_NOP,       /* returns KEEL_OK */
    P_OPEN,      /* opens call->box and writes arg's byte into it */
    P_KEEP,      /* keeps the moved box */
    P_GIVE_KEPT, /* gives the kept box to the caller: handle in *result */
    P_CALL,      /* calls the probe_call in arg */
    P_RAISE,     /* relabels itself to *(keel_label *)arg */
    P_WRITE,     /* writes 4 bytes to the sink in arg */
    P_PANIC,     /* panics with a message */
    P_WAIT,      /* signals it is inside, waits for probe_release; panics if arg */
    P_OPEN_KEPT, /* opens the kept box */
    P_GRANT,     /* grants *(keel_categories *)arg to the domain id in *result */
    P_COUNT
};

typedef struct probe_call {
    keel_rref rref;
    unsigned method;
    keel_box box;
    int mode; /* 0 plain, 1 move, 2 lend */
    void *arg;
    void *result;
} probe_call;

typedef struct probe {
    keel_box kept;
    unsigned calls;
} probe;

static atomic_int probe_inside, probe_release;

static keel_status p_nop(void *object, keel_call *call) {
    (void)call;
    ((probe *)object)->calls++;
    return KEEL_OK;
}
static keel_status p_open(void *object, keel_call *call) {
    ((probe *)object)->calls++;
    void *data;
    size_t size;
    keel_status status = keel_box_data(call->box, &data, &size);
    if (status == KEEL_OK && call->arg != NULL) {
        memset(data, *(unsigned char *)call->arg, size);
    }
    return status;
}
static keel_status p_keep(void *object, keel_call *call) {
    ((probe *)object)->kept = call->box;
    return KEEL_OK;
}
static keel_status p_give_kept(void *object, keel_call *call) {
    probe *p = object;
    keel_box box = p->kept;
    keel_status status = keel_box_give(&box);
    if (status == KEEL_OK) {
        p->kept = KEEL_BOX_NONE;
        *(keel_box *)call->result = box;
    }
    return status;
}
static keel_status p_call(void *object, keel_call *call) {
    (void)object;
    probe_call *c = call->arg;
    switch (c->mode) {
    case 1:
        return keel_rref_call_move(c->rref, c->method, &c->box, c->arg, c->result);
    case 2:
        return keel_rref_call_lend(c->rref, c->method, c->box, c->arg, c->result);
    default:
        return keel_rref_call(c->rref, c->method, c->arg, c->result);
    }
}
static keel_status p_raise(void *object, keel_call *call) {
    (void)object;
    return keel_ifc_relabel_self(*(keel_label *)call->arg);
}
static keel_status p_write(void *object, keel_call *call) {
    (void)object;
    return keel_sink_write(call->arg, "data", 4);
}
static keel_status p_panic(void *object, keel_call *call) {
    (void)object;
    (void)call;
    keel_panic("the secret is 42");
}
static keel_status p_wait(void *object, keel_call *call) {
    (void)object;
    atomic_fetch_add(&probe_inside, 1);
    while (!atomic_load(&probe_release)) {
    }
    if (call->arg != NULL) {
        keel_panic("the secret is 42");
    }
    return KEEL_OK;
}
static keel_status p_open_kept(void *object, keel_call *call) {
    (void)call;
    return keel_box_data(((probe *)object)->kept, NULL, NULL);
}
static keel_status p_grant(void *object, keel_call *call) {
    (void)object;
    return keel_ifc_grant(*(uint32_t *)call->result, *(keel_categories *)call->arg);
}

static const keel_method probe_methods[P_COUNT] = {
    p_nop,   p_open,  p_keep, p_give_kept, p_call,  p_raise,
    p_write, p_panic, p_wait, p_open_kept, p_grant,
};
static const keel_interface probe_interface = {"probe", P_COUNT, probe_methods};

typedef struct probe_domain {
    keel_domain *domain;
    keel_rref rref;
    probe *object;
} probe_domain;

static keel_status probe_init(keel_domain *domain, void *context) {
    probe_domain *pd = context;
    void *object;
    keel_status status = keel_domain_alloc(sizeof(probe), &object);
    if (status != KEEL_OK) {
        return status;
    }
    memset(object, 0, sizeof(probe));
    pd->object = object;
    return keel_domain_export(domain, object, &probe_interface, &pd->rref);
}

/* A probe domain with the given label and clearance. */
static keel_status probe_create(probe_domain *pd, const char *name, keel_label label,
                                keel_label clearance) {
    keel_domain_config config = {
        .name = name,
        .heap_size = 64 * 1024,
        .table_capacity = 4,
        .init = probe_init,
        .context = pd,
        .label = label,
        .clearance = clearance,
    };
    return keel_domain_create(&config, &pd->domain);
}

#endif /* KEEL_TEST_IFC_PROBE_H */
