// wcet-function: infeasible
// wcet-assume: x=-1000..1000
// wcet-args: 6
// wcet-tight: 1.10
// x > 5 and x < 3 cannot both hold: Z3 removes the path through both heavy
// branches, so the bound is the heavier of the two.
#include "corpus.h"
ANALYSED long infeasible(int x) {
    long s = x;
    if (x > 5) {
        s = s * 31 + 7;
        s ^= s >> 3;
        s = s * 17 + 5;
        s ^= s >> 7;
        s += s << 4;
    }
    if (x < 3) {
        s = s * 29 + 3;
        s ^= s >> 5;
        s = s * 13 + 1;
        s ^= s >> 11;
    }
    return s;
}
int main(int argc, char **argv) {
    SINK(infeasible((int)arg(argc, argv, 1)));
    return 0;
}
