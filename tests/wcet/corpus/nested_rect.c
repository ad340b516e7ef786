// wcet-function: nested_rect
// wcet-assume: n=0..40 m=0..30
// wcet-args: 40 30
// wcet-tight: exact
// gcc -O2/-O3 version the outer loop on m <= 0: two outer loops share the
// counter, each bounded on its own (Z3 relates the second to the first's
// exit), not jointly (2%); clang -O2/-O3 unroll the inner loop by 4 with a
// remainder loop, bounded separately (4%).
// wcet-loose: gcc-O2 gcc-O3 clang-O2 clang-O3
#include "corpus.h"
ANALYSED long nested_rect(int n, int m) {
    long s = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++)
            s += i * j + (s >> 5);
    return s;
}
int main(int argc, char **argv) {
    SINK(nested_rect((int)arg(argc, argv, 1), (int)arg(argc, argv, 2)));
    return 0;
}
