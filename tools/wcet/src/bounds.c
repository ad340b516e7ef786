/*
 * bounds.c - automatic loop bounds from the binary.
 *
 * For each loop, every conditional exit in a block that runs once per
 * iteration (it dominates every latch and lies in no inner loop) is a
 * candidate. Its compare gives a location A (register or stack slot) and a
 * limit B (constant, or a location the loop never writes). A delta analysis
 * around the loop proves that A changes by the same constant s on every path
 * from the compare back to itself (induction variable, any stride, up or
 * down, through copies between registers and slots as at -O0). The value
 * analysis gives A's value at the first compare (A0) and B's range; the
 * number of back edges per entry then follows from the exit condition
 * (<, <=, >, >=, !=, ==, signed or unsigned), with checks that A cannot wrap
 * around before the exit. The best candidate wins. A loop nested in another
 * whose limit is the outer induction variable gets a total bound over the
 * outer loop (triangular loops). Loops left over go to Z3 (smt.c), then to the
 * flow-facts file.
 */
#include <capstone/capstone.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wcet_internal.h"

typedef struct dloc {
    uint8_t kind; /* 0 register, 1 slot */
    int8_t reg;
    uint8_t size;
    int64_t off;
} dloc;

#define DMAX 24
typedef struct dmap {
    bool reached;
    int n;
    dloc loc[DMAX];
    int64_t d[DMAX];
} dmap;

static bool loc_eq(const dloc *a, const dloc *b) {
    if (a->kind != b->kind)
        return false;
    return a->kind == 0 ? a->reg == b->reg : a->off == b->off && a->size == b->size;
}

static int dm_find(const dmap *m, const dloc *l) {
    for (int i = 0; i < m->n; i++)
        if (loc_eq(&m->loc[i], l))
            return i;
    return -1;
}

static void dm_del(dmap *m, int i) {
    m->loc[i] = m->loc[m->n - 1];
    m->d[i] = m->d[m->n - 1];
    m->n--;
}

static void dm_set(dmap *m, const dloc *l, int64_t d) {
    int i = dm_find(m, l);
    if (i >= 0) {
        m->d[i] = d;
        return;
    }
    if (m->n >= DMAX)
        return;
    m->loc[m->n] = *l;
    m->d[m->n++] = d;
}

static void dm_kill_reg(dmap *m, int r) {
    for (int i = m->n - 1; i >= 0; i--)
        if (m->loc[i].kind == 0 && m->loc[i].reg == r)
            dm_del(m, i);
}

static void dm_kill_slots(dmap *m, int64_t lo, int64_t hi) {
    for (int i = m->n - 1; i >= 0; i--)
        if (m->loc[i].kind == 1 && m->loc[i].off < hi && m->loc[i].off + m->loc[i].size > lo)
            dm_del(m, i);
}

static bool dm_eq(const dmap *a, const dmap *b) {
    if (a->reached != b->reached || a->n != b->n)
        return false;
    for (int i = 0; i < a->n; i++) {
        int j = dm_find(b, &a->loc[i]);
        if (j < 0 || b->d[j] != a->d[i])
            return false;
    }
    return true;
}

static void dm_join(dmap *acc, const dmap *s) {
    if (!s->reached)
        return;
    if (!acc->reached) {
        *acc = *s;
        return;
    }
    for (int i = acc->n - 1; i >= 0; i--) {
        int j = dm_find(s, &acc->loc[i]);
        if (j < 0 || s->d[j] != acc->d[i])
            dm_del(acc, i);
    }
}

/* the location an operand names, given the value state before the insn */
static bool op_loc(const wc_state *st, const wc_op *op, dloc *l) {
    memset(l, 0, sizeof *l);
    if (op->type == WC_OP_REG) {
        if (op->reg < 0 || op->reg >= WC_NREGS || op->high8 || op->size < 4)
            return false;
        l->kind = 0;
        l->reg = op->reg;
        l->size = op->size;
        return true;
    }
    int64_t off;
    if (op->type == WC_OP_MEM && wc_op_slot(st, op, &off)) {
        l->kind = 1;
        l->off = off;
        l->size = op->size;
        return true;
    }
    return false;
}

/* one instruction of the delta analysis; vs is the value state before it */
static void dm_step(const wc_state *vs, const wc_insn *in, dmap *m) {
    if (!m->reached)
        return;
    const wc_op *o0 = &in->ops[0], *o1 = &in->ops[1];
    dloc d0, d1;
    bool l0 = in->nops >= 1 && op_loc(vs, o0, &d0);
    bool l1 = in->nops >= 2 && op_loc(vs, o1, &d1);
    int i0 = l0 ? dm_find(m, &d0) : -1;
    int i1 = l1 ? dm_find(m, &d1) : -1;
    bool done = false;
    switch (in->id) {
    case X86_INS_ADD:
    case X86_INS_SUB:
        if (l0 && i0 >= 0 && in->nops == 2 && o1->type == WC_OP_IMM) {
            m->d[i0] += in->id == X86_INS_ADD ? o1->imm : -o1->imm;
            done = true;
        }
        break;
    case X86_INS_INC:
    case X86_INS_DEC:
        if (l0 && i0 >= 0) {
            m->d[i0] += in->id == X86_INS_INC ? 1 : -1;
            done = true;
        }
        break;
    case X86_INS_MOVZX:
    case X86_INS_MOVSX:
        /* a narrow counter loaded from its stack slot */
        if (in->nops == 2 && o0->type == WC_OP_REG && o0->reg >= 0 && o0->reg < WC_NREGS &&
            !o0->high8 && l1 && i1 >= 0) {
            int64_t dd = m->d[i1];
            dm_kill_reg(m, o0->reg);
            dloc r = {0, o0->reg, 4, 0};
            dm_set(m, &r, dd);
            return;
        }
        break;
    case X86_INS_MOV:
    case X86_INS_MOVSXD:
        if (in->nops == 2 && l0 && d0.kind == 1 && d0.size < 4 && o1->type == WC_OP_REG &&
            o1->reg >= 0 && o1->reg < WC_NREGS && !o1->high8) {
            /* a narrow counter stored back from the low part of a register */
            dloc r = {0, o1->reg, 4, 0};
            int ir = dm_find(m, &r);
            dm_kill_slots(m, d0.off, d0.off + d0.size);
            if (ir >= 0)
                dm_set(m, &d0, m->d[ir]);
            return;
        }
        if (l0 && in->nops == 2) {
            if (l1 && i1 >= 0 && (o0->size == o1->size || in->id == X86_INS_MOVSXD)) {
                int64_t dd = m->d[i1];
                if (d0.kind == 0)
                    dm_kill_reg(m, d0.reg);
                else
                    dm_kill_slots(m, d0.off, d0.off + d0.size);
                dm_set(m, &d0, dd);
                return;
            }
        }
        break;
    case X86_INS_LEA:
        if (l0 && o1->type == WC_OP_MEM && o1->index == WC_R_NONE && o1->base >= 0 &&
            o1->base < WC_NREGS && !o1->seg) {
            dloc b = {0, o1->base, 8, 0};
            int ib = dm_find(m, &b);
            if (ib < 0) {
                b.size = 4;
                ib = dm_find(m, &b);
            }
            if (ib >= 0) {
                int64_t dd = m->d[ib] + o1->disp;
                dm_kill_reg(m, d0.reg);
                dm_set(m, &d0, dd);
                return;
            }
        }
        break;
    default:
        break;
    }
    if (done)
        return;
    /* anything written loses its delta */
    for (int r = 0; r < WC_NREGS; r++)
        if (in->regs_written & (1u << r))
            dm_kill_reg(m, r);
    if (in->kind == WC_I_CALL || in->kind == WC_I_ICALL) {
        static const int cs[] = {WC_RAX, WC_RCX, WC_RDX, WC_RSI, WC_RDI,
                                 WC_R8,  WC_R9,  WC_R10, WC_R11};
        for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++)
            dm_kill_reg(m, cs[i]);
        if (vs->esc_lo != INT64_MAX)
            dm_kill_slots(m, vs->esc_lo, INT64_MAX);
        wc_val sp = vs->reg[WC_RSP];
        if (!sp.top && sp.base == WC_B_SP)
            dm_kill_slots(m, INT64_MIN / 2, sp.lo);
    }
    if (in->string_op)
        dm_kill_slots(m, INT64_MIN / 2, INT64_MAX);
    if (in->id == X86_INS_PUSH) {
        wc_val sp = vs->reg[WC_RSP];
        if (!sp.top && sp.base == WC_B_SP)
            dm_kill_slots(m, sp.lo - 8, sp.lo);
    }
    /* memory destination */
    if (in->nops >= 1 && o0->type == WC_OP_MEM && in->id != X86_INS_CMP && in->id != X86_INS_TEST &&
        in->id != X86_INS_PUSH && in->kind == WC_I_NORMAL) {
        if (l0)
            dm_kill_slots(m, d0.off, d0.off + d0.size);
        else {
            wc_val a = wc_read_op(vs, o0, 0); /* value unused; address below */
            (void)a;
            /* indexed stack stores and pointer stores: escaped slots only */
            if (vs->esc_lo != INT64_MAX)
                dm_kill_slots(m, vs->esc_lo, INT64_MAX);
        }
    }
}

typedef struct point {
    int b, i;  /* block, instruction index */
    bool post; /* after the instruction */
} point;

static void run_dm_block(wc_analyzer *an, const wc_cfg *cfg, const wc_vres *vr, int b, int from,
                         int to, dmap *m) {
    wc_state vs;
    wc_value_at(an, cfg, vr, b, from, &vs);
    const wc_block *bb = &cfg->blocks[b];
    for (int i = from; i < to && i < bb->n; i++) {
        if (!vs.reached) {
            m->reached = false;
            return;
        }
        dm_step(&vs, bb->insns[i], m);
        wc_value_step(an, &vs, bb->insns[i]);
    }
}

/* The map m leaving block q towards block b: an edge taken only when
 * `cmp X, Y` found X == Y (64-bit operands) gives the one without a delta the
 * other's (both hold the same number there). */
static void dm_edge(wc_analyzer *an, const wc_cfg *cfg, const wc_vres *vr, int q, int b, dmap *m) {
    const wc_block *qb = &cfg->blocks[q];
    if (!m->reached || qb->term != WC_T_JCC || qb->n < 2)
        return;
    const wc_insn *j = qb->insns[qb->n - 1], *f = qb->insns[qb->n - 2];
    bool taken = j->target == cfg->blocks[b].start, fall = j->addr + j->size == cfg->blocks[b].start;
    if (taken == fall)
        return;
    bool eq = (j->cc == WC_CC_E && taken) || (j->cc == WC_CC_NE && !taken);
    if (!eq || f->id != X86_INS_CMP || f->nops != 2 || f->ops[0].size != 8 || f->ops[1].size != 8)
        return;
    wc_state vs;
    wc_value_at(an, cfg, vr, q, qb->n - 2, &vs);
    dloc la, lb;
    if (!vs.reached || !op_loc(&vs, &f->ops[0], &la) || !op_loc(&vs, &f->ops[1], &lb))
        return;
    int ia = dm_find(m, &la), ib = dm_find(m, &lb);
    if (ia >= 0 && ib < 0)
        dm_set(m, &lb, m->d[ia]);
    else if (ib >= 0 && ia < 0)
        dm_set(m, &la, m->d[ib]);
}

