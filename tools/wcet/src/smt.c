/*
 * smt.c - Z3: a symbolic executor for x86-64 basic blocks (registers as 64-bit
 * bit-vectors, stack slots, the flags of the last compare or arithmetic
 * instruction), used for two questions, as in the seL4 timing analysis:
 *
 *  - Is iteration N of a loop reachable? For a loop whose body is one path
 *    (every branch but the back edge leaves the loop), unroll N iterations
 *    from the loop's entry state (the value analysis' ranges and equalities,
 *    as constraints) and ask whether all N back edges can be taken. The bound
 *    is the largest N found satisfiable, by doubling then bisection. This
 *    bounds loops whose exit depends on bits, shifts or derived variables.
 *  - Is a path through the loop-free part of a function feasible? (the
 *    infeasible-path refinement of the IPET solution).
 *
 * Anything not modelled becomes a fresh unconstrained value: more paths seem
 * feasible, never fewer, so every answer "unreachable" is sound. A solver
 * check that hits its resource limit counts as "reachable".
 */
#include <capstone/capstone.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <z3.h>

#include "wcet_internal.h"

/* Each check has a deterministic resource limit (Z3's rlimit), so that the
 * results do not depend on the machine's load; past it the answer is
 * "unknown", which is always the safe answer. A wall-time budget per question
 * only guards against pathological cases. */
#ifndef SMT_RLIMIT
#define SMT_RLIMIT 4000000u
#endif
#define SMT_BUDGET_SECONDS 20.0

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

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
} sctx;

static Z3_sort bv(sctx *x, int w) {
    return Z3_mk_bv_sort(x->c, (unsigned)w);
}
static Z3_ast fresh(sctx *x, int w) {
    char nm[32];
    snprintf(nm, sizeof nm, "f%d", x->fresh++);
    return Z3_mk_fresh_const(x->c, nm, bv(x, w));
}
static Z3_ast cst(sctx *x, int64_t v, int w) {
    return Z3_mk_int64(x->c, v, bv(x, w));
}
static Z3_ast lowbits(sctx *x, Z3_ast v, int w) {
    return w == 64 ? v : Z3_mk_extract(x->c, (unsigned)w - 1, 0, v);
}
static Z3_ast fresh_bool(sctx *x) {
    char nm[32];
    snprintf(nm, sizeof nm, "b%d", x->fresh++);
    return Z3_mk_fresh_const(x->c, nm, Z3_mk_bool_sort(x->c));
}

static int slot_idx(const sstate *st, int64_t off, int size) {
    for (int i = 0; i < st->nslots; i++)
        if (st->slot[i].off == off && st->slot[i].size == size)
            return i;
    return -1;
}

static void slot_kill(sstate *st, int64_t lo, int64_t hi) {
    int k = 0;
    for (int i = 0; i < st->nslots; i++)
        if (!(st->slot[i].off < hi && st->slot[i].off + st->slot[i].size > lo))
            st->slot[k++] = st->slot[i];
    st->nslots = k;
}

static void slot_put(sstate *st, int64_t off, int size, Z3_ast v) {
    slot_kill(st, off, off + size);
    if (st->nslots >= WC_MAX_SLOTS)
        return;
    st->slot[st->nslots].off = off;
    st->slot[st->nslots].size = size;
    st->slot[st->nslots].v = v;
    st->nslots++;
}

/* the stack slot a memory operand addresses, when rsp/rbp are known offsets */
static bool mem_slot(sctx *x, const sstate *st, const wc_state *vs, const wc_op *op, int64_t *off) {
    (void)x;
    (void)st;
    return vs && vs->reached && wc_op_slot(vs, op, off);
}

static Z3_ast rd(sctx *x, sstate *st, const wc_state *vs, const wc_op *op, uint64_t nip) {
    int w = op->size ? op->size * 8 : 64;
    switch (op->type) {
    case WC_OP_IMM:
        return cst(x, op->imm, w);
    case WC_OP_REG:
        if (op->reg < 0 || op->reg >= WC_NREGS)
            return fresh(x, w);
        if (op->high8)
            return Z3_mk_extract(x->c, 15, 8, st->reg[op->reg]);
        return lowbits(x, st->reg[op->reg], w);
    case WC_OP_MEM: {
        int64_t off;
        if (mem_slot(x, st, vs, op, &off)) {
            int i = slot_idx(st, off, op->size);
            if (i >= 0)
                return st->slot[i].v;
            Z3_ast v = fresh(x, w);
            slot_put(st, off, op->size, v);
            return v;
        }
        /* read-only data at a constant address */
        wc_val a = wc_read_op(vs, op, nip);
        int64_t lo, hi;
        if (vs && vs->reached && wc_val_signed(&a, w, &lo, &hi) && lo == hi)
            return cst(x, lo, w);
        return fresh(x, w);
    }
    default:
        return fresh(x, w);
    }
}

