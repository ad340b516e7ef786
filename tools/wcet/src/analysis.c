/*
 * analysis.c - the driver: per function and calling context (the ranges of the
 * argument registers), the CFG, value analysis, loop bounds (automatic, Z3,
 * then flow facts), block costs with callees analysed in the context of each
 * call site, IPET, infeasible-path refinement with Z3, and the stack bound.
 * Results are memoised by (function, context).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wcet_internal.h"

struct keel_wcet {
    wc_image img;
    wc_analyzer an;
};

static const int arg_regs[6] = {WC_RDI, WC_RSI, WC_RDX, WC_RCX, WC_R8, WC_R9};

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---------- an index by entry address ---------- */
static size_t hslot(const wc_analyzer *an, uint64_t key) {
    size_t h = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 20) & (an->hcap - 1);
    while (an->hkeys[h] && an->hkeys[h] != key + 1)
        h = (h + 1) & (an->hcap - 1);
    return h;
}

/* the slot of key, created if missing */
static size_t hget(wc_analyzer *an, uint64_t key) {
    if ((an->hcount + 1) * 2 > an->hcap) {
        size_t oc = an->hcap;
        uint64_t *ok = an->hkeys;
        int *oc1 = an->hcfg, *om = an->hmemo;
        an->hcap = oc ? oc * 2 : 1024;
        an->hkeys = wc_xcalloc(an->hcap, sizeof *an->hkeys);
        an->hcfg = wc_xcalloc(an->hcap, sizeof *an->hcfg);
        an->hmemo = wc_xcalloc(an->hcap, sizeof *an->hmemo);
        for (size_t i = 0; i < oc; i++)
            if (ok[i]) {
                size_t h = hslot(an, ok[i] - 1);
                an->hkeys[h] = ok[i];
                an->hcfg[h] = oc1[i];
                an->hmemo[h] = om[i];
            }
        free(ok);
        free(oc1);
        free(om);
    }
    size_t h = hslot(an, key);
    if (!an->hkeys[h]) {
        an->hkeys[h] = key + 1;
        an->hcfg[h] = -1;
        an->hmemo[h] = -1;
        an->hcount++;
    }
    return h;
}

/* ---------- CFG cache and no-return functions ---------- */
static uint64_t building[256];
static int nbuilding;

wc_cfg *wc_get_cfg(wc_analyzer *an, uint64_t entry) {
    size_t h = hget(an, entry);
    if (an->hcfg[h] >= 0)
        return an->cfgs[an->hcfg[h]];
    for (int i = 0; i < nbuilding; i++)
        if (building[i] == entry)
            return NULL;
    if (nbuilding >= 256)
        return NULL;
    building[nbuilding++] = entry;
    wc_cfg *cfg = wc_xcalloc(1, sizeof *cfg);
    int rc = wc_cfg_build(an, entry, cfg);
    nbuilding--;
    if (rc != 0) {
        wc_cfg_free(cfg);
        free(cfg);
        return NULL;
    }
    WC_GROW(an->cfgs, an->ncfgs, an->capcfgs);
    an->cfgs[an->ncfgs] = cfg;
    an->hcfg[hget(an, entry)] = an->ncfgs++;
    return cfg;
}

bool wc_function_noreturn(wc_analyzer *an, uint64_t entry) {
    if (!wc_image_is_exec(an->img, entry))
        return false;
    const wc_symbol *s = wc_image_symbol_at(an->img, entry);
    if (s && wc_known_noreturn(s->name))
        return true;
    wc_cfg *cfg = wc_get_cfg(an, entry);
    return cfg && cfg->noreturn && cfg->problems.n == 0;
}

const char *wc_block_where(wc_analyzer *an, const wc_block *b, char *buf, size_t n) {
    const char *f;
    int l = wc_image_line(an->img, b->start, &f);
    if (f) {
        const char *base = strrchr(f, '/');
        snprintf(buf, n, "0x%llx (%s:%d)", (unsigned long long)b->start, base ? base + 1 : f, l);
    } else
        snprintf(buf, n, "0x%llx", (unsigned long long)b->start);
    return buf;
}

static bool ctx_eq(const wc_vctx *a, const wc_vctx *b) {
    for (int i = 0; i < 6; i++) {
        const wc_val *x = &a->args[arg_regs[i]], *y = &b->args[arg_regs[i]];
        if (x->top != y->top)
            return false;
        if (!x->top &&
            (x->lo != y->lo || x->hi != y->hi || x->w != y->w || x->m != y->m || x->zx != y->zx))
            return false;
    }
    return true;
}

static bool val_contains(const wc_val *outer, const wc_val *inner) {
    if (outer->top)
        return true;
    if (inner->top || inner->base != outer->base)
        return false;
    int64_t a, b, c, d;
    if (!wc_val_signed(inner, outer->w, &c, &d))
        return false;
    wc_val_signed(outer, outer->w, &a, &b);
    return a <= c && d <= b;
}

static wc_vctx top_ctx(void) {
    wc_vctx c;
    for (int r = 0; r < WC_NREGS; r++)
        c.args[r] = wc_val_top(64);
    return c;
}

static wc_vctx call_ctx(wc_analyzer *an, const wc_cfg *cfg, const wc_vres *vr, int b) {
    wc_vctx c = top_ctx();
    wc_state st;
    wc_value_at(an, cfg, vr, b, cfg->blocks[b].n - 1, &st);
    if (!st.reached)
        return c;
    for (int i = 0; i < 6; i++) {
        wc_val v = st.reg[arg_regs[i]];
        if (!v.top && v.base == WC_B_NONE)
            c.args[arg_regs[i]] = v;
    }
    return c;
}

static void describe_ctx(const wc_vctx *c, char *buf, size_t n) {
    buf[0] = 0;
    for (int i = 0; i < 6; i++) {
        const wc_val *v = &c->args[arg_regs[i]];
        if (v->top)
            continue;
        char vb[96];
        wc_val_str(v, vb, sizeof vb);
        size_t l = strlen(buf);
        snprintf(buf + l, n - l, "%s%s=%s", l ? ", " : "",
                 wc_reg_name(arg_regs[i], v->w == 32 ? 4 : 8), vb);
    }
}

static void set_status(wc_fres *fr, int st) {
    /* error > unknown > unbounded > bounded */
    static const int rank[] = {0, 1, 2, 3};
    if (rank[st] > rank[fr->status])
        fr->status = st;
}

static wc_fact *find_fact(wc_analyzer *an, int kind, const char *func) {
    for (int i = 0; i < an->facts.n; i++)
        if (an->facts.v[i].kind == kind && strcmp(an->facts.v[i].func, func) == 0)
            return &an->facts.v[i];
    return NULL;
}

