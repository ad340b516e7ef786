// wcet-function: count_down_ge
// wcet-assume: n=0..300
// wcet-args: 300
// wcet-tight: exact
// clang -O2 unrolls by 4 with a remainder loop: both loops are bounded, but not
// jointly (the remainder runs n mod 4 times): bound within 4% there.
// wcet-loose: clang-O2 clang-O3
#include "corpus.h"
ANALYSED long count_down_ge(int n) {
    long s = 7;
    for (int i = n - 1; i >= 0; i--)
        s ^= s << 1 ^ i;
    return s;
}
int main(int argc, char **argv) {
    SINK(count_down_ge((int)arg(argc, argv, 1)));
    return 0;
}
