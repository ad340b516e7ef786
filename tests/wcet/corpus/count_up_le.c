// wcet-function: count_up_le
// wcet-assume: n=0..500
// wcet-args: 500
// wcet-tight: exact
// clang -O2 unrolls and tests a counter derived from n by strength reduction:
// no bound without a relational domain.
// wcet-unbounded: clang-O2
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
