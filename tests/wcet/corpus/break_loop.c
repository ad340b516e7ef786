// wcet-function: find_first
// wcet-assume: n=0..256
// wcet-args: 256
// wcet-tight: 1.10
// Worst case: the key is absent, so the loop runs to n.
#include "corpus.h"
static int data[256];
ANALYSED int find_first(const int *a, int n, int key) {
    int at = -1;
    for (int i = 0; i < n; i++) {
        if (a[i] == key) {
            at = i;
            break;
        }
    }
    return at;
}
int main(int argc, char **argv) {
    for (int i = 0; i < 256; i++)
        data[i] = i * 2;
    SINK(find_first(data, (int)arg(argc, argv, 1), 1));
    return 0;
}
