// wcet-function: string_len
// clang-format off
// wcet-args: abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz0123456789012345
// clang-format on
// wcet-tight: 1.10
// wcet-fact: loop string_len {line:while (*p)} max 100
// A string loop: its length is not in the binary, so it is annotated.
#include "corpus.h"
ANALYSED long string_len(const char *s) {
    const char *p = s;
    while (*p)
        p++;
    return p - s;
}
int main(int argc, char **argv) {
    SINK(string_len(argc > 1 ? argv[1] : ""));
    return 0;
}
