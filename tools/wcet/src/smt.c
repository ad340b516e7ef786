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

#include "smt_exec.h"
#include "wcet_internal.h"

/* Each check has a deterministic resource limit (Z3's rlimit), so that the
 * results do not depend on the machine's load; past it the answer is
 * "unknown", which is always the safe answer. A wall-time budget per question
 * only guards against pathological cases. */
#define SMT_RLIMIT WC_SMT_RLIMIT /* smt_exec.h: one limit for every user of the solver */
#define SMT_BUDGET_SECONDS 20.0
/* the largest-distance search: a deterministic number of checks per question,
 * and a wall-time guard well above what they take */
#define MD_MAX_CHECKS 400
#define MD_GUARD_SECONDS 120.0

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

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
    case WC_INS_WRPKRU: /* PKRU = eax: no register, flag or memory changes */
        return;
    case WC_INS_RDPKRU: /* eax = PKRU (any value), edx = 0, zero-extended; flags kept */
        st->reg[WC_RAX] = Z3_mk_zero_ext(c, 32, fresh(x, 32));
        st->reg[WC_RDX] = cst(x, 0, 64);
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
    case X86_INS_CDQ: /* edx = the sign of eax, repeated */
        st->reg[WC_RDX] =
            Z3_mk_zero_ext(c, 32, Z3_mk_bvashr(c, lowbits(x, st->reg[WC_RAX], 32), cst(x, 31, 32)));
        return;
    case X86_INS_CQO:
        st->reg[WC_RDX] = Z3_mk_bvashr(c, st->reg[WC_RAX], cst(x, 63, 64));
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
    case X86_INS_DIV:
    case X86_INS_IDIV:
        /* rax = rdx:rax / src, rdx = rdx:rax % src (edx:eax at 32 bits), unsigned (div) or
         * signed, truncated toward zero (idiv); a zero divisor or a quotient too wide
         * traps, so on the paths that go on the quotient fits (and, when the question
         * says so, that is asserted). When rdx is only the extension of rax (xor edx, edx
         * before div; cdq before idiv), the division is one of w bits, which Z3 solves
         * far faster than one of 2w. */
        if (in->nops == 1 && (w == 64 || w == 32)) {
            bool sgn = in->id == X86_INS_IDIV;
            unsigned uw = (unsigned)w;
            Z3_ast hiw = Z3_simplify(c, lowbits(x, st->reg[WC_RDX], w));
            Z3_ast low = lowbits(x, st->reg[WC_RAX], w);
            Z3_ast d = rd(x, st, vs, o0, nip);
            Z3_ast q, rm;
            uint64_t hv = 1;
            bool narrow =
                sgn ? Z3_is_eq_ast(c, hiw, Z3_simplify(c, Z3_mk_bvashr(c, low, cst(x, w - 1, w))))
                    : Z3_is_numeral_ast(c, hiw) && Z3_get_numeral_uint64(c, hiw, &hv) && hv == 0;
            if (narrow) {
                q = sgn ? Z3_mk_bvsdiv(c, low, d) : Z3_mk_bvudiv(c, low, d);
                rm = sgn ? Z3_mk_bvsrem(c, low, d) : Z3_mk_bvurem(c, low, d);
                if (x->div_completes) {
                    Z3_solver_assert(c, x->s, Z3_mk_not(c, Z3_mk_eq(c, d, cst(x, 0, w))));
                    if (sgn) { /* the one quotient too wide: the most negative value by -1 */
                        Z3_ast minv = Z3_mk_bvshl(c, cst(x, 1, w), cst(x, w - 1, w));
                        Z3_ast wide[2] = {Z3_mk_eq(c, low, minv), Z3_mk_eq(c, d, cst(x, -1, w))};
                        Z3_solver_assert(c, x->s, Z3_mk_not(c, Z3_mk_and(c, 2, wide)));
                    }
                }
            } else {
                Z3_ast num = Z3_mk_concat(c, hiw, low);
                b = sgn ? Z3_mk_sign_ext(c, uw, d) : Z3_mk_zero_ext(c, uw, d);
                Z3_ast q2 = sgn ? Z3_mk_bvsdiv(c, num, b) : Z3_mk_bvudiv(c, num, b);
                q = Z3_mk_extract(c, uw - 1, 0, q2);
                rm = Z3_mk_extract(c, uw - 1, 0,
                                   sgn ? Z3_mk_bvsrem(c, num, b) : Z3_mk_bvurem(c, num, b));
                if (x->div_completes) {
                    Z3_solver_assert(c, x->s, Z3_mk_not(c, Z3_mk_eq(c, d, cst(x, 0, w))));
                    Z3_solver_assert(c, x->s,
                                     sgn ? Z3_mk_eq(c, q2, Z3_mk_sign_ext(c, uw, q))
                                         : Z3_mk_eq(c, q2, Z3_mk_zero_ext(c, uw, q)));
                }
            }
            st->reg[WC_RAX] = w == 64 ? q : Z3_mk_zero_ext(c, 32, q);
            st->reg[WC_RDX] = w == 64 ? rm : Z3_mk_zero_ext(c, 32, rm);
            st->fkind = 0;
            return;
        }
        break;
    case X86_INS_MUL:
        /* rdx:rax = rax * src (edx:eax at 32 bits), unsigned */
        if (in->nops == 1 && (w == 64 || w == 32)) {
            a = Z3_mk_zero_ext(c, (unsigned)w, lowbits(x, st->reg[WC_RAX], w));
            b = Z3_mk_zero_ext(c, (unsigned)w, rd(x, st, vs, o0, nip));
            r = Z3_mk_bvmul(c, a, b);
            Z3_ast lo = Z3_mk_extract(c, (unsigned)w - 1, 0, r);
            Z3_ast hi = Z3_mk_extract(c, 2 * (unsigned)w - 1, (unsigned)w, r);
            st->reg[WC_RAX] = w == 64 ? lo : Z3_mk_zero_ext(c, 32, lo);
            st->reg[WC_RDX] = w == 64 ? hi : Z3_mk_zero_ext(c, 32, hi);
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
    if (lo != hi && v->m > 1 && v->m <= (1u << 20) &&
        (w >= 64 ? lo > INT64_MIN / 2 : lo > -((int64_t)1 << (w - 2)))) {
        /* the congruence: t - r is a multiple of m (no overflow well inside the width) */
        Z3_ast d = Z3_mk_bvsub(c, t, cst(x, (int64_t)v->r, w));
        Z3_solver_assert(c, x->s,
                         Z3_mk_eq(c, Z3_mk_bvsrem(c, d, cst(x, (int64_t)v->m, w)), cst(x, 0, w)));
    }
    if (v->w < 64 && v->zx && w == v->w)
        Z3_solver_assert(c, x->s,
                         Z3_mk_eq(c, Z3_mk_extract(c, 63, (unsigned)w, var), cst(x, 0, 64 - w)));
}

