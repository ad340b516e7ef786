/*
 * rank.c - loop bounds from what Z3 proves of every path around a loop, for
 * the loops that neither a counter's exit test (bounds.c) nor unrolling
 * (smt.c) bounds. The loop must have no inner loop; each path from its header
 * back to it (at most RK_MAX_PATHS) runs from any header state the value
 * analysis allows, so a property proved on every path holds at every back
 * edge of every execution. Three shapes:
 *
 *  - halving: a quantity R = Y - X (two locations at the header, or one
 *    location X) at least halves on every path, R' <= R / 2 (unsigned), and
 *    the loop goes on only while R != 0 (or R' != 0). After k back edges
 *    R <= R0 >> k, so there are at most floor(log2 R0max) + 1 back edges
 *    (floor(log2 R0max) with R' != 0). Binary search: R = hi - lo.
 *  - Euclid's recurrence: every path maps (A, B) to (B, A mod B) (unsigned)
 *    and goes on only while B != 0. K back edges give K nonzero remainders
 *    r0 = B0, r1, ... (K + 1 when the loop also needs the new B nonzero), and
 *    L nonzero remainders need B0 >= F(L + 1) (Lame: r(i-1) >= r(i) + r(i+1)
 *    once r(i) < r(i-1), which holds from r1 on); B0's largest value at entry
 *    bounds L.
 *  - a counter tested on some path: X changes by the same step s on every
 *    path, and every path back to the header needs X >= c (s < 0; X <= c for
 *    s > 0), signed, wherever the test is; c + s cannot wrap around, so X
 *    counts down from its value at entry: at most (X0max - c) / |s| + 1 back
 *    edges. (clang -O0 folds `j >= 0 && a[j] > key` into one boolean that
 *    the exit tests.)
 *
 * The value at entry comes from the value analysis' state on the edges into
 * the header. Where the value analysis' ranges at the header are too wide
 * (lo and hi of a binary search have no useful interval), a halving candidate
 * also assumes that its locations stay within the hull of their values at
 * entry, and Z3 shows that assumption inductive on every path.
 *
 * Cost: every path is executed once per pass. A candidate must first have the
 * form its shape needs in the terms the symbolic executor built (a right
 * shift or a division in the halving quantity, the old B copied into the new
 * A, a constant difference for a counter), then a property false in the
 * path's model is refuted at no cost, the others go to the incremental solver with a
 * small resource limit and then, if it gives up, to a bit-blasting solver
 * with the full one (deterministic limits, so results do not depend on the
 * machine's load); at most RK_MAX_CHECKS checks per loop. "Unknown" is never
 * a proof.
 */
#include <capstone/capstone.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smt_exec.h"
#include "wcet_internal.h"

#define RK_MAX_PATHS    32
#define RK_MAX_LEN      64
#define RK_MAX_LOCS     40
#define RK_MAX_CHECKS   4000
/* a first try on the incremental solver with a small limit, then bit-blasting
 * with the full one */
#define RK_QUICK_RLIMIT 200000u

/* a location at the loop's header: a register read at w bits, or a stack slot */
typedef struct rloc {
    bool slot;
    int reg;
    int64_t off; /* from the entry stack pointer */
    int w;       /* bits */
} rloc;

enum { RK_HALVING, RK_EUCLID, RK_COUNTER };

typedef struct rcand {
    int kind;
    int x, y; /* indices of locations; y < 0: none (R = X) */
    bool ok;
    bool old_nz, new_nz; /* on every feasible path: R (B) != 0 before, after */
    bool step_known;
    int64_t step;
    bool c_known;
    int64_t c; /* the counter's limit */
    bool hull; /* assume X (and Y) in [hlo, hhi], signed, shown inductive */
    int64_t hlo, hhi;
} rcand;

typedef struct rsearch {
    wc_analyzer *an;
    const wc_cfg *cfg;
    const wc_vres *vr;
    int l, h;
    int paths[RK_MAX_PATHS][RK_MAX_LEN];
    int plen[RK_MAX_PATHS];
    int npaths;
    int visits;
    const char *fail;
    rloc loc[RK_MAX_LOCS];
    int nloc;
    rcand *cand;
    int ncand, capcand;
    int checks;
    int feasible;
    /* a model of the current path (its conditions hold in it), when model_ok:
     * a property false in it is refuted without a solver check */
    Z3_model model;
    bool model_ok;
} rsearch;

