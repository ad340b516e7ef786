// wcet-function: call_in_loop
// wcet-assume: n=0..100
// wcet-args: 100
// wcet-tight: exact
// The callee's loop bound comes from the argument at the call site (a calling
// context), not from an assumption.
#include "corpus.h"
HELPER long weigh(long x, int k) {
    long s = 0;
    for (int i = 0; i < k; i++)
        s += x * i;
    return s;
}
ANALYSED long call_in_loop(int n) {
    long s = 0;
    for (int i = 0; i < n; i++)
        s += weigh(i, 6);
    return s + weigh(n, 3);
}
int main(int argc, char **argv) {
    SINK(call_in_loop((int)arg(argc, argv, 1)));
    return 0;
}
