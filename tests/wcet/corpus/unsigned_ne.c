// wcet-function: unsigned_ne
// wcet-assume: n=0..700
// wcet-args: 700
// wcet-tight: exact
// clang -O2 unrolls by 8 with a remainder loop: both loops are bounded, but not
// jointly (the remainder runs n mod 4 times): bound within 4% there.
// wcet-loose: clang-O2 clang-O3
// clang -O1 and -Os keep two counters and test one derived from the other
// (strength reduction): Z3 relates them over the paths into the loop.
#include "corpus.h"
ANALYSED unsigned unsigned_ne(unsigned n) {
    unsigned s = 1;
    for (unsigned i = 0; i != n; i++)
        s = s * 33u + i;
    return s;
}
int main(int argc, char **argv) {
    SINK(unsigned_ne((unsigned)arg(argc, argv, 1)));
    return 0;
}
