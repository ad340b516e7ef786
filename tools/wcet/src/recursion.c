/*
 * recursion.c - recursion through several functions.
 *
 * The call graph (direct calls, tail calls, and the targets that `icall`
 * facts give indirect calls) is split into strongly connected components by
 * Tarjan's algorithm, once per function. A component of two or more
 * functions is a recursion cycle: A -> B -> A. Its functions are analysed as
 * members (wc_analyze_member: for any arguments, their calls into the cycle
 * left open), and a `recursion F depth N` fact for a function F that every
 * cycle of the component passes through cuts it: at most N activations of F
 * are on the stack at once. With that, by levels L = 0 .. N (L: how many
 * activations of F may still begin):
 *
 *   B(L, X), X != F:  X's IPET with its calls to F costing F(L) (impossible
 *                     at L = 0) and to another member Y costing B(L, Y)
 *                     (the members other than F call each other without a
 *                     cycle, so this is computed callees first);
 *   F(L + 1):         F's IPET with its calls to F costing F(L) and to Y
 *                     costing B(L, Y).
 *
 * A call that cannot happen at a level is excluded from the IPET (as the
 * innermost activation of direct recursion cannot recurse). The function
 * analysed, entered from outside the cycle, costs F(N) if it is F and B(N, X)
 * otherwise; its own analysis (with its input ranges) gives the outermost
 * activation. The stack bound follows the same levels, with the largest depth
 * instead of the IPET. Without such a fact the function is "unbounded:
 * recursion A -> B -> A", with the calls that form the cycle.
 *
 * Cost: (N + 1) x members IPET solves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wcet_internal.h"

typedef struct cgnode {
    uint64_t addr;
    int index, low; /* Tarjan's numbers, -1 before the visit */
    bool onstack;
    int comp; /* component with two or more functions, or -1 */
    bool edges;
    uint64_t *out; /* callees */
    int nout, capout;
} cgnode;

typedef struct cgcomp {
    uint64_t *m;
    int n;
} cgcomp;

typedef struct cgraph {
    cgnode *v;
    int n, cap;
    uint64_t *keys; /* address + 1 -> node index */
    int *vals;
    size_t hcap, hcount;
    int counter;
    cgcomp *comps;
    int ncomps, capcomps;
} cgraph;

static size_t cg_slot(const cgraph *g, uint64_t key) {
    size_t h = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 20) & (g->hcap - 1);
    while (g->keys[h] && g->keys[h] != key + 1)
        h = (h + 1) & (g->hcap - 1);
    return h;
}

static int node_of(cgraph *g, uint64_t addr) {
    if ((g->hcount + 1) * 2 > g->hcap) {
        size_t oc = g->hcap;
        uint64_t *ok = g->keys;
        int *ov = g->vals;
        g->hcap = oc ? oc * 2 : 256;
        g->keys = wc_xcalloc(g->hcap, sizeof *g->keys);
        g->vals = wc_xcalloc(g->hcap, sizeof *g->vals);
        for (size_t i = 0; i < oc; i++)
            if (ok[i]) {
                size_t h = cg_slot(g, ok[i] - 1);
                g->keys[h] = ok[i];
                g->vals[h] = ov[i];
            }
        free(ok);
        free(ov);
    }
    size_t h = cg_slot(g, addr);
    if (g->keys[h])
        return g->vals[h];
    WC_GROW(g->v, g->n, g->cap);
    cgnode *nd = &g->v[g->n];
    memset(nd, 0, sizeof *nd);
    nd->addr = addr;
    nd->index = nd->low = -1;
    nd->comp = -1;
    g->keys[h] = addr + 1;
    g->vals[h] = g->n;
    g->hcount++;
    return g->n++;
}

wc_fact *wc_icall_fact(wc_analyzer *an, const wc_cfg *cfg, const wc_block *b) {
    if (b->n == 0)
        return NULL;
    uint64_t a = b->insns[b->n - 1]->addr;
    for (int i = 0; i < an->facts.n; i++) {
        wc_fact *f = &an->facts.v[i];
        if (f->kind == WC_F_ICALL && strcmp(f->func, cfg->name) == 0 &&
            wc_fact_matches(an->img, f->where[0], 0, 0, &a, 1))
            return f;
    }
    return NULL;
}

static void add_edge(cgraph *g, int v, uint64_t to) {
    cgnode *nd = &g->v[v];
    for (int i = 0; i < nd->nout; i++)
        if (nd->out[i] == to)
            return;
    WC_GROW(nd->out, nd->nout, nd->capout);
    nd->out[nd->nout++] = to;
}

