// wcet-function: exclusive_modes
// wcet-assume: n=0..100
// wcet-args: 2 100
// wcet-tight: 1.25
// wcet-fact: exclusive exclusive_modes {line:s += i * 3} {line:s ^= s * 5 + i}
// The two phases depend on one flag read from memory: the program never runs
// both, which the binary cannot show; the flow fact says so. The worst case
// runs the heavier second phase (mode 2).
// clang -O2 fuses the phases into one loop whose exits depend on the flag;
// Z3 bounds its counter from the paths into it.
#include "corpus.h"
static volatile int mode_flag;
ANALYSED long exclusive_modes(int n) {
    long s = 0;
    int m = mode_flag;
    if (m == 1)
        for (int i = 0; i < n; i++)
            s += i * 3;
    int m2 = mode_flag;
    if (m2 == 2)
        for (int i = 0; i < n; i++)
            s ^= s * 5 + i;
    return s;
}
int main(int argc, char **argv) {
    mode_flag = (int)arg(argc, argv, 1);
    SINK(exclusive_modes((int)arg(argc, argv, 2)));
    return 0;
}