/* addresses of the instructions that control loop l: its header, its latches
 * and its exit tests (blocks of the loop itself with an edge out of it) */
static int loop_addrs(const wc_cfg *cfg, int l, uint64_t **out) {
    const wc_loop *lp = &cfg->loops[l];
    int n = 0, cap = 0;
    uint64_t *v = NULL;
    for (int k = 0; k < lp->nblocks; k++) {
        int bi = lp->blocks[k];
        const wc_block *b = &cfg->blocks[bi];
        bool control = bi == lp->header;
        for (int q = 0; q < lp->nlatches; q++)
            control |= lp->latches[q] == bi;
        if (b->loop == l)
            for (int q = 0; q < b->nsucc; q++)
                control |= !lp->in[b->succ[q]];
        if (!control)
            continue;
        for (int i = 0; i < b->n; i++) {
            WC_GROW(v, n, cap);
            v[n++] = b->insns[i]->addr;
        }
    }
    *out = v;
    return n;
}

/* WHERE for an `icall` fact on the call or jump ending block b, written into
 * w: its source line, or its address when it has none */
static const char *icall_where(wc_analyzer *an, const wc_block *b, char *w, size_t n) {
    const char *f;
    uint64_t a = b->insns[b->n - 1]->addr;
    int l = wc_image_line(an->img, a, &f);
    if (f && l > 0) {
        const char *base = strrchr(f, '/');
        snprintf(w, n, "%s:%d", base ? base + 1 : f, l);
    } else
        snprintf(w, n, "0x%llx", (unsigned long long)a);
    return w;
}

static int block_addrs(const wc_block *b, uint64_t **out) {
    uint64_t *v = wc_xcalloc((size_t)b->n, sizeof *v);
    for (int i = 0; i < b->n; i++)
        v[i] = b->insns[i]->addr;
    *out = v;
    return b->n;
}

/* ---------- the cost model: executed instructions, as valgrind counts them ---------- */
static bool instruction_cost(const wc_insn *in, const wc_state *before, double *cost, char *why,
                             size_t whylen) {
    *cost = 1;
    if (!in->rep)
        return true;
    /* a rep-prefixed string instruction: once per iteration plus the final test */
    uint64_t lo, hi;
    if (before->reached && wc_val_unsigned(&before->reg[WC_RCX], 64, &lo, &hi) &&
        hi < (1ull << 40)) {
        *cost = (double)hi + 1;
        return true;
    }
    snprintf(why, whylen, "its count (rcx) is not bounded");
    return false;
}

const wc_cost_model wc_cost_instructions = {"instructions", instruction_cost};

/* ---------- stack ---------- */
static void frame_depth(wc_analyzer *an, const wc_cfg *cfg, const wc_vres *vr, wc_fres *fr,
                        uint64_t *frame, bool *bounded, int64_t *depth_at) {
    int64_t maxd = 0;
    *bounded = true;
    for (int b = 0; b < cfg->nblocks; b++) {
        const wc_block *bb = &cfg->blocks[b];
        depth_at[b] = -1;
        wc_state st = vr->in[b];
        if (!st.reached)
            continue;
        for (int i = 0; i < bb->n; i++) {
            const wc_insn *in = bb->insns[i];
            wc_val sp = st.reg[WC_RSP];
            if (sp.top || sp.base != WC_B_SP) {
                if (*bounded) {
                    char w[96];
                    wc_strs_addf(
                        &fr->reasons,
                        "stack: the stack pointer is not a constant offset at %s (alloca or a "
                        "variable-length array; annotate `stack %s %s max BYTES`)",
                        wc_block_where(an, bb, w, sizeof w), cfg->name, w);
                }
                *bounded = false;
                break;
            }
            if (-sp.lo > maxd)
                maxd = -sp.lo;
            if (in->id != 0) {
                for (int k = 0; k < in->nops; k++) {
                    int64_t off;
                    if (in->ops[k].type == WC_OP_MEM && in->id != 0 &&
                        strncmp(in->text, "lea", 3) != 0 && wc_op_slot(&st, &in->ops[k], &off) &&
                        -off > maxd)
                        maxd = -off;
                }
            }
            if (i == bb->n - 1)
                depth_at[b] = -sp.lo;
            wc_value_step(an, &st, in);
        }
    }
    *frame = (uint64_t)maxd;
}

/* The function's own frame (frame_depth), with a `stack` fact for a
 * variable-size one. */
static void own_frame(wc_analyzer *an, const wc_cfg *cfg, const wc_vres *vr, wc_fres *fr,
                      uint64_t *frame, bool *bounded, int64_t *depth_at) {
    frame_depth(an, cfg, vr, fr, frame, bounded, depth_at);
    if (*bounded)
        return;
    wc_fact *sf = NULL;
    for (int i = 0; i < an->facts.n; i++)
        if (an->facts.v[i].kind == WC_F_STACK && strcmp(an->facts.v[i].func, cfg->name) == 0)
            sf = &an->facts.v[i];
    if (sf) {
        sf->used++;
        *frame += sf->value;
        *bounded = true;
        wc_strs_addf(&fr->assumptions, "variable frame size from the flow facts: %s", sf->text);
    }
}

/* The cost of an external function from the --lib shared objects. */
static bool lib_cost(wc_analyzer *an, const char *name, uint64_t *cost, uint64_t *stack,
                     bool *stack_ok, const char **path) {
    char base[128];
    snprintf(base, sizeof base, "%s", name);
    char *at = strchr(base, '@');
    if (at)
        *at = 0;
    for (int i = 0; i < an->opt.nlibs && i < 4; i++) {
        if (!an->libw[i] && !an->libtried[i]) {
            an->libtried[i] = true;
            keel_wcet_options o;
            memset(&o, 0, sizeof o);
            o.no_smt = an->opt.no_smt;
            char err[256];
            an->libw[i] = keel_wcet_open(an->opt.libs[i], &o, err, sizeof err);
            if (!an->libw[i] && an->progress)
                fprintf(an->progress, "keel-wcet: --lib %s: %s\n", an->opt.libs[i], err);
        }
        if (!an->libw[i])
            continue;
        char err[256];
        keel_wcet_result *r = keel_wcet_analyze(an->libw[i], base, err, sizeof err);
        if (!r || keel_wcet_result_status(r) != KEEL_WCET_BOUNDED)
            continue;
        *cost = keel_wcet_result_bound(r);
        *stack_ok = keel_wcet_result_stack(r, stack);
        *path = an->opt.libs[i];
        return true;
    }
    return false;
}

/* ---------- the analysis of one function in one context ---------- */
static void analyze_into(wc_analyzer *an, wc_fres *fr);