/* Delta analysis over the blocks of region from point p (map init) around to
 * p again. Returns the map at the return to p; also the in-maps of blocks
 * (hdr_in: the map at entry of block want from predecessors outside skip). */
static dmap delta_around(wc_analyzer *an, const wc_cfg *cfg, const wc_vres *vr, const bool *region,
                         point p, const dmap *init, int want, const bool *want_skip_from,
                         dmap *want_in) {
    int n = cfg->nblocks;
    dmap *in = wc_xcalloc((size_t)n, sizeof *in);
    dmap *out = wc_xcalloc((size_t)n, sizeof *out);
    int stop = p.post ? p.i + 1 : p.i;
    dmap start = *init;
    start.reached = true;
    run_dm_block(an, cfg, vr, p.b, stop, cfg->blocks[p.b].n, &start);
    bool changed = true;
    int rounds = 0;
    while (changed && rounds++ < 100) {
        changed = false;
        for (int b = 0; b < n; b++) {
            if (!region[b])
                continue;
            dmap acc;
            memset(&acc, 0, sizeof acc);
            const wc_block *bb = &cfg->blocks[b];
            for (int k = 0; k < bb->npred; k++) {
                int q = bb->pred[k];
                if (!region[q])
                    continue;
                dmap e = q == p.b ? start : out[q];
                dm_edge(an, cfg, vr, q, b, &e);
                dm_join(&acc, &e);
            }
            if (dm_eq(&acc, &in[b]))
                continue;
            in[b] = acc;
            changed = true;
            if (b == p.b)
                continue; /* stop at p */
            dmap o = acc;
            run_dm_block(an, cfg, vr, b, 0, bb->n, &o);
            out[b] = o;
        }
    }
    dmap res = in[p.b];
    if (res.reached)
        run_dm_block(an, cfg, vr, p.b, 0, stop, &res);
    if (getenv("WCET_DEBUG")) {
        for (int b = 0; b < n; b++) {
            if (!region[b])
                continue;
            fprintf(stderr, "delta: block 0x%llx in(%d):", (unsigned long long)cfg->blocks[b].start,
                    in[b].reached);
            for (int i = 0; i < in[b].n; i++)
                fprintf(stderr, " %d/%d/%lld=%lld", in[b].loc[i].kind, in[b].loc[i].reg,
                        (long long)in[b].loc[i].off, (long long)in[b].d[i]);
            fprintf(stderr, "\n");
        }
    }
    if (want >= 0 && want_in) {
        memset(want_in, 0, sizeof *want_in);
        const wc_block *wb = &cfg->blocks[want];
        for (int k = 0; k < wb->npred; k++) {
            int q = wb->pred[k];
            if (!region[q] || (want_skip_from && want_skip_from[q]))
                continue;
            dmap e = q == p.b ? start : out[q];
            dm_edge(an, cfg, vr, q, want, &e);
            dm_join(want_in, &e);
        }
    }
    free(in);
    free(out);
    return res;
}

static bool dominates(const wc_cfg *cfg, int a, int b) {
    for (int guard = 0; b >= 0 && guard < cfg->nblocks + 2; guard++) {
        if (a == b)
            return true;
        if (cfg->blocks[b].idom == b)
            return false;
        b = cfg->blocks[b].idom;
    }
    return false;
}

/* relation: continue while A rel B */
enum { REL_LT, REL_LE, REL_GT, REL_GE, REL_EQ, REL_NE };
static const char *const rel_names[] = {"<", "<=", ">", ">=", "==", "!="};

typedef struct cand {
    bool ok;
    point p;
    dloc a;    /* the induction variable at p */
    int64_t s; /* step per iteration */
    int rel;
    bool uns;
    int w;
    wc_val a0; /* A at the first compare */
    bool b_imm;
    dloc bl;          /* B's location */
    wc_val b;         /* B's value */
    uint64_t k;       /* back edges per entry */
    dmap init;        /* locations equal to A at p */
    bool structural;  /* A is an induction variable and B fits: only the count failed */
    bool sign_test;   /* js/jns after cmp: valid as < / >= while A - B cannot overflow */
    const wc_insn *f; /* the flag setter */
    int ai;           /* A's operand index in f */
    bool exact;       /* for !=: the variable meets its limit exactly (not by wrap-around) */
    bool b_varies;    /* the limit changes in the loop */
    bool z3_step;     /* the step comes from Z3, not from the delta analysis */
    bool split;       /* one of several copies of the exit test (split_exit) */
    char how[512];
} cand;

static int cc_rel(int cc, bool *uns) {
    *uns = false;
    switch (cc) {
    case WC_CC_L:
        return REL_LT;
    case WC_CC_LE:
        return REL_LE;
    case WC_CC_G:
        return REL_GT;
    case WC_CC_GE:
        return REL_GE;
    case WC_CC_B:
        *uns = true;
        return REL_LT;
    case WC_CC_BE:
        *uns = true;
        return REL_LE;
    case WC_CC_A:
        *uns = true;
        return REL_GT;
    case WC_CC_AE:
        *uns = true;
        return REL_GE;
    case WC_CC_E:
        return REL_EQ;
    case WC_CC_NE:
        return REL_NE;
    case WC_CC_S:
        return REL_LT; /* with B = 0 */
    case WC_CC_NS:
        return REL_GE; /* with B = 0 */
    default:
        return -1;
    }
}

typedef __int128 i128;

/* back edges per entry from A0, B, s and the relation; false if unbounded */
static bool count_k(const cand *c, const wc_val *a0, const wc_val *b, uint64_t *k, char *why,
                    size_t wn) {
    int w = c->w;
    i128 alo, ahi, blo, bhi, mn, mx;
    bool based = false;
    /* the same symbol on both sides: B - A0 is known modulo 2^w */
    bool same = a0->sym && a0->sym == b->sym && a0->symw >= w && b->symw >= w;
    uint64_t mask = w >= 64 ? UINT64_MAX : ((uint64_t)1 << w) - 1;
    uint64_t dsym = same ? ((uint64_t)b->sc - (uint64_t)a0->sc) & mask : 0;
    if (same && c->rel == REL_NE && c->s != 0) {
        /* A meets B after exactly D / s steps, counted modulo 2^w */
        uint64_t as = (uint64_t)(c->s < 0 ? -c->s : c->s) & mask;
        uint64_t d = c->s > 0 ? dsym : (uint64_t)(-(int64_t)dsym) & mask;
        if (as && d % as == 0 && d / as < ((uint64_t)1 << 40)) {
            *k = d / as;
            snprintf(why, wn, "the limit is the initial value %+lld", (long long)wc_sext(dsym, w));
            return true;
        }
    }
    if (a0->top || b->top) {
        snprintf(why, wn, "%s is not bounded", a0->top ? "the initial value" : "the limit");
        return false;
    }
    if (a0->base != WC_B_NONE || b->base != WC_B_NONE) {
        if (a0->base != b->base || w != 64) {
            snprintf(why, wn, "the initial value and the limit are unrelated addresses");
            return false;
        }
        based = true;
        alo = a0->lo;
        ahi = a0->hi;
        blo = b->lo;
        bhi = b->hi;
        mn = -((i128)1 << 62);
        mx = (i128)1 << 62; /* addresses of one object: no wrap-around */
    } else if (c->uns) {
        uint64_t x, y, u, v;
        if (!wc_val_unsigned(a0, w, &x, &y) || !wc_val_unsigned(b, w, &u, &v)) {
            snprintf(why, wn, "operand range unknown as unsigned");
            return false;
        }
        alo = x;
        ahi = y;
        blo = u;
        bhi = v;
        mn = 0;
        mx = w >= 64 ? (i128)UINT64_MAX : ((i128)1 << w) - 1;
    } else {
        int64_t x, y, u, v;
        if (!wc_val_signed(a0, w, &x, &y) || !wc_val_signed(b, w, &u, &v)) {
            snprintf(why, wn, "operand range unknown as signed");
            return false;
        }
        alo = x;
        ahi = y;
        blo = u;
        bhi = v;
        mn = w >= 64 ? (i128)INT64_MIN : -((i128)1 << (w - 1));
        mx = w >= 64 ? (i128)INT64_MAX : ((i128)1 << (w - 1)) - 1;
    }
    i128 s = c->s, K = 0;
    /* D = B - A0: exact when both are the same symbol plus constants */
    i128 dlo0 = blo - ahi, dhi0 = bhi - alo;
    if (same && dhi0 - dlo0 < ((i128)1 << w)) {
        i128 m = (i128)1 << w;
        i128 dd = dlo0 + ((((i128)dsym - dlo0) % m) + m) % m;
        if (dd <= dhi0)
            dlo0 = dhi0 = dd;
    }
    switch (c->rel) {
    case REL_LT:
        if (s <= 0) {
            snprintf(why, wn, "the variable moves away from its limit (step %lld)",
                     (long long)c->s);
            return false;
        }
        if (bhi - 1 + s > mx) {
            snprintf(why, wn, "the variable may wrap around before reaching the limit");
            return false;
        }
        K = dhi0 > 0 ? (dhi0 + s - 1) / s : 0;
        break;
    case REL_LE:
        if (s <= 0) {
            snprintf(why, wn, "the variable moves away from its limit (step %lld)",
                     (long long)c->s);
            return false;
        }
        if (bhi + s > mx) {
            snprintf(why, wn, "the variable may wrap around before passing the limit");
            return false;
        }
        K = dhi0 >= 0 ? dhi0 / s + 1 : 0;
        break;
    case REL_GT:
        if (s >= 0) {
            snprintf(why, wn, "the variable moves away from its limit (step %lld)",
                     (long long)c->s);
            return false;
        }
        if (blo + 1 + s < mn) {
            snprintf(why, wn, "the variable may wrap around before reaching the limit");
            return false;
        }
        K = -dlo0 > 0 ? (-dlo0 + (-s) - 1) / (-s) : 0;
        break;
    case REL_GE:
        if (s >= 0) {
            snprintf(why, wn, "the variable moves away from its limit (step %lld)",
                     (long long)c->s);
            return false;
        }
        if (blo + s < mn) {
            snprintf(why, wn, "the variable may wrap around before passing the limit");
            return false;
        }
        K = -dlo0 >= 0 ? (-dlo0) / (-s) + 1 : 0;
        break;
    case REL_EQ:
        K = 1;
        break;
    case REL_NE: {
        if (s == 0) {
            snprintf(why, wn, "the variable does not change");
            return false;
        }
        i128 dlo = dlo0, dhi = dhi0;
        i128 as = s < 0 ? -s : s;
        /* congruence of D = B - A0 */
        bool cong;
        if (dlo == dhi)
            cong = dlo % as == 0;
        else {
            uint64_t g = a0->lo == a0->hi ? b->m : b->lo == b->hi ? a0->m : 0;
            if (a0->lo != a0->hi && b->lo != b->hi) {
                uint64_t x = a0->m, y = b->m;
                while (y) {
                    uint64_t t = x % y;
                    x = y;
                    y = t;
                }
                g = x;
            }
            i128 rdiff = (i128)(b->lo == b->hi ? b->lo : (int64_t)b->r) -
                         (a0->lo == a0->hi ? a0->lo : (int64_t)a0->r);
            cong = as == 1 || (g > 1 && g % (uint64_t)as == 0 && rdiff % as == 0);
        }
        if (c->uns || based) {
            /* the unsigned view was used for the bounds above */
        }
        if (cong && s > 0 && dlo >= 0) {
            K = dhi / s;
            break;
        }
        if (cong && s < 0 && dhi <= 0) {
            K = (-dlo) / as;
            break;
        }
        if (!based && (as & 1) && w <= 32) {
            K = ((i128)1 << w) - 1;
            snprintf(why, wn, "by wrap-around only");
            break;
        }
        snprintf(why, wn, "cannot show that the variable meets its limit exactly");
        return false;
    }
    default:
        return false;
    }
    if (K < 0)
        K = 0;
    if (K > (i128)UINT64_MAX / 4) {
        snprintf(why, wn, "bound too large");
        return false;
    }
    *k = (uint64_t)K;
    return true;
}

