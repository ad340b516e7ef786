/*
 * smt_exec.h - smt.c's symbolic executor, for the other users of Z3 inside
 * keel-wcet (rank.c). Registers are 64-bit bit-vectors, stack slots are
 * found through the value analysis' stack pointer, the flags are those of
 * the last compare or arithmetic instruction. Anything not modelled becomes
 * a fresh unconstrained value, so a property Z3 proves of a path holds of
 * every execution along it.
 *
 * A question opens a scope on the analyzer's shared solver (wc_sym_open) and
 * closes it (wc_sym_close); each Z3 check is limited by the solver's
 * deterministic resource limit, and "unknown" must be read as "not proved".
 */
#ifndef WCET_SMT_EXEC_H
#define WCET_SMT_EXEC_H

#include <z3.h>

#include "wcet_internal.h"

/* Z3's deterministic resource limit per check (rlimit units) */
#ifndef WC_SMT_RLIMIT
#define WC_SMT_RLIMIT 4000000u
#endif

typedef struct sslot {
    int64_t off;
    int size;
    Z3_ast v;
} sslot;

typedef struct sstate {
    Z3_ast reg[WC_NREGS];
    sslot slot[WC_MAX_SLOTS];
    int nslots;
    int64_t sp; /* rsp = entry sp + sp (when sp_known) */
    bool sp_known;
    int64_t esc_lo;
    /* flags */
    int fkind; /* 0 none, 1 cmp(a,b), 2 logic result r, 3 add result, 4 other arith result r */
    int fw;
    Z3_ast fa, fb, fr;
} sstate;

typedef struct sctx {
    Z3_context c;
    Z3_solver s;
    wc_analyzer *an;
    int fresh;
    /* every instruction executed completes: a division's divisor is nonzero
     * and its quotient fits (the CPU raises #DE otherwise); true only for
     * questions about paths that go on past their last division */
    bool div_completes;
} sctx;

/* a question: a scope on the analyzer's shared solver */
void wc_sym_open(sctx *x, wc_analyzer *an);
void wc_sym_close(sctx *x);
/* a symbolic state that satisfies the value analysis' state vs (its ranges,
 * congruences and equalities are asserted) */
void wc_sym_state(sctx *x, sstate *st, const wc_state *vs);
/* execute block b of cfg (vr: the value analysis, for slot addresses) */
void wc_sym_block(sctx *x, sstate *st, const wc_cfg *cfg, const wc_vres *vr, int b);
/* the condition under which block b, executed into st, goes on to block to */
Z3_ast wc_sym_edge(sctx *x, const sstate *st, const wc_cfg *cfg, int b, int to);
/* the value of a stack slot in st, or NULL when st does not hold it */
Z3_ast wc_sym_slot(const sstate *st, int64_t off, int size);
/* the value of a stack slot in st, an unconstrained one made for it when st
 * does not hold it */
Z3_ast wc_sym_slot_fresh(sctx *x, sstate *st, int64_t off, int size);

#endif /* WCET_SMT_EXEC_H */
