// wcet-function: linear_search
// wcet-assume: n=0..512
// wcet-args: 512
// wcet-tight: 1.10
// Worst case: the key is not in the array.
#include "corpus.h"
static long arr[512];
ANALYSED int linear_search(const long *a, int n, long key) {
    for (int i = 0; i < n; i++)
        if (a[i] == key)
            return i;
    return -1;
}
int main(int argc, char **argv) {
    for (int i = 0; i < 512; i++)
        arr[i] = i;
    SINK(linear_search(arr, (int)arg(argc, argv, 1), -5));
    return 0;
}