static void loc_str(const dloc *l, char *buf, size_t n) {
    if (l->kind == 0)
        snprintf(buf, n, "%s", wc_reg_name(l->reg, l->size));
    else
        snprintf(buf, n, "[sp%+lld]", (long long)l->off);
}

/* Does any instruction of the loop write location l? */
static bool loop_writes(wc_analyzer *an, const wc_cfg *cfg, const wc_vres *vr, const wc_loop *lp,
                        const dloc *l) {
    for (int k = 0; k < lp->nblocks; k++) {
        int b = lp->blocks[k];
        const wc_block *bb = &cfg->blocks[b];
        wc_state vs;
        wc_value_at(an, cfg, vr, b, 0, &vs);
        if (!vs.reached)
            continue;
        for (int i = 0; i < bb->n; i++) {
            dmap m;
            memset(&m, 0, sizeof m);
            m.reached = true;
            dm_set(&m, l, 0);
            dm_step(&vs, bb->insns[i], &m);
            int at = dm_find(&m, l);
            if (at < 0 || m.d[at] != 0)
                return true;
            wc_value_step(an, &vs, bb->insns[i]);
        }
    }
    return false;
}

/* the state at the first arrival at point p of loop l (first iteration) */
static bool entry_state(wc_analyzer *an, const wc_cfg *cfg, const wc_vres *vr, int l,
                        wc_state *out) {
    return wc_loop_entry_state(an, cfg, vr, l, out);
}

bool wc_loop_entry_state(wc_analyzer *an, const wc_cfg *cfg, const wc_vres *vr, int l,
                         wc_state *out) {
    const wc_loop *lp = &cfg->loops[l];
    int h = lp->header;
    wc_state init;
    memset(&init, 0, sizeof init);
    const wc_block *hb = &cfg->blocks[h];
    bool any = false;
    for (int k = 0; k < hb->npred; k++) {
        int q = hb->pred[k];
        if (lp->in[q])
            continue;
        wc_state o;
        wc_value_at(an, cfg, vr, q, cfg->blocks[q].n, &o);
        if (!o.reached)
            continue;
        wc_state e;
        const wc_block *qb = &cfg->blocks[q];
        int taken = qb->term == WC_T_JCC ? qb->insns[qb->n - 1]->target == hb->start : 1;
        wc_value_edge(&o, qb, taken, &e);
        if (!e.reached)
            continue;
        if (!any) {
            init = e;
            any = true;
        } else
            wc_state_join(&init, &e);
    }
    *out = init;
    return any;
}

static bool first_iteration(wc_analyzer *an, const wc_cfg *cfg, const wc_vctx *ctx,
                            const wc_vres *vr, int l, point p, wc_state *at) {
    const wc_loop *lp = &cfg->loops[l];
    int h = lp->header;
    wc_state init;
    if (!entry_state(an, cfg, vr, l, &init))
        return false;
    bool *skip = wc_xcalloc((size_t)cfg->nblocks, sizeof *skip);
    for (int k = 0; k < lp->nlatches; k++)
        skip[lp->latches[k]] = true;
    wc_vres r;
    wc_value_run(an, cfg, ctx, h, &init, lp->in, h, skip, &r);
    wc_value_at(an, cfg, &r, p.b, p.post ? p.i + 1 : p.i, at);
    wc_vres_free(&r);
    free(skip);
    return at->reached;
}

/* does insn in write location l (as dm_step sees it)? */
static bool writes_loc(const wc_state *vs, const wc_insn *in, const dloc *l) {
    dmap m;
    memset(&m, 0, sizeof m);
    m.reached = true;
    dm_set(&m, l, 0);
    dm_step(vs, in, &m);
    int i = dm_find(&m, l);
    return i < 0 || m.d[i] != 0;
}

/* the previous write of register y before instruction i of block b (-1: none
 * in the block, -2: X changes first) */
static int prev_write(wc_analyzer *an, const wc_cfg *cfg, const wc_vres *vr, int b, int i, int y,
                      const dloc *X) {
    const wc_block *bb = &cfg->blocks[b];
    for (int k = i - 1; k >= 0; k--) {
        wc_state ds;
        wc_value_at(an, cfg, vr, b, k, &ds);
        if (!ds.reached)
            return -1;
        if (bb->insns[k]->regs_written & (1u << y))
            return k;
        if (writes_loc(&ds, bb->insns[k], X))
            return -2;
    }
    return -1;
}

/* register y holds X just before instruction i */
static bool reg_is_x(wc_analyzer *an, const wc_cfg *cfg, const wc_vres *vr, int b, int i, int y,
                     const dloc *X) {
    if (X->kind == 0 && X->reg == y)
        return true;
    int k = prev_write(an, cfg, vr, b, i, y, X);
    if (k < 0)
        return false;
    const wc_insn *d = cfg->blocks[b].insns[k];
    wc_state ds;
    wc_value_at(an, cfg, vr, b, k, &ds);
    dloc src;
    return d->id == X86_INS_MOV && d->ops[0].type == WC_OP_REG && d->ops[0].reg == y &&
           op_loc(&ds, &d->ops[1], &src) && loc_eq(&src, X);
}

/* register y holds X - 1 just before instruction i */
static bool reg_is_xm1(wc_analyzer *an, const wc_cfg *cfg, const wc_vres *vr, int b, int i, int y,
                       const dloc *X) {
    int k = prev_write(an, cfg, vr, b, i, y, X);
    if (k < 0)
        return false;
    const wc_insn *d = cfg->blocks[b].insns[k];
    if (d->id == X86_INS_LEA && d->ops[1].type == WC_OP_MEM && d->ops[1].index == WC_R_NONE &&
        d->ops[1].disp == -1 && d->ops[1].base >= 0 && d->ops[1].base < WC_NREGS)
        return reg_is_x(an, cfg, vr, b, k, d->ops[1].base, X);
    bool dec = (d->id == X86_INS_SUB && d->ops[1].type == WC_OP_IMM && d->ops[1].imm == 1) ||
               (d->id == X86_INS_ADD && d->ops[1].type == WC_OP_IMM && d->ops[1].imm == -1) ||
               d->id == X86_INS_DEC;
    return dec && d->ops[0].type == WC_OP_REG && d->ops[0].reg == y &&
           reg_is_x(an, cfg, vr, b, k, y, X);
}

/* operand o of instruction i is X (the location itself or a register copy) */
static bool op_is_x(wc_analyzer *an, const wc_cfg *cfg, const wc_vres *vr, int b, int i,
                    const wc_op *o, const dloc *X) {
    wc_state ds;
    wc_value_at(an, cfg, vr, b, i, &ds);
    dloc l;
    if (ds.reached && op_loc(&ds, o, &l) && loc_eq(&l, X))
        return true;
    return o->type == WC_OP_REG && o->reg >= 0 && o->reg < WC_NREGS &&
           reg_is_x(an, cfg, vr, b, i, o->reg, X);
}

/* `and R, S` at k computes X & (X - 1) into R */
static bool and_clears(wc_analyzer *an, const wc_cfg *cfg, const wc_vres *vr, int b, int k,
                       const dloc *X) {
    const wc_insn *d = cfg->blocks[b].insns[k];
    if (d->id != X86_INS_AND || d->nops != 2)
        return false;
    const wc_op *r = &d->ops[0], *sop = &d->ops[1];
    bool r_x = op_is_x(an, cfg, vr, b, k, r, X);
    bool r_xm1 = r->type == WC_OP_REG && r->reg >= 0 && r->reg < WC_NREGS &&
                 reg_is_xm1(an, cfg, vr, b, k, r->reg, X);
    bool s_x = op_is_x(an, cfg, vr, b, k, sop, X);
    bool s_xm1 = sop->type == WC_OP_REG && sop->reg >= 0 && sop->reg < WC_NREGS &&
                 reg_is_xm1(an, cfg, vr, b, k, sop->reg, X);
    return (r_x && s_xm1) || (r_xm1 && s_x);
}

/* Is instruction i of block b a bit-clearing update of X: X = X & (X - 1)
 * (directly, or through a register copied into X), or shr/shl X by a
 * constant? Returns 0 if not, else the bits removed per update at least. */
static int bit_update(wc_analyzer *an, const wc_cfg *cfg, const wc_vres *vr, int b, int i,
                      const dloc *X) {
    const wc_insn *in = cfg->blocks[b].insns[i];
    wc_state vs;
    wc_value_at(an, cfg, vr, b, i, &vs);
    if (!vs.reached)
        return 0;
    dloc d0;
    if (in->nops != 2 || !op_loc(&vs, &in->ops[0], &d0) || !loc_eq(&d0, X))
        return 0;
    if ((in->id == X86_INS_SHR || in->id == X86_INS_SHL) && in->ops[1].type == WC_OP_IMM &&
        (in->ops[1].imm & 63) > 0)
        return (int)(in->ops[1].imm & 63);
    if (in->id == X86_INS_AND)
        return and_clears(an, cfg, vr, b, i, X) ? 1 : 0;
    if (in->id == X86_INS_MOV && in->ops[1].type == WC_OP_REG && in->ops[1].reg >= 0 &&
        in->ops[1].reg < WC_NREGS && in->ops[0].size == in->ops[1].size) {
        int k = prev_write(an, cfg, vr, b, i, in->ops[1].reg, X);
        const wc_insn *d = k >= 0 ? cfg->blocks[b].insns[k] : NULL;
        if (d && d->ops[0].type == WC_OP_REG && d->ops[0].reg == in->ops[1].reg &&
            and_clears(an, cfg, vr, b, k, X))
            return 1;
    }
    return 0;
}

/* Bit loops: X is only changed by bit-clearing updates, at least one on every
 * path around the loop, and the loop continues while X != 0: at most w
 * iterations (w bits; w / k for shifts by k). */
