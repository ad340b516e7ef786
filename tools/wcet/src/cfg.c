/*
 * cfg.c - a function's control-flow graph: every instruction reachable from
 * its entry, split into basic blocks. Calls end blocks (their cost is the
 * callee's); jumps to another function's entry are tail calls; calls to
 * functions that never return end their block with no successor; indirect
 * jumps are resolved as switch tables from the value analysis (rebuilding the
 * graph until no new target appears).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wcet_internal.h"

static const char *const noreturn_names[] = {"abort",
                                             "exit",
                                             "_exit",
                                             "_Exit",
                                             "quick_exit",
                                             "__stack_chk_fail",
                                             "__assert_fail",
                                             "__assert_perror_fail",
                                             "__assert",
                                             "longjmp",
                                             "_longjmp",
                                             "siglongjmp",
                                             "__longjmp_chk",
                                             "__fortify_fail",
                                             "__chk_fail",
                                             "pthread_exit",
                                             "err",
                                             "errx",
                                             "verr",
                                             "verrx",
                                             "__cxa_throw",
                                             "__cxa_rethrow",
                                             "_Unwind_Resume",
                                             "__libc_fatal",
                                             "thrd_exit",
                                             NULL};

bool wc_known_noreturn(const char *name) {
    if (!name)
        return false;
    char base[128];
    snprintf(base, sizeof base, "%s", name);
    char *at = strchr(base, '@');
    if (at)
        *at = 0;
    for (int i = 0; noreturn_names[i]; i++)
        if (strcmp(base, noreturn_names[i]) == 0)
            return true;
    return false;
}

/* simple sorted-vector address sets */
typedef struct aset {
    uint64_t *v;
    int n, cap;
    bool sorted;
} aset;

static void aset_add(aset *s, uint64_t a) {
    WC_GROW(s->v, s->n, s->cap);
    s->v[s->n++] = a;
    s->sorted = false;
}

