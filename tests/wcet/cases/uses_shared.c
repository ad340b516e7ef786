/* Calls so_sum in libshared.so through the PLT: --lib libshared.so bounds it. */
long so_sum(const int *a);
static int data[32];
__attribute__((noinline)) long sum_twice(void) {
    return so_sum(data) + so_sum(data + 1);
}
int main(void) {
    return (int)sum_twice() & 1;
}
