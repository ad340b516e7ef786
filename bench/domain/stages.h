/*
 * stages.h - the pipeline of the HotOS'17 evaluation: STAGES null filters that
 * pass a batch on without doing any work on it, built twice.
 *
 * Plain: each stage is a C function called through a function pointer (so the
 * compiler cannot inline it away), with a pointer to the batch.
 *
 * Protected: each stage is an object in its own keel domain, reached through an
 * rref. The batch lives in a box in the exchange heap, and is passed either
 *   - lent: the host lends its box to each stage in turn (keel_rref_call_lend);
 *     the stage reaches the bytes with keel_box_data, which checks ownership;
 *   - moved: the host moves a box to stage 1, which moves it to stage 2 from
 *     inside its call, and so on (nested calls, as NetBricks operators call
 *     their neighbour); the last stage keeps it until the host asks it to drop
 *     it. A moved box never comes back, so each moved batch is a fresh box.
 * The plain equivalent of the moved chain is a chain of nested plain calls.
 *
 * Every null filter reads the batch's count and checks it, as any filter
 * would before touching packets. Nothing here is thread-safe: one thread.
 */
#ifndef BENCH_DOMAIN_STAGES_H
#define BENCH_DOMAIN_STAGES_H

#include <stddef.h>

#include "keel/domain.h"
#include "packets.h"

#define STAGES 5u

/* The stages' interface. */
enum {
    STAGE_FORWARD_LENT,  /* the batch in call->box, lent */
    STAGE_FORWARD_MOVED, /* the batch in call->box, moved: pass it on, or keep it if last */
    STAGE_DROP,          /* free the box kept by the last stage */
    STAGE_NOP,           /* nothing: the bare cost of a call */
    STAGE_METHODS
};

typedef struct plain_stage plain_stage;
typedef keel_status (*plain_filter)(plain_stage *self, batch *b);

struct plain_stage {
    plain_filter forward;
    plain_stage *next; /* chained only: the stage this one calls */
};

typedef struct pipeline {
    keel_domain *domains[STAGES];
    keel_rref rrefs[STAGES];
    keel_box box;    /* the host's batch box, lent to the stages */
    batch *data;     /* its bytes */
    keel_box moving; /* the box of the current moved batch, dead once moved */
    plain_stage plain[STAGES];
    plain_stage chain[STAGES];
} pipeline;

/*
 * pipeline_create: the STAGES domains (64 KiB heap each) and the host's box.
 * keel_domain_system_init must have been called. Returns KEEL_OK, or the first
 * failure (with nothing left behind).
 */
keel_status pipeline_create(pipeline *p);

/* pipeline_destroy: destroys the domains and frees the box. */
void pipeline_destroy(pipeline *p);

/* The four ways through the pipeline. Each returns KEEL_OK, or the first
 * failure of a stage. */
keel_status pipeline_run_plain(pipeline *p, batch *b);       /* STAGES calls in turn */
keel_status pipeline_run_plain_chain(pipeline *p, batch *b); /* STAGES nested calls */
keel_status pipeline_run_lend(pipeline *p);                  /* STAGES lends of p->box */
keel_status pipeline_run_move(pipeline *p);                  /* STAGES nested moves */

/*
 * pipeline_prepare_move: before each pipeline_run_move (and untimed): has the
 * last stage drop the previous batch, allocates a fresh box into p->moving and
 * returns its bytes in *data.
 */
keel_status pipeline_prepare_move(pipeline *p, batch **data);

#endif /* BENCH_DOMAIN_STAGES_H */
