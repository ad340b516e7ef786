// wcet-function: nested_rect
// wcet-assume: n=0..40 m=0..30
// wcet-args: 40 30
// wcet-tight: exact
// gcc -O2 unswitches the outer loop on m <= 0 and clang -O2 strength-reduces
// the inner counter: the outer counter's start is then only known on a path
// the value analysis merges: no bound.
// wcet-unbounded: gcc-O2 clang-O2
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