static bool bitloop(wc_analyzer *an, const wc_cfg *cfg, const wc_vres *vr, int l, point p,
                    const dloc *X, int w, uint64_t *k) {
    const wc_loop *lp = &cfg->loops[l];
    int n = cfg->nblocks;
    signed char *in =
        wc_xcalloc((size_t)n, 1); /* 0 unreached, 1 not updated on some path, 2 updated */
    int minbits = 64;
    bool fail = false;
    int stop = p.post ? p.i + 1 : p.i;
    signed char final = 0;
    bool changed = true;
    for (int round = 0; changed && round < 100 && !fail; round++) {
        changed = false;
        for (int b = -1; b < n && !fail; b++) {
            int blk = b < 0 ? p.b : b;
            if (!lp->in[blk])
                continue;
            const wc_block *bb = &cfg->blocks[blk];
            int from = 0, to = bb->n;
            signed char st;
            if (b < 0) {
                st = 1;
                from = stop;
            } else {
                st = in[blk];
                if (!st)
                    continue;
                if (blk == p.b)
                    to = stop;
            }
            for (int i = from; i < to && !fail; i++) {
                int bits = bit_update(an, cfg, vr, blk, i, X);
                if (bits) {
                    st = 2;
                    if (bits < minbits)
                        minbits = bits;
                    continue;
                }
                wc_state vs;
                wc_value_at(an, cfg, vr, blk, i, &vs);
                if (vs.reached && writes_loc(&vs, bb->insns[i], X))
                    fail = true;
            }
            if (b >= 0 && blk == p.b) {
                final = st;
                continue;
            }
            for (int q = 0; q < bb->nsucc; q++) {
                int s2 = bb->succ[q];
                if (!lp->in[s2])
                    continue;
                signed char nv = in[s2] == 0 ? st : (in[s2] < st ? in[s2] : st);
                if (nv != in[s2]) {
                    in[s2] = nv;
                    changed = true;
                }
            }
        }
    }
    free(in);
    if (fail || final != 2)
        return false;
    *k = (uint64_t)((w + minbits - 1) / minbits);
    return true;
}

static int rel_swap(int r) {
    switch (r) {
    case REL_LT:
        return REL_GT;
    case REL_GT:
        return REL_LT;
    case REL_LE:
        return REL_GE;
    case REL_GE:
        return REL_LE;
    default:
        return r;
    }
}

/* A and B of candidate c read from a state at its test point */
static void cand_values(const cand *c, const wc_state *fs, wc_val *a0, wc_val *b) {
    if (c->a.kind == 0) {
        wc_op aop = c->f->ops[c->ai];
        *a0 = wc_read_op(fs, &aop, 0);
    } else {
        *a0 = wc_val_top(c->w);
        for (int i = 0; i < fs->nslots; i++)
            if (fs->slot[i].off == c->a.off && fs->slot[i].size == c->a.size)
                *a0 = fs->slot[i].v;
    }
    if (c->b_imm) {
        *b = c->b;
        return;
    }
    if (c->bl.kind == 0) {
        wc_op bop = c->f->ops[1 - c->ai];
        *b = wc_read_op(fs, &bop, 0);
    } else {
        *b = wc_val_top(c->w);
        for (int i = 0; i < fs->nslots; i++)
            if (fs->slot[i].off == c->bl.off && fs->slot[i].size == c->bl.size)
                *b = fs->slot[i].v;
    }
}

/* the largest distance from A0 to B in the direction of the step */
static bool d_max(const cand *c, const wc_val *a0, const wc_val *b, uint64_t *dmax) {
    if (a0->top || b->top)
        return false;
    i128 alo, ahi, blo, bhi;
    if (a0->base != WC_B_NONE || b->base != WC_B_NONE) {
        if (a0->base != b->base)
            return false;
        alo = a0->lo, ahi = a0->hi, blo = b->lo, bhi = b->hi;
    } else {
        int64_t x, y, u, v;
        uint64_t ux, uy, uu, uv;
        if (wc_val_signed(a0, c->w, &x, &y) && wc_val_signed(b, c->w, &u, &v))
            alo = x, ahi = y, blo = u, bhi = v;
        else if (wc_val_unsigned(a0, c->w, &ux, &uy) && wc_val_unsigned(b, c->w, &uu, &uv))
            alo = ux, ahi = uy, blo = uu, bhi = uv;
        else
            return false;
    }
    i128 d = c->s > 0 ? bhi - alo : ahi - blo;
    if (d < 0)
        d = 0;
    if (d > ((i128)1 << 40))
        return false;
    *dmax = (uint64_t)d;
    return true;
}

/* Register r is computed in loop lp only from registers, constants and stack
 * slots (no other memory, no call): a candidate for Z3's step over two
 * iterations. */
static bool fed_by_registers(const wc_cfg *cfg, const wc_loop *lp, int r) {
    uint32_t set = 1u << r;
    for (int round = 0; round < WC_NREGS + 1; round++) {
        uint32_t before = set;
        for (int k = 0; k < lp->nblocks; k++) {
            const wc_block *bb = &cfg->blocks[lp->blocks[k]];
            for (int j = 0; j < bb->n; j++) {
                const wc_insn *in = bb->insns[j];
                if (!(in->regs_written & set))
                    continue;
                if (in->kind == WC_I_CALL || in->kind == WC_I_ICALL || in->string_op)
                    return false;
                for (int o = 0; o < in->nops; o++) {
                    const wc_op *op = &in->ops[o];
                    if (op->type == WC_OP_MEM && in->id != X86_INS_LEA && op->base != WC_RSP &&
                        op->base != WC_RBP)
                        return false;
                    if (op->type == WC_OP_REG && op->reg >= 0 && op->reg < WC_NREGS)
                        set |= 1u << op->reg;
                    if (op->type == WC_OP_MEM) {
                        if (op->base >= 0 && op->base < WC_NREGS)
                            set |= 1u << op->base;
                        if (op->index >= 0 && op->index < WC_NREGS)
                            set |= 1u << op->index;
                    }
                }
                set |= in->regs_read & 0xffffu;
            }
        }
        if (set == before)
            break;
    }
    return true;
}

/* the relation for the Z3 distance: 0 !=, 1 < toward the limit, 2 <=; -1 none */
static int cand_zrel(const cand *c) {
    return c->rel == REL_NE                                                     ? 0
           : (c->rel == REL_LT && c->s > 0) || (c->rel == REL_GT && c->s < 0) ? 1
           : (c->rel == REL_LE && c->s > 0) || (c->rel == REL_GE && c->s < 0) ? 2
                                                                              : -1;
}

/* back edges from a largest distance d */
static uint64_t z3_count(const cand *c, uint64_t d) {
    uint64_t as = (uint64_t)(c->s < 0 ? -c->s : c->s);
    int zrel = cand_zrel(c);
    return zrel == 0 ? d / as : zrel == 1 ? (d + as - 1) / as : d / as + 1;
}

/* Z3's largest distance for candidate c (see wc_smt_max_distance) */
static bool cand_z3(wc_analyzer *an, const wc_cfg *cfg, const wc_vres *vr, int l, const cand *c,
                    const wc_ivfacts *ivf, int64_t kdelta, uint64_t hint, uint64_t cap,
                    uint64_t *dmax, const char **why) {
    int zrel = cand_zrel(c);
    if (zrel < 0 || !c->f)
        return false;
    /* a distance of half the width or more: no bound (it would be by wrap-around) */
    if (c->w < 64 && cap > ((uint64_t)1 << (c->w - 1)) - 1)
        cap = ((uint64_t)1 << (c->w - 1)) - 1;
    int64_t bconst = 0;
    if (c->b_imm) {
        int64_t x1, x2;
        wc_val_signed(&c->b, c->w, &x1, &x2);
        bconst = x1;
    }
    /* addresses of one object do not wrap around (as for the intervals) */
    bool wrapchk = c->a0.base == WC_B_NONE && c->b.base == WC_B_NONE;
    return wc_smt_max_distance(an, cfg, vr, l, c->p.b, c->p.post ? c->p.i + 1 : c->p.i,
                               &c->f->ops[c->ai], c->b_imm ? NULL : &c->f->ops[1 - c->ai], bconst,
                               c->w, c->s, zrel, c->uns, wrapchk, cap, ivf, kdelta, hint, dmax,
                               why);
}

