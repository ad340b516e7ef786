// wcet-function: const_loop
// wcet-args:
// wcet-tight: exact
#include "corpus.h"
ANALYSED long const_loop(void) {
    volatile long s = 0;
    for (int i = 0; i < 100; i++)
        s += i;
    return s;
}
int main(void) {
    SINK(const_loop());
    return 0;
}