/* ---------- the paths around the loop ---------- */
static void paths_from(rsearch *rs, int b, int *cur, int depth) {
    const wc_loop *lp = &rs->cfg->loops[rs->l];
    if (rs->fail)
        return;
    if (depth >= RK_MAX_LEN || ++rs->visits > 64 * RK_MAX_PATHS) {
        rs->fail = depth >= RK_MAX_LEN ? "a path around the loop is too long"
                                       : "too many paths around the loop";
        return;
    }
    const wc_block *bb = &rs->cfg->blocks[b];
    if (bb->loop != rs->l) {
        rs->fail = "the body contains an inner loop";
        return;
    }
    if (bb->term == WC_T_SWITCH || bb->term == WC_T_IJMP) {
        rs->fail = "an indirect jump in the body";
        return;
    }
    cur[depth] = b;
    for (int k = 0; k < bb->nsucc && !rs->fail; k++) {
        int s = bb->succ[k];
        bool dup = false;
        for (int q = 0; q < k; q++)
            dup |= bb->succ[q] == s;
        if (dup || !lp->in[s])
            continue;
        if (s == rs->h) {
            if (rs->npaths >= RK_MAX_PATHS) {
                rs->fail = "too many paths around the loop";
                return;
            }
            memcpy(rs->paths[rs->npaths], cur, sizeof(int) * (size_t)(depth + 1));
            rs->plen[rs->npaths++] = depth + 1;
            continue;
        }
        paths_from(rs, s, cur, depth + 1);
    }
}

/* ---------- locations ---------- */
static int add_loc(rsearch *rs, bool slot, int reg, int64_t off, int w) {
    for (int i = 0; i < rs->nloc; i++)
        if (rs->loc[i].slot == slot && rs->loc[i].reg == reg && rs->loc[i].off == off &&
            rs->loc[i].w == w)
            return i;
    if (rs->nloc >= RK_MAX_LOCS)
        return -1;
    rs->loc[rs->nloc] = (rloc){slot, reg, off, w};
    return rs->nloc++;
}

/* the locations the loop may change: registers it writes, and the stack
 * slots (4 or 8 bytes) it stores to */
static void changed_locations(rsearch *rs) {
    const wc_loop *lp = &rs->cfg->loops[rs->l];
    uint32_t regs = 0;
    for (int k = 0; k < lp->nblocks; k++) {
        const wc_block *bb = &rs->cfg->blocks[lp->blocks[k]];
        wc_state vs = rs->vr->in[lp->blocks[k]];
        for (int i = 0; i < bb->n; i++) {
            const wc_insn *in = bb->insns[i];
            regs |= in->regs_written;
            if (in->kind == WC_I_CALL || in->kind == WC_I_ICALL)
                regs |= (1u << WC_RAX) | (1u << WC_RCX) | (1u << WC_RDX) | (1u << WC_RSI) |
                        (1u << WC_RDI) | (1u << WC_R8) | (1u << WC_R9) | (1u << WC_R10) |
                        (1u << WC_R11);
            int64_t off;
            if (in->nops >= 1 && in->ops[0].type == WC_OP_MEM && in->id != X86_INS_CMP &&
                in->id != X86_INS_TEST && vs.reached && wc_op_slot(&vs, &in->ops[0], &off) &&
                (in->ops[0].size == 4 || in->ops[0].size == 8))
                add_loc(rs, true, -1, off, in->ops[0].size * 8);
            if (vs.reached)
                wc_value_step(rs->an, &vs, in);
        }
    }
    for (int r = 0; r < WC_NREGS; r++)
        if (r != WC_RSP && (regs & (1u << r))) {
            add_loc(rs, false, r, 0, 32);
            add_loc(rs, false, r, 0, 64);
        }
}

static void loc_name(const rloc *l, char *buf, size_t n) {
    if (l->slot)
        snprintf(buf, n, "[sp%+lld]", (long long)l->off);
    else
        snprintf(buf, n, "%s", wc_reg_name(l->reg, l->w / 8));
}

/* the location's value in a symbolic state, NULL when the state lost it */
static Z3_ast loc_sym(sctx *x, const sstate *st, const rloc *l) {
    if (l->slot)
        return wc_sym_slot(st, l->off, l->w / 8);
    Z3_ast v = st->reg[l->reg];
    return l->w == 64 ? v : Z3_mk_extract(x->c, (unsigned)l->w - 1, 0, v);
}

/* Is the location's value after the path a fresh unknown (a call's result,
 * an unmodelled instruction), not its value before? Then no property of the
 * candidates relates the two: they are not tried (saves the solver's time). */
