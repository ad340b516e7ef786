// wcet-function: fact
// wcet-assume: n=0..12
// wcet-args: 12
// wcet-tight: 1.10
// wcet-fact-optional: recursion fact depth 13
// Recursion is bounded by an annotation: fact(12) has 13 activations. At -O2
// and -Os gcc and clang turn the recursion into a loop, which keel-wcet bounds
// by itself: the annotation is optional for those builds.
#include "corpus.h"
ANALYSED long fact(long n) {
    if (n <= 1)
        return 1;
    return n * fact(n - 1);
}
int main(int argc, char **argv) {
    SINK(fact(arg(argc, argv, 1)));
    return 0;
}
