/*
 * Soak: a running pipeline survives 100,000 injected faults of each kind with
 * nothing lost.
 *
 * The host makes batches of packets in boxes and lends each batch to two
 * domains in turn: a strict "parser" that stamps every packet in place, and a
 * "checker" that sums the batch read-only and returns the sum. Faults are
 * injected into the checker: a panic, a null dereference, a division by zero,
 * and a wild write into the parser's heap (strict, so it traps). After each
 * failure the lent batch is back with the host, unchanged, and is sent again to
 * the recovered checker. At the end: every packet was summed exactly once, the
 * pipeline's output equals the closed form, no box is lost, no byte leaked.
 *
 * KEEL_SOAK_FAULTS overrides the faults per kind (default 100000).
 */
#include <stdlib.h>
#include <string.h>

#include "inject.h"
#include "keel/domain.h"
#include "keel_test.h"

enum { PACKETS = 64, KINDS = 4 };
enum fault_kind { FAULT_NONE = -1, FAULT_PANIC, FAULT_NULL, FAULT_DIVIDE, FAULT_WILD };
enum { M_STAMP, M_SUM, M_ADDRESS, M_READ, M_METHODS };

typedef struct packet {
    uint32_t sequence;
    uint32_t stamp;
} packet;

typedef struct request {
    int fault;         /* enum fault_kind to inject, or FAULT_NONE */
    unsigned fault_at; /* after how many packets */
    void *wild;        /* an address inside the parser's heap */
} request;

static volatile uintptr_t wild_null = 0;

static keel_status stamp(void *object, keel_call *call) {
    ++*(uint64_t *)object; /* the parser's own state, in its (strict) heap */
    packet *p;
    size_t size;
    keel_status status = keel_box_data(call->box, (void **)&p, &size);
    if (status != KEEL_OK) {
        return status;
    }
    for (size_t i = 0; i < size / sizeof *p; i++) {
        p[i].stamp = p[i].sequence * 3u + 1u;
    }
    return KEEL_OK;
}

static keel_status sum(void *object, keel_call *call) {
    (void)object;
    const request *r = call->arg;
    packet *p;
    size_t size;
    keel_status status = keel_box_data(call->box, (void **)&p, &size);
    if (status != KEEL_OK) {
        return status;
    }
    uint64_t total = 0;
    for (size_t i = 0; i < size / sizeof *p; i++) {
        if (i == r->fault_at) {
            switch (r->fault) {
            case FAULT_PANIC:
                keel_panic("injected panic at packet %zu", i);
            case FAULT_NULL:
                total += *(volatile uint32_t *)wild_null;
                break;
            case FAULT_DIVIDE:
                total += (uint64_t)divide_by_zero();
                break;
            case FAULT_WILD:
                *(volatile uint64_t *)r->wild = 0xBAD; /* into the strict parser's heap */
                break;
            default:
                break;
            }
        }
        total += p[i].stamp;
    }
    *(uint64_t *)call->result = total;
    return KEEL_OK;
}

static keel_status address(void *object, keel_call *call) {
    *(void **)call->result = object;
    return KEEL_OK;
}

static keel_status read_state(void *object, keel_call *call) {
    *(uint64_t *)call->result = *(uint64_t *)object;
    return KEEL_OK;
}

static const keel_method methods[M_METHODS] = {
    [M_STAMP] = stamp, [M_SUM] = sum, [M_ADDRESS] = address, [M_READ] = read_state};
static const keel_interface stage_interface = {"stage", M_METHODS, methods};

typedef struct stage {
    keel_rref rref;
    int inits;
} stage;

static keel_status stage_init(keel_domain *d, void *context) {
    stage *s = context;
    uint64_t *state;
    keel_status status = keel_domain_alloc(sizeof *state, (void **)&state);
    if (status != KEEL_OK) {
        return status;
    }
    *state = 0;
    if (s->inits++ == 0) {
        return keel_domain_export(d, state, &stage_interface, &s->rref);
    }
    return keel_domain_reexport(d, s->rref, state, &stage_interface);
}

static keel_domain *make_stage(const char *name, stage *s, bool strict) {
    keel_domain_config config = {.name = name,
                                 .heap_size = 16 * 1024,
                                 .table_capacity = 4,
                                 .init = stage_init,
                                 .context = s,
                                 .strict = strict};
    keel_domain *d = NULL;
    return keel_domain_create(&config, &d) == KEEL_OK ? d : NULL;
}