static bool clobbered(sctx *x, const sstate *old, const sstate *st, const rloc *l) {
    Z3_context c = x->c;
    Z3_ast a = loc_sym(x, st, l), b = loc_sym(x, old, l);
    if (!a || !b)
        return true;
    a = Z3_simplify(c, a);
    if (Z3_get_ast_kind(c, a) != Z3_APP_AST)
        return false;
    Z3_app app = Z3_to_app(c, a);
    if (Z3_get_decl_kind(c, Z3_get_app_decl(c, app)) == Z3_OP_EXTRACT) {
        a = Z3_get_app_arg(c, app, 0);
        if (Z3_get_ast_kind(c, a) != Z3_APP_AST)
            return false;
        app = Z3_to_app(c, a);
    }
    if (Z3_get_app_num_args(c, app) != 0 ||
        Z3_get_decl_kind(c, Z3_get_app_decl(c, app)) != Z3_OP_UNINTERPRETED)
        return false;
    /* a constant of its own: fresh unless it is a value of the state before */
    if (Z3_is_eq_ast(c, a, b))
        return false;
    for (int r = 0; r < WC_NREGS; r++)
        if (old->reg[r] && Z3_is_eq_ast(c, a, old->reg[r]))
            return false;
    for (int i = 0; i < old->nslots; i++)
        if (Z3_is_eq_ast(c, a, old->slot[i].v))
            return false;
    return true;
}

/* the location in the value analysis' state */
static bool loc_val(const wc_state *vs, const rloc *l, wc_val *v) {
    if (!l->slot) {
        *v = vs->reg[l->reg];
        return true;
    }
    for (int i = 0; i < vs->nslots; i++)
        if (vs->slot[i].off == l->off && vs->slot[i].size * 8 == l->w) {
            *v = vs->slot[i].v;
            return true;
        }
    return false;
}

static uint64_t umax_w(int w) {
    return w >= 64 ? UINT64_MAX : ((uint64_t)1 << w) - 1;
}

/* the largest unsigned value of Y - X (or X, y NULL) at width w in state vs */
static uint64_t diff_umax(const wc_state *vs, const rloc *x, const rloc *y) {
    int w = x->w;
    wc_val a, b;
    if (!loc_val(vs, x, &a) || a.top)
        return umax_w(w);
    if (!y) {
        uint64_t lo, hi;
        return wc_val_unsigned(&a, w, &lo, &hi) ? hi : umax_w(w);
    }
    if (!loc_val(vs, y, &b) || b.top)
        return umax_w(w);
    if (a.sym && a.sym == b.sym && a.symw >= w && b.symw >= w)
        return (uint64_t)(b.sc - a.sc) & umax_w(w); /* one symbol: a known difference */
    __int128 dlo, dhi;
    if (a.base != WC_B_NONE || b.base != WC_B_NONE) {
        if (a.base != b.base || w != 64)
            return umax_w(w);
        dlo = (__int128)b.lo - a.hi;
        dhi = (__int128)b.hi - a.lo;
    } else {
        int64_t alo, ahi, blo, bhi;
        if (!wc_val_signed(&a, w, &alo, &ahi) || !wc_val_signed(&b, w, &blo, &bhi))
            return umax_w(w);
        dlo = (__int128)blo - ahi;
        dhi = (__int128)bhi - alo;
    }
    __int128 span = (__int128)umax_w(w) + 1;
    if (dlo >= 0 && dhi < span)
        return (uint64_t)dhi;
    if (dhi < 0 && dlo >= -span)
        return (uint64_t)(dhi + span); /* every difference wraps to the same side */
    return umax_w(w);
}

/* ---------- Z3 ---------- */
/* Check the shared solver's assertions and `extra` with a solver for
 * bit-vector logic (bit-blasting), which decides these small arithmetic
 * questions far faster than the incremental solver; the same deterministic
 * resource limit. */
static Z3_lbool check_bv(sctx *x, Z3_ast extra) {
    Z3_context c = x->c;
    Z3_solver s = Z3_mk_solver_for_logic(c, Z3_mk_string_symbol(c, "QF_BV"));
    Z3_solver_inc_ref(c, s);
    Z3_params p = Z3_mk_params(c);
    Z3_params_inc_ref(c, p);
    Z3_params_set_uint(c, p, Z3_mk_string_symbol(c, "rlimit"), WC_SMT_RLIMIT);
    Z3_solver_set_params(c, s, p);
    Z3_params_dec_ref(c, p);
    Z3_ast_vector v = Z3_solver_get_assertions(c, x->s);
    Z3_ast_vector_inc_ref(c, v);
    for (unsigned i = 0; i < Z3_ast_vector_size(c, v); i++)
        Z3_solver_assert(c, s, Z3_ast_vector_get(c, v, i));
    Z3_ast_vector_dec_ref(c, v);
    if (extra)
        Z3_solver_assert(c, s, extra);
    Z3_lbool r = Z3_solver_check(c, s);
    Z3_solver_dec_ref(c, s);
    return r;
}

