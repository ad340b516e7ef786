// wcet-function: bubble_sort
// wcet-assume: n=0..64
// wcet-args: 64
// wcet-tight: 1.10
// Worst case: the array in reverse order, every comparison swaps.
// At -O1 and above the inner loop runs a pointer up to an end pointer that
// moves down by one element per outer iteration: a relation between the
// outer counter and that pointer (end = a + 4 * counter) that the value
// analysis does not keep: no bound there.
// wcet-unbounded: gcc-O1 gcc-O2 clang-O1 clang-O2 clang-Os
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
