// wcet-function: bubble_sort
// wcet-assume: n=0..64
// wcet-args: 64
// wcet-tight: 1.10
// Worst case: the array in reverse order, every comparison swaps.
// At -O1 and above the inner loop runs a pointer up to an end pointer that
// moves down by one element per outer iteration: Z3 relates them through the
// outer loop's counters, and bounds the total by the count falling one step
// per outer iteration. clang -O3 duplicates the inner exit test onto both arms
// of its unrolled body: bounded per entry, without the total (x1.9).
// wcet-loose: clang-O3
#include "corpus.h"
static int arr[64];
ANALYSED void bubble_sort(int *a, int n) {
    for (int i = 0; i < n - 1; i++)
        for (int j = 0; j < n - 1 - i; j++)
            if (a[j] > a[j + 1]) {
                int t = a[j];
                a[j] = a[j + 1];
                a[j + 1] = t;
            }
}
int main(int argc, char **argv) {
    for (int i = 0; i < 64; i++)
        arr[i] = 64 - i;
    bubble_sort(arr, (int)arg(argc, argv, 1));
    SINK(arr[0]);
    return 0;
}
