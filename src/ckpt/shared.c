/*
 * shared.c - shared objects: the reference-count header in front of an object
 * that several owners may point at. The checkpoint's mark lives in it too.
 */
#include "ckpt/internal.h"

static keel_ckpt_shared *header(const void *object) {
    return (keel_ckpt_shared *)((uintptr_t)object - sizeof(keel_ckpt_shared));
}

void *keel_ckpt_shared_init(void *block, const keel_ckpt_type *type) {
    if (block == NULL || type == NULL || ((uintptr_t)block & (RECORD_ALIGN - 1)) != 0) {
        return NULL;
    }
    keel_ckpt_shared *h = block;
    *h = (keel_ckpt_shared){.magic = KEEL_CKPT_SHARED_MAGIC, .refs = 1, .type = type};
    return h + 1;
}

keel_status keel_ckpt_shared_new(keel_heap *heap, const keel_ckpt_type *type, void **object) {
    if (object == NULL) {
        return KEEL_EINVAL;
    }
    *object = NULL;
    if (heap == NULL || type == NULL) {
        return KEEL_EINVAL;
    }
    void *block;
    keel_status status = keel_heap_alloc(heap, KEEL_CKPT_SHARED_SIZE(type), &block);
    if (status != KEEL_OK) {
        return status;
    }
    *object = keel_ckpt_shared_init(block, type);
    memset(*object, 0, type->size);
    return KEEL_OK;
}

void *keel_ckpt_shared_block(void *object) {
    return object == NULL ? NULL : header(object);
}

uint32_t keel_ckpt_retain(void *object) {
    return __atomic_add_fetch(&header(object)->refs, 1, __ATOMIC_RELAXED);
}

uint32_t keel_ckpt_release(void *object) {
    return __atomic_sub_fetch(&header(object)->refs, 1, __ATOMIC_ACQ_REL);
}

uint32_t keel_ckpt_refs(const void *object) {
    return __atomic_load_n(&header(object)->refs, __ATOMIC_RELAXED);
}
