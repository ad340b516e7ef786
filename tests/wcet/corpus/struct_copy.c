// wcet-function: copy_records
// wcet-assume: n=0..16
// wcet-args: 16
// wcet-tight: 1.10
// wcet-fact-optional: extern memcpy cost 120 stack 64
// Copies of a 256-byte structure: gcc emits rep movsq (one count per
// iteration, from rcx); clang calls memcpy, whose cost is given as a flow
// fact (valgrind's replacement memcpy for 256 bytes; loose there).
// wcet-loose: clang-O0 clang-O1 clang-O2 clang-O3 clang-Os
#include "corpus.h"
struct rec {
    long v[32];
};
static struct rec from[16], to[16];
ANALYSED void copy_records(struct rec *d, const struct rec *s, int n) {
    for (int i = 0; i < n; i++)
        d[i] = s[i];
}
int main(int argc, char **argv) {
    copy_records(to, from, (int)arg(argc, argv, 1));
    SINK(to[3].v[5]);
    return 0;
}
