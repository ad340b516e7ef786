/*
 * loops.c - reverse post-order, dominators (Cooper, Harvey and Kennedy),
 * natural loops with their nesting, and irreducible regions (a retreating
 * edge whose target does not dominate its source).
 */
#include <stdlib.h>
#include <string.h>

#include "wcet_internal.h"

static int intersect(const wc_cfg *cfg, int a, int b) {
    while (a != b) {
        while (cfg->blocks[a].rpo > cfg->blocks[b].rpo)
            a = cfg->blocks[a].idom;
        while (cfg->blocks[b].rpo > cfg->blocks[a].rpo)
            b = cfg->blocks[b].idom;
    }
    return a;
}

static bool dominates(const wc_cfg *cfg, int a, int b) {
    while (b >= 0) {
        if (a == b)
            return true;
        if (cfg->blocks[b].idom == b)
            return false;
        b = cfg->blocks[b].idom;
    }
    return false;
}

void wc_cfg_loops(wc_cfg *cfg) {
    int n = cfg->nblocks;
    int *order = wc_xcalloc((size_t)n, sizeof *order); /* post-order */
    int *stack = wc_xcalloc((size_t)n + 1, sizeof *stack);
    int *edge = wc_xcalloc((size_t)n, sizeof *edge);
    char *state = wc_xcalloc((size_t)n, 1); /* 0 new, 1 on stack, 2 done */
    int npo = 0, sp = 0;
    for (int i = 0; i < n; i++) {
        cfg->blocks[i].rpo = -1;
        cfg->blocks[i].idom = -1;
        cfg->blocks[i].loop = -1;
    }
    /* iterative DFS from block 0; records retreating edges */
    int *retr_from = NULL, *retr_to = NULL, nretr = 0, capretr = 0;
    stack[sp++] = 0;
    state[0] = 1;
    while (sp) {
        int b = stack[sp - 1];
        if (edge[b] < cfg->blocks[b].nsucc) {
            int s = cfg->blocks[b].succ[edge[b]++];
            if (state[s] == 0) {
                state[s] = 1;
                stack[sp++] = s;
            } else if (state[s] == 1) {
                if (nretr >= capretr) {
                    capretr = capretr ? capretr * 2 : 8;
                    retr_from = wc_xrealloc(retr_from, (size_t)capretr, sizeof *retr_from);
                    retr_to = wc_xrealloc(retr_to, (size_t)capretr, sizeof *retr_to);
                }
                retr_from[nretr] = b;
                retr_to[nretr++] = s;
            }
        } else {
            state[b] = 2;
            order[npo++] = b;
            sp--;
        }
    }
    for (int i = 0; i < npo; i++)
        cfg->blocks[order[i]].rpo = npo - 1 - i;
    /* dominators over reachable blocks, in RPO */
    int *rpo = wc_xcalloc((size_t)npo, sizeof *rpo);
    for (int i = 0; i < npo; i++)
        rpo[npo - 1 - i] = order[i];
    cfg->blocks[0].idom = 0;
    bool changed = true;
    while (changed) {
        changed = false;
        for (int k = 1; k < npo; k++) {
            int b = rpo[k], nd = -1;
            for (int p = 0; p < cfg->blocks[b].npred; p++) {
                int q = cfg->blocks[b].pred[p];
                if (cfg->blocks[q].idom < 0)
                    continue;
                nd = nd < 0 ? q : intersect(cfg, q, nd);
            }
            if (nd >= 0 && cfg->blocks[b].idom != nd) {
                cfg->blocks[b].idom = nd;
                changed = true;
            }
        }
    }
    /* natural loops: one per header */
    int *hdr_loop = wc_xcalloc((size_t)n, sizeof *hdr_loop);
    for (int i = 0; i < n; i++)
        hdr_loop[i] = -1;
    int caploops = 0;
    for (int e = 0; e < nretr; e++) {
        int u = retr_from[e], h = retr_to[e];
        if (!dominates(cfg, h, u)) {
            cfg->irreducible = true;
            wc_strs_addf(&cfg->irreducible_where, "0x%llx -> 0x%llx",
                         (unsigned long long)cfg->blocks[u].start,
                         (unsigned long long)cfg->blocks[h].start);
            continue;
        }
        int l = hdr_loop[h];
        if (l < 0) {
            WC_GROW(cfg->loops, cfg->nloops, caploops);
            l = cfg->nloops++;
            wc_loop *lp = &cfg->loops[l];
            memset(lp, 0, sizeof *lp);
            lp->header = h;
            lp->parent = -1;
            lp->in = wc_xcalloc((size_t)n, sizeof *lp->in);
            lp->in[h] = true;
            hdr_loop[h] = l;
        }
        wc_loop *lp = &cfg->loops[l];
        lp->latches = wc_xrealloc(lp->latches, (size_t)lp->nlatches + 1, sizeof *lp->latches);
        lp->latches[lp->nlatches++] = u;
        /* reverse flood from u, stopping at h */
        int top = 0;
        if (!lp->in[u]) {
            lp->in[u] = true;
            stack[top++] = u;
        }
        while (top) {
            int b = stack[--top];
            for (int p = 0; p < cfg->blocks[b].npred; p++) {
                int q = cfg->blocks[b].pred[p];
                if (!lp->in[q] && cfg->blocks[q].rpo >= 0) {
                    lp->in[q] = true;
                    stack[top++] = q;
                }
            }
        }
    }
    for (int l = 0; l < cfg->nloops; l++) {
        wc_loop *lp = &cfg->loops[l];
        for (int b = 0; b < n; b++)
            if (lp->in[b]) {
                lp->blocks = wc_xrealloc(lp->blocks, (size_t)lp->nblocks + 1, sizeof *lp->blocks);
                lp->blocks[lp->nblocks++] = b;
            }
    }
    /* nesting: the parent is the smallest other loop containing the header */
    for (int l = 0; l < cfg->nloops; l++) {
        int best = -1;
        for (int m = 0; m < cfg->nloops; m++) {
            if (m == l || !cfg->loops[m].in[cfg->loops[l].header])
                continue;
            if (cfg->loops[m].nblocks <= cfg->loops[l].nblocks)
                continue;
            if (best < 0 || cfg->loops[m].nblocks < cfg->loops[best].nblocks)
                best = m;
        }
        cfg->loops[l].parent = best;
    }
    for (int l = 0; l < cfg->nloops; l++) {
        int d = 0;
        for (int p = cfg->loops[l].parent; p >= 0 && d < 1000; p = cfg->loops[p].parent)
            d++;
        cfg->loops[l].depth = d;
    }
    for (int b = 0; b < n; b++) {
        int best = -1;
        for (int l = 0; l < cfg->nloops; l++)
            if (cfg->loops[l].in[b] &&
                (best < 0 || cfg->loops[l].nblocks < cfg->loops[best].nblocks))
                best = l;
        cfg->blocks[b].loop = best;
    }
    free(hdr_loop);
    free(order);
    free(stack);
    free(edge);
    free(state);
    free(rpo);
    free(retr_from);
    free(retr_to);
}