static void try_candidate(wc_analyzer *an, const wc_cfg *cfg, const wc_vctx *ctx, const wc_vres *vr,
                          int l, int cb, cand *c, bool swap, const wc_ivfacts *ivf,
                          int64_t force_s, bool z3) {
    z3 = z3 && !an->opt.no_smt;
    const wc_loop *lp = &cfg->loops[l];
    const wc_block *bb = &cfg->blocks[cb];
    const wc_insn *j = bb->insns[bb->n - 1];
    memset(c, 0, sizeof *c);
    /* which edge stays in the loop */
    int tb = wc_cfg_block_of(cfg, j->target), fb = wc_cfg_block_of(cfg, j->addr + j->size);
    bool t_in = tb >= 0 && lp->in[tb], f_in = fb >= 0 && lp->in[fb];
    if (t_in == f_in)
        return;
    int cc = j->cc;
    if (cc < 0 || cc > WC_CC_G)
        return;
    int cont = t_in ? cc : (cc ^ 1);
    /* the flag setter */
    int fi = -1;
    for (int i = bb->n - 2; i >= 0; i--)
        if (bb->insns[i]->writes_flags) {
            fi = i;
            break;
        }
    if (fi < 0) {
        snprintf(c->how, sizeof c->how, "exit at 0x%llx: the flags come from another block",
                 (unsigned long long)j->addr);
        return;
    }
    const wc_insn *f = bb->insns[fi];
    wc_state vs;
    wc_value_at(an, cfg, vr, cb, fi, &vs);
    if (!vs.reached)
        return;
    bool uns;
    int rel = cc_rel(cont, &uns);
    if (rel < 0)
        return;
    c->uns = uns;
    c->rel = rel;
    c->p.b = cb;
    c->p.i = fi;
    c->w = f->ops[0].size * 8;
    bool zero_b = false;
    int ai = 0;
    if (swap && !(f->id == X86_INS_CMP && f->nops == 2 && f->ops[1].type != WC_OP_IMM))
        return;
    if (f->id == X86_INS_CMP && f->nops == 2 && swap) {
        if (!op_loc(&vs, &f->ops[1], &c->a) || !op_loc(&vs, &f->ops[0], &c->bl))
            goto unsupported;
        if (cont == WC_CC_S || cont == WC_CC_NS)
            c->sign_test = true;
        c->rel = rel_swap(c->rel);
        ai = 1;
    } else if (f->id == X86_INS_CMP && f->nops == 2) {
        if (!op_loc(&vs, &f->ops[0], &c->a))
            goto unsupported;
        if ((cont == WC_CC_S || cont == WC_CC_NS) &&
            !(f->ops[1].type == WC_OP_IMM && f->ops[1].imm == 0))
            c->sign_test = true; /* the sign of A - B: A < B when the subtraction cannot overflow
                                    (checked below) */
        if (f->ops[1].type == WC_OP_IMM) {
            c->b_imm = true;
            c->b = wc_val_const(f->ops[1].imm, c->w);
        } else if (!op_loc(&vs, &f->ops[1], &c->bl))
            goto unsupported;
    } else if (f->id == X86_INS_TEST && f->nops == 2 && f->ops[0].type == WC_OP_REG &&
               f->ops[1].type == WC_OP_REG && f->ops[0].reg == f->ops[1].reg) {
        if (!op_loc(&vs, &f->ops[0], &c->a))
            goto unsupported;
        zero_b = true;
    } else if (f->id == X86_INS_ADD && f->nops == 2 && f->ops[1].type == WC_OP_IMM &&
               f->ops[1].imm < 0 && (cont == WC_CC_B || cont == WC_CC_AE)) {
        /* add x, -c sets the carry exactly when x >= c (unsigned): a count-down test */
        if (!op_loc(&vs, &f->ops[0], &c->a))
            goto unsupported;
        c->uns = true;
        c->rel = cont == WC_CC_B ? REL_GE : REL_LT;
        c->b_imm = true;
        c->b = wc_val_const(-f->ops[1].imm, c->w);
    } else if ((f->id == X86_INS_AND || f->id == X86_INS_SHR || f->id == X86_INS_SHL) &&
               f->nops == 2 && (cont == WC_CC_E || cont == WC_CC_NE)) {
        if (!op_loc(&vs, &f->ops[0], &c->a))
            goto unsupported;
        c->p.post = true;
        zero_b = true;
    } else if ((f->id == X86_INS_ADD || f->id == X86_INS_SUB || f->id == X86_INS_INC ||
                f->id == X86_INS_DEC) &&
               (cont == WC_CC_E || cont == WC_CC_NE || cont == WC_CC_S || cont == WC_CC_NS)) {
        if (!op_loc(&vs, &f->ops[0], &c->a))
            goto unsupported;
        if ((f->id == X86_INS_ADD || f->id == X86_INS_SUB) && f->ops[1].type != WC_OP_IMM)
            goto unsupported;
        c->p.post = true;
        zero_b = true;
    } else if (f->id == X86_INS_SUB && f->nops == 2 && f->ops[1].type == WC_OP_IMM) {
        if (!op_loc(&vs, &f->ops[0], &c->a))
            goto unsupported;
        c->b_imm = true;
        c->b = wc_val_const(f->ops[1].imm, c->w);
    } else
        goto unsupported;
    c->f = f;
    c->ai = ai;
    if (zero_b) {
        c->b_imm = true;
        c->b = wc_val_const(0, c->w);
        if (cont == WC_CC_S || cont == WC_CC_NS)
            c->uns = false;
    }
    if (force_s == INT64_MIN)
        return; /* the test parsed, nothing more asked */
    if (force_s)
        c->s = force_s; /* the step per iteration, known from elsewhere */
    else {
        /* the step: locations equal to A at p, then around the loop */
        dmap init;
        memset(&init, 0, sizeof init);
        init.reached = true;
        dm_set(&init, &c->a, 0);
        {
            /* locations related to A at p through copies and constant steps in
             * p's block: each location's value as (its origin at the block's
             * start) + offset */
            typedef struct orig {
                dloc loc, from;
                int64_t d;
                bool known;
            } orig;
            orig o[DMAX];
            int no = 0;
            wc_state ws;
            wc_value_at(an, cfg, vr, cb, 0, &ws);
            int upto = c->p.post ? fi + 1 : fi;
            for (int i = 0; i < upto && ws.reached; i++) {
                const wc_insn *in = bb->insns[i];
                dloc d0, s1;
                memset(&d0, 0, sizeof d0);
                bool l0 = in->nops >= 1 && op_loc(&ws, &in->ops[0], &d0);
                int idx = -1;
                for (int q = 0; l0 && q < no; q++)
                    if (loc_eq(&o[q].loc, &d0))
                        idx = q;
                /* the origin of a source location */
                orig src = {{0}, {0}, 0, false};
                bool handled = false;
                if (l0 && in->nops == 2 && (in->id == X86_INS_MOV || in->id == X86_INS_LEA)) {
                    const wc_op *so = &in->ops[1];
                    int64_t add = 0;
                    bool okk = false;
                    if (in->id == X86_INS_MOV && op_loc(&ws, so, &s1) &&
                        so->size == in->ops[0].size)
                        okk = true;
                    else if (in->id == X86_INS_LEA && so->type == WC_OP_MEM &&
                             so->index == WC_R_NONE && so->base >= 0 && so->base < WC_NREGS &&
                             so->base != WC_RSP) {
                        s1.kind = 0;
                        s1.reg = so->base;
                        s1.size = 8;
                        s1.off = 0;
                        add = so->disp;
                        okk = true;
                    }
                    if (okk) {
                        src.known = true;
                        src.from = s1;
                        src.d = add;
                        for (int q = 0; q < no; q++)
                            if (loc_eq(&o[q].loc, &s1)) {
                                src = o[q];
                                src.d += add;
                            }
                        handled = true;
                    }
                } else if (l0 && in->nops == 2 &&
                           (in->id == X86_INS_ADD || in->id == X86_INS_SUB) &&
                           in->ops[1].type == WC_OP_IMM) {
                    src.known = true;
                    src.from = d0;
                    src.d = 0;
                    if (idx >= 0)
                        src = o[idx];
                    src.d += in->id == X86_INS_ADD ? in->ops[1].imm : -in->ops[1].imm;
                    handled = true;
                } else if (l0 && (in->id == X86_INS_INC || in->id == X86_INS_DEC)) {
                    src.known = true;
                    src.from = d0;
                    src.d = 0;
                    if (idx >= 0)
                        src = o[idx];
                    src.d += in->id == X86_INS_INC ? 1 : -1;
                    handled = true;
                }
                /* anything else written loses its origin: record as unknown */
                for (int q = no - 1; q >= 0; q--) {
                    dmap t;
                    memset(&t, 0, sizeof t);
                    t.reached = true;
                    dm_set(&t, &o[q].loc, 0);
                    dm_step(&ws, in, &t);
                    int at = dm_find(&t, &o[q].loc);
                    if (at < 0 || t.d[at] != 0)
                        o[q].known = false;
                }
                if (handled) {
                    if (idx < 0 && no < DMAX)
                        idx = no++;
                    if (idx >= 0) {
                        o[idx] = src;
                        o[idx].loc = d0;
                    }
                }
                /* every other register or slot written: no known origin */
                for (int r = 0; r < WC_NREGS; r++) {
                    if (!(in->regs_written & (1u << r)) || (handled && d0.kind == 0 && d0.reg == r))
                        continue;
                    dloc rl = {0, (int8_t)r, 8, 0};
                    int q = -1;
                    for (int z = 0; z < no; z++)
                        if (loc_eq(&o[z].loc, &rl))
                            q = z;
                    if (q < 0 && no < DMAX)
                        q = no++;
                    if (q >= 0) {
                        o[q].loc = rl;
                        o[q].known = false;
                    }
                }
                if (l0 && !handled && d0.kind == 1 && no < DMAX && idx < 0) {
                    o[no].loc = d0;
                    o[no].known = false;
                    no++;
                }
                wc_value_step(an, &ws, in);
            }
            /* A's origin, and every location with the same origin */
            orig ao = {{0}, {0}, 0, false};
            ao.from = c->a;
            ao.known = true;
            for (int q = 0; q < no; q++)
                if (loc_eq(&o[q].loc, &c->a))
                    ao = o[q];
            if (ao.known) {
                /* the origin itself, if unchanged in the block */
                bool origin_written = false;
                for (int q = 0; q < no; q++)
                    if (loc_eq(&o[q].loc, &ao.from))
                        origin_written = true;
                if (!origin_written && !loc_eq(&ao.from, &c->a))
                    dm_set(&init, &ao.from, -ao.d);
                for (int q = 0; q < no; q++)
                    if (o[q].known && loc_eq(&o[q].from, &ao.from) && !loc_eq(&o[q].loc, &c->a))
                        dm_set(&init, &o[q].loc, o[q].d - ao.d);
            }
        }
        {
            /* every location sharing A's symbol at p (value analysis) */
            wc_state ps;
            wc_value_at(an, cfg, vr, cb, c->p.post ? fi + 1 : fi, &ps);
            wc_val av = wc_val_top(c->w);
            if (ps.reached && c->a.kind == 0)
                av = ps.reg[c->a.reg];
            else if (ps.reached)
                for (int i = 0; i < ps.nslots; i++)
                    if (ps.slot[i].off == c->a.off && ps.slot[i].size == c->a.size)
                        av = ps.slot[i].v;
            if (av.sym) {
                for (int r = 0; r < WC_NREGS; r++)
                    if (r != WC_RSP && ps.reg[r].sym == av.sym) {
                        dloc eq = {0, (int8_t)r, (uint8_t)(ps.reg[r].w == 32 ? 4 : 8), 0};
                        if (dm_find(&init, &eq) < 0)
                            dm_set(&init, &eq,
                                   wc_sext((uint64_t)ps.reg[r].sc - (uint64_t)av.sc, c->w));
                    }
                for (int i = 0; i < ps.nslots; i++)
                    if (ps.slot[i].v.sym == av.sym) {
                        dloc eq = {1, 0, ps.slot[i].size, ps.slot[i].off};
                        if (dm_find(&init, &eq) < 0)
                            dm_set(&init, &eq,
                                   wc_sext((uint64_t)ps.slot[i].v.sc - (uint64_t)av.sc, c->w));
                    }
            }
        }
        c->init = init;
        dmap res = delta_around(an, cfg, vr, lp->in, c->p, &init, -1, NULL, NULL);
        int ia = dm_find(&res, &c->a);
        char an_[32];
        loc_str(&c->a, an_, sizeof an_);
        if (!res.reached) {
            snprintf(c->how, sizeof c->how, "exit at 0x%llx: the loop cannot come back to its test",
                     (unsigned long long)j->addr);
            return;
        }
        if (ia < 0 || res.d[ia] == 0) {
            uint64_t kb;
            int64_t bz, bz2;
            if (c->rel == REL_NE && c->b_imm && wc_val_signed(&c->b, c->w, &bz, &bz2) && bz == 0 &&
                bz2 == 0 && bitloop(an, cfg, vr, l, c->p, &c->a, c->w, &kb)) {
                c->ok = true;
                c->k = kb;
                snprintf(c->how, sizeof c->how,
                         "bit loop: %s loses at least one bit per iteration and the loop runs "
                         "while it is "
                         "not 0: at most %llu",
                         an_, (unsigned long long)kb);
                return;
            }
            int64_t zs;
            if (ia < 0 && z3 && c->a.kind == 0 && fed_by_registers(cfg, lp, c->a.reg) &&
                wc_smt_step(an, cfg, vr, l, c->p.b, c->p.post ? fi + 1 : fi, &f->ops[ai], &zs) &&
                zs != 0) {
                /* recomputed in every iteration from other variables (lea r, [base +
                 * index]), yet changing by a constant: Z3 over two iterations */
                c->s = zs;
                c->z3_step = true;
            } else {
                snprintf(c->how, sizeof c->how,
                         "exit at 0x%llx: %s is not an induction variable of the loop",
                         (unsigned long long)j->addr, an_);
                return;
            }
        } else
            c->s = res.d[ia];
    }
    /* a limit that changes in the loop: for <, <=, >, >= its range over all
     * iterations (the value analysis at the test) still bounds the loop */
    bool b_varies = false;
    int64_t bstep = 1;
    if (!c->b_imm && loop_writes(an, cfg, vr, lp, &c->bl) &&
        !(z3 && c->bl.kind == 0 && fed_by_registers(cfg, lp, c->bl.reg) &&
          wc_smt_step(an, cfg, vr, l, c->p.b, fi, &f->ops[1 - ai], &bstep) &&
          bstep == 0)) {
        /* (recomputed in every iteration to the same value, Z3 shows: as if unchanged) */
        char bn[32];
        loc_str(&c->bl, bn, sizeof bn);
        if (c->rel == REL_EQ || c->rel == REL_NE) {
            snprintf(c->how, sizeof c->how, "exit at 0x%llx: the limit %s changes in the loop",
                     (unsigned long long)j->addr, bn);
            return;
        }
        b_varies = true;
    }
    {
        wc_state fs;
        if (!first_iteration(an, cfg, ctx, vr, l, c->p, &fs)) {
            /* the test is never reached: no back edge is ever taken */
            c->ok = true;
            c->k = 0;
            snprintf(c->how, sizeof c->how, "the loop test at 0x%llx is unreachable",
                     (unsigned long long)j->addr);
            return;
        }
        cand_values(c, &fs, &c->a0, &c->b);
        if (b_varies) {
            wc_state all;
            wc_val dummy;
            wc_value_at(an, cfg, vr, cb, c->p.post ? fi + 1 : fi, &all);
            if (getenv("WCET_DEBUG")) {
                for (int r = 0; r < WC_NREGS; r++) {
                    char vb[96];
                    wc_val_str(&all.reg[r], vb, sizeof vb);
                    fprintf(stderr, "  at test: %s = %s\n", wc_reg_name(r, 8), vb);
                }
                for (int i = 0; i < all.nslots; i++) {
                    char vb[96];
                    wc_val_str(&all.slot[i].v, vb, sizeof vb);
                    fprintf(stderr, "  at test: [sp%+lld]/%d = %s\n", (long long)all.slot[i].off,
                            all.slot[i].size, vb);
                }
            }
            cand_values(c, &all, &dummy, &c->b);
            c->b.sym = 0; /* not the same value in every iteration */
        }
        if (c->a.kind == 0 && c->w < 64)
            c->a0 = c->a0;
    }
    {
        char why[160] = "";
        uint64_t k;
        char an_[32], a0s[96], bs[96];
        loc_str(&c->a, an_, sizeof an_);
        wc_val_str(&c->a0, a0s, sizeof a0s);
        wc_val_str(&c->b, bs, sizeof bs);
        c->structural = true;
        if (c->sign_test) {
            /* A moves towards B by s and the test fails once A passes B: the
             * difference stays between A0 - B and s, so no overflow when both
             * ranges lie well inside the width */
            int64_t x1, x2, y1, y2,
                q = c->w >= 64 ? ((int64_t)1 << 60) : ((int64_t)1 << (c->w - 2));
            if (!wc_val_signed(&c->a0, c->w, &x1, &x2) || !wc_val_signed(&c->b, c->w, &y1, &y2) ||
                x1 < -q || x2 > q || y1 < -q || y2 > q || c->s <= -q || c->s >= q) {
                snprintf(c->how, sizeof c->how,
                         "exit at 0x%llx: a sign test whose subtraction may overflow",
                         (unsigned long long)j->addr);
                c->structural = false;
                return;
            }
        }
        bool counted = count_k(c, &c->a0, &c->b, &k, why, sizeof why);
        int zrel = cand_zrel(c);
        if ((!counted || strstr(why, "wrap") || k > 65536) && zrel >= 0 && !c->sign_test &&
            !b_varies && z3) {
            /* Z3: the largest distance from the variable to its limit at the loop's first
             * test, over the paths that lead there (relations the intervals lose: an end
             * pointer computed from a count, a trip count from a multiply-high division,
             * the remainder of a vectorised or unrolled loop) */
            uint64_t dmax, cap = (uint64_t)1 << 40, iv;
            if (d_max(c, &c->a0, &c->b, &iv) && iv < cap)
                cap = iv;
            const char *zwhy = "";
            if (cand_z3(an, cfg, vr, l, c, ivf, 0, 0, cap, &dmax, &zwhy)) {
                uint64_t kz = z3_count(c, dmax);
                if (!counted || kz < k) {
                    counted = true;
                    k = kz;
                    snprintf(why, sizeof why,
                             zrel == 0 ? "Z3: the limit is at most %llu ahead, by a multiple of the step, on every path to the loop"
                                       : "Z3: the limit is at most %llu ahead on every path to the loop, without wrap-around",
                             (unsigned long long)dmax);
                }
            } else if (!counted) {
                size_t len = strlen(why);
                snprintf(why + len, sizeof why - len, "; Z3: %s", zwhy);
            }
        }
        if (!counted) {
            snprintf(c->how, sizeof c->how,
                     "exit at 0x%llx: %s from %s step %lld while %s %s %s: %s",
                     (unsigned long long)j->addr, an_, a0s, (long long)c->s, an_, rel_names[c->rel],
                     bs, why);
            return;
        }
        c->ok = true;
        c->k = k;
        c->exact = !strstr(why, "wrap-around only");
        c->b_varies = b_varies;
        snprintf(c->how, sizeof c->how, "counted: %s from %s step %+lld%s while %s %s%s %s%s%s", an_,
                 a0s, (long long)c->s, c->z3_step ? " (Z3: the same change in every iteration)" : "",
                 an_, rel_names[c->rel], c->uns ? "u" : "", bs, *why ? ", " : "", why);
    }
    return;
unsupported:
    snprintf(c->how, sizeof c->how, "exit at 0x%llx: unsupported test `%s`",
             (unsigned long long)j->addr, f->text);
}

