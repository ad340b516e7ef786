// wcet-function: do_while
// wcet-assume: n=1..600
// wcet-args: 600
// wcet-tight: exact
// gcc -O3 peels and unrolls the loop: its parts are bounded separately (2%).
// wcet-loose: gcc-O3
#include "corpus.h"
ANALYSED long do_while(int n) {
    long s = 0;
    do {
        s += n * 3;
    } while (--n > 0);
    return s;
}
int main(int argc, char **argv) {
    SINK(do_while((int)arg(argc, argv, 1)));
    return 0;
}
