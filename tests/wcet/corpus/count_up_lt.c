// wcet-function: count_up_lt
// wcet-assume: n=0..1000
// wcet-args: 1000
// wcet-tight: exact
// clang -O2 unrolls by 4 with a remainder loop: both loops are bounded, but not
// jointly (the remainder runs n mod 4 times): bound within 4% there.
// wcet-loose: clang-O2 clang-O3
#include "corpus.h"
ANALYSED long count_up_lt(int n) {
    long s = 0;
    for (int i = 0; i < n; i++)
        s += i ^ (s >> 3);
    return s;
}
int main(int argc, char **argv) {
    SINK(count_up_lt((int)arg(argc, argv, 1)));
    return 0;
}
