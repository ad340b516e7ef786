/* Links against an installed keel and uses each allocator once. */
#include <keel/keel.h>
#include <stdio.h>

static _Alignas(16) unsigned char region[64 * 1024];
KEEL_POOL_DEFINE(pool, 32, 4);

int main(void) {
    keel_heap *heap;
    void *p, *q;
    if (keel_heap_init(&heap, region, sizeof region) != KEEL_OK ||
        keel_heap_alloc(heap, 100, &p) != KEEL_OK || keel_pool_alloc(&pool, &q) != KEEL_OK) {
        return 1;
    }
    keel_heap_free(heap, p);
    printf("consumer: %s\n", keel_strerror(keel_pool_free(&pool, q)));
    return keel_heap_check(heap, NULL) == KEEL_OK ? 0 : 1;
}
