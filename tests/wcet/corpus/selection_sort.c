// wcet-function: selection_sort
// wcet-assume: n=0..40
// wcet-args: 40
// wcet-tight: 1.25
// The inner loop starts at i + 1: a triangular loop. Worst case: reverse order.
// At -O2 (and clang -O1/-Os) the inner loop's test is duplicated on both arms of
// the if: no single test runs on every iteration; the copies test the same
// counter and bound the loop per entry, without the triangular total (x1.9).
// wcet-fact-optional: loop selection_sort {line:for (int i = 0} max 39
// wcet-fact-optional: loop selection_sort {line:for (int j = i + 1} max 39
// wcet-loose: gcc-O2 gcc-O3 clang-O1 clang-O2 clang-Os
#include "corpus.h"
static int arr[40];
ANALYSED void selection_sort(int *a, int n) {
    for (int i = 0; i < n - 1; i++) {
        int m = i;
        for (int j = i + 1; j < n; j++)
            if (a[j] < a[m])
                m = j;
        int t = a[i];
        a[i] = a[m];
        a[m] = t;
    }
}
int main(int argc, char **argv) {
    for (int i = 0; i < 40; i++)
        arr[i] = 40 - i;
    selection_sort(arr, (int)arg(argc, argv, 1));
    SINK(arr[0]);
    return 0;
}
