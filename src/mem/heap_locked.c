/*
 * heap_locked.c - a keel heap shared between threads: every call runs the heap
 * operation under a mutex with the priority-inheritance protocol, so a
 * high-priority thread waiting for the heap lends its priority to the holder.
 */
#include "keel/mem.h"

/* A priority-inheritance mutex where the system offers one, a plain one otherwise. */
static keel_status init_lock(keel_heap_locked *locked, keel_heap *heap) {
    pthread_mutexattr_t attr;
    if (pthread_mutexattr_init(&attr) != 0) {
        return KEEL_ESYSTEM;
    }
    (void)pthread_mutexattr_setprotocol(&attr, PTHREAD_PRIO_INHERIT);
    int rc = pthread_mutex_init(&locked->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    if (rc != 0) {
        return KEEL_ESYSTEM;
    }
    locked->heap = heap;
    return KEEL_OK;
}

keel_status keel_heap_locked_init(keel_heap_locked *locked, void *region, size_t size) {
    if (locked == NULL) {
        return KEEL_EINVAL;
    }
    keel_heap *heap;
    keel_status status = keel_heap_init(&heap, region, size);
    return status != KEEL_OK ? status : init_lock(locked, heap);
}

keel_status keel_heap_locked_renew(keel_heap_locked *locked, void *region, size_t size,
                                   uint32_t *epoch) {
    if (locked == NULL) {
        return KEEL_EINVAL;
    }
    keel_heap *heap;
    keel_status status = keel_heap_renew(&heap, region, size, epoch);
    return status != KEEL_OK ? status : init_lock(locked, heap);
}

void keel_heap_locked_destroy(keel_heap_locked *locked) {
    if (locked != NULL) {
        pthread_mutex_destroy(&locked->lock);
        locked->heap = NULL;
    }
}

keel_status keel_heap_locked_alloc(keel_heap_locked *locked, size_t size, void **out) {
    if (locked == NULL) {
        return KEEL_EINVAL;
    }
    pthread_mutex_lock(&locked->lock);
    keel_status status = keel_heap_alloc(locked->heap, size, out);
    pthread_mutex_unlock(&locked->lock);
    return status;
}

keel_status keel_heap_locked_alloc_aligned(keel_heap_locked *locked, size_t size, size_t align,
                                           void **out) {
    if (locked == NULL) {
        return KEEL_EINVAL;
    }
    pthread_mutex_lock(&locked->lock);
    keel_status status = keel_heap_alloc_aligned(locked->heap, size, align, out);
    pthread_mutex_unlock(&locked->lock);
    return status;
}

keel_status keel_heap_locked_realloc(keel_heap_locked *locked, void *ptr, size_t size, void **out) {
    if (locked == NULL) {
        return KEEL_EINVAL;
    }
    pthread_mutex_lock(&locked->lock);
    keel_status status = keel_heap_realloc(locked->heap, ptr, size, out);
    pthread_mutex_unlock(&locked->lock);
    return status;
}

keel_status keel_heap_locked_free(keel_heap_locked *locked, void *ptr) {
    if (locked == NULL) {
        return KEEL_EINVAL;
    }
    pthread_mutex_lock(&locked->lock);
    keel_status status = keel_heap_free_checked(locked->heap, ptr);
    pthread_mutex_unlock(&locked->lock);
    return status;
}

void keel_heap_locked_get_stats(keel_heap_locked *locked, keel_heap_stats *out) {
    if (locked == NULL) {
        keel_heap_get_stats(NULL, out);
        return;
    }
    pthread_mutex_lock(&locked->lock);
    keel_heap_get_stats(locked->heap, out);
    pthread_mutex_unlock(&locked->lock);
}

keel_status keel_heap_locked_check(keel_heap_locked *locked, keel_heap_fault *fault) {
    if (locked == NULL) {
        return KEEL_EINVAL;
    }
    pthread_mutex_lock(&locked->lock);
    keel_status status = keel_heap_check(locked->heap, fault);
    pthread_mutex_unlock(&locked->lock);
    return status;
}