static void wr(sctx *x, sstate *st, const wc_state *vs, const wc_op *op, Z3_ast v) {
    int w = op->size * 8;
    if (op->type == WC_OP_REG) {
        if (op->reg < 0 || op->reg >= WC_NREGS)
            return;
        Z3_ast old = st->reg[op->reg];
        if (op->high8)
            st->reg[op->reg] = Z3_mk_concat(x->c, Z3_mk_extract(x->c, 63, 16, old),
                                            Z3_mk_concat(x->c, v, Z3_mk_extract(x->c, 7, 0, old)));
        else if (w == 64)
            st->reg[op->reg] = v;
        else if (w == 32)
            st->reg[op->reg] = Z3_mk_zero_ext(x->c, 32, v);
        else
            st->reg[op->reg] = Z3_mk_concat(x->c, Z3_mk_extract(x->c, 63, (unsigned)w, old), v);
        return;
    }
    if (op->type == WC_OP_MEM) {
        int64_t off;
        if (mem_slot(x, st, vs, op, &off)) {
            slot_put(st, off, op->size, v);
            return;
        }
        /* a store elsewhere: only escaped slots may change */
        if (st->esc_lo != INT64_MAX)
            slot_kill(st, st->esc_lo, INT64_MAX);
        if (vs && vs->esc_lo != INT64_MAX)
            slot_kill(st, vs->esc_lo, INT64_MAX);
    }
}

static void setf(sstate *st, int kind, int w, Z3_ast a, Z3_ast b, Z3_ast r) {
    st->fkind = kind;
    st->fw = w;
    st->fa = a;
    st->fb = b;
    st->fr = r;
}

/* the condition cc under the current flags (a fresh boolean when unknown) */
static Z3_ast cond(sctx *x, const sstate *st, int cc) {
    Z3_context c = x->c;
    if (cc < 0 || cc > WC_CC_G || st->fkind == 0)
        return fresh_bool(x);
    int base = cc & ~1;
    bool neg = cc & 1;
    Z3_ast r = NULL;
    if (st->fkind == 1) {
        Z3_ast a = st->fa, b = st->fb;
        switch (base) {
        case WC_CC_B:
            r = Z3_mk_bvult(c, a, b);
            break;
        case WC_CC_E:
            r = Z3_mk_eq(c, a, b);
            break;
        case WC_CC_BE:
            r = Z3_mk_bvule(c, a, b);
            break;
        case WC_CC_S:
            r = Z3_mk_bvslt(c, Z3_mk_bvsub(c, a, b), cst(x, 0, st->fw));
            break;
        case WC_CC_L:
            r = Z3_mk_bvslt(c, a, b);
            break;
        case WC_CC_LE:
            r = Z3_mk_bvsle(c, a, b);
            break;
        default:
            break;
        }
    } else {
        Z3_ast z = cst(x, 0, st->fw), v = st->fr;
        bool logic = st->fkind == 2;
        switch (base) {
        case WC_CC_E:
            r = Z3_mk_eq(c, v, z);
            break;
        case WC_CC_S:
            r = Z3_mk_bvslt(c, v, z);
            break;
        case WC_CC_L:
            if (logic)
                r = Z3_mk_bvslt(c, v, z);
            break;
        case WC_CC_LE:
            if (logic)
                r = Z3_mk_bvsle(c, v, z);
            break;
        case WC_CC_B:
            if (logic)
                r = Z3_mk_false(c);
            else if (st->fkind == 3)
                r = Z3_mk_bvult(c, v, st->fa);
            break;
        case WC_CC_BE:
            if (logic)
                r = Z3_mk_eq(c, v, z);
            break;
        default:
            break;
        }
    }
    if (!r)
        return fresh_bool(x);
    return neg ? Z3_mk_not(c, r) : r;
}

static void clobber_regs(sctx *x, sstate *st, uint32_t mask) {
    for (int r = 0; r < WC_NREGS; r++)
        if (mask & (1u << r))
            st->reg[r] = fresh(x, 64);
}