static wc_fres *analyze_mode(wc_analyzer *an, uint64_t entry, const wc_vctx *ctx, bool member) {
    size_t h = hget(an, entry);
    for (int i = an->hmemo[h]; i >= 0; i = an->memo[i]->next_same_entry)
        if (an->memo[i]->member == member && ctx_eq(&an->memo[i]->ctx, ctx))
            return an->memo[i];
    wc_fres *fr = wc_xcalloc(1, sizeof *fr);
    fr->addr = entry;
    fr->ctx = *ctx;
    fr->member = member;
    fr->component = -1;
    fr->next_same_entry = an->hmemo[h];
    WC_GROW(an->memo, an->nmemo, an->capmemo);
    an->hmemo[h] = an->nmemo;
    an->memo[an->nmemo++] = fr;
    fr->in_progress = true;
    double t0 = now();
    an->depth++;
    analyze_into(an, fr);
    an->depth--;
    fr->seconds = now() - t0;
    fr->in_progress = false;
    return fr;
}

wc_fres *wc_analyze(wc_analyzer *an, uint64_t entry, const wc_vctx *ctx) {
    return analyze_mode(an, entry, ctx, false);
}

wc_fres *wc_analyze_member(wc_analyzer *an, uint64_t entry) {
    wc_vctx t = top_ctx();
    return analyze_mode(an, entry, &t, true);
}

static void defer_add(wc_fres *fr, int b, uint64_t to) {
    wc_defer *d = &fr->defer[b];
    for (int i = 0; i < d->n; i++)
        if (d->to[i] == to)
            return;
    d->to = wc_xrealloc(d->to, (size_t)d->n + 1, sizeof *d->to);
    d->to[d->n++] = to;
}

/* An indirect call or jump at the end of block b: its targets from an
 * `icall` fact, each analysed in the call site's context (or deferred when it
 * is on the caller's recursion cycle); *cost and *stack the largest. False
 * when there is no fact; the status and reasons of fr follow the targets. */
static bool icall_targets(wc_analyzer *an, wc_fres *fr, const wc_cfg *cfg, const wc_vres *vr, int b,
                          double *cost, uint64_t *stack, bool *stack_ok) {
    const wc_block *bb = &cfg->blocks[b];
    wc_fact *f = wc_icall_fact(an, cfg, bb);
    if (!f)
        return false;
    f->used++;
    char w[96];
    wc_block_where(an, bb, w, sizeof w);
    wc_strs_addf(&fr->assumptions, "targets of the indirect %s at %s from the flow facts: %s",
                 bb->term == WC_T_IJMP ? "jump" : "call", w, f->text);
    *cost = 0;
    *stack = 0;
    *stack_ok = true;
    bool fixed = false;
    for (int t = 0; t < f->ntargets; t++) {
        const wc_symbol *s = wc_image_symbol(an->img, f->targets[t]);
        if (!s || !wc_image_is_exec(an->img, s->addr)) {
            set_status(fr, KEEL_WCET_UNKNOWN);
            *stack_ok = false;
            wc_strs_addf(&fr->reasons, "indirect %s at %s: target %s of %s is not a function of %s",
                         bb->term == WC_T_IJMP ? "jump" : "call", w, f->targets[t], f->text,
                         an->img->path);
            continue;
        }
        if (fr->component >= 0 && wc_call_component(an, s->addr) == fr->component) {
            defer_add(fr, b, s->addr);
            continue;
        }
        wc_vctx cc = call_ctx(an, cfg, vr, b);
        wc_fres *cr = wc_analyze(an, s->addr, &cc);
        if (cr->status != KEEL_WCET_BOUNDED) {
            set_status(fr, cr->status);
            wc_strs_addf(&fr->reasons, "the indirect %s at %s to %s: %s",
                         bb->term == WC_T_IJMP ? "jump" : "call", w, cr->name,
                         keel_wcet_status_name((keel_wcet_status)cr->status));
        } else if ((double)cr->bound > *cost)
            *cost = (double)cr->bound;
        fixed = true;
        wc_strs_merge(&fr->assumptions, &cr->assumptions);
        if (cr->stack_status == KEEL_WCET_BOUNDED) {
            if (cr->stack > *stack)
                *stack = cr->stack;
        } else
            *stack_ok = false;
    }
    if (fr->defer && fr->defer[b].n) {
        fr->defer[b].has_fixed = fixed;
        fr->defer[b].fixed = *cost;
        fr->defer[b].fixed_stack = *stack;
    }
    return true;
}

/* Charges the indirect call or jump ending block b: the largest of its
 * `icall` targets into *cost and *stack (unless they are deferred to the
 * recursion cycle), or, without a fact, unknown with `why` and the fact to
 * write. */
static void charge_indirect(wc_analyzer *an, wc_fres *fr, const wc_cfg *cfg, const wc_vres *vr,
                            int b, double *cost, uint64_t *stack, bool *stack_ok,
                            const char *why) {
    const wc_block *bb = &cfg->blocks[b];
    double ic;
    uint64_t is;
    bool iok;
    if (icall_targets(an, fr, cfg, vr, b, &ic, &is, &iok)) {
        if (!fr->defer || !fr->defer[b].n) {
            *cost += ic;
            *stack = is;
        }
        *stack_ok &= iok;
        return;
    }
    char w[96], iw[96];
    wc_block_where(an, bb, w, sizeof w);
    set_status(fr, KEEL_WCET_UNKNOWN);
    *stack_ok = false;
    wc_strs_addf(&fr->reasons, "indirect %s at %s: %s: `icall %s %s TARGET...`)",
                 bb->term == WC_T_IJMP ? "jump" : "call", w, why, cfg->name,
                 icall_where(an, bb, iw, sizeof iw));
}

static wc_fres *in_progress(wc_analyzer *an, uint64_t entry) {
    for (int i = an->hmemo[hget(an, entry)]; i >= 0; i = an->memo[i]->next_same_entry)
        if (an->memo[i]->in_progress)
            return an->memo[i];
    return NULL;
}

