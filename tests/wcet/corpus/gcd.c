// wcet-function: gcd
// wcet-args: 1836311903 1134903170
// wcet-tight: 1.10
// wcet-fact: loop gcd {line:while (b != 0)} max 45
// Euclid's loop depends on the values: annotated. Its worst case for 32-bit
// inputs is two consecutive Fibonacci numbers (F46, F45): 44 divisions.
#include "corpus.h"
ANALYSED unsigned gcd(unsigned a, unsigned b) {
    while (b != 0) {
        unsigned t = a % b;
        a = b;
        b = t;
    }
    return a;
}
int main(int argc, char **argv) {
    SINK(gcd((unsigned)arg(argc, argv, 1), (unsigned)arg(argc, argv, 2)));
    return 0;
}
