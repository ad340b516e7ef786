// wcet-function: matmul
// wcet-args:
// wcet-tight: exact
// gcc -O1/-O2 run the inner loop between two pointers that both move by a
// row per outer iteration: their difference is constant; Z3 shows it from
// the outer loops' counters (entry + k x step) and the inner loop's exit
// (the pointer equal to its end pointer).
#include "corpus.h"
#define N 8
static long A[N][N], B[N][N], C[N][N];
ANALYSED void matmul(long c[N][N], long a[N][N], long b[N][N]) {
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            long s = 0;
            for (int k = 0; k < N; k++)
                s += a[i][k] * b[k][j];
            c[i][j] = s;
        }
}
int main(void) {
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            A[i][j] = i + j, B[i][j] = i - j;
    matmul(C, A, B);
    SINK(C[3][4]);
    return 0;
}
