// wcet-function: log2_floor
// wcet-args: 4294967295
// wcet-tight: 1.07
// while (x >>= 1): at most 32 iterations for a 32-bit x, shown by Z3.
#include "corpus.h"
ANALYSED int log2_floor(unsigned x) {
    int r = 0;
    while (x >>= 1)
        r++;
    return r;
}
int main(int argc, char **argv) {
    SINK(log2_floor((unsigned)strtoul(argc > 1 ? argv[1] : "0", NULL, 0)));
    return 0;
}
