// wcet-function: negative_range
// wcet-args:
// wcet-tight: exact
#include "corpus.h"
ANALYSED long negative_range(void) {
    volatile long s = 0;
    for (int i = -50; i < 50; i += 2)
        s += i;
    return s;
}
int main(void) {
    SINK(negative_range());
    return 0;
}
