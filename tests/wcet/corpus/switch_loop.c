// wcet-function: run_machine
// wcet-assume: n=0..200
// wcet-args: 200
// wcet-tight: 1.35
// A state machine: a loop around a switch compiled to a jump table. The input
// is chosen to take the longest arm most of the time.
#include "corpus.h"
static unsigned char prog[200];
ANALYSED long run_machine(const unsigned char *code, int n) {
    long acc = 1;
    for (int i = 0; i < n; i++) {
        switch (code[i] & 7) {
        case 0:
            acc += 3;
            break;
        case 1:
            acc *= 5;
            break;
        case 2:
            acc ^= acc >> 3;
            break;
        case 3:
            acc -= i;
            break;
        case 4:
            acc = acc * 7 + (acc >> 2) - i;
            break;
        case 5:
            acc |= 0x100;
            break;
        case 6:
            acc &= 0xffffff;
            break;
        default:
            acc += acc << 1;
            break;
        }
    }
    return acc;
}
int main(int argc, char **argv) {
    for (int i = 0; i < 200; i++)
        prog[i] = 4;
    SINK(run_machine(prog, (int)arg(argc, argv, 1)));
    return 0;
}
