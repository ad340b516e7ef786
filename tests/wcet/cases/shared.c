/* Built as a shared object: keel-wcet analyses exported functions of .so files. */
__attribute__((visibility("default"))) long so_sum(const int *a) {
    long s = 0;
    for (int i = 0; i < 32; i++)
        s += a[i];
    return s;
}
