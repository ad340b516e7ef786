// wcet-function: tail_top
// wcet-assume: n=0..300
// wcet-args: 300
// wcet-tight: exact
// clang -O2/-O3 unroll the callee by 4: bounded, not exact.
// wcet-loose: clang-O2 clang-O3
// tail_top ends with a call that optimising compilers turn into a jump.
#include "corpus.h"
HELPER long tail_work(long x, int n) {
    long s = x;
    for (int i = 0; i < n; i++)
        s = s * 3 + i;
    return s;
}
ANALYSED long tail_top(int n) {
    return tail_work(n * 2 + 1, n);
}
int main(int argc, char **argv) {
    SINK(tail_top((int)arg(argc, argv, 1)));
    return 0;
}
