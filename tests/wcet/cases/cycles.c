/*
 * cycles.c - recursion through several functions, for wcet_cli: a cycle
 * with a chord (a -> b -> a and b -> c -> b: every cycle passes through b,
 * not through a), recursion through a function pointer (each -> step
 * through a pointer, step -> each directly), and a tail call through a
 * pointer.
 */
#include <stdlib.h>

#define HELPER __attribute__((noinline, noipa, used))

HELPER long b_fn(long n);
HELPER long a_fn(long n) {
    return n <= 0 ? 1 : b_fn(n - 1) + 3;
}
HELPER long c_fn(long n) {
    return n <= 0 ? 2 : b_fn(n - 1) * 5;
}
HELPER long b_fn(long n) {
    if (n <= 0)
        return 0;
    return (n & 1) ? a_fn(n - 1) + 1 : c_fn(n - 1) + 2;
}

typedef long (*visit_fn)(long);
HELPER long step(long n);
static visit_fn volatile visitor = step;
HELPER long each(long n) {
    if (n <= 0)
        return 0;
    return visitor(n) + 1;
}
HELPER long step(long n) {
    return each(n - 1) * 2 + n;
}

/* a tail call through a pointer (an indirect jump, not a switch) */
HELPER long small_fn(long n) {
    return n * 3;
}
HELPER long deep_fn(long n) {
    volatile char buf[512];
    buf[n & 511] = (char)n;
    return buf[n & 511];
}
static visit_fn volatile tails[2] = {small_fn, deep_fn};
HELPER long tail_dispatch(int op, long n) {
    return tails[op & 1](n);
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 0;
    return (int)((a_fn(n) + each(n) + tail_dispatch(argc, n)) & 1);
}
