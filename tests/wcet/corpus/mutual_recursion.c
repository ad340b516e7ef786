// wcet-function: ping
// wcet-assume: n=0..20
// wcet-args: 20
// wcet-tight: exact
// wcet-fact: recursion pong depth 10
// Mutual recursion: ping calls pong, pong calls ping, each with n - 1; for
// n = 20 there are 11 activations of ping and 10 of pong. The cycle
// ping -> pong -> ping is reported and bounded by the depth of one of its
// functions: at most 10 activations of pong. Then the innermost ping cannot
// call pong and takes its base case, as the real innermost ping(0) does, so
// the bound is exact. Each function has a small loop of its own.
#include "corpus.h"
HELPER long pong(long n);
ANALYSED long ping(long n) {
    if (n <= 0)
        return 0;
    long s = 0;
    for (int i = 0; i < 3; i++)
        s += n >> i;
    return pong(n - 1) * 3 + s;
}
HELPER long pong(long n) {
    if (n <= 0)
        return 1;
    long s = 1;
    for (int i = 0; i < 2; i++)
        s ^= n << i;
    return ping(n - 1) * 2 + s;
}
int main(int argc, char **argv) {
    SINK(ping(arg(argc, argv, 1)));
    return 0;
}
