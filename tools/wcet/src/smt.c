/* smt.c - placeholder replaced below */
#include "wcet_internal.h"
bool wc_smt_loop_bound(wc_analyzer *an, const wc_cfg *cfg, const wc_vres *vr, int l, uint64_t limit, uint64_t *max,
                       char **how) {
    (void)an; (void)cfg; (void)vr; (void)l; (void)limit; (void)max;
    *how = NULL;
    return false;
}
int wc_smt_path_feasible(wc_analyzer *an, const wc_cfg *cfg, const wc_vres *vr, const int *path, int n) {
    (void)an; (void)cfg; (void)vr; (void)path; (void)n;
    return -1;
}
void wc_smt_free(wc_analyzer *an);
void wc_smt_free(wc_analyzer *an) { (void)an; }