/* the callees of node v, from its CFG */
static void node_edges(wc_analyzer *an, cgraph *g, int v) {
    if (g->v[v].edges)
        return;
    g->v[v].edges = true;
    wc_cfg *cfg = wc_get_cfg(an, g->v[v].addr);
    if (!cfg)
        return;
    for (int b = 0; b < cfg->nblocks; b++) {
        const wc_block *bb = &cfg->blocks[b];
        if ((bb->term == WC_T_CALL || bb->term == WC_T_TAILCALL) &&
            bb->callkind == WC_CALL_INTERNAL && wc_image_is_exec(an->img, bb->callee))
            add_edge(g, v, bb->callee);
        if ((bb->term == WC_T_CALL && bb->callkind == WC_CALL_INDIRECT) || bb->term == WC_T_IJMP) {
            wc_fact *f = wc_icall_fact(an, cfg, bb);
            for (int t = 0; f && t < f->ntargets; t++) {
                const wc_symbol *s = wc_image_symbol(an->img, f->targets[t]);
                if (s && wc_image_is_exec(an->img, s->addr))
                    add_edge(g, v, s->addr);
            }
        }
    }
}

/* Tarjan's algorithm from node root, without recursion (call chains can be
 * deep); nodes met in earlier runs are finished and ignored. */
static void tarjan(wc_analyzer *an, cgraph *g, int root) {
    int cap = 64, top = 0, stop = 0;
    int *fv = wc_xcalloc((size_t)cap, sizeof *fv), *fe = wc_xcalloc((size_t)cap, sizeof *fe);
    int scap = 64, *st = wc_xcalloc((size_t)scap, sizeof *st);
    g->v[root].index = g->v[root].low = g->counter++;
    g->v[root].onstack = true;
    st[stop++] = root;
    fv[top] = root;
    fe[top++] = 0;
    while (top) {
        int v = fv[top - 1];
        node_edges(an, g, v);
        if (fe[top - 1] < g->v[v].nout) {
            int w = node_of(g, g->v[v].out[fe[top - 1]++]);
            if (g->v[w].index < 0) {
                g->v[w].index = g->v[w].low = g->counter++;
                g->v[w].onstack = true;
                if (stop >= scap) {
                    scap *= 2;
                    st = wc_xrealloc(st, (size_t)scap, sizeof *st);
                }
                st[stop++] = w;
                if (top >= cap) {
                    cap *= 2;
                    fv = wc_xrealloc(fv, (size_t)cap, sizeof *fv);
                    fe = wc_xrealloc(fe, (size_t)cap, sizeof *fe);
                }
                fv[top] = w;
                fe[top++] = 0;
            } else if (g->v[w].onstack && g->v[w].index < g->v[v].low)
                g->v[v].low = g->v[w].index;
            continue;
        }
        top--;
        if (g->v[v].low == g->v[v].index) {
            int k = stop;
            while (st[k - 1] != v)
                k--;
            k--; /* st[k .. stop) is the component */
            int n = stop - k;
            int id = -1;
            if (n >= 2) {
                WC_GROW(g->comps, g->ncomps, g->capcomps);
                id = g->ncomps++;
                g->comps[id].n = n;
                g->comps[id].m = wc_xcalloc((size_t)n, sizeof(uint64_t));
            }
            for (int i = k; i < stop; i++) {
                g->v[st[i]].onstack = false;
                g->v[st[i]].comp = id;
                if (id >= 0)
                    g->comps[id].m[i - k] = g->v[st[i]].addr;
            }
            stop = k;
        }
        if (top) {
            int u = fv[top - 1];
            if (g->v[v].low < g->v[u].low)
                g->v[u].low = g->v[v].low;
        }
    }
    free(fv);
    free(fe);
    free(st);
}

int wc_call_component(wc_analyzer *an, uint64_t entry) {
    cgraph *g = an->callgraph;
    if (!g) {
        g = wc_xcalloc(1, sizeof *g);
        an->callgraph = g;
    }
    int v = node_of(g, entry);
    if (g->v[v].index < 0)
        tarjan(an, g, v);
    return g->v[v].comp;
}

int wc_component_members(wc_analyzer *an, int c, const uint64_t **members) {
    cgraph *g = an->callgraph;
    *members = g->comps[c].m;
    return g->comps[c].n;
}

void wc_recursion_free(wc_analyzer *an) {
    cgraph *g = an->callgraph;
    if (!g)
        return;
    for (int i = 0; i < g->n; i++)
        free(g->v[i].out);
    for (int i = 0; i < g->ncomps; i++)
        free(g->comps[i].m);
    free(g->v);
    free(g->keys);
    free(g->vals);
    free(g->comps);
    free(g);
    an->callgraph = NULL;
}

