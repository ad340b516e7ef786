// wcet-function: byte_copy
// wcet-assume: n=0..700
// wcet-args: 700
// wcet-tight: exact
// clang -O2 vectorises with a computed trip count: no bound.
// wcet-unbounded: clang-O2
#include "corpus.h"
static unsigned char src[700], dst[700];
ANALYSED void byte_copy(unsigned char *restrict d, const unsigned char *restrict s, unsigned n) {
    for (unsigned i = 0; i < n; i++)
        d[i] = (unsigned char)(s[i] ^ 0x5a);
}
int main(int argc, char **argv) {
    byte_copy(dst, src, (unsigned)arg(argc, argv, 1));
    SINK(dst[3]);
    return 0;
}
