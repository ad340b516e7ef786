// wcet-function: dispatch
// wcet-assume: n=0..100
// wcet-args: 1 100
// wcet-tight: 1.01
// wcet-fact: icall dispatch {line:return ops[op & 3](n)} sum_up weighted_sum xor_fold with_buffer
// A call through a table of function pointers. keel-wcet cannot know its
// targets; the flow fact names them, and the call costs the largest of their
// bounds in the call's context (n <= 100), its stack the largest of their
// stacks (with_buffer's frame). The worst case by construction:
// weighted_sum, the dearest target, with n = 100: exact, but for clang -O2
// and -O3, where weighted_sum's unrolled loop is bounded a few instructions
// above its count (x1.01).
#include "corpus.h"
typedef long (*op_fn)(long);
HELPER long sum_up(long n) {
    long s = 0;
    for (long i = 0; i < n; i++)
        s += i;
    return s;
}
HELPER long weighted_sum(long n) {
    long s = 0;
    for (long i = 0; i < n; i++)
        s += i * i * 3 + (i ^ (s >> 3));
    return s;
}
HELPER long xor_fold(long n) {
    return n ^ (n >> 7) ^ (n << 3);
}
HELPER long with_buffer(long n) {
    volatile char buf[256];
    buf[n & 255] = (char)n;
    buf[0] = 1;
    return buf[n & 255] + buf[0];
}
static op_fn const ops[4] = {sum_up, weighted_sum, xor_fold, with_buffer};
ANALYSED long dispatch(int op, long n) {
    return ops[op & 3](n) + 1;
}
int main(int argc, char **argv) {
    SINK(dispatch((int)arg(argc, argv, 1), arg(argc, argv, 2)));
    return 0;
}
