// wcet-function: count_down
// wcet-assume: n=0..800
// wcet-args: 800
// wcet-tight: exact
#include "corpus.h"
ANALYSED long count_down(int n) {
    long s = 0;
    for (int i = n; i > 0; i--)
        s += (long)i * i;
    return s;
}
int main(int argc, char **argv) {
    SINK(count_down((int)arg(argc, argv, 1)));
    return 0;
}
