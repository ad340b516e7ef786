/* The memory API in a page: the example in README.md, built and run by the tests. */
#include <keel/keel.h>
#include <stdio.h>

static _Alignas(16) unsigned char region[1 << 20]; /* the heap's memory: yours, not malloc's */
KEEL_POOL_DEFINE(msg_pool, 64, 128);               /* 128 blocks of 64 bytes: static, no init */

int main(void) {
    keel_heap *heap;
    void *buf, *bigger, *msg;
    keel_status st = keel_heap_init(&heap, region, sizeof region);
    if (st == KEEL_OK)
        st = keel_heap_alloc(heap, 1500, &buf); /* O(1): bounded, whatever the heap holds */
    if (st == KEEL_OK && keel_heap_realloc(heap, buf, 3000, &bigger) == KEEL_OK)
        buf = bigger; /* on failure buf would still be valid and still ours */
    if (st == KEEL_OK)
        st = keel_pool_alloc(&msg_pool, &msg);
    if (st != KEEL_OK) {
        fprintf(stderr, "keel: %s\n", keel_strerror(st));
        return 1;
    }
    st = keel_heap_free_checked(heap, (char *)buf + 16); /* not a block: refused, heap unchanged */
    printf("bad free: %s\n", keel_status_name(st));      /* KEEL_ENOTOWNED */
    keel_heap_free(heap, buf);
    keel_pool_free(&msg_pool, msg);

    keel_heap_stats s;
    keel_heap_get_stats(heap, &s);
    printf("in use %zu, peak %zu, check %s\n", s.in_use, s.peak_in_use,
           keel_strerror(keel_heap_check(heap, NULL)));
    return 0;
}