/* one instruction; vs is the value-analysis state before it (for slot addresses) */
static void step(sctx *x, sstate *st, const wc_state *vs, const wc_insn *in) {
    Z3_context c = x->c;
    uint64_t nip = in->addr + in->size;
    const wc_op *o0 = &in->ops[0], *o1 = &in->ops[1];
    int w = o0->size * 8;
    Z3_ast a, b, r;
    switch (in->id) {
    case X86_INS_NOP:
    case X86_INS_ENDBR64:
        return;
    case X86_INS_MOV:
    case X86_INS_MOVABS:
        if (in->nops == 2 && (o0->type != WC_OP_REG || o0->reg >= 0)) {
            wr(x, st, vs, o0, rd(x, st, vs, o1, nip));
            return;
        }
        break;
    case X86_INS_MOVZX:
    case X86_INS_MOVSX:
    case X86_INS_MOVSXD:
        if (in->nops == 2 && o0->type == WC_OP_REG && o0->reg >= 0) {
            a = rd(x, st, vs, o1, nip);
            unsigned ext = (unsigned)(w - o1->size * 8);
            r = ext == 0                  ? a
                : in->id == X86_INS_MOVZX ? Z3_mk_zero_ext(c, ext, a)
                                          : Z3_mk_sign_ext(c, ext, a);
            wr(x, st, vs, o0, r);
            return;
        }
        break;
    case X86_INS_CDQE:
        st->reg[WC_RAX] = Z3_mk_sign_ext(c, 32, lowbits(x, st->reg[WC_RAX], 32));
        return;
    case X86_INS_LEA:
        if (in->nops == 2 && o1->type == WC_OP_MEM && !o1->seg && o0->reg >= 0) {
            Z3_ast ad = o1->base == WC_RIP ? cst(x, (int64_t)(nip + (uint64_t)o1->disp), 64)
                                           : cst(x, o1->disp, 64);
            if (o1->base >= 0 && o1->base < WC_NREGS)
                ad = Z3_mk_bvadd(c, ad, st->reg[o1->base]);
            else if (o1->base != WC_R_NONE && o1->base != WC_RIP)
                ad = fresh(x, 64);
            if (o1->index >= 0 && o1->index < WC_NREGS)
                ad = Z3_mk_bvadd(c, ad, Z3_mk_bvmul(c, st->reg[o1->index], cst(x, o1->scale, 64)));
            else if (o1->index != WC_R_NONE)
                ad = fresh(x, 64);
            wr(x, st, vs, o0, lowbits(x, ad, w));
            return;
        }
        break;
    case X86_INS_ADD:
    case X86_INS_SUB:
    case X86_INS_AND:
    case X86_INS_OR:
    case X86_INS_XOR:
    case X86_INS_IMUL:
        if (in->nops == 2 && (o0->type != WC_OP_REG || o0->reg >= 0)) {
            a = rd(x, st, vs, o0, nip);
            b = rd(x, st, vs, o1, nip);
            if (o1->size != o0->size)
                b = Z3_mk_sign_ext(c, (unsigned)(w - o1->size * 8), b);
            switch (in->id) {
            case X86_INS_ADD:
                r = Z3_mk_bvadd(c, a, b);
                setf(st, 3, w, a, b, r);
                break;
            case X86_INS_SUB:
                r = Z3_mk_bvsub(c, a, b);
                setf(st, 1, w, a, b, r);
                break;
            case X86_INS_AND:
                r = Z3_mk_bvand(c, a, b);
                setf(st, 2, w, a, b, r);
                break;
            case X86_INS_OR:
                r = Z3_mk_bvor(c, a, b);
                setf(st, 2, w, a, b, r);
                break;
            case X86_INS_XOR:
                r = Z3_mk_bvxor(c, a, b);
                setf(st, 2, w, a, b, r);
                break;
            default:
                r = Z3_mk_bvmul(c, a, b);
                st->fkind = 0;
                break;
            }
            wr(x, st, vs, o0, r);
            return;
        }
        if (in->id == X86_INS_IMUL && in->nops == 3 && in->ops[2].type == WC_OP_IMM) {
            a = rd(x, st, vs, o1, nip);
            wr(x, st, vs, o0, Z3_mk_bvmul(c, a, cst(x, in->ops[2].imm, w)));
            st->fkind = 0;
            return;
        }
        break;
    case X86_INS_INC:
    case X86_INS_DEC:
    case X86_INS_NEG:
    case X86_INS_NOT:
        if (in->nops == 1 && (o0->type != WC_OP_REG || o0->reg >= 0)) {
            a = rd(x, st, vs, o0, nip);
            if (in->id == X86_INS_INC)
                r = Z3_mk_bvadd(c, a, cst(x, 1, w));
            else if (in->id == X86_INS_DEC)
                r = Z3_mk_bvsub(c, a, cst(x, 1, w));
            else if (in->id == X86_INS_NEG)
                r = Z3_mk_bvneg(c, a);
            else
                r = Z3_mk_bvnot(c, a);
            if (in->id != X86_INS_NOT)
                setf(st, 4, w, a, a, r);
            wr(x, st, vs, o0, r);
            return;
        }
        break;
    case X86_INS_SHL:
    case X86_INS_SAL:
    case X86_INS_SHR:
    case X86_INS_SAR:
        if ((o0->type != WC_OP_REG || o0->reg >= 0)) {
            a = rd(x, st, vs, o0, nip);
            int64_t k = 1;
            bool konst = true;
            if (in->nops == 2 && o1->type == WC_OP_IMM)
                k = o1->imm;
            else if (in->nops == 2)
                konst = false;
            if (!konst) {
                /* shift by cl */
                b = Z3_mk_bvand(c, Z3_mk_zero_ext(c, (unsigned)w - 8, rd(x, st, vs, o1, nip)),
                                cst(x, w == 64 ? 63 : 31, w));
                r = in->id == X86_INS_SHR   ? Z3_mk_bvlshr(c, a, b)
                    : in->id == X86_INS_SAR ? Z3_mk_bvashr(c, a, b)
                                            : Z3_mk_bvshl(c, a, b);
                st->fkind = 0; /* a zero count leaves the flags */
                wr(x, st, vs, o0, r);
                return;
            }
            k &= w == 64 ? 63 : 31;
            b = cst(x, k, w);
            r = in->id == X86_INS_SHR   ? Z3_mk_bvlshr(c, a, b)
                : in->id == X86_INS_SAR ? Z3_mk_bvashr(c, a, b)
                                        : Z3_mk_bvshl(c, a, b);
            if (k)
                setf(st, 4, w, a, b, r);
            wr(x, st, vs, o0, r);
            return;
        }
        break;
    case X86_INS_CMP:
        if (in->nops == 2) {
            a = rd(x, st, vs, o0, nip);
            b = rd(x, st, vs, o1, nip);
            if (o1->size != o0->size)
                b = Z3_mk_sign_ext(c, (unsigned)(w - o1->size * 8), b);
            setf(st, 1, w, a, b, NULL);
            return;
        }
        break;
    case X86_INS_TEST:
        if (in->nops == 2) {
            a = rd(x, st, vs, o0, nip);
            b = rd(x, st, vs, o1, nip);
            setf(st, 2, w, a, b, Z3_mk_bvand(c, a, b));
            return;
        }
        break;
    case X86_INS_PUSH:
        if (vs && vs->reached) {
            wc_val sp = vs->reg[WC_RSP];
            if (!sp.top && sp.base == WC_B_SP && sp.lo == sp.hi) {
                slot_put(st, sp.lo - 8, 8, rd(x, st, vs, o0, nip));
                st->reg[WC_RSP] = Z3_mk_bvsub(c, st->reg[WC_RSP], cst(x, 8, 64));
                return;
            }
        }
        break;
    case X86_INS_POP:
        if (vs && vs->reached && o0->type == WC_OP_REG && o0->reg >= 0) {
            wc_val sp = vs->reg[WC_RSP];
            if (!sp.top && sp.base == WC_B_SP && sp.lo == sp.hi) {
                int i = slot_idx(st, sp.lo, 8);
                wr(x, st, vs, o0, i >= 0 ? st->slot[i].v : fresh(x, 64));
                st->reg[WC_RSP] = Z3_mk_bvadd(c, st->reg[WC_RSP], cst(x, 8, 64));
                return;
            }
        }
        break;
    case X86_INS_CALL: {
        static const uint32_t cs = (1u << WC_RAX) | (1u << WC_RCX) | (1u << WC_RDX) |
                                   (1u << WC_RSI) | (1u << WC_RDI) | (1u << WC_R8) | (1u << WC_R9) |
                                   (1u << WC_R10) | (1u << WC_R11);
        clobber_regs(x, st, cs);
        if (vs && vs->esc_lo != INT64_MAX)
            slot_kill(st, vs->esc_lo, INT64_MAX);
        if (vs && vs->reached && !vs->reg[WC_RSP].top && vs->reg[WC_RSP].base == WC_B_SP)
            slot_kill(st, INT64_MIN / 2, vs->reg[WC_RSP].lo);
        st->fkind = 0;
        return;
    }
    default:
        break;
    }
    if (in->kind == WC_I_JCC || in->kind == WC_I_JMP || in->kind == WC_I_RET)
        return;
    if (in->cc != WC_CC_NONE && in->nops == 2 && o0->type == WC_OP_REG && o0->reg >= 0 &&
        strncmp(in->text, "cmov", 4) == 0) {
        a = rd(x, st, vs, o0, nip);
        b = rd(x, st, vs, o1, nip);
        wr(x, st, vs, o0, Z3_mk_ite(c, cond(x, st, in->cc), b, a));
        return;
    }
    if (in->cc != WC_CC_NONE && in->nops == 1 && strncmp(in->text, "set", 3) == 0) {
        wr(x, st, vs, o0, Z3_mk_ite(c, cond(x, st, in->cc), cst(x, 1, 8), cst(x, 0, 8)));
        return;
    }
    /* not modelled: whatever it writes is unknown */
    clobber_regs(x, st, in->regs_written);
    if (in->nops >= 1 && o0->type == WC_OP_MEM && in->id != X86_INS_CMP && in->id != X86_INS_TEST)
        wr(x, st, vs, o0, fresh(x, o0->size ? o0->size * 8 : 64));
    if (in->string_op)
        st->nslots = 0;
    if (in->writes_flags)
        st->fkind = 0;
}