/* a symbolic state that satisfies the value analysis' state vs; with keep,
 * the registers in keepmask and keep's slots keep keep's values (the state
 * after crossing a loop that does not write them) */
static void state_from_keep(sctx *x, sstate *st, const wc_state *vs, const sstate *keep,
                            uint32_t keepmask) {
    memset(st, 0, sizeof *st);
    st->esc_lo = vs->esc_lo;
    bool kept[WC_NREGS + WC_MAX_SLOTS];
    memset(kept, 0, sizeof kept);
    for (int r = 0; r < WC_NREGS; r++) {
        const wc_val *v = &vs->reg[r];
        if (keep && (keepmask & (1u << r))) {
            st->reg[r] = keep->reg[r];
            kept[r] = true;
            continue;
        }
        st->reg[r] = fresh(x, 64);
        constrain(x, st->reg[r], v, v->base != WC_B_NONE ? 64 : v->w);
    }
    for (int i = 0; i < vs->nslots; i++) {
        const wc_slot *s = &vs->slot[i];
        int k = keep ? slot_idx(keep, s->off, s->size) : -1;
        if (k >= 0) {
            slot_put(st, s->off, s->size, keep->slot[k].v);
            kept[WC_NREGS + i] = true;
            continue;
        }
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
            if (kept[i] && kept[j])
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
    if (keep)
        for (int i = 0; i < keep->nslots; i++)
            if (slot_idx(st, keep->slot[i].off, keep->slot[i].size) < 0)
                slot_put(st, keep->slot[i].off, keep->slot[i].size, keep->slot[i].v);
}

static void state_from(sctx *x, sstate *st, const wc_state *vs) {
    state_from_keep(x, st, vs, NULL, 0);
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

/* ---------- the largest distance at a loop's first test ---------- */
/* The paths searched run from the start (the function's entry, or the header
 * of the loop's parent with the value analysis' state there, which covers
 * every iteration of the parent) to the first arrival at the test: through
 * the blocks of the loop and of its parent, never along a back edge of
 * either. Every loop on the way (around l, a sibling, or nested in either) is
 * entered at its header in any iteration: every register and slot it may
 * write gets the value analysis' ranges there (and what its bound says of its
 * counters), the others keep their values; the path then goes through its
 * blocks to l or out of it. This admits every execution of the loop, so a
 * distance refuted on all paths holds. */
typedef struct mdsearch {
    sctx *x;
    const wc_cfg *cfg;
    const wc_vres *vr;
    int l, start, pblock, pstop;
    const wc_ivfacts *ivf;
    int64_t kdelta;
    uint64_t hint; /* a likely upper bound, tried first (0: none) */
    const wc_op *aop, *bop;
    int64_t bconst;
    int w, rel;
    int64_t s;
    bool uns, wrapchk;
    uint64_t cap, best;
    int paths, checks;
    bool ok;
    const char *fail;
    bool *reach;
    double t0;
    int n;
    int path[256];
    int sum[256]; /* >= 0: the loop summarised before block path[i] (an exit block of it) */
} mdsearch;

/* cross loop L2, leaving it from its block e: what the loop may write gets
 * the value analysis' ranges and equalities at e's entry (which hold in every
 * iteration), what it does not write keeps its value */
static Z3_ast havoc_loop(sctx *x, sstate *st, const wc_cfg *cfg, const wc_vres *vr, int L2, int e,
                         const wc_ivfacts *ivf) {
    Z3_ast kvar = NULL;
    const wc_loop *lp = &cfg->loops[L2];
    uint32_t written = 0;
    sstate old = *st;
    for (int k = 0; k < lp->nblocks; k++) {
        const wc_block *bb = &cfg->blocks[lp->blocks[k]];
        wc_state vs = vr->in[lp->blocks[k]];
        for (int i = 0; i < bb->n; i++) {
            const wc_insn *in = bb->insns[i];
            written |= in->regs_written;
            if (in->kind == WC_I_CALL || in->kind == WC_I_ICALL || in->string_op ||
                in->id == X86_INS_PUSH || (in->regs_written & (1u << WC_RSP)) || !vs.reached)
                old.nslots = 0;
            if (in->kind == WC_I_CALL || in->kind == WC_I_ICALL)
                written |= (1u << WC_RAX) | (1u << WC_RCX) | (1u << WC_RDX) | (1u << WC_RSI) |
                           (1u << WC_RDI) | (1u << WC_R8) | (1u << WC_R9) | (1u << WC_R10) |
                           (1u << WC_R11);
            if (in->nops >= 1 && in->ops[0].type == WC_OP_MEM && in->id != X86_INS_CMP &&
                in->id != X86_INS_TEST && in->kind == WC_I_NORMAL) {
                int64_t off;
                if (vs.reached && wc_op_slot(&vs, &in->ops[0], &off))
                    slot_kill(&old, off, off + (in->ops[0].size ? in->ops[0].size : 8));
                else {
                    int64_t lo = old.esc_lo;
                    if (vs.reached && vs.esc_lo < lo)
                        lo = vs.esc_lo;
                    if (lo != INT64_MAX)
                        slot_kill(&old, lo, INT64_MAX);
                }
            }
            if (vs.reached)
                wc_value_step(x->an, &vs, in);
        }
    }
    sstate nst;
    if (getenv("WCET_DEBUG"))
        for (int r = 0; r < WC_NREGS; r++)
            if (written & (1u << r)) {
                char vb[96];
                wc_val_str(&vr->in[e].reg[r], vb, sizeof vb);
                fprintf(stderr, "  crossing loop %d: %s = %s\n", L2, wc_reg_name(r, 8), vb);
            }
    state_from_keep(x, &nst, &vr->in[e], &old, ~written);
    if (ivf && ivf->valid && e == lp->header) {
        /* after k back edges: the counters moved k steps, and the exit test
         * continued in each earlier iteration */
        Z3_context c = x->c;
        Z3_ast k = fresh(x, 64);
        kvar = k;
        Z3_solver_assert(c, x->s, Z3_mk_bvule(c, k, Z3_mk_unsigned_int64(c, ivf->kmax, bv(x, 64))));
        for (int r = 0; r < WC_NREGS; r++) {
            if (!(ivf->ivmask & (1u << r)))
                continue;
            Z3_ast v = Z3_mk_bvadd(c, old.reg[r], Z3_mk_bvmul(c, k, cst(x, ivf->step[r], 64)));
            if (ivf->iv32 & (1u << r))
                Z3_solver_assert(c, x->s, Z3_mk_eq(c, lowbits(x, nst.reg[r], 32), lowbits(x, v, 32)));
            else
                Z3_solver_assert(c, x->s, Z3_mk_eq(c, nst.reg[r], v));
        }
        if (ivf->test && ivf->areg >= 0 && ivf->areg < WC_NREGS) {
            int w = ivf->w;
            Z3_ast a0 = lowbits(x, Z3_mk_bvadd(c, old.reg[ivf->areg], cst(x, ivf->c, 64)), w);
            Z3_ast b = ivf->breg >= 0 ? lowbits(x, old.reg[ivf->breg], w) : cst(x, ivf->bconst, w);
            Z3_ast kw = lowbits(x, k, w);
            if (ivf->rel == 0) {
                /* A meets B after D / |s| steps: k <= D / |s| */
                Z3_ast d = ivf->s > 0 ? Z3_mk_bvsub(c, b, a0) : Z3_mk_bvsub(c, a0, b);
                uint64_t as = (uint64_t)(ivf->s < 0 ? -ivf->s : ivf->s);
                Z3_solver_assert(c, x->s, Z3_mk_bvule(c, Z3_mk_bvmul(c, kw, Z3_mk_unsigned_int64(c, as, bv(x, w))), d));
            } else {
                /* the test of iteration k - 1 continued */
                Z3_ast ak = Z3_mk_bvadd(c, a0, Z3_mk_bvmul(c, Z3_mk_bvsub(c, kw, cst(x, 1, w)), cst(x, ivf->s, w)));
                Z3_ast cont;
                if (ivf->s > 0)
                    cont = ivf->rel == 1 ? (ivf->uns ? Z3_mk_bvult(c, ak, b) : Z3_mk_bvslt(c, ak, b))
                                         : (ivf->uns ? Z3_mk_bvule(c, ak, b) : Z3_mk_bvsle(c, ak, b));
                else
                    cont = ivf->rel == 1 ? (ivf->uns ? Z3_mk_bvugt(c, ak, b) : Z3_mk_bvsgt(c, ak, b))
                                         : (ivf->uns ? Z3_mk_bvuge(c, ak, b) : Z3_mk_bvsge(c, ak, b));
                Z3_solver_assert(c, x->s, Z3_mk_or(c, 2, (Z3_ast[]){Z3_mk_eq(c, k, cst(x, 0, 64)), cont}));
            }
        }
    }
    nst.fkind = 0;
    *st = nst;
    return kvar;
}

static Z3_ast max_const(sctx *x, int w, bool uns, int64_t add) {
    /* the largest value at width w (unsigned or signed) plus add */
    uint64_t m = uns ? (w >= 64 ? UINT64_MAX : ((uint64_t)1 << w) - 1)
                     : (w >= 64 ? (uint64_t)INT64_MAX : ((uint64_t)1 << (w - 1)) - 1);
    return Z3_mk_unsigned_int64(x->c, m + (uint64_t)add, bv(x, w));
}
static Z3_ast min_const(sctx *x, int w, bool uns, int64_t add) {
    uint64_t m = uns ? 0 : (w >= 64 ? (uint64_t)INT64_MIN : (uint64_t)1 << (w - 1));
    return Z3_mk_unsigned_int64(x->c, m + (uint64_t)add, bv(x, w));
}

static uint64_t model_u64(sctx *x, Z3_ast t, bool *ok) {
    *ok = false;
    Z3_model m = Z3_solver_get_model(x->c, x->s);
    if (!m)
        return 0;
    Z3_model_inc_ref(x->c, m);
    Z3_ast v;
    uint64_t r = 0;
    if (Z3_model_eval(x->c, m, t, true, &v) && Z3_get_numeral_uint64(x->c, v, &r))
        *ok = true;
    Z3_model_dec_ref(x->c, m);
    return r;
}

static bool md_spent(const mdsearch *ms) {
    return ms->checks >= MD_MAX_CHECKS || now_s() - ms->t0 > MD_GUARD_SECONDS;
}

static bool md_chain(const mdsearch *ms, int L);

/* can D exceed m while the test continues? (the model's D when it can) */
static Z3_lbool md_above(mdsearch *ms, Z3_ast cont, Z3_ast d, uint64_t m, uint64_t *v) {
    sctx *x = ms->x;
    Z3_context c = x->c;
    Z3_solver_push(c, x->s);
    Z3_ast above = ms->kdelta ? Z3_mk_bvsgt(c, d, Z3_mk_int64(c, (int64_t)m, bv(x, 64)))
                              : Z3_mk_bvugt(c, d, Z3_mk_unsigned_int64(c, m, bv(x, ms->w)));
    Z3_solver_assert(c, x->s, Z3_mk_and(c, 2, (Z3_ast[]){cont, above}));
    double tq = now_s();
    ms->checks++;
    Z3_lbool q = Z3_solver_check(c, x->s);
    if (getenv("WCET_DEBUG"))
        fprintf(stderr, "  D > %llu: %s in %.3fs\n", (unsigned long long)m,
                q == Z3_L_FALSE ? "unsat" : q == Z3_L_TRUE ? "sat" : "unknown", now_s() - tq);
    bool got = false;
    *v = 0;
    if (q == Z3_L_TRUE)
        *v = model_u64(x, d, &got);
    if (q == Z3_L_TRUE && getenv("WCET_DEBUG_MODEL"))
        fprintf(stderr, "%s\n", Z3_model_to_string(c, Z3_solver_get_model(c, x->s)));
    if (q == Z3_L_TRUE && !got)
        q = Z3_L_UNDEF;
    Z3_solver_pop(c, x->s, 1);
    return q;
}

/* the path in ms->path[0..n): its largest distance, into ms->best */
static bool md_path(mdsearch *ms) {
    sctx *x = ms->x;
    Z3_context c = x->c;
    int n = ms->n;
    Z3_solver_push(c, x->s);
    sstate st;
    state_from(x, &st, &ms->vr->in[ms->start]);
    wc_state at;
    memset(&at, 0, sizeof at);
    Z3_ast kpar = NULL; /* the parent loop's iteration at its header, when known */
    for (int i = 0; i < n; i++) {
        int b = ms->path[i];
        const wc_block *bb = &ms->cfg->blocks[b];
        if (ms->sum[i] >= 0) {
            Z3_ast kv = havoc_loop(x, &st, ms->cfg, ms->vr, ms->sum[i], b,
                                   ms->ivf ? &ms->ivf[ms->sum[i]] : NULL);
            if (ms->sum[i] == ms->cfg->loops[ms->l].parent && b == ms->cfg->loops[ms->sum[i]].header)
                kpar = kv;
        }
        wc_state vs = ms->vr->in[b];
        int upto = i + 1 == n ? ms->pstop : bb->n;
        for (int k = 0; k < upto; k++) {
            step(x, &st, vs.reached ? &vs : NULL, bb->insns[k]);
            if (vs.reached)
                wc_value_step(x->an, &vs, bb->insns[k]);
        }
        if (i + 1 < n)
            Z3_solver_assert(c, x->s, edge_cond(x, &st, ms->cfg, b, ms->path[i + 1]));
        else
            at = vs;
    }
    int w = ms->w;
    Z3_ast a = rd(x, &st, at.reached ? &at : NULL, ms->aop, 0);
    Z3_ast bv_ = ms->bop ? rd(x, &st, at.reached ? &at : NULL, ms->bop, 0) : cst(x, ms->bconst, w);
    Z3_ast d = ms->s > 0 ? Z3_mk_bvsub(c, bv_, a) : Z3_mk_bvsub(c, a, bv_);
    Z3_ast dq = d; /* the quantity maximised: D, or D + k * kdelta (signed, 64 bits) */
    if (ms->kdelta) {
        if (!kpar) {
            Z3_solver_pop(c, x->s, 1);
            ms->paths++;
            ms->fail = "the enclosing loop's iteration is not known";
            return false;
        }
        dq = Z3_mk_bvadd(c, w < 64 ? Z3_mk_zero_ext(c, (unsigned)(64 - w), d) : d,
                         Z3_mk_bvmul(c, kpar, cst(x, ms->kdelta, 64)));
    }
    /* the test continues the loop (for the ordered relations) */
    Z3_ast cont = Z3_mk_true(c);
    if (ms->rel == 1) /* A < B toward B (A > B for a negative step) */
        cont = ms->s > 0 ? (ms->uns ? Z3_mk_bvult(c, a, bv_) : Z3_mk_bvslt(c, a, bv_))
                         : (ms->uns ? Z3_mk_bvugt(c, a, bv_) : Z3_mk_bvsgt(c, a, bv_));
    else if (ms->rel == 2)
        cont = ms->s > 0 ? (ms->uns ? Z3_mk_bvule(c, a, bv_) : Z3_mk_bvsle(c, a, bv_))
                         : (ms->uns ? Z3_mk_bvuge(c, a, bv_) : Z3_mk_bvsge(c, a, bv_));
    bool ok = true;
    uint64_t as = (uint64_t)(ms->s < 0 ? -ms->s : ms->s);
    if (ms->rel == 0 && as > 1) {
        Z3_solver_push(c, x->s);
        Z3_solver_assert(
            c, x->s,
            Z3_mk_not(c, Z3_mk_eq(c, Z3_mk_bvurem(c, d, cst(x, (int64_t)as, w)), cst(x, 0, w))));
        if (Z3_solver_check(c, x->s) != Z3_L_FALSE) {
            ok = false;
            ms->fail = "the distance may not be a multiple of the step";
        }
        Z3_solver_pop(c, x->s, 1);
        if (!ok)
            goto done;
    }
    if (ms->wrapchk && ms->rel != 0) {
        /* no wrap-around before the test fails: B - 1 + s <= MAX (<) or B + s <= MAX (<=),
         * mirrored for a negative step */
        Z3_ast bad;
        if (ms->s > 0)
            bad = ms->uns ? Z3_mk_bvugt(c, bv_, max_const(x, w, true, (ms->rel == 1 ? 1 : 0) - ms->s))
                          : Z3_mk_bvsgt(c, bv_, max_const(x, w, false, (ms->rel == 1 ? 1 : 0) - ms->s));
        else
            bad = ms->uns ? Z3_mk_bvult(c, bv_, min_const(x, w, true, (ms->rel == 1 ? -1 : 0) - ms->s))
                          : Z3_mk_bvslt(c, bv_, min_const(x, w, false, (ms->rel == 1 ? -1 : 0) - ms->s));
        Z3_solver_push(c, x->s);
        Z3_solver_assert(c, x->s, Z3_mk_and(c, 2, (Z3_ast[]){cont, bad}));
        if (Z3_solver_check(c, x->s) != Z3_L_FALSE) {
            ok = false;
            ms->fail = "the variable may wrap around before the test fails";
        }
        Z3_solver_pop(c, x->s, 1);
        if (!ok)
            goto done;
    }
    /* the largest D: above the best so far? then below the cap? then bisect */
    {
        uint64_t v = 0;
        Z3_lbool q = md_above(ms, cont, dq, ms->best, &v);
        if (q == Z3_L_FALSE)
            goto done; /* nothing above the best so far on this path */
        uint64_t lo = q == Z3_L_TRUE && v > ms->best ? v : ms->best + 1, hi = 0;
        if (ms->kdelta && ms->hint) {
            /* a total is worth it only near the hint (the largest distance at
             * the first outer iteration): the hint, or two units above it (a
             * limit rounded down to an unroll factor), else give up early */
            uint64_t h2 = ms->hint + 2 * (uint64_t)(ms->kdelta < 0 ? -ms->kdelta : ms->kdelta);
            for (int t = 0; t < 2; t++) {
                uint64_t hh = t == 0 ? ms->hint : h2;
                if (hh >= lo && hh <= ms->cap && md_above(ms, cont, dq, hh, &v) == Z3_L_FALSE) {
                    ms->best = hh > ms->best ? hh : ms->best;
                    goto done;
                }
            }
            ok = false;
            ms->fail = "the count does not follow the enclosing loop";
            goto done;
        }
        if (ms->hint >= lo && ms->hint <= ms->cap &&
            md_above(ms, cont, dq, ms->hint, &v) == Z3_L_FALSE) {
            ms->best = ms->hint; /* at most the hint: enough */
            goto done;
        }
        /* gallop upwards from the model's value to a refuted one, at most the cap */
        for (;;) {
            uint64_t m = lo >= ms->cap / 4 ? ms->cap : (lo < 16 ? 16 : lo) * 4;
            if (lo > ms->cap || md_spent(ms)) {
                ok = false;
                ms->fail = lo > ms->cap ? "the distance is not bounded" : "too many checks";
                goto done;
            }
            q = md_above(ms, cont, dq, m, &v);
            if (q == Z3_L_FALSE) {
                hi = m;
                break;
            }
            if (m == ms->cap || q == Z3_L_UNDEF) {
                ok = false;
                ms->fail = q == Z3_L_UNDEF ? "Z3 could not decide within its limits"
                                           : "the distance is not bounded";
                goto done;
            }
            lo = q == Z3_L_TRUE && v > m ? v : m + 1;
        }
        while (lo < hi) {
            if (md_spent(ms)) {
                ok = false;
                ms->fail = "too many checks";
                goto done;
            }
            uint64_t mid = lo + (hi - lo) / 2;
            q = md_above(ms, cont, dq, mid, &v);
            if (q == Z3_L_FALSE)
                hi = mid;
            else /* reachable (or unknown: the bound stays above mid) */
                lo = q == Z3_L_TRUE && v > mid && v <= hi ? v : mid + 1;
        }
        ms->best = hi;
    }
done:
    Z3_solver_pop(c, x->s, 1);
    ms->paths++;
    if (getenv("WCET_DEBUG")) {
        fprintf(stderr, "max distance path %d (%d blocks): %s, best %llu:", ms->paths, n,
                ok ? "ok" : ms->fail, (unsigned long long)ms->best);
        for (int i = 0; i < n; i++)
            fprintf(stderr, " %s%llx", ms->sum[i] >= 0 ? "~" : "",
                    (unsigned long long)ms->cfg->blocks[ms->path[i]].start);
        fprintf(stderr, "\n");
    }
    return ok;
}

/* on the chain from the outermost loop around l down to l itself */
static bool md_chain(const mdsearch *ms, int L) {
    for (int y = ms->l; y >= 0; y = ms->cfg->loops[y].parent)
        if (y == L)
            return true;
    return false;
}

static void md_dfs(mdsearch *ms, int b, int n, int level);

/* the edge from block `from` (in loop `level`'s own blocks, -1: outside every
 * loop) to block to, as the next step of the path at index n */
static void md_edge(mdsearch *ms, int from, int to, int n, int level) {
    const wc_cfg *cfg = ms->cfg;
    if (!ms->vr->in[to].reached || !ms->reach[to])
        return;
    for (int y = level; y >= 0; y = cfg->loops[y].parent)
        if (to == cfg->loops[y].header && cfg->loops[y].in[from])
            return; /* a back edge: the first arrival (for a loop crossed, any
                       iteration is covered by its entry at the header) */
    if (level >= 0 && !cfg->loops[level].in[to]) {
        /* leaving a loop: one around l comes back only along a back edge; one
         * crossed on the way goes on at the level around it */
        if (md_chain(ms, level))
            return;
        md_edge(ms, from, to, n, cfg->loops[level].parent);
        return;
    }
    int il = cfg->blocks[to].loop;
    if (il == level) {
        ms->sum[n] = -1;
        md_dfs(ms, to, n, level);
        return;
    }
    /* the loop around `to` nested directly in `level` */
    int Y = il;
    while (Y >= 0 && cfg->loops[Y].parent != level)
        Y = cfg->loops[Y].parent;
    if (Y < 0 || to != cfg->loops[Y].header) {
        ms->ok = false;
        ms->fail = "a loop on the way is entered other than through its header";
        return;
    }
    if (Y == ms->l) {
        ms->sum[n] = -1;
        md_dfs(ms, to, n, Y);
        return;
    }
    /* a loop around l, or another loop on the way: entered at its header in any
     * iteration (what it writes from the value analysis at its header, with what
     * its bound says), then through its blocks to l or out of it */
    ms->sum[n] = Y;
    md_dfs(ms, to, n, Y);
}

/* block b is path[n] (sum[n] already set) */
static void md_dfs(mdsearch *ms, int b, int n, int level) {
    if (!ms->ok)
        return;
    if (md_spent(ms) || ms->paths >= 128 || n >= 255) {
        ms->ok = false;
        ms->fail = ms->paths >= 128 ? "too many paths" : n >= 255 ? "path too long" : "too many checks";
        return;
    }
    ms->path[n] = b;
    if (b == ms->pblock && level == ms->l) {
        ms->n = n + 1;
        if (!md_path(ms))
            ms->ok = false;
        return;
    }
    const wc_block *bb = &ms->cfg->blocks[b];
    for (int k = 0; k < bb->nsucc && ms->ok; k++)
        md_edge(ms, b, bb->succ[k], n + 1, level);
}

bool wc_smt_max_distance(wc_analyzer *an, const wc_cfg *cfg, const wc_vres *vr, int l, int pblock,
                         int pstop, const wc_op *aop, const wc_op *bop, int64_t bconst, int w,
                         int64_t s, int rel, bool uns, bool wrapchk, uint64_t cap,
                         const wc_ivfacts *ivf, int64_t kdelta, uint64_t hint, uint64_t *dmax,
                         const char **why) {
    *why = "";
    if (cfg->irreducible || s == 0 || w < 8 || w > 64) {
        *why = "unsupported";
        return false;
    }
    int start = 0;
    if (!vr->in[0].reached || cfg->blocks[0].loop >= 0) {
        *why = "no start state";
        return false;
    }
    sctx x;
    sctx_open(&x, an);
    mdsearch ms;
    memset(&ms, 0, sizeof ms);
    ms.x = &x;
    ms.cfg = cfg;
    ms.vr = vr;
    ms.l = l;
    ms.ivf = ivf;
    ms.kdelta = kdelta;
    ms.hint = hint;
    ms.start = start;
    ms.pblock = pblock;
    ms.pstop = pstop;
    ms.aop = aop;
    ms.bop = bop;
    ms.bconst = bconst;
    ms.w = w;
    ms.rel = rel;
    ms.s = s;
    ms.uns = uns;
    ms.wrapchk = wrapchk;
    ms.cap = cap;
    ms.ok = true;
    ms.t0 = now_s();
    /* blocks from which the test can be reached */
    ms.reach = wc_xcalloc((size_t)cfg->nblocks, sizeof *ms.reach);
    int *stack = wc_xcalloc((size_t)cfg->nblocks + 1, sizeof *stack), top = 0;
    ms.reach[pblock] = true;
    stack[top++] = pblock;
    while (top) {
        int b = stack[--top];
        for (int k = 0; k < cfg->blocks[b].npred; k++) {
            int q = cfg->blocks[b].pred[k];
            if (!ms.reach[q]) {
                ms.reach[q] = true;
                stack[top++] = q;
            }
        }
    }
    free(stack);
    ms.sum[0] = -1;
    md_dfs(&ms, start, 0, -1);
    free(ms.reach);
    sctx_close(&x);
    if (!ms.ok || ms.paths == 0) {
        *why = ms.fail ? ms.fail : "no path";
        return false;
    }
    *dmax = ms.best;
    return true;
}

/* ---------- an induction variable's step, from two iterations ---------- */
bool wc_smt_step(wc_analyzer *an, const wc_cfg *cfg, const wc_vres *vr, int l, int pblock, int pstop,
                 const wc_op *aop, int64_t *stepv) {
    const wc_loop *lp = &cfg->loops[l];
    int h = lp->header;
    if (!vr->in[h].reached)
        return false;
    /* the body: one path from the header around to it */
    int path[64], np = 0, b = h, ip = -1;
    for (;;) {
        if (np >= 64 || cfg->blocks[b].loop != l)
            return false;
        if (b == pblock)
            ip = np;
        path[np++] = b;
        const wc_block *bb = &cfg->blocks[b];
        if (bb->term != WC_T_JCC && bb->term != WC_T_JMP && bb->term != WC_T_FALL)
            return false;
        int next = -1, ins = 0;
        for (int k = 0; k < bb->nsucc; k++)
            if (lp->in[bb->succ[k]]) {
                next = bb->succ[k];
                ins++;
            }
        if (ins != 1)
            return false;
        if (next == h)
            break;
        b = next;
    }
    if (ip < 0)
        return false;
    sctx x;
    sctx_open(&x, an);
    Z3_context c = x.c;
    sstate st;
    state_from(&x, &st, &vr->in[h]);
    Z3_ast a[2] = {NULL, NULL};
    for (int it = 0; it < 2; it++)
        for (int i = 0; i < np; i++) {
            const wc_block *bb = &cfg->blocks[path[i]];
            wc_state vs = vr->in[path[i]];
            for (int k = 0; k < bb->n; k++) {
                if (i == ip && k == pstop)
                    a[it] = rd(&x, &st, vs.reached ? &vs : NULL, aop, 0);
                step(&x, &st, vs.reached ? &vs : NULL, bb->insns[k]);
                if (vs.reached)
                    wc_value_step(an, &vs, bb->insns[k]);
            }
            if (i == ip && pstop >= bb->n)
                a[it] = rd(&x, &st, vs.reached ? &vs : NULL, aop, 0);
            if (it == 1 && i == ip)
                break;
            Z3_solver_assert(c, x.s, edge_cond(&x, &st, cfg, path[i], i + 1 < np ? path[i + 1] : h));
        }
    bool ok = false;
    if (a[0] && a[1]) {
        Z3_ast d = Z3_mk_bvsub(c, a[1], a[0]);
        if (Z3_solver_check(c, x.s) == Z3_L_TRUE) {
            bool got;
            uint64_t v = model_u64(&x, d, &got);
            int w = aop->size ? aop->size * 8 : 64;
            int64_t sv = wc_sext(v, w);
            if (got) {
                Z3_solver_push(c, x.s);
                Z3_solver_assert(c, x.s, Z3_mk_not(c, Z3_mk_eq(c, d, Z3_mk_unsigned_int64(c, v, bv(&x, w)))));
                ok = Z3_solver_check(c, x.s) == Z3_L_FALSE;
                Z3_solver_pop(c, x.s, 1);
                *stepv = sv;
            }
        }
    }
    sctx_close(&x);
    return ok;
}

/* ---------- the symbolic executor, for rank.c (smt_exec.h) ---------- */
void wc_sym_open(sctx *x, wc_analyzer *an) {
    sctx_open(x, an);
}
void wc_sym_close(sctx *x) {
    sctx_close(x);
}
void wc_sym_state(sctx *x, sstate *st, const wc_state *vs) {
    state_from(x, st, vs);
}
void wc_sym_block(sctx *x, sstate *st, const wc_cfg *cfg, const wc_vres *vr, int b) {
    run_block(x, st, cfg, vr, b);
}
Z3_ast wc_sym_edge(sctx *x, const sstate *st, const wc_cfg *cfg, int b, int to) {
    return edge_cond(x, st, cfg, b, to);
}
Z3_ast wc_sym_slot(const sstate *st, int64_t off, int size) {
    int i = slot_idx(st, off, size);
    return i >= 0 ? st->slot[i].v : NULL;
}
Z3_ast wc_sym_slot_fresh(sctx *x, sstate *st, int64_t off, int size) {
    int i = slot_idx(st, off, size);
    if (i >= 0)
        return st->slot[i].v;
    Z3_ast v = fresh(x, size * 8);
    slot_put(st, off, size, v);
    return v;
}
