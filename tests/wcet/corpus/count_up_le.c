// wcet-function: count_up_le
// wcet-assume: n=0..500
// wcet-args: 500
// wcet-tight: exact
// clang -O2/-O3 unroll by 8 and test a counter recomputed from n in every
// iteration (Z3 shows its constant step), then a remainder loop: both
// bounded, not jointly: within 3% there.
// wcet-loose: clang-O2 clang-O3
#include "corpus.h"
ANALYSED long count_up_le(int n) {
    long s = 0;
    for (int i = 1; i <= n; i++)
        s = s * 3 + i;
    return s;
}
int main(int argc, char **argv) {
    SINK(count_up_le((int)arg(argc, argv, 1)));
    return 0;
}
