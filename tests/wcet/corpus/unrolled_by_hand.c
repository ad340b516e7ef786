// wcet-function: unrolled_by_hand
// wcet-assume: n=0..800
// wcet-args: 800
// wcet-tight: 2.80
// Unrolled in the source: four elements per iteration, then the rest. The
// remainder loop starts where the first one stopped, which the value analysis
// knows only as a range (0..n): it is bounded by n iterations instead of 3.
// clang -O1 and above rewrite the remainder's counter (and vectorise it at
// -O2): Z3 bounds it from the first loop's exit.
#include "corpus.h"
static int arr[800];
ANALYSED long unrolled_by_hand(const int *a, int n) {
    long s = 0;
    int i = 0;
    for (; i + 4 <= n; i += 4)
        s += a[i] + a[i + 1] * 2 + a[i + 2] * 3 + a[i + 3] * 4;
    for (; i < n; i++)
        s += a[i];
    return s;
}
int main(int argc, char **argv) {
    SINK(unrolled_by_hand(arr, (int)arg(argc, argv, 1)));
    return 0;
}