/* Nested loops: the inner loop's total over one entry of the outer loop, by
 * running the outer body once per value of the outer induction variable
 * (A0 + k s at the outer test, k < its bound) and bounding the inner loop
 * there. Exact for triangular loops (j < i, j from i + 1, n - 1 - i, ...). */
/* One run of the outer loop's body (r): adds the inner loop's iteration count
 * in that run to *sum and *mx. False if the count cannot be bounded; a run that
 * never reaches the inner loop adds nothing. */
static bool add_inner_count(wc_analyzer *an, const wc_cfg *cfg, const wc_vctx *ctx,
                            const wc_vres *r, int li, const cand *ci, i128 *sum, uint64_t *mx) {
    wc_state fs;
    if (!first_iteration(an, cfg, ctx, r, li, ci->p, &fs))
        return true;
    wc_val a0, b;
    cand_values(ci, &fs, &a0, &b);
    uint64_t kk;
    char why[160];
    if (!count_k(ci, &a0, &b, &kk, why, sizeof why))
        return false;
    *sum += kk;
    if (kk > *mx)
        *mx = kk;
    return true;
}

static bool triangular(wc_analyzer *an, const wc_cfg *cfg, const wc_vctx *ctx, const wc_vres *vr,
                       int li, const cand *ci, int lo, const cand *co, uint64_t *total,
                       uint64_t *permax) {
    if (!co->ok || co->split || ci->split || co->a0.top || co->a0.base != WC_B_NONE ||
        co->a0.lo != co->a0.hi || co->k > 1024)
        return false;
    const wc_loop *outer = &cfg->loops[lo];
    const wc_block *pb = &cfg->blocks[co->p.b];
    int stop = co->p.post ? co->p.i + 1 : co->p.i;
    wc_state atp;
    wc_value_at(an, cfg, vr, co->p.b, stop, &atp);
    if (!atp.reached)
        return false;
    const wc_insn *j = pb->insns[pb->n - 1];
    int tb = wc_cfg_block_of(cfg, j->target), fb = wc_cfg_block_of(cfg, j->addr + j->size);
    if (tb < 0 || fb < 0)
        return false;
    int cont = outer->in[tb] ? tb : fb;
    int taken = cont == tb;
    bool *skip = wc_xcalloc((size_t)cfg->nblocks, sizeof *skip);
    for (int k = 0; k < outer->nlatches; k++)
        skip[outer->latches[k]] = true;
    /* the outer variable's value at its test, and the locations sharing its symbol */
    wc_val cur;
    {
        wc_val a0, b0;
        cand_values(co, &atp, &a0, &b0);
        cur = a0;
    }
    i128 sum = 0;
    uint64_t mx = 0;
    bool ok = true;
    for (uint64_t k = 0; k < co->k && ok; k++) {
        i128 v = (i128)co->a0.lo + (i128)k * co->s;
        if (v < INT32_MIN && co->w <= 32)
            break;
        wc_state st = atp;
        wc_val c = wc_val_const((int64_t)v, co->w);
        /* pin A (and every location holding A's symbol) */
        if (co->a.kind == 0) {
            c.zx = co->w == 32;
            st.reg[co->a.reg] = c;
        } else {
            for (int i = 0; i < st.nslots; i++)
                if (st.slot[i].off == co->a.off && st.slot[i].size == co->a.size)
                    st.slot[i].v = c;
        }
        if (cur.sym) {
            for (int r = 0; r < WC_NREGS; r++)
                if (st.reg[r].sym == cur.sym && r != WC_RSP) {
                    int ww = st.reg[r].base != WC_B_NONE ? 64 : st.reg[r].w;
                    wc_val nv = wc_val_const((int64_t)(v + st.reg[r].sc - cur.sc), ww);
                    nv.zx = st.reg[r].zx;
                    st.reg[r] = nv;
                }
            for (int i = 0; i < st.nslots; i++)
                if (st.slot[i].v.sym == cur.sym)
                    st.slot[i].v =
                        wc_val_const((int64_t)(v + st.slot[i].v.sc - cur.sc), st.slot[i].size * 8);
        }
        for (int i = stop; i < pb->n; i++)
            wc_value_step(an, &st, pb->insns[i]);
        wc_state e;
        wc_value_edge(&st, pb, taken, &e);
        if (!e.reached)
            continue;
        wc_vres r;
        wc_value_run(an, cfg, ctx, cont, &e, outer->in, outer->header, skip, &r);
        ok = add_inner_count(an, cfg, ctx, &r, li, ci, &sum, &mx);
        wc_vres_free(&r);
    }
    if (ok && co->p.b != outer->header) {
        /* the first, partial outer iteration: from the outer loop's entry */
        wc_state init;
        if (entry_state(an, cfg, vr, lo, &init)) {
            wc_vres r;
            wc_value_run(an, cfg, ctx, outer->header, &init, outer->in, outer->header, skip, &r);
            ok = add_inner_count(an, cfg, ctx, &r, li, ci, &sum, &mx);
            wc_vres_free(&r);
        }
    }
    free(skip);
    if (!ok)
        return false;
    *permax = mx;
    if (sum > (i128)UINT64_MAX / 4)
        return false;
    *total = (uint64_t)sum;
    return true;
}

