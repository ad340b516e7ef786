// wcet-function: zero_fill
// wcet-args:
// wcet-tight: 1.10
// wcet-fact-optional: extern memset cost 800 stack 64
// A large local structure cleared: rep stosq with gcc, memset with clang. The
// memset cost is that of valgrind's own memset (valgrind replaces glibc's
// string functions): a flow fact describes the environment that runs the code.
// wcet-loose: clang-O0 clang-O1 clang-O2 clang-Os
#include "corpus.h"
struct big {
    long v[40];
};
ANALYSED long zero_fill(void) {
    struct big b = {0};
    volatile long *p = b.v;
    p[7] = 3;
    return p[7] + p[39];
}
int main(void) {
    SINK(zero_fill());
    return 0;
}