/* ---------- the solve ---------- */
typedef struct rsolve {
    wc_analyzer *an;
    int k;
    const uint64_t *mem;
    wc_fres **loc; /* the members' own analyses */
    int cut;
} rsolve;

static int member_index(const rsolve *rs, uint64_t addr) {
    for (int i = 0; i < rs->k; i++)
        if (rs->mem[i] == addr)
            return i;
    return -1;
}

/* does member i call member j (directly, or as a target of an indirect call)? */
static bool calls(const rsolve *rs, const wc_fres *m, int j) {
    for (int b = 0; m->defer && b < m->cfg->nblocks; b++)
        for (int t = 0; t < m->defer[b].n; t++)
            if (m->defer[b].to[t] == rs->mem[j])
                return true;
    return false;
}

/* The members other than `cut` in an order where each comes after the
 * members it calls; false if they call each other in a cycle. */
static bool order_without(const rsolve *rs, int cut, int *order) {
    int n = 0;
    bool *done = wc_xcalloc((size_t)rs->k, sizeof *done);
    done[cut] = true;
    for (bool progress = true; progress;) {
        progress = false;
        for (int i = 0; i < rs->k; i++) {
            if (done[i])
                continue;
            bool ready = true;
            for (int j = 0; j < rs->k && ready; j++)
                if (!done[j] && calls(rs, rs->loc[i], j))
                    ready = false;
            if (ready) {
                done[i] = true;
                order[n++] = i;
                progress = true;
            }
        }
    }
    free(done);
    return n == rs->k - 1;
}

/* "0x... (file.c:line)" of an address */
static const char *place(wc_analyzer *an, uint64_t addr, char *buf, size_t n) {
    const char *f;
    int l = wc_image_line(an->img, addr, &f);
    if (f) {
        const char *base = strrchr(f, '/');
        snprintf(buf, n, "0x%llx (%s:%d)", (unsigned long long)addr, base ? base + 1 : f, l);
    } else
        snprintf(buf, n, "0x%llx", (unsigned long long)addr);
    return buf;
}

/* "A -> B -> A" from member `from` back to it, with the call sites */
static void describe_cycle(const rsolve *rs, int from, char *buf, size_t n, char *sites,
                           size_t sn) {
    int path[64], np = 0, cur = from;
    bool *seen = wc_xcalloc((size_t)rs->k, sizeof *seen);
    int site[64];
    path[np++] = from;
    /* follow calls, preferring the way back to `from` */
    while (np < 64) {
        const wc_fres *m = rs->loc[cur];
        int next = -1, nb = -1;
        for (int b = 0; m->defer && b < m->cfg->nblocks && next != from; b++)
            for (int t = 0; t < m->defer[b].n; t++) {
                int j = member_index(rs, m->defer[b].to[t]);
                if (j == from || (j >= 0 && !seen[j] && next < 0)) {
                    next = j;
                    nb = b;
                    if (j == from)
                        break;
                }
            }
        if (next < 0)
            break;
        seen[cur] = true;
        site[np - 1] = nb;
        path[np++] = next;
        if (next == from)
            break;
        cur = next;
    }
    free(seen);
    buf[0] = sites[0] = 0;
    for (int i = 0; i < np; i++) {
        size_t l = strlen(buf);
        snprintf(buf + l, n - l, "%s%s", i ? " -> " : "", rs->loc[path[i]]->name);
        if (i + 1 < np) {
            char w[96];
            const wc_fres *m = rs->loc[path[i]];
            const wc_block *cb = &m->cfg->blocks[site[i]];
            place(rs->an, cb->insns[cb->n - 1]->addr, w, sizeof w);
            l = strlen(sites);
            snprintf(sites + l, sn - l, "%s%s calls %s at %s", i ? ", " : "", m->name,
                     rs->loc[path[i + 1]]->name, w);
        }
    }
}

/* One member with the costs and stacks of the members it may call
 * (cost[j] < 0: member j cannot be called here): its bound (IPET) and stack.
 * False when no execution of it fits. With keep, the block costs used and
 * the worst-case counts go into keep's bcost and counts. */
