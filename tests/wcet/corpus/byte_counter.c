// wcet-function: byte_counter
// wcet-args:
// wcet-tight: exact
// An 8-bit counter: 200 iterations, compared as an unsigned char.
#include "corpus.h"
ANALYSED unsigned byte_counter(void) {
    volatile unsigned s = 0;
    for (unsigned char i = 0; i < 200; i++)
        s += i;
    return s;
}
int main(void) {
    SINK(byte_counter());
    return 0;
}