/* execute block b; vs0 is the value analysis' state at its entry */
static void run_block(sctx *x, sstate *st, const wc_cfg *cfg, const wc_vres *vr, int b) {
    const wc_block *bb = &cfg->blocks[b];
    wc_state vs = vr->in[b];
    for (int i = 0; i < bb->n; i++) {
        step(x, st, vs.reached ? &vs : NULL, bb->insns[i]);
        if (vs.reached)
            wc_value_step(x->an, &vs, bb->insns[i]);
    }
}

/* the condition of leaving block b towards block to */
static Z3_ast edge_cond(sctx *x, const sstate *st, const wc_cfg *cfg, int b, int to) {
    const wc_block *bb = &cfg->blocks[b];
    if (bb->term != WC_T_JCC)
        return Z3_mk_true(x->c);
    const wc_insn *j = bb->insns[bb->n - 1];
    bool taken = cfg->blocks[to].start == j->target;
    bool fall = cfg->blocks[to].start == j->addr + j->size;
    if (taken && fall)
        return Z3_mk_true(x->c);
    Z3_ast c = cond(x, st, j->cc);
    return taken ? c : Z3_mk_not(x->c, c);
}

static void constrain(sctx *x, Z3_ast var, const wc_val *v, int w) {
    Z3_context c = x->c;
    int64_t lo, hi;
    if (v->top || v->base != WC_B_NONE || !wc_val_signed(v, w, &lo, &hi))
        return;
    Z3_ast t = lowbits(x, var, w);
    Z3_solver_assert(c, x->s, Z3_mk_bvsge(c, t, cst(x, lo, w)));
    Z3_solver_assert(c, x->s, Z3_mk_bvsle(c, t, cst(x, hi, w)));
    if (v->w < 64 && v->zx && w == v->w)
        Z3_solver_assert(c, x->s,
                         Z3_mk_eq(c, Z3_mk_extract(c, 63, (unsigned)w, var), cst(x, 0, 64 - w)));
}

