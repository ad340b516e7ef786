// wcet-function: stride3
// wcet-assume: n=0..999
// wcet-args: 999
// wcet-tight: exact
// clang -O2/-O3 compute the trip count n/3 with a multiply-high (modelled)
// and unroll by 4 with a remainder loop: bounded separately (1%).
// wcet-loose: clang-O2 clang-O3
#include "corpus.h"
ANALYSED long stride3(int n) {
    long s = 0;
    for (int i = 0; i < n; i += 3)
        s += i * 7 - (s & 15);
    return s;
}
int main(int argc, char **argv) {
    SINK(stride3((int)arg(argc, argv, 1)));
    return 0;
}
