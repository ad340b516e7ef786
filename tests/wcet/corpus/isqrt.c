// wcet-function: isqrt
// wcet-args: 4000000000
// wcet-tight: 1.15
// Bit-by-bit integer square root: 16 iterations of a loop on a shifted bit.
#include "corpus.h"
ANALYSED unsigned isqrt(unsigned x) {
    unsigned r = 0;
    for (int k = 15; k >= 0; k--) {
        unsigned t = r | (1u << k);
        if (t * t <= x)
            r = t;
    }
    return r;
}
int main(int argc, char **argv) {
    SINK(isqrt((unsigned)strtoul(argc > 1 ? argv[1] : "0", NULL, 0)));
    return 0;
}