/* Location Y at point p minus location X at loop l's header, in the first
 * iteration (the same on every path), into *d. */
static bool delta_from_header2(wc_analyzer *an, const wc_cfg *cfg, const wc_vres *vr, int l,
                               const dloc *X, const dloc *Y, point p, int64_t *d);
static bool delta_from_header(wc_analyzer *an, const wc_cfg *cfg, const wc_vres *vr, int l,
                              const dloc *X, point p, int64_t *d) {
    return delta_from_header2(an, cfg, vr, l, X, X, p, d);
}
static bool delta_from_header2(wc_analyzer *an, const wc_cfg *cfg, const wc_vres *vr, int l,
                               const dloc *X, const dloc *Y, point p, int64_t *d) {
    const wc_loop *lp = &cfg->loops[l];
    int h = lp->header, n = cfg->nblocks;
    dmap *in = wc_xcalloc((size_t)n, sizeof *in), *out = wc_xcalloc((size_t)n, sizeof *out);
    bool changed = true;
    for (int round = 0; changed && round < 50; round++) {
        changed = false;
        for (int k = 0; k < n; k++) {
            int b = -1;
            for (int q = 0; q < n; q++)
                if (cfg->blocks[q].rpo == k)
                    b = q;
            if (b < 0 || !lp->in[b])
                continue;
            dmap acc;
            memset(&acc, 0, sizeof acc);
            if (b == h) {
                acc.reached = true;
                dm_set(&acc, X, 0);
            } else
                for (int q2 = 0; q2 < cfg->blocks[b].npred; q2++) {
                    int q = cfg->blocks[b].pred[q2];
                    if (!lp->in[q])
                        continue;
                    dmap e = out[q];
                    dm_edge(an, cfg, vr, q, b, &e);
                    dm_join(&acc, &e);
                }
            if (in[b].reached && dm_eq(&acc, &in[b]))
                continue;
            in[b] = acc;
            changed = true;
            dmap o = acc;
            run_dm_block(an, cfg, vr, b, 0, cfg->blocks[b].n, &o);
            out[b] = o;
        }
    }
    dmap at = in[p.b];
    free(in);
    free(out);
    if (changed || !at.reached)
        return false;
    run_dm_block(an, cfg, vr, p.b, 0, p.post ? p.i + 1 : p.i, &at);
    int ia = dm_find(&at, Y);
    if (!at.reached || ia < 0)
        return false;
    *d = at.d[ia];
    return true;
}

/* What loop l's bound (candidate c) says for the loops nested in it. */
static void iv_facts(wc_analyzer *an, const wc_cfg *cfg, const wc_vres *vr, int l, const cand *c,
                     wc_ivfacts *f) {
    memset(f, 0, sizeof *f);
    if (!c->ok)
        return;
    const wc_loop *lp = &cfg->loops[l];
    int h = lp->header;
    /* each register's step per iteration, at the header (one delta analysis
     * per register the loop writes: the map relates locations to that one) */
    f->valid = true;
    f->kmax = c->k;
    uint32_t written = 0;
    for (int k = 0; k < lp->nblocks; k++) {
        const wc_block *bb = &cfg->blocks[lp->blocks[k]];
        for (int j = 0; j < bb->n; j++)
            written |= bb->insns[j]->regs_written;
    }
    /* registers whose value is exact only in its low 32 bits: written at 32
     * bits, or copied (at 64 bits) from such a register */
    uint32_t low32 = 0;
    for (int round = 0; round < WC_NREGS + 1; round++) {
        uint32_t before = low32;
        for (int k = 0; k < lp->nblocks; k++) {
            const wc_block *bb = &cfg->blocks[lp->blocks[k]];
            for (int j = 0; j < bb->n; j++) {
                const wc_insn *in = bb->insns[j];
                if (in->nops < 1 || in->ops[0].type != WC_OP_REG || in->ops[0].reg < 0 ||
                    in->ops[0].reg >= WC_NREGS)
                    continue;
                bool from32 = in->ops[0].size == 4;
                for (int o = 1; o < in->nops; o++) {
                    const wc_op *op = &in->ops[o];
                    if (op->type == WC_OP_REG && op->reg >= 0 && op->reg < WC_NREGS &&
                        (low32 & (1u << op->reg)))
                        from32 = true;
                    if (op->type == WC_OP_MEM &&
                        ((op->base >= 0 && op->base < WC_NREGS && (low32 & (1u << op->base))) ||
                         (op->index >= 0 && op->index < WC_NREGS && (low32 & (1u << op->index)))))
                        from32 = true;
                }
                if (from32)
                    low32 |= 1u << in->ops[0].reg;
            }
        }
        if (low32 == before)
            break;
    }
    for (int r = 0; r < WC_NREGS; r++) {
        if (r == WC_RSP || !(written & (1u << r)))
            continue;
        dmap init;
        memset(&init, 0, sizeof init);
        init.reached = true;
        dloc rl = {0, (int8_t)r, 8, 0};
        dm_set(&init, &rl, 0);
        point ph = {h, 0, false};
        dmap res = delta_around(an, cfg, vr, lp->in, ph, &init, -1, NULL, NULL);
        int i = res.reached ? dm_find(&res, &rl) : -1;
        if (i < 0)
            continue;
        /* exact at 64 bits unless written at 32 bits; not through extensions */
        bool ok = true, w32 = false;
        for (int k = 0; k < lp->nblocks && ok; k++) {
            const wc_block *bb = &cfg->blocks[lp->blocks[k]];
            for (int j = 0; j < bb->n; j++) {
                const wc_insn *in = bb->insns[j];
                if (!(in->regs_written & (1u << r)))
                    continue;
                if (in->id == X86_INS_MOVSXD || in->id == X86_INS_MOVSX || in->id == X86_INS_MOVZX ||
                    in->id == X86_INS_CDQE)
                    ok = false;
                if (in->nops >= 1 && in->ops[0].type == WC_OP_REG && in->ops[0].reg == r &&
                    in->ops[0].size == 4)
                    w32 = true;
            }
        }
        if (!ok)
            continue;
        f->ivmask |= 1u << r;
        f->step[r] = res.d[i];
        if (w32 || (low32 & (1u << r)))
            f->iv32 |= 1u << r;
    }
    /* the exit test: A a register, the limit a register the loop keeps or a constant */
    int rel = c->rel == REL_NE && c->exact                                     ? 0
              : (c->rel == REL_LT && c->s > 0) || (c->rel == REL_GT && c->s < 0) ? 1
              : (c->rel == REL_LE && c->s > 0) || (c->rel == REL_GE && c->s < 0) ? 2
                                                                                 : -1;
    if (rel < 0 || c->sign_test || c->b_varies || c->a.kind != 0 || !c->f ||
        (!c->b_imm && (c->bl.kind != 0 || loop_writes(an, cfg, vr, lp, &c->bl))))
        return; /* (a limit recomputed in the loop is not its value at the entry) */
    int64_t bconst = 0;
    if (c->b_imm) {
        int64_t x2;
        if (!wc_val_signed(&c->b, c->w, &bconst, &x2) || bconst != x2)
            return;
    }
    int64_t cdelta;
    if (!delta_from_header(an, cfg, vr, l, &c->a, c->p, &cdelta))
        return;
    f->test = true;
    f->areg = c->a.reg;
    f->breg = c->b_imm ? -1 : c->bl.reg;
    f->bconst = bconst;
    f->rel = rel;
    f->w = c->w;
    f->uns = c->uns;
    f->c = cdelta;
    f->s = c->s;
}

/* A loop whose exit test was duplicated onto each path (no one test runs in
 * every iteration): when the tests form a cut of the loop (every way around
 * passes one), compare the same variable A with the same limit, and A has
 * the same offset c from its header value at each of them, then one test of
 * A_header + c runs in every iteration; A's step per iteration is measured at
 * the header. The bound is the largest count over the tests' first arrivals. */
static bool split_exit(wc_analyzer *an, const wc_cfg *cfg, const wc_vctx *ctx, const wc_vres *vr,
                       int l, const wc_ivfacts *ivf, cand *out) {
    const wc_loop *lp = &cfg->loops[l];
    int n = cfg->nblocks, h = lp->header;
    bool *isT = wc_xcalloc((size_t)n, sizeof *isT);
    int T[16], nT = 0;
    for (int k = 0; k < lp->nblocks; k++) {
        int b = lp->blocks[k];
        const wc_block *bb = &cfg->blocks[b];
        if (bb->term != WC_T_JCC || bb->loop != l || !vr->in[b].reached || bb->nsucc != 2)
            continue;
        if (lp->in[bb->succ[0]] == lp->in[bb->succ[1]])
            continue;
        if (nT >= 16) {
            free(isT);
            return false;
        }
        T[nT++] = b;
        isT[b] = true;
    }
    /* a cut: no way from the header back to it that avoids the tests */
    bool cut = nT >= 2;
    if (cut) {
        bool *seen = wc_xcalloc((size_t)n, sizeof *seen);
        int *st = wc_xcalloc((size_t)n + 1, sizeof *st), top = 0;
        if (!isT[h]) {
            st[top++] = h;
            seen[h] = true;
        }
        while (top && cut) {
            int b = st[--top];
            const wc_block *bb = &cfg->blocks[b];
            for (int k = 0; k < bb->nsucc; k++) {
                int s2 = bb->succ[k];
                if (!lp->in[s2] || !vr->in[s2].reached)
                    continue;
                if (s2 == h) {
                    cut = false;
                    break;
                }
                if (!seen[s2] && !isT[s2]) {
                    seen[s2] = true;
                    st[top++] = s2;
                }
            }
        }
        free(seen);
        free(st);
    }
    free(isT);
    if (!cut)
        return false;
    /* the tests: the same comparison of the same variable */
    cand first;
    memset(&first, 0, sizeof first);
    dloc hreg;
    memset(&hreg, 0, sizeof hreg);
    int64_t c0 = 0, step = 0;
    int sw[16];
    for (int i = 0; i < nT; i++) {
        bool found = false;
        for (int w2 = 0; w2 < 2 && !found; w2++) {
            cand c;
            try_candidate(an, cfg, ctx, vr, l, T[i], &c, w2 == 1, ivf, INT64_MIN, false);
            if (!c.f || c.sign_test || c.a.kind != 0 || !loop_writes(an, cfg, vr, lp, &c.a))
                continue;
            if (!c.b_imm && loop_writes(an, cfg, vr, lp, &c.bl))
                continue;
            int64_t ci;
            if (i == 0) {
                /* a location R stepping at the header, with A = R (at the header) + c at the test */
                bool got = false;
                for (int r = -1; r < WC_NREGS && !got; r++) {
                    dloc R = c.a;
                    if (r >= 0) {
                        if (r == WC_RSP || r == c.a.reg)
                            continue;
                        R.kind = 0;
                        R.reg = (int8_t)r;
                        R.size = 8;
                        R.off = 0;
                    }
                    if (!delta_from_header2(an, cfg, vr, l, &R, &c.a, c.p, &ci))
                        continue;
                    dmap init, res;
                    memset(&init, 0, sizeof init);
                    init.reached = true;
                    dm_set(&init, &R, 0);
                    point ph = {h, 0, false};
                    res = delta_around(an, cfg, vr, lp->in, ph, &init, -1, NULL, NULL);
                    int ia = res.reached ? dm_find(&res, &R) : -1;
                    if (ia < 0 || res.d[ia] == 0)
                        continue;
                    step = res.d[ia];
                    first = c;
                    c0 = ci;
                    hreg = R;
                    got = true;
                }
                if (!got)
                    continue;
            } else {
                if (!delta_from_header2(an, cfg, vr, l, &hreg, &c.a, c.p, &ci))
                    continue;
                int64_t x1, x2, y1, y2;
                bool sameb = c.b_imm == first.b_imm &&
                             (c.b_imm ? wc_val_signed(&c.b, c.w, &x1, &x2) &&
                                            wc_val_signed(&first.b, first.w, &y1, &y2) && x1 == x2 &&
                                            y1 == y2 && x1 == y1
                                      : loc_eq(&c.bl, &first.bl));
                if (!loc_eq(&c.a, &first.a) || c.rel != first.rel || c.uns != first.uns ||
                    c.w != first.w || ci != c0 || !sameb)
                    continue;
            }
            sw[i] = w2;
            found = true;
        }
        if (!found)
            return false;
    }
    /* each test's count with the step per iteration; the largest */
    uint64_t K = 0;
    cand best;
    memset(&best, 0, sizeof best);
    for (int i = 0; i < nT; i++) {
        cand c;
        try_candidate(an, cfg, ctx, vr, l, T[i], &c, sw[i] == 1, ivf, step, true);
        if (!c.ok)
            return false;
        if (i == 0 || c.k > K) {
            K = c.k;
            best = c;
        }
    }
    best.k = K;
    best.split = true;
    char an_[32];
    loc_str(&best.a, an_, sizeof an_);
    char h2[sizeof best.how];
    snprintf(h2, sizeof h2,
             "%d copies of the exit test (one on each way around the loop) compare %s%+lld with the same limit; per test: %s",
             nT, an_, (long long)c0, best.how);
    memcpy(best.how, h2, sizeof best.how);
    *out = best;
    return true;
}