static void set_rlimit(sctx *x, unsigned limit) {
    Z3_params p = Z3_mk_params(x->c);
    Z3_params_inc_ref(x->c, p);
    Z3_params_set_uint(x->c, p, Z3_mk_string_symbol(x->c, "rlimit"), limit);
    Z3_solver_set_params(x->c, x->s, p);
    Z3_params_dec_ref(x->c, p);
}

/* is phi false in the path's model (a counterexample at no cost)? */
static bool refuted_by_model(rsearch *rs, sctx *x, Z3_ast phi) {
    Z3_ast r;
    return rs->model && rs->model_ok && Z3_model_eval(x->c, rs->model, phi, true, &r) &&
           Z3_get_bool_value(x->c, r) == Z3_L_FALSE;
}

/* is phi true on this path (in every state its constraints allow)? */
static bool valid(rsearch *rs, sctx *x, Z3_ast phi) {
    if (refuted_by_model(rs, x, phi))
        return false;
    rs->checks++;
    /* the incremental solver first (most questions are easy), bit-blasting
     * when it gives up */
    Z3_solver_push(x->c, x->s);
    Z3_solver_assert(x->c, x->s, Z3_mk_not(x->c, phi));
    set_rlimit(x, RK_QUICK_RLIMIT);
    Z3_lbool r = Z3_solver_check(x->c, x->s);
    set_rlimit(x, WC_SMT_RLIMIT);
    Z3_solver_pop(x->c, x->s, 1);
    if (r == Z3_L_UNDEF)
        r = check_bv(x, Z3_mk_not(x->c, phi));
    return r == Z3_L_FALSE;
}

static Z3_ast kst(sctx *x, int64_t v, int w) {
    return Z3_mk_int64(x->c, v, Z3_mk_bv_sort(x->c, (unsigned)w));
}

static int64_t smin_w(int w) {
    return w >= 64 ? INT64_MIN : -((int64_t)1 << (w - 1));
}
static int64_t smax_w(int w) {
    return w >= 64 ? INT64_MAX : ((int64_t)1 << (w - 1)) - 1;
}

static rcand *add_cand(rsearch *rs, int kind, int x, int y) {
    WC_GROW(rs->cand, rs->ncand, rs->capcand);
    rcand *c = &rs->cand[rs->ncand++];
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->x = x;
    c->y = y;
    c->ok = true;
    c->old_nz = c->new_nz = true;
    return c;
}

/* A halving candidate that also assumes its locations stay within the hull
 * of their values at entry (signed): binary search keeps lo and hi within
 * [0, n], which the value analysis alone does not show. The assumption is
 * checked on every path (inductive: within the hull before, within it
 * after), and holds at entry by construction. */
static void add_hull_cand(rsearch *rs, const wc_state *init, int x, int y) {
    const rloc *lx = &rs->loc[x];
    wc_val v;
    int64_t lo, hi, a, b;
    if (!loc_val(init, lx, &v) || !wc_val_signed(&v, lx->w, &lo, &hi))
        return;
    if (y >= 0) {
        if (!loc_val(init, &rs->loc[y], &v) || !wc_val_signed(&v, lx->w, &a, &b))
            return;
        lo = a < lo ? a : lo;
        hi = b > hi ? b : hi;
    }
    rcand *c = add_cand(rs, RK_HALVING, x, y);
    c->hull = true;
    c->hlo = lo;
    c->hhi = hi;
}

/* Largest c (s < 0; smallest for s > 0) such that X >= c (X <= c) on this
 * path, signed, by bisection within the value analysis' range at the header. */
