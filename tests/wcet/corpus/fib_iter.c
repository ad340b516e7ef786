// wcet-function: fib_iter
// wcet-assume: n=0..90
// wcet-args: 90
// wcet-tight: exact
// clang -O2 unrolls by 4 with a remainder loop: bounded, not exact.
// wcet-loose: clang-O2 clang-O3
#include "corpus.h"
ANALYSED unsigned long fib_iter(int n) {
    unsigned long a = 0, b = 1;
    for (int i = 0; i < n; i++) {
        unsigned long t = a + b;
        a = b;
        b = t;
    }
    return a;
}
int main(int argc, char **argv) {
    SINK(fib_iter((int)arg(argc, argv, 1)));
    return 0;
}
