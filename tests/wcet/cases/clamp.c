/* clamp.c - a loop limit clamped with min()/max(), which gcc -O2 compiles to a
 * cmov: the value analysis alone (--no-smt) must keep the clamp's limit. */
volatile unsigned sink;

__attribute__((noinline)) void clamp_unsigned(unsigned count) {
    unsigned n = count < 64 ? count : 64;
    for (unsigned i = 0; i < n; i++) {
        sink += i;
    }
}

__attribute__((noinline)) void clamp_signed(int count) {
    int n = count > 48 ? 48 : count;
    for (int i = 0; i < n; i++) {
        sink += (unsigned)i;
    }
}

int main(void) {
    clamp_unsigned(1000);
    clamp_signed(1000);
    return 0;
}