static void analyze_into(wc_analyzer *an, wc_fres *fr) {
    wc_cfg *cfg = wc_get_cfg(an, fr->addr);
    fr->status = KEEL_WCET_BOUNDED;
    if (!cfg) {
        fr->name = wc_fmt("0x%llx", (unsigned long long)fr->addr);
        fr->status = KEEL_WCET_ERROR;
        wc_strs_addf(&fr->reasons, "cannot decode the function at 0x%llx",
                     (unsigned long long)fr->addr);
        fr->stack_status = KEEL_WCET_ERROR;
        return;
    }
    fr->cfg = cfg;
    fr->name = wc_xstrdup(cfg->name);
    fr->component = wc_call_component(an, fr->addr);
    if (fr->component >= 0)
        fr->defer = wc_xcalloc((size_t)cfg->nblocks, sizeof *fr->defer);
    if (an->progress)
        fprintf(an->progress, "keel-wcet: %*sanalysing %s (%d blocks, %d loops)\n",
                2 * (an->depth - 1), "", cfg->name, cfg->nblocks, cfg->nloops);
    for (int i = 0; i < cfg->problems.n; i++) {
        wc_strs_add(&fr->reasons, wc_xstrdup(cfg->problems.v[i]));
        set_status(fr, strstr(cfg->problems.v[i], "decode") ? KEEL_WCET_ERROR : KEEL_WCET_UNKNOWN);
    }
    for (int i = 0; i < cfg->irreducible_where.n; i++) {
        wc_strs_addf(&fr->reasons,
                     "irreducible loop (a cycle entered other than through one header): %s",
                     cfg->irreducible_where.v[i]);
        set_status(fr, KEEL_WCET_UNBOUNDED);
    }
    char cbuf[512];
    describe_ctx(&fr->ctx, cbuf, sizeof cbuf);
    if (*cbuf && an->depth == 1)
        wc_strs_addf(&fr->assumptions, "input ranges (--assume): %s", cbuf);
    wc_vres vr;
    wc_value_run(an, cfg, &fr->ctx, -1, NULL, NULL, -1, NULL, &vr);
    if (!vr.ok) {
        wc_strs_addf(&fr->reasons, "the value analysis did not converge");
        set_status(fr, KEEL_WCET_ERROR);
    }
    int nb = cfg->nblocks;
    fr->lb = wc_xcalloc((size_t)(cfg->nloops ? cfg->nloops : 1), sizeof *fr->lb);
    wc_loop_bounds(an, cfg, &fr->ctx, &vr, fr->lb, fr);
    /* Z3 for loops without an automatic bound, then the flow facts */
    for (int l = 0; l < cfg->nloops; l++) {
        wc_lbound *lb = &fr->lb[l];
        if (!lb->bounded && !an->opt.no_smt) {
            /* what Z3 proves of every path around the loop (rank.c) */
            uint64_t mx;
            char *how = NULL;
            if (wc_rank_loop_bound(an, cfg, &vr, l, &mx, &how)) {
                lb->bounded = true;
                lb->max = mx;
                free(lb->how);
                lb->how = how;
            } else if (how) {
                char *h = wc_fmt("%s; %s", lb->how, how);
                free(lb->how);
                free(how);
                lb->how = h;
            }
        }
        if (!lb->bounded && !an->opt.no_smt) {
            uint64_t mx;
            char *how = NULL;
            if (wc_smt_loop_bound(an, cfg, &vr, l,
                                  an->opt.smt_loop_limit ? an->opt.smt_loop_limit : 256, &mx,
                                  &how)) {
                lb->bounded = true;
                lb->max = mx;
                free(lb->how);
                lb->how = how;
            } else if (how) {
                char *h = wc_fmt("%s; Z3: %s", lb->how, how);
                free(lb->how);
                free(how);
                lb->how = h;
            }
        }
        uint64_t *addrs;
        int na = loop_addrs(cfg, l, &addrs);
        for (int i = 0; i < an->facts.n; i++) {
            wc_fact *f = &an->facts.v[i];
            if (f->kind != WC_F_LOOP || strcmp(f->func, cfg->name) != 0)
                continue;
            if (!wc_fact_matches(an->img, f->where[0], 0, 0, addrs, na))
                continue;
            f->used++;
            if (!lb->bounded || f->value < lb->max) {
                lb->bounded = true;
                lb->max = f->value;
                lb->annotated = true; /* a total from the analysis, if any, still holds */
                char *h = wc_fmt("annotated: %s", f->text);
                free(lb->how);
                lb->how = h;
                wc_strs_addf(&fr->assumptions, "loop bound from the flow facts: %s", f->text);
            } else {
                wc_strs_addf(&fr->notes,
                             "flow fact %s is looser than the automatic bound %llu: not needed",
                             f->text, (unsigned long long)lb->max);
            }
        }
        free(addrs);
        if (!lb->bounded) {
            char w[96], where[32];
            if (lb->line)
                snprintf(where, sizeof where, "%d", lb->line);
            else
                snprintf(where, sizeof where, "0x%llx",
                         (unsigned long long)cfg->blocks[cfg->loops[l].header].start);
            wc_strs_addf(&fr->reasons, "loop at %s: no bound (%s); annotate `loop %s %s max N`",
                         wc_block_where(an, &cfg->blocks[cfg->loops[l].header], w, sizeof w),
                         lb->how, cfg->name, where);
            set_status(fr, KEEL_WCET_UNBOUNDED);
        }
    }
    /* block costs, callees */
    fr->bcost = wc_xcalloc((size_t)nb, sizeof *fr->bcost);
    bool *recursive = wc_xcalloc((size_t)nb, sizeof *recursive);
    bool *forbid = wc_xcalloc((size_t)nb, sizeof *forbid);
    uint64_t *callee_stack = wc_xcalloc((size_t)nb, sizeof *callee_stack);
    bool stack_ok = true, has_rec = false;
    bool need_top_ctx = false;
    for (int b = 0; b < nb; b++) {
        const wc_block *bb = &cfg->blocks[b];
        if (!vr.in[b].reached) {
            forbid[b] = true; /* unreachable in this context */
            continue;
        }
        double c = 0;
        wc_state st = vr.in[b];
        for (int i = 0; i < bb->n; i++) {
            double ic;
            char why[160];
            if (an->cost->insn_cost(bb->insns[i], &st, &ic, why, sizeof why))
                c += ic;
            else {
                char w[96];
                wc_strs_addf(&fr->reasons, "`%s` at 0x%llx in %s: %s", bb->insns[i]->text,
                             (unsigned long long)bb->insns[i]->addr,
                             wc_block_where(an, bb, w, sizeof w), why);
                set_status(fr, KEEL_WCET_UNBOUNDED);
            }
            wc_value_step(an, &st, bb->insns[i]);
        }
        if (bb->term == WC_T_CALL || bb->term == WC_T_TAILCALL || bb->term == WC_T_NORETURN) {
            char w[96];
            wc_block_where(an, bb, w, sizeof w);
            if (bb->term == WC_T_NORETURN) {
                const char *nm = bb->extname;
                const wc_symbol *s = bb->callkind == WC_CALL_INTERNAL
                                         ? wc_image_symbol_at(an->img, bb->callee)
                                         : NULL;
                wc_strs_addf(
                    &fr->assumptions,
                    "the path into no-return function %s (at %s) ends the execution: its own "
                    "instructions are not counted",
                    nm  ? nm
                    : s ? s->name
                        : "?",
                    w);
            } else if (bb->callkind == WC_CALL_INTERNAL && fr->component >= 0 &&
                       wc_call_component(an, bb->callee) == fr->component) {
                defer_add(fr, b, bb->callee); /* costed by the recursion's solve */
            } else if (bb->callkind == WC_CALL_INTERNAL) {
                wc_fres *ip = in_progress(an, bb->callee);
                if (ip && ip->addr == fr->addr) {
                    recursive[b] = true;
                    has_rec = true;
                    wc_vctx cc = call_ctx(an, cfg, &vr, b);
                    for (int i = 0; i < 6; i++)
                        if (!val_contains(&fr->ctx.args[arg_regs[i]], &cc.args[arg_regs[i]]))
                            need_top_ctx = true;
                } else if (ip) {
                    wc_strs_addf(&fr->reasons,
                                 "mutual recursion through %s at %s: not supported (only direct "
                                 "recursion with `recursion F depth N`)",
                                 ip->name ? ip->name : "?", w);
                    set_status(fr, KEEL_WCET_UNBOUNDED);
                    stack_ok = false;
                } else {
                    wc_vctx cc = call_ctx(an, cfg, &vr, b);
                    wc_fres *cr = wc_analyze(an, bb->callee, &cc);
                    if (cr->status != KEEL_WCET_BOUNDED) {
                        set_status(fr, cr->status);
                        wc_strs_addf(&fr->reasons, "the call to %s at %s: %s", cr->name, w,
                                     keel_wcet_status_name((keel_wcet_status)cr->status));
                    } else
                        c += (double)cr->bound;
                    wc_strs_merge(&fr->assumptions, &cr->assumptions);
                    if (cr->stack_status == KEEL_WCET_BOUNDED)
                        callee_stack[b] = cr->stack;
                    else
                        stack_ok = false;
                }
            } else if (bb->callkind == WC_CALL_EXTERNAL) {
                wc_fact *f = find_fact(an, WC_F_EXTERN, bb->extname);
                if (!f) {
                    char base[128];
                    snprintf(base, sizeof base, "%s", bb->extname);
                    char *at = strchr(base, '@');
                    if (at)
                        *at = 0;
                    f = find_fact(an, WC_F_EXTERN, base);
                }
                uint64_t lcost = 0, lstack = 0;
                const char *lpath = NULL;
                bool lstack_ok = false;
                if (!f && lib_cost(an, bb->extname, &lcost, &lstack, &lstack_ok, &lpath)) {
                    /* the PLT stub's own instructions (endbr64, jmp [GOT]) */
                    int stub = 0;
                    for (uint64_t a = bb->callee;
                         stub < 4 && bb->callkind == WC_CALL_EXTERNAL && a;) {
                        const wc_insn *si = wc_decode(&an->dec, a);
                        if (!si)
                            break;
                        stub++;
                        if (si->kind != WC_I_NORMAL)
                            break;
                        a += si->size;
                    }
                    c += (double)lcost + stub;
                    wc_strs_addf(&fr->assumptions,
                                 "cost of external %s from the analysis of %s: %llu instructions",
                                 bb->extname, lpath, (unsigned long long)lcost);
                    if (lstack_ok)
                        callee_stack[b] = lstack;
                    else {
                        stack_ok = false;
                        wc_strs_addf(&fr->reasons, "stack: %s in %s has no stack bound",
                                     bb->extname, lpath);
                    }
                } else if (f) {
                    f->used++;
                    c += (double)f->value;
                    wc_strs_addf(&fr->assumptions, "cost of external %s from the flow facts: %s",
                                 bb->extname, f->text);
                    if (f->has_stack)
                        callee_stack[b] = f->stack;
                    else {
                        stack_ok = false;
                        wc_strs_addf(&fr->reasons,
                                     "stack: external %s has no stack bound (add `stack B` to its "
                                     "extern fact)",
                                     bb->extname);
                    }
                } else {
                    set_status(fr, KEEL_WCET_UNKNOWN);
                    stack_ok = false;
                    wc_strs_addf(
                        &fr->reasons,
                        "call to external function %s through the PLT at %s: its cost is unknown "
                        "(give `extern %s cost N` in a flow-facts file, or the library with --lib)",
                        bb->extname, w, bb->extname);
                }
            } else {
                charge_indirect(an, fr, cfg, &vr, b, &c, &callee_stack[b], &stack_ok,
                                "the target is unknown (name the functions it may call");
            }
        }
        if (bb->term == WC_T_IJMP) {
            charge_indirect(an, fr, cfg, &vr, b, &c, &callee_stack[b], &stack_ok,
                            "not a recognised switch table (if it is a call through a pointer, "
                            "name its targets");
        }
        fr->bcost[b] = c;
    }
    if (has_rec && need_top_ctx) {
        /* the recursive calls leave the stated ranges: analyse without them */
        bool any = false;
        for (int i = 0; i < 6; i++)
            any |= !fr->ctx.args[arg_regs[i]].top;
        if (any) {
            wc_vctx t = top_ctx();
            fr->in_progress = false;
            wc_fres *tr = wc_analyze(an, fr->addr, &t);
            fr->status = tr->status;
            fr->bound = tr->bound;
            fr->stack = tr->stack;
            fr->stack_status = tr->stack_status;
            fr->frame = tr->frame;
            wc_strs_merge(&fr->reasons, &tr->reasons);
            wc_strs_merge(&fr->assumptions, &tr->assumptions);
            wc_strs_merge(&fr->notes, &tr->notes);
            wc_strs_addf(&fr->notes,
                         "recursive calls leave the input ranges: analysed without them");
            fr->counts = tr->counts ? wc_xcalloc((size_t)nb, sizeof *fr->counts) : NULL;
            if (tr->counts)
                memcpy(fr->counts, tr->counts, sizeof *fr->counts * (size_t)nb);
            memcpy(fr->bcost, tr->bcost, sizeof *fr->bcost * (size_t)nb);
            for (int l = 0; l < cfg->nloops; l++)
                free(fr->lb[l].how);
            free(fr->lb);
            fr->lb = wc_xcalloc((size_t)(cfg->nloops ? cfg->nloops : 1), sizeof *fr->lb);
            for (int l = 0; l < cfg->nloops; l++) {
                fr->lb[l] = tr->lb[l];
                fr->lb[l].how = wc_xstrdup(tr->lb[l].how);
            }
            free(recursive);
            free(forbid);
            free(callee_stack);
            wc_vres_free(&vr);
            return;
        }
    }
    wc_fact *recf = NULL;
    if (has_rec) {
        recf = find_fact(an, WC_F_RECURSION, cfg->name);
        if (!recf) {
            wc_strs_addf(&fr->reasons, "%s calls itself: annotate `recursion %s depth N`",
                         cfg->name, cfg->name);
            set_status(fr, KEEL_WCET_UNBOUNDED);
        } else {
            recf->used++;
            wc_strs_addf(&fr->assumptions, "recursion depth from the flow facts: %s", recf->text);
        }
    }
    /* mutually exclusive blocks */
    int(*excl)[2] = NULL;
    int nexcl = 0, capexcl = 0;
    for (int i = 0; i < an->facts.n; i++) {
        wc_fact *f = &an->facts.v[i];
        if (f->kind != WC_F_EXCLUSIVE || strcmp(f->func, cfg->name) != 0)
            continue;
        int found[2] = {-1, -1};
        for (int w = 0; w < 2; w++)
            for (int b = 0; b < nb && found[w] < 0; b++) {
                uint64_t *a;
                int na = block_addrs(&cfg->blocks[b], &a);
                if (wc_fact_matches(an->img, f->where[w], 0, 0, a, na))
                    found[w] = b;
                free(a);
            }
        if (found[0] < 0 || found[1] < 0)
            continue;
        /* every block of each line */
        for (int b1 = 0; b1 < nb; b1++) {
            uint64_t *a1;
            int n1 = block_addrs(&cfg->blocks[b1], &a1);
            bool m1 = wc_fact_matches(an->img, f->where[0], 0, 0, a1, n1);
            free(a1);
            if (!m1)
                continue;
            for (int b2 = 0; b2 < nb; b2++) {
                uint64_t *a2;
                int n2 = block_addrs(&cfg->blocks[b2], &a2);
                bool m2 = wc_fact_matches(an->img, f->where[1], 0, 0, a2, n2);
                free(a2);
                if (!m2 || b1 == b2)
                    continue;
                if (nexcl >= capexcl) {
                    capexcl = capexcl ? capexcl * 2 : 8;
                    excl = wc_xrealloc(excl, (size_t)capexcl, sizeof *excl);
                }
                excl[nexcl][0] = b1;
                excl[nexcl][1] = b2;
                nexcl++;
            }
        }
        f->used++;
        wc_strs_addf(&fr->assumptions, "mutually exclusive blocks from the flow facts: %s",
                     f->text);
    }
    if (fr->component >= 0) {
        /* on a recursion cycle through other functions: its own costs now, its
         * calls into the cycle by the recursion's solve (recursion.c) */
        int64_t *depth_at = wc_xcalloc((size_t)nb, sizeof *depth_at);
        bool fbounded;
        uint64_t frame;
        own_frame(an, cfg, &vr, fr, &frame, &fbounded, depth_at);
        fr->frame = frame;
        fr->frame_ok = fbounded;
        fr->callees_stack_ok = stack_ok;
        fr->forbid = forbid;
        fr->excl = excl;
        fr->nexcl = nexcl;
        fr->depth_at = depth_at;
        fr->callee_stack = callee_stack;
        fr->stack_status = KEEL_WCET_UNKNOWN; /* until the solve */
        free(recursive);
        wc_vres_free(&vr);
        if (!fr->member)
            wc_recursion_solve(an, fr);
        return;
    }
    /* IPET (with recursion: depth iterations) */
    if (fr->status == KEEL_WCET_BOUNDED) {
        double *cost = wc_xcalloc((size_t)nb, sizeof *cost);
        uint64_t depth = recf ? recf->value : 1;
        double prev = 0;
        wc_ipet_out out;
        memset(&out, 0, sizeof out);
        wc_ipet_extra *extra = NULL;
        int nextra = 0;
        for (uint64_t d = 1; d <= depth; d++) {
            for (int b = 0; b < nb; b++)
                cost[b] = fr->bcost[b] + (recursive[b] ? prev : 0);
            bool *fb = wc_xcalloc((size_t)nb, sizeof *fb);
            for (int b = 0; b < nb; b++)
                fb[b] = forbid[b] || (recursive[b] && d == 1);
            wc_ipet_in in = {cfg, cost, fr->lb, extra, nextra, (const int(*)[2])excl, nexcl, fb};
            wc_ipet_free(&out);
            wc_ipet_solve(&in, &out);
            free(fb);
            if (!out.ok)
                break;
            prev = out.value;
            if (d == depth && !an->opt.no_smt && !has_rec && !getenv("WCET_NO_INFEASIBLE")) {
                /* infeasible paths: exclude contradicting branch combinations, solve again */
                int rounds = an->opt.infeasible_rounds ? an->opt.infeasible_rounds : 16;
                double first = out.value;
                for (int r = 0; r < rounds; r++) {
                    /* the worst-case path's blocks outside loops, in order */
                    int *path = wc_xcalloc((size_t)nb, sizeof *path);
                    int np = 0, cur = 0;
                    bool *seen = wc_xcalloc((size_t)nb, sizeof *seen);
                    while (cur >= 0 && np < nb && !seen[cur] && cfg->blocks[cur].loop < 0 &&
                           out.count[cur] > 0.5) {
                        seen[cur] = true;
                        path[np++] = cur;
                        int nxt = -1;
                        for (int k = 0; k < cfg->blocks[cur].nsucc; k++)
                            if (out.ecount[out.eoff[cur] + k] > 0.5)
                                nxt = cfg->blocks[cur].succ[k];
                        cur = nxt;
                    }
                    free(seen);
                    int feas = np >= 2 ? wc_smt_path_feasible(an, cfg, &vr, path, np) : 1;
                    if (feas != 0) {
                        free(path);
                        break;
                    }
                    /* exclude this combination of conditional edges */
                    wc_ipet_extra e;
                    memset(&e, 0, sizeof e);
                    for (int k = 0; k + 1 < np && e.nedges < 16; k++)
                        if (cfg->blocks[path[k]].term == WC_T_JCC ||
                            cfg->blocks[path[k]].term == WC_T_SWITCH) {
                            e.from[e.nedges] = path[k];
                            e.to[e.nedges] = path[k + 1];
                            e.nedges++;
                        }
                    free(path);
                    if (e.nedges == 0 || e.nedges == 16)
                        break;
                    e.rhs = e.nedges - 1;
                    extra = wc_xrealloc(extra, (size_t)nextra + 1, sizeof *extra);
                    extra[nextra++] = e;
                    {
                        char desc[512] = "";
                        for (int k = 0; k < e.nedges; k++) {
                            char a1[96], a2[96];
                            size_t l = strlen(desc);
                            snprintf(desc + l, sizeof desc - l, "%s%s -> %s", k ? ", " : "",
                                     wc_block_where(an, &cfg->blocks[e.from[k]], a1, sizeof a1),
                                     wc_block_where(an, &cfg->blocks[e.to[k]], a2, sizeof a2));
                        }
                        wc_strs_addf(&fr->notes,
                                     "infeasible: Z3 shows that these branch edges cannot all be "
                                     "taken in one execution: %s",
                                     desc);
                    }
                    bool *fb2 = wc_xcalloc((size_t)nb, sizeof *fb2);
                    for (int b = 0; b < nb; b++)
                        fb2[b] = forbid[b];
                    wc_ipet_in in2 = {cfg,   cost, fr->lb, extra, nextra, (const int(*)[2])excl,
                                      nexcl, fb2};
                    wc_ipet_out o2;
                    wc_ipet_solve(&in2, &o2);
                    free(fb2);
                    if (!o2.ok) {
                        wc_ipet_free(&o2);
                        break;
                    }
                    wc_ipet_free(&out);
                    out = o2;
                    fr->infeasible_excluded++;
                }
                if (fr->infeasible_excluded) {
                    fr->infeasible_drop = (uint64_t)(first - out.value + 0.5);
                    wc_strs_addf(
                        &fr->notes,
                        "infeasible paths: Z3 refuted %d worst-case path%s (contradicting branch "
                        "conditions); the bound dropped by %llu",
                        fr->infeasible_excluded, fr->infeasible_excluded == 1 ? "" : "s",
                        (unsigned long long)fr->infeasible_drop);
                }
            }
        }
        if (out.ok) {
            fr->bound = (uint64_t)(out.value + 0.5);
            fr->counts = wc_xcalloc((size_t)nb, sizeof *fr->counts);
            memcpy(fr->counts, out.count, sizeof *fr->counts * (size_t)nb);
        } else {
            set_status(fr, KEEL_WCET_ERROR);
            wc_strs_addf(&fr->reasons, "IPET: %s", out.why ? out.why : "failed");
        }
        wc_ipet_free(&out);
        free(extra);
        free(cost);
    }
    /* stack */
    int64_t *depth_at = wc_xcalloc((size_t)nb, sizeof *depth_at);
    bool fbounded;
    uint64_t frame;
    own_frame(an, cfg, &vr, fr, &frame, &fbounded, depth_at);
    fr->frame = frame;
    if (!fbounded || !stack_ok || (has_rec && !recf)) {
        fr->stack_status =
            !fbounded || (has_rec && !recf) ? KEEL_WCET_UNBOUNDED : KEEL_WCET_UNKNOWN;
    } else {
        uint64_t levels = recf ? recf->value : 1, prevs = 0, s = 0;
        for (uint64_t d = 1; d <= levels; d++) {
            s = 8 + frame;
            for (int b = 0; b < nb; b++) {
                const wc_block *bb = &cfg->blocks[b];
                if (depth_at[b] < 0 || forbid[b])
                    continue;
                uint64_t cs = recursive[b] ? (d > 1 ? prevs : 0) : callee_stack[b];
                uint64_t need;
                if (bb->term == WC_T_TAILCALL || bb->term == WC_T_IJMP)
                    need = (uint64_t)depth_at[b] + cs; /* (IJMP: an `icall` fact's target) */
                else if (bb->term == WC_T_CALL || bb->term == WC_T_NORETURN)
                    need = 8 + (uint64_t)depth_at[b] + cs;
                else
                    continue;
                if (need > s)
                    s = need;
            }
            prevs = s;
        }
        fr->stack = s;
        fr->stack_status = KEEL_WCET_BOUNDED;
    }
    free(depth_at);
    free(recursive);
    free(forbid);
    free(callee_stack);
    free(excl);
    wc_vres_free(&vr);
}

