// wcet-function: gcd
// wcet-args: 1836311903 2971215073
// wcet-tight: exact
// Euclid's loop is bounded automatically (rank.c): Z3 shows that every
// iteration maps (a, b) to (b, a % b) and goes on only while b != 0, and
// Lame's theorem bounds the number of nonzero remainders by b's largest value
// at entry: F(47) <= 2^32 - 1 < F(48) gives 46 divisions for any 32-bit
// input. The worst case by construction: gcd(F46, F47), whose first division
// swaps them, then runs down the Fibonacci numbers: 46 divisions, exact.
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
