/*
 * value.c - the value analysis: abstract interpretation over registers and
 * stack slots (offsets from the entry stack pointer). A value is a base
 * (nothing, the entry stack pointer, or a register's value at entry) plus an
 * offset interval with a congruence (stride). Widening at loop headers,
 * then descending (narrowing) passes; conditional branches refine the compared
 * operands on each edge. Unknown instructions make what they write unknown.
 *
 * Soundness assumptions (listed in every report): the program is memory safe
 * (a store through a pointer or an indexed stack address does not write a
 * stack slot whose address was never taken), and callees follow the SysV ABI
 * (callee-saved registers and the stack pointer are preserved).
 */
#include <capstone/capstone.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wcet_internal.h"

#define I64MIN INT64_MIN
#define I64MAX INT64_MAX

static int64_t smin(int w) {
    return w >= 64 ? I64MIN : -((int64_t)1 << (w - 1));
}
static int64_t smax(int w) {
    return w >= 64 ? I64MAX : ((int64_t)1 << (w - 1)) - 1;
}

static uint64_t gcd64(uint64_t a, uint64_t b) {
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

wc_val wc_val_top(int w) {
    wc_val v;
    memset(&v, 0, sizeof v);
    v.top = true;
    v.w = (uint8_t)w;
    v.m = 1;
    return v;
}

static wc_val norm(wc_val v) {
    if (v.top)
        return v;
    if (v.base == WC_B_NONE && v.w < 64) {
        int64_t span = (int64_t)1 << v.w;
        if (v.lo < smin(v.w) || v.hi > smax(v.w)) {
            /* wrap as the hardware does, if the whole range moves together */
            int64_t k = v.lo < smin(v.w) ? (smin(v.w) - v.lo + span - 1) / span
                                         : -((v.lo - smin(v.w)) / span);
            if (v.hi - v.lo >= span)
                return wc_val_top(v.w);
            int64_t nlo = v.lo + k * span, nhi = v.hi + k * span;
            if (nlo < smin(v.w) || nhi > smax(v.w))
                return wc_val_top(v.w);
            v.lo = nlo;
            v.hi = nhi;
        }
    }
    if (v.lo == v.hi) {
        v.m = 0;
        v.r = (uint64_t)v.lo;
    } else {
        if (v.m == 0)
            v.m = 1;
        v.r = v.m ? (uint64_t)v.lo % v.m : 0;
        if (v.lo < 0 && v.m)
            v.r = (uint64_t)(((v.lo % (int64_t)v.m) + (int64_t)v.m) % (int64_t)v.m);
    }
    return v;
}

wc_val wc_val_range(int64_t lo, int64_t hi, int w) {
    wc_val v = wc_val_top(w);
    v.top = false;
    v.lo = lo;
    v.hi = hi;
    v.m = 1;
    return norm(v);
}

wc_val wc_val_const(int64_t c, int w) {
    return wc_val_range(c, c, w);
}

static wc_val based(int base, int64_t lo, int64_t hi) {
    wc_val v = wc_val_range(lo, hi, 64);
    v.base = (int16_t)base;
    return v;
}

static bool veq(const wc_val *a, const wc_val *b) {
    if (a->top != b->top || a->w != b->w || a->sym != b->sym ||
        (a->sym && (a->sc != b->sc || a->symw != b->symw)))
        return false;
    if (a->top)
        return true;
    return a->base == b->base && a->lo == b->lo && a->hi == b->hi && a->m == b->m && a->zx == b->zx;
}

static wc_val keep_sym(wc_val r, const wc_val *a, const wc_val *b) {
    if (a->sym && a->sym == b->sym && a->symw == b->symw &&
        wc_sext((uint64_t)a->sc - (uint64_t)b->sc, a->symw) == 0) {
        r.sym = a->sym;
        r.sc = a->sc;
        r.symw = a->symw;
    } else
        r.sym = 0;
    return r;
}

static wc_val with_sym(wc_val r, const wc_val *from, int w, int64_t add) {
    if (!from->sym)
        return r;
    r.sym = from->sym;
    r.sc = (int64_t)((uint64_t)from->sc + (uint64_t)add);
    r.symw = (uint8_t)(from->symw < w ? from->symw : w);
    return r;
}

/* a zero-extended narrow register value as the 64-bit number it is */
static wc_val zx_to64(wc_val v) {
    uint64_t lo, hi;
    if (v.top || !v.zx || v.w >= 64 || v.base != WC_B_NONE || !wc_val_unsigned(&v, v.w, &lo, &hi))
        return v;
    wc_val r = wc_val_range((int64_t)lo, (int64_t)hi, 64);
    if (v.m > 1 && lo != hi) {
        r.m = v.m;
        r = norm(r);
    }
    r.sym = v.sym;
    r.sc = v.sc;
    r.symw = v.symw;
    return r;
}

static wc_val vjoin(wc_val a, wc_val b) {
    if (a.w != b.w && (a.w == 64 || b.w == 64)) {
        /* a 32-bit write and a 64-bit one of the same register */
        a = zx_to64(a);
        b = zx_to64(b);
    }
    if (a.top || b.top || a.base != b.base || a.w != b.w)
        return keep_sym(wc_val_top(a.w > b.w ? a.w : b.w), &a, &b);
    wc_val v = a;
    v.zx = a.zx && b.zx;
    v.lo = a.lo < b.lo ? a.lo : b.lo;
    v.hi = a.hi > b.hi ? a.hi : b.hi;
    uint64_t d = a.lo > b.lo ? (uint64_t)a.lo - (uint64_t)b.lo : (uint64_t)b.lo - (uint64_t)a.lo;
    v.m = gcd64(gcd64(a.m, b.m), d);
    if (v.lo != v.hi && v.m == 0)
        v.m = 1;
    return keep_sym(norm(v), &a, &b);
}

static wc_val vwiden(wc_val old, wc_val nw) {
    wc_val j = vjoin(old, nw);
    if (j.top || old.top)
        return j;
    if (j.base != WC_B_NONE) {
        if (j.lo < old.lo || j.hi > old.hi)
            return keep_sym(wc_val_top(64), &old, &nw);
        return j;
    }
    /* widen in two steps: first to a quarter of the range, so that a counter
     * incremented after the widening does not overflow before its loop's test
     * bounds it again; then to the whole range */
    if (j.lo < old.lo)
        j.lo = old.lo > (smin(j.w) >> 2) ? (smin(j.w) >> 2) : smin(j.w);
    if (j.hi > old.hi)
        j.hi = old.hi < (smax(j.w) >> 2) ? (smax(j.w) >> 2) : smax(j.w);
    if (j.lo == smin(j.w) && j.hi == smax(j.w) && j.m <= 1)
        return keep_sym(wc_val_top(j.w), &old, &nw);
    return keep_sym(norm(j), &old, &nw);
}

bool wc_val_signed(const wc_val *v, int w, int64_t *lo, int64_t *hi) {
    if (v->top || v->base != WC_B_NONE) {
        *lo = smin(w);
        *hi = smax(w);
        return false;
    }
    if (v->w == w || (v->w < w && v->zx && v->lo >= 0) ||
        (v->w > w && v->lo >= smin(w) && v->hi <= smax(w))) {
        *lo = v->lo;
        *hi = v->hi;
        return true;
    }
    if (v->w < w && v->zx && v->hi < 0) {
        *lo = v->lo + ((int64_t)1 << v->w);
        *hi = v->hi + ((int64_t)1 << v->w);
        return true;
    }
    *lo = smin(w);
    *hi = smax(w);
    return false;
}

bool wc_val_unsigned(const wc_val *v, int w, uint64_t *lo, uint64_t *hi) {
    int64_t a, b;
    uint64_t umax = w >= 64 ? UINT64_MAX : ((uint64_t)1 << w) - 1;
    if (!wc_val_signed(v, w, &a, &b)) {
        *lo = 0;
        *hi = umax;
        return false;
    }
    if (a >= 0) {
        *lo = (uint64_t)a;
        *hi = (uint64_t)b;
        return true;
    }
    if (b < 0) {
        *lo = (uint64_t)a & umax;
        *hi = (uint64_t)b & umax;
        return true;
    }
    *lo = 0;
    *hi = umax;
    return false;
}

void wc_val_str(const wc_val *v, char *buf, size_t n) {
    if (v->top) {
        snprintf(buf, n, "unknown");
        return;
    }
    const char *b = v->base == WC_B_NONE ? ""
                    : v->base == WC_B_SP ? "sp"
                                         : wc_reg_name(v->base - WC_B_ARG0, 8);
    if (v->lo == v->hi)
        snprintf(buf, n, "%s%s%lld", b, *b ? "+" : "", (long long)v->lo);
    else if (v->m > 1)
        snprintf(buf, n, "%s%s[%lld, %lld] stride %llu", b, *b ? "+" : "", (long long)v->lo,
                 (long long)v->hi, (unsigned long long)v->m);
    else
        snprintf(buf, n, "%s%s[%lld, %lld]", b, *b ? "+" : "", (long long)v->lo, (long long)v->hi);
}

/* the value of v seen at width w (bits) */
static wc_val at_width(wc_val v, int w) {
    wc_val r;
    if (v.top && v.zx && v.w < w) /* an unknown zero-extended value */
        return with_sym(wc_val_range(0, ((int64_t)1 << v.w) - 1, w), &v, w, 0);
    if (v.top || (v.base != WC_B_NONE && w != 64))
        return with_sym(wc_val_top(w), &v, w, 0);
    if (v.base != WC_B_NONE || v.w == w)
        return v;
    int64_t lo, hi;
    if (!wc_val_signed(&v, w, &lo, &hi))
        return with_sym(wc_val_top(w), &v, w, 0);
    r = wc_val_range(lo, hi, w);
    if (v.m > 1 && v.w > w && (v.m & (v.m - 1)) == 0)
        r.m = v.m;
    else if (v.m > 1 && v.w < w)
        r.m = v.m;
    r = norm(r);
    return with_sym(r, &v, w, 0);
}

/* arithmetic on values at width w */
static wc_val vadd_iv(wc_val a, wc_val b, int w) {
    if (a.top || b.top)
        return wc_val_top(w);
    if (a.base != WC_B_NONE && b.base != WC_B_NONE)
        return wc_val_top(w);
    if ((a.base != WC_B_NONE || b.base != WC_B_NONE) && w != 64)
        return wc_val_top(w);
    wc_val r = a.base != WC_B_NONE ? a : b;
    int64_t lo, hi;
    if (__builtin_add_overflow(a.lo, b.lo, &lo) || __builtin_add_overflow(a.hi, b.hi, &hi))
        return wc_val_top(w);
    r.lo = lo;
    r.hi = hi;
    r.w = (uint8_t)w;
    r.zx = false;
    r.m = gcd64(a.m, b.m);
    r.sym = 0;
    return norm(r);
}

static wc_val vadd(wc_val a, wc_val b, int w) {
    wc_val r = vadd_iv(a, b, w);
    r.sym = 0;
    if (a.sym && !b.top && b.base == WC_B_NONE && b.lo == b.hi)
        r = with_sym(r, &a, w, b.lo);
    else if (b.sym && !a.top && a.base == WC_B_NONE && a.lo == a.hi)
        r = with_sym(r, &b, w, a.lo);
    return r;
}

static wc_val vneg(wc_val a, int w) {
    if (a.top || a.base != WC_B_NONE || a.lo == I64MIN)
        return wc_val_top(w);
    wc_val r = wc_val_range(-a.hi, -a.lo, w);
    r.m = a.m;
    r = norm(r);
    r.sym = 0;
    return r;
}

/* the only number in [lo, hi] congruent to x modulo 2^sw, if there is one */
static bool unique_rep(int64_t x, int sw, int64_t lo, int64_t hi, int64_t *out) {
    if (sw >= 64) {
        *out = x;
        return x >= lo && x <= hi;
    }
    __int128 m = (__int128)1 << sw;
    __int128 r = (__int128)lo + ((((__int128)x - lo) % m) + m) % m;
    if (r > hi || r + m <= hi)
        return false;
    *out = (int64_t)r;
    return true;
}

static wc_val vsub(wc_val a, wc_val b, int w) {
    if (a.sym && a.sym == b.sym) {
        int sw = a.symw < b.symw ? a.symw : b.symw;
        uint64_t d = (uint64_t)a.sc - (uint64_t)b.sc;
        if (sw >= w)
            return wc_val_const(wc_sext(d, w), w);
        /* known modulo 2^sw only: exact when the ranges leave one candidate */
        wc_val iv = vadd_iv(a, vneg(b, w), w);
        int64_t r;
        if (!iv.top && iv.base == WC_B_NONE && unique_rep(wc_sext(d, sw), sw, iv.lo, iv.hi, &r))
            return wc_val_const(r, w);
    }
    if (a.top || b.top)
        return wc_val_top(w);
    if (a.base != WC_B_NONE && a.base == b.base) {
        int64_t lo, hi;
        if (__builtin_sub_overflow(a.lo, b.hi, &lo) || __builtin_sub_overflow(a.hi, b.lo, &hi))
            return wc_val_top(w);
        wc_val r = wc_val_range(lo, hi, w);
        r.m = gcd64(a.m, b.m);
        return norm(r);
    }
    if (b.base != WC_B_NONE)
        return wc_val_top(w);
    return vadd(a, vneg(b, w), w);
}

static wc_val vmulc(wc_val a, int64_t c, int w) {
    if (c == 1)
        return at_width(a, w);
    if (a.top || a.base != WC_B_NONE)
        return wc_val_top(w);
    int64_t x, y;
    if (__builtin_mul_overflow(a.lo, c, &x) || __builtin_mul_overflow(a.hi, c, &y))
        return wc_val_top(w);
    wc_val r = wc_val_range(x < y ? x : y, x < y ? y : x, w);
    uint64_t ac = (uint64_t)(c < 0 ? -c : c);
    r.m = a.m * ac;
    return norm(r);
}

/* ---------- state ---------- */
static void st_top(wc_state *st) {
    memset(st, 0, sizeof *st);
    st->reached = true;
    for (int r = 0; r < WC_NREGS; r++)
        st->reg[r] = wc_val_top(64);
    st->esc_lo = I64MAX;
}

static int slot_find(const wc_state *st, int64_t off, int size) {
    for (int i = 0; i < st->nslots; i++)
        if (st->slot[i].off == off && st->slot[i].size == size)
            return i;
    return -1;
}

static void slot_kill_range(wc_state *st, int64_t lo, int64_t hi) { /* [lo, hi) */
    int k = 0;
    for (int i = 0; i < st->nslots; i++) {
        wc_slot *s = &st->slot[i];
        if (s->off < hi && s->off + s->size > lo)
            continue;
        st->slot[k++] = *s;
    }
    st->nslots = k;
}

static void slot_kill_escaped(wc_state *st) {
    if (st->esc_lo == I64MAX)
        return;
    slot_kill_range(st, st->esc_lo, I64MAX);
}

static void slot_set(wc_state *st, int64_t off, int size, wc_val v) {
    slot_kill_range(st, off, off + size);
    if (v.top && !v.sym)
        return;
    if (st->nslots >= WC_MAX_SLOTS) {
        /* forget the oldest */
        memmove(&st->slot[0], &st->slot[1], sizeof st->slot[0] * (WC_MAX_SLOTS - 1));
        st->nslots--;
    }
    st->slot[st->nslots].off = off;
    st->slot[st->nslots].size = (uint8_t)size;
    st->slot[st->nslots].v = v;
    st->nslots++;
}

/* the address of a memory operand as a value */
static wc_val addr_of(const wc_state *st, const wc_op *op, uint64_t next_ip) {
    if (op->seg)
        return wc_val_top(64);
    wc_val a = wc_val_const(op->disp, 64);
    if (op->base == WC_RIP)
        a = wc_val_const((int64_t)(next_ip + (uint64_t)op->disp), 64);
    else if (op->base >= 0 && op->base < WC_NREGS)
        a = vadd(at_width(st->reg[op->base], 64), a, 64);
    else if (op->base != WC_R_NONE)
        return wc_val_top(64);
    if (op->index >= 0 && op->index < WC_NREGS)
        a = vadd(a, vmulc(at_width(st->reg[op->index], 64), op->scale, 64), 64);
    else if (op->index != WC_R_NONE)
        return wc_val_top(64);
    return a;
}

/* a 32-bit lea: only the low halves of the registers matter */
static wc_val addr_of32(const wc_state *st, const wc_op *op) {
    if (op->seg || op->base == WC_RIP || op->base == 99 || op->index == 99)
        return wc_val_top(32);
    wc_val a = wc_val_const(op->disp, 32);
    if (op->base >= 0 && op->base < WC_NREGS)
        a = vadd(at_width(st->reg[op->base], 32), a, 32);
    if (op->index >= 0 && op->index < WC_NREGS)
        a = vadd(a, vmulc(at_width(st->reg[op->index], 32), op->scale, 32), 32);
    return a;
}

bool wc_op_slot(const wc_state *st, const wc_op *op, int64_t *off) {
    if (op->type != WC_OP_MEM)
        return false;
    wc_val a = addr_of(st, op, 0);
    if (a.top || a.base != WC_B_SP || a.lo != a.hi)
        return false;
    *off = a.lo;
    return true;
}

/* the image, for loads from read-only data (set by wc_value_step) */
static const wc_image *g_img;

static bool rodata_load(uint64_t addr, int size, int64_t *v) {
    if (!g_img || !wc_image_is_readonly(g_img, addr))
        return false;
    size_t avail;
    const unsigned char *p = wc_image_bytes(g_img, addr, &avail);
    if (!p || avail < (size_t)size)
        return false;
    switch (size) {
    case 1:
        *v = (int8_t)p[0];
        return true;
    case 2: {
        int16_t x;
        memcpy(&x, p, 2);
        *v = x;
        return true;
    }
    case 4: {
        int32_t x;
        memcpy(&x, p, 4);
        *v = x;
        return true;
    }
    case 8: {
        int64_t x;
        memcpy(&x, p, 8);
        *v = x;
        return true;
    }
    default:
        return false;
    }
}

wc_val wc_read_op(const wc_state *st, const wc_op *op, uint64_t next_ip) {
    int w = op->size * 8;
    if (w == 0)
        w = 64;
    switch (op->type) {
    case WC_OP_IMM:
        return wc_val_const(op->imm, w);
    case WC_OP_REG:
        if (op->reg < 0 || op->high8)
            return wc_val_top(w);
        return at_width(st->reg[op->reg], w);
    case WC_OP_MEM: {
        wc_val a = addr_of(st, op, next_ip);
        if (!a.top && a.base == WC_B_SP && a.lo == a.hi) {
            int i = slot_find(st, a.lo, op->size);
            if (i >= 0)
                return at_width(st->slot[i].v, w);
        }
        int64_t c;
        if (!a.top && a.base == WC_B_NONE && a.lo == a.hi &&
            rodata_load((uint64_t)a.lo, op->size, &c))
            return wc_val_const(c, w);
        return wc_val_top(w);
    }
    default:
        return wc_val_top(w);
    }
}

static void write_reg(wc_state *st, const wc_op *op, wc_val v) {
    if (op->reg < 0 || op->reg >= WC_NREGS)
        return;
    int w = op->size * 8;
    if (op->high8 || w < 32) {
        st->reg[op->reg] = wc_val_top(64);
        return;
    }
    v = at_width(v, w);
    if (w == 32) {
        v.zx = true;
        v.w = 32;
    }
    st->reg[op->reg] = v;
}

static void write_op(wc_state *st, const wc_op *op, wc_val v, uint64_t next_ip) {
    if (op->type == WC_OP_REG) {
        write_reg(st, op, v);
        return;
    }
    if (op->type != WC_OP_MEM)
        return;
    wc_val a = addr_of(st, op, next_ip);
    if (!a.top && a.base == WC_B_SP) {
        if (a.lo == a.hi) {
            slot_set(st, a.lo, op->size, at_width(v, op->size * 8));
            return;
        }
        if (a.hi - a.lo < 1 << 20) {
            slot_kill_range(st, a.lo, a.hi + op->size);
            return;
        }
    }
    /* a store through a pointer: only escaped slots can change */
    slot_kill_escaped(st);
}

static void clobber_call(wc_state *st) {
    static const int caller_saved[] = {WC_RAX, WC_RCX, WC_RDX, WC_RSI, WC_RDI,
                                       WC_R8,  WC_R9,  WC_R10, WC_R11};
    for (size_t i = 0; i < sizeof caller_saved / sizeof caller_saved[0]; i++)
        st->reg[caller_saved[i]] = wc_val_top(64);
    slot_kill_escaped(st);
    /* the callee's frame lies below the stack pointer */
    wc_val sp = st->reg[WC_RSP];
    if (!sp.top && sp.base == WC_B_SP)
        slot_kill_range(st, I64MIN / 2, sp.lo);
    st->fl.valid = false;
}

static void set_flags(wc_state *st, int kind, const wc_insn *in, wc_val va, wc_val vb, wc_val res) {
    st->fl.valid = true;
    st->fl.kind = (uint8_t)kind;
    st->fl.w = (uint8_t)(in->ops[0].size * 8);
    st->fl.a = in->ops[0];
    st->fl.b = in->nops > 1 ? in->ops[1] : in->ops[0];
    st->fl.va = va;
    st->fl.vb = vb;
    st->fl.res = res;
}

/* Name the values an instruction reads: a register without a symbol gets a
 * fresh one (unique to this instruction and register), so that what is
 * computed from it here stays related (see the MOV case for why this is sound). */
static void name_reads(wc_state *st, const wc_insn *in) {
    if (in->id != X86_INS_LEA && in->id != X86_INS_ADD && in->id != X86_INS_SUB &&
        in->id != X86_INS_MOV && in->id != X86_INS_CMP && in->id != X86_INS_MOVSXD &&
        in->id != X86_INS_INC && in->id != X86_INS_DEC)
        return;
    for (int k = 0; k < in->nops; k++) {
        const wc_op *o = &in->ops[k];
        int regs[2] = {-1, -1};
        if (o->type == WC_OP_REG && !o->high8 && o->size >= 4)
            regs[0] = o->reg;
        else if (o->type == WC_OP_MEM) {
            regs[0] = o->base;
            regs[1] = o->index;
        }
        for (int q = 0; q < 2; q++) {
            int r = regs[q];
            if (r < 0 || r >= WC_NREGS || r == WC_RSP)
                continue;
            wc_val *v = &st->reg[r];
            if (v->sym || (!v->top && v->lo == v->hi))
                continue;
            v->sym =
                (int32_t)(0x40000000u | ((uint32_t)((in->addr << 4) | (uint64_t)r) & 0x3fffffffu));
            v->sc = 0;
            v->symw = 64;
            if (v->top)
                v->w = 64; /* the full register's number */
        }
    }
}

static void value_step(wc_analyzer *an, wc_state *st, const wc_insn *in);
static int cc_negate(int cc);
static void refine_flags(wc_state *dst, int cc, const wc_insn *j, const wc_block *from);

/* The registers a flags operand reads: the register, or a memory operand's
 * base and index. */
static uint32_t op_regs(const wc_op *op) {
    uint32_t m = 0;
    if (op->type == WC_OP_REG && op->reg >= 0 && op->reg < WC_NREGS)
        m |= 1u << op->reg;
    if (op->type == WC_OP_MEM) {
        if (op->base >= 0 && op->base < WC_NREGS)
            m |= 1u << op->base;
        if (op->index >= 0 && op->index < WC_NREGS)
            m |= 1u << op->index;
    }
    return m;
}

/* Whether `in` may store to memory. */
static bool may_store(const wc_insn *in) {
    if (in->string_op || in->id == X86_INS_PUSH || in->id == X86_INS_CALL)
        return true;
    return in->nops >= 1 && in->ops[0].type == WC_OP_MEM && in->id != X86_INS_CMP &&
           in->id != X86_INS_TEST;
}

void wc_value_step(wc_analyzer *an, wc_state *st, const wc_insn *in) {
    value_step(an, st, in);
    /* The flags describe the compared operands as they were. An instruction
     * that leaves the flags alone but overwrites an operand (a register, a
     * memory operand's address register, or possibly the memory) breaks the
     * link: refining the location on a later branch would constrain
     * a value the compare never saw. */
    if (st->fl.valid && !in->writes_flags) {
        const wc_flags *f = &st->fl;
        if ((in->regs_written & (op_regs(&f->a) | op_regs(&f->b))) != 0 ||
            ((f->a.type == WC_OP_MEM || f->b.type == WC_OP_MEM) && may_store(in)))
            st->fl.valid = false;
    }
}

static void value_step(wc_analyzer *an, wc_state *st, const wc_insn *in) {
    g_img = an->img;
    name_reads(st, in);
    uint64_t nip = in->addr + in->size;
    const wc_op *o0 = &in->ops[0], *o1 = &in->ops[1];
    int w = o0->size * 8;
    wc_val a, b, r;
    bool handled = true;
    bool flags_done = false;
    switch (in->id) {
    case X86_INS_NOP:
    case X86_INS_ENDBR64:
    case X86_INS_PREFETCHT0:
    case X86_INS_PREFETCHNTA:
        return;
    case X86_INS_MOV:
    case X86_INS_MOVABS:
        if (in->nops != 2)
            break;
        a = wc_read_op(st, o1, nip);
        if (!a.sym && o1->type != WC_OP_IMM && w >= 32 && (a.top || a.lo != a.hi)) {
            /* a fresh symbol: source and destination hold the same number */
            a.sym = (int32_t)(0x40000000u | (uint32_t)(in->addr & 0x3fffffff));
            a.sc = 0;
            a.symw = (uint8_t)w;
            if (o1->type == WC_OP_REG)
                write_op(st, o1, a, nip);
            else {
                int64_t off;
                if (wc_op_slot(st, o1, &off))
                    slot_set(st, off, o1->size, a);
            }
        }
        write_op(st, o0, a, nip);
        return;
    case X86_INS_MOVZX:
        if (in->nops != 2)
            break;
        a = wc_read_op(st, o1, nip);
        {
            uint64_t lo, hi;
            int sw = o1->size * 8;
            if (wc_val_unsigned(&a, sw, &lo, &hi)) {
                r = wc_val_range((int64_t)lo, (int64_t)hi, 64);
                int64_t slo, shi;
                (void)slo;
                (void)shi;
                r = with_sym(r, &a, sw, 0);
            } else
                r = with_sym(wc_val_range(0, ((int64_t)1 << sw) - 1, 64), &a, sw, 0);
        }
        write_op(st, o0, r, nip);
        return;
    case X86_INS_MOVSX:
    case X86_INS_MOVSXD:
        if (in->nops != 2)
            break;
        a = wc_read_op(st, o1, nip);
        {
            int64_t lo, hi;
            int sw = o1->size * 8;
            bool known = wc_val_signed(&a, sw, &lo, &hi);
            r = known ? wc_val_range(lo, hi, 64) : wc_val_top(64);
            if (known && a.m > 1 && !a.top)
                r.m = a.m;
            if (known)
                r = norm(r);
            r = with_sym(r, &a, o1->size * 8, 0);
        }
        write_op(st, o0, r, nip);
        return;
    case X86_INS_CDQE:
        a = at_width(st->reg[WC_RAX], 32);
        {
            int64_t lo, hi;
            bool known = wc_val_signed(&a, 32, &lo, &hi);
            st->reg[WC_RAX] = known ? wc_val_range(lo, hi, 64) : wc_val_top(64);
            st->reg[WC_RAX] = with_sym(st->reg[WC_RAX], &a, 32, 0);
        }
        return;
    case X86_INS_LEA:
        if (in->nops != 2)
            break;
        r = o0->size == 4 ? addr_of32(st, o1) : addr_of(st, o1, nip);
        if (!r.top && r.base == WC_B_SP && o1->base != WC_RSP && o1->base != WC_RBP) {
            /* an SP-relative address in a general register */
        }
        if (!r.top && r.base == WC_B_SP && r.lo < st->esc_lo)
            st->esc_lo = r.lo; /* the address of a stack object escapes */
        write_op(st, o0, r, nip);
        return;
    case X86_INS_ADD:
    case X86_INS_SUB:
        if (in->nops != 2)
            break;
        a = wc_read_op(st, o0, nip);
        b = wc_read_op(st, o1, nip);
        if (in->id == X86_INS_SUB && o0->type == WC_OP_REG && o1->type == WC_OP_REG &&
            o0->reg == o1->reg)
            r = wc_val_const(0, w);
        else
            r = in->id == X86_INS_ADD ? vadd(a, b, w) : vsub(a, b, w);
        set_flags(st, in->id == X86_INS_SUB ? 4 : 3, in, a, b, r);
        write_op(st, o0, r, nip);
        return;
    case X86_INS_INC:
    case X86_INS_DEC:
        a = wc_read_op(st, o0, nip);
        r = vadd(a, wc_val_const(in->id == X86_INS_INC ? 1 : -1, w), w);
        set_flags(st, 3, in, a, wc_val_const(in->id == X86_INS_INC ? 1 : -1, w), r);
        write_op(st, o0, r, nip);
        return;
    case X86_INS_NEG:
        a = wc_read_op(st, o0, nip);
        r = vneg(a, w);
        set_flags(st, 3, in, a, a, r);
        write_op(st, o0, r, nip);
        return;
    case X86_INS_CMP:
        a = wc_read_op(st, o0, nip);
        b = wc_read_op(st, o1, nip);
        set_flags(st, 1, in, a, b, vsub(a, b, w));
        return;
    case X86_INS_TEST:
        a = wc_read_op(st, o0, nip);
        b = wc_read_op(st, o1, nip);
        if ((o0->type == WC_OP_REG && o1->type == WC_OP_REG && o0->reg == o1->reg && !o0->high8))
            set_flags(st, 2, in, a, b, a);
        else
            st->fl.valid = false;
        return;
    case X86_INS_XOR:
        if (in->nops == 2 && o0->type == WC_OP_REG && o1->type == WC_OP_REG && o0->reg == o1->reg) {
            write_op(st, o0, wc_val_const(0, w), nip);
            st->fl.valid = false;
            return;
        }
        handled = false;
        break;
    case X86_INS_AND:
        if (in->nops != 2)
            break;
        a = wc_read_op(st, o0, nip);
        b = wc_read_op(st, o1, nip);
        {
            int64_t alo, ahi, blo, bhi;
            bool ka = wc_val_signed(&a, w, &alo, &ahi), kb = wc_val_signed(&b, w, &blo, &bhi);
            if (ka && kb && alo == ahi && blo == bhi)
                r = wc_val_const(alo & blo, w);
            else if (kb && blo == bhi && blo < 0 && ((-blo) & (-blo - 1)) == 0 && ka && alo >= 0) {
                /* x & -2^k: clears the low bits */
                r = wc_val_range(0, ahi & blo, w);
                if (r.lo != r.hi) {
                    r.m = (uint64_t)(-blo);
                    r.r = 0;
                }
            } else if (kb && blo >= 0) {
                r = wc_val_range(0, ka && alo >= 0 && ahi < bhi ? ahi : bhi, w);
                if (blo == bhi && blo > 0 && r.lo != r.hi) {
                    /* the mask's low zero bits stay zero: a multiple of 2^k */
                    uint64_t low = (uint64_t)blo & (~(uint64_t)blo + 1);
                    if (low > 1) {
                        r.m = low;
                        r.r = 0;
                        r.hi -= (int64_t)((uint64_t)r.hi % low);
                        r = norm(r);
                    }
                }
            } else if (ka && alo >= 0)
                r = wc_val_range(0, ahi, w);
            else
                r = wc_val_top(w);
        }
        set_flags(st, 3, in, a, b, r);
        write_op(st, o0, r, nip);
        return;
    case X86_INS_SHL:
    case X86_INS_SAL:
    case X86_INS_SHR:
    case X86_INS_SAR:
        if (in->nops != 2 || o1->type != WC_OP_IMM) {
            handled = false;
            break;
        }
        a = wc_read_op(st, o0, nip);
        {
            int k = (int)(o1->imm & (w == 64 ? 63 : 31));
            int64_t lo, hi;
            if (in->id == X86_INS_SHL || in->id == X86_INS_SAL)
                r = k < 62 ? vmulc(a, (int64_t)1 << k, w) : wc_val_top(w);
            else if (in->id == X86_INS_SAR && wc_val_signed(&a, w, &lo, &hi))
                r = wc_val_range(lo >> k, hi >> k, w);
            else if (in->id == X86_INS_SHR) {
                uint64_t ulo, uhi;
                if (wc_val_unsigned(&a, w, &ulo, &uhi) || 1) {
                    wc_val_unsigned(&a, w, &ulo, &uhi);
                    ulo >>= k;
                    uhi >>= k;
                    r = uhi <= (uint64_t)smax(w) ? wc_val_range((int64_t)ulo, (int64_t)uhi, w)
                                                 : wc_val_top(w);
                } else
                    r = wc_val_top(w);
            } else
                r = wc_val_top(w);
        }
        set_flags(st, 3, in, a, a, r);
        write_op(st, o0, r, nip);
        return;
    case X86_INS_IMUL:
        if (in->nops == 3 && in->ops[2].type == WC_OP_IMM) {
            r = vmulc(wc_read_op(st, o1, nip), in->ops[2].imm, w);
            write_op(st, o0, r, nip);
            st->fl.valid = false;
            return;
        }
        if (in->nops == 2) {
            a = wc_read_op(st, o0, nip);
            b = wc_read_op(st, o1, nip);
            int64_t lo, hi;
            if (wc_val_signed(&b, w, &lo, &hi) && lo == hi)
                r = vmulc(a, lo, w);
            else if (wc_val_signed(&a, w, &lo, &hi) && lo == hi)
                r = vmulc(b, lo, w);
            else
                r = wc_val_top(w);
            write_op(st, o0, r, nip);
            st->fl.valid = false;
            return;
        }
        handled = false;
        break;
    case X86_INS_DIV:
        /* rax = rdx:rax / src, rdx = rdx:rax % src (edx:eax at 32 bits), unsigned,
         * with the high half 0 (a zero-extended dividend) */
        if (in->nops == 1 && (w == 64 || w == 32)) {
            wc_op ra = {.type = WC_OP_REG, .size = (uint8_t)(w / 8), .reg = WC_RAX};
            wc_op rd = {.type = WC_OP_REG, .size = (uint8_t)(w / 8), .reg = WC_RDX};
            a = wc_read_op(st, &ra, nip);
            b = wc_read_op(st, o0, nip);
            wc_val hi0 = wc_read_op(st, &rd, nip);
            uint64_t alo, ahi, blo, bhi, hlo, hhi;
            wc_val q = wc_val_top(w), rem = wc_val_top(w);
            if (wc_val_unsigned(&hi0, w, &hlo, &hhi) && hlo == 0 && hhi == 0 &&
                wc_val_unsigned(&a, w, &alo, &ahi) && wc_val_unsigned(&b, w, &blo, &bhi) &&
                blo > 0 && ahi <= (uint64_t)smax(w) && bhi <= (uint64_t)smax(w)) {
                q = wc_val_range((int64_t)(alo / bhi), (int64_t)(ahi / blo), w);
                rem = wc_val_range(0, (int64_t)(ahi < bhi - 1 ? ahi : bhi - 1), w);
            }
            write_op(st, &ra, q, nip);
            write_op(st, &rd, rem, nip);
            st->fl.valid = false;
            return;
        }
        handled = false;
        break;
    case X86_INS_MUL:
        /* rdx:rax = rax * src (edx:eax at 32 bits), unsigned: both halves grow
         * with each factor, so the ranges' corners bound them (a division by a
         * constant compiles to the high half) */
        if (in->nops == 1 && (w == 64 || w == 32)) {
            wc_op ra = {.type = WC_OP_REG, .size = (uint8_t)(w / 8), .reg = WC_RAX};
            wc_op rd = {.type = WC_OP_REG, .size = (uint8_t)(w / 8), .reg = WC_RDX};
            a = wc_read_op(st, &ra, nip);
            b = wc_read_op(st, o0, nip);
            uint64_t alo, ahi, blo, bhi;
            wc_val lo_half = wc_val_top(w), hi_half = wc_val_top(w);
            if (wc_val_unsigned(&a, w, &alo, &ahi) && wc_val_unsigned(&b, w, &blo, &bhi)) {
                unsigned __int128 pl = (unsigned __int128)alo * blo,
                                  ph = (unsigned __int128)ahi * bhi;
                uint64_t hl = (uint64_t)(pl >> w), hh = (uint64_t)(ph >> w);
                if (hh <= (uint64_t)smax(w))
                    hi_half = wc_val_range((int64_t)hl, (int64_t)hh, w);
                if ((ph >> w) == 0 && (uint64_t)ph <= (uint64_t)smax(w))
                    lo_half = wc_val_range((int64_t)(uint64_t)pl, (int64_t)(uint64_t)ph, w);
            }
            write_op(st, &ra, lo_half, nip);
            write_op(st, &rd, hi_half, nip);
            st->fl.valid = false;
            return;
        }
        handled = false;
        break;
    case X86_INS_PUSH:
        a = wc_read_op(st, o0, nip);
        st->reg[WC_RSP] = vadd(st->reg[WC_RSP], wc_val_const(-8, 64), 64);
        if (!st->reg[WC_RSP].top && st->reg[WC_RSP].base == WC_B_SP &&
            st->reg[WC_RSP].lo == st->reg[WC_RSP].hi)
            slot_set(st, st->reg[WC_RSP].lo, 8, at_width(a, 64));
        return;
    case X86_INS_POP: {
        wc_val sp = st->reg[WC_RSP];
        r = wc_val_top(64);
        if (!sp.top && sp.base == WC_B_SP && sp.lo == sp.hi) {
            int i = slot_find(st, sp.lo, 8);
            if (i >= 0)
                r = st->slot[i].v;
        }
        st->reg[WC_RSP] = vadd(sp, wc_val_const(8, 64), 64);
        write_op(st, o0, r, nip);
        return;
    }
    case X86_INS_LEAVE: {
        wc_val sp = st->reg[WC_RBP];
        r = wc_val_top(64);
        if (!sp.top && sp.base == WC_B_SP && sp.lo == sp.hi) {
            int i = slot_find(st, sp.lo, 8);
            if (i >= 0)
                r = st->slot[i].v;
        }
        st->reg[WC_RSP] = vadd(sp, wc_val_const(8, 64), 64);
        st->reg[WC_RBP] = r;
        return;
    }
    case WC_INS_RDPKRU:
        /* eax = PKRU (any 32-bit value), edx = 0, both zero-extended; flags kept */
        st->reg[WC_RAX] = wc_val_range(0, (int64_t)UINT32_MAX, 64);
        st->reg[WC_RDX] = wc_val_const(0, 64);
        return;
    case WC_INS_WRPKRU:
        return; /* PKRU = eax: no register, flag or memory changes */
    case X86_INS_CALL:
        clobber_call(st);
        return;
    case X86_INS_RET:
    case X86_INS_JMP:
        return;
    default:
        handled = false;
        break;
    }
    (void)handled;
    (void)flags_done;
    if (in->kind == WC_I_JCC)
        return; /* flags read only */
    if (in->cc != WC_CC_NONE && in->nops == 2 && o0->type == WC_OP_REG &&
        strncmp(in->text, "cmov", 4) == 0) {
        /* cmovcc: the source where the condition holds, the old destination
         * where it does not, each refined by the flags (a clamp n = min(n, 64)
         * keeps its limit) */
        a = wc_read_op(st, o0, nip);
        b = wc_read_op(st, o1, nip);
        wc_val v = vjoin(at_width(a, w), at_width(b, w));
        if (st->fl.valid && in->cc >= 0 && in->cc <= WC_CC_G) {
            wc_state moved = *st, kept = *st;
            refine_flags(&moved, in->cc, in, NULL);
            refine_flags(&kept, cc_negate(in->cc), in, NULL);
            if (moved.reached && kept.reached)
                v = vjoin(at_width(wc_read_op(&moved, o1, nip), w),
                          at_width(wc_read_op(&kept, o0, nip), w));
            else if (moved.reached)
                v = at_width(wc_read_op(&moved, o1, nip), w);
            else if (kept.reached)
                v = at_width(wc_read_op(&kept, o0, nip), w);
        }
        write_op(st, o0, v, nip);
        return;
    }
    /* anything else: what it writes becomes unknown */
    for (int r2 = 0; r2 < WC_NREGS; r2++)
        if (in->regs_written & (1u << r2)) {
            if (r2 == WC_RSP) {
                /* an unknown change of the stack pointer (alloca, and rsp) */
                st->reg[WC_RSP] = wc_val_top(64);
            } else
                st->reg[r2] = wc_val_top(64);
        }
    for (int i = 0; i < in->nops; i++)
        if (in->ops[i].type == WC_OP_MEM && i == 0 && in->id != X86_INS_CMP)
            write_op(st, &in->ops[i], wc_val_top(in->ops[i].size * 8), nip);
    if (in->string_op) {
        /* string stores go through rdi */
        slot_kill_escaped(st);
        wc_val sp = st->reg[WC_RSP];
        (void)sp;
        /* rdi may point into this frame: forget everything below the frame top */
        st->nslots = 0;
    }
    if (in->writes_flags)
        st->fl.valid = false;
}

/* ---------- edges: refine on the branch condition ---------- */
static int cc_negate(int cc) {
    return cc ^ 1;
}

/* refine the signed interval [lo,hi] at width w by `x cc y` with y in [ylo,yhi] */
static bool refine_signed(int cc, int64_t *lo, int64_t *hi, int64_t ylo, int64_t yhi) {
    switch (cc) {
    case WC_CC_L:
        if (yhi == I64MIN)
            return false; /* nothing is below the minimum */
        if (yhi - 1 < *hi)
            *hi = yhi - 1;
        break;
    case WC_CC_LE:
        if (yhi < *hi)
            *hi = yhi;
        break;
    case WC_CC_G:
        if (ylo == I64MAX)
            return false; /* nothing is above the maximum */
        if (ylo + 1 > *lo)
            *lo = ylo + 1;
        break;
    case WC_CC_GE:
        if (ylo > *lo)
            *lo = ylo;
        break;
    case WC_CC_E:
        if (ylo > *lo)
            *lo = ylo;
        if (yhi < *hi)
            *hi = yhi;
        break;
    default:
        return true;
    }
    return *lo <= *hi;
}

static bool refine_unsigned(int cc, uint64_t *lo, uint64_t *hi, uint64_t ylo, uint64_t yhi) {
    switch (cc) {
    case WC_CC_B:
        if (yhi == 0)
            return false;
        if (yhi - 1 < *hi)
            *hi = yhi - 1;
        break;
    case WC_CC_BE:
        if (yhi < *hi)
            *hi = yhi;
        break;
    case WC_CC_A:
        if (ylo == UINT64_MAX)
            return false;
        if (ylo + 1 > *lo)
            *lo = ylo + 1;
        break;
    case WC_CC_AE:
        if (ylo > *lo)
            *lo = ylo;
        break;
    case WC_CC_E:
        if (ylo > *lo)
            *lo = ylo;
        if (yhi < *hi)
            *hi = yhi;
        break;
    default:
        return true;
    }
    return *lo <= *hi;
}

static int cc_swap(int cc) {
    switch (cc) {
    case WC_CC_L:
        return WC_CC_G;
    case WC_CC_G:
        return WC_CC_L;
    case WC_CC_LE:
        return WC_CC_GE;
    case WC_CC_GE:
        return WC_CC_LE;
    case WC_CC_B:
        return WC_CC_A;
    case WC_CC_A:
        return WC_CC_B;
    case WC_CC_BE:
        return WC_CC_AE;
    case WC_CC_AE:
        return WC_CC_BE;
    default:
        return cc;
    }
}

/* Apply `loc cc other` to location op (register or slot), value v at width w.
 * Returns false when the edge is infeasible. */
/* every location holding the same symbol as cur gets the refinement nv too */
static void narrow_one(wc_val *v, const wc_val *cur, const wc_val *nv) {
    if (!cur->sym || v->sym != cur->sym || nv->top || nv->base != WC_B_NONE)
        return;
    int w = nv->w;
    int vw = v->base != WC_B_NONE ? 64 : v->w;
    if (vw > w && w == 32 && !v->top && v->base == WC_B_NONE && v->lo >= 0 && v->hi <= smax(32) &&
        nv->lo >= 0) {
        /* a 64-bit copy of a non-negative 32-bit value: the same number */
        wc_val v32 = *v;
        v32.w = 32;
        narrow_one(&v32, cur, nv);
        if (v32.lo >= 0) {
            v->lo = v32.lo;
            v->hi = v32.hi;
            v->m = v32.m;
            v->r = v32.r;
        }
        return;
    }
    if (vw != w)
        return;
    int sw = v->symw < cur->symw ? v->symw : cur->symw;
    if (sw > w)
        sw = w;
    int64_t shift = wc_sext((uint64_t)v->sc - (uint64_t)cur->sc, sw), lo, hi;
    if (sw < w) {
        /* known modulo 2^sw: exact if the ranges leave one candidate for v - cur */
        int64_t vlo, vhi, clo, chi, r;
        if (v->top || v->base != WC_B_NONE || cur->top || cur->base != WC_B_NONE ||
            !wc_val_signed(v, w, &vlo, &vhi) || !wc_val_signed(cur, w, &clo, &chi))
            return;
        __int128 dlo = (__int128)vlo - chi, dhi = (__int128)vhi - clo;
        if (dlo < INT64_MIN || dhi > INT64_MAX ||
            !unique_rep(shift, sw, (int64_t)dlo, (int64_t)dhi, &r))
            return;
        shift = r;
    }
    if (__builtin_add_overflow(nv->lo, shift, &lo) || __builtin_add_overflow(nv->hi, shift, &hi))
        return;
    if (lo < smin(w) || hi > smax(w))
        return;
    if (v->top || v->base != WC_B_NONE) {
        wc_val r = wc_val_range(lo, hi, w);
        r.zx = v->top ? false : v->zx;
        if (v->base != WC_B_NONE)
            r.zx = false;
        r.sym = v->sym;
        r.sc = v->sc;
        r.symw = v->symw;
        *v = r;
        return;
    }
    int64_t nlo = v->lo > lo ? v->lo : lo, nhi = v->hi < hi ? v->hi : hi;
    if (nlo > nhi)
        return;
    if (nlo != v->lo || nhi != v->hi) {
        wc_val keep = *v;
        v->lo = nlo;
        v->hi = nhi;
        if (v->m > 1) {
            int64_t m = (int64_t)v->m, rr = (int64_t)v->r;
            int64_t l2 = nlo + (((rr - nlo) % m) + m) % m, h2 = nhi - (((nhi - rr) % m) + m) % m;
            if (l2 <= h2) {
                v->lo = l2;
                v->hi = h2;
            }
        }
        *v = norm(*v);
        v->sym = keep.sym;
        v->sc = keep.sc;
        v->symw = keep.symw;
        v->zx = keep.zx;
    }
}

static void propagate_sym(wc_state *st, const wc_val *cur, const wc_val *nv) {
    if (!cur->sym)
        return;
    for (int r = 0; r < WC_NREGS; r++)
        if (r != WC_RSP)
            narrow_one(&st->reg[r], cur, nv);
    for (int i = 0; i < st->nslots; i++)
        narrow_one(&st->slot[i].v, cur, nv);
}

static bool refine_loc2(wc_state *st, const wc_op *op, wc_val cur, int w, int cc, wc_val other) {
    wc_val nv;
    int64_t olo, ohi;
    if (cc == WC_CC_L || cc == WC_CC_LE || cc == WC_CC_G || cc == WC_CC_GE || cc == WC_CC_E) {
        if (cc != WC_CC_E && !wc_val_signed(&other, w, &olo, &ohi) && other.base == WC_B_NONE)
            return true;
        if (cc == WC_CC_E && !wc_val_signed(&other, w, &olo, &ohi))
            return true;
        int64_t lo, hi;
        wc_val_signed(&cur, w, &lo, &hi);
        if (!refine_signed(cc, &lo, &hi, olo, ohi))
            return false;
        nv = wc_val_range(lo, hi, w);
        if (!cur.top && cur.m > 1 && cur.base == WC_B_NONE) {
            /* keep the stride: round the bounds to the congruence */
            nv.m = cur.m;
            int64_t m = (int64_t)cur.m, rr = (int64_t)cur.r;
            int64_t l2 = lo + (((rr - lo) % m) + m) % m, h2 = hi - (((hi - rr) % m) + m) % m;
            if (l2 > h2)
                return false;
            nv.lo = l2;
            nv.hi = h2;
            nv = norm(nv);
        }
    } else if (cc == WC_CC_B || cc == WC_CC_BE || cc == WC_CC_A || cc == WC_CC_AE) {
        uint64_t ulo, uhi, vlo, vhi;
        if (!wc_val_unsigned(&other, w, &vlo, &vhi))
            return true;
        wc_val_unsigned(&cur, w, &ulo, &uhi);
        if (!refine_unsigned(cc, &ulo, &uhi, vlo, vhi))
            return false;
        if (uhi <= (uint64_t)smax(w))
            nv = wc_val_range((int64_t)ulo, (int64_t)uhi, w);
        else if (ulo > (uint64_t)smax(w) && w < 64)
            nv =
                wc_val_range((int64_t)ulo - ((int64_t)1 << w), (int64_t)uhi - ((int64_t)1 << w), w);
        else if (ulo > (uint64_t)smax(w))
            nv = wc_val_range((int64_t)ulo, (int64_t)uhi, 64);
        else
            return true;
    } else
        return true;
    nv.sym = cur.sym;
    nv.sc = cur.sc;
    nv.symw = cur.symw;
    propagate_sym(st, &cur, &nv);
    if (!op)
        return true;
    /* write back only where the location holds exactly this width */
    if (op->type == WC_OP_REG) {
        if (op->reg < 0 || op->reg >= WC_NREGS || op->high8)
            return true;
        wc_val old = st->reg[op->reg];
        if (w < 32) {
            /* a byte or word compare: the whole register when it holds a small non-negative value
             */
            if (!old.top && old.base == WC_B_NONE && old.lo >= 0 && old.hi <= smax(w) &&
                nv.lo >= 0) {
                int64_t lo2 = nv.lo > old.lo ? nv.lo : old.lo,
                        hi2 = nv.hi < old.hi ? nv.hi : old.hi;
                if (lo2 > hi2)
                    return false;
                wc_val r = old;
                r.lo = lo2;
                r.hi = hi2;
                st->reg[op->reg] = norm(r);
                st->reg[op->reg].sym = old.sym;
                st->reg[op->reg].sc = old.sc;
                st->reg[op->reg].symw = old.symw;
                st->reg[op->reg].zx = old.zx;
            }
            return true;
        }
        if (w == 32) {
            nv.zx = old.top ? false : old.zx;
            if (!old.top && old.w == 64 && old.base == WC_B_NONE) {
                if (old.lo >= 0 && old.hi <= smax(32) && nv.lo >= 0) {
                    nv.w = 64;
                    st->reg[op->reg] = nv;
                }
                return true;
            }
            if (old.top) {
                nv.zx = false;
            }
            nv.w = 32;
            st->reg[op->reg] = nv;
        } else {
            if (!old.top && old.base != WC_B_NONE)
                return true;
            st->reg[op->reg] = nv;
        }
    } else if (op->type == WC_OP_MEM) {
        int64_t off;
        if (wc_op_slot(st, op, &off))
            slot_set(st, off, op->size, nv);
    }
    return true;
}

static bool refine_loc(wc_state *st, const wc_op *op, int w, int cc, wc_val other) {
    return refine_loc2(st, op, wc_read_op(st, op, 0), w, cc, other);
}

/* dst = src refined for the edge from block `from` (taken or fallthrough). */
void wc_value_edge(const wc_state *src, const wc_block *from, int taken, wc_state *dst) {
    *dst = *src;
    if (!src->reached || from->term != WC_T_JCC || !src->fl.valid)
        return;
    const wc_insn *j = from->insns[from->n - 1];
    int cc = j->cc;
    if (cc < 0 || cc > WC_CC_G)
        return;
    if (!taken)
        cc = cc_negate(cc);
    refine_flags(dst, cc, j, from);
}

/* dst refined by the valid flags meeting condition cc (at instruction j, the
 * last of block `from`, or a cmov with `from` NULL); unreached if they cannot. */
static void refine_flags(wc_state *dst, int cc, const wc_insn *j, const wc_block *from) {
    const wc_flags *f = &dst->fl;
    int w = f->w;
    bool ok = true;
    if ((f->kind == 3 || f->kind == 4) &&
        (cc == WC_CC_S || cc == WC_CC_NS || cc == WC_CC_E || cc == WC_CC_NE) &&
        f->a.type != WC_OP_IMM) {
        /* the flags describe the result, which a now holds */
        wc_val res = wc_read_op(dst, &f->a, 0);
        int64_t lo, hi;
        if (cc == WC_CC_S)
            ok = refine_loc(dst, &f->a, w, WC_CC_L, wc_val_const(0, w));
        else if (cc == WC_CC_NS)
            ok = refine_loc(dst, &f->a, w, WC_CC_GE, wc_val_const(0, w));
        else if (cc == WC_CC_E)
            ok = refine_loc(dst, &f->a, w, WC_CC_E, wc_val_const(0, w));
        else if (wc_val_signed(&res, w, &lo, &hi)) {
            if (lo == 0 && hi == 0)
                ok = false;
            else if (lo == 0)
                ok = refine_loc(dst, &f->a, w, WC_CC_GE, wc_val_const(1, w));
            else if (hi == 0)
                ok = refine_loc(dst, &f->a, w, WC_CC_LE, wc_val_const(-1, w));
        }
        if (!ok)
            dst->reached = false;
        return;
    }
    if (f->kind == 1 || f->kind == 4) { /* cmp a, b */
        if (cc == WC_CC_NE) {
            /* a != b with b constant: trim an end of a */
            int64_t blo, bhi, alo, ahi;
            if (wc_val_signed(&f->vb, w, &blo, &bhi) && blo == bhi &&
                wc_val_signed(&f->va, w, &alo, &ahi)) {
                if (alo == ahi && alo == blo)
                    ok = false;
                else if (f->kind == 1 && alo == blo)
                    ok = refine_loc(dst, &f->a, w, WC_CC_GE, wc_val_const(blo + 1, w));
                else if (f->kind == 1 && ahi == blo)
                    ok = refine_loc(dst, &f->a, w, WC_CC_LE, wc_val_const(blo - 1, w));
            }
        } else if (f->kind == 1 || f->b.type == WC_OP_IMM) {
            if (f->kind == 1) {
                ok = refine_loc(dst, &f->a, w, cc, f->vb);
                if (ok && f->b.type != WC_OP_IMM)
                    ok = refine_loc(dst, &f->b, w, cc_swap(cc), f->va);
                if (ok && from != NULL && cc == WC_CC_E && w == 64 && f->a.type == WC_OP_REG &&
                    f->b.type == WC_OP_REG && f->a.reg >= 0 && f->a.reg < WC_NREGS &&
                    f->b.reg >= 0 && f->b.reg < WC_NREGS && f->a.reg != f->b.reg && from->n >= 2 &&
                    from->insns[from->n - 2]->id == X86_INS_CMP) {
                    /* the two registers hold the same number: one symbol for both (a
                     * pointer that has reached its end pointer) */
                    wc_val *ra = &dst->reg[f->a.reg], *rb = &dst->reg[f->b.reg];
                    if (ra->sym && rb->sym && ra->sym != rb->sym && ra->symw == 64 &&
                        rb->symw == 64) {
                        /* keep the symbol more locations share; the other register takes it */
                        int na = 0, nb = 0;
                        for (int r = 0; r < WC_NREGS; r++) {
                            na += dst->reg[r].sym == ra->sym;
                            nb += dst->reg[r].sym == rb->sym;
                        }
                        for (int i = 0; i < dst->nslots; i++) {
                            na += dst->slot[i].v.sym == ra->sym;
                            nb += dst->slot[i].v.sym == rb->sym;
                        }
                        wc_val *to = na > nb ? rb : ra, *from2 = na > nb ? ra : rb;
                        to->sym = from2->sym;
                        to->sc = from2->sc;
                    } else if (ra->sym && rb->sym)
                        ;
                    else if (rb->sym && rb->symw == 64) {
                        ra->sym = rb->sym;
                        ra->sc = rb->sc;
                        ra->symw = 64;
                    } else if (ra->sym && ra->symw == 64) {
                        rb->sym = ra->sym;
                        rb->sc = ra->sc;
                        rb->symw = 64;
                    } else if (!ra->sym && !rb->sym) {
                        int32_t id = (int32_t)(0x20000000u | ((uint32_t)j->addr & 0x1fffffffu));
                        ra->sym = rb->sym = id;
                        ra->sc = rb->sc = 0;
                        ra->symw = rb->symw = 64;
                    }
                    if (ra->top)
                        ra->w = 64;
                    if (rb->top)
                        rb->w = 64;
                }
            } else if (f->b.type == WC_OP_IMM) {
                /* sub a, imm: the flags compare the old a; its value lives on in a's symbol */
                ok = refine_loc2(dst, NULL, f->va, w, cc, f->vb);
            }
        }
    } else if (f->kind == 2) { /* test a, a: compare a with 0 */
        int c2 = cc;
        if (cc == WC_CC_S)
            c2 = WC_CC_L;
        else if (cc == WC_CC_NS)
            c2 = WC_CC_GE;
        if (c2 == WC_CC_NE) {
            int64_t alo, ahi;
            if (wc_val_signed(&f->va, w, &alo, &ahi)) {
                if (alo == 0 && ahi == 0)
                    ok = false;
                else if (alo == 0)
                    ok = refine_loc(dst, &f->a, w, WC_CC_GE, wc_val_const(1, w));
                else if (ahi == 0)
                    ok = refine_loc(dst, &f->a, w, WC_CC_LE, wc_val_const(-1, w));
            }
        } else if (c2 == WC_CC_A)
            ok = refine_loc(dst, &f->a, w, WC_CC_A, wc_val_const(0, w));
        else if (c2 == WC_CC_BE || c2 == WC_CC_E)
            ok = refine_loc(dst, &f->a, w, WC_CC_E, wc_val_const(0, w));
        else if (c2 == WC_CC_L || c2 == WC_CC_LE || c2 == WC_CC_G || c2 == WC_CC_GE)
            ok = refine_loc(dst, &f->a, w, c2, wc_val_const(0, w));
    }
    if (!ok)
        dst->reached = false;
}

/* ---------- join and widen of states ---------- */
static void st_join(wc_state *acc, const wc_state *s, bool widen);
void wc_state_join(wc_state *acc, const wc_state *s) {
    st_join(acc, s, false);
}

static void st_join(wc_state *acc, const wc_state *s, bool widen) {
    if (!s->reached)
        return;
    if (!acc->reached) {
        *acc = *s;
        return;
    }
    for (int r = 0; r < WC_NREGS; r++)
        acc->reg[r] = widen ? vwiden(acc->reg[r], vjoin(acc->reg[r], s->reg[r]))
                            : vjoin(acc->reg[r], s->reg[r]);
    int k = 0;
    for (int i = 0; i < acc->nslots; i++) {
        int j = slot_find(s, acc->slot[i].off, acc->slot[i].size);
        if (j < 0)
            continue;
        wc_val v = widen ? vwiden(acc->slot[i].v, vjoin(acc->slot[i].v, s->slot[j].v))
                         : vjoin(acc->slot[i].v, s->slot[j].v);
        if (v.top && !v.sym)
            continue;
        acc->slot[k] = acc->slot[i];
        acc->slot[k].v = v;
        k++;
    }
    acc->nslots = k;
    if (s->esc_lo < acc->esc_lo)
        acc->esc_lo = s->esc_lo;
    if (!(acc->fl.valid && s->fl.valid && memcmp(&acc->fl.a, &s->fl.a, sizeof acc->fl.a) == 0 &&
          memcmp(&acc->fl.b, &s->fl.b, sizeof acc->fl.b) == 0 && acc->fl.kind == s->fl.kind)) {
        acc->fl.valid = false;
    } else {
        acc->fl.va = vjoin(acc->fl.va, s->fl.va);
        acc->fl.vb = vjoin(acc->fl.vb, s->fl.vb);
        acc->fl.res = vjoin(acc->fl.res, s->fl.res);
    }
}

static bool st_eq(const wc_state *a, const wc_state *b) {
    if (a->reached != b->reached)
        return false;
    if (!a->reached)
        return true;
    for (int r = 0; r < WC_NREGS; r++)
        if (!veq(&a->reg[r], &b->reg[r]))
            return false;
    if (a->nslots != b->nslots || a->esc_lo != b->esc_lo || a->fl.valid != b->fl.valid)
        return false;
    for (int i = 0; i < a->nslots; i++) {
        int j = slot_find(b, a->slot[i].off, a->slot[i].size);
        if (j < 0 || !veq(&a->slot[i].v, &b->slot[j].v))
            return false;
    }
    return true;
}

static void run_block(wc_analyzer *an, const wc_block *b, wc_state *st, int upto) {
    for (int i = 0; i < b->n && i < upto; i++)
        wc_value_step(an, st, b->insns[i]);
}

void wc_value_at(wc_analyzer *an, const wc_cfg *cfg, const wc_vres *r, int b, int i, wc_state *st) {
    *st = r->in[b];
    if (!st->reached)
        return;
    run_block(an, &cfg->blocks[b], st, i);
}

static bool is_header(const wc_cfg *cfg, int b) {
    for (int l = 0; l < cfg->nloops; l++)
        if (cfg->loops[l].header == b)
            return true;
    return false;
}

void wc_value_run(wc_analyzer *an, const wc_cfg *cfg, const wc_vctx *ctx, int start,
                  const wc_state *init, const bool *allowed, int skip_to, const bool *skip_from,
                  wc_vres *out) {
    int n = cfg->nblocks;
    out->nblocks = n;
    out->in = wc_xcalloc((size_t)n, sizeof *out->in);
    out->ok = true;
    int *visits = wc_xcalloc((size_t)n, sizeof *visits);
    bool *hdr = wc_xcalloc((size_t)n, sizeof *hdr);
    for (int b = 0; b < n; b++)
        hdr[b] = is_header(cfg, b) || cfg->irreducible;
    wc_state entry;
    if (start < 0) {
        st_top(&entry);
        for (int r = 0; r < WC_NREGS; r++) {
            if (ctx && !ctx->args[r].top) {
                entry.reg[r] = ctx->args[r];
                entry.reg[r].sym = WC_SYM64(r);
                entry.reg[r].sc = 0;
                entry.reg[r].symw = ctx->args[r].w;
            } else {
                entry.reg[r] = based(WC_B_ARG0 + r, 0, 0);
                entry.reg[r].sym = WC_SYM64(r);
                entry.reg[r].symw = 64;
            }
        }
        entry.reg[WC_RSP] = based(WC_B_SP, 0, 0);
        /* the return address */
        slot_set(&entry, 0, 8, wc_val_top(64));
        start = 0;
    } else
        entry = *init;
    /* blocks in reverse post-order */
    int *order = wc_xcalloc((size_t)n, sizeof *order);
    int no = 0;
    for (int k = 0; k < n; k++)
        for (int b = 0; b < n; b++)
            if (cfg->blocks[b].rpo == k)
                order[no++] = b;
    wc_state *outst = wc_xcalloc((size_t)n, sizeof *outst);
    /* ascending iterations with widening, then two descending passes */
    for (int phase = 0; phase < 3; phase++) {
        bool changed = true;
        int rounds = 0;
        while (changed && rounds < 200) {
            changed = false;
            rounds++;
            for (int k = 0; k < no; k++) {
                int b = order[k];
                if (allowed && !allowed[b])
                    continue;
                wc_state acc;
                memset(&acc, 0, sizeof acc);
                if (b == start)
                    st_join(&acc, &entry, false);
                const wc_block *bb = &cfg->blocks[b];
                for (int p = 0; p < bb->npred; p++) {
                    int q = bb->pred[p];
                    if (allowed && !allowed[q])
                        continue;
                    if (b == skip_to && skip_from && skip_from[q])
                        continue;
                    if (!outst[q].reached)
                        continue;
                    const wc_block *qb = &cfg->blocks[q];
                    wc_state e;
                    int taken = 1;
                    if (qb->term == WC_T_JCC) {
                        const wc_insn *j = qb->insns[qb->n - 1];
                        taken = j->target == bb->start;
                        if (j->target == bb->start && j->addr + j->size == bb->start) {
                            e = outst[q];
                            st_join(&acc, &e, false);
                            continue;
                        }
                    }
                    wc_value_edge(&outst[q], qb, taken, &e);
                    st_join(&acc, &e, false);
                }
                if (!acc.reached)
                    continue;
                wc_state old = out->in[b];
                wc_state nw;
                if (phase == 0) {
                    if (old.reached && hdr[b] && visits[b] >= 2) {
                        nw = old;
                        st_join(&nw, &acc, true);
                    } else if (old.reached) {
                        nw = old;
                        st_join(&nw, &acc, false);
                    } else
                        nw = acc;
                } else
                    nw = acc; /* descending: recompute from the predecessors */
                visits[b]++;
                if (!st_eq(&old, &nw) || !old.reached) {
                    if (phase == 0 || !st_eq(&old, &nw))
                        changed = true;
                    out->in[b] = nw;
                    wc_state s = nw;
                    run_block(an, bb, &s, bb->n);
                    outst[b] = s;
                } else if (!outst[b].reached) {
                    wc_state s = nw;
                    run_block(an, bb, &s, bb->n);
                    outst[b] = s;
                }
            }
            if (phase > 0)
                break; /* one descending pass per phase */
        }
        if (phase == 0 && changed)
            out->ok = false;
    }
    if (getenv("WCET_DEBUG_VALUES") && start == 0) {
        for (int b = 0; b < n; b++) {
            fprintf(stderr, "block 0x%llx:", (unsigned long long)cfg->blocks[b].start);
            for (int i = 0; i < out->in[b].nslots; i++) {
                char vb[96];
                wc_val_str(&out->in[b].slot[i].v, vb, sizeof vb);
                fprintf(stderr, " [%lld]=%s", (long long)out->in[b].slot[i].off, vb);
            }
            for (int r = 0; r < WC_NREGS; r++) {
                char vb[96];
                wc_val_str(&out->in[b].reg[r], vb, sizeof vb);
                if (!out->in[b].reg[r].top || out->in[b].reg[r].sym)
                    fprintf(stderr, " %s=%s{%x%+lld/%d}", wc_reg_name(r, 8), vb,
                            (unsigned)out->in[b].reg[r].sym, (long long)out->in[b].reg[r].sc,
                            out->in[b].reg[r].symw);
            }
            fprintf(stderr, "\n");
        }
    }
    free(order);
    free(outst);
    free(visits);
    free(hdr);
}

void wc_vres_free(wc_vres *r) {
    free(r->in);
    r->in = NULL;
}