/* ---------- public API ---------- */
const char *keel_wcet_status_name(keel_wcet_status s) {
    switch (s) {
    case KEEL_WCET_BOUNDED:
        return "bounded";
    case KEEL_WCET_UNBOUNDED:
        return "unbounded";
    case KEEL_WCET_UNKNOWN:
        return "unknown";
    default:
        return "error";
    }
}

static keel_wcet *open_common(keel_wcet *w, const keel_wcet_options *options, char *err,
                              size_t errlen) {
    if (options)
        w->an.opt = *options;
    w->an.img = &w->img;
    w->an.cost = &wc_cost_instructions;
    w->an.progress = w->an.opt.progress;
    if (wc_decoder_init(&w->an.dec, &w->img, err, errlen) != 0) {
        keel_wcet_close(w);
        return NULL;
    }
    if (w->an.opt.facts_path &&
        wc_facts_load(&w->an.facts, w->an.opt.facts_path, err, errlen) != 0) {
        keel_wcet_close(w);
        return NULL;
    }
    if (w->an.opt.optional_facts_path) {
        wc_facts extra;
        if (wc_facts_load(&extra, w->an.opt.optional_facts_path, err, errlen) != 0) {
            keel_wcet_close(w);
            return NULL;
        }
        for (int i = 0; i < extra.n; i++) {
            extra.v[i].optional = true;
            WC_GROW(w->an.facts.v, w->an.facts.n, w->an.facts.cap);
            w->an.facts.v[w->an.facts.n++] = extra.v[i];
        }
        free(extra.v);
        free(extra.path);
    }
    return w;
}

