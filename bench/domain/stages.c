/*
 * stages.c - the null filters, plain and in domains (stages.h).
 */
#include "stages.h"

#include <stdbool.h>

enum { STAGE_HEAP_SIZE = 64 * 1024 };

/* ---- plain ---- */

/* The check every filter starts with. */
static bool batch_ok(const batch *b) {
    return b->count - 1u < BATCH_MAX;
}

static keel_status plain_null_filter(plain_stage *self, batch *b) {
    (void)self;
    return batch_ok(b) ? KEEL_OK : KEEL_EINVAL;
}

static keel_status plain_chained_filter(plain_stage *self, batch *b) {
    if (!batch_ok(b)) {
        return KEEL_EINVAL;
    }
    return self->next != NULL ? self->next->forward(self->next, b) : KEEL_OK;
}

keel_status pipeline_run_plain(pipeline *p, batch *b) {
    for (unsigned i = 0; i < STAGES; i++) {
        keel_status status = p->plain[i].forward(&p->plain[i], b);
        if (status != KEEL_OK) {
            return status;
        }
    }
    return KEEL_OK;
}

keel_status pipeline_run_plain_chain(pipeline *p, batch *b) {
    return p->chain[0].forward(&p->chain[0], b);
}

/* ---- protected ---- */

/* A stage's state, in its domain's heap. */
typedef struct stage_object {
    keel_rref next; /* the following stage (moved batches) */
    bool last;
    keel_box kept; /* the last moved batch, if last */
} stage_object;

/* What the host keeps about a stage, across its recoveries. */
typedef struct stage_context {
    keel_rref rref;
    keel_rref next;
    bool last;
    bool exported;
} stage_context;

static stage_context contexts[STAGES];

/* Reads the lent or moved batch, as the stage's owner. */
static keel_status open_batch(keel_call *call, batch **b) {
    size_t size;
    keel_status status = keel_box_data(call->box, (void **)b, &size);
    if (status != KEEL_OK) {
        return status;
    }
    return size >= BATCH_BYTES && batch_ok(*b) ? KEEL_OK : KEEL_EINVAL;
}

static keel_status forward_lent(void *object, keel_call *call) {
    (void)object;
    batch *b;
    return open_batch(call, &b);
}

static keel_status forward_moved(void *object, keel_call *call) {
    stage_object *s = object;
    batch *b;
    keel_status status = open_batch(call, &b);
    if (status != KEEL_OK) {
        return status;
    }
    if (s->last) {
        s->kept = call->box;
        return KEEL_OK;
    }
    keel_box box = call->box;
    return keel_rref_call_move(s->next, STAGE_FORWARD_MOVED, &box, NULL, NULL);
}

static keel_status drop(void *object, keel_call *call) {
    (void)call;
    stage_object *s = object;
    keel_status status = KEEL_OK;
    if (s->kept.index != 0) {
        status = keel_box_free(s->kept);
        s->kept = KEEL_BOX_NONE;
    }
    return status;
}

static keel_status nop(void *object, keel_call *call) {
    (void)object;
    (void)call;
    return KEEL_OK;
}

static const keel_method stage_methods[STAGE_METHODS] = {forward_lent, forward_moved, drop, nop};
static const keel_interface stage_interface = {"null filter", STAGE_METHODS, stage_methods};

/* Runs inside the stage's domain, at create and after a failure. */
static keel_status stage_init(keel_domain *d, void *context) {
    stage_context *c = context;
    stage_object *s;
    keel_status status = keel_domain_alloc(sizeof *s, (void **)&s);
    if (status != KEEL_OK) {
        return status;
    }
    *s = (stage_object){.next = c->next, .last = c->last, .kept = KEEL_BOX_NONE};
    if (c->exported) {
        return keel_domain_reexport(d, c->rref, s, &stage_interface);
    }
    status = keel_domain_export(d, s, &stage_interface, &c->rref);
    c->exported = status == KEEL_OK;
    return status;
}

keel_status pipeline_create(pipeline *p) {
    *p = (pipeline){.box = KEEL_BOX_NONE, .moving = KEEL_BOX_NONE};
    for (unsigned i = 0; i < STAGES; i++) {
        p->plain[i] = (plain_stage){.forward = plain_null_filter};
        p->chain[i] = (plain_stage){.forward = plain_chained_filter,
                                    .next = i + 1 < STAGES ? &p->chain[i + 1] : NULL};
    }
    keel_status status = keel_box_alloc(BATCH_BYTES, &p->box);
    if (status != KEEL_OK) {
        return status;
    }
    status = keel_box_data(p->box, (void **)&p->data, NULL);
    if (status != KEEL_OK) {
        goto err;
    }
    /* From the last stage to the first: each needs the rref of the next. */
    for (unsigned i = STAGES; i-- > 0;) {
        contexts[i] = (stage_context){.last = i + 1 == STAGES};
        if (i + 1 < STAGES) {
            contexts[i].next = p->rrefs[i + 1];
        }
        keel_domain_config config = {.name = "null filter",
                                     .heap_size = STAGE_HEAP_SIZE,
                                     .table_capacity = 4,
                                     .init = stage_init,
                                     .context = &contexts[i],
                                     .policy = KEEL_RECOVER_RESTART};
        status = keel_domain_create(&config, &p->domains[i]);
        if (status != KEEL_OK) {
            goto err;
        }
        p->rrefs[i] = contexts[i].rref;
    }
    return KEEL_OK;
err:
    pipeline_destroy(p);
    return status;
}

void pipeline_destroy(pipeline *p) {
    for (unsigned i = 0; i < STAGES; i++) {
        if (p->domains[i] != NULL) {
            keel_domain_destroy(p->domains[i]);
            p->domains[i] = NULL;
        }
    }
    if (p->box.index != 0) {
        keel_box_free(p->box);
        p->box = KEEL_BOX_NONE;
    }
}

keel_status pipeline_run_lend(pipeline *p) {
    for (unsigned i = 0; i < STAGES; i++) {
        keel_status status =
            keel_rref_call_lend(p->rrefs[i], STAGE_FORWARD_LENT, p->box, NULL, NULL);
        if (status != KEEL_OK) {
            return status;
        }
    }
    return KEEL_OK;
}

keel_status pipeline_prepare_move(pipeline *p, batch **data) {
    keel_status status = keel_rref_call(p->rrefs[STAGES - 1], STAGE_DROP, NULL, NULL);
    if (status != KEEL_OK) {
        return status;
    }
    status = keel_box_alloc(BATCH_BYTES, &p->moving);
    if (status != KEEL_OK) {
        return status;
    }
    return keel_box_data(p->moving, (void **)data, NULL);
}

keel_status pipeline_run_move(pipeline *p) {
    return keel_rref_call_move(p->rrefs[0], STAGE_FORWARD_MOVED, &p->moving, NULL, NULL);
}
