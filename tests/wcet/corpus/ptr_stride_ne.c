// wcet-function: ptr_stride_ne
// wcet-assume: n=0..300
// wcet-args: 300
// wcet-tight: exact
// A pointer over 12-byte records up to an end pointer computed from the count
// (end = base + n * 12), compared with !=: the source counter is gone after
// strength reduction; the bound needs the relation between the pointer and
// its end (Z3 over the paths to the loop).
#include "corpus.h"
struct rec {
    int key, val, pad;
};
static struct rec recs[300];
ANALYSED long ptr_stride_ne(struct rec *r, long n) {
    long s = 0;
    for (struct rec *p = r, *end = r + n; p != end; p++)
        s += p->key * 3 + p->val;
    return s;
}
int main(int argc, char **argv) {
    SINK(ptr_stride_ne(recs, arg(argc, argv, 1)));
    return 0;
}
