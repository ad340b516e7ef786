// wcet-function: vec_scale
// wcet-assume: n=0..1000
// wcet-args: 1000
// wcet-tight: exact
// An int array scaled in place: clang -O2 and -O3 (and gcc -O3) vectorise it into a
// vector loop over groups of elements and a scalar loop for the remainder,
// both with trip counts computed from n before the loops. Each is bounded on
// its own (Z3: the distance to the limit over the paths into the loop), not
// jointly: within 3% there.
// wcet-loose: gcc-O3 clang-O2 clang-O3
#include "corpus.h"
static int data[1000];
ANALYSED void vec_scale(int *restrict d, int n) {
    for (int i = 0; i < n; i++)
        d[i] = d[i] * 3 + 1;
}
int main(int argc, char **argv) {
    vec_scale(data, (int)arg(argc, argv, 1));
    SINK(data[5]);
    return 0;
}