keel_wcet *keel_wcet_open(const char *path, const keel_wcet_options *options, char *err,
                          size_t errlen) {
    keel_wcet *w = wc_xcalloc(1, sizeof *w);
    if (wc_image_open(&w->img, path, err, errlen) != 0) {
        keel_wcet_close(w);
        return NULL;
    }
    return open_common(w, options, err, errlen);
}

keel_wcet *keel_wcet_open_mem(const void *data, size_t size, const keel_wcet_options *options,
                              char *err, size_t errlen) {
    keel_wcet *w = wc_xcalloc(1, sizeof *w);
    if (wc_image_open_mem(&w->img, data, size, err, errlen) != 0) {
        keel_wcet_close(w);
        return NULL;
    }
    return open_common(w, options, err, errlen);
}

void wc_smt_free(wc_analyzer *an);

void keel_wcet_close(keel_wcet *w) {
    if (!w)
        return;
    wc_analyzer *an = &w->an;
    for (int i = 0; i < an->nmemo; i++) {
        wc_fres *fr = an->memo[i];
        free(fr->name);
        wc_strs_free(&fr->reasons);
        wc_strs_free(&fr->assumptions);
        wc_strs_free(&fr->notes);
        if (fr->lb && fr->cfg)
            for (int l = 0; l < fr->cfg->nloops; l++)
                free(fr->lb[l].how);
        free(fr->lb);
        free(fr->counts);
        free(fr->bcost);
        for (int b = 0; fr->defer && b < fr->cfg->nblocks; b++)
            free(fr->defer[b].to);
        free(fr->defer);
        free(fr->forbid);
        free(fr->excl);
        free(fr->depth_at);
        free(fr->callee_stack);
        free(fr);
    }
    free(an->memo);
    for (int i = 0; i < an->ncfgs; i++) {
        wc_cfg_free(an->cfgs[i]);
        free(an->cfgs[i]);
    }
    free(an->cfgs);
    free(an->hkeys);
    free(an->hcfg);
    free(an->hmemo);
    for (int i = 0; i < 4; i++)
        keel_wcet_close(an->libw[i]);
    wc_smt_free(an);
    wc_recursion_free(an);
    if (an->dec.cs)
        wc_decoder_free(&an->dec);
    wc_facts_free(&an->facts);
    wc_image_close(&w->img);
    free(w);
}