/* Nested loops whose count follows the enclosing loop's iteration k (0 to
 * kp): Z3's largest D + k * delta, for delta one step (or one unit) either
 * way, bounds the
 * count in iteration k by that of (M - k * delta); the total is their sum
 * over k (each at most the loop's own bound). */
static bool z3_total(wc_analyzer *an, const wc_cfg *cfg, const wc_vres *vr, int l, const cand *c,
                     const wc_ivfacts *ivf, uint64_t kp, uint64_t *total, uint64_t *permax) {
    if (cand_zrel(c) < 0 || c->sign_test || c->b_varies || !c->f || kp > 4096)
        return false;
    if (!c->a0.top && !c->b.top && c->a0.base == WC_B_NONE && c->b.base == WC_B_NONE &&
        c->a0.lo == c->a0.hi && c->b.lo == c->b.hi)
        return false; /* the same count in every outer iteration: rectangular */
    if (c->a0.sym && c->a0.sym == c->b.sym && c->a0.symw >= c->w && c->b.symw >= c->w)
        return false; /* the limit a fixed distance from the start: the same count */
    int64_t as = c->s < 0 ? -c->s : c->s;
    bool any = false;
    i128 best = 0;
    /* D + k * delta is at most the largest D plus kp steps */
    i128 cap = ((i128)c->k + 1 + (i128)kp) * as;
    /* the count falls by one per outer iteration (a step of D, or one unit when
     * an unrolled loop's limit is rounded), else rises */
    int64_t deltas[4] = {as, 1, -as, -1};
    for (int dir = 0; dir < 4; dir++) {
        int64_t delta = deltas[dir];
        if ((dir == 1 || dir == 3) && as == 1)
            continue;
        if (dir >= 2 && any && best < (i128)c->k * (kp + 1))
            break;
        uint64_t M;
        const char *why;
        if (cap > ((i128)1 << 40) ||
            !cand_z3(an, cfg, vr, l, c, ivf, delta, delta > 0 ? c->k * (uint64_t)as : (uint64_t)as,
                     (uint64_t)cap, &M, &why))
            continue;
        i128 sum = 0;
        for (uint64_t k = 0; k <= kp; k++) {
            i128 d = (i128)M - (i128)k * delta;
            uint64_t cnt = d < 0 ? 0 : z3_count(c, (uint64_t)d);
            if (d < 0 && cand_zrel(c) == 2)
                cnt = 0;
            if (cnt > c->k)
                cnt = c->k;
            sum += cnt;
        }
        if (!any || sum < best)
            best = sum;
        any = true;
    }
    if (!any || best > (i128)UINT64_MAX / 4)
        return false;
    *total = (uint64_t)best;
    *permax = c->k;
    return true;
}

void wc_loop_bounds(wc_analyzer *an, const wc_cfg *cfg, const wc_vctx *ctx, const wc_vres *vr,
                    wc_lbound *out, wc_fres *fr) {
    (void)fr;
    int nl = cfg->nloops;
    cand *best = wc_xcalloc((size_t)(nl ? nl : 1), sizeof *best);
    cand *structural = wc_xcalloc((size_t)(nl ? nl : 1), sizeof *structural);
    wc_ivfacts *ivf = wc_xcalloc((size_t)(nl ? nl : 1), sizeof *ivf);
    /* outer loops first: what their bounds say helps bound the loops inside */
    int *order = wc_xcalloc((size_t)(nl ? nl : 1), sizeof *order), no = 0;
    for (int d = 0; no < nl && d <= nl + 1; d++)
        for (int l = 0; l < nl; l++)
            if (cfg->loops[l].depth == d)
                order[no++] = l;
    for (int l = 0; l < nl; l++) {
        bool listed = false;
        for (int i = 0; i < no; i++)
            listed |= order[i] == l;
        if (!listed)
            order[no++] = l;
    }
    for (int oi = 0; oi < nl; oi++) {
        int l = order[oi];
        const wc_loop *lp = &cfg->loops[l];
        wc_lbound *lb = &out[l];
        memset(lb, 0, sizeof *lb);
        lb->line = wc_image_line(an->img, cfg->blocks[lp->header].start, &lb->file);
        char whynot[1024] = "";
        /* first without Z3; Z3 only when no test gives a reasonable bound */
        for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            if (an->opt.no_smt ||
                (best[l].ok && best[l].k <= 65536 && !strstr(best[l].how, "wrap-around only")))
                break;
            *whynot = 0;
        }
        for (int k = 0; k < lp->nblocks; k++) {
            int b = lp->blocks[k];
            const wc_block *bb = &cfg->blocks[b];
            if (bb->term != WC_T_JCC || bb->loop != l)
                continue;
            bool dom = true;
            for (int q = 0; q < lp->nlatches; q++)
                dom &= dominates(cfg, b, lp->latches[q]);
            if (!dom)
                continue;
            if (!vr->in[b].reached)
                continue;
            for (int sw = 0; sw < 2; sw++) {
                cand c;
                try_candidate(an, cfg, ctx, vr, l, b, &c, sw == 1, ivf, 0, pass == 1);
                if (!c.ok && c.structural && !structural[l].structural)
                    structural[l] = c;
                if (c.ok) {
                    if (!best[l].ok || c.k < best[l].k)
                        best[l] = c;
                } else if (*c.how && strlen(whynot) + strlen(c.how) + 4 < sizeof whynot) {
                    if (*whynot)
                        strcat(whynot, "; ");
                    strcat(whynot, c.how);
                }
            }
        }
        }
        if (!best[l].ok && vr->in[lp->header].reached) {
            cand sc;
            if (split_exit(an, cfg, ctx, vr, l, ivf, &sc))
                best[l] = sc;
        }
        if (best[l].ok) {
            lb->bounded = true;
            lb->max = best[l].k;
            lb->how = wc_xstrdup(best[l].how);
            iv_facts(an, cfg, vr, l, &best[l], &ivf[l]);
        } else {
            if (!vr->in[lp->header].reached) {
                lb->bounded = true;
                lb->max = 0;
                lb->how = wc_xstrdup("unreachable in this context");
            } else
                lb->how = wc_xstrdup(*whynot ? whynot
                                             : "no exit test found that runs on every iteration");
        }
    }
    /* nested loops: totals per entry of the enclosing loop, and bounds for
     * inner loops whose limit varies with the enclosing loop */
    for (int l = 0; l < nl; l++) {
        int p = cfg->loops[l].parent;
        if (p < 0 || !best[p].ok)
            continue;
        uint64_t total, permax;
        if (!best[l].ok && structural[l].structural &&
            triangular(an, cfg, ctx, vr, l, &structural[l], p, &best[p], &total, &permax)) {
            best[l] = structural[l];
            best[l].ok = true;
            best[l].k = permax;
            out[l].bounded = true;
            out[l].max = permax;
            out[l].has_total = true;
            out[l].total_loop = p;
            out[l].total = total;
            char an_[32];
            loc_str(&best[l].a, an_, sizeof an_);
            free(out[l].how);
            out[l].how = wc_fmt(
                "counted per iteration of the enclosing loop: %s step %+lld %s its limit, which "
                "follows the enclosing loop; at most %llu per entry, %llu in total per entry of "
                "the enclosing loop",
                an_, (long long)best[l].s, rel_names[best[l].rel], (unsigned long long)permax,
                (unsigned long long)total);
            continue;
        }
        if (!best[l].ok || best[l].split)
            continue; /* (a split test is not met in every iteration: no per-run count) */
        if (triangular(an, cfg, ctx, vr, l, &best[l], p, &best[p], &total, &permax) &&
            total < best[l].k * (best[p].k + 1)) {
            out[l].has_total = true;
            out[l].total_loop = p;
            out[l].total = total;
            if (permax < out[l].max)
                out[l].max = permax;
            char *h = wc_fmt(
                "%s; per iteration of the enclosing loop at most %llu, in total at most %llu per "
                "entry of the enclosing loop (its limit follows the enclosing loop's variable)",
                out[l].how, (unsigned long long)permax, (unsigned long long)total);
            free(out[l].how);
            out[l].how = h;
            continue;
        }
        if (!an->opt.no_smt && ivf[p].valid && z3_total(an, cfg, vr, l, &best[l], ivf, best[p].k,
                                                        &total, &permax) &&
            total < best[l].k * (best[p].k + 1)) {
            out[l].has_total = true;
            out[l].total_loop = p;
            out[l].total = total;
            char *h = wc_fmt("%s; in total at most %llu per entry of the enclosing loop (Z3: the "
                             "distance to the limit changes by a step per iteration of the "
                             "enclosing loop)",
                             out[l].how, (unsigned long long)total);
            free(out[l].how);
            out[l].how = h;
        }
    }
    free(best);
    free(structural);
    free(ivf);
    free(order);
}
