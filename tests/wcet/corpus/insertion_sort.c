// wcet-function: insertion_sort
// wcet-assume: n=0..48
// wcet-args: 48
// wcet-tight: 1.25
// Worst case: the array in reverse order, every element moves to the front.
// The inner while loop has a second, data-dependent exit; clang -O0 folds both
// tests into one boolean that the exit tests. keel-wcet bounds it there by
// what Z3 proves of both paths around the loop (rank.c: j steps by -1 and
// every way back needs j >= 0), but only per entry, not as a total over the
// outer loop, so the bound is rectangular there (x1.9).
// wcet-loose: clang-O0
#include "corpus.h"
static int arr[48];
ANALYSED void insertion_sort(int *a, int n) {
    for (int i = 1; i < n; i++) {
        int key = a[i];
        int j = i - 1;
        while (j >= 0 && a[j] > key) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = key;
    }
}
int main(int argc, char **argv) {
    for (int i = 0; i < 48; i++)
        arr[i] = 48 - i;
    insertion_sort(arr, (int)arg(argc, argv, 1));
    SINK(arr[0]);
    return 0;
}
