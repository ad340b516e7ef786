// wcet-function: crc32
// wcet-assume: n=0..64
// wcet-args: 64
// wcet-tight: 1.15
// A byte loop around a constant 8-iteration bit loop; the branch in the bit
// loop depends on the data.
#include "corpus.h"
static unsigned char buf[64];
ANALYSED unsigned crc32(const unsigned char *p, int n) {
    unsigned crc = 0xffffffffu;
    for (int i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = crc & 1 ? (crc >> 1) ^ 0xedb88320u : crc >> 1;
    }
    return ~crc;
}
int main(int argc, char **argv) {
    for (int i = 0; i < 64; i++)
        buf[i] = (unsigned char)(i * 37 + 11);
    SINK(crc32(buf, (int)arg(argc, argv, 1)));
    return 0;
}