static bool counter_limit(rsearch *rs, sctx *x, Z3_ast xv, const rloc *l, int64_t s,
                          int64_t *cout) {
    int w = l->w;
    int64_t lo = smin_w(w), hi = smax_w(w);
    wc_val v;
    if (loc_val(&rs->vr->in[rs->h], l, &v)) {
        int64_t a, b;
        if (wc_val_signed(&v, w, &a, &b)) {
            lo = a;
            hi = b;
        }
    }
    /* a limit that lets X wrap around is no limit: is there one at all? */
    int64_t edge = s < 0 ? smin_w(w) - s : smax_w(w) - s;
    if (!valid(rs, x,
               s < 0 ? Z3_mk_bvsge(x->c, xv, kst(x, edge, w))
                     : Z3_mk_bvsle(x->c, xv, kst(x, edge, w))))
        return false;
    /* s < 0: the largest c in [lo, hi] with X >= c on the path (s > 0: the
     * smallest with X <= c); the answer is checked, not taken from the range */
    while (lo < hi) {
        if (rs->checks >= RK_MAX_CHECKS)
            return false;
        int64_t mid = s < 0 ? (int64_t)(lo + ((__int128)hi - lo + 1) / 2)
                            : (int64_t)(lo + ((__int128)hi - lo) / 2);
        Z3_ast k = kst(x, mid, w);
        bool p = valid(rs, x, s < 0 ? Z3_mk_bvsge(x->c, xv, k) : Z3_mk_bvsle(x->c, xv, k));
        if (s < 0) {
            if (p)
                lo = mid;
            else
                hi = mid - 1;
        } else {
            if (p)
                hi = mid;
            else
                lo = mid + 1;
        }
    }
    Z3_ast k = kst(x, lo, w);
    if (!valid(rs, x, s < 0 ? Z3_mk_bvsge(x->c, xv, k) : Z3_mk_bvsle(x->c, xv, k)))
        return false;
    *cout = lo;
    return true;
}

/* Does term t contain a right shift or a division (how a quantity halves)?
 * A look at the terms as the symbolic executor built them, before Z3 proves
 * anything: most candidates fail it at no cost. At most `budget` nodes. */
static bool has_halving_op(Z3_context c, Z3_ast t, int *budget) {
    if (--*budget < 0 || Z3_get_ast_kind(c, t) != Z3_APP_AST)
        return false;
    Z3_app a = Z3_to_app(c, t);
    switch (Z3_get_decl_kind(c, Z3_get_app_decl(c, a))) {
    case Z3_OP_BLSHR:
    case Z3_OP_BASHR:
    case Z3_OP_BUDIV:
    case Z3_OP_BSDIV:
    case Z3_OP_BUDIV_I:
    case Z3_OP_BSDIV_I:
        return true;
    default:
        break;
    }
    for (unsigned i = 0; i < Z3_get_app_num_args(c, a); i++)
        if (has_halving_op(c, Z3_get_app_arg(c, a, i), budget))
            return true;
    return false;
}

/* What candidate cd needs of one path (its state before, old, and after, st,
 * with the path's conditions asserted): pass 0 the halving, Euclid's
 * recurrence or the counter's step, pass 1 the counter's limit. False when
 * the path breaks it. */
static bool check_cand(rsearch *rs, sctx *x, rcand *cd, const sstate *old, const sstate *st,
                       int pass) {
    Z3_context c = x->c;
    const rloc *lx = &rs->loc[cd->x], *ly = cd->y >= 0 ? &rs->loc[cd->y] : NULL;
    int w = lx->w;
    Z3_ast x0 = loc_sym(x, old, lx), x1 = loc_sym(x, st, lx);
    Z3_ast y0 = ly ? loc_sym(x, old, ly) : NULL, y1 = ly ? loc_sym(x, st, ly) : NULL;
    if (!x0 || !x1 || (ly && (!y0 || !y1)))
        return false;
    Z3_ast zero = kst(x, 0, w);
    if (cd->kind == RK_HALVING) {
        if (pass != 0)
            return true;
        Z3_ast r0 = ly ? Z3_mk_bvsub(c, y0, x0) : x0, r1 = ly ? Z3_mk_bvsub(c, y1, x1) : x1;
        int budget = 4000;
        if (!has_halving_op(c, r1, &budget) ||
            !valid(rs, x, Z3_mk_bvule(c, r1, Z3_mk_bvlshr(c, r0, kst(x, 1, w)))))
            return false;
        if (cd->old_nz)
            cd->old_nz = valid(rs, x, Z3_mk_not(c, Z3_mk_eq(c, r0, zero)));
        if (cd->new_nz)
            cd->new_nz = valid(rs, x, Z3_mk_not(c, Z3_mk_eq(c, r1, zero)));
        return cd->old_nz || cd->new_nz;
    }
    if (cd->kind == RK_EUCLID) {
        if (pass != 0)
            return true;
        /* x is A, y is B: (A, B) becomes (B, A mod B), with B != 0 (the new A
         * must be the old B as a term: a copy through registers or slots) */
        if (!Z3_is_eq_ast(c, Z3_simplify(c, x1), Z3_simplify(c, y0)) ||
            !valid(rs, x, Z3_mk_not(c, Z3_mk_eq(c, y0, zero))) ||
            !valid(rs, x, Z3_mk_eq(c, y1, Z3_mk_bvurem(c, x0, y0))))
            return false;
        if (cd->new_nz)
            cd->new_nz = valid(rs, x, Z3_mk_not(c, Z3_mk_eq(c, y1, zero)));
        return true;
    }
    if (pass == 0) {
        /* the counter: the same nonzero step on every path, as a term (new -
         * old simplifies to a constant) */
        Z3_ast d = Z3_simplify(c, Z3_mk_bvsub(c, x1, x0));
        uint64_t u;
        if (!Z3_is_numeral_ast(c, d) || !Z3_get_numeral_uint64(c, d, &u))
            return false;
        int64_t sv = wc_sext(u, w);
        if (sv == 0 || (cd->step_known && sv != cd->step))
            return false;
        cd->step = sv;
        cd->step_known = true;
        return true;
    }
    int64_t lim;
    if (!counter_limit(rs, x, x0, lx, cd->step, &lim))
        return false;
    if (!cd->c_known || (cd->step < 0 ? lim < cd->c : lim > cd->c))
        cd->c = lim;
    cd->c_known = true;
    return true;
}

