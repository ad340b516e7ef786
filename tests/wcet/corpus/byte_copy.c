// wcet-function: byte_copy
// wcet-assume: n=0..700
// wcet-args: 700
// wcet-tight: exact
// clang -O2/-O3 and gcc -O3 vectorise: the vector loop and the scalar
// remainder are each bounded (Z3: the distance to the limit over the paths
// into the loop), not jointly: within 8% there.
// wcet-loose: gcc-O3 clang-O2 clang-O3
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
