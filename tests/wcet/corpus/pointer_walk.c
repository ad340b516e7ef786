// wcet-function: pointer_walk
// wcet-assume: n=0..400
// wcet-args: 400
// wcet-tight: exact
// clang -O2/-O3 and gcc -O3 vectorise, with a trip count from a shift of
// (n*4 - 4): Z3 bounds the vector loop and the scalar remainder from the
// paths into them, each on its own (within 3%).
// wcet-loose: gcc-O3 clang-O2 clang-O3
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