/* the hull assumption of a candidate: its locations within [hlo, hhi] in state st */
static Z3_ast in_hull(sctx *x, const rsearch *rs, const rcand *cd, const sstate *st) {
    Z3_context c = x->c;
    const rloc *lx = &rs->loc[cd->x], *ly = cd->y >= 0 ? &rs->loc[cd->y] : NULL;
    int w = lx->w;
    Z3_ast lo = kst(x, cd->hlo, w), hi = kst(x, cd->hhi, w);
    Z3_ast v[2] = {loc_sym(x, st, lx), ly ? loc_sym(x, st, ly) : NULL};
    Z3_ast t[4];
    int n = 0;
    for (int i = 0; i < 2; i++)
        if (v[i]) {
            t[n++] = Z3_mk_bvsge(c, v[i], lo);
            t[n++] = Z3_mk_bvsle(c, v[i], hi);
        }
    return n ? Z3_mk_and(c, (unsigned)n, t) : NULL;
}

/* One path: its feasibility, then what each candidate needs of it. */
static void one_path(rsearch *rs, int p, int pass) {
    sctx x;
    wc_sym_open(&x, rs->an);
    x.div_completes = true; /* every path goes on past its divisions, to the back edge */
    Z3_context c = x.c;
    sstate old;
    wc_sym_state(&x, &old, &rs->vr->in[rs->h]);
    for (int i = 0; i < rs->nloc; i++) /* slots the value analysis has no value for */
        if (rs->loc[i].slot)
            wc_sym_slot_fresh(&x, &old, rs->loc[i].off, rs->loc[i].w / 8);
    sstate st = old;
    int n = rs->plen[p];
    for (int i = 0; i < n; i++) {
        int b = rs->paths[p][i];
        wc_sym_block(&x, &st, rs->cfg, rs->vr, b);
        Z3_solver_assert(c, x.s,
                         wc_sym_edge(&x, &st, rs->cfg, b, i + 1 < n ? rs->paths[p][i + 1] : rs->h));
    }
    rs->checks++;
    Z3_lbool feas = Z3_solver_check(c, x.s);
    if (feas == Z3_L_FALSE) {
        wc_sym_close(&x); /* no back edge along this path */
        return;
    }
    rs->model = feas == Z3_L_TRUE ? Z3_solver_get_model(c, x.s) : NULL;
    if (rs->model)
        Z3_model_inc_ref(c, rs->model);
    if (pass == 0)
        rs->feasible++;
    bool clob[RK_MAX_LOCS];
    for (int i = 0; i < rs->nloc; i++)
        clob[i] = clobbered(&x, &old, &st, &rs->loc[i]);
    for (int i = 0; i < rs->ncand; i++) {
        rcand *cd = &rs->cand[i];
        if (cd->ok && (clob[cd->x] || (cd->y >= 0 && clob[cd->y])))
            cd->ok = false;
        if (!cd->ok)
            continue;
        if (rs->checks >= RK_MAX_CHECKS) {
            cd->ok = false;
            continue;
        }
        if (!cd->hull) {
            rs->model_ok = true;
            cd->ok = check_cand(rs, &x, cd, &old, &st, pass);
            continue;
        }
        /* within the hull before the path (the induction's hypothesis), and after it */
        Z3_ast h0 = in_hull(&x, rs, cd, &old), h1 = in_hull(&x, rs, cd, &st);
        if (!h0 || !h1) {
            cd->ok = false;
            continue;
        }
        Z3_solver_push(c, x.s);
        Z3_ast hv;
        rs->model_ok = rs->model && Z3_model_eval(c, rs->model, h0, true, &hv) &&
                       Z3_get_bool_value(c, hv) == Z3_L_TRUE;
        Z3_solver_assert(c, x.s, h0);
        cd->ok = valid(rs, &x, h1) && check_cand(rs, &x, cd, &old, &st, pass);
        Z3_solver_pop(c, x.s, 1);
    }
    if (getenv("WCET_DEBUG"))
        for (int i = 0; i < rs->ncand; i++) {
            rcand *cd = &rs->cand[i];
            if (!cd->ok)
                continue;
            char a[32], b[32] = "-";
            loc_name(&rs->loc[cd->x], a, sizeof a);
            if (cd->y >= 0)
                loc_name(&rs->loc[cd->y], b, sizeof b);
            fprintf(stderr,
                    "rank: path %d pass %d: kind %d %s %s%s holds (nonzero %d %d, step %lld, limit "
                    "%lld)\n",
                    p, pass, cd->kind, a, b, cd->hull ? " in its hull" : "", cd->old_nz, cd->new_nz,
                    (long long)cd->step, (long long)cd->c);
        }
    if (rs->model)
        Z3_model_dec_ref(c, rs->model);
    rs->model = NULL;
    wc_sym_close(&x);
}