static bool member_level(const rsolve *rs, wc_fres *m, const double *cost, const uint64_t *stack,
                         bool time, double *bound, uint64_t *stk, wc_fres *keep) {
    const wc_cfg *cfg = m->cfg;
    int nb = cfg->nblocks;
    double *c = wc_xcalloc((size_t)nb, sizeof *c);
    bool *fb = wc_xcalloc((size_t)nb, sizeof *fb);
    uint64_t s = 8 + m->frame;
    for (int b = 0; b < nb; b++) {
        const wc_block *bb = &cfg->blocks[b];
        c[b] = m->bcost[b];
        fb[b] = m->forbid[b];
        uint64_t cs = m->callee_stack[b];
        const wc_defer *d = &m->defer[b];
        if (d->n) {
            bool any = d->has_fixed;
            double worst = d->has_fixed ? d->fixed : 0;
            cs = d->has_fixed ? d->fixed_stack : 0;
            for (int t = 0; t < d->n; t++) {
                int j = member_index(rs, d->to[t]);
                if (j < 0 || cost[j] < 0)
                    continue;
                any = true;
                if (cost[j] > worst)
                    worst = cost[j];
                if (stack[j] > cs)
                    cs = stack[j];
            }
            if (!any)
                fb[b] = true;
            else
                c[b] += worst;
        }
        if (fb[b] || m->depth_at[b] < 0)
            continue;
        uint64_t need;
        if (bb->term == WC_T_TAILCALL || bb->term == WC_T_IJMP)
            need = (uint64_t)m->depth_at[b] + cs;
        else if (bb->term == WC_T_CALL || bb->term == WC_T_NORETURN)
            need = 8 + (uint64_t)m->depth_at[b] + cs;
        else
            continue;
        if (need > s)
            s = need;
    }
    bool ok = true;
    *stk = s;
    *bound = 0;
    if (time) {
        wc_ipet_in in = {cfg, c, m->lb, NULL, 0, (const int(*)[2])m->excl, m->nexcl, fb};
        wc_ipet_out out;
        wc_ipet_solve(&in, &out);
        ok = out.ok;
        *bound = out.value;
        if (ok && keep) {
            free(keep->counts);
            keep->counts = wc_xcalloc((size_t)nb, sizeof *keep->counts);
            memcpy(keep->counts, out.count, sizeof *keep->counts * (size_t)nb);
            memcpy(keep->bcost, c, sizeof *c * (size_t)nb);
        }
        wc_ipet_free(&out);
    } else {
        /* no time bound: the stack alone, if some block can run */
        ok = !fb[0];
    }
    free(c);
    free(fb);
    return ok;
}

static wc_fact *recursion_fact(wc_analyzer *an, const char *name) {
    for (int i = 0; i < an->facts.n; i++)
        if (an->facts.v[i].kind == WC_F_RECURSION && strcmp(an->facts.v[i].func, name) == 0)
            return &an->facts.v[i];
    return NULL;
}

