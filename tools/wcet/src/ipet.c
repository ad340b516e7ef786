/*
 * ipet.c - the implicit path enumeration technique with GLPK: one integer
 * variable per block and per edge, flow conservation, one entry, loop bounds
 * (back edges <= bound x entry edges), totals of nested loops, mutually
 * exclusive blocks and excluded infeasible edge combinations; maximise the
 * total cost.
 */
#include <glpk.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wcet_internal.h"

static int glpk_silent(void *info, const char *s) {
    (void)info;
    (void)s;
    return 1;
}

int wc_ipet_solve(const wc_ipet_in *in, wc_ipet_out *out) {
    const wc_cfg *cfg = in->cfg;
    int nb = cfg->nblocks;
    memset(out, 0, sizeof *out);
    out->eoff = wc_xcalloc((size_t)nb + 1, sizeof *out->eoff);
    int ne = 0;
    for (int b = 0; b < nb; b++) {
        out->eoff[b] = ne;
        ne += cfg->blocks[b].nsucc;
    }
    out->eoff[nb] = ne;
    glp_term_hook(glpk_silent, NULL);
    glp_prob *lp = glp_create_prob();
    glp_set_obj_dir(lp, GLP_MAX);
    /* columns: x_b (1..nb), e (nb+1..nb+ne), entry (nb+ne+1), exit_b (nb+ne+2 ..) */
    int cx = 1, ce = nb + 1, cin = nb + ne + 1, cout = nb + ne + 2;
    int ncols = nb + ne + 1 + nb;
    int nexcl = in->nexcl;
    int cy = ncols + 1;
    ncols += nexcl;
    glp_add_cols(lp, ncols);
    for (int c = 1; c <= ncols; c++) {
        glp_set_col_kind(lp, c, GLP_IV);
        glp_set_col_bnds(lp, c, GLP_LO, 0.0, 0.0);
    }
    for (int k = 0; k < nexcl; k++)
        glp_set_col_kind(lp, cy + k, GLP_BV);
    glp_set_col_bnds(lp, cin, GLP_FX, 1.0, 1.0);
    for (int b = 0; b < nb; b++) {
        glp_set_obj_coef(lp, cx + b, in->cost[b]);
        if (in->forbid && in->forbid[b])
            glp_set_col_bnds(lp, cx + b, GLP_FX, 0.0, 0.0);
        /* an exit edge only from blocks that leave the function */
        const wc_block *bb = &cfg->blocks[b];
        bool exits = bb->term == WC_T_RET || bb->term == WC_T_TAILCALL ||
                     bb->term == WC_T_NORETURN || bb->term == WC_T_HALT || bb->term == WC_T_IJMP ||
                     bb->nsucc == 0;
        if (!exits)
            glp_set_col_bnds(lp, cout + b, GLP_FX, 0.0, 0.0);
    }
    int cap = 16, nz = 0;
    int *ia = wc_xcalloc((size_t)cap + 1, sizeof *ia),
        *ja = wc_xcalloc((size_t)cap + 1, sizeof *ja);
    double *ar = wc_xcalloc((size_t)cap + 1, sizeof *ar);
#define NZ(row, col, val)                                      \
    do {                                                       \
        if (nz + 1 >= cap) {                                   \
            cap *= 2;                                          \
            ia = wc_xrealloc(ia, (size_t)cap + 1, sizeof *ia); \
            ja = wc_xrealloc(ja, (size_t)cap + 1, sizeof *ja); \
            ar = wc_xrealloc(ar, (size_t)cap + 1, sizeof *ar); \
        }                                                      \
        nz++;                                                  \
        ia[nz] = (row);                                        \
        ja[nz] = (col);                                        \
        ar[nz] = (val);                                        \
    } while (0)
    int row = 0;
    /* x_b = sum in ; x_b = sum out */
    for (int b = 0; b < nb; b++) {
        const wc_block *bb = &cfg->blocks[b];
        int r1 = ++row;
        glp_add_rows(lp, 1);
        glp_set_row_bnds(lp, r1, GLP_FX, 0.0, 0.0);
        NZ(r1, cx + b, 1.0);
        if (b == 0)
            NZ(r1, cin, -1.0);
        for (int q = 0; q < bb->npred; q++) {
            int p = bb->pred[q];
            const wc_block *pb = &cfg->blocks[p];
            for (int k = 0; k < pb->nsucc; k++)
                if (pb->succ[k] == b)
                    NZ(r1, ce + out->eoff[p] + k, -1.0);
        }
        int r2 = ++row;
        glp_add_rows(lp, 1);
        glp_set_row_bnds(lp, r2, GLP_FX, 0.0, 0.0);
        NZ(r2, cx + b, 1.0);
        for (int k = 0; k < bb->nsucc; k++)
            NZ(r2, ce + out->eoff[b] + k, -1.0);
        NZ(r2, cout + b, -1.0);
    }
    /* loop bounds */
    for (int l = 0; l < cfg->nloops; l++) {
        const wc_loop *lp2 = &cfg->loops[l];
        const wc_lbound *lb = &in->lb[l];
        for (int pass = 0; pass < 2; pass++) {
            double bound;
            const wc_loop *ent;
            if (pass == 0) {
                bound = (double)lb->max;
                ent = lp2;
            } else {
                if (!lb->has_total)
                    continue;
                bound = (double)lb->total;
                ent = &cfg->loops[lb->total_loop];
            }
            int r = ++row;
            glp_add_rows(lp, 1);
            glp_set_row_bnds(lp, r, GLP_UP, 0.0, 0.0);
            const wc_block *hb = &cfg->blocks[lp2->header];
            for (int q = 0; q < hb->npred; q++) {
                int p = hb->pred[q];
                const wc_block *pb = &cfg->blocks[p];
                for (int k = 0; k < pb->nsucc; k++)
                    if (pb->succ[k] == lp2->header && lp2->in[p])
                        NZ(r, ce + out->eoff[p] + k, 1.0);
            }
            const wc_block *eb = &cfg->blocks[ent->header];
            for (int q = 0; q < eb->npred; q++) {
                int p = eb->pred[q];
                const wc_block *pb = &cfg->blocks[p];
                for (int k = 0; k < pb->nsucc; k++)
                    if (pb->succ[k] == ent->header && !ent->in[p])
                        NZ(r, ce + out->eoff[p] + k, -bound);
            }
            if (ent->header == 0)
                NZ(r, cin, -bound);
        }
    }
    /* extra constraints on edge sums */
    for (int x = 0; x < in->nextra; x++) {
        const wc_ipet_extra *e = &in->extra[x];
        int r = ++row;
        glp_add_rows(lp, 1);
        glp_set_row_bnds(lp, r, GLP_UP, 0.0, e->rhs);
        for (int k = 0; k < e->nedges; k++) {
            const wc_block *fb = &cfg->blocks[e->from[k]];
            for (int s = 0; s < fb->nsucc; s++)
                if (fb->succ[s] == e->to[k])
                    NZ(r, ce + out->eoff[e->from[k]] + s, 1.0);
        }
    }
    /* mutually exclusive: x_a <= M y, x_b <= M (1 - y) */
    for (int k = 0; k < nexcl; k++) {
        double M = 1e9;
        int r = ++row;
        glp_add_rows(lp, 1);
        glp_set_row_bnds(lp, r, GLP_UP, 0.0, 0.0);
        NZ(r, cx + in->excl[k][0], 1.0);
        NZ(r, cy + k, -M);
        r = ++row;
        glp_add_rows(lp, 1);
        glp_set_row_bnds(lp, r, GLP_UP, 0.0, M);
        NZ(r, cx + in->excl[k][1], 1.0);
        NZ(r, cy + k, M);
    }
#undef NZ
    glp_load_matrix(lp, nz, ia, ja, ar);
    free(ia);
    free(ja);
    free(ar);
    glp_iocp parm;
    glp_init_iocp(&parm);
    parm.presolve = GLP_ON;
    parm.msg_lev = GLP_MSG_OFF;
    parm.tm_lim = 60000;
    int rc = glp_intopt(lp, &parm);
    int st = glp_mip_status(lp);
    if (rc != 0 || st != GLP_OPT) {
        out->ok = false;
        if (rc == GLP_ENOPFS || st == GLP_NOFEAS)
            out->why = wc_xstrdup("no feasible path (the constraints exclude every execution)");
        else if (rc == GLP_ENODFS)
            out->why = wc_xstrdup("the path problem is unbounded (a cycle without a bound)");
        else
            out->why = wc_fmt("GLPK failed (code %d, status %d)", rc, st);
        glp_delete_prob(lp);
        return -1;
    }
    out->ok = true;
    out->value = glp_mip_obj_val(lp);
    out->count = wc_xcalloc((size_t)nb, sizeof *out->count);
    out->ecount = wc_xcalloc((size_t)ne + 1, sizeof *out->ecount);
    for (int b = 0; b < nb; b++)
        out->count[b] = glp_mip_col_val(lp, cx + b);
    for (int e = 0; e < ne; e++)
        out->ecount[e] = glp_mip_col_val(lp, ce + e);
    glp_delete_prob(lp);
    return 0;
}

void wc_ipet_free(wc_ipet_out *o) {
    free(o->count);
    free(o->ecount);
    free(o->eoff);
    free(o->why);
    memset(o, 0, sizeof *o);
}