static bool parse_assume_reg(keel_wcet *w, uint64_t entry, const char *name, int *reg, int *width,
                             char *err, size_t errlen) {
    int r = wc_reg_parse(name);
    if (r >= 0) {
        *reg = r;
        *width = name[0] == 'e' || (name[0] == 'r' && name[strlen(name) - 1] == 'd') ? 32 : 64;
        return true;
    }
    if (strncmp(name, "arg", 3) == 0 && name[3] >= '0' && name[3] <= '5' && !name[4]) {
        *reg = arg_regs[name[3] - '0'];
        *width = 64;
        return true;
    }
    char names[16][64];
    bool isf[16];
    int sizes[16];
    int n = wc_image_params(&w->img, entry, names, isf, sizes, 16);
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (isf[i])
            continue;
        if (strcmp(names[i], name) == 0) {
            if (k >= 6)
                break;
            *reg = arg_regs[k];
            *width = sizes[i] <= 4 ? 32 : 64;
            return true;
        }
        k++;
    }
    snprintf(
        err, errlen,
        "--assume %s: no such parameter (give a parameter name from the debug information, argN, "
        "or a register such as rdi or edi)",
        name);
    return false;
}

keel_wcet_result *keel_wcet_analyze(keel_wcet *w, const char *function, char *err, size_t errlen) {
    uint64_t entry = 0;
    if (strncmp(function, "0x", 2) == 0) {
        char *end;
        entry = strtoull(function, &end, 16);
        if (*end || !wc_image_is_exec(&w->img, entry)) {
            snprintf(err, errlen, "%s: not an address of executable code in %s", function,
                     w->img.path);
            return NULL;
        }
    } else {
        const wc_symbol *s = wc_image_symbol(&w->img, function);
        if (!s) {
            if (w->img.nsyms == 0)
                snprintf(err, errlen,
                         "%s: the binary %s is stripped (no symbols): give the function's address "
                         "(0x...)",
                         function, w->img.path);
            else
                snprintf(err, errlen, "%s: no such function in %s", function, w->img.path);
            return NULL;
        }
        entry = s->addr;
    }
    wc_vctx ctx = top_ctx();
    for (int i = 0; i < w->an.opt.nassume; i++) {
        const keel_wcet_assume *a = &w->an.opt.assume[i];
        int reg, width;
        if (!parse_assume_reg(w, entry, a->name, &reg, &width, err, errlen)) {
            if (w->an.opt.assume_lenient)
                continue;
            return NULL;
        }
        w->an.assume_used[i]++;
        if (a->lo > a->hi) {
            snprintf(err, errlen, "--assume %s: empty range", a->name);
            return NULL;
        }
        wc_val v = wc_val_range(a->lo, a->hi, width);
        if (width == 32 && (a->lo < INT32_MIN || a->hi > (int64_t)UINT32_MAX)) {
            snprintf(err, errlen, "--assume %s: the range does not fit a 32-bit parameter",
                     a->name);
            return NULL;
        }
        if (width == 32 && a->hi > INT32_MAX)
            v = wc_val_range(a->lo - ((int64_t)1 << 32), a->hi - ((int64_t)1 << 32), 32);
        v.zx = false;
        ctx.args[reg] = v;
    }
    if (!wc_get_cfg(&w->an, entry)) {
        snprintf(err, errlen, "%s: cannot decode the function at 0x%llx", function,
                 (unsigned long long)entry);
        return NULL;
    }
    return wc_analyze(&w->an, entry, &ctx);
}

