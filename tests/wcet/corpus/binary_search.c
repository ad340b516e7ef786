// wcet-function: binary_search
// wcet-assume: n=0..1024
// wcet-args: 1024
// wcet-tight: 1.30
// wcet-fact: loop binary_search {line:while (lo < hi)} max 11
// The halving loop is annotated: at most 11 iterations for n <= 1024.
#include "corpus.h"
static int arr[1024];
ANALYSED int binary_search(const int *a, int n, int key) {
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (a[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}
int main(int argc, char **argv) {
    for (int i = 0; i < 1024; i++)
        arr[i] = i;
    SINK(binary_search(arr, (int)arg(argc, argv, 1), 2000));
    return 0;
}
