// wcet-function: tree_sum
// wcet-args: 64
// wcet-tight: 1.30
// wcet-fact: recursion tree_rec depth 7
// Divide and conquer: two recursive calls, 7 nested activations for n = 64.
// The results are combined so that neither call is a tail call; clang -O2
// -O3 and -Os still turn the second call into a loop, annotated for them.
// wcet-fact-optional: loop tree_rec {line:if (n <= 1)} max 7
// There each activation is bounded as 7 loop iterations, each with a full
// recursive call: sound but very loose (the halving is not modelled).
// wcet-loose: clang-O2 clang-O3 clang-Os
#include "corpus.h"
static long arr[64];
HELPER long tree_rec(const long *a, long n) {
    if (n <= 1)
        return n ? a[0] : 0;
    long h = n / 2;
    long l = tree_rec(a, h);
    long r = tree_rec(a + h, n - h);
    return (l << 1) ^ r;
}
ANALYSED long tree_sum(long n) {
    return tree_rec(arr, n);
}
int main(int argc, char **argv) {
    for (int i = 0; i < 64; i++)
        arr[i] = i;
    SINK(tree_sum(arg(argc, argv, 1)));
    return 0;
}
