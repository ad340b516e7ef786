// wcet-function: insertion_sort
// wcet-assume: n=0..48
// wcet-args: 48
// wcet-tight: 1.25
// wcet-fact-optional: loop insertion_sort {line:while (j >= 0} max 47
// Worst case: the array in reverse order, every element moves to the front.
// The inner while loop has a second, data-dependent exit; clang -O0 folds both
// tests into one boolean, which needs the (optional) annotation; the annotated
// bound is per entry, so the total is rectangular there (x1.9).
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