/* the largest L with F(L + 1) <= m (F(1) = F(2) = 1) */
static uint64_t fib_terms(uint64_t m) {
    uint64_t a = 1, b = 1; /* F(L), F(L + 1) for L = 1 */
    uint64_t L = 0;
    while (b <= m) {
        L++;
        if (a > UINT64_MAX - b)
            break;
        uint64_t t = a + b;
        a = b;
        b = t;
    }
    return L;
}

static uint64_t floor_log2(uint64_t v) {
    uint64_t r = 0;
    while (v >>= 1)
        r++;
    return r;
}

bool wc_rank_loop_bound(wc_analyzer *an, const wc_cfg *cfg, const wc_vres *vr, int l, uint64_t *max,
                        char **how) {
    *how = NULL;
    const wc_loop *lp = &cfg->loops[l];
    if (cfg->irreducible || !vr->in[lp->header].reached)
        return false;
    rsearch *rs = wc_xcalloc(1, sizeof *rs);
    rs->an = an;
    rs->cfg = cfg;
    rs->vr = vr;
    rs->l = l;
    rs->h = lp->header;
    bool found = false;
    wc_state init;
    int cur[RK_MAX_LEN];
    paths_from(rs, rs->h, cur, 0);
    if (rs->fail || rs->npaths == 0) {
        *how = wc_fmt("ranking: %s", rs->fail ? rs->fail : "no path around the loop");
        goto out;
    }
    if (!wc_loop_entry_state(an, cfg, vr, l, &init)) {
        *how = wc_xstrdup("ranking: no state at the loop's entry");
        goto out;
    }
    changed_locations(rs);
    for (int i = 0; i < rs->nloc; i++) {
        add_cand(rs, RK_HALVING, i, -1);
        add_hull_cand(rs, &init, i, -1);
        wc_val xv;
        int64_t x0lo, x0hi;
        if (loc_val(&init, &rs->loc[i], &xv) && wc_val_signed(&xv, rs->loc[i].w, &x0lo, &x0hi))
            add_cand(rs, RK_COUNTER, i, -1); /* a counter needs a known value at entry */
        for (int j = 0; j < rs->nloc; j++)
            if (j != i && rs->loc[j].w == rs->loc[i].w) {
                add_cand(rs, RK_HALVING, i, j);
                add_hull_cand(rs, &init, i, j);
                add_cand(rs, RK_EUCLID, i, j);
            }
    }
    for (int p = 0; p < rs->npaths; p++)
        one_path(rs, p, 0);
    if (rs->feasible == 0) {
        *max = 0;
        *how = wc_fmt("Z3: none of the %d paths around the loop can be taken", rs->npaths);
        found = true;
        goto out;
    }
    bool counters = false;
    for (int i = 0; i < rs->ncand; i++)
        counters |= rs->cand[i].ok && rs->cand[i].kind == RK_COUNTER;
    if (counters)
        for (int p = 0; p < rs->npaths; p++)
            one_path(rs, p, 1);
    uint64_t best = 0;
    int bi = -1;
    char desc[400] = "";
    for (int i = 0; i < rs->ncand; i++) {
        rcand *cd = &rs->cand[i];
        if (!cd->ok)
            continue;
        const rloc *lx = &rs->loc[cd->x], *ly = cd->y >= 0 ? &rs->loc[cd->y] : NULL;
        char nx[32], ny[32] = "";
        loc_name(lx, nx, sizeof nx);
        if (ly)
            loc_name(ly, ny, sizeof ny);
        uint64_t k;
        char d[400];
        if (cd->kind == RK_HALVING) {
            uint64_t r0 = diff_umax(&init, lx, ly);
            k = r0 == 0 ? 0 : floor_log2(r0) + (cd->new_nz ? 0 : 1);
            char rn[80];
            if (ly)
                snprintf(rn, sizeof rn, "%s - %s", ny, nx);
            else
                snprintf(rn, sizeof rn, "%s", nx);
            char hull[96] = "";
            if (cd->hull)
                snprintf(hull, sizeof hull, " (with %s%s%s within [%lld, %lld], inductive)", nx,
                         ly ? " and " : "", ny, (long long)cd->hlo, (long long)cd->hhi);
            snprintf(d, sizeof d,
                     "halving (Z3, %d paths): R = %s (%d-bit, unsigned) at least halves on every "
                     "path around the loop%s, which goes on only while %s != 0; R <= %llu at entry",
                     rs->npaths, rn, lx->w, hull, cd->new_nz ? "the new R" : "R",
                     (unsigned long long)r0);
        } else if (cd->kind == RK_EUCLID) {
            wc_val bv;
            uint64_t bmax = umax_w(lx->w), blo, bhi;
            if (loc_val(&init, ly, &bv) && wc_val_unsigned(&bv, lx->w, &blo, &bhi))
                bmax = bhi;
            uint64_t terms = fib_terms(bmax);
            k = cd->new_nz ? (terms ? terms - 1 : 0) : terms;
            snprintf(d, sizeof d,
                     "Euclid's recurrence (Z3, %d paths): every path maps (%s, %s) to (%s, %s mod "
                     "%s) and needs %s != 0%s; %s <= %llu at entry, so by Lame's theorem at most "
                     "%llu nonzero remainders (F(%llu) <= %llu)",
                     rs->npaths, nx, ny, ny, nx, ny, ny, cd->new_nz ? " before and after" : "", ny,
                     (unsigned long long)bmax, (unsigned long long)terms,
                     (unsigned long long)terms + 1, (unsigned long long)bmax);
        } else {
            if (!cd->c_known)
                continue;
            int w = lx->w;
            int64_t s = cd->step, c = cd->c;
            /* no wrap-around: c + s stays within the width */
            if (s < 0 ? c < smin_w(w) - s : c > smax_w(w) - s)
                continue;
            wc_val xv;
            int64_t x0lo, x0hi;
            if (!loc_val(&init, lx, &xv) || !wc_val_signed(&xv, w, &x0lo, &x0hi))
                continue;
            uint64_t as = (uint64_t)(s < 0 ? -s : s);
            if (s < 0)
                k = x0hi < c ? 0 : (uint64_t)(((__int128)x0hi - c) / as) + 1;
            else
                k = x0lo > c ? 0 : (uint64_t)(((__int128)c - x0lo) / as) + 1;
            snprintf(d, sizeof d,
                     "counted on every path (Z3, %d paths): %s steps by %+lld and every path back "
                     "to the header needs %s %s %lld (signed); %s in [%lld, %lld] at entry",
                     rs->npaths, nx, (long long)s, nx, s < 0 ? ">=" : "<=", (long long)c, nx,
                     (long long)x0lo, (long long)x0hi);
        }
        if (bi < 0 || k < best) {
            best = k;
            bi = i;
            snprintf(desc, sizeof desc, "%s", d);
        }
    }
    if (bi >= 0) {
        *max = best;
        *how = wc_fmt("%s: at most %llu back edges", desc, (unsigned long long)best);
        found = true;
    } else
        *how = wc_fmt("ranking: no quantity halves, follows Euclid's recurrence or counts to a "
                      "limit on all %d paths (Z3, %d checks)",
                      rs->npaths, rs->checks);
out:
    if (getenv("WCET_DEBUG"))
        fprintf(stderr,
                "rank: loop %d of %s: %d paths, %d locations, %d candidates, %d checks: %s\n", l,
                cfg->name, rs->npaths, rs->nloc, rs->ncand, rs->checks, *how ? *how : "");
    free(rs->cand);
    free(rs);
    return found;
}