static int u64cmp(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void aset_sort(aset *s) {
    if (s->sorted || s->n == 0) {
        s->sorted = true;
        return;
    }
    qsort(s->v, (size_t)s->n, sizeof *s->v, u64cmp);
    int k = 0;
    for (int i = 0; i < s->n; i++)
        if (!k || s->v[k - 1] != s->v[i])
            s->v[k++] = s->v[i];
    s->n = k;
    s->sorted = true;
}

static bool aset_has(aset *s, uint64_t a) {
    aset_sort(s);
    int lo = 0, hi = s->n - 1;
    while (lo <= hi) {
        int m = (lo + hi) / 2;
        if (s->v[m] == a)
            return true;
        if (s->v[m] < a)
            lo = m + 1;
        else
            hi = m - 1;
    }
    return false;
}

/* Is a jump to t a tail call (t is another function's entry, not a .cold part)? */
static bool is_other_function(wc_analyzer *an, const wc_cfg *cfg, uint64_t t) {
    if (t == cfg->entry)
        return false;
    if (wc_image_plt_name(an->img, t))
        return true;
    const wc_symbol *s = wc_image_symbol_at(an->img, t);
    if (!s)
        return false;
    if (strstr(s->name, ".cold"))
        return false;
    return true;
}

static bool call_noreturn(wc_analyzer *an, const wc_insn *in, const char **ext) {
    *ext = NULL;
    if (in->kind == WC_I_CALL) {
        const char *pn = wc_image_plt_name(an->img, in->target);
        if (pn) {
            *ext = pn;
            return wc_known_noreturn(pn);
        }
        const wc_symbol *s = wc_image_symbol_at(an->img, in->target);
        if (s && wc_known_noreturn(s->name))
            return true;
        return wc_function_noreturn(an, in->target);
    }
    if (in->kind == WC_I_ICALL && in->nops == 1 && in->ops[0].type == WC_OP_MEM &&
        in->ops[0].base == WC_RIP && in->ops[0].index == WC_R_NONE) {
        const char *gn =
            wc_image_got_name(an->img, in->addr + in->size + (uint64_t)in->ops[0].disp);
        if (gn) {
            *ext = gn;
            return wc_known_noreturn(gn);
        }
    }
    return false;
}

static const uint64_t *switch_targets(const wc_cfg *cfg, uint64_t addr, int *n) {
    for (int i = 0; i < cfg->nswitch; i++)
        if (cfg->switch_resolved[i] == addr) {
            *n = cfg->switch_ntargets[i];
            return cfg->switch_targets[i];
        }
    *n = -1;
    return NULL;
}

static int add_block(wc_cfg *cfg, uint64_t start) {
    WC_GROW(cfg->blocks, cfg->nblocks, cfg->capblocks);
    wc_block *b = &cfg->blocks[cfg->nblocks];
    memset(b, 0, sizeof *b);
    b->start = start;
    b->loop = -1;
    b->idom = -1;
    return cfg->nblocks++;
}

int wc_cfg_block_of(const wc_cfg *cfg, uint64_t addr) {
    int lo = 0, hi = cfg->nblocks - 1;
    while (lo <= hi) {
        int m = (lo + hi) / 2;
        if (addr < cfg->blocks[m].start)
            hi = m - 1;
        else if (addr >= cfg->blocks[m].end)
            lo = m + 1;
        else
            return m;
    }
    return -1;
}

static void add_edge(wc_cfg *cfg, int from, int to) {
    wc_block *a = &cfg->blocks[from];
    for (int i = 0; i < a->nsucc; i++)
        if (a->succ[i] == to)
            return;
    WC_GROW(a->succ, a->nsucc, a->capsucc);
    a->succ[a->nsucc++] = to;
    wc_block *b = &cfg->blocks[to];
    WC_GROW(b->pred, b->npred, b->cappred);
    b->pred[b->npred++] = from;
}

static void free_blocks(wc_cfg *cfg) {
    for (int i = 0; i < cfg->nblocks; i++) {
        free(cfg->blocks[i].insns);
        free(cfg->blocks[i].succ);
        free(cfg->blocks[i].pred);
    }
    free(cfg->blocks);
    cfg->blocks = NULL;
    cfg->nblocks = cfg->capblocks = 0;
    for (int i = 0; i < cfg->nloops; i++) {
        free(cfg->loops[i].in);
        free(cfg->loops[i].blocks);
        free(cfg->loops[i].latches);
    }
    free(cfg->loops);
    cfg->loops = NULL;
    cfg->nloops = 0;
    wc_strs_free(&cfg->problems);
    wc_strs_free(&cfg->irreducible_where);
    cfg->irreducible = false;
}

/* One construction from the entry with the switch tables known so far. */
static void explore(wc_analyzer *an, wc_cfg *cfg) {
    aset seen = {0}, leaders = {0};
    uint64_t *work = NULL;
    int nwork = 0, capwork = 0;
    WC_GROW(work, nwork, capwork);
    work[nwork++] = cfg->entry;
    aset_add(&leaders, cfg->entry);
    while (nwork) {
        uint64_t a = work[--nwork];
        for (;;) {
            if (aset_has(&seen, a))
                break;
            const wc_insn *in = wc_decode(&an->dec, a);
            if (!in) {
                wc_strs_addf(&cfg->problems, "cannot decode an instruction at 0x%llx",
                             (unsigned long long)a);
                break;
            }
            aset_add(&seen, a);
            uint64_t next = a + in->size;
            bool stop = true;
            const char *ext;
            int nt;
            const uint64_t *tg;
            switch (in->kind) {
            case WC_I_JMP:
                if (!is_other_function(an, cfg, in->target)) {
                    aset_add(&leaders, in->target);
                    WC_GROW(work, nwork, capwork);
                    work[nwork++] = in->target;
                }
                break;
            case WC_I_JCC:
                aset_add(&leaders, in->target);
                aset_add(&leaders, next);
                WC_GROW(work, nwork, capwork);
                work[nwork++] = in->target;
                WC_GROW(work, nwork, capwork);
                work[nwork++] = next;
                break;
            case WC_I_CALL:
            case WC_I_ICALL:
                if (!call_noreturn(an, in, &ext)) {
                    aset_add(&leaders, next);
                    WC_GROW(work, nwork, capwork);
                    work[nwork++] = next;
                }
                break;
            case WC_I_IJMP:
                tg = switch_targets(cfg, a, &nt);
                for (int i = 0; i < nt; i++) {
                    aset_add(&leaders, tg[i]);
                    WC_GROW(work, nwork, capwork);
                    work[nwork++] = tg[i];
                }
                break;
            case WC_I_RET:
            case WC_I_HALT:
                break;
            default:
                stop = false;
                if (in->rep)
                    stop = false;
                break;
            }
            if (stop)
                break;
            a = next;
        }
    }
    free(work);
    aset_sort(&seen);
    aset_sort(&leaders);
    /* blocks */
    int cur = -1;
    uint64_t expect = 0;
    for (int i = 0; i < seen.n; i++) {
        uint64_t a = seen.v[i];
        const wc_insn *in = wc_decode(&an->dec, a);
        if (cur < 0 || a != expect || aset_has(&leaders, a)) {
            cur = add_block(cfg, a);
        }
        wc_block *b = &cfg->blocks[cur];
        WC_GROW(b->insns, b->n, b->capn);
        b->insns[b->n++] = in;
        b->end = a + in->size;
        expect = b->end;
        if (in->kind != WC_I_NORMAL)
            cur = -1;
    }
    free(seen.v);
    free(leaders.v);
    /* terminators and edges; blocks are sorted by address */
    for (int bi = 0; bi < cfg->nblocks; bi++) {
        wc_block *b = &cfg->blocks[bi];
        const wc_insn *last = b->insns[b->n - 1];
        uint64_t next = last->addr + last->size;
        const char *ext;
        int nt, t;
        const uint64_t *tg;
        switch (last->kind) {
        case WC_I_JMP:
            if (is_other_function(an, cfg, last->target)) {
                b->term = WC_T_TAILCALL;
                b->extname = wc_image_plt_name(an->img, last->target);
                b->callkind = b->extname ? WC_CALL_EXTERNAL : WC_CALL_INTERNAL;
                b->callee = last->target;
            } else {
                b->term = WC_T_JMP;
                t = wc_cfg_block_of(cfg, last->target);
                if (t >= 0)
                    add_edge(cfg, bi, t);
            }
            break;
        case WC_I_JCC:
            b->term = WC_T_JCC;
            t = wc_cfg_block_of(cfg, last->target);
            if (t >= 0)
                add_edge(cfg, bi, t);
            t = wc_cfg_block_of(cfg, next);
            if (t >= 0)
                add_edge(cfg, bi, t);
            break;
        case WC_I_CALL:
        case WC_I_ICALL: {
            bool nr = call_noreturn(an, last, &ext);
            b->term = nr ? WC_T_NORETURN : WC_T_CALL;
            b->extname = ext;
            if (last->kind == WC_I_CALL) {
                b->callee = last->target;
                b->callkind = ext ? WC_CALL_EXTERNAL : WC_CALL_INTERNAL;
            } else
                b->callkind = ext ? WC_CALL_EXTERNAL : WC_CALL_INDIRECT;
            if (!nr) {
                t = wc_cfg_block_of(cfg, next);
                if (t >= 0)
                    add_edge(cfg, bi, t);
            }
            break;
        }
        case WC_I_IJMP:
            tg = switch_targets(cfg, last->addr, &nt);
            if (nt < 0) {
                /* jmp [rip+GOT]: a tail call to an external function */
                if (last->ops[0].type == WC_OP_MEM && last->ops[0].base == WC_RIP &&
                    last->ops[0].index == WC_R_NONE &&
                    (ext = wc_image_got_name(an->img, last->addr + last->size +
                                                          (uint64_t)last->ops[0].disp))) {
                    b->term = WC_T_TAILCALL;
                    b->callkind = WC_CALL_EXTERNAL;
                    b->extname = ext;
                } else
                    b->term = WC_T_IJMP;
            } else {
                b->term = WC_T_SWITCH;
                for (int i = 0; i < nt; i++) {
                    t = wc_cfg_block_of(cfg, tg[i]);
                    if (t >= 0)
                        add_edge(cfg, bi, t);
                }
            }
            break;
        case WC_I_RET:
            b->term = WC_T_RET;
            break;
        case WC_I_HALT:
            b->term = WC_T_HALT;
            break;
        default:
            b->term = WC_T_FALL;
            t = wc_cfg_block_of(cfg, next);
            if (t >= 0)
                add_edge(cfg, bi, t);
            else
                wc_strs_addf(&cfg->problems, "control falls off the decoded code at 0x%llx",
                             (unsigned long long)next);
            break;
        }
    }
}

/* Put the entry block first (block 0); keep the others in address order. */
static void entry_first(wc_cfg *cfg) {
    int e = wc_cfg_block_of(cfg, cfg->entry);
    if (e <= 0)
        return;
    /* rotate indices: new index of old i */
    int n = cfg->nblocks;
    int *map = wc_xcalloc((size_t)n, sizeof *map);
    map[e] = 0;
    int k = 1;
    for (int i = 0; i < n; i++)
        if (i != e)
            map[i] = k++;
    wc_block *nb = wc_xcalloc((size_t)n, sizeof *nb);
    for (int i = 0; i < n; i++) {
        nb[map[i]] = cfg->blocks[i];
        for (int s = 0; s < nb[map[i]].nsucc; s++)
            nb[map[i]].succ[s] = map[nb[map[i]].succ[s]];
        for (int s = 0; s < nb[map[i]].npred; s++)
            nb[map[i]].pred[s] = map[nb[map[i]].pred[s]];
    }
    free(cfg->blocks);
    cfg->blocks = nb;
    cfg->capblocks = n;
    free(map);
}

int wc_cfg_block_of_any(const wc_cfg *cfg, uint64_t addr);
int wc_cfg_block_of_any(const wc_cfg *cfg, uint64_t addr) {
    for (int i = 0; i < cfg->nblocks; i++)
        if (addr >= cfg->blocks[i].start && addr < cfg->blocks[i].end)
            return i;
    return -1;
}

/* Resolve an indirect jump as a switch table: some location at the block's
 * entry has a small range (the table index, bounded by the switch's guard);
 * run the block once for each of its values, with loads from read-only data
 * evaluated, and collect the jump targets, which must all be constants. */
static bool resolve_switch(wc_analyzer *an, wc_cfg *cfg, const wc_vres *vr, int bi) {
    wc_block *b = &cfg->blocks[bi];
    const wc_insn *j = b->insns[b->n - 1];
    const wc_state *entry = &vr->in[bi];
    if (!entry->reached)
        return false;
    char why[160] = "no bounded table index found";
    for (int cand = 0; cand < WC_NREGS + entry->nslots; cand++) {
        const wc_val *v = cand < WC_NREGS ? &entry->reg[cand] : &entry->slot[cand - WC_NREGS].v;
        if (v->top || v->base != WC_B_NONE || v->lo == v->hi || v->hi - v->lo > 4096)
            continue;
        uint64_t *tg = wc_xcalloc((size_t)(v->hi - v->lo + 1), sizeof *tg);
        int nt = 0;
        bool ok = true;
        uint64_t step = v->m > 1 ? v->m : 1;
        for (int64_t x = v->lo; x <= v->hi && ok; x += (int64_t)step) {
            wc_state st = *entry;
            wc_val c = wc_val_const(x, v->w);
            c.zx = v->zx;
            if (cand < WC_NREGS)
                st.reg[cand] = c;
            else
                st.slot[cand - WC_NREGS].v = c;
            for (int i = 0; i < b->n - 1; i++)
                wc_value_step(an, &st, b->insns[i]);
            wc_val t = wc_read_op(&st, &j->ops[0], j->addr + j->size);
            int64_t lo, hi;
            if (getenv("WCET_DEBUG")) {
                char vb[96];
                wc_val_str(&t, vb, sizeof vb);
                fprintf(stderr, "switch 0x%llx: candidate %d = %lld: target %s\n",
                        (unsigned long long)j->addr, cand, (long long)x, vb);
            }
            if (!ok || !wc_val_signed(&t, 64, &lo, &hi) || lo != hi ||
                !wc_image_is_exec(an->img, (uint64_t)lo)) {
                ok = false;
                break;
            }
            int dup = 0;
            for (int q = 0; q < nt; q++)
                dup |= tg[q] == (uint64_t)lo;
            if (!dup)
                tg[nt++] = (uint64_t)lo;
        }
        if (!ok) {
            free(tg);
            continue;
        }
        WC_GROW(cfg->switch_resolved, cfg->nswitch, cfg->capswitch);
        cfg->switch_targets =
            wc_xrealloc(cfg->switch_targets, (size_t)cfg->capswitch, sizeof *cfg->switch_targets);
        cfg->switch_ntargets =
            wc_xrealloc(cfg->switch_ntargets, (size_t)cfg->capswitch, sizeof *cfg->switch_ntargets);
        cfg->switch_resolved[cfg->nswitch] = j->addr;
        cfg->switch_targets[cfg->nswitch] = tg;
        cfg->switch_ntargets[cfg->nswitch] = nt;
        cfg->nswitch++;
        return true;
    }
    (void)why;
    return false;
}

int wc_cfg_build(wc_analyzer *an, uint64_t entry, wc_cfg *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->entry = entry;
    cfg->sym = wc_image_symbol_at(an->img, entry);
    cfg->name = cfg->sym ? wc_xstrdup(cfg->sym->name) : wc_fmt("0x%llx", (unsigned long long)entry);
    for (int round = 0; round < 16; round++) {
        explore(an, cfg);
        if (cfg->nblocks == 0)
            return -1;
        entry_first(cfg);
        wc_cfg_loops(cfg);
        bool any = false, newly = false;
        for (int i = 0; i < cfg->nblocks; i++)
            any |= cfg->blocks[i].term == WC_T_IJMP;
        if (!any)
            break;
        wc_vctx ctx;
        for (int r = 0; r < WC_NREGS; r++)
            ctx.args[r] = wc_val_top(64);
        wc_vres vr;
        wc_value_run(an, cfg, &ctx, -1, NULL, NULL, -1, NULL, &vr);
        wc_strs saved = {0};
        for (int i = 0; i < cfg->nblocks; i++)
            if (cfg->blocks[i].term == WC_T_IJMP)
                newly |= resolve_switch(an, cfg, &vr, i);
        wc_vres_free(&vr);
        if (!newly)
            break;
        wc_strs_free(&saved);
        free_blocks(cfg);
    }
    /* does it return? */
    cfg->noreturn = true;
    for (int i = 0; i < cfg->nblocks; i++) {
        wc_block *b = &cfg->blocks[i];
        if (b->term == WC_T_RET || b->term == WC_T_IJMP)
            cfg->noreturn = false;
        if (b->term == WC_T_TAILCALL) {
            if (b->callkind == WC_CALL_EXTERNAL ? !wc_known_noreturn(b->extname)
                                                : !wc_function_noreturn(an, b->callee))
                cfg->noreturn = false;
        }
    }
    return 0;
}

void wc_cfg_free(wc_cfg *cfg) {
    free_blocks(cfg);
    for (int i = 0; i < cfg->nswitch; i++)
        free(cfg->switch_targets[i]);
    free(cfg->switch_targets);
    free(cfg->switch_ntargets);
    free(cfg->switch_resolved);
    free(cfg->name);
    memset(cfg, 0, sizeof *cfg);
}
