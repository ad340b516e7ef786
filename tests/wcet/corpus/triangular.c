// wcet-function: triangular
// wcet-assume: n=0..60
// wcet-args: 60
// wcet-tight: 1.10
// clang -O2 unrolls the inner loop by 4 with a limit computed from the outer
// counter by a mask (the mask's low zero bits give the stride), with a
// remainder loop: bounded per outer iteration.
#include "corpus.h"
ANALYSED long triangular(int n) {
    long s = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            s += (i ^ j) + (s >> 7);
    return s;
}
int main(int argc, char **argv) {
    SINK(triangular((int)arg(argc, argv, 1)));
    return 0;
}