/* a symbolic state that satisfies the value analysis' state vs */
static void state_from(sctx *x, sstate *st, const wc_state *vs) {
    memset(st, 0, sizeof *st);
    st->esc_lo = vs->esc_lo;
    for (int r = 0; r < WC_NREGS; r++) {
        st->reg[r] = fresh(x, 64);
        const wc_val *v = &vs->reg[r];
        constrain(x, st->reg[r], v, v->base != WC_B_NONE ? 64 : v->w);
    }
    for (int i = 0; i < vs->nslots; i++) {
        const wc_slot *s = &vs->slot[i];
        Z3_ast v = fresh(x, s->size * 8);
        slot_put(st, s->off, s->size, v);
        constrain(x, v, &s->v, s->size * 8);
    }
    /* equalities from shared symbols */
    for (int i = 0; i < WC_NREGS + vs->nslots; i++) {
        const wc_val *a = i < WC_NREGS ? &vs->reg[i] : &vs->slot[i - WC_NREGS].v;
        int wa =
            i < WC_NREGS ? (a->base != WC_B_NONE ? 64 : a->w) : vs->slot[i - WC_NREGS].size * 8;
        if (!a->sym)
            continue;
        for (int j = i + 1; j < WC_NREGS + vs->nslots; j++) {
            const wc_val *b = j < WC_NREGS ? &vs->reg[j] : &vs->slot[j - WC_NREGS].v;
            int wb =
                j < WC_NREGS ? (b->base != WC_B_NONE ? 64 : b->w) : vs->slot[j - WC_NREGS].size * 8;
            if (b->sym != a->sym || wa != wb || a->symw < wa || b->symw < wb)
                continue;
            Z3_ast ta = i < WC_NREGS ? lowbits(x, st->reg[i], wa)
                                     : st->slot[slot_idx(st, vs->slot[i - WC_NREGS].off,
                                                         vs->slot[i - WC_NREGS].size)]
                                           .v;
            Z3_ast tb = j < WC_NREGS ? lowbits(x, st->reg[j], wb)
                                     : st->slot[slot_idx(st, vs->slot[j - WC_NREGS].off,
                                                         vs->slot[j - WC_NREGS].size)]
                                           .v;
            Z3_solver_assert(x->c, x->s,
                             Z3_mk_eq(x->c, Z3_mk_bvsub(x->c, ta, cst(x, a->sc, wa)),
                                      Z3_mk_bvsub(x->c, tb, cst(x, b->sc, wb))));
        }
    }
}

/* One Z3 context per analyzer, renewed now and then (its terms are freed only
 * with it); one solver per question. */
typedef struct zshared {
    Z3_context c;
    Z3_solver s;
    int uses;
} zshared;

static void shared_open(wc_analyzer *an, Z3_context *c, Z3_solver *s) {
    zshared *z = an->z3ctx;
    if (!z) {
        z = wc_xcalloc(1, sizeof *z);
        an->z3ctx = z;
    }
    if (z->c && z->uses >= 400) {
        Z3_solver_dec_ref(z->c, z->s);
        Z3_del_context(z->c);
        z->c = NULL;
    }
    if (!z->c) {
        Z3_config cfg = Z3_mk_config();
        z->c = Z3_mk_context(cfg);
        Z3_del_config(cfg);
        z->s = Z3_mk_simple_solver(z->c);
        Z3_solver_inc_ref(z->c, z->s);
        Z3_params p = Z3_mk_params(z->c);
        Z3_params_inc_ref(z->c, p);
        Z3_params_set_uint(z->c, p, Z3_mk_string_symbol(z->c, "rlimit"), SMT_RLIMIT);
        Z3_solver_set_params(z->c, z->s, p);
        Z3_params_dec_ref(z->c, p);
        z->uses = 0;
    }
    z->uses++;
    *c = z->c;
    *s = z->s;
}

/* a question: a scope on the shared solver */
static void sctx_open(sctx *x, wc_analyzer *an) {
    memset(x, 0, sizeof *x);
    x->an = an;
    shared_open(an, &x->c, &x->s);
    Z3_solver_push(x->c, x->s);
}

