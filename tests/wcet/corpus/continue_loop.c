// wcet-function: sum_odd_squares
// wcet-assume: n=0..400
// wcet-args: 400
// wcet-tight: 1.40
// The two paths of the body differ; every iteration is assumed to take the
// longer one while the input takes each half the time: the stated factor.
#include "corpus.h"
ANALYSED long sum_odd_squares(int n) {
    long s = 0;
    for (int i = 0; i < n; i++) {
        if ((i & 1) == 0)
            continue;
        s += (long)i * i;
    }
    return s;
}
int main(int argc, char **argv) {
    SINK(sum_odd_squares((int)arg(argc, argv, 1)));
    return 0;
}
