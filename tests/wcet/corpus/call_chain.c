// wcet-function: chain_top
// wcet-assume: n=0..50
// wcet-args: 50
// wcet-tight: exact
#include "corpus.h"
HELPER long leaf(long x) {
    return x * 5 + 3;
}
HELPER long middle(long x, int k) {
    long s = 0;
    for (int i = 0; i < k; i++)
        s += leaf(x + i);
    return s;
}
ANALYSED long chain_top(int n) {
    long s = 0;
    for (int i = 0; i < n; i++)
        s += middle(i, 4);
    return s;
}
int main(int argc, char **argv) {
    SINK(chain_top((int)arg(argc, argv, 1)));
    return 0;
}
