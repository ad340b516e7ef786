// wcet-function: max_element
// wcet-assume: n=1..500
// wcet-args: 500
// wcet-tight: 1.10
// Worst case: an increasing array, the maximum changes at every element.
#include "corpus.h"
static long arr[500];
ANALYSED long max_element(const long *a, int n) {
    long m = a[0];
    int at = 0;
    for (int i = 1; i < n; i++)
        if (a[i] > m) {
            m = a[i];
            at = i;
        }
    return m + at;
}
int main(int argc, char **argv) {
    for (int i = 0; i < 500; i++)
        arr[i] = i * 3;
    SINK(max_element(arr, (int)arg(argc, argv, 1)));
    return 0;
}
