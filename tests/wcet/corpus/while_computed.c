// wcet-function: while_computed
// wcet-assume: n=0..200
// wcet-args: 200
// wcet-tight: exact
#include "corpus.h"
ANALYSED long while_computed(int n) {
    int lo = 0, hi = 2 * n + 5;
    long s = 0;
    while (lo < hi) {
        s += lo;
        lo += 2;
    }
    return s;
}
int main(int argc, char **argv) {
    SINK(while_computed((int)arg(argc, argv, 1)));
    return 0;
}
