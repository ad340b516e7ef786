// wcet-function: unsigned_ne
// wcet-assume: n=0..700
// wcet-args: 700
// wcet-tight: exact
#include "corpus.h"
ANALYSED unsigned unsigned_ne(unsigned n) {
    unsigned s = 1;
    for (unsigned i = 0; i != n; i++)
        s = s * 33u + i;
    return s;
}
int main(int argc, char **argv) { SINK(unsigned_ne((unsigned)arg(argc, argv, 1))); return 0; }
