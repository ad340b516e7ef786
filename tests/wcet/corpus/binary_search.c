// wcet-function: binary_search
// wcet-assume: n=0..1024
// wcet-args: 1024 -1
// wcet-tight: 1.10
// The halving loop is bounded automatically (rank.c): hi - lo at least halves
// in every iteration and the loop goes on only while it is nonzero, so n <= 1024
// gives at most floor(log2 1024) + 1 = 11 iterations. The worst case by
// construction: a key below every element, so that each iteration keeps the
// lower half (hi = mid) and all 11 happen. The bound charges each of them
// with the dearer branch; where that is lo = mid + 1 (which never runs 11
// times) the bound is up to 10% above the count (exact where it is hi = mid).
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
    SINK(binary_search(arr, (int)arg(argc, argv, 1), (int)arg(argc, argv, 2)));
    return 0;
}
