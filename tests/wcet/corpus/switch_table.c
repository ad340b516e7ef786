// wcet-function: dispatch
// wcet-assume: op=0..9
// wcet-args: 7
// wcet-tight: 1.25
// A switch dense enough for a jump table; the worst case is the longest arm.
#include "corpus.h"
ANALYSED long dispatch(int op, long x) {
    switch (op) {
    case 0:
        return x + 1;
    case 1:
        return x * 3 + 2;
    case 2:
        return x ^ 0x55;
    case 3:
        return (x << 2) - x;
    case 4:
        return x / 7 + x % 5;
    case 5:
        return -x;
    case 6:
        return x * x + 1;
    case 7:
        return (x >> 3) + (x << 7) + (x ^ 9) * 5 + x / 3;
    case 8:
        return x & 0xff;
    case 9:
        return x | 0x100;
    default:
        return 0;
    }
}
int main(int argc, char **argv) {
    SINK(dispatch((int)arg(argc, argv, 1), 12345));
    return 0;
}
