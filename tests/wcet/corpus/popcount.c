// wcet-function: popcount
// wcet-args: 0xffffffffffffffff
// wcet-tight: 1.07
// while (x) x &= x - 1: bounded by the bit width (64), shown by Z3.
#include "corpus.h"
ANALYSED int popcount(unsigned long x) {
    int c = 0;
    while (x) {
        x &= x - 1;
        c++;
    }
    return c;
}
int main(int argc, char **argv) {
    SINK(popcount(strtoul(argc > 1 ? argv[1] : "0", NULL, 0)));
    return 0;
}
