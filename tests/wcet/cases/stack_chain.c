/* Call chains with fixed frames, checked against gcc's -fstack-usage. */
__attribute__((noinline)) long leaf3(long x) {
    volatile long buf[6];
    for (int i = 0; i < 6; i++)
        buf[i] = x + i;
    return buf[2] + buf[5];
}
__attribute__((noinline)) long mid2(long x) {
    volatile long buf[10];
    buf[3] = x;
    return leaf3(buf[3]) + buf[3];
}
__attribute__((noinline)) long top1(long x) {
    volatile long buf[4];
    buf[1] = x;
    long a = mid2(buf[1]);
    long b = leaf3(a);
    return a + b + buf[1];
}
int main(int argc, char **argv) {
    (void)argv;
    return (int)top1(argc) & 1;
}
