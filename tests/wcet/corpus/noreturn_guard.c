// wcet-function: checked_sum
// wcet-assume: n=0..400
// wcet-args: 400
// wcet-tight: exact
// abort() never returns: the path into it ends the execution.
// gcc -O3 unrolls the loop with a remainder: bounded separately (4%).
// wcet-loose: gcc-O3
#include "corpus.h"
ANALYSED long checked_sum(int n) {
    if (n > 400)
        abort();
    long s = 0;
    for (int i = 0; i < n; i++)
        s += i * 2;
    return s;
}
int main(int argc, char **argv) {
    SINK(checked_sum((int)arg(argc, argv, 1)));
    return 0;
}