KEEL_TEST(a_pipeline_survives_every_kind_of_fault_with_nothing_lost) {
    const char *env = getenv("KEEL_SOAK_FAULTS");
    unsigned per_kind = env != NULL ? (unsigned)strtoul(env, NULL, 10) : 100000u;
    CHECK_OK(keel_domain_system_init(1 << 20, 256));
    stage parser = {0}, checker = {0};
    keel_domain *pd = make_stage("parser", &parser, true);
    keel_domain *cd = make_stage("checker", &checker, false);
    CHECK(pd != NULL && cd != NULL);
    void *parser_state = NULL;
    CHECK_OK(keel_rref_call(parser.rref, M_ADDRESS, NULL, &parser_state));
    keel_exchange_stats baseline;
    keel_exchange_get_stats(&baseline);

    unsigned injected[KINDS] = {0}, contained[KINDS] = {0};
    uint64_t summed_packets = 0, output = 0, expected = 0, sequence = 0, batches = 0;
    unsigned rng = 12345;
    /* Keep sending batches until every kind has had its faults. */
    for (;;) {
        unsigned kind = 0;
        while (kind < KINDS && injected[kind] >= per_kind) {
            kind++;
        }
        if (kind == KINDS) {
            break;
        }
        keel_box batch;
        CHECK_OK(keel_box_alloc(PACKETS * sizeof(packet), &batch));
        packet *p;
        CHECK_OK(keel_box_data(batch, (void **)&p, NULL));
        for (unsigned i = 0; i < PACKETS; i++) {
            p[i].sequence = (uint32_t)sequence++;
            p[i].stamp = 0;
            expected += p[i].sequence * 3u + 1u;
        }
        CHECK_OK(keel_rref_call_lend(parser.rref, M_STAMP, batch, NULL, NULL));
        /* Each batch meets one fault of the current kind, then goes through. */
        rng = rng * 1103515245u + 12345u;
        request r = {.fault = (int)kind, .fault_at = (rng >> 16) % PACKETS, .wild = parser_state};
        uint64_t total = 0;
        keel_status status;
        while ((status = keel_rref_call_lend(checker.rref, M_SUM, batch, &r, &total)) != KEEL_OK) {
            CHECK(status == (kind == FAULT_PANIC ? KEEL_EPANIC : KEEL_EFAULT));
            contained[kind]++;
            injected[kind]++;
            r.fault = FAULT_NONE;
            /* The lent batch is ours again, untouched. */
            CHECK_OK(keel_box_data(batch, (void **)&p, NULL));
            CHECK_EQ(p[PACKETS - 1].stamp, p[PACKETS - 1].sequence * 3u + 1u);
        }
        output += total;
        summed_packets += PACKETS;
        batches++;
        CHECK_OK(keel_box_free(batch));
    }
    for (unsigned k = 0; k < KINDS; k++) {
        CHECK_EQ(contained[k], per_kind);
    }
    CHECK_EQ(summed_packets, sequence); /* every packet accounted for, once */
    CHECK_EQ(output, expected);         /* and the pipeline's output is right */

    /* The parser was never hurt: no wild write landed in its heap, and its
     * state counted every batch. */
    uint64_t stamped = 0;
    CHECK_OK(keel_rref_call(parser.rref, M_READ, NULL, &stamped));
    CHECK_EQ(stamped, batches);
    keel_domain_stats parser_stats, checker_stats;
    keel_domain_get_stats(pd, &parser_stats);
    keel_domain_get_stats(cd, &checker_stats);
    CHECK_EQ(parser_stats.failures, 0);
    CHECK_EQ(parser_stats.calls, batches + 2);
    CHECK_EQ(checker_stats.failures, (uint64_t)per_kind * KINDS);
    CHECK_EQ(checker_stats.recoveries, (uint64_t)per_kind * KINDS);

    /* Nothing leaked: the exchange heap is back where it started. */
    keel_box_reap(1000);
    keel_exchange_stats end;
    keel_exchange_get_stats(&end);
    CHECK_EQ(end.heap.in_use, baseline.heap.in_use);
    CHECK_EQ(end.boxes_live, baseline.boxes_live);
    CHECK_EQ(end.boxes_dead, 0);
    printf("soak: %llu batches, %llu packets, %u faults of each of 4 kinds contained\n",
           (unsigned long long)batches, (unsigned long long)summed_packets, per_kind);
    CHECK_OK(keel_domain_destroy(cd));
    CHECK_OK(keel_domain_destroy(pd));
    CHECK_OK(keel_domain_system_shutdown());
}

KEEL_TEST_MAIN()
