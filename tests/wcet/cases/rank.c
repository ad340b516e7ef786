/*
 * rank.c - loops that look like the shapes rank.c bounds but are not: each
 * must stay unbounded (a bound here would be a guess).
 */
#include <stdlib.h>

#define ANALYSED __attribute__((noinline, noipa, used))

/* lo = mid without + 1: with hi - lo = 1 and a[lo] < key it never ends */
ANALYSED int not_halving(const int *a, int n, int key) {
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (a[mid] < key)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* b = a % b + 1: equal to b when a % b = b - 1, so it need not end */
ANALYSED unsigned not_euclid(unsigned a, unsigned b) {
    while (b != 0) {
        unsigned t = a % b + 1;
        a = b;
        b = t;
    }
    return a;
}

/* j steps by -1 on one path only: the other leaves it unchanged */
ANALYSED int not_counter(const int *a, int j) {
    int s = 0;
    while (j >= 0 && a[j] != 0) {
        s += a[j];
        if (a[j] > 0)
            j--;
    }
    return s;
}

int main(int argc, char **argv) {
    static int arr[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    int n = argc > 1 ? atoi(argv[1]) : 0;
    return not_halving(arr, n, 0) + (int)not_euclid((unsigned)n, 3) + not_counter(arr, n - 1 > 7 ? 7 : n - 1);
}
