// wcet-function: long_counter
// wcet-assume: n=0..900
// wcet-args: 900
// wcet-tight: exact
// clang -O2 unrolls with a remainder loop: bounded, not exact.
// wcet-loose: clang-O2 clang-O3
#include "corpus.h"
#include <stddef.h>
ANALYSED size_t long_counter(size_t n) {
    size_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += i * i >> 3;
    return s;
}
int main(int argc, char **argv) {
    SINK(long_counter((size_t)arg(argc, argv, 1)));
    return 0;
}