static void sctx_close(sctx *x) {
    Z3_solver_pop(x->c, x->s, 1);
}

/* true: satisfiable or unknown */
static bool may_be_sat(sctx *x) {
    return Z3_solver_check(x->c, x->s) != Z3_L_FALSE;
}

bool wc_smt_loop_bound(wc_analyzer *an, const wc_cfg *cfg, const wc_vres *vr, int l, uint64_t limit,
                       uint64_t *max, char **how) {
    const wc_loop *lp = &cfg->loops[l];
    *how = NULL;
    /* one path: from the header, each block has one successor inside the loop */
    int path[256], np = 0, b = lp->header;
    for (;;) {
        if (np >= 256 || cfg->blocks[b].loop != l) {
            *how = wc_xstrdup(np >= 256 ? "loop body too long" : "the body contains an inner loop");
            return false;
        }
        path[np++] = b;
        int next = -1, ins = 0;
        const wc_block *bb = &cfg->blocks[b];
        for (int k = 0; k < bb->nsucc; k++)
            if (lp->in[bb->succ[k]]) {
                next = bb->succ[k];
                ins++;
            }
        if (ins != 1) {
            *how = wc_xstrdup(ins == 0 ? "no way back to the header"
                                       : "the body has more than one path");
            return false;
        }
        if (bb->term != WC_T_JCC && bb->term != WC_T_JMP && bb->term != WC_T_FALL) {
            *how = wc_xstrdup(bb->term == WC_T_CALL ? "the body calls a function"
                                                    : "unsupported block end in the body");
            return false;
        }
        if (next == lp->header)
            break;
        b = next;
    }
    /* an exit that tests memory other than the stack (a string, a list) cannot
     * be bounded from the registers: do not spend Z3's time on it */
    for (int i = 0; i < np; i++) {
        const wc_block *bb = &cfg->blocks[path[i]];
        if (bb->term != WC_T_JCC)
            continue;
        wc_state vs = vr->in[path[i]];
        const wc_insn *setter = NULL;
        int si = -1;
        for (int k = bb->n - 2; k >= 0; k--)
            if (bb->insns[k]->writes_flags) {
                setter = bb->insns[k];
                si = k;
                break;
            }
        if (!setter)
            continue;
        for (int k = 0; k < si && vs.reached; k++)
            wc_value_step(an, &vs, bb->insns[k]);
        for (int o = 0; o < setter->nops; o++) {
            const wc_op *op = &setter->ops[o];
            int64_t off;
            bool memory = op->type == WC_OP_MEM && !(vs.reached && wc_op_slot(&vs, op, &off));
            if (op->type == WC_OP_REG && op->reg >= 0 && op->reg < WC_NREGS) {
                /* any load into that register in the loop (a conservative reaching definition) */
                for (int b2 = 0; b2 < lp->nblocks && !memory; b2++) {
                    const wc_block *db = &cfg->blocks[lp->blocks[b2]];
                    for (int k = 0; k < db->n && !memory; k++) {
                        const wc_insn *d = db->insns[k];
                        if (!(d->regs_written & (1u << op->reg)) || d->id == X86_INS_LEA)
                            continue;
                        for (int q = 0; q < d->nops; q++)
                            if (d->ops[q].type == WC_OP_MEM && d->ops[q].base != WC_RSP &&
                                d->ops[q].base != WC_RBP && d->ops[q].base != WC_RIP)
                                memory = true;
                    }
                }
            }
            if (memory) {
                *how = wc_xstrdup("the exit depends on memory the analysis does not track");
                return false;
            }
        }
    }
    /* the entry state: join of the edges into the header from outside */
    wc_state init;
    memset(&init, 0, sizeof init);
    const wc_block *hb = &cfg->blocks[lp->header];
    for (int k = 0; k < hb->npred; k++) {
        int q = hb->pred[k];
        if (lp->in[q])
            continue;
        wc_state o, e;
        wc_value_at(an, cfg, vr, q, cfg->blocks[q].n, &o);
        if (!o.reached)
            continue;
        const wc_block *qb = &cfg->blocks[q];
        int taken = qb->term == WC_T_JCC ? qb->insns[qb->n - 1]->target == hb->start : 1;
        wc_value_edge(&o, qb, taken, &e);
        wc_state_join(&init, &e);
    }
    if (!init.reached) {
        *max = 0;
        *how = wc_xstrdup("Z3: the loop is never entered");
        return true;
    }
    sctx x;
    sctx_open(&x, an);
    sstate st;
    state_from(&x, &st, &init);
    /* the value states inside the loop come from the main analysis (all iterations) */
    uint64_t lo = 0, hi = 0, n = 0; /* lo: known reachable back edges */
    bool found_unsat = false;
    uint64_t next_check = 1;
    sstate saved = st;
    double t0 = now_s();
    while (n < limit) {
        if (now_s() - t0 > SMT_BUDGET_SECONDS)
            break;
        /* one more iteration */
        for (int i = 0; i < np; i++) {
            run_block(&x, &st, cfg, vr, path[i]);
            int to = i + 1 < np ? path[i + 1] : lp->header;
            Z3_solver_assert(x.c, x.s, edge_cond(&x, &st, cfg, path[i], to));
        }
        n++;
        if (n == next_check) {
            Z3_lbool q = Z3_solver_check(x.c, x.s);
            if (q == Z3_L_UNDEF)
                break; /* too hard: no bound from Z3 */
            if (q == Z3_L_FALSE) {
                found_unsat = true;
                hi = n;
                break;
            }
            lo = n;
            saved = st;
            next_check *= 2;
        }
    }
    if (!found_unsat) {
        sctx_close(&x);
        *how =
            wc_fmt("Z3 could not refute %llu iterations within its limits", (unsigned long long)n);
        return false;
    }
    /* bisect between lo (reachable) and hi (unreachable): rebuild up to lo */
    sctx_close(&x);
    sctx_open(&x, an);
    state_from(&x, &st, &init);
    for (uint64_t i = 0; i < lo; i++)
        for (int k = 0; k < np; k++) {
            run_block(&x, &st, cfg, vr, path[k]);
            Z3_solver_assert(
                x.c, x.s, edge_cond(&x, &st, cfg, path[k], k + 1 < np ? path[k + 1] : lp->header));
        }
    (void)saved;
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        Z3_solver_push(x.c, x.s);
        sstate t = st;
        for (uint64_t i = lo; i < mid; i++)
            for (int k = 0; k < np; k++) {
                run_block(&x, &t, cfg, vr, path[k]);
                Z3_solver_assert(
                    x.c, x.s,
                    edge_cond(&x, &t, cfg, path[k], k + 1 < np ? path[k + 1] : lp->header));
            }
        bool sat = may_be_sat(&x);
        Z3_solver_pop(x.c, x.s, 1);
        if (sat) {
            for (uint64_t i = lo; i < mid; i++)
                for (int k = 0; k < np; k++) {
                    run_block(&x, &st, cfg, vr, path[k]);
                    Z3_solver_assert(
                        x.c, x.s,
                        edge_cond(&x, &st, cfg, path[k], k + 1 < np ? path[k + 1] : lp->header));
                }
            lo = mid;
        } else
            hi = mid;
    }
    sctx_close(&x);
    *max = lo;
    *how =
        wc_fmt("Z3: back edge %llu is unreachable from the loop's entry state (%llu is reachable)",
               (unsigned long long)hi, (unsigned long long)lo);
    return true;
}

