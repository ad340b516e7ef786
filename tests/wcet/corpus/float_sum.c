// wcet-function: float_sum
// wcet-assume: n=0..300
// wcet-args: 300
// wcet-tight: exact
// clang -O2 unrolls by 2 with a remainder iteration: bounded, not exact.
// wcet-loose: clang-O2 clang-O3
#include "corpus.h"
static double vals[300];
ANALYSED double float_sum(const double *v, int n) {
    double s = 0.0, c = 0.0;
    for (int i = 0; i < n; i++) {
        double y = v[i] * 1.5 - c;
        double t = s + y;
        c = (t - s) - y;
        s = t;
    }
    return s;
}
int main(int argc, char **argv) {
    for (int i = 0; i < 300; i++)
        vals[i] = i * 0.25;
    SINK(float_sum(vals, (int)arg(argc, argv, 1)) > 1.0);
    return 0;
}
