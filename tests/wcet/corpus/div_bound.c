// wcet-function: div_bound
// wcet-assume: n=0..5000
// wcet-args: 5000
// wcet-tight: exact
// The trip count n / 7 on unsigned numbers: compilers divide by a constant
// with a multiply-high and a shift, which the value analysis and Z3 model.
// clang -O2/-O3 unroll by 8 with a remainder loop: both bounded, not jointly.
// wcet-loose: clang-O2 clang-O3
#include "corpus.h"
ANALYSED unsigned div_bound(unsigned n) {
    unsigned s = 0;
    for (unsigned i = 0; i < n / 7; i++)
        s = s * 5 + i;
    return s;
}
int main(int argc, char **argv) {
    SINK(div_bound((unsigned)arg(argc, argv, 1)));
    return 0;
}