int wc_smt_path_feasible(wc_analyzer *an, const wc_cfg *cfg, const wc_vres *vr, const int *path,
                         int n) {
    if (n < 2 || !vr->in[path[0]].reached)
        return -1;
    sctx x;
    sctx_open(&x, an);
    sstate st;
    state_from(&x, &st, &vr->in[path[0]]);
    for (int i = 0; i < n; i++) {
        run_block(&x, &st, cfg, vr, path[i]);
        if (i + 1 < n)
            Z3_solver_assert(x.c, x.s, edge_cond(&x, &st, cfg, path[i], path[i + 1]));
    }
    double t0 = now_s();
    Z3_lbool r = Z3_solver_check(x.c, x.s);
    if (getenv("WCET_SMT_STATS"))
        fprintf(stderr, "path query %s: %d blocks, %.3fs, %s\n", cfg->name, n, now_s() - t0,
                r == Z3_L_FALSE  ? "unsat"
                : r == Z3_L_TRUE ? "sat"
                                 : "unknown");
    sctx_close(&x);
    return r == Z3_L_FALSE ? 0 : r == Z3_L_TRUE ? 1 : -1;
}

void wc_smt_free(wc_analyzer *an);
void wc_smt_free(wc_analyzer *an) {
    zshared *z = an->z3ctx;
    if (!z)
        return;
    if (z->c) {
        Z3_solver_dec_ref(z->c, z->s);
        Z3_del_context(z->c);
    }
    free(z);
    an->z3ctx = NULL;
}

/* ---------- distance proofs at a loop's first test ---------- */
typedef struct pathsearch {
    sctx *x;
    const wc_cfg *cfg;
    const wc_vres *vr;
    int l, pblock, pstop;
    const wc_op *aop, *bop;
    int64_t bconst;
    int w;
    int64_t s;
    uint64_t dmax;
    int paths;
    bool refuted_all;
    bool *reach; /* blocks from which pblock can be reached */
    double t0;
    int path[256];
} pathsearch;

static bool allowed_block(const pathsearch *ps, int b) {
    const wc_cfg *cfg = ps->cfg;
    if (cfg->blocks[b].loop < 0)
        return true;
    return cfg->blocks[b].loop == ps->l;
}

