// wcet-function: newton_sqrt
// wcet-args: 2
// wcet-tight: 1.05
#include "corpus.h"
ANALYSED double newton_sqrt(double x) {
    double r = x > 1.0 ? x : 1.0;
    for (int i = 0; i < 20; i++)
        r = 0.5 * (r + x / r);
    return r;
}
int main(int argc, char **argv) {
    SINK(newton_sqrt((double)arg(argc, argv, 1)) > 1.0);
    return 0;
}
