/* A function that calls libc through the PLT, one that may exit, an indirect
 * call, recursion without annotation, alloca, and an irreducible loop. */
#include <alloca.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) int greet(int n) {
    int s = 0;
    for (int i = 0; i < 4; i++)
        s += puts("hi") + n;
    return s;
}

__attribute__((noinline)) int must_be_small(int n) {
    if (n > 100)
        exit(3);
    int s = 0;
    for (int i = 0; i < n; i++)
        s += i;
    return s;
}

typedef int (*op_fn)(int);
__attribute__((noinline)) int apply(op_fn f, int x) {
    return f(x) + 1;
}

__attribute__((noinline)) long rec(long n) {
    return n <= 0 ? 0 : n + rec(n - 1) * 3;
}

__attribute__((noinline)) int dynamic_frame(int n) {
    volatile char *p = alloca((size_t)n + 1);
    p[0] = 1;
    return p[0];
}

__attribute__((noinline)) int irreducible(int a, int n) {
    int i = 0, s = 0;
    if (a)
        goto inside;
    for (; i < n; i++) {
        s += 3;
    inside:
        s ^= i;
    }
    return s;
}

int main(int argc, char **argv) {
    (void)argv;
    int r = greet(argc) + must_be_small(argc) + apply(must_be_small, argc) + (int)rec(argc) +
            dynamic_frame(argc) + irreducible(argc & 1, argc);
    return r & 1;
}