static bool check_path(pathsearch *ps, int n) {
    sctx *x = ps->x;
    Z3_solver_push(x->c, x->s);
    sstate st;
    state_from(x, &st, &ps->vr->in[0]);
    for (int i = 0; i < n; i++) {
        int b = ps->path[i];
        const wc_block *bb = &ps->cfg->blocks[b];
        wc_state vs = ps->vr->in[b];
        int upto = i + 1 == n ? ps->pstop : bb->n;
        for (int k = 0; k < upto; k++) {
            step(x, &st, vs.reached ? &vs : NULL, bb->insns[k]);
            if (vs.reached)
                wc_value_step(x->an, &vs, bb->insns[k]);
        }
        if (i + 1 < n)
            Z3_solver_assert(x->c, x->s, edge_cond(x, &st, ps->cfg, b, ps->path[i + 1]));
        else {
            /* at the test: refute D mod 2^w > dmax or D not a multiple of s */
            wc_state at = vs;
            Z3_ast a = rd(x, &st, at.reached ? &at : NULL, ps->aop, 0);
            Z3_ast bb2 = ps->bop ? rd(x, &st, at.reached ? &at : NULL, ps->bop, 0)
                                 : cst(x, ps->bconst, ps->w);
            Z3_ast d = ps->s > 0 ? Z3_mk_bvsub(x->c, bb2, a) : Z3_mk_bvsub(x->c, a, bb2);
            uint64_t as = (uint64_t)(ps->s < 0 ? -ps->s : ps->s);
            Z3_ast bad = Z3_mk_bvugt(x->c, d, Z3_mk_unsigned_int64(x->c, ps->dmax, bv(x, ps->w)));
            if (as > 1)
                bad = Z3_mk_or(
                    x->c, 2,
                    (Z3_ast[]){
                        bad,
                        Z3_mk_not(x->c,
                                  Z3_mk_eq(x->c, Z3_mk_bvurem(x->c, d, cst(x, (int64_t)as, ps->w)),
                                           cst(x, 0, ps->w)))});
            Z3_solver_assert(x->c, x->s, bad);
        }
    }
    bool sat = may_be_sat(x);
    if (getenv("WCET_DEBUG")) {
        fprintf(stderr, "distance path of %d blocks to 0x%llx: %s\n", n,
                (unsigned long long)ps->cfg->blocks[ps->path[n - 1]].start, sat ? "sat" : "unsat");
        if (sat && Z3_solver_check(x->c, x->s) == Z3_L_TRUE)
            fprintf(stderr, "%s\n", Z3_model_to_string(x->c, Z3_solver_get_model(x->c, x->s)));
    }
    Z3_solver_pop(x->c, x->s, 1);
    return !sat;
}

static void dfs(pathsearch *ps, int b, int n, bool in_loop) {
    if (!ps->refuted_all)
        return;
    if (now_s() - ps->t0 > SMT_BUDGET_SECONDS) {
        ps->refuted_all = false;
        return;
    }
    if (ps->paths > 64 || n >= 256) {
        ps->refuted_all = false;
        return;
    }
    ps->path[n] = b;
    if (b == ps->pblock) {
        ps->paths++;
        if (!check_path(ps, n + 1))
            ps->refuted_all = false;
        return;
    }
    const wc_block *bb = &ps->cfg->blocks[b];
    const wc_loop *lp = &ps->cfg->loops[ps->l];
    for (int k = 0; k < bb->nsucc; k++) {
        int s = bb->succ[k];
        if (!ps->vr->in[s].reached || !ps->reach[s])
            continue;
        if (!allowed_block(ps, s)) {
            /* through another loop: not enumerable, so not proven */
            ps->refuted_all = false;
            return;
        }
        if (in_loop && s == lp->header)
            continue; /* no back edge: the first arrival at the test */
        if (!in_loop && lp->in[s] && s != lp->header)
            continue;
        dfs(ps, s, n + 1, in_loop || lp->in[s]);
        if (!ps->refuted_all)
            return;
    }
}

bool wc_smt_distance(wc_analyzer *an, const wc_cfg *cfg, const wc_vres *vr, int l, int pblock,
                     int pstop, const wc_op *aop, const wc_op *bop, int64_t bconst, int w,
                     int64_t s, uint64_t dmax) {
    if (!vr->in[0].reached || cfg->blocks[0].loop >= 0)
        return false;
    sctx x;
    sctx_open(&x, an);
    pathsearch ps = {&x, cfg, vr,   l, pblock, pstop, aop, bop, bconst,
                     w,  s,   dmax, 0, true,   NULL,  0.0, {0}};
    ps.reach = wc_xcalloc((size_t)cfg->nblocks, sizeof *ps.reach);
    ps.t0 = now_s();
    int *stack = wc_xcalloc((size_t)cfg->nblocks + 1, sizeof *stack), top = 0;
    ps.reach[pblock] = true;
    stack[top++] = pblock;
    while (top) {
        int b = stack[--top];
        for (int k = 0; k < cfg->blocks[b].npred; k++) {
            int q = cfg->blocks[b].pred[k];
            if (!ps.reach[q]) {
                ps.reach[q] = true;
                stack[top++] = q;
            }
        }
    }
    free(stack);
    dfs(&ps, 0, 0, false);
    free(ps.reach);
    sctx_close(&x);
    return ps.refuted_all && ps.paths > 0;
}