void wc_recursion_solve(wc_analyzer *an, wc_fres *fr) {
    rsolve rs;
    memset(&rs, 0, sizeof rs);
    rs.an = an;
    rs.k = wc_component_members(an, fr->component, &rs.mem);
    rs.loc = wc_xcalloc((size_t)rs.k, sizeof *rs.loc);
    int self = -1;
    for (int i = 0; i < rs.k; i++) {
        rs.loc[i] = wc_analyze_member(an, rs.mem[i]);
        if (rs.mem[i] == fr->addr)
            self = i;
    }
    int *order = wc_xcalloc((size_t)rs.k, sizeof *order);
    char cyc[512], sites[1024], names[1024] = "";
    describe_cycle(&rs, self, cyc, sizeof cyc, sites, sizeof sites);
    for (int i = 0; i < rs.k; i++) {
        char w[96];
        size_t l = strlen(names);
        snprintf(names + l, sizeof names - l, "%s%s at %s", i ? ", " : "", rs.loc[i]->name,
                 place(an, rs.mem[i], w, sizeof w));
    }
    /* the cut: a member with a depth fact that every cycle passes through */
    wc_fact *recf = NULL;
    rs.cut = -1;
    for (int i = 0; i < rs.k && rs.cut < 0; i++) {
        wc_fact *f = recursion_fact(an, rs.loc[i]->name);
        if (f && order_without(&rs, i, order)) {
            rs.cut = i;
            recf = f;
        }
    }
    wc_strs_addf(&fr->notes, "on a recursion cycle: %s (%s); the cycle's functions: %s", cyc, sites,
                 names);
    for (int i = 0; i < rs.k; i++) { /* a depth fact for a function of the cycle matches it */
        wc_fact *f = recursion_fact(an, rs.loc[i]->name);
        if (f && i != rs.cut) {
            f->used++;
            if (rs.cut >= 0)
                wc_strs_addf(&fr->notes, "flow fact %s not needed: the cycle is cut at %s", f->text,
                             rs.loc[rs.cut]->name);
        }
    }
    if (rs.cut < 0) {
        bool some = false;
        for (int i = 0; i < rs.k; i++)
            some |= recursion_fact(an, rs.loc[i]->name) != NULL;
        wc_strs_addf(&fr->reasons,
                     "recursion %s (%s): %s; annotate `recursion F depth N` for a function F of "
                     "the cycle that every cycle passes through (its functions: %s)",
                     cyc, sites,
                     some ? "its depth facts name no function that every cycle passes through"
                          : "no recursion depth is given",
                     names);
        if (fr->status == KEEL_WCET_BOUNDED)
            fr->status = KEEL_WCET_UNBOUNDED;
        fr->stack_status = KEEL_WCET_UNBOUNDED;
        goto out;
    }
    recf->used++;
    wc_strs_addf(&fr->assumptions,
                 "recursion depth from the flow facts: %s (at most that many activations of %s "
                 "at once on the cycle %s)",
                 recf->text, rs.loc[rs.cut]->name, cyc);
    /* the members' own problems and assumptions */
    bool time = fr->status == KEEL_WCET_BOUNDED, stack_ok = fr->frame_ok && fr->callees_stack_ok;
    for (int i = 0; i < rs.k; i++) {
        wc_fres *m = rs.loc[i];
        wc_strs_merge(&fr->assumptions, &m->assumptions);
        stack_ok &= m->frame_ok && m->callees_stack_ok;
        if (m->status != KEEL_WCET_BOUNDED) {
            time = false;
            if (m->status > fr->status)
                fr->status = m->status;
            for (int r = 0; r < m->reasons.n; r++)
                if (m->addr != fr->addr || !wc_strs_has(&fr->reasons, m->reasons.v[r]))
                    wc_strs_addf(&fr->reasons, "in %s (on the recursion cycle %s): %s", m->name,
                                 cyc, m->reasons.v[r]);
        }
    }
    {
        /* by levels: fcost/fstack F(L), ycost/ystack B(L, .) */
        int k = rs.k;
        uint64_t depth = recf->value;
        double *cur = wc_xcalloc((size_t)k, sizeof *cur); /* costs at level L: F(L), B(L, Y) */
        uint64_t *curs = wc_xcalloc((size_t)k, sizeof *curs);
        double fnext = 0;
        uint64_t fnexts = 0;
        bool final_done = false, final_ok = false;
        double fb = 0;
        uint64_t fs = 0;
        cur[rs.cut] = -1; /* F(0): no activation of F may begin */
        for (uint64_t L = 0; L <= depth && !final_done; L++) {
            for (int q = 0; q < k - 1; q++) {
                int i = order[q];
                double b;
                uint64_t s;
                if (member_level(&rs, rs.loc[i], cur, curs, time, &b, &s, NULL)) {
                    cur[i] = b;
                    curs[i] = s;
                } else
                    cur[i] = -1;
            }
            bool entry_now = self == rs.cut ? L + 1 == depth : L == depth;
            if (entry_now) {
                /* the outermost activation: the function's own analysis */
                final_ok = member_level(&rs, fr, cur, curs, time, &fb, &fs, fr);
                final_done = true;
                break;
            }
            if (L < depth) {
                bool ok = member_level(&rs, rs.loc[rs.cut], cur, curs, time, &fnext, &fnexts, NULL);
                cur[rs.cut] = ok ? fnext : -1;
                curs[rs.cut] = fnexts;
            }
        }
        free(cur);
        free(curs);
        if (!final_ok) {
            wc_strs_addf(&fr->reasons,
                         "with at most %llu activations of %s no execution of %s returns: the "
                         "recursion depth fact is too small",
                         (unsigned long long)depth, rs.loc[rs.cut]->name, fr->name);
            if (fr->status == KEEL_WCET_BOUNDED)
                fr->status = KEEL_WCET_UNBOUNDED;
            fr->stack_status = KEEL_WCET_UNBOUNDED;
            goto out;
        }
        if (time)
            fr->bound = (uint64_t)(fb + 0.5);
        if (stack_ok) {
            fr->stack = fs;
            fr->stack_status = KEEL_WCET_BOUNDED;
        } else {
            bool frames = fr->frame_ok;
            for (int i = 0; i < rs.k; i++)
                frames &= rs.loc[i]->frame_ok;
            fr->stack_status = frames ? KEEL_WCET_UNKNOWN : KEEL_WCET_UNBOUNDED;
        }
    }
out:
    free(order);
    free(rs.loc);
}