int keel_wcet_analyze_all(keel_wcet *w, void (*each)(keel_wcet *, keel_wcet_result *, void *),
                          void *arg) {
    int n = 0;
    for (int i = 0; i < w->img.nsyms; i++) {
        const wc_symbol *s = &w->img.syms[i];
        if (!wc_image_is_exec(&w->img, s->addr))
            continue;
        wc_vctx ctx = top_ctx();
        wc_fres *r = wc_analyze(&w->an, s->addr, &ctx);
        if (each)
            each(w, r, arg);
        n++;
    }
    return n;
}

int keel_wcet_unused_assumptions(keel_wcet *w, FILE *out) {
    int n = 0;
    for (int i = 0; i < w->an.opt.nassume; i++)
        if (!w->an.assume_used[i]) {
            if (out)
                fprintf(out,
                        "keel-wcet: error: --assume %s matches no parameter of the analysed "
                        "functions\n",
                        w->an.opt.assume[i].name);
            n++;
        }
    return n;
}

int keel_wcet_unused_facts(keel_wcet *w, FILE *out) {
    int n = 0;
    for (int i = 0; i < w->an.facts.n; i++)
        if (!w->an.facts.v[i].used && !w->an.facts.v[i].optional) {
            if (out)
                fprintf(out, "keel-wcet: error: flow fact matches nothing: %s\n",
                        w->an.facts.v[i].text);
            n++;
        }
    return n;
}

keel_wcet_status keel_wcet_result_status(const keel_wcet_result *r) {
    return (keel_wcet_status)r->status;
}
const char *keel_wcet_result_name(const keel_wcet_result *r) {
    return r->name;
}
uint64_t keel_wcet_result_bound(const keel_wcet_result *r) {
    return r->bound;
}
bool keel_wcet_result_stack(const keel_wcet_result *r, uint64_t *stack) {
    *stack = r->stack;
    return r->stack_status == KEEL_WCET_BOUNDED;
}

wc_image *wc_keel_image(keel_wcet *w);
wc_image *wc_keel_image(keel_wcet *w) {
    return &w->img;
}
wc_analyzer *wc_keel_analyzer(keel_wcet *w);
wc_analyzer *wc_keel_analyzer(keel_wcet *w) {
    return &w->an;
}
