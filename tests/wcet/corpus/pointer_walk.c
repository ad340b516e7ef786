// wcet-function: pointer_walk
// wcet-assume: n=0..400
// wcet-args: 400
// wcet-tight: exact
// clang -O2 vectorises with a trip count from a shift of (n*4 - 4): no bound.
// wcet-unbounded: clang-O2
#include "corpus.h"
static int arr[400];
ANALYSED long pointer_walk(const int *a, long n) {
    long s = 0;
    for (const int *p = a; p < a + n; p++)
        s += *p;
    return s;
}
int main(int argc, char **argv) {
    SINK(pointer_walk(arr, arg(argc, argv, 1)));
    return 0;
}
